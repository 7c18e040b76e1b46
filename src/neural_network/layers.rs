//! The generalized layer engine: per-layer specifications (Keras-style dense layers with
//! dropout, batch normalization, regularizers, initializers) for the knobs scikit-learn's MLP
//! does not have.
//!
//! The scikit-learn engine in `network.rs` stays the default and is untouched; a fit goes
//! through this engine only when one of the knobs below is set (see
//! [`ArchConfig::is_sklearn`]). Both share the parameter layout of dense layers (all
//! coefficient matrices, then all intercepts), so [`coefs`](super::MLPRegressor::coefs) and
//! [`intercepts`](super::MLPRegressor::intercepts) keep their meaning; batch-normalization
//! scales and shifts and PReLU slopes follow them in the flat buffer.
//!
//! Layer types that reshape or mask sequences or images (Keras's `Flatten`, `Reshape`,
//! `Permute`, `Masking`, `RepeatVector`) have no meaning for tabular rows, where every sample
//! is already a flat feature vector, so they are not offered.

use linfa::Float;
use ndarray::{s, Array2, ArrayView2, Zip};

use super::base::{Activation, OutActivation, SELU_ALPHA, SELU_SCALE};
use super::fastmath;
use super::gemm::{gemm, gemm_chosen_for};
use super::network::{Layout, PREDICT_BLOCK, PREDICT_KERNEL_ROWS};
use crate::error::{invalid_param, Result};
use crate::random::NumpyRng;

/// Where batch normalization sits in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BatchNormPosition {
    /// Dense → BatchNormalization → activation (the original paper's and Géron's placement).
    BeforeActivation,
    /// Dense → activation → BatchNormalization.
    AfterActivation,
}

/// Which dropout a layer applies to its output during training (never at predict time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DropoutKind {
    /// Inverted dropout: zero a unit with probability `rate`, scale survivors by
    /// `1 / (1 - rate)` (Keras's `Dropout`).
    #[default]
    Standard,
    /// Keras's `AlphaDropout` for `selu`: dropped units are set to SELU's negative saturation
    /// and the result is affinely corrected to keep mean and variance.
    Alpha,
}

/// Weight initialization (Keras 3's `VarianceScaling` family, or scikit-learn's).
///
/// | name | kernel | biases |
/// |---|---|---|
/// | `sklearn` (default) | `U(±√(f / (fan_in + fan_out)))`, `f = 2` for logistic, else 6 | same uniform |
/// | `glorot_uniform` | `U(±√(6 / (fan_in + fan_out)))` | zeros |
/// | `glorot_normal` | truncated `N(0, σ)`, `σ = √(2 / (fan_in + fan_out)) / 0.8796…` | zeros |
/// | `he_uniform` | `U(±√(6 / fan_in))` | zeros |
/// | `he_normal` | truncated `N(0, √(2 / fan_in) / 0.8796…)` | zeros |
/// | `lecun_uniform` | `U(±√(3 / fan_in))` | zeros |
/// | `lecun_normal` | truncated `N(0, √(1 / fan_in) / 0.8796…)` | zeros |
///
/// Truncated normals redraw any value beyond two standard deviations; the divisor 0.8796…
/// restores the requested variance after truncation, as Keras does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Initializer {
    /// scikit-learn's uniform weights and biases.
    #[default]
    Sklearn,
    /// Glorot (Xavier) uniform, Keras's `Dense` default.
    GlorotUniform,
    /// Glorot (Xavier) truncated normal.
    GlorotNormal,
    /// He uniform (for ReLU-like activations).
    HeUniform,
    /// He truncated normal.
    HeNormal,
    /// LeCun uniform.
    LecunUniform,
    /// LeCun truncated normal (pairs with `selu`).
    LecunNormal,
}

impl Initializer {
    /// Every initializer.
    pub const ALL: [Initializer; 7] = [
        Initializer::Sklearn,
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeUniform,
        Initializer::HeNormal,
        Initializer::LecunUniform,
        Initializer::LecunNormal,
    ];

    /// The name used in search spaces.
    pub fn name(self) -> &'static str {
        match self {
            Initializer::Sklearn => "sklearn",
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::LecunUniform => "lecun_uniform",
            Initializer::LecunNormal => "lecun_normal",
        }
    }

    /// Parses a name.
    ///
    /// ```
    /// use mlp_tune::neural_network::Initializer;
    /// assert_eq!(Initializer::from_name("he_normal").unwrap(), Initializer::HeNormal);
    /// assert!(Initializer::from_name("orthogonal").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Self> {
        Initializer::ALL
            .into_iter()
            .find(|i| i.name() == name)
            .ok_or_else(|| {
                invalid_param(
                    "initializer",
                    format!(
                        "unknown initializer `{name}`; valid: sklearn, glorot_uniform, \
                         glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal"
                    ),
                )
            })
    }

    /// Draws a `fan_in × fan_out` kernel and its biases (in scikit-learn's order: kernel
    /// row-major, then biases; Keras initializers draw no biases).
    fn draw<F: Float>(
        self,
        rng: &mut NumpyRng,
        fan_in: usize,
        fan_out: usize,
        activation: Activation,
        kernel: &mut [F],
        bias: &mut [F],
    ) {
        let put = |v: f64| F::from(v).unwrap_or_else(F::zero);
        let fin = fan_in.max(1) as f64;
        let favg = (fan_in + fan_out).max(1) as f64 / 2.0;
        let (scale, fan, uniform) = match self {
            Initializer::Sklearn => {
                let factor = if activation == Activation::Logistic {
                    2.0
                } else {
                    6.0
                };
                let bound = (factor / (fan_in + fan_out).max(1) as f64).sqrt();
                kernel
                    .iter_mut()
                    .for_each(|v| *v = put(rng.uniform(-bound, bound)));
                bias.iter_mut()
                    .for_each(|v| *v = put(rng.uniform(-bound, bound)));
                return;
            }
            Initializer::GlorotUniform => (1.0, favg, true),
            Initializer::GlorotNormal => (1.0, favg, false),
            Initializer::HeUniform => (2.0, fin, true),
            Initializer::HeNormal => (2.0, fin, false),
            Initializer::LecunUniform => (1.0, fin, true),
            Initializer::LecunNormal => (1.0, fin, false),
        };
        let variance = scale / fan;
        if uniform {
            let limit = (3.0 * variance).sqrt();
            kernel
                .iter_mut()
                .for_each(|v| *v = put(rng.uniform(-limit, limit)));
        } else {
            let sd = variance.sqrt() / 0.879_625_661_034_239_8;
            for v in kernel.iter_mut() {
                *v = put(truncated_normal(rng, sd));
            }
        }
        bias.iter_mut().for_each(|v| *v = F::zero());
    }
}

/// A standard normal draw (Marsaglia's polar method on `random_sample`).
pub(crate) fn standard_normal(rng: &mut NumpyRng) -> f64 {
    loop {
        let x1 = 2.0 * rng.random_sample() - 1.0;
        let x2 = 2.0 * rng.random_sample() - 1.0;
        let r2 = x1 * x1 + x2 * x2;
        if r2 < 1.0 && r2 > 0.0 {
            return x2 * (-2.0 * r2.ln() / r2).sqrt();
        }
    }
}

fn truncated_normal(rng: &mut NumpyRng, sd: f64) -> f64 {
    loop {
        let z = standard_normal(rng);
        if z.abs() <= 2.0 {
            return z * sd;
        }
    }
}

