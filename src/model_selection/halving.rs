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
use std::sync::Arc;

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::Float;
use ndarray::{ArrayView1, ArrayView2};

use super::bohb::{Bohb, BracketSampler};
use super::param_space::{Candidate, ParamDistributions, ParamGrid, ParamValue};
pub use super::runner::HalvingRecord;
use super::runner::{Batch, History, Rebuilds, ResourceKind, Runner, Strategy, Trial};
use super::scoring::{ScoreTarget, Scorer};
use super::search::{FittedSearch, RoundEvent, SearchCV};
use super::split::Fold;
use super::validation::{class_ids, dataset_views, AsView2, Estimator};
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

/// The rounds of one successive-halving run.
#[derive(Debug, Clone, PartialEq)]
struct BracketPlan {
    /// Indices into the candidate list.
    candidates: Vec<usize>,
    /// `(n_resources, n_candidates)` per round; `rounds[0].1 == candidates.len()`.
    rounds: Vec<(usize, usize)>,
}

/// The runner's view of a halving resource.
fn resource_kind(resource: &Resource) -> ResourceKind {
    match resource {
        Resource::NSamples => ResourceKind::Rows,
        Resource::Epochs => ResourceKind::Epochs,
        Resource::Param(_) => ResourceKind::Param,
    }
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

/// Successive-halving brackets as a strategy of the search core: one batch per step, a
/// step running the current round of every bracket that has started. Brackets are aligned
/// on their last round: shorter brackets start later, so every step (and the expensive
/// last one above all) has work from several brackets.
struct Brackets<'a> {
    /// The candidate of every slot of every bracket: random draws, replaced by BOHB's
    /// proposals when their bracket starts.
    candidates: Vec<Candidate>,
    bohb: Option<Bohb<'a>>,
    plans: &'a [BracketPlan],
    resource: &'a Resource,
    /// The search's folds, subsampled per round with `resource = n_samples`.
    folds: &'a [Fold],
    n_samples: usize,
    random_state: u32,
    n_splits: usize,
    /// Candidates of each bracket's current round.
    current: Vec<Vec<usize>>,
    /// Steps each bracket waits before its first round.
    offset: Vec<usize>,
    n_steps: usize,
    /// The next step.
    step: usize,
    /// Each bracket's last resource.
    prev_resource: Vec<usize>,
}

impl<'a> Brackets<'a> {
    fn new(
        candidates: Vec<Candidate>,
        plans: &'a [BracketPlan],
        resource: &'a Resource,
        folds: &'a [Fold],
        n_samples: usize,
        random_state: u32,
    ) -> Self {
        let n_steps = plans.iter().map(|p| p.rounds.len()).max().unwrap_or(0);
        Brackets {
            candidates,
            bohb: None,
            plans,
            resource,
            folds,
            n_samples,
            random_state,
            n_splits: folds.len(),
            current: plans.iter().map(|p| p.candidates.clone()).collect(),
            offset: plans.iter().map(|p| n_steps - p.rounds.len()).collect(),
            n_steps,
            step: 0,
            prev_resource: vec![0; plans.len()],
        }
    }

    fn round_of(&self, bracket: usize, step: usize) -> Option<usize> {
        step.checked_sub(self.offset[bracket])
    }
}

