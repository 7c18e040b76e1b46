//! The search core: one runner that every search is a strategy of.
//!
//! A [`Strategy`] proposes the next batch of trials from the history so far (a trial is a
//! candidate with its resource, the model it continues and a tag: bracket and round), or
//! says it is done, and names the rows its best is chosen among. The runner owns all the
//! rest, once for every search: the executor on `n_jobs` threads, the journal (a trial is
//! found in it by its content: tag, configuration, parameters and fold), the time budget
//! and the failure limit, cost ordering, the warm-model cache for continued training, the
//! speculative refit, observer events, `cv_results`, best and refit.
//!
//! Grid and random searches are a strategy of one batch; successive halving and Hyperband
//! propose a round (a step of their brackets) at a time; TPE proposes batches of trials
//! drawn from a model of the history.
//!
//! Results are collected by task index, so they are identical for any `n_jobs`; a strategy
//! sees only finished batches, so its proposals are a function of the seed and the results,
//! and a search resumed from its journal proposes the same trials again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linfa::Float;
use ndarray::{ArrayView1, ArrayView2};

use super::cv_results::build_cv_results;
use super::journal::{Journal, RoundEntry, TrialKey};
use super::param_space::Candidate;
use super::scoring::{ScoreTarget, Scorer};
use super::search::{Execution, FitEvent, FittedSearch, PendingFit, RoundEvent, SearchCV};
use super::speculative::{refit_rows_ratio, FailureRun, SpeculativeRefit};
use super::split::Fold;
use super::validation::{fit_and_score_by, run_parallel_with_side_work, Estimator, FoldOutcome};
use crate::error::{invalid_param, MlpTuneError, Result};

mod batch;

/// One finished (candidate, fold, round) fit: a plain record, in the order results are
/// collected. The candidates of a round are those with records of that `(bracket, iter)`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HalvingRecord {
    /// Hyperband bracket (0 for a halving search).
    pub bracket: usize,
    /// Round within the bracket.
    pub iter: usize,
    /// Row of `cv_results`.
    pub row: usize,
    /// Index of the candidate in the search's candidate list (before the resource
    /// parameter is added).
    pub candidate: usize,
    /// Fold.
    pub split: usize,
    /// The round's resource.
    pub n_resources: usize,
    /// Test score of each scorer.
    pub test_scores: Vec<f64>,
    /// Train scores when asked for.
    pub train_scores: Option<Vec<f64>>,
    /// Seconds fitting (or continuing).
    pub fit_time: f64,
    /// Seconds scoring.
    pub score_time: f64,
    /// The error of a failed fit.
    pub error: Option<String>,
    /// Resource actually spent by this fit: epochs trained (only the extra ones when a
    /// model was continued; the counted epochs when the estimator reports them), else the
    /// round's resource (training rows with `resource = n_samples`).
    pub cost: usize,
}

/// How a trial's resource is given, which decides continuation and cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    /// No resource (grid, random and model-based searches): every trial is a full fit.
    None,
    /// Training epochs: models that can continue are kept between rounds.
    Epochs,
    /// Training rows: the trial's folds are subsampled.
    Rows,
    /// Any other integer parameter: every round retrains.
    Param,
}

/// One trial a strategy proposes: the parameters to build the estimator from (the
/// resource parameter included), the strategy's configuration id (a candidate index, the
/// key of the warm-model cache with the fold), its resource and tag.
#[derive(Debug, Clone)]
pub(crate) struct Trial {
    pub(crate) params: Candidate,
    pub(crate) config: usize,
    pub(crate) bracket: usize,
    pub(crate) iter: usize,
    /// The round's resource (0 without one).
    pub(crate) resource: usize,
    /// The resource of the configuration's previous round in this bracket (0 in the
    /// first): a continued model trains only the difference.
    pub(crate) prev_resource: usize,
    /// The folds, when the trial's differ from the search's (subsampled rows).
    pub(crate) folds: Option<Arc<Vec<Fold>>>,
}

