//! The one declaration of scikit-learn's hyperparameters of the MLPs: each one's name, type,
//! default, range, meaning and check, written once in [`sklearn_hyperparameters!`]'s
//! invocation below. From it come [`MlpConfig`]'s `Default`, the by-name setter and getter
//! ([`MlpConfig::set_param`], [`MlpConfig::get_params`]), the range checks of
//! [`MlpConfig::validate`], and the builder methods of both estimators' params
//! (`MLPRegressor::params().alpha(..)`).
//!
//! The knobs beyond scikit-learn ([`ArchConfig`](super::ArchConfig)) keep their own
//! declaration in `layers/arch.rs`.

use super::base::Activation;
use super::params::{BatchSize, EarlyStoppingMonitor, MlpConfig, Solver, MAX_HIDDEN_LAYERS};
use super::stochastic_optimizers::LearningRate;
use crate::error::{invalid_param, Result};
use crate::model_selection::param_space::ParamValue;

/// One declared hyperparameter.
#[derive(Clone, Copy)]
pub struct Hyperparameter {
    /// The scikit-learn name (what searches and `set_param` use).
    pub name: &'static str,
    /// The default, as the documentation shows it.
    pub default: &'static str,
    /// The accepted values.
    pub range: &'static str,
    /// What it does.
    pub meaning: &'static str,
    pub(crate) get: fn(&MlpConfig) -> ParamValue,
    pub(crate) set: fn(&mut MlpConfig, &ParamValue) -> Result<()>,
    pub(crate) check: fn(&MlpConfig) -> Result<()>,
}

impl std::fmt::Debug for Hyperparameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hyperparameter")
            .field("name", &self.name)
            .field("default", &self.default)
            .field("range", &self.range)
            .finish()
    }
}

/// How a hyperparameter's type reads from and writes to a [`ParamValue`].
pub(crate) trait ParamType: Sized {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self>;
    fn to_value(&self) -> ParamValue;
}

impl ParamType for f64 {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_f64(name)
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Float(*self)
    }
}

impl ParamType for usize {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_usize(name)
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ParamType for bool {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_bool(name)
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Bool(*self)
    }
}

impl ParamType for Vec<usize> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        value.as_usizes(name)
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Ints(
            self.iter()
                .map(|&u| i64::try_from(u).unwrap_or(i64::MAX))
                .collect(),
        )
    }
}

/// A seed: `None` or a 32-bit integer (numpy's seed range).
impl ParamType for Option<u32> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::None => Ok(None),
            other => Ok(Some(u32::try_from(other.as_usize(name)?).map_err(
                |_| invalid_param(name, "must fit in 32 bits (numpy's seed range)"),
            )?)),
        }
    }
    fn to_value(&self) -> ParamValue {
        self.map_or(ParamValue::None, |s| ParamValue::Int(i64::from(s)))
    }
}

impl ParamType for Activation {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        Activation::from_name(value.as_str(name)?)
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Str(self.name().to_string())
    }
}

/// Parses one of `names` into the matching value of `values`, or names the valid ones.
fn one_of<T: Copy>(
    name: &str,
    value: &ParamValue,
    what: &str,
    names: &[&str],
    values: &[T],
) -> Result<T> {
    let given = value.as_str(name)?;
    names
        .iter()
        .position(|&n| n == given)
        .map(|i| values[i])
        .ok_or_else(|| {
            invalid_param(
                name,
                format!("unknown {what} `{given}`; valid: {}", names.join(", ")),
            )
        })
}

impl ParamType for Solver {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        one_of(
            name,
            value,
            "solver",
            &["lbfgs", "sgd", "adam"],
            &[Solver::Lbfgs, Solver::Sgd, Solver::Adam],
        )
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Str(self.name().into())
    }
}

impl ParamType for LearningRate {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        one_of(
            name,
            value,
            "schedule",
            &["constant", "invscaling", "adaptive"],
            &[
                LearningRate::Constant,
                LearningRate::InvScaling,
                LearningRate::Adaptive,
            ],
        )
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Str(self.name().into())
    }
}

impl ParamType for EarlyStoppingMonitor {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        one_of(
            name,
            value,
            "monitor",
            &["validation_score", "validation_loss"],
            &[
                EarlyStoppingMonitor::ValidationScore,
                EarlyStoppingMonitor::ValidationLoss,
            ],
        )
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Str(
            match self {
                EarlyStoppingMonitor::ValidationScore => "validation_score",
                EarlyStoppingMonitor::ValidationLoss => "validation_loss",
            }
            .into(),
        )
    }
}

/// `auto` or a size.
impl ParamType for BatchSize {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::Str(s) if s == "auto" => Ok(BatchSize::Auto),
            other => Ok(BatchSize::Fixed(other.as_usize(name)?)),
        }
    }
    fn to_value(&self) -> ParamValue {
        match self {
            BatchSize::Auto => ParamValue::Str("auto".into()),
            BatchSize::Fixed(n) => n.to_value(),
        }
    }
}

fn finite(v: f64) -> std::result::Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("must be finite, got {v}"))
    }
}

