//! The network engine shared by both estimators: parameter layout, forward and backward
//! passes over a reusable workspace (the matrix kernel they call is in `gemm`).

use linfa::Float;
use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::base::{Activation, OutActivation};
use super::fastmath;
use super::gemm::{gemm_chosen_for, gemm_fused, reserve_packing, Epilogue};
use super::stochastic_optimizers::Optimizer;
use crate::random::NumpyRng;

/// Where each layer's coefficients and intercepts sit in the flat parameter buffer: all
/// coefficient matrices first (row-major, `fan_in × fan_out`), then all intercepts, the order
/// scikit-learn lists its parameters in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Layout {
    pub(crate) layer_units: Vec<usize>,
    coef_offsets: Vec<usize>,
    intercept_offsets: Vec<usize>,
    coefs_len: usize,
    total: usize,
}

impl Layout {
    pub(crate) fn new(layer_units: &[usize]) -> Self {
        let mut coef_offsets = Vec::new();
        let mut offset = 0;
        for w in layer_units.windows(2) {
            coef_offsets.push(offset);
            offset += w[0] * w[1];
        }
        let coefs_len = offset;
        let mut intercept_offsets = Vec::new();
        for &units in &layer_units[1..] {
            intercept_offsets.push(offset);
            offset += units;
        }
        Layout {
            layer_units: layer_units.to_vec(),
            coef_offsets,
            intercept_offsets,
            coefs_len,
            total: offset,
        }
    }

    /// Number of weight layers (`n_layers_ - 1`).
    pub(crate) fn n_weight_layers(&self) -> usize {
        self.coef_offsets.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.total
    }

    pub(crate) fn coefs_len(&self) -> usize {
        self.coefs_len
    }

    fn coef_range(&self, i: usize) -> (usize, usize, usize) {
        (
            self.coef_offsets[i],
            self.layer_units[i],
            self.layer_units[i + 1],
        )
    }

    /// Where layer `i`'s coefficients and intercepts sit in the flat buffer.
    pub(crate) fn layer_ranges(&self, i: usize) -> [std::ops::Range<usize>; 2] {
        let (off, rows, cols) = self.coef_range(i);
        let ioff = self.intercept_offsets[i];
        [off..off + rows * cols, ioff..ioff + cols]
    }

    pub(crate) fn coef<'a, F>(&self, buf: &'a [F], i: usize) -> ArrayView2<'a, F> {
        let (off, rows, cols) = self.coef_range(i);
        let slice = &buf[off..off + rows * cols];
        // SAFETY: `slice` (bounds checked) holds exactly `rows × cols` elements, laid out
        // row-major by construction. (`from_shape` checked that again, a noticeable part of
        // the small network's batch time, ~10 views per batch.)
        unsafe { ArrayView2::from_shape_ptr((rows, cols), slice.as_ptr()) }
    }

    /// Where layer `i`'s intercepts sit in a buffer laid out like the parameters.
    pub(crate) fn intercept_range(&self, i: usize) -> std::ops::Range<usize> {
        let off = self.intercept_offsets[i];
        off..off + self.layer_units[i + 1]
    }

    pub(crate) fn intercept<'a, F>(&self, buf: &'a [F], i: usize) -> ArrayView1<'a, F> {
        let off = self.intercept_offsets[i];
        ArrayView1::from(&buf[off..off + self.layer_units[i + 1]])
    }

    /// Mutable coefficient and intercept of layer `i` at once (they are disjoint).
    pub(crate) fn layer_mut<'a, F>(
        &self,
        buf: &'a mut [F],
        i: usize,
    ) -> (ArrayViewMut2<'a, F>, ArrayViewMut1<'a, F>) {
        let (off, rows, cols) = self.coef_range(i);
        let (coefs, intercepts) = buf.split_at_mut(self.coefs_len);
        let slice = &mut coefs[off..off + rows * cols];
        // SAFETY: as in `coef`, for the mutable borrow of `slice`.
        let coef = unsafe { ArrayViewMut2::from_shape_ptr((rows, cols), slice.as_mut_ptr()) };
        let ioff = self.intercept_offsets[i] - self.coefs_len;
        let intercept = ArrayViewMut1::from(&mut intercepts[ioff..ioff + cols]);
        (coef, intercept)
    }
}

/// scikit-learn's weight initialization (`_init_coef`), drawing from `rng` in its order:
/// per layer, the coefficients row-major, then the intercepts, uniform in `±sqrt(f / (fan_in +
/// fan_out))` with `f = 2` for a logistic hidden activation and `6` otherwise.
pub(crate) fn init_params_sklearn<F: Float>(
    layout: &Layout,
    activation: Activation,
    rng: &mut NumpyRng,
) -> Vec<F> {
    let factor = if activation == Activation::Logistic {
        2.0
    } else {
        6.0
    };
    let mut params = vec![F::zero(); layout.len()];
    for i in 0..layout.n_weight_layers() {
        let fan_in = layout.layer_units[i];
        let fan_out = layout.layer_units[i + 1];
        let bound = (factor / (fan_in + fan_out) as f64).sqrt();
        let (mut coef, mut intercept) = layout.layer_mut(&mut params, i);
        for v in coef.iter_mut() {
            *v = F::from(rng.uniform(-bound, bound)).unwrap_or_else(F::zero);
        }
        for v in intercept.iter_mut() {
            *v = F::from(rng.uniform(-bound, bound)).unwrap_or_else(F::zero);
        }
    }
    params
}

