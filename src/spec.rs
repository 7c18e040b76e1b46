//! Search specs: a search described once in a TOML file (data, estimator, space, search
//! kind and options), which the `mlp-tune` binary runs in one process or in shards.
//!
//! ```toml
//! [data]
//! dataset = "diabetes"            # california | diabetes | iris | digits | breast_cancer | wine
//! # csv = "houses.csv"            # or a CSV file (header row) relative to the spec file,
//! # target = "price"              #   with the name of its target column
//! test_size = 0.2                 # optional: rows held out to score the refitted model
//! standardize = true              # optional: scale features with the training rows' stats
//!
//! [estimator]
//! kind = "mlp_regressor"          # or "mlp_classifier"
//! [estimator.params]              # fixed hyperparameters, by their scikit-learn names
//! solver = "adam"
//! max_iter = 50
//!
//! [search]
//! kind = "random"                 # grid | random | halving_grid | halving_random | hyperband
//!                                 # | tpe | bayes | evolutionary
//! n_iter = 10                     # candidates (random, halving_random), trials (tpe, bayes)
//! cv = 3
//! seed = 42
//! n_jobs = 2
//! journal = "search.jsonl"        # relative to the spec file; needed to shard
//!
//! [space]                         # a list is a set of values (a grid axis, or categorical)
//! hidden_layer_sizes = [[10], [30], [30, 30]]
//! alpha = { dist = "loguniform", low = 1e-5, high = 1e-1 }
//! learning_rate_init = { dist = "loguniform", low = 1e-4, high = 1e-1 }
//! ```
//!
//! Options of each kind beyond the common ones (`cv`, `scoring`, `n_jobs`, `journal`, and
//! `seed` for all but grid):
//!
//! | kind | options |
//! |------|---------|
//! | `random` | `n_iter` (needed) |
//! | `halving_grid`, `halving_random` | `factor`, `resource`, `min_resources`, `max_resources`; `n_iter` (halving_random) |
//! | `hyperband` | `max_epochs` (needed), `min_epochs`, `max_brackets`, `factor`, `sampler` (`random` or `bohb`), `batch_size` (bohb: candidates proposed together in the first bracket's first round, default 3) |
//! | `tpe` | `n_iter` (needed), `batch_size`, `n_startup_trials` |
//! | `bayes` ([`BayesSearchCV`](crate::model_selection::BayesSearchCV), a GP) | `n_iter` (needed), `batch_size`, `n_initial_points`, `initial_points` (`random` or `lhs`), `acquisition` (`gp_hedge`, `ei`, `pi` or `lcb`), `xi` (gp_hedge, ei, pi), `kappa` (gp_hedge, lcb), `liar` (`cl_min`, `cl_mean` or `cl_max`), `n_points` |
//! | `evolutionary` ([`EvolutionarySearchCV`](crate::model_selection::EvolutionarySearchCV), a grid space) | `population_size`, `generations_number`, `gene_mutation_prob`, `gene_crossover_prob`, `tournament_size`, `crossover` (`uniform` or `one_point`), `elitism` |
//!
//! Defaults are the library's (scikit-optimize's for `bayes`, sklearn-deap's for
//! `evolutionary`).
//!
//! Distributions use the names of [`Distribution`]: `uniform` (`loc`, `scale`),
//! `loguniform` (`low`, `high`), `randint` and `log_randint` (`low`, `high` excluded),
//! `int_step` and `float_step` (`low`, `high` included, `step`).
//!
//! Every error names the file, the line and the key: an unknown key, a value of the wrong
//! type, an unknown hyperparameter, dataset or column, a search kind that does not take an
//! option.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{MlpTuneError, Result};
use crate::model_selection::{Candidate, Distribution, ParamDistributions, ParamGrid, ParamValue};

