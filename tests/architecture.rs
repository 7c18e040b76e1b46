//! The knobs beyond scikit-learn (layer engine): routing, determinism, callbacks, typed
//! errors and searchability by name.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use linfa::prelude::*;
use linfa::Dataset;
use mlp_tune::error::MlpTuneError;
use mlp_tune::model_selection::param_space::ParamValue;
use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
use mlp_tune::neural_network::{
    Activation, BatchNormPosition, EarlyStoppingConfig, EpochLog, Initializer, LayerSpec,
    MLPClassifier, MLPRegressor, MlpConfig, Monitor, OptimizerKind, TrainingControl,
    TrainingObserver,
};
use ndarray::{Array1, Array2};

fn regression(n: usize) -> Dataset<f64, f64, ndarray::Ix1> {
    let mut rng = mlp_tune::random::NumpyRng::new(7);
    let x = Array2::from_shape_fn((n, 4), |_| rng.uniform(-2.0, 2.0));
    let y: Array1<f64> = x
        .rows()
        .into_iter()
        .map(|r| (r[0] * 1.5).sin() + r[1] * r[2] - 0.5 * r[3])
        .collect();
    Dataset::new(x, y)
}

fn set(config: &mut MlpConfig, name: &str, v: impl Into<ParamValue>) {
    config.set_param(name, &v.into()).unwrap();
}

fn fit(config: MlpConfig, data: &Dataset<f64, f64, ndarray::Ix1>) -> MLPRegressor<f64> {
    MLPRegressor::params().config(config).fit(data).unwrap()
}

fn base() -> MlpConfig {
    MlpConfig {
        hidden_layer_sizes: vec![16, 8],
        max_iter: 30,
        random_state: Some(3),
        ..MlpConfig::default()
    }
}

/// A knob too weak to change a bit routes to the layer engine, whose scikit-learn SGD and Adam match the
/// scikit-learn engine to rounding (same draws, same update formulas, same step-size
/// schedules, same stopping rule), with and without early stopping.
#[test]
fn layer_engine_reproduces_the_sklearn_engine_when_knobs_are_neutral() {
    use mlp_tune::neural_network::{LearningRate, Solver};
    let data = regression(300);
    for solver in [Solver::Sgd, Solver::Adam] {
        for schedule in [
            LearningRate::Constant,
            LearningRate::Adaptive,
            LearningRate::InvScaling,
        ] {
            for early_stopping in [false, true] {
                let mut plain = base();
                plain.solver = solver;
                plain.learning_rate = schedule;
                plain.learning_rate_init = 0.01;
                plain.early_stopping = early_stopping;
                plain.max_iter = 300;
                plain.n_iter_no_change = 3;
                plain.tol = 1e-3;
                let mut neutral = plain.clone();
                // A kernel regularizer too weak to change any gradient or loss by an ulp:
                // it compiles to a regularized dense op, so the layer engine runs. (Neutral
                // knobs that compile to plain dense ops run fused; see below.)
                neutral.arch.kernel_l2 = 1e-300;
                let case = format!("{solver:?} {schedule:?} early_stopping={early_stopping}");
                let a = fit(plain, &data);
                let b = fit(neutral, &data);
                assert_eq!(a.n_iter(), b.n_iter(), "{case}");
                assert!(a.n_iter() < 300, "{case}: the stopping rule never fired");
                let (pa, pb) = (a.predict(&data), b.predict(&data));
                let diff = (&pa - &pb).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
                assert!(diff < 1e-9, "{case}: max difference {diff}");
            }
        }
    }
}

/// A configuration whose knobs are neutral compiles to plain dense ops and runs on the fused
/// scikit-learn engine: bitwise scikit-learn's numbers, for explicit plain layers, a zero
/// dropout, unused batch-norm settings and scikit-learn's initializer named explicitly, and
/// with L-BFGS too (which the layer engine does not run).
#[test]
fn neutral_knobs_compile_to_the_fused_dense_engine() {
    use mlp_tune::neural_network::{Initializer, LayerSpec, Solver};
    let data = regression(300);
    for solver in [Solver::Sgd, Solver::Adam, Solver::Lbfgs] {
        let mut plain = base();
        plain.solver = solver;
        plain.hidden_layer_sizes = vec![6, 5];
        plain.max_iter = 30;
        let mut neutral = plain.clone();
        neutral.arch.layers = Some(vec![
            LayerSpec::dense(6, plain.activation),
            LayerSpec::dense(5, plain.activation),
        ]);
        neutral.hidden_layer_sizes = vec![99];
        neutral.arch.dropout = 0.0;
        neutral.arch.batch_norm_epsilon = 0.5;
        neutral.arch.initializer = Initializer::Sklearn;
        let a = fit(plain, &data);
        let b = fit(neutral, &data);
        assert_eq!(a.n_iter(), b.n_iter(), "{solver:?}");
        assert_eq!(a.loss_curve(), b.loss_curve(), "{solver:?}");
        assert_eq!(a.predict(&data), b.predict(&data), "{solver:?}");
    }
}

