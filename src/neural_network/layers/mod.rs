//! The generalized layer engine: per-layer specifications (Keras-style dense layers with
//! dropout, batch normalization, regularizers, initializers) for the knobs scikit-learn's MLP
//! does not have.
//!
//! Every configuration compiles to an op list (`Net`). One that is plain dense layers with
//! scikit-learn's activation and initialization (`Net::is_plain_dense`) runs on the fused
//! scikit-learn engine (`network/`), in scikit-learn's floating-point order; any other op
//! list, a Keras step or callback, or pretrained weights run here. Both share the parameter layout of dense layers (all
//! coefficient matrices, then all intercepts), so [`coefs`](super::MLPRegressor::coefs) and
//! [`intercepts`](super::MLPRegressor::intercepts) keep their meaning; batch-normalization
//! scales and shifts and PReLU slopes follow them in the flat buffer.
//!
//! Layer types that reshape or mask sequences or images (Keras's `Flatten`, `Reshape`,
//! `Permute`, `Masking`, `RepeatVector`) have no meaning for tabular rows, where every sample
//! is already a flat feature vector, so they are not offered.

use linfa::Float;
use ndarray::{s, Array2, ArrayView2, Zip};

use super::base::{Activation, OutActivation, SELU_ALPHA, SELU_SCALE};
use super::fastmath;
use super::gemm::{gemm, gemm_chosen_for};
use super::network::{gather_rows, Layout, PREDICT_BLOCK, PREDICT_KERNEL_ROWS};
use crate::error::{invalid_param, Result};
use crate::random::NumpyRng;

mod arch;
mod spec;

pub use arch::*;
pub use spec::*;

/// One step of the compiled network.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Op {
    Dense {
        layer: usize,
        l1: f64,
        l2: f64,
        use_bias: bool,
    },
    BatchNorm {
        gamma: usize,
        beta: usize,
        running: usize,
        slot: usize,
    },
    Act {
        act: Activation,
        prelu: Option<usize>,
    },
    Activity {
        l1: f64,
        l2: f64,
    },
    Noise {
        stddev: f64,
        slot: usize,
    },
    Dropout {
        rate: f64,
        kind: DropoutKind,
        slot: usize,
    },
}

/// A compiled network: the op list, its buffer widths and where each learned vector lives.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Net {
    pub(crate) layout: Layout,
    ops: Vec<Op>,
    /// `widths[k]` is the width of the input of op `k` (`widths[ops.len()]` the output).
    widths: Vec<usize>,
    /// Total parameters: the dense layout, then BN scales/shifts and PReLU slopes.
    pub(crate) n_params: usize,
    /// Running means then variances of every batch-norm op.
    pub(crate) n_running: usize,
    /// Widths of the per-op scratch slots (BN normalized inputs, dropout masks, noise).
    slots: Vec<usize>,
    initializers: Vec<(Initializer, Activation)>,
    pub(crate) out: OutActivation,
    pub(crate) bn_momentum: f64,
    pub(crate) bn_epsilon: f64,
    /// The parameters training updates: everything but frozen layers' weights and biases
    /// (ascending, disjoint ranges of the flat buffer).
    pub(crate) trainable: Vec<std::ops::Range<usize>>,
}