/// A parsed search spec. Paths in it are resolved against the spec file's folder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// Where the rows come from.
    pub data: DataSpec,
    /// The estimator and its fixed hyperparameters.
    pub estimator: EstimatorSpec,
    /// The search kind and its options.
    pub search: SearchOptionsSpec,
    /// The searched hyperparameters.
    pub space: BTreeMap<String, SpaceValue>,
    /// The spec file (set by [`SearchSpec::from_file`]).
    #[serde(skip)]
    pub path: PathBuf,
    /// The spec's text, to find the lines of keys in error messages.
    #[serde(skip)]
    text: String,
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// An embedded dataset: `california`, `diabetes`, `iris`, `digits`, `breast_cancer`,
    /// `wine`.
    pub dataset: Option<String>,
    /// A CSV file with a header row (instead of `dataset`).
    pub csv: Option<PathBuf>,
    /// The CSV's target column.
    pub target: Option<String>,
    /// Share of rows held out as a test split (default none).
    pub test_size: Option<f64>,
    /// Standardize every feature with the mean and standard deviation of the rows
    /// searched on (the training rows when there is a test split), as scikit-learn's
    /// `StandardScaler` fitted on them (default false).
    pub standardize: Option<bool>,
}

/// `[estimator]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatorSpec {
    /// `mlp_regressor` or `mlp_classifier`.
    pub kind: String,
    /// Fixed hyperparameters by name.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

/// `[search]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchOptionsSpec {
    /// `grid`, `random`, `halving_grid`, `halving_random`, `hyperband`, `tpe`, `bayes` or
    /// `evolutionary`.
    pub kind: String,
    /// Candidates (random, halving_random) or trials (tpe, bayes).
    pub n_iter: Option<usize>,
    /// Folds (default 5, scikit-learn's).
    pub cv: Option<usize>,
    /// Scorer by scikit-learn name (default: the estimator kind's).
    pub scoring: Option<String>,
    /// Seed of the search's draws (not for grid searches).
    pub seed: Option<u32>,
    /// Threads (default 1); results do not depend on it.
    pub n_jobs: Option<usize>,
    /// Journal file, relative to the spec file.
    pub journal: Option<PathBuf>,
    /// Halving and Hyperband: keep `1 / factor` of the candidates per round (default 3).
    pub factor: Option<f64>,
    /// Halving: `n_samples` (default), `epochs` or an integer hyperparameter.
    pub resource: Option<String>,
    /// Halving: resource of the first round.
    pub min_resources: Option<usize>,
    /// Halving: resource of the last round.
    pub max_resources: Option<usize>,
    /// Hyperband: the most epochs a candidate gets.
    pub max_epochs: Option<usize>,
    /// Hyperband: the fewest epochs (default 1).
    pub min_epochs: Option<usize>,
    /// Hyperband: run only this many of the most exploratory brackets.
    pub max_brackets: Option<usize>,
    /// Hyperband: `random` (default) or `bohb`.
    pub sampler: Option<String>,
    /// TPE and bayes: trials proposed together (default 1). Hyperband with `sampler =
    /// "bohb"`: candidates proposed together in the first bracket's first round (default 3).
    pub batch_size: Option<usize>,
    /// TPE: random trials before the model is used (default 10).
    pub n_startup_trials: Option<usize>,
    /// Bayes: random trials before the GP is used (default 10).
    pub n_initial_points: Option<usize>,
    /// Bayes: how the initial trials are placed, `random` (default) or `lhs` (a Latin
    /// hypercube).
    pub initial_points: Option<String>,
    /// Bayes: `gp_hedge` (default), `ei`, `pi` or `lcb`.
    pub acquisition: Option<String>,
    /// Bayes: the margin of `gp_hedge`, `ei` and `pi` (default 0.01).
    pub xi: Option<f64>,
    /// Bayes: the weight of the standard deviation in `gp_hedge` and `lcb` (default 1.96).
    pub kappa: Option<f64>,
    /// Bayes: the constant liar of batches, `cl_min` (default), `cl_mean` or `cl_max`.
    pub liar: Option<String>,
    /// Bayes: random points per acquisition (default 10 000).
    pub n_points: Option<usize>,
    /// Evolutionary: individuals per generation (default 50).
    pub population_size: Option<usize>,
    /// Evolutionary: generations after the first (default 10).
    pub generations_number: Option<usize>,
    /// Evolutionary: probability that a mutating individual redraws each gene (default 0.1).
    pub gene_mutation_prob: Option<f64>,
    /// Evolutionary: probability that a uniform crossover swaps each gene (default 0.5).
    pub gene_crossover_prob: Option<f64>,
    /// Evolutionary: individuals per selection tournament (default 3).
    pub tournament_size: Option<usize>,
    /// Evolutionary: `uniform` (default) or `one_point`.
    pub crossover: Option<String>,
    /// Evolutionary: best individuals kept unchanged (default 0).
    pub elitism: Option<usize>,
}

