//! The layer engine's step: the compiled op list's forward and backward passes (dropout and
//! noise draws, batch-norm statistics, regularizers, frozen layers), gradient clipping, a
//! step-size schedule and the Keras optimizers. The epoch loop around it is
//! [`run_epochs`](super::epochs::run_epochs), shared with the scikit-learn engine.

use linfa::Float;
use ndarray::{Array2, ArrayView2};

use super::epochs::Engine;
use super::layers::{backward, forward, predict, Mode, Net, NetWorkspace};
use super::params::{MlpConfig, Solver};
use super::stochastic_optimizers::{
    clip_gradients, GeneralOptimizer, LearningRate, Optimizer, OptimizerKind,
};
use super::train::{Task, Trained};
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::random::NumpyRng;

/// What the layer engine keeps between calls, next to the flat parameters in [`Trained`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "F: serde::Serialize",
        deserialize = "F: serde::de::DeserializeOwned"
    ))
)]
pub(crate) struct GeneralState<F> {
    pub(crate) net: Net,
    /// Batch-norm running means and variances.
    pub(crate) running: Vec<F>,
    optimizer: Option<GeneralOptimizer<F>>,
    /// The base step size in force (scikit-learn's adaptive and plateau reduction lower it).
    lr: f64,
    /// Optimizer steps so far (the position in a decay schedule).
    #[cfg_attr(feature = "serde", serde(default))]
    steps: u64,
}

impl<F> GeneralState<F> {
    /// Whether the optimizer's state has one value per parameter in each buffer its rule
    /// uses.
    pub(crate) fn state_fits(&self) -> bool {
        self.optimizer
            .as_ref()
            .is_none_or(|o| o.state_fits(self.net.n_params))
    }
}

/// Whether a configuration runs on the layer engine rather than the fused scikit-learn
/// engine. Every configuration compiles to an op list ([`Net`]); one that compiles to plain
/// dense layers with scikit-learn's activation and initialization (every configuration
/// without a knob, and those whose knobs are neutral, such as a dropout of 0 or explicit
/// plain [`LayerSpec`](super::LayerSpec)s) runs on the fused dense kernels, in
/// scikit-learn's floating-point order. Keras's step (an `optimizer`, clipping, a schedule),
/// its callbacks and pretrained weights need the layer engine.
pub(crate) fn needs_layer_engine(config: &MlpConfig) -> bool {
    let arch = &config.arch;
    let keras_run = arch.optimizer.is_some()
        || arch.clipnorm.is_some()
        || arch.clipvalue.is_some()
        || arch.lr_schedule.is_some()
        || arch.callbacks_early_stopping.is_some()
        || arch.terminate_on_nan
        || arch.checkpoint.is_some();
    if keras_run {
        return true;
    }
    let specs = arch.hidden_specs(&config.hidden_layer_sizes, config.activation);
    if specs.iter().any(|s| s.weights.is_some()) {
        return true;
    }
    // The widths of the input and output do not change which ops a network compiles to.
    let task = Task {
        out: super::base::OutActivation::Identity,
        classifier: false,
    };
    !build_net(config, task, 1, 1).is_plain_dense(config.activation)
}

/// Compiles the network a configuration asks for.
pub(crate) fn build_net(config: &MlpConfig, task: Task, n_in: usize, n_out: usize) -> Net {
    let specs = config
        .arch
        .hidden_specs(&config.hidden_layer_sizes, config.activation);
    Net::new(
        &specs,
        n_in,
        n_out,
        task.out,
        config.arch.initializer,
        config.activation,
        config.arch.batch_norm_momentum,
        config.arch.batch_norm_epsilon,
    )
}