fn require(ok: bool, reason: &str) -> std::result::Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(reason.to_string())
    }
}

/// Declares the hyperparameters: each entry is
/// `name: Type = default_expr, "default shown", "range", "meaning", check |v| .., builder(arg: ArgType) => value;`.
/// It expands to [`SKLEARN_HYPERPARAMETERS`], `MlpConfig::sklearn_default` and the
/// builder methods of the params types listed after `for`.
macro_rules! sklearn_hyperparameters {
    (for [$($params:ident),*] $body:tt) => {
        sklearn_hyperparameters!(@table $body);
        $(sklearn_hyperparameters!(@builders $params $body);)*
    };
    (@table { $(
        $field:ident : $ty:ty = $default:expr, $ddoc:literal, $range:literal, $meaning:literal,
        check $check:expr, builder($arg:ident : $aty:ty) => $conv:expr;
    )* }) => {
        /// Every scikit-learn hyperparameter of the MLPs, in declaration order.
        pub const SKLEARN_HYPERPARAMETERS: &[Hyperparameter] = &[$(
            Hyperparameter {
                name: stringify!($field),
                default: $ddoc,
                range: $range,
                meaning: $meaning,
                get: |c: &MlpConfig| ParamType::to_value(&c.$field),
                set: |c: &mut MlpConfig, v: &ParamValue| {
                    c.$field = <$ty as ParamType>::from_value(stringify!($field), v)?;
                    Ok(())
                },
                check: |c: &MlpConfig| {
                    let check: fn(&$ty) -> std::result::Result<(), String> = $check;
                    check(&c.$field).map_err(|reason| invalid_param(stringify!($field), reason))
                },
            },
        )*];

        /// The declared defaults, field by field.
        pub(crate) struct SklearnDefaults { $(pub(crate) $field: $ty,)* }

        impl SklearnDefaults {
            pub(crate) fn new() -> Self {
                SklearnDefaults { $($field: $default,)* }
            }
        }
    };
    (@builders $params:ident { $(
        $field:ident : $ty:ty = $default:expr, $ddoc:literal, $range:literal, $meaning:literal,
        check $check:expr, builder($arg:ident : $aty:ty) => $conv:expr;
    )* }) => {
        impl<F> super::$params<F> {
            $(
                #[doc = concat!($meaning, " (`", stringify!($field), "`; default ", $ddoc, "; ", $range, ").")]
                pub fn $field(mut self, $arg: $aty) -> Self {
                    self.0.config.$field = $conv;
                    self
                }
            )*
        }
    };
}

