//! Search spaces: parameter values, grids (scikit-learn's `ParameterGrid`) and
//! distributions (`ParameterSampler`).

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{invalid_param, Result};

/// One hyperparameter value in a search space.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ParamValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer (layer count, epochs, seed, ...).
    Int(i64),
    /// A real number (learning rate, alpha, ...).
    Float(f64),
    /// A name (`"relu"`, `"adam"`, ...).
    Str(String),
    /// A list of integers (`hidden_layer_sizes`).
    Ints(Vec<i64>),
    /// Python's `None`.
    None,
}

impl ParamValue {
    /// The value as a real number (integers convert).
    pub fn as_f64(&self, name: &str) -> Result<f64> {
        match self {
            ParamValue::Float(v) => Ok(*v),
            ParamValue::Int(v) => Ok(*v as f64),
            other => Err(invalid_param(
                name,
                format!("expected a number, got {other}"),
            )),
        }
    }

    /// The value as a non-negative integer.
    pub fn as_usize(&self, name: &str) -> Result<usize> {
        match self {
            ParamValue::Int(v) if *v >= 0 => Ok(*v as usize),
            ParamValue::Float(v) if *v >= 0.0 && v.fract() == 0.0 && *v < 9.0e15 => Ok(*v as usize),
            other => Err(invalid_param(
                name,
                format!("expected a non-negative integer, got {other}"),
            )),
        }
    }

    /// The value as a boolean.
    pub fn as_bool(&self, name: &str) -> Result<bool> {
        match self {
            ParamValue::Bool(v) => Ok(*v),
            other => Err(invalid_param(
                name,
                format!("expected true or false, got {other}"),
            )),
        }
    }

    /// The value as a name.
    pub fn as_str(&self, name: &str) -> Result<&str> {
        match self {
            ParamValue::Str(v) => Ok(v),
            other => Err(invalid_param(name, format!("expected a name, got {other}"))),
        }
    }

    /// The value as a list of non-negative integers (a single integer is a one-item list).
    pub fn as_usizes(&self, name: &str) -> Result<Vec<usize>> {
        match self {
            ParamValue::Ints(v) => v
                .iter()
                .map(|&x| {
                    usize::try_from(x).map_err(|_| {
                        invalid_param(name, format!("expected non-negative integers, got {x}"))
                    })
                })
                .collect(),
            ParamValue::Int(_) => Ok(vec![self.as_usize(name)?]),
            other => Err(invalid_param(
                name,
                format!("expected a list of integers, got {other}"),
            )),
        }
    }
}

impl fmt::Display for ParamValue {
    /// Python-like rendering, as scikit-learn prints `cv_results_['params']`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{}", if *v { "True" } else { "False" }),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v:?}"),
            ParamValue::Str(v) => write!(f, "'{v}'"),
            ParamValue::Ints(v) => {
                let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                if items.len() == 1 {
                    write!(f, "({},)", items[0])
                } else {
                    write!(f, "({})", items.join(", "))
                }
            }
            ParamValue::None => f.write_str("None"),
        }
    }
}

impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}
impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}
impl From<i32> for ParamValue {
    fn from(v: i32) -> Self {
        ParamValue::Int(v as i64)
    }
}
impl From<usize> for ParamValue {
    fn from(v: usize) -> Self {
        ParamValue::Int(v as i64)
    }
}
impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}
impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Str(v.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Str(v)
    }
}
impl<const N: usize> From<[usize; N]> for ParamValue {
    fn from(v: [usize; N]) -> Self {
        ParamValue::Ints(v.iter().map(|&x| x as i64).collect())
    }
}
impl From<Vec<usize>> for ParamValue {
    fn from(v: Vec<usize>) -> Self {
        ParamValue::Ints(v.iter().map(|&x| x as i64).collect())
    }
}

/// One candidate of a search: parameter name → value, keys sorted (scikit-learn's order).
pub type Candidate = BTreeMap<String, ParamValue>;

/// Hyperparameters settable by name, so a search can tune them without a builder closure.
pub trait SetParams: Sized {
    /// Names accepted by [`set_param`](SetParams::set_param).
    fn param_names(&self) -> Vec<&'static str>;
    /// Sets one parameter; an unknown name or a value of the wrong type is an error that
    /// lists the valid names.
    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()>;
    /// The current value of every hyperparameter that changes a fit's result, by name
    /// (scikit-learn's `get_params`), for inspection and for search journals' fingerprints.
    /// The MLPs list all of theirs; the default lists none.
    fn get_params(&self) -> Candidate {
        Candidate::new()
    }
    /// Applies a whole candidate, returning the new parameters.
    fn with_candidate(mut self, candidate: &Candidate) -> Result<Self> {
        for (name, value) in candidate {
            self.set_param(name, value)?;
        }
        Ok(self)
    }
}

