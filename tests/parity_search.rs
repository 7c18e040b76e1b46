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
    let base = MLPClassifier::params()
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
    let base = MLPClassifier::params().max_iter(5);
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
    let base = MLPClassifier::params()
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

/// Every fit a probe saw: its candidate and training rows, in call order.
type FitCalls = std::sync::Arc<std::sync::Mutex<Vec<(Candidate, Vec<usize>)>>>;

/// scikit-learn's probe estimators of `param_grid.json`: fitting records the candidate and
/// its training rows; the score is a function of the candidate alone.
struct Probe {
    candidate: Candidate,
    score: f64,
    calls: FitCalls,
}

impl mlp_tune::model_selection::Estimator<f64, f64> for Probe {
    type Model = f64;

    fn fit_xy(
        &self,
        x: ndarray::ArrayView2<f64>,
        _y: ndarray::ArrayView1<f64>,
    ) -> mlp_tune::Result<f64> {
        let rows = x.column(0).iter().map(|&v| v as usize).collect();
        self.calls
            .lock()
            .unwrap()
            .push((self.candidate.clone(), rows));
        Ok(self.score)
    }

    fn predict_xy(
        &self,
        model: &f64,
        x: ndarray::ArrayView2<f64>,
    ) -> mlp_tune::Result<ndarray::Array1<f64>> {
        Ok(ndarray::Array1::from_elem(x.nrows(), *model))
    }

    fn is_classifier(&self) -> bool {
        false
    }
}

/// `GridSearchCV(probe, grid, cv=KFold(3), refit=False)`: params order, means, stds, ranks
/// (ties to the lowest rank), best index and the candidate-major fit order.
#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn grid_search_on_probe_estimators_equals_scikit_learn() {
    let doc = parity_json("param_grid.json");
    let x = ndarray::Array2::from_shape_fn((9, 1), |(i, _)| i as f64);
    let data = Dataset::new(x, ndarray::Array1::<f64>::zeros(9));
    for (key, grid_key) in [
        ("GridSearchCV_dict", "grid_dict"),
        ("GridSearchCV_list", "grid_list_of_dicts"),
    ] {
        let case = &doc[key];
        let calls = FitCalls::default();
        let recorder = calls.clone();
        let builder = move |c: &Candidate| -> mlp_tune::Result<Probe> {
            let score = match c.get("a") {
                Some(a) => a.as_f64("a")?,
                None => {
                    let gamma = match c.get("gamma") {
                        Some(g) => g.as_f64("gamma")?,
                        None => 1.0,
                    };
                    c["C"].as_f64("C")? * gamma
                }
            };
            Ok(Probe {
                candidate: c.clone(),
                score,
                calls: recorder.clone(),
            })
        };
        let search = GridSearchCV::new(builder, grid_from_json(&doc[grid_key]["param_grid"]))
            .cv_with(mlp_tune::model_selection::Cv::Splitter(
                std::sync::Arc::new(KFold::new(3)),
            ))
            .scorers(vec![Scorer::custom("probe", |_, pred| pred[0])])
            .refit(false)
            .n_jobs(1)
            .fit(&data)
            .unwrap();
        let results = search.cv_results();
        let theirs: Vec<Candidate> = case["cv_results_['params']"]
            .as_array()
            .unwrap()
            .iter()
            .map(json_candidate)
            .collect();
        assert_eq!(results.params, theirs, "{key}");
        let primary = results.primary();
        assert_eq!(
            primary.mean_test.clone(),
            vector(&case["mean_test_score"]).to_vec(),
            "{key}"
        );
        assert_eq!(
            primary.std_test.clone(),
            vector(&case["std_test_score"]).to_vec(),
            "{key}"
        );
        assert_eq!(
            primary.rank_test.clone(),
            usizes(&case["rank_test_score"]),
            "{key}"
        );
        assert_eq!(
            search.best_index(),
            case["best_index_"].as_u64().map(|v| v as usize)
        );
        assert_eq!(
            search.best_params(),
            Some(&json_candidate(&case["best_params_"]))
        );

        let calls = calls.lock().unwrap();
        let first: Vec<Vec<usize>> = calls
            .iter()
            .filter(|(c, _)| *c == theirs[0])
            .map(|(_, rows)| rows.clone())
            .collect();
        let expected_rows: Vec<Vec<usize>> = case["fit_call_train_rows_first_candidate"]
            .as_array()
            .unwrap()
            .iter()
            .map(usizes)
            .collect();
        assert_eq!(first, expected_rows, "{key}");
        if let Some(order) = case.get("fit_call_order") {
            let ours: Vec<usize> = calls
                .iter()
                .map(|(c, _)| theirs.iter().position(|t| t == c).unwrap())
                .collect();
            let expected: Vec<usize> = order
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| pair[0].as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                ours, expected,
                "{key}: single-thread fits run candidate-major"
            );
        }
    }
}