/// Buffers for one batch's forward and backward pass, sized once per fit and reused across
/// batches and epochs so the training loop allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct Workspace<F> {
    capacity: usize,
    /// `acts[0]` is the gathered batch input; `acts[i]` the output of layer `i`.
    pub(crate) acts: Vec<Array2<F>>,
    /// `deltas[i]` is the loss gradient w.r.t. the pre-activation of layer `i + 1`.
    deltas: Vec<Array2<F>>,
    /// The gathered batch targets.
    pub(crate) targets: Array2<F>,
    /// The gradient, laid out like the parameters.
    pub(crate) grads: Vec<F>,
}

impl<F: Float> Workspace<F> {
    pub(crate) fn new(layout: &Layout, capacity: usize) -> Self {
        let units = &layout.layer_units;
        let capacity = capacity.max(1);
        // The backward product `δ·Wᵀ` copies `W` transposed into the kernel's per-thread
        // buffer: sized here, so that no batch grows it.
        reserve_packing::<F>(units.windows(2).map(|w| (w[1], w[0])));
        Workspace {
            capacity,
            acts: units
                .iter()
                .map(|&u| Array2::zeros((capacity, u)))
                .collect(),
            deltas: units[1..]
                .iter()
                .map(|&u| Array2::zeros((capacity, u)))
                .collect(),
            targets: Array2::zeros((capacity, *units.last().unwrap_or(&1))),
            grads: vec![F::zero(); layout.len()],
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Copies the rows `index` of `x` and `y` into the batch buffers.
    pub(crate) fn gather(&mut self, x: &ArrayView2<F>, y: &ArrayView2<F>, index: &[usize]) {
        gather_rows(x, &mut self.acts[0], index);
        gather_rows(y, &mut self.targets, index);
    }

    /// [`gather`](Self::gather) with different rows of `x` and `y`.
    pub(crate) fn gather_split(
        &mut self,
        x: &ArrayView2<F>,
        x_index: &[usize],
        y: &ArrayView2<F>,
        y_index: &[usize],
    ) {
        gather_rows(x, &mut self.acts[0], x_index);
        gather_rows(y, &mut self.targets, y_index);
    }

    /// Copies a contiguous block of rows into the batch buffers.
    pub(crate) fn gather_range(
        &mut self,
        x: &ArrayView2<F>,
        y: &ArrayView2<F>,
        start: usize,
        m: usize,
    ) {
        self.acts[0]
            .slice_mut(s![..m, ..])
            .assign(&x.slice(s![start..start + m, ..]));
        self.targets
            .slice_mut(s![..m, ..])
            .assign(&y.slice(s![start..start + m, ..]));
    }
}

/// One training step on the batch gathered in the workspace's first `m` rows: forward and
/// backward passes and the optimizer's update of `params` (scikit-learn's `_backprop` then
/// `update_params`); returns the batch loss.
///
/// Each layer's coefficient update is fused into the store of its gradient product (see
/// [`Epilogue::Update`]), after that layer's backward product has read the old coefficients;
/// intercepts are updated from their gradients in `ws.grads`. The operations and their order
/// per parameter are those of computing the whole gradient and then calling
/// [`Optimizer::update`], so the results are the same bits.
///
/// On x86-64 the passes' elementwise loops (tanh and logistic, the loss, reductions) are
/// compiled again for AVX-512 and AVX2 and picked at run time. Rust never fuses or reorders
/// float operations, so every version computes the same bits; only the vector width
/// changes. (The products, with the bias, relu, derivative and update fused into their
/// stores, pick their own instruction set in `gemm`.)
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_step<F: Float>(
    layout: &Layout,
    params: &mut [F],
    activation: Activation,
    out: OutActivation,
    ws: &mut Workspace<F>,
    m: usize,
    alpha: f64,
    optimizer: &mut Optimizer<F>,
) -> F {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe {
                train_step_avx512(layout, params, activation, out, ws, m, alpha, optimizer)
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe {
                train_step_avx2(layout, params, activation, out, ws, m, alpha, optimizer)
            };
        }
    }
    train_step_portable(layout, params, activation, out, ws, m, alpha, optimizer)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn train_step_avx512<F: Float>(
    layout: &Layout,
    params: &mut [F],
    activation: Activation,
    out: OutActivation,
    ws: &mut Workspace<F>,
    m: usize,
    alpha: f64,
    optimizer: &mut Optimizer<F>,
) -> F {
    train_step_portable(layout, params, activation, out, ws, m, alpha, optimizer)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn train_step_avx2<F: Float>(
    layout: &Layout,
    params: &mut [F],
    activation: Activation,
    out: OutActivation,
    ws: &mut Workspace<F>,
    m: usize,
    alpha: f64,
    optimizer: &mut Optimizer<F>,
) -> F {
    train_step_portable(layout, params, activation, out, ws, m, alpha, optimizer)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn train_step_portable<F: Float>(
    layout: &Layout,
    params: &mut [F],
    activation: Activation,
    out: OutActivation,
    ws: &mut Workspace<F>,
    m: usize,
    alpha: f64,
    optimizer: &mut Optimizer<F>,
) -> F {
    {
        let (first, rest) = ws.acts.split_at_mut(1);
        forward(layout, params, activation, out, first[0].view(), rest, m);
    }
    let loss = loss_and_output_delta(layout, params, out, ws, m, alpha);
    let (step, s1, s2) = optimizer.begin_step();
    let n_layers = layout.n_weight_layers();
    let mf = F::from(m).unwrap_or_else(F::one);
    let inv_m = F::one() / mf;
    let alpha_f = F::from(alpha).unwrap_or_else(F::zero);
    let l2 = (alpha != 0.0).then_some(alpha_f * inv_m);
    let Workspace {
        acts,
        deltas,
        grads,
        ..
    } = ws;
    for i in (0..n_layers).rev() {
        // The backward product first: it reads the coefficients before their update.
        if i > 0 {
            let (lower, upper) = deltas.split_at_mut(i);
            let delta = top(upper[0].view(), m);
            let mut prev = top_mut(lower[i - 1].view_mut(), m);
            let coef = layout.coef(params, i);
            let out = top(acts[i].view(), m);
            let epilogue = Epilogue::Derivative {
                out: out.view(),
                activation,
            };
            if !gemm_fused(m, F::one(), &delta, &coef.t(), &mut prev, epilogue, None).epilogue {
                times_derivative(prev, out, activation);
            }
        }
        let a_in = top(acts[i].view(), m);
        let delta = top(deltas[i].view(), m);
        let (mut coef_grad, mut intercept_grad) = layout.layer_mut(grads, i);
        let (w, _) = layout.layer_mut(params, i);
        let (s1_w, _) = layout.layer_mut(s1, i);
        let s2_w = step.uses_second_state().then(|| layout.layer_mut(s2, i).0);
        let epilogue = Epilogue::Update {
            w,
            l2,
            s1: s1_w,
            s2: s2_w,
            step,
        };
        let fused = gemm_fused(
            m,
            inv_m,
            &a_in.t(),
            &delta,
            &mut coef_grad,
            epilogue,
            intercept_grad.as_slice_mut().map(|g| (g, inv_m)),
        );
        if !fused.epilogue {
            // The product ran elsewhere and left `inv_m · Aᵀ·δ`: the L2 term and the step
            // here, with the same operations.
            let (mut w, _) = layout.layer_mut(params, i);
            if let Some(scale) = l2 {
                Zip::from(&mut coef_grad)
                    .and(&w)
                    .for_each(|g, &w| *g += scale * w);
            }
            let (mut s1_w, _) = layout.layer_mut(s1, i);
            let mut s2_w = step.uses_second_state().then(|| layout.layer_mut(s2, i).0);
            match (w.as_slice_mut(), s1_w.as_slice_mut(), coef_grad.as_slice()) {
                (Some(w), Some(s1), Some(g)) => {
                    let s2 = match &mut s2_w {
                        Some(s2) => s2.as_slice_mut().unwrap_or(&mut []),
                        None => &mut [],
                    };
                    step.apply(w, s1, s2, g);
                }
                _ => unreachable!("the layout's views are contiguous"),
            }
        }
        if !fused.sums {
            column_means(delta, intercept_grad.view_mut(), inv_m);
        }
        // The intercepts' step, on slices of the flat buffers.
        let range = layout.intercept_range(i);
        let s2_b = if step.uses_second_state() {
            &mut s2[range.clone()]
        } else {
            &mut []
        };
        if let Some(g) = intercept_grad.as_slice() {
            step.apply(&mut params[range.clone()], &mut s1[range], s2_b, g);
        }
    }
    loss
}

/// The first `m` rows of `a`: the batch part of a workspace buffer. `split_at` is a few
/// pointer operations, where `slice(s![..m, ..])` goes through ndarray's general slicing
/// (a tenth of the small network's batch time, called ~15 times per batch).
#[inline(always)]
fn top<F>(a: ArrayView2<'_, F>, m: usize) -> ArrayView2<'_, F> {
    a.split_at(Axis(0), m).0
}

/// The first `m` rows of `a`, mutably (see [`top`]).
#[inline(always)]
fn top_mut<F>(a: ArrayViewMut2<'_, F>, m: usize) -> ArrayViewMut2<'_, F> {
    a.split_at(Axis(0), m).0
}

/// Forward pass over the first `m` rows of `input`, writing each layer's output to
/// `hidden[i]` (`hidden` is `acts[1..]`).
#[inline(always)]
pub(crate) fn forward<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    input: ArrayView2<F>,
    hidden: &mut [Array2<F>],
    m: usize,
) {
    forward_chosen_for(layout, params, activation, out, input, hidden, m, m);
}

/// [`forward`] with every product's kernel chosen as for `choice_rows` rows (see
/// [`gemm_chosen_for`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_chosen_for<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    input: ArrayView2<F>,
    hidden: &mut [Array2<F>],
    m: usize,
    choice_rows: usize,
) {
    let n_layers = layout.n_weight_layers();
    for i in 0..n_layers {
        let (done, rest) = hidden.split_at_mut(i);
        let a_in = if i == 0 {
            top(input.view(), m)
        } else {
            top(done[i - 1].view(), m)
        };
        let mut a_out = top_mut(rest[0].view_mut(), m);
        let coef = layout.coef(params, i);
        let intercept = layout.intercept(params, i);
        let act = if i + 1 < n_layers {
            activation
        } else {
            Activation::Identity
        };
        // The bias and a relu fused into the product's stores; tanh and logistic then run
        // vectorized over the block.
        let fused = match (act, intercept.as_slice()) {
            (
                Activation::Identity | Activation::Relu | Activation::Tanh | Activation::Logistic,
                Some(bias),
            ) => {
                gemm_fused(
                    choice_rows,
                    F::one(),
                    &a_in,
                    &coef,
                    &mut a_out,
                    Epilogue::Bias {
                        bias,
                        relu: act == Activation::Relu,
                    },
                    None,
                )
                .epilogue
            }
            _ => {
                gemm_chosen_for(choice_rows, F::one(), &a_in, &coef, F::zero(), &mut a_out);
                false
            }
        };
        if fused {
            activate_in_place(a_out.view_mut(), act);
        } else {
            bias_activation(a_out.view_mut(), intercept, act);
        }
        if i + 1 == n_layers {
            out.apply_rows(a_out);
        }
    }
}

/// The batch loss including the L2 term, and the output layer's delta `p - y` (for every
/// pair of output activation and loss we pair), for a batch forwarded through the workspace.
#[inline(always)]
fn loss_and_output_delta<F: Float>(
    layout: &Layout,
    params: &[F],
    out: OutActivation,
    ws: &mut Workspace<F>,
    m: usize,
    alpha: f64,
) -> F {
    let n_layers = layout.n_weight_layers();
    let mf = F::from(m).unwrap_or_else(F::one);
    let alpha_f = F::from(alpha).unwrap_or_else(F::zero);
    let Workspace {
        acts,
        deltas,
        targets,
        ..
    } = ws;
    let y = top(targets.view(), m);
    let p = top(acts[n_layers].view(), m);
    let mut loss = out.loss(y, p);
    if alpha != 0.0 {
        let squares = sum_of_squares(&params[..layout.coefs_len()]);
        loss += F::from(0.5).unwrap_or_else(F::zero) * alpha_f * squares / mf;
    }
    let mut d = top_mut(deltas[n_layers - 1].view_mut(), m);
    match (d.as_slice_mut(), p.as_slice(), y.as_slice()) {
        (Some(d), Some(p), Some(y)) => {
            for ((d, &p), &t) in d.iter_mut().zip(p).zip(y) {
                *d = p - t;
            }
        }
        _ => Zip::from(d)
            .and(&p)
            .and(&y)
            .for_each(|d, &p, &t| *d = p - t),
    }
    loss
}

/// Loss and gradient of one batch already forwarded through the workspace (scikit-learn's
/// `_backprop`). Returns the batch loss including the L2 term.
#[inline(always)]
pub(crate) fn backward<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    ws: &mut Workspace<F>,
    m: usize,
    alpha: f64,
) -> F {
    let loss = loss_and_output_delta(layout, params, out, ws, m, alpha);
    let n_layers = layout.n_weight_layers();
    let mf = F::from(m).unwrap_or_else(F::one);
    let alpha_f = F::from(alpha).unwrap_or_else(F::zero);
    let Workspace {
        acts,
        deltas,
        grads,
        ..
    } = ws;
    let inv_m = F::one() / mf;
    for i in (0..n_layers).rev() {
        {
            let (mut coef_grad, intercept_grad) = layout.layer_mut(grads, i);
            let a_in = top(acts[i].view(), m);
            let delta = top(deltas[i].view(), m);
            let scale = alpha_f * inv_m;
            let coef = layout.coef(params, i);
            // The L2 term `scale · W` fused into the product's stores when it runs on the
            // engine's kernel, else added here (the same operations).
            let epilogue = if alpha != 0.0 {
                Epilogue::AddScaled {
                    w: coef.view(),
                    scale,
                }
            } else {
                Epilogue::Plain { beta: F::zero() }
            };
            let fused =
                gemm_fused(m, inv_m, &a_in.t(), &delta, &mut coef_grad, epilogue, None).epilogue;
            if alpha != 0.0 && !fused {
                match (coef_grad.as_slice_mut(), coef.as_slice()) {
                    (Some(g), Some(w)) => {
                        for (g, &w) in g.iter_mut().zip(w) {
                            *g += scale * w;
                        }
                    }
                    _ => Zip::from(&mut coef_grad)
                        .and(&coef)
                        .for_each(|g, &w| *g += scale * w),
                }
            }
            column_means(delta, intercept_grad, inv_m);
        }
        if i > 0 {
            let (lower, upper) = deltas.split_at_mut(i);
            let delta = top(upper[0].view(), m);
            let mut prev = top_mut(lower[i - 1].view_mut(), m);
            let coef = layout.coef(params, i);
            let out = top(acts[i].view(), m);
            let epilogue = Epilogue::Derivative {
                out: out.view(),
                activation,
            };
            if !gemm_fused(m, F::one(), &delta, &coef.t(), &mut prev, epilogue, None).epilogue {
                times_derivative(prev, out, activation);
            }
        }
    }
    loss
}

/// Asks the CPU to start loading rows `index` of `x` into its cache. The training loop
/// calls it with the next batch's rows, which a shuffled order scatters over the data:
/// waiting for them in [`Workspace::gather`] was a tenth of the small network's batch time.
#[inline(always)]
pub(crate) fn prefetch_rows<F>(x: &ArrayView2<F>, index: impl Iterator<Item = usize>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let (n, cols) = x.dim();
        if cols == 0 {
            return;
        }
        let (base, row_stride, col_stride) = (x.as_ptr(), x.strides()[0], x.strides()[1]);
        let last = (cols - 1) as isize * col_stride;
        for row in index.filter(|&row| row < n) {
            // `wrapping_offset` computes an address without dereferencing it; for `row < n` it
            // is an element of `x`. A row may straddle two cache lines: fetch both ends.
            let first = base.wrapping_offset(row as isize * row_stride);
            // SAFETY: SSE is part of the x86-64 baseline, and a prefetch never faults.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(first.cast::<i8>());
                _mm_prefetch::<_MM_HINT_T0>(first.wrapping_offset(last).cast::<i8>());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, index);
    }
}

/// Copies rows `index` of `src` into the first rows of `dst`, as slices when both are
/// row-contiguous (always so for the engine's buffers and usually for the data).
pub(crate) fn gather_rows<F: Float>(src: &ArrayView2<F>, dst: &mut Array2<F>, index: &[usize]) {
    let cols = src.ncols();
    match (src.as_slice(), dst.as_slice_mut()) {
        (Some(from), Some(to)) if cols == 1 => {
            for (to, &row) in to.iter_mut().zip(index) {
                *to = from[row];
            }
        }
        (Some(from), Some(to)) if cols > 0 => {
            for (to_row, &row) in to.chunks_exact_mut(cols).zip(index) {
                copy_row(to_row, &from[row * cols..(row + 1) * cols]);
            }
        }
        _ => {
            for (k, &row) in index.iter().enumerate() {
                dst.row_mut(k).assign(&src.row(row));
            }
        }
    }
}

/// `to = from` for rows of equal length. A `copy_from_slice` of a few elements is a call to
/// `memcpy` costing more than the copy (it was a tenth of the small network's epoch), so
/// short rows are copied in fixed-size pieces the compiler inlines.
#[inline(always)]
fn copy_row<F: Copy>(to: &mut [F], from: &[F]) {
    if to.len() > 64 {
        to.copy_from_slice(from);
        return;
    }
    let mut to_chunks = to.chunks_exact_mut(4);
    let mut from_chunks = from.chunks_exact(4);
    for (t, f) in (&mut to_chunks).zip(&mut from_chunks) {
        let f: &[F; 4] = f.try_into().expect("chunks of 4");
        let t: &mut [F; 4] = t.try_into().expect("chunks of 4");
        *t = *f;
    }
    let (t, f) = (to_chunks.into_remainder(), from_chunks.remainder());
    let mut k = 0;
    if t.len() >= 2 {
        t[0] = f[0];
        t[1] = f[1];
        k = 2;
    }
    if k < t.len() {
        t[k] = f[k];
    }
}

/// `Σ w²` in eight interleaved partial sums (a fixed order, so the same bits on every CPU)
/// rather than one serial chain whose latency dominated the small network's L2 term.
#[inline(always)]
fn sum_of_squares<F: Float>(w: &[F]) -> F {
    let mut lanes = [F::zero(); 8];
    let mut chunks = w.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v * v;
        }
    }
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &v in chunks.remainder() {
        total += v * v;
    }
    total
}

