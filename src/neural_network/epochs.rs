//! The one mini-batch epoch loop (scikit-learn's `_fit_stochastic`), shared by both
//! engines: the early-stopping split, per-epoch shuffles, batch gathering through row lists,
//! the loss curve, held-out scores, scikit-learn's stopping rule, divergence handling,
//! Keras's callbacks, the observer and the restore of the best weights.
//!
//! An [`Engine`] supplies only what differs between networks: the step on one gathered
//! batch, prediction, and the step size's state. The scikit-learn engine
//! (`train::DenseEngine`) fuses bias, activation and optimizer step into its products; the
//! layer engine (`general::LayerEngine`) runs the compiled op list with dropout, batch norm,
//! regularizers, clipping and the Keras optimizers.

use std::cmp::Ordering;
use std::time::Instant;

use linfa::Float;
use ndarray::{Array2, ArrayView2, CowArray, Ix2};

use super::callbacks::{EpochLog, Monitor, TrainingControl};
use super::network::prefetch_rows;
use super::params::{BatchSize, EarlyStoppingMonitor, MlpConfig};
use super::stochastic_optimizers::Schedule;
use super::train::{accuracy_from_outputs, r2_uniform, Task, TrainedState};
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::model_selection::split::stratified_shuffle_split_with;
use crate::random::NumpyRng;

/// What the epoch loop asks of a network engine.
pub(crate) trait Engine<F: Float> {
    /// Sizes the batch buffers for batches of up to `batch_size` rows of an epoch of
    /// `n_train` rows.
    fn begin(&mut self, batch_size: usize, n_train: usize);
    /// Copies rows `x_rows` of `x` and `y_rows` of `y` (the same rows when `y_rows` is
    /// empty) into the batch buffers.
    fn gather(&mut self, x: &ArrayView2<F>, x_rows: &[usize], y: &ArrayView2<F>, y_rows: &[usize]);
    /// One optimizer step on the first `m` gathered rows; returns the batch loss. With
    /// `terminate_on_nan` a non-finite loss leaves the weights as they were.
    fn train_batch(&mut self, params: &mut [F], m: usize, rng: &mut NumpyRng) -> F;
    /// Output activations of the rows `rows` of `x` (all rows when `None`), in blocks whose
    /// results do not depend on the rows predicted alongside.
    fn predict(&self, params: &[F], x: ArrayView2<F>, rows: Option<&[usize]>) -> Array2<F>;
    /// State restored with the weights (batch-norm running statistics; empty otherwise).
    fn running(&mut self) -> &mut Vec<F>;
    /// The step size now in force, for the epoch's log.
    fn learning_rate(&self) -> f64;
    /// End of an epoch after `samples_seen` training rows (scikit-learn's `iteration_ends`).
    fn epoch_ends(&mut self, samples_seen: u64);
    /// The no-improvement counter overflowed: lower the step size (`adaptive`) and go on,
    /// or return `true` to stop (scikit-learn's `trigger_stopping`).
    fn trigger_stopping(&mut self) -> bool;
    /// Multiplies the base step size by `factor`, not below `min_lr` (reduce-on-plateau).
    fn reduce_learning_rate(&mut self, factor: f64, min_lr: f64);
}

/// The state of the stopping rules and callbacks kept between calls, so that continuing a
/// fit equals one longer fit.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "F: serde::Serialize",
        deserialize = "F: serde::de::DeserializeOwned"
    ))
)]
pub(crate) struct CallbackState<F> {
    plateau_best: Option<f64>,
    plateau_wait: usize,
    es_best: Option<f64>,
    es_wait: usize,
    /// Weights and running statistics of Keras's early-stopping best epoch.
    es_best_weights: Option<(Vec<F>, Vec<F>)>,
    checkpoint_best: Option<f64>,
    /// Running statistics of scikit-learn's early-stopping best epoch (with `best_params`).
    best_running: Option<Vec<F>>,
    /// Running statistics the last call ended on (with `live_params`).
    pub(crate) live_running: Option<Vec<F>>,
}

impl<F> CallbackState<F> {
    /// Whether the saved weights and statistics have the network's sizes (`n` parameters,
    /// `n_running` batch-norm statistics).
    pub(crate) fn state_fits(&self, n: usize, n_running: usize) -> bool {
        let running_fits = |r: &Option<Vec<F>>| r.as_ref().is_none_or(|r| r.len() == n_running);
        self.es_best_weights
            .as_ref()
            .is_none_or(|(w, r)| w.len() == n && r.len() == n_running)
            && running_fits(&self.best_running)
            && running_fits(&self.live_running)
    }
}

