//! Step-size schedules beyond scikit-learn's `learning_rate` ([`Schedule`]).

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