/// `z = f(z + b)` for every row of `z`: the bias add fused with the activation in one pass,
/// with the activation chosen once per block so the inner loop is branch-free and vectorizes.
#[inline(always)]
fn bias_activation<F: Float>(mut z: ArrayViewMut2<F>, b: ArrayView1<F>, activation: Activation) {
    #[inline(always)]
    fn rows<F: Float>(z: &mut [F], b: &[F], f: impl Fn(F) -> F) {
        for row in z.chunks_exact_mut(b.len()) {
            for (v, &bias) in row.iter_mut().zip(b) {
                *v = f(*v + bias);
            }
        }
    }
    if b.is_empty() {
        return;
    }
    match (z.as_slice_mut(), b.as_slice()) {
        (Some(z), Some(b)) => match activation {
            Activation::Identity => rows(z, b, |v| v),
            Activation::Relu => rows(z, b, |v| Activation::Relu.apply(v)),
            // Bias first, then the vectorized kernels over the whole block (libm's
            // per-element calls dominated tanh and logistic networks).
            Activation::Tanh => {
                rows(z, b, |v| v);
                fastmath::tanh_in_place(z);
            }
            Activation::Logistic => {
                rows(z, b, |v| v);
                fastmath::logistic_in_place(z);
            }
            // The layer engine runs the other activations; kept total for safety.
            other => rows(z, b, |v| other.apply(v)),
        },
        _ => {
            for mut row in z.rows_mut() {
                Zip::from(&mut row)
                    .and(&b)
                    .for_each(|v, &bias| *v = activation.apply(*v + bias));
            }
        }
    }
}

