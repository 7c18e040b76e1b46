//! The register-blocked kernel, generic over the vector operations of [`Simd`], with its
//! portable one-lane instance and the dot-product path for one-column outputs.

use super::*;

/// The vector operations the kernel is written in, one implementation per instruction set.
/// Each is the correctly rounded IEEE operation per lane (`fma` fused, one rounding), so an
/// element's result does not depend on the vector width.
pub(super) trait Simd: Copy {
    type E: Float;
    type V: Copy;
    const LANES: usize;
    unsafe fn splat(x: Self::E) -> Self::V;
    unsafe fn load(p: *const Self::E) -> Self::V;
    /// The first `n` lanes from `p` (`0 < n < LANES`), zero in the others; reads only them.
    unsafe fn load_first(p: *const Self::E, n: usize) -> Self::V;
    unsafe fn store(p: *mut Self::E, v: Self::V);
    /// Writes the first `n` lanes only.
    unsafe fn store_first(p: *mut Self::E, v: Self::V, n: usize);
    /// `a·b + c` rounded once.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn sqrt(v: Self::V) -> Self::V;
    /// `v > 0 ? v : 0` per lane (NaN gives 0).
    unsafe fn relu(v: Self::V) -> Self::V;
    /// `d · (a == 0 ? 0 : 1)` per lane (the relu derivative from the output).
    unsafe fn times_nonzero(d: Self::V, a: Self::V) -> Self::V;
}

/// `a·b + c` rounded once (`mul_add`: an FMA instruction where the target has one, else
/// libm's exact software `fma`).
#[inline(always)]
pub(super) fn fused<F: Float>(a: F, b: F, c: F) -> F {
    num_traits::Float::mul_add(a, b, c)
}

/// One element per "vector": the portable kernel.
#[derive(Clone, Copy)]
pub(super) struct Scalar<F>(std::marker::PhantomData<F>);

impl<F: Float> Simd for Scalar<F> {
    type E = F;
    type V = F;
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: F) -> F {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const F) -> F {
        *p
    }
    #[inline(always)]
    unsafe fn load_first(p: *const F, _n: usize) -> F {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: *mut F, v: F) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn store_first(p: *mut F, v: F, _n: usize) {
        *p = v;
    }
    #[inline(always)]
    unsafe fn fma(a: F, b: F, c: F) -> F {
        fused(a, b, c)
    }
    #[inline(always)]
    unsafe fn add(a: F, b: F) -> F {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(a: F, b: F) -> F {
        a - b
    }
    #[inline(always)]
    unsafe fn mul(a: F, b: F) -> F {
        a * b
    }
    #[inline(always)]
    unsafe fn div(a: F, b: F) -> F {
        a / b
    }
    #[inline(always)]
    unsafe fn sqrt(v: F) -> F {
        v.sqrt()
    }
    #[inline(always)]
    unsafe fn relu(v: F) -> F {
        if v > F::zero() {
            v
        } else {
            F::zero()
        }
    }
    #[inline(always)]
    unsafe fn times_nonzero(d: F, a: F) -> F {
        d * if a == F::zero() { F::zero() } else { F::one() }
    }
}

/// The kernel over a whole product: panels of `NV` vectors of columns, each run down the
/// rows in blocks of `MR` (then 4, 2, 1) rows, the last panel narrower (its last vector
/// partial) when the width is not a multiple of the panel's.
#[inline(always)]
pub(super) unsafe fn kernel<S: Simd, const MR: usize, const NV: usize>(t: &Tile<S::E>) {
    if t.n == 1 && t.a_col == 1 && t.b_row == 1 && t.k >= 8 {
        dots::<S::E>(t);
        return;
    }
    let l = S::LANES;
    let mut j = 0;
    while t.n - j >= NV * l {
        rows::<S, MR, NV, false>(t, j, l);
        j += NV * l;
    }
    let left = t.n - j;
    if left == 0 {
        return;
    }
    let vectors = left.div_ceil(l);
    let last = left - (vectors - 1) * l;
    let tail = last < l;
    match (vectors, tail) {
        (1, false) => rows::<S, MR, 1, false>(t, j, last),
        (1, true) => rows::<S, MR, 1, true>(t, j, last),
        (2, false) => rows::<S, MR, 2, false>(t, j, last),
        (2, true) => rows::<S, MR, 2, true>(t, j, last),
        (3, false) => rows::<S, MR, 3, false>(t, j, last),
        (3, true) => rows::<S, MR, 3, true>(t, j, last),
        // Only with panels of 4 or more vectors.
        (_, false) => rows::<S, MR, 4, false>(t, j, last),
        (_, true) => rows::<S, MR, 4, true>(t, j, last),
    }
}

