//! Multi-layer perceptrons (scikit-learn's `neural_network/`).
//!
//! - [`MLPRegressor`] and [`MLPClassifier`]: the estimators, linfa-style
//!   (`params()` → builder → `ParamGuard::check` → `Fit`);
//! - [`base`]: activations and losses;
//! - [`stochastic_optimizers`]: SGD (momentum, Nesterov, schedules) and Adam;
//! - [`MlpConfig`]: every hyperparameter with its default, range and meaning;
//! - beyond scikit-learn ([`ArchConfig`], [`LayerSpec`]): Keras 3's activations, per-layer
//!   dropout / alpha dropout / Gaussian noise, batch normalization, kernel and activity L1/L2,
//!   initializers, biases on/off, optimizers ([`OptimizerKind`]), gradient clipping, schedules
//!   ([`Schedule`]) and callbacks ([`EarlyStoppingConfig`], terminate-on-NaN, checkpoints,
//!   [`TrainingObserver`]), every one settable by name for searches. Setting any of them
//!   trains on the layer engine; with none set, the scikit-learn engine runs unchanged.
//!   Sequence and image layers (Flatten, Reshape, Permute, Masking, RepeatVector) have no
//!   meaning for tabular rows and are not offered.
//!
//! Same numbers as scikit-learn: with the same `random_state`, initial weights, epoch
//! shuffles and early-stopping splits are drawn exactly as scikit-learn draws them
//! (see [`crate::random::NumpyRng`]).

pub mod base;
pub mod callbacks;
mod classifier;
mod epochs;
mod estimator;
mod fastmath;
mod gemm;
mod general;
mod inspect;
mod layers;
mod lbfgs;
mod multilabel;
mod network;
mod params;
mod regressor;
pub mod stochastic_optimizers;
mod train;
mod transfer;

pub use base::{Activation, OutActivation};
#[cfg(feature = "serde")]
pub use callbacks::Checkpoint;
pub use callbacks::{
    EarlyStoppingConfig, EpochLog, Monitor, ObserverHandle, TrainingControl, TrainingObserver,
};
pub use classifier::{MLPClassifier, MLPClassifierParams, MLPClassifierValidParams};
pub use layers::{
    ArchConfig, BatchNormPosition, DropoutKind, Initializer, LayerSpec, LayerWeights,
    ARCH_PARAM_NAMES,
};
pub use multilabel::{MLPMultilabelClassifier, MLPMultilabelParams};
pub use params::{
    BatchSize, EarlyStoppingMonitor, MlpConfig, Solver, MAX_COEFFICIENTS, MAX_HIDDEN_LAYERS,
    MLP_PARAM_NAMES,
};
pub use regressor::{MLPRegressor, MLPRegressorParams, MLPRegressorValidParams, RegressionLoss};
pub use stochastic_optimizers::{LearningRate, OptimizerKind, Schedule};

pub(crate) use gemm::with_single_threaded_kernels;

use linfa::Float;
use ndarray::ArrayView2;

use crate::error::{MlpTuneError, Result};