impl Strategy for Brackets<'_> {
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>> {
        if let Some(done) = self.step.checked_sub(1) {
            // Survivors of each bracket that has another round: the best of the round just
            // run, by mean test score.
            for b in 0..self.plans.len() {
                let Some(round) = self.round_of(b, done) else {
                    continue;
                };
                let Some(&(_, n_next)) = self.plans[b].rounds.get(round + 1) else {
                    continue;
                };
                let scores: Vec<f64> = (0..history.n_rows())
                    .filter(|&r| history.bracket[r] == b && history.iter[r] == round)
                    .map(|r| history.mean_score(r))
                    .collect();
                let keep = top_k(&scores, n_next);
                self.current[b] = keep.into_iter().map(|i| self.current[b][i]).collect();
            }
        }
        if self.step >= self.n_steps {
            return Ok(None);
        }
        let step = self.step;
        self.step += 1;
        let param = self.resource.param_name();
        let mut batch = Batch {
            decides_best: self.step == self.n_steps,
            ..Batch::default()
        };
        for (b, plan) in self.plans.iter().enumerate() {
            let Some(round) = self.round_of(b, step) else {
                continue;
            };
            let Some(&(r, _)) = plan.rounds.get(round) else {
                continue;
            };
            if let (Some(bohb), 0) = (&mut self.bohb, round) {
                let mut slots: Vec<&mut Candidate> = self
                    .candidates
                    .iter_mut()
                    .enumerate()
                    .filter(|(c, _)| plan.candidates.contains(c))
                    .map(|(_, candidate)| candidate)
                    .collect();
                bohb.fill(&mut slots, history)?;
            }
            batch.rounds.push(RoundEvent {
                bracket: b,
                iter: round,
                n_candidates: self.current[b].len(),
                n_resources: r,
                n_splits: self.n_splits,
            });
            let folds = (*self.resource == Resource::NSamples).then(|| {
                Arc::new(subsample_folds(
                    self.folds,
                    r,
                    self.n_samples,
                    self.random_state,
                ))
            });
            for &c in &self.current[b] {
                let params = match param {
                    Some(name) => {
                        with_resource(&self.candidates[c], name, ParamValue::Int(r as i64))
                    }
                    None => self.candidates[c].clone(),
                };
                batch.trials.push(Trial {
                    params,
                    config: c,
                    bracket: b,
                    iter: round,
                    resource: r,
                    prev_resource: self.prev_resource[b],
                    folds: folds.clone(),
                });
            }
            self.prev_resource[b] = r;
        }
        Ok(Some(batch))
    }

    fn planned_fits_left(&self, history: &History) -> usize {
        self.plans
            .iter()
            .zip(history.rounds_entered(self.plans.len()))
            .map(|(plan, entered)| {
                plan.rounds[entered.min(plan.rounds.len())..]
                    .iter()
                    .map(|&(_, n)| n * self.n_splits)
                    .sum::<usize>()
            })
            .sum()
    }

    /// The best candidate comes from the last round of its bracket (scikit-learn:
    /// `nanargmax` over the last iteration; the first row when all are NaN). In a stopped
    /// search, from each bracket's last round whose every fit was done: never from a
    /// candidate with folds left unfitted.
    fn best_rows(&self, history: &History) -> Vec<usize> {
        let mut round_complete: HashMap<(usize, usize), bool> = HashMap::new();
        for r in 0..history.n_rows() {
            *round_complete
                .entry((history.bracket[r], history.iter[r]))
                .or_insert(true) &= history.complete[r];
        }
        let mut last_complete: HashMap<usize, usize> = HashMap::new();
        for (&(b, i), &complete) in &round_complete {
            if complete {
                let last = last_complete.entry(b).or_insert(i);
                *last = (*last).max(i);
            }
        }
        (0..history.n_rows())
            .filter(|&r| last_complete.get(&history.bracket[r]) == Some(&history.iter[r]))
            .collect()
    }
}

/// Runs `strategy` over `candidates` and assembles the fitted search, the records and the
/// rebuild counts; also returns the rounds each of `n_brackets` brackets entered.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn run_brackets<F, T, B, E, S: Sync>(
    runner: &Runner<'_, B, T, F, S>,
    strategy: &mut Brackets<'_>,
    refit_index: Option<usize>,
) -> Result<(
    FittedSearch<E, E::Model>,
    Vec<HalvingRecord>,
    Rebuilds,
    Vec<usize>,
)>
where
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    let mut out = runner.run(strategy)?;
    let best_rows = strategy.best_rows(&out.history);
    let entered = out.history.rounds_entered(strategy.plans.len());
    let records = std::mem::take(&mut out.records);
    let rebuilds = out.rebuilds;
    let search = runner.finish(out, &best_rows, Some(runner.selection), refit_index)?;
    Ok((search, records, rebuilds, entered))
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

