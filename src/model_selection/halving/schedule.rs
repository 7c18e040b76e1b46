//! What a successive-halving search spends and its schedule: scikit-learn's rules for
//! `n_resources_`, `n_candidates_` and the number of rounds.

use super::*;

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
pub(super) fn py_floordiv(a: f64, b: f64) -> f64 {
    let m = a % b;
    let div = (a - m) / b;
    let mut floor = div.floor();
    if div - floor > 0.5 {
        floor += 1.0;
    }
    floor
}

/// Python's `math.log(x, base)`.
pub(super) fn py_log(x: f64, base: f64) -> f64 {
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
    pub(super) fn truncated(&self, rounds: usize) -> HalvingSchedule {
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

pub(super) fn check_factor(factor: f64) -> Result<()> {
    if !(factor.is_finite() && factor > 1.0) {
        return Err(invalid_param(
            "factor",
            format!("must be a finite number greater than 1, got {factor}"),
        ));
    }
    Ok(())
}