/// Continuing a layer-engine fit under early stopping goes on from the weights (and
/// batch-norm statistics) it ended on, not the restored best ones: 8 + 10 epochs equal 18.
#[test]
fn continuing_under_early_stopping_equals_one_longer_fit_on_the_layer_engine() {
    let data = regression(300);
    let mut c = base();
    c.early_stopping = true;
    c.tol = 0.0;
    c.n_iter_no_change = 100;
    c.learning_rate_init = 0.05;
    c.arch.batch_norm = Some(BatchNormPosition::BeforeActivation);
    c.arch.dropout = 0.1;
    c.max_iter = 18;
    let long = fit(c.clone(), &data);
    c.max_iter = 8;
    let short = fit(c, &data);
    // The best epoch of the short run is not its last, so the restored weights differ from
    // the ones training goes on from.
    let scores = short.validation_scores();
    let best = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(scores[scores.len() - 1] < best, "{scores:?}");
    let resumed = short.continue_training(&data, 10).unwrap();
    assert_eq!(long.n_iter(), resumed.n_iter());
    assert_eq!(long.validation_scores(), resumed.validation_scores());
    assert_eq!(long.predict(&data), resumed.predict(&data));
}

/// A layer-engine fit that diverges under early stopping falls back on its best weights, as
/// the scikit-learn engine does (`tests/bad_input.rs`), instead of failing.
#[test]
fn divergence_under_early_stopping_restores_the_best_weights_on_the_layer_engine() {
    let d = mlp_tune::datasets::diabetes();
    let x = d.records();
    let mean = x.mean_axis(ndarray::Axis(0)).unwrap();
    let std = x.std_axis(ndarray::Axis(0), 0.0);
    let data = Dataset::new((x - &mean) / &std, d.targets().mapv(|v| v / 100.0));
    // Momentum 0.95 with this step blows up in the second epoch.
    let config = |early_stopping: bool, max_iter: usize| {
        let mut c = MlpConfig {
            solver: mlp_tune::neural_network::Solver::Sgd,
            learning_rate_init: 0.24,
            momentum: 0.95,
            batch_size: mlp_tune::neural_network::BatchSize::Fixed(16),
            hidden_layer_sizes: vec![50, 50],
            early_stopping,
            max_iter,
            random_state: Some(0),
            ..MlpConfig::default()
        };
        // Too weak to change a bit, but a regularized op: the layer engine runs.
        c.arch.kernel_l2 = 1e-300;
        c
    };
    let err = MLPRegressor::params()
        .config(config(false, 100))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(err, MlpTuneError::Diverged { epoch: 1 }), "{err}");
    let kept = fit(config(true, 100), &data);
    assert_eq!(kept.diverged_epoch(), Some(2));
    assert!(kept.stopped_early());
    let after_one_epoch = fit(config(true, 1), &data);
    let p = kept.predict(&data);
    assert!(p.iter().all(|v| v.is_finite()));
    assert_eq!(p, after_one_epoch.predict(&data));
}

