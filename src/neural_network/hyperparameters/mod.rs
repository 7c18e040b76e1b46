//! The one declaration of the MLPs' hyperparameters: each one's name, type, default, range,
//! meaning, check and builder, written once. scikit-learn's own are declared in
//! `sklearn.rs` ([`SKLEARN_HYPERPARAMETERS`]), the knobs beyond scikit-learn in `knobs.rs`
//! ([`KNOB_HYPERPARAMETERS`], fields of [`ArchConfig`](super::ArchConfig)). From the two
//! declarations come [`MlpConfig`]'s `Default`, the by-name setters and getters
//! ([`MlpConfig::set_param`], [`MlpConfig::get_params`], [`ArchConfig::set_param`](super::ArchConfig::set_param)),
//! the name lists ([`MLP_PARAM_NAMES`](super::MLP_PARAM_NAMES), [`ARCH_PARAM_NAMES`](super::ARCH_PARAM_NAMES)),
//! the range checks of [`MlpConfig::validate`], and the builder methods of both estimators'
//! params (`MLPRegressor::params().alpha(..)`, `.dropout(..)`).

use super::base::Activation;
use super::params::{BatchSize, EarlyStoppingMonitor, MlpConfig, Solver, MAX_HIDDEN_LAYERS};
use super::stochastic_optimizers::LearningRate;
use crate::error::{invalid_param, Result};
use crate::model_selection::param_space::ParamValue;

mod knobs;
mod sklearn;

pub(crate) use knobs::knob_hyperparameter;
pub use knobs::{ARCH_PARAM_NAMES, KNOB_HYPERPARAMETERS};
pub(crate) use sklearn::{sklearn_hyperparameter, SklearnDefaults};
pub use sklearn::{SKLEARN_HYPERPARAMETERS, SKLEARN_PARAM_NAMES};

/// One declared hyperparameter of a configuration `C` ([`MlpConfig`] for scikit-learn's,
/// [`ArchConfig`](super::ArchConfig) for the knobs beyond it).
#[derive(Clone, Copy)]
pub struct Hyperparameter<C: 'static = MlpConfig> {
    /// The scikit-learn name (what searches and `set_param` use).
    pub name: &'static str,
    /// The default, as the documentation shows it.
    pub default: &'static str,
    /// The accepted values.
    pub range: &'static str,
    /// What it does.
    pub meaning: &'static str,
    /// Its value as `get_params` lists it (`None`: not listed, as for run settings such as
    /// `checkpoint`, or for an unset override).
    pub(crate) get: fn(&C) -> Option<ParamValue>,
    pub(crate) set: fn(&mut C, &ParamValue) -> Result<()>,
    pub(crate) check: fn(&C) -> Result<()>,
}

impl<C> std::fmt::Debug for Hyperparameter<C> {
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

impl ParamType for super::layers::DropoutKind {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        use super::layers::DropoutKind;
        one_of(
            name,
            value,
            "dropout kind",
            &["standard", "alpha"],
            &[DropoutKind::Standard, DropoutKind::Alpha],
        )
    }
    fn to_value(&self) -> ParamValue {
        use super::layers::DropoutKind;
        ParamValue::Str(
            match self {
                DropoutKind::Standard => "standard",
                DropoutKind::Alpha => "alpha",
            }
            .into(),
        )
    }
}

/// `none`, `before`, `after` (or `before_activation`, `after_activation`), or a bool
/// (`true`: before).
impl ParamType for Option<super::layers::BatchNormPosition> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        use super::layers::BatchNormPosition::{AfterActivation, BeforeActivation};
        match value {
            ParamValue::Bool(true) => Ok(Some(BeforeActivation)),
            ParamValue::Bool(false) | ParamValue::None => Ok(None),
            v => one_of(
                name,
                v,
                "position",
                &[
                    "none",
                    "before",
                    "after",
                    "before_activation",
                    "after_activation",
                ],
                &[
                    None,
                    Some(BeforeActivation),
                    Some(AfterActivation),
                    Some(BeforeActivation),
                    Some(AfterActivation),
                ],
            ),
        }
    }
    fn to_value(&self) -> ParamValue {
        use super::layers::BatchNormPosition::{AfterActivation, BeforeActivation};
        ParamValue::Str(
            match self {
                None => "none",
                Some(BeforeActivation) => "before",
                Some(AfterActivation) => "after",
            }
            .into(),
        )
    }
}

