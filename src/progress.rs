//! Terminal progress bars for searches and training (feature `progress`, built on
//! [indicatif](https://docs.rs/indicatif)).
//!
//! The library still prints nothing by itself: a bar draws only once it is attached as an
//! observer ([`SearchCV::observer`](crate::model_selection::SearchCV::observer) and the
//! halving/Hyperband equivalents, or an MLP's `observer` parameter). It draws on stderr and
//! stays hidden when stderr is not a terminal, so piping a program's output to a file or
//! running it in CI shows nothing.
//!
//! ```
//! use std::sync::Arc;
//! use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
//! use mlp_tune::neural_network::{MLPClassifier, Solver};
//! use mlp_tune::progress::SearchProgress;
//!
//! let bar = Arc::new(SearchProgress::new());
//! let base = MLPClassifier::params().solver(Solver::Lbfgs).max_iter(50).random_state(0);
//! let search = GridSearchCV::new(by_name(base), ParamGrid::new().add("alpha", [1e-4, 1e-1]))
//!     .cv(3)
//!     .observer(bar.clone())
//!     .fit(&mlp_tune::datasets::iris())
//!     .unwrap();
//! bar.finish();
//! assert_eq!(bar.fits_done(), 6);
//! assert_eq!(bar.best_score(), search.best_score());
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model_selection::{FitEvent, RoundEvent, SearchObserver};
use crate::neural_network::{EpochLog, TrainingControl, TrainingObserver};

const SEARCH_TEMPLATE: &str =
    "{prefix}[{elapsed_precise}] {wide_bar} {pos}/{len} fits, ETA {eta} {msg}";
const TRAINING_TEMPLATE: &str =
    "{prefix}[{elapsed_precise}] {wide_bar} epoch {pos}/{len}, ETA {eta} {msg}";

fn style(template: &str) -> ProgressStyle {
    // The templates are constants known to parse; the fallback only guards a future
    // indicatif that would refuse one.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// What the search bar has seen so far.
#[derive(Debug, Default)]
struct SearchState {
    n_splits: usize,
    /// `(sum of scores, finished folds)` of each candidate row still incomplete.
    partial: HashMap<usize, (f64, usize)>,
    best: Option<f64>,
    failed: usize,
    /// Set by the first round event: from then on the bar's length is the sum of the fits
    /// announced by the rounds, as halving searches do not know their total up front.
    rounds_seen: bool,
    round: Option<RoundEvent>,
}

/// A [`SearchObserver`] that draws a progress bar: fits done / total, elapsed time, ETA,
/// the best mean test score among candidates whose folds are all done, failed fits, and
/// the current round of a halving or Hyperband search.
///
/// Scores are the first scorer's (greater is better, as in scikit-learn). Halving searches
/// announce their fits round by round, so their bar grows as rounds start. Call
/// [`finish`](Self::finish) when the search returns to leave the bar at its last state.
#[derive(Debug)]
pub struct SearchProgress {
    bar: ProgressBar,
    state: Mutex<SearchState>,
}

impl Default for SearchProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl SearchProgress {
    /// A bar on stderr (hidden when stderr is not a terminal).
    pub fn new() -> Self {
        Self::with_draw_target(ProgressDrawTarget::stderr())
    }

    /// A bar that never draws; its counters still work (tests, or a caller that only wants
    /// [`fits_done`](Self::fits_done) and [`best_score`](Self::best_score)).
    pub fn hidden() -> Self {
        Self::with_draw_target(ProgressDrawTarget::hidden())
    }

    /// A bar drawing to any indicatif target.
    pub fn with_draw_target(target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(style(SEARCH_TEMPLATE));
        SearchProgress {
            bar,
            state: Mutex::new(SearchState::default()),
        }
    }

    /// The underlying indicatif bar (to add it to a `MultiProgress`, restyle it, ...).
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// Fits finished so far (failed ones included).
    pub fn fits_done(&self) -> u64 {
        self.bar.position()
    }

    /// Fits announced so far (all of them for grid and random searches; for halving
    /// searches, those of the rounds started).
    pub fn total_fits(&self) -> u64 {
        self.bar.length().unwrap_or(0)
    }

    /// Best mean test score over the candidates whose folds have all finished.
    pub fn best_score(&self) -> Option<f64> {
        self.lock().best
    }

    /// Fits that failed so far.
    pub fn failed_fits(&self) -> usize {
        self.lock().failed
    }

    /// Leaves the bar drawn in its final state.
    pub fn finish(&self) {
        self.bar.finish();
    }

    /// Removes the bar from the terminal.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SearchState> {
        // A panic in another observer call cannot leave the counters inconsistent enough
        // to matter for a display, so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn message(state: &SearchState) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &state.round {
            parts.push(format!(
                "bracket {} round {}: {} candidates × {} resources",
                r.bracket, r.iter, r.n_candidates, r.n_resources
            ));
        }
        if let Some(best) = state.best {
            parts.push(format!("best {best:.4}"));
        }
        if state.failed > 0 {
            parts.push(format!("{} failed", state.failed));
        }
        parts.join(" | ")
    }
}

