//! Observing training: what a callback sees at the end of each epoch and how it can stop it.
//!
//! The library never prints. scikit-learn's `verbose=True` output is one implementation of
//! [`TrainingObserver`] away; see the `verbose_training` example.

use std::fmt;
use std::sync::Arc;

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLog {
    /// 1-based epoch number (scikit-learn's `n_iter_` after the epoch).
    pub epoch: usize,
    /// Mean training loss over the epoch (`loss_`).
    pub loss: f64,
    /// Validation score (R² or accuracy) when a validation set is used.
    pub validation_score: Option<f64>,
    /// Validation loss when a validation set is used.
    pub validation_loss: Option<f64>,
    /// Step size in force at the end of the epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// Whether training goes on after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingControl {
    /// Keep training.
    Continue,
    /// Stop now, keeping the current weights (or the best ones under early stopping).
    Stop,
}

/// Receives each epoch's log; may stop training. Must be `Send + Sync` because searches
/// train on several threads.
///
/// ```
/// use mlp_tune::neural_network::{EpochLog, TrainingControl, TrainingObserver};
/// struct StopBelow(f64);
/// impl TrainingObserver for StopBelow {
///     fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
///         if log.loss < self.0 { TrainingControl::Stop } else { TrainingControl::Continue }
///     }
/// }
/// ```
pub trait TrainingObserver: Send + Sync {
    /// Called after every epoch of the stochastic solvers and every iteration of lbfgs.
    fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl;

    /// Called once before the first epoch of a stochastic fit (default: nothing).
    fn on_train_begin(&self) {}

    /// Called once after the last epoch of a stochastic fit that did not diverge, with the
    /// last epoch's log (default: nothing).
    fn on_train_end(&self, _last: Option<&EpochLog>) {}
}

impl<F> TrainingObserver for F
where
    F: Fn(&EpochLog) -> TrainingControl + Send + Sync,
{
    fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
        self(log)
    }
}

/// A shareable observer handle stored in the hyperparameters (compared by identity).
#[derive(Clone)]
pub struct ObserverHandle(pub Arc<dyn TrainingObserver>);

impl ObserverHandle {
    /// Wraps an observer.
    pub fn new(observer: impl TrainingObserver + 'static) -> Self {
        ObserverHandle(Arc::new(observer))
    }
}

impl fmt::Debug for ObserverHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObserverHandle(..)")
    }
}

impl PartialEq for ObserverHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The quantity Keras-style early stopping, checkpoints and plateau schedules watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Monitor {
    /// Validation loss, lower is better (Keras's `val_loss`, the default).
    #[default]
    ValidationLoss,
    /// Validation score (R² or accuracy), higher is better.
    ValidationScore,
    /// Training loss, lower is better (Keras's `loss`).
    TrainingLoss,
}

impl Monitor {
    /// Parses `validation_loss` / `val_loss`, `validation_score` / `val_score`,
    /// `training_loss` / `loss`.
    pub fn from_name(name: &str) -> crate::error::Result<Self> {
        match name {
            "validation_loss" | "val_loss" => Ok(Monitor::ValidationLoss),
            "validation_score" | "val_score" => Ok(Monitor::ValidationScore),
            "training_loss" | "loss" => Ok(Monitor::TrainingLoss),
            other => Err(crate::error::invalid_param(
                "monitor",
                format!(
                    "unknown monitor `{other}`; valid: validation_loss, validation_score, training_loss"
                ),
            )),
        }
    }

    /// Whether the monitored quantity needs held-out rows.
    pub fn needs_validation(self) -> bool {
        self != Monitor::TrainingLoss
    }

    /// Picks the monitored value out of an epoch's log.
    pub fn value(self, log: &EpochLog) -> Option<f64> {
        match self {
            Monitor::ValidationLoss => log.validation_loss,
            Monitor::ValidationScore => log.validation_score,
            Monitor::TrainingLoss => Some(log.loss),
        }
    }

    /// `true` when `current` beats `best` by more than `min_delta` (Keras's rule).
    pub fn improves(self, current: f64, best: Option<f64>, min_delta: f64) -> bool {
        match best {
            None => current.is_finite(),
            Some(b) => match self {
                Monitor::ValidationScore => current - min_delta > b,
                _ => current + min_delta < b,
            },
        }
    }
}

/// Keras's `EarlyStopping` callback for the layer engine (independent of scikit-learn's
/// `early_stopping`/`tol`/`n_iter_no_change`, which keep working as in scikit-learn).
///
/// Defaults are Keras's: monitor the validation loss, `patience` 0, `min_delta` 0, no
/// restoration, start at epoch 0. Validation rows come from the explicit validation set, or
/// else a `validation_fraction` split drawn as scikit-learn's early stopping draws it.
/// With `restore_best_weights`, the best epoch's weights are restored at the end of training
/// whether or not the callback fired.
///
/// ```
/// use mlp_tune::neural_network::{EarlyStoppingConfig, Monitor};
/// let es = EarlyStoppingConfig { patience: 10, restore_best_weights: true, ..Default::default() };
/// assert_eq!(es.monitor, Monitor::ValidationLoss);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EarlyStoppingConfig {
    /// What to watch.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping (0: stop at the first one).
    pub patience: usize,
    /// Smallest change that counts as an improvement, ≥ 0.
    pub min_delta: f64,
    /// Restore the weights of the best epoch at the end.
    pub restore_best_weights: bool,
    /// Epochs to wait before watching at all (warm-up).
    pub start_from_epoch: usize,
}

/// The best weights written by a checkpoint (JSON), readable with [`Checkpoint::load`].
#[cfg(feature = "serde")]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// 1-based epoch the weights are from.
    pub epoch: usize,
    /// The monitored quantity.
    pub monitor: Monitor,
    /// Its value at that epoch.
    pub value: f64,
    /// The flat parameters: dense coefficients, then intercepts, then batch-norm scales and
    /// shifts and PReLU slopes.
    pub params: Vec<f64>,
    /// Batch-norm running means and variances.
    pub running: Vec<f64>,
}

#[cfg(feature = "serde")]
impl Checkpoint {
    /// Reads a checkpoint file.
    pub fn load(path: &std::path::Path) -> crate::error::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::error::MlpTuneError::io(path.display().to_string(), e))?;
        serde_json::from_str(&text).map_err(|e| crate::error::MlpTuneError::Parse {
            line: e.line(),
            column: e.column(),
            reason: format!("{}: {e}", path.display()),
        })
    }

    pub(crate) fn save(&self, path: &std::path::Path) -> crate::error::Result<()> {
        let text = serde_json::to_string(self)
            .map_err(|e| crate::error::MlpTuneError::Io(format!("checkpoint: {e}")))?;
        // Write then rename so a reader never sees a half-written file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| crate::error::MlpTuneError::io(path.display().to_string(), e))
    }
}
