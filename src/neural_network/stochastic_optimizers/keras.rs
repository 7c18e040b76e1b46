//! The Keras optimizers of the layer engine ([`OptimizerKind`]) and gradient clipping.

use super::*;

/// An optimizer of the layer engine, with Keras 3's update rules and defaults.
///
/// Chosen with `optimizer` (by name in searches); when set it replaces `solver` and routes the
/// fit through the layer engine. Its step size is `learning_rate_init` (scikit-learn's name;
/// Keras calls it `learning_rate`), possibly shaped by a [`Schedule`].
///
/// **Adam's epsilon.** scikit-learn's `solver="adam"` keeps its own `epsilon` parameter
/// (default `1e-8`, scikit-learn's value) and its arithmetic, on either engine. The
/// optimizers here carry their own epsilon with Keras's default `1e-7` (`optimizer_epsilon`
/// in searches): `optimizer="adam"` therefore differs from `solver="adam"` by that epsilon
/// and by Keras's form of the moment updates.
///
/// | name | update (per parameter, `g` the gradient, `lr` the step size) | defaults |
/// |---|---|---|
/// | `sgd` | `v = momentum·v - lr·g`; `p += v` (Nesterov: `p += momentum·v - lr·g`) | momentum 0, nesterov false |
/// | `adam` | `m += (1-β₁)(g-m)`, `v += (1-β₂)(g²-v)`, `p -= lr·√(1-β₂ᵗ)/(1-β₁ᵗ)·m/(√v̂+ε)`; AMSGrad: `v̂ = max(v̂, v)` | β₁ 0.9, β₂ 0.999, ε 1e-7 |
/// | `adamw` | Adam after the decoupled decay `p -= lr·weight_decay·p` | weight_decay 0.004 |
/// | `nadam` | Keras 3's Nadam with momentum cache `μₜ = β₁(1 - 0.5·0.96ᵗ)` | β₁ 0.9, β₂ 0.999, ε 1e-7 |
/// | `rmsprop` | `v = ρv + (1-ρ)g²`; centered: `ḡ = ρḡ + (1-ρ)g`, `d = v - ḡ²`; `Δ = lr·g/√(d+ε)`; momentum: `s = μs + Δ`, `p -= s` | ρ 0.9, momentum 0, ε 1e-7 |
/// | `adagrad` | `a += g²`; `p -= lr·g/√(a+ε)` | initial accumulator 0.1, ε 1e-7 |
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OptimizerKind {
    /// Stochastic gradient descent with optional (Nesterov) momentum.
    Sgd {
        /// Momentum in [0, 1).
        momentum: f64,
        /// Nesterov's momentum.
        nesterov: bool,
    },
    /// Adam, optionally AMSGrad.
    Adam {
        /// First-moment decay in [0, 1).
        beta_1: f64,
        /// Second-moment decay in [0, 1).
        beta_2: f64,
        /// Stabilizer, > 0 (Keras 1e-7).
        epsilon: f64,
        /// Keep the running maximum of the second moment.
        amsgrad: bool,
    },
    /// Adam with decoupled weight decay.
    AdamW {
        /// First-moment decay in [0, 1).
        beta_1: f64,
        /// Second-moment decay in [0, 1).
        beta_2: f64,
        /// Stabilizer, > 0.
        epsilon: f64,
        /// Keep the running maximum of the second moment.
        amsgrad: bool,
        /// Decay rate applied as `p -= lr·weight_decay·p` before each step, ≥ 0.
        weight_decay: f64,
    },
    /// Adam with Nesterov momentum (Keras 3's schedule of momentum caches).
    Nadam {
        /// First-moment decay in [0, 1).
        beta_1: f64,
        /// Second-moment decay in [0, 1).
        beta_2: f64,
        /// Stabilizer, > 0.
        epsilon: f64,
    },
    /// RMSprop.
    RmsProp {
        /// Decay of the squared-gradient average in [0, 1).
        rho: f64,
        /// Momentum in [0, 1).
        momentum: f64,
        /// Normalize by the centered second moment (an estimate of the variance).
        centered: bool,
        /// Stabilizer, > 0 (inside the square root, as Keras).
        epsilon: f64,
    },
    /// Adagrad.
    Adagrad {
        /// Starting value of the accumulators, ≥ 0.
        initial_accumulator_value: f64,
        /// Stabilizer, > 0.
        epsilon: f64,
    },
}

