//! [`BayesSearchCV`]: Bayesian optimization with a Gaussian process, as scikit-optimize's
//! `gp_minimize` / `BayesSearchCV` do it, as a strategy of the search core.
//!
//! **Loop.** The first [`n_initial_points`](SearchCV::n_initial_points) trials are random
//! draws from the distributions (as a randomized search draws them), or a Latin hypercube
//! ([`InitialPoints`]). After that, each
//! proposal fits a GP ([`gp`](super::gp): Matérn 5/2 with one length scale per column,
//! times a constant, plus white noise, targets standardized, hyperparameters of maximal
//! marginal likelihood from three starts) to the complete trials in the unit box of the
//! transformed space (log for log-scaled parameters, one-hot for lists, integers rounded
//! back), evaluates the [`Acquisition`] at [`n_points`](SearchCV::n_points) random points,
//! polishes the best 5 by a bounded quasi-Newton run (20 iterations at most), and proposes
//! the best point.
//!
//! **Objective.** A trial's value is its mean test score over the folds on the refit
//! metric (the first scorer by default), greater is better; internally the GP models the
//! negated score and minimizes, as scikit-optimize does. A trial with a failed fold (or a
//! NaN mean) gets `error_score` in `cv_results` and is invisible to the model; so is a
//! trial with an infinite mean score.
//!
//! **Batches and determinism.** Trials are proposed in synchronous batches of
//! [`batch_size`](SearchCV::batch_size): after the first proposal of a batch, the GP is
//! refitted with each earlier proposal counted at a made-up score (the constant liar,
//! [`ConstantLiar`]), so the batch spreads out. Every random number comes from one
//! [`NumpyRng`] seeded by [`random_state`](SearchCV::random_state), and proposals use only
//! finished batches, so results depend on the seed and the batch size, never on `n_jobs`,
//! and a search rerun with its [journal](SearchCV::journal) proposes the same trials.
//! Random initial trials run as one batch whatever the batch size.
//!
//! **Differences from scikit-optimize**, deliberate: random numbers come from the crate's
//! generator in our own order (so the same seed gives other draws than scikit-optimize);
//! one-hot columns are held fixed while polishing (scikit-optimize polishes them as reals
//! and takes the largest); if the GP cannot be fitted (no positive definite covariance at
//! any start), the proposal is a random draw.

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::Float;

use super::gp::acquisition::{minimize_acquisition, AcqKind};
use super::gp::space::UnitSpace;
use super::gp::{Gp, Hyper};
use super::param_space::{Candidate, ParamDistributions};
use super::runner::{Batch, History, Strategy};
use super::scoring::ScoreTarget;
use super::search::{FittedSearch, SearchCV};
use super::tpe::TrialState;
use super::tpe_search::{check_trials, trial_batch, trial_state};
use super::validation::{AsView2, Estimator};
use crate::error::{invalid_param, Result};
use crate::random::NumpyRng;

/// The acquisition function a [`BayesSearchCV`] maximizes to choose the next trial
/// (scikit-optimize's `acq_func`, with its `xi` and `kappa`). Default:
/// [`GpHedge`](Self::GpHedge) with scikit-optimize's parameters.
///
/// In what follows `mu` and `std` are the GP's posterior mean and standard deviation of
/// the *negated* score at a point and `y_opt` the lowest negated score so far (the best
/// score), all in the score's units.
///
/// ```
/// use mlp_tune::model_selection::Acquisition;
/// assert_eq!(Acquisition::default(), Acquisition::GpHedge { xi: 0.01, kappa: 1.96, eta: 1.0 });
/// // Keras Tuner's BayesianOptimization: an upper confidence bound with beta = 2.6.
/// let keras = Acquisition::LowerConfidenceBound { kappa: 2.6 };
/// assert!(keras.validate().is_ok());
/// assert!(Acquisition::ExpectedImprovement { xi: f64::NAN }.validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acquisition {
    /// Expected improvement `E[max(y_opt - xi - f, 0)]` (scikit-optimize's `"EI"`).
    /// `xi`: margin an improvement must beat, in the score's units; default 0.01, range
    /// finite (larger explores more).
    ExpectedImprovement {
        /// Margin; default 0.01.
        xi: f64,
    },
    /// Probability of improvement `P(f < y_opt - xi)` (scikit-optimize's `"PI"`). `xi`:
    /// default 0.01, range finite.
    ProbabilityOfImprovement {
        /// Margin; default 0.01.
        xi: f64,
    },
    /// Lower confidence bound `mu - kappa·std` of the negated score, i.e. the upper
    /// confidence bound of the score (scikit-optimize's `"LCB"`). `kappa`: default 1.96,
    /// range `[0, inf)`, finite; larger explores more. Keras Tuner's
    /// `BayesianOptimization` uses `beta = 2.6` for the same bound: `kappa: 2.6`.
    LowerConfidenceBound {
        /// Weight of the standard deviation; default 1.96.
        kappa: f64,
    },
    /// scikit-optimize's `"gp_hedge"` (its default): each proposal computes the best
    /// point of EI, LCB and PI and picks one at random with probabilities
    /// `softmax(eta · gains)`, where each function's gain is decreased, after every
    /// refit, by the new GP's mean at the point it proposed last time. `xi` and `kappa` as
    /// above; `eta` default 1.0, range `(0, inf)`, finite.
    GpHedge {
        /// Margin of EI and PI; default 0.01.
        xi: f64,
        /// LCB's weight; default 1.96.
        kappa: f64,
        /// Inverse temperature of the choice; default 1.0.
        eta: f64,
    },
}

