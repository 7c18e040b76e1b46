//! The knobs beyond scikit-learn (the fields of [`ArchConfig`]), declared once.
//!
//! A knob's value is written by one `apply` function, which the by-name setter (after
//! parsing) and the builder method share; so `set_param("dropout", 0.2)` and
//! `.dropout(0.2)` do the same thing, including writing a layer-level knob into every
//! explicit [`LayerSpec`](crate::neural_network::LayerSpec). Layer-level values are checked per layer by
//! [`LayerSpec::validate`](crate::neural_network::LayerSpec::validate) (an explicit layer can carry them too), and the
//! optimizer and schedule overrides by the optimizer's and schedule's own checks, all from
//! [`ArchConfig::validate`]; the declaration checks the rest.

use std::path::PathBuf;

use super::super::callbacks::{EarlyStoppingConfig, Monitor};
use super::super::layers::{ArchConfig, BatchNormPosition, DropoutKind, Initializer};
use super::super::stochastic_optimizers::{OptimizerKind, Schedule};
use super::*;

/// The check of a knob: none, or the declared closure with the knob's name on its error.
macro_rules! knob_check {
    ($name:expr) => {
        |_: &ArchConfig| -> Result<()> { Ok(()) }
    };
    ($name:expr, |$c:ident| $check:expr) => {
        |$c: &ArchConfig| -> Result<()> {
            let checked: std::result::Result<(), String> = $check;
            checked.map_err(|reason| invalid_param($name, reason))
        }
    };
}

/// A knob's builder method, when it declares one.
macro_rules! knob_builder {
    ($name:ident, $ddoc:literal, $range:literal, $meaning:literal) => {};
    ($name:ident, $ddoc:literal, $range:literal, $meaning:literal, $arg:ident, $aty:ty, $conv:expr) => {
        #[doc = concat!($meaning, " (`", stringify!($name), "`; default ", $ddoc, "; ", $range, ").")]
        pub fn $name(mut self, $arg: $aty) -> Self {
            apply::$name(&mut self.0.config.arch, $conv);
            self
        }
    };
}