impl<F> Default for CallbackState<F> {
    fn default() -> Self {
        CallbackState {
            plateau_best: None,
            plateau_wait: 0,
            es_best: None,
            es_wait: 0,
            es_best_weights: None,
            checkpoint_best: None,
            best_running: None,
            live_running: None,
        }
    }
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
    pub(crate) fn is_identity(&self) -> bool {
        self.x.is_none() && self.y.is_none()
    }

    fn x_row(&self, position: usize) -> usize {
        self.x.map_or(position, |r| r[position])
    }

    fn y_row(&self, position: usize) -> usize {
        self.y.map_or(position, |r| r[position])
    }

    pub(crate) fn select<'v, F: Clone>(
        a: ArrayView2<'v, F>,
        rows: Option<&[usize]>,
    ) -> CowArray<'v, F, Ix2> {
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

/// What one call trains on and how it relates to earlier training.
#[derive(Clone, Copy)]
pub(crate) struct EpochCall<'a, F> {
    pub(crate) config: &'a MlpConfig,
    pub(crate) task: Task,
    pub(crate) x: ArrayView2<'a, F>,
    pub(crate) y: ArrayView2<'a, F>,
    /// The rows of `x` and `y` the fit trains on.
    pub(crate) rows: Rows<'a>,
    /// Class ids for the stratified early-stopping split of binary classifiers.
    pub(crate) strata: Option<&'a [usize]>,
    pub(crate) validation: Validation<'a, F>,
    /// Epochs to train at most.
    pub(crate) epochs: usize,
    /// `partial_fit`: one epoch from the natural row order.
    pub(crate) incremental: bool,
    /// A continued run: the split, row order and stopping state carry on.
    pub(crate) continuing: bool,
}