/// One panel (`NV` vectors from column `j`, `last` lanes in the last) over all rows.
#[inline(always)]
unsafe fn rows<S: Simd, const MR: usize, const NV: usize, const TAIL: bool>(
    t: &Tile<S::E>,
    j: usize,
    last: usize,
) {
    let mut i = 0;
    if !t.sums.is_null() {
        // The first block also sums `B`'s rows (it reads all of them anyway).
        let rows = if t.m >= MR {
            block::<S, MR, NV, TAIL, true>(t, 0, j, last);
            MR
        } else if MR > 4 && t.m >= 4 {
            block::<S, 4, NV, TAIL, true>(t, 0, j, last);
            4
        } else if MR > 2 && t.m >= 2 {
            block::<S, 2, NV, TAIL, true>(t, 0, j, last);
            2
        } else {
            block::<S, 1, NV, TAIL, true>(t, 0, j, last);
            1
        };
        i = rows;
    }
    while i + MR <= t.m {
        block::<S, MR, NV, TAIL, false>(t, i, j, last);
        i += MR;
    }
    if MR > 4 && i + 4 <= t.m {
        block::<S, 4, NV, TAIL, false>(t, i, j, last);
        i += 4;
    }
    if MR > 2 && i + 2 <= t.m {
        block::<S, 2, NV, TAIL, false>(t, i, j, last);
        i += 2;
    }
    while MR > 1 && i < t.m {
        block::<S, 1, NV, TAIL, false>(t, i, j, last);
        i += 1;
    }
}

/// The `MR × NV` vector block at `(i, j)`, summed in registers over the whole of `p`, then
/// finished and stored. `B`'s rows are read where they are (no packing: the operands of
/// the shapes taken stay in L1/L2).
#[inline(always)]
unsafe fn block<S: Simd, const MR: usize, const NV: usize, const TAIL: bool, const SUMS: bool>(
    t: &Tile<S::E>,
    i: usize,
    j: usize,
    last: usize,
) {
    let l = S::LANES;
    let zero = S::splat(<S::E as num_traits::Zero>::zero());
    let mut acc = [[zero; NV]; MR];
    let mut sums = [zero; NV];
    let mut a = t.a.add(i * t.a_row);
    let mut b = t.b.add(j);
    for _ in 0..t.k {
        let mut bv = [zero; NV];
        for (v, bv) in bv.iter_mut().enumerate() {
            *bv = if TAIL && v == NV - 1 {
                S::load_first(b.add(v * l), last)
            } else {
                S::load(b.add(v * l))
            };
        }
        if SUMS {
            for (sum, &bv) in sums.iter_mut().zip(&bv) {
                *sum = S::add(*sum, bv);
            }
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = S::splat(*a.add(r * t.a_row));
            for (acc, &bv) in acc.iter_mut().zip(&bv) {
                *acc = S::fma(av, bv, *acc);
            }
        }
        a = a.add(t.a_col);
        b = b.add(t.b_row);
    }
    if SUMS {
        let scale = S::splat(t.sums_scale);
        for (v, &sum) in sums.iter().enumerate() {
            let lanes = lanes_of::<NV, TAIL>(v, l, last);
            store_lanes::<S>(t.sums.add(j + v * l), S::mul(sum, scale), lanes);
        }
    }
    finish_block::<S, MR, NV, TAIL>(t, i, j, last, acc);
}

/// Lanes in vector `v` of a block whose last vector has `last` lanes.
#[inline(always)]
fn lanes_of<const NV: usize, const TAIL: bool>(v: usize, full: usize, last: usize) -> usize {
    if TAIL && v == NV - 1 {
        last
    } else {
        full
    }
}

#[inline(always)]
unsafe fn load_lanes<S: Simd>(p: *const S::E, lanes: usize) -> S::V {
    if lanes == S::LANES {
        S::load(p)
    } else {
        S::load_first(p, lanes)
    }
}

#[inline(always)]
unsafe fn store_lanes<S: Simd>(p: *mut S::E, v: S::V, lanes: usize) {
    if lanes == S::LANES {
        S::store(p, v);
    } else {
        S::store_first(p, v, lanes);
    }
}

