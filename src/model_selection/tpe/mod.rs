//! The Tree-structured Parzen Estimator (TPE) as Optuna 5.0.0's `TPESampler` computes it
//! for one objective to maximise: the mathematics behind a TPE search, without the search
//! loop.
//!
//! Given the trials so far, `propose` (crate-internal; a search strategy calls it) returns the
//! next candidate:
//! 1. with fewer than [`TpeOptions::n_startup_trials`] complete trials, a random draw from
//!    the space, as Optuna's `RandomSampler` makes it (see below);
//! 2. otherwise the complete trials are ranked by score (greater is better, ties in trial
//!    order) and the best `gamma(n) = min(ceil(0.1 n), 25)` form the "below" (good) set,
//!    the rest the "above" set; running trials join the above set (the *constant liar*, so
//!    parallel workers do not all propose the same point) and failed trials are ignored;
//! 3. a Parzen estimator `l` is fitted to the good trials and `g` to the others, `l` draws
//!    [`TpeOptions::n_ei_candidates`] points and the one maximising `log l(x) - log g(x)`
//!    wins.
//!
//! With [`TpeOptions::multivariate`] (the default, as Optuna 5.0.0 for one objective),
//! the parameters present in every complete trial are modelled jointly (product kernels);
//! a parameter missing from some trials (a conditional space) is proposed on its own from
//! the trials that have it, after the joint group, in name order.
//!
//! Mapping of [`Distribution`] to Optuna's distributions: `List` → categorical, `Uniform
//! { loc, scale }` → float `[loc, loc + scale]`, `LogUniform` → log float, `RandInt {
//! low, high }` → int `[low, high - 1]`, `LogRandInt` → log int `[low, high - 1]`,
//! `FloatStep`/`IntStep` → float/int with `step` (bounds included).
//!
//! The random numbers come from two generators seeded with the same seed, as in Optuna:
//! one for the startup draws (Optuna's `RandomSampler`, whose draw of each kind of
//! distribution is reproduced: one uniform over the transformed bounds, or one per choice
//! of a list), one for the model's draws. The same seed and scores give Optuna's proposals
//! trial for trial on any space (`tests/tpe_parity.rs` replays whole Optuna searches over
//! lists, ints, steps and log-scaled values). The startup draws are therefore not a
//! randomized search's draws: a list's choice takes one uniform per value, an int is a
//! rounded uniform over its half-step-widened range.
//!
//! Differences from Optuna, all deliberate: tied values of a numerical parameter are
//! ordered by trial when assigning bandwidths (numpy's unstable `argsort` makes that order
//! machine dependent in Optuna); a score of NaN counts as a failed trial (Optuna fails such
//! a trial too).

mod parzen;
mod sampler;
mod truncnorm;

pub use sampler::TpeSampler;

use crate::error::{invalid_param, MlpTuneError, Result};
use crate::model_selection::param_space::{
    Candidate, Distribution, ParamDistributions, ParamValue,
};
use crate::random::NumpyRng;
use parzen::{ParzenEstimator, ParzenParams, Space};

/// Options of the TPE sampler. Defaults are Optuna 5.0.0's `TPESampler` defaults for a
/// single objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TpeOptions {
    /// Complete trials needed before the estimator is used; until then candidates are
    /// random draws. Default 10; any value (0 models from the first trial, with the prior
    /// alone).
    pub n_startup_trials: usize,
    /// Points drawn from the good-trials estimator, of which the best by
    /// `log l - log g` is proposed. Default 24; range `1..`. More exploits harder.
    pub n_ei_candidates: usize,
    /// Model the parameters present in every complete trial jointly (product kernels)
    /// instead of one by one. Default `true` (Optuna 5.0.0's default for one objective).
    pub multivariate: bool,
    /// Weight of the prior component (centred on the range, as wide as the range) against
    /// weight 1 per observed trial. Default 1.0; range `[0, inf)`, finite.
    pub prior_weight: f64,
    /// Floor each bandwidth at `range / min(100, n_trials + 2)` so that clustered trials
    /// do not give needle-thin kernels. Default `true`.
    pub consider_magic_clip: bool,
    /// Let the outermost trials' bandwidth reach the bound beyond them. Default `false`
    /// (they look only inwards).
    pub consider_endpoints: bool,
    /// Count running trials as bad ones, so that concurrent proposals spread out. Default
    /// `true`; `false` ignores running trials.
    pub constant_liar: bool,
}