impl ParamType for super::layers::Initializer {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        super::layers::Initializer::from_name(value.as_str(name)?)
    }
    fn to_value(&self) -> ParamValue {
        ParamValue::Str(self.name().into())
    }
}

impl ParamType for super::callbacks::Monitor {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        super::callbacks::Monitor::from_name(value.as_str(name)?)
    }
    fn to_value(&self) -> ParamValue {
        use super::callbacks::Monitor;
        ParamValue::Str(
            match self {
                Monitor::ValidationLoss => "validation_loss",
                Monitor::ValidationScore => "validation_score",
                Monitor::TrainingLoss => "training_loss",
            }
            .into(),
        )
    }
}

/// An override: `None` (unset) or a value.
impl<T: ParamType> ParamType for Option<T> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::None => Ok(None),
            v => T::from_value(name, v).map(Some),
        }
    }
    fn to_value(&self) -> ParamValue {
        self.as_ref().map_or(ParamValue::None, T::to_value)
    }
}

/// `None` (use `solver`) or an optimizer's name, with that optimizer's defaults.
impl ParamType for Option<super::stochastic_optimizers::OptimizerKind> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::None => Ok(None),
            v => super::stochastic_optimizers::OptimizerKind::from_name(v.as_str(name)?).map(Some),
        }
    }
    fn to_value(&self) -> ParamValue {
        self.map_or(ParamValue::None, |k| ParamValue::Str(k.name().into()))
    }
}

/// `None`, `none` or `constant` (no schedule), or a schedule's name with its defaults.
impl ParamType for Option<super::stochastic_optimizers::Schedule> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::None => Ok(None),
            v => match v.as_str(name)? {
                "none" | "constant" => Ok(None),
                s => super::stochastic_optimizers::Schedule::from_name(s).map(Some),
            },
        }
    }
    fn to_value(&self) -> ParamValue {
        self.as_ref()
            .map_or(ParamValue::None, |s| ParamValue::Str(s.name().into()))
    }
}

/// `None` or a file path.
impl ParamType for Option<std::path::PathBuf> {
    fn from_value(name: &str, value: &ParamValue) -> Result<Self> {
        match value {
            ParamValue::None => Ok(None),
            v => Ok(Some(v.as_str(name)?.into())),
        }
    }
    fn to_value(&self) -> ParamValue {
        self.as_ref().map_or(ParamValue::None, |p| {
            ParamValue::Str(p.to_string_lossy().into_owned())
        })
    }
}

/// The names of `parts`, merged and sorted (at compile time; `N` must be their total count).
const fn sorted_names<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut k = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[k] = parts[p][i];
            k += 1;
            i += 1;
        }
        p += 1;
    }
    // Insertion sort: a few dozen names, once, by the compiler.
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && str_less(out[j], out[j - 1]) {
            let t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    out
}

/// `a < b` in byte order, usable in constants.
const fn str_less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// Names [`MlpConfig::set_param`] takes beyond the declared ones: Géron's shape parameters.
const SHAPE_PARAM_NAMES: &[&str] = &["n_hidden", "n_neurons"];

const N_PARAMS: usize =
    SKLEARN_PARAM_NAMES.len() + SHAPE_PARAM_NAMES.len() + ARCH_PARAM_NAMES.len();

