//! The training loop of the layer engine: scikit-learn's mini-batch loop (same shuffles,
//! split and stopping rule) plus dropout/noise draws, batch-norm statistics, Keras-style
//! optimizers, clipping, schedules and callbacks.

use std::cmp::Ordering;
use std::time::Instant;

use linfa::Float;
use ndarray::{ArrayView2, CowArray, Ix2};

use super::callbacks::{EpochLog, Monitor, TrainingControl};
use super::layers::{backward, forward, predict, Mode, Net, NetWorkspace};
use super::params::{BatchSize, EarlyStoppingMonitor, MlpConfig, Solver};
use super::stochastic_optimizers::{
    clip_gradients, GeneralOptimizer, LearningRate, OptimizerKind, Schedule,
};
use super::train::{
    accuracy_from_outputs, r2_uniform, reshuffle, validation_split, Task, Trained, Validation,
};
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
    plateau_best: Option<f64>,
    plateau_wait: usize,
    es_best: Option<f64>,
    es_wait: usize,
    es_best_weights: Option<(Vec<F>, Vec<F>)>,
    /// Running statistics of scikit-learn's early-stopping best epoch.
    sk_best_running: Option<Vec<F>>,
    checkpoint_best: Option<f64>,
}

/// Whether a configuration needs the layer engine.
pub(crate) fn needs_layer_engine(config: &MlpConfig) -> bool {
    !config.arch.is_sklearn() || !config.activation.is_sklearn()
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
            plateau_best: None,
            plateau_wait: 0,
            es_best: None,
            es_wait: 0,
            es_best_weights: None,
            sk_best_running: None,
            checkpoint_best: None,
        },
    )
}

/// The optimizer a configuration asks for: `optimizer` if set, else scikit-learn's solver
/// with its own settings.
fn optimizer_kind(config: &MlpConfig) -> Result<OptimizerKind> {
    if let Some(k) = config.arch.effective_optimizer() {
        return Ok(k);
    }
    match config.solver {
        Solver::Sgd => Ok(OptimizerKind::Sgd {
            momentum: config.momentum,
            nesterov: config.nesterovs_momentum && config.momentum > 0.0,
        }),
        Solver::Adam => Ok(OptimizerKind::Adam {
            beta_1: config.beta_1,
            beta_2: config.beta_2,
            epsilon: config.epsilon,
            amsgrad: false,
        }),
        Solver::Lbfgs => Err(invalid_param(
            "solver",
            "lbfgs does not combine with the layer knobs (dropout, batch norm, regularizers, \
             non-scikit-learn activations, ...); choose sgd/adam or an `optimizer`",
        )),
    }
}

impl<F: Float> Trained<F> {
    /// Output activations through the layer engine.
    pub(crate) fn predict_general(&self, g: &GeneralState<F>, x: ArrayView2<F>) -> Array2Out<F> {
        predict(&g.net, &self.params, &g.running, x)
    }
}

type Array2Out<F> = ndarray::Array2<F>;

/// The mini-batch loop of the layer engine (mirrors `fit_stochastic`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_general<F: Float>(
    config: &MlpConfig,
    task: Task,
    state: &mut Trained<F>,
    rng: &mut NumpyRng,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    strata: Option<&[usize]>,
    validation: Validation<'_, F>,
    epochs: usize,
    incremental: bool,
    continuing: bool,
) -> Result<()> {
    let kind = optimizer_kind(config)?;
    let mut g = state
        .general
        .take()
        .ok_or_else(|| MlpTuneError::InvalidInput("layer engine state missing".into()))?;
    let result = run(
        config,
        task,
        state,
        &mut g,
        kind,
        rng,
        x,
        y,
        strata,
        validation,
        epochs,
        incremental,
        continuing,
    );
    state.general = Some(g);
    result
}

