//! What a running search tells its observer: the [`SearchObserver`] callbacks and their
//! events. The library never prints; examples and the `mlp-tune` binary render these.

/// Progress of a search, delivered from worker threads. The library never prints; examples
/// render these events.
pub trait SearchObserver: Send + Sync {
    /// The search is about to run `n_candidates × n_splits` fits. Halving and Hyperband
    /// searches pass their first round's candidates (all of them for Hyperband) and announce
    /// each round with [`on_round_start`](Self::on_round_start).
    fn on_search_start(&self, _n_candidates: usize, _n_splits: usize) {}
    /// A (candidate, fold) fit is starting (not called for fits taken from a journal).
    fn on_fit_start(&self, _candidate: usize, _split: usize) {}
    /// One (candidate, fold) fit finished. With a
    /// [failure limit](super::search::SearchCV::max_consecutive_failures) and several threads, a fit that
    /// comes after the one that tripped the limit may end (and be reported) before the trip
    /// is known; its result is then dropped.
    fn on_fit_end(&self, _event: &FitEvent) {}
    /// The best candidate was refitted on all rows.
    fn on_refit_end(&self, _seconds: f64) {}
    /// A successive-halving round (or a step of Hyperband's brackets) is about to run.
    fn on_round_start(&self, _event: &RoundEvent) {}
}

/// The start of a successive-halving round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundEvent {
    /// Hyperband bracket (0 for a plain halving search).
    pub bracket: usize,
    /// Round (`iter`) within the bracket.
    pub iter: usize,
    /// Candidates evaluated in this round.
    pub n_candidates: usize,
    /// Resource given to each of them (samples, epochs or the resource parameter's value).
    pub n_resources: usize,
    /// Folds per candidate.
    pub n_splits: usize,
}

/// One finished (candidate, fold) fit.
#[derive(Debug, Clone)]
pub struct FitEvent {
    /// Candidate index (for halving and Hyperband searches, the `cv_results` row: one per
    /// evaluated (round, candidate)).
    pub candidate: usize,
    /// Fold index.
    pub split: usize,
    /// Test score of the first scorer (the error score when the fit failed).
    pub score: f64,
    /// Fit + score seconds.
    pub seconds: f64,
    /// The error, when the fit failed.
    pub error: Option<String>,
}