impl SearchObserver for SearchProgress {
    fn on_search_start(&self, n_candidates: usize, n_splits: usize) {
        let mut state = self.lock();
        *state = SearchState {
            n_splits,
            ..SearchState::default()
        };
        self.bar.reset();
        self.bar.set_length((n_candidates * n_splits) as u64);
        self.bar.set_message(String::new());
        // Fits can take minutes: a steady tick keeps the elapsed time moving between them.
        self.bar.enable_steady_tick(Duration::from_millis(500));
    }

    fn on_round_start(&self, event: &RoundEvent) {
        let mut state = self.lock();
        if !state.rounds_seen {
            state.rounds_seen = true;
            self.bar.set_length(self.bar.position());
        }
        state.n_splits = event.n_splits;
        self.bar
            .inc_length((event.n_candidates * event.n_splits) as u64);
        state.round = Some(event.clone());
        self.bar.set_message(Self::message(&state));
    }

    fn on_fit_end(&self, event: &FitEvent) {
        let mut state = self.lock();
        if event.error.is_some() {
            state.failed += 1;
        }
        let n_splits = state.n_splits.max(1);
        let entry = state.partial.entry(event.candidate).or_insert((0.0, 0));
        entry.0 += event.score;
        entry.1 += 1;
        if entry.1 >= n_splits {
            let mean = entry.0 / entry.1 as f64;
            state.partial.remove(&event.candidate);
            if !mean.is_nan() && state.best.is_none_or(|b| mean > b) {
                state.best = Some(mean);
            }
        }
        self.bar.set_message(Self::message(&state));
        self.bar.inc(1);
    }

    fn on_refit_end(&self, seconds: f64) {
        let state = self.lock();
        let mut message = Self::message(&state);
        if !message.is_empty() {
            message.push_str(" | ");
        }
        message.push_str(&format!("refit {seconds:.2} s"));
        self.bar.set_message(message);
    }
}

/// A [`TrainingObserver`] that draws one fit's progress: epoch / `max_iter`, elapsed, ETA,
/// training loss, validation loss and score. It never stops training.
///
/// Clones share the bar, so a caller can keep one and give the estimator another. Meant
/// for one fit at a time: attached to the estimator of a search, the fits of all threads
/// would move the same bar.
///
/// ```
/// use linfa::prelude::*;
/// use mlp_tune::neural_network::MLPRegressor;
/// use mlp_tune::progress::TrainingProgress;
///
/// let data = mlp_tune::datasets::diabetes();
/// let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
/// let bar = TrainingProgress::hidden(30);
/// let model = MLPRegressor::<f64>::params()
///     .max_iter(30)
///     .random_state(0)
///     .observer(bar.clone())
///     .fit(&data)
///     .unwrap();
/// assert_eq!(bar.epochs_done(), model.n_iter() as u64);
/// assert_eq!(bar.last_loss(), Some(model.loss()));
/// ```
#[derive(Debug, Clone)]
pub struct TrainingProgress {
    bar: ProgressBar,
    last: Arc<Mutex<Option<EpochLog>>>,
}

impl TrainingProgress {
    /// A bar on stderr for up to `max_epochs` epochs (the estimator's `max_iter`).
    pub fn new(max_epochs: usize) -> Self {
        Self::with_draw_target(max_epochs, ProgressDrawTarget::stderr())
    }

    /// A bar that never draws.
    pub fn hidden(max_epochs: usize) -> Self {
        Self::with_draw_target(max_epochs, ProgressDrawTarget::hidden())
    }

    /// A bar drawing to any indicatif target.
    pub fn with_draw_target(max_epochs: usize, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(max_epochs as u64), target);
        bar.set_style(style(TRAINING_TEMPLATE));
        TrainingProgress {
            bar,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// The underlying indicatif bar.
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// Epochs finished so far in the current fit.
    pub fn epochs_done(&self) -> u64 {
        self.bar.position()
    }

    /// Training loss of the last epoch seen.
    pub fn last_loss(&self) -> Option<f64> {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|l| l.loss)
    }
}

impl TrainingObserver for TrainingProgress {
    fn on_train_begin(&self) {
        self.bar.reset();
    }

    fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
        let mut message = format!("loss {:.5}", log.loss);
        if let Some(v) = log.validation_loss {
            message.push_str(&format!(" | val loss {v:.5}"));
        }
        if let Some(v) = log.validation_score {
            message.push_str(&format!(" | val score {v:.4}"));
        }
        // Warm starts and `continue_training` count epochs past `max_iter`.
        if self.bar.length().is_some_and(|len| log.epoch as u64 > len) {
            self.bar.set_length(log.epoch as u64);
        }
        self.bar.set_position(log.epoch as u64);
        self.bar.set_message(message);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(log.clone());
        TrainingControl::Continue
    }

    fn on_train_end(&self, _last: Option<&EpochLog>) {
        // Early stopping ends before `max_iter`: shrink the bar so it ends full.
        self.bar.set_length(self.bar.position());
        self.bar.finish();
    }
}