impl Net {
    /// Compiles hidden layer specs for `n_in` inputs and `n_out` outputs. `out_init` is the
    /// output layer's initializer and `out_act` the activation scikit-learn's init uses for it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        specs: &[LayerSpec],
        n_in: usize,
        n_out: usize,
        out: OutActivation,
        out_init: Initializer,
        out_act: Activation,
        bn_momentum: f64,
        bn_epsilon: f64,
    ) -> Self {
        let mut units = vec![n_in];
        let mut initializers = Vec::new();
        for s in specs {
            if s.units > 0 {
                units.push(s.units);
                initializers.push((s.initializer, s.activation));
            }
        }
        units.push(n_out);
        initializers.push((out_init, out_act));
        let layout = Layout::new(&units);
        let mut extra = layout.len();
        let mut n_running = 0;
        let mut slots = Vec::new();
        let mut ops = Vec::new();
        let mut widths = vec![n_in];
        let mut width = n_in;
        let mut dense = 0;
        let push = |op: Op, w: usize, ops: &mut Vec<Op>, widths: &mut Vec<usize>| {
            ops.push(op);
            widths.push(w);
        };
        for s in specs {
            if s.units > 0 {
                push(
                    Op::Dense {
                        layer: dense,
                        l1: s.kernel_l1,
                        l2: s.kernel_l2,
                        use_bias: s.use_bias,
                    },
                    s.units,
                    &mut ops,
                    &mut widths,
                );
                dense += 1;
                width = s.units;
            }
            let mut bn = |extra: &mut usize, ops: &mut Vec<Op>, widths: &mut Vec<usize>| {
                ops.push(Op::BatchNorm {
                    gamma: *extra,
                    beta: *extra + width,
                    running: n_running,
                    slot: slots.len(),
                });
                *extra += 2 * width;
                n_running += 2 * width;
                slots.push(width);
                widths.push(width);
            };
            if s.batch_norm == Some(BatchNormPosition::BeforeActivation) {
                bn(&mut extra, &mut ops, &mut widths);
            }
            if s.activation != Activation::Identity {
                let prelu = if s.activation == Activation::Prelu {
                    let at = extra;
                    extra += width;
                    Some(at)
                } else {
                    None
                };
                ops.push(Op::Act {
                    act: s.activation,
                    prelu,
                });
                widths.push(width);
            }
            if s.activity_l1 != 0.0 || s.activity_l2 != 0.0 {
                ops.push(Op::Activity {
                    l1: s.activity_l1,
                    l2: s.activity_l2,
                });
                widths.push(width);
            }
            if s.batch_norm == Some(BatchNormPosition::AfterActivation) {
                bn(&mut extra, &mut ops, &mut widths);
            }
            if s.gaussian_noise > 0.0 {
                ops.push(Op::Noise {
                    stddev: s.gaussian_noise,
                    slot: slots.len(),
                });
                slots.push(width);
                widths.push(width);
            }
            if s.dropout > 0.0 {
                ops.push(Op::Dropout {
                    rate: s.dropout,
                    kind: s.dropout_kind,
                    slot: slots.len(),
                });
                slots.push(width);
                widths.push(width);
            }
        }
        push(
            Op::Dense {
                layer: dense,
                l1: 0.0,
                l2: 0.0,
                use_bias: true,
            },
            n_out,
            &mut ops,
            &mut widths,
        );
        let mut frozen: Vec<std::ops::Range<usize>> = specs
            .iter()
            .filter(|s| s.units > 0)
            .enumerate()
            .filter(|(_, s)| !s.trainable)
            .flat_map(|(i, _)| layout.layer_ranges(i))
            .collect();
        frozen.sort_by_key(|r| r.start);
        let mut trainable = Vec::new();
        let mut from = 0;
        for r in frozen {
            if r.start > from {
                trainable.push(from..r.start);
            }
            from = from.max(r.end);
        }
        if from < extra {
            trainable.push(from..extra);
        }
        Net {
            layout,
            ops,
            widths,
            n_params: extra,
            n_running,
            slots,
            initializers,
            out,
            bn_momentum,
            bn_epsilon,
            trainable,
        }
    }

    /// Whether the op list fits together, as [`Net::new`] compiles it: each op's input width
    /// is the previous op's output, the dense ops are the layout's layers in order, and
    /// every parameter, running statistic and scratch slot an op addresses lies within its
    /// buffer. A saved model is checked with it when it is loaded, so that an edited op
    /// list is refused rather than indexing out of bounds when it predicts or trains.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        let units = &self.layout.layer_units;
        let n_layers = self.layout.n_weight_layers();
        if self.widths.len() != self.ops.len() + 1 {
            return Err(format!(
                "the layer engine's op list has {} ops but {} widths",
                self.ops.len(),
                self.widths.len()
            ));
        }
        if self.widths.first() != units.first() || self.widths.last() != units.last() {
            return Err(format!(
                "the layer engine's widths {:?} do not start and end as the layers {units:?}",
                self.widths
            ));
        }
        if self.n_params < self.layout.len() || self.initializers.len() != n_layers {
            return Err(
                "the layer engine's parameter count or initializers do not fit its layers".into(),
            );
        }
        let within = |start: usize, len: usize, total: usize| {
            start.checked_add(len).is_some_and(|end| end <= total)
        };
        let mut dense = 0;
        for (k, op) in self.ops.iter().enumerate() {
            let (w_in, w_out) = (self.widths[k], self.widths[k + 1]);
            let fits = match *op {
                Op::Dense { layer, .. } => {
                    let ok = layer == dense
                        && layer < n_layers
                        && units[layer] == w_in
                        && units[layer + 1] == w_out;
                    dense += 1;
                    ok
                }
                Op::BatchNorm {
                    gamma,
                    beta,
                    running,
                    slot,
                } => {
                    w_in == w_out
                        && beta.checked_sub(gamma) == Some(w_in)
                        && within(beta, w_in, self.n_params)
                        && within(running, 2 * w_in, self.n_running)
                        && self.slots.get(slot) == Some(&w_in)
                }
                Op::Act { prelu, .. } => {
                    w_in == w_out && prelu.is_none_or(|at| within(at, w_in, self.n_params))
                }
                Op::Activity { .. } => w_in == w_out,
                Op::Noise { slot, .. } | Op::Dropout { slot, .. } => {
                    w_in == w_out && self.slots.get(slot) == Some(&w_in)
                }
            };
            if !fits {
                return Err(format!(
                    "op {k} of the layer engine's op list does not fit its widths \
                     ({w_in} -> {w_out}) or buffers"
                ));
            }
        }
        if dense != n_layers {
            return Err(format!(
                "the layer engine's op list has {dense} dense ops for {n_layers} layers"
            ));
        }
        let mut from = 0;
        for range in &self.trainable {
            if range.start < from || range.start > range.end || range.end > self.n_params {
                let reason =
                    "the layer engine's trainable ranges are not ascending, disjoint ranges";
                return Err(format!("{reason} of its {} parameters", self.n_params));
            }
            from = range.end;
        }
        Ok(())
    }

    /// Whether the op list is plain dense layers with `activation` (one of scikit-learn's)
    /// and scikit-learn's initialization, all trained: the network scikit-learn's MLP
    /// builds, which the fused scikit-learn engine runs in scikit-learn's floating-point
    /// order.
    pub(crate) fn is_plain_dense(&self, activation: Activation) -> bool {
        let plain_op = |op: &Op| match *op {
            Op::Dense {
                l1, l2, use_bias, ..
            } => l1 == 0.0 && l2 == 0.0 && use_bias,
            Op::Act { act, prelu } => act == activation && prelu.is_none(),
            _ => false,
        };
        activation.is_sklearn()
            && self.ops.iter().all(plain_op)
            && self
                .initializers
                .iter()
                .all(|&(init, act)| init == Initializer::Sklearn && act == activation)
            && self.n_running == 0
            && self.n_params == self.layout.len()
            && self.trainable.len() == 1
            && self.trainable[0] == (0..self.n_params)
    }

    /// Initial parameters (dense layers in scikit-learn's draw order, BN scale 1 / shift 0,
    /// PReLU slopes 0) and running statistics (means 0, variances 1).
    pub(crate) fn init<F: Float>(&self, rng: &mut NumpyRng) -> (Vec<F>, Vec<F>) {
        let mut params = vec![F::zero(); self.n_params];
        for (i, &(init, act)) in self.initializers.iter().enumerate() {
            let fan_in = self.layout.layer_units[i];
            let fan_out = self.layout.layer_units[i + 1];
            let (mut coef, mut intercept) = self.layout.layer_mut(&mut params, i);
            let kernel = coef.as_slice_mut().expect("layout slices are contiguous");
            let bias = intercept
                .as_slice_mut()
                .expect("layout slices are contiguous");
            init.draw(rng, fan_in, fan_out, act, kernel, bias);
        }
        for op in &self.ops {
            match *op {
                Op::Dense {
                    layer,
                    use_bias: false,
                    ..
                } => {
                    let (_, mut b) = self.layout.layer_mut(&mut params, layer);
                    b.fill(F::zero());
                }
                Op::BatchNorm { gamma, beta, .. } => {
                    params[gamma..beta].iter_mut().for_each(|v| *v = F::one());
                }
                _ => {}
            }
        }
        let mut running = vec![F::zero(); self.n_running];
        for op in &self.ops {
            if let Op::BatchNorm { running: r, .. } = *op {
                let w = self.bn_width(op);
                running[r + w..r + 2 * w]
                    .iter_mut()
                    .for_each(|v| *v = F::one());
            }
        }
        (params, running)
    }

    fn bn_width(&self, op: &Op) -> usize {
        match *op {
            Op::BatchNorm { gamma, beta, .. } => beta - gamma,
            _ => 0,
        }
    }

    /// Whether parameter `k` is a bias of a layer without biases (never trained).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_frozen(&self, k: usize) -> bool {
        self.ops.iter().any(|op| match *op {
            Op::Dense {
                layer,
                use_bias: false,
                ..
            } => {
                let units = &self.layout.layer_units;
                let start = self.layout.coefs_len() + units[1..=layer].iter().sum::<usize>();
                (start..start + units[layer + 1]).contains(&k)
            }
            _ => false,
        })
    }
}