#[test]
fn every_knob_trains_and_predicts_deterministically() {
    let data = regression(300);
    let knobs: Vec<(&str, ParamValue)> = vec![
        ("activation", "gelu".into()),
        ("activation", "selu".into()),
        ("activation", "prelu".into()),
        ("dropout", 0.2.into()),
        ("gaussian_noise", 0.1.into()),
        ("batch_norm", "before".into()),
        ("batch_norm", "after".into()),
        ("kernel_l1", 1e-4.into()),
        ("kernel_l2", 1e-3.into()),
        ("activity_l2", 1e-3.into()),
        ("initializer", "he_normal".into()),
        ("use_bias", false.into()),
        ("optimizer", "nadam".into()),
        ("optimizer", "rmsprop".into()),
        ("optimizer", "adagrad".into()),
        ("optimizer", "adamw".into()),
        ("optimizer", "amsgrad".into()),
        ("clipnorm", 1.0.into()),
        ("clipvalue", 0.5.into()),
        ("learning_rate", "cosine_decay".into()),
        ("learning_rate", "exponential_decay".into()),
    ];
    let reference = fit(base(), &data);
    let ref_mse = mse(&reference.predict(&data), data.targets());
    for (name, value) in knobs {
        let mut c = base();
        set(&mut c, name, value.clone());
        let m1 = fit(c.clone(), &data);
        let m2 = fit(c, &data);
        let p1 = m1.predict(&data);
        assert_eq!(
            p1,
            m1.predict(&data),
            "{name}={value}: predict not deterministic"
        );
        assert_eq!(
            p1,
            m2.predict(&data),
            "{name}={value}: fit not reproducible"
        );
        let e = mse(&p1, data.targets());
        let var = data.targets().var(0.0);
        assert!(
            e < var,
            "{name}={value}: mse {e} not below the variance {var} (reference {ref_mse})"
        );
    }
}

fn mse(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    (a - b).mapv(|v| v * v).mean().unwrap()
}

#[test]
fn explicit_layers_with_activation_only_layer() {
    let data = regression(200);
    let mut c = base();
    c.arch.layers = Some(vec![
        LayerSpec::dense(12, Activation::Identity)
            .batch_norm(BatchNormPosition::AfterActivation)
            .use_bias(false),
        LayerSpec::activation_only(Activation::Mish),
        LayerSpec::dense(6, Activation::Selu)
            .initializer(Initializer::LecunNormal)
            .alpha_dropout(0.1),
    ]);
    let m = fit(c, &data);
    // Two hidden dense layers + output.
    let shapes: Vec<_> = m.coefs().iter().map(|w| w.dim()).collect();
    assert_eq!(shapes, vec![(4, 12), (12, 6), (6, 1)]);
    assert!(m.intercepts()[0].iter().all(|&b| b == 0.0));
}

#[test]
fn keras_early_stopping_restores_best_weights() {
    let data = regression(300);
    let mut c = base();
    c.max_iter = 200;
    c.learning_rate_init = 0.05;
    c.arch.callbacks_early_stopping = Some(EarlyStoppingConfig {
        monitor: Monitor::ValidationLoss,
        patience: 3,
        min_delta: 0.0,
        restore_best_weights: true,
        start_from_epoch: 2,
    });
    let m = fit(c, &data);
    let curve = m.validation_loss_curve();
    assert_eq!(curve.len(), m.n_iter());
    assert!(m.n_iter() < 200, "did not stop");
    // Stopped `patience` epochs after the best epoch, as Keras does.
    let best = curve
        .iter()
        .enumerate()
        .skip(2)
        .min_by(|a, b| a.1.partial_cmp(b.1).unwrap())
        .unwrap()
        .0;
    assert_eq!(m.n_iter(), best + 1 + 3);
}

#[test]
fn terminate_on_nan_stops_at_the_first_bad_batch() {
    let data = regression(200);
    let mut c = base();
    set(&mut c, "optimizer", "sgd");
    c.learning_rate_init = 1e3;
    c.max_iter = 50;
    c.arch.terminate_on_nan = true;
    let err = MLPRegressor::params().config(c).fit(&data).unwrap_err();
    assert!(matches!(err, MlpTuneError::Diverged { .. }), "{err}");
}

struct Counting {
    begin: AtomicUsize,
    epochs: AtomicUsize,
    end: AtomicUsize,
}

impl TrainingObserver for Counting {
    fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
        self.epochs.fetch_add(1, Ordering::SeqCst);
        if log.epoch == 4 {
            TrainingControl::Stop
        } else {
            TrainingControl::Continue
        }
    }
    fn on_train_begin(&self) {
        self.begin.fetch_add(1, Ordering::SeqCst);
    }
    fn on_train_end(&self, last: Option<&EpochLog>) {
        assert_eq!(last.map(|l| l.epoch), Some(4));
        self.end.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn user_callback_sees_begin_epochs_end_and_stops() {
    let data = regression(100);
    let counting = Arc::new(Counting {
        begin: AtomicUsize::new(0),
        epochs: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
    });
    struct Shared(Arc<Counting>);
    impl TrainingObserver for Shared {
        fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
            self.0.on_epoch_end(log)
        }
        fn on_train_begin(&self) {
            self.0.on_train_begin()
        }
        fn on_train_end(&self, last: Option<&EpochLog>) {
            self.0.on_train_end(last)
        }
    }
    let m = MLPRegressor::params()
        .config(base())
        .activation(Activation::Swish)
        .observer(Shared(counting.clone()))
        .fit(&data)
        .unwrap();
    assert_eq!(m.n_iter(), 4);
    assert!(m.stopped_early());
    assert_eq!(counting.begin.load(Ordering::SeqCst), 1);
    assert_eq!(counting.epochs.load(Ordering::SeqCst), 4);
    assert_eq!(counting.end.load(Ordering::SeqCst), 1);
}

