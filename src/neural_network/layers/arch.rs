//! [`ArchConfig`]: the knobs beyond scikit-learn that apply to every hidden layer, and their
//! names for searches.

use super::*;

/// The knobs beyond scikit-learn, all off by default. Any one set (or a non-scikit-learn
/// activation) routes a fit through the layer engine; with none set, the scikit-learn engine
/// runs unchanged and gives scikit-learn's numbers. Both engines share one epoch loop
/// (split, shuffles, stopping rule, callbacks, continuation); without an `optimizer`, the
/// layer engine steps with scikit-learn's own SGD and Adam (formulas and `learning_rate`
/// schedules), so a knob changes the network, not the arithmetic of the solver.
///
/// Layer-level knobs given here apply to every hidden layer built from `hidden_layer_sizes`
/// and `activation`; [`layers`](Self::layers) gives each layer its own spec instead (and then
/// `hidden_layer_sizes`/`activation` are ignored). Setting a layer-level knob by name
/// ([`MlpConfig::set_param`](crate::neural_network::MlpConfig::set_param)) writes it into every explicit
/// layer too.
///
/// | parameter (search name) | default | range | meaning |
/// |---|---|---|---|
/// | `layers` | none | | per-layer [`LayerSpec`]s |
/// | `dropout` | 0 | [0, 1) | dropout rate of every hidden layer |
/// | `dropout_kind` | `standard` | standard, alpha | inverted dropout or alpha dropout (for selu) |
/// | `gaussian_noise` | 0 | ≥ 0 | stddev of training-time Gaussian noise |
/// | `batch_norm` | `none` | none, before, after (or a bool: before) | batch normalization and its position |
/// | `batch_norm_momentum` | 0.99 | [0, 1) | running-statistics momentum (Keras) |
/// | `batch_norm_epsilon` | 1e-3 | > 0 | variance stabilizer (Keras) |
/// | `kernel_l1`, `kernel_l2` | 0 | ≥ 0 | Keras kernel regularizers (not divided by the batch) |
/// | `activity_l1`, `activity_l2` | 0 | ≥ 0 | Keras activity regularizers (divided by the batch) |
/// | `initializer` | `sklearn` | see [`Initializer`] | weight initialization |
/// | `use_bias` | true | | dense layers have biases |
/// | `optimizer` | none (use `solver`) | sgd, adam, amsgrad, adamw, nadam, rmsprop, adagrad | see [`OptimizerKind`](crate::neural_network::stochastic_optimizers::OptimizerKind) |
/// | `optimizer_epsilon`, `optimizer_momentum`, `rho`, `centered`, `amsgrad`, `weight_decay` | the optimizer's | | override one setting of `optimizer` |
/// | `clipnorm` | none | > 0 | clip the global gradient norm |
/// | `clipvalue` | none | > 0 | clip each gradient component |
/// | `lr_schedule` | none | exponential_decay, cosine_decay, reduce_on_plateau | see [`Schedule`](crate::neural_network::stochastic_optimizers::Schedule) (also accepted by `learning_rate`) |
/// | `decay_steps`, `decay_rate` | schedule's | | override the schedule's |
/// | `patience`, `min_delta`, `restore_best_weights`, `start_from_epoch`, `monitor` | none | | Keras's [`EarlyStoppingConfig`](crate::neural_network::EarlyStoppingConfig) (field `callbacks_early_stopping`; setting any by name enables it) |
/// | `terminate_on_nan` | false | | stop at the first non-finite batch loss (restoring the best weights when kept) |
/// | `checkpoint` | none | a path | write the best weights to this JSON file (feature `serde`) |
///
/// `solver` still picks scikit-learn's SGD or Adam when `optimizer` is unset, with its own
/// `momentum`, `nesterovs_momentum`, `beta_1`, `beta_2` and `epsilon` (1e-8); scikit-learn's
/// `learning_rate` schedules (invscaling, adaptive) then apply to whichever optimizer runs.
/// L-BFGS does not combine with these knobs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ArchConfig {
    /// Explicit per-layer specs (override `hidden_layer_sizes` and `activation`).
    pub layers: Option<Vec<LayerSpec>>,
    /// Dropout rate of every hidden layer.
    pub dropout: f64,
    /// Which dropout.
    pub dropout_kind: DropoutKind,
    /// Gaussian noise stddev of every hidden layer.
    pub gaussian_noise: f64,
    /// Batch normalization of every hidden layer.
    pub batch_norm: Option<BatchNormPosition>,
    /// Running-statistics momentum (Keras 0.99).
    pub batch_norm_momentum: f64,
    /// Variance stabilizer (Keras 1e-3).
    pub batch_norm_epsilon: f64,
    /// Kernel L1 of every hidden layer.
    pub kernel_l1: f64,
    /// Kernel L2 of every hidden layer.
    pub kernel_l2: f64,
    /// Activity L1 of every hidden layer.
    pub activity_l1: f64,
    /// Activity L2 of every hidden layer.
    pub activity_l2: f64,
    /// Initializer of every layer (the output layer included).
    pub initializer: Initializer,
    /// Biases in every hidden dense layer.
    pub use_bias: bool,
    /// Keras-style optimizer replacing `solver`.
    pub optimizer: Option<crate::neural_network::stochastic_optimizers::OptimizerKind>,
    /// Override of the optimizer's epsilon.
    pub optimizer_epsilon: Option<f64>,
    /// Override of the optimizer's momentum (sgd, rmsprop).
    pub optimizer_momentum: Option<f64>,
    /// Override of RMSprop's `rho`.
    pub rho: Option<f64>,
    /// Override of RMSprop's `centered`.
    pub centered: Option<bool>,
    /// Override of Adam/AdamW's `amsgrad`.
    pub amsgrad: Option<bool>,
    /// Override of AdamW's `weight_decay`.
    pub weight_decay: Option<f64>,
    /// Global gradient-norm clipping.
    pub clipnorm: Option<f64>,
    /// Per-component gradient clipping.
    pub clipvalue: Option<f64>,
    /// Step-size schedule.
    pub lr_schedule: Option<crate::neural_network::stochastic_optimizers::Schedule>,
    /// Keras-style early stopping.
    pub callbacks_early_stopping: Option<crate::neural_network::callbacks::EarlyStoppingConfig>,
    /// Stop at the first non-finite batch loss.
    pub terminate_on_nan: bool,
    /// File receiving the best weights (JSON; needs the `serde` feature).
    pub checkpoint: Option<std::path::PathBuf>,
}

