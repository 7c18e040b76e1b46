//! Model selection against scikit-learn (`$MLP_TUNE_PARITY`), plus the search's own
//! guarantees: thread-count independence and failing candidates that do not stop a search.

mod common;

use common::*;
use linfa::prelude::*;
use linfa_linear::{LinearError, LinearRegression};
use mlp_tune::model_selection::{
    by_name, cross_val_score, Candidate, Distribution, GridSearchCV, KFold, LinfaEstimator,
    ParamDistributions, ParamGrid, ParamValue, RandomizedSearchCV, Scorer,
};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};
use serde_json::Value;

fn json_candidate(v: &Value) -> Candidate {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), param_value(v)))
        .collect()
}

fn grid_from_json(v: &Value) -> ParamGrid {
    let maps: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut grid = ParamGrid::new();
    for (i, map) in maps.iter().enumerate() {
        if i > 0 {
            grid = grid.or();
        }
        for (name, values) in map.as_object().unwrap() {
            let values: Vec<ParamValue> =
                values.as_array().unwrap().iter().map(param_value).collect();
            grid = grid.add(name, values);
        }
    }
    grid
}

#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn parameter_grid_order_equals_scikit_learn() {
    let doc = parity_json("param_grid.json");
    for key in ["grid_dict", "grid_list_of_dicts"] {
        let case = &doc[key];
        let ours = grid_from_json(&case["param_grid"]).candidates().unwrap();
        let theirs: Vec<Candidate> = case["ParameterGrid order"]
            .as_array()
            .unwrap()
            .iter()
            .map(json_candidate)
            .collect();
        assert_eq!(ours, theirs, "{key}");
    }
}

