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

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::prelude::{Fit, ParamGuard};
use linfa::Float;
use ndarray::{ArrayBase, ArrayView1, Data, Ix2};

use super::journal::{Fingerprint, Journal};
use super::param_space::{candidate_to_json, Candidate, ParamDistributions, ParamGrid, SetParams};
use super::runner::{Batch, History, ResourceKind, Runner, Strategy, Trial};
use super::scoring::{ScoreTarget, Scorer};
use super::validation::{class_ids, dataset_views, AsView2, Cv, Estimator};
use crate::error::{MlpTuneError, Result};

pub use super::cv_results::{CvResults, MetricResults, TrainScores};
pub use super::fitted::FittedSearch;
pub use super::observer::{FitEvent, RoundEvent, SearchObserver};

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
            holds: Vec::new(),
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