impl Default for ArchConfig {
    fn default() -> Self {
        ArchConfig {
            layers: None,
            dropout: 0.0,
            dropout_kind: DropoutKind::Standard,
            gaussian_noise: 0.0,
            batch_norm: None,
            batch_norm_momentum: 0.99,
            batch_norm_epsilon: 1e-3,
            kernel_l1: 0.0,
            kernel_l2: 0.0,
            activity_l1: 0.0,
            activity_l2: 0.0,
            initializer: Initializer::Sklearn,
            use_bias: true,
            optimizer: None,
            optimizer_epsilon: None,
            optimizer_momentum: None,
            rho: None,
            centered: None,
            amsgrad: None,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            lr_schedule: None,
            callbacks_early_stopping: None,
            terminate_on_nan: false,
            checkpoint: None,
        }
    }
}

/// Names [`ArchConfig::set_param`] accepts.
pub const ARCH_PARAM_NAMES: &[&str] = &[
    "activity_l1",
    "activity_l2",
    "amsgrad",
    "batch_norm",
    "batch_norm_epsilon",
    "batch_norm_momentum",
    "centered",
    "checkpoint",
    "clipnorm",
    "clipvalue",
    "decay_rate",
    "decay_steps",
    "dropout",
    "dropout_kind",
    "gaussian_noise",
    "initializer",
    "kernel_l1",
    "kernel_l2",
    "lr_schedule",
    "min_delta",
    "monitor",
    "optimizer",
    "optimizer_epsilon",
    "optimizer_momentum",
    "patience",
    "restore_best_weights",
    "rho",
    "start_from_epoch",
    "terminate_on_nan",
    "use_bias",
    "weight_decay",
];

