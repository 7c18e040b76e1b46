//! [`TpeSearchCV`]: a search that learns from its results, with Optuna 5.0.0's
//! Tree-structured Parzen Estimator ([`tpe`](super::tpe)) proposing each trial from the
//! cross-validated scores of the trials before it.
//!
//! The whole search is one strategy of the search core: the core runs each batch of
//! trials (every (trial, fold) fit on `n_jobs` threads, journaled), this file decides what
//! the next batch is.
//!
//! **Objective.** A trial's value is its mean test score over the same folds for every
//! trial, on the refit metric (the first scorer by default), greater is better. A trial
//! with a failed fold (or a NaN mean) is a failed trial: it gets `error_score` in
//! `cv_results` and is invisible to the sampler, and the search goes on.
//!
//! **Determinism.** Trials are proposed in synchronous batches of
//! [`batch_size`](SearchCV::batch_size) trials: the sampler proposes them one after another
//! from the finished history, counting the earlier proposals of the batch as running
//! (Optuna's constant liar), then the batch runs. Results depend on the seed and the batch
//! size, never on `n_jobs` or on the order fits finish in, and a search stopped and rerun
//! with its [journal](SearchCV::journal) proposes the same trials and gives the same result.
//! Startup trials (random draws, see [`TpeOptions::n_startup_trials`]) do not depend on
//! results, so they run as one batch whatever the batch size: the same draws as a
//! sequential search, with more fits in parallel.

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::Float;

use super::param_space::{Candidate, ParamDistributions};
use super::runner::{Batch, History, ResourceKind, Runner, Strategy, Trial};
use super::scoring::ScoreTarget;
use super::search::{FittedSearch, SearchCV};
use super::tpe::{nothing_to_search, propose, TpeOptions, TpeRng, TpeTrial, TrialState};
use super::validation::{class_ids, dataset_views, AsView2, Estimator};
use crate::error::{invalid_param, MlpTuneError, Result};

/// What a TPE search searches: the distributions, the number of trials, the batch size,
/// the sampler's options and the seed. Built by [`TpeSearchCV::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct TpeSpace {
    distributions: ParamDistributions,
    n_trials: usize,
    batch_size: usize,
    options: TpeOptions,
    random_state: u32,
}

/// A cross-validated search whose trials are proposed by TPE (Optuna 5.0.0's
/// `TPESampler`, defaults included) from the scores of the trials before them. It takes
/// every option of [`GridSearchCV`](super::GridSearchCV) (`cv`, `scoring`, `refit`,
/// `error_score`, `n_jobs`, `observer`, `journal`, `time_budget`,
/// `max_consecutive_failures`, ...) plus its own: [`batch_size`](SearchCV::batch_size),
/// [`tpe_options`](SearchCV::tpe_options), [`random_state`](SearchCV::random_state).
///
/// A space written for [`RandomizedSearchCV`](super::RandomizedSearchCV) works unchanged.
/// The best candidate is the best mean test score over all trials; `cv_results` has one
/// row per trial, in the order proposed.
///
/// ```
/// use mlp_tune::model_selection::{by_name, Distribution, ParamDistributions, TpeSearchCV};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let base = MLPRegressor::<f64>::params().solver(Solver::Lbfgs).max_iter(20).random_state(0);
/// let space = ParamDistributions::new()
///     .add("alpha", Distribution::LogUniform { low: 1e-5, high: 1e1 })
///     .add("hidden_layer_sizes", Distribution::list([[4usize], [16]]));
/// let search = TpeSearchCV::new(by_name(base), space, 12)
///     .tpe_options(mlp_tune::model_selection::TpeOptions { n_startup_trials: 5, ..Default::default() })
///     .batch_size(2)
///     .random_state(1)
///     .cv(3)
///     .fit(&data)
///     .unwrap();
/// assert_eq!(search.cv_results().params.len(), 12);
/// assert!(search.best_score().is_some());
/// ```
pub type TpeSearchCV<B, T> = SearchCV<B, T, TpeSpace>;

impl<B, T> SearchCV<B, T, TpeSpace> {
    /// A TPE search of `n_trials` trials over `distributions`, building each trial's
    /// estimator with `builder` (for our MLPs, [`by_name`](super::by_name)). Defaults:
    /// batch size 1 (sequential, as Optuna), [`TpeOptions::default`] (Optuna 5.0.0's),
    /// seed 0.
    pub fn new(builder: B, distributions: ParamDistributions, n_trials: usize) -> Self {
        SearchCV::with_space(
            builder,
            TpeSpace {
                distributions,
                n_trials,
                batch_size: 1,
                options: TpeOptions::default(),
                random_state: 0,
            },
        )
    }

