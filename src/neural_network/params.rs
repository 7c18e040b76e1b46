//! Hyperparameters shared by [`MLPRegressor`](super::MLPRegressor) and
//! [`MLPClassifier`](super::MLPClassifier), with scikit-learn's names and defaults.

use super::base::Activation;
use super::callbacks::ObserverHandle;
use super::layers::{ArchConfig, ARCH_PARAM_NAMES};
use super::stochastic_optimizers::LearningRate;
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::model_selection::param_space::ParamValue;

/// The weight optimizer (scikit-learn's `solver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Solver {
    /// Full-batch quasi-Newton; converges fast and well on small data.
    Lbfgs,
    /// Mini-batch stochastic gradient descent with momentum.
    Sgd,
    /// Mini-batch Adam (default).
    #[default]
    Adam,
}

impl Solver {
    /// The scikit-learn name.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Lbfgs => "lbfgs",
            Solver::Sgd => "sgd",
            Solver::Adam => "adam",
        }
    }
}

/// Mini-batch size (scikit-learn's `batch_size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BatchSize {
    /// `min(200, n_samples)` (default).
    #[default]
    Auto,
    /// A fixed size, clipped to `[1, n_samples]`.
    Fixed(usize),
}

/// What early stopping watches on the held-out rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EarlyStoppingMonitor {
    /// The validation score (R² or accuracy), as scikit-learn does (default).
    #[default]
    ValidationScore,
    /// The validation loss (what Keras users monitor), lower is better.
    ValidationLoss,
}

/// Every hyperparameter of the MLP estimators.
///
/// | parameter | default | range | meaning |
/// |---|---|---|---|
/// | `hidden_layer_sizes` | `[100]` | each ≥ 1; empty = no hidden layer | neurons per hidden layer |
/// | `activation` | `relu` | identity, logistic, tanh, relu | hidden activation |
/// | `solver` | `adam` | lbfgs, sgd, adam | weight optimizer |
/// | `alpha` | `1e-4` | ≥ 0 | L2 strength: loss += `0.5·alpha·‖W‖²/n_batch` (biases not penalized) |
/// | `batch_size` | auto | ≥ 1 | mini-batch size; auto = `min(200, n)` |
/// | `learning_rate` | constant | constant, invscaling, adaptive | SGD step schedule |
/// | `learning_rate_init` | `1e-3` | > 0 | initial step size (sgd, adam) |
/// | `power_t` | `0.5` | ≥ 0 | exponent of invscaling |
/// | `max_iter` | `200` | ≥ 1 | epochs (sgd, adam) or iterations (lbfgs) |
/// | `shuffle` | `true` | | reshuffle rows every epoch |
/// | `random_state` | `None` | u32 | seed of every random draw; `None` draws a fresh seed |
/// | `tol` | `1e-4` | ≥ 0 | improvement threshold of the stopping rule |
/// | `warm_start` | `false` | | [`fit_from`](super::MLPRegressorValidParams::fit_from) reuses weights |
/// | `momentum` | `0.9` | [0, 1] | SGD momentum |
/// | `nesterovs_momentum` | `true` | | Nesterov's momentum (sgd, momentum > 0) |
/// | `early_stopping` | `false` | | hold out `validation_fraction` and stop on its score |
/// | `validation_fraction` | `0.1` | (0, 1) | held-out share for early stopping |
/// | `beta_1` | `0.9` | [0, 1) | Adam's first-moment decay |
/// | `beta_2` | `0.999` | [0, 1) | Adam's second-moment decay |
/// | `epsilon` | `1e-8` | > 0 | Adam's numerical stabilizer for `solver = adam` (scikit-learn's value, on either engine); the Keras-style `optimizer`s use `optimizer_epsilon`, default Keras's 1e-7 |
/// | `n_iter_no_change` | `10` | ≥ 1 | epochs without `tol` improvement before stopping |
/// | `max_fun` | `15000` | ≥ 1 | lbfgs: maximum loss evaluations |
/// | `early_stopping_monitor` | validation score | score, loss | beyond scikit-learn: what early stopping watches |
/// | `observer` | none | | receives each epoch's log; may stop training |
/// | `arch` | none set | | beyond scikit-learn: activations, per-layer specs, dropout, batch norm, L1/L2, initializers, optimizers, schedules, callbacks; see [`ArchConfig`] |
/// | `n_threads` | `1` | ≥ 1 | beyond scikit-learn: threads the matrix products of one fit may use |
///
/// With every [`ArchConfig`] knob at its default and one of scikit-learn's four activations,
/// training runs scikit-learn's engine and reproduces its numbers; otherwise it runs the
/// layer engine ([`LayerSpec`](super::LayerSpec)).
///
/// **Parallelism rule.** A single fit runs its large matrix products on up to `n_threads`
/// threads (products too small to gain stay on one). Inside a search or cross-validation the
/// (candidate × fold) tasks are spread over `n_jobs` threads and every fit's kernels run on
/// one thread whatever `n_threads` says, so the machine is never oversubscribed and search
/// results do not depend on `n_jobs`.
///
/// The textbook's `n_hidden` and `n_neurons` (Géron) set `hidden_layer_sizes` to `n_neurons`
/// repeated `n_hidden` times.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MlpConfig {
    /// Neurons per hidden layer.
    pub hidden_layer_sizes: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Weight optimizer.
    pub solver: Solver,
    /// L2 penalty strength.
    pub alpha: f64,
    /// Mini-batch size.
    pub batch_size: BatchSize,
    /// SGD step schedule.
    pub learning_rate: LearningRate,
    /// Initial step size.
    pub learning_rate_init: f64,
    /// Exponent of the invscaling schedule.
    pub power_t: f64,
    /// Maximum epochs (stochastic solvers) or iterations (lbfgs).
    pub max_iter: usize,
    /// Reshuffle the rows every epoch.
    pub shuffle: bool,
    /// Seed of every random draw.
    pub random_state: Option<u32>,
    /// Improvement threshold of the stopping rule.
    pub tol: f64,
    /// Reuse the previous solution in `fit_from`.
    pub warm_start: bool,
    /// SGD momentum.
    pub momentum: f64,
    /// Nesterov's momentum.
    pub nesterovs_momentum: bool,
    /// Hold out rows and stop on their score.
    pub early_stopping: bool,
    /// Held-out share for early stopping.
    pub validation_fraction: f64,
    /// Adam's first-moment decay.
    pub beta_1: f64,
    /// Adam's second-moment decay.
    pub beta_2: f64,
    /// Adam's stabilizer.
    pub epsilon: f64,
    /// Patience of the stopping rule, in epochs.
    pub n_iter_no_change: usize,
    /// lbfgs: maximum loss evaluations.
    pub max_fun: usize,
    /// What early stopping watches.
    pub early_stopping_monitor: EarlyStoppingMonitor,
    /// Receives each epoch's log.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub observer: Option<ObserverHandle>,
    /// Knobs beyond scikit-learn (layer engine).
    #[cfg_attr(feature = "serde", serde(default))]
    pub arch: ArchConfig,
    /// Threads the matrix products of one fit may use (see the parallelism rule above).
    #[cfg_attr(feature = "serde", serde(default = "one_thread"))]
    pub n_threads: usize,
}

