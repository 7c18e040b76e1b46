//! The training loops (scikit-learn's `_fit_stochastic` and `_fit_lbfgs`), shared by both
//! estimators. Estimators turn their targets into a float matrix (one-hot or 0/1 for
//! classifiers) and call [`train`].

use linfa::Float;
use ndarray::{s, Array2, ArrayView2, Zip};

use super::base::{Activation, OutActivation};
use super::epochs::{run_epochs, CallbackState, Engine, EpochCall};
pub(crate) use super::epochs::{Rows, Validation};
use super::gemm::with_kernel_threads;
use super::general::{build_net, init_state, needs_layer_engine, GeneralState, LayerEngine};
use super::layers::predict as predict_layers;
use super::lbfgs;
use super::network::{
    full_batch_loss_grad, init_params_sklearn, predict_outputs, predict_outputs_rows, train_step,
    Layout, Workspace,
};
use super::params::{MlpConfig, Solver};
use super::stochastic_optimizers::Optimizer;
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::random::NumpyRng;

/// Everything a fit learns, plus what is needed to continue training exactly where it
/// stopped.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "F: serde::Serialize",
        deserialize = "F: serde::de::DeserializeOwned"
    ))
)]
pub(crate) struct TrainedState<F> {
    pub(crate) layout: Layout,
    pub(crate) params: Vec<F>,
    pub(crate) activation: Activation,
    pub(crate) out: OutActivation,
    pub(crate) n_iter: usize,
    pub(crate) t: u64,
    pub(crate) loss: f64,
    pub(crate) best_loss: Option<f64>,
    pub(crate) loss_curve: Vec<f64>,
    pub(crate) validation_scores: Vec<f64>,
    pub(crate) validation_loss_curve: Vec<f64>,
    pub(crate) best_validation_score: Option<f64>,
    pub(crate) best_validation_loss: Option<f64>,
    pub(crate) no_improvement_count: usize,
    /// scikit-learn's SGD or Adam state (`None` with a Keras optimizer or L-BFGS).
    pub(crate) optimizer: Option<Optimizer<F>>,
    pub(crate) best_params: Option<Vec<F>>,
    /// With early stopping, the weights the last call ended on before the best ones were
    /// restored: a continued run trains on from them, so continuing equals training in one
    /// go (`None` when training stopped, or without early stopping).
    #[cfg_attr(feature = "serde", serde(default))]
    pub(crate) live_params: Option<Vec<F>>,
    /// Row order of the last epoch and the training/validation rows, for continuation.
    pub(crate) order: Vec<usize>,
    pub(crate) train_rows: Vec<usize>,
    pub(crate) validation_rows: Vec<usize>,
    #[cfg_attr(feature = "serde", serde(skip))]
    rng: Option<NumpyRng>,
    pub(crate) stopped: bool,
    /// The epoch whose loss became non-finite, when early stopping fell back on the best
    /// weights instead of failing.
    #[cfg_attr(feature = "serde", serde(default))]
    pub(crate) diverged_epoch: Option<usize>,
    /// State of the layer engine; `None` on the scikit-learn engine.
    #[cfg_attr(feature = "serde", serde(default))]
    pub(crate) general: Option<GeneralState<F>>,
    /// Stopping rules' and callbacks' state.
    #[cfg_attr(feature = "serde", serde(default))]
    pub(crate) callbacks: CallbackState<F>,
}

/// How a call relates to earlier training.
#[allow(clippy::enum_variant_names)]
pub(crate) enum Start<F> {
    /// Initialize the weights and train `max_iter` epochs (`fit`).
    Fresh,
    /// scikit-learn's `warm_start=True` refit: keep the weights and curves, new optimizer and
    /// a fresh generator, up to `max_iter` more epochs.
    WarmStart(Trained<F>),
    /// scikit-learn's `partial_fit`: one epoch, optimizer kept, fresh generator per call.
    Partial(Option<Trained<F>>),
    /// Continue a run for more epochs as if it had never stopped (same generator stream,
    /// optimizer, row order and stopping state): training 10 then 20 epochs equals 30 at once.
    Continue(Trained<F>, usize),
}

/// The task's shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Task {
    pub(crate) out: OutActivation,
    pub(crate) classifier: bool,
}

fn seed_of(config: &MlpConfig) -> u32 {
    config.random_state.unwrap_or_else(rand::random)
}