/// One hidden layer: a dense layer (or, with `units == 0`, an activation-only layer acting on
/// the previous layer's output) followed by optional batch normalization, its activation,
/// an activity regularizer, Gaussian noise and dropout, in that order (batch normalization
/// may instead follow the activation).
///
/// ```
/// use mlp_tune::neural_network::{Activation, BatchNormPosition, Initializer, LayerSpec};
/// let layer = LayerSpec::dense(64, Activation::Selu)
///     .initializer(Initializer::LecunNormal)
///     .alpha_dropout(0.1);
/// let bn = LayerSpec::dense(32, Activation::Relu)
///     .batch_norm(BatchNormPosition::BeforeActivation)
///     .use_bias(false);
/// let act = LayerSpec::activation_only(Activation::Gelu { approximate: false });
/// assert_eq!(act.units, 0);
/// # let _ = (layer, bn);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerSpec {
    /// Neurons; `0` means no dense layer (an activation-only layer).
    pub units: usize,
    /// The layer's activation.
    pub activation: Activation,
    /// Dropout rate in `[0, 1)` applied to the layer's output in training.
    pub dropout: f64,
    /// Which dropout.
    pub dropout_kind: DropoutKind,
    /// Standard deviation of additive Gaussian noise in training (Keras's `GaussianNoise`), ≥ 0.
    pub gaussian_noise: f64,
    /// Batch normalization and its position.
    pub batch_norm: Option<BatchNormPosition>,
    /// Keras `l1` kernel regularizer: loss += `kernel_l1 · Σ|W|`.
    pub kernel_l1: f64,
    /// Keras `l2` kernel regularizer: loss += `kernel_l2 · ΣW²`.
    pub kernel_l2: f64,
    /// Activity regularizer on the layer's activated output: loss += `activity_l1 · Σ|a| / batch`.
    pub activity_l1: f64,
    /// Activity regularizer: loss += `activity_l2 · Σa² / batch`.
    pub activity_l2: f64,
    /// Kernel (and bias) initialization.
    pub initializer: Initializer,
    /// Whether the dense layer has biases (often off before batch normalization).
    pub use_bias: bool,
    /// Whether training updates the dense layer's weights and biases (Keras's `trainable`);
    /// a frozen layer keeps them bitwise unchanged. Default `true`.
    pub trainable: bool,
    /// Starting weights taken from a fitted model (transfer learning) instead of the
    /// initializer's draws; see [`LayerWeights`]. Default `None`.
    pub weights: Option<std::sync::Arc<LayerWeights>>,
}

/// The weights and biases of one fitted dense layer, to start a new network's layer from
/// (transfer learning). Taken from a fitted model with
/// [`MLPClassifier::hidden_layers`](super::MLPClassifier::hidden_layers) or
/// [`MLPRegressor::hidden_layers`](super::MLPRegressor::hidden_layers); kept in `f64`
/// whatever the model's float type (an `f32` model's values convert exactly).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerWeights {
    /// Inputs of the layer.
    pub fan_in: usize,
    /// Neurons of the layer.
    pub fan_out: usize,
    /// `fan_in × fan_out` kernel, row-major (scikit-learn's `coefs_[i]`).
    pub coef: Vec<f64>,
    /// `fan_out` biases (scikit-learn's `intercepts_[i]`).
    pub intercept: Vec<f64>,
}

impl LayerSpec {
    /// A dense layer with no regularization, scikit-learn's initialization and biases.
    pub fn dense(units: usize, activation: Activation) -> Self {
        LayerSpec {
            units,
            activation,
            dropout: 0.0,
            dropout_kind: DropoutKind::Standard,
            gaussian_noise: 0.0,
            batch_norm: None,
            kernel_l1: 0.0,
            kernel_l2: 0.0,
            activity_l1: 0.0,
            activity_l2: 0.0,
            initializer: Initializer::Sklearn,
            use_bias: true,
            trainable: true,
            weights: None,
        }
    }

    /// Keras's `Activation` layer: applies `activation` to the previous output.
    pub fn activation_only(activation: Activation) -> Self {
        LayerSpec::dense(0, activation)
    }

    /// Inverted dropout at `rate`.
    pub fn dropout(mut self, rate: f64) -> Self {
        self.dropout = rate;
        self.dropout_kind = DropoutKind::Standard;
        self
    }

    /// Alpha dropout at `rate` (for `selu`).
    pub fn alpha_dropout(mut self, rate: f64) -> Self {
        self.dropout = rate;
        self.dropout_kind = DropoutKind::Alpha;
        self
    }

    /// Additive Gaussian noise with this standard deviation in training.
    pub fn gaussian_noise(mut self, stddev: f64) -> Self {
        self.gaussian_noise = stddev;
        self
    }

    /// Batch normalization at `position`.
    pub fn batch_norm(mut self, position: BatchNormPosition) -> Self {
        self.batch_norm = Some(position);
        self
    }

    /// Kernel L1 and L2 strengths (Keras's `L1L2`).
    pub fn kernel_regularizer(mut self, l1: f64, l2: f64) -> Self {
        self.kernel_l1 = l1;
        self.kernel_l2 = l2;
        self
    }

    /// Activity L1 and L2 strengths.
    pub fn activity_regularizer(mut self, l1: f64, l2: f64) -> Self {
        self.activity_l1 = l1;
        self.activity_l2 = l2;
        self
    }

    /// Kernel initializer.
    pub fn initializer(mut self, init: Initializer) -> Self {
        self.initializer = init;
        self
    }

    /// Whether the dense layer has biases.
    pub fn use_bias(mut self, v: bool) -> Self {
        self.use_bias = v;
        self
    }

    /// Whether training updates this layer's weights (`false` freezes them).
    pub fn trainable(mut self, v: bool) -> Self {
        self.trainable = v;
        self
    }

    /// Starts the dense layer from these weights instead of its initializer's draws.
    pub fn weights(mut self, weights: LayerWeights) -> Self {
        self.weights = Some(std::sync::Arc::new(weights));
        self
    }

    /// Checks every value's range; `index` names the layer in errors.
    pub fn validate(&self, index: usize) -> Result<()> {
        let bad = |what: &str, why: &str| {
            Err(invalid_param(what, format!("layer {index}: {what} {why}")))
        };
        self.activation.validate()?;
        if !self.trainable && self.batch_norm.is_some() {
            return bad(
                "trainable",
                "false does not combine with batch normalization (its running statistics \
                 would still move)",
            );
        }
        if self.units == 0 && self.weights.is_some() {
            return bad("weights", "need a dense layer (units > 0)");
        }
        if !(self.dropout >= 0.0 && self.dropout < 1.0) {
            return bad(
                "dropout",
                &format!("must be in [0, 1), got {}", self.dropout),
            );
        }
        for (name, v) in [
            ("gaussian_noise", self.gaussian_noise),
            ("kernel_l1", self.kernel_l1),
            ("kernel_l2", self.kernel_l2),
            ("activity_l1", self.activity_l1),
            ("activity_l2", self.activity_l2),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(name, &format!("must be finite and >= 0, got {v}"));
            }
        }
        if self.units == 0 && (self.kernel_l1 != 0.0 || self.kernel_l2 != 0.0) {
            return bad("kernel_l1", "needs a dense layer (units >= 1)");
        }
        Ok(())
    }
}