/// Tanh and logistic over a block whose bias the product already added (other activations
/// were fused whole).
#[inline(always)]
fn activate_in_place<F: Float>(mut z: ArrayViewMut2<F>, activation: Activation) {
    match (activation, z.as_slice_mut()) {
        (Activation::Tanh, Some(z)) => fastmath::tanh_in_place(z),
        (Activation::Logistic, Some(z)) => fastmath::logistic_in_place(z),
        (Activation::Tanh | Activation::Logistic, None) => {
            z.mapv_inplace(|v| activation.apply(v));
        }
        _ => {}
    }
}

/// `d *= f'(a)` elementwise, the activation derivative taken from the layer's outputs `a`.
#[inline(always)]
fn times_derivative<F: Float>(mut d: ArrayViewMut2<F>, a: ArrayView2<F>, activation: Activation) {
    #[inline(always)]
    fn each<F: Float>(d: &mut [F], a: &[F], f: impl Fn(F) -> F) {
        for (d, &a) in d.iter_mut().zip(a) {
            *d *= f(a);
        }
    }
    match (d.as_slice_mut(), a.as_slice()) {
        (Some(d), Some(a)) => match activation {
            Activation::Identity => {}
            Activation::Relu => each(d, a, |v| Activation::Relu.derivative_from_output(v)),
            Activation::Tanh => each(d, a, |v| Activation::Tanh.derivative_from_output(v)),
            Activation::Logistic => each(d, a, |v| Activation::Logistic.derivative_from_output(v)),
            other => each(d, a, |v| other.derivative_from_output(v)),
        },
        _ => {
            if activation != Activation::Identity {
                Zip::from(&mut d)
                    .and(&a)
                    .for_each(|d, &a| *d *= activation.derivative_from_output(a));
            }
        }
    }
}

