//! `GridSearchCV` and `RandomizedSearchCV` (scikit-learn's `model_selection/_search.py`)
//! over any [`Estimator`].
//!
//! **Parallelism rule.** A search runs its (candidate × fold) tasks on `n_jobs` threads
//! (the calling thread and `n_jobs - 1` more), one task per thread at a time, costliest
//! first by [`Estimator::cost_hint`], and each fit inside runs single-threaded, so the
//! machine is never oversubscribed. Every task fits on its fold's rows of the shared data
//! ([`Estimator::fit_rows`]), without a copy. Results are collected by task index, so
//! `cv_results` are bitwise identical for any `n_jobs`.

use std::sync::Arc;
use std::time::Instant;

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::prelude::{Fit, ParamGuard, PredictInplace};
use linfa::Float;
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, Data, Ix1, Ix2};

use super::journal::{Fingerprint, Journal};
use super::param_space::{
    candidate_to_json, candidate_to_string, Candidate, ParamDistributions, ParamGrid, SetParams,
};
use super::runner::{Batch, History, ResourceKind, Runner, Strategy, Trial};
use super::scoring::{ScoreTarget, Scorer};
use super::validation::{class_ids, dataset_views, AsView2, Cv, Estimator, FoldOutcome};
use crate::error::{MlpTuneError, Result};

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
    /// [failure limit](SearchCV::max_consecutive_failures) and several threads, a fit that
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

/// Where the candidates come from.
#[derive(Debug, Clone)]
pub enum SearchSpace {
    /// Every point of a grid.
    Grid(ParamGrid),
    /// `n_iter` draws from distributions.
    Random {
        /// The distributions.
        distributions: ParamDistributions,
        /// Number of candidates.
        n_iter: usize,
        /// Seed of the draws.
        random_state: u32,
    },
}

impl SearchSpace {
    /// The candidates in evaluation order.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        match self {
            SearchSpace::Grid(grid) => grid.candidates(),
            SearchSpace::Random {
                distributions,
                n_iter,
                random_state,
            } => distributions.sample(*n_iter, *random_state),
        }
    }
}

/// A cross-validated search: [`GridSearchCV::new`] or [`RandomizedSearchCV::new`] build
/// one. `builder` turns a candidate into estimator params; for our MLPs use [`by_name`].
///
/// Every search is a `SearchCV` whose `S` says what it searches and how (its strategy's
/// settings: [`SearchSpace`] for grid and random searches, [`TpeSpace`](super::TpeSpace)
/// for [`TpeSearchCV`](super::TpeSearchCV)), so the options all searches share (`cv`,
/// `scoring`, `refit`, `n_jobs`, `error_score`, `observer`, `journal`, `time_budget`,
/// `max_consecutive_failures`, ...) are set the same way on each, and every search is
/// built by its own `new` and run by `fit`.
///
/// ```
/// use linfa::prelude::*;
/// use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
/// use mlp_tune::neural_network::{MLPClassifier, Solver};
///
/// let data = mlp_tune::datasets::iris();
/// let base = MLPClassifier::params().solver(Solver::Lbfgs).max_iter(50).random_state(0);
/// let grid = ParamGrid::new().add("hidden_layer_sizes", [[4usize], [8]]);
/// let search = GridSearchCV::new(by_name(base), grid).cv(3).fit(&data).unwrap();
/// assert_eq!(search.cv_results().params.len(), 2);
/// let predictions = search.try_predict(data.records()).unwrap();
/// assert_eq!(predictions.len(), 150);
/// ```
pub struct SearchCV<B, T, S = SearchSpace> {
    pub(crate) builder: B,
    pub(crate) space: S,
    pub(crate) cv: Cv,
    pub(crate) scorers: Vec<Scorer<T>>,
    pub(crate) refit: Option<String>,
    pub(crate) n_jobs: usize,
    pub(crate) error_score: Option<f64>,
    pub(crate) return_train_score: bool,
    pub(crate) observer: Option<Arc<dyn SearchObserver>>,
    pub(crate) journal: Option<std::path::PathBuf>,
    pub(crate) time_budget: Option<std::time::Duration>,
    pub(crate) max_consecutive_failures: Option<usize>,
    pub(crate) speculative_refit: bool,
    /// A seed given to a grid search, which draws nothing: refused at fit rather than
    /// silently ignored.
    pub(crate) unused_random_state: Option<u32>,
    pub(crate) execution: Execution,
    /// Journals of other processes (shards) whose finished fits are taken, read-only.
    pub(crate) journal_inputs: Vec<std::path::PathBuf>,
}

/// A fit the round in progress still needs (see [`FittedSearch::pending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingFit {
    /// Its `cv_results` row.
    pub row: usize,
    /// Its fold.
    pub split: usize,
    /// Its position in the round's task list (rows, then folds): shard `task % count` of
    /// a [sharded](SearchCV::shard) run fits it.
    pub task: usize,
}

/// Which fits a run starts: all of them, one shard's share of the current round, or none
/// (a plan). See [`SearchCV::shard`] and [`SearchCV::plan_only`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Execution {
    /// Every fit (the default).
    #[default]
    All,
    /// The fits of the current round whose position in the round's task list (rows as in
    /// `cv_results`, then folds) is `index` modulo `count`.
    Shard {
        /// This shard, `0..count`.
        index: usize,
        /// Number of shards.
        count: usize,
    },
    /// None: the run takes what the journals hold and reports the round that is missing.
    PlanOnly,
}

impl Execution {
    /// Whether task `t` of a round is run here (if the journal does not hold it).
    pub(crate) fn runs(&self, t: usize) -> bool {
        match *self {
            Execution::All => true,
            Execution::Shard { index, count } => t % count.max(1) == index,
            Execution::PlanOnly => false,
        }
    }
}

impl<B, T, S: std::fmt::Debug> std::fmt::Debug for SearchCV<B, T, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchCV")
            .field("space", &self.space)
            .field("cv", &self.cv)
            .field("scorers", &self.scorers)
            .field("refit", &self.refit)
            .field("n_jobs", &self.n_jobs)
            .field("error_score", &self.error_score)
            .field("journal", &self.journal)
            .field("speculative_refit", &self.speculative_refit)
            .finish_non_exhaustive()
    }
}

/// Exhaustive search over a [`ParamGrid`].
pub struct GridSearchCV;

impl GridSearchCV {
    /// `GridSearchCV(estimator, param_grid)` with scikit-learn's defaults: `cv=5`, refit on
    /// the (first) scorer, `error_score=NaN`, one thread.
    #[allow(clippy::new_ret_no_self)]
    pub fn new<B, T>(builder: B, grid: ParamGrid) -> SearchCV<B, T> {
        SearchCV::with_space(builder, SearchSpace::Grid(grid))
    }
}

/// Randomized search over [`ParamDistributions`].
pub struct RandomizedSearchCV;

impl RandomizedSearchCV {
    /// `RandomizedSearchCV(estimator, distributions, n_iter)`, seeded with `random_state`
    /// 0 unless set with [`SearchCV::random_state`].
    #[allow(clippy::new_ret_no_self)]
    pub fn new<B, T>(
        builder: B,
        distributions: ParamDistributions,
        n_iter: usize,
    ) -> SearchCV<B, T> {
        SearchCV::with_space(
            builder,
            SearchSpace::Random {
                distributions,
                n_iter,
                random_state: 0,
            },
        )
    }
}