/// Buffers of one batch, sized once per fit.
#[derive(Debug, Clone)]
pub(crate) struct NetWorkspace<F> {
    /// `bufs[k]` is the input of op `k`; `bufs[0]` the gathered batch.
    pub(crate) bufs: Vec<Array2<F>>,
    deltas: Vec<Array2<F>>,
    slots: Vec<Array2<F>>,
    /// Per-unit `1/sqrt(var + eps)` of each batch-norm op (indexed like `slots`).
    inv_std: Vec<Vec<F>>,
    pub(crate) targets: Array2<F>,
    pub(crate) grads: Vec<F>,
}

impl<F: Float> NetWorkspace<F> {
    pub(crate) fn new(net: &Net, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        NetWorkspace {
            bufs: net
                .widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            deltas: net
                .widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            slots: net
                .slots
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            inv_std: net.slots.iter().map(|&w| vec![F::zero(); w]).collect(),
            targets: Array2::zeros((capacity, *net.widths.last().unwrap_or(&1))),
            grads: vec![F::zero(); net.n_params],
        }
    }

    /// The buffers a prediction-mode forward pass uses: the op inputs only (no gradient,
    /// delta or scratch buffers, which are as large as the parameters or the batch).
    fn for_prediction(net: &Net, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        NetWorkspace {
            bufs: net
                .widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            deltas: Vec::new(),
            slots: Vec::new(),
            inv_std: Vec::new(),
            targets: Array2::zeros((0, 0)),
            grads: Vec::new(),
        }
    }

