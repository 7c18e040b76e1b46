//! Successive halving (scikit-learn's `model_selection/_search_successive_halving.py`) and
//! Hyperband, with cross-validation and, for estimators that can continue training exactly
//! (our MLPs with a stochastic solver), **warm continuation** between rounds.
//!
//! A successive-halving search evaluates every candidate with a small resource (training
//! rows, epochs, or any integer parameter), keeps the best `1 / factor` of them, gives the
//! survivors `factor` times more resource, and repeats. [`HalvingGridSearchCV`] and
//! [`HalvingRandomSearchCV`] follow scikit-learn 1.9's schedule rules exactly (checked
//! against scikit-learn's recorded schedules in `tests/parity_halving.rs`):
//!
//! ```text
//! n_required  = 1 + floor(log(n_candidates, factor))
//! min_resources_ = max(min_resources_, max_resources_ // factor^(n_required - 1))   ('exhaust')
//! n_possible  = 1 + floor(log(max_resources_ // min_resources_, factor))
//! n_iterations = n_required if aggressive_elimination else min(n_possible, n_required)
//! round i: n_resources = min(int(factor^power * min_resources_), max_resources_),
//!          power = max(0, i - n_required + n_possible) if aggressive else i,
//!          then keep the ceil(n / factor) candidates with the best mean test score.
//! ```
//!
//! With [`Resource::Epochs`] each (candidate, fold) model is kept between rounds and
//! trained further through [`ContinueTraining`](super::ContinueTraining) instead of being retrained, so a
//! survivor's cost is its final epoch count, not the sum over rounds, and its final model
//! equals training it for the final epoch count in one go. Estimators without an exact
//! continuation are retrained from scratch with `max_iter` set to the round's resource.
//!
//! [`HyperbandSearchCV`] runs Hyperband's brackets (Li et al., 2018), each a
//! successive-halving run with the same cross-validation and warm continuation. Brackets
//! advance in lockstep, aligned on their last round, so their fits share the thread pool.
//!
//! A [time budget](HalvingSearchCV::time_budget) or a [limit on failures in a
//! row](HalvingSearchCV::max_consecutive_failures) stops a search between fits: the round
//! in progress is left incomplete, no further round starts, and the best candidate comes
//! from the last complete round. Failures in a row are counted in task order, so the
//! limit stops a search at the same fit for any thread count.
//!
//! Every finished (candidate, fold, round) fit is a plain [`HalvingRecord`]; which
//! candidates ran in a round is the set of records with that `(bracket, iter)`.
//! Results are collected by task index, so they are identical for any `n_jobs`.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::Float;
use ndarray::{ArrayView1, ArrayView2};

use super::journal::{Journal, RoundEntry};
use super::param_space::{Candidate, ParamDistributions, ParamGrid, ParamValue};
use super::scoring::{ScoreTarget, Scorer};
use super::search::{
    build_cv_results, refit_rows_ratio, FailureRun, FitEvent, FittedSearch, RoundEvent, SearchCV,
    SearchObserver, SearchSpace, SpeculativeRefit,
};
use super::split::Fold;
use super::validation::{
    class_ids, dataset_views, fit_and_score_by, run_parallel_with_side_work, AsView2, Cv,
    Estimator, FoldOutcome,
};
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::random::NumpyRng;

/// What a successive-halving search gives more of to the candidates that survive a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// Training rows (scikit-learn's default `resource='n_samples'`): round `i` subsamples
    /// every cross-validation fold's train and test rows to the fraction
    /// `n_resources / n_samples`.
    NSamples,
    /// Training epochs of our MLPs (the `max_iter` parameter). Models that can continue
    /// exactly ([`Estimator::continuation`]) are kept between rounds and trained further;
    /// others are retrained with `max_iter` set to the round's resource.
    Epochs,
    /// Any integer parameter of the estimator (e.g. `max_iter`, or `n_estimators` of a
    /// forest), set on each candidate to the round's resource; every round retrains from
    /// scratch, as scikit-learn does.
    Param(String),
}

impl Resource {
    /// A parameter resource by name; `"n_samples"` and `"epochs"` select the other two.
    pub fn named(name: &str) -> Self {
        match name {
            "n_samples" => Resource::NSamples,
            "epochs" => Resource::Epochs,
            other => Resource::Param(other.to_string()),
        }
    }

    /// The parameter set to the round's resource, if any.
    pub fn param_name(&self) -> Option<&str> {
        match self {
            Resource::NSamples => None,
            Resource::Epochs => Some("max_iter"),
            Resource::Param(name) => Some(name),
        }
    }
}

/// scikit-learn's `min_resources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinResources {
    /// Start as high as possible so the last round uses as much of `max_resources` as it
    /// can (HalvingGridSearchCV's default).
    Exhaust,
    /// `2 * n_splits * n_classes` rows (1 for a regressor's class count) with
    /// `resource = n_samples`, else 1 (HalvingRandomSearchCV's default).
    Smallest,
    /// This amount.
    Value(usize),
}

/// scikit-learn's `max_resources`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxResources {
    /// The number of rows (only with `resource = n_samples`).
    Auto,
    /// This amount.
    Value(usize),
}

/// `HalvingRandomSearchCV`'s `n_candidates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NCandidates {
    /// `max_resources_ // min_resources_` candidates, so the last round can use all of
    /// `max_resources` (the default).
    Exhaust,
    /// This many candidates.
    Value(usize),
}

/// A successive-halving schedule: scikit-learn's fitted attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct HalvingSchedule {
    /// `min_resources_`.
    pub min_resources: usize,
    /// `max_resources_`.
    pub max_resources: usize,
    /// `n_resources_`: the resource of each round.
    pub n_resources: Vec<usize>,
    /// `n_candidates_`: the candidates evaluated in each round.
    pub n_candidates: Vec<usize>,
    /// `n_remaining_candidates_`: candidates left after the last round.
    pub n_remaining_candidates: usize,
    /// `n_iterations_`: rounds run.
    pub n_iterations: usize,
    /// `n_possible_iterations_`: rounds possible from `min_resources_` without exceeding
    /// `max_resources_`.
    pub n_possible_iterations: usize,
    /// `n_required_iterations_`: rounds needed to end with fewer than `factor` candidates.
    pub n_required_iterations: usize,
}

/// Python's float floor division `a // b` (both positive here), bit for bit.
fn py_floordiv(a: f64, b: f64) -> f64 {
    let m = a % b;
    let div = (a - m) / b;
    let mut floor = div.floor();
    if div - floor > 0.5 {
        floor += 1.0;
    }
    floor
}

/// Python's `math.log(x, base)`.
fn py_log(x: f64, base: f64) -> f64 {
    x.ln() / base.ln()
}

impl HalvingSchedule {
    /// The schedule for `n_candidates` candidates. `smallest` is the value
    /// [`MinResources::Smallest`] stands for (see [`MinResources`]), `max_resources` is
    /// already resolved.
    ///
    /// ```
    /// use mlp_tune::model_selection::{HalvingSchedule, MinResources};
    /// // The user guide's SVC example: 6 candidates, factor 2, 1000 rows, 'exhaust'.
    /// let s = HalvingSchedule::new(6, 2.0, MinResources::Exhaust, 20, 1000, false).unwrap();
    /// assert_eq!(s.n_resources, [250, 500, 1000]);
    /// assert_eq!(s.n_candidates, [6, 3, 2]);
    /// ```
    pub fn new(
        n_candidates: usize,
        factor: f64,
        min_resources: MinResources,
        smallest: usize,
        max_resources: usize,
        aggressive_elimination: bool,
    ) -> Result<Self> {
        check_factor(factor)?;
        if n_candidates == 0 {
            return Err(MlpTuneError::SearchSpace("there are no candidates".into()));
        }
        if max_resources == 0 {
            return Err(invalid_param("max_resources", "must be a positive integer"));
        }
        let mut min_r = match min_resources {
            MinResources::Value(0) => {
                return Err(invalid_param("min_resources", "must be a positive integer"))
            }
            MinResources::Value(v) => v as f64,
            MinResources::Exhaust | MinResources::Smallest => smallest as f64,
        };
        let max_r = max_resources as f64;
        if min_r > max_r {
            return Err(invalid_param(
                "min_resources",
                format!("min_resources_={min_r} is greater than max_resources_={max_resources}"),
            ));
        }
        if min_r == 0.0 {
            return Err(invalid_param(
                "min_resources",
                "min_resources_=0: the dataset may be empty",
            ));
        }
        let n_required = 1 + py_log(n_candidates as f64, factor).floor() as usize;
        if min_resources == MinResources::Exhaust {
            let last = (n_required - 1) as f64;
            min_r = min_r.max(py_floordiv(max_r, factor.powf(last)));
        }
        let n_possible = 1 + py_log(py_floordiv(max_r, min_r), factor).floor() as usize;
        let n_iterations = if aggressive_elimination {
            n_required
        } else {
            n_possible.min(n_required)
        };
        let mut n_resources = Vec::with_capacity(n_iterations);
        let mut counts = Vec::with_capacity(n_iterations);
        let mut n = n_candidates;
        for i in 0..n_iterations {
            let power = if aggressive_elimination {
                (i + n_possible).saturating_sub(n_required)
            } else {
                i
            };
            let r = (factor.powf(power as f64) * min_r) as usize;
            n_resources.push(r.min(max_resources));
            counts.push(n);
            n = (n as f64 / factor).ceil() as usize;
        }
        Ok(HalvingSchedule {
            min_resources: min_r as usize,
            max_resources,
            n_resources,
            n_candidates: counts,
            n_remaining_candidates: n,
            n_iterations,
            n_possible_iterations: n_possible,
            n_required_iterations: n_required,
        })
    }
}

