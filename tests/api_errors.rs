//! The fitted models' `score` methods take records and targets alike (by reference, owned
//! or views) and answer a shape mismatch with a typed error; failures keep their cause
//! (`Fit`'s source, `IoError`'s kind) and a search without refit says it is not fitted.

use std::error::Error as _;

use linfa::prelude::*;
use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid, Scorer};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};
use mlp_tune::MlpTuneError;
use ndarray::{s, Array1, Array2, Array3, Axis};

fn invalid_input<T: std::fmt::Debug>(r: mlp_tune::Result<T>) -> bool {
    matches!(r, Err(MlpTuneError::InvalidInput(_)))
}

#[test]
fn regressor_score_takes_targets_by_reference_and_refuses_bad_shapes() {
    let data = mlp_tune::datasets::diabetes();
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[4])
        .solver(Solver::Lbfgs)
        .max_iter(5)
        .random_state(0)
        .fit(&data)
        .unwrap();
    let x = data.records();
    let y: &Array1<f64> = data.targets();
    // Owned 1-D, 1-D view, 2-D column (owned and view): the same R².
    let r2 = model.score(x, y).unwrap();
    assert!(r2.is_finite());
    assert_eq!(model.score(&x.view(), &y.view()).unwrap(), r2);
    let column: Array2<f64> = y.clone().insert_axis(Axis(1));
    assert_eq!(model.score(x, &column).unwrap(), r2);
    assert_eq!(model.score(x, &column.view()).unwrap(), r2);

    // Too few targets, too many, two outputs for a one-output model, three dimensions:
    // each used to index out of bounds or is now a typed error.
    assert!(invalid_input(model.score(x, &y.slice(s![..10]))));
    let longer = Array1::from_iter(y.iter().chain(y.iter()).copied());
    assert!(invalid_input(model.score(x, &longer)));
    let two_outputs = Array2::<f64>::zeros((y.len(), 2));
    assert!(invalid_input(model.score(x, &two_outputs)));
    let no_outputs = Array2::<f64>::zeros((y.len(), 0));
    assert!(invalid_input(model.score(x, &no_outputs)));
    let cube = Array3::<f64>::zeros((y.len(), 1, 1));
    assert!(invalid_input(model.score(x, &cube)));
    // Records with the wrong number of features stay a feature mismatch.
    assert!(matches!(
        model.score(&x.slice(s![.., ..3]), y),
        Err(MlpTuneError::FeatureMismatch { .. })
    ));
}

#[test]
fn classifier_and_search_scores_take_the_same_argument_types() {
    let iris = mlp_tune::datasets::iris();
    let x = iris.records();
    let y: &Array1<usize> = iris.targets();
    let model = MLPClassifier::params()
        .hidden_layer_sizes(&[4])
        .solver(Solver::Lbfgs)
        .max_iter(20)
        .random_state(0)
        .fit(&iris)
        .unwrap();
    let accuracy = model.score(x, y).unwrap();
    assert_eq!(model.score(&x.view(), &y.view()).unwrap(), accuracy);
    assert!(invalid_input(model.score(x, &y.slice(s![..149]))));

    let search = GridSearchCV::new(
        by_name(
            MLPClassifier::params()
                .solver(Solver::Lbfgs)
                .max_iter(20)
                .random_state(0),
        ),
        ParamGrid::new().add("alpha", [1e-4]),
    )
    .cv(3)
    .fit(&iris)
    .unwrap();
    let classes = [0usize, 1, 2];
    let scorer = Scorer::<usize>::from_name("accuracy").unwrap();
    let by_search = search.score(x, y, &scorer, &classes).unwrap();
    assert_eq!(
        search
            .score(&x.view(), &y.view(), &scorer, &classes)
            .unwrap(),
        by_search
    );
    assert!(invalid_input(search.score(
        x,
        &y.slice(s![..10]),
        &scorer,
        &classes
    )));
}

#[test]
fn a_search_without_refit_is_not_fitted() {
    let data = mlp_tune::datasets::diabetes();
    let search = GridSearchCV::new(
        by_name(
            MLPRegressor::params()
                .hidden_layer_sizes(&[2])
                .solver(Solver::Lbfgs)
                .max_iter(2)
                .random_state(0),
        ),
        ParamGrid::new().add("alpha", [1e-4]),
    )
    .cv(2)
    .refit(false)
    .fit(&data)
    .unwrap();
    let err = search.try_predict(data.records()).unwrap_err();
    assert!(matches!(err, MlpTuneError::NotFitted(_)), "{err:?}");
    assert!(err.to_string().starts_with("not fitted: "), "{err}");
}

#[test]
fn a_raised_fit_failure_keeps_its_cause() {
    let data = mlp_tune::datasets::diabetes();
    // Targets this large make the first loss infinite: every fit diverges.
    let huge = linfa::Dataset::new(data.records().clone(), data.targets() * 1e300);
    let result = GridSearchCV::new(
        by_name(MLPRegressor::<f64>::params().max_iter(2).random_state(0)),
        ParamGrid::new().add("alpha", [1e-4]),
    )
    .cv(2)
    .error_score(None)
    .fit(&huge);
    let Err(err) = result else {
        panic!("a raised fit failure was expected");
    };
    assert!(matches!(err, MlpTuneError::Fit { .. }), "{err:?}");
    let cause = err
        .source()
        .and_then(|s| s.downcast_ref::<MlpTuneError>())
        .expect("the fit's own error is the source");
    assert!(matches!(cause, MlpTuneError::Diverged { .. }), "{cause:?}");
    // The message still reads whole.
    assert!(err.to_string().contains(&cause.to_string()), "{err}");
    // And the error stays cloneable.
    assert_eq!(err.clone().to_string(), err.to_string());
}

#[test]
fn io_errors_keep_their_kind() {
    let err =
        mlp_tune::datasets::load_csv("/no/such/dir/data.csv", &Default::default()).unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
    let via_from: MlpTuneError =
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, "nope").into();
    assert_eq!(
        via_from.io_kind(),
        Some(std::io::ErrorKind::PermissionDenied)
    );
    assert_eq!(via_from.to_string(), "io: nope");
    assert_eq!(MlpTuneError::Io("text".into()).io_kind(), None);
}
