//! Reading hyperparameters back by name (scikit-learn's `get_params`).
//!
//! [`MlpConfig::get_params`] lists every hyperparameter that changes a fit's result under
//! the names [`MlpConfig::set_param`] accepts, so `set_param` over the plain names of
//! `get_params` rebuilds the configuration. Settings that only change how a fit runs
//! (`n_threads`, the training observer, the checkpoint file) are left out: they are what a
//! search journal's fingerprint must not depend on.

use std::collections::BTreeMap;

use super::base::Activation;
use super::callbacks::Monitor;
use super::hyperparameters::{ParamType, SKLEARN_HYPERPARAMETERS};
use super::layers::{BatchNormPosition, DropoutKind, LayerSpec, LayerWeights};
use super::params::MlpConfig;
use super::stochastic_optimizers::{OptimizerKind, Schedule};
use crate::model_selection::param_space::{Candidate, ParamValue};

fn int(v: usize) -> ParamValue {
    v.to_value()
}

fn float_or_none(v: Option<f64>) -> ParamValue {
    v.map_or(ParamValue::None, ParamValue::Float)
}

fn batch_norm_name(position: Option<BatchNormPosition>) -> &'static str {
    match position {
        None => "none",
        Some(BatchNormPosition::BeforeActivation) => "before",
        Some(BatchNormPosition::AfterActivation) => "after",
    }
}

fn dropout_kind_name(kind: DropoutKind) -> &'static str {
    match kind {
        DropoutKind::Standard => "standard",
        DropoutKind::Alpha => "alpha",
    }
}

fn monitor_name(monitor: Monitor) -> &'static str {
    match monitor {
        Monitor::ValidationLoss => "validation_loss",
        Monitor::ValidationScore => "validation_score",
        Monitor::TrainingLoss => "training_loss",
    }
}

fn activation_value(activation: Activation) -> ParamValue {
    activation.to_value()
}

/// The fields of an optimizer variant, under `optimizer.<field>` (they are set together by
/// [`MlpConfig::optimizer`](super::MLPRegressorParams::optimizer), not one by one).
fn optimizer_fields(kind: &OptimizerKind) -> Vec<(&'static str, ParamValue)> {
    use ParamValue::{Bool, Float};
    match *kind {
        OptimizerKind::Sgd { momentum, nesterov } => {
            vec![("momentum", Float(momentum)), ("nesterov", Bool(nesterov))]
        }
        OptimizerKind::Adam {
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
        } => vec![
            ("beta_1", Float(beta_1)),
            ("beta_2", Float(beta_2)),
            ("epsilon", Float(epsilon)),
            ("amsgrad", Bool(amsgrad)),
        ],
        OptimizerKind::AdamW {
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            weight_decay,
        } => vec![
            ("beta_1", Float(beta_1)),
            ("beta_2", Float(beta_2)),
            ("epsilon", Float(epsilon)),
            ("amsgrad", Bool(amsgrad)),
            ("weight_decay", Float(weight_decay)),
        ],
        OptimizerKind::Nadam {
            beta_1,
            beta_2,
            epsilon,
        } => vec![
            ("beta_1", Float(beta_1)),
            ("beta_2", Float(beta_2)),
            ("epsilon", Float(epsilon)),
        ],
        OptimizerKind::RmsProp {
            rho,
            momentum,
            centered,
            epsilon,
        } => vec![
            ("rho", Float(rho)),
            ("momentum", Float(momentum)),
            ("centered", Bool(centered)),
            ("epsilon", Float(epsilon)),
        ],
        OptimizerKind::Adagrad {
            initial_accumulator_value,
            epsilon,
        } => vec![
            (
                "initial_accumulator_value",
                Float(initial_accumulator_value),
            ),
            ("epsilon", Float(epsilon)),
        ],
    }
}

