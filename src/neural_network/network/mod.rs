//! The network engine shared by both estimators: parameter layout, forward and backward
//! passes over a reusable workspace (the matrix kernel they call is in `gemm`).

use linfa::Float;
use ndarray::{s, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::base::{Activation, OutActivation};
use super::fastmath;
use super::gemm::{gemm_chosen_for, gemm_fused, reserve_packing, Epilogue};
use super::stochastic_optimizers::Optimizer;
use crate::random::NumpyRng;

mod step;
pub(crate) use step::*;
#[cfg(test)]
mod tests;

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
/// with the rows of the largest product the thread has run: small blocks keep that memory
/// small on every thread that predicts, at no cost in throughput (figures in
/// `docs/performance.md`). A row's outputs do not depend on the block it is in (checked by
/// `prediction_does_not_depend_on_the_block_size`).
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