/// A builder from candidates to params for estimators settable by name (our MLPs): the
/// candidate's values are applied to a copy of `base`, then checked.
pub fn by_name<P>(base: P) -> impl Fn(&Candidate) -> Result<P::Checked> + Send + Sync
where
    P: SetParams + ParamGuard + Clone + Send + Sync,
    MlpTuneError: From<P::Error>,
{
    move |candidate: &Candidate| Ok(base.clone().with_candidate(candidate)?.check()?)
}

impl<B, T, S> SearchCV<B, T, S> {
    pub(crate) fn with_space(builder: B, space: S) -> Self {
        SearchCV {
            builder,
            space,
            cv: Cv::default(),
            scorers: Vec::new(),
            refit: Some(String::new()),
            n_jobs: 1,
            error_score: Some(f64::NAN),
            return_train_score: false,
            observer: None,
            journal: None,
            time_budget: None,
            max_consecutive_failures: None,
            speculative_refit: true,
            unused_random_state: None,
            execution: Execution::All,
            journal_inputs: Vec::new(),
        }
    }

    /// `cv=k` (stratified for classifiers).
    pub fn cv(mut self, k: usize) -> Self {
        self.cv = Cv::Folds(k);
        self
    }

    /// Any splitter or fold count.
    pub fn cv_with(mut self, cv: Cv) -> Self {
        self.cv = cv;
        self
    }

    /// One scorer by scikit-learn name (default: neg MSE for regressors, accuracy for
    /// classifiers).
    pub fn scoring(mut self, name: &str) -> Result<Self> {
        self.scorers = vec![Scorer::from_name(name)?];
        Ok(self)
    }

    /// Several scorers (multi-metric); refit uses the first unless
    /// [`refit_metric`](Self::refit_metric) names another.
    pub fn scorers(mut self, scorers: Vec<Scorer<T>>) -> Self {
        self.scorers = scorers;
        self
    }

    /// Refit the best candidate on all rows (default true).
    pub fn refit(mut self, refit: bool) -> Self {
        self.refit = if refit { Some(String::new()) } else { None };
        self
    }

    /// Choose the best candidate (and refit) by this scorer's name.
    pub fn refit_metric(mut self, name: &str) -> Self {
        self.refit = Some(name.to_string());
        self
    }

    /// Threads for the (candidate × fold) tasks (default 1). Results do not depend on it.
    pub fn n_jobs(mut self, n_jobs: usize) -> Self {
        self.n_jobs = n_jobs.max(1);
        self
    }

    /// Score recorded for a failed fit (default NaN); `None` makes a failure an error.
    pub fn error_score(mut self, value: Option<f64>) -> Self {
        self.error_score = value;
        self
    }

    /// Also score the training rows.
    pub fn return_train_score(mut self, yes: bool) -> Self {
        self.return_train_score = yes;
        self
    }

    /// Receives progress events.
    pub fn observer(mut self, observer: Arc<dyn SearchObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Records every finished (candidate, fold) fit in the file at `path` (created if
    /// missing; its directory must exist), flushed to disk before the fit counts as done.
    /// Running the same search again with the same file skips the recorded fits and gives
    /// results identical to an uninterrupted run; a file written by a different search is
    /// refused. See the `journal` module docs for the format.
    ///
    /// Every search journals the same way, through the search core: a record is found again
    /// by the trial's content (round, candidate, parameters, fold). For successive halving
    /// and Hyperband, which candidates survive each round follows from the recorded scores;
    /// with warm continuation, a model whose previous round came from the journal is rebuilt
    /// by training it in one go to its round's resource (equal to the continued model),
    /// counted by `rebuilt_models` and `rebuild_cost`. A TPE search proposes the same trials
    /// again from the recorded scores. Other schedule or sampler settings make a different
    /// search, whose journal is refused.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
    /// use mlp_tune::neural_network::{MLPClassifier, Solver};
    /// let path = std::env::temp_dir().join(format!("doc-journal-{}.jsonl", std::process::id()));
    /// let search = GridSearchCV::new(
    ///     by_name(MLPClassifier::params().solver(Solver::Lbfgs).max_iter(50).random_state(0)),
    ///     ParamGrid::new().add("alpha", [1e-4, 1e-1]),
    /// )
    /// .cv(3)
    /// .journal(&path);
    /// let iris = mlp_tune::datasets::iris();
    /// let first = search.fit(&iris).unwrap();
    /// assert_eq!(first.resumed_fits(), 0);
    /// let again = search.fit(&iris).unwrap(); // every fit comes from the journal
    /// assert_eq!(again.resumed_fits(), 6);
    /// assert_eq!(again.cv_results().primary().mean_test, first.cv_results().primary().mean_test);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn journal(mut self, path: impl AsRef<std::path::Path>) -> Self {
        self.journal = Some(path.as_ref().to_path_buf());
        self
    }

    /// Starts no new fit once `budget` has passed since `fit` began; fits already running
    /// finish. The result then [is partial](FittedSearch::is_partial): candidates with folds
    /// left unfitted have NaN scores and rank last, and the best candidate is chosen among
    /// the complete ones. With a journal, rerunning finishes the rest.
    ///
    /// Searches that run in rounds or batches (halving, Hyperband, TPE) leave the round in
    /// progress incomplete and start no further one: survivors or proposals chosen from
    /// incomplete scores could differ from an uninterrupted run's. Rows of unstarted fits
    /// have NaN scores and `error` "not fitted"; [`skipped_fits`](FittedSearch::skipped_fits)
    /// also counts the fits of rounds never entered; halving and Hyperband take their best
    /// from each bracket's last complete round (none: no best and no refit), and their round
    /// attributes describe the rounds entered. A stopped search still enters a round whose
    /// fits the journal holds (taking them costs nothing).
    pub fn time_budget(mut self, budget: std::time::Duration) -> Self {
        self.time_budget = Some(budget);
        self
    }

    /// Stops the search once `n` fits in a row have failed (a sign that the space or the
    /// data is broken); the result is then partial. Default: no limit.
    ///
    /// "In a row" is in the task order (candidate by candidate, fold by fold), not the order
    /// the fits finish in, so the search stops at the same fit for any `n_jobs`: the *trip*
    /// is the first fit that ends a run of `n` failures, found once every fit before it has
    /// finished. No fit after the trip starts, and those that already ran on other threads
    /// (and ended, as the observer saw) are dropped: every fit after the trip is reported
    /// as not fitted (NaN scores) and counted in [`skipped_fits`](FittedSearch::skipped_fits).
    /// `cv_results`, the best candidate and the [reason](FittedSearch::stop_reason)
    /// (`"{n} fits in a row failed"`) are then those of a run on one thread.
    ///
    /// With a [journal](Self::journal), fits taken from it count at their place in the task
    /// order with their recorded outcome, so a resumed search stops where an uninterrupted
    /// one would; recorded fits after the trip are dropped too. Fits that ran are recorded
    /// in the journal (dropped ones included) before they count, so rerunning without the
    /// limit reuses them.
    ///
    /// Searches in rounds or batches count in their task order round by round (Hyperband:
    /// step by step), row by row as in `cv_results`, then fold by fold; the count carries
    /// across rounds, and a trip ends the search as [`time_budget`](Self::time_budget) does.
    pub fn max_consecutive_failures(mut self, n: usize) -> Self {
        self.max_consecutive_failures = Some(n.max(1));
        self
    }

    /// Whether, with `n_jobs > 1`, one thread refits the current leader (the best
    /// candidate among those whose folds are all scored) while the last fits run, instead of
    /// refitting the best after the search. Default: `true`.
    ///
    /// The refit starts once the fits not yet started would keep the other threads busy no
    /// longer than it takes (judged from the leader's fold times and the cost hints,
    /// calibrated on the fits done), so it leaves the search's critical path. Its model is
    /// kept only if that candidate turns out to be the best; otherwise the best is refitted
    /// after the search as usual, so the results are the same either way and only the wall
    /// time changes (a wrong guess costs at most one refit on one of the `n_jobs` threads,
    /// plus the wait for it to finish). Without refit, with one thread, or once a time
    /// budget or failure limit has stopped the search, nothing is speculated.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
    /// use mlp_tune::neural_network::{MLPClassifier, Solver};
    /// let search = |speculate: bool| {
    ///     GridSearchCV::new(
    ///         by_name(MLPClassifier::params().solver(Solver::Lbfgs).max_iter(50).random_state(0)),
    ///         ParamGrid::new().add("alpha", [1e-4, 1e-2, 1.0]),
    ///     )
    ///     .cv(3)
    ///     .n_jobs(2)
    ///     .speculative_refit(speculate)
    ///     .fit(&mlp_tune::datasets::iris())
    ///     .unwrap()
    /// };
    /// let (on, off) = (search(true), search(false));
    /// assert_eq!(on.best_index(), off.best_index());
    /// assert_eq!(on.best_model().unwrap().coefs(), off.best_model().unwrap().coefs());
    /// ```
    pub fn speculative_refit(mut self, yes: bool) -> Self {
        self.speculative_refit = yes;
        self
    }

    /// Runs only shard `index` of `count` of the search's current round: the fits whose
    /// position in the round's task list is `index` modulo `count`, among those the
    /// journals do not hold yet. With a [journal](Self::journal) per shard (and the merged
    /// journal of the earlier rounds as an [input](Self::journal_inputs)), `count` processes
    /// (Slurm array tasks, Kubernetes indexed jobs, GNU parallel jobs) run a round between
    /// them; [`merge_journals`](super::merge_journals) then unions their files, and the
    /// search run on the merged journal either finds the next round (run it the same way)
    /// or is complete: its `cv_results`, best candidate and refit are then those of a run in
    /// one process, bit for bit. A sharded run stops after its share of the round, refits
    /// nothing and returns a [partial](FittedSearch::is_partial) result.
    ///
    /// `index >= count` or `count == 0` is refused when the search is fitted.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, merge_journals, GridSearchCV, ParamGrid};
    /// use mlp_tune::neural_network::{MLPClassifier, Solver};
    ///
    /// let dir = std::env::temp_dir().join(format!("doc-shards-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let iris = mlp_tune::datasets::iris();
    /// let search = || {
    ///     GridSearchCV::new(
    ///         by_name(MLPClassifier::params().solver(Solver::Lbfgs).max_iter(30).random_state(0)),
    ///         ParamGrid::new().add("alpha", [1e-4, 1e-2, 1.0]),
    ///     )
    ///     .cv(3)
    /// };
    /// // Two shards (two processes, or two machines sharing `dir`), each with its journal.
    /// let shards: Vec<_> = (0..2).map(|i| dir.join(format!("shard-{i}.jsonl"))).collect();
    /// for (i, path) in shards.iter().enumerate() {
    ///     let part = search().journal(path).shard(i, 2).fit(&iris).unwrap();
    ///     assert!(part.is_partial());
    /// }
    /// // Merge, then finish in one process: every fit comes from the journal.
    /// let merged = dir.join("merged.jsonl");
    /// merge_journals(&merged, &shards).unwrap();
    /// let result = search().journal(&merged).fit(&iris).unwrap();
    /// assert_eq!(result.resumed_fits(), 9);
    /// let single = search().fit(&iris).unwrap();
    /// assert_eq!(result.cv_results().primary().mean_test, single.cv_results().primary().mean_test);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn shard(mut self, index: usize, count: usize) -> Self {
        self.execution = Execution::Shard { index, count };
        self
    }