/// Finishes the block's sums `s` (see [`Epilogue`]) and stores them: the epilogue is chosen
/// once per block, each case one loop over the block's vectors (which the compiler unrolls).
#[inline(always)]
unsafe fn finish_block<S: Simd, const MR: usize, const NV: usize, const TAIL: bool>(
    t: &Tile<S::E>,
    i: usize,
    j: usize,
    last: usize,
    s: [[S::V; NV]; MR],
) {
    let zero = <S::E as num_traits::Zero>::zero();
    let one = <S::E as num_traits::One>::one();
    let l = S::LANES;
    let c = t.c.add(i * t.c_row + j);
    // `f(r, v, s)` is stored at row `r`, vector `v` of the block.
    macro_rules! each {
        (|$r:ident, $v:ident, $x:ident| $body:expr) => {
            for ($r, row) in s.iter().enumerate() {
                for ($v, &$x) in row.iter().enumerate() {
                    let lanes = lanes_of::<NV, TAIL>($v, l, last);
                    let value = $body;
                    store_lanes::<S>(c.add($r * t.c_row + $v * l), value, lanes);
                }
            }
        };
    }
    match t.finish {
        Finish::Store { alpha, beta } if beta == zero && alpha == one => {
            // The forward products: `1 · s` is `s`, and skipping it saves a multiply.
            each!(|_r, _v, x| x)
        }
        Finish::Store { alpha, beta } if beta == zero => {
            let alpha = S::splat(alpha);
            each!(|_r, _v, x| S::mul(alpha, x))
        }
        Finish::Store { alpha, beta } => {
            let (alpha, beta) = (S::splat(alpha), S::splat(beta));
            each!(|r, v, x| {
                let old =
                    load_lanes::<S>(c.add(r * t.c_row + v * l), lanes_of::<NV, TAIL>(v, l, last));
                S::add(S::mul(beta, old), S::mul(alpha, x))
            })
        }
        Finish::Bias { bias, relu } => {
            let mut b = [S::splat(zero); NV];
            for (v, b) in b.iter_mut().enumerate() {
                *b = load_lanes::<S>(bias.add(j + v * l), lanes_of::<NV, TAIL>(v, l, last));
            }
            if relu {
                each!(|_r, v, x| S::relu(S::add(x, b[v])))
            } else {
                each!(|_r, v, x| S::add(x, b[v]))
            }
        }
        Finish::Derivative { out, out_row, kind } => {
            let out = out.add(i * out_row + j);
            // (A macro, not a closure: a closure would not inherit the caller's target
            // features, and the intrinsics could not be inlined into it.)
            macro_rules! a {
                ($r:expr, $v:expr) => {
                    load_lanes::<S>(
                        out.add($r * out_row + $v * l),
                        lanes_of::<NV, TAIL>($v, l, last),
                    )
                };
            }
            let one = S::splat(one);
            match kind {
                Derivative::Identity => each!(|_r, _v, x| x),
                Derivative::Relu => each!(|r, v, x| S::times_nonzero(x, a!(r, v))),
                Derivative::Tanh => each!(|r, v, x| {
                    let a = a!(r, v);
                    S::mul(x, S::sub(one, S::mul(a, a)))
                }),
                Derivative::Logistic => each!(|r, v, x| {
                    let a = a!(r, v);
                    S::mul(x, S::mul(a, S::sub(one, a)))
                }),
            }
        }
        Finish::AddScaled {
            alpha,
            w,
            w_row,
            scale,
        } => {
            let w = w.add(i * w_row + j);
            let (alpha, scale) = (S::splat(alpha), S::splat(scale));
            each!(|r, v, x| {
                let w = load_lanes::<S>(w.add(r * w_row + v * l), lanes_of::<NV, TAIL>(v, l, last));
                S::add(S::mul(alpha, x), S::mul(scale, w))
            })
        }
        Finish::Update {
            alpha,
            l2,
            w,
            w_row,
            s1,
            s1_row,
            s2,
            s2_row,
            step,
        } => update_block::<S, MR, NV, TAIL>(
            s,
            last,
            alpha,
            l2,
            step,
            [
                w.add(i * w_row + j),
                s1.add(i * s1_row + j),
                if s2.is_null() {
                    s2
                } else {
                    s2.add(i * s2_row + j)
                },
            ],
            [w_row, s1_row, s2_row],
        ),
    }
}