impl OptimizerKind {
    /// Every name accepted by [`from_name`](Self::from_name).
    pub const NAMES: [&'static str; 7] = [
        "sgd", "adam", "amsgrad", "adamw", "nadam", "rmsprop", "adagrad",
    ];

    /// The optimizer with Keras 3's defaults (`amsgrad` is Adam with `amsgrad: true`).
    ///
    /// ```
    /// use mlp_tune::neural_network::stochastic_optimizers::OptimizerKind;
    /// assert!(matches!(OptimizerKind::from_name("rmsprop").unwrap(), OptimizerKind::RmsProp { rho, .. } if rho == 0.9));
    /// assert!(OptimizerKind::from_name("adadelta").is_err());
    /// ```
    pub fn from_name(name: &str) -> crate::error::Result<Self> {
        Ok(match name {
            "sgd" => OptimizerKind::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            "adam" | "amsgrad" => OptimizerKind::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: name == "amsgrad",
            },
            "adamw" => OptimizerKind::AdamW {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
                weight_decay: 0.004,
            },
            "nadam" => OptimizerKind::Nadam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            "rmsprop" => OptimizerKind::RmsProp {
                rho: 0.9,
                momentum: 0.0,
                centered: false,
                epsilon: 1e-7,
            },
            "adagrad" => OptimizerKind::Adagrad {
                initial_accumulator_value: 0.1,
                epsilon: 1e-7,
            },
            other => {
                return Err(crate::error::invalid_param(
                    "optimizer",
                    format!(
                        "unknown optimizer `{other}`; valid: {}",
                        OptimizerKind::NAMES.join(", ")
                    ),
                ))
            }
        })
    }

    /// The name (`adam` with AMSGrad is `amsgrad`).
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { amsgrad: true, .. } => "amsgrad",
            OptimizerKind::Adam { .. } => "adam",
            OptimizerKind::AdamW { .. } => "adamw",
            OptimizerKind::Nadam { .. } => "nadam",
            OptimizerKind::RmsProp { .. } => "rmsprop",
            OptimizerKind::Adagrad { .. } => "adagrad",
        }
    }

    /// Checks every value's range.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::invalid_param;
        let unit = |name: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(invalid_param(name, format!("must be in [0, 1), got {v}")))
            }
        };
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid_param(
                    name,
                    format!("must be finite and > 0, got {v}"),
                ))
            }
        };
        match *self {
            OptimizerKind::Sgd { momentum, .. } => unit("momentum", momentum),
            OptimizerKind::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            }
            | OptimizerKind::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                unit("beta_1", beta_1)?;
                unit("beta_2", beta_2)?;
                positive("optimizer_epsilon", epsilon)
            }
            OptimizerKind::AdamW {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
                ..
            } => {
                unit("beta_1", beta_1)?;
                unit("beta_2", beta_2)?;
                positive("optimizer_epsilon", epsilon)?;
                if weight_decay.is_finite() && weight_decay >= 0.0 {
                    Ok(())
                } else {
                    Err(invalid_param("weight_decay", "must be finite and >= 0"))
                }
            }
            OptimizerKind::RmsProp {
                rho,
                momentum,
                epsilon,
                ..
            } => {
                unit("rho", rho)?;
                unit("momentum", momentum)?;
                positive("optimizer_epsilon", epsilon)
            }
            OptimizerKind::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => {
                if !(initial_accumulator_value.is_finite() && initial_accumulator_value >= 0.0) {
                    return Err(invalid_param(
                        "initial_accumulator_value",
                        "must be finite and >= 0",
                    ));
                }
                positive("optimizer_epsilon", epsilon)
            }
        }
    }
}