    /// Copies rows `x_index` of `x` and `y_index` of `y` into the batch buffers.
    pub(crate) fn gather_split(
        &mut self,
        x: &ArrayView2<F>,
        x_index: &[usize],
        y: &ArrayView2<F>,
        y_index: &[usize],
    ) {
        gather_rows(x, &mut self.bufs[0], x_index);
        gather_rows(y, &mut self.targets, y_index);
    }
}

/// How a forward pass treats the training-only ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Prediction: no dropout or noise, batch norm on running statistics.
    Predict,
    /// Training with fresh dropout masks and noise, batch statistics, running stats updated.
    Train,
    /// Training with the masks and noise already in the workspace (gradient checks).
    #[cfg_attr(not(test), allow(dead_code))]
    TrainFixedMasks,
}

#[inline(always)]
fn c<F: Float>(v: f64) -> F {
    F::from(v).unwrap_or_else(F::zero)
}

/// Forward pass over the first `m` rows of `bufs[0]`.
pub(crate) fn forward<F: Float>(
    net: &Net,
    params: &[F],
    running: &mut [F],
    ws: &mut NetWorkspace<F>,
    m: usize,
    mode: Mode,
    rng: &mut NumpyRng,
) {
    let training = mode != Mode::Predict;
    let n_ops = net.ops.len();
    for (k, op) in net.ops.iter().enumerate() {
        let (done, rest) = ws.bufs.split_at_mut(k + 1);
        let a_in = done[k].slice(s![..m, ..]);
        let mut a_out = rest[0].slice_mut(s![..m, ..]);
        match *op {
            Op::Dense { layer, .. } => {
                let coef = net.layout.coef(params, layer);
                let intercept = net.layout.intercept(params, layer);
                if training {
                    gemm(F::one(), &a_in, &coef, F::zero(), &mut a_out);
                } else {
                    // As in the scikit-learn engine: one kernel for every block size, so a
                    // row's prediction does not depend on the rows predicted with it.
                    gemm_chosen_for(
                        PREDICT_KERNEL_ROWS,
                        F::one(),
                        &a_in,
                        &coef,
                        F::zero(),
                        &mut a_out,
                    );
                }
                for mut row in a_out.rows_mut() {
                    row += &intercept;
                }
                if k + 1 == n_ops {
                    net.out.apply_rows(a_out);
                }
            }
            Op::Act { act, prelu } => match prelu {
                Some(at) => {
                    let slopes = &params[at..at + a_in.ncols()];
                    Zip::from(a_out.rows_mut())
                        .and(a_in.rows())
                        .for_each(|mut o, i| {
                            for ((o, &x), &a) in o.iter_mut().zip(i.iter()).zip(slopes) {
                                *o = Activation::prelu_apply(x, a);
                            }
                        });
                }
                None => match act {
                    // The vectorized kernels of the simple engine, for the same results.
                    Activation::Tanh | Activation::Logistic if a_out.is_standard_layout() => {
                        a_out.assign(&a_in);
                        if let Some(out) = a_out.as_slice_mut() {
                            if act == Activation::Tanh {
                                fastmath::tanh_in_place(out);
                            } else {
                                fastmath::logistic_in_place(out);
                            }
                        }
                    }
                    _ => Zip::from(&mut a_out)
                        .and(&a_in)
                        .for_each(|o, &x| *o = act.apply(x)),
                },
            },
            Op::Activity { .. } => a_out.assign(&a_in),
            Op::BatchNorm {
                gamma,
                beta,
                running: r,
                slot,
            } => {
                let w = a_in.ncols();
                let g = &params[gamma..gamma + w];
                let b = &params[beta..beta + w];
                let eps = c::<F>(net.bn_epsilon);
                if training {
                    let mf = F::from(m).unwrap_or_else(F::one);
                    let mut xhat = ws.slots[slot].slice_mut(s![..m, ..]);
                    let inv_std = &mut ws.inv_std[slot];
                    let mom = c::<F>(net.bn_momentum);
                    for j in 0..w {
                        let col = a_in.column(j);
                        let mean = col.sum() / mf;
                        let var = col.fold(F::zero(), |acc, &v| acc + (v - mean) * (v - mean)) / mf;
                        let is = F::one() / (var + eps).sqrt();
                        inv_std[j] = is;
                        for i in 0..m {
                            let xh = (a_in[[i, j]] - mean) * is;
                            xhat[[i, j]] = xh;
                            a_out[[i, j]] = g[j] * xh + b[j];
                        }
                        if mode == Mode::Train {
                            running[r + j] = running[r + j] * mom + mean * (F::one() - mom);
                            running[r + w + j] = running[r + w + j] * mom + var * (F::one() - mom);
                        }
                    }
                } else {
                    for j in 0..w {
                        let mean = running[r + j];
                        let is = F::one() / (running[r + w + j] + eps).sqrt();
                        for i in 0..m {
                            a_out[[i, j]] = g[j] * (a_in[[i, j]] - mean) * is + b[j];
                        }
                    }
                }
            }
            Op::Noise { stddev, slot } => {
                if training {
                    let mut noise = ws.slots[slot].slice_mut(s![..m, ..]);
                    if mode == Mode::Train {
                        noise
                            .iter_mut()
                            .for_each(|v| *v = c(stddev * standard_normal(rng)));
                    }
                    Zip::from(&mut a_out)
                        .and(&a_in)
                        .and(&noise)
                        .for_each(|o, &x, &e| *o = x + e);
                } else {
                    a_out.assign(&a_in);
                }
            }
            Op::Dropout { rate, kind, slot } => {
                if !training {
                    a_out.assign(&a_in);
                    continue;
                }
                // The slot holds the multiplier of each unit (0 or 1/(1-rate), or Alpha's
                // `a·keep`); Alpha's additive part is recomputed from it.
                let mut mask = ws.slots[slot].slice_mut(s![..m, ..]);
                let (a, b, alpha_p) = alpha_dropout_constants(rate);
                if mode == Mode::Train {
                    let keep_scale = c::<F>(match kind {
                        DropoutKind::Standard => 1.0 / (1.0 - rate),
                        DropoutKind::Alpha => a,
                    });
                    mask.iter_mut().for_each(|v| {
                        *v = if rng.random_sample() >= rate {
                            keep_scale
                        } else {
                            F::zero()
                        }
                    });
                }
                match kind {
                    DropoutKind::Standard => Zip::from(&mut a_out)
                        .and(&a_in)
                        .and(&mask)
                        .for_each(|o, &x, &k| *o = x * k),
                    DropoutKind::Alpha => {
                        // a·(x·keep + alpha_p·(1 - keep)) + b
                        let dropped = c::<F>(a * alpha_p + b);
                        let kept_shift = c::<F>(b);
                        Zip::from(&mut a_out)
                            .and(&a_in)
                            .and(&mask)
                            .for_each(|o, &x, &k| {
                                *o = if k == F::zero() {
                                    dropped
                                } else {
                                    x * k + kept_shift
                                }
                            })
                    }
                }
            }
        }
    }
}

