//! scikit-learn's own hyperparameters of `MLPRegressor` / `MLPClassifier`, declared once.

use super::*;

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
                get: |c: &MlpConfig| Some(ParamType::to_value(&c.$field)),
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

        /// Their names, in declaration order.
        pub const SKLEARN_PARAM_NAMES: &[&str] = &[$(stringify!($field)),*];

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
        impl<F> super::super::$params<F> {
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