    /// Starts no fit: the run takes the fits its journals hold and stops at the first round
    /// they do not complete. Its result says what is done, and
    /// [`skipped_fits`](FittedSearch::skipped_fits) what is left (0: the search is
    /// complete); the [planned round](FittedSearch::pending) lists the fits to run next.
    pub fn plan_only(mut self) -> Self {
        self.execution = Execution::PlanOnly;
        self
    }

    /// Also takes the finished fits recorded in these journals (read-only; the journal set
    /// by [`journal`](Self::journal) receives the new ones): a shard reads the merged
    /// journal of the earlier rounds this way. Each must be a journal of this same search.
    pub fn journal_inputs<P: AsRef<std::path::Path>>(
        mut self,
        paths: impl IntoIterator<Item = P>,
    ) -> Self {
        self.journal_inputs = paths
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        self
    }

    /// The search's journal for the search with `fingerprint`, with the records of its
    /// [inputs](Self::journal_inputs); none without a journal.
    pub(crate) fn open_journal(
        &self,
        fingerprint: impl FnOnce() -> Result<String>,
    ) -> Result<Option<Journal>> {
        let Some(path) = &self.journal else {
            if self.journal_inputs.is_empty() {
                return Ok(None);
            }
            return Err(crate::error::invalid_param(
                "journal_inputs",
                "other journals are read into the search's own journal: set one with journal()",
            ));
        };
        let fingerprint = fingerprint()?;
        let mut journal = Journal::open(path, &fingerprint)?;
        for input in &self.journal_inputs {
            journal.absorb(input, &fingerprint)?;
        }
        Ok(Some(journal))
    }

    /// The scorers to use (the default one for the estimator kind when none was set) and
    /// the index of the refit metric (None without refit).
    pub(crate) fn resolve_scorers(
        &self,
        classifier: bool,
    ) -> Result<(Vec<Scorer<T>>, Option<usize>)>
    where
        T: ScoreTarget,
    {
        let scorers: Vec<Scorer<T>> = if self.scorers.is_empty() {
            vec![Scorer::from_name(if classifier {
                "accuracy"
            } else {
                "neg_mean_squared_error"
            })?]
        } else {
            self.scorers.clone()
        };
        let refit_index = match &self.refit {
            Some(name) if !name.is_empty() => Some(
                scorers
                    .iter()
                    .position(|s| s.name() == *name)
                    .ok_or_else(|| {
                        MlpTuneError::Scoring(format!(
                            "refit metric `{name}` is not among the scorers"
                        ))
                    })?,
            ),
            Some(_) => Some(0),
            None => None,
        };
        Ok((scorers, refit_index))
    }