/// Fresh parameters and engine state.
pub(crate) fn init_state<F: Float>(
    config: &MlpConfig,
    net: Net,
    rng: &mut NumpyRng,
) -> (Vec<F>, GeneralState<F>) {
    let (mut params, running) = net.init(rng);
    // Pretrained layers take their weights after the draws, so the other layers start
    // exactly as they would without them (same seed, same draws).
    let specs = config
        .arch
        .hidden_specs(&config.hidden_layer_sizes, config.activation);
    for (i, spec) in specs.iter().filter(|s| s.units > 0).enumerate() {
        if let Some(w) = &spec.weights {
            let (mut coef, mut intercept) = net.layout.layer_mut(&mut params, i);
            for (dst, &src) in coef.iter_mut().zip(&w.coef) {
                *dst = F::from(src).unwrap_or_else(F::zero);
            }
            for (dst, &src) in intercept.iter_mut().zip(&w.intercept) {
                *dst = F::from(src).unwrap_or_else(F::zero);
            }
        }
    }
    (
        params,
        GeneralState {
            net,
            running,
            optimizer: None,
            lr: config.learning_rate_init,
            steps: 0,
        },
    )
}

/// The step a configuration asks for: a Keras optimizer when `optimizer` is set, else
/// scikit-learn's `solver` with its own arithmetic and settings (`None`).
fn keras_optimizer(config: &MlpConfig) -> Result<Option<OptimizerKind>> {
    if let Some(k) = config.arch.effective_optimizer() {
        return Ok(Some(k));
    }
    match config.solver {
        Solver::Sgd | Solver::Adam => Ok(None),
        Solver::Lbfgs => Err(invalid_param(
            "solver",
            "lbfgs does not combine with the layer knobs (dropout, batch norm, regularizers, \
             non-scikit-learn activations, ...); choose sgd/adam or an `optimizer`",
        )),
    }
}

/// The optimizer of a layer-engine fit.
enum LayerStep<F> {
    /// scikit-learn's SGD or Adam, the very formulas of the scikit-learn engine.
    Sklearn(Optimizer<F>),
    /// A Keras optimizer (`optimizer`).
    Keras(GeneralOptimizer<F>),
}

/// The layer engine: the compiled op list (dropout, noise, batch norm, regularizers, any
/// activation, frozen layers) with gradient clipping, a step-size schedule and a Keras
/// optimizer.
pub(crate) struct LayerEngine<'c, F> {
    config: &'c MlpConfig,
    g: GeneralState<F>,
    step: LayerStep<F>,
    ws: NetWorkspace<F>,
    /// Steps of the whole fit a decay schedule spans (`max_iter` epochs of batches).
    total_steps: u64,
    /// The step-size schedule with its overrides.
    schedule: Option<super::stochastic_optimizers::Schedule>,
}

impl<'c, F: Float> LayerEngine<'c, F> {
    /// Takes the engine state out of `state` (put back by [`finish`](Self::finish)); a
    /// fresh call starts a new optimizer at `learning_rate_init`.
    pub(crate) fn new(
        config: &'c MlpConfig,
        state: &mut Trained<F>,
        fresh_optimizer: bool,
    ) -> Result<Self> {
        let kind = keras_optimizer(config)?;
        let mut g = state
            .general
            .take()
            .ok_or_else(|| MlpTuneError::InvalidInput("layer engine state missing".into()))?;
        let kept = match (kind, g.optimizer.take(), state.optimizer.take()) {
            _ if fresh_optimizer => None,
            (Some(_), Some(o), _) => Some(LayerStep::Keras(o)),
            (None, _, Some(o)) => Some(LayerStep::Sklearn(o)),
            _ => None,
        };
        let step = match kept {
            Some(step) => step,
            None => {
                g.lr = config.learning_rate_init;
                g.steps = 0;
                match kind {
                    Some(k) => LayerStep::Keras(GeneralOptimizer::new(k, g.net.n_params)),
                    None => LayerStep::Sklearn(Optimizer::from_config(config, g.net.n_params)),
                }
            }
        };
        Ok(LayerEngine {
            config,
            ws: NetWorkspace::new(&g.net, 1),
            g,
            step,
            total_steps: 0,
            schedule: config.arch.effective_schedule(),
        })
    }

    /// Puts the engine state back into `state`.
    pub(crate) fn finish(self, state: &mut Trained<F>) {
        let mut g = self.g;
        match self.step {
            LayerStep::Sklearn(o) => state.optimizer = Some(o),
            LayerStep::Keras(o) => g.optimizer = Some(o),
        }
        state.general = Some(g);
    }