/// The journal fingerprint of a halving or Hyperband search: `settings` (its schedule
/// settings) besides what every search's fingerprint covers (candidates, estimators built
/// with the resource parameter, folds, scorers, data).
#[allow(clippy::too_many_arguments)]
fn journal_fingerprint<F, T, B, E, S>(
    opts: &SearchCV<B, T, S>,
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
pub type HalvingSearchCV<B, T> = SearchCV<B, T, HalvingSettings>;

/// What a successive-halving search searches and its schedule settings (the `S` of
/// [`HalvingSearchCV`]): built by [`HalvingGridSearchCV::new`] or
/// [`HalvingRandomSearchCV::new`], set by the search's own methods.
#[derive(Debug, Clone)]
pub struct HalvingSettings {
    candidates: HalvingSpace,
    factor: f64,
    resource: Resource,
    min_resources: MinResources,
    max_resources: MaxResources,
    aggressive_elimination: bool,
    random_state: u32,
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
        HalvingSearchCV::halving(builder, HalvingSpace::Grid(grid), MinResources::Exhaust)
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
        HalvingSearchCV::halving(
            builder,
            HalvingSpace::Random {
                distributions,
                n_candidates: NCandidates::Exhaust,
            },
            MinResources::Smallest,
        )
    }
}

impl<B, T> SearchCV<B, T, HalvingSettings> {
    fn halving(builder: B, candidates: HalvingSpace, min_resources: MinResources) -> Self {
        SearchCV::with_space(
            builder,
            HalvingSettings {
                candidates,
                factor: 3.0,
                resource: Resource::NSamples,
                min_resources,
                max_resources: MaxResources::Auto,
                aggressive_elimination: false,
                random_state: 0,
            },
        )
    }