impl Default for TpeOptions {
    fn default() -> Self {
        TpeOptions {
            n_startup_trials: 10,
            n_ei_candidates: 24,
            multivariate: true,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
            constant_liar: true,
        }
    }
}

impl TpeOptions {
    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<()> {
        if self.n_ei_candidates == 0 {
            return Err(invalid_param("n_ei_candidates", "must be >= 1"));
        }
        if !(self.prior_weight.is_finite() && self.prior_weight >= 0.0) {
            return Err(invalid_param(
                "prior_weight",
                format!("must be finite and >= 0, got {}", self.prior_weight),
            ));
        }
        Ok(())
    }

    fn parzen(&self) -> ParzenParams {
        ParzenParams {
            prior_weight: self.prior_weight,
            consider_magic_clip: self.consider_magic_clip,
            consider_endpoints: self.consider_endpoints,
        }
    }
}

/// Where a trial stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrialState {
    /// Finished with this score (greater is better). A NaN score counts as failed.
    Complete(f64),
    /// Proposed and not finished yet.
    Running,
    /// Finished without a score; invisible to the sampler.
    Failed,
}

/// One past trial: its parameters (a parameter may be absent, in a conditional space) and
/// its state. The history's order is the trials' order.
#[derive(Debug, Clone, Copy)]
pub struct TpeTrial<'a> {
    /// The parameter values tried.
    pub params: &'a Candidate,
    /// How the trial ended, or that it is still running.
    pub state: TrialState,
}

/// Optuna's `default_gamma`: how many of `n` complete trials are "good",
/// `min(ceil(0.1 n), 25)`, computed in floating point as Optuna does.
fn gamma(n: usize) -> usize {
    ((0.1 * n as f64).ceil() as usize).min(25)
}

/// A parameter of the space with its Optuna-style description.
struct Param<'a> {
    name: &'a str,
    dist: &'a Distribution,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Categorical(&'a [ParamValue]),
    Numerical {
        low: f64,
        high: f64,
        step: Option<f64>,
        log: bool,
        /// For an int parameter, its exact grid (the `f64` bounds above are rounded beyond
        /// 2^53).
        int: Option<IntGrid>,
    },
}

/// An int parameter's values, `low, low + step, ..., high`, exactly.
#[derive(Clone, Copy)]
struct IntGrid {
    low: i64,
    high: i64,
    step: i64,
}

impl IntGrid {
    /// The grid's value at index `k` (a whole number from float arithmetic), the index
    /// clamped to the grid: exact where `f64` arithmetic on the values would round.
    fn at(&self, k: f64) -> i64 {
        let (low, high, step) = (
            i128::from(self.low),
            i128::from(self.high),
            i128::from(self.step),
        );
        // `as` saturates (and maps NaN to 0), so any `k` lands on the grid.
        let k = (k as i128).clamp(0, (high - low) / step);
        (low + k * step) as i64
    }

    /// `v` clamped to `[low, high]` (for a log-scaled int, whose step is 1).
    fn clamp(&self, v: f64) -> i64 {
        (v as i128).clamp(i128::from(self.low), i128::from(self.high)) as i64
    }
}

impl<'a> Param<'a> {
    fn new(name: &'a str, dist: &'a Distribution) -> Self {
        let int = |low: i64, high: i64, step: Option<i64>, log| {
            let step = step.unwrap_or(1);
            Kind::Numerical {
                low: low as f64,
                high: high as f64,
                step: Some(step as f64),
                log,
                int: Some(IntGrid { low, high, step }),
            }
        };
        let kind = match *dist {
            Distribution::List(ref values) => Kind::Categorical(values),
            Distribution::Uniform { loc, scale } => Kind::Numerical {
                low: loc,
                high: loc + scale,
                step: None,
                log: false,
                int: None,
            },
            Distribution::LogUniform { low, high } => Kind::Numerical {
                low,
                high,
                step: None,
                log: true,
                int: None,
            },
            Distribution::RandInt { low, high } => int(low, high - 1, None, false),
            Distribution::LogRandInt { low, high } => int(low, high - 1, None, true),
            Distribution::IntStep { low, high, step } => int(low, high, Some(step), false),
            Distribution::FloatStep { low, high, step } => Kind::Numerical {
                low,
                high,
                step: Some(step),
                log: false,
                int: None,
            },
        };
        Param { name, dist, kind }
    }

