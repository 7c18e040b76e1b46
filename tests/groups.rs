//! Group splitters in searches and cross-validation: `Grouped` binds the groups to a
//! splitter, so `GroupKFold` works wherever a splitter does.

use linfa::prelude::*;
use mlp_tune::model_selection::{
    by_name, cross_val_score, CrossValidator, Cv, GridSearchCV, GroupKFold, Grouped, ParamGrid,
    Scorer, SplitInput,
};
use mlp_tune::neural_network::{MLPClassifier, Solver};
use mlp_tune::MlpTuneError;

fn groups(n: usize, n_groups: usize) -> Vec<usize> {
    // Uneven groups, not aligned with the row order.
    (0..n).map(|i| (i * 7 + i / 3) % n_groups).collect()
}

#[test]
fn grouped_folds_equal_the_group_splitter_and_never_share_a_group() {
    let g = groups(150, 9);
    let grouped = Grouped::new(GroupKFold::new(4), g.clone());
    let input = SplitInput {
        n_samples: 150,
        ..Default::default()
    };
    let folds = grouped.split(input).unwrap();
    let direct = GroupKFold::new(4)
        .split(SplitInput {
            n_samples: 150,
            groups: Some(&g),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(folds, direct);
    for fold in &folds {
        for &t in &fold.test {
            assert!(fold.train.iter().all(|&r| g[r] != g[t]));
        }
    }
    // The groups travel with the splitter: a group splitter alone still needs them.
    assert!(matches!(
        GroupKFold::new(4).split(input),
        Err(MlpTuneError::Split(_))
    ));
}

#[test]
fn a_search_and_cross_val_score_take_grouped_splitters() {
    let iris = mlp_tune::datasets::iris();
    let base = MLPClassifier::params()
        .solver(Solver::Lbfgs)
        .max_iter(20)
        .random_state(0);
    let cv = || Grouped::new(GroupKFold::new(3), groups(150, 7));
    let search = GridSearchCV::new(
        by_name(base.clone()),
        ParamGrid::new().add("alpha", [1e-4, 1e-1]),
    )
    .cv_with(Cv::splitter(cv()))
    .fit(&iris)
    .unwrap();
    assert_eq!(search.n_splits(), 3);
    // The search's fold scores are those of cross_val_score on the same grouped folds.
    let best = search.best_index().unwrap();
    let alpha = search.cv_results().params[best]["alpha"]
        .as_f64("alpha")
        .unwrap();
    let scores = cross_val_score(
        &base.clone().alpha(alpha).check().unwrap(),
        &iris,
        &cv(),
        &Scorer::from_name("accuracy").unwrap(),
    )
    .unwrap();
    assert_eq!(scores, search.cv_results().primary().split_test[best]);
    // Groups of the wrong length: a split error, before any fit.
    let wrong = GridSearchCV::new(by_name(base), ParamGrid::new().add("alpha", [1e-4]))
        .cv_with(Cv::splitter(Grouped::new(
            GroupKFold::new(3),
            groups(149, 7),
        )))
        .fit(&iris);
    assert!(matches!(wrong, Err(MlpTuneError::Split(_))));
}