impl ArchConfig {
    /// Whether nothing beyond scikit-learn is set (the scikit-learn engine then runs).
    pub fn is_sklearn(&self) -> bool {
        *self == ArchConfig::default()
    }

    /// The hidden layers a fit builds.
    pub fn hidden_specs(&self, sizes: &[usize], activation: Activation) -> Vec<LayerSpec> {
        if let Some(layers) = &self.layers {
            return layers.clone();
        }
        sizes
            .iter()
            .map(|&u| self.apply_globals(LayerSpec::dense(u, activation)))
            .collect()
    }

    fn apply_globals(&self, mut l: LayerSpec) -> LayerSpec {
        l.dropout = self.dropout;
        l.dropout_kind = self.dropout_kind;
        l.gaussian_noise = self.gaussian_noise;
        l.batch_norm = self.batch_norm;
        if l.units > 0 {
            l.kernel_l1 = self.kernel_l1;
            l.kernel_l2 = self.kernel_l2;
        }
        l.activity_l1 = self.activity_l1;
        l.activity_l2 = self.activity_l2;
        l.initializer = self.initializer;
        l.use_bias = self.use_bias;
        l
    }

    /// The optimizer with its overrides applied, if one is chosen.
    pub fn effective_optimizer(
        &self,
    ) -> Option<crate::neural_network::stochastic_optimizers::OptimizerKind> {
        self.optimizer.map(|k| self.with_overrides(k))
    }