impl HalvingSchedule {
    /// The schedule of the first `rounds` rounds (scikit-learn's attributes of a search
    /// that ran only those).
    fn truncated(&self, rounds: usize) -> HalvingSchedule {
        let rounds = rounds.min(self.n_iterations);
        HalvingSchedule {
            n_resources: self.n_resources[..rounds].to_vec(),
            n_candidates: self.n_candidates[..rounds].to_vec(),
            n_remaining_candidates: self
                .n_candidates
                .get(rounds)
                .copied()
                .unwrap_or(self.n_remaining_candidates),
            n_iterations: rounds,
            ..self.clone()
        }
    }
}

fn check_factor(factor: f64) -> Result<()> {
    if !(factor.is_finite() && factor > 1.0) {
        return Err(invalid_param(
            "factor",
            format!("must be a finite number greater than 1, got {factor}"),
        ));
    }
    Ok(())
}

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

/// The rounds of one successive-halving run.
#[derive(Debug, Clone, PartialEq)]
struct BracketPlan {
    /// Indices into the candidate list.
    candidates: Vec<usize>,
    /// `(n_resources, n_candidates)` per round; `rounds[0].1 == candidates.len()`.
    rounds: Vec<(usize, usize)>,
}

/// What the round engine gives back.
struct EngineOutput<E, M> {
    /// The refit, when it could run alongside the last round (a single candidate left):
    /// the row it refits, its params, model (or error) and seconds.
    early_refit: Option<(usize, E, Result<M>, f64)>,
    params: Vec<Candidate>,
    outcomes: Vec<FoldOutcome>,
    iter: Vec<usize>,
    n_resources: Vec<usize>,
    bracket: Vec<usize>,
    /// `complete[row]`: every fold of the row was fitted (or taken from the journal).
    complete: Vec<bool>,
    /// Rounds entered by each bracket (all of them unless the search stopped).
    rounds_entered: Vec<usize>,
    /// (candidate, fold) fits never started: those of the rows entered plus every fit of
    /// the rounds never entered.
    skipped: usize,
    /// Why the search stopped starting fits, when it skipped some.
    stop_reason: Option<String>,
    records: Vec<HalvingRecord>,
    /// Fits taken from the journal.
    resumed: usize,
    /// Resumed fits: (candidate, fold) models rebuilt because the model they continue was
    /// not carried over (its round came from the journal), and the epochs that cost.
    rebuilt: usize,
    rebuild_cost: usize,
}

/// A finished (row, fold) task.
struct FoldDone<M> {
    outcome: FoldOutcome,
    model: Option<M>,
    cost: usize,
    /// Taken from the journal.
    recorded: bool,
    /// Epochs retrained to rebuild the model this fit continues, if it had to be rebuilt.
    rebuilt: Option<usize>,
}

/// One task of a round: a (row, fold) fit, or the refit overlapped with the last round.
enum TaskOut<M> {
    Fold(Result<FoldDone<M>>),
    Refit(Result<M>, f64),
    /// Not started: the search had stopped.
    Skipped,
}

/// The limits of [`SearchCV::time_budget`] and [`SearchCV::max_consecutive_failures`]
/// for a halving run, with the same rules as the grid search: the budget is checked before
/// each fit starts; failures in a row are counted in the task order of each step (rows, then
/// folds; fits taken from the journal included), carried across steps, so the search trips
/// at the same fit for any thread count (see [`FailureRun`]).
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
fn not_fitted(n_scorers: usize, return_train_score: bool, reason: Option<&str>) -> FoldOutcome {
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

/// The settings the engine needs besides the estimator options.
struct EngineSettings<'a> {
    resource: &'a Resource,
    random_state: u32,
    n_samples: usize,
}

fn with_resource(candidate: &Candidate, name: &str, value: ParamValue) -> Candidate {
    let mut c = candidate.clone();
    c.insert(name.to_string(), value);
    c
}

/// scikit-learn's `resample(idx, replace=False, n_samples=m, random_state=seed)`: a fresh
/// generator, a shuffle of `0..len`, the first `m`.
fn resample(idx: &[usize], m: usize, seed: u32) -> Vec<usize> {
    let mut rng = NumpyRng::new(seed);
    let p = rng.permutation(idx.len());
    p[..m.min(idx.len())].iter().map(|&i| idx[i]).collect()
}

/// The folds of a `resource = n_samples` round.
fn subsample_folds(folds: &[Fold], r: usize, n_samples: usize, seed: u32) -> Vec<Fold> {
    let fraction = r as f64 / n_samples as f64;
    folds
        .iter()
        .map(|f| Fold {
            train: resample(&f.train, (fraction * f.train.len() as f64) as usize, seed),
            test: resample(&f.test, (fraction * f.test.len() as f64) as usize, seed),
        })
        .collect()
}

/// Positions of the `k` best scores, in ascending order of score (NaN lowest; equal
/// scores keep their order), as scikit-learn's `_top_k` returns them.
fn top_k(scores: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (scores[a], scores[b]);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        }
    });
    order.split_off(order.len() - k.min(order.len()))
}

/// Checks that the resource parameter is an integer parameter the builder takes: it must
/// accept an integer and refuse a fractional number.
fn check_resource_param<B, E>(
    builder: &B,
    candidates: &[Candidate],
    name: &str,
    probe: usize,
) -> Result<()>
where
    B: Fn(&Candidate) -> Result<E>,
{
    if candidates.iter().any(|c| c.contains_key(name)) {
        return Err(MlpTuneError::SearchSpace(format!(
            "cannot use parameter `{name}` as the resource since it is part of the searched parameters"
        )));
    }
    let first = &candidates[0];
    if let Err(e) = builder(&with_resource(first, name, ParamValue::Int(probe as i64))) {
        return Err(invalid_param(
            "resource",
            format!("`{name}` is not an integer parameter of the estimator: {e}"),
        ));
    }
    if builder(&with_resource(first, name, ParamValue::Float(0.5))).is_ok() {
        return Err(invalid_param(
            "resource",
            format!(
                "`{name}` is not an integer parameter of the estimator (it accepts 0.5, or is ignored)"
            ),
        ));
    }
    Ok(())
}