/// The knobs beyond scikit-learn, all off by default. Any one set (or a non-scikit-learn
/// activation) routes a fit through the layer engine; with none set, the scikit-learn engine
/// runs unchanged and gives scikit-learn's numbers.
///
/// Layer-level knobs given here apply to every hidden layer built from `hidden_layer_sizes`
/// and `activation`; [`layers`](Self::layers) gives each layer its own spec instead (and then
/// `hidden_layer_sizes`/`activation` are ignored). Setting a layer-level knob by name
/// ([`MlpConfig::set_param`](super::MlpConfig::set_param)) writes it into every explicit
/// layer too.
///
/// | parameter (search name) | default | range | meaning |
/// |---|---|---|---|
/// | `layers` | none | | per-layer [`LayerSpec`]s |
/// | `dropout` | 0 | [0, 1) | dropout rate of every hidden layer |
/// | `dropout_kind` | `standard` | standard, alpha | inverted dropout or alpha dropout (for selu) |
/// | `gaussian_noise` | 0 | ≥ 0 | stddev of training-time Gaussian noise |
/// | `batch_norm` | `none` | none, before, after (or a bool: before) | batch normalization and its position |
/// | `batch_norm_momentum` | 0.99 | [0, 1) | running-statistics momentum (Keras) |
/// | `batch_norm_epsilon` | 1e-3 | > 0 | variance stabilizer (Keras) |
/// | `kernel_l1`, `kernel_l2` | 0 | ≥ 0 | Keras kernel regularizers (not divided by the batch) |
/// | `activity_l1`, `activity_l2` | 0 | ≥ 0 | Keras activity regularizers (divided by the batch) |
/// | `initializer` | `sklearn` | see [`Initializer`] | weight initialization |
/// | `use_bias` | true | | dense layers have biases |
/// | `optimizer` | none (use `solver`) | sgd, adam, amsgrad, adamw, nadam, rmsprop, adagrad | see [`OptimizerKind`](super::stochastic_optimizers::OptimizerKind) |
/// | `optimizer_epsilon`, `optimizer_momentum`, `rho`, `centered`, `amsgrad`, `weight_decay` | the optimizer's | | override one setting of `optimizer` |
/// | `clipnorm` | none | > 0 | clip the global gradient norm |
/// | `clipvalue` | none | > 0 | clip each gradient component |
/// | `lr_schedule` | none | exponential_decay, cosine_decay, reduce_on_plateau | see [`Schedule`](super::stochastic_optimizers::Schedule) (also accepted by `learning_rate`) |
/// | `decay_steps`, `decay_rate` | schedule's | | override the schedule's |
/// | `patience`, `min_delta`, `restore_best_weights`, `start_from_epoch`, `monitor` | none | | Keras's [`EarlyStoppingConfig`](super::EarlyStoppingConfig) (field `callbacks_early_stopping`; setting any by name enables it) |
/// | `terminate_on_nan` | false | | stop at the first non-finite batch loss (restoring the best weights when kept) |
/// | `checkpoint` | none | a path | write the best weights to this JSON file (feature `serde`) |
///
/// `solver` still picks scikit-learn's SGD or Adam when `optimizer` is unset, with its own
/// `momentum`, `nesterovs_momentum`, `beta_1`, `beta_2` and `epsilon` (1e-8); scikit-learn's
/// `learning_rate` schedules (invscaling, adaptive) then apply to whichever optimizer runs.
/// L-BFGS does not combine with these knobs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ArchConfig {
    /// Explicit per-layer specs (override `hidden_layer_sizes` and `activation`).
    pub layers: Option<Vec<LayerSpec>>,
    /// Dropout rate of every hidden layer.
    pub dropout: f64,
    /// Which dropout.
    pub dropout_kind: DropoutKind,
    /// Gaussian noise stddev of every hidden layer.
    pub gaussian_noise: f64,
    /// Batch normalization of every hidden layer.
    pub batch_norm: Option<BatchNormPosition>,
    /// Running-statistics momentum (Keras 0.99).
    pub batch_norm_momentum: f64,
    /// Variance stabilizer (Keras 1e-3).
    pub batch_norm_epsilon: f64,
    /// Kernel L1 of every hidden layer.
    pub kernel_l1: f64,
    /// Kernel L2 of every hidden layer.
    pub kernel_l2: f64,
    /// Activity L1 of every hidden layer.
    pub activity_l1: f64,
    /// Activity L2 of every hidden layer.
    pub activity_l2: f64,
    /// Initializer of every layer (the output layer included).
    pub initializer: Initializer,
    /// Biases in every hidden dense layer.
    pub use_bias: bool,
    /// Keras-style optimizer replacing `solver`.
    pub optimizer: Option<super::stochastic_optimizers::OptimizerKind>,
    /// Override of the optimizer's epsilon.
    pub optimizer_epsilon: Option<f64>,
    /// Override of the optimizer's momentum (sgd, rmsprop).
    pub optimizer_momentum: Option<f64>,
    /// Override of RMSprop's `rho`.
    pub rho: Option<f64>,
    /// Override of RMSprop's `centered`.
    pub centered: Option<bool>,
    /// Override of Adam/AdamW's `amsgrad`.
    pub amsgrad: Option<bool>,
    /// Override of AdamW's `weight_decay`.
    pub weight_decay: Option<f64>,
    /// Global gradient-norm clipping.
    pub clipnorm: Option<f64>,
    /// Per-component gradient clipping.
    pub clipvalue: Option<f64>,
    /// Step-size schedule.
    pub lr_schedule: Option<super::stochastic_optimizers::Schedule>,
    /// Keras-style early stopping.
    pub callbacks_early_stopping: Option<super::callbacks::EarlyStoppingConfig>,
    /// Stop at the first non-finite batch loss.
    pub terminate_on_nan: bool,
    /// File receiving the best weights (JSON; needs the `serde` feature).
    pub checkpoint: Option<std::path::PathBuf>,
}

impl Default for ArchConfig {
    fn default() -> Self {
        ArchConfig {
            layers: None,
            dropout: 0.0,
            dropout_kind: DropoutKind::Standard,
            gaussian_noise: 0.0,
            batch_norm: None,
            batch_norm_momentum: 0.99,
            batch_norm_epsilon: 1e-3,
            kernel_l1: 0.0,
            kernel_l2: 0.0,
            activity_l1: 0.0,
            activity_l2: 0.0,
            initializer: Initializer::Sklearn,
            use_bias: true,
            optimizer: None,
            optimizer_epsilon: None,
            optimizer_momentum: None,
            rho: None,
            centered: None,
            amsgrad: None,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            lr_schedule: None,
            callbacks_early_stopping: None,
            terminate_on_nan: false,
            checkpoint: None,
        }
    }
}

/// Names [`ArchConfig::set_param`] accepts.
pub const ARCH_PARAM_NAMES: &[&str] = &[
    "activity_l1",
    "activity_l2",
    "amsgrad",
    "batch_norm",
    "batch_norm_epsilon",
    "batch_norm_momentum",
    "centered",
    "checkpoint",
    "clipnorm",
    "clipvalue",
    "decay_rate",
    "decay_steps",
    "dropout",
    "dropout_kind",
    "gaussian_noise",
    "initializer",
    "kernel_l1",
    "kernel_l2",
    "lr_schedule",
    "min_delta",
    "monitor",
    "optimizer",
    "optimizer_epsilon",
    "optimizer_momentum",
    "patience",
    "restore_best_weights",
    "rho",
    "start_from_epoch",
    "terminate_on_nan",
    "use_bias",
    "weight_decay",
];

impl ArchConfig {
    /// Whether nothing beyond scikit-learn is set (the scikit-learn engine then runs).
    pub fn is_sklearn(&self) -> bool {
        *self == ArchConfig::default()
    }

    /// The hidden layers a fit builds.
    pub fn hidden_specs(&self, sizes: &[usize], activation: Activation) -> Vec<LayerSpec> {
        if let Some(layers) = &self.layers {
            return layers.clone();
        }
        sizes
            .iter()
            .map(|&u| self.apply_globals(LayerSpec::dense(u, activation)))
            .collect()
    }

    fn apply_globals(&self, mut l: LayerSpec) -> LayerSpec {
        l.dropout = self.dropout;
        l.dropout_kind = self.dropout_kind;
        l.gaussian_noise = self.gaussian_noise;
        l.batch_norm = self.batch_norm;
        if l.units > 0 {
            l.kernel_l1 = self.kernel_l1;
            l.kernel_l2 = self.kernel_l2;
        }
        l.activity_l1 = self.activity_l1;
        l.activity_l2 = self.activity_l2;
        l.initializer = self.initializer;
        l.use_bias = self.use_bias;
        l
    }

    /// The optimizer with its overrides applied, if one is chosen.
    pub fn effective_optimizer(&self) -> Option<super::stochastic_optimizers::OptimizerKind> {
        self.optimizer.map(|k| self.with_overrides(k))
    }

