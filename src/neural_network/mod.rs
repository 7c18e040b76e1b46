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
mod hyperparameters;
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
pub use hyperparameters::{
    Hyperparameter, ARCH_PARAM_NAMES, KNOB_HYPERPARAMETERS, MLP_PARAM_NAMES,
    SKLEARN_HYPERPARAMETERS, SKLEARN_PARAM_NAMES,
};
pub use layers::{
    ArchConfig, BatchNormPosition, DropoutKind, Initializer, LayerSpec, LayerWeights,
};
pub use multilabel::{MLPMultilabelClassifier, MLPMultilabelParams};
pub use params::{
    BatchSize, EarlyStoppingMonitor, MlpConfig, Solver, MAX_COEFFICIENTS, MAX_HIDDEN_LAYERS,
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

/// Builder setters beyond the declared hyperparameters (whose builders come from the
/// declarations, [`SKLEARN_HYPERPARAMETERS`] and [`KNOB_HYPERPARAMETERS`]), shared by both
/// estimators' params: shorthands, whole structures and the observer.
macro_rules! impl_config_setters {
    ($params:ident) => {
        impl<F> $params<F> {
            /// Géron's `n_hidden` × `n_neurons`: `n_neurons` repeated `n_hidden` times.
            pub fn n_hidden_n_neurons(mut self, n_hidden: usize, n_neurons: usize) -> Self {
                // Capped one past the limit, so `check` refuses an absurd depth with a typed
                // error instead of the allocation exhausting memory here.
                let depth = n_hidden.min($crate::neural_network::MAX_HIDDEN_LAYERS + 1);
                self.0.config.hidden_layer_sizes = vec![n_neurons; depth];
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
            /// Keras kernel L1/L2 strengths of every hidden layer: shorthand for
            /// `.kernel_l1(l1).kernel_l2(l2)`.
            pub fn kernel_regularizer(self, l1: f64, l2: f64) -> Self {
                self.kernel_l1(l1).kernel_l2(l2)
            }
            /// Gradient clipping by global norm and/or by value: shorthand for setting
            /// `clipnorm` and `clipvalue` together (`None` turns one off).
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