    /// The only value of a one-value distribution (Optuna does not sample those).
    fn single(&self) -> Option<ParamValue> {
        match self.kind {
            Kind::Categorical(values) if values.len() == 1 => Some(values[0].clone()),
            Kind::Numerical { low, high, int, .. } if low == high => Some(match int {
                Some(grid) => ParamValue::Int(grid.low),
                None => ParamValue::Float(low),
            }),
            _ => None,
        }
    }

    fn space(&self) -> Space {
        match self.kind {
            Kind::Categorical(values) => Space::Categorical(values.len()),
            Kind::Numerical {
                low,
                high,
                step,
                log,
                ..
            } => Space::Numerical {
                low,
                high,
                step,
                log,
            },
        }
    }

    /// A trial's value in Optuna's internal representation (choice index, or the number).
    fn to_internal(&self, trial: usize, value: &ParamValue) -> Result<f64> {
        let bad = |why: String| {
            Err(MlpTuneError::SearchSpace(format!(
                "trial {trial}, `{}`: {why}",
                self.name
            )))
        };
        match self.kind {
            // A NaN in the list is the value proposed for it, though not equal to itself.
            Kind::Categorical(values) => match values.iter().position(|v| {
                v == value
                    || matches!((v, value), (ParamValue::Float(a), ParamValue::Float(b)) if a.is_nan() && b.is_nan())
            }) {
                Some(i) => Ok(i as f64),
                None => bad(format!("{value} is not one of the listed values")),
            },
            Kind::Numerical { low, high, int, .. } => {
                let x = match (value, int.is_some()) {
                    (ParamValue::Int(v), _) => *v as f64,
                    (ParamValue::Float(v), false) => *v,
                    (ParamValue::Float(v), true) if v.fract() == 0.0 => *v,
                    _ => return bad(format!("{value} is not a valid {:?}", self.dist)),
                };
                if !(low..=high).contains(&x) {
                    return bad(format!("{value} is outside [{low}, {high}]"));
                }
                Ok(x)
            }
        }
    }

    /// A startup draw, as Optuna 5.0.0's `RandomSampler.sample_independent` makes it from
    /// the same numpy generator: one `uniform` over the parameter's transformed bounds
    /// (log for log-scaled, widened by half a step on each side for ints and steps), or
    /// one uniform per choice of a list, whose first maximum is the choice; then Optuna's
    /// untransform (rounding half to even where it uses `round`, clipping to the bounds).
    /// A single-valued parameter is not drawn (Optuna does not ask its sampler).
    fn random_draw(&self, rng: &mut NumpyRng) -> ParamValue {
        if let Some(v) = self.single() {
            return v;
        }
        // `np.nextafter(high, high - 1)`: the largest value below `high`.
        let below = |high: f64| {
            if high - 1.0 < high {
                high.next_down()
            } else {
                high
            }
        };
        match self.kind {
            Kind::Categorical(values) => {
                let mut best = (0, f64::NEG_INFINITY);
                for i in 0..values.len() {
                    let u = rng.uniform(0.0, 1.0);
                    if u > best.1 {
                        best = (i, u);
                    }
                }
                values[best.0].clone()
            }
            Kind::Numerical {
                low,
                high,
                step,
                log,
                int: Some(grid),
            } => {
                let step = step.unwrap_or(1.0);
                ParamValue::Int(if log {
                    let x = rng.uniform((low - 0.5 * step).ln(), (high + 0.5 * step).ln());
                    grid.clamp(x.exp().round_ties_even())
                } else {
                    let x = rng.uniform(low - 0.5 * step, high + 0.5 * step);
                    grid.at(((x - low) / step + 0.5).floor())
                })
            }
            Kind::Numerical {
                low,
                high,
                step: Some(step),
                ..
            } => {
                let x = rng.uniform(low - 0.5 * step, high + 0.5 * step);
                let v = ((x - low) / step).round_ties_even() * step + low;
                ParamValue::Float(within(v, low, high))
            }
            Kind::Numerical {
                low,
                high,
                log: true,
                ..
            } => {
                let x = rng.uniform(low.ln(), high.ln());
                ParamValue::Float(x.exp().clamp(low, below(high)))
            }
            Kind::Numerical { low, high, .. } => {
                ParamValue::Float(rng.uniform(low, high).min(below(high)))
            }
        }
    }