/// The most candidates a grid (or an all-list [`ParamDistributions`]) may expand to. Every
/// candidate is held in memory, so a larger grid is refused with a
/// [`SearchSpace`](crate::MlpTuneError::SearchSpace) error instead of exhausting memory (or
/// overflowing the count).
pub const MAX_GRID_CANDIDATES: usize = 100_000_000;

/// A grid of values per parameter (scikit-learn's `ParameterGrid`): one map or a list of
/// maps, each expanded with keys sorted and the last key varying fastest.
///
/// ```
/// use mlp_tune::model_selection::param_space::{ParamGrid, ParamValue};
/// let grid = ParamGrid::new()
///     .add("b", [true, false])
///     .add("a", [1, 2]);
/// let candidates = grid.candidates().unwrap();
/// assert_eq!(candidates.len(), 4);
/// assert_eq!(candidates[1]["a"], ParamValue::Int(1));
/// assert_eq!(candidates[1]["b"], ParamValue::Bool(false));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamGrid {
    maps: Vec<BTreeMap<String, Vec<ParamValue>>>,
}

impl ParamGrid {
    /// An empty grid; add parameters with [`add`](Self::add).
    pub fn new() -> Self {
        ParamGrid {
            maps: vec![BTreeMap::new()],
        }
    }

    /// Adds (or replaces) a parameter's values in the current map.
    pub fn add<V: Into<ParamValue>>(
        mut self,
        name: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        if self.maps.is_empty() {
            self.maps.push(BTreeMap::new());
        }
        let last = self.maps.len() - 1;
        self.maps[last].insert(
            name.to_string(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// Starts a new map (scikit-learn's list-of-dicts grids).
    pub fn or(mut self) -> Self {
        self.maps.push(BTreeMap::new());
        self
    }

    /// The grid's axes (parameter → values) when it is one grid (no [`or`](Self::or)),
    /// every list non-empty.
    pub(crate) fn axes(&self) -> Result<&BTreeMap<String, Vec<ParamValue>>> {
        let maps: Vec<&BTreeMap<String, Vec<ParamValue>>> =
            self.maps.iter().filter(|m| !m.is_empty()).collect();
        match maps.as_slice() {
            [] => Err(crate::MlpTuneError::SearchSpace(
                "the parameter grid is empty".into(),
            )),
            [one] => match one.iter().find(|(_, v)| v.is_empty()) {
                Some((name, _)) => Err(crate::MlpTuneError::SearchSpace(format!(
                    "parameter `{name}` has no values"
                ))),
                None => Ok(one),
            },
            _ => Err(crate::MlpTuneError::SearchSpace(
                "an evolutionary search takes one grid, not a list of grids".into(),
            )),
        }
    }

    /// All candidates in scikit-learn's order. An empty grid or an empty value list is an
    /// error.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        if self.maps.is_empty() || self.maps.iter().all(|m| m.is_empty()) {
            return Err(crate::MlpTuneError::SearchSpace(
                "the parameter grid is empty".into(),
            ));
        }
        let mut out = Vec::new();
        for map in &self.maps {
            if let Some((name, _)) = map.iter().find(|(_, v)| v.is_empty()) {
                return Err(crate::MlpTuneError::SearchSpace(format!(
                    "parameter `{name}` has an empty list of values"
                )));
            }
            let keys: Vec<&String> = map.keys().collect();
            let sizes: Vec<usize> = map.values().map(|v| v.len()).collect();
            let total = sizes
                .iter()
                .try_fold(1usize, |acc, &n| acc.checked_mul(n))
                .and_then(|t| t.checked_add(out.len()))
                .filter(|&t| t <= MAX_GRID_CANDIDATES)
                .ok_or_else(|| {
                    crate::MlpTuneError::SearchSpace(format!(
                        "the parameter grid has more than {MAX_GRID_CANDIDATES} candidates"
                    ))
                })?
                - out.len();
            for mut flat in 0..total {
                let mut candidate = Candidate::new();
                for k in (0..keys.len()).rev() {
                    let i = flat % sizes[k];
                    flat /= sizes[k];
                    candidate.insert(keys[k].clone(), map[keys[k]][i].clone());
                }
                out.push(candidate);
            }
        }
        Ok(out)
    }
}

/// How one parameter is drawn in a randomized search.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// One of the values, uniformly.
    List(Vec<ParamValue>),
    /// scipy's `uniform(loc, scale)`: a real in `[loc, loc + scale)`.
    Uniform {
        /// Lower end.
        loc: f64,
        /// Width.
        scale: f64,
    },
    /// scipy's `loguniform(a, b)` (= `reciprocal`): log-uniform in `[a, b)`.
    LogUniform {
        /// Lower end, > 0.
        low: f64,
        /// Upper end, > low.
        high: f64,
    },
    /// scipy's `randint(low, high)`: an integer in `low..high` (high exclusive).
    RandInt {
        /// Smallest value.
        low: i64,
        /// One past the largest value.
        high: i64,
    },
    /// Log-spaced integers in `low..high` (high exclusive): many small values, few large.
    LogRandInt {
        /// Smallest value, ≥ 1.
        low: i64,
        /// One past the largest value.
        high: i64,
    },
    /// Reals on a grid, `low, low + step, ..., high` with **`high` included** (Optuna's
    /// `FloatDistribution(low, high, step=step)`), drawn uniformly among the grid points.
    ///
    /// Needs finite `low <= high`, `step > 0`, and `high - low` a whole number of steps
    /// (to a relative 1e-9): unlike Optuna, which silently lowers `high` to the last grid
    /// point, a grid that does not end on `high` is refused, so the space is what was written.
    FloatStep {
        /// Smallest value (a grid point).
        low: f64,
        /// Largest value, included (a grid point).
        high: f64,
        /// Grid spacing, > 0.
        step: f64,
    },
    /// Integers on a grid, `low, low + step, ..., high` with **`high` included** (Optuna's
    /// `IntDistribution(low, high, step=step)`; note that [`RandInt`](Self::RandInt)
    /// excludes its `high`), drawn uniformly among the grid points.
    ///
    /// Needs `low <= high`, `step >= 1` and `(high - low) % step == 0` (refused otherwise,
    /// where Optuna would lower `high`). `IntStep { low, high, step: 1 }` is
    /// `RandInt { low, high: high + 1 }`.
    IntStep {
        /// Smallest value.
        low: i64,
        /// Largest value, included.
        high: i64,
        /// Grid spacing, >= 1.
        step: i64,
    },
}

