//! Bad input gives a typed error, never a panic.

use linfa::prelude::*;
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};
use mlp_tune::MlpTuneError;
use ndarray::{array, Array1, Array2};

fn xy() -> (Array2<f64>, Array1<f64>) {
    let x = Array2::from_shape_fn((20, 3), |(i, j)| (i * 3 + j) as f64 / 10.0);
    let y = x.column(0).to_owned();
    (x, y)
}

#[test]
fn non_finite_records_and_targets_are_errors() {
    let (mut x, y) = xy();
    x[[3, 1]] = f64::NAN;
    let err = MLPRegressor::params()
        .fit(&Dataset::new(x, y.clone()))
        .unwrap_err();
    assert!(matches!(err, MlpTuneError::InvalidInput(_)), "{err}");
    let (x, mut y) = xy();
    y[2] = f64::INFINITY;
    assert!(MLPRegressor::params().fit(&Dataset::new(x, y)).is_err());
}

#[test]
fn shapes_are_checked() {
    let empty = Dataset::new(Array2::<f64>::zeros((0, 3)), Array1::<f64>::zeros(0));
    assert!(MLPRegressor::params().fit(&empty).is_err());
    let (x, _) = xy();
    let short = Dataset::new(x.clone(), Array1::<f64>::zeros(5));
    assert!(MLPRegressor::params().fit(&short).is_err());
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[4])
        .max_iter(5)
        .random_state(0)
        .fit(&Dataset::new(x, xy().1))
        .unwrap();
    let err = model
        .try_predict(&Array2::<f64>::zeros((2, 4)))
        .unwrap_err();
    assert!(
        matches!(
            err,
            MlpTuneError::FeatureMismatch {
                expected: 3,
                found: 4
            }
        ),
        "{err}"
    );
    // The linfa trait cannot return an error: it yields NaN instead of panicking.
    let p: Array1<f64> = model.predict(&Array2::<f64>::zeros((2, 4)));
    assert!(p.iter().all(|v| v.is_nan()));
}

#[test]
fn out_of_range_hyperparameters_are_errors() {
    let (x, y) = xy();
    let data = Dataset::new(x, y);
    let cases = vec![
        MLPRegressor::params().hidden_layer_sizes(&[5, 0]),
        MLPRegressor::params().learning_rate_init(0.0),
        MLPRegressor::params().learning_rate_init(-1.0),
        MLPRegressor::params().batch_size(0),
        MLPRegressor::params().max_iter(0),
        MLPRegressor::params().validation_fraction(1.0),
        MLPRegressor::params().validation_fraction(0.0),
        MLPRegressor::params().momentum(1.5),
        MLPRegressor::params().alpha(-1.0),
        MLPRegressor::params().beta_1(1.0),
        MLPRegressor::params().n_iter_no_change(0),
    ];
    for params in cases {
        let err = params.fit(&data).unwrap_err();
        assert!(
            matches!(err, MlpTuneError::InvalidParameter { .. }),
            "{err}"
        );
    }
}

#[test]
fn early_stopping_needs_enough_rows() {
    let x = array![[0.0], [1.0], [2.0], [3.0], [4.0]];
    let y = array![0.0, 1.0, 2.0, 3.0, 4.0];
    let err = MLPRegressor::params()
        .early_stopping(true)
        .fit(&Dataset::new(x, y))
        .unwrap_err();
    assert!(err.to_string().contains("validation"), "{err}");
}

#[test]
fn a_classifier_needs_two_classes_and_known_labels() {
    let (x, _) = xy();
    let one = Array1::from_elem(20, 7usize);
    assert!(MLPClassifier::params()
        .fit(&Dataset::new(x.clone(), one))
        .is_err());
    let labels = Array1::from_shape_fn(20, |i| i % 2);
    let params = MLPClassifier::params()
        .max_iter(5)
        .random_state(0)
        .check()
        .unwrap();
    let first = params
        .fit_with(None, &Dataset::new(x.clone(), labels))
        .unwrap();
    let unseen = Array1::from_shape_fn(20, |i| i % 3);
    let err = params
        .fit_with(Some(first), &Dataset::new(x, unseen))
        .unwrap_err();
    assert!(err.to_string().contains("not seen"), "{err}");
}

#[test]
fn partial_fit_refuses_lbfgs() {
    let (x, y) = xy();
    let params = MLPRegressor::params()
        .solver(Solver::Lbfgs)
        .check()
        .unwrap();
    assert!(params.fit_with(None, &Dataset::new(x, y)).is_err());
}

