//! The training loops (scikit-learn's `_fit_stochastic` and `_fit_lbfgs`), shared by both
//! estimators. Estimators turn their targets into a float matrix (one-hot or 0/1 for
//! classifiers) and call [`train`].

use std::cmp::Ordering;
use std::time::Instant;

use linfa::Float;
use ndarray::{s, Array2, ArrayView2, CowArray, Ix2, Zip};

use super::base::{Activation, OutActivation};
use super::callbacks::{EpochLog, TrainingControl};
use super::gemm::with_kernel_threads;
use super::general::{build_net, fit_general, init_state, needs_layer_engine, GeneralState};
use super::lbfgs;
use super::network::{
    full_batch_loss_grad, init_params_sklearn, predict_outputs, predict_outputs_rows,
    prefetch_rows, train_step, Layout, Workspace,
};
use super::params::{BatchSize, EarlyStoppingMonitor, MlpConfig, Solver};
use super::stochastic_optimizers::Optimizer;
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::model_selection::split::stratified_shuffle_split_with;
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
pub(crate) struct Trained<F> {
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
    optimizer: Option<Optimizer<F>>,
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

/// scikit-learn's early-stopping split of `n_total` rows into (training, validation) rows,
/// drawn from `rng` right after initialization: `ceil(validation_fraction · n)` held out,
/// stratified for single-output (binary) classifiers, a permutation otherwise.
pub(crate) fn validation_split(
    config: &MlpConfig,
    task: Task,
    n_outputs: usize,
    strata: Option<&[usize]>,
    n_total: usize,
    rng: &mut NumpyRng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let n_val = (config.validation_fraction * n_total as f64).ceil() as usize;
    if n_val < 2 || n_val >= n_total {
        return Err(MlpTuneError::InvalidInput(format!(
            "early stopping needs at least 2 validation rows and 1 training row; validation_fraction {} of {} rows gives {}",
            config.validation_fraction, n_total, n_val
        )));
    }
    match (task.classifier && n_outputs == 1, strata) {
        (true, Some(classes)) => {
            stratified_shuffle_split_with(classes, n_total - n_val, n_val, rng)
        }
        _ => {
            let perm = rng.permutation(n_total);
            Ok((perm[n_val..].to_vec(), perm[..n_val].to_vec()))
        }
    }
}

/// scikit-learn's per-epoch `shuffle(X, y)`: permutes `order` with one `shuffle` of
/// `0..n` drawn from `rng`, through the reused buffers `perm` and `next_order` (no
/// allocation per epoch).
pub(crate) fn reshuffle(
    rng: &mut NumpyRng,
    perm: &mut [usize],
    order: &mut Vec<usize>,
    next_order: &mut Vec<usize>,
) {
    for (i, p) in perm.iter_mut().enumerate() {
        *p = i;
    }
    rng.shuffle(perm);
    for (dst, &p) in next_order.iter_mut().zip(perm.iter()) {
        *dst = order[p];
    }
    std::mem::swap(order, next_order);
}

/// The rows of shared arrays a fit trains on: position `i` of the fit is row `x[i]` of the
/// records and row `y[i]` of the targets (the position itself when `None`). A search fits
/// every fold through its row list instead of copying the fold out of the data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rows<'a> {
    pub(crate) x: Option<&'a [usize]>,
    pub(crate) y: Option<&'a [usize]>,
}

impl Rows<'_> {
    fn is_identity(&self) -> bool {
        self.x.is_none() && self.y.is_none()
    }

    fn x_row(&self, position: usize) -> usize {
        self.x.map_or(position, |r| r[position])
    }

    fn y_row(&self, position: usize) -> usize {
        self.y.map_or(position, |r| r[position])
    }

    fn select<'v, F: Clone>(a: ArrayView2<'v, F>, rows: Option<&[usize]>) -> CowArray<'v, F, Ix2> {
        match rows {
            Some(r) => a.select(ndarray::Axis(0), r).into(),
            None => a.into(),
        }
    }
}

/// Held-out rows of a fit: an explicit validation set's records, or (when `None`) the fit's
/// records at the listed rows; and their targets.
type HeldOut<'a, F> = (Option<ArrayView2<'a, F>>, Vec<usize>, CowArray<'a, F, Ix2>);