/// Runs brackets of successive-halving rounds in lockstep, aligned on their last round: a
/// step runs the current round of every bracket that has started, all its (candidate,
/// fold) tasks on one thread pool.
#[allow(clippy::too_many_arguments)]
fn run_brackets<F, T, B, E>(
    opts: &SearchCV<B, T>,
    settings: &EngineSettings<'_>,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    candidates: &[Candidate],
    plans: &[BracketPlan],
    folds: &[Fold],
    scorers: &[Scorer<T>],
    classes: &[T],
    selection: usize,
    refit: bool,
    journal: Option<&Journal>,
) -> Result<EngineOutput<E, E::Model>>
where
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    let n_splits = folds.len();
    let param = settings.resource.param_name();
    let warm = *settings.resource == Resource::Epochs;
    let mut current: Vec<Vec<usize>> = plans.iter().map(|p| p.candidates.clone()).collect();
    // (candidate, split) → (model, resource it was trained to), kept for continuation.
    let mut models: HashMap<(usize, usize), E::Model> = HashMap::new();
    let mut out = EngineOutput {
        early_refit: None,
        params: Vec::new(),
        outcomes: Vec::new(),
        iter: Vec::new(),
        n_resources: Vec::new(),
        bracket: Vec::new(),
        complete: Vec::new(),
        rounds_entered: vec![0; plans.len()],
        skipped: 0,
        stop_reason: None,
        records: Vec::new(),
        resumed: 0,
        rebuilt: 0,
        rebuild_cost: 0,
    };
    let stopper = Stopper::new(opts.time_budget, opts.max_consecutive_failures);
    // (bracket, candidate, split) → (epochs of the model the last round left, whether it
    // left one): what a resumed fit needs to rebuild a model it continues.
    let mut trained: HashMap<(usize, usize, usize), (usize, bool)> = HashMap::new();
    let n_steps = plans.iter().map(|p| p.rounds.len()).max().unwrap_or(0);
    // Brackets are aligned on their last round: shorter brackets start later, so every
    // step (and the expensive last one above all) has work from several brackets.
    let offset: Vec<usize> = plans.iter().map(|p| n_steps - p.rounds.len()).collect();
    let round_of = |b: usize, step: usize| step.checked_sub(offset[b]);
    let mut prev_resource: Vec<usize> = vec![0; plans.len()];
    for step in 0..n_steps {
        // Rows of this step: (bracket, candidate, resource), bracket-major.
        struct Row<E> {
            bracket: usize,
            round: usize,
            candidate: usize,
            resource: usize,
            prev_resource: usize,
            estimator: E,
            params: Candidate,
            folds: Arc<Vec<Fold>>,
            /// Per fold: the journal's record of this task.
            recorded: Vec<Option<RoundEntry>>,
            /// Per fold: the epochs trained so far when the model to continue must be
            /// rebuilt (its previous round came from the journal).
            rebuild: Vec<Option<usize>>,
        }
        let mut rows: Vec<Row<E>> = Vec::new();
        let mut round_events: Vec<RoundEvent> = Vec::new();
        for (b, plan) in plans.iter().enumerate() {
            let Some(round) = round_of(b, step) else {
                continue;
            };
            let Some(&(r, _)) = plan.rounds.get(round) else {
                continue;
            };
            round_events.push(RoundEvent {
                bracket: b,
                iter: round,
                n_candidates: current[b].len(),
                n_resources: r,
                n_splits,
            });
            let round_folds = Arc::new(match settings.resource {
                Resource::NSamples => {
                    subsample_folds(folds, r, settings.n_samples, settings.random_state)
                }
                _ => folds.to_vec(),
            });
            for &c in &current[b] {
                let params = match param {
                    Some(name) => with_resource(&candidates[c], name, ParamValue::Int(r as i64)),
                    None => candidates[c].clone(),
                };
                let estimator = (opts.builder)(&params)?;
                let continues = warm && estimator.continuation().is_some();
                let mut recorded = Vec::with_capacity(n_splits);
                let mut rebuild = Vec::with_capacity(n_splits);
                for s in 0..n_splits {
                    let entry = journal.and_then(|j| j.finished_round((b, round, c, s)));
                    if let Some(e) = entry {
                        if e.n_resources != r {
                            return Err(MlpTuneError::Journal(format!(
                                "the journal records bracket {b} round {round} with {} resources, the schedule has {r}",
                                e.n_resources
                            )));
                        }
                    }
                    // An uninterrupted run would continue the model of the previous round
                    // if that fit succeeded; training in one go to this round's resource
                    // gives the same model.
                    rebuild.push(
                        (continues
                            && round > 0
                            && entry.is_none()
                            && !models.contains_key(&(c, s)))
                        .then(|| trained.get(&(b, c, s)))
                        .flatten()
                        .filter(|(_, ok)| *ok)
                        .map(|(epochs, _)| *epochs),
                    );
                    recorded.push(entry.cloned());
                }
                rows.push(Row {
                    bracket: b,
                    round,
                    candidate: c,
                    resource: r,
                    prev_resource: prev_resource[b],
                    estimator,
                    params,
                    folds: Arc::clone(&round_folds),
                    recorded,
                    rebuild,
                });
            }
            prev_resource[b] = r;
        }
        // A stopped search enters no new round, except to take fits the journal already
        // holds (they cost nothing, as in the grid search); the first round is always
        // entered so that every candidate appears in `cv_results`. After a trip of the
        // failure limit nothing is taken: every later fit is dropped, recorded or not.
        if step > 0
            && (stopper.failures.trip().is_some()
                || stopper.stopped()
                    && !rows
                        .iter()
                        .any(|row| row.recorded.iter().any(Option::is_some)))
        {
            break;
        }
        for event in &round_events {
            out.rounds_entered[event.bracket] += 1;
            if let Some(observer) = &opts.observer {
                observer.on_round_start(event);
            }
        }
        for row in &rows {
            out.params.push(row.params.clone());
            out.iter.push(row.round);
            out.n_resources.push(row.resource);
            out.bracket.push(row.bracket);
        }
        let first_row = out.outcomes.len() / n_splits.max(1);
        let last_step = refit && step + 1 == n_steps;
        // When a single candidate is left for the last step it is the best whatever its
        // score, so its refit on all rows runs alongside its folds (first, as the longest
        // task) instead of after them. With several, the leader's refit is speculated.
        let overlap_refit = last_step && rows.len() == 1;
        let tasks: Vec<(usize, usize)> = (0..rows.len())
            .flat_map(|r| (0..n_splits).map(move |s| (r, s)))
            .collect();
        // The failure run goes on in this step's task order; fits in the journal count at
        // their place in it, so that a resumed search trips where an uninterrupted one would.
        stopper.failures.batch(tasks.len());
        for (t, &(ri, s)) in tasks.iter().enumerate() {
            if let Some(entry) = &rows[ri].recorded[s] {
                stopper.failures.finished(t, entry.outcome.error.is_some());
            }
        }
        // Each row's relative cost for this step: its hint scaled to the work of the round
        // (a continued model trains only the epochs past the previous round).
        let row_costs: Vec<f64> = rows
            .iter()
            .map(|row| {
                let hint = row.estimator.cost_hint(x.ncols()).unwrap_or(0.0);
                match settings.resource {
                    Resource::NSamples => hint * row.resource as f64,
                    Resource::Epochs if warm && row.round > 0 => {
                        hint * row.resource.saturating_sub(row.prev_resource) as f64
                            / row.resource.max(1) as f64
                    }
                    _ => hint,
                }
            })
            .collect();
        let task_costs: Vec<f64> = tasks.iter().map(|&(ri, _)| row_costs[ri]).collect();
        // Run order: the overlapped refit (`None`) first, then the costliest fits first on
        // several threads, so that no long fit is left running alone at the end.
        let mut order: Vec<Option<usize>> = overlap_refit
            .then_some(None)
            .into_iter()
            .chain((0..tasks.len()).map(Some))
            .collect();
        if opts.n_jobs > 1 {
            order.sort_by(|a, b| match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => std::cmp::Ordering::Less,
                (_, None) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => task_costs[*b].total_cmp(&task_costs[*a]),
            });
        }
        let speculation = SpeculativeRefit::new(
            &task_costs,
            n_splits,
            refit_rows_ratio(x.nrows(), folds),
            opts.n_jobs,
        );
        let models_ref = &models;
        let stopper = &stopper;
        let results = run_parallel_with_side_work(
            opts.n_jobs,
            &order,
            |task| {
                let Some(t) = *task else {
                    if stopper.stopped() {
                        return TaskOut::Skipped;
                    }
                    let started = Instant::now();
                    let model = rows[0].estimator.fit_xy(x, y);
                    return TaskOut::Refit(model, started.elapsed().as_secs_f64());
                };
                if !stopper.failures.keeps(t) {
                    return TaskOut::Skipped;
                }
                let (ri, s) = tasks[t];
                let row = &rows[ri];
                let note_done = |o: &FoldOutcome| {
                    speculation.finished(t, o.test_scores[selection], o.fit_time + o.score_time);
                };
                if let Some(entry) = &row.recorded[s] {
                    note_done(&entry.outcome);
                    if let Some(observer) = &opts.observer {
                        observer.on_fit_end(&FitEvent {
                            candidate: first_row + ri,
                            split: s,
                            score: entry.outcome.test_scores[0],
                            seconds: entry.outcome.fit_time + entry.outcome.score_time,
                            error: entry.outcome.error.clone(),
                        });
                    }
                    return TaskOut::Fold(Ok(FoldDone {
                        outcome: entry.outcome.clone(),
                        model: None,
                        cost: entry.cost,
                        recorded: true,
                        rebuilt: None,
                    }));
                }
                if stopper.stopped() {
                    return TaskOut::Skipped;
                }
                if let Some(observer) = &opts.observer {
                    observer.on_fit_start(first_row + ri, s);
                }
                let rebuild = row.rebuild[s];
                let previous = if warm {
                    models_ref.get(&(row.candidate, s))
                } else {
                    None
                };
                let continuation = row.estimator.continuation().filter(|_| warm);
                let mut cost = None;
                let result = fit_and_score_by(
                    &row.estimator,
                    x,
                    y,
                    &row.folds[s],
                    scorers,
                    classes,
                    opts.return_train_score,
                    opts.error_score,
                    |x, y, train_rows| match (continuation, previous) {
                        (Some(c), Some(m)) => {
                            let extra = row.resource.saturating_sub(row.prev_resource);
                            let continued = c.continue_rows(m, x, y, train_rows, extra)?;
                            cost = match (
                                row.estimator.epochs_trained(&continued),
                                row.estimator.epochs_trained(m),
                            ) {
                                (Some(after), Some(before)) => Some(after.saturating_sub(before)),
                                _ => Some(extra),
                            };
                            Ok(continued)
                        }
                        _ => {
                            let fitted = row.estimator.fit_rows(x, y, train_rows)?;
                            let epochs = row.estimator.epochs_trained(&fitted);
                            // A rebuilt model is charged, like a continued one, only the epochs
                            // past the previous round; the rest is reported as rebuild cost.
                            cost = match (rebuild, epochs) {
                                (Some(before), Some(after)) => Some(after.saturating_sub(before)),
                                (Some(_), None) => {
                                    Some(row.resource.saturating_sub(row.prev_resource))
                                }
                                (None, epochs) => epochs,
                            };
                            Ok(fitted)
                        }
                    },
                );
                let cost = cost.unwrap_or(match settings.resource {
                    Resource::NSamples => row.folds[s].train.len(),
                    _ => row.resource,
                });
                // On disk before it counts as done.
                if let (Some(j), Ok((o, _))) = (journal, &result) {
                    let entry = RoundEntry {
                        outcome: o.clone(),
                        n_resources: row.resource,
                        cost,
                    };
                    if let Err(e) = j.record_round(
                        (row.bracket, row.round, row.candidate, s),
                        &row.params,
                        &entry,
                    ) {
                        return TaskOut::Fold(Err(e));
                    }
                }
                if let Ok((o, _)) = &result {
                    stopper.failures.finished(t, o.error.is_some());
                    note_done(o);
                }
                if let (Some(observer), Ok((o, _))) = (&opts.observer, &result) {
                    observer.on_fit_end(&FitEvent {
                        candidate: first_row + ri,
                        split: s,
                        score: o.test_scores[0],
                        seconds: o.fit_time + o.score_time,
                        error: o.error.clone(),
                    });
                }
                TaskOut::Fold(result.map(|(outcome, model)| FoldDone {
                    outcome,
                    model,
                    cost,
                    recorded: false,
                    rebuilt: rebuild,
                }))
            },
            |next| {
                if opts.speculative_refit && last_step && rows.len() > 1 && !stopper.stopped() {
                    let unstarted: Vec<usize> = order[next..].iter().flatten().copied().collect();
                    speculation.consider(&unstarted, |ri| rows[ri].estimator.fit_xy(x, y));
                }
            },
        )?;
        if let Some((guess, model, seconds)) = speculation.into_refit() {
            let estimator = (opts.builder)(&rows[guess].params)?;
            out.early_refit = Some((first_row + guess, estimator, model, seconds));
        }
        // Back to (row, fold) order: the results do not depend on the run order.
        let mut in_task_order: Vec<Option<TaskOut<E::Model>>> =
            (0..tasks.len()).map(|_| None).collect();
        for (task, result) in order.iter().zip(results) {
            match (task, result) {
                (Some(t), result) => in_task_order[*t] = Some(result),
                (None, TaskOut::Refit(model, seconds)) => {
                    let estimator = (opts.builder)(&out.params[first_row])?;
                    out.early_refit = Some((first_row, estimator, model, seconds));
                }
                (None, TaskOut::Skipped) => {}
                (None, TaskOut::Fold(_)) => {
                    return Err(MlpTuneError::InvalidInput(
                        "internal: a refit task returned a fold result".into(),
                    ))
                }
            }
        }
        let mut kept: HashMap<(usize, usize), E::Model> = HashMap::new();
        out.complete.resize(first_row + rows.len(), true);
        let mut step_skipped = 0;
        for (t, (&(ri, s), result)) in tasks.iter().zip(in_task_order).enumerate() {
            let result = match result {
                Some(TaskOut::Fold(result)) if stopper.failures.keeps(t) => Some(result),
                // Ran on another thread before the failure limit tripped on an earlier task:
                // dropped, as a run on one thread would never have started it.
                Some(TaskOut::Fold(result)) => {
                    result?;
                    None
                }
                Some(TaskOut::Skipped) => None,
                Some(TaskOut::Refit(..)) | None => {
                    return Err(MlpTuneError::InvalidInput(
                        "internal: a fold task returned no fold result".into(),
                    ))
                }
            };
            let Some(result) = result else {
                step_skipped += 1;
                out.complete[first_row + ri] = false;
                out.outcomes.push(not_fitted(
                    scorers.len(),
                    opts.return_train_score,
                    stopper.reason().as_deref(),
                ));
                continue;
            };
            let FoldDone {
                outcome,
                model,
                cost,
                recorded,
                rebuilt,
            } = result?;
            let row = &rows[ri];
            if recorded {
                out.resumed += 1;
            }
            if let Some(epochs) = rebuilt {
                out.rebuilt += 1;
                out.rebuild_cost += epochs;
            }
            // A failed fit leaves no model, so the next round starts afresh and its cost
            // is the whole count of a fresh fit.
            let t = trained
                .entry((row.bracket, row.candidate, s))
                .or_insert((0, false));
            *t = match (outcome.error.is_none(), t.1) {
                (false, _) => (0, false),
                (true, true) => (t.0 + cost, true),
                (true, false) => (cost, true),
            };
            out.records.push(HalvingRecord {
                bracket: row.bracket,
                iter: row.round,
                row: first_row + ri,
                candidate: row.candidate,
                split: s,
                n_resources: row.resource,
                test_scores: outcome.test_scores.clone(),
                train_scores: outcome.train_scores.clone(),
                fit_time: outcome.fit_time,
                score_time: outcome.score_time,
                error: outcome.error.clone(),
                cost,
            });
            out.outcomes.push(outcome);
            if warm && row.estimator.continuation().is_some() {
                if let Some(m) = model {
                    kept.insert((row.candidate, s), m);
                }
            }
        }
        if step_skipped > 0 {
            // Survivors chosen from incomplete scores could differ from an uninterrupted
            // run's: the search ends here.
            out.skipped += step_skipped;
            break;
        }
        // Survivors of each bracket that has another round.
        for (b, plan) in plans.iter().enumerate() {
            let Some(&(_, n_next)) = round_of(b, step).and_then(|r| plan.rounds.get(r + 1)) else {
                continue;
            };
            let scores: Vec<f64> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.bracket == b)
                .map(|(ri, _)| {
                    let start = (first_row + ri) * n_splits;
                    let v: Vec<f64> = out.outcomes[start..start + n_splits]
                        .iter()
                        .map(|o| o.test_scores[selection])
                        .collect();
                    v.iter().sum::<f64>() / n_splits as f64
                })
                .collect();
            let keep = top_k(&scores, n_next);
            current[b] = keep.into_iter().map(|i| current[b][i]).collect();
        }
        // Only survivors' models are carried to the next round.
        models = kept
            .into_iter()
            .filter(|((c, _), _)| {
                plans.iter().enumerate().any(|(b, plan)| {
                    round_of(b, step).is_some_and(|r| r + 1 < plan.rounds.len())
                        && current[b].contains(c)
                })
            })
            .collect();
    }
    out.skipped += plans
        .iter()
        .zip(&out.rounds_entered)
        .map(|(plan, &entered)| {
            plan.rounds[entered.min(plan.rounds.len())..]
                .iter()
                .map(|&(_, n)| n * n_splits)
                .sum::<usize>()
        })
        .sum::<usize>();
    // A stop after the last fit left nothing undone: the result is complete.
    out.stop_reason = if out.skipped > 0 {
        stopper.reason()
    } else {
        None
    };
    Ok(out)
}