#[cfg(feature = "serde")]
#[test]
fn checkpoint_holds_the_best_epoch() {
    use mlp_tune::neural_network::Checkpoint;
    let data = regression(200);
    let dir = std::env::temp_dir().join(format!("mlp_tune_ckpt_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("best.json");
    let mut c = base();
    c.arch.dropout = 0.1;
    c.arch.checkpoint = Some(path.clone());
    let m = fit(c, &data);
    let ck = Checkpoint::load(&path).unwrap();
    let best = m.loss_curve().iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(ck.value, best);
    assert_eq!(ck.monitor, Monitor::TrainingLoss);
    assert_eq!(m.loss_curve()[ck.epoch - 1], best);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_values_are_typed_errors() {
    let bad: Vec<(&str, ParamValue)> = vec![
        ("dropout", 1.0.into()),
        ("dropout", (-0.1).into()),
        ("kernel_l1", (-1e-3).into()),
        ("kernel_l2", (-1.0).into()),
        ("activity_l1", (-1.0).into()),
        ("batch_norm_momentum", 1.0.into()),
        ("momentum", 1.5.into()),
        ("optimizer_momentum", 1.0.into()),
        ("clipnorm", 0.0.into()),
    ];
    for (name, value) in bad {
        let mut c = base();
        if name == "optimizer_momentum" {
            set(&mut c, "optimizer", "rmsprop");
        }
        set(&mut c, name, value.clone());
        let err = MLPRegressor::<f64>::params().config(c).check().unwrap_err();
        assert!(
            matches!(err, MlpTuneError::InvalidParameter { .. }),
            "{name}={value}: {err}"
        );
    }
    let mut c = base();
    for (name, value) in [
        ("activation", "swish2"),
        ("optimizer", "adadelta"),
        ("initializer", "orthogonal"),
        ("batch_norm", "middle"),
    ] {
        let err = c.set_param(name, &value.into()).unwrap_err();
        assert!(
            matches!(err, MlpTuneError::InvalidParameter { .. }),
            "{name}={value}: {err}"
        );
    }
    // lbfgs cannot run the layer engine.
    let mut c = base();
    c.solver = mlp_tune::neural_network::Solver::Lbfgs;
    c.arch.dropout = 0.1;
    let err = MLPRegressor::params()
        .config(c)
        .fit(&regression(50))
        .unwrap_err();
    assert!(matches!(err, MlpTuneError::InvalidParameter { .. }));
}

#[test]
fn global_knobs_apply_to_every_hidden_layer_and_search_by_name() {
    let mut c = base();
    c.arch.layers = Some(vec![
        LayerSpec::dense(8, Activation::Relu),
        LayerSpec::dense(4, Activation::Tanh),
    ]);
    set(&mut c, "dropout", 0.3);
    set(&mut c, "kernel_l2", 0.01);
    set(&mut c, "n_neurons", 5);
    let layers = c.arch.layers.as_ref().unwrap();
    assert!(layers
        .iter()
        .all(|l| l.dropout == 0.3 && l.kernel_l2 == 0.01 && l.units == 5));

    let data = regression(150);
    let grid = ParamGrid::new()
        .add("activation", ["relu", "elu"])
        .add("dropout", [0.0, 0.1])
        .add("optimizer", ["adam", "rmsprop"]);
    let base = MLPRegressor::<f64>::params()
        .hidden_layer_sizes(&[8])
        .max_iter(10)
        .random_state(0);
    let search = GridSearchCV::new(by_name(base), grid)
        .cv(2)
        .fit(&data)
        .unwrap();
    assert_eq!(search.cv_results().params.len(), 8);
    let bad = ParamGrid::new().add("optimizer", ["adam", "sgdd"]);
    let base = MLPRegressor::<f64>::params().max_iter(2);
    assert!(GridSearchCV::new(by_name(base), bad)
        .cv(2)
        .fit(&data)
        .is_err());
}

#[test]
fn classifier_runs_the_layer_engine() {
    let (x, y) = {
        let d = regression(200);
        let y: Array1<usize> = d.targets().mapv(|v| usize::from(v > 0.0));
        (d.records().clone(), y)
    };
    let data = Dataset::new(x, y);
    let mut c = base();
    c.max_iter = 100;
    c.learning_rate_init = 0.01;
    c.arch.optimizer = Some(OptimizerKind::from_name("nadam").unwrap());
    c.arch.batch_norm = Some(BatchNormPosition::BeforeActivation);
    c.arch.dropout = 0.1;
    let m = MLPClassifier::params().config(c).fit(&data).unwrap();
    let p = m.predict(&data);
    let acc = p
        .iter()
        .zip(data.targets().iter())
        .filter(|(a, b)| a == b)
        .count() as f64
        / 200.0;
    assert!(acc > 0.8, "accuracy {acc}");
}

struct Rates(std::sync::Mutex<Vec<f64>>);

impl TrainingObserver for Rates {
    fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
        self.0.lock().unwrap().push(log.learning_rate);
        TrainingControl::Continue
    }
}

#[test]
fn reduce_on_plateau_lowers_the_step_after_patience() {
    let data = regression(100);
    let rates = Arc::new(Rates(std::sync::Mutex::new(Vec::new())));
    struct Shared(Arc<Rates>);
    impl TrainingObserver for Shared {
        fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
            self.0.on_epoch_end(log)
        }
    }
    let mut c = base();
    c.max_iter = 6;
    c.tol = 0.0;
    // A min_delta no epoch can beat: every epoch after the first is a plateau.
    c.arch.lr_schedule = Some(mlp_tune::neural_network::Schedule::ReduceOnPlateau {
        factor: 0.5,
        patience: 2,
        min_delta: 1e9,
        min_lr: 1e-4,
    });
    MLPRegressor::params()
        .config(c)
        .observer(Shared(rates.clone()))
        .fit(&data)
        .unwrap();
    let got = rates.0.lock().unwrap().clone();
    assert_eq!(got, vec![1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4]);
}

#[test]
fn continuing_a_layer_engine_fit_equals_one_longer_fit() {
    let data = regression(200);
    let mut c = base();
    c.tol = 0.0;
    c.arch.dropout = 0.2;
    c.arch.batch_norm = Some(BatchNormPosition::BeforeActivation);
    c.arch.optimizer = Some(OptimizerKind::from_name("rmsprop").unwrap());
    c.max_iter = 12;
    let long = fit(c.clone(), &data);
    c.max_iter = 5;
    let short = fit(c, &data);
    let resumed = short.continue_training(&data, 7).unwrap();
    assert_eq!(long.n_iter(), resumed.n_iter());
    assert_eq!(long.predict(&data), resumed.predict(&data));
}

#[test]
fn partial_fit_runs_one_epoch_per_call_on_the_layer_engine() {
    use linfa::traits::FitWith;
    let data = regression(120);
    let mut c = base();
    c.arch.dropout = 0.1;
    c.arch.optimizer = Some(OptimizerKind::from_name("adagrad").unwrap());
    let params = MLPRegressor::params().config(c).check().unwrap();
    let mut model = None;
    for _ in 0..3 {
        model = Some(params.fit_with(model, &data).unwrap());
    }
    let model = model.unwrap();
    assert_eq!(model.n_iter(), 3);
    assert_eq!(model.loss_curve().len(), 3);
    assert!(model.predict(&data).iter().all(|v| v.is_finite()));
}

#[cfg(feature = "serde")]
#[test]
fn layer_engine_model_round_trips_through_serde() {
    let data = regression(100);
    let mut c = base();
    c.arch.batch_norm = Some(BatchNormPosition::AfterActivation);
    c.activation = Activation::Gelu { approximate: true };
    let m = fit(c, &data);
    let text = serde_json::to_string(&m).unwrap();
    let back: MLPRegressor<f64> = serde_json::from_str(&text).unwrap();
    // serde_json's float parsing may be off by an ulp; batch-norm statistics and the
    // engine come back intact.
    let diff = (&back.predict(&data) - &m.predict(&data))
        .mapv(f64::abs)
        .fold(0.0f64, |a, &b| a.max(b));
    assert!(diff < 1e-12, "{diff}");
}