    fn to_external(&self, x: f64) -> ParamValue {
        match self.kind {
            Kind::Categorical(values) => {
                values[(x as usize).min(values.len().saturating_sub(1))].clone()
            }
            Kind::Numerical {
                low,
                step,
                int: Some(grid),
                ..
            } => ParamValue::Int(grid.at(((x - low) / step.unwrap_or(1.0)).round())),
            Kind::Numerical { low, high, .. } => ParamValue::Float(within(x, low, high)),
        }
    }
}

/// `x` clamped to `[low, high]`, NaN to `low`. The draws of Optuna's arithmetic lie within
/// the bounds; only bounds near the largest floats, where its sums overflow, give NaN or a
/// value past them, and `low` is a value of every kind of distribution.
fn within(x: f64, low: f64, high: f64) -> f64 {
    if x.is_nan() {
        low
    } else {
        x.clamp(low, high)
    }
}

/// The history digested once: internal values, split, visible trials.
struct Prepared<'a> {
    params: Vec<Param<'a>>,
    /// `values[trial][param]`, `None` where the trial lacks the parameter.
    values: Vec<Vec<Option<f64>>>,
    below: Vec<usize>,
    above: Vec<usize>,
    n_complete: usize,
    complete: Vec<usize>,
}

fn score(state: TrialState) -> Option<f64> {
    match state {
        TrialState::Complete(v) if !v.is_nan() => Some(v),
        _ => None,
    }
}