impl Distribution {
    /// A uniform choice among values.
    pub fn list<V: Into<ParamValue>>(values: impl IntoIterator<Item = V>) -> Self {
        Distribution::List(values.into_iter().map(Into::into).collect())
    }

    /// Checks the distribution's parameters; a bad one is a [`SearchSpace`] error naming
    /// `name`.
    ///
    /// [`SearchSpace`]: crate::MlpTuneError::SearchSpace
    pub(crate) fn validate(&self, name: &str) -> Result<()> {
        let bad = |reason: String| {
            Err(crate::MlpTuneError::SearchSpace(format!(
                "`{name}`: {reason}"
            )))
        };
        match *self {
            Distribution::List(ref v) if v.is_empty() => bad("empty list of values".into()),
            Distribution::Uniform { loc, scale }
                if !(loc.is_finite()
                    && scale.is_finite()
                    && scale > 0.0
                    && (loc + scale).is_finite()) =>
            {
                bad(format!(
                    "uniform needs finite loc and scale > 0, got ({loc}, {scale})"
                ))
            }
            Distribution::LogUniform { low, high }
                if !(low > 0.0 && high > low && high.is_finite()) =>
            {
                bad(format!(
                    "loguniform needs 0 < low < high, got ({low}, {high})"
                ))
            }
            Distribution::RandInt { low, high } if low >= high => {
                bad(format!("randint needs low < high, got ({low}, {high})"))
            }
            Distribution::LogRandInt { low, high } if low < 1 || low >= high => bad(format!(
                "log-spaced randint needs 1 <= low < high, got ({low}, {high})"
            )),
            Distribution::FloatStep { low, high, step } => {
                if !(low.is_finite() && high.is_finite() && low <= high) {
                    return bad(format!(
                        "float step grid needs finite low <= high, got ({low}, {high})"
                    ));
                }
                if !(step.is_finite() && step > 0.0) {
                    return bad(format!("float step grid needs step > 0, got {step}"));
                }
                let n = (high - low) / step;
                if !n.is_finite() || n > 1e15 || (n - n.round()).abs() > 1e-9 * n.max(1.0) {
                    return bad(format!(
                        "float step grid needs high - low to be a whole number of steps, \
                         got ({low}, {high}, step {step})"
                    ));
                }
                Ok(())
            }
            Distribution::IntStep { low, high, step } => {
                if low > high {
                    return bad(format!(
                        "int step grid needs low <= high, got ({low}, {high})"
                    ));
                }
                if step < 1 {
                    return bad(format!("int step grid needs step >= 1, got {step}"));
                }
                match high.checked_sub(low) {
                    Some(span) if span % step == 0 => Ok(()),
                    Some(_) => bad(format!(
                        "int step grid needs (high - low) % step == 0, \
                         got ({low}, {high}, step {step})"
                    )),
                    None => bad(format!("int step grid ({low}, {high}) is too wide")),
                }
            }
            _ => Ok(()),
        }
    }