/// `g = scale · Σ_rows delta`, summing rows in order (the same additions as ndarray's row
/// loop it replaces, so the same bits).
#[inline(always)]
fn column_means<F: Float>(delta: ArrayView2<F>, mut g: ArrayViewMut1<F>, scale: F) {
    /// Columns `j..j + W`, summed in registers (a sum through memory is a store-to-load
    /// chain per row, slow for a narrow output layer).
    #[inline(always)]
    fn columns<F: Float, const W: usize>(d: &[F], cols: usize, j: usize, g: &mut [F], scale: F) {
        let mut acc = [F::zero(); W];
        for row in d.chunks_exact(cols) {
            for (acc, &v) in acc.iter_mut().zip(&row[j..j + W]) {
                *acc += v;
            }
        }
        for (g, &acc) in g[j..j + W].iter_mut().zip(&acc) {
            *g = acc * scale;
        }
    }
    let cols = delta.ncols();
    match (delta.as_slice(), g.as_slice_mut()) {
        // Narrow layers only: a block of columns walks every row, which for wide layers
        // would stride through the whole buffer once per block.
        (Some(d), Some(gs)) if cols > 0 && cols <= 32 => {
            let mut j = 0;
            while j + 8 <= cols {
                columns::<F, 8>(d, cols, j, gs, scale);
                j += 8;
            }
            if j + 4 <= cols {
                columns::<F, 4>(d, cols, j, gs, scale);
                j += 4;
            }
            if j + 2 <= cols {
                columns::<F, 2>(d, cols, j, gs, scale);
                j += 2;
            }
            if j < cols {
                columns::<F, 1>(d, cols, j, gs, scale);
            }
        }
        (Some(d), Some(gs)) if cols > 0 => {
            gs.fill(F::zero());
            for row in d.chunks_exact(cols) {
                for (acc, &v) in gs.iter_mut().zip(row) {
                    *acc += v;
                }
            }
            for acc in gs.iter_mut() {
                *acc *= scale;
            }
        }
        _ => {
            g.fill(F::zero());
            for row in delta.rows() {
                g += &row;
            }
            g.mapv_inplace(|v| v * scale);
        }
    }
}

