//! What one hidden layer is: [`LayerSpec`] (a dense layer and what follows it), its
//! initializer, and pretrained [`LayerWeights`].

use super::*;

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
    pub(super) fn draw<F: Float>(
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

pub(super) fn truncated_normal(rng: &mut NumpyRng, sd: f64) -> f64 {
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
/// [`MLPClassifier::hidden_layers`](crate::neural_network::MLPClassifier::hidden_layers) or
/// [`MLPRegressor::hidden_layers`](crate::neural_network::MLPRegressor::hidden_layers); kept in `f64`
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