/// Keras's `AlphaDropout` constants `(a, b, alpha_p)` for `rate`.
pub(crate) fn alpha_dropout_constants(rate: f64) -> (f64, f64, f64) {
    let alpha_p = -SELU_ALPHA * SELU_SCALE;
    let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
    let b = -a * alpha_p * rate;
    (a, b, alpha_p)
}

/// Loss and gradient of one batch already forwarded in training mode. `alpha` is
/// scikit-learn's L2 (`0.5·alpha·‖W‖²/m`, every dense kernel); the per-layer Keras kernel and
/// activity regularizers come from the specs. Returns the batch loss with every penalty.
pub(crate) fn backward<F: Float>(
    net: &Net,
    params: &[F],
    ws: &mut NetWorkspace<F>,
    m: usize,
    alpha: f64,
) -> F {
    let n_ops = net.ops.len();
    let mf = F::from(m).unwrap_or_else(F::one);
    let inv_m = F::one() / mf;
    let alpha_f = c::<F>(alpha);
    let NetWorkspace {
        bufs,
        deltas,
        slots,
        inv_std,
        targets,
        grads,
        ..
    } = ws;
    let y = targets.slice(s![..m, ..]);
    let p = bufs[n_ops].slice(s![..m, ..]);
    let mut loss = net.out.loss(y, p);
    Zip::from(deltas[n_ops].slice_mut(s![..m, ..]))
        .and(&p)
        .and(&y)
        .for_each(|d, &p, &t| *d = p - t);
    grads.iter_mut().for_each(|g| *g = F::zero());
    for k in (0..n_ops).rev() {
        let (lower, upper) = deltas.split_at_mut(k + 1);
        let d_out = upper[0].slice(s![..m, ..]);
        let mut d_in = lower[k].slice_mut(s![..m, ..]);
        let a_in = bufs[k].slice(s![..m, ..]);
        let need_input_delta = k > 0;
        match net.ops[k] {
            Op::Dense {
                layer,
                l1,
                l2,
                use_bias,
            } => {
                let coef = net.layout.coef(params, layer);
                {
                    let (mut coef_grad, mut intercept_grad) = net.layout.layer_mut(grads, layer);
                    gemm(inv_m, &a_in.t(), &d_out, F::zero(), &mut coef_grad);
                    if alpha != 0.0 {
                        let scale = alpha_f * inv_m;
                        Zip::from(&mut coef_grad)
                            .and(&coef)
                            .for_each(|g, &w| *g += scale * w);
                        let sq = coef.fold(F::zero(), |acc, &w| acc + w * w);
                        loss += c::<F>(0.5) * alpha_f * sq * inv_m;
                    }
                    if l1 != 0.0 || l2 != 0.0 {
                        let (l1f, l2f) = (c::<F>(l1), c::<F>(l2));
                        let two = c::<F>(2.0);
                        Zip::from(&mut coef_grad).and(&coef).for_each(|g, &w| {
                            *g += l1f * sign(w) + two * l2f * w;
                        });
                        let (s1, s2) = coef.fold((F::zero(), F::zero()), |(a, b), &w| {
                            (a + w.abs(), b + w * w)
                        });
                        loss += l1f * s1 + l2f * s2;
                    }
                    if use_bias {
                        for row in d_out.rows() {
                            intercept_grad += &row;
                        }
                        intercept_grad.mapv_inplace(|v| v * inv_m);
                    }
                }
                if need_input_delta {
                    gemm(F::one(), &d_out, &coef.t(), F::zero(), &mut d_in);
                }
            }
            Op::Act { act, prelu } => match prelu {
                Some(at) => {
                    let w = a_in.ncols();
                    for (i, (drow, xrow)) in d_out.rows().into_iter().zip(a_in.rows()).enumerate() {
                        for j in 0..w {
                            let x = xrow[j];
                            let d = drow[j];
                            if x > F::zero() {
                                d_in[[i, j]] = d;
                            } else {
                                d_in[[i, j]] = d * params[at + j];
                                grads[at + j] += d * x * inv_m;
                            }
                        }
                    }
                }
                None => Zip::from(&mut d_in)
                    .and(&d_out)
                    .and(&a_in)
                    .for_each(|di, &d, &x| *di = d * act.derivative(x)),
            },
            Op::Activity { l1, l2 } => {
                let (l1f, l2f) = (c::<F>(l1), c::<F>(l2));
                let two = c::<F>(2.0);
                // Deltas carry m·∂L/∂a, so the per-row penalty's gradient enters unscaled.
                Zip::from(&mut d_in)
                    .and(&d_out)
                    .and(&a_in)
                    .for_each(|di, &d, &a| *di = d + l1f * sign(a) + two * l2f * a);
                let (s1, s2) = a_in.fold((F::zero(), F::zero()), |(x, y), &a| {
                    (x + a.abs(), y + a * a)
                });
                loss += (l1f * s1 + l2f * s2) * inv_m;
            }
            Op::BatchNorm {
                gamma, beta, slot, ..
            } => {
                let w = a_in.ncols();
                let xhat = slots[slot].slice(s![..m, ..]);
                let is = &inv_std[slot];
                for j in 0..w {
                    let g = params[gamma + j];
                    let mut sum_d = F::zero();
                    let mut sum_dx = F::zero();
                    for i in 0..m {
                        sum_d += d_out[[i, j]];
                        sum_dx += d_out[[i, j]] * xhat[[i, j]];
                    }
                    grads[gamma + j] = sum_dx * inv_m;
                    grads[beta + j] = sum_d * inv_m;
                    // dx = γ·inv_std/m · (m·d - Σd - x̂·Σ(d·x̂))
                    let scale = g * is[j] * inv_m;
                    for i in 0..m {
                        d_in[[i, j]] = scale * (mf * d_out[[i, j]] - sum_d - xhat[[i, j]] * sum_dx);
                    }
                }
            }
            Op::Noise { .. } => d_in.assign(&d_out),
            Op::Dropout { slot, .. } => Zip::from(&mut d_in)
                .and(&d_out)
                .and(slots[slot].slice(s![..m, ..]))
                .for_each(|di, &d, &k| *di = d * k),
        }
    }
    loss
}