/// Explicit held-out rows instead of the `validation_fraction` split.
pub(crate) type Validation<'a, F> = Option<(ArrayView2<'a, F>, ArrayView2<'a, F>)>;

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
/// list, with bitwise the same result as training on the selected copy; the layer engine
/// and L-BFGS train on a copy of the rows.
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
        if !rows.is_identity() && (needs_layer_engine(config) || config.solver == Solver::Lbfgs) {
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
    let mut layer_units = vec![n_features];
    layer_units.extend_from_slice(&config.hidden_layer_sizes);
    layer_units.push(n_outputs);
    let layered = needs_layer_engine(config);
    let hidden: Vec<usize> = if layered {
        config
            .arch
            .hidden_specs(&config.hidden_layer_sizes, config.activation)
            .iter()
            .map(|l| l.units)
            .filter(|&u| u > 0)
            .collect()
    } else {
        config.hidden_layer_sizes.clone()
    };
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
            let state = Trained {
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
            };
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
            (prev, rng, extra, false, true)
        }
    };

    if layered {
        fit_general(
            config,
            task,
            &mut state,
            &mut rng,
            x,
            y,
            strata,
            validation,
            epochs,
            incremental,
            continuing,
        )?;
        state.rng = Some(rng);
        return Ok(state);
    }
    if config.solver == Solver::Lbfgs {
        if incremental {
            return Err(MlpTuneError::InvalidParameter {
                name: "solver".into(),
                reason: "partial_fit is only available for the stochastic solvers (sgd, adam), not lbfgs".into(),
            });
        }
        fit_lbfgs(config, &mut state, x, y, epochs)?;
        return Ok(state);
    }
    if incremental && config.early_stopping {
        return Err(MlpTuneError::InvalidParameter {
            name: "early_stopping".into(),
            reason: "partial_fit does not support early stopping".into(),
        });
    }
    fit_stochastic(
        config,
        task,
        &mut state,
        &mut rng,
        x,
        y,
        rows,
        strata,
        validation,
        epochs,
        incremental,
        continuing,
    )?;
    state.rng = Some(rng);
    Ok(state)
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