    /// The journal fingerprint of a search of `kind` whose own settings (schedule and the
    /// like) are described by `settings` (empty for grid and random searches).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fingerprint_of<F: Float, E: Estimator<F, T>>(
        &self,
        kind: &str,
        settings: &str,
        x: ndarray::ArrayView2<F>,
        y: ArrayView1<T>,
        candidates: &[Candidate],
        estimators: &[E],
        folds: &[super::split::Fold],
        scorers: &[Scorer<T>],
    ) -> String
    where
        T: ScoreTarget,
    {
        let mut fp = Fingerprint::default();
        fp.part("kind", kind.as_bytes());
        if !settings.is_empty() {
            fp.part("settings", settings.as_bytes());
        }
        for (c, e) in candidates.iter().zip(estimators) {
            fp.part("candidate", candidate_to_json(c).to_string().as_bytes());
            fp.part("estimator", e.describe().as_bytes());
        }
        for fold in folds {
            let rows: Vec<u8> = fold
                .train
                .iter()
                .chain([usize::MAX].iter())
                .chain(fold.test.iter())
                .flat_map(|&i| (i as u64).to_le_bytes())
                .collect();
            fp.part("fold", &rows);
        }
        for scorer in scorers {
            fp.part("scorer", scorer.name().as_bytes());
        }
        fp.part(
            "options",
            format!(
                "{} {:?}",
                self.return_train_score,
                self.error_score.map(f64::to_bits)
            )
            .as_bytes(),
        );
        fp.part("shape", format!("{:?}", x.dim()).as_bytes());
        let records: Vec<u8> = x
            .iter()
            .flat_map(|v| v.to_f64().unwrap_or(f64::NAN).to_bits().to_le_bytes())
            .collect();
        fp.part("records", &records);
        fp.part("targets", format!("{:?}", y.to_vec()).as_bytes());
        fp.finish()
    }
}

impl<B, T> SearchCV<B, T> {
    /// Seed of a randomized search's draws.
    ///
    /// A grid search draws nothing, so a seed given to one is refused when the search is
    /// fitted ([`MlpTuneError::InvalidParameter`] naming `random_state`) instead of being
    /// silently ignored (scikit-learn's `GridSearchCV` has no `random_state` either). Seed
    /// the estimator instead.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
    /// use mlp_tune::neural_network::{MLPClassifier, Solver};
    /// use mlp_tune::MlpTuneError;
    ///
    /// let base = MLPClassifier::params().solver(Solver::Lbfgs).max_iter(5);
    /// let grid = ParamGrid::new().add("alpha", [1e-4, 1e-2]);
    /// let err = GridSearchCV::new(by_name(base), grid)
    ///     .random_state(7)
    ///     .fit(&mlp_tune::datasets::iris())
    ///     .err()
    ///     .unwrap();
    /// assert!(matches!(err, MlpTuneError::InvalidParameter { ref name, .. } if name == "random_state"));
    /// ```
    pub fn random_state(mut self, seed: u32) -> Self {
        match &mut self.space {
            SearchSpace::Random { random_state, .. } => *random_state = seed,
            SearchSpace::Grid(_) => self.unused_random_state = Some(seed),
        }
        self
    }

    /// The search space.
    pub fn space(&self) -> &SearchSpace {
        &self.space
    }

    /// Runs the search on a dataset.
    pub fn fit<F, E, R, TT>(
        &self,
        dataset: &DatasetBase<R, TT>,
    ) -> Result<FittedSearch<E, E::Model>>
    where
        F: Float,
        T: ScoreTarget + PartialOrd,
        B: Fn(&Candidate) -> Result<E> + Sync,
        E: Estimator<F, T>,
        R: Records + AsView2<F>,
        TT: AsSingleTargets<Elem = T>,
    {
        if let Some(seed) = self.unused_random_state {
            return Err(crate::error::invalid_param(
                "random_state",
                format!(
                    "a grid search draws nothing, so the seed {seed} would be ignored; \
                     seed the estimator instead"
                ),
            ));
        }
        let (x, y) = dataset_views(dataset)?;
        let candidates = self.space.candidates()?;
        // Build every candidate's params up front: a bad name or value is an error of the
        // search space, not a failing fit.
        let estimators: Vec<E> = candidates
            .iter()
            .map(|c| (self.builder)(c))
            .collect::<Result<_>>()?;
        let classifier = estimators.first().is_some_and(|e| e.is_classifier());
        let (scorers, refit_index) = self.resolve_scorers(classifier)?;
        let classes = T::classes_of(y.view());
        let ids = class_ids(y.view(), &classes);
        let folds = self.cv.folds(x.nrows(), ids.as_deref(), classifier)?;
        let n_splits = folds.len();
        if let Some(observer) = &self.observer {
            observer.on_search_start(candidates.len(), n_splits);
        }
        let journal = self.open_journal(|| {
            let fingerprint =
                self.fingerprint(x, y.view(), &candidates, &estimators, &folds, &scorers);
            Ok(fingerprint)
        })?;
        let runner = Runner {
            opts: self,
            x,
            y: y.view(),
            folds: &folds,
            scorers: &scorers,
            classes: &classes,
            selection: refit_index.unwrap_or(0),
            refit: refit_index.is_some(),
            resource: ResourceKind::None,
            journal: journal.as_ref(),
        };
        let mut strategy = EveryCandidate {
            candidates: Some(candidates),
        };
        let out = runner.run(&mut strategy)?;
        let best_rows = strategy.best_rows(&out.history);
        // As scikit-learn: the best candidate is known whenever the metric is unambiguous
        // (refit on a named metric, or a single metric), refit or not.
        let best_metric = refit_index.or(if scorers.len() == 1 { Some(0) } else { None });
        let mut fitted = runner.finish(out, &best_rows, best_metric, refit_index)?;
        let results = &mut fitted.cv_results;
        (results.iter, results.n_resources, results.bracket) = (None, None, None);
        Ok(fitted)
    }

    /// The journal fingerprint: everything that determines this search's fold results.
    fn fingerprint<F: Float, E: Estimator<F, T>>(
        &self,
        x: ndarray::ArrayView2<F>,
        y: ArrayView1<T>,
        candidates: &[Candidate],
        estimators: &[E],
        folds: &[super::split::Fold],
        scorers: &[Scorer<T>],
    ) -> String
    where
        T: ScoreTarget,
    {
        let kind = match &self.space {
            SearchSpace::Grid(_) => "grid",
            SearchSpace::Random { .. } => "random",
        };
        self.fingerprint_of(kind, "", x, y, candidates, estimators, folds, scorers)
    }
}

/// Grid and random searches as a strategy of the search core: every candidate in one
/// batch.
struct EveryCandidate {
    /// The candidates, until proposed.
    candidates: Option<Vec<Candidate>>,
}

impl Strategy for EveryCandidate {
    fn next_batch(&mut self, _history: &History) -> Result<Option<Batch>> {
        Ok(self.candidates.take().map(|candidates| Batch {
            trials: candidates
                .into_iter()
                .enumerate()
                .map(|(config, params)| Trial {
                    params,
                    config,
                    bracket: 0,
                    iter: 0,
                    resource: 0,
                    prev_resource: 0,
                    folds: None,
                })
                .collect(),
            rounds: Vec::new(),
            decides_best: true,
        }))
    }

    fn planned_fits_left(&self, _history: &History) -> usize {
        // The one batch is always entered.
        0
    }
}

impl<F, T, B, E, D, TT> Fit<ArrayBase<D, Ix2>, TT, MlpTuneError> for SearchCV<B, T>
where
    F: Float,
    T: ScoreTarget + PartialOrd,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
    D: Data<Elem = F>,
    TT: AsSingleTargets<Elem = T>,
{
    type Object = FittedSearch<E, E::Model>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, TT>) -> Result<Self::Object> {
        SearchCV::<B, T, SearchSpace>::fit(self, dataset)
    }
}

