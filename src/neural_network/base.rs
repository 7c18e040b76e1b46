//! Activations and losses (scikit-learn's `neural_network/_base.py`).

use linfa::Float;
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use super::fastmath;
use crate::error::{MlpTuneError, Result};

/// A hidden layer's activation function: scikit-learn's four plus Keras 3's.
///
/// | name | formula | default parameter |
/// |---|---|---|
/// | `identity` | `f(x) = x` | |
/// | `logistic` | `f(x) = 1 / (1 + exp(-x))` (Keras: `sigmoid`) | |
/// | `tanh` | `f(x) = tanh(x)` | |
/// | `relu` (default) | `f(x) = max(0, x)` | |
/// | `leaky_relu` | `x` if `x > 0` else `negative_slope · x` | `negative_slope = 0.2` |
/// | `prelu` | `x` if `x > 0` else `a_j · x`, `a_j` learned per unit (initialized to 0, as Keras's `PReLU`) | |
/// | `elu` | `x` if `x > 0` else `alpha · (exp(x) - 1)` | `alpha = 1.0` |
/// | `selu` | `scale · elu(x; alpha)` with `alpha = 1.67326324…`, `scale = 1.05070098…` | |
/// | `gelu` | `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))` | exact |
/// | `gelu_tanh` | `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` | tanh approximation |
/// | `swish` / `silu` | `x · sigmoid(x)` | |
/// | `softplus` | `ln(1 + exp(x))` | |
/// | `mish` | `x · tanh(softplus(x))` | |
/// | `relu6` | `min(max(0, x), 6)` | |
///
/// The leaky slope: Keras's `LeakyReLU` *layer* defaults to 0.3 while the
/// `keras.activations.leaky_relu` *function* (what `Dense(activation="leaky_relu")` uses)
/// defaults to 0.2. The name `leaky_relu` here means the function's 0.2; another slope is
/// [`Activation::LeakyRelu`] with an explicit `negative_slope`.
///
/// Only the first four run on the scikit-learn engine; any other one routes training through
/// the generalized layer engine (see [`LayerSpec`](super::LayerSpec)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Activation {
    /// No-op activation, useful for a linear bottleneck.
    Identity,
    /// The logistic sigmoid.
    Logistic,
    /// The hyperbolic tangent.
    Tanh,
    /// The rectified linear unit (scikit-learn's default).
    #[default]
    Relu,
    /// Leaky ReLU with a fixed negative slope.
    LeakyRelu {
        /// Slope for negative inputs (name `leaky_relu`: 0.2).
        negative_slope: f64,
    },
    /// Parametric ReLU: one learned negative slope per unit.
    Prelu,
    /// Exponential linear unit.
    Elu {
        /// Saturation value for negative inputs (default 1.0).
        alpha: f64,
    },
    /// Scaled ELU with Keras's constants (self-normalizing with `lecun_normal`).
    Selu,
    /// Gaussian error linear unit.
    Gelu {
        /// Use the tanh approximation instead of the exact `erf` form.
        approximate: bool,
    },
    /// `x · sigmoid(x)` (also called SiLU).
    Swish,
    /// `ln(1 + exp(x))`.
    Softplus,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// ReLU capped at 6.
    Relu6,
}

/// SELU's `alpha` (Keras 3, `keras.activations.selu`).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's `scale` (Keras 3, `keras.activations.selu`).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

impl Activation {
    /// scikit-learn's activations, in the order of the table above.
    pub const ALL: [Activation; 4] = [
        Activation::Identity,
        Activation::Logistic,
        Activation::Tanh,
        Activation::Relu,
    ];

    /// Every activation with its default parameters, including the beyond-scikit-learn ones.
    pub const EXTENDED: [Activation; 14] = [
        Activation::Identity,
        Activation::Logistic,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::Prelu,
        Activation::Elu { alpha: 1.0 },
        Activation::Selu,
        Activation::Gelu { approximate: false },
        Activation::Gelu { approximate: true },
        Activation::Swish,
        Activation::Softplus,
        Activation::Mish,
        Activation::Relu6,
    ];