sklearn_hyperparameters! {
    for [MLPRegressorParams, MLPClassifierParams] {
    hidden_layer_sizes: Vec<usize> = vec![100], "`[100]`", "each ≥ 1; empty = no hidden layer",
        "Neurons per hidden layer",
        check |v| {
            if v.len() > MAX_HIDDEN_LAYERS {
                return Err(format!("at most {MAX_HIDDEN_LAYERS} hidden layers"));
            }
            match v.iter().position(|&u| u == 0) {
                Some(pos) => Err(format!(
                    "layer {pos} has zero neurons; every layer needs at least one"
                )),
                None => Ok(()),
            }
        },
        builder(sizes: &[usize]) => sizes.to_vec();
    activation: Activation = Activation::Relu, "relu",
        "identity, logistic, tanh, relu (and Keras's activations)", "Hidden activation",
        check |v| v.validate().map_err(|e| e.to_string()),
        builder(v: Activation) => v;
    solver: Solver = Solver::Adam, "adam", "lbfgs, sgd, adam", "Weight optimizer",
        check |_| Ok(()),
        builder(v: Solver) => v;
    alpha: f64 = 1e-4, "`1e-4`", "≥ 0",
        "L2 strength: loss += 0.5·alpha·‖W‖²/n_batch (biases not penalized)",
        check |v| { finite(*v)?; require(*v >= 0.0, "must be >= 0") },
        builder(v: f64) => v;
    batch_size: BatchSize = BatchSize::Auto, "auto = min(200, n)", "≥ 1", "Mini-batch size",
        check |v| require(*v != BatchSize::Fixed(0), "must be >= 1"),
        builder(v: usize) => BatchSize::Fixed(v);
    learning_rate: LearningRate = LearningRate::Constant, "constant",
        "constant, invscaling, adaptive", "SGD step schedule",
        check |_| Ok(()),
        builder(v: LearningRate) => v;
    learning_rate_init: f64 = 1e-3, "`1e-3`", "> 0", "Initial step size (sgd, adam)",
        check |v| { finite(*v)?; require(*v > 0.0, "must be > 0") },
        builder(v: f64) => v;
    power_t: f64 = 0.5, "`0.5`", "≥ 0", "Exponent of invscaling",
        check |v| { finite(*v)?; require(*v >= 0.0, "must be >= 0") },
        builder(v: f64) => v;
    max_iter: usize = 200, "`200`", "≥ 1", "Epochs (sgd, adam) or iterations (lbfgs)",
        check |v| require(*v >= 1, "must be >= 1"),
        builder(v: usize) => v;
    shuffle: bool = true, "`true`", "true, false", "Reshuffle the rows every epoch",
        check |_| Ok(()),
        builder(v: bool) => v;
    random_state: Option<u32> = None, "none: a fresh seed per fit", "u32",
        "Seed of every random draw",
        check |_| Ok(()),
        builder(v: u32) => Some(v);
    tol: f64 = 1e-4, "`1e-4`", "≥ 0", "Improvement threshold of the stopping rule",
        check |v| { finite(*v)?; require(*v >= 0.0, "must be >= 0") },
        builder(v: f64) => v;
    warm_start: bool = false, "`false`", "true, false", "`fit_from` reuses the fitted weights",
        check |_| Ok(()),
        builder(v: bool) => v;
    momentum: f64 = 0.9, "`0.9`", "[0, 1]", "SGD momentum",
        check |v| { finite(*v)?; require((0.0..=1.0).contains(v), "must be in [0, 1]") },
        builder(v: f64) => v;
    nesterovs_momentum: bool = true, "`true`", "true, false",
        "Nesterov's momentum (sgd, momentum > 0)",
        check |_| Ok(()),
        builder(v: bool) => v;
    early_stopping: bool = false, "`false`", "true, false",
        "Hold out `validation_fraction` of the rows and stop on their score",
        check |_| Ok(()),
        builder(v: bool) => v;
    validation_fraction: f64 = 0.1, "`0.1`", "(0, 1)", "Held-out share for early stopping",
        check |v| { finite(*v)?; require(*v > 0.0 && *v < 1.0, "must be in (0, 1)") },
        builder(v: f64) => v;
    beta_1: f64 = 0.9, "`0.9`", "[0, 1)", "Adam's first-moment decay",
        check |v| { finite(*v)?; require((0.0..1.0).contains(v), "must be in [0, 1)") },
        builder(v: f64) => v;
    beta_2: f64 = 0.999, "`0.999`", "[0, 1)", "Adam's second-moment decay",
        check |v| { finite(*v)?; require((0.0..1.0).contains(v), "must be in [0, 1)") },
        builder(v: f64) => v;
    epsilon: f64 = 1e-8, "`1e-8`", "> 0",
        "Adam's stabilizer for `solver = adam` (scikit-learn's value, on either engine; the \
         Keras-style `optimizer`s use `optimizer_epsilon`)",
        check |v| { finite(*v)?; require(*v > 0.0, "must be > 0") },
        builder(v: f64) => v;
    n_iter_no_change: usize = 10, "`10`", "≥ 1",
        "Epochs without `tol` improvement before stopping",
        check |v| require(*v >= 1, "must be >= 1"),
        builder(v: usize) => v;
    max_fun: usize = 15000, "`15000`", "≥ 1", "lbfgs: maximum loss evaluations",
        check |v| require(*v >= 1, "must be >= 1"),
        builder(v: usize) => v;
    early_stopping_monitor: EarlyStoppingMonitor = EarlyStoppingMonitor::ValidationScore,
        "validation score", "validation_score, validation_loss",
        "Beyond scikit-learn: what early stopping watches",
        check |_| Ok(()),
        builder(v: EarlyStoppingMonitor) => v;
    n_threads: usize = 1, "`1`", "≥ 1",
        "Beyond scikit-learn: threads the matrix products of one fit may use (inside a \
         search or cross-validation every fit's kernels run on one thread and the tasks are \
         parallel instead)",
        check |v| require(*v >= 1, "must be >= 1"),
        builder(v: usize) => v;
    }
}

/// The declared hyperparameter called `name`.
pub(crate) fn sklearn_hyperparameter(name: &str) -> Option<&'static Hyperparameter> {
    SKLEARN_HYPERPARAMETERS.iter().find(|h| h.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declared name is settable by name and listed; reading a value and setting it
    /// back is the identity; the declared default is `MlpConfig::default()`'s.
    #[test]
    fn the_declaration_drives_names_setters_and_getters() {
        let defaults = MlpConfig::default();
        for h in SKLEARN_HYPERPARAMETERS {
            assert!(
                super::super::MLP_PARAM_NAMES.contains(&h.name),
                "{} missing from MLP_PARAM_NAMES",
                h.name
            );
            let value = (h.get)(&defaults);
            let mut c = MlpConfig::default();
            (h.set)(&mut c, &value).unwrap();
            assert_eq!(c, defaults, "{}", h.name);
            assert!((h.check)(&defaults).is_ok(), "{}", h.name);
        }
        let names: std::collections::BTreeSet<_> =
            SKLEARN_HYPERPARAMETERS.iter().map(|h| h.name).collect();
        assert_eq!(
            names.len(),
            SKLEARN_HYPERPARAMETERS.len(),
            "a name declared twice"
        );
    }

    #[test]
    fn checks_name_the_parameter() {
        let mut c = MlpConfig::default();
        c.set_param("beta_2", &ParamValue::Float(1.0)).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("beta_2") && err.contains("[0, 1)"), "{err}");
    }
}