/// Predicts the output activations for every row of `x`, in blocks so memory stays bounded.
pub(crate) fn predict_outputs<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    x: ArrayView2<F>,
) -> Array2<F> {
    predict_outputs_rows(layout, params, activation, out, x, None)
}

/// [`predict_outputs`] for the rows `rows` of `x` (all rows when `None`). Each block of rows
/// is gathered into a block buffer and goes through exactly the products the same block of
/// a selected copy would, so the outputs are bitwise those of predicting the copy.
pub(crate) fn predict_outputs_rows<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    x: ArrayView2<F>,
    rows: Option<&[usize]>,
) -> Array2<F> {
    predict_blocks(layout, params, activation, out, x, rows, PREDICT_BLOCK)
}

/// Rows per block of a prediction. Every thread that multiplies matrices keeps a packing
/// buffer (faer's, reserved per thread), whose touched part, resident from then on, grows
/// with the rows of the largest product the thread has run: with blocks of 4096 rows it
/// held several MiB on every thread that predicted (the California search's peak RSS fell
/// from 15.7 to 8.2 MiB on one thread and from 18.9 to 10.4 MiB on two with 256-row
/// blocks). Throughput on 200000×8 and 20000×784 predictions
/// stayed within the noise of a loaded machine (±10%). A row's outputs do not depend on the
/// block it is in (checked by `prediction_does_not_depend_on_the_block_size`).
pub(crate) const PREDICT_BLOCK: usize = 256;