    fn scheduled_learning_rate(&self) -> f64 {
        match &self.schedule {
            Some(s) => s.at_step(self.g.lr, self.g.steps, self.total_steps),
            None => self.g.lr,
        }
    }

    /// Whether scikit-learn's `learning_rate` schedule (invscaling, adaptive) applies: to
    /// its SGD and to the Keras optimizers, not to its Adam, as in scikit-learn.
    fn sklearn_schedule_applies(&self) -> bool {
        !matches!(self.step, LayerStep::Sklearn(Optimizer::Adam { .. }))
    }
}

impl<F: Float> Engine<F> for LayerEngine<'_, F> {
    fn begin(&mut self, batch_size: usize, n_train: usize) {
        self.ws = NetWorkspace::new(&self.g.net, batch_size);
        self.total_steps = n_train.div_ceil(batch_size) as u64 * self.config.max_iter as u64;
    }

    fn gather(&mut self, x: &ArrayView2<F>, x_rows: &[usize], y: &ArrayView2<F>, y_rows: &[usize]) {
        let y_rows = if y_rows.is_empty() { x_rows } else { y_rows };
        self.ws.gather_split(x, x_rows, y, y_rows);
    }

    fn train_batch(&mut self, params: &mut [F], m: usize, rng: &mut NumpyRng) -> F {
        let arch = &self.config.arch;
        let g = &mut self.g;
        forward(
            &g.net,
            params,
            &mut g.running,
            &mut self.ws,
            m,
            Mode::Train,
            rng,
        );
        let loss = backward(&g.net, params, &mut self.ws, m, self.config.alpha);
        if arch.terminate_on_nan && !loss.is_finite() {
            return loss;
        }
        // Frozen layers' gradients are left out of the clipping norm, as Keras clips over
        // trainable variables only.
        zero_outside(&mut self.ws.grads, &g.net.trainable);
        clip_gradients(&mut self.ws.grads, arch.clipnorm, arch.clipvalue);
        let lr = self.scheduled_learning_rate();
        let (grads, trainable) = (&self.ws.grads, &self.g.net.trainable);
        match &mut self.step {
            LayerStep::Sklearn(o) => {
                o.set_base_learning_rate(lr);
                o.step_ranges(params, grads, trainable);
            }
            LayerStep::Keras(o) => o.step_ranges(params, grads, lr, trainable),
        }
        self.g.steps += 1;
        loss
    }

    fn predict(&self, params: &[F], x: ArrayView2<F>, rows: Option<&[usize]>) -> Array2<F> {
        predict(&self.g.net, params, &self.g.running, x, rows)
    }

    fn running(&mut self) -> &mut Vec<F> {
        &mut self.g.running
    }

    fn learning_rate(&self) -> f64 {
        self.scheduled_learning_rate()
    }

    fn epoch_ends(&mut self, samples_seen: u64) {
        let c = self.config;
        if c.learning_rate == LearningRate::InvScaling && self.sklearn_schedule_applies() {
            self.g.lr = c.learning_rate_init / ((samples_seen + 1) as f64).powf(c.power_t);
        }
    }

    fn trigger_stopping(&mut self) -> bool {
        if self.config.learning_rate == LearningRate::Adaptive
            && self.sklearn_schedule_applies()
            && self.g.lr > 1e-6
        {
            self.g.lr /= 5.0;
            false
        } else {
            true
        }
    }

    fn reduce_learning_rate(&mut self, factor: f64, min_lr: f64) {
        self.g.lr = (self.g.lr * factor).max(min_lr);
    }
}

/// Sets every value outside the ascending, disjoint `keep` ranges to zero.
fn zero_outside<F: Float>(values: &mut [F], keep: &[std::ops::Range<usize>]) {
    let mut from = 0;
    for r in keep
        .iter()
        .chain(std::iter::once(&(values.len()..values.len())))
    {
        values[from..r.start]
            .iter_mut()
            .for_each(|v| *v = F::zero());
        from = r.end;
    }
}