/// Builds `cv_results_` from row-major outcomes (`outcomes[row * n_splits + split]`), one
/// row per entry of `params`.
pub(crate) fn build_cv_results<T>(
    params: Vec<Candidate>,
    outcomes: &[FoldOutcome],
    n_splits: usize,
    scorers: &[Scorer<T>],
    return_train_score: bool,
) -> CvResults {
    let n_rows = params.len();
    let mut results = CvResults {
        params,
        metrics: Vec::new(),
        mean_fit_time: Vec::with_capacity(n_rows),
        std_fit_time: Vec::with_capacity(n_rows),
        mean_score_time: Vec::with_capacity(n_rows),
        std_score_time: Vec::with_capacity(n_rows),
        errors: vec![None; n_rows],
        iter: None,
        n_resources: None,
        bracket: None,
    };
    // Rows are contiguous chunks of `n_splits` outcomes.
    let chunks: Vec<&[FoldOutcome]> = outcomes.chunks(n_splits.max(1)).collect();
    for (s, scorer) in scorers.iter().enumerate() {
        let split_test: Vec<Vec<f64>> = chunks
            .iter()
            .map(|c| c.iter().map(|o| o.test_scores[s]).collect())
            .collect();
        let (mean_test, std_test): (Vec<f64>, Vec<f64>) =
            split_test.iter().map(|v| mean_std(v)).unzip();
        let rank_test = rank_min(&mean_test);
        let train = if return_train_score {
            let split_train: Vec<Vec<f64>> = chunks
                .iter()
                .map(|c| {
                    c.iter()
                        .filter_map(|o| o.train_scores.as_ref().map(|t| t[s]))
                        .collect()
                })
                .collect();
            let (m, sd): (Vec<f64>, Vec<f64>) = split_train.iter().map(|v| mean_std(v)).unzip();
            Some(TrainScores {
                split: split_train,
                mean: m,
                std: sd,
            })
        } else {
            None
        };
        results.metrics.push(MetricResults {
            name: scorer.name(),
            split_test,
            mean_test,
            std_test,
            rank_test,
            train,
        });
    }
    for (c, folds_of_row) in chunks.iter().enumerate() {
        let fit: Vec<f64> = folds_of_row.iter().map(|o| o.fit_time).collect();
        let score: Vec<f64> = folds_of_row.iter().map(|o| o.score_time).collect();
        let (mf, sf) = mean_std(&fit);
        let (ms, ss) = mean_std(&score);
        results.mean_fit_time.push(mf);
        results.std_fit_time.push(sf);
        results.mean_score_time.push(ms);
        results.std_score_time.push(ss);
        results.errors[c] = folds_of_row.iter().find_map(|o| o.error.clone());
    }
    results
}

/// A speculative refit once run: the candidate (or row) it refitted, its model or error,
/// and its seconds.
pub(crate) type Speculated<M> = Option<(usize, Result<M>, f64)>;

/// [`SearchCV::max_consecutive_failures`], counted so that a search trips at the same fit
/// for any thread count: failures in a row are counted in the canonical task order (a grid
/// search's candidate-major, then fold, tasks; a halving search's rows then folds, round
/// after round), over the longest prefix of finished tasks, whatever order they finish in.
/// The trip is the task that makes `limit` failures in a row; every task before it has
/// finished by the time it is known, and the search keeps no result after it.
pub(crate) struct FailureRun {
    limit: Option<usize>,
    state: std::sync::Mutex<FailureState>,
}

#[derive(Default)]
struct FailureState {
    /// Per task of the current batch, once finished: whether it failed.
    finished: Vec<Option<bool>>,
    /// Tasks `0..scanned` of the batch are finished and counted.
    scanned: usize,
    /// Failures in a row up to the last task counted (carried over from earlier batches).
    run: usize,
    /// The task of the current batch that tripped the limit.
    trip: Option<usize>,
}

impl FailureRun {
    /// A counter for `limit` failures in a row (none: it never trips), over a first batch
    /// of `n_tasks` tasks.
    pub(crate) fn new(limit: Option<usize>, n_tasks: usize) -> Self {
        let run = FailureRun {
            limit,
            state: std::sync::Mutex::new(FailureState::default()),
        };
        run.batch(n_tasks);
        run
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FailureState> {
        // The state stays consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the next batch (a halving round) of `n_tasks` tasks, after the last one: the
    /// failures in a row at the end of the last batch carry over.
    pub(crate) fn batch(&self, n_tasks: usize) {
        if self.limit.is_none() {
            return;
        }
        let mut s = self.state();
        s.finished = vec![None; n_tasks];
        s.scanned = 0;
    }

    /// Counts a finished task of the current batch (a fit that ran, or one taken from a
    /// journal); returns whether this trips the limit.
    pub(crate) fn finished(&self, task: usize, failed: bool) -> bool {
        let Some(limit) = self.limit else {
            return false;
        };
        let mut s = self.state();
        if s.trip.is_some() || task >= s.finished.len() {
            return false;
        }
        s.finished[task] = Some(failed);
        while let Some(&Some(failed)) = s.finished.get(s.scanned) {
            s.run = if failed { s.run + 1 } else { 0 };
            s.scanned += 1;
            if s.run >= limit {
                s.trip = Some(s.scanned - 1);
                return true;
            }
        }
        false
    }

    /// The task that tripped the limit, once known.
    pub(crate) fn trip(&self) -> Option<usize> {
        self.limit?;
        self.state().trip
    }

    /// Whether the result of `task` is kept: not after the trip.
    pub(crate) fn keeps(&self, task: usize) -> bool {
        self.trip().is_none_or(|trip| task <= trip)
    }

    /// The stop reason once tripped.
    pub(crate) fn reason(&self) -> Option<String> {
        self.trip()
            .and(self.limit)
            .map(|n| format!("{n} fits in a row failed"))
    }
}

/// All rows over a fold's mean training rows: how much longer a refit takes than a fold fit.
pub(crate) fn refit_rows_ratio(n_rows: usize, folds: &[super::split::Fold]) -> f64 {
    let mean_train =
        folds.iter().map(|f| f.train.len()).sum::<usize>() as f64 / folds.len().max(1) as f64;
    n_rows as f64 / mean_train.max(1.0)
}

/// The speculative refit of a search's leader (see [`SearchCV::speculative_refit`]): the
/// tasks' scores and times as they finish, and the refit once one thread has run it.
pub(crate) struct SpeculativeRefit<'a, M> {
    /// Per task: its relative cost hint (0 when the estimator gives none).
    task_costs: &'a [f64],
    n_splits: usize,
    refit_rows_ratio: f64,
    n_jobs: usize,
    /// Per task (candidate or row, then fold): its selection score and seconds once done.
    done: std::sync::Mutex<Vec<Option<(f64, f64)>>>,
    claimed: std::sync::atomic::AtomicBool,
    refit: std::sync::Mutex<Speculated<M>>,
}

impl<'a, M> SpeculativeRefit<'a, M> {
    /// For tasks of `task_costs.len()` (candidate or row, fold) fits, `n_splits` folds each,
    /// run on `n_jobs` threads; a refit takes `refit_rows_ratio` times a fold fit.
    pub(crate) fn new(
        task_costs: &'a [f64],
        n_splits: usize,
        refit_rows_ratio: f64,
        n_jobs: usize,
    ) -> Self {
        SpeculativeRefit {
            task_costs,
            n_splits,
            refit_rows_ratio,
            n_jobs,
            done: std::sync::Mutex::new(vec![None; task_costs.len()]),
            claimed: std::sync::atomic::AtomicBool::new(false),
            refit: std::sync::Mutex::new(None),
        }
    }