/// Prediction chooses each layer's kernel as for a block of this many rows, whatever the
/// block's actual size (a training batch's usual size, so that the layers training runs on
/// the own kernel are predicted on it too).
pub(crate) const PREDICT_KERNEL_ROWS: usize = 32;

fn predict_blocks<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    x: ArrayView2<F>,
    rows: Option<&[usize]>,
    block: usize,
) -> Array2<F> {
    let n = rows.map_or(x.nrows(), <[usize]>::len);
    let n_out = *layout.layer_units.last().unwrap_or(&1);
    let mut result = Array2::zeros((n, n_out));
    let block = block.clamp(1, n.max(1));
    let mut hidden: Vec<Array2<F>> = layout.layer_units[1..]
        .iter()
        .map(|&u| Array2::zeros((block, u)))
        .collect();
    let mut gathered = match rows {
        Some(_) => Array2::zeros((block, x.ncols())),
        None => Array2::zeros((0, x.ncols())),
    };
    let mut start = 0;
    while start < n {
        let m = block.min(n - start);
        let input = match rows {
            Some(r) => {
                gather_rows(&x, &mut gathered, &r[start..start + m]);
                gathered.slice(s![..m, ..])
            }
            None => x.slice(s![start..start + m, ..]),
        };
        forward_chosen_for(
            layout,
            params,
            activation,
            out,
            input,
            &mut hidden,
            m,
            PREDICT_KERNEL_ROWS,
        );
        result
            .slice_mut(s![start..start + m, ..])
            .assign(&hidden[hidden.len() - 1].slice(s![..m, ..]));
        start += m;
    }
    result
}

