//! One training step of the scikit-learn engine and the passes it is made of: forward with
//! fused bias and activation, the loss and output delta, backward with the optimizer step
//! fused into the gradient products, and the full-batch objective of L-BFGS.

use super::*;

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
pub(super) unsafe fn train_step_avx512<F: Float>(
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
pub(super) unsafe fn train_step_avx2<F: Float>(
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
pub(super) fn train_step_portable<F: Float>(
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
pub(super) fn top<F>(a: ArrayView2<'_, F>, m: usize) -> ArrayView2<'_, F> {
    a.split_at(Axis(0), m).0
}

/// The first `m` rows of `a`, mutably (see [`top`]).
#[inline(always)]
pub(super) fn top_mut<F>(a: ArrayViewMut2<'_, F>, m: usize) -> ArrayViewMut2<'_, F> {
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
pub(super) fn forward_chosen_for<F: Float>(
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
pub(super) fn loss_and_output_delta<F: Float>(
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

/// `Σ w²` in eight interleaved partial sums (a fixed order, so the same bits on every CPU)
/// rather than one serial chain whose latency dominated the small network's L2 term.
#[inline(always)]
pub(super) fn sum_of_squares<F: Float>(w: &[F]) -> F {
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
pub(super) fn bias_activation<F: Float>(
    mut z: ArrayViewMut2<F>,
    b: ArrayView1<F>,
    activation: Activation,
) {
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
pub(super) fn activate_in_place<F: Float>(mut z: ArrayViewMut2<F>, activation: Activation) {
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
pub(super) fn times_derivative<F: Float>(
    mut d: ArrayViewMut2<F>,
    a: ArrayView2<F>,
    activation: Activation,
) {
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
pub(super) fn column_means<F: Float>(delta: ArrayView2<F>, mut g: ArrayViewMut1<F>, scale: F) {
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