    /// Notes that `task` finished with this selection score after `seconds`.
    pub(crate) fn finished(&self, task: usize, score: f64, seconds: f64) {
        if let Ok(mut done) = self.done.lock() {
            done[task] = Some((score, seconds));
        }
    }

    /// Runs `fit` on the leader (its candidate or row index) on this thread if no refit has
    /// been claimed yet and the tasks not yet started (`unstarted`) would keep the other
    /// threads busy no longer than the refit takes.
    pub(crate) fn consider(&self, unstarted: &[usize], fit: impl FnOnce(usize) -> Result<M>) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.claimed.load(SeqCst) {
            return;
        }
        let guess = match self.done.lock() {
            // With every fit done there is nothing left to overlap.
            Ok(done) if done.iter().any(Option::is_none) => {
                leader(&done, self.n_splits).filter(|&leader| {
                    tail_fits_within_refit(&TailEstimate {
                        done: &done,
                        task_costs: self.task_costs,
                        unstarted,
                        leader,
                        n_splits: self.n_splits,
                        refit_rows_ratio: self.refit_rows_ratio,
                        other_threads: self.n_jobs.saturating_sub(1),
                    })
                })
            }
            _ => None,
        };
        let Some(guess) = guess else { return };
        if self.claimed.swap(true, SeqCst) {
            return;
        }
        let started = Instant::now();
        let model = fit(guess);
        let seconds = started.elapsed().as_secs_f64();
        if let Ok(mut slot) = self.refit.lock() {
            *slot = Some((guess, model, seconds));
        }
    }

    /// The refit, if one ran: (candidate or row, model or error, seconds).
    pub(crate) fn into_refit(self) -> Speculated<M> {
        self.refit.into_inner().ok().flatten()
    }
}

/// What [`tail_fits_within_refit`] judges from.
struct TailEstimate<'a> {
    /// Per task (candidate-major, then fold): its selection score and seconds once done.
    pub(crate) done: &'a [Option<(f64, f64)>],
    /// Per task: its estimator's relative cost hint (0 when it gives none).
    pub(crate) task_costs: &'a [f64],
    /// Tasks not yet started.
    pub(crate) unstarted: &'a [usize],
    pub(crate) leader: usize,
    pub(crate) n_splits: usize,
    /// All rows over a fold's training rows: a refit's time over a fold fit's.
    pub(crate) refit_rows_ratio: f64,
    pub(crate) other_threads: usize,
}

/// Whether the fits not yet started would keep the other threads busy no longer than a
/// refit of the leader takes, so that refitting it now shortens the search. Judged from the
/// fits done: the refit from the leader's fold times scaled to all rows, the rest from the
/// cost hints calibrated on the finished fits (or, without hints, the mean fit time).
fn tail_fits_within_refit(e: &TailEstimate<'_>) -> bool {
    let leader_folds = &e.done[e.leader * e.n_splits..(e.leader + 1) * e.n_splits];
    let leader_seconds: f64 = leader_folds.iter().flatten().map(|&(_, t)| t).sum();
    let refit_seconds = leader_seconds / e.n_splits.max(1) as f64 * e.refit_rows_ratio;
    let (mut seconds, mut hinted, mut count) = (0.0, 0.0, 0usize);
    for (t, done) in e.done.iter().enumerate() {
        if let Some((_, time)) = done {
            seconds += time;
            hinted += e.task_costs[t];
            count += 1;
        }
    }
    let with_hints = hinted > 0.0 && e.unstarted.iter().all(|&t| e.task_costs[t] > 0.0);
    let tail_seconds = if with_hints {
        e.unstarted.iter().map(|&t| e.task_costs[t]).sum::<f64>() * (seconds / hinted)
    } else {
        e.unstarted.len() as f64 * seconds / count.max(1) as f64
    };
    tail_seconds <= e.other_threads as f64 * refit_seconds
}

/// The candidate that leads so far: the best mean score among the candidates whose folds
/// are all scored (the first on ties; NaN never leads), as the final ranking would pick if
/// the others did no better.
fn leader(done: &[Option<(f64, f64)>], n_splits: usize) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (c, folds) in done.chunks(n_splits.max(1)).enumerate() {
        let Some(sum) = folds.iter().try_fold(0.0, |acc, s| s.map(|(s, _)| acc + s)) else {
            continue;
        };
        let mean = sum / folds.len() as f64;
        if !mean.is_nan() && best.is_none_or(|(_, b)| mean > b) {
            best = Some((c, mean));
        }
    }
    best.map(|(c, _)| c)
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// `rankdata(-means, method='min')`, NaN ranked last.
fn rank_min(means: &[f64]) -> Vec<usize> {
    means
        .iter()
        .map(|&m| {
            if m.is_nan() {
                means.iter().filter(|v| !v.is_nan()).count() + 1
            } else {
                1 + means.iter().filter(|&&o| !o.is_nan() && o > m).count()
            }
        })
        .collect()
}

/// Train scores of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainScores {
    /// `split[candidate][fold]`.
    pub split: Vec<Vec<f64>>,
    /// Mean over folds.
    pub mean: Vec<f64>,
    /// Population std over folds.
    pub std: Vec<f64>,
}

/// One metric's columns of `cv_results_`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResults {
    /// Scorer name (`test_<name>` columns in multi-metric scikit-learn).
    pub name: String,
    /// `split_test[candidate][fold]`.
    pub split_test: Vec<Vec<f64>>,
    /// `mean_test_score`.
    pub mean_test: Vec<f64>,
    /// `std_test_score` (population std, ddof 0).
    pub std_test: Vec<f64>,
    /// `rank_test_score` (1 = best; ties share the smaller rank).
    pub rank_test: Vec<usize>,
    /// Train scores when asked for.
    pub train: Option<TrainScores>,
}

/// scikit-learn's `cv_results_`.
#[derive(Debug, Clone, PartialEq)]
pub struct CvResults {
    /// `params`, in evaluation order.
    pub params: Vec<Candidate>,
    /// One entry per scorer.
    pub metrics: Vec<MetricResults>,
    /// `mean_fit_time` (seconds).
    pub mean_fit_time: Vec<f64>,
    /// `std_fit_time`.
    pub std_fit_time: Vec<f64>,
    /// `mean_score_time`.
    pub mean_score_time: Vec<f64>,
    /// `std_score_time`.
    pub std_score_time: Vec<f64>,
    /// The first error of each candidate's failed fits, if any.
    pub errors: Vec<Option<String>>,
    /// Successive halving's `iter` column: the round of each row (None for grid and
    /// random search).
    pub iter: Option<Vec<usize>>,
    /// Successive halving's `n_resources` column: the resource each row was given.
    pub n_resources: Option<Vec<usize>>,
    /// Hyperband's bracket of each row.
    pub bracket: Option<Vec<usize>>,
}

impl CvResults {
    /// The first scorer's columns.
    pub fn primary(&self) -> &MetricResults {
        &self.metrics[0]
    }

