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

mod brackets;
mod hyperband;
mod schedule;

use brackets::*;
pub use hyperband::*;
pub use schedule::*;

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
/// refitted model; also through [`SearchResults`](crate::model_selection::SearchResults)) plus scikit-learn's halving attributes and the records.
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