/// Runs the engine and assembles the fitted search.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn finish<F, T, B, E>(
    opts: &SearchCV<B, T>,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    mut out: EngineOutput<E, E::Model>,
    n_splits: usize,
    scorers: &[Scorer<T>],
    refit_index: Option<usize>,
    classes_len: usize,
) -> Result<(FittedSearch<E, E::Model>, Vec<HalvingRecord>, Rebuilds)>
where
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    let mut results = build_cv_results(
        out.params.clone(),
        &out.outcomes,
        n_splits,
        scorers,
        opts.return_train_score,
    );
    // The best candidate comes from the last round of its bracket (scikit-learn:
    // `nanargmax` over the last iteration; the first row when all are NaN). In a stopped
    // search, from each bracket's last round whose every fit was done: never from a
    // candidate with folds left unfitted.
    let mut round_complete: HashMap<(usize, usize), bool> = HashMap::new();
    for r in 0..out.params.len() {
        *round_complete
            .entry((out.bracket[r], out.iter[r]))
            .or_insert(true) &= out.complete[r];
    }
    let mut last_complete: HashMap<usize, usize> = HashMap::new();
    for (&(b, i), &complete) in &round_complete {
        if complete {
            let last = last_complete.entry(b).or_insert(i);
            *last = (*last).max(i);
        }
    }
    results.iter = Some(out.iter);
    results.n_resources = Some(out.n_resources);
    results.bracket = Some(out.bracket);
    let (row_iter, row_bracket) = (
        results.iter.as_deref().unwrap_or_default(),
        results.bracket.as_deref().unwrap_or_default(),
    );
    let metric = &results.metrics[refit_index.unwrap_or(0)];
    let last_rows: Vec<usize> = (0..out.params.len())
        .filter(|&r| last_complete.get(&row_bracket[r]) == Some(&row_iter[r]))
        .collect();
    let mut best = last_rows.first().copied();
    let mut best_score = f64::NAN;
    for &r in &last_rows {
        let s = metric.mean_test[r];
        if !s.is_nan() && (best_score.is_nan() || s > best_score) {
            best = Some(r);
            best_score = s;
        }
    }
    let partial = out.skipped > 0;
    if partial && best_score.is_nan() {
        // As the grid search: a partial search without a scored complete candidate has
        // no best one.
        best = None;
    }
    let best_score = best.and_then(|b| metric.mean_test.get(b).copied());
    let mut fitted = FittedSearch {
        cv_results: results,
        best_index: best,
        best_score,
        best_params: best.and_then(|b| out.params.get(b).cloned()),
        best_estimator: None,
        best_model: None,
        refit_time: None,
        n_splits,
        classes_len,
        resumed_fits: out.resumed,
        skipped_fits: out.skipped,
        stop_reason: out.stop_reason.take(),
    };
    if refit_index.is_some() {
        if let Some(params) = best.and_then(|b| out.params.get(b)) {
            // The overlapped refit counts only if it refitted the best row (a stopped last
            // round leaves the best in an earlier one).
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
                    let model = estimator.fit_xy(x, y);
                    (estimator, model, started.elapsed().as_secs_f64())
                }
            };
            let model =
                model.map_err(|e| MlpTuneError::fit("refit of the best candidate failed", e))?;
            if let Some(observer) = &opts.observer {
                observer.on_refit_end(seconds);
            }
            fitted.refit_time = Some(seconds);
            fitted.best_model = Some(model);
            fitted.best_estimator = Some(estimator);
        }
    }
    let rebuilds = Rebuilds {
        models: out.rebuilt,
        epochs: out.rebuild_cost,
    };
    Ok((fitted, out.records, rebuilds))
}

/// What resuming from a journal cost beyond the unfinished fits themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rebuilds {
    models: usize,
    epochs: usize,
}

/// The journal fingerprint of a halving or Hyperband search: `settings` (its schedule
/// settings) besides what every search's fingerprint covers (candidates, estimators built
/// with the resource parameter, folds, scorers, data).
#[allow(clippy::too_many_arguments)]
fn journal_fingerprint<F, T, B, E>(
    opts: &SearchCV<B, T>,
    kind: &str,
    settings: String,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    candidates: &[Candidate],
    resource_param: Option<(&str, usize)>,
    folds: &[Fold],
    scorers: &[Scorer<T>],
) -> Result<String>
where
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    let estimators: Vec<E> = candidates
        .iter()
        .map(|c| match resource_param {
            Some((name, r)) => (opts.builder)(&with_resource(c, name, ParamValue::Int(r as i64))),
            None => (opts.builder)(c),
        })
        .collect::<Result<_>>()?;
    Ok(opts.fingerprint_of(
        kind,
        &settings,
        x,
        y,
        candidates,
        &estimators,
        folds,
        scorers,
    ))
}