/// The string-valued options of `[search]` and their choices.
const STRING_CHOICES: [(&str, &[&str]); 5] = [
    ("sampler", &["random", "bohb"]),
    ("initial_points", &["random", "lhs"]),
    ("acquisition", &["gp_hedge", "ei", "pi", "lcb"]),
    ("liar", &["cl_min", "cl_mean", "cl_max"]),
    ("crossover", &["uniform", "one_point"]),
];

/// A value of `[space]`: a list of values, or a distribution.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SpaceValue {
    /// Values to choose among (a grid axis, or a categorical distribution).
    Values(Vec<toml::Value>),
    /// A distribution.
    Dist(DistSpec),
}

/// A distribution of `[space]`, named as [`Distribution`]'s variants.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DistSpec {
    /// `Distribution::Uniform`.
    Uniform {
        /// Lower bound.
        loc: f64,
        /// Width.
        scale: f64,
    },
    /// `Distribution::LogUniform`.
    Loguniform {
        /// Lower bound (> 0).
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// `Distribution::RandInt`.
    Randint {
        /// Lower bound.
        low: i64,
        /// Upper bound, excluded.
        high: i64,
    },
    /// `Distribution::LogRandInt`.
    LogRandint {
        /// Lower bound (>= 1).
        low: i64,
        /// Upper bound, excluded.
        high: i64,
    },
    /// `Distribution::IntStep`.
    IntStep {
        /// Lower bound.
        low: i64,
        /// Upper bound, included.
        high: i64,
        /// Step.
        step: i64,
    },
    /// `Distribution::FloatStep`.
    FloatStep {
        /// Lower bound.
        low: f64,
        /// Upper bound, included.
        high: f64,
        /// Step.
        step: f64,
    },
}

/// The spec error for `path`, with the line of `key` when it can be found.
fn spec_error(path: &Path, text: &str, key: &str, what: impl std::fmt::Display) -> MlpTuneError {
    let line = line_of(text, key)
        .map(|l| format!(", line {l}"))
        .unwrap_or_default();
    MlpTuneError::InvalidInput(format!("{}{line}, key `{key}`: {what}", path.display()))
}

/// The line (from 1) where `key` is set, `key = ...` at the start of a line: for a dotted
/// key (`search.kind`), within its table (`[search]`) when the spec has that header, so
/// that `kind` of `[search]` is not taken for `kind` of `[estimator]`.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let (table, last) = match key.rsplit_once('.') {
        Some((table, last)) => (Some(table), last),
        None => (None, key),
    };
    let sets = |l: &str| {
        l.trim_start()
            .strip_prefix(last)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    let header = table.map(|t| format!("[{t}]"));
    let start = header.as_deref().and_then(|h| {
        text.lines()
            .position(|l| l.split('#').next().is_some_and(|l| l.trim() == h))
    });
    match start {
        Some(start) => text
            .lines()
            .enumerate()
            .skip(start + 1)
            .take_while(|(_, l)| !is_header(l))
            .find(|(_, l)| sets(l))
            .map(|(i, _)| i + 1),
        None => text.lines().position(sets).map(|i| i + 1),
    }
}

/// Whether a line is a table header, `[name]` or `[name.sub]` (not a line of a multi-line
/// array such as `[10],`).
fn is_header(line: &str) -> bool {
    let l = line.split('#').next().unwrap_or("").trim();
    l.strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .is_some_and(|name| {
            name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        })
}