/// Splits the history into below (good) and above (bad) trial indices, each in trial
/// order: the best `gamma(n_complete)` complete trials by score (greater is better, ties
/// to the earlier trial, as Optuna's stable sort for `maximize`), the other complete
/// trials and, with the constant liar, the running ones.
fn split(history: &[TpeTrial<'_>], constant_liar: bool) -> (Vec<usize>, Vec<usize>) {
    let mut complete: Vec<(usize, f64)> = history
        .iter()
        .enumerate()
        .filter_map(|(i, t)| score(t.state).map(|s| (i, s)))
        .collect();
    let n_below = gamma(complete.len()).min(complete.len());
    // Stable, descending: equal scores keep trial order.
    complete.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut below: Vec<usize> = complete[..n_below].iter().map(|c| c.0).collect();
    let mut above: Vec<usize> = complete[n_below..].iter().map(|c| c.0).collect();
    if constant_liar {
        above.extend(
            history
                .iter()
                .enumerate()
                .filter(|(_, t)| t.state == TrialState::Running)
                .map(|(i, _)| i),
        );
    }
    below.sort_unstable();
    above.sort_unstable();
    (below, above)
}

fn prepare<'a>(
    space: &'a ParamDistributions,
    history: &[TpeTrial<'_>],
    options: &TpeOptions,
) -> Result<Prepared<'a>> {
    options.validate()?;
    if space.is_empty() {
        return Err(MlpTuneError::SearchSpace(
            "the parameter distributions are empty".into(),
        ));
    }
    let mut params = Vec::new();
    for (name, dist) in space.iter() {
        dist.validate(name)?;
        params.push(Param::new(name, dist));
    }
    let (below, above) = split(history, options.constant_liar);
    let complete: Vec<usize> = (0..history.len())
        .filter(|&i| score(history[i].state).is_some())
        .collect();
    let mut values = Vec::with_capacity(history.len());
    for (i, trial) in history.iter().enumerate() {
        let visible = score(trial.state).is_some()
            || (options.constant_liar && trial.state == TrialState::Running);
        let row = if visible {
            params
                .iter()
                .map(|p| {
                    trial
                        .params
                        .get(p.name)
                        .map(|v| p.to_internal(i, v))
                        .transpose()
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            vec![None; params.len()]
        };
        values.push(row);
    }
    Ok(Prepared {
        params,
        values,
        below,
        above,
        n_complete: complete.len(),
        complete,
    })
}

impl Prepared<'_> {
    /// The jointly modelled parameters: not single-valued and present in every complete
    /// trial (Optuna's intersection search space), or none when not multivariate.
    fn relative(&self, options: &TpeOptions) -> Vec<usize> {
        if !options.multivariate || self.complete.is_empty() {
            return Vec::new();
        }
        (0..self.params.len())
            .filter(|&p| {
                self.params[p].single().is_none()
                    && self.complete.iter().all(|&t| self.values[t][p].is_some())
            })
            .collect()
    }

    /// The estimator fitted to the `trials` that have every parameter of `group`.
    fn estimator(
        &self,
        group: &[usize],
        trials: &[usize],
        options: &TpeOptions,
    ) -> ParzenEstimator {
        let rows: Vec<usize> = trials
            .iter()
            .copied()
            .filter(|&t| group.iter().all(|&p| self.values[t][p].is_some()))
            .collect();
        let obs: Vec<Vec<f64>> = group
            .iter()
            .map(|&p| {
                rows.iter()
                    .map(|&t| self.values[t][p].unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        let space: Vec<Space> = group.iter().map(|&p| self.params[p].space()).collect();
        ParzenEstimator::new(&obs, &space, &options.parzen())
    }

    fn estimators(
        &self,
        group: &[usize],
        options: &TpeOptions,
    ) -> (ParzenEstimator, ParzenEstimator) {
        (
            self.estimator(group, &self.below, options),
            self.estimator(group, &self.above, options),
        )
    }

    /// Optuna's `_sample` for one group: draw from `l`, keep the argmax of `log l - log g`.
    fn sample_group(
        &self,
        group: &[usize],
        options: &TpeOptions,
        rng: &mut NumpyRng,
    ) -> Vec<ParamValue> {
        let (l, g) = self.estimators(group, options);
        let samples = l.sample(rng, options.n_ei_candidates);
        let below = l.log_pdf(&samples);
        let above = g.log_pdf(&samples);
        // np.argmax: the first maximum, and a NaN counts as the maximum.
        let mut best = 0;
        let mut best_v = f64::NEG_INFINITY;
        for (i, (b, a)) in below.iter().zip(&above).enumerate() {
            let v = b - a;
            if v.is_nan() {
                best = i;
                break;
            }
            if v > best_v || i == 0 {
                best = i;
                best_v = v;
            }
        }
        group
            .iter()
            .zip(&samples)
            .map(|(&p, column)| self.params[p].to_external(column[best]))
            .collect()
    }
}

/// The sampler's generators, arranged as Optuna's `TPESampler` keeps them: the startup
/// (random) draws come from its `RandomSampler`'s generator, the model's draws from its
/// own, both seeded with the user's seed. With the same seed, any space gets Optuna's
/// proposals trial for trial.
#[derive(Debug, Clone)]
pub(crate) struct TpeRng {
    startup: NumpyRng,
    model: NumpyRng,
}

impl TpeRng {
    pub(crate) fn new(seed: u32) -> Self {
        TpeRng {
            startup: NumpyRng::new(seed),
            model: NumpyRng::new(seed),
        }
    }
}

/// Proposes the next candidate from the history: a startup draw from `rng`'s startup
/// generator, or the model's proposal from its model generator (see [`propose_from`]).
pub(crate) fn propose(
    space: &ParamDistributions,
    history: &[TpeTrial<'_>],
    options: &TpeOptions,
    rng: &mut TpeRng,
) -> Result<Candidate> {
    let TpeRng { startup, model } = rng;
    propose_from(space, history, options, Rngs::Split { startup, model })
}

/// Where a proposal's random numbers come from.
enum Rngs<'a> {
    /// One generator for every draw (the parity oracle's arrangement).
    Same(&'a mut NumpyRng),
    /// Startup draws from one, the model's from the other (Optuna's `TPESampler`).
    Split {
        startup: &'a mut NumpyRng,
        model: &'a mut NumpyRng,
    },
}

impl Rngs<'_> {
    fn startup(&mut self) -> &mut NumpyRng {
        match self {
            Rngs::Same(rng) => rng,
            Rngs::Split { startup, .. } => startup,
        }
    }

    fn model(&mut self) -> &mut NumpyRng {
        match self {
            Rngs::Same(rng) => rng,
            Rngs::Split { model, .. } => model,
        }
    }
}

/// Proposes the next candidate from the history, drawing every random number of the model
/// from the model generator in the order Optuna's sampler draws from its `RandomState`
/// (the joint group first, then each parameter modelled alone, in name order), and startup
/// draws from the startup generator.
///
/// Errors: an empty space or an invalid distribution ([`MlpTuneError::SearchSpace`]),
/// options out of range ([`MlpTuneError::InvalidParameter`]), a trial whose value does not
/// belong to its parameter's distribution ([`MlpTuneError::SearchSpace`]).
fn propose_from(
    space: &ParamDistributions,
    history: &[TpeTrial<'_>],
    options: &TpeOptions,
    mut rngs: Rngs<'_>,
) -> Result<Candidate> {
    let prep = prepare(space, history, options)?;
    let mut out = Candidate::new();
    if prep.n_complete < options.n_startup_trials {
        let rng = rngs.startup();
        for p in &prep.params {
            out.insert(p.name.to_string(), p.random_draw(rng));
        }
        return Ok(out);
    }
    let rng = rngs.model();
    let relative = prep.relative(options);
    if !relative.is_empty() {
        let values = prep.sample_group(&relative, options, rng);
        for (&p, v) in relative.iter().zip(values) {
            out.insert(prep.params[p].name.to_string(), v);
        }
    }
    for (p, param) in prep.params.iter().enumerate() {
        if let Some(v) = param.single() {
            out.insert(param.name.to_string(), v);
        } else if !relative.contains(&p) {
            let v = prep.sample_group(&[p], options, rng);
            out.insert(
                param.name.to_string(),
                v.into_iter().next().unwrap_or(ParamValue::None),
            );
        }
    }
    Ok(out)
}

/// Whether every parameter of a (valid) space has a single value, so that there is
/// nothing to search.
pub(crate) fn nothing_to_search(space: &ParamDistributions) -> bool {
    space
        .iter()
        .all(|(name, dist)| Param::new(name, dist).single().is_some())
}

/// Inspection of the sampler's intermediate results, for the parity tests against
/// Optuna only: not a stable API.
#[doc(hidden)]
pub mod inspect {
    pub use super::parzen::{default_weights, Kernels, ParzenEstimator};
    use super::*;

    /// The below (good) and above (bad) history indices, each in trial order.
    pub fn split(history: &[TpeTrial<'_>], options: &TpeOptions) -> (Vec<usize>, Vec<usize>) {
        super::split(history, options.constant_liar)
    }

    /// The names of the jointly modelled parameters (empty when not multivariate).
    pub fn relative_params(
        space: &ParamDistributions,
        history: &[TpeTrial<'_>],
        options: &TpeOptions,
    ) -> Result<Vec<String>> {
        let prep = prepare(space, history, options)?;
        Ok(prep
            .relative(options)
            .into_iter()
            .map(|p| prep.params[p].name.to_string())
            .collect())
    }

    fn group(prep: &Prepared<'_>, names: &[&str]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                prep.params
                    .iter()
                    .position(|p| p.name == *n)
                    .ok_or_else(|| MlpTuneError::SearchSpace(format!("unknown parameter `{n}`")))
            })
            .collect()
    }

    /// The good (`l`) and bad (`g`) estimators for the parameters `names` (in that order),
    /// as [`propose`](super) fits them.
    pub fn parzen_estimators(
        space: &ParamDistributions,
        history: &[TpeTrial<'_>],
        names: &[&str],
        options: &TpeOptions,
    ) -> Result<(ParzenEstimator, ParzenEstimator)> {
        let prep = prepare(space, history, options)?;
        Ok(prep.estimators(&group(&prep, names)?, options))
    }

    /// `log l(x) - log g(x)` at each point; `points[point][param]` in internal
    /// representation (choice index for a list, the number otherwise), params as `names`.
    pub fn log_ratio(
        space: &ParamDistributions,
        history: &[TpeTrial<'_>],
        names: &[&str],
        options: &TpeOptions,
        points: &[Vec<f64>],
    ) -> Result<Vec<f64>> {
        let prep = prepare(space, history, options)?;
        let (l, g) = prep.estimators(&group(&prep, names)?, options);
        let columns: Vec<Vec<f64>> = (0..names.len())
            .map(|j| {
                points
                    .iter()
                    .map(|p| p.get(j).copied().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        let (a, b) = (l.log_pdf(&columns), g.log_pdf(&columns));
        Ok(a.iter().zip(&b).map(|(a, b)| a - b).collect())
    }

    /// [`propose`](super) itself.
    pub fn propose(
        space: &ParamDistributions,
        history: &[TpeTrial<'_>],
        options: &TpeOptions,
        rng: &mut NumpyRng,
    ) -> Result<Candidate> {
        // One generator for both kinds of draws, as the parity oracle seeds it.
        super::propose_from(space, history, options, Rngs::Same(rng))
    }
}

#[cfg(test)]
mod tests;