/// A batch of trials run together on the thread pool.
#[derive(Debug, Clone, Default)]
pub(crate) struct Batch {
    pub(crate) trials: Vec<Trial>,
    /// Round events announced before the batch runs.
    pub(crate) rounds: Vec<RoundEvent>,
    /// No batch follows and the best candidate will be one of this batch's trials (the
    /// last round of successive halving, the one batch of a grid search), so the refit of
    /// the best may overlap the batch: run alongside its fits when the batch has a single
    /// trial, or speculated on its leader.
    pub(crate) decides_best: bool,
    /// Configurations whose warm models (from earlier batches) are kept through this batch
    /// for a later one to continue, besides those this batch continues (a step of
    /// brackets run in several batches).
    pub(crate) holds: Vec<usize>,
}

/// What the runner has done so far: one row per evaluated trial, in the order run.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) params: Vec<Candidate>,
    pub(crate) config: Vec<usize>,
    pub(crate) iter: Vec<usize>,
    pub(crate) n_resources: Vec<usize>,
    pub(crate) bracket: Vec<usize>,
    /// `outcomes[row * n_splits + split]`.
    pub(crate) outcomes: Vec<FoldOutcome>,
    /// `complete[row]`: every fold of the row was fitted (or taken from the journal).
    pub(crate) complete: Vec<bool>,
    pub(crate) n_splits: usize,
    /// Scorer that selects candidates.
    pub(crate) selection: usize,
    /// Batches run.
    pub(crate) batches: usize,
}

impl History {
    pub(crate) fn n_rows(&self) -> usize {
        self.params.len()
    }

    /// Mean test score of a row on the selecting scorer (NaN when a fold failed with a NaN
    /// error score).
    pub(crate) fn mean_score(&self, row: usize) -> f64 {
        let start = row * self.n_splits;
        let v: Vec<f64> = self.outcomes[start..start + self.n_splits]
            .iter()
            .map(|o| o.test_scores[self.selection])
            .collect();
        v.iter().sum::<f64>() / self.n_splits as f64
    }

    /// Rounds entered by each of `n_brackets` brackets.
    pub(crate) fn rounds_entered(&self, n_brackets: usize) -> Vec<usize> {
        let mut entered = vec![0; n_brackets];
        for (&b, &i) in self.bracket.iter().zip(&self.iter) {
            if let Some(e) = entered.get_mut(b) {
                *e = (*e).max(i + 1);
            }
        }
        entered
    }
}

/// A search as the runner sees it.
pub(crate) trait Strategy {
    /// The next batch from the history so far, or `None` when the search is done. Called
    /// once before the first batch and after every batch that ran in full.
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>>;

    /// Fits the strategy would still have run after the history, had the search not
    /// stopped (counted in `skipped_fits`).
    fn planned_fits_left(&self, history: &History) -> usize;

    /// Rows the best candidate is chosen among (all rows unless the strategy says
    /// otherwise, e.g. the last complete round of each bracket).
    fn best_rows(&self, history: &History) -> Vec<usize> {
        (0..history.n_rows()).collect()
    }
}

/// What the runner gives back besides the history.
pub(crate) struct RunOutput<E, M> {
    pub(crate) history: History,
    /// The refit, when it ran alongside the last batch: the row it refits, its estimator,
    /// model (or error) and seconds.
    pub(crate) early_refit: Option<(usize, E, Result<M>, f64)>,
    /// (candidate, fold) fits never started.
    pub(crate) skipped: usize,
    /// Why the search stopped starting fits, when it skipped some.
    pub(crate) stop_reason: Option<String>,
    pub(crate) records: Vec<HalvingRecord>,
    /// Fits taken from the journal.
    pub(crate) resumed: usize,
    pub(crate) rebuilds: Rebuilds,
    /// (row, fold) of the fits of the last batch entered that did not run.
    pub(crate) pending: Vec<PendingFit>,
}

/// What resuming from a journal cost beyond the unfinished fits themselves: (candidate,
/// fold) models rebuilt because the model they continue was not carried over (its round
/// came from the journal), and the epochs that took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rebuilds {
    pub(crate) models: usize,
    pub(crate) epochs: usize,
}

/// A finished trial fit.
struct FoldDone<M> {
    outcome: FoldOutcome,
    model: Option<M>,
    cost: usize,
    /// Taken from the journal.
    recorded: bool,
    /// Epochs retrained to rebuild the model this fit continues, if it had to be rebuilt.
    rebuilt: Option<usize>,
}