    fn extra_columns(&self) -> Vec<(&'static str, &Vec<usize>)> {
        [
            ("iter", &self.iter),
            ("n_resources", &self.n_resources),
            ("bracket", &self.bracket),
        ]
        .into_iter()
        .filter_map(|(name, col)| col.as_ref().map(|c| (name, c)))
        .collect()
    }

    /// The table as CSV: one row per candidate, scikit-learn's column names.
    pub fn to_csv(&self) -> String {
        let mut header = vec![
            "params".to_string(),
            "mean_fit_time".into(),
            "std_fit_time".into(),
            "mean_score_time".into(),
            "std_score_time".into(),
        ];
        let multi = self.metrics.len() > 1;
        for m in &self.metrics {
            let suffix = if multi {
                m.name.clone()
            } else {
                "score".into()
            };
            for s in 0..m.split_test.first().map_or(0, |v| v.len()) {
                header.push(format!("split{s}_test_{suffix}"));
            }
            header.push(format!("mean_test_{suffix}"));
            header.push(format!("std_test_{suffix}"));
            header.push(format!("rank_test_{suffix}"));
            if m.train.is_some() {
                header.push(format!("mean_train_{suffix}"));
                header.push(format!("std_train_{suffix}"));
            }
        }
        let extra = self.extra_columns();
        header.extend(extra.iter().map(|(name, _)| name.to_string()));
        header.push("error".into());
        let mut out = header.join(",");
        out.push('\n');
        for c in 0..self.params.len() {
            let mut row = vec![
                format!(
                    "\"{}\"",
                    candidate_to_string(&self.params[c]).replace('"', "\"\"")
                ),
                self.mean_fit_time[c].to_string(),
                self.std_fit_time[c].to_string(),
                self.mean_score_time[c].to_string(),
                self.std_score_time[c].to_string(),
            ];
            for m in &self.metrics {
                row.extend(m.split_test[c].iter().map(|v| v.to_string()));
                row.push(m.mean_test[c].to_string());
                row.push(m.std_test[c].to_string());
                row.push(m.rank_test[c].to_string());
                if let Some(t) = &m.train {
                    row.push(t.mean[c].to_string());
                    row.push(t.std[c].to_string());
                }
            }
            row.extend(extra.iter().map(|(_, col)| col[c].to_string()));
            row.push(format!(
                "\"{}\"",
                self.errors[c]
                    .clone()
                    .unwrap_or_default()
                    .replace('"', "\"\"")
            ));
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }

    /// The table as JSON (column name → list), NaN written as null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let mut map = serde_json::Map::new();
        map.insert(
            "params".into(),
            Value::Array(self.params.iter().map(candidate_to_json).collect()),
        );
        map.insert(
            "mean_fit_time".into(),
            Value::Array(self.mean_fit_time.iter().map(|&v| num(v)).collect()),
        );
        map.insert(
            "std_fit_time".into(),
            Value::Array(self.std_fit_time.iter().map(|&v| num(v)).collect()),
        );
        map.insert(
            "mean_score_time".into(),
            Value::Array(self.mean_score_time.iter().map(|&v| num(v)).collect()),
        );
        map.insert(
            "std_score_time".into(),
            Value::Array(self.std_score_time.iter().map(|&v| num(v)).collect()),
        );
        let multi = self.metrics.len() > 1;
        for m in &self.metrics {
            let suffix = if multi {
                m.name.clone()
            } else {
                "score".into()
            };
            let n_splits = m.split_test.first().map_or(0, |v| v.len());
            for s in 0..n_splits {
                map.insert(
                    format!("split{s}_test_{suffix}"),
                    Value::Array(m.split_test.iter().map(|v| num(v[s])).collect()),
                );
            }
            map.insert(
                format!("mean_test_{suffix}"),
                Value::Array(m.mean_test.iter().map(|&v| num(v)).collect()),
            );
            map.insert(
                format!("std_test_{suffix}"),
                Value::Array(m.std_test.iter().map(|&v| num(v)).collect()),
            );
            map.insert(format!("rank_test_{suffix}"), json!(m.rank_test));
            if let Some(t) = &m.train {
                map.insert(
                    format!("mean_train_{suffix}"),
                    Value::Array(t.mean.iter().map(|&v| num(v)).collect()),
                );
                map.insert(
                    format!("std_train_{suffix}"),
                    Value::Array(t.std.iter().map(|&v| num(v)).collect()),
                );
            }
        }
        for (name, col) in self.extra_columns() {
            map.insert(name.into(), json!(col));
        }
        map.insert("error".into(), json!(self.errors));
        Value::Object(map)
    }
}

/// A finished search: results, the best candidate and (with refit) its model trained on
/// all rows.
#[derive(Debug, Clone)]
pub struct FittedSearch<E, M> {
    pub(crate) cv_results: CvResults,
    pub(crate) best_index: Option<usize>,
    pub(crate) best_score: Option<f64>,
    pub(crate) best_params: Option<Candidate>,
    pub(crate) best_estimator: Option<E>,
    pub(crate) best_model: Option<M>,
    pub(crate) refit_time: Option<f64>,
    pub(crate) n_splits: usize,
    pub(crate) classes_len: usize,
    pub(crate) resumed_fits: usize,
    pub(crate) skipped_fits: usize,
    pub(crate) stop_reason: Option<String>,
    pub(crate) pending: Vec<PendingFit>,
}

impl<E, M> FittedSearch<E, M> {
    /// The fits the round in progress still needs, in task order: what a stopped, sharded
    /// or [planned](SearchCV::plan_only) run left for the next run (empty for a complete
    /// search, or one stopped between rounds).
    pub fn pending(&self) -> &[PendingFit] {
        &self.pending
    }