/// Sum of a column-block reduction used by the L-BFGS objective: the full-batch loss and
/// gradient, evaluated in batches of the workspace's capacity and combined exactly as one
/// full batch would be.
#[allow(clippy::too_many_arguments)]
pub(crate) fn full_batch_loss_grad<F: Float>(
    layout: &Layout,
    params: &[F],
    activation: Activation,
    out: OutActivation,
    x: &ArrayView2<F>,
    y: &ArrayView2<F>,
    ws: &mut Workspace<F>,
    alpha: f64,
    grad_out: &mut [F],
) -> F {
    let n = x.nrows();
    let cap = ws.capacity();
    let nf = F::from(n).unwrap_or_else(F::one);
    grad_out.iter_mut().for_each(|g| *g = F::zero());
    let mut loss = F::zero();
    let mut start = 0;
    while start < n {
        let m = cap.min(n - start);
        ws.gather_range(x, y, start, m);
        let (first, rest) = ws.acts.split_at_mut(1);
        forward(layout, params, activation, out, first[0].view(), rest, m);
        // Each block's loss/gradient is a mean over its rows; weight it by m/n. The L2 term is
        // added once below for the whole batch.
        let block_loss = backward(layout, params, activation, out, ws, m, 0.0);
        let w = F::from(m).unwrap_or_else(F::one) / nf;
        loss += block_loss * w;
        for (g, &b) in grad_out.iter_mut().zip(ws.grads.iter()) {
            *g += b * w;
        }
        start += m;
    }
    if alpha != 0.0 {
        let alpha_f = F::from(alpha).unwrap_or_else(F::zero);
        let coefs = layout.coefs_len();
        let squares = params[..coefs]
            .iter()
            .fold(F::zero(), |acc, &w| acc + w * w);
        loss += F::from(0.5).unwrap_or_else(F::zero) * alpha_f * squares / nf;
        for (g, &w) in grad_out[..coefs].iter_mut().zip(&params[..coefs]) {
            *g += alpha_f * w / nf;
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Outputs of a row are bitwise the same whatever block of rows it is predicted in and
    /// whether the block is a slice of the data or gathered through a row list, for layer
    /// widths on both sides of the kernels' register tiles.
    #[test]
    fn prediction_does_not_depend_on_the_block_size() {
        let mut rng = NumpyRng::new(11);
        for units in [
            vec![8, 1, 1],
            vec![8, 30, 1],
            vec![8, 99, 99, 1],
            vec![64, 17, 10],
            vec![13, 5, 33, 3],
        ] {
            let layout = Layout::new(&units);
            let params: Vec<f64> = init_params_sklearn(&layout, Activation::Relu, &mut rng);
            let x = Array2::from_shape_fn((5000, units[0]), |_| rng.uniform(-2.0, 2.0));
            let rows: Vec<usize> = (0..x.nrows()).rev().step_by(3).collect();
            let whole = |block| {
                predict_blocks(
                    &layout,
                    &params,
                    Activation::Relu,
                    OutActivation::Identity,
                    x.view(),
                    None,
                    block,
                )
            };
            let reference = whole(4096);
            for block in [1, 7, 64, 256, 1000, 5000] {
                assert_eq!(whole(block), reference, "{units:?} block {block}");
            }
            let picked = reference.select(ndarray::Axis(0), &rows);
            for block in [5, 256, 4096] {
                let gathered = predict_blocks(
                    &layout,
                    &params,
                    Activation::Relu,
                    OutActivation::Identity,
                    x.view(),
                    Some(&rows),
                    block,
                );
                assert_eq!(gathered, picked, "{units:?} rows block {block}");
            }
        }
    }

    /// Finite-difference check of the gradient for every hidden activation and output.
    #[test]
    fn gradient_matches_finite_differences() {
        let x = array![
            [0.3, -1.2, 0.5],
            [1.1, 0.4, -0.7],
            [-0.2, 0.9, 1.5],
            [0.8, -0.3, 0.1]
        ];
        let y_reg = array![[0.5, -1.0], [1.5, 0.2], [-0.3, 0.7], [0.0, 1.1]];
        let y_multi = array![[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]];
        let y_pois = array![[1.0, 0.0], [2.0, 3.0], [0.0, 1.0], [4.0, 1.0]];
        for activation in Activation::ALL {
            for (out, y) in [
                (OutActivation::Identity, &y_reg),
                (OutActivation::Logistic, &y_multi),
                (OutActivation::Softmax, &y_multi),
                (OutActivation::Exp, &y_pois),
            ] {
                for alpha in [0.0, 0.3] {
                    let layout = Layout::new(&[3, 4, 3, 2]);
                    let mut rng = NumpyRng::new(5);
                    let params: Vec<f64> = init_params_sklearn(&layout, activation, &mut rng);
                    let mut ws = Workspace::new(&layout, 4);
                    let mut grad = vec![0.0; layout.len()];
                    let loss_at = |p: &[f64], ws: &mut Workspace<f64>, g: &mut [f64]| {
                        full_batch_loss_grad(
                            &layout,
                            p,
                            activation,
                            out,
                            &x.view(),
                            &y.view(),
                            ws,
                            alpha,
                            g,
                        )
                    };
                    loss_at(&params, &mut ws, &mut grad);
                    let mut scratch = vec![0.0; layout.len()];
                    for k in 0..layout.len() {
                        let h = 1e-6;
                        let mut p = params.clone();
                        p[k] += h;
                        let up = loss_at(&p, &mut ws, &mut scratch);
                        p[k] -= 2.0 * h;
                        let down = loss_at(&p, &mut ws, &mut scratch);
                        let numeric = (up - down) / (2.0 * h);
                        // The multi-output squared loss averages over outputs while
                        // scikit-learn's gradient does not: compare against its scaling.
                        let scale = if out == OutActivation::Identity || out == OutActivation::Exp {
                            2.0
                        } else {
                            1.0
                        };
                        let analytic = grad[k];
                        let numeric_scaled = if k < layout.coefs_len() && alpha != 0.0 {
                            // The L2 part is not divided by the outputs.
                            let w = params[k];
                            (numeric - alpha * w / 4.0) * scale + alpha * w / 4.0
                        } else {
                            numeric * scale
                        };
                        assert!(
                            (numeric_scaled - analytic).abs() < 1e-6,
                            "{activation:?} {out:?} alpha {alpha} param {k}: {numeric_scaled} vs {analytic}"
                        );
                    }
                }
            }
        }
    }
}