impl Default for Acquisition {
    fn default() -> Self {
        Acquisition::GpHedge {
            xi: 0.01,
            kappa: 1.96,
            eta: 1.0,
        }
    }
}

impl Acquisition {
    /// Checks the ranges documented on each variant
    /// ([`MlpTuneError::InvalidParameter`](crate::MlpTuneError::InvalidParameter) named `acquisition`).
    pub fn validate(&self) -> Result<()> {
        let (xi, kappa, eta) = match *self {
            Acquisition::ExpectedImprovement { xi }
            | Acquisition::ProbabilityOfImprovement { xi } => (xi, 0.0, 1.0),
            Acquisition::LowerConfidenceBound { kappa } => (0.0, kappa, 1.0),
            Acquisition::GpHedge { xi, kappa, eta } => (xi, kappa, eta),
        };
        if !(xi.is_finite() && kappa.is_finite() && kappa >= 0.0 && eta.is_finite() && eta > 0.0) {
            return Err(invalid_param(
                "acquisition",
                format!("{self:?}: xi must be finite, kappa finite and >= 0, eta finite and > 0"),
            ));
        }
        Ok(())
    }
}

/// What a batch's later proposals pretend the earlier, still running ones scored
/// (scikit-optimize's `ask(n_points, strategy=...)`). Default [`Min`](Self::Min).
///
/// ```
/// use mlp_tune::model_selection::ConstantLiar;
/// assert_eq!(ConstantLiar::default(), ConstantLiar::Min);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConstantLiar {
    /// `"cl_min"`: the lowest negated score so far, i.e. the *best* score (optimistic:
    /// the batch spreads out least). scikit-optimize's default.
    #[default]
    Min,
    /// `"cl_mean"`: the mean score so far.
    Mean,
    /// `"cl_max"`: the *worst* score so far (pessimistic: the batch spreads out most).
    Max,
}

/// How the first, random trials are placed (scikit-optimize's
/// `initial_point_generator`). Default [`Random`](Self::Random).
///
/// ```
/// use mlp_tune::model_selection::InitialPoints;
/// assert_eq!(InitialPoints::default(), InitialPoints::Random);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialPoints {
    /// Independent draws from the distributions, as a randomized search draws them
    /// (`"random"`, scikit-optimize's default).
    #[default]
    Random,
    /// A Latin hypercube in the transformed space: each numerical range cut into
    /// `n_initial_points` equal strata (log-scaled for log distributions) with one point in
    /// each, a list's values dealt in turn; of 100 such designs, the one whose closest two
    /// points are farthest apart (scikit-optimize's `"lhs"`, `Lhs(criterion="maximin")`,
    /// which tries 1000). Used for the first batch only: initial trials drawn again after
    /// failures are random.
    LatinHypercube,
}

/// Latin hypercubes tried for [`InitialPoints::LatinHypercube`].
const LHS_DESIGNS: usize = 100;

/// What a GP search searches and how: built by [`BayesSearchCV::new`], changed by its
/// builder methods.
#[derive(Debug, Clone, PartialEq)]
pub struct BayesSpace {
    distributions: ParamDistributions,
    n_trials: usize,
    batch_size: usize,
    n_initial_points: usize,
    initial_points: InitialPoints,
    acquisition: Acquisition,
    liar: ConstantLiar,
    n_points: usize,
    random_state: u32,
}

