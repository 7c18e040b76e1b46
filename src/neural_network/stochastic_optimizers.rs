//! The stochastic solvers (scikit-learn's `neural_network/_stochastic_optimizers.py`).
//!
//! Parameters live in one flat buffer (all coefficient matrices, then all intercepts, the
//! order scikit-learn lists them in), so an optimizer is a loop over a slice.

use linfa::Float;

/// How the step size evolves during SGD (scikit-learn's `learning_rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LearningRate {
    /// `learning_rate_init` throughout (default).
    #[default]
    Constant,
    /// `learning_rate_init / (t + 1)^power_t` after each epoch, `t` = samples seen.
    InvScaling,
    /// Divide by 5 whenever the stopping test fires; stop once below `1e-6`.
    Adaptive,
}

impl LearningRate {
    /// The scikit-learn name.
    pub fn name(self) -> &'static str {
        match self {
            LearningRate::Constant => "constant",
            LearningRate::InvScaling => "invscaling",
            LearningRate::Adaptive => "adaptive",
        }
    }
}

/// One update step of the scikit-learn solvers with its per-step scalars resolved
/// ([`Optimizer::begin_step`]): the rule applied to every parameter `p` with gradient `g` and
/// its state (`s1`, `s2`: the velocity, or Adam's first and second moments). The training loop
/// applies it either here ([`Step::apply`]) or fused into the matrix kernel's store of the
/// coefficient gradient (`gemm`), with the same operations in the same order, so the same
/// bits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<F> {
    /// `v = momentum·v - lr·g; p += v`, or with Nesterov `v = momentum·v - lr·g;
    /// p += momentum·v - lr·g` (`lr·g` rounded once and used twice).
    Sgd { lr: F, momentum: F, nesterov: bool },
    /// `m = b1·m + (1 - b1)·g; v = b2·v + (1 - b2)·g²; p += (-lr)·m / (√v + eps)`.
    Adam {
        b1: F,
        one_minus_b1: F,
        b2: F,
        one_minus_b2: F,
        neg_lr: F,
        eps: F,
    },
}

impl<F: Float> Step<F> {
    /// Whether the rule has a second state buffer.
    pub(crate) fn uses_second_state(&self) -> bool {
        matches!(self, Step::Adam { .. })
    }

    /// The rule over slices of equal length (`s2` unused by SGD).
    #[inline(always)]
    pub(crate) fn apply(&self, params: &mut [F], s1: &mut [F], s2: &mut [F], grads: &[F]) {
        let n = params.len();
        let (s1, grads) = (&mut s1[..n], &grads[..n]);
        match *self {
            Step::Sgd {
                lr,
                momentum,
                nesterov,
            } => {
                if nesterov {
                    for ((p, v), &g) in params.iter_mut().zip(s1.iter_mut()).zip(grads) {
                        let step = lr * g;
                        *v = momentum * *v - step;
                        *p += momentum * *v - step;
                    }
                } else {
                    for ((p, v), &g) in params.iter_mut().zip(s1.iter_mut()).zip(grads) {
                        *v = momentum * *v - lr * g;
                        *p += *v;
                    }
                }
            }
            Step::Adam {
                b1,
                one_minus_b1,
                b2,
                one_minus_b2,
                neg_lr,
                eps,
            } => {
                let s2 = &mut s2[..n];
                for i in 0..n {
                    let g = grads[i];
                    let m = b1 * s1[i] + one_minus_b1 * g;
                    let v = b2 * s2[i] + one_minus_b2 * (g * g);
                    s1[i] = m;
                    s2[i] = v;
                    params[i] += neg_lr * m / (v.sqrt() + eps);
                }
            }
        }
    }
}

/// The optimizer's running state; kept in the fitted model so training can continue.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum Optimizer<F> {
    Sgd {
        learning_rate_init: f64,
        learning_rate: f64,
        schedule: LearningRate,
        momentum: f64,
        nesterov: bool,
        power_t: f64,
        velocities: Vec<F>,
    },
    Adam {
        learning_rate_init: f64,
        learning_rate: f64,
        beta_1: f64,
        beta_2: f64,
        epsilon: f64,
        t: u64,
        ms: Vec<F>,
        vs: Vec<F>,
    },
}

