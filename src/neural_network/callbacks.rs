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
