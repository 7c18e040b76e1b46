//! Searches over estimators from other linfa crates, through builder closures from a
//! candidate to that crate's params, and over pipeline step parameters.

use linfa::prelude::*;
use linfa_elasticnet::{ElasticNet, ElasticNetError};
use linfa_preprocessing::linear_scaling::LinearScaler;
use linfa_preprocessing::PreprocessingError;
use linfa_trees::{DecisionTree, SplitQuality};
use mlp_tune::model_selection::{
    cross_val_score, Candidate, GridSearchCV, KFold, LinfaEstimator, ParamGrid, Pipeline, Scorer,
};
use mlp_tune::neural_network::{MLPRegressor, Solver};

#[test]
fn grid_search_over_a_linfa_trees_decision_tree() {
    let iris = mlp_tune::datasets::iris();
    let build = |c: &Candidate| -> mlp_tune::Result<_> {
        let quality = match c["criterion"].as_str("criterion")? {
            "gini" => SplitQuality::Gini,
            _ => SplitQuality::Entropy,
        };
        Ok(LinfaEstimator::<_, linfa::Error>::classifier(
            DecisionTree::<f64, usize>::params()
                .split_quality(quality)
                .max_depth(Some(c["max_depth"].as_usize("max_depth")?)),
        ))
    };
    let grid = ParamGrid::new()
        .add("max_depth", [1usize, 2, 3, 4])
        .add("criterion", ["gini", "entropy"]);
    let search = GridSearchCV::new(build, grid).cv(5).fit(&iris).unwrap();
    let results = search.cv_results();
    assert_eq!(results.params.len(), 8);
    let best = search.best_params().unwrap();
    // A stump separates only one class of three (at most 2/3 accuracy); deeper trees do better.
    assert!(best["max_depth"].as_usize("max_depth").unwrap() >= 2);
    let stump = results
        .params
        .iter()
        .position(|c| c["max_depth"].as_usize("max_depth").unwrap() == 1)
        .unwrap();
    assert!(results.primary().mean_test[stump] <= 2.0 / 3.0 + 1e-12);
    assert!(search.best_score().unwrap() > 0.9);

    // linfa-trees breaks ties between equally good splits through hash-map order, so
    // refitting the same tree can differ from run to run; scores are compared with
    // cross_val_score on the deterministic elastic net below instead.
    let refit = search.best_model().unwrap();
    let accuracy = refit
        .predict(iris.records())
        .iter()
        .zip(iris.targets())
        .filter(|(a, b)| a == b)
        .count() as f64
        / 150.0;
    assert!(accuracy > 0.9);
}

#[test]
fn grid_search_over_a_linfa_elasticnet_model() {
    let data = mlp_tune::datasets::diabetes();
    let build = |c: &Candidate| -> mlp_tune::Result<_> {
        Ok(LinfaEstimator::<_, ElasticNetError>::regressor(
            ElasticNet::<f64>::params()
                .penalty(c["penalty"].as_f64("penalty")?)
                .l1_ratio(c["l1_ratio"].as_f64("l1_ratio")?),
        ))
    };
    let grid = ParamGrid::new()
        .add("penalty", [1e-3, 1.0, 100.0])
        .add("l1_ratio", [0.0, 1.0]);
    let search = GridSearchCV::new(build, grid)
        .cv(3)
        .scoring("r2")
        .unwrap()
        .fit(&data)
        .unwrap();
    let results = search.cv_results();
    assert_eq!(results.params.len(), 6);
    // The search's fold scores are cross_val_score's on the same (unshuffled, as for any
    // regressor) folds, candidate by candidate.
    for (i, c) in results.params.iter().enumerate() {
        let direct = cross_val_score(
            &build(c).unwrap(),
            &data,
            &KFold::new(3),
            &Scorer::from_name("r2").unwrap(),
        )
        .unwrap();
        assert_eq!(direct, results.primary().split_test[i], "{c:?}");
    }
    assert!(search.best_score().unwrap() > 0.4);
    assert_eq!(results.primary().rank_test[search.best_index().unwrap()], 1);
}

/// Both steps of a pipeline are searched: which scaler, and the MLP's `alpha`; the scaler is
/// fitted inside each fold.
#[test]
fn pipeline_step_parameters_are_searchable() {
    let data = mlp_tune::datasets::diabetes();
    let build = |c: &Candidate| -> mlp_tune::Result<_> {
        let scaler = match c["scaler"].as_str("scaler")? {
            "standard" => LinearScaler::standard(),
            _ => LinearScaler::min_max(),
        };
        let mlp = MLPRegressor::<f64>::params()
            .hidden_layer_sizes(&[10])
            .solver(Solver::Lbfgs)
            .max_iter(200)
            .alpha(c["mlp__alpha"].as_f64("mlp__alpha")?)
            .random_state(0)
            .check()?;
        Ok(Pipeline::<_, _, PreprocessingError>::new(scaler, mlp))
    };
    let grid = ParamGrid::new()
        .add("scaler", ["standard", "min_max"])
        .add("mlp__alpha", [1e-4, 10.0]);
    let search = GridSearchCV::new(build, grid)
        .cv(3)
        .scoring("r2")
        .unwrap()
        .n_jobs(2)
        .fit(&data)
        .unwrap();
    let results = search.cv_results();
    assert_eq!(results.params.len(), 4);
    assert!(results.errors.iter().all(|e| e.is_none()));
    // Scaling differs between the candidates, so their fold scores do too.
    let first = &results.primary().split_test[0];
    assert!(results.primary().split_test[2..]
        .iter()
        .all(|other| other != first));
    assert!(search.best_score().unwrap() > 0.3);
    let model = search.best_model().unwrap();
    assert_eq!(model.model.n_features_in(), 10);
}