impl<F: Float> Optimizer<F> {
    pub(crate) fn sgd(
        n_params: usize,
        learning_rate_init: f64,
        schedule: LearningRate,
        momentum: f64,
        nesterov: bool,
        power_t: f64,
    ) -> Self {
        Optimizer::Sgd {
            learning_rate_init,
            learning_rate: learning_rate_init,
            schedule,
            momentum,
            nesterov,
            power_t,
            velocities: vec![F::zero(); n_params],
        }
    }

    pub(crate) fn adam(
        n_params: usize,
        learning_rate_init: f64,
        beta_1: f64,
        beta_2: f64,
        epsilon: f64,
    ) -> Self {
        Optimizer::Adam {
            learning_rate_init,
            learning_rate: learning_rate_init,
            beta_1,
            beta_2,
            epsilon,
            t: 0,
            ms: vec![F::zero(); n_params],
            vs: vec![F::zero(); n_params],
        }
    }

    /// scikit-learn's optimizer for `config.solver` (`sgd`, else `adam`) over `n_params`
    /// parameters.
    pub(crate) fn from_config(config: &crate::neural_network::MlpConfig, n_params: usize) -> Self {
        match config.solver {
            crate::neural_network::Solver::Sgd => Optimizer::sgd(
                n_params,
                config.learning_rate_init,
                config.learning_rate,
                config.momentum,
                config.nesterovs_momentum,
                config.power_t,
            ),
            _ => Optimizer::adam(
                n_params,
                config.learning_rate_init,
                config.beta_1,
                config.beta_2,
                config.epsilon,
            ),
        }
    }

    /// Sets the base step size (SGD's step, Adam's before bias correction): the layer
    /// engine's schedules set it before every step.
    pub(crate) fn set_base_learning_rate(&mut self, lr: f64) {
        match self {
            Optimizer::Sgd { learning_rate, .. } => *learning_rate = lr,
            Optimizer::Adam {
                learning_rate_init, ..
            } => *learning_rate_init = lr,
        }
    }

    /// One step of the parameters in `ranges` only (ascending, disjoint ranges of the flat
    /// buffer); the others, frozen layers' weights, are not touched.
    pub(crate) fn step_ranges(
        &mut self,
        params: &mut [F],
        grads: &[F],
        ranges: &[std::ops::Range<usize>],
    ) {
        let (step, s1, s2) = self.begin_step();
        let second = step.uses_second_state();
        for r in ranges {
            let s2 = if second {
                &mut s2[r.clone()]
            } else {
                &mut [][..]
            };
            step.apply(
                &mut params[r.clone()],
                &mut s1[r.clone()],
                s2,
                &grads[r.clone()],
            );
        }
    }

    /// Multiplies the base step size by `factor`, not below `min_lr` (reduce-on-plateau).
    pub(crate) fn scale_learning_rate(&mut self, factor: f64, min_lr: f64) {
        let base = match self {
            Optimizer::Sgd { learning_rate, .. } => learning_rate,
            Optimizer::Adam {
                learning_rate_init, ..
            } => learning_rate_init,
        };
        *base = (*base * factor).max(min_lr);
    }

    /// Applies one step to `params` given `grads` (scikit-learn's `update_params`). Training
    /// applies the same step through [`begin_step`](Self::begin_step), fused into the kernel
    /// (`network::train_step`).
    #[cfg(test)]
    pub(crate) fn update(&mut self, params: &mut [F], grads: &[F]) {
        let (step, s1, s2) = self.begin_step();
        step.apply(params, s1, s2, grads);
    }

    /// Starts one update (scikit-learn's `update_params` before its loop): advances Adam's
    /// step count and bias-corrected learning rate, and returns the step's rule with the
    /// state buffers it updates (the velocities, or Adam's moments; the second is empty for
    /// SGD), laid out like the parameters.
    pub(crate) fn begin_step(&mut self) -> (Step<F>, &mut [F], &mut [F]) {
        match self {
            Optimizer::Sgd {
                learning_rate,
                momentum,
                nesterov,
                velocities,
                ..
            } => (
                Step::Sgd {
                    lr: F::from(*learning_rate).unwrap_or_else(F::zero),
                    momentum: F::from(*momentum).unwrap_or_else(F::zero),
                    nesterov: *nesterov,
                },
                velocities,
                &mut [],
            ),
            Optimizer::Adam {
                learning_rate_init,
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
                t,
                ms,
                vs,
            } => {
                *t += 1;
                let ti = *t as i32;
                *learning_rate =
                    *learning_rate_init * (1.0 - beta_2.powi(ti)).sqrt() / (1.0 - beta_1.powi(ti));
                let b1 = F::from(*beta_1).unwrap_or_else(F::zero);
                let b2 = F::from(*beta_2).unwrap_or_else(F::zero);
                let lr = F::from(*learning_rate).unwrap_or_else(F::zero);
                let eps = F::from(*epsilon).unwrap_or_else(F::zero);
                (
                    Step::Adam {
                        b1,
                        one_minus_b1: F::one() - b1,
                        b2,
                        one_minus_b2: F::one() - b2,
                        neg_lr: -lr,
                        eps,
                    },
                    ms,
                    vs,
                )
            }
        }
    }

