//! Property tests of fitting on tiny, odd data: a handful of rows (or none), few features,
//! non-finite values, one class, labels of any kind, with random settings and a single
//! epoch, then predicting and scoring on records and targets of random shapes.
//!
//! A fit answers with a model or a typed error, and so do `try_predict` and `score`,
//! whatever the shapes: never a panic. (Networks stay tiny and train one epoch, so these
//! cases cost microseconds each.)

use linfa::prelude::*;
use linfa::Dataset;
use mlp_tune::model_selection::param_space::{ParamValue, SetParams};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor};
use mlp_tune::MlpTuneError;
use ndarray::{Array1, Array2};
use proptest::prelude::*;

fn cell() -> impl Strategy<Value = f64> {
    prop_oneof![
        30 => -3.0..3.0f64,
        3 => Just(0.0),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(1e300), Just(-1e300)],
    ]
}

/// Mostly 1 to 6 rows and 1 to 3 columns; sometimes none.
fn matrix() -> impl Strategy<Value = Array2<f64>> {
    let rows = prop_oneof![9 => 1usize..7, 1 => Just(0usize)];
    let cols = prop_oneof![9 => 1usize..4, 1 => Just(0usize)];
    (rows, cols).prop_flat_map(|(r, c)| {
        proptest::collection::vec(cell(), r * c)
            .prop_map(move |v| Array2::from_shape_vec((r, c), v).expect("r * c values"))
    })
}

/// Settings that change the code path of a fit: solver, stopping, batches, layer engine.
fn settings() -> impl Strategy<Value = Vec<(&'static str, ParamValue)>> {
    let one = prop_oneof![
        proptest::sample::select(vec!["lbfgs", "sgd", "adam"])
            .prop_map(|s| ("solver", ParamValue::from(s))),
        any::<bool>().prop_map(|b| ("early_stopping", ParamValue::Bool(b))),
        prop_oneof![Just(0.01), Just(0.5), Just(0.9)]
            .prop_map(|f| ("validation_fraction", ParamValue::Float(f))),
        (1i64..5).prop_map(|b| ("batch_size", ParamValue::Int(b))),
        proptest::collection::vec(1i64..4, 0..3)
            .prop_map(|v| ("hidden_layer_sizes", ParamValue::Ints(v))),
        // Widths no memory holds: refused before anything is allocated.
        prop_oneof![Just(1i64 << 33), Just(1i64 << 40), Just(i64::MAX)]
            .prop_map(|w| ("hidden_layer_sizes", ParamValue::Ints(vec![w, 2]))),
        proptest::sample::select(vec!["relu", "tanh", "logistic", "identity", "gelu", "selu"])
            .prop_map(|s| ("activation", ParamValue::from(s))),
        prop_oneof![Just(0.0), Just(0.5)].prop_map(|d| ("dropout", ParamValue::Float(d))),
        any::<bool>().prop_map(|b| ("batch_norm", ParamValue::Bool(b))),
        proptest::sample::select(vec!["adam", "nadam", "rmsprop", "sgd", "adagrad", "adamw"])
            .prop_map(|s| ("optimizer", ParamValue::from(s))),
        any::<bool>().prop_map(|b| ("shuffle", ParamValue::Bool(b))),
        prop_oneof![Just(1e-3), Just(10.0), Just(1e6)]
            .prop_map(|lr| ("learning_rate_init", ParamValue::Float(lr))),
        proptest::sample::select(vec!["constant", "invscaling", "adaptive"])
            .prop_map(|s| ("learning_rate", ParamValue::from(s))),
    ];
    proptest::collection::vec(one, 0..5)
}

fn fit_error(e: &MlpTuneError) -> bool {
    matches!(
        e,
        MlpTuneError::InvalidInput(_)
            | MlpTuneError::InvalidParameter { .. }
            | MlpTuneError::Split(_)
            | MlpTuneError::Diverged { .. }
            | MlpTuneError::FeatureMismatch { .. }
            | MlpTuneError::Linfa(_)
    )
}

/// Cases per test.
const CASES: u32 = 5_000;

/// Runs `test` on `CASES` inputs drawn from `strategy`; a failing case panics with
/// proptest's shrunk input. The inputs are odd on purpose, but at least a fifth of them must
/// still reach training and prediction (`test` counts those it fitted).
fn run_counting<S: Strategy>(
    strategy: S,
    test: impl Fn(S::Value, &std::cell::Cell<u32>) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let fitted = std::cell::Cell::new(0);
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let result =
        proptest::test_runner::TestRunner::new(config).run(&strategy, |v| test(v, &fitted));
    if let Err(e) = result {
        panic!("{e}");
    }
    let fitted = fitted.get();
    assert!(
        fitted >= CASES / 5,
        "only {fitted} of {CASES} fits succeeded"
    );
}

