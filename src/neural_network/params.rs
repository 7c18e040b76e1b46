//! Hyperparameters shared by [`MLPRegressor`](super::MLPRegressor) and
//! [`MLPClassifier`](super::MLPClassifier), with scikit-learn's names and defaults.

use super::base::Activation;
use super::callbacks::ObserverHandle;
use super::hyperparameters::{
    knob_hyperparameter, sklearn_hyperparameter, SklearnDefaults, MLP_PARAM_NAMES,
    SKLEARN_HYPERPARAMETERS,
};
use super::layers::ArchConfig;
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

/// Every hyperparameter of the MLP estimators. scikit-learn's are declared once, with their
/// checks, in [`SKLEARN_HYPERPARAMETERS`] (the table below is its summary).
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
    /// scikit-learn's defaults, as declared in [`SKLEARN_HYPERPARAMETERS`], and no knob
    /// beyond scikit-learn.
    fn default() -> Self {
        let d = SklearnDefaults::new();
        MlpConfig {
            hidden_layer_sizes: d.hidden_layer_sizes,
            activation: d.activation,
            solver: d.solver,
            alpha: d.alpha,
            batch_size: d.batch_size,
            learning_rate: d.learning_rate,
            learning_rate_init: d.learning_rate_init,
            power_t: d.power_t,
            max_iter: d.max_iter,
            shuffle: d.shuffle,
            random_state: d.random_state,
            tol: d.tol,
            warm_start: d.warm_start,
            momentum: d.momentum,
            nesterovs_momentum: d.nesterovs_momentum,
            early_stopping: d.early_stopping,
            validation_fraction: d.validation_fraction,
            beta_1: d.beta_1,
            beta_2: d.beta_2,
            epsilon: d.epsilon,
            n_iter_no_change: d.n_iter_no_change,
            max_fun: d.max_fun,
            early_stopping_monitor: d.early_stopping_monitor,
            observer: None,
            arch: ArchConfig::default(),
            n_threads: d.n_threads,
        }
    }
}

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

impl MlpConfig {
    /// Validates every value against its range (as declared in
    /// [`SKLEARN_HYPERPARAMETERS`], and [`ArchConfig::validate`] for the knobs beyond
    /// scikit-learn).
    pub fn validate(&self) -> Result<()> {
        self.arch
            .validate(&self.hidden_layer_sizes, self.activation)?;
        SKLEARN_HYPERPARAMETERS
            .iter()
            .try_for_each(|h| (h.check)(self))
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
            // Keras's schedules are accepted under scikit-learn's name too.
            "learning_rate"
                if super::stochastic_optimizers::Schedule::NAMES
                    .contains(&value.as_str(name).unwrap_or("")) =>
            {
                return self.arch.set_param("lr_schedule", value).unwrap_or(Ok(()));
            }
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
            other => match (sklearn_hyperparameter(other), knob_hyperparameter(other)) {
                (Some(h), _) => (h.set)(self, value)?,
                (None, Some(k)) => (k.set)(&mut self.arch, value)?,
                (None, None) => {
                    return Err(MlpTuneError::SearchSpace(format!(
                        "unknown parameter `{other}`; valid names: {}",
                        MLP_PARAM_NAMES.join(", ")
                    )))
                }
            },
        }
        Ok(())
    }
}