/// Starts polished per acquisition (scikit-optimize's `n_restarts_optimizer` of the
/// acquisition optimizer).
const N_POLISH: usize = 5;
/// Extra random starts of the GP's hyperparameter fit (scikit-optimize's GP
/// `n_restarts_optimizer`).
const GP_RESTARTS: usize = 2;

/// A cross-validated search whose trials are proposed by Bayesian optimization with a
/// Gaussian process (scikit-optimize 0.10's `gp_minimize` defaults). It takes every option
/// of [`GridSearchCV`](super::GridSearchCV) (`cv`, `scoring`, `refit`, `error_score`,
/// `n_jobs`, `observer`, `journal`, `time_budget`, `max_consecutive_failures`, ...) plus
/// its own: [`batch_size`](SearchCV::batch_size),
/// [`n_initial_points`](SearchCV::n_initial_points),
/// [`initial_points`](SearchCV::initial_points),
/// [`acquisition`](SearchCV::acquisition), [`liar`](SearchCV::liar),
/// [`n_points`](SearchCV::n_points), [`random_state`](SearchCV::random_state).
///
/// A space written for [`RandomizedSearchCV`](super::RandomizedSearchCV) works unchanged.
/// The best candidate is the best mean test score over all trials; `cv_results` has one
/// row per trial, in the order proposed, with its batch in `iter`.
///
/// ```
/// use mlp_tune::model_selection::{by_name, Acquisition, BayesSearchCV, Distribution, ParamDistributions};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let base = MLPRegressor::<f64>::params().solver(Solver::Lbfgs).max_iter(20).random_state(0);
/// let space = ParamDistributions::new()
///     .add("alpha", Distribution::LogUniform { low: 1e-5, high: 1e1 })
///     .add("hidden_layer_sizes", Distribution::list([[4usize], [16]]));
/// let search = BayesSearchCV::new(by_name(base), space, 8)
///     .n_initial_points(4)
///     .acquisition(Acquisition::ExpectedImprovement { xi: 0.01 })
///     .batch_size(2)
///     .n_points(500)
///     .random_state(1)
///     .cv(3)
///     .fit(&data)
///     .unwrap();
/// assert_eq!(search.cv_results().params.len(), 8);
/// assert!(search.best_score().is_some());
/// ```
pub type BayesSearchCV<B, T> = SearchCV<B, T, BayesSpace>;

impl<B, T> SearchCV<B, T, BayesSpace> {
    /// A GP search of `n_trials` trials over `distributions`, building each trial's
    /// estimator with `builder` (for our MLPs, [`by_name`](super::by_name)). Defaults
    /// (scikit-optimize's): batch size 1, 10 initial random points, [`Acquisition::default`]
    /// (`gp_hedge`), [`ConstantLiar::Min`], 10 000 random points per acquisition, seed 0.
    pub fn new(builder: B, distributions: ParamDistributions, n_trials: usize) -> Self {
        SearchCV::with_space(
            builder,
            BayesSpace {
                distributions,
                n_trials,
                batch_size: 1,
                n_initial_points: 10,
                initial_points: InitialPoints::default(),
                acquisition: Acquisition::default(),
                liar: ConstantLiar::default(),
                n_points: 10_000,
                random_state: 0,
            },
        )
    }

    /// Trials proposed (and run) together: `B >= 1`, default 1. Larger batches keep more
    /// threads busy; their later trials are proposed with the earlier ones counted at the
    /// [`liar`](Self::liar)'s score, so learning is coarser.
    pub fn batch_size(mut self, b: usize) -> Self {
        self.space.batch_size = b;
        self
    }

    /// Random trials before the GP is used: default 10, range `0..=n_trials` (0 still
    /// draws the first trial at random: there is nothing to model). Failed trials do not
    /// count, so more random trials are drawn while fewer are complete.
    pub fn n_initial_points(mut self, n: usize) -> Self {
        self.space.n_initial_points = n;
        self
    }

    /// How the initial trials are placed; default [`InitialPoints::Random`].
    pub fn initial_points(mut self, how: InitialPoints) -> Self {
        self.space.initial_points = how;
        self
    }

    /// The acquisition function; default [`Acquisition::default`] (`gp_hedge`).
    pub fn acquisition(mut self, acquisition: Acquisition) -> Self {
        self.space.acquisition = acquisition;
        self
    }