/// `params` with `settings` applied by name (every generated setting is a valid one).
fn with_settings<P: SetParams>(
    mut params: P,
    settings: &[(&'static str, ParamValue)],
) -> Result<P, TestCaseError> {
    for (name, value) in settings {
        params
            .set_param(name, value)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    }
    Ok(params)
}

#[test]
fn regressor_fits_predicts_and_scores_or_errs() {
    let strategy = (
        matrix(),
        proptest::collection::vec(cell(), 0..9),
        settings(),
        matrix(),
        proptest::collection::vec(cell(), 0..6),
        any::<u32>(),
    );
    run_counting(
        strategy,
        |(x, y_extra, settings, other, other_y, seed), fitted| {
            let n = x.nrows();
            // Usually one target per row; sometimes a wrong count.
            let y: Array1<f64> = if y_extra.len() > 6 {
                Array1::from(y_extra)
            } else {
                (0..n)
                    .map(|i| y_extra.get(i).copied().unwrap_or(i as f64))
                    .collect()
            };
            let params = with_settings(
                MLPRegressor::<f64>::params().max_iter(1).random_state(seed),
                &settings,
            )?;
            match params.fit(&Dataset::new(x.clone(), y.clone())) {
                Ok(model) => {
                    fitted.set(fitted.get() + 1);
                    prop_assert_eq!(model.n_features_in(), x.ncols());
                    match model.try_predict(&other) {
                        Ok(p) => prop_assert_eq!(p.len(), other.nrows()),
                        Err(e) => prop_assert!(fit_error(&e), "{e:?}"),
                    }
                    let targets = Array1::from(other_y);
                    if let Err(e) = model.score(&other, &targets) {
                        prop_assert!(fit_error(&e), "{e:?}");
                    }
                    if let Err(e) = model.score(&x, &y) {
                        prop_assert!(fit_error(&e), "{e:?}");
                    }
                }
                Err(e) => prop_assert!(fit_error(&e), "{e:?}"),
            }
            Ok(())
        },
    );
}

#[test]
fn classifier_fits_predicts_and_scores_or_errs() {
    let strategy = (
        matrix().prop_flat_map(|x| {
            let n = x.nrows();
            let label = prop_oneof![Just(0usize), Just(1), Just(7), Just(usize::MAX)];
            // One label per row, or (rarely) a wrong count.
            let len = prop_oneof![9 => Just(n), 1 => 0..n + 2];
            (
                Just(x),
                len.prop_flat_map(move |l| proptest::collection::vec(label.clone(), l)),
            )
        }),
        settings(),
        matrix(),
        any::<u32>(),
    );
    run_counting(strategy, |((x, labels), settings, other, seed), fitted| {
        let params = with_settings(
            MLPClassifier::<f64, usize>::params()
                .max_iter(1)
                .random_state(seed),
            &settings,
        )?;
        let y = Array1::from(labels.clone());
        match params.fit(&Dataset::new(x.clone(), y.clone())) {
            Ok(model) => {
                fitted.set(fitted.get() + 1);
                prop_assert!(!model.classes().is_empty());
                match model.try_predict(&other) {
                    Ok(p) => {
                        prop_assert_eq!(p.len(), other.nrows());
                        prop_assert!(p.iter().all(|l| model.classes().contains(l)));
                    }
                    Err(e) => prop_assert!(fit_error(&e), "{e:?}"),
                }
                match model.predict_proba(&other) {
                    Ok(p) => {
                        prop_assert_eq!(p.nrows(), other.nrows());
                        if model.classes().len() >= 2 {
                            prop_assert_eq!(p.ncols(), model.classes().len());
                        }
                    }
                    Err(e) => prop_assert!(fit_error(&e), "{e:?}"),
                }
                let short = y.slice(ndarray::s![..y.len().saturating_sub(1)]);
                prop_assert!(model.score(&x, &short).is_err() || y.is_empty());
            }
            Err(e) => prop_assert!(fit_error(&e), "{e:?}"),
        }
        Ok(())
    });
}

/// Regression: a width whose weight count overflows `usize` panicked ("capacity overflow",
/// "mid > len" in the layout) and one that merely did not fit in memory aborted the process
/// on allocation; both engines now refuse them with a typed error before allocating.
#[test]
fn regression_absurd_widths_are_refused_before_allocating() {
    let x = ndarray::array![[1.0, 2.0], [3.0, 4.0]];
    let y = ndarray::array![1.0, 2.0];
    let labels = ndarray::array![0usize, 1];
    for width in [usize::MAX, 1 << 62, 1 << 40, 1 << 33] {
        for dropout in [0.0, 0.1] {
            let fitted = MLPRegressor::<f64>::params()
                .hidden_layer_sizes(&[width, 3])
                .dropout(dropout)
                .max_iter(1)
                .fit(&Dataset::new(x.clone(), y.clone()));
            assert!(
                matches!(fitted, Err(MlpTuneError::InvalidParameter { ref name, .. }) if name == "hidden_layer_sizes"),
                "{width}, dropout {dropout}: {:?}",
                fitted.err()
            );
            let fitted = MLPClassifier::<f64, usize>::params()
                .hidden_layer_sizes(&[3, width])
                .dropout(dropout)
                .max_iter(1)
                .fit(&Dataset::new(x.clone(), labels.clone()));
            assert!(matches!(fitted, Err(MlpTuneError::InvalidParameter { .. })));
        }
    }
    // A wide layer under the limit still trains.
    MLPRegressor::<f64>::params()
        .hidden_layer_sizes(&[1 << 12])
        .max_iter(1)
        .fit(&Dataset::new(x, y))
        .unwrap();
}