    /// End-of-epoch schedule update (`iteration_ends`); `samples_seen` is scikit-learn's `t_`.
    pub(crate) fn iteration_ends(&mut self, samples_seen: u64) {
        if let Optimizer::Sgd {
            learning_rate_init,
            learning_rate,
            schedule: LearningRate::InvScaling,
            power_t,
            ..
        } = self
        {
            *learning_rate = *learning_rate_init / ((samples_seen + 1) as f64).powf(*power_t);
        }
    }

    /// Called when the no-improvement counter overflows; `true` means stop training.
    pub(crate) fn trigger_stopping(&mut self) -> bool {
        match self {
            Optimizer::Sgd {
                schedule: LearningRate::Adaptive,
                learning_rate,
                ..
            } => {
                if *learning_rate <= 1e-6 {
                    true
                } else {
                    *learning_rate /= 5.0;
                    false
                }
            }
            _ => true,
        }
    }

    /// The current step size.
    pub(crate) fn learning_rate(&self) -> f64 {
        match self {
            Optimizer::Sgd { learning_rate, .. } | Optimizer::Adam { learning_rate, .. } => {
                *learning_rate
            }
        }
    }
}

/// An optimizer of the layer engine, with Keras 3's update rules and defaults.
///
/// Chosen with `optimizer` (by name in searches); when set it replaces `solver` and routes the
/// fit through the layer engine. Its step size is `learning_rate_init` (scikit-learn's name;
/// Keras calls it `learning_rate`), possibly shaped by a [`Schedule`].
///
/// **Adam's epsilon.** scikit-learn's `solver="adam"` keeps its own `epsilon` parameter
/// (default `1e-8`, scikit-learn's value) and its engine. The optimizers here carry their own
/// epsilon with Keras's default `1e-7` (`optimizer_epsilon` in searches): `optimizer="adam"`
/// therefore differs from `solver="adam"` by that epsilon, and by running on the layer engine.
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

/// A step-size schedule of the layer engine, beyond scikit-learn's `learning_rate`.
///
/// Steps count optimizer updates (mini-batches) from 0, as Keras's `iterations`; epochs count
/// full passes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Schedule {
    /// Keras `ExponentialDecay`: `lr · decay_rate^(step / decay_steps)` (floored exponent
    /// when `staircase`).
    ExponentialDecay {
        /// Steps per decay period, ≥ 1.
        decay_steps: usize,
        /// Factor per period, in (0, 1].
        decay_rate: f64,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// Keras `CosineDecay`: `lr · ((1 - alpha)·0.5·(1 + cos(π·min(step, T)/T)) + alpha)`,
    /// `T = decay_steps` or, when 0, every step of the fit (`max_iter` epochs).
    CosineDecay {
        /// Steps to decay over; 0 = the whole fit.
        decay_steps: usize,
        /// Floor as a fraction of the initial rate, in [0, 1].
        alpha: f64,
    },
    /// Keras `ReduceLROnPlateau`: multiply by `factor` once the monitored quantity (validation
    /// loss when there is a validation set, else training loss) has not improved by
    /// `min_delta` for `patience` epochs, never below `min_lr`.
    ReduceOnPlateau {
        /// Multiplier in (0, 1).
        factor: f64,
        /// Epochs without improvement before reducing, ≥ 1.
        patience: usize,
        /// Required improvement, ≥ 0.
        min_delta: f64,
        /// Lower bound of the step size, ≥ 0.
        min_lr: f64,
    },
}