/// One task of a batch: a (row, fold) fit, or the refit overlapped with the last batch.
enum TaskOut<M> {
    Fold(Result<FoldDone<M>>),
    Refit(Result<M>, f64),
    /// Not started: the search had stopped.
    Skipped,
}

/// The limits of [`SearchCV::time_budget`] and [`SearchCV::max_consecutive_failures`]:
/// the budget is checked before each fit starts; failures in a row are counted in the task
/// order of each batch (rows, then folds; fits taken from the journal included), carried
/// across batches, so the search trips at the same fit for any thread count (see
/// [`FailureRun`]).
struct Stopper {
    budget: Option<Duration>,
    started: Instant,
    /// Why the time budget stopped the search.
    reason: Mutex<Option<String>>,
    failures: FailureRun,
}

impl Stopper {
    fn new(budget: Option<Duration>, max_failures: Option<usize>) -> Self {
        Stopper {
            budget,
            started: Instant::now(),
            reason: Mutex::new(None),
            failures: FailureRun::new(max_failures, 0),
        }
    }

    /// Whether the search has stopped, after checking the budget.
    fn stopped(&self) -> bool {
        if self.failures.trip().is_some() {
            return true;
        }
        if let Some(budget) = self.budget {
            if self.started.elapsed() >= budget {
                if let Ok(mut r) = self.reason.lock() {
                    r.get_or_insert(format!("time budget of {budget:?} spent"));
                }
            }
        }
        self.reason.lock().map(|r| r.is_some()).unwrap_or(true)
    }

    /// Why the search stopped: a trip of the failure limit decides which results are kept,
    /// whatever the clock did.
    fn reason(&self) -> Option<String> {
        self.failures
            .reason()
            .or_else(|| self.reason.lock().ok().and_then(|r| r.clone()))
    }
}

/// The outcome of a (row, fold) fit that was never started: NaN scores, so its row ranks
/// last, and the reason as its error.
pub(crate) fn not_fitted(
    n_scorers: usize,
    return_train_score: bool,
    reason: Option<&str>,
) -> FoldOutcome {
    FoldOutcome {
        test_scores: vec![f64::NAN; n_scorers],
        train_scores: return_train_score.then(|| vec![f64::NAN; n_scorers]),
        fit_time: f64::NAN,
        score_time: f64::NAN,
        error: Some(format!(
            "not fitted: {}",
            reason.unwrap_or("the search stopped")
        )),
    }
}

/// Everything a run needs besides the strategy.
pub(crate) struct Runner<'a, B, T, F, S> {
    pub(crate) opts: &'a SearchCV<B, T, S>,
    pub(crate) x: ArrayView2<'a, F>,
    pub(crate) y: ArrayView1<'a, T>,
    pub(crate) folds: &'a [Fold],
    pub(crate) scorers: &'a [Scorer<T>],
    pub(crate) classes: &'a [T],
    /// Scorer that selects candidates (the refit metric, else the first).
    pub(crate) selection: usize,
    pub(crate) refit: bool,
    pub(crate) resource: ResourceKind,
    pub(crate) journal: Option<&'a Journal>,
}

/// One row of a batch with what running it needs.
struct Row<E> {
    trial: Trial,
    estimator: E,
    folds: Arc<Vec<Fold>>,
    /// Per fold: the journal's record of this task.
    recorded: Vec<Option<RoundEntry>>,
    /// Per fold: the epochs trained so far when the model to continue must be rebuilt (its
    /// previous round came from the journal).
    rebuild: Vec<Option<usize>>,
}