#[cfg(feature = "serde")]
fn one_thread() -> usize {
    1
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden_layer_sizes: vec![100],
            activation: Activation::Relu,
            solver: Solver::Adam,
            alpha: 1e-4,
            batch_size: BatchSize::Auto,
            learning_rate: LearningRate::Constant,
            learning_rate_init: 1e-3,
            power_t: 0.5,
            max_iter: 200,
            shuffle: true,
            random_state: None,
            tol: 1e-4,
            warm_start: false,
            momentum: 0.9,
            nesterovs_momentum: true,
            early_stopping: false,
            validation_fraction: 0.1,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            n_iter_no_change: 10,
            max_fun: 15000,
            early_stopping_monitor: EarlyStoppingMonitor::ValidationScore,
            observer: None,
            arch: ArchConfig::default(),
            n_threads: 1,
        }
    }
}

/// Parameter names accepted by [`MlpConfig::set_param`] (and so by searches).
pub const MLP_PARAM_NAMES: &[&str] = &[
    "activation",
    "activity_l1",
    "activity_l2",
    "alpha",
    "amsgrad",
    "batch_norm",
    "batch_norm_epsilon",
    "batch_norm_momentum",
    "batch_size",
    "beta_1",
    "beta_2",
    "centered",
    "checkpoint",
    "clipnorm",
    "clipvalue",
    "decay_rate",
    "decay_steps",
    "dropout",
    "dropout_kind",
    "early_stopping",
    "early_stopping_monitor",
    "epsilon",
    "gaussian_noise",
    "hidden_layer_sizes",
    "initializer",
    "kernel_l1",
    "kernel_l2",
    "learning_rate",
    "learning_rate_init",
    "lr_schedule",
    "max_fun",
    "max_iter",
    "min_delta",
    "momentum",
    "monitor",
    "n_hidden",
    "n_iter_no_change",
    "n_neurons",
    "n_threads",
    "nesterovs_momentum",
    "optimizer",
    "optimizer_epsilon",
    "optimizer_momentum",
    "patience",
    "power_t",
    "random_state",
    "restore_best_weights",
    "rho",
    "shuffle",
    "solver",
    "start_from_epoch",
    "terminate_on_nan",
    "tol",
    "use_bias",
    "validation_fraction",
    "warm_start",
    "weight_decay",
];