    /// The score the later proposals of a batch assume for the earlier ones; default
    /// [`ConstantLiar::Min`] (the best score so far). Unused with a batch size of 1.
    pub fn liar(mut self, liar: ConstantLiar) -> Self {
        self.space.liar = liar;
        self
    }

    /// Random points at which each acquisition is evaluated before the best 5 are
    /// polished: default 10 000 (scikit-optimize's `n_points`), range `1..`. Their cost,
    /// `n_points × trials²` flops per proposal at most, is milliseconds for the few
    /// hundred trials a search runs, small beside one cross-validated fit; lower it only
    /// when trials are cheaper than that.
    pub fn n_points(mut self, n: usize) -> Self {
        self.space.n_points = n;
        self
    }

    /// Seed of every random draw of the search (initial points, GP restarts, acquisition
    /// points, `gp_hedge`'s choice), through the crate's `NumpyRng`; default 0.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.space.random_state = seed;
        self
    }

    /// The search's space and settings.
    pub fn space(&self) -> &BayesSpace {
        &self.space
    }

    /// Runs the search on a dataset.
    ///
    /// Errors (before any fit): `n_trials`, `batch_size` or `n_points` of 0,
    /// `n_initial_points` larger than `n_trials`, an acquisition out of range
    /// ([`MlpTuneError::InvalidParameter`](crate::MlpTuneError::InvalidParameter)); an empty space, an invalid distribution or a
    /// space with nothing to choose ([`MlpTuneError::SearchSpace`](crate::MlpTuneError::SearchSpace)); a journal written by a
    /// different search, including the same search over other distributions
    /// ([`MlpTuneError::Journal`](crate::MlpTuneError::Journal)).
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
        let mut strategy = BayesStrategy::new(space);
        let probe = random_candidate(&space.distributions, &mut NumpyRng::new(space.random_state));
        self.fit_strategy(dataset, "gp", space.n_trials, probe, &mut strategy)
    }
}

impl BayesSpace {
    /// Checks what can be checked before any fit.
    fn check(&self) -> Result<()> {
        check_trials(
            &self.distributions,
            self.n_trials,
            self.batch_size,
            ("n_initial_points", self.n_initial_points),
        )?;
        if self.n_points == 0 {
            return Err(invalid_param("n_points", "must be >= 1"));
        }
        self.acquisition.validate()
    }
}

/// A random draw from each distribution, in name order.
fn random_candidate(distributions: &ParamDistributions, rng: &mut NumpyRng) -> Candidate {
    distributions
        .iter()
        .map(|(name, dist)| (name.to_string(), dist.sample(rng)))
        .collect()
}

/// The GP search as a strategy of the search core.
struct BayesStrategy<'a> {
    space: &'a BayesSpace,
    unit: UnitSpace,
    /// One generator for the whole search: proposals are a function of the seed and the
    /// results.
    rng: NumpyRng,
    /// `gp_hedge`'s gains of EI, LCB and PI.
    gains: [f64; 3],
    /// The points EI, LCB and PI proposed at the last fit on real results.
    last_points: Option<Vec<f64>>,
}

/// The objective values the GP models: negated scores of complete trials, with their
/// points.
struct Observed {
    x: Vec<f64>,
    y: Vec<f64>,
}

impl<'a> BayesStrategy<'a> {
    fn new(space: &'a BayesSpace) -> Self {
        BayesStrategy {
            space,
            unit: UnitSpace::new(&space.distributions),
            rng: NumpyRng::new(space.random_state),
            gains: [0.0; 3],
            last_points: None,
        }
    }

    fn observed(&self, history: &History) -> Result<Observed> {
        let mut obs = Observed {
            x: Vec::new(),
            y: Vec::new(),
        };
        for row in 0..history.n_rows() {
            // An infinite score would make the standardized targets NaN: such a trial is
            // invisible to the model, like a failed one.
            if let TrialState::Complete(score @ f64::MIN..=f64::MAX) = trial_state(history, row) {
                obs.x.extend(self.unit.encode(&history.params[row], row)?);
                obs.y.push(-score);
            }
        }
        Ok(obs)
    }