#[inline(always)]
fn sign<F: Float>(v: F) -> F {
    if v > F::zero() {
        F::one()
    } else if v < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// Output activations for the rows `rows` of `x` (every row when `None`), in prediction
/// mode (deterministic). Rows are gathered block by block into the same buffers a copy would
/// fill, so the outputs are bitwise those of predicting the copy.
pub(crate) fn predict<F: Float>(
    net: &Net,
    params: &[F],
    running: &[F],
    x: ArrayView2<F>,
    rows: Option<&[usize]>,
) -> Array2<F> {
    let n = rows.map_or(x.nrows(), <[usize]>::len);
    let n_out = *net.widths.last().unwrap_or(&1);
    let mut result = Array2::zeros((n, n_out));
    let block = PREDICT_BLOCK.min(n.max(1));
    let mut ws = NetWorkspace::for_prediction(net, block);
    // Prediction mode reads the running statistics and never draws.
    let mut running = running.to_vec();
    let mut rng = NumpyRng::new(0);
    let mut start = 0;
    while start < n {
        let m = block.min(n - start);
        match rows {
            Some(r) => gather_rows(&x, &mut ws.bufs[0], &r[start..start + m]),
            None => ws.bufs[0]
                .slice_mut(s![..m, ..])
                .assign(&x.slice(s![start..start + m, ..])),
        }
        forward(
            net,
            params,
            &mut running,
            &mut ws,
            m,
            Mode::Predict,
            &mut rng,
        );
        result
            .slice_mut(s![start..start + m, ..])
            .assign(&ws.bufs[net.ops.len()].slice(s![..m, ..]));
        start += m;
    }
    result
}

#[cfg(test)]
mod tests;