#[allow(clippy::too_many_arguments)]
fn fit_stochastic<F: Float>(
    config: &MlpConfig,
    task: Task,
    state: &mut Trained<F>,
    rng: &mut NumpyRng,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    rows: Rows<'_>,
    strata: Option<&[usize]>,
    validation: Validation<'_, F>,
    epochs: usize,
    incremental: bool,
    continuing: bool,
) -> Result<()> {
    let n_total = rows.x.map_or(x.nrows(), <[usize]>::len);
    let layout = state.layout.clone();
    if state.optimizer.is_none() || !(incremental || continuing) {
        state.optimizer = Some(match config.solver {
            Solver::Sgd => Optimizer::sgd(
                layout.len(),
                config.learning_rate_init,
                config.learning_rate,
                config.momentum,
                config.nesterovs_momentum,
                config.power_t,
            ),
            _ => Optimizer::adam(
                layout.len(),
                config.learning_rate_init,
                config.beta_1,
                config.beta_2,
                config.epsilon,
            ),
        });
    }

    // Training and held-out rows. A continued run keeps its split; otherwise the split is
    // drawn from the generator right after initialization, as scikit-learn does.
    let use_split = config.early_stopping && validation.is_none();
    if !continuing || state.train_rows.is_empty() {
        let (train_rows, validation_rows) = if use_split {
            validation_split(config, task, y.ncols(), strata, n_total, rng)?
        } else {
            ((0..n_total).collect(), Vec::new())
        };
        state.train_rows = train_rows;
        state.validation_rows = validation_rows;
        state.order = (0..state.train_rows.len()).collect();
        if !continuing && !incremental {
            if use_split || validation.is_some() {
                state.best_validation_score.get_or_insert(f64::NEG_INFINITY);
            } else {
                state.best_loss.get_or_insert(f64::INFINITY);
            }
        }
    }
    if incremental {
        // partial_fit: every call starts from the natural order, as scikit-learn does.
        state.order = (0..state.train_rows.len()).collect();
        state.best_loss.get_or_insert(f64::INFINITY);
    }
    let n_train = state.train_rows.len();
    if n_train == 0 {
        return Err(MlpTuneError::InvalidInput("no training rows".into()));
    }
    let batch_size = match config.batch_size {
        BatchSize::Auto => n_train.min(200),
        BatchSize::Fixed(b) => b.clamp(1, n_train),
    };

    // Held-out data. An explicit validation set is borrowed. A split's records stay in the
    // shared data and are predicted through their row list (in the same blocks as a copy
    // would be, so with the same bits); only their targets are gathered, once per fit.
    let held_out: Option<HeldOut<F>> = match validation {
        Some((xv, yv)) => Some((Some(xv), Vec::new(), yv.into())),
        None if use_split => {
            let x_rows = state.validation_rows.iter().map(|&p| rows.x_row(p));
            let y_rows: Vec<usize> = state
                .validation_rows
                .iter()
                .map(|&p| rows.y_row(p))
                .collect();
            Some((
                None,
                x_rows.collect(),
                y.select(ndarray::Axis(0), &y_rows).into(),
            ))
        }
        None => None,
    };
    let monitor_validation = held_out.is_some();

    let mut ws = Workspace::new(&layout, batch_size);
    let mut perm: Vec<usize> = vec![0; n_train];
    let mut next_order: Vec<usize> = vec![0; n_train];
    let mut batch_rows: Vec<usize> = vec![0; batch_size];
    // Rows of `y` of the batch, when they differ from those of `x`.
    let mut batch_y_rows: Vec<usize> = vec![0; if rows.y == rows.x { 0 } else { batch_size }];
    let mut optimizer = state
        .optimizer
        .take()
        .ok_or_else(|| MlpTuneError::InvalidInput("optimizer state missing".into()))?;

    if let Some(observer) = &config.observer {
        observer.0.on_train_begin();
    }
    let mut last_log: Option<EpochLog> = None;
    for _ in 0..epochs {
        let started = Instant::now();
        if config.shuffle {
            reshuffle(rng, &mut perm, &mut state.order, &mut next_order);
        }
        let mut accumulated = F::zero();
        let mut start = 0;
        while start < n_train {
            let m = batch_size.min(n_train - start);
            for (dst, &o) in batch_rows[..m]
                .iter_mut()
                .zip(&state.order[start..start + m])
            {
                *dst = state.train_rows[o];
            }
            if batch_y_rows.is_empty() {
                for dst in &mut batch_rows[..m] {
                    *dst = rows.x_row(*dst);
                }
                ws.gather(&x, &y, &batch_rows[..m]);
            } else {
                for (dy, dx) in batch_y_rows[..m].iter_mut().zip(&mut batch_rows[..m]) {
                    *dy = rows.y_row(*dx);
                    *dx = rows.x_row(*dx);
                }
                ws.gather_split(&x, &batch_rows[..m], &y, &batch_y_rows[..m]);
            }
            let next = start + m;
            let next_m = batch_size.min(n_train - next);
            prefetch_rows(
                &x,
                state.order[next..next + next_m]
                    .iter()
                    .map(|&o| rows.x_row(state.train_rows[o])),
            );
            let batch_loss = train_step(
                &layout,
                &mut state.params,
                state.activation,
                state.out,
                &mut ws,
                m,
                config.alpha,
                &mut optimizer,
            );
            accumulated += batch_loss * F::from(m).unwrap_or_else(F::one);
            start += m;
        }
        state.n_iter += 1;
        let loss = (accumulated / F::from(n_train).unwrap_or_else(F::one))
            .to_f64()
            .unwrap_or(f64::NAN);
        state.t += n_train as u64;
        state.loss = loss;
        state.loss_curve.push(loss);
        if !loss.is_finite() {
            // With early stopping on held-out rows, scikit-learn trains on through the NaNs
            // and then restores the best weights; a non-finite loss never recovers, so stop
            // here and restore them (below) with the same result. Without a snapshot to
            // fall back on, divergence is an error.
            if config.early_stopping && monitor_validation && state.best_params.is_some() {
                state.diverged_epoch = Some(state.n_iter);
                state.stopped = true;
                break;
            }
            state.optimizer = Some(optimizer);
            return Err(MlpTuneError::Diverged {
                epoch: state.n_iter,
            });
        }

        // Stopping counter: on the held-out score (or loss), else on the training loss.
        let mut validation_score = None;
        let mut validation_loss = None;
        if let Some((xv, xv_rows, yv)) = &held_out {
            let p = match xv {
                Some(xv) => {
                    predict_outputs(&layout, &state.params, state.activation, state.out, *xv)
                }
                None => predict_outputs_rows(
                    &layout,
                    &state.params,
                    state.activation,
                    state.out,
                    x,
                    Some(xv_rows),
                ),
            };
            let score = if task.classifier {
                accuracy_from_outputs(yv.view(), p.view(), state.out)
            } else {
                r2_uniform(yv.view(), p.view())
            };
            let vloss = state
                .out
                .loss(yv.view(), p.view())
                .to_f64()
                .unwrap_or(f64::NAN);
            state.validation_scores.push(score);
            state.validation_loss_curve.push(vloss);
            validation_score = Some(score);
            validation_loss = Some(vloss);
        }
        if config.early_stopping && monitor_validation {
            let improved_by_tol;
            let is_best;
            match config.early_stopping_monitor {
                EarlyStoppingMonitor::ValidationScore => {
                    let best = state.best_validation_score.unwrap_or(f64::NEG_INFINITY);
                    let score = validation_score.unwrap_or(f64::NAN);
                    // NaN counts as no worse, as in scikit-learn's `score < best + tol` test.
                    improved_by_tol =
                        score.partial_cmp(&(best + config.tol)) != Some(Ordering::Less);
                    is_best = score > best;
                    if is_best {
                        state.best_validation_score = Some(score);
                    }
                }
                EarlyStoppingMonitor::ValidationLoss => {
                    let best = state.best_validation_loss.unwrap_or(f64::INFINITY);
                    let vloss = validation_loss.unwrap_or(f64::NAN);
                    improved_by_tol =
                        vloss.partial_cmp(&(best - config.tol)) != Some(Ordering::Greater);
                    is_best = vloss < best;
                    if is_best {
                        state.best_validation_loss = Some(vloss);
                    }
                    if let Some(score) = validation_score {
                        let b = state.best_validation_score.unwrap_or(f64::NEG_INFINITY);
                        if score > b {
                            state.best_validation_score = Some(score);
                        }
                    }
                }
            }
            if improved_by_tol {
                state.no_improvement_count = 0;
            } else {
                state.no_improvement_count += 1;
            }
            if is_best {
                match &mut state.best_params {
                    Some(best) => best.copy_from_slice(&state.params),
                    None => state.best_params = Some(state.params.clone()),
                }
            }
        } else {
            if let Some(score) = validation_score {
                if score > state.best_validation_score.unwrap_or(f64::NEG_INFINITY) {
                    state.best_validation_score = Some(score);
                }
            }
            let best = state.best_loss.unwrap_or(f64::INFINITY);
            if loss > best - config.tol {
                state.no_improvement_count += 1;
            } else {
                state.no_improvement_count = 0;
            }
            if loss < best {
                state.best_loss = Some(loss);
            }
        }
        optimizer.iteration_ends(state.t);

        let mut stop = false;
        if state.no_improvement_count > config.n_iter_no_change {
            if optimizer.trigger_stopping() {
                stop = true;
            } else {
                state.no_improvement_count = 0;
            }
        }
        if let Some(observer) = &config.observer {
            let log = EpochLog {
                epoch: state.n_iter,
                loss,
                validation_score,
                validation_loss,
                learning_rate: optimizer.learning_rate(),
                seconds: started.elapsed().as_secs_f64(),
            };
            if observer.0.on_epoch_end(&log) == TrainingControl::Stop {
                stop = true;
            }
            last_log = Some(log);
        }
        if stop {
            state.stopped = true;
            break;
        }
        if incremental {
            break;
        }
    }
    if let Some(observer) = &config.observer {
        observer.0.on_train_end(last_log.as_ref());
    }
    state.optimizer = Some(optimizer);
    if config.early_stopping && monitor_validation {
        if let Some(best) = &state.best_params {
            state.live_params = (!state.stopped).then(|| state.params.clone());
            state.params.copy_from_slice(best);
        }
    }
    if state.params.iter().any(|v| !v.is_finite()) {
        return Err(MlpTuneError::Diverged {
            epoch: state.n_iter,
        });
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

impl<F: Float> Trained<F> {
    /// Output activations for every row of `x`.
    pub(crate) fn predict(&self, x: ArrayView2<F>) -> Array2<F> {
        if let Some(g) = &self.general {
            return self.predict_general(g, x);
        }
        predict_outputs(&self.layout, &self.params, self.activation, self.out, x)
    }

    /// Output activations for the rows `rows` of `x`, bitwise equal to [`predict`](Self::predict)
    /// on their copy.
    pub(crate) fn predict_rows(&self, x: ArrayView2<F>, rows: &[usize]) -> Array2<F> {
        if let Some(g) = &self.general {
            return self.predict_general(g, x.select(ndarray::Axis(0), rows).view());
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