    /// One random draw; the distribution must have passed [`validate`](Self::validate).
    pub(crate) fn sample(&self, rng: &mut crate::random::NumpyRng) -> ParamValue {
        match self {
            Distribution::List(values) => {
                values[rng.randint(0, values.len() as i64) as usize].clone()
            }
            Distribution::Uniform { loc, scale } => {
                ParamValue::Float(loc + scale * rng.random_sample())
            }
            Distribution::LogUniform { low, high } => {
                let (a, b) = (low.ln(), high.ln());
                ParamValue::Float((a + (b - a) * rng.random_sample()).exp())
            }
            Distribution::RandInt { low, high } => ParamValue::Int(rng.randint(*low, *high)),
            Distribution::LogRandInt { low, high } => {
                let (a, b) = ((*low as f64).ln(), (*high as f64).ln());
                let v = (a + (b - a) * rng.random_sample()).exp().floor() as i64;
                ParamValue::Int(v.clamp(*low, *high - 1))
            }
            Distribution::FloatStep { low, high, step } => {
                // Validation guarantees a whole number of steps below 1e15.
                let n = ((high - low) / step).round() as i64;
                let k = rng.randint(0, n + 1);
                // `min` because `low + n * step` can exceed `high` by an ulp.
                ParamValue::Float((low + k as f64 * step).min(*high))
            }
            Distribution::IntStep { low, high, step } => {
                let n = (high - low) / step;
                ParamValue::Int(low + rng.randint(0, n.saturating_add(1)) * step)
            }
        }
    }
}

/// Distributions per parameter (scikit-learn's `param_distributions`).
///
/// ```
/// use mlp_tune::model_selection::param_space::{Distribution, ParamDistributions};
/// let space = ParamDistributions::new()
///     .add("n_hidden", Distribution::list([0, 1, 2, 3]))
///     .add("n_neurons", Distribution::RandInt { low: 1, high: 100 })
///     .add("learning_rate_init", Distribution::LogUniform { low: 3e-4, high: 3e-2 });
/// let candidates = space.sample(10, 42).unwrap();
/// assert_eq!(candidates.len(), 10);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamDistributions {
    dists: BTreeMap<String, Distribution>,
}

impl ParamDistributions {
    /// An empty space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a parameter's distribution.
    pub fn add(mut self, name: &str, dist: Distribution) -> Self {
        self.dists.insert(name.to_string(), dist);
        self
    }

    /// The parameters and their distributions, in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Distribution)> {
        self.dists.iter()
    }

    /// Whether no parameter was added.
    pub fn is_empty(&self) -> bool {
        self.dists.is_empty()
    }

    /// Draws `n_iter` distinct candidates with `seed`. When every entry is a list the grid
    /// is sampled without replacement (and capped at its size, as scikit-learn does); with
    /// continuous distributions a repeated candidate is redrawn.
    pub fn sample(&self, n_iter: usize, seed: u32) -> Result<Vec<Candidate>> {
        if n_iter == 0 {
            return Err(invalid_param("n_iter", "must be >= 1"));
        }
        if self.dists.is_empty() {
            return Err(crate::MlpTuneError::SearchSpace(
                "the parameter distributions are empty".into(),
            ));
        }
        for (name, d) in &self.dists {
            d.validate(name)?;
        }
        let mut rng = crate::random::NumpyRng::new(seed);
        let all_lists = self
            .dists
            .values()
            .all(|d| matches!(d, Distribution::List(_)));
        if all_lists {
            let mut grid = ParamGrid::new();
            for (name, d) in &self.dists {
                if let Distribution::List(v) = d {
                    grid = grid.add(name, v.clone());
                }
            }
            let all = grid.candidates()?;
            let perm = rng.permutation(all.len());
            return Ok(perm
                .into_iter()
                .take(n_iter)
                .map(|i| all[i].clone())
                .collect());
        }
        let mut out: Vec<Candidate> = Vec::with_capacity(n_iter);
        let mut attempts = 0;
        while out.len() < n_iter && attempts < n_iter * 100 {
            attempts += 1;
            let candidate: Candidate = self
                .dists
                .iter()
                .map(|(name, d)| (name.clone(), d.sample(&mut rng)))
                .collect();
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        }
        Ok(out)
    }
}