/// [`Finish::Update`] on a block: the gradient `g` from the sums, then the optimizer's rule
/// ([`Step::apply`]'s operations, vectorized) on the parameters and states at `ptrs`
/// (`[w, s1, s2]`, each with its row stride in `rows`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn update_block<S: Simd, const MR: usize, const NV: usize, const TAIL: bool>(
    s: [[S::V; NV]; MR],
    last: usize,
    alpha: S::E,
    l2: Option<S::E>,
    step: Step<S::E>,
    [w, s1, s2]: [*mut S::E; 3],
    [w_row, s1_row, s2_row]: [usize; 3],
) {
    let l = S::LANES;
    let one = <S::E as num_traits::One>::one();
    for (r, row) in s.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            let lanes = lanes_of::<NV, TAIL>(v, l, last);
            let pw = w.add(r * w_row + v * l);
            let p1 = s1.add(r * s1_row + v * l);
            let w0 = load_lanes::<S>(pw, lanes);
            let mut g = if alpha == one {
                x
            } else {
                S::mul(S::splat(alpha), x)
            };
            if let Some(scale) = l2 {
                g = S::add(g, S::mul(S::splat(scale), w0));
            }
            let w1 = match step {
                Step::Sgd {
                    lr,
                    momentum,
                    nesterov,
                } => {
                    let (lr, momentum) = (S::splat(lr), S::splat(momentum));
                    let v0 = load_lanes::<S>(p1, lanes);
                    if nesterov {
                        let step = S::mul(lr, g);
                        let v1 = S::sub(S::mul(momentum, v0), step);
                        store_lanes::<S>(p1, v1, lanes);
                        S::add(w0, S::sub(S::mul(momentum, v1), step))
                    } else {
                        let v1 = S::sub(S::mul(momentum, v0), S::mul(lr, g));
                        store_lanes::<S>(p1, v1, lanes);
                        S::add(w0, v1)
                    }
                }
                Step::Adam {
                    b1,
                    one_minus_b1,
                    b2,
                    one_minus_b2,
                    neg_lr,
                    eps,
                } => {
                    let p2 = s2.add(r * s2_row + v * l);
                    let m0 = load_lanes::<S>(p1, lanes);
                    let v0 = load_lanes::<S>(p2, lanes);
                    let m1 = S::add(S::mul(S::splat(b1), m0), S::mul(S::splat(one_minus_b1), g));
                    let v1 = S::add(
                        S::mul(S::splat(b2), v0),
                        S::mul(S::splat(one_minus_b2), S::mul(g, g)),
                    );
                    store_lanes::<S>(p1, m1, lanes);
                    store_lanes::<S>(p2, v1, lanes);
                    let denominator = S::add(S::sqrt(v1), S::splat(eps));
                    S::add(w0, S::div(S::mul(S::splat(neg_lr), m1), denominator))
                }
            };
            store_lanes::<S>(pw, w1, lanes);
        }
    }
}

/// A one-column output with contiguous `A` rows and `B` column (a layer's forward product
/// into a single unit), as dot products: the row form would be scalar. Each
/// `C[i, 0] = ((s₀ + s₁) + (s₂ + s₃)) + tail`, `s_l` the fused multiply-adds of the terms at
/// `p ≡ l (mod 4)` in increasing `p` from zero and `tail` the last `k mod 4` terms fused
/// onto that sum in order; then the epilogue.
#[inline(always)]
unsafe fn dots<F: Float>(t: &Tile<F>) {
    let mut i = 0;
    while i + 8 <= t.m {
        dot_rows::<F, 8>(t, i);
        i += 8;
    }
    while i < t.m {
        dot_rows::<F, 1>(t, i);
        i += 1;
    }
}

/// Rows `i..i + R` of [`dots`], interleaved term by term so that the `4·R` partial sums are
/// independent chains (one row at a time waited on the latency of each fused multiply-add).
#[inline(always)]
unsafe fn dot_rows<F: Float, const R: usize>(t: &Tile<F>, i: usize) {
    let k = t.k;
    let body = k - k % 4;
    let b = std::slice::from_raw_parts(t.b, k);
    let rows: [&[F]; R] =
        std::array::from_fn(|r| std::slice::from_raw_parts(t.a.add((i + r) * t.a_row), k));
    let mut lanes = [[F::zero(); 4]; R];
    for p in (0..body).step_by(4) {
        for (lanes, a) in lanes.iter_mut().zip(&rows) {
            for l in 0..4 {
                lanes[l] = fused(a[p + l], b[p + l], lanes[l]);
            }
        }
    }
    for (r, (lanes, a)) in lanes.iter().zip(&rows).enumerate() {
        let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for p in body..k {
            total = fused(a[p], b[p], total);
        }
        finish_block::<Scalar<F>, 1, 1, false>(t, i + r, 0, 1, [[total]]);
    }
}