#[test]
fn a_diverging_fit_names_the_epoch() {
    let x = Array2::from_shape_fn((50, 2), |(i, j)| (i + j) as f64 * 100.0);
    let y = x.column(0).mapv(|v| v * 1e3);
    let err = MLPRegressor::params()
        .solver(Solver::Sgd)
        .activation(mlp_tune::neural_network::Activation::Identity)
        .learning_rate_init(10.0)
        .random_state(0)
        .fit(&Dataset::new(x, y))
        .unwrap_err();
    assert!(
        matches!(err, MlpTuneError::Diverged { epoch } if epoch >= 1),
        "{err}"
    );
}

/// Continuing training equals training in one go (the warm-continuation guarantee).
#[test]
fn continued_training_equals_one_go() {
    let (x, y) = xy();
    let data = Dataset::new(x.clone(), y);
    let params = MLPRegressor::params()
        .hidden_layer_sizes(&[6])
        .solver(Solver::Sgd)
        .batch_size(4)
        .tol(0.0)
        .n_iter_no_change(1000)
        .random_state(5);
    let once = params.clone().max_iter(30).fit(&data).unwrap();
    let part = params.max_iter(10).fit(&data).unwrap();
    let rest = part.continue_training(&data, 20).unwrap();
    assert_eq!(rest.n_iter(), 30);
    assert_eq!(once.loss_curve(), rest.loss_curve());
    assert_eq!(once.try_predict(&x).unwrap(), rest.try_predict(&x).unwrap());
}

/// A loss that turns non-finite is an error naming the epoch; with early stopping, as in
/// scikit-learn, the best weights seen so far are kept instead and the divergence recorded.
#[test]
fn divergence_is_an_error_unless_early_stopping_has_best_weights() {
    let d = mlp_tune::datasets::diabetes();
    let x = d.records();
    let mean = x.mean_axis(ndarray::Axis(0)).unwrap();
    let std = x.std_axis(ndarray::Axis(0), 0.0);
    let data = Dataset::new((x - &mean) / &std, d.targets().mapv(|v| v / 100.0));
    // Momentum 0.95 with this step blows up in the second epoch.
    let params = |early_stopping: bool, max_iter: usize| {
        MLPRegressor::params()
            .solver(Solver::Sgd)
            .learning_rate_init(0.24)
            .momentum(0.95)
            .batch_size(16)
            .hidden_layer_sizes(&[50, 50])
            .early_stopping(early_stopping)
            .max_iter(max_iter)
            .random_state(0)
    };
    match params(false, 100).fit(&data) {
        // Without the validation split the whole data trains, and it blows up in epoch 1.
        Err(MlpTuneError::Diverged { epoch }) => assert_eq!(epoch, 1),
        other => panic!("expected a divergence error, got {other:?}"),
    }
    let kept = params(true, 100).fit(&data).unwrap();
    assert_eq!(kept.diverged_epoch(), Some(2));
    assert!(kept.stopped_early());
    let after_one_epoch = params(true, 1).fit(&data).unwrap();
    assert_eq!(after_one_epoch.diverged_epoch(), None);
    let p = kept.try_predict(data.records()).unwrap();
    assert!(p.iter().all(|v| v.is_finite()));
    assert_eq!(p, after_one_epoch.try_predict(data.records()).unwrap());
}

/// A seed on a grid search would be ignored (a grid draws nothing): it is refused by name
/// at fit, while a randomized search uses it.
#[test]
fn a_seed_on_a_grid_search_is_refused_not_ignored() {
    use mlp_tune::model_selection::{
        by_name, Distribution, GridSearchCV, ParamDistributions, ParamGrid, RandomizedSearchCV,
    };
    let iris = mlp_tune::datasets::iris();
    let base = mlp_tune::neural_network::MLPClassifier::params()
        .solver(mlp_tune::neural_network::Solver::Lbfgs)
        .max_iter(5);
    let grid = ParamGrid::new().add("alpha", [1e-4, 1e-2]);
    let Err(err) = GridSearchCV::new(by_name(base.clone()), grid.clone())
        .cv(3)
        .random_state(3)
        .fit(&iris)
    else {
        panic!("a seeded grid search must be refused");
    };
    assert!(
        matches!(err, mlp_tune::MlpTuneError::InvalidParameter { ref name, .. } if name == "random_state"),
        "{err}"
    );
    assert!(GridSearchCV::new(by_name(base.clone()), grid)
        .cv(3)
        .fit(&iris)
        .is_ok());
    let space = ParamDistributions::new().add(
        "alpha",
        Distribution::LogUniform {
            low: 1e-5,
            high: 1e-1,
        },
    );
    let draws = |seed: u32| {
        RandomizedSearchCV::new(by_name(base.clone()), space.clone(), 3)
            .cv(3)
            .random_state(seed)
            .fit(&iris)
            .unwrap()
            .cv_results()
            .params
            .clone()
    };
    assert_ne!(draws(1), draws(2));
}