/// Where a halving search's candidates come from.
#[derive(Debug, Clone)]
enum HalvingSpace {
    Grid(ParamGrid),
    Random {
        distributions: ParamDistributions,
        n_candidates: NCandidates,
    },
}

/// A successive-halving search with cross-validation: [`HalvingGridSearchCV::new`] or
/// [`HalvingRandomSearchCV::new`] build one. It takes every option of
/// [`GridSearchCV`](super::GridSearchCV) (`cv`, `scoring`, `refit`, `error_score`,
/// `n_jobs`, `random_state`, `observer`, `journal`, `time_budget`,
/// `max_consecutive_failures`) plus scikit-learn's halving options.
///
/// Candidates are selected by the refit metric (the first scorer by default). The best
/// candidate is the best of the **last** round (as in scikit-learn), its parameters include
/// the resource parameter, and the refit trains it on all rows (with that resource).
///
/// ```
/// use mlp_tune::model_selection::{by_name, HalvingGridSearchCV, ParamGrid, Resource};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let (x, y) = (data.records() / 100.0, data.targets() / 100.0);
/// let data = linfa::Dataset::new(x, y);
/// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).learning_rate_init(0.01).random_state(0);
/// let grid = ParamGrid::new().add("hidden_layer_sizes", [[4usize], [8], [16], [32]]);
/// let search = HalvingGridSearchCV::new(by_name(base), grid)
///     .resource(Resource::Epochs)
///     .max_resources(40)
///     .factor(2.0)
///     .cv(3)
///     .fit(&data)
///     .unwrap();
/// assert_eq!(search.n_resources(), [10, 20, 40]);
/// assert_eq!(search.n_candidates(), [4, 2, 1]);
/// // Warm continuation: survivors are trained further, not retrained.
/// assert!(search.total_cost() < 3 * (4 * 10 + 2 * 20 + 40));
/// ```
pub struct HalvingSearchCV<B, T> {
    base: SearchCV<B, T>,
    space: HalvingSpace,
    factor: f64,
    resource: Resource,
    min_resources: MinResources,
    max_resources: MaxResources,
    aggressive_elimination: bool,
    random_state: u32,
}

/// The options halving and Hyperband searches share with [`SearchCV`], forwarded to their
/// `base` search.
macro_rules! delegate_search_options {
    () => {
        /// `cv=k` (stratified for classifiers).
        pub fn cv(mut self, k: usize) -> Self {
            self.base = self.base.cv(k);
            self
        }

        /// Whether, with `n_jobs > 1`, a thread refits the leader of the last round while
        /// its last fits run (see [`SearchCV::speculative_refit`]; a last round with one
        /// candidate always refits it alongside). Default: `true`.
        pub fn speculative_refit(mut self, yes: bool) -> Self {
            self.base = self.base.speculative_refit(yes);
            self
        }

        /// Any splitter or fold count. The splitter must give the same folds on every call
        /// (ours do: a shuffled splitter restarts from its seed).
        pub fn cv_with(mut self, cv: Cv) -> Self {
            self.base = self.base.cv_with(cv);
            self
        }

        /// One scorer by scikit-learn name.
        pub fn scoring(mut self, name: &str) -> Result<Self> {
            self.base = self.base.scoring(name)?;
            Ok(self)
        }

        /// Several scorers; candidates are selected by the refit metric (the first unless
        /// [`refit_metric`](Self::refit_metric) names another).
        pub fn scorers(mut self, scorers: Vec<Scorer<T>>) -> Self {
            self.base = self.base.scorers(scorers);
            self
        }

        /// Refit the best candidate on all rows (default true).
        pub fn refit(mut self, refit: bool) -> Self {
            self.base = self.base.refit(refit);
            self
        }

        /// Select (and refit) by this scorer's name.
        pub fn refit_metric(mut self, name: &str) -> Self {
            self.base = self.base.refit_metric(name);
            self
        }

        /// Threads for the (candidate × fold) tasks of a round (of every bracket, for Hyperband). Results do not depend on it.
        pub fn n_jobs(mut self, n_jobs: usize) -> Self {
            self.base = self.base.n_jobs(n_jobs);
            self
        }

        /// Score recorded for a failed fit (default NaN); `None` makes a failure an error.
        pub fn error_score(mut self, value: Option<f64>) -> Self {
            self.base = self.base.error_score(value);
            self
        }

        /// Also score the training rows.
        pub fn return_train_score(mut self, yes: bool) -> Self {
            self.base = self.base.return_train_score(yes);
            self
        }

        /// Receives progress events, including [`SearchObserver::on_round_start`].
        pub fn observer(mut self, observer: Arc<dyn SearchObserver>) -> Self {
            self.base = self.base.observer(observer);
            self
        }

        /// Starts no new (candidate, fold) fit once `budget` has passed since the rounds
        /// began (as [`SearchCV::time_budget`]); fits already running finish and are kept
        /// (and journaled). No further round (or bracket) starts: survivors chosen from
        /// incomplete scores could differ from an uninterrupted run's.
        ///
        /// The result is then [partial](FittedSearch::is_partial), with the
        /// [reason](FittedSearch::stop_reason): the rounds entered appear in `cv_results`,
        /// unstarted fits with NaN scores (their rows rank last, `error` says "not
        /// fitted"); [`skipped_fits`](FittedSearch::skipped_fits) counts them plus every fit
        /// of the rounds never entered. The best candidate (and the refit) comes from each
        /// bracket's last round whose every fit was done, never from a row with folds
        /// missing; with none, `best_index` is `None` and there is no refit. Round
        /// attributes (`n_iterations`, `n_resources`, `n_candidates`, `brackets`) describe
        /// the rounds entered. A stopped search still enters a round when the journal holds
        /// some of its fits (taking them costs nothing). With a
        /// [journal](Self::journal), running the search again without the limit finishes the
        /// rest and gives the results of an uninterrupted run.
        pub fn time_budget(mut self, budget: std::time::Duration) -> Self {
            self.base = self.base.time_budget(budget);
            self
        }

        /// Stops the search once `n` fits in a row have failed (`n` of at least 1), with
        /// the consequences of [`time_budget`](Self::time_budget). As in the grid search
        /// ([`SearchCV::max_consecutive_failures`]), "in a row" is in the task order, not
        /// the order fits finish in: round by round (Hyperband: step by step), and within
        /// one, row by row as in `cv_results`, then fold by fold; the count carries
        /// across rounds. Fits taken from the journal count at their place with their
        /// recorded outcome. The *trip*, the fit that ends a run of `n` failures, is thus the
        /// same for any `n_jobs` and for a resumed search: no fit after it starts, those
        /// that already ran on other threads are dropped (not fitted, counted in
        /// [`skipped_fits`](FittedSearch::skipped_fits); recorded fits after it too), and
        /// no later round is entered, so the results are those of a run on one thread.
        /// Default: no limit.
        pub fn max_consecutive_failures(mut self, n: usize) -> Self {
            self.base = self.base.max_consecutive_failures(n);
            self
        }
    };
}

impl<B, T> std::fmt::Debug for HalvingSearchCV<B, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HalvingSearchCV")
            .field("space", &self.space)
            .field("factor", &self.factor)
            .field("resource", &self.resource)
            .field("min_resources", &self.min_resources)
            .field("max_resources", &self.max_resources)
            .field("aggressive_elimination", &self.aggressive_elimination)
            .field("random_state", &self.random_state)
            .field("options", &self.base)
            .finish()
    }
}

/// Successive halving over every point of a [`ParamGrid`] (`min_resources` defaults to
/// `exhaust`).
pub struct HalvingGridSearchCV;

impl HalvingGridSearchCV {
    /// `HalvingGridSearchCV(estimator, param_grid)` with scikit-learn's defaults: factor 3,
    /// `resource = n_samples`, `min_resources = exhaust`, `max_resources = auto`, cv 5,
    /// refit on, `error_score = NaN`, one thread, `random_state` 0.
    #[allow(clippy::new_ret_no_self)]
    pub fn new<B, T>(builder: B, grid: ParamGrid) -> HalvingSearchCV<B, T> {
        HalvingSearchCV::with_space(builder, HalvingSpace::Grid(grid), MinResources::Exhaust)
    }
}

/// Successive halving over candidates drawn from [`ParamDistributions`]
/// (`min_resources` defaults to `smallest`, `n_candidates` to `exhaust`).
pub struct HalvingRandomSearchCV;

impl HalvingRandomSearchCV {
    /// `HalvingRandomSearchCV(estimator, param_distributions)` with scikit-learn's defaults
    /// (see [`HalvingGridSearchCV::new`]; here `min_resources = smallest` and
    /// `n_candidates = exhaust`).
    #[allow(clippy::new_ret_no_self)]
    pub fn new<B, T>(builder: B, distributions: ParamDistributions) -> HalvingSearchCV<B, T> {
        HalvingSearchCV::with_space(
            builder,
            HalvingSpace::Random {
                distributions,
                n_candidates: NCandidates::Exhaust,
            },
            MinResources::Smallest,
        )
    }
}

impl<B, T> HalvingSearchCV<B, T> {
    fn with_space(builder: B, space: HalvingSpace, min_resources: MinResources) -> Self {
        HalvingSearchCV {
            base: SearchCV::with_space(builder, SearchSpace::Grid(ParamGrid::new())),
            space,
            factor: 3.0,
            resource: Resource::NSamples,
            min_resources,
            max_resources: MaxResources::Auto,
            aggressive_elimination: false,
            random_state: 0,
        }
    }

