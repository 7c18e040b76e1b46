//! The stochastic solvers (scikit-learn's `neural_network/_stochastic_optimizers.py`):
//! scikit-learn's SGD and Adam here, the Keras optimizers and clipping in `keras`, the
//! step-size schedules in `schedule`.
//!
//! Parameters live in one flat buffer (all coefficient matrices, then all intercepts, the
//! order scikit-learn lists them in), so an optimizer is a loop over a slice.

use linfa::Float;

mod keras;
mod schedule;
#[cfg(test)]
mod tests;

pub use keras::OptimizerKind;
pub(crate) use keras::{clip_gradients, GeneralOptimizer};
pub use schedule::Schedule;

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

impl<F> Optimizer<F> {
    /// Whether each state buffer holds `n` values (one per parameter).
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn state_fits(&self, n: usize) -> bool {
        match self {
            Optimizer::Sgd { velocities, .. } => velocities.len() == n,
            Optimizer::Adam { ms, vs, .. } => ms.len() == n && vs.len() == n,
        }
    }
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