    /// `factor`: the proportion of candidates kept after each round is `1 / factor`, and
    /// survivors get `factor` times more resource (default 3; must be > 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.space.factor = factor;
        self
    }

    /// `resource` (default [`Resource::NSamples`]).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.space.resource = resource;
        self
    }

    /// `min_resources`.
    pub fn min_resources(mut self, min_resources: MinResources) -> Self {
        self.space.min_resources = min_resources;
        self
    }

    /// `max_resources` as a number (required unless `resource = n_samples`).
    pub fn max_resources(mut self, max_resources: usize) -> Self {
        self.space.max_resources = MaxResources::Value(max_resources);
        self
    }

    /// `aggressive_elimination`: replay the first round's resource until few enough
    /// candidates are left for the last round to hold fewer than `factor` of them.
    pub fn aggressive_elimination(mut self, yes: bool) -> Self {
        self.space.aggressive_elimination = yes;
        self
    }

    /// `n_candidates` of a random halving search (ignored for a grid).
    pub fn n_candidates(mut self, n: NCandidates) -> Self {
        if let HalvingSpace::Random { n_candidates, .. } = &mut self.space.candidates {
            *n_candidates = n;
        }
        self
    }

    /// Seed of the candidate draws and of the `n_samples` subsampling (default 0).
    pub fn random_state(mut self, seed: u32) -> Self {
        self.space.random_state = seed;
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
        check_factor(self.space.factor)?;
        let (x, y) = dataset_views(dataset)?;
        let n_samples = x.nrows();
        let classes = T::classes_of(y.view());
        let probe_candidate = match &self.space.candidates {
            HalvingSpace::Grid(grid) => grid.candidates()?.into_iter().next(),
            HalvingSpace::Random { distributions, .. } => distributions
                .sample(1, self.space.random_state)?
                .into_iter()
                .next(),
        }
        .ok_or_else(|| MlpTuneError::SearchSpace("there are no candidates".into()))?;
        let classifier = self
            .probe_estimator(&probe_candidate)?
            .is_some_and(|e: E| e.is_classifier());
        let (scorers, refit_index) = self.resolve_scorers(classifier)?;
        let ids = class_ids(y.view(), &classes);
        let folds = self.cv.folds(n_samples, ids.as_deref(), classifier)?;
        let n_splits = folds.len();

        let smallest = match self.space.resource {
            Resource::NSamples => 2 * n_splits * if classifier { classes.len() } else { 1 },
            _ => 1,
        };
        let max_resources =
            match (self.space.max_resources, &self.space.resource) {
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
        let candidates = match &self.space.candidates {
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
                        let min_r = match self.space.min_resources {
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
                distributions.sample(n, self.space.random_state)?
            }
        };
        let schedule = HalvingSchedule::new(
            candidates.len(),
            self.space.factor,
            self.space.min_resources,
            smallest,
            max_resources,
            self.space.aggressive_elimination,
        )?;
        if let Some(name) = self.space.resource.param_name() {
            check_resource_param(&self.builder, &candidates, name, schedule.min_resources)?;
        }
        if self.space.resource == Resource::NSamples {
            let first = subsample_folds(
                &folds,
                schedule.n_resources[0],
                n_samples,
                self.space.random_state,
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
        if let Some(observer) = &self.observer {
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
        let journal = self.open_journal(|| {
            let kind = match &self.space.candidates {
                HalvingSpace::Grid(_) => "halving-grid",
                HalvingSpace::Random { .. } => "halving-random",
            };
            let n_candidates = match &self.space.candidates {
                HalvingSpace::Grid(_) => None,
                HalvingSpace::Random { n_candidates, .. } => Some(*n_candidates),
            };
            let settings = format!(
                "factor {} resource {:?} min_resources {:?} max_resources {:?} resolved {} aggressive {} n_candidates {:?} random_state {} plan {:?}",
                self.space.factor.to_bits(),
                self.space.resource,
                self.space.min_resources,
                self.space.max_resources,
                max_resources,
                self.space.aggressive_elimination,
                n_candidates,
                self.space.random_state,
                plan,
            );
            let fingerprint = journal_fingerprint(
                self,
                kind,
                settings,
                x,
                y,
                &candidates,
                self.space
                    .resource
                    .param_name()
                    .map(|name| (name, schedule.min_resources)),
                &folds,
                &scorers,
            )?;
            Ok(fingerprint)
        })?;
        let runner = Runner {
            opts: self,
            x,
            y,
            folds: &folds,
            scorers: &scorers,
            classes: &classes,
            selection: refit_index.unwrap_or(0),
            refit: refit_index.is_some(),
            resource: resource_kind(&self.space.resource),
            journal: journal.as_ref(),
        };
        let plans = [plan];
        let mut strategy = Brackets::new(
            candidates,
            &plans,
            &self.space.resource,
            &folds,
            n_samples,
            self.space.random_state,
        );
        let (mut search, records, rebuilds, entered) =
            run_brackets(&runner, &mut strategy, refit_index)?;
        search.cv_results.bracket = None;
        Ok(FittedHalving {
            search,
            schedule: schedule.truncated(entered[0]),
            planned: schedule,
            records,
            rebuilds,
        })
    }

    fn probe_estimator<E>(&self, candidate: &Candidate) -> Result<Option<E>>
    where
        B: Fn(&Candidate) -> Result<E>,
    {
        let with = match self.space.resource.param_name() {
            Some(name) => with_resource(candidate, name, ParamValue::Int(1)),
            None => candidate.clone(),
        };
        // A builder that refuses the resource is reported by the resource check.
        Ok((self.builder)(&with)
            .or_else(|_| (self.builder)(candidate))
            .ok())
    }
}

/// A finished successive-halving search: the [`FittedSearch`] (results, best candidate,
/// refitted model; also through [`SearchResults`](super::SearchResults)) plus scikit-learn's halving attributes and the records.
#[derive(Debug, Clone)]
pub struct FittedHalving<E, M> {
    search: FittedSearch<E, M>,
    schedule: HalvingSchedule,
    planned: HalvingSchedule,
    records: Vec<HalvingRecord>,
    rebuilds: Rebuilds,
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
/// use mlp_tune::model_selection::{by_name, Distribution, HyperbandSearchCV, ParamDistributions, SearchResults};
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
pub type HyperbandSearchCV<B, T> = SearchCV<B, T, HyperbandSettings>;

/// What a Hyperband search searches and its bracket settings (the `S` of
/// [`HyperbandSearchCV`]): built by [`HyperbandSearchCV::new`], set by the search's own
/// methods.
#[derive(Debug, Clone)]
pub struct HyperbandSettings {
    distributions: ParamDistributions,
    max_epochs: usize,
    min_epochs: usize,
    factor: f64,
    iterations: usize,
    max_brackets: Option<usize>,
    sampler: BracketSampler,
    random_state: u32,
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

impl<B, T> SearchCV<B, T, HyperbandSettings> {
    /// `HyperbandSearchCV(estimator, distributions, max_epochs)` with factor 3, min epochs
    /// 1, one Hyperband iteration, cv 5, refit on, `random_state` 0.
    pub fn new(builder: B, distributions: ParamDistributions, max_epochs: usize) -> Self {
        SearchCV::with_space(
            builder,
            HyperbandSettings {
                distributions,
                max_epochs,
                min_epochs: 1,
                factor: 3.0,
                iterations: 1,
                max_brackets: None,
                sampler: BracketSampler::Random,
                random_state: 0,
            },
        )
    }

    /// η: each round keeps `1 / factor` of the candidates (default 3; must be > 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.space.factor = factor;
        self
    }

    /// Fewest epochs a candidate is trained (default 1); raising it drops the most
    /// aggressive brackets.
    pub fn min_epochs(mut self, epochs: usize) -> Self {
        self.space.min_epochs = epochs;
        self
    }

    /// Hyperband iterations: the set of brackets is run this many times with fresh
    /// candidates (default 1).
    pub fn iterations(mut self, n: usize) -> Self {
        self.space.iterations = n;
        self
    }

    /// Runs only the `k` most exploratory brackets (largest `s`: most candidates, fewest
    /// epochs to start) of each Hyperband iteration; all by default.
    pub fn max_brackets(mut self, k: usize) -> Self {
        self.space.max_brackets = Some(k);
        self
    }

    /// How each bracket's candidates are chosen: [`BracketSampler::Random`] (Hyperband,
    /// the default) or [`BracketSampler::Tpe`] (BOHB: a TPE model of the results on the
    /// largest budget with `d + 1` of them, see [`BracketSampler::bohb`]). BOHB's own draws
    /// come from a generator seeded with `random_state + 1`.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, BracketSampler, Distribution, HyperbandSearchCV, ParamDistributions};
    /// use mlp_tune::neural_network::{MLPRegressor, Solver};
    ///
    /// let data = mlp_tune::datasets::diabetes();
    /// let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
    /// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).random_state(0);
    /// let space = ParamDistributions::new()
    ///     .add("learning_rate_init", Distribution::LogUniform { low: 1e-3, high: 1e-1 });
    /// let search = HyperbandSearchCV::new(by_name(base), space, 9)
    ///     .sampler(BracketSampler::bohb())
    ///     .cv(3)
    ///     .fit(&data)
    ///     .unwrap();
    /// assert_eq!(search.brackets().len(), 3);
    /// ```
    pub fn sampler(mut self, sampler: BracketSampler) -> Self {
        self.space.sampler = sampler;
        self
    }

    /// Seed of the candidate draws (default 0).
    pub fn random_state(mut self, seed: u32) -> Self {
        self.space.random_state = seed;
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
        if self.space.iterations == 0 {
            return Err(invalid_param("iterations", "must be >= 1"));
        }
        self.space.sampler.validate()?;
        let mut template = hyperband_brackets(
            self.space.max_epochs,
            self.space.min_epochs,
            self.space.factor,
        )?;
        match self.space.max_brackets {
            Some(0) => return Err(invalid_param("max_brackets", "must be >= 1")),
            Some(k) => template.truncate(k),
            None => {}
        }
        let (x, y) = dataset_views(dataset)?;
        let classes = T::classes_of(y.view());
        let per_iteration: usize = template.iter().map(|b| b.n_candidates[0]).sum();
        let candidates = self.space.distributions.sample(
            per_iteration * self.space.iterations,
            self.space.random_state,
        )?;
        check_resource_param(&self.builder, &candidates, "max_iter", 1)?;
        let classifier = (self.builder)(&with_resource(
            &candidates[0],
            "max_iter",
            ParamValue::Int(1),
        ))?
        .is_classifier();
        let (scorers, refit_index) = self.resolve_scorers(classifier)?;
        let ids = class_ids(y.view(), &classes);
        let folds = self.cv.folds(x.nrows(), ids.as_deref(), classifier)?;
        let n_splits = folds.len();

        // Candidates go to brackets in order; a space too small for all of them leaves the
        // last brackets shorter or empty.
        let mut plans = Vec::new();
        let mut brackets = Vec::new();
        let mut next = 0;
        for _ in 0..self.space.iterations {
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
        if let Some(observer) = &self.observer {
            observer.on_search_start(next, n_splits);
        }
        let journal = self.open_journal(|| {
            let mut settings = format!(
                "max_epochs {} min_epochs {} factor {} iterations {} max_brackets {:?} random_state {} plans {:?}",
                self.space.max_epochs,
                self.space.min_epochs,
                self.space.factor.to_bits(),
                self.space.iterations,
                self.space.max_brackets,
                self.space.random_state,
                plans,
            );
            if self.space.sampler != BracketSampler::Random {
                settings += &format!(" sampler {:?}", self.space.sampler);
            }
            let fingerprint = journal_fingerprint(
                self,
                "hyperband",
                settings,
                x,
                y,
                &candidates,
                Some(("max_iter", 1)),
                &folds,
                &scorers,
            )?;
            Ok(fingerprint)
        })?;
        let runner = Runner {
            opts: self,
            x,
            y,
            folds: &folds,
            scorers: &scorers,
            classes: &classes,
            selection: refit_index.unwrap_or(0),
            refit: refit_index.is_some(),
            resource: ResourceKind::Epochs,
            journal: journal.as_ref(),
        };
        let mut strategy = Brackets::new(
            candidates,
            &plans,
            &Resource::Epochs,
            &folds,
            x.nrows(),
            self.space.random_state,
        );
        strategy.bohb = Bohb::new(
            &self.space.sampler,
            &self.space.distributions,
            self.space.random_state.wrapping_add(1),
        );
        let (search, records, rebuilds, entered) =
            run_brackets(&runner, &mut strategy, refit_index)?;
        let run: Vec<Bracket> = brackets
            .iter()
            .zip(&entered)
            .map(|(b, &entered)| Bracket {
                s: b.s,
                n_resources: b.n_resources[..entered.min(b.n_resources.len())].to_vec(),
                n_candidates: b.n_candidates[..entered.min(b.n_candidates.len())].to_vec(),
            })
            .collect();
        Ok(FittedHyperband {
            search,
            brackets: run,
            planned: brackets,
            records,
            rebuilds,
        })
    }
}

/// A finished Hyperband search: the [`FittedSearch`] (also through
/// [`SearchResults`](super::SearchResults)), the brackets run
/// and the records. `cv_results` has `bracket`, `iter` and `n_resources` columns.
#[derive(Debug, Clone)]
pub struct FittedHyperband<E, M> {
    search: FittedSearch<E, M>,
    brackets: Vec<Bracket>,
    planned: Vec<Bracket>,
    records: Vec<HalvingRecord>,
    rebuilds: Rebuilds,
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