/// The most hidden layers a network may have. `n_hidden` builds its layer list from a
/// single number, so an absurd one is refused with a typed error instead of exhausting
/// memory.
pub const MAX_HIDDEN_LAYERS: usize = 10_000;

/// The most weights and biases a network may have (2^32, 32 GiB of `f64` weights before
/// gradients and optimizer state). A fit of a larger network is refused with an
/// [`InvalidParameter`](MlpTuneError::InvalidParameter) error before anything is allocated,
/// instead of overflowing a size or aborting on an impossible allocation. (A network under
/// the limit can still need more memory than the machine has.)
pub const MAX_COEFFICIENTS: usize = 1 << 32;

fn check_finite(name: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid_param(name, format!("must be finite, got {v}")))
    }
}

impl MlpConfig {
    /// Validates every value against its range.
    pub fn validate(&self) -> Result<()> {
        self.arch
            .validate(&self.hidden_layer_sizes, self.activation)?;
        self.activation.validate()?;
        if self.hidden_layer_sizes.len() > MAX_HIDDEN_LAYERS {
            return Err(invalid_param(
                "hidden_layer_sizes",
                format!("at most {MAX_HIDDEN_LAYERS} hidden layers"),
            ));
        }
        if let Some(pos) = self.hidden_layer_sizes.iter().position(|&u| u == 0) {
            return Err(invalid_param(
                "hidden_layer_sizes",
                format!("layer {pos} has zero neurons; every layer needs at least one"),
            ));
        }
        for (name, v) in [
            ("alpha", self.alpha),
            ("learning_rate_init", self.learning_rate_init),
            ("power_t", self.power_t),
            ("tol", self.tol),
            ("momentum", self.momentum),
            ("validation_fraction", self.validation_fraction),
            ("beta_1", self.beta_1),
            ("beta_2", self.beta_2),
            ("epsilon", self.epsilon),
        ] {
            check_finite(name, v)?;
        }
        if self.alpha < 0.0 {
            return Err(invalid_param("alpha", "must be >= 0"));
        }
        if self.learning_rate_init <= 0.0 {
            return Err(invalid_param("learning_rate_init", "must be > 0"));
        }
        if self.power_t < 0.0 {
            return Err(invalid_param("power_t", "must be >= 0"));
        }
        if self.max_iter == 0 {
            return Err(invalid_param("max_iter", "must be >= 1"));
        }
        if self.tol < 0.0 {
            return Err(invalid_param("tol", "must be >= 0"));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(invalid_param("momentum", "must be in [0, 1]"));
        }
        if self.validation_fraction <= 0.0 || self.validation_fraction >= 1.0 {
            return Err(invalid_param("validation_fraction", "must be in (0, 1)"));
        }
        if !(0.0..1.0).contains(&self.beta_1) {
            return Err(invalid_param("beta_1", "must be in [0, 1)"));
        }
        if !(0.0..1.0).contains(&self.beta_2) {
            return Err(invalid_param("beta_2", "must be in [0, 1)"));
        }
        if self.epsilon <= 0.0 {
            return Err(invalid_param("epsilon", "must be > 0"));
        }
        if self.n_iter_no_change == 0 {
            return Err(invalid_param("n_iter_no_change", "must be >= 1"));
        }
        if self.n_threads == 0 {
            return Err(invalid_param("n_threads", "must be >= 1"));
        }
        if self.max_fun == 0 {
            return Err(invalid_param("max_fun", "must be >= 1"));
        }
        if let BatchSize::Fixed(0) = self.batch_size {
            return Err(invalid_param("batch_size", "must be >= 1"));
        }
        Ok(())
    }

