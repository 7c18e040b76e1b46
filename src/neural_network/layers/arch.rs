//! [`ArchConfig`]: the knobs beyond scikit-learn that apply to every hidden layer, and their
//! names for searches.

use super::*;

/// The knobs beyond scikit-learn, all off by default, each declared once in
/// [`KNOB_HYPERPARAMETERS`](crate::neural_network::KNOB_HYPERPARAMETERS). A configuration
/// whose network compiles to plain dense layers (no knob, or only neutral ones) runs on the
/// fused scikit-learn engine and gives scikit-learn's numbers; any other runs on the layer
/// engine. Both engines share one epoch loop
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
/// | `decay_steps`, `decay_rate` | schedule's | | override the schedule's (in any order with `lr_schedule`) |
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
    /// Override of the schedule's `decay_steps`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub decay_steps: Option<usize>,
    /// Override of exponential decay's `decay_rate`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub decay_rate: Option<f64>,
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
            decay_steps: None,
            decay_rate: None,
            callbacks_early_stopping: None,
            terminate_on_nan: false,
            checkpoint: None,
        }
    }
}

impl ArchConfig {
    /// Whether nothing beyond scikit-learn is set (neutral settings can also run on the
    /// scikit-learn engine: see the type's docs).
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

    /// Checks every value: each layer's (the globals too, even when explicit layers override
    /// them, so a bad value in a search space is reported rather than silently unused), the
    /// optimizer's with its overrides, the schedule's with its overrides, and the checks
    /// declared in [`KNOB_HYPERPARAMETERS`](crate::neural_network::KNOB_HYPERPARAMETERS).
    pub fn validate(&self, sizes: &[usize], activation: Activation) -> Result<()> {
        for (i, l) in self.hidden_specs(sizes, activation).iter().enumerate() {
            l.validate(i)?;
        }
        LayerSpec {
            units: 1,
            ..self.apply_globals(LayerSpec::dense(1, activation))
        }
        .validate(0)?;
        for knob in crate::neural_network::KNOB_HYPERPARAMETERS {
            (knob.check)(self)?;
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
        if let Some(s) = &self.effective_schedule() {
            s.validate()?;
        }
        Ok(())
    }

    /// Sets one knob by name (as declared in
    /// [`KNOB_HYPERPARAMETERS`](crate::neural_network::KNOB_HYPERPARAMETERS)); `None` when
    /// the name is not one of [`ARCH_PARAM_NAMES`](crate::neural_network::ARCH_PARAM_NAMES).
    ///
    /// ```
    /// use mlp_tune::neural_network::ArchConfig;
    /// use mlp_tune::model_selection::param_space::ParamValue;
    /// let mut arch = ArchConfig::default();
    /// arch.set_param("dropout", &ParamValue::Float(0.2)).unwrap().unwrap();
    /// assert_eq!(arch.dropout, 0.2);
    /// assert!(arch.set_param("alpha", &ParamValue::Float(0.1)).is_none());
    /// ```
    pub fn set_param(
        &mut self,
        name: &str,
        value: &crate::model_selection::param_space::ParamValue,
    ) -> Option<Result<()>> {
        crate::neural_network::hyperparameters::knob_hyperparameter(name)
            .map(|knob| (knob.set)(self, value))
    }

    /// Applies `f` to every explicit layer (a layer-level knob set by name or builder writes
    /// into them too).
    pub(crate) fn each_layer(&mut self, f: impl Fn(&mut LayerSpec)) {
        if let Some(layers) = &mut self.layers {
            layers.iter_mut().for_each(f);
        }
    }

    /// The schedule with the `decay_steps` / `decay_rate` overrides applied, if one is chosen.
    pub fn effective_schedule(
        &self,
    ) -> Option<crate::neural_network::stochastic_optimizers::Schedule> {
        use crate::neural_network::stochastic_optimizers::Schedule;
        let mut schedule = self.lr_schedule?;
        match &mut schedule {
            Schedule::ExponentialDecay {
                decay_steps,
                decay_rate,
                ..
            } => {
                *decay_steps = self.decay_steps.unwrap_or(*decay_steps);
                *decay_rate = self.decay_rate.unwrap_or(*decay_rate);
            }
            Schedule::CosineDecay { decay_steps, .. } => {
                *decay_steps = self.decay_steps.unwrap_or(*decay_steps);
            }
            Schedule::ReduceOnPlateau { .. } => {}
        }
        Some(schedule)
    }

    /// Whether the override `name` (`decay_steps` or `decay_rate`), when set, has a schedule
    /// that takes it.
    pub(crate) fn schedule_override_applies(&self, name: &str) -> std::result::Result<(), String> {
        use crate::neural_network::stochastic_optimizers::Schedule;
        let set = match name {
            "decay_steps" => self.decay_steps.is_some(),
            _ => self.decay_rate.is_some(),
        };
        let applies = matches!(
            (&self.lr_schedule, name),
            (Some(Schedule::ExponentialDecay { .. }), _)
                | (Some(Schedule::CosineDecay { .. }), "decay_steps")
        );
        if !set || applies {
            Ok(())
        } else if self.lr_schedule.is_none() {
            Err("needs an lr_schedule that decays (exponential_decay or cosine_decay)".into())
        } else {
            Err("does not apply to the chosen lr_schedule".into())
        }
    }
}