/// Trains a network on `x` (rows) and `y` (float targets, one column per output).
/// `strata` are class ids for the stratified early-stopping split of binary classifiers.
/// The matrix products may use `config.n_threads` threads (capped to one inside a search).
pub(crate) fn train<F: Float>(
    config: &MlpConfig,
    task: Task,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    strata: Option<&[usize]>,
    validation: Validation<'_, F>,
    start: Start<F>,
) -> Result<Trained<F>> {
    train_rows(
        config,
        task,
        x,
        y,
        Rows::default(),
        strata,
        validation,
        start,
    )
}

/// [`train`] on the rows `rows` of `x` and `y` (`strata` are per position, like the fit's
/// own rows). The stochastic solvers gather their batches and held-out rows through the row
/// list, with bitwise the same result as training on the selected copy; L-BFGS trains on a
/// copy of the rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_rows<F: Float>(
    config: &MlpConfig,
    task: Task,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    rows: Rows<'_>,
    strata: Option<&[usize]>,
    validation: Validation<'_, F>,
    start: Start<F>,
) -> Result<Trained<F>> {
    with_kernel_threads(config.n_threads, || {
        if !rows.is_identity() && config.solver == Solver::Lbfgs && !needs_layer_engine(config) {
            let xs = Rows::select(x, rows.x);
            let ys = Rows::select(y, rows.y);
            return train_on_this_thread(
                config,
                task,
                xs.view(),
                ys.view(),
                Rows::default(),
                strata,
                validation,
                start,
            );
        }
        train_on_this_thread(config, task, x, y, rows, strata, validation, start)
    })
}

/// Refuses a network whose weights and biases would number more than
/// [`MAX_COEFFICIENTS`](super::MAX_COEFFICIENTS) (or overflow the count) before anything is
/// allocated, so an absurd width is a typed error rather than a capacity-overflow panic or
/// an allocation that aborts the process.
/// Pretrained weights must fit the layers they start: the data's width for the first,
/// the previous layer's width for the others.
fn check_pretrained(config: &MlpConfig, n_features: usize) -> Result<()> {
    let specs = config
        .arch
        .hidden_specs(&config.hidden_layer_sizes, config.activation);
    let mut fan_in = n_features;
    for (i, spec) in specs.iter().filter(|s| s.units > 0).enumerate() {
        if let Some(w) = &spec.weights {
            if w.fan_in != fan_in
                || w.fan_out != spec.units
                || w.coef.len() != fan_in * spec.units
                || w.intercept.len() != spec.units
            {
                return Err(invalid_param(
                    "layers",
                    format!(
                        "dense layer {i} is {fan_in}×{} here but its pretrained weights are                          {}×{} ({} coefficients, {} biases)",
                        spec.units,
                        w.fan_in,
                        w.fan_out,
                        w.coef.len(),
                        w.intercept.len()
                    ),
                ));
            }
        }
        fan_in = spec.units;
    }
    Ok(())
}