    /// `k` with the overrides (`optimizer_epsilon`, `optimizer_momentum`, ...) that apply
    /// to it.
    fn with_overrides(
        &self,
        mut k: crate::neural_network::stochastic_optimizers::OptimizerKind,
    ) -> crate::neural_network::stochastic_optimizers::OptimizerKind {
        use crate::neural_network::stochastic_optimizers::OptimizerKind as K;
        match &mut k {
            K::Sgd { momentum, .. } => {
                if let Some(m) = self.optimizer_momentum {
                    *momentum = m;
                }
            }
            K::Adam {
                epsilon, amsgrad, ..
            } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
                if let Some(a) = self.amsgrad {
                    *amsgrad = a;
                }
            }
            K::AdamW {
                epsilon,
                amsgrad,
                weight_decay,
                ..
            } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
                if let Some(a) = self.amsgrad {
                    *amsgrad = a;
                }
                if let Some(w) = self.weight_decay {
                    *weight_decay = w;
                }
            }
            K::Nadam { epsilon, .. } | K::Adagrad { epsilon, .. } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
            }
            K::RmsProp {
                rho,
                momentum,
                centered,
                epsilon,
            } => {
                if let Some(e) = self.optimizer_epsilon {
                    *epsilon = e;
                }
                if let Some(m) = self.optimizer_momentum {
                    *momentum = m;
                }
                if let Some(r) = self.rho {
                    *rho = r;
                }
                if let Some(c) = self.centered {
                    *centered = c;
                }
            }
        }
        k
    }

    /// Checks every value (each layer's, the optimizer's, the schedule's, the callbacks').
    pub fn validate(&self, sizes: &[usize], activation: Activation) -> Result<()> {
        for (i, l) in self.hidden_specs(sizes, activation).iter().enumerate() {
            l.validate(i)?;
        }
        // The globals are checked even when explicit layers override them, so a bad value in
        // a search space is reported rather than silently unused.
        LayerSpec {
            units: 1,
            ..self.apply_globals(LayerSpec::dense(1, activation))
        }
        .validate(0)?;
        if !(0.0..1.0).contains(&self.batch_norm_momentum) {
            return Err(invalid_param("batch_norm_momentum", "must be in [0, 1)"));
        }
        if !(self.batch_norm_epsilon.is_finite() && self.batch_norm_epsilon > 0.0) {
            return Err(invalid_param(
                "batch_norm_epsilon",
                "must be finite and > 0",
            ));
        }
        match self.optimizer {
            Some(k) => self.with_overrides(k).validate()?,
            // No optimizer chosen: the overrides go unused, but a bad value is still
            // reported, as for the other globals. RMSprop takes the epsilon, momentum and
            // rho overrides, AdamW the weight decay.
            None => {
                use crate::neural_network::stochastic_optimizers::OptimizerKind;
                for name in ["rmsprop", "adamw"] {
                    self.with_overrides(OptimizerKind::from_name(name)?)
                        .validate()?;
                }
            }
        }
        for (name, v) in [("clipnorm", self.clipnorm), ("clipvalue", self.clipvalue)] {
            if let Some(v) = v {
                if !(v.is_finite() && v > 0.0) {
                    return Err(invalid_param(
                        name,
                        format!("must be finite and > 0, got {v}"),
                    ));
                }
            }
        }
        if let Some(s) = &self.lr_schedule {
            s.validate()?;
        }
        if let Some(es) = &self.callbacks_early_stopping {
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(invalid_param("min_delta", "must be finite and >= 0"));
            }
        }
        #[cfg(not(feature = "serde"))]
        if self.checkpoint.is_some() {
            return Err(invalid_param(
                "checkpoint",
                "writing checkpoints needs the `serde` feature",
            ));
        }
        Ok(())
    }

    /// Sets one knob by name; `None` when the name is not one of [`ARCH_PARAM_NAMES`].
    pub fn set_param(
        &mut self,
        name: &str,
        value: &crate::model_selection::param_space::ParamValue,
    ) -> Option<Result<()>> {
        match self.set_param_inner(name, value) {
            Ok(true) => Some(Ok(())),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn set_param_inner(
        &mut self,
        name: &str,
        value: &crate::model_selection::param_space::ParamValue,
    ) -> Result<bool> {
        use crate::model_selection::param_space::ParamValue;
        use crate::neural_network::callbacks::{EarlyStoppingConfig, Monitor};
        use crate::neural_network::stochastic_optimizers::{OptimizerKind, Schedule};
        let layer_knob = |this: &mut Self, f: &dyn Fn(&mut LayerSpec)| {
            if let Some(layers) = &mut this.layers {
                layers.iter_mut().for_each(f);
            }
        };
        fn es(this: &mut ArchConfig) -> &mut EarlyStoppingConfig {
            this.callbacks_early_stopping
                .get_or_insert_with(EarlyStoppingConfig::default)
        }
        let opt_f64 = |value: &ParamValue| -> Result<Option<f64>> {
            match value {
                ParamValue::None => Ok(None),
                v => v.as_f64(name).map(Some),
            }
        };
        match name {
            "dropout" => {
                let v = value.as_f64(name)?;
                self.dropout = v;
                layer_knob(self, &|l| l.dropout = v);
            }
            "dropout_kind" => {
                let k = match value.as_str(name)? {
                    "standard" => DropoutKind::Standard,
                    "alpha" => DropoutKind::Alpha,
                    other => {
                        return Err(invalid_param(
                            name,
                            format!("unknown dropout kind `{other}`; valid: standard, alpha"),
                        ))
                    }
                };
                self.dropout_kind = k;
                layer_knob(self, &|l| l.dropout_kind = k);
            }
            "gaussian_noise" => {
                let v = value.as_f64(name)?;
                self.gaussian_noise = v;
                layer_knob(self, &|l| l.gaussian_noise = v);
            }
            "batch_norm" => {
                let pos = match value {
                    ParamValue::Bool(true) => Some(BatchNormPosition::BeforeActivation),
                    ParamValue::Bool(false) | ParamValue::None => None,
                    v => match v.as_str(name)? {
                        "none" => None,
                        "before" | "before_activation" => Some(BatchNormPosition::BeforeActivation),
                        "after" | "after_activation" => Some(BatchNormPosition::AfterActivation),
                        other => {
                            return Err(invalid_param(
                                name,
                                format!("unknown position `{other}`; valid: none, before, after"),
                            ))
                        }
                    },
                };
                self.batch_norm = pos;
                layer_knob(self, &|l| l.batch_norm = pos);
            }
            "batch_norm_momentum" => self.batch_norm_momentum = value.as_f64(name)?,
            "batch_norm_epsilon" => self.batch_norm_epsilon = value.as_f64(name)?,
            "kernel_l1" => {
                let v = value.as_f64(name)?;
                self.kernel_l1 = v;
                layer_knob(self, &|l| {
                    if l.units > 0 {
                        l.kernel_l1 = v
                    }
                });
            }
            "kernel_l2" => {
                let v = value.as_f64(name)?;
                self.kernel_l2 = v;
                layer_knob(self, &|l| {
                    if l.units > 0 {
                        l.kernel_l2 = v
                    }
                });
            }
            "activity_l1" => {
                let v = value.as_f64(name)?;
                self.activity_l1 = v;
                layer_knob(self, &|l| l.activity_l1 = v);
            }
            "activity_l2" => {
                let v = value.as_f64(name)?;
                self.activity_l2 = v;
                layer_knob(self, &|l| l.activity_l2 = v);
            }
            "initializer" => {
                let i = Initializer::from_name(value.as_str(name)?)?;
                self.initializer = i;
                layer_knob(self, &|l| l.initializer = i);
            }
            "use_bias" => {
                let b = value.as_bool(name)?;
                self.use_bias = b;
                layer_knob(self, &|l| l.use_bias = b);
            }
            "optimizer" => {
                self.optimizer = match value {
                    ParamValue::None => None,
                    v => Some(OptimizerKind::from_name(v.as_str(name)?)?),
                }
            }
            "optimizer_epsilon" => self.optimizer_epsilon = opt_f64(value)?,
            "optimizer_momentum" => self.optimizer_momentum = opt_f64(value)?,
            "rho" => self.rho = opt_f64(value)?,
            "weight_decay" => self.weight_decay = opt_f64(value)?,
            "centered" => self.centered = Some(value.as_bool(name)?),
            "amsgrad" => self.amsgrad = Some(value.as_bool(name)?),
            "clipnorm" => self.clipnorm = opt_f64(value)?,
            "clipvalue" => self.clipvalue = opt_f64(value)?,
            "lr_schedule" => {
                self.lr_schedule = match value {
                    ParamValue::None => None,
                    v => match v.as_str(name)? {
                        "none" | "constant" => None,
                        s => Some(Schedule::from_name(s)?),
                    },
                }
            }
            "decay_steps" | "decay_rate" => {
                let Some(schedule) = &mut self.lr_schedule else {
                    return Err(invalid_param(
                        name,
                        "set lr_schedule (exponential_decay or cosine_decay) first; in a \
                         search, `decay_*` sorts before `lr_schedule`, so give the schedule \
                         in the base parameters",
                    ));
                };
                match (name, schedule) {
                    ("decay_steps", Schedule::ExponentialDecay { decay_steps, .. })
                    | ("decay_steps", Schedule::CosineDecay { decay_steps, .. }) => {
                        *decay_steps = value.as_usize(name)?
                    }
                    ("decay_rate", Schedule::ExponentialDecay { decay_rate, .. }) => {
                        *decay_rate = value.as_f64(name)?
                    }
                    _ => {
                        return Err(invalid_param(
                            name,
                            "does not apply to the chosen lr_schedule",
                        ))
                    }
                }
            }
            "patience" => es(self).patience = value.as_usize(name)?,
            "min_delta" => es(self).min_delta = value.as_f64(name)?,
            "restore_best_weights" => es(self).restore_best_weights = value.as_bool(name)?,
            "start_from_epoch" => es(self).start_from_epoch = value.as_usize(name)?,
            "monitor" => es(self).monitor = Monitor::from_name(value.as_str(name)?)?,
            "terminate_on_nan" => self.terminate_on_nan = value.as_bool(name)?,
            "checkpoint" => {
                self.checkpoint = match value {
                    ParamValue::None => None,
                    v => Some(v.as_str(name)?.into()),
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