/// Gradient clipping (Keras's `global_clipnorm` and `clipvalue`), applied in that order.
pub(crate) fn clip_gradients<F: Float>(
    grads: &mut [F],
    clipnorm: Option<f64>,
    clipvalue: Option<f64>,
) {
    if let Some(max_norm) = clipnorm {
        let norm = grads
            .iter()
            .fold(0.0f64, |acc, g| {
                let v = g.to_f64().unwrap_or(0.0);
                acc + v * v
            })
            .sqrt();
        if norm > max_norm && norm > 0.0 {
            let scale = F::from(max_norm / norm).unwrap_or_else(F::one);
            grads.iter_mut().for_each(|g| *g *= scale);
        }
    }
    if let Some(limit) = clipvalue {
        let hi = F::from(limit).unwrap_or_else(F::infinity);
        let lo = -hi;
        grads.iter_mut().for_each(|g| {
            if *g > hi {
                *g = hi
            } else if *g < lo {
                *g = lo
            }
        });
    }
}

/// Running state of an [`OptimizerKind`] over a flat parameter buffer.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct GeneralOptimizer<F> {
    pub(crate) kind: OptimizerKind,
    /// Updates applied so far (Keras's `iterations`).
    pub(crate) t: u64,
    s1: Vec<F>,
    s2: Vec<F>,
    s3: Vec<F>,
    /// Nadam's product of momentum caches.
    u_product: f64,
}

/// How many of the rule's state buffers hold one value per parameter (`s1`, `s2`, `s3` in
/// order; the rest are empty): what [`GeneralOptimizer::new`] allocates and a loaded
/// model's state is checked against.
fn state_buffers(kind: OptimizerKind) -> usize {
    match kind {
        OptimizerKind::Sgd { .. } | OptimizerKind::Adagrad { .. } => 1,
        OptimizerKind::Adam { amsgrad, .. } | OptimizerKind::AdamW { amsgrad, .. } => {
            2 + usize::from(amsgrad)
        }
        OptimizerKind::Nadam { .. } => 2,
        OptimizerKind::RmsProp { .. } => 3,
    }
}

impl<F> GeneralOptimizer<F> {
    /// Whether each state buffer has the length [`GeneralOptimizer::new`] gives its rule for
    /// `n` parameters (`n`, or none where the rule keeps none).
    pub(crate) fn state_fits(&self, n: usize) -> bool {
        let used = state_buffers(self.kind);
        [self.s1.len(), self.s2.len(), self.s3.len()]
            .iter()
            .enumerate()
            .all(|(k, &len)| len == if k < used { n } else { 0 })
    }
}

impl<F: Float> GeneralOptimizer<F> {
    pub(crate) fn new(kind: OptimizerKind, n_params: usize) -> Self {
        // Adagrad's accumulator starts at its initial value, every other buffer at zero.
        let first = match kind {
            OptimizerKind::Adagrad {
                initial_accumulator_value,
                ..
            } => F::from(initial_accumulator_value).unwrap_or_else(F::zero),
            _ => F::zero(),
        };
        let used = state_buffers(kind);
        let buffer = |k: usize, fill: F| {
            if k < used {
                vec![fill; n_params]
            } else {
                Vec::new()
            }
        };
        let (s1, s2, s3) = (buffer(0, first), buffer(1, F::zero()), buffer(2, F::zero()));
        GeneralOptimizer {
            kind,
            t: 0,
            s1,
            s2,
            s3,
            u_product: 1.0,
        }
    }

    /// One update with step size `lr` of every parameter.
    #[cfg(test)]
    pub(crate) fn step(&mut self, params: &mut [F], grads: &[F], lr: f64) {
        let all = 0..params.len();
        self.step_ranges(params, grads, lr, std::slice::from_ref(&all));
    }