/// Declares the knobs: each entry is
/// `name: Type, "default shown", "range", "meaning", get |a| .., apply |a, v| ..
/// [, check |a| ..] [, builder(arg: ArgType) => value];`.
/// It expands to [`KNOB_HYPERPARAMETERS`], [`ARCH_PARAM_NAMES`], the `apply` functions and
/// the builder methods of the params types listed after `for`.
macro_rules! knob_hyperparameters {
    (for [$($params:ident),*] $body:tt) => {
        knob_hyperparameters!(@table $body);
        $(knob_hyperparameters!(@builders $params $body);)*
    };
    (@table { $(
        $name:ident : $ty:ty, $ddoc:literal, $range:literal, $meaning:literal,
        get |$g:ident| $get:expr,
        apply |$a:ident, $v:ident| $apply:expr
        $(, check |$c:ident| $check:expr)?
        $(, builder($arg:ident : $aty:ty) => $conv:expr)?;
    )* }) => {
        /// Each knob's writer: what its by-name setter and its builder method share.
        mod apply {
            use super::*;
            $(
                pub(super) fn $name($a: &mut ArchConfig, $v: $ty) {
                    $apply
                }
            )*
        }

        /// Every knob beyond scikit-learn, in declaration order.
        pub const KNOB_HYPERPARAMETERS: &[Hyperparameter<ArchConfig>] = &[$(
            Hyperparameter {
                name: stringify!($name),
                default: $ddoc,
                range: $range,
                meaning: $meaning,
                get: |$g: &ArchConfig| -> Option<ParamValue> { $get },
                set: |a: &mut ArchConfig, v: &ParamValue| {
                    apply::$name(a, <$ty as ParamType>::from_value(stringify!($name), v)?);
                    Ok(())
                },
                check: knob_check!(stringify!($name) $(, |$c| $check)?),
            },
        )*];

        const KNOB_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
    (@builders $params:ident { $(
        $name:ident : $ty:ty, $ddoc:literal, $range:literal, $meaning:literal,
        get |$g:ident| $get:expr,
        apply |$a:ident, $v:ident| $apply:expr
        $(, check |$c:ident| $check:expr)?
        $(, builder($arg:ident : $aty:ty) => $conv:expr)?;
    )* }) => {
        impl<F> super::super::$params<F> {
            $(knob_builder!($name, $ddoc, $range, $meaning $(, $arg, $aty, $conv)?);)*
        }
    };
}

/// The Keras early-stopping settings, created with Keras's defaults by the first of them set.
fn early_stopping(a: &mut ArchConfig) -> &mut EarlyStoppingConfig {
    a.callbacks_early_stopping
        .get_or_insert_with(EarlyStoppingConfig::default)
}

/// An early-stopping setting as `get_params` lists it: only when early stopping is on.
fn early_stopping_value(
    a: &ArchConfig,
    field: impl Fn(&EarlyStoppingConfig) -> ParamValue,
) -> Option<ParamValue> {
    a.callbacks_early_stopping.as_ref().map(field)
}

fn positive_or_none(v: Option<f64>) -> std::result::Result<(), String> {
    match v {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(format!("must be finite and > 0, got {v}")),
        _ => Ok(()),
    }
}

knob_hyperparameters! {
    for [MLPRegressorParams, MLPClassifierParams] {
    dropout: f64, "`0`", "[0, 1)", "Dropout rate of every hidden layer",
        get |a| Some(a.dropout.to_value()),
        apply |a, v| { a.dropout = v; a.each_layer(|l| l.dropout = v) },
        builder(rate: f64) => rate;
    dropout_kind: DropoutKind, "standard", "standard, alpha",
        "Inverted dropout, or alpha dropout (for selu)",
        get |a| Some(a.dropout_kind.to_value()),
        apply |a, v| { a.dropout_kind = v; a.each_layer(|l| l.dropout_kind = v) },
        builder(kind: DropoutKind) => kind;
    gaussian_noise: f64, "`0`", "≥ 0",
        "Standard deviation of the training-time Gaussian noise on every hidden layer's output",
        get |a| Some(a.gaussian_noise.to_value()),
        apply |a, v| { a.gaussian_noise = v; a.each_layer(|l| l.gaussian_noise = v) },
        builder(stddev: f64) => stddev;
    batch_norm: Option<BatchNormPosition>, "none", "none, before, after (or a bool: before)",
        "Batch normalization in every hidden layer, before or after its activation",
        get |a| Some(a.batch_norm.to_value()),
        apply |a, v| { a.batch_norm = v; a.each_layer(|l| l.batch_norm = v) },
        builder(position: BatchNormPosition) => Some(position);
    batch_norm_momentum: f64, "`0.99`", "[0, 1)",
        "Momentum of batch normalization's running statistics (Keras)",
        get |a| Some(a.batch_norm_momentum.to_value()),
        apply |a, v| a.batch_norm_momentum = v,
        check |a| require((0.0..1.0).contains(&a.batch_norm_momentum), "must be in [0, 1)"),
        builder(momentum: f64) => momentum;
    batch_norm_epsilon: f64, "`1e-3`", "> 0", "Variance stabilizer of batch normalization (Keras)",
        get |a| Some(a.batch_norm_epsilon.to_value()),
        apply |a, v| a.batch_norm_epsilon = v,
        check |a| require(
            a.batch_norm_epsilon.is_finite() && a.batch_norm_epsilon > 0.0,
            "must be finite and > 0",
        ),
        builder(epsilon: f64) => epsilon;
    kernel_l1: f64, "`0`", "≥ 0",
        "Keras kernel L1 strength of every hidden layer (added to the loss, not divided by the batch)",
        get |a| Some(a.kernel_l1.to_value()),
        apply |a, v| {
            a.kernel_l1 = v;
            a.each_layer(|l| if l.units > 0 { l.kernel_l1 = v })
        },
        builder(l1: f64) => l1;
    kernel_l2: f64, "`0`", "≥ 0",
        "Keras kernel L2 strength of every hidden layer (added to the loss, not divided by the batch)",
        get |a| Some(a.kernel_l2.to_value()),
        apply |a, v| {
            a.kernel_l2 = v;
            a.each_layer(|l| if l.units > 0 { l.kernel_l2 = v })
        },
        builder(l2: f64) => l2;
    activity_l1: f64, "`0`", "≥ 0",
        "Keras activity L1 strength on every hidden layer's output (divided by the batch)",
        get |a| Some(a.activity_l1.to_value()),
        apply |a, v| { a.activity_l1 = v; a.each_layer(|l| l.activity_l1 = v) },
        builder(l1: f64) => l1;
    activity_l2: f64, "`0`", "≥ 0",
        "Keras activity L2 strength on every hidden layer's output (divided by the batch)",
        get |a| Some(a.activity_l2.to_value()),
        apply |a, v| { a.activity_l2 = v; a.each_layer(|l| l.activity_l2 = v) },
        builder(l2: f64) => l2;
    initializer: Initializer, "sklearn",
        "sklearn, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal",
        "Weight initialization of every layer, the output layer included",
        get |a| Some(a.initializer.to_value()),
        apply |a, v| { a.initializer = v; a.each_layer(|l| l.initializer = v) },
        builder(init: Initializer) => init;
    use_bias: bool, "`true`", "true, false", "Whether the hidden dense layers have biases",
        get |a| Some(a.use_bias.to_value()),
        apply |a, v| { a.use_bias = v; a.each_layer(|l| l.use_bias = v) },
        builder(use_bias: bool) => use_bias;
    optimizer: Option<OptimizerKind>, "none (use `solver`)",
        "sgd, adam, amsgrad, adamw, nadam, rmsprop, adagrad",
        "A Keras-style optimizer replacing `solver`, with its defaults",
        get |a| Some(a.optimizer.to_value()),
        apply |a, v| a.optimizer = v,
        builder(kind: OptimizerKind) => Some(kind);
    optimizer_epsilon: Option<f64>, "the optimizer's", "> 0",
        "Override of the optimizer's epsilon",
        get |a| Some(a.optimizer_epsilon.to_value()),
        apply |a, v| a.optimizer_epsilon = v,
        builder(epsilon: f64) => Some(epsilon);
    optimizer_momentum: Option<f64>, "the optimizer's", "[0, 1]",
        "Override of the optimizer's momentum (sgd, rmsprop)",
        get |a| Some(a.optimizer_momentum.to_value()),
        apply |a, v| a.optimizer_momentum = v,
        builder(momentum: f64) => Some(momentum);
    rho: Option<f64>, "RMSprop's (0.9)", "[0, 1)", "Override of RMSprop's `rho`",
        get |a| Some(a.rho.to_value()),
        apply |a, v| a.rho = v,
        builder(rho: f64) => Some(rho);
    centered: bool, "RMSprop's (false)", "true, false", "Override of RMSprop's `centered`",
        get |a| a.centered.map(ParamValue::Bool),
        apply |a, v| a.centered = Some(v),
        builder(centered: bool) => centered;
    amsgrad: bool, "the optimizer's (false)", "true, false",
        "Override of Adam's and AdamW's `amsgrad`",
        get |a| a.amsgrad.map(ParamValue::Bool),
        apply |a, v| a.amsgrad = Some(v),
        builder(amsgrad: bool) => amsgrad;
    weight_decay: Option<f64>, "AdamW's (0.004)", "≥ 0", "Override of AdamW's `weight_decay`",
        get |a| Some(a.weight_decay.to_value()),
        apply |a, v| a.weight_decay = v,
        builder(decay: f64) => Some(decay);
    clipnorm: Option<f64>, "none", "> 0", "Clip the global gradient norm to this value",
        get |a| Some(a.clipnorm.to_value()),
        apply |a, v| a.clipnorm = v,
        check |a| positive_or_none(a.clipnorm),
        builder(norm: f64) => Some(norm);
    clipvalue: Option<f64>, "none", "> 0", "Clip each gradient component to ± this value",
        get |a| Some(a.clipvalue.to_value()),
        apply |a, v| a.clipvalue = v,
        check |a| positive_or_none(a.clipvalue),
        builder(value: f64) => Some(value);
    lr_schedule: Option<Schedule>, "none",
        "exponential_decay, cosine_decay, reduce_on_plateau (also accepted under `learning_rate`)",
        "A Keras step-size schedule, with its defaults",
        get |a| Some(a.lr_schedule.to_value()),
        apply |a, v| a.lr_schedule = v,
        builder(schedule: Schedule) => Some(schedule);
    decay_steps: Option<usize>, "the schedule's", "≥ 1 (cosine decay: 0 = the whole fit)",
        "Override of the schedule's `decay_steps` (exponential or cosine decay)",
        get |a| a.decay_steps.map(|v| v.to_value()),
        apply |a, v| a.decay_steps = v,
        check |a| a.schedule_override_applies("decay_steps"),
        builder(steps: usize) => Some(steps);
    decay_rate: Option<f64>, "the schedule's", "(0, 1]",
        "Override of exponential decay's `decay_rate`",
        get |a| a.decay_rate.map(ParamValue::Float),
        apply |a, v| a.decay_rate = v,
        check |a| a.schedule_override_applies("decay_rate"),
        builder(rate: f64) => Some(rate);
    patience: usize, "none (Keras early stopping off)", "≥ 0",
        "Keras early stopping: epochs without improvement before stopping (setting any early-stopping knob turns it on)",
        get |a| early_stopping_value(a, |es| es.patience.to_value()),
        apply |a, v| early_stopping(a).patience = v,
        builder(patience: usize) => patience;
    min_delta: f64, "Keras's (0)", "≥ 0", "Keras early stopping: the least change that counts as an improvement",
        get |a| early_stopping_value(a, |es| es.min_delta.to_value()),
        apply |a, v| early_stopping(a).min_delta = v,
        check |a| match &a.callbacks_early_stopping {
            Some(es) => require(es.min_delta.is_finite() && es.min_delta >= 0.0, "must be finite and >= 0"),
            None => Ok(()),
        },
        builder(delta: f64) => delta;
    restore_best_weights: bool, "Keras's (false)", "true, false",
        "Keras early stopping: end with the best epoch's weights",
        get |a| early_stopping_value(a, |es| es.restore_best_weights.to_value()),
        apply |a, v| early_stopping(a).restore_best_weights = v,
        builder(restore: bool) => restore;
    start_from_epoch: usize, "Keras's (0)", "≥ 0",
        "Keras early stopping: epochs before improvements are watched",
        get |a| early_stopping_value(a, |es| es.start_from_epoch.to_value()),
        apply |a, v| early_stopping(a).start_from_epoch = v,
        builder(epoch: usize) => epoch;
    monitor: Monitor, "validation_loss", "validation_loss, validation_score, training_loss",
        "Keras early stopping: the quantity watched",
        get |a| early_stopping_value(a, |es| es.monitor.to_value()),
        apply |a, v| early_stopping(a).monitor = v,
        builder(monitor: Monitor) => monitor;
    terminate_on_nan: bool, "`false`", "true, false",
        "Stop at the first non-finite batch loss (restoring the best weights when kept)",
        get |a| Some(a.terminate_on_nan.to_value()),
        apply |a, v| a.terminate_on_nan = v,
        builder(terminate: bool) => terminate;
    checkpoint: Option<PathBuf>, "none", "a file path",
        "Write the best weights to this JSON file (feature `serde`; a run setting, not listed by `get_params`)",
        get |_a| None,
        apply |a, v| a.checkpoint = v,
        check |a| if cfg!(feature = "serde") || a.checkpoint.is_none() {
            Ok(())
        } else {
            Err("writing checkpoints needs the `serde` feature".to_string())
        },
        builder(path: PathBuf) => Some(path);
    }
}

const N_KNOBS: usize = KNOB_NAMES.len();

/// The names [`ArchConfig::set_param`] accepts, sorted.
pub const ARCH_PARAM_NAMES: &[&str] = &sorted_names::<N_KNOBS>(&[KNOB_NAMES]);

/// The declared knob called `name`.
pub(crate) fn knob_hyperparameter(name: &str) -> Option<&'static Hyperparameter<ArchConfig>> {
    KNOB_HYPERPARAMETERS.iter().find(|h| h.name == name)
}