impl Schedule {
    /// Names accepted in searches (under `lr_schedule`, or `learning_rate`).
    pub const NAMES: [&'static str; 3] = ["exponential_decay", "cosine_decay", "reduce_on_plateau"];

    /// The schedule with default settings: exponential decay by 0.96 every 1000 steps
    /// (Géron's example), cosine decay over the whole fit to 0, plateau reduction by 0.1 after
    /// 10 epochs (Keras's defaults) with floor 0.
    pub fn from_name(name: &str) -> crate::error::Result<Self> {
        Ok(match name {
            "exponential_decay" => Schedule::ExponentialDecay {
                decay_steps: 1000,
                decay_rate: 0.96,
                staircase: false,
            },
            "cosine_decay" => Schedule::CosineDecay {
                decay_steps: 0,
                alpha: 0.0,
            },
            "reduce_on_plateau" => Schedule::ReduceOnPlateau {
                factor: 0.1,
                patience: 10,
                min_delta: 1e-4,
                min_lr: 0.0,
            },
            other => {
                return Err(crate::error::invalid_param(
                    "lr_schedule",
                    format!(
                        "unknown schedule `{other}`; valid: {}",
                        Schedule::NAMES.join(", ")
                    ),
                ))
            }
        })
    }

    /// The name.
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::ExponentialDecay { .. } => "exponential_decay",
            Schedule::CosineDecay { .. } => "cosine_decay",
            Schedule::ReduceOnPlateau { .. } => "reduce_on_plateau",
        }
    }

    /// Checks every value's range.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::invalid_param;
        match *self {
            Schedule::ExponentialDecay {
                decay_steps,
                decay_rate,
                ..
            } => {
                if decay_steps == 0 {
                    return Err(invalid_param("decay_steps", "must be >= 1"));
                }
                if !(decay_rate > 0.0 && decay_rate <= 1.0) {
                    return Err(invalid_param("decay_rate", "must be in (0, 1]"));
                }
            }
            Schedule::CosineDecay { alpha, .. } => {
                if !(0.0..=1.0).contains(&alpha) {
                    return Err(invalid_param("cosine_alpha", "must be in [0, 1]"));
                }
            }
            Schedule::ReduceOnPlateau {
                factor,
                patience,
                min_delta,
                min_lr,
            } => {
                if !(factor > 0.0 && factor < 1.0) {
                    return Err(invalid_param("plateau_factor", "must be in (0, 1)"));
                }
                if patience == 0 {
                    return Err(invalid_param("plateau_patience", "must be >= 1"));
                }
                if !(min_delta >= 0.0 && min_lr >= 0.0) {
                    return Err(invalid_param(
                        "plateau_min_lr",
                        "min_delta and min_lr must be >= 0",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The step size at `step` (0-based) for the step-driven schedules; `total_steps` is
    /// the fit's length for a cosine decay over the whole fit. Plateau reduction is driven by
    /// the training loop and returns `base` here.
    pub(crate) fn at_step(&self, base: f64, step: u64, total_steps: u64) -> f64 {
        match *self {
            Schedule::ExponentialDecay {
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let mut p = step as f64 / decay_steps as f64;
                if staircase {
                    p = p.floor();
                }
                base * decay_rate.powf(p)
            }
            Schedule::CosineDecay { decay_steps, alpha } => {
                let total = if decay_steps == 0 {
                    total_steps.max(1)
                } else {
                    decay_steps as u64
                };
                let s = step.min(total) as f64 / total as f64;
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * s).cos());
                base * ((1.0 - alpha) * cosine + alpha)
            }
            Schedule::ReduceOnPlateau { .. } => base,
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

impl<F: Float> GeneralOptimizer<F> {
    pub(crate) fn new(kind: OptimizerKind, n_params: usize) -> Self {
        let zeros = || vec![F::zero(); n_params];
        let (s1, s2, s3) = match kind {
            OptimizerKind::Sgd { .. } => (zeros(), Vec::new(), Vec::new()),
            OptimizerKind::Adam { amsgrad, .. } | OptimizerKind::AdamW { amsgrad, .. } => {
                (zeros(), zeros(), if amsgrad { zeros() } else { Vec::new() })
            }
            OptimizerKind::Nadam { .. } => (zeros(), zeros(), Vec::new()),
            OptimizerKind::RmsProp { .. } => (zeros(), zeros(), zeros()),
            OptimizerKind::Adagrad {
                initial_accumulator_value,
                ..
            } => (
                vec![F::from(initial_accumulator_value).unwrap_or_else(F::zero); n_params],
                Vec::new(),
                Vec::new(),
            ),
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: OptimizerKind, p0: f64, grads: &[f64], lr: f64) -> Vec<f64> {
        let mut opt = GeneralOptimizer::<f64>::new(kind, 1);
        let mut p = [p0];
        grads
            .iter()
            .map(|&g| {
                opt.step(&mut p, &[g], lr);
                p[0]
            })
            .collect()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn keras_sgd_momentum_by_hand() {
        let kind = OptimizerKind::Sgd {
            momentum: 0.5,
            nesterov: false,
        };
        let p = run(kind, 1.0, &[2.0, 1.0], 0.1);
        // v1 = -0.2, p1 = 0.8; v2 = -0.1 - 0.1 = -0.2, p2 = 0.6
        close(p[0], 0.8);
        close(p[1], 0.6);
    }

    #[test]
    fn adam_and_amsgrad_by_hand() {
        let adam = |amsgrad| OptimizerKind::Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad,
        };
        let p = run(adam(false), 1.0, &[2.0, 0.5], 0.01);
        // step 1: m = 0.2, v = 0.004, alpha = 0.01·sqrt(0.001)/0.1
        let a1 = 0.01 * (1.0f64 - 0.999).sqrt() / (1.0 - 0.9);
        let p1 = 1.0 - 0.2 * a1 / (0.004f64.sqrt() + 1e-7);
        close(p[0], p1);
        // step 2: m = 0.18 + 0.05, v = 0.003996 + 0.00025
        let (m2, v2) = (0.9 * 0.2 + 0.1 * 0.5, 0.999 * 0.004 + 0.001 * 0.25);
        let a2 = 0.01 * (1.0f64 - 0.999f64.powi(2)).sqrt() / (1.0 - 0.81);
        let p2 = p1 - m2 * a2 / (f64::sqrt(v2) + 1e-7);
        close(p[1], p2);
        // AMSGrad keeps v̂ = max(0.004, 0.004246) = v2 here; with a shrinking gradient it
        // keeps the old maximum instead.
        let q = run(adam(true), 1.0, &[2.0, 0.0], 0.01);
        let m2 = 0.18;
        let v2_raw = 0.999 * 0.004;
        let q2 = p1 - m2 * a2 / (f64::sqrt(0.004f64.max(v2_raw)) + 1e-7);
        close(q[1], q2);
    }

    #[test]
    fn adamw_decays_before_the_adam_step() {
        let kind = OptimizerKind::AdamW {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            weight_decay: 0.1,
        };
        let p = run(kind, 2.0, &[1.0], 0.01);
        let decayed = 2.0 - 2.0 * 0.01 * 0.1;
        let a1 = 0.01 * (1.0f64 - 0.999).sqrt() / 0.1;
        close(p[0], decayed - 0.1 * a1 / (0.001f64.sqrt() + 1e-7));
    }

    #[test]
    fn nadam_first_step_by_hand() {
        let kind = OptimizerKind::Nadam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        };
        let p = run(kind, 1.0, &[2.0], 0.01);
        let u1 = 0.9 * (1.0 - 0.5 * 0.96);
        let u2 = 0.9 * (1.0 - 0.5 * 0.96f64.powi(2));
        let m = 0.2;
        let m_hat = u2 * m / (1.0 - u1 * u2) + (1.0 - u1) * 2.0 / (1.0 - u1);
        let v_hat = 0.004 / (1.0 - 0.999);
        close(p[0], 1.0 - m_hat * 0.01 / (f64::sqrt(v_hat) + 1e-7));
    }

    #[test]
    fn rmsprop_plain_centered_and_momentum_by_hand() {
        let kind = |centered, momentum| OptimizerKind::RmsProp {
            rho: 0.9,
            momentum,
            centered,
            epsilon: 1e-7,
        };
        let p = run(kind(false, 0.0), 1.0, &[2.0, 1.0], 0.01);
        let v1 = 0.1 * 4.0;
        let p1 = 1.0 - 0.01 * 2.0 / f64::sqrt(v1 + 1e-7);
        close(p[0], p1);
        let v2 = 0.9 * v1 + 0.1;
        close(p[1], p1 - 0.01 / f64::sqrt(v2 + 1e-7));
        let c = run(kind(true, 0.0), 1.0, &[2.0], 0.01);
        let avg = 0.2;
        close(c[0], 1.0 - 0.01 * 2.0 / f64::sqrt(v1 - avg * avg + 1e-7));
        let mm = run(kind(false, 0.5), 1.0, &[2.0, 1.0], 0.01);
        let inc1 = 0.01 * 2.0 / f64::sqrt(v1 + 1e-7);
        let inc2 = 0.01 / f64::sqrt(v2 + 1e-7);
        close(mm[1], 1.0 - inc1 - (0.5 * inc1 + inc2));
    }

    #[test]
    fn adagrad_by_hand() {
        let kind = OptimizerKind::Adagrad {
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
        };
        let p = run(kind, 1.0, &[2.0, 1.0], 0.1);
        let p1 = 1.0 - 0.1 * 2.0 / f64::sqrt(4.1 + 1e-7);
        close(p[0], p1);
        close(p[1], p1 - 0.1 / f64::sqrt(5.1 + 1e-7));
    }

    #[test]
    fn clipping_by_norm_then_value() {
        let mut g = [3.0f64, 4.0];
        clip_gradients(&mut g, Some(1.0), None);
        close(g[0], 0.6);
        close(g[1], 0.8);
        let mut g = [3.0f64, -4.0, 0.1];
        clip_gradients(&mut g, None, Some(0.5));
        assert_eq!(g, [0.5, -0.5, 0.1]);
        let mut g = [0.3f64, 0.4];
        clip_gradients(&mut g, Some(1.0), None);
        assert_eq!(g, [0.3, 0.4]);
    }

    #[test]
    fn schedules_by_hand() {
        let e = Schedule::ExponentialDecay {
            decay_steps: 10,
            decay_rate: 0.5,
            staircase: false,
        };
        close(e.at_step(0.1, 0, 0), 0.1);
        close(e.at_step(0.1, 5, 0), 0.1 * 0.5f64.sqrt());
        let st = Schedule::ExponentialDecay {
            decay_steps: 10,
            decay_rate: 0.5,
            staircase: true,
        };
        close(st.at_step(0.1, 19, 0), 0.05);
        let c = Schedule::CosineDecay {
            decay_steps: 0,
            alpha: 0.1,
        };
        close(c.at_step(1.0, 0, 100), 1.0);
        close(c.at_step(1.0, 50, 100), 0.9 * 0.5 + 0.1);
        close(c.at_step(1.0, 500, 100), 0.1);
        assert!(Schedule::from_name("step_decay").is_err());
        assert!(OptimizerKind::from_name("adamax").is_err());
        for name in OptimizerKind::NAMES {
            assert_eq!(OptimizerKind::from_name(name).unwrap().name(), name);
        }
    }

    #[test]
    fn sgd_nesterov_first_steps_by_hand() {
        let mut opt = Optimizer::<f64>::sgd(1, 0.1, LearningRate::Constant, 0.9, true, 0.5);
        let mut p = [1.0];
        opt.update(&mut p, &[2.0]);
        // v = -0.2; update = 0.9 * -0.2 - 0.2 = -0.38
        assert!((p[0] - 0.62).abs() < 1e-15);
        opt.update(&mut p, &[1.0]);
        // v = 0.9 * -0.2 - 0.1 = -0.28; update = 0.9 * -0.28 - 0.1 = -0.352
        assert!((p[0] - (0.62 - 0.352)).abs() < 1e-15);
    }

    #[test]
    fn adam_first_step_is_lr_times_sign() {
        let mut opt = Optimizer::<f64>::adam(2, 0.01, 0.9, 0.999, 1e-8);
        let mut p = [0.0, 0.0];
        opt.update(&mut p, &[3.0, -0.5]);
        // m̂ / sqrt(v̂) = sign(g) on the first step
        assert!((p[0] + 0.01).abs() < 1e-7);
        assert!((p[1] - 0.01).abs() < 1e-7);
    }

    #[test]
    fn adaptive_divides_then_stops() {
        let mut opt = Optimizer::<f64>::sgd(1, 1e-5, LearningRate::Adaptive, 0.0, false, 0.5);
        assert!(!opt.trigger_stopping());
        assert!((opt.learning_rate() - 2e-6).abs() < 1e-20);
        assert!(!opt.trigger_stopping());
        assert!(opt.trigger_stopping());
    }
}