    /// One update with step size `lr` of the parameters in `trainable` (ranges of the flat
    /// buffer); the others, frozen layers' weights, are not touched at all, so they stay
    /// bitwise unchanged whatever the optimizer (AdamW's decoupled decay included).
    pub(crate) fn step_ranges(
        &mut self,
        params: &mut [F],
        grads: &[F],
        lr: f64,
        trainable: &[std::ops::Range<usize>],
    ) {
        let f = |v: f64| F::from(v).unwrap_or_else(F::zero);
        let one = F::one();
        let local_step = (self.t + 1) as i32;
        let ks = || trainable.iter().flat_map(|r| r.clone());
        match self.kind {
            OptimizerKind::Sgd { momentum, nesterov } => {
                let (lr, mom) = (f(lr), f(momentum));
                for k in ks() {
                    let (p, v, g) = (&mut params[k], &mut self.s1[k], grads[k]);
                    *v = mom * *v - lr * g;
                    if nesterov {
                        *p += mom * *v - lr * g;
                    } else {
                        *p += *v;
                    }
                }
            }
            OptimizerKind::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
            }
            | OptimizerKind::AdamW {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
                ..
            } => {
                if let OptimizerKind::AdamW { weight_decay, .. } = self.kind {
                    let decay = f(lr * weight_decay);
                    ks().for_each(|k| params[k] -= params[k] * decay);
                }
                let alpha =
                    f(lr * (1.0 - beta_2.powi(local_step)).sqrt()
                        / (1.0 - beta_1.powi(local_step)));
                let (b1, b2, eps) = (f(beta_1), f(beta_2), f(epsilon));
                for k in ks() {
                    let g = grads[k];
                    let m = &mut self.s1[k];
                    *m += (g - *m) * (one - b1);
                    let v = &mut self.s2[k];
                    *v += (g * g - *v) * (one - b2);
                    let mut vv = *v;
                    if amsgrad {
                        let vh = &mut self.s3[k];
                        if vv > *vh {
                            *vh = vv;
                        }
                        vv = *vh;
                    }
                    params[k] -= *m * alpha / (vv.sqrt() + eps);
                }
            }
            OptimizerKind::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                let u_t = beta_1 * (1.0 - 0.5 * 0.96f64.powi(local_step));
                let u_t_1 = beta_1 * (1.0 - 0.5 * 0.96f64.powi(local_step + 1));
                let u_product_t = self.u_product * u_t;
                let u_product_t_1 = u_product_t * u_t_1;
                let beta_2_power = beta_2.powi(local_step);
                let (b1, b2, eps, lr) = (f(beta_1), f(beta_2), f(epsilon), f(lr));
                let c1 = f(u_t_1 / (1.0 - u_product_t_1));
                let c2 = f((1.0 - u_t) / (1.0 - u_product_t));
                let c3 = f(1.0 / (1.0 - beta_2_power));
                for k in ks() {
                    let g = grads[k];
                    let m = &mut self.s1[k];
                    *m += (g - *m) * (one - b1);
                    let v = &mut self.s2[k];
                    *v += (g * g - *v) * (one - b2);
                    let m_hat = c1 * *m + c2 * g;
                    let v_hat = *v * c3;
                    params[k] -= m_hat * lr / (v_hat.sqrt() + eps);
                }
                self.u_product = u_product_t;
            }
            OptimizerKind::RmsProp {
                rho,
                momentum,
                centered,
                epsilon,
            } => {
                let (rho, mom, eps, lr) = (f(rho), f(momentum), f(epsilon), f(lr));
                for k in ks() {
                    let g = grads[k];
                    let v = &mut self.s1[k];
                    *v = rho * *v + (one - rho) * g * g;
                    let denom = if centered {
                        let a = &mut self.s2[k];
                        *a = rho * *a + (one - rho) * g;
                        *v - *a * *a + eps
                    } else {
                        *v + eps
                    };
                    let increment = lr * g / denom.sqrt();
                    if momentum > 0.0 {
                        let s = &mut self.s3[k];
                        *s = mom * *s + increment;
                        params[k] -= *s;
                    } else {
                        params[k] -= increment;
                    }
                }
            }
            OptimizerKind::Adagrad { epsilon, .. } => {
                let (eps, lr) = (f(epsilon), f(lr));
                for k in ks() {
                    let g = grads[k];
                    let a = &mut self.s1[k];
                    *a += g * g;
                    params[k] -= lr * g / (*a + eps).sqrt();
                }
            }
        }
        self.t += 1;
    }
}