#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn cross_val_score_of_linear_regression_equals_scikit_learn() {
    let doc = parity_json("cross_val_score.json");
    let data = mlp_tune::datasets::diabetes();
    let model = LinfaEstimator::<_, LinearError<f64>>::regressor(LinearRegression::new());
    let mut compared = 0;
    for (name, cv) in [
        ("KFold(5)", KFold::new(5)),
        (
            "KFold(5, shuffle=True, random_state=0)",
            KFold::new(5).shuffle(true).random_state(0),
        ),
    ] {
        let case = &doc["cross_val_score"][name];
        for scoring in ["neg_mean_squared_error", "r2", "neg_mean_absolute_error"] {
            let ours =
                cross_val_score(&model, &data, &cv, &Scorer::from_name(scoring).unwrap()).unwrap();
            let theirs = vector(&case["scores"][scoring]["per_fold"]);
            assert_eq!(ours.len(), theirs.len());
            for (a, b) in ours.iter().zip(theirs.iter()) {
                assert!(((a - b) / b).abs() < 1e-9, "{name} {scoring}: {a} vs {b}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 30);
}

/// cv_results do not depend on the number of threads, bit for bit.
#[test]
fn search_results_identical_for_1_2_and_8_threads() {
    let data = mlp_tune::datasets::iris();
    let base = MLPClassifier::<f64, usize>::params()
        .solver(Solver::Adam)
        .max_iter(30)
        .random_state(3);
    let space = ParamDistributions::new()
        .add(
            "hidden_layer_sizes",
            Distribution::list([vec![4usize], vec![8], vec![6, 6]]),
        )
        .add(
            "learning_rate_init",
            Distribution::LogUniform {
                low: 1e-3,
                high: 1e-1,
            },
        );
    let run = |threads: usize| {
        RandomizedSearchCV::new(by_name(base.clone()), space.clone(), 6)
            .cv(3)
            .n_jobs(threads)
            .random_state(1)
            .fit(&data)
            .unwrap()
    };
    let one = run(1);
    for threads in [2, 8] {
        let other = run(threads);
        let (a, b) = (one.cv_results(), other.cv_results());
        assert_eq!(a.params, b.params);
        for (ma, mb) in a.metrics.iter().zip(&b.metrics) {
            let bits = |m: &Vec<Vec<f64>>| -> Vec<u64> {
                m.iter().flatten().map(|v| v.to_bits()).collect()
            };
            assert_eq!(
                bits(&ma.split_test),
                bits(&mb.split_test),
                "{threads} threads"
            );
            assert_eq!(ma.rank_test, mb.rank_test);
        }
        assert_eq!(one.best_index(), other.best_index());
    }
}

/// A candidate whose fit diverges gets the error score and its error, and the search goes on.
#[test]
fn a_diverging_candidate_does_not_stop_the_search() {
    let data = mlp_tune::datasets::diabetes();
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Sgd)
        .hidden_layer_sizes(&[10])
        .activation(mlp_tune::neural_network::Activation::Identity)
        .momentum(0.0)
        .max_iter(20)
        .random_state(0);
    // Raw diabetes targets (~150) with a huge SGD step overflow quickly.
    let grid = ParamGrid::new().add("learning_rate_init", [1e-6, 10.0]);
    let search = GridSearchCV::new(by_name(base.clone()), grid.clone())
        .cv(3)
        .fit(&data)
        .unwrap();
    let results = search.cv_results();
    assert!(results.primary().mean_test[0].is_finite());
    assert!(results.primary().mean_test[1].is_nan());
    assert!(results.errors[1]
        .as_deref()
        .unwrap_or("")
        .contains("non-finite"));
    assert_eq!(search.best_index(), Some(0));
    assert_eq!(results.primary().rank_test, vec![1, 2]);
    // With error_score = raise, the same search is an error.
    let raised = GridSearchCV::new(by_name(base), grid)
        .cv(3)
        .error_score(None)
        .fit(&data);
    assert!(raised.is_err());
}

/// Unknown names and wrong types are errors of the search space, listing the valid names.
#[test]
fn bad_search_spaces_are_typed_errors() {
    let data = mlp_tune::datasets::iris();
    let base = MLPClassifier::<f64, usize>::params().max_iter(5);
    let err = GridSearchCV::new(
        by_name(base.clone()),
        ParamGrid::new().add("n_layers", [1, 2]),
    )
    .fit(&data)
    .unwrap_err();
    assert!(err.to_string().contains("hidden_layer_sizes"), "{err}");
    let err = GridSearchCV::new(
        by_name(base.clone()),
        ParamGrid::new().add("alpha", ["big"]),
    )
    .fit(&data)
    .unwrap_err();
    assert!(err.to_string().contains("alpha"), "{err}");
    assert!(GridSearchCV::new(by_name(base.clone()), ParamGrid::new())
        .fit(&data)
        .is_err());
    let empty: [f64; 0] = [];
    assert!(
        GridSearchCV::new(by_name(base.clone()), ParamGrid::new().add("alpha", empty))
            .fit(&data)
            .is_err()
    );
    let bad_dist = ParamDistributions::new().add(
        "alpha",
        Distribution::LogUniform {
            low: 1.0,
            high: 0.5,
        },
    );
    assert!(RandomizedSearchCV::new(by_name(base.clone()), bad_dist, 3)
        .fit(&data)
        .is_err());
    let space = ParamDistributions::new().add("alpha", Distribution::list([0.1]));
    assert!(RandomizedSearchCV::new(by_name(base.clone()), space, 0)
        .fit(&data)
        .is_err());
    // A probability scorer on an estimator without probabilities.
    let linear = |_: &Candidate| {
        Ok(LinfaEstimator::<_, LinearError<f64>>::regressor(
            LinearRegression::new(),
        ))
    };
    let diabetes = mlp_tune::datasets::diabetes();
    let err = GridSearchCV::new(linear, ParamGrid::new().add("unused", [1]))
        .scoring("neg_log_loss")
        .unwrap()
        .error_score(None)
        .fit(&diabetes)
        .unwrap_err();
    assert!(err.to_string().contains("classification"), "{err}");
}

/// Multi-metric scoring with refit on a named metric, and the search as a linfa `Fit`.
#[test]
fn multi_metric_search_refits_on_the_named_metric() {
    let data = mlp_tune::datasets::iris();
    let base = MLPClassifier::<f64, usize>::params()
        .solver(Solver::Lbfgs)
        .max_iter(60)
        .random_state(0);
    let search = GridSearchCV::new(
        by_name(base),
        ParamGrid::new().add("alpha", [1e-4, 1.0, 100.0]),
    )
    .scorers(vec![
        Scorer::from_name("accuracy").unwrap(),
        Scorer::from_name("neg_log_loss").unwrap(),
        Scorer::custom(
            "errors",
            |t: ndarray::ArrayView1<usize>, p: ndarray::ArrayView1<usize>| {
                -(t.iter().zip(p.iter()).filter(|(a, b)| a != b).count() as f64)
            },
        ),
    ])
    .refit_metric("neg_log_loss")
    .return_train_score(true);
    let fitted = Fit::<_, _, mlp_tune::MlpTuneError>::fit(&search, &data).unwrap();
    let results = fitted.cv_results();
    assert_eq!(results.metrics.len(), 3);
    let log_loss = &results.metrics[1];
    let best = fitted.best_index().unwrap();
    assert_eq!(log_loss.rank_test[best], 1);
    assert!(results.metrics[0].train.is_some());
    let json = results.to_json();
    assert!(json.get("mean_test_neg_log_loss").is_some());
    assert!(results.to_csv().lines().count() == 4);
    let proba = fitted.predict_proba(data.records()).unwrap();
    assert_eq!(proba.dim(), (150, 3));
}