fn schedule_fields(schedule: &Schedule) -> Vec<(&'static str, ParamValue)> {
    use ParamValue::{Bool, Float};
    match *schedule {
        Schedule::ExponentialDecay {
            decay_steps,
            decay_rate,
            staircase,
        } => vec![
            ("decay_steps", int(decay_steps)),
            ("decay_rate", Float(decay_rate)),
            ("staircase", Bool(staircase)),
        ],
        Schedule::CosineDecay { decay_steps, alpha } => {
            vec![("decay_steps", int(decay_steps)), ("alpha", Float(alpha))]
        }
        Schedule::ReduceOnPlateau {
            factor,
            patience,
            min_delta,
            min_lr,
        } => vec![
            ("factor", Float(factor)),
            ("patience", int(patience)),
            ("min_delta", Float(min_delta)),
            ("min_lr", Float(min_lr)),
        ],
    }
}

fn layer_fields(layer: &LayerSpec) -> Vec<(&'static str, ParamValue)> {
    use ParamValue::{Bool, Float, Str};
    vec![
        ("units", int(layer.units)),
        ("activation", activation_value(layer.activation)),
        ("dropout", Float(layer.dropout)),
        (
            "dropout_kind",
            Str(dropout_kind_name(layer.dropout_kind).into()),
        ),
        ("gaussian_noise", Float(layer.gaussian_noise)),
        ("batch_norm", Str(batch_norm_name(layer.batch_norm).into())),
        ("kernel_l1", Float(layer.kernel_l1)),
        ("kernel_l2", Float(layer.kernel_l2)),
        ("activity_l1", Float(layer.activity_l1)),
        ("activity_l2", Float(layer.activity_l2)),
        ("initializer", Str(layer.initializer.name().into())),
        ("use_bias", Bool(layer.use_bias)),
        ("trainable", Bool(layer.trainable)),
        (
            "weights",
            layer
                .weights
                .as_deref()
                .map_or(ParamValue::None, |w| Str(weights_digest(w))),
        ),
    ]
}