    /// The name (`"relu"`, `"gelu_tanh"`, ...). Parameterized variants give their family
    /// name, so a non-default slope does not round-trip through the name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Logistic => "logistic",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Prelu => "prelu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu { approximate: false } => "gelu",
            Activation::Gelu { approximate: true } => "gelu_tanh",
            Activation::Swish => "swish",
            Activation::Softplus => "softplus",
            Activation::Mish => "mish",
            Activation::Relu6 => "relu6",
        }
    }

    /// Whether scikit-learn has this activation (so the scikit-learn engine can run it).
    pub fn is_sklearn(self) -> bool {
        matches!(
            self,
            Activation::Identity | Activation::Logistic | Activation::Tanh | Activation::Relu
        )
    }

    /// Parses a name: scikit-learn's plus `leaky_relu`, `prelu`, `elu`, `selu`, `gelu`,
    /// `gelu_tanh`, `swish`, `silu`, `softplus`, `mish`, `relu6` (and Keras's `sigmoid`,
    /// `linear` for `logistic`, `identity`).
    ///
    /// ```
    /// use mlp_tune::neural_network::Activation;
    /// assert_eq!(Activation::from_name("tanh").unwrap(), Activation::Tanh);
    /// assert_eq!(Activation::from_name("silu").unwrap(), Activation::Swish);
    /// assert!(Activation::from_name("swish2").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Self> {
        let found = match name {
            "silu" => Some(Activation::Swish),
            "sigmoid" => Some(Activation::Logistic),
            "linear" => Some(Activation::Identity),
            _ => Activation::EXTENDED.into_iter().find(|a| a.name() == name),
        };
        found.ok_or_else(|| MlpTuneError::InvalidParameter {
            name: "activation".into(),
            reason: format!(
                "unknown activation `{name}`; valid: identity, logistic, tanh, relu, leaky_relu, \
                 prelu, elu, selu, gelu, gelu_tanh, swish, silu, softplus, mish, relu6"
            ),
        })
    }

    /// Checks the parameters of parameterized variants.
    pub fn validate(self) -> Result<()> {
        match self {
            Activation::LeakyRelu { negative_slope } if !negative_slope.is_finite() => Err(
                crate::error::invalid_param("activation", "leaky_relu slope must be finite"),
            ),
            Activation::Elu { alpha } if !alpha.is_finite() || alpha < 0.0 => Err(
                crate::error::invalid_param("activation", "elu alpha must be finite and >= 0"),
            ),
            _ => Ok(()),
        }
    }

    /// `f(x)`. `Prelu` is evaluated with slope 0 here; its learned slope lives in the
    /// layer engine ([`prelu`](Self::prelu_apply)).
    #[inline(always)]
    pub(crate) fn apply<F: Float>(self, x: F) -> F {
        let zero = F::zero();
        match self {
            Activation::Identity => x,
            Activation::Logistic => logistic(x),
            Activation::Tanh => x.tanh(),
            Activation::Relu | Activation::Prelu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > zero {
                    x
                } else {
                    x * cst(negative_slope)
                }
            }
            Activation::Elu { alpha } => {
                if x > zero {
                    x
                } else {
                    cst::<F>(alpha) * x.exp_m1()
                }
            }
            Activation::Selu => {
                let scale = cst::<F>(SELU_SCALE);
                if x > zero {
                    scale * x
                } else {
                    scale * cst::<F>(SELU_ALPHA) * x.exp_m1()
                }
            }
            Activation::Gelu { approximate: false } => {
                cst::<F>(0.5) * x * (F::one() + erf(x * cst(std::f64::consts::FRAC_1_SQRT_2)))
            }
            Activation::Gelu { approximate: true } => {
                let c = cst::<F>((2.0 / std::f64::consts::PI).sqrt());
                let inner = c * (x + cst::<F>(0.044715) * x * x * x);
                cst::<F>(0.5) * x * (F::one() + inner.tanh())
            }
            Activation::Swish => x * logistic(x),
            Activation::Softplus => softplus(x),
            Activation::Mish => x * mish_parts(x).0,
            Activation::Relu6 => {
                if x <= zero {
                    zero
                } else if x >= cst(6.0) {
                    cst(6.0)
                } else {
                    x
                }
            }
        }
    }

    /// `f'(x)` from the *input* `x` (what the layer engine uses; several activations have no
    /// closed form in their output). `Prelu`: slope 0 for negative inputs, see
    /// [`prelu`](Self::prelu_apply).
    #[inline(always)]
    pub(crate) fn derivative<F: Float>(self, x: F) -> F {
        let zero = F::zero();
        let one = F::one();
        match self {
            Activation::Identity => one,
            Activation::Logistic => {
                let s = logistic(x);
                s * (one - s)
            }
            Activation::Tanh => {
                let t = x.tanh();
                one - t * t
            }
            Activation::Relu | Activation::Prelu => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > zero {
                    one
                } else {
                    cst(negative_slope)
                }
            }
            Activation::Elu { alpha } => {
                if x > zero {
                    one
                } else {
                    cst::<F>(alpha) * x.exp()
                }
            }
            Activation::Selu => {
                let scale = cst::<F>(SELU_SCALE);
                if x > zero {
                    scale
                } else {
                    scale * cst::<F>(SELU_ALPHA) * x.exp()
                }
            }
            Activation::Gelu { approximate: false } => {
                let cdf = cst::<F>(0.5) * (one + erf(x * cst(std::f64::consts::FRAC_1_SQRT_2)));
                let pdf =
                    (-(x * x) * cst(0.5)).exp() * cst(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                cdf + x * pdf
            }
            Activation::Gelu { approximate: true } => {
                let c = cst::<F>((2.0 / std::f64::consts::PI).sqrt());
                let k = cst::<F>(0.044715);
                let inner = c * (x + k * x * x * x);
                let t = inner.tanh();
                let dinner = c * (one + cst::<F>(3.0) * k * x * x);
                cst::<F>(0.5) * (one + t) + cst::<F>(0.5) * x * (one - t * t) * dinner
            }
            Activation::Swish => {
                let s = logistic(x);
                s + x * s * (one - s)
            }
            Activation::Softplus => logistic(x),
            Activation::Mish => {
                let (t, s) = mish_parts(x);
                t + x * (one - t * t) * s
            }
            Activation::Relu6 => {
                if x > zero && x < cst(6.0) {
                    one
                } else {
                    zero
                }
            }
        }
    }

    /// The derivative expressed through the activation's *output* `a`, as scikit-learn does.
    /// Only scikit-learn's four activations reach the engine that calls this; the others
    /// are routed to the layer engine, which differentiates from the input.
    #[inline(always)]
    pub(crate) fn derivative_from_output<F: Float>(self, a: F) -> F {
        match self {
            Activation::Identity => F::one(),
            Activation::Logistic => a * (F::one() - a),
            Activation::Tanh => F::one() - a * a,
            _ => {
                if a == F::zero() {
                    F::zero()
                } else {
                    F::one()
                }
            }
        }
    }

    /// PReLU with a per-unit slope.
    #[inline(always)]
    pub(crate) fn prelu_apply<F: Float>(x: F, slope: F) -> F {
        if x > F::zero() {
            x
        } else {
            slope * x
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[inline(always)]
fn cst<F: Float>(v: f64) -> F {
    F::from(v).unwrap_or_else(F::zero)
}

/// `ln(1 + exp(x))` without overflow.
#[inline(always)]
pub(crate) fn softplus<F: Float>(x: F) -> F {
    if x > F::zero() {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// The error function (fdlibm's, through `libm`: within an ulp or so in f64, fast enough
/// for the hot loop).
#[inline]
pub(crate) fn erf<F: Float>(x: F) -> F {
    cst(libm::erf(x.to_f64().unwrap_or(0.0)))
}

#[cfg(test)]
fn erf_f64(x: f64) -> f64 {
    libm::erf(x)
}

/// `tanh(softplus(x))` and `sigmoid(x)` from one exponential:
/// with `e = exp(x)`, `tanh(ln(1 + e)) = e(e + 2) / (e(e + 2) + 2)`.
#[inline(always)]
fn mish_parts<F: Float>(x: F) -> (F, F) {
    if x > cst(20.0) {
        // tanh(softplus(x)) = 1 - O(e^-2x): 1 to double precision.
        (F::one(), logistic(x))
    } else {
        let e = x.exp();
        let n = e * (e + cst(2.0));
        (n / (n + cst(2.0)), e / (F::one() + e))
    }
}

/// `scipy.special.expit`, stable for large negative inputs.
#[inline(always)]
pub(crate) fn logistic<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

/// The output layer's activation, chosen by the task as scikit-learn does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OutActivation {
    /// Regression with the squared error.
    Identity,
    /// Regression with the Poisson loss (log link).
    Exp,
    /// Binary and multilabel classification.
    Logistic,
    /// Multiclass classification.
    Softmax,
}

impl OutActivation {
    /// The scikit-learn name of `out_activation_`.
    pub fn name(self) -> &'static str {
        match self {
            OutActivation::Identity => "identity",
            OutActivation::Exp => "exp",
            OutActivation::Logistic => "logistic",
            OutActivation::Softmax => "softmax",
        }
    }

    /// Applies the activation to each row of `z` in place.
    pub(crate) fn apply_rows<F: Float>(self, mut z: ArrayViewMut2<F>) {
        match self {
            OutActivation::Identity => {}
            OutActivation::Exp => match z.as_slice_mut() {
                Some(z) => fastmath::exp_in_place(z),
                None => z.mapv_inplace(|v| v.exp()),
            },
            OutActivation::Logistic => match z.as_slice_mut() {
                Some(z) => fastmath::logistic_in_place(z),
                None => z.mapv_inplace(logistic),
            },
            OutActivation::Softmax => {
                for mut row in z.rows_mut() {
                    if let Some(row) = row.as_slice_mut() {
                        let max = row
                            .iter()
                            .fold(F::neg_infinity(), |m, &v| if v > m { v } else { m });
                        for v in row.iter_mut() {
                            *v -= max;
                        }
                        fastmath::exp_in_place(row);
                        let sum = row.iter().fold(F::zero(), |s, &v| s + v);
                        for v in row.iter_mut() {
                            *v /= sum;
                        }
                        continue;
                    }
                    let max = row.fold(F::neg_infinity(), |m, &v| if v > m { v } else { m });
                    let mut sum = F::zero();
                    for v in row.iter_mut() {
                        *v = (*v - max).exp();
                        sum += *v;
                    }
                    for v in row.iter_mut() {
                        *v /= sum;
                    }
                }
            }
        }
    }

    /// The training loss that pairs with this output (its gradient w.r.t. the pre-activation
    /// is `p - y` in every case).
    pub(crate) fn loss<F: Float>(self, y: ArrayView2<F>, p: ArrayView2<F>) -> F {
        let n = F::from(p.nrows()).unwrap_or_else(F::one);
        match self {
            OutActivation::Identity => {
                let count = F::from(p.len()).unwrap_or_else(F::one);
                let sum = Zip::from(y).and(p).fold(F::zero(), |acc, &t, &q| {
                    let d = t - q;
                    acc + d * d
                });
                sum / count / F::from(2.0).unwrap_or_else(F::one)
            }
            OutActivation::Exp => {
                let count = F::from(p.len()).unwrap_or_else(F::one);
                let sum = Zip::from(y)
                    .and(p)
                    .fold(F::zero(), |acc, &t, &q| acc + q - xlogy(t, q));
                sum / count
            }
            OutActivation::Logistic => {
                let eps = F::epsilon();
                let sum = Zip::from(y).and(p).fold(F::zero(), |acc, &t, &q| {
                    let q = clip(q, eps, F::one() - eps);
                    acc + xlogy(t, q) + xlogy(F::one() - t, F::one() - q)
                });
                -sum / n
            }
            OutActivation::Softmax => {
                let eps = F::epsilon();
                let sum = Zip::from(y).and(p).fold(F::zero(), |acc, &t, &q| {
                    acc + xlogy(t, clip(q, eps, F::one() - eps))
                });
                -sum / n
            }
        }
    }
}

#[inline(always)]
fn clip<F: Float>(x: F, lo: F, hi: F) -> F {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// `scipy.special.xlogy`: `0` where `x == 0`, else `x * ln(y)`.
#[inline(always)]
fn xlogy<F: Float>(x: F, y: F) -> F {
    if x == F::zero() {
        F::zero()
    } else {
        x * y.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut z = array![[1.0f64, 2.0, 3.0], [1000.0, 0.0, -1000.0]];
        OutActivation::Softmax.apply_rows(z.view_mut());
        for row in z.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert!(z[[1, 0]] > 0.999);
    }

    #[test]
    fn every_derivative_matches_finite_differences() {
        let extra = [
            Activation::LeakyRelu {
                negative_slope: 0.3,
            },
            Activation::Elu { alpha: 0.7 },
        ];
        for act in Activation::EXTENDED.into_iter().chain(extra) {
            for &x in &[-3.1f64, -1.3, -0.2, 0.4, 2.1, 3.7, 5.5, 7.0] {
                let h = 1e-6;
                let numeric = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let analytic = act.derivative(x);
                assert!(
                    (numeric - analytic).abs() < 1e-6,
                    "{act:?} at {x}: {numeric} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn keras_reference_values() {
        // Constants and closed forms of Keras 3's definitions.
        let selu = Activation::Selu.apply(-1.0f64);
        assert!((selu - SELU_SCALE * SELU_ALPHA * ((-1.0f64).exp() - 1.0)).abs() < 1e-15);
        assert!((erf_f64(0.5) - 0.520_499_877_813_046_5).abs() < 1e-15);
        assert!((erf_f64(3.0) - 0.999_977_909_503_001_4).abs() < 1e-15);
        assert!((erf_f64(-1.2) + 0.910_313_978_229_635_4).abs() < 1e-15);
        // gelu(1) = Φ(1) = 0.8413447460685429
        let g = Activation::Gelu { approximate: false }.apply(1.0f64);
        assert!((g - 0.841_344_746_068_542_9).abs() < 1e-14);
        assert_eq!(Activation::Relu6.apply(9.0f64), 6.0);
        assert_eq!(
            Activation::from_name("leaky_relu").unwrap(),
            Activation::LeakyRelu {
                negative_slope: 0.2
            }
        );
        assert!((Activation::Softplus.apply(-800.0f64)).abs() < 1e-300);
        assert!((Activation::Softplus.apply(800.0f64) - 800.0).abs() < 1e-12);
        for a in Activation::EXTENDED {
            assert_eq!(Activation::from_name(a.name()).unwrap().name(), a.name());
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &x in &[-1.3f64, -0.2, 0.4, 2.1] {
                let h = 1e-6;
                let numeric = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let analytic = act.derivative_from_output(act.apply(x));
                assert!(
                    (numeric - analytic).abs() < 1e-6,
                    "{act}: {numeric} vs {analytic}"
                );
            }
        }
    }
}
