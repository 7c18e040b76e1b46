//! Activations and losses (scikit-learn's `neural_network/_base.py`).

use linfa::Float;
use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::error::{MlpTuneError, Result};

/// A hidden layer's activation function (scikit-learn's `activation`).
///
/// | name | formula |
/// |---|---|
/// | `identity` | `f(x) = x` |
/// | `logistic` | `f(x) = 1 / (1 + exp(-x))` |
/// | `tanh` | `f(x) = tanh(x)` |
/// | `relu` (default) | `f(x) = max(0, x)` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
}

impl Activation {
    /// Every activation, in the order of the table above.
    pub const ALL: [Activation; 4] = [
        Activation::Identity,
        Activation::Logistic,
        Activation::Tanh,
        Activation::Relu,
    ];

    /// The scikit-learn name (`"relu"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Logistic => "logistic",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }

    /// Parses a scikit-learn name.
    ///
    /// ```
    /// use mlp_tune::neural_network::Activation;
    /// assert_eq!(Activation::from_name("tanh").unwrap(), Activation::Tanh);
    /// assert!(Activation::from_name("swish2").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Self> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| MlpTuneError::InvalidParameter {
                name: "activation".into(),
                reason: format!(
                    "unknown activation `{name}`; valid: identity, logistic, tanh, relu"
                ),
            })
    }

    #[inline(always)]
    pub(crate) fn apply<F: Float>(self, x: F) -> F {
        match self {
            Activation::Identity => x,
            Activation::Logistic => logistic(x),
            Activation::Tanh => x.tanh(),
            Activation::Relu => {
                if x > F::zero() {
                    x
                } else {
                    F::zero()
                }
            }
        }
    }

    /// The derivative expressed through the activation's *output* `a`, as scikit-learn does.
    #[inline(always)]
    pub(crate) fn derivative_from_output<F: Float>(self, a: F) -> F {
        match self {
            Activation::Identity => F::one(),
            Activation::Logistic => a * (F::one() - a),
            Activation::Tanh => F::one() - a * a,
            Activation::Relu => {
                if a == F::zero() {
                    F::zero()
                } else {
                    F::one()
                }
            }
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
            OutActivation::Exp => z.mapv_inplace(|v| v.exp()),
            OutActivation::Logistic => z.mapv_inplace(logistic),
            OutActivation::Softmax => {
                for mut row in z.rows_mut() {
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