#[allow(clippy::too_many_arguments)]
fn run<F: Float>(
    config: &MlpConfig,
    task: Task,
    state: &mut Trained<F>,
    g: &mut GeneralState<F>,
    kind: OptimizerKind,
    rng: &mut NumpyRng,
    x: ArrayView2<F>,
    y: ArrayView2<F>,
    strata: Option<&[usize]>,
    validation: Validation<'_, F>,
    epochs: usize,
    incremental: bool,
    continuing: bool,
) -> Result<()> {
    let n_total = x.nrows();
    let arch = &config.arch;
    let es_cfg = arch.callbacks_early_stopping;
    if g.optimizer.is_none() || !(incremental || continuing) {
        g.optimizer = Some(GeneralOptimizer::new(kind, g.net.n_params));
        g.lr = config.learning_rate_init;
    }
    let wants_validation =
        config.early_stopping || es_cfg.is_some_and(|e| e.monitor.needs_validation());
    let use_split = wants_validation && validation.is_none();
    if incremental && use_split {
        return Err(invalid_param(
            "early_stopping",
            "partial_fit does not support early stopping",
        ));
    }
    if !continuing || state.train_rows.is_empty() {
        let (train_rows, validation_rows) = if use_split {
            validation_split(config, task, y.ncols(), strata, n_total, rng)?
        } else {
            ((0..n_total).collect(), Vec::new())
        };
        state.train_rows = train_rows;
        state.validation_rows = validation_rows;
        state.order = (0..state.train_rows.len()).collect();
    }
    if incremental {
        state.order = (0..state.train_rows.len()).collect();
    }
    let n_train = state.train_rows.len();
    if n_train == 0 {
        return Err(MlpTuneError::InvalidInput("no training rows".into()));
    }
    let batch_size = match config.batch_size {
        BatchSize::Auto => n_train.min(200),
        BatchSize::Fixed(b) => b.clamp(1, n_train),
    };
    let held_out: Option<(CowArray<F, Ix2>, CowArray<F, Ix2>)> = match validation {
        Some((xv, yv)) => Some((xv.into(), yv.into())),
        None if use_split => Some((
            x.select(ndarray::Axis(0), &state.validation_rows).into(),
            y.select(ndarray::Axis(0), &state.validation_rows).into(),
        )),
        None => None,
    };
    if es_cfg.is_some_and(|e| e.monitor.needs_validation()) && held_out.is_none() {
        return Err(invalid_param("monitor", "needs a validation set"));
    }
    let sk_validation = config.early_stopping && held_out.is_some();

    let net = g.net.clone();
    let mut ws = NetWorkspace::new(&net, batch_size);
    let mut perm: Vec<usize> = vec![0; n_train];
    let mut next_order: Vec<usize> = vec![0; n_train];
    let mut batch_rows: Vec<usize> = vec![0; batch_size];
    let mut optimizer = g
        .optimizer
        .take()
        .ok_or_else(|| MlpTuneError::InvalidInput("optimizer state missing".into()))?;
    let batches_per_epoch = n_train.div_ceil(batch_size) as u64;
    let total_steps = batches_per_epoch * config.max_iter as u64;
    if let Some(obs) = &config.observer {
        obs.0.on_train_begin();
    }
    let mut last_log: Option<EpochLog> = None;
    let mut outcome: Result<()> = Ok(());

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
            ws.gather(&x, &y, &batch_rows[..m]);
            forward(
                &net,
                &state.params,
                &mut g.running,
                &mut ws,
                m,
                Mode::Train,
                rng,
            );
            let batch_loss = backward(&net, &state.params, &mut ws, m, config.alpha);
            if arch.terminate_on_nan && !batch_loss.is_finite() {
                state.n_iter += 1;
                state.stopped = true;
                outcome = match g.es_best_weights.take() {
                    Some((p, r)) if es_cfg.is_some_and(|e| e.restore_best_weights) => {
                        state.params = p;
                        g.running = r;
                        Ok(())
                    }
                    _ => Err(MlpTuneError::Diverged {
                        epoch: state.n_iter,
                    }),
                };
                break 'epochs;
            }
            accumulated += batch_loss * F::from(m).unwrap_or_else(F::one);
            // Frozen layers' gradients are left out of the clipping norm, as Keras clips
            // over trainable variables only.
            zero_outside(&mut ws.grads, &net.trainable);
            clip_gradients(&mut ws.grads, arch.clipnorm, arch.clipvalue);
            let lr = match &arch.lr_schedule {
                Some(s) => s.at_step(g.lr, optimizer.t, total_steps),
                None => g.lr,
            };
            optimizer.step_ranges(&mut state.params, &ws.grads, lr, &net.trainable);
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
            outcome = Err(MlpTuneError::Diverged {
                epoch: state.n_iter,
            });
            break;
        }

        let mut validation_score = None;
        let mut validation_loss = None;
        let prev_best_score = state.best_validation_score.unwrap_or(f64::NEG_INFINITY);
        if let Some((xv, yv)) = &held_out {
            let p = predict(&net, &state.params, &g.running, xv.view());
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
            if score > state.best_validation_score.unwrap_or(f64::NEG_INFINITY) {
                state.best_validation_score = Some(score);
            }
        }

        // scikit-learn's stopping rule (tol, n_iter_no_change), on the validation score or
        // loss under its early_stopping, else on the training loss.
        let mut stop = false;
        let (improved_by_tol, is_best) = if sk_validation {
            match config.early_stopping_monitor {
                EarlyStoppingMonitor::ValidationScore => {
                    let best = prev_best_score;
                    let score = validation_score.unwrap_or(f64::NAN);
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
        if improved_by_tol {
            state.no_improvement_count = 0;
        } else {
            state.no_improvement_count += 1;
        }
        if sk_validation && is_best {
            match &mut state.best_params {
                Some(b) => b.copy_from_slice(&state.params),
                None => state.best_params = Some(state.params.clone()),
            }
            match &mut g.sk_best_running {
                Some(r) => r.copy_from_slice(&g.running),
                None => g.sk_best_running = Some(g.running.clone()),
            }
        }
        if config.learning_rate == LearningRate::InvScaling {
            g.lr = config.learning_rate_init / ((state.t + 1) as f64).powf(config.power_t);
        }
        if state.no_improvement_count > config.n_iter_no_change {
            if config.learning_rate == LearningRate::Adaptive && g.lr > 1e-6 {
                g.lr /= 5.0;
                state.no_improvement_count = 0;
            } else {
                stop = true;
            }
        }

        // Reduce-on-plateau: validation loss when held out, else the training loss.
        if let Some(Schedule::ReduceOnPlateau {
            factor,
            patience,
            min_delta,
            min_lr,
        }) = arch.lr_schedule
        {
            let current = validation_loss.unwrap_or(loss);
            if Monitor::TrainingLoss.improves(current, g.plateau_best, min_delta) {
                g.plateau_best = Some(current);
                g.plateau_wait = 0;
            } else {
                g.plateau_wait += 1;
                if g.plateau_wait >= patience {
                    g.lr = (g.lr * factor).max(min_lr);
                    g.plateau_wait = 0;
                }
            }
        }

        let log = EpochLog {
            epoch: state.n_iter,
            loss,
            validation_score,
            validation_loss,
            learning_rate: match &arch.lr_schedule {
                Some(s) => s.at_step(g.lr, optimizer.t, total_steps),
                None => g.lr,
            },
            seconds: started.elapsed().as_secs_f64(),
        };

        // Keras's EarlyStopping.
        if let Some(es) = es_cfg {
            if state.n_iter > es.start_from_epoch {
                if let Some(current) = es.monitor.value(&log) {
                    if es.monitor.improves(current, g.es_best, es.min_delta) {
                        g.es_best = Some(current);
                        g.es_wait = 0;
                        if es.restore_best_weights {
                            match &mut g.es_best_weights {
                                Some((p, r)) => {
                                    p.copy_from_slice(&state.params);
                                    r.copy_from_slice(&g.running);
                                }
                                None => {
                                    g.es_best_weights =
                                        Some((state.params.clone(), g.running.clone()))
                                }
                            }
                        }
                    } else {
                        // Keras: stop once `patience` epochs in a row failed to improve.
                        g.es_wait += 1;
                        if g.es_wait >= es.patience {
                            stop = true;
                        }
                    }
                }
            }
        }

        if let Some(path) = &arch.checkpoint {
            let monitor = es_cfg.map(|e| e.monitor).unwrap_or(if held_out.is_some() {
                Monitor::ValidationLoss
            } else {
                Monitor::TrainingLoss
            });
            if let Some(current) = monitor.value(&log) {
                if monitor.improves(current, g.checkpoint_best, 0.0) {
                    g.checkpoint_best = Some(current);
                    write_checkpoint(
                        path,
                        state.n_iter,
                        monitor,
                        current,
                        &state.params,
                        &g.running,
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
    g.optimizer = Some(optimizer);
    outcome?;
    if let Some(observer) = &config.observer {
        observer.0.on_train_end(last_log.as_ref());
    }
    if sk_validation {
        if let Some(best) = &state.best_params {
            state.params.copy_from_slice(best);
            if let Some(r) = &g.sk_best_running {
                g.running.copy_from_slice(r);
            }
        }
    }
    if es_cfg.is_some_and(|e| e.restore_best_weights) {
        if let Some((p, r)) = &g.es_best_weights {
            state.params.copy_from_slice(p);
            g.running.copy_from_slice(r);
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