/// Rejects empty, featureless or non-finite records, and a feature count that differs from
/// the fitted one.
/// [`check_records`] for the rows `rows` of `x` (positions in the messages are positions
/// in `rows`, as they would be in a copy of them).
pub(crate) fn check_record_rows<F: Float>(
    x: &ArrayView2<F>,
    rows: &[usize],
    expected_features: Option<usize>,
) -> Result<()> {
    if let Some(&bad) = rows.iter().find(|&&r| r >= x.nrows()) {
        return Err(MlpTuneError::InvalidInput(format!(
            "row {bad} is out of range for records with {} rows",
            x.nrows()
        )));
    }
    match expected_features {
        Some(expected) if x.ncols() != expected => {
            return Err(MlpTuneError::FeatureMismatch {
                expected,
                found: x.ncols(),
            })
        }
        Some(_) => {}
        None if rows.is_empty() => {
            return Err(MlpTuneError::InvalidInput("records have zero rows".into()))
        }
        None if x.ncols() == 0 => {
            return Err(MlpTuneError::InvalidInput(
                "records have zero features".into(),
            ))
        }
        None => {}
    }
    for (position, &r) in rows.iter().enumerate() {
        if let Some(column) = x.row(r).iter().position(|v| !v.is_finite()) {
            return Err(MlpTuneError::InvalidInput(format!(
                "records contain NaN or infinity (row {position}, column {column})"
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_records<F: Float>(
    x: &ArrayView2<F>,
    expected_features: Option<usize>,
) -> Result<()> {
    if let Some(expected) = expected_features {
        if x.ncols() != expected {
            return Err(MlpTuneError::FeatureMismatch {
                expected,
                found: x.ncols(),
            });
        }
    }
    if expected_features.is_none() {
        if x.nrows() == 0 {
            return Err(MlpTuneError::InvalidInput("records have zero rows".into()));
        }
        if x.ncols() == 0 {
            return Err(MlpTuneError::InvalidInput(
                "records have zero features".into(),
            ));
        }
    }
    if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
        let cols = x.ncols().max(1);
        return Err(MlpTuneError::InvalidInput(format!(
            "records contain NaN or infinity (row {}, column {})",
            pos / cols,
            pos % cols
        )));
    }
    Ok(())
}

/// Builder setters for every [`MlpConfig`] field, shared by both estimators' params.
macro_rules! impl_config_setters {
    ($params:ident) => {
        impl<F> $params<F> {
            /// Neurons per hidden layer (default `[100]`; empty = no hidden layer).
            pub fn hidden_layer_sizes(mut self, sizes: &[usize]) -> Self {
                self.0.config.hidden_layer_sizes = sizes.to_vec();
                self
            }
            /// Géron's `n_hidden` × `n_neurons`: `n_neurons` repeated `n_hidden` times.
            pub fn n_hidden_n_neurons(mut self, n_hidden: usize, n_neurons: usize) -> Self {
                // Capped one past the limit, so `check` refuses an absurd depth with a typed
                // error instead of the allocation exhausting memory here.
                let depth = n_hidden.min($crate::neural_network::MAX_HIDDEN_LAYERS + 1);
                self.0.config.hidden_layer_sizes = vec![n_neurons; depth];
                self
            }
            /// Hidden activation (default relu).
            pub fn activation(mut self, v: $crate::neural_network::Activation) -> Self {
                self.0.config.activation = v;
                self
            }
            /// Weight optimizer (default adam).
            pub fn solver(mut self, v: $crate::neural_network::Solver) -> Self {
                self.0.config.solver = v;
                self
            }
            /// L2 strength, ≥ 0 (default 1e-4).
            pub fn alpha(mut self, v: f64) -> Self {
                self.0.config.alpha = v;
                self
            }
            /// Mini-batch size, ≥ 1 (default auto = min(200, n)).
            pub fn batch_size(mut self, v: usize) -> Self {
                self.0.config.batch_size = $crate::neural_network::BatchSize::Fixed(v);
                self
            }
            /// SGD step schedule (default constant).
            pub fn learning_rate(mut self, v: $crate::neural_network::LearningRate) -> Self {
                self.0.config.learning_rate = v;
                self
            }
            /// Initial step size, > 0 (default 1e-3).
            pub fn learning_rate_init(mut self, v: f64) -> Self {
                self.0.config.learning_rate_init = v;
                self
            }
            /// Exponent of invscaling, ≥ 0 (default 0.5).
            pub fn power_t(mut self, v: f64) -> Self {
                self.0.config.power_t = v;
                self
            }
            /// Maximum epochs or lbfgs iterations, ≥ 1 (default 200).
            pub fn max_iter(mut self, v: usize) -> Self {
                self.0.config.max_iter = v;
                self
            }
            /// Reshuffle rows each epoch (default true).
            pub fn shuffle(mut self, v: bool) -> Self {
                self.0.config.shuffle = v;
                self
            }
            /// Seed of every random draw (default none: a fresh seed per fit).
            pub fn random_state(mut self, v: u32) -> Self {
                self.0.config.random_state = Some(v);
                self
            }
            /// Improvement threshold of the stopping rule, ≥ 0 (default 1e-4).
            pub fn tol(mut self, v: f64) -> Self {
                self.0.config.tol = v;
                self
            }
            /// Reuse weights in `fit_from` (default false).
            pub fn warm_start(mut self, v: bool) -> Self {
                self.0.config.warm_start = v;
                self
            }
            /// SGD momentum in [0, 1] (default 0.9).
            pub fn momentum(mut self, v: f64) -> Self {
                self.0.config.momentum = v;
                self
            }
            /// Nesterov's momentum (default true).
            pub fn nesterovs_momentum(mut self, v: bool) -> Self {
                self.0.config.nesterovs_momentum = v;
                self
            }
            /// Hold out `validation_fraction` and stop on its score (default false).
            pub fn early_stopping(mut self, v: bool) -> Self {
                self.0.config.early_stopping = v;
                self
            }
            /// Held-out share in (0, 1) (default 0.1).
            pub fn validation_fraction(mut self, v: f64) -> Self {
                self.0.config.validation_fraction = v;
                self
            }
            /// Adam's first-moment decay in [0, 1) (default 0.9).
            pub fn beta_1(mut self, v: f64) -> Self {
                self.0.config.beta_1 = v;
                self
            }
            /// Adam's second-moment decay in [0, 1) (default 0.999).
            pub fn beta_2(mut self, v: f64) -> Self {
                self.0.config.beta_2 = v;
                self
            }
            /// Adam's stabilizer, > 0 (default 1e-8).
            pub fn epsilon(mut self, v: f64) -> Self {
                self.0.config.epsilon = v;
                self
            }
            /// Patience in epochs, ≥ 1 (default 10).
            pub fn n_iter_no_change(mut self, v: usize) -> Self {
                self.0.config.n_iter_no_change = v;
                self
            }
            /// Threads the matrix products of one fit may use, ≥ 1 (default 1). Inside a
            /// search or cross-validation kernels always run on one thread and the tasks are
            /// parallel instead (see [`MlpConfig`](crate::neural_network::MlpConfig)).
            pub fn n_threads(mut self, v: usize) -> Self {
                self.0.config.n_threads = v;
                self
            }
            /// lbfgs: maximum loss evaluations, ≥ 1 (default 15000).
            pub fn max_fun(mut self, v: usize) -> Self {
                self.0.config.max_fun = v;
                self
            }
            /// What early stopping watches (default the validation score).
            pub fn early_stopping_monitor(
                mut self,
                v: $crate::neural_network::EarlyStoppingMonitor,
            ) -> Self {
                self.0.config.early_stopping_monitor = v;
                self
            }
            /// Every knob beyond scikit-learn at once (layer engine).
            pub fn arch(mut self, arch: $crate::neural_network::ArchConfig) -> Self {
                self.0.config.arch = arch;
                self
            }
            /// Explicit per-layer specs, replacing `hidden_layer_sizes` and `activation`.
            pub fn layers(mut self, layers: Vec<$crate::neural_network::LayerSpec>) -> Self {
                self.0.config.arch.layers = Some(layers);
                self
            }
            /// Dropout rate of every hidden layer, in [0, 1).
            pub fn dropout(mut self, rate: f64) -> Self {
                self.0.config.arch.dropout = rate;
                self
            }
            /// Batch normalization in every hidden layer.
            pub fn batch_norm(
                mut self,
                position: $crate::neural_network::BatchNormPosition,
            ) -> Self {
                self.0.config.arch.batch_norm = Some(position);
                self
            }
            /// Keras kernel L1/L2 strengths of every hidden layer.
            pub fn kernel_regularizer(mut self, l1: f64, l2: f64) -> Self {
                self.0.config.arch.kernel_l1 = l1;
                self.0.config.arch.kernel_l2 = l2;
                self
            }
            /// Weight initialization of every layer.
            pub fn initializer(mut self, init: $crate::neural_network::Initializer) -> Self {
                self.0.config.arch.initializer = init;
                self
            }
            /// A Keras-style optimizer replacing `solver`.
            pub fn optimizer(mut self, kind: $crate::neural_network::OptimizerKind) -> Self {
                self.0.config.arch.optimizer = Some(kind);
                self
            }
            /// A step-size schedule.
            pub fn lr_schedule(mut self, schedule: $crate::neural_network::Schedule) -> Self {
                self.0.config.arch.lr_schedule = Some(schedule);
                self
            }
            /// Gradient clipping by global norm and/or by value.
            pub fn clip(mut self, norm: Option<f64>, value: Option<f64>) -> Self {
                self.0.config.arch.clipnorm = norm;
                self.0.config.arch.clipvalue = value;
                self
            }
            /// Keras-style early stopping.
            pub fn callbacks_early_stopping(
                mut self,
                es: $crate::neural_network::EarlyStoppingConfig,
            ) -> Self {
                self.0.config.arch.callbacks_early_stopping = Some(es);
                self
            }
            /// Receives every epoch's log (scikit-learn's `verbose`, as a callback).
            pub fn observer(
                mut self,
                observer: impl $crate::neural_network::TrainingObserver + 'static,
            ) -> Self {
                self.0.config.observer =
                    Some($crate::neural_network::ObserverHandle::new(observer));
                self
            }
        }
    };
}
pub(crate) use impl_config_setters;

/// scikit-learn's fitted attributes, shared by both fitted estimators.
macro_rules! impl_fitted_accessors {
    ($model:ident $(, $extra:ident)*) => {
        impl<F: linfa::Float $(, $extra)*> $model<F $(, $extra)*> {
            /// `coefs_`: weight matrices, `coefs()[i]` is `(fan_in, fan_out)`.
            pub fn coefs(&self) -> Vec<ndarray::ArrayView2<'_, F>> {
                let t = &self.trained;
                (0..t.layout.n_weight_layers()).map(|i| t.layout.coef(&t.params, i)).collect()
            }
            /// `intercepts_`: bias vectors, one per weight layer.
            pub fn intercepts(&self) -> Vec<ndarray::ArrayView1<'_, F>> {
                let t = &self.trained;
                (0..t.layout.n_weight_layers()).map(|i| t.layout.intercept(&t.params, i)).collect()
            }
            /// The first `k` hidden dense layers with their fitted weights, to build a new
            /// network from (transfer learning): pass them to `.layers(...)` of new params,
            /// freezing any with [`LayerSpec::trainable(false)`](crate::neural_network::LayerSpec::trainable);
            /// the new network gets its own output layer. Layers with batch normalization
            /// or PReLU (learned state beyond weights) are refused.
            ///
            /// ```
            /// use mlp_tune::neural_network::{MLPClassifier, Solver};
            /// use linfa::prelude::*;
            ///
            /// let iris = mlp_tune::datasets::iris();
            /// let pretrained = MLPClassifier::params()
            ///     .hidden_layer_sizes(&[8, 4])
            ///     .solver(Solver::Adam)
            ///     .max_iter(20)
            ///     .random_state(0)
            ///     .fit(&iris)
            ///     .unwrap();
            /// let mut layers = pretrained.hidden_layers(2).unwrap();
            /// layers[0] = layers[0].clone().trainable(false);
            /// let tuned = MLPClassifier::params()
            ///     .layers(layers)
            ///     .max_iter(5)
            ///     .random_state(1)
            ///     .fit(&iris)
            ///     .unwrap();
            /// // The frozen layer kept its weights exactly.
            /// assert_eq!(tuned.coefs()[0], pretrained.coefs()[0]);
            /// assert_ne!(tuned.coefs()[1], pretrained.coefs()[1]);
            /// ```
            pub fn hidden_layers(
                &self,
                k: usize,
            ) -> $crate::Result<Vec<$crate::neural_network::LayerSpec>> {
                super::transfer::hidden_layers(&self.trained, self.params.config(), k)
            }
            /// `loss_`: the last epoch's mean training loss (lbfgs: the final objective).
            pub fn loss(&self) -> f64 {
                self.trained.loss
            }
            /// `best_loss_`: the lowest training loss (none under early stopping).
            pub fn best_loss(&self) -> Option<f64> {
                self.trained.best_loss
            }
            /// `loss_curve_`: the training loss of every epoch.
            pub fn loss_curve(&self) -> &[f64] {
                &self.trained.loss_curve
            }
            /// `validation_scores_`: held-out score of every epoch (early stopping or an
            /// explicit validation set).
            pub fn validation_scores(&self) -> &[f64] {
                &self.trained.validation_scores
            }
            /// Held-out loss of every epoch (beyond scikit-learn).
            pub fn validation_loss_curve(&self) -> &[f64] {
                &self.trained.validation_loss_curve
            }
            /// `best_validation_score_`.
            pub fn best_validation_score(&self) -> Option<f64> {
                self.trained.best_validation_score
            }
            /// `n_iter_`: epochs run (lbfgs: iterations).
            pub fn n_iter(&self) -> usize {
                self.trained.n_iter
            }
            /// `t_`: training samples seen.
            pub fn t(&self) -> u64 {
                self.trained.t
            }
            /// `n_layers_`: input + hidden + output layers.
            pub fn n_layers(&self) -> usize {
                self.trained.layout.layer_units.len()
            }
            /// `n_outputs_`.
            pub fn n_outputs(&self) -> usize {
                *self.trained.layout.layer_units.last().unwrap_or(&0)
            }
            /// `n_features_in_`.
            pub fn n_features_in(&self) -> usize {
                self.trained.layout.layer_units[0]
            }
            /// `out_activation_`.
            pub fn out_activation(&self) -> $crate::neural_network::OutActivation {
                self.trained.out
            }
            /// The epoch whose training loss became non-finite, when early stopping
            /// restored the best weights instead of failing (scikit-learn keeps training
            /// through the NaNs and restores them too); `None` otherwise.
            pub fn diverged_epoch(&self) -> Option<usize> {
                self.trained.diverged_epoch
            }

            /// Whether training stopped before `max_iter` (no improvement, a callback, or a
            /// divergence handled by early stopping).
            pub fn stopped_early(&self) -> bool {
                self.trained.stopped
            }
        }
    };
}
pub(crate) use impl_fitted_accessors;