/// A TOML value as a hyperparameter value.
pub fn param_value(value: &toml::Value) -> std::result::Result<ParamValue, String> {
    Ok(match value {
        toml::Value::Boolean(b) => ParamValue::Bool(*b),
        toml::Value::Integer(i) => ParamValue::Int(*i),
        toml::Value::Float(f) => ParamValue::Float(*f),
        toml::Value::String(s) if s == "none" => ParamValue::None,
        toml::Value::String(s) => ParamValue::Str(s.clone()),
        toml::Value::Array(items) => ParamValue::Ints(
            items
                .iter()
                .map(|v| {
                    v.as_integer()
                        .ok_or("a list value must hold integers (layer sizes)")
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        other => {
            return Err(format!(
                "{} is not a hyperparameter value",
                other.type_str()
            ))
        }
    })
}

impl DistSpec {
    fn distribution(&self) -> Distribution {
        match *self {
            DistSpec::Uniform { loc, scale } => Distribution::Uniform { loc, scale },
            DistSpec::Loguniform { low, high } => Distribution::LogUniform { low, high },
            DistSpec::Randint { low, high } => Distribution::RandInt { low, high },
            DistSpec::LogRandint { low, high } => Distribution::LogRandInt { low, high },
            DistSpec::IntStep { low, high, step } => Distribution::IntStep { low, high, step },
            DistSpec::FloatStep { low, high, step } => Distribution::FloatStep { low, high, step },
        }
    }
}

/// `a grid`, `an evolutionary`: a kind with its article, for messages.
fn a_kind(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// The search kinds a spec names.
pub const SEARCH_KINDS: [&str; 8] = [
    "grid",
    "random",
    "halving_grid",
    "halving_random",
    "hyperband",
    "tpe",
    "bayes",
    "evolutionary",
];

impl SearchSpec {
    /// Reads and checks the spec at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            MlpTuneError::InvalidInput(format!("{}: cannot read the spec: {e}", path.display()))
        })?;
        Self::from_str(&text, path)
    }

    /// Parses and checks a spec's text; `path` names it in errors and resolves its paths.
    pub fn from_str(text: &str, path: &Path) -> Result<Self> {
        let mut spec: SearchSpec = toml::from_str(text).map_err(|e| {
            MlpTuneError::InvalidInput(format!("{}: {}", path.display(), e.to_string().trim_end()))
        })?;
        spec.path = path.to_path_buf();
        spec.text = text.to_string();
        spec.check()?;
        Ok(spec)
    }

    /// An error about `key` of this spec, naming its file and line.
    pub fn error(&self, key: &str, what: impl std::fmt::Display) -> MlpTuneError {
        spec_error(&self.path, &self.text, key, what)
    }

    /// A path of the spec, relative to its folder.
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if relative.is_relative() => dir.join(relative),
            _ => relative.to_path_buf(),
        }
    }

    /// The journal file, if the spec names one.
    pub fn journal(&self) -> Option<PathBuf> {
        self.search.journal.as_deref().map(|j| self.resolve(j))
    }

    /// Whether the estimator is a classifier.
    pub fn is_classifier(&self) -> bool {
        self.estimator.kind == "mlp_classifier"
    }

    /// The fixed hyperparameters as a candidate.
    pub fn fixed_params(&self) -> Result<Candidate> {
        self.estimator
            .params
            .iter()
            .map(|(name, v)| {
                param_value(v)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| self.error(&format!("estimator.params.{name}"), e))
            })
            .collect()
    }

    /// The space as a grid (every value a list).
    pub fn grid(&self) -> Result<ParamGrid> {
        let mut grid = ParamGrid::new();
        for (name, value) in &self.space {
            match value {
                SpaceValue::Values(values) => {
                    let values: Vec<ParamValue> = values
                        .iter()
                        .map(param_value)
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|e| self.error(&format!("space.{name}"), e))?;
                    grid = grid.add(name, values);
                }
                SpaceValue::Dist(_) => {
                    return Err(self.error(
                        &format!("space.{name}"),
                        format!(
                            "{} search takes lists of values (a grid), not distributions",
                            a_kind(&self.search.kind)
                        ),
                    ))
                }
            }
        }
        Ok(grid)
    }

    /// The space as distributions (a list is a categorical distribution).
    pub fn distributions(&self) -> Result<ParamDistributions> {
        let mut dists = ParamDistributions::new();
        for (name, value) in &self.space {
            let key = format!("space.{name}");
            let dist = match value {
                SpaceValue::Values(values) => Distribution::list(
                    values
                        .iter()
                        .map(param_value)
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| self.error(&key, e))?,
                ),
                SpaceValue::Dist(d) => d.distribution(),
            };
            dist.validate(name).map_err(|e| self.error(&key, e))?;
            dists = dists.add(name, dist);
        }
        Ok(dists)
    }

    /// Checks what can be checked without the data: names, kinds, options that the
    /// search kind takes.
    fn check(&self) -> Result<()> {
        let d = &self.data;
        match (&d.dataset, &d.csv) {
            (Some(name), None) => {
                if !crate::datasets::EMBEDDED.contains(&name.as_str()) {
                    return Err(self.error(
                        "data.dataset",
                        format!(
                            "unknown dataset `{name}`; one of {}",
                            crate::datasets::EMBEDDED.join(", ")
                        ),
                    ));
                }
                if d.target.is_some() {
                    return Err(self.error("data.target", "only a CSV file has a target column"));
                }
            }
            (None, Some(_)) => {
                if d.target.is_none() {
                    return Err(self.error("data.csv", "a CSV file needs `target` (its column)"));
                }
            }
            _ => {
                return Err(MlpTuneError::InvalidInput(format!(
                    "{}: [data] needs either `dataset` or `csv`",
                    self.path.display()
                )))
            }
        }
        if let Some(t) = d.test_size {
            if !(t > 0.0 && t < 1.0) {
                return Err(self.error("data.test_size", "must be in (0, 1)"));
            }
        }
        if !["mlp_regressor", "mlp_classifier"].contains(&self.estimator.kind.as_str()) {
            return Err(self.error(
                "estimator.kind",
                format!(
                    "unknown estimator `{}`; mlp_regressor or mlp_classifier",
                    self.estimator.kind
                ),
            ));
        }
        let s = &self.search;
        let kind = s.kind.as_str();
        if !SEARCH_KINDS.contains(&kind) {
            return Err(self.error(
                "search.kind",
                format!(
                    "unknown search kind `{kind}`; one of {}",
                    SEARCH_KINDS.join(", ")
                ),
            ));
        }
        let takes = |option: &str| -> bool {
            match option {
                "n_iter" => matches!(kind, "random" | "halving_random" | "tpe" | "bayes"),
                "seed" => kind != "grid",
                "factor" => matches!(kind, "halving_grid" | "halving_random" | "hyperband"),
                "resource" | "min_resources" | "max_resources" => kind.starts_with("halving"),
                "max_epochs" | "min_epochs" | "max_brackets" | "sampler" => kind == "hyperband",
                "batch_size" => matches!(kind, "tpe" | "bayes" | "hyperband"),
                "n_startup_trials" => kind == "tpe",
                "n_initial_points" | "initial_points" | "acquisition" | "xi" | "kappa" | "liar"
                | "n_points" => kind == "bayes",
                "population_size"
                | "generations_number"
                | "gene_mutation_prob"
                | "gene_crossover_prob"
                | "tournament_size"
                | "crossover"
                | "elitism" => kind == "evolutionary",
                _ => true,
            }
        };
        let given = [
            ("n_iter", s.n_iter.is_some()),
            ("seed", s.seed.is_some()),
            ("factor", s.factor.is_some()),
            ("resource", s.resource.is_some()),
            ("min_resources", s.min_resources.is_some()),
            ("max_resources", s.max_resources.is_some()),
            ("max_epochs", s.max_epochs.is_some()),
            ("min_epochs", s.min_epochs.is_some()),
            ("max_brackets", s.max_brackets.is_some()),
            ("sampler", s.sampler.is_some()),
            ("batch_size", s.batch_size.is_some()),
            ("n_startup_trials", s.n_startup_trials.is_some()),
            ("n_initial_points", s.n_initial_points.is_some()),
            ("initial_points", s.initial_points.is_some()),
            ("acquisition", s.acquisition.is_some()),
            ("xi", s.xi.is_some()),
            ("kappa", s.kappa.is_some()),
            ("liar", s.liar.is_some()),
            ("n_points", s.n_points.is_some()),
            ("population_size", s.population_size.is_some()),
            ("generations_number", s.generations_number.is_some()),
            ("gene_mutation_prob", s.gene_mutation_prob.is_some()),
            ("gene_crossover_prob", s.gene_crossover_prob.is_some()),
            ("tournament_size", s.tournament_size.is_some()),
            ("crossover", s.crossover.is_some()),
            ("elitism", s.elitism.is_some()),
        ];
        for (option, set) in given {
            if set && !takes(option) {
                return Err(self.error(
                    &format!("search.{option}"),
                    format!("{} search does not take `{option}`", a_kind(kind)),
                ));
            }
        }
        if matches!(kind, "random" | "tpe" | "bayes") && s.n_iter.is_none() {
            return Err(self.error("search.kind", format!("a {kind} search needs `n_iter`")));
        }
        if kind == "hyperband" && s.max_epochs.is_none() {
            return Err(self.error("search.kind", "a hyperband search needs `max_epochs`"));
        }
        if s.batch_size == Some(0) {
            return Err(self.error("search.batch_size", "`batch_size` must be >= 1"));
        }
        if kind == "hyperband" && s.batch_size.is_some() && s.sampler.as_deref() != Some("bohb") {
            return Err(self.error(
                "search.batch_size",
                "a hyperband search takes `batch_size` only with `sampler = \"bohb\"`",
            ));
        }
        let strings = [
            &s.sampler,
            &s.initial_points,
            &s.acquisition,
            &s.liar,
            &s.crossover,
        ];
        for ((option, choices), value) in STRING_CHOICES.iter().zip(strings) {
            if let Some(v) = value {
                if !choices.contains(&v.as_str()) {
                    return Err(self.error(
                        &format!("search.{option}"),
                        format!("unknown {option} `{v}`; one of {}", choices.join(", ")),
                    ));
                }
            }
        }
        // Each acquisition takes only its own parameters.
        let acquisition = s.acquisition.as_deref().unwrap_or("gp_hedge");
        for (option, set, takes) in [
            ("xi", s.xi.is_some(), acquisition != "lcb"),
            (
                "kappa",
                s.kappa.is_some(),
                matches!(acquisition, "gp_hedge" | "lcb"),
            ),
        ] {
            if set && !takes {
                return Err(self.error(
                    &format!("search.{option}"),
                    format!("the {acquisition} acquisition does not take `{option}`"),
                ));
            }
        }
        if self.space.is_empty() {
            return Err(MlpTuneError::InvalidInput(format!(
                "{}: [space] is empty: nothing to search",
                self.path.display()
            )));
        }
        self.fixed_params()?;
        match kind {
            "grid" | "halving_grid" | "evolutionary" => self.grid().map(|_| ()),
            _ => self.distributions().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_their_table() {
        let text = "[estimator]\nkind = \"mlp_regressor\"\n\n[search]\nn_iter = 3\nkind = \"bayes\" # GP\n\n[space]\nhidden_layer_sizes = [\n  [10],\n  [20]\n]\nalpha = [1.0]\n";
        assert_eq!(line_of(text, "search.kind"), Some(6));
        assert_eq!(line_of(text, "estimator.kind"), Some(2));
        assert_eq!(line_of(text, "space.alpha"), Some(13));
        assert_eq!(line_of(text, "kind"), Some(2));
        assert_eq!(line_of(text, "data.dataset"), None);
        assert!(is_header("[estimator.params]  # fixed"));
        assert!(!is_header("  [10],") && !is_header("[10]"));
    }
}