    /// `factor`: the proportion of candidates kept after each round is `1 / factor`, and
    /// survivors get `factor` times more resource (default 3; must be > 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// `resource` (default [`Resource::NSamples`]).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resource = resource;
        self
    }

    /// `min_resources`.
    pub fn min_resources(mut self, min_resources: MinResources) -> Self {
        self.min_resources = min_resources;
        self
    }

    /// `max_resources` as a number (required unless `resource = n_samples`).
    pub fn max_resources(mut self, max_resources: usize) -> Self {
        self.max_resources = MaxResources::Value(max_resources);
        self
    }

    /// `aggressive_elimination`: replay the first round's resource until few enough
    /// candidates are left for the last round to hold fewer than `factor` of them.
    pub fn aggressive_elimination(mut self, yes: bool) -> Self {
        self.aggressive_elimination = yes;
        self
    }

    /// `n_candidates` of a random halving search (ignored for a grid).
    pub fn n_candidates(mut self, n: NCandidates) -> Self {
        if let HalvingSpace::Random { n_candidates, .. } = &mut self.space {
            *n_candidates = n;
        }
        self
    }

    /// Seed of the candidate draws and of the `n_samples` subsampling (default 0).
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = seed;
        self
    }

    delegate_search_options!();

    /// Records every finished (bracket, round, candidate, fold) fit in the file at `path`
    /// (created if missing; its directory must exist), flushed to disk before the fit
    /// counts as done; see [`SearchCV::journal`]. Running the same search again with the
    /// same file skips the recorded fits and gives `cv_results`, best candidate and refit
    /// identical to an uninterrupted run; which candidates survive each round follows from
    /// the recorded scores. With warm continuation, a model whose previous round came from
    /// the journal is rebuilt by training it in one go to its round's resource (equal to the
    /// continued model), counted by `rebuilt_models` and `rebuild_cost`. A file written by
    /// a different search (other schedule settings too) is refused.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, HalvingGridSearchCV, ParamGrid, Resource};
    /// use mlp_tune::neural_network::{MLPRegressor, Solver};
    ///
    /// let data = mlp_tune::datasets::diabetes();
    /// let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
    /// let path = std::env::temp_dir().join(format!("doc-halving-journal-{}.jsonl", std::process::id()));
    /// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).random_state(0);
    /// let search = HalvingGridSearchCV::new(by_name(base), ParamGrid::new().add("alpha", [1e-4, 1e-1]))
    ///     .resource(Resource::Epochs)
    ///     .max_resources(8)
    ///     .factor(2.0)
    ///     .cv(2)
    ///     .journal(&path);
    /// let first = search.fit(&data).unwrap();
    /// let again = search.fit(&data).unwrap(); // every fit comes from the journal
    /// assert_eq!(again.resumed_fits(), first.records().len());
    /// assert_eq!(again.cv_results().primary().mean_test, first.cv_results().primary().mean_test);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn journal(mut self, path: impl AsRef<std::path::Path>) -> Self {
        self.base = self.base.journal(path);
        self
    }

    /// Runs the search on a dataset.
    pub fn fit<F, E, R, TT>(
        &self,
        dataset: &DatasetBase<R, TT>,
    ) -> Result<FittedHalving<E, E::Model>>
    where
        F: Float,
        T: ScoreTarget + PartialOrd,
        B: Fn(&Candidate) -> Result<E> + Sync,
        E: Estimator<F, T>,
        R: Records + AsView2<F>,
        TT: AsSingleTargets<Elem = T>,
    {
        check_factor(self.factor)?;
        let (x, y) = dataset_views(dataset)?;
        let n_samples = x.nrows();
        let classes = T::classes_of(y.view());
        let probe_candidate = match &self.space {
            HalvingSpace::Grid(grid) => grid.candidates()?.into_iter().next(),
            HalvingSpace::Random { distributions, .. } => distributions
                .sample(1, self.random_state)?
                .into_iter()
                .next(),
        }
        .ok_or_else(|| MlpTuneError::SearchSpace("there are no candidates".into()))?;
        let classifier = self
            .probe_estimator(&probe_candidate)?
            .is_some_and(|e: E| e.is_classifier());
        let (scorers, refit_index) = self.base.resolve_scorers(classifier)?;
        let ids = class_ids(y.view(), &classes);
        let folds = self.base.cv.folds(n_samples, ids.as_deref(), classifier)?;
        let n_splits = folds.len();

        let smallest = match self.resource {
            Resource::NSamples => 2 * n_splits * if classifier { classes.len() } else { 1 },
            _ => 1,
        };
        let max_resources =
            match (self.max_resources, &self.resource) {
                (MaxResources::Auto, Resource::NSamples) => n_samples,
                (MaxResources::Auto, _) => return Err(invalid_param(
                    "max_resources",
                    "max_resources = auto is only allowed with resource = n_samples; give a number",
                )),
                (MaxResources::Value(v), Resource::NSamples) if v > n_samples => {
                    return Err(invalid_param(
                        "max_resources",
                        format!("{v} is more than the {n_samples} rows of the data"),
                    ))
                }
                (MaxResources::Value(v), _) => v,
            };
        let candidates = match &self.space {
            HalvingSpace::Grid(grid) => grid.candidates()?,
            HalvingSpace::Random {
                distributions,
                n_candidates,
            } => {
                let n = match n_candidates {
                    NCandidates::Value(0) => {
                        return Err(invalid_param("n_candidates", "must be >= 1"))
                    }
                    NCandidates::Value(n) => *n,
                    NCandidates::Exhaust => {
                        let min_r = match self.min_resources {
                            MinResources::Exhaust => {
                                return Err(invalid_param(
                                    "n_candidates",
                                    "n_candidates and min_resources cannot both be exhaust",
                                ))
                            }
                            MinResources::Smallest => smallest,
                            MinResources::Value(v) => v,
                        };
                        if min_r == 0 || min_r > max_resources {
                            // Reported with the schedule's own message below.
                            1
                        } else {
                            max_resources / min_r
                        }
                    }
                };
                distributions.sample(n, self.random_state)?
            }
        };
        let schedule = HalvingSchedule::new(
            candidates.len(),
            self.factor,
            self.min_resources,
            smallest,
            max_resources,
            self.aggressive_elimination,
        )?;
        if let Some(name) = self.resource.param_name() {
            check_resource_param(
                &self.base.builder,
                &candidates,
                name,
                schedule.min_resources,
            )?;
        }
        if self.resource == Resource::NSamples {
            let first = subsample_folds(
                &folds,
                schedule.n_resources[0],
                n_samples,
                self.random_state,
            );
            if let Some(f) = first
                .iter()
                .find(|f| f.train.is_empty() || f.test.is_empty())
            {
                return Err(MlpTuneError::InvalidInput(format!(
                    "too few samples for the first round: {} of {} rows gives folds with {} training and {} test rows; raise min_resources",
                    schedule.n_resources[0],
                    n_samples,
                    f.train.len(),
                    f.test.len()
                )));
            }
        }
        if let Some(observer) = &self.base.observer {
            observer.on_search_start(candidates.len(), n_splits);
        }
        let plan = BracketPlan {
            candidates: (0..candidates.len()).collect(),
            rounds: schedule
                .n_resources
                .iter()
                .copied()
                .zip(schedule.n_candidates.iter().copied())
                .collect(),
        };
        let journal = match &self.base.journal {
            Some(path) => {
                let kind = match &self.space {
                    HalvingSpace::Grid(_) => "halving-grid",
                    HalvingSpace::Random { .. } => "halving-random",
                };
                let n_candidates = match &self.space {
                    HalvingSpace::Grid(_) => None,
                    HalvingSpace::Random { n_candidates, .. } => Some(*n_candidates),
                };
                let settings = format!(
                    "factor {} resource {:?} min_resources {:?} max_resources {:?} resolved {} aggressive {} n_candidates {:?} random_state {} plan {:?}",
                    self.factor.to_bits(),
                    self.resource,
                    self.min_resources,
                    self.max_resources,
                    max_resources,
                    self.aggressive_elimination,
                    n_candidates,
                    self.random_state,
                    plan,
                );
                let fingerprint = journal_fingerprint(
                    &self.base,
                    kind,
                    settings,
                    x,
                    y,
                    &candidates,
                    self.resource
                        .param_name()
                        .map(|name| (name, schedule.min_resources)),
                    &folds,
                    &scorers,
                )?;
                Some(Journal::open(path, &fingerprint)?)
            }
            None => None,
        };
        let settings = EngineSettings {
            resource: &self.resource,
            random_state: self.random_state,
            n_samples,
        };
        let out = run_brackets(
            &self.base,
            &settings,
            x,
            y,
            &candidates,
            std::slice::from_ref(&plan),
            &folds,
            &scorers,
            &classes,
            refit_index.unwrap_or(0),
            refit_index.is_some(),
            journal.as_ref(),
        )?;
        let entered = out.rounds_entered[0];
        let (search, records, rebuilds) = finish(
            &self.base,
            x,
            y,
            out,
            n_splits,
            &scorers,
            refit_index,
            classes.len(),
        )?;
        let mut search = search;
        search.cv_results.bracket = None;
        Ok(FittedHalving {
            search,
            schedule: schedule.truncated(entered),
            planned: schedule,
            records,
            rebuilds,
        })
    }

    fn probe_estimator<E>(&self, candidate: &Candidate) -> Result<Option<E>>
    where
        B: Fn(&Candidate) -> Result<E>,
    {
        let with = match self.resource.param_name() {
            Some(name) => with_resource(candidate, name, ParamValue::Int(1)),
            None => candidate.clone(),
        };
        // A builder that refuses the resource is reported by the resource check.
        Ok((self.base.builder)(&with)
            .or_else(|_| (self.base.builder)(candidate))
            .ok())
    }
}