    /// Trials proposed (and run) together: `B >= 1`, default 1. Larger batches keep more
    /// threads busy; their later trials are proposed without the results of the earlier
    /// ones (counted as running, the constant liar), so learning is coarser.
    pub fn batch_size(mut self, b: usize) -> Self {
        self.space.batch_size = b;
        self
    }

    /// The sampler's options (startup trials, candidates per proposal, multivariate,
    /// prior weight, ...); every field documents its default and range.
    pub fn tpe_options(mut self, options: TpeOptions) -> Self {
        self.space.options = options;
        self
    }

    /// Seed of the sampler's draws, through the crate's `NumpyRng`: as Optuna's
    /// `TPESampler(seed=...)`, one generator for the startup draws and one for the model's,
    /// both seeded with it.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.space.random_state = seed;
        self
    }

    /// The search's space and settings.
    pub fn space(&self) -> &TpeSpace {
        &self.space
    }

    /// Runs the search on a dataset.
    ///
    /// Errors (before any fit): `n_trials` or `batch_size` of 0, `n_startup_trials` larger
    /// than `n_trials` (the search would be a random search: use
    /// [`RandomizedSearchCV`](super::RandomizedSearchCV)), options out of range
    /// ([`MlpTuneError::InvalidParameter`]); an empty space, an invalid distribution or a
    /// space with nothing to choose ([`MlpTuneError::SearchSpace`]); a journal written by a
    /// different search, including the same search over other distributions
    /// ([`MlpTuneError::Journal`]).
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
        let space = &self.space;
        space.check()?;
        // The first startup draw: it checks the space, and its estimator tells the kind
        // of model and stands for the estimator settings in the journal fingerprint.
        let probe = propose(
            &space.distributions,
            &[],
            &space.options,
            &mut TpeRng::new(space.random_state),
        )?;
        let mut strategy = TpeStrategy {
            space,
            rng: TpeRng::new(space.random_state),
        };
        self.fit_strategy(dataset, "tpe", space.n_trials, probe, &mut strategy)
    }
}