/// Renders a candidate like scikit-learn prints `params`: `{'alpha': 0.01, 'n_hidden': 2}`.
pub fn candidate_to_string(candidate: &Candidate) -> String {
    let items: Vec<String> = candidate
        .iter()
        .map(|(k, v)| format!("'{k}': {v}"))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A candidate as a JSON object.
pub fn candidate_to_json(candidate: &Candidate) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, v) in candidate {
        let value = match v {
            ParamValue::Bool(b) => serde_json::Value::Bool(*b),
            ParamValue::Int(i) => serde_json::Value::from(*i),
            ParamValue::Float(f) => serde_json::Value::from(*f),
            ParamValue::Str(s) => serde_json::Value::from(s.clone()),
            ParamValue::Ints(v) => serde_json::Value::from(v.clone()),
            ParamValue::None => serde_json::Value::Null,
        };
        map.insert(k.clone(), value);
    }
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::NumpyRng;

    #[test]
    fn float_step_draws_every_grid_point_and_only_those() {
        let d = Distribution::FloatStep {
            low: 0.1,
            high: 0.5,
            step: 0.1,
        };
        d.validate("x").unwrap();
        let mut rng = NumpyRng::new(3);
        let mut seen = [false; 5];
        for _ in 0..500 {
            let v = d.sample(&mut rng).as_f64("x").unwrap();
            assert!((0.1..=0.5).contains(&v), "{v}");
            let k = ((v - 0.1) / 0.1).round();
            assert!((v - (0.1 + k * 0.1)).abs() < 1e-15);
            seen[k as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "the inclusive high is drawn too");
    }

    #[test]
    fn int_step_includes_high() {
        let d = Distribution::IntStep {
            low: 2,
            high: 10,
            step: 4,
        };
        d.validate("n").unwrap();
        let mut rng = NumpyRng::new(0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            match d.sample(&mut rng) {
                ParamValue::Int(v) => {
                    seen.insert(v);
                }
                other => panic!("{other}"),
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 6, 10]);
        // A single point is a valid (constant) grid.
        let one = Distribution::IntStep {
            low: 5,
            high: 5,
            step: 3,
        };
        one.validate("n").unwrap();
        assert_eq!(one.sample(&mut rng), ParamValue::Int(5));
    }

    #[test]
    fn bad_step_grids_are_search_space_errors() {
        let bad = [
            Distribution::FloatStep {
                low: 0.0,
                high: 1.0,
                step: 0.3,
            },
            Distribution::FloatStep {
                low: 1.0,
                high: 0.0,
                step: 0.5,
            },
            Distribution::FloatStep {
                low: 0.0,
                high: 1.0,
                step: 0.0,
            },
            Distribution::FloatStep {
                low: 0.0,
                high: f64::INFINITY,
                step: 1.0,
            },
            Distribution::FloatStep {
                low: 0.0,
                high: 1.0,
                step: f64::NAN,
            },
            Distribution::Uniform {
                loc: f64::MAX,
                scale: f64::MAX,
            },
            Distribution::IntStep {
                low: 0,
                high: 10,
                step: 3,
            },
            Distribution::IntStep {
                low: 0,
                high: 10,
                step: 0,
            },
            Distribution::IntStep {
                low: 3,
                high: 1,
                step: 1,
            },
            Distribution::IntStep {
                low: i64::MIN,
                high: i64::MAX,
                step: 1,
            },
        ];
        for d in bad {
            assert!(
                matches!(d.validate("p"), Err(crate::MlpTuneError::SearchSpace(_))),
                "{d:?}"
            );
        }
    }

    #[test]
    fn step_grids_work_in_a_randomized_space() {
        let space = ParamDistributions::new()
            .add(
                "a",
                Distribution::FloatStep {
                    low: 0.0,
                    high: 1.0,
                    step: 0.25,
                },
            )
            .add(
                "b",
                Distribution::IntStep {
                    low: 10,
                    high: 100,
                    step: 10,
                },
            );
        let c = space.sample(8, 1).unwrap();
        assert_eq!(c.len(), 8);
    }
}