    /// Whether some fits were never started or were dropped (time budget spent or too many
    /// failures in a row); their scores are NaN and their candidates rank last.
    pub fn is_partial(&self) -> bool {
        self.skipped_fits > 0
    }
    /// How many (candidate, fold) fits were never started, or dropped because they come
    /// after the fit where [too many failures in a row](SearchCV::max_consecutive_failures)
    /// stopped the search. For halving and Hyperband searches this includes every fit the
    /// schedule planned for the rounds never entered.
    pub fn skipped_fits(&self) -> usize {
        self.skipped_fits
    }
    /// Why the search stopped starting fits, if it did.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }
    /// How many (candidate, fold) results came from the journal instead of being fitted
    /// (not counting recorded fits dropped after a failure limit's trip).
    pub fn resumed_fits(&self) -> usize {
        self.resumed_fits
    }
    /// `cv_results_`.
    pub fn cv_results(&self) -> &CvResults {
        &self.cv_results
    }
    /// `best_index_` (none with several metrics and `refit(false)`, as in scikit-learn).
    pub fn best_index(&self) -> Option<usize> {
        self.best_index
    }
    /// `best_score_`: mean test score of the best candidate.
    pub fn best_score(&self) -> Option<f64> {
        self.best_score
    }
    /// `best_params_`.
    pub fn best_params(&self) -> Option<&Candidate> {
        self.best_params.as_ref()
    }
    /// `best_estimator_`'s params.
    pub fn best_estimator(&self) -> Option<&E> {
        self.best_estimator.as_ref()
    }
    /// `best_estimator_`'s fitted model (refit on all rows).
    pub fn best_model(&self) -> Option<&M> {
        self.best_model.as_ref()
    }
    /// `refit_time_` in seconds.
    pub fn refit_time(&self) -> Option<f64> {
        self.refit_time
    }
    /// `n_splits_`.
    pub fn n_splits(&self) -> usize {
        self.n_splits
    }
    /// Number of classes seen (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.classes_len
    }

    fn refitted(&self) -> Result<(&E, &M)> {
        match (&self.best_estimator, &self.best_model) {
            (Some(e), Some(m)) => Ok((e, m)),
            _ => Err(MlpTuneError::NotFitted(
                "this search ran with refit(false): there is no best estimator to predict with"
                    .into(),
            )),
        }
    }

    /// Predictions of the refitted best estimator.
    pub fn try_predict<F: Float, T, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array1<T>>
    where
        E: Estimator<F, T, Model = M>,
    {
        let (e, m) = self.refitted()?;
        e.predict_xy(m, x.view())
    }

    /// Class probabilities of the refitted best estimator.
    pub fn predict_proba<F: Float, T, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array2<F>>
    where
        E: Estimator<F, T, Model = M>,
    {
        let (e, m) = self.refitted()?;
        e.predict_proba_xy(m, x.view()).unwrap_or_else(|| {
            Err(MlpTuneError::Scoring(
                "the best estimator has no predict_proba".into(),
            ))
        })
    }

    /// Scores the refitted best estimator on `(x, y)` with a scorer. Records and targets
    /// are taken by reference, owned or views, as by the estimators' own `score`; targets
    /// of another length than the records are an error, never a panic.
    pub fn score<F: Float, T: ScoreTarget, D: Data<Elem = F>, S: Data<Elem = T>>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &ArrayBase<S, Ix1>,
        scorer: &Scorer<T>,
        classes: &[T],
    ) -> Result<f64>
    where
        E: Estimator<F, T, Model = M>,
    {
        let (e, m) = self.refitted()?;
        let pred = e.predict_xy(m, x.view())?;
        let proba = if scorer.needs_proba() {
            e.predict_proba_xy(m, x.view()).transpose()?
        } else {
            None
        };
        if y.len() != pred.len() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but targets have {}",
                pred.len(),
                y.len()
            )));
        }
        T::score(
            scorer,
            y.view(),
            pred.view(),
            proba.as_ref().map(|p| p.view()),
            classes,
        )
    }
}

/// Predicts through the refitted best estimator. Errors cannot be reported through this
/// trait, so the targets keep their defaults; use [`FittedSearch::try_predict`].
impl<F, T, E, M, D> PredictInplace<ArrayBase<D, Ix2>, Array1<T>> for FittedSearch<E, M>
where
    F: Float,
    T: Clone + Default,
    E: Estimator<F, T, Model = M>,
    D: Data<Elem = F>,
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<T>) {
        if let Ok(p) = self.try_predict(x) {
            if p.len() == y.len() {
                y.assign(&p);
            }
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<T> {
        Array1::from_elem(x.nrows(), T::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_ties_share_the_smaller_rank_and_nan_is_last() {
        assert_eq!(
            rank_min(&[0.5, 0.9, 0.5, f64::NAN, 0.1]),
            vec![2, 1, 2, 5, 4]
        );
    }

    #[test]
    fn failure_runs_trip_in_task_order_whatever_the_finishing_order() {
        // Task order: ok, fail, ok, fail, fail, fail, ok; a limit of 3 trips at task 5.
        let failed = [false, true, false, true, true, true, false];
        let orders: [[usize; 7]; 3] = [
            [0, 1, 2, 3, 4, 5, 6],
            [6, 5, 4, 3, 1, 0, 2],
            [3, 4, 5, 1, 6, 0, 2],
        ];
        for order in orders {
            let run = FailureRun::new(Some(3), failed.len());
            let mut tripped_at = None;
            for (k, &t) in order.iter().enumerate() {
                if run.finished(t, failed[t]) {
                    tripped_at = Some(k);
                }
            }
            assert_eq!(run.trip(), Some(5), "{order:?}");
            // Known once every task up to 5 has finished, and only then.
            let last_needed = order.iter().rposition(|&t| t <= 5).unwrap();
            assert_eq!(tripped_at, Some(last_needed), "{order:?}");
            assert!(run.keeps(5) && !run.keeps(6));
            assert_eq!(run.reason().as_deref(), Some("3 fits in a row failed"));
        }
        // The run carries into the next batch; a success resets it.
        let run = FailureRun::new(Some(3), 3);
        for (t, f) in [false, true, true].into_iter().enumerate() {
            assert!(!run.finished(t, f));
        }
        run.batch(2);
        assert!(!run.finished(1, false));
        assert!(run.finished(0, true));
        assert_eq!(run.trip(), Some(0));
        assert!(!run.keeps(1));
        // Without a limit nothing trips.
        let none = FailureRun::new(None, 4);
        assert!((0..4).all(|t| !none.finished(t, true)));
        assert_eq!((none.trip(), none.reason()), (None, None));
        assert!(none.keeps(3));
    }

    #[test]
    fn the_leader_is_the_best_complete_candidate_first_on_ties() {
        let done = |v: &[Option<f64>]| -> Vec<Option<(f64, f64)>> {
            v.iter().map(|s| s.map(|s| (s, 1.0))).collect()
        };
        // 2 folds per candidate; candidate 1 is incomplete, candidate 3 is NaN.
        let scores = [
            Some(-2.0),
            Some(-2.0),
            Some(0.0),
            None,
            Some(-1.0),
            Some(-1.0),
            Some(f64::NAN),
            Some(5.0),
            Some(-1.0),
            Some(-1.0),
        ];
        assert_eq!(leader(&done(&scores), 2), Some(2));
        assert_eq!(leader(&done(&[None, Some(1.0)]), 2), None);
    }

    #[test]
    fn a_refit_starts_once_the_tail_fits_in_the_other_threads() {
        // 3 candidates x 2 folds; hints 4, 2, 1; fits so far took 1 s per hint unit.
        let task_costs = [4.0, 4.0, 2.0, 2.0, 1.0, 1.0];
        let mut done = vec![None; 6];
        done[0] = Some((-1.0, 4.0));
        done[1] = Some((-1.0, 4.0));
        done[2] = Some((-2.0, 2.0));
        let estimate = |unstarted: &[usize], other_threads: usize| {
            tail_fits_within_refit(&TailEstimate {
                done: &done,
                task_costs: &task_costs,
                unstarted,
                leader: 0,
                n_splits: 2,
                refit_rows_ratio: 1.5,
                other_threads,
            })
        };
        // The leader's refit: 4 s x 1.5 = 6 s. Left to start: 2 + 1 + 1 = 4 s.
        assert!(estimate(&[3, 4, 5], 1));
        // 3 x 2 s would be too many for one other thread, not for three.
        assert!(!estimate(&[3, 3, 3, 3], 1));
        assert!(estimate(&[3, 3, 3, 3], 3));
        // No hints: the mean fit time (10 s / 3) per task left.
        let no_hints = [0.0; 6];
        let by_count = |unstarted: &[usize]| {
            tail_fits_within_refit(&TailEstimate {
                task_costs: &no_hints,
                unstarted,
                done: &done,
                leader: 0,
                n_splits: 2,
                refit_rows_ratio: 1.5,
                other_threads: 1,
            })
        };
        assert!(by_count(&[3]));
        assert!(!by_count(&[3, 4]));
    }

    #[test]
    fn std_is_population_std() {
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 1.0));
    }
}