/// A finished successive-halving search: the [`FittedSearch`] (through `Deref`: results,
/// best candidate, refitted model) plus scikit-learn's halving attributes and the records.
#[derive(Debug, Clone)]
pub struct FittedHalving<E, M> {
    search: FittedSearch<E, M>,
    schedule: HalvingSchedule,
    planned: HalvingSchedule,
    records: Vec<HalvingRecord>,
    rebuilds: Rebuilds,
}

impl<E, M> Deref for FittedHalving<E, M> {
    type Target = FittedSearch<E, M>;
    fn deref(&self) -> &Self::Target {
        &self.search
    }
}

impl<E, M> FittedHalving<E, M> {
    /// The search results, best candidate and refitted model.
    pub fn search(&self) -> &FittedSearch<E, M> {
        &self.search
    }
    /// The schedule of the rounds run: the whole schedule, unless the search
    /// [stopped](FittedSearch::is_partial) (then the rounds entered, the last possibly
    /// incomplete; see [`planned_schedule`](Self::planned_schedule)).
    pub fn schedule(&self) -> &HalvingSchedule {
        &self.schedule
    }
    /// The schedule as planned, whether or not the search ran all of it.
    pub fn planned_schedule(&self) -> &HalvingSchedule {
        &self.planned
    }
    /// `n_resources_`: the resource of each round run.
    pub fn n_resources(&self) -> &[usize] {
        &self.schedule.n_resources
    }
    /// `n_candidates_`: the candidates of each round run.
    pub fn n_candidates(&self) -> &[usize] {
        &self.schedule.n_candidates
    }
    /// `n_remaining_candidates_`: the candidates the schedule keeps after the last round
    /// run.
    pub fn n_remaining_candidates(&self) -> usize {
        self.schedule.n_remaining_candidates
    }
    /// `n_iterations_`: rounds run (entered, for a stopped search: the last one may be
    /// incomplete).
    pub fn n_iterations(&self) -> usize {
        self.schedule.n_iterations
    }
    /// `n_possible_iterations_`.
    pub fn n_possible_iterations(&self) -> usize {
        self.schedule.n_possible_iterations
    }
    /// `n_required_iterations_`.
    pub fn n_required_iterations(&self) -> usize {
        self.schedule.n_required_iterations
    }
    /// `min_resources_`.
    pub fn min_resources(&self) -> usize {
        self.schedule.min_resources
    }
    /// `max_resources_`.
    pub fn max_resources(&self) -> usize {
        self.schedule.max_resources
    }
    /// Every (candidate, fold, round) fit, in collection order.
    pub fn records(&self) -> &[HalvingRecord] {
        &self.records
    }
    /// Resource actually spent by the search (sum of the records' `cost`; epochs with
    /// `resource = epochs`), without the refit. A search resumed from a journal reports the
    /// same cost as an uninterrupted one; what resuming cost on top is
    /// [`rebuild_cost`](Self::rebuild_cost).
    pub fn total_cost(&self) -> usize {
        self.records.iter().map(|r| r.cost).sum()
    }
    /// Fits of a resumed search that had to rebuild the model they continue (its previous
    /// round came from the journal, so the model was not in memory): each trained in one
    /// go to its round's resource, which gives the continued model.
    pub fn rebuilt_models(&self) -> usize {
        self.rebuilds.models
    }
    /// Epochs spent rebuilding models on resuming (the epochs of the rounds taken from
    /// the journal that the rebuilt fits trained again); 0 for an uninterrupted search.
    pub fn rebuild_cost(&self) -> usize {
        self.rebuilds.epochs
    }
}

/// One Hyperband bracket's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bracket {
    /// Hyperband's `s` (the bracket with the most rounds has the largest).
    pub s: usize,
    /// Epochs of each round.
    pub n_resources: Vec<usize>,
    /// Candidates of each round.
    pub n_candidates: Vec<usize>,
}

/// Hyperband (Li et al., *Hyperband: A Novel Bandit-Based Approach to Hyperparameter
/// Optimization*, JMLR 2018) over [`ParamDistributions`], with cross-validation and warm
/// continuation: each bracket is a successive-halving run on epochs (`max_iter`).
///
/// With `R = max_epochs`, `η = factor`, `r_min = min_epochs` and
/// `s_max = max { s : r_min·η^s ≤ R }`, bracket `s = s_max, …, 0` starts
/// `n = ceil((s_max + 1) / (s + 1) · η^s)` candidates at `R·η^-s` epochs; round `i` runs
/// `floor(n·η^-i)` candidates (at least 1) for `round(R·η^(i-s))` epochs, the last round `R`.
/// The whole set of brackets is repeated `iterations` times with fresh candidates. All
/// candidates are drawn at once from `random_state`. The best candidate is the best mean
/// test score among the last rounds of all brackets (all at `R` epochs).
///
/// ```
/// use mlp_tune::model_selection::{by_name, Distribution, HyperbandSearchCV, ParamDistributions};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
/// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).random_state(0);
/// let space = ParamDistributions::new()
///     .add("learning_rate_init", Distribution::LogUniform { low: 1e-3, high: 1e-1 });
/// let search = HyperbandSearchCV::new(by_name(base), space, 9).cv(3).fit(&data).unwrap();
/// assert_eq!(search.brackets().len(), 3); // s = 2, 1, 0
/// assert_eq!(search.brackets()[0].n_resources, [1, 3, 9]);
/// assert!(search.best_params().is_some());
/// ```
pub struct HyperbandSearchCV<B, T> {
    base: SearchCV<B, T>,
    distributions: ParamDistributions,
    max_epochs: usize,
    min_epochs: usize,
    factor: f64,
    iterations: usize,
    max_brackets: Option<usize>,
    random_state: u32,
}

impl<B, T> std::fmt::Debug for HyperbandSearchCV<B, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperbandSearchCV")
            .field("distributions", &self.distributions)
            .field("max_epochs", &self.max_epochs)
            .field("min_epochs", &self.min_epochs)
            .field("factor", &self.factor)
            .field("iterations", &self.iterations)
            .field("max_brackets", &self.max_brackets)
            .field("random_state", &self.random_state)
            .field("options", &self.base)
            .finish()
    }
}

/// Hyperband's brackets for `max_epochs`, `min_epochs` and `factor`.
///
/// ```
/// let b = mlp_tune::model_selection::hyperband_brackets(81, 1, 3.0).unwrap();
/// assert_eq!(b[0].n_candidates, [81, 27, 9, 3, 1]);
/// assert_eq!(b[0].n_resources, [1, 3, 9, 27, 81]);
/// assert_eq!(b[4].n_candidates, [5]);
/// ```
pub fn hyperband_brackets(
    max_epochs: usize,
    min_epochs: usize,
    factor: f64,
) -> Result<Vec<Bracket>> {
    check_factor(factor)?;
    if min_epochs == 0 {
        return Err(invalid_param("min_epochs", "must be >= 1"));
    }
    if max_epochs < min_epochs {
        return Err(invalid_param(
            "min_epochs",
            format!("min_epochs={min_epochs} is greater than max_epochs={max_epochs}"),
        ));
    }
    let r_max = max_epochs as f64;
    let mut s_max = 0usize;
    while (min_epochs as f64) * factor.powf((s_max + 1) as f64) <= r_max * (1.0 + 1e-12) {
        s_max += 1;
    }
    let mut brackets = Vec::with_capacity(s_max + 1);
    for s in (0..=s_max).rev() {
        let n =
            (((s_max + 1) as f64 / (s + 1) as f64) * factor.powf(s as f64) - 1e-9).ceil() as usize;
        let mut n_candidates = Vec::with_capacity(s + 1);
        let mut n_resources = Vec::with_capacity(s + 1);
        for i in 0..=s {
            let count = ((n as f64) * factor.powf(-(i as f64)) + 1e-9).floor() as usize;
            n_candidates.push(count.max(1));
            let r = (r_max * factor.powf(i as f64 - s as f64)).round() as usize;
            n_resources.push(r.clamp(1, max_epochs));
        }
        brackets.push(Bracket {
            s,
            n_resources,
            n_candidates,
        });
    }
    Ok(brackets)
}

impl HyperbandSearchCV<(), ()> {
    /// `HyperbandSearchCV(estimator, distributions, max_epochs)` with factor 3, min epochs
    /// 1, one Hyperband iteration, cv 5, refit on, `random_state` 0.
    #[allow(clippy::new_ret_no_self)]
    pub fn new<B, T>(
        builder: B,
        distributions: ParamDistributions,
        max_epochs: usize,
    ) -> HyperbandSearchCV<B, T> {
        HyperbandSearchCV {
            base: SearchCV::with_space(builder, SearchSpace::Grid(ParamGrid::new())),
            distributions,
            max_epochs,
            min_epochs: 1,
            factor: 3.0,
            iterations: 1,
            max_brackets: None,
            random_state: 0,
        }
    }
}

impl<B, T> HyperbandSearchCV<B, T> {
    /// η: each round keeps `1 / factor` of the candidates (default 3; must be > 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Fewest epochs a candidate is trained (default 1); raising it drops the most
    /// aggressive brackets.
    pub fn min_epochs(mut self, epochs: usize) -> Self {
        self.min_epochs = epochs;
        self
    }

    /// Hyperband iterations: the set of brackets is run this many times with fresh
    /// candidates (default 1).
    pub fn iterations(mut self, n: usize) -> Self {
        self.iterations = n;
        self
    }