    /// Sets one hyperparameter by its scikit-learn name (what searches call).
    ///
    /// `n_hidden` and `n_neurons` rewrite `hidden_layer_sizes` keeping the other one: the
    /// depth is the current number of layers and the width the current first layer's.
    ///
    /// ```
    /// use mlp_tune::neural_network::MlpConfig;
    /// use mlp_tune::model_selection::param_space::ParamValue;
    /// let mut c = MlpConfig::default();
    /// c.set_param("n_hidden", &ParamValue::Int(3)).unwrap();
    /// c.set_param("n_neurons", &ParamValue::Int(30)).unwrap();
    /// assert_eq!(c.hidden_layer_sizes, vec![30, 30, 30]);
    /// assert!(c.set_param("alpah", &ParamValue::Float(0.1)).is_err());
    /// ```
    pub fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()> {
        match name {
            "activation" => self.activation = Activation::from_name(value.as_str(name)?)?,
            "alpha" => self.alpha = value.as_f64(name)?,
            "batch_size" => {
                self.batch_size = match value {
                    ParamValue::Str(s) if s == "auto" => BatchSize::Auto,
                    other => BatchSize::Fixed(other.as_usize(name)?),
                }
            }
            "beta_1" => self.beta_1 = value.as_f64(name)?,
            "beta_2" => self.beta_2 = value.as_f64(name)?,
            "early_stopping" => self.early_stopping = value.as_bool(name)?,
            "early_stopping_monitor" => {
                self.early_stopping_monitor = match value.as_str(name)? {
                    "validation_score" => EarlyStoppingMonitor::ValidationScore,
                    "validation_loss" => EarlyStoppingMonitor::ValidationLoss,
                    other => {
                        return Err(invalid_param(
                            name,
                            format!(
                            "unknown monitor `{other}`; valid: validation_score, validation_loss"
                        ),
                        ))
                    }
                }
            }
            "epsilon" => self.epsilon = value.as_f64(name)?,
            "hidden_layer_sizes" => self.hidden_layer_sizes = value.as_usizes(name)?,
            "learning_rate"
                if super::stochastic_optimizers::Schedule::NAMES
                    .contains(&value.as_str(name).unwrap_or("")) =>
            {
                return self.arch.set_param("lr_schedule", value).unwrap_or(Ok(()));
            }
            "learning_rate" => {
                self.learning_rate = match value.as_str(name)? {
                    "constant" => LearningRate::Constant,
                    "invscaling" => LearningRate::InvScaling,
                    "adaptive" => LearningRate::Adaptive,
                    other => {
                        return Err(invalid_param(
                            name,
                            format!(
                                "unknown schedule `{other}`; valid: constant, invscaling, adaptive"
                            ),
                        ))
                    }
                }
            }
            "learning_rate_init" => self.learning_rate_init = value.as_f64(name)?,
            "max_fun" => self.max_fun = value.as_usize(name)?,
            "max_iter" => self.max_iter = value.as_usize(name)?,
            "momentum" => self.momentum = value.as_f64(name)?,
            "n_hidden" => {
                let depth = value.as_usize(name)?;
                if depth > MAX_HIDDEN_LAYERS {
                    return Err(invalid_param(
                        name,
                        format!("at most {MAX_HIDDEN_LAYERS} hidden layers, got {depth}"),
                    ));
                }
                let width = self.hidden_layer_sizes.first().copied().unwrap_or(100);
                self.hidden_layer_sizes = vec![width; depth];
                if let Some(layers) = &mut self.arch.layers {
                    // Explicit layers: repeat the first dense layer's spec.
                    if let Some(first) = layers.iter().find(|l| l.units > 0).cloned() {
                        *layers = vec![first; depth];
                    }
                }
            }
            "n_iter_no_change" => self.n_iter_no_change = value.as_usize(name)?,
            "n_neurons" => {
                let width = value.as_usize(name)?;
                let depth = self.hidden_layer_sizes.len();
                self.hidden_layer_sizes = vec![width; depth];
                if let Some(layers) = &mut self.arch.layers {
                    layers
                        .iter_mut()
                        .filter(|l| l.units > 0)
                        .for_each(|l| l.units = width);
                }
            }
            "n_threads" => self.n_threads = value.as_usize(name)?,
            "nesterovs_momentum" => self.nesterovs_momentum = value.as_bool(name)?,
            "power_t" => self.power_t = value.as_f64(name)?,
            "random_state" => {
                self.random_state = match value {
                    ParamValue::None => None,
                    other => Some(u32::try_from(other.as_usize(name)?).map_err(|_| {
                        invalid_param(name, "must fit in 32 bits (numpy's seed range)")
                    })?),
                }
            }
            "shuffle" => self.shuffle = value.as_bool(name)?,
            "solver" => {
                self.solver = match value.as_str(name)? {
                    "lbfgs" => Solver::Lbfgs,
                    "sgd" => Solver::Sgd,
                    "adam" => Solver::Adam,
                    other => {
                        return Err(invalid_param(
                            name,
                            format!("unknown solver `{other}`; valid: lbfgs, sgd, adam"),
                        ))
                    }
                }
            }
            "tol" => self.tol = value.as_f64(name)?,
            "validation_fraction" => self.validation_fraction = value.as_f64(name)?,
            "warm_start" => self.warm_start = value.as_bool(name)?,
            other if ARCH_PARAM_NAMES.contains(&other) => {
                if let Some(result) = self.arch.set_param(other, value) {
                    result?;
                }
            }
            other => {
                return Err(MlpTuneError::SearchSpace(format!(
                    "unknown parameter `{other}`; valid names: {}",
                    MLP_PARAM_NAMES.join(", ")
                )))
            }
        }
        Ok(())
    }
}