impl<B, T, F, E, S> Runner<'_, B, T, F, S>
where
    S: Sync,
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    /// Runs `strategy` to its end (or to a stop) and gives back the history.
    pub(crate) fn run(&self, strategy: &mut dyn Strategy) -> Result<RunOutput<E, E::Model>> {
        let opts = self.opts;
        if let Execution::Shard { index, count } = opts.execution {
            if count == 0 || index >= count {
                return Err(invalid_param(
                    "shard",
                    format!("shard index {index} of {count}: the index must be in 0..count"),
                ));
            }
        }
        let n_splits = self.folds.len();
        let warm = self.resource == ResourceKind::Epochs;
        let base_folds = Arc::new(self.folds.to_vec());
        // (config, split) → model, kept for continuation.
        let mut models: HashMap<(usize, usize), E::Model> = HashMap::new();
        let mut out = RunOutput {
            history: History {
                n_splits,
                selection: self.selection,
                ..History::default()
            },
            early_refit: None,
            skipped: 0,
            stop_reason: None,
            records: Vec::new(),
            resumed: 0,
            rebuilds: Rebuilds::default(),
            pending: Vec::new(),
        };
        let stopper = Stopper::new(opts.time_budget, opts.max_consecutive_failures);
        // (bracket, config, split) → (epochs of the model the last round left, whether it
        // left one): what a resumed fit needs to rebuild a model it continues.
        let mut trained: HashMap<(usize, usize, usize), (usize, bool)> = HashMap::new();
        let mut batch_index = 0;
        while let Some(batch) = strategy.next_batch(&out.history)? {
            // Only the models the new batch continues are carried over, and those it holds
            // for a later batch (set aside while it runs).
            let continued: std::collections::HashSet<usize> = batch
                .trials
                .iter()
                .filter(|t| t.prev_resource > 0)
                .map(|t| t.config)
                .collect();
            let held_configs: std::collections::HashSet<usize> = batch
                .holds
                .iter()
                .copied()
                .filter(|c| !continued.contains(c))
                .collect();
            let mut held: HashMap<(usize, usize), E::Model> = HashMap::new();
            if !held_configs.is_empty() {
                let all = std::mem::take(&mut models);
                for (key, model) in all {
                    if continued.contains(&key.0) {
                        models.insert(key, model);
                    } else if held_configs.contains(&key.0) {
                        held.insert(key, model);
                    }
                }
            }
            models.retain(|(c, _), _| continued.contains(c));
            let mut rows: Vec<Row<E>> = Vec::with_capacity(batch.trials.len());
            for trial in batch.trials {
                let estimator = (opts.builder)(&trial.params)?;
                let continues = warm && estimator.continuation().is_some();
                let mut recorded = Vec::with_capacity(n_splits);
                let mut rebuild = Vec::with_capacity(n_splits);
                for s in 0..n_splits {
                    let entry = self.journal.and_then(|j| j.finished(&key_of(&trial, s)));
                    if let Some(e) = entry {
                        if e.n_resources != trial.resource {
                            return Err(MlpTuneError::Journal(format!(
                                "the journal records bracket {} round {} with {} resources, the schedule has {}",
                                trial.bracket, trial.iter, e.n_resources, trial.resource
                            )));
                        }
                    }
                    // An uninterrupted run would continue the model of the previous round
                    // if that fit succeeded; training in one go to this round's resource
                    // gives the same model.
                    rebuild.push(
                        (continues
                            && trial.prev_resource > 0
                            && entry.is_none()
                            && !models.contains_key(&(trial.config, s)))
                        .then(|| trained.get(&(trial.bracket, trial.config, s)))
                        .flatten()
                        .filter(|(_, ok)| *ok)
                        .map(|(epochs, _)| *epochs),
                    );
                    recorded.push(entry.cloned());
                }
                let folds = trial
                    .folds
                    .clone()
                    .unwrap_or_else(|| Arc::clone(&base_folds));
                rows.push(Row {
                    trial,
                    estimator,
                    folds,
                    recorded,
                    rebuild,
                });
            }
            // A stopped search enters no new batch, except to take fits the journal already
            // holds (they cost nothing); the first batch is always entered so that every
            // candidate of it appears in `cv_results`. After a trip of the failure limit
            // nothing is taken: every later fit is dropped, recorded or not.
            if batch_index > 0
                && (stopper.failures.trip().is_some()
                    || stopper.stopped()
                        && !rows
                            .iter()
                            .any(|row| row.recorded.iter().any(Option::is_some)))
            {
                break;
            }
            batch_index += 1;
            out.history.batches += 1;
            for event in &batch.rounds {
                if let Some(observer) = &opts.observer {
                    observer.on_round_start(event);
                }
            }
            let first_row = out.history.n_rows();
            for row in &rows {
                let h = &mut out.history;
                h.params.push(row.trial.params.clone());
                h.config.push(row.trial.config);
                h.iter.push(row.trial.iter);
                h.n_resources.push(row.trial.resource);
                h.bracket.push(row.trial.bracket);
            }
            let step_skipped = self.run_batch(
                &rows,
                batch.decides_best && self.refit,
                first_row,
                &stopper,
                &mut models,
                &mut trained,
                &mut out,
            )?;
            models.extend(held);
            if step_skipped > 0 {
                // Proposals made from incomplete scores could differ from an uninterrupted
                // run's: the search ends here.
                out.skipped += step_skipped;
                break;
            }
        }
        out.skipped += strategy.planned_fits_left(&out.history);
        // A stop after the last fit left nothing undone: the result is complete.
        out.stop_reason = if out.skipped > 0 {
            stopper.reason().or(match opts.execution {
                Execution::All => None,
                Execution::Shard { index, count } => Some(format!(
                    "shard {index} of {count}: ran its share of the round; other shards run the rest"
                )),
                Execution::PlanOnly => Some("plan only: no fit was started".into()),
            })
        } else {
            None
        };
        Ok(out)
    }

    /// Assembles the fitted search from a run: `cv_results` (with the round columns), the
    /// best row among `best_rows` by `metric` (scikit-learn's `nanargmax`; the first of
    /// them when all are NaN), and the refit.
    pub(crate) fn finish(
        &self,
        mut out: RunOutput<E, E::Model>,
        best_rows: &[usize],
        metric: Option<usize>,
        refit_index: Option<usize>,
    ) -> Result<FittedSearch<E, E::Model>> {
        let opts = self.opts;
        let history = &out.history;
        let n_splits = history.n_splits;
        let mut results = build_cv_results(
            history.params.clone(),
            &history.outcomes,
            n_splits,
            self.scorers,
            opts.return_train_score,
        );
        results.iter = Some(history.iter.clone());
        results.n_resources = Some(history.n_resources.clone());
        results.bracket = Some(history.bracket.clone());
        let partial = out.skipped > 0;
        let (best, best_score) = match metric {
            Some(m) => {
                let means = &results.metrics[m].mean_test;
                let mut best = best_rows.first().copied();
                let mut best_score = f64::NAN;
                for &r in best_rows {
                    let s = means[r];
                    if !s.is_nan() && (best_score.is_nan() || s > best_score) {
                        best = Some(r);
                        best_score = s;
                    }
                }
                // A partial search without a scored complete candidate has no best one.
                if partial && best_score.is_nan() {
                    best = None;
                }
                (best, best.map(|b| means[b]))
            }
            None => (None, None),
        };
        let mut fitted = FittedSearch {
            cv_results: results,
            best_index: best,
            best_score,
            best_params: best.and_then(|b| history.params.get(b).cloned()),
            best_estimator: None,
            best_model: None,
            refit_time: None,
            n_splits,
            classes_len: self.classes.len(),
            resumed_fits: out.resumed,
            skipped_fits: out.skipped,
            stop_reason: out.stop_reason.take(),
            pending: std::mem::take(&mut out.pending),
        };
        // A shard or a plan fits no model: the merged search refits.
        if refit_index.is_some() && opts.execution == Execution::All {
            if let Some(params) = best.and_then(|b| history.params.get(b)) {
                // The overlapped refit counts only if it refitted the best row (a stopped
                // last batch leaves the best in an earlier one).
                let early = out
                    .early_refit
                    .take()
                    .filter(|(row, ..)| Some(*row) == best)
                    .map(|(_, e, m, s)| (e, m, s));
                let (estimator, model, seconds) = match early {
                    Some(done) => done,
                    None => {
                        let estimator = (opts.builder)(params)?;
                        let started = Instant::now();
                        let model = estimator.fit_xy(self.x, self.y);
                        (estimator, model, started.elapsed().as_secs_f64())
                    }
                };
                let model = model
                    .map_err(|e| MlpTuneError::fit("refit of the best candidate failed", e))?;
                if let Some(observer) = &opts.observer {
                    observer.on_refit_end(seconds);
                }
                fitted.refit_time = Some(seconds);
                fitted.best_model = Some(model);
                fitted.best_estimator = Some(estimator);
            }
        }
        Ok(fitted)
    }
}

/// The journal key of a trial's fit on fold `split`: its content, not a position.
fn key_of(trial: &Trial, split: usize) -> TrialKey {
    TrialKey::new(
        trial.bracket,
        trial.iter,
        trial.config,
        split,
        &trial.params,
    )
}