    /// Runs only the `k` most exploratory brackets (largest `s`: most candidates, fewest
    /// epochs to start) of each Hyperband iteration; all by default.
    pub fn max_brackets(mut self, k: usize) -> Self {
        self.max_brackets = Some(k);
        self
    }

    /// Seed of the candidate draws (default 0).
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = seed;
        self
    }

    delegate_search_options!();

    /// Records every finished (bracket, round, candidate, fold) fit in the file at `path`
    /// (created if missing; its directory must exist), flushed to disk before the fit
    /// counts as done; see [`SearchCV::journal`]. Running the same search again with the
    /// same file skips the recorded fits and gives `cv_results`, best candidate and refit
    /// identical to an uninterrupted run; which candidates survive each round follows from
    /// the recorded scores. With warm continuation, a model whose previous round came from
    /// the journal is rebuilt by training it in one go to its round's resource (equal to the
    /// continued model), counted by `rebuilt_models` and `rebuild_cost`. A file written by
    /// a different search (other schedule settings too) is refused.
    pub fn journal(mut self, path: impl AsRef<std::path::Path>) -> Self {
        self.base = self.base.journal(path);
        self
    }

    /// Runs the search on a dataset.
    pub fn fit<F, E, R, TT>(
        &self,
        dataset: &DatasetBase<R, TT>,
    ) -> Result<FittedHyperband<E, E::Model>>
    where
        F: Float,
        T: ScoreTarget + PartialOrd,
        B: Fn(&Candidate) -> Result<E> + Sync,
        E: Estimator<F, T>,
        R: Records + AsView2<F>,
        TT: AsSingleTargets<Elem = T>,
    {
        if self.iterations == 0 {
            return Err(invalid_param("iterations", "must be >= 1"));
        }
        let mut template = hyperband_brackets(self.max_epochs, self.min_epochs, self.factor)?;
        match self.max_brackets {
            Some(0) => return Err(invalid_param("max_brackets", "must be >= 1")),
            Some(k) => template.truncate(k),
            None => {}
        }
        let (x, y) = dataset_views(dataset)?;
        let classes = T::classes_of(y.view());
        let per_iteration: usize = template.iter().map(|b| b.n_candidates[0]).sum();
        let candidates = self
            .distributions
            .sample(per_iteration * self.iterations, self.random_state)?;
        check_resource_param(&self.base.builder, &candidates, "max_iter", 1)?;
        let classifier = (self.base.builder)(&with_resource(
            &candidates[0],
            "max_iter",
            ParamValue::Int(1),
        ))?
        .is_classifier();
        let (scorers, refit_index) = self.base.resolve_scorers(classifier)?;
        let ids = class_ids(y.view(), &classes);
        let folds = self.base.cv.folds(x.nrows(), ids.as_deref(), classifier)?;
        let n_splits = folds.len();

        // Candidates go to brackets in order; a space too small for all of them leaves the
        // last brackets shorter or empty.
        let mut plans = Vec::new();
        let mut brackets = Vec::new();
        let mut next = 0;
        for _ in 0..self.iterations {
            for b in &template {
                let got = b.n_candidates[0].min(candidates.len() - next);
                if got == 0 {
                    continue;
                }
                let counts: Vec<usize> = b.n_candidates.iter().map(|&n| n.min(got)).collect();
                plans.push(BracketPlan {
                    candidates: (next..next + got).collect(),
                    rounds: b
                        .n_resources
                        .iter()
                        .copied()
                        .zip(counts.iter().copied())
                        .collect(),
                });
                brackets.push(Bracket {
                    s: b.s,
                    n_resources: b.n_resources.clone(),
                    n_candidates: counts,
                });
                next += got;
            }
        }
        if let Some(observer) = &self.base.observer {
            observer.on_search_start(next, n_splits);
        }
        let journal = match &self.base.journal {
            Some(path) => {
                let settings = format!(
                    "max_epochs {} min_epochs {} factor {} iterations {} max_brackets {:?} random_state {} plans {:?}",
                    self.max_epochs,
                    self.min_epochs,
                    self.factor.to_bits(),
                    self.iterations,
                    self.max_brackets,
                    self.random_state,
                    plans,
                );
                let fingerprint = journal_fingerprint(
                    &self.base,
                    "hyperband",
                    settings,
                    x,
                    y,
                    &candidates,
                    Some(("max_iter", 1)),
                    &folds,
                    &scorers,
                )?;
                Some(Journal::open(path, &fingerprint)?)
            }
            None => None,
        };
        let settings = EngineSettings {
            resource: &Resource::Epochs,
            random_state: self.random_state,
            n_samples: x.nrows(),
        };
        let out = run_brackets(
            &self.base,
            &settings,
            x,
            y,
            &candidates,
            &plans,
            &folds,
            &scorers,
            &classes,
            refit_index.unwrap_or(0),
            refit_index.is_some(),
            journal.as_ref(),
        )?;
        let run: Vec<Bracket> = brackets
            .iter()
            .zip(&out.rounds_entered)
            .map(|(b, &entered)| Bracket {
                s: b.s,
                n_resources: b.n_resources[..entered.min(b.n_resources.len())].to_vec(),
                n_candidates: b.n_candidates[..entered.min(b.n_candidates.len())].to_vec(),
            })
            .collect();
        let (search, records, rebuilds) = finish(
            &self.base,
            x,
            y,
            out,
            n_splits,
            &scorers,
            refit_index,
            classes.len(),
        )?;
        Ok(FittedHyperband {
            search,
            brackets: run,
            planned: brackets,
            records,
            rebuilds,
        })
    }
}

/// A finished Hyperband search: the [`FittedSearch`] (through `Deref`), the brackets run
/// and the records. `cv_results` has `bracket`, `iter` and `n_resources` columns.
#[derive(Debug, Clone)]
pub struct FittedHyperband<E, M> {
    search: FittedSearch<E, M>,
    brackets: Vec<Bracket>,
    planned: Vec<Bracket>,
    records: Vec<HalvingRecord>,
    rebuilds: Rebuilds,
}

impl<E, M> Deref for FittedHyperband<E, M> {
    type Target = FittedSearch<E, M>;
    fn deref(&self) -> &Self::Target {
        &self.search
    }
}

impl<E, M> FittedHyperband<E, M> {
    /// The search results, best candidate and refitted model.
    pub fn search(&self) -> &FittedSearch<E, M> {
        &self.search
    }
    /// The brackets, in order (bracket `b` of the records and `cv_results`), with the
    /// rounds run: all of them unless the search [stopped](FittedSearch::is_partial), then
    /// the rounds entered (the last possibly incomplete; none for a bracket that never
    /// started). See [`planned_brackets`](Self::planned_brackets).
    pub fn brackets(&self) -> &[Bracket] {
        &self.brackets
    }
    /// The brackets as planned, whether or not the search ran all of their rounds.
    pub fn planned_brackets(&self) -> &[Bracket] {
        &self.planned
    }
    /// Every (candidate, fold, round) fit, in collection order.
    pub fn records(&self) -> &[HalvingRecord] {
        &self.records
    }
    /// Epochs actually trained by the search (without the refit). A search resumed from a
    /// journal reports the same cost as an uninterrupted one; what resuming cost on top is
    /// [`rebuild_cost`](Self::rebuild_cost).
    pub fn total_cost(&self) -> usize {
        self.records.iter().map(|r| r.cost).sum()
    }
    /// Fits of a resumed search that had to rebuild the model they continue (see
    /// [`FittedHalving::rebuilt_models`]).
    pub fn rebuilt_models(&self) -> usize {
        self.rebuilds.models
    }
    /// Epochs spent rebuilding models on resuming; 0 for an uninterrupted search.
    pub fn rebuild_cost(&self) -> usize {
        self.rebuilds.epochs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floor_division_and_log() {
        assert_eq!(py_floordiv(100.0, 6.25), 16.0);
        assert_eq!(py_floordiv(1000.0, 3.0), 333.0);
        assert_eq!(py_log(1000.0, 10.0).floor(), 2.0);
        assert_eq!(py_log(243.0, 3.0).floor(), 4.0);
        assert_eq!(py_log(81.0, 3.0), 4.0);
    }

    #[test]
    fn top_k_orders_ascending_with_nan_lowest() {
        assert_eq!(top_k(&[0.5, f64::NAN, 0.9, 0.1], 2), vec![0, 2]);
        assert_eq!(top_k(&[f64::NAN, 0.2], 2), vec![0, 1]);
        assert_eq!(top_k(&[0.3, 0.3, 0.1], 2), vec![0, 1]);
    }

    #[test]
    fn resample_takes_a_shuffled_prefix() {
        let idx = [10, 11, 12, 13, 14];
        let r = resample(&idx, 3, 0);
        assert_eq!(r.len(), 3);
        let mut rng = NumpyRng::new(0);
        let p = rng.permutation(5);
        assert_eq!(r, vec![idx[p[0]], idx[p[1]], idx[p[2]]]);
    }

    #[test]
    fn hyperband_brackets_follow_li_et_al() {
        let b = hyperband_brackets(81, 1, 3.0).unwrap();
        assert_eq!(b.len(), 5);
        assert_eq!(b[1].n_candidates, [34, 11, 3, 1]);
        assert_eq!(b[1].n_resources, [3, 9, 27, 81]);
        assert_eq!(b[2].n_candidates, [15, 5, 1]);
        assert_eq!(b[3].n_candidates, [8, 2]);
        assert!(hyperband_brackets(10, 20, 3.0).is_err());
        assert!(hyperband_brackets(10, 1, 1.0).is_err());
    }
}
