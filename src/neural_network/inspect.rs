//! Reading hyperparameters back by name (scikit-learn's `get_params`).
//!
//! [`MlpConfig::get_params`] lists every hyperparameter that changes a fit's result under
//! the names [`MlpConfig::set_param`] accepts, so `set_param` over the plain names of
//! `get_params` rebuilds the configuration. Settings that only change how a fit runs
//! (`n_threads`, the training observer, the checkpoint file) are left out: they are what a
//! search journal's fingerprint must not depend on.

use std::collections::BTreeMap;

use super::base::Activation;
use super::hyperparameters::{ParamType, KNOB_HYPERPARAMETERS, SKLEARN_HYPERPARAMETERS};
use super::layers::{LayerSpec, LayerWeights};
use super::params::MlpConfig;
use super::stochastic_optimizers::{OptimizerKind, Schedule};
use crate::model_selection::param_space::{Candidate, ParamValue};

fn int(v: usize) -> ParamValue {
    v.to_value()
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
        ("dropout_kind", layer.dropout_kind.to_value()),
        ("gaussian_noise", Float(layer.gaussian_noise)),
        ("batch_norm", layer.batch_norm.to_value()),
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
        let mut p: BTreeMap<String, ParamValue> = BTreeMap::new();
        let mut put = |name: &str, value: ParamValue| {
            p.insert(name.to_string(), value);
        };
        for h in SKLEARN_HYPERPARAMETERS {
            // The thread count never changes a result.
            if h.name != "n_threads" {
                if let Some(value) = (h.get)(self) {
                    put(h.name, value);
                }
            }
        }

        let arch = &self.arch;
        for knob in KNOB_HYPERPARAMETERS {
            if let Some(value) = (knob.get)(arch) {
                put(knob.name, value);
            }
        }
        // The chosen optimizer's and schedule's settings, which are set together with them.
        if let Some(kind) = &arch.optimizer {
            for (field, value) in optimizer_fields(kind) {
                put(&format!("optimizer.{field}"), value);
            }
        }
        if let Some(schedule) = &arch.lr_schedule {
            for (field, value) in schedule_fields(schedule) {
                put(&format!("lr_schedule.{field}"), value);
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