fn check_network_size(n_in: usize, hidden: &[usize], n_out: usize) -> Result<()> {
    let mut total = Some(0usize);
    let mut fan_in = n_in;
    for &units in hidden.iter().chain(std::iter::once(&n_out)) {
        total = total.and_then(|t| fan_in.checked_add(1)?.checked_mul(units)?.checked_add(t));
        fan_in = units;
    }
    match total {
        Some(t) if t <= super::MAX_COEFFICIENTS => Ok(()),
        _ => Err(crate::error::invalid_param(
            "hidden_layer_sizes",
            format!(
                "a network of {n_in} features, hidden layers {hidden:?} and {n_out} outputs \
                 has more than {} weights and biases",
                super::MAX_COEFFICIENTS
            ),
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn train_on_this_thread<F: Float>(
    config: &MlpConfig,
    task: Task,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    rows: Rows<'_>,
    strata: Option<&[usize]>,
    validation: Validation<'_, F>,
    start: Start<F>,
) -> Result<Trained<F>> {
    let n_features = x.ncols();
    let n_outputs = y.ncols();
    let layered = needs_layer_engine(config);
    // Explicit layers give the widths on either engine (plain ones run fused).
    let hidden: Vec<usize> = config
        .arch
        .hidden_specs(&config.hidden_layer_sizes, config.activation)
        .iter()
        .map(|l| l.units)
        .filter(|&u| u > 0)
        .collect();
    let mut layer_units = vec![n_features];
    layer_units.extend_from_slice(&hidden);
    layer_units.push(n_outputs);
    check_network_size(n_features, &hidden, n_outputs)?;
    if layered {
        check_pretrained(config, n_features)?;
    }
    let net = layered.then(|| build_net(config, task, n_features, n_outputs));
    let layout = match &net {
        Some(net) => net.layout.clone(),
        None => Layout::new(&layer_units),
    };

    let (mut state, mut rng, epochs, incremental, continuing) = match start {
        Start::Fresh | Start::Partial(None) => {
            let partial = matches!(start, Start::Partial(None));
            let mut rng = NumpyRng::new(seed_of(config));
            let (params, general) = match net.clone() {
                Some(net) => {
                    let (params, g) = init_state(config, net, &mut rng);
                    (params, Some(g))
                }
                None => (
                    init_params_sklearn(&layout, config.activation, &mut rng),
                    None,
                ),
            };
            let state = Trained(TrainedState {
                layout: layout.clone(),
                params,
                activation: config.activation,
                out: task.out,
                n_iter: 0,
                t: 0,
                loss: f64::NAN,
                best_loss: None,
                loss_curve: Vec::new(),
                validation_scores: Vec::new(),
                validation_loss_curve: Vec::new(),
                best_validation_score: None,
                best_validation_loss: None,
                no_improvement_count: 0,
                optimizer: None,
                best_params: None,
                live_params: None,
                order: Vec::new(),
                train_rows: Vec::new(),
                validation_rows: Vec::new(),
                rng: None,
                stopped: false,
                diverged_epoch: None,
                general,
                callbacks: CallbackState::default(),
            });
            let epochs = if partial { 1 } else { config.max_iter };
            (state, rng, epochs, partial, false)
        }
        Start::WarmStart(prev) => {
            check_compatible(&prev, &layout, task, net.as_ref())?;
            let mut prev = prev;
            prev.optimizer = None;
            prev.stopped = false;
            // scikit-learn's warm start goes on from the restored best weights.
            prev.live_params = None;
            prev.callbacks.live_running = None;
            (
                prev,
                NumpyRng::new(seed_of(config)),
                config.max_iter,
                false,
                false,
            )
        }
        Start::Partial(Some(prev)) => {
            check_compatible(&prev, &layout, task, net.as_ref())?;
            let mut prev = prev;
            prev.live_params = None;
            prev.callbacks.live_running = None;
            (prev, NumpyRng::new(seed_of(config)), 1, true, false)
        }
        Start::Continue(prev, extra) => {
            check_compatible(&prev, &layout, task, net.as_ref())?;
            let mut prev = prev;
            let rng = prev
                .rng
                .take()
                .unwrap_or_else(|| NumpyRng::new(seed_of(config)));
            prev.stopped = false;
            if let Some(live) = prev.live_params.take() {
                prev.params = live;
            }
            if let (Some(live), Some(g)) = (prev.callbacks.live_running.take(), &mut prev.general) {
                g.running = live;
            }
            (prev, rng, extra, false, true)
        }
    };

    if config.solver == Solver::Lbfgs && !layered {
        if incremental {
            return Err(MlpTuneError::InvalidParameter {
                name: "solver".into(),
                reason: "partial_fit is only available for the stochastic solvers (sgd, adam), not lbfgs".into(),
            });
        }
        fit_lbfgs(config, &mut state, x, y, epochs)?;
        return Ok(state);
    }
    // Views are invariant in their lifetime: reborrow them to the call's common one.
    let call = EpochCall {
        config,
        task,
        x: x.reborrow(),
        y: y.reborrow(),
        rows,
        strata,
        validation: validation.map(|(xv, yv)| (xv.reborrow(), yv.reborrow())),
        epochs,
        incremental,
        continuing,
    };
    let fresh_optimizer = !(incremental || continuing);
    let result = if layered {
        let mut engine = LayerEngine::new(config, &mut state, fresh_optimizer)?;
        let result = run_epochs(call, &mut state, &mut engine, &mut rng);
        engine.finish(&mut state);
        result
    } else {
        let mut engine = DenseEngine::new(config, &mut state, fresh_optimizer);
        let result = run_epochs(call, &mut state, &mut engine, &mut rng);
        state.optimizer = Some(engine.optimizer);
        result
    };
    result?;
    state.rng = Some(rng);
    Ok(state)
}

/// The scikit-learn engine: dense layers with scikit-learn's activations, whose products
/// fuse bias, activation, L2 and the SGD/Adam step into their stores (`network::train_step`).
struct DenseEngine<F> {
    layout: Layout,
    activation: Activation,
    out: OutActivation,
    alpha: f64,
    ws: Workspace<F>,
    optimizer: Optimizer<F>,
    no_running: Vec<F>,
}

impl<F: Float> DenseEngine<F> {
    /// Takes the optimizer kept in `state`, or a new one for a fresh call.
    fn new(config: &MlpConfig, state: &mut Trained<F>, fresh_optimizer: bool) -> Self {
        let layout = state.layout.clone();
        let optimizer = match state.optimizer.take() {
            Some(o) if !fresh_optimizer => o,
            _ => Optimizer::from_config(config, layout.len()),
        };
        DenseEngine {
            ws: Workspace::new(&layout, 1),
            layout,
            activation: state.activation,
            out: state.out,
            alpha: config.alpha,
            optimizer,
            no_running: Vec::new(),
        }
    }
}

impl<F: Float> Engine<F> for DenseEngine<F> {
    #[inline]
    fn begin(&mut self, batch_size: usize, _n_train: usize) {
        self.ws = Workspace::new(&self.layout, batch_size);
    }

    #[inline]
    fn gather(&mut self, x: &ArrayView2<F>, x_rows: &[usize], y: &ArrayView2<F>, y_rows: &[usize]) {
        if y_rows.is_empty() {
            self.ws.gather(x, y, x_rows);
        } else {
            self.ws.gather_split(x, x_rows, y, y_rows);
        }
    }

    #[inline]
    fn train_batch(&mut self, params: &mut [F], m: usize, _rng: &mut NumpyRng) -> F {
        train_step(
            &self.layout,
            params,
            self.activation,
            self.out,
            &mut self.ws,
            m,
            self.alpha,
            &mut self.optimizer,
        )
    }

    #[inline]
    fn predict(&self, params: &[F], x: ArrayView2<F>, rows: Option<&[usize]>) -> Array2<F> {
        predict_outputs_rows(&self.layout, params, self.activation, self.out, x, rows)
    }

    #[inline]
    fn running(&mut self) -> &mut Vec<F> {
        // Dense layers have no running statistics.
        &mut self.no_running
    }

    #[inline]
    fn learning_rate(&self) -> f64 {
        self.optimizer.learning_rate()
    }

    #[inline]
    fn epoch_ends(&mut self, samples_seen: u64) {
        self.optimizer.iteration_ends(samples_seen);
    }

    #[inline]
    fn trigger_stopping(&mut self) -> bool {
        self.optimizer.trigger_stopping()
    }

    #[inline]
    fn reduce_learning_rate(&mut self, factor: f64, min_lr: f64) {
        self.optimizer.scale_learning_rate(factor, min_lr);
    }
}

fn check_compatible<F>(
    prev: &Trained<F>,
    layout: &Layout,
    task: Task,
    net: Option<&super::layers::Net>,
) -> Result<()> {
    if prev.general.as_ref().map(|g| &g.net) != net {
        return Err(MlpTuneError::InvalidInput(
            "cannot continue training: the layer specification (dropout, batch norm, \
             activations, regularizers, ...) differs from the fitted model's"
                .into(),
        ));
    }
    if prev.layout != *layout || prev.out != task.out {
        return Err(MlpTuneError::InvalidInput(format!(
            "cannot continue training: the model has layers {:?}, the data and parameters ask for {:?}",
            prev.layout.layer_units, layout.layer_units
        )));
    }
    Ok(())
}

fn fit_lbfgs<F: Float>(
    config: &MlpConfig,
    state: &mut Trained<F>,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    max_iter: usize,
) -> Result<()> {
    let layout = state.layout.clone();
    // The full batch is evaluated in blocks so memory stays bounded on large data.
    let mut ws = Workspace::new(&layout, x.nrows().min(8192));
    let mut params_f = state.params.clone();
    let mut grad_f = vec![F::zero(); layout.len()];
    let mut x64: Vec<f64> = state
        .params
        .iter()
        .map(|v| v.to_f64().unwrap_or(0.0))
        .collect();
    let activation = state.activation;
    let out = state.out;
    let result = lbfgs::minimize(
        &mut x64,
        |p, g| {
            for (dst, &src) in params_f.iter_mut().zip(p) {
                *dst = F::from(src).unwrap_or_else(F::zero);
            }
            let loss = full_batch_loss_grad(
                &layout,
                &params_f,
                activation,
                out,
                &x,
                &y,
                &mut ws,
                config.alpha,
                &mut grad_f,
            );
            for (dst, &src) in g.iter_mut().zip(&grad_f) {
                *dst = src.to_f64().unwrap_or(f64::NAN);
            }
            loss.to_f64().unwrap_or(f64::NAN)
        },
        max_iter,
        config.max_fun,
        config.tol,
    );
    for (dst, &src) in state.params.iter_mut().zip(&x64) {
        *dst = F::from(src).unwrap_or_else(F::zero);
    }
    state.n_iter += result.n_iter;
    state.loss = result.f;
    state.loss_curve.push(result.f);
    state.best_loss = Some(result.f);
    state.stopped = result.stop != lbfgs::LbfgsStop::MaxIter;
    if !result.f.is_finite() || state.params.iter().any(|v| !v.is_finite()) {
        return Err(MlpTuneError::Diverged {
            epoch: state.n_iter.max(1),
        });
    }
    Ok(())
}

/// Accuracy of output activations against 0/1 targets (one-hot or per-label columns).
pub(crate) fn accuracy_from_outputs<F: Float>(
    y: ArrayView2<F>,
    p: ArrayView2<F>,
    out: OutActivation,
) -> f64 {
    let n = y.nrows();
    if n == 0 {
        return f64::NAN;
    }
    let half = F::from(0.5).unwrap_or_else(F::zero);
    let correct = y
        .rows()
        .into_iter()
        .zip(p.rows())
        .filter(|(yr, pr)| match out {
            OutActivation::Softmax => argmax(pr.iter().copied()) == argmax(yr.iter().copied()),
            _ => yr
                .iter()
                .zip(pr.iter())
                .all(|(&t, &q)| (q > half) == (t > half)),
        })
        .count();
    correct as f64 / n as f64
}

/// Index of the first maximum, as numpy's argmax.
pub(crate) fn argmax<F: PartialOrd>(values: impl Iterator<Item = F>) -> usize {
    let mut best: Option<F> = None;
    let mut best_i = 0;
    for (i, v) in values.enumerate() {
        if best.as_ref().is_none_or(|b| v > *b) {
            best = Some(v);
            best_i = i;
        }
    }
    best_i
}

/// R² averaged uniformly over outputs with scikit-learn's `force_finite` conventions.
pub(crate) fn r2_uniform<F: Float>(y: ArrayView2<F>, p: ArrayView2<F>) -> f64 {
    let n = y.nrows();
    if n < 2 {
        return f64::NAN;
    }
    let mut total = 0.0;
    for j in 0..y.ncols() {
        let yc = y.slice(s![.., j]);
        let pc = p.slice(s![.., j]);
        let mean = yc.iter().map(|v| v.to_f64().unwrap_or(0.0)).sum::<f64>() / n as f64;
        let mut ss_res = 0.0;
        let mut ss_tot = 0.0;
        Zip::from(&yc).and(&pc).for_each(|&t, &q| {
            let t = t.to_f64().unwrap_or(f64::NAN);
            let q = q.to_f64().unwrap_or(f64::NAN);
            ss_res += (t - q) * (t - q);
            ss_tot += (t - mean) * (t - mean);
        });
        total += if !ss_res.is_finite() {
            f64::NEG_INFINITY
        } else if ss_tot == 0.0 {
            if ss_res == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 - ss_res / ss_tot
        };
    }
    total / y.ncols() as f64
}

/// A fit's state ([`TrainedState`]), checked when it is loaded: a saved model whose parts
/// do not fit together (edited, truncated or from another build) is refused with an error
/// naming the part, instead of panicking when it predicts.
#[derive(Debug, Clone)]
pub(crate) struct Trained<F>(TrainedState<F>);

impl<F> std::ops::Deref for Trained<F> {
    type Target = TrainedState<F>;
    fn deref(&self) -> &TrainedState<F> {
        &self.0
    }
}

impl<F> std::ops::DerefMut for Trained<F> {
    fn deref_mut(&mut self) -> &mut TrainedState<F> {
        &mut self.0
    }
}

#[cfg(feature = "serde")]
impl<F: serde::Serialize> serde::Serialize for Trained<F> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de, F: serde::de::DeserializeOwned> serde::Deserialize<'de> for Trained<F> {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let state = TrainedState::<F>::deserialize(deserializer)?;
        state.check().map_err(serde::de::Error::custom)?;
        Ok(Trained(state))
    }
}

impl<F> TrainedState<F> {
    /// Whether the parts agree: the layout is the one its layer sizes give (no size 0, no
    /// overflow); the layer engine's op list fits together ([`Net::check`]) and its layout;
    /// the parameters, the best and live parameters, the optimizers' state and the
    /// callbacks' saved weights have the network's length (the layout's, or the op list's,
    /// with its batch-norm statistics); and the row order is a permutation of the training
    /// rows. The rows themselves are checked against the data when training continues.
    ///
    /// [`Net::check`]: super::layers::Net::check
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    fn check(&self) -> std::result::Result<(), String> {
        let units = &self.layout.layer_units;
        if units.len() < 2 || units.contains(&0) {
            return Err(format!(
                "a saved model needs at least an input and an output layer, none empty; \
                 layer sizes {units:?}"
            ));
        }
        // `Layout::new` sums the sizes unchecked.
        let count = units.windows(2).try_fold(0usize, |total, w| {
            total
                .checked_add(w[0].checked_mul(w[1])?)?
                .checked_add(w[1])
        });
        if count.is_none() {
            return Err(format!(
                "layer sizes {units:?} overflow the parameter count"
            ));
        }
        if self.layout != Layout::new(units) {
            return Err(format!(
                "the saved layout does not match its layer sizes {units:?}"
            ));
        }
        // The layer engine lays its parameters out by its op list (batch-norm scales and
        // shifts too), the fused engine by the dense layout.
        let n = match &self.general {
            Some(g) => {
                g.net.check()?;
                if g.net.layout != self.layout || g.net.out != self.out {
                    return Err(
                        "the layer engine's network does not match the model's layers".into(),
                    );
                }
                if !g.state_fits() {
                    return Err(format!(
                        "the layer engine's optimizer state does not hold {} values per buffer",
                        g.net.n_params
                    ));
                }
                if g.running.len() != g.net.n_running {
                    return Err(format!(
                        "the batch-norm statistics hold {} values where the network needs {}",
                        g.running.len(),
                        g.net.n_running
                    ));
                }
                g.net.n_params
            }
            None => self.layout.len(),
        };
        let lengths = [
            ("params", Some(self.params.len())),
            ("best_params", self.best_params.as_ref().map(Vec::len)),
            ("live_params", self.live_params.as_ref().map(Vec::len)),
        ];
        for (name, len) in lengths {
            if let Some(len) = len.filter(|&len| len != n) {
                return Err(format!(
                    "`{name}` holds {len} values where the network ({units:?}) needs {n}"
                ));
            }
        }
        if let Some(optimizer) = &self.optimizer {
            if !optimizer.state_fits(n) {
                return Err(format!(
                    "the optimizer's state does not hold {n} values per buffer"
                ));
            }
        }
        let n_running = self.general.as_ref().map_or(0, |g| g.net.n_running);
        if !self.callbacks.state_fits(n, n_running) {
            return Err(format!(
                "the callbacks' saved weights or statistics do not hold {n} parameters and \
                 {n_running} statistics"
            ));
        }
        // A continued fit trains on `train_rows[order[..]]`: `order` must be a permutation.
        let mut seen = vec![false; self.order.len()];
        let permutation = self.order.len() == self.train_rows.len()
            && self
                .order
                .iter()
                .all(|&o| o < seen.len() && !std::mem::replace(&mut seen[o], true));
        if !permutation {
            return Err(format!(
                "the saved row order is not a permutation of the {} training rows",
                self.train_rows.len()
            ));
        }
        Ok(())
    }
}

impl<F: Float> Trained<F> {
    /// Output activations for every row of `x`.
    pub(crate) fn predict(&self, x: ArrayView2<F>) -> Array2<F> {
        if let Some(g) = &self.general {
            return predict_layers(&g.net, &self.params, &g.running, x, None);
        }
        predict_outputs(&self.layout, &self.params, self.activation, self.out, x)
    }

    /// Output activations for the rows `rows` of `x`, bitwise equal to [`predict`](Self::predict)
    /// on their copy.
    pub(crate) fn predict_rows(&self, x: ArrayView2<F>, rows: &[usize]) -> Array2<F> {
        if let Some(g) = &self.general {
            return predict_layers(&g.net, &self.params, &g.running, x, Some(rows));
        }
        predict_outputs_rows(
            &self.layout,
            &self.params,
            self.activation,
            self.out,
            x,
            Some(rows),
        )
    }
}