/// `GridSearchCV(Ridge(), {'alpha': [0.01, 0.1, 1, 10]}, cv=5)` with linfa-elasticnet's
/// ridge (`l1_ratio = 0`, `penalty = alpha / n_train` of each fold, see the parity README):
/// per-split R², means, stds and ranks to the coordinate-descent tolerance, and the refit.
#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn grid_search_over_linfa_ridge_equals_scikit_learn() {
    use linfa_elasticnet::{ElasticNet, ElasticNetError};

    /// Ridge with scikit-learn's `alpha`: the linfa penalty depends on the fold's size. linfa's
    /// elastic net centers the targets but not the records, so on uncentered features (raw
    /// diabetes) its intercept is not scikit-learn's; like scikit-learn's Ridge, this wrapper
    /// centers the records with the training fold's means and folds them into the intercept.
    struct Ridge {
        alpha: f64,
    }
    struct RidgeModel {
        coef: ndarray::Array1<f64>,
        intercept: f64,
    }
    impl mlp_tune::model_selection::Estimator<f64, f64> for Ridge {
        type Model = RidgeModel;
        fn fit_xy(
            &self,
            x: ndarray::ArrayView2<f64>,
            y: ndarray::ArrayView1<f64>,
        ) -> mlp_tune::Result<RidgeModel> {
            let means = x.mean_axis(ndarray::Axis(0)).unwrap();
            let centered = &x - &means;
            let model = ElasticNet::params()
                .l1_ratio(0.0)
                .penalty(self.alpha / x.nrows() as f64)
                .tolerance(1e-8)
                .max_iterations(100_000)
                .fit(&Dataset::new(centered, y.to_owned()))
                .map_err(|e: ElasticNetError| mlp_tune::MlpTuneError::FitFailed(e.to_string()))?;
            let coef = model.hyperplane().clone();
            Ok(RidgeModel {
                intercept: model.intercept() - means.dot(&coef),
                coef,
            })
        }
        fn predict_xy(
            &self,
            model: &RidgeModel,
            x: ndarray::ArrayView2<f64>,
        ) -> mlp_tune::Result<ndarray::Array1<f64>> {
            Ok(x.dot(&model.coef) + model.intercept)
        }
        fn is_classifier(&self) -> bool {
            false
        }
    }

    let doc = parity_json("cross_val_score.json");
    let case = &doc["GridSearchCV_Ridge"];
    let theirs = &case["cv_results_"];
    let data = mlp_tune::datasets::diabetes();
    let grid = ParamGrid::new().add("alpha", [0.01, 0.1, 1.0, 10.0]);
    let search = GridSearchCV::new(
        |c: &Candidate| {
            Ok(Ridge {
                alpha: c["alpha"].as_f64("alpha")?,
            })
        },
        grid,
    )
    .cv(5)
    .scoring("r2")
    .unwrap()
    .fit(&data)
    .unwrap();
    let results = search.cv_results();
    let primary = results.primary();
    let close = |a: f64, b: f64, what: &str| {
        assert!((a - b).abs() < 1e-6, "{what}: {a} vs {b}");
    };
    for split in 0..5 {
        let expected = vector(&theirs[format!("split{split}_test_score")]);
        for (candidate, &b) in expected.iter().enumerate() {
            close(
                primary.split_test[candidate][split],
                b,
                &format!("split {split} candidate {candidate}"),
            );
        }
    }
    for (i, (&a, &b)) in primary
        .mean_test
        .iter()
        .zip(vector(&theirs["mean_test_score"]).iter())
        .enumerate()
    {
        close(a, b, &format!("mean {i}"));
    }
    for (i, (&a, &b)) in primary
        .std_test
        .iter()
        .zip(vector(&theirs["std_test_score"]).iter())
        .enumerate()
    {
        close(a, b, &format!("std {i}"));
    }
    assert_eq!(
        primary.rank_test.clone(),
        usizes(&theirs["rank_test_score"])
    );
    assert_eq!(search.best_index(), Some(0));
    close(
        search.best_score().unwrap(),
        case["best_score_"].as_f64().unwrap(),
        "best score",
    );
    let refit = search.best_model().expect("refit on all rows");
    let coef = vector(&case["refit_best_estimator_"]["coef_"]);
    for (j, (&a, &b)) in refit.coef.iter().zip(coef.iter()).enumerate() {
        assert!(((a - b) / b).abs() < 1e-5, "coef {j}: {a} vs {b}");
    }
    let intercept = case["refit_best_estimator_"]["intercept_"]
        .as_f64()
        .unwrap();
    assert!(((refit.intercept - intercept) / intercept).abs() < 1e-5);
}