/// Trains `call.epochs` epochs (fewer when a stopping rule fires) on the rows `call.rows` of
/// `call.x` and `call.y`, updating `state` (weights, curves, stopping state, row order)
/// through `engine`.
pub(crate) fn run_epochs<F: Float, E: Engine<F>>(
    call: EpochCall<'_, F>,
    state: &mut TrainedState<F>,
    engine: &mut E,
    rng: &mut NumpyRng,
) -> Result<()> {
    let EpochCall {
        config,
        task,
        x,
        y,
        rows,
        strata,
        validation,
        epochs,
        incremental,
        continuing,
    } = call;
    let arch = &config.arch;
    let keras_es = arch.callbacks_early_stopping;
    let n_total = rows.x.map_or(x.nrows(), <[usize]>::len);
    if incremental && config.early_stopping {
        return Err(invalid_param(
            "early_stopping",
            "partial_fit does not support early stopping",
        ));
    }

    // Training and held-out rows. A continued run keeps its split; otherwise the split is
    // drawn from the generator right after initialization, as scikit-learn does.
    let wants_validation =
        config.early_stopping || keras_es.is_some_and(|e| e.monitor.needs_validation());
    let use_split = wants_validation && validation.is_none();
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
    // A continued fit's rows index the data it is given now.
    if let Some(&row) = state
        .train_rows
        .iter()
        .chain(&state.validation_rows)
        .find(|&&row| row >= n_total)
    {
        return Err(MlpTuneError::InvalidInput(format!(
            "the model continues on row {row} of its training data, but the data has {n_total} \
             rows: continue it on the data it was fitted on"
        )));
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
    if keras_es.is_some_and(|e| e.monitor.needs_validation()) && held_out.is_none() {
        return Err(invalid_param("monitor", "needs a validation set"));
    }
    // scikit-learn's early stopping on held-out rows (else its rule watches the training
    // loss).
    let sk_validation = config.early_stopping && held_out.is_some();

    engine.begin(batch_size, n_train);
    let mut perm: Vec<usize> = vec![0; n_train];
    let mut next_order: Vec<usize> = vec![0; n_train];
    let mut batch_rows: Vec<usize> = vec![0; batch_size];
    // Rows of `y` of the batch, when they differ from those of `x`.
    let mut batch_y_rows: Vec<usize> = vec![0; if rows.y == rows.x { 0 } else { batch_size }];

    if let Some(observer) = &config.observer {
        observer.0.on_train_begin();
    }
    let mut last_log: Option<EpochLog> = None;
    let terminate_on_nan = arch.terminate_on_nan;
    'epochs: for _ in 0..epochs {
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
                engine.gather(&x, &batch_rows[..m], &y, &[]);
            } else {
                for (dy, dx) in batch_y_rows[..m].iter_mut().zip(&mut batch_rows[..m]) {
                    *dy = rows.y_row(*dx);
                    *dx = rows.x_row(*dx);
                }
                engine.gather(&x, &batch_rows[..m], &y, &batch_y_rows[..m]);
            }
            let next = start + m;
            let next_m = batch_size.min(n_train - next);
            prefetch_rows(
                &x,
                state.order[next..next + next_m]
                    .iter()
                    .map(|&o| rows.x_row(state.train_rows[o])),
            );
            let batch_loss = engine.train_batch(&mut state.params, m, rng);
            if terminate_on_nan && !batch_loss.is_finite() {
                // Keras's TerminateOnNaN: stop at once, on the best weights when
                // EarlyStopping keeps them.
                state.n_iter += 1;
                state.stopped = true;
                match state.callbacks.es_best_weights.take() {
                    Some((p, r)) if keras_es.is_some_and(|e| e.restore_best_weights) => {
                        state.params = p;
                        *engine.running() = r;
                        break 'epochs;
                    }
                    _ => {
                        return Err(MlpTuneError::Diverged {
                            epoch: state.n_iter,
                        })
                    }
                }
            }
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
            if sk_validation && state.best_params.is_some() {
                state.diverged_epoch = Some(state.n_iter);
                state.stopped = true;
                break;
            }
            return Err(MlpTuneError::Diverged {
                epoch: state.n_iter,
            });
        }

        let mut validation_score = None;
        let mut validation_loss = None;
        if let Some((xv, xv_rows, yv)) = &held_out {
            let p = match xv {
                Some(xv) => engine.predict(&state.params, *xv, None),
                None => engine.predict(&state.params, x, Some(xv_rows)),
            };
            let score = if task.classifier {
                accuracy_from_outputs(yv.view(), p.view(), task.out)
            } else {
                r2_uniform(yv.view(), p.view())
            };
            let vloss = task
                .out
                .loss(yv.view(), p.view())
                .to_f64()
                .unwrap_or(f64::NAN);
            state.validation_scores.push(score);
            state.validation_loss_curve.push(vloss);
            validation_score = Some(score);
            validation_loss = Some(vloss);
        }

        // scikit-learn's stopping counter (tol, n_iter_no_change): on the held-out score or
        // loss under its early stopping, else on the training loss.
        let (improved_by_tol, is_best) = if sk_validation {
            match config.early_stopping_monitor {
                EarlyStoppingMonitor::ValidationScore => {
                    let best = state.best_validation_score.unwrap_or(f64::NEG_INFINITY);
                    let score = validation_score.unwrap_or(f64::NAN);
                    // NaN counts as no worse, as in scikit-learn's `score < best + tol` test.
                    (
                        score.partial_cmp(&(best + config.tol)) != Some(Ordering::Less),
                        score > best,
                    )
                }
                EarlyStoppingMonitor::ValidationLoss => {
                    let best = state.best_validation_loss.unwrap_or(f64::INFINITY);
                    let vloss = validation_loss.unwrap_or(f64::NAN);
                    if vloss < best {
                        state.best_validation_loss = Some(vloss);
                    }
                    (
                        vloss.partial_cmp(&(best - config.tol)) != Some(Ordering::Greater),
                        vloss < best,
                    )
                }
            }
        } else {
            let best = state.best_loss.unwrap_or(f64::INFINITY);
            if loss < best {
                state.best_loss = Some(loss);
            }
            (loss <= best - config.tol, false)
        };
        if let Some(score) = validation_score {
            if score > state.best_validation_score.unwrap_or(f64::NEG_INFINITY) {
                state.best_validation_score = Some(score);
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
            let running = engine.running();
            match &mut state.callbacks.best_running {
                Some(r) => r.copy_from_slice(running),
                None => state.callbacks.best_running = Some(running.clone()),
            }
        }
        engine.epoch_ends(state.t);
        let mut stop = false;
        if state.no_improvement_count > config.n_iter_no_change {
            if engine.trigger_stopping() {
                stop = true;
            } else {
                state.no_improvement_count = 0;
            }
        }

        // Reduce-on-plateau: validation loss when held out, else the training loss.
        if let Some(Schedule::ReduceOnPlateau {
            factor,
            patience,
            min_delta,
            min_lr,
        }) = arch.effective_schedule()
        {
            let cb = &mut state.callbacks;
            let current = validation_loss.unwrap_or(loss);
            if Monitor::TrainingLoss.improves(current, cb.plateau_best, min_delta) {
                cb.plateau_best = Some(current);
                cb.plateau_wait = 0;
            } else {
                cb.plateau_wait += 1;
                if cb.plateau_wait >= patience {
                    engine.reduce_learning_rate(factor, min_lr);
                    cb.plateau_wait = 0;
                }
            }
        }

        let log = EpochLog {
            epoch: state.n_iter,
            loss,
            validation_score,
            validation_loss,
            learning_rate: engine.learning_rate(),
            seconds: started.elapsed().as_secs_f64(),
        };

        // Keras's EarlyStopping.
        if let Some(es) = keras_es {
            if state.n_iter > es.start_from_epoch {
                if let Some(current) = es.monitor.value(&log) {
                    let cb = &mut state.callbacks;
                    if es.monitor.improves(current, cb.es_best, es.min_delta) {
                        cb.es_best = Some(current);
                        cb.es_wait = 0;
                        if es.restore_best_weights {
                            let running = engine.running();
                            match &mut cb.es_best_weights {
                                Some((p, r)) => {
                                    p.copy_from_slice(&state.params);
                                    r.copy_from_slice(running);
                                }
                                None => {
                                    cb.es_best_weights =
                                        Some((state.params.clone(), running.clone()))
                                }
                            }
                        }
                    } else {
                        // Keras: stop once `patience` epochs in a row failed to improve.
                        cb.es_wait += 1;
                        if cb.es_wait >= es.patience {
                            stop = true;
                        }
                    }
                }
            }
        }

        if let Some(path) = &arch.checkpoint {
            let monitor = keras_es
                .map(|e| e.monitor)
                .unwrap_or(if held_out.is_some() {
                    Monitor::ValidationLoss
                } else {
                    Monitor::TrainingLoss
                });
            if let Some(current) = monitor.value(&log) {
                if monitor.improves(current, state.callbacks.checkpoint_best, 0.0) {
                    state.callbacks.checkpoint_best = Some(current);
                    write_checkpoint(
                        path,
                        state.n_iter,
                        monitor,
                        current,
                        &state.params,
                        engine.running(),
                    )?;
                }
            }
        }

        if let Some(observer) = &config.observer {
            if observer.0.on_epoch_end(&log) == TrainingControl::Stop {
                stop = true;
            }
        }
        last_log = Some(log);
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

    // Restore the best weights; a run that did not stop keeps the weights it ended on, so
    // that continuing it equals training in one go.
    let keras_restore = keras_es.is_some_and(|e| e.restore_best_weights)
        && state.callbacks.es_best_weights.is_some();
    let sk_restore = sk_validation && state.best_params.is_some();
    if (sk_restore || keras_restore) && !state.stopped {
        state.live_params = Some(state.params.clone());
        state.callbacks.live_running = Some(engine.running().clone());
    }
    if sk_restore {
        if let Some(best) = &state.best_params {
            state.params.copy_from_slice(best);
        }
        if let Some(r) = &state.callbacks.best_running {
            engine.running().copy_from_slice(r);
        }
    }
    if keras_restore {
        if let Some((p, r)) = &state.callbacks.es_best_weights {
            state.params.copy_from_slice(p);
            engine.running().copy_from_slice(r);
        }
    }
    if state.params.iter().any(|v| !v.is_finite()) {
        return Err(MlpTuneError::Diverged {
            epoch: state.n_iter,
        });
    }
    Ok(())
}

#[cfg(feature = "serde")]
fn write_checkpoint<F: Float>(
    path: &std::path::Path,
    epoch: usize,
    monitor: Monitor,
    value: f64,
    params: &[F],
    running: &[F],
) -> Result<()> {
    let to64 = |v: &[F]| v.iter().map(|x| x.to_f64().unwrap_or(f64::NAN)).collect();
    super::callbacks::Checkpoint {
        epoch,
        monitor,
        value,
        params: to64(params),
        running: to64(running),
    }
    .save(path)
}

#[cfg(not(feature = "serde"))]
fn write_checkpoint<F: Float>(
    _path: &std::path::Path,
    _epoch: usize,
    _monitor: Monitor,
    _value: f64,
    _params: &[F],
    _running: &[F],
) -> Result<()> {
    Err(invalid_param(
        "checkpoint",
        "writing checkpoints needs the `serde` feature",
    ))
}