/// Parameter names accepted by [`MlpConfig::set_param`] (and so by searches), sorted: the
/// declared scikit-learn hyperparameters, `n_hidden` and `n_neurons`, and the declared knobs
/// beyond scikit-learn.
pub const MLP_PARAM_NAMES: &[&str] =
    &sorted_names::<N_PARAMS>(&[SKLEARN_PARAM_NAMES, SHAPE_PARAM_NAMES, ARCH_PARAM_NAMES]);

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
            let value = (h.get)(&defaults).expect("scikit-learn's are always listed");
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

    /// The knobs' declaration drives `ArchConfig::set_param`, the name lists and `get`:
    /// every declared knob is settable by name, and writing back what `get` lists for a
    /// configuration with every knob away from its default rebuilds it.
    #[test]
    fn the_knob_declaration_drives_names_setters_and_getters() {
        use super::super::layers::ArchConfig;
        let mut names: Vec<_> = KNOB_HYPERPARAMETERS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        assert_eq!(
            names, ARCH_PARAM_NAMES,
            "ARCH_PARAM_NAMES is the sorted declaration"
        );
        names.dedup();
        assert_eq!(
            names.len(),
            KNOB_HYPERPARAMETERS.len(),
            "a knob declared twice"
        );
        let mut all: Vec<_> = SKLEARN_PARAM_NAMES
            .iter()
            .chain(SHAPE_PARAM_NAMES)
            .chain(ARCH_PARAM_NAMES)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, MLP_PARAM_NAMES);

        let mut busy = ArchConfig::default();
        for (name, value) in [
            ("dropout", ParamValue::Float(0.25)),
            ("dropout_kind", ParamValue::Str("alpha".into())),
            ("gaussian_noise", ParamValue::Float(0.1)),
            ("batch_norm", ParamValue::Str("after".into())),
            ("batch_norm_momentum", ParamValue::Float(0.9)),
            ("kernel_l2", ParamValue::Float(1e-3)),
            ("initializer", ParamValue::Str("he_normal".into())),
            ("use_bias", ParamValue::Bool(false)),
            ("optimizer", ParamValue::Str("rmsprop".into())),
            ("rho", ParamValue::Float(0.8)),
            ("centered", ParamValue::Bool(true)),
            ("clipnorm", ParamValue::Float(1.0)),
            ("decay_steps", ParamValue::Int(50)),
            ("lr_schedule", ParamValue::Str("exponential_decay".into())),
            ("decay_rate", ParamValue::Float(0.5)),
            ("patience", ParamValue::Int(3)),
            ("monitor", ParamValue::Str("training_loss".into())),
            ("terminate_on_nan", ParamValue::Bool(true)),
        ] {
            busy.set_param(name, &value).unwrap().unwrap();
            assert_ne!(busy, ArchConfig::default(), "{name}");
        }
        let mut rebuilt = ArchConfig::default();
        for knob in KNOB_HYPERPARAMETERS {
            if let Some(value) = (knob.get)(&busy) {
                (knob.set)(&mut rebuilt, &value).unwrap();
            }
        }
        assert_eq!(rebuilt, busy);
        assert!(busy.validate(&[4], Activation::Relu).is_ok());
    }

    /// A schedule override is order-free (a search sets `decay_*` before `lr_schedule`) and
    /// is refused, by name, when no chosen schedule takes it.
    #[test]
    fn schedule_overrides_apply_in_any_order() {
        use super::super::stochastic_optimizers::Schedule;
        let mut c = MlpConfig::default();
        c.set_param("decay_steps", &ParamValue::Int(7)).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("decay_steps"), "{err}");
        c.set_param("lr_schedule", &ParamValue::Str("cosine_decay".into()))
            .unwrap();
        c.validate().unwrap();
        assert!(matches!(
            c.arch.effective_schedule(),
            Some(Schedule::CosineDecay { decay_steps: 7, .. })
        ));
        c.set_param("decay_rate", &ParamValue::Float(0.5)).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("decay_rate") && err.contains("does not apply"),
            "{err}"
        );
    }

    /// A knob's builder and its by-name setter share one writer: both reach explicit layers.
    #[test]
    fn builders_and_setters_write_alike() {
        use super::super::layers::LayerSpec;
        use super::super::MLPRegressor;
        let layers = vec![LayerSpec::dense(3, Activation::Relu); 2];
        let built = MLPRegressor::<f64>::params()
            .layers(layers.clone())
            .dropout(0.3)
            .kernel_regularizer(0.0, 0.01);
        let mut by_name = MlpConfig::default();
        by_name.arch.layers = Some(layers);
        by_name
            .set_param("dropout", &ParamValue::Float(0.3))
            .unwrap();
        by_name
            .set_param("kernel_l2", &ParamValue::Float(0.01))
            .unwrap();
        by_name
            .set_param("kernel_l1", &ParamValue::Float(0.0))
            .unwrap();
        assert_eq!(built.current_config().arch, by_name.arch);
        assert!(by_name
            .arch
            .layers
            .unwrap()
            .iter()
            .all(|l| l.dropout == 0.3));
    }

    #[test]
    fn checks_name_the_parameter() {
        let mut c = MlpConfig::default();
        c.set_param("beta_2", &ParamValue::Float(1.0)).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("beta_2") && err.contains("[0, 1)"), "{err}");
    }
}