    /// `k` with the overrides (`optimizer_epsilon`, `optimizer_momentum`, ...) that apply
    /// to it.
    fn with_overrides(
        &self,
        mut k: super::stochastic_optimizers::OptimizerKind,
    ) -> super::stochastic_optimizers::OptimizerKind {
        use super::stochastic_optimizers::OptimizerKind as K;
        match &mut k {
            K::Sgd { momentum, .. } => {
                if let Some(m) = self.optimizer_momentum {
                    *momentum = m;
                }
            }
            K::Adam {
                epsilon, amsgrad, ..
            } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
                if let Some(a) = self.amsgrad {
                    *amsgrad = a;
                }
            }
            K::AdamW {
                epsilon,
                amsgrad,
                weight_decay,
                ..
            } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
                if let Some(a) = self.amsgrad {
                    *amsgrad = a;
                }
                if let Some(w) = self.weight_decay {
                    *weight_decay = w;
                }
            }
            K::Nadam { epsilon, .. } | K::Adagrad { epsilon, .. } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
            }
            K::RmsProp {
                rho,
                momentum,
                centered,
                epsilon,
            } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
                if let Some(m) = self.optimizer_momentum {
                    *momentum = m;
                }
                if let Some(r) = self.rho {
                    *rho = r;
                }
                if let Some(c) = self.centered {
                    *centered = c;
                }
            }
        }
        k
    }

    /// Checks every value (each layer's, the optimizer's, the schedule's, the callbacks').
    pub fn validate(&self, sizes: &[usize], activation: Activation) -> Result<()> {
        for (i, l) in self.hidden_specs(sizes, activation).iter().enumerate() {
            l.validate(i)?;
        }
        // The globals are checked even when explicit layers override them, so a bad value in
        // a search space is reported rather than silently unused.
        LayerSpec {
            units: 1,
            ..self.apply_globals(LayerSpec::dense(1, activation))
        }
        .validate(0)?;
        if !(0.0..1.0).contains(&self.batch_norm_momentum) {
            return Err(invalid_param("batch_norm_momentum", "must be in [0, 1)"));
        }
        if !(self.batch_norm_epsilon.is_finite() && self.batch_norm_epsilon > 0.0) {
            return Err(invalid_param(
                "batch_norm_epsilon",
                "must be finite and > 0",
            ));
        }
        match self.optimizer {
            Some(k) => self.with_overrides(k).validate()?,
            // No optimizer chosen: the overrides go unused, but a bad value is still
            // reported, as for the other globals. RMSprop takes the epsilon, momentum and
            // rho overrides, AdamW the weight decay.
            None => {
                use super::stochastic_optimizers::OptimizerKind;
                for name in ["rmsprop", "adamw"] {
                    self.with_overrides(OptimizerKind::from_name(name)?)
                        .validate()?;
                }
            }
        }
        for (name, v) in [("clipnorm", self.clipnorm), ("clipvalue", self.clipvalue)] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(invalid_param(
                        name,
                        format!("must be finite and > 0, got {v}"),
                    ));
                }
            }
        }
        if let Some(s) = &self.lr_schedule {
            s.validate()?;
        }
        if let Some(es) = &self.callbacks_early_stopping {
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(invalid_param("min_delta", "must be finite and >= 0"));
            }
        }
        #[cfg(not(feature = "serde"))]
        if self.checkpoint.is_some() {
            return Err(invalid_param(
                "checkpoint",
                "writing checkpoints needs the `serde` feature",
            ));
        }
        Ok(())
    }

    /// Sets one knob by name; `None` when the name is not one of [`ARCH_PARAM_NAMES`].
    pub fn set_param(
        &mut self,
        name: &str,
        value: &crate::model_selection::param_space::ParamValue,
    ) -> Option<Result<()>> {
        match self.set_param_inner(name, value) {
            Ok(true) => Some(Ok(())),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn set_param_inner(
        &mut self,
        name: &str,
        value: &crate::model_selection::param_space::ParamValue,
    ) -> Result<bool> {
        use super::callbacks::{EarlyStoppingConfig, Monitor};
        use super::stochastic_optimizers::{OptimizerKind, Schedule};
        use crate::model_selection::param_space::ParamValue;
        let layer_knob = |this: &mut Self, f: &dyn Fn(&mut LayerSpec)| {
            if let Some(layers) = &mut this.layers {
                layers.iter_mut().for_each(f);
            }
        };
        fn es(this: &mut ArchConfig) -> &mut EarlyStoppingConfig {
            this.callbacks_early_stopping
                .get_or_insert_with(EarlyStoppingConfig::default)
        }
        let opt_f64 = |value: &ParamValue| -> Result<Option<f64>> {
            match value {
                ParamValue::None => Ok(None),
                v => v.as_f64(name).map(Some),
            }
        };
        match name {
            "dropout" => {
                let v = value.as_f64(name)?;
                self.dropout = v;
                layer_knob(self, &|l| l.dropout = v);
            }
            "dropout_kind" => {
                let k = match value.as_str(name)? {
                    "standard" => DropoutKind::Standard,
                    "alpha" => DropoutKind::Alpha,
                    other => {
                        return Err(invalid_param(
                            name,
                            format!("unknown dropout kind `{other}`; valid: standard, alpha"),
                        ))
                    }
                };
                self.dropout_kind = k;
                layer_knob(self, &|l| l.dropout_kind = k);
            }
            "gaussian_noise" => {
                let v = value.as_f64(name)?;
                self.gaussian_noise = v;
                layer_knob(self, &|l| l.gaussian_noise = v);
            }
            "batch_norm" => {
                let pos = match value {
                    ParamValue::Bool(true) => Some(BatchNormPosition::BeforeActivation),
                    ParamValue::Bool(false) | ParamValue::None => None,
                    v => match v.as_str(name)? {
                        "none" => None,
                        "before" | "before_activation" => Some(BatchNormPosition::BeforeActivation),
                        "after" | "after_activation" => Some(BatchNormPosition::AfterActivation),
                        other => {
                            return Err(invalid_param(
                                name,
                                format!("unknown position `{other}`; valid: none, before, after"),
                            ))
                        }
                    },
                };
                self.batch_norm = pos;
                layer_knob(self, &|l| l.batch_norm = pos);
            }
            "batch_norm_momentum" => self.batch_norm_momentum = value.as_f64(name)?,
            "batch_norm_epsilon" => self.batch_norm_epsilon = value.as_f64(name)?,
            "kernel_l1" => {
                let v = value.as_f64(name)?;
                self.kernel_l1 = v;
                layer_knob(self, &|l| {
                    if l.units > 0 {
                        l.kernel_l1 = v
                    }
                });
            }
            "kernel_l2" => {
                let v = value.as_f64(name)?;
                self.kernel_l2 = v;
                layer_knob(self, &|l| {
                    if l.units > 0 {
                        l.kernel_l2 = v
                    }
                });
            }
            "activity_l1" => {
                let v = value.as_f64(name)?;
                self.activity_l1 = v;
                layer_knob(self, &|l| l.activity_l1 = v);
            }
            "activity_l2" => {
                let v = value.as_f64(name)?;
                self.activity_l2 = v;
                layer_knob(self, &|l| l.activity_l2 = v);
            }
            "initializer" => {
                let i = Initializer::from_name(value.as_str(name)?)?;
                self.initializer = i;
                layer_knob(self, &|l| l.initializer = i);
            }
            "use_bias" => {
                let b = value.as_bool(name)?;
                self.use_bias = b;
                layer_knob(self, &|l| l.use_bias = b);
            }
            "optimizer" => {
                self.optimizer = match value {
                    ParamValue::None => None,
                    v => Some(OptimizerKind::from_name(v.as_str(name)?)?),
                }
            }
            "optimizer_epsilon" => self.optimizer_epsilon = opt_f64(value)?,
            "optimizer_momentum" => self.optimizer_momentum = opt_f64(value)?,
            "rho" => self.rho = opt_f64(value)?,
            "weight_decay" => self.weight_decay = opt_f64(value)?,
            "centered" => self.centered = Some(value.as_bool(name)?),
            "amsgrad" => self.amsgrad = Some(value.as_bool(name)?),
            "clipnorm" => self.clipnorm = opt_f64(value)?,
            "clipvalue" => self.clipvalue = opt_f64(value)?,
            "lr_schedule" => {
                self.lr_schedule = match value {
                    ParamValue::None => None,
                    v => match v.as_str(name)? {
                        "none" | "constant" => None,
                        s => Some(Schedule::from_name(s)?),
                    },
                }
            }
            "decay_steps" | "decay_rate" => {
                let Some(schedule) = &mut self.lr_schedule else {
                    return Err(invalid_param(
                        name,
                        "set lr_schedule (exponential_decay or cosine_decay) first; in a \
                         search, `decay_*` sorts before `lr_schedule`, so give the schedule \
                         in the base parameters",
                    ));
                };
                match (name, schedule) {
                    ("decay_steps", Schedule::ExponentialDecay { decay_steps, .. })
                    | ("decay_steps", Schedule::CosineDecay { decay_steps, .. }) => {
                        *decay_steps = value.as_usize(name)?
                    }
                    ("decay_rate", Schedule::ExponentialDecay { decay_rate, .. }) => {
                        *decay_rate = value.as_f64(name)?
                    }
                    _ => {
                        return Err(invalid_param(
                            name,
                            "does not apply to the chosen lr_schedule",
                        ))
                    }
                }
            }
            "patience" => es(self).patience = value.as_usize(name)?,
            "min_delta" => es(self).min_delta = value.as_f64(name)?,
            "restore_best_weights" => es(self).restore_best_weights = value.as_bool(name)?,
            "start_from_epoch" => es(self).start_from_epoch = value.as_usize(name)?,
            "monitor" => es(self).monitor = Monitor::from_name(value.as_str(name)?)?,
            "terminate_on_nan" => self.terminate_on_nan = value.as_bool(name)?,
            "checkpoint" => {
                self.checkpoint = match value {
                    ParamValue::None => None,
                    v => Some(v.as_str(name)?.into()),
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// One step of the compiled network.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Op {
    Dense {
        layer: usize,
        l1: f64,
        l2: f64,
        use_bias: bool,
    },
    BatchNorm {
        gamma: usize,
        beta: usize,
        running: usize,
        slot: usize,
    },
    Act {
        act: Activation,
        prelu: Option<usize>,
    },
    Activity {
        l1: f64,
        l2: f64,
    },
    Noise {
        stddev: f64,
        slot: usize,
    },
    Dropout {
        rate: f64,
        kind: DropoutKind,
        slot: usize,
    },
}

/// A compiled network: the op list, its buffer widths and where each learned vector lives.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Net {
    pub(crate) layout: Layout,
    ops: Vec<Op>,
    /// `widths[k]` is the width of the input of op `k` (`widths[ops.len()]` the output).
    widths: Vec<usize>,
    /// Total parameters: the dense layout, then BN scales/shifts and PReLU slopes.
    pub(crate) n_params: usize,
    /// Running means then variances of every batch-norm op.
    pub(crate) n_running: usize,
    /// Widths of the per-op scratch slots (BN normalized inputs, dropout masks, noise).
    slots: Vec<usize>,
    initializers: Vec<(Initializer, Activation)>,
    pub(crate) out: OutActivation,
    pub(crate) bn_momentum: f64,
    pub(crate) bn_epsilon: f64,
    /// The parameters training updates: everything but frozen layers' weights and biases
    /// (ascending, disjoint ranges of the flat buffer).
    pub(crate) trainable: Vec<std::ops::Range<usize>>,
}

impl Net {
    /// Compiles hidden layer specs for `n_in` inputs and `n_out` outputs. `out_init` is the
    /// output layer's initializer and `out_act` the activation scikit-learn's init uses for it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        specs: &[LayerSpec],
        n_in: usize,
        n_out: usize,
        out: OutActivation,
        out_init: Initializer,
        out_act: Activation,
        bn_momentum: f64,
        bn_epsilon: f64,
    ) -> Self {
        let mut units = vec![n_in];
        let mut initializers = Vec::new();
        for s in specs {
            if s.units > 0 {
                units.push(s.units);
                initializers.push((s.initializer, s.activation));
            }
        }
        units.push(n_out);
        initializers.push((out_init, out_act));
        let layout = Layout::new(&units);
        let mut extra = layout.len();
        let mut n_running = 0;
        let mut slots = Vec::new();
        let mut ops = Vec::new();
        let mut widths = vec![n_in];
        let mut width = n_in;
        let mut dense = 0;
        let push = |op: Op, w: usize, ops: &mut Vec<Op>, widths: &mut Vec<usize>| {
            ops.push(op);
            widths.push(w);
        };
        for s in specs {
            if s.units > 0 {
                push(
                    Op::Dense {
                        layer: dense,
                        l1: s.kernel_l1,
                        l2: s.kernel_l2,
                        use_bias: s.use_bias,
                    },
                    s.units,
                    &mut ops,
                    &mut widths,
                );
                dense += 1;
                width = s.units;
            }
            let mut bn = |extra: &mut usize, ops: &mut Vec<Op>, widths: &mut Vec<usize>| {
                ops.push(Op::BatchNorm {
                    gamma: *extra,
                    beta: *extra + width,
                    running: n_running,
                    slot: slots.len(),
                });
                *extra += 2 * width;
                n_running += 2 * width;
                slots.push(width);
                widths.push(width);
            };
            if s.batch_norm == Some(BatchNormPosition::BeforeActivation) {
                bn(&mut extra, &mut ops, &mut widths);
            }
            if s.activation != Activation::Identity {
                let prelu = if s.activation == Activation::Prelu {
                    let at = extra;
                    extra += width;
                    Some(at)
                } else {
                    None
                };
                ops.push(Op::Act {
                    act: s.activation,
                    prelu,
                });
                widths.push(width);
            }
            if s.activity_l1 != 0.0 || s.activity_l2 != 0.0 {
                ops.push(Op::Activity {
                    l1: s.activity_l1,
                    l2: s.activity_l2,
                });
                widths.push(width);
            }
            if s.batch_norm == Some(BatchNormPosition::AfterActivation) {
                bn(&mut extra, &mut ops, &mut widths);
            }
            if s.gaussian_noise > 0.0 {
                ops.push(Op::Noise {
                    stddev: s.gaussian_noise,
                    slot: slots.len(),
                });
                slots.push(width);
                widths.push(width);
            }
            if s.dropout > 0.0 {
                ops.push(Op::Dropout {
                    rate: s.dropout,
                    kind: s.dropout_kind,
                    slot: slots.len(),
                });
                slots.push(width);
                widths.push(width);
            }
        }
        push(
            Op::Dense {
                layer: dense,
                l1: 0.0,
                l2: 0.0,
                use_bias: true,
            },
            n_out,
            &mut ops,
            &mut widths,
        );
        let mut frozen: Vec<std::ops::Range<usize>> = specs
            .iter()
            .filter(|s| s.units > 0)
            .enumerate()
            .filter(|(_, s)| !s.trainable)
            .flat_map(|(i, _)| layout.layer_ranges(i))
            .collect();
        frozen.sort_by_key(|r| r.start);
        let mut trainable = Vec::new();
        let mut from = 0;
        for r in frozen {
            if r.start > from {
                trainable.push(from..r.start);
            }
            from = from.max(r.end);
        }
        if from < extra {
            trainable.push(from..extra);
        }
        Net {
            layout,
            ops,
            widths,
            n_params: extra,
            n_running,
            slots,
            initializers,
            out,
            bn_momentum,
            bn_epsilon,
            trainable,
        }
    }

    /// Initial parameters (dense layers in scikit-learn's draw order, BN scale 1 / shift 0,
    /// PReLU slopes 0) and running statistics (means 0, variances 1).
    pub(crate) fn init<F: Float>(&self, rng: &mut NumpyRng) -> (Vec<F>, Vec<F>) {
        let mut params = vec![F::zero(); self.n_params];
        for (i, &(init, act)) in self.initializers.iter().enumerate() {
            let fan_in = self.layout.layer_units[i];
            let fan_out = self.layout.layer_units[i + 1];
            let (mut coef, mut intercept) = self.layout.layer_mut(&mut params, i);
            let kernel = coef.as_slice_mut().expect("layout slices are contiguous");
            let bias = intercept
                .as_slice_mut()
                .expect("layout slices are contiguous");
            init.draw(rng, fan_in, fan_out, act, kernel, bias);
        }
        for op in &self.ops {
            match *op {
                Op::Dense {
                    layer,
                    use_bias: false,
                    ..
                } => {
                    let (_, mut b) = self.layout.layer_mut(&mut params, layer);
                    b.fill(F::zero());
                }
                Op::BatchNorm { gamma, beta, .. } => {
                    params[gamma..beta].iter_mut().for_each(|v| *v = F::one());
                }
                _ => {}
            }
        }
        let mut running = vec![F::zero(); self.n_running];
        for op in &self.ops {
            if let Op::BatchNorm { running: r, .. } = *op {
                let w = self.bn_width(op);
                running[r + w..r + 2 * w]
                    .iter_mut()
                    .for_each(|v| *v = F::one());
            }
        }
        (params, running)
    }

    fn bn_width(&self, op: &Op) -> usize {
        match *op {
            Op::BatchNorm { gamma, beta, .. } => beta - gamma,
            _ => 0,
        }
    }

    /// Whether parameter `k` is a bias of a layer without biases (never trained).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_frozen(&self, k: usize) -> bool {
        self.ops.iter().any(|op| match *op {
            Op::Dense {
                layer,
                use_bias: false,
                ..
            } => {
                let units = &self.layout.layer_units;
                let start = self.layout.coefs_len() + units[1..=layer].iter().sum::<usize>();
                (start..start + units[layer + 1]).contains(&k)
            }
            _ => false,
        })
    }
}

/// Buffers of one batch, sized once per fit.
#[derive(Debug, Clone)]
pub(crate) struct NetWorkspace<F> {
    /// `bufs[k]` is the input of op `k`; `bufs[0]` the gathered batch.
    pub(crate) bufs: Vec<Array2<F>>,
    deltas: Vec<Array2<F>>,
    slots: Vec<Array2<F>>,
    /// Per-unit `1/sqrt(var + eps)` of each batch-norm op (indexed like `slots`).
    inv_std: Vec<Vec<F>>,
    pub(crate) targets: Array2<F>,
    pub(crate) grads: Vec<F>,
}

impl<F: Float> NetWorkspace<F> {
    pub(crate) fn new(net: &Net, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        NetWorkspace {
            bufs: net
                .widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            deltas: net
                .widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            slots: net
                .slots
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            inv_std: net.slots.iter().map(|&w| vec![F::zero(); w]).collect(),
            targets: Array2::zeros((capacity, *net.widths.last().unwrap_or(&1))),
            grads: vec![F::zero(); net.n_params],
        }
    }

    /// Copies rows `index` of `x` and `y` into the batch buffers.
    pub(crate) fn gather(&mut self, x: &ArrayView2<F>, y: &ArrayView2<F>, index: &[usize]) {
        for (k, &row) in index.iter().enumerate() {
            self.bufs[0].row_mut(k).assign(&x.row(row));
            self.targets.row_mut(k).assign(&y.row(row));
        }
    }
}

/// How a forward pass treats the training-only ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Prediction: no dropout or noise, batch norm on running statistics.
    Predict,
    /// Training with fresh dropout masks and noise, batch statistics, running stats updated.
    Train,
    /// Training with the masks and noise already in the workspace (gradient checks).
    #[cfg_attr(not(test), allow(dead_code))]
    TrainFixedMasks,
}

#[inline(always)]
fn c<F: Float>(v: f64) -> F {
    F::from(v).unwrap_or_else(F::zero)
}

/// Forward pass over the first `m` rows of `bufs[0]`.
pub(crate) fn forward<F: Float>(
    net: &Net,
    params: &[F],
    running: &mut [F],
    ws: &mut NetWorkspace<F>,
    m: usize,
    mode: Mode,
    rng: &mut NumpyRng,
) {
    let training = mode != Mode::Predict;
    let n_ops = net.ops.len();
    for (k, op) in net.ops.iter().enumerate() {
        let (done, rest) = ws.bufs.split_at_mut(k + 1);
        let a_in = done[k].slice(s![..m, ..]);
        let mut a_out = rest[0].slice_mut(s![..m, ..]);
        match *op {
            Op::Dense { layer, .. } => {
                let coef = net.layout.coef(params, layer);
                let intercept = net.layout.intercept(params, layer);
                if training {
                    gemm(F::one(), &a_in, &coef, F::zero(), &mut a_out);
                } else {
                    // As in the scikit-learn engine: one kernel for every block size, so a
                    // row's prediction does not depend on the rows predicted with it.
                    gemm_chosen_for(
                        PREDICT_KERNEL_ROWS,
                        F::one(),
                        &a_in,
                        &coef,
                        F::zero(),
                        &mut a_out,
                    );
                }
                for mut row in a_out.rows_mut() {
                    row += &intercept;
                }
                if k + 1 == n_ops {
                    net.out.apply_rows(a_out);
                }
            }
            Op::Act { act, prelu } => match prelu {
                Some(at) => {
                    let slopes = &params[at..at + a_in.ncols()];
                    Zip::from(a_out.rows_mut())
                        .and(a_in.rows())
                        .for_each(|mut o, i| {
                            for ((o, &x), &a) in o.iter_mut().zip(i.iter()).zip(slopes) {
                                *o = Activation::prelu_apply(x, a);
                            }
                        });
                }
                None => match act {
                    // The vectorized kernels of the simple engine, for the same results.
                    Activation::Tanh | Activation::Logistic if a_out.is_standard_layout() => {
                        a_out.assign(&a_in);
                        if let Some(out) = a_out.as_slice_mut() {
                            if act == Activation::Tanh {
                                fastmath::tanh_in_place(out);
                            } else {
                                fastmath::logistic_in_place(out);
                            }
                        }
                    }
                    _ => Zip::from(&mut a_out)
                        .and(&a_in)
                        .for_each(|o, &x| *o = act.apply(x)),
                },
            },
            Op::Activity { .. } => a_out.assign(&a_in),
            Op::BatchNorm {
                gamma,
                beta,
                running: r,
                slot,
            } => {
                let w = a_in.ncols();
                let g = &params[gamma..gamma + w];
                let b = &params[beta..beta + w];
                let eps = c::<F>(net.bn_epsilon);
                if training {
                    let mf = F::from(m).unwrap_or_else(F::one);
                    let mut xhat = ws.slots[slot].slice_mut(s![..m, ..]);
                    let inv_std = &mut ws.inv_std[slot];
                    let mom = c::<F>(net.bn_momentum);
                    for j in 0..w {
                        let col = a_in.column(j);
                        let mean = col.sum() / mf;
                        let var = col.fold(F::zero(), |acc, &v| acc + (v - mean) * (v - mean)) / mf;
                        let is = F::one() / (var + eps).sqrt();
                        inv_std[j] = is;
                        for i in 0..m {
                            let xh = (a_in[[i, j]] - mean) * is;
                            xhat[[i, j]] = xh;
                            a_out[[i, j]] = g[j] * xh + b[j];
                        }
                        if mode == Mode::Train {
                            running[r + j] = running[r + j] * mom + mean * (F::one() - mom);
                            running[r + w + j] = running[r + w + j] * mom + var * (F::one() - mom);
                        }
                    }
                } else {
                    for j in 0..w {
                        let mean = running[r + j];
                        let is = F::one() / (running[r + w + j] + eps).sqrt();
                        for i in 0..m {
                            a_out[[i, j]] = g[j] * (a_in[[i, j]] - mean) * is + b[j];
                        }
                    }
                }
            }
            Op::Noise { stddev, slot } => {
                if training {
                    let mut noise = ws.slots[slot].slice_mut(s![..m, ..]);
                    if mode == Mode::Train {
                        noise
                            .iter_mut()
                            .for_each(|v| *v = c(stddev * standard_normal(rng)));
                    }
                    Zip::from(&mut a_out)
                        .and(&a_in)
                        .and(&noise)
                        .for_each(|o, &x, &e| *o = x + e);
                } else {
                    a_out.assign(&a_in);
                }
            }
            Op::Dropout { rate, kind, slot } => {
                if !training {
                    a_out.assign(&a_in);
                    continue;
                }
                // The slot holds the multiplier of each unit (0 or 1/(1-rate), or Alpha's
                // `a·keep`); Alpha's additive part is recomputed from it.
                let mut mask = ws.slots[slot].slice_mut(s![..m, ..]);
                let (a, b, alpha_p) = alpha_dropout_constants(rate);
                if mode == Mode::Train {
                    let keep_scale = c::<F>(match kind {
                        DropoutKind::Standard => 1.0 / (1.0 - rate),
                        DropoutKind::Alpha => a,
                    });
                    mask.iter_mut().for_each(|v| {
                        *v = if rng.random_sample() >= rate {
                            keep_scale
                        } else {
                            F::zero()
                        }
                    });
                }
                match kind {
                    DropoutKind::Standard => Zip::from(&mut a_out)
                        .and(&a_in)
                        .and(&mask)
                        .for_each(|o, &x, &k| *o = x * k),
                    DropoutKind::Alpha => {
                        // a·(x·keep + alpha_p·(1 - keep)) + b
                        let dropped = c::<F>(a * alpha_p + b);
                        let kept_shift = c::<F>(b);
                        Zip::from(&mut a_out)
                            .and(&a_in)
                            .and(&mask)
                            .for_each(|o, &x, &k| {
                                *o = if k == F::zero() {
                                    dropped
                                } else {
                                    x * k + kept_shift
                                }
                            })
                    }
                }
            }
        }
    }
}

/// Keras's `AlphaDropout` constants `(a, b, alpha_p)` for `rate`.
pub(crate) fn alpha_dropout_constants(rate: f64) -> (f64, f64, f64) {
    let alpha_p = -SELU_ALPHA * SELU_SCALE;
    let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
    let b = -a * alpha_p * rate;
    (a, b, alpha_p)
}

/// Loss and gradient of one batch already forwarded in training mode. `alpha` is
/// scikit-learn's L2 (`0.5·alpha·‖W‖²/m`, every dense kernel); the per-layer Keras kernel and
/// activity regularizers come from the specs. Returns the batch loss with every penalty.
pub(crate) fn backward<F: Float>(
    net: &Net,
    params: &[F],
    ws: &mut NetWorkspace<F>,
    m: usize,
    alpha: f64,
) -> F {
    let n_ops = net.ops.len();
    let mf = F::from(m).unwrap_or_else(F::one);
    let inv_m = F::one() / mf;
    let alpha_f = c::<F>(alpha);
    let NetWorkspace {
        bufs,
        deltas,
        slots,
        inv_std,
        targets,
        grads,
        ..
    } = ws;
    let y = targets.slice(s![..m, ..]);
    let p = bufs[n_ops].slice(s![..m, ..]);
    let mut loss = net.out.loss(y, p);
    Zip::from(deltas[n_ops].slice_mut(s![..m, ..]))
        .and(&p)
        .and(&y)
        .for_each(|d, &p, &t| *d = p - t);
    grads.iter_mut().for_each(|g| *g = F::zero());
    for k in (0..n_ops).rev() {
        let (lower, upper) = deltas.split_at_mut(k + 1);
        let d_out = upper[0].slice(s![..m, ..]);
        let mut d_in = lower[k].slice_mut(s![..m, ..]);
        let a_in = bufs[k].slice(s![..m, ..]);
        let need_input_delta = k > 0;
        match net.ops[k] {
            Op::Dense {
                layer,
                l1,
                l2,
                use_bias,
            } => {
                let coef = net.layout.coef(params, layer);
                {
                    let (mut coef_grad, mut intercept_grad) = net.layout.layer_mut(grads, layer);
                    gemm(inv_m, &a_in.t(), &d_out, F::zero(), &mut coef_grad);
                    if alpha != 0.0 {
                        let scale = alpha_f * inv_m;
                        Zip::from(&mut coef_grad)
                            .and(&coef)
                            .for_each(|g, &w| *g += scale * w);
                        let sq = coef.fold(F::zero(), |acc, &w| acc + w * w);
                        loss += c::<F>(0.5) * alpha_f * sq * inv_m;
                    }
                    if l1 != 0.0 || l2 != 0.0 {
                        let (l1f, l2f) = (c::<F>(l1), c::<F>(l2));
                        let two = c::<F>(2.0);
                        Zip::from(&mut coef_grad).and(&coef).for_each(|g, &w| {
                            *g += l1f * sign(w) + two * l2f * w;
                        });
                        let (s1, s2) = coef.fold((F::zero(), F::zero()), |(a, b), &w| {
                            (a + w.abs(), b + w * w)
                        });
                        loss += l1f * s1 + l2f * s2;
                    }
                    if use_bias {
                        for row in d_out.rows() {
                            intercept_grad += &row;
                        }
                        intercept_grad.mapv_inplace(|v| v * inv_m);
                    }
                }
                if need_input_delta {
                    gemm(F::one(), &d_out, &coef.t(), F::zero(), &mut d_in);
                }
            }
            Op::Act { act, prelu } => match prelu {
                Some(at) => {
                    let w = a_in.ncols();
                    for (i, (drow, xrow)) in d_out.rows().into_iter().zip(a_in.rows()).enumerate() {
                        for j in 0..w {
                            let x = xrow[j];
                            let d = drow[j];
                            if x > F::zero() {
                                d_in[[i, j]] = d;
                            } else {
                                d_in[[i, j]] = d * params[at + j];
                                grads[at + j] += d * x * inv_m;
                            }
                        }
                    }
                }
                None => Zip::from(&mut d_in)
                    .and(&d_out)
                    .and(&a_in)
                    .for_each(|di, &d, &x| *di = d * act.derivative(x)),
            },
            Op::Activity { l1, l2 } => {
                let (l1f, l2f) = (c::<F>(l1), c::<F>(l2));
                let two = c::<F>(2.0);
                // Deltas carry m·∂L/∂a, so the per-row penalty's gradient enters unscaled.
                Zip::from(&mut d_in)
                    .and(&d_out)
                    .and(&a_in)
                    .for_each(|di, &d, &a| *di = d + l1f * sign(a) + two * l2f * a);
                let (s1, s2) = a_in.fold((F::zero(), F::zero()), |(x, y), &a| {
                    (x + a.abs(), y + a * a)
                });
                loss += (l1f * s1 + l2f * s2) * inv_m;
            }
            Op::BatchNorm {
                gamma, beta, slot, ..
            } => {
                let w = a_in.ncols();
                let xhat = slots[slot].slice(s![..m, ..]);
                let is = &inv_std[slot];
                for j in 0..w {
                    let g = params[gamma + j];
                    let mut sum_d = F::zero();
                    let mut sum_dx = F::zero();
                    for i in 0..m {
                        sum_d += d_out[[i, j]];
                        sum_dx += d_out[[i, j]] * xhat[[i, j]];
                    }
                    grads[gamma + j] = sum_dx * inv_m;
                    grads[beta + j] = sum_d * inv_m;
                    // dx = γ·inv_std/m · (m·d - Σd - x̂·Σ(d·x̂))
                    let scale = g * is[j] * inv_m;
                    for i in 0..m {
                        d_in[[i, j]] = scale * (mf * d_out[[i, j]] - sum_d - xhat[[i, j]] * sum_dx);
                    }
                }
            }
            Op::Noise { .. } => d_in.assign(&d_out),
            Op::Dropout { slot, .. } => Zip::from(&mut d_in)
                .and(&d_out)
                .and(slots[slot].slice(s![..m, ..]))
                .for_each(|di, &d, &k| *di = d * k),
        }
    }
    loss
}

#[inline(always)]
fn sign<F: Float>(v: F) -> F {
    if v > F::zero() {
        F::one()
    } else if v < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// Output activations for every row of `x` (prediction mode: deterministic).
pub(crate) fn predict<F: Float>(
    net: &Net,
    params: &[F],
    running: &[F],
    x: ArrayView2<F>,
) -> Array2<F> {
    let n = x.nrows();
    let n_out = *net.widths.last().unwrap_or(&1);
    let mut result = Array2::zeros((n, n_out));
    let block = PREDICT_BLOCK.min(n.max(1));
    let mut ws = NetWorkspace::new(net, block);
    // Prediction mode reads the running statistics and never draws.
    let mut running = running.to_vec();
    let mut rng = NumpyRng::new(0);
    let mut start = 0;
    while start < n {
        let m = block.min(n - start);
        ws.bufs[0]
            .slice_mut(s![..m, ..])
            .assign(&x.slice(s![start..start + m, ..]));
        forward(
            net,
            params,
            &mut running,
            &mut ws,
            m,
            Mode::Predict,
            &mut rng,
        );
        result
            .slice_mut(s![start..start + m, ..])
            .assign(&ws.bufs[net.ops.len()].slice(s![..m, ..]));
        start += m;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn data() -> (Array2<f64>, Array2<f64>) {
        let x = array![
            [0.3, -1.2, 0.5],
            [1.1, 0.4, -0.7],
            [-0.2, 0.9, 1.5],
            [0.8, -0.3, 0.1],
            [-1.0, 0.2, -0.4]
        ];
        let y = array![[0.5], [1.5], [-0.3], [0.0], [0.9]];
        (x, y)
    }

    /// Central-difference check of the whole gradient with masks and noise held fixed.
    fn check(specs: &[LayerSpec], alpha: f64, init: Initializer) {
        let (x, y) = data();
        let m = x.nrows();
        let net = Net::new(
            specs,
            3,
            1,
            OutActivation::Identity,
            init,
            Activation::Relu,
            0.99,
            1e-3,
        );
        let mut rng = NumpyRng::new(3);
        let (mut params, mut running) = net.init::<f64>(&mut rng);
        // Move PReLU slopes and BN scales off their initial values so the check sees them.
        for (k, p) in params.iter_mut().enumerate().skip(net.layout.len()) {
            *p += 0.1 + 0.05 * (k % 3) as f64;
        }
        let mut ws = NetWorkspace::new(&net, m);
        let idx: Vec<usize> = (0..m).collect();
        ws.gather(&x.view(), &y.view(), &idx);
        forward(
            &net,
            &params,
            &mut running,
            &mut ws,
            m,
            Mode::Train,
            &mut rng,
        );
        let _ = backward(&net, &params, &mut ws, m, alpha);
        let grad = ws.grads.clone();
        let mut eval = |p: &[f64], ws: &mut NetWorkspace<f64>| {
            forward(
                &net,
                p,
                &mut running,
                ws,
                m,
                Mode::TrainFixedMasks,
                &mut rng,
            );
            backward(&net, p, ws, m, alpha)
        };
        for k in 0..params.len() {
            if net.is_frozen(k) {
                assert_eq!(grad[k], 0.0);
                continue;
            }
            let h = 1e-6;
            let orig = params[k];
            params[k] = orig + h;
            let up = eval(&params, &mut ws);
            params[k] = orig - h;
            let down = eval(&params, &mut ws);
            params[k] = orig;
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (numeric - grad[k]).abs() < 1e-5 * (1.0 + numeric.abs()),
                "{specs:?} param {k}: numeric {numeric} analytic {}",
                grad[k]
            );
        }
    }

    #[test]
    fn gradient_every_activation() {
        for act in Activation::EXTENDED {
            check(
                &[LayerSpec::dense(4, act), LayerSpec::dense(3, act)],
                0.0,
                Initializer::Sklearn,
            );
        }
    }

    #[test]
    fn gradient_dropout_with_fixed_mask() {
        check(
            &[
                LayerSpec::dense(6, Activation::Tanh).dropout(0.4),
                LayerSpec::dense(5, Activation::Selu).alpha_dropout(0.3),
                LayerSpec::dense(4, Activation::Relu).gaussian_noise(0.2),
            ],
            0.0,
            Initializer::GlorotUniform,
        );
    }

    #[test]
    fn gradient_batch_norm_training_mode() {
        for pos in [
            BatchNormPosition::BeforeActivation,
            BatchNormPosition::AfterActivation,
        ] {
            check(
                &[
                    LayerSpec::dense(4, Activation::Tanh)
                        .batch_norm(pos)
                        .use_bias(false),
                    LayerSpec::dense(3, Activation::Prelu).batch_norm(pos),
                ],
                0.0,
                Initializer::HeNormal,
            );
        }
    }

    #[test]
    fn gradient_regularizers() {
        check(
            &[
                LayerSpec::dense(4, Activation::Elu { alpha: 1.0 })
                    .kernel_regularizer(0.01, 0.02)
                    .activity_regularizer(0.03, 0.04),
                LayerSpec::activation_only(Activation::Tanh).activity_regularizer(0.0, 0.1),
                LayerSpec::dense(3, Activation::Swish).kernel_regularizer(0.0, 0.5),
            ],
            0.3,
            Initializer::LecunNormal,
        );
    }

    #[test]
    fn prediction_is_deterministic_and_ignores_dropout() {
        let (x, _) = data();
        let specs = [LayerSpec::dense(8, Activation::Relu)
            .dropout(0.5)
            .gaussian_noise(1.0)];
        let net = Net::new(
            &specs,
            3,
            1,
            OutActivation::Identity,
            Initializer::Sklearn,
            Activation::Relu,
            0.99,
            1e-3,
        );
        let mut rng = NumpyRng::new(1);
        let (params, running) = net.init::<f64>(&mut rng);
        let a = predict(&net, &params, &running, x.view());
        let b = predict(&net, &params, &running, x.view());
        assert_eq!(a, b);
        // Without dropout/noise the same weights give the same outputs.
        let plain = Net::new(
            &[LayerSpec::dense(8, Activation::Relu)],
            3,
            1,
            OutActivation::Identity,
            Initializer::Sklearn,
            Activation::Relu,
            0.99,
            1e-3,
        );
        assert_eq!(predict(&plain, &params, &[], x.view()), a);
    }

    /// A row's prediction is the same whether it is predicted alone, in a short block or
    /// in a long one spanning several 256-row blocks (the kernel does not follow the block
    /// size), bit for bit, with batch norm and a wide layer in the mix.
    #[test]
    fn prediction_does_not_depend_on_the_rows_predicted_with_it() {
        let mut rng = NumpyRng::new(5);
        let x = Array2::from_shape_fn((600, 40), |_| rng.uniform(-1.0, 1.0));
        let specs = [
            LayerSpec::dense(120, Activation::Relu).batch_norm(BatchNormPosition::BeforeActivation),
            LayerSpec::dense(60, Activation::Tanh),
        ];
        let net = Net::new(
            &specs,
            40,
            3,
            OutActivation::Identity,
            Initializer::GlorotUniform,
            Activation::Relu,
            0.99,
            1e-3,
        );
        let (params, running) = net.init::<f64>(&mut rng);
        let all = predict(&net, &params, &running, x.view());
        for (start, len) in [(0, 1), (17, 1), (3, 5), (250, 40), (599, 1), (100, 300)] {
            let part = predict(&net, &params, &running, x.slice(s![start..start + len, ..]));
            assert_eq!(
                part,
                all.slice(s![start..start + len, ..]),
                "rows {start}+{len}"
            );
        }
    }

    #[test]
    fn batch_norm_running_statistics_follow_keras_momentum() {
        let (x, y) = data();
        let specs = [LayerSpec::dense(2, Activation::Identity)
            .batch_norm(BatchNormPosition::AfterActivation)];
        let net = Net::new(
            &specs,
            3,
            1,
            OutActivation::Identity,
            Initializer::Sklearn,
            Activation::Relu,
            0.99,
            1e-3,
        );
        let mut rng = NumpyRng::new(1);
        let (params, mut running) = net.init::<f64>(&mut rng);
        let mut ws = NetWorkspace::new(&net, 5);
        ws.gather(&x.view(), &y.view(), &[0, 1, 2, 3, 4]);
        forward(
            &net,
            &params,
            &mut running,
            &mut ws,
            5,
            Mode::Train,
            &mut rng,
        );
        let z = ws.bufs[1].clone();
        for j in 0..2 {
            let col = z.column(j);
            let mean = col.sum() / 5.0;
            let var = col.mapv(|v| (v - mean) * (v - mean)).sum() / 5.0;
            assert!((running[j] - 0.01 * mean).abs() < 1e-12);
            assert!((running[2 + j] - (0.99 + 0.01 * var)).abs() < 1e-12);
        }
    }

    #[test]
    fn initializer_scales() {
        let mut rng = NumpyRng::new(0);
        let (fan_in, fan_out) = (200, 100);
        for init in Initializer::ALL {
            let mut k = vec![0.0f64; fan_in * fan_out];
            let mut b = vec![1.0f64; fan_out];
            init.draw(&mut rng, fan_in, fan_out, Activation::Relu, &mut k, &mut b);
            let var = k.iter().map(|v| v * v).sum::<f64>() / k.len() as f64;
            let expected = match init {
                Initializer::Sklearn => 6.0 / 300.0 / 3.0,
                Initializer::GlorotUniform | Initializer::GlorotNormal => 2.0 / 300.0,
                Initializer::HeUniform | Initializer::HeNormal => 2.0 / 200.0,
                Initializer::LecunUniform | Initializer::LecunNormal => 1.0 / 200.0,
            };
            assert!(
                (var / expected - 1.0).abs() < 0.05,
                "{init:?}: {var} vs {expected}"
            );
            if init != Initializer::Sklearn {
                assert!(b.iter().all(|&v| v == 0.0));
                let sd = expected.sqrt() / 0.879_625_661_034_239_8;
                if matches!(
                    init,
                    Initializer::GlorotNormal | Initializer::HeNormal | Initializer::LecunNormal
                ) {
                    assert!(k.iter().all(|v| v.abs() <= 2.0 * sd + 1e-12));
                }
            }
        }
    }
}