    /// The next `size` proposals from the complete trials, by the constant liar.
    fn propose_batch(&mut self, mut obs: Observed, size: usize) -> Result<Vec<Candidate>> {
        let space = self.space;
        let d = self.unit.columns();
        let fixed = self.unit.fixed();
        let start = Hyper::start(d);
        let mut gains = self.gains;
        let mut previous = self.last_points.clone();
        let mut out = Vec::with_capacity(size);
        for i in 0..size {
            let gp = if obs.y.is_empty() {
                None
            } else {
                Gp::fit(&obs.x, d, &obs.y, &start, GP_RESTARTS, &mut self.rng).ok()
            };
            let Some(gp) = gp else {
                out.push(random_candidate(&space.distributions, &mut self.rng));
                continue;
            };
            let y_opt = obs.y.iter().copied().fold(f64::INFINITY, f64::min);
            let samples = self.unit.sample(space.n_points, &mut self.rng);
            let (mu, std) = gp.predict(&samples);
            let best_of = |kind: AcqKind| {
                let values: Vec<f64> = mu
                    .iter()
                    .zip(&std)
                    .map(|(&m, &s)| kind.value(m, s, y_opt))
                    .collect();
                minimize_acquisition(&gp, kind, y_opt, &samples, &values, &fixed, N_POLISH).0
            };
            let point = match space.acquisition {
                Acquisition::ExpectedImprovement { xi } => best_of(AcqKind::Ei(xi)),
                Acquisition::ProbabilityOfImprovement { xi } => best_of(AcqKind::Pi(xi)),
                Acquisition::LowerConfidenceBound { kappa } => best_of(AcqKind::Lcb(kappa)),
                Acquisition::GpHedge { xi, kappa, eta } => {
                    if let Some(prev) = &previous {
                        let (means, _) = gp.predict(prev);
                        for (g, m) in gains.iter_mut().zip(means) {
                            *g -= m;
                        }
                    }
                    let points: Vec<f64> = [AcqKind::Ei(xi), AcqKind::Lcb(kappa), AcqKind::Pi(xi)]
                        .into_iter()
                        .flat_map(best_of)
                        .collect();
                    let top = gains.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let weights: Vec<f64> = gains.iter().map(|g| (eta * (g - top)).exp()).collect();
                    let total: f64 = weights.iter().sum();
                    let u = self.rng.random_sample() * total;
                    let mut pick = weights.len() - 1;
                    let mut acc = 0.0;
                    for (k, w) in weights.iter().enumerate() {
                        acc += w;
                        if u < acc {
                            pick = k;
                            break;
                        }
                    }
                    let chosen = points[pick * d..][..d].to_vec();
                    if i == 0 {
                        // The fit on real results: its gains and points carry over.
                        self.gains = gains;
                        self.last_points = Some(points.clone());
                    }
                    previous = Some(points);
                    chosen
                }
            };
            let candidate = self.unit.decode(&point);
            if i + 1 < size {
                let lie = match space.liar {
                    ConstantLiar::Min => y_opt,
                    ConstantLiar::Mean => obs.y.iter().sum::<f64>() / obs.y.len() as f64,
                    ConstantLiar::Max => obs.y.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                };
                obs.x.extend(self.unit.encode(&candidate, 0)?);
                obs.y.push(lie);
            }
            out.push(candidate);
        }
        Ok(out)
    }
}

impl Strategy for BayesStrategy<'_> {
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>> {
        let space = self.space;
        let done = history.n_rows();
        if done >= space.n_trials {
            return Ok(None);
        }
        let obs = self.observed(history)?;
        // Initial draws do not depend on results: take them all at once.
        let initial_left = space.n_initial_points.saturating_sub(obs.y.len());
        let size = space
            .batch_size
            .max(initial_left)
            .min(space.n_trials - done);
        let proposed = if initial_left > 0 || obs.y.is_empty() {
            let mut proposed = Vec::with_capacity(size);
            if done == 0 && space.initial_points == InitialPoints::LatinHypercube {
                let n = initial_left.min(size);
                let design = self.unit.latin_hypercube(n, LHS_DESIGNS, &mut self.rng);
                let d = self.unit.columns();
                proposed.extend((0..n).map(|i| self.unit.decode(&design[i * d..][..d])));
            }
            while proposed.len() < size {
                proposed.push(random_candidate(&space.distributions, &mut self.rng));
            }
            proposed
        } else {
            self.propose_batch(obs, size)?
        };
        Ok(Some(trial_batch(proposed, history)))
    }

    fn planned_fits_left(&self, history: &History) -> usize {
        self.space.n_trials.saturating_sub(history.n_rows()) * history.n_splits
    }
}
