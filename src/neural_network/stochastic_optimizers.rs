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

#[inline(always)]
fn adam_step_portable<F: Float>(
    params: &mut [F],
    ms: &mut [F],
    vs: &mut [F],
    grads: &[F],
    [b1, b2, lr, eps]: [F; 4],
) {
    let n = params.len();
    let (ms, vs, grads) = (&mut ms[..n], &mut vs[..n], &grads[..n]);
    let one = F::one();
    for i in 0..n {
        let g = grads[i];
        let m = b1 * ms[i] + (one - b1) * g;
        let v = b2 * vs[i] + (one - b2) * (g * g);
        ms[i] = m;
        vs[i] = v;
        params[i] += -lr * m / (v.sqrt() + eps);
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

    /// Applies one step to `params` given `grads` (scikit-learn's `update_params`).
    ///
    /// On x86-64 the same loops are compiled again for AVX2 and AVX-512 and picked at run
    /// time: each operation is still one IEEE-rounded add/mul/div/sqrt per element (Rust never
    /// fuses them), so every version gives the same bits and only the vector width changes.
    /// Left to SSE2, Adam's loop was a fifth of the wide network's epoch.
    pub(crate) fn update(&mut self, params: &mut [F], grads: &[F]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports the features the function is compiled for.
                unsafe { self.update_avx512(params, grads) };
                return;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                unsafe { self.update_avx2(params, grads) };
                return;
            }
        }
        self.update_portable(params, grads);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn update_avx512(&mut self, params: &mut [F], grads: &[F]) {
        self.update_portable(params, grads);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn update_avx2(&mut self, params: &mut [F], grads: &[F]) {
        self.update_portable(params, grads);
    }

    #[inline(always)]
    fn update_portable(&mut self, params: &mut [F], grads: &[F]) {
        match self {
            Optimizer::Sgd {
                learning_rate,
                momentum,
                nesterov,
                velocities,
                ..
            } => {
                let lr = F::from(*learning_rate).unwrap_or_else(F::zero);
                let mom = F::from(*momentum).unwrap_or_else(F::zero);
                if *nesterov {
                    for ((p, v), &g) in params.iter_mut().zip(velocities.iter_mut()).zip(grads) {
                        let step = lr * g;
                        *v = mom * *v - step;
                        *p += mom * *v - step;
                    }
                } else {
                    for ((p, v), &g) in params.iter_mut().zip(velocities.iter_mut()).zip(grads) {
                        *v = mom * *v - lr * g;
                        *p += *v;
                    }
                }
            }
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
                adam_step_portable(params, ms, vs, grads, [b1, b2, lr, eps]);
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

#[cfg(test)]
mod tests {
    use super::*;

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