/// A SHA-256 of pretrained weights' shape and bits: they change results, and a fingerprint
/// should not carry thousands of numbers.
fn weights_digest(w: &LayerWeights) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update((w.fan_in as u64).to_le_bytes());
    hash.update((w.fan_out as u64).to_le_bytes());
    for v in w.coef.iter().chain(&w.intercept) {
        hash.update(v.to_bits().to_le_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl MlpConfig {
    /// Every hyperparameter that changes a fit's result, by name (scikit-learn's
    /// `get_params`). Plain names are the ones [`set_param`](Self::set_param) accepts, with
    /// values it accepts back; state that only a builder sets as a whole (explicit `layers`,
    /// an optimizer's or schedule's fields) is listed under dotted names such as
    /// `layers.0.units` or `optimizer.beta_1`. `n_threads`, the observer and the checkpoint
    /// file are not listed: they do not change results.
    ///
    /// ```
    /// use mlp_tune::neural_network::MlpConfig;
    /// use mlp_tune::model_selection::param_space::ParamValue;
    /// let mut config = MlpConfig::default();
    /// config.alpha = 0.01;
    /// let params = config.get_params();
    /// assert_eq!(params["alpha"], ParamValue::Float(0.01));
    /// assert_eq!(params["solver"], ParamValue::Str("adam".into()));
    /// assert!(!params.contains_key("n_threads"));
    /// ```
    pub fn get_params(&self) -> Candidate {
        use ParamValue::{Bool, Float, Str};
        let mut p: BTreeMap<String, ParamValue> = BTreeMap::new();
        let mut put = |name: &str, value: ParamValue| {
            p.insert(name.to_string(), value);
        };
        for h in SKLEARN_HYPERPARAMETERS {
            // The thread count never changes a result.
            if h.name != "n_threads" {
                put(h.name, (h.get)(self));
            }
        }

        let arch = &self.arch;
        put("dropout", Float(arch.dropout));
        put(
            "dropout_kind",
            Str(dropout_kind_name(arch.dropout_kind).into()),
        );
        put("gaussian_noise", Float(arch.gaussian_noise));
        put("batch_norm", Str(batch_norm_name(arch.batch_norm).into()));
        put("batch_norm_momentum", Float(arch.batch_norm_momentum));
        put("batch_norm_epsilon", Float(arch.batch_norm_epsilon));
        put("kernel_l1", Float(arch.kernel_l1));
        put("kernel_l2", Float(arch.kernel_l2));
        put("activity_l1", Float(arch.activity_l1));
        put("activity_l2", Float(arch.activity_l2));
        put("initializer", Str(arch.initializer.name().into()));
        put("use_bias", Bool(arch.use_bias));
        put("optimizer_epsilon", float_or_none(arch.optimizer_epsilon));
        put("optimizer_momentum", float_or_none(arch.optimizer_momentum));
        put("rho", float_or_none(arch.rho));
        put("weight_decay", float_or_none(arch.weight_decay));
        put("clipnorm", float_or_none(arch.clipnorm));
        put("clipvalue", float_or_none(arch.clipvalue));
        // `set_param` takes these as booleans only: unset stays unlisted.
        if let Some(centered) = arch.centered {
            put("centered", Bool(centered));
        }
        if let Some(amsgrad) = arch.amsgrad {
            put("amsgrad", Bool(amsgrad));
        }
        put("terminate_on_nan", Bool(arch.terminate_on_nan));
        if let Some(es) = &arch.callbacks_early_stopping {
            put("monitor", Str(monitor_name(es.monitor).into()));
            put("patience", int(es.patience));
            put("min_delta", Float(es.min_delta));
            put("restore_best_weights", Bool(es.restore_best_weights));
            put("start_from_epoch", int(es.start_from_epoch));
        }
        match &arch.optimizer {
            None => put("optimizer", ParamValue::None),
            Some(kind) => {
                put("optimizer", Str(kind.name().into()));
                for (field, value) in optimizer_fields(kind) {
                    put(&format!("optimizer.{field}"), value);
                }
            }
        }
        match &arch.lr_schedule {
            None => put("lr_schedule", ParamValue::None),
            Some(schedule) => {
                put("lr_schedule", Str(schedule.name().into()));
                for (field, value) in schedule_fields(schedule) {
                    put(&format!("lr_schedule.{field}"), value);
                }
            }
        }
        if let Some(layers) = &arch.layers {
            for (i, layer) in layers.iter().enumerate() {
                for (field, value) in layer_fields(layer) {
                    put(&format!("layers.{i}.{field}"), value);
                }
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `set_param` over the plain names `get_params` lists rebuilds the configuration.
    #[test]
    fn plain_names_round_trip_through_set_param() {
        let mut config = MlpConfig {
            hidden_layer_sizes: vec![7, 3],
            alpha: 0.25,
            random_state: Some(9),
            early_stopping: true,
            ..MlpConfig::default()
        };
        config.arch.dropout = 0.2;
        config.arch.clipnorm = Some(1.5);
        config.arch.amsgrad = Some(true);
        for (name, value) in [
            ("batch_size", int(17)),
            ("solver", ParamValue::Str("sgd".into())),
            ("learning_rate", ParamValue::Str("adaptive".into())),
            ("batch_norm", ParamValue::Str("after".into())),
            ("initializer", ParamValue::Str("he_normal".into())),
            ("patience", int(4)),
            ("monitor", ParamValue::Str("training_loss".into())),
        ] {
            config.set_param(name, &value).unwrap();
        }
        let params = config.get_params();
        let mut rebuilt = MlpConfig::default();
        for (name, value) in params.iter().filter(|(n, _)| !n.contains('.')) {
            rebuilt.set_param(name, value).unwrap();
        }
        assert_eq!(rebuilt, config);
        assert_eq!(rebuilt.get_params(), params);
    }

    /// Settings that only change how a fit runs are not hyperparameters of its result.
    #[test]
    fn run_settings_are_not_listed() {
        let base = MlpConfig::default();
        let mut other = base.clone();
        other.n_threads = 2;
        other.arch.checkpoint = Some("best.json".into());
        assert_eq!(base.get_params(), other.get_params());
        other.arch.optimizer = Some(OptimizerKind::from_name("nadam").unwrap());
        let params = other.get_params();
        assert_eq!(params["optimizer"], ParamValue::Str("nadam".into()));
        assert!(params.contains_key("optimizer.beta_1"));
    }
}