impl<B, T, S: Sync + std::fmt::Debug> SearchCV<B, T, S> {
    /// Runs a search of `n_trials` trials proposed by `strategy` (a model-based search: no
    /// resource, the best among all trials, the refit after the search). `probe`, the
    /// first proposal, tells the kind of model and stands for the estimator settings in
    /// the journal fingerprint, with `kind` and the settings' `Debug` text.
    pub(crate) fn fit_strategy<F, E, R, TT>(
        &self,
        dataset: &DatasetBase<R, TT>,
        kind: &str,
        n_trials: usize,
        probe: Candidate,
        strategy: &mut dyn Strategy,
    ) -> Result<FittedSearch<E, E::Model>>
    where
        F: Float,
        T: ScoreTarget + PartialOrd,
        B: Fn(&Candidate) -> Result<E> + Sync,
        E: Estimator<F, T>,
        R: Records + AsView2<F>,
        TT: AsSingleTargets<Elem = T>,
    {
        let (x, y) = dataset_views(dataset)?;
        let probe_estimator = (self.builder)(&probe)?;
        let classifier = probe_estimator.is_classifier();
        let (scorers, refit_index) = self.resolve_scorers(classifier)?;
        let classes = T::classes_of(y.view());
        let ids = class_ids(y.view(), &classes);
        let folds = self.cv.folds(x.nrows(), ids.as_deref(), classifier)?;
        if let Some(observer) = &self.observer {
            observer.on_search_start(n_trials, folds.len());
        }
        let journal = self.open_journal(|| {
            let settings = format!("{:?}", self.space);
            let fingerprint = self.fingerprint_of(
                kind,
                &settings,
                x,
                y.view(),
                std::slice::from_ref(&probe),
                std::slice::from_ref(&probe_estimator),
                &folds,
                &scorers,
            );
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
        let out = runner.run(strategy)?;
        let best_rows = strategy.best_rows(&out.history);
        let mut fitted = runner.finish(out, &best_rows, Some(runner.selection), refit_index)?;
        let results = &mut fitted.cv_results;
        (results.n_resources, results.bracket) = (None, None);
        Ok(fitted)
    }
}

impl TpeSpace {
    /// Checks what can be checked before any fit.
    fn check(&self) -> Result<()> {
        check_trials(
            &self.distributions,
            self.n_trials,
            self.batch_size,
            ("n_startup_trials", self.options.n_startup_trials),
        )?;
        self.options.validate()
    }
}

/// Checks what a model-based search needs before any fit: `n_trials` and `batch_size` of
/// at least 1, at most `n_trials` random first trials (`random.1`, the option named
/// `random.0`), and a valid space with something to choose.
pub(crate) fn check_trials(
    distributions: &ParamDistributions,
    n_trials: usize,
    batch_size: usize,
    random: (&str, usize),
) -> Result<()> {
    if n_trials == 0 {
        return Err(invalid_param("n_trials", "must be >= 1"));
    }
    if batch_size == 0 {
        return Err(invalid_param("batch_size", "must be >= 1"));
    }
    let (name, n_random) = random;
    if n_random > n_trials {
        return Err(invalid_param(
            name,
            format!(
                "{n_random} random first trials of {n_trials} trials: every trial would be a \
                 random draw; lower {name} or use RandomizedSearchCV"
            ),
        ));
    }
    if distributions.is_empty() {
        return Err(MlpTuneError::SearchSpace(
            "the parameter distributions are empty".into(),
        ));
    }
    for (name, dist) in distributions.iter() {
        dist.validate(name)?;
    }
    if nothing_to_search(distributions) {
        return Err(MlpTuneError::SearchSpace(
            "every parameter has a single value: there is nothing to search".into(),
        ));
    }
    Ok(())
}

/// A batch of proposed trials, numbered after the history's rows, tagged with the batch
/// count; the refit runs after the search (the best may come from any batch).
pub(crate) fn trial_batch(proposed: Vec<Candidate>, history: &History) -> Batch {
    let done = history.n_rows();
    Batch {
        trials: proposed
            .into_iter()
            .enumerate()
            .map(|(i, params)| Trial {
                params,
                config: done + i,
                bracket: 0,
                iter: history.batches,
                resource: 0,
                prev_resource: 0,
                folds: None,
            })
            .collect(),
        rounds: Vec::new(),
        decides_best: false,
        holds: Vec::new(),
    }
}

/// TPE as a strategy of the search core.
struct TpeStrategy<'a> {
    space: &'a TpeSpace,
    /// The generators for the whole search, so that proposals are a function of the seed
    /// and the results.
    rng: TpeRng,
}

impl Strategy for TpeStrategy<'_> {
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>> {
        let space = self.space;
        let done = history.n_rows();
        if done >= space.n_trials {
            return Ok(None);
        }
        let states: Vec<TrialState> = (0..done).map(|r| trial_state(history, r)).collect();
        let n_complete = states
            .iter()
            .filter(|s| matches!(s, TrialState::Complete(_)))
            .count();
        // Startup draws do not depend on results: take them all at once.
        let startup_left = space.options.n_startup_trials.saturating_sub(n_complete);
        let size = space
            .batch_size
            .max(startup_left)
            .min(space.n_trials - done);
        let mut proposed: Vec<Candidate> = Vec::with_capacity(size);
        for _ in 0..size {
            let trials: Vec<TpeTrial<'_>> = history
                .params
                .iter()
                .zip(&states)
                .map(|(params, &state)| TpeTrial { params, state })
                .chain(proposed.iter().map(|params| TpeTrial {
                    params,
                    state: TrialState::Running,
                }))
                .collect();
            let next = propose(&space.distributions, &trials, &space.options, &mut self.rng)?;
            proposed.push(next);
        }
        Ok(Some(trial_batch(proposed, history)))
    }

    fn planned_fits_left(&self, history: &History) -> usize {
        self.space.n_trials.saturating_sub(history.n_rows()) * history.n_splits
    }
}

/// A row of the history as a TPE trial: complete with its mean test score, or failed (a
/// failed fold or a NaN mean), which makes it invisible to the sampler.
pub(crate) fn trial_state(history: &History, row: usize) -> TrialState {
    let folds = &history.outcomes[row * history.n_splits..(row + 1) * history.n_splits];
    let mean = history.mean_score(row);
    if folds.iter().any(|o| o.error.is_some()) || mean.is_nan() {
        TrialState::Failed
    } else {
        TrialState::Complete(mean)
    }
}
