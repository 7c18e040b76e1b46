//! The engine's matrix kernel, `C = alpha·A·B + beta·C`, and the thread settings it obeys.
//!
//! Small products (the batch-by-layer shapes of MLP training) run on the crate's own
//! register-blocked kernel; larger ones on faer (feature `faer`, default) or ndarray. Every
//! path computes each output row independently of the others and in a documented summation
//! order, so results never depend on the thread count or on how rows are blocked.

use std::cell::Cell;

use linfa::Float;
use ndarray::{linalg::general_mat_mul, ArrayView2, ArrayViewMut2};

thread_local! {
    /// Threads the matrix kernel may use on this thread (set for the length of one fit).
    static KERNEL_THREADS: Cell<usize> = const { Cell::new(1) };
    /// Upper bound on [`KERNEL_THREADS`]: 1 inside a search task, so that (candidate × fold)
    /// tasks are the only parallelism and the machine is never oversubscribed.
    static KERNEL_THREAD_CAP: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Restores a thread-local on drop, so a panicking fit cannot leak its setting.
struct Restore(&'static std::thread::LocalKey<Cell<usize>>, usize);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.with(|c| c.set(self.1));
    }
}

/// Runs `f` with the matrix kernel allowed up to `n` threads on the calling thread (capped
/// by [`with_single_threaded_kernels`]). A fit wraps its training loop in this with
/// `MlpConfig::n_threads`.
pub(crate) fn with_kernel_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let cap = KERNEL_THREAD_CAP.with(Cell::get);
    let previous = KERNEL_THREADS.with(|c| c.replace(n.clamp(1, cap.max(1))));
    let _restore = Restore(&KERNEL_THREADS, previous);
    f()
}

/// Runs `f` with every kernel single-threaded, whatever the fits inside ask for. Searches and
/// cross-validation run each (candidate × fold) task in this, because the tasks themselves
/// are spread over the `n_jobs` threads.
pub(crate) fn with_single_threaded_kernels<R>(f: impl FnOnce() -> R) -> R {
    let previous_cap = KERNEL_THREAD_CAP.with(|c| c.replace(1));
    let _restore_cap = Restore(&KERNEL_THREAD_CAP, previous_cap);
    let previous = KERNEL_THREADS.with(|c| c.replace(1));
    let _restore = Restore(&KERNEL_THREADS, previous);
    f()
}

/// Products with fewer multiply-adds than this stay on one thread even when more are
/// allowed: below it, waking a second thread costs more than it saves (measured on the
/// wide-network shapes, where 200×512×512 gains and 200×512×10 loses).
#[cfg(feature = "faer")]
const PARALLEL_MIN_MULADDS: usize = 1 << 22;

/// `C = alpha * A · B + beta * C`, the one matrix kernel of the engine.
///
/// Small products (up to [`SMALL_MAX_MULADDS`] multiply-adds, in an orientation with
/// unit-stride output rows) run on the engine's own kernel, [`small_gemm`], for any element
/// type and without features. Larger ones: with the `faer` feature (default), `f32` and `f64`
/// products run on faer's kernels through
/// zero-copy views of the same buffers (faer measured faster than ndarray's
/// `general_mat_mul` on every shape of the benchmark networks, see the README's
/// Performance section); other element types and empty products use ndarray.
#[inline]
pub(crate) fn gemm<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    gemm_chosen_for(a.nrows(), alpha, a, b, beta, c);
}

/// [`gemm`] with the kernel chosen as if `A` had `choice_rows` rows. Prediction passes a
/// fixed count, so every block of rows runs on the same kernel and a row's outputs do not
/// depend on the block it is in (both kernels compute each row independently of the others).
#[inline]
pub(crate) fn gemm_chosen_for<F: Float>(
    choice_rows: usize,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    if small_gemm(choice_rows, alpha, a, b, beta, c) {
        return;
    }
    #[cfg(feature = "faer")]
    {
        use std::any::TypeId;
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        if m > 0 && k > 0 && n > 0 {
            if TypeId::of::<F>() == TypeId::of::<f64>() {
                faer_gemm::<F, f64>(alpha, a, b, beta, c);
                return;
            }
            if TypeId::of::<F>() == TypeId::of::<f32>() {
                faer_gemm::<F, f32>(alpha, a, b, beta, c);
                return;
            }
        }
    }
    general_mat_mul(alpha, a, b, beta, c);
}

/// Products with at most this many multiply-adds run on [`small_gemm`]'s kernel: below it,
/// faer's dispatch and packing cost more than the arithmetic. Measured (f64, one thread,
/// loaded 2-core Zen 4): 32×8·8×30 takes 0.53 µs on the small kernel and 1.17 µs on faer;
/// 8×32·32×30 ties (0.47 against 0.46); from 32×30·30×30 (28 800) faer is ahead (1.50
/// against 1.63 µs) and its lead grows with size.
const SMALL_MAX_MULADDS: usize = 1 << 14;

/// The engine's own kernel for small products, used when one operand orientation lets the
/// output be computed row by row with unit-stride rows:
///
/// - *row form*: `B` and `C` have contiguous rows, `C[i, ..] = Σ_p A[i, p] · B[p, ..]`;
/// - *transposed form*: `A` and `C` have contiguous columns (e.g. `Hᵀ·δ` with one output
///   unit), computed as `Cᵀ = Bᵀ · Aᵀ` in row form.
///
/// Every output element is `Σ_p a·b` summed in increasing `p` from zero, then scaled by
/// `alpha` (and `beta · C` added): the vectorization runs along the output row, never along
/// the sum, and Rust neither reorders nor fuses float operations, so the AVX2 and portable
/// versions give the same bits. Returns `false` (nothing done) when the product is too large
/// or neither form applies.
#[inline(always)]
fn small_gemm<F: Float>(
    choice_rows: usize,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) -> bool {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if m == 0
        || k == 0
        || n == 0
        || choice_rows.saturating_mul(k).saturating_mul(n) > SMALL_MAX_MULADDS
    {
        return false;
    }
    if b.nrows() != k || c.nrows() != m || c.ncols() != n {
        return false;
    }
    let stride = |s: isize| usize::try_from(s).ok();
    let (Some(sa0), Some(sa1), Some(sb0), Some(sb1), Some(sc0), Some(sc1)) = (
        stride(a.strides()[0]),
        stride(a.strides()[1]),
        stride(b.strides()[0]),
        stride(b.strides()[1]),
        stride(c.strides()[0]),
        stride(c.strides()[1]),
    ) else {
        return false;
    };
    let row_form = (sb1 == 1 && sc1 == 1) || n == 1;
    let transposed_form = (sa0 == 1 && sc0 == 1) || m == 1;
    // A one-column output (`Hᵀ·δ` for a one-unit layer) vectorizes along its column in the
    // transposed form; in row form it would be scalar unless `A`'s rows are contiguous
    // (then it runs as dot products, see `small_kernel`).
    let prefer_transposed = n == 1 && m > 1 && sa1 != 1;
    let shape = if row_form && !(prefer_transposed && transposed_form) {
        SmallShape {
            m,
            k,
            n,
            a: a.as_ptr(),
            a_row: sa0,
            a_col: sa1,
            b: b.as_ptr(),
            b_row: sb0,
            c: c.as_mut_ptr(),
            c_row: sc0,
        }
    } else if transposed_form {
        SmallShape {
            m: n,
            k,
            n: m,
            a: b.as_ptr(),
            a_row: sb1,
            a_col: sb0,
            b: a.as_ptr(),
            b_row: sa1,
            c: c.as_mut_ptr(),
            c_row: sc1,
        }
    } else {
        return false;
    };
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F; the shape describes the views' elements
            // (below).
            unsafe { small_kernel_avx512(&shape, alpha, beta) };
            return true;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above, for AVX2.
            unsafe { small_kernel_avx2(&shape, alpha, beta) };
            return true;
        }
    }
    // SAFETY: `shape` was built from the views: for `i < m`, `p < k`, `j < n` the offsets
    // `i·a_row + p·a_col`, `p·b_row + j` and `i·c_row + j` address elements of `a`, `b` and
    // `c` (unit strides checked above, or the dimension is 1 so `j = 0`), and `c` is borrowed
    // mutably so it aliases neither operand.
    unsafe { small_kernel(&shape, alpha, beta) };
    true
}

/// A row-form product for [`small_kernel`]: `C[i, j] = Σ_p A[i, p] · B[p, j]` with
/// `A[i, p] = a[i·a_row + p·a_col]`, `B[p, j] = b[p·b_row + j]`, `C[i, j] = c[i·c_row + j]`.
struct SmallShape<F> {
    m: usize,
    k: usize,
    n: usize,
    a: *const F,
    a_row: usize,
    a_col: usize,
    b: *const F,
    b_row: usize,
    c: *mut F,
    c_row: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn small_kernel_avx512<F: Float>(shape: &SmallShape<F>, alpha: F, beta: F) {
    small_kernel(shape, alpha, beta)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn small_kernel_avx2<F: Float>(shape: &SmallShape<F>, alpha: F, beta: F) {
    small_kernel(shape, alpha, beta)
}

/// Row form over blocks of rows, each output row cut in chunks held in registers.
///
/// A one-unit output with contiguous operands (a layer's forward product into a single
/// output unit) is a dot product per row instead: there the row form would be scalar, so the
/// sum runs in four interleaved partial sums combined in a fixed order (the same bits on
/// every CPU, as everywhere in this kernel).
#[inline(always)]
unsafe fn small_kernel<F: Float>(shape: &SmallShape<F>, alpha: F, beta: F) {
    let mut i = 0;
    if shape.n == 1 && shape.a_col == 1 && shape.b_row == 1 && shape.k >= 8 {
        while i + 4 <= shape.m {
            small_dots::<F, 4>(shape, i, alpha, beta);
            i += 4;
        }
        while i < shape.m {
            small_dots::<F, 1>(shape, i, alpha, beta);
            i += 1;
        }
        return;
    }
    if shape.n < 4 {
        while i + 8 <= shape.m {
            small_rows::<F, 8>(shape, i, alpha, beta);
            i += 8;
        }
    }
    while i + 4 <= shape.m {
        small_rows::<F, 4>(shape, i, alpha, beta);
        i += 4;
    }
    while i < shape.m {
        small_rows::<F, 1>(shape, i, alpha, beta);
        i += 1;
    }
}

/// Rows `i..i + MR` of the output: blocks of 16 columns (32 in f32), then 8, 4, 2, 1.
#[inline(always)]
unsafe fn small_rows<F: Float, const MR: usize>(
    shape: &SmallShape<F>,
    i: usize,
    alpha: F,
    beta: F,
) {
    let mut j = 0;
    if std::mem::size_of::<F>() <= 4 {
        j = small_cover::<F, MR, 32>(shape, i, j, alpha, beta);
    }
    j = small_cover::<F, MR, 16>(shape, i, j, alpha, beta);
    j = small_cover::<F, MR, 8>(shape, i, j, alpha, beta);
    let n = shape.n;
    if j + 4 <= n {
        small_block::<F, MR, 4>(shape, i, j, alpha, beta);
        j += 4;
    }
    if j + 2 <= n {
        small_block::<F, MR, 2>(shape, i, j, alpha, beta);
        j += 2;
    }
    if j < n {
        small_block::<F, MR, 1>(shape, i, j, alpha, beta);
    }
}

/// Columns `j..` of rows `i..i + MR` in blocks of `NR`; returns the first column left. When
/// `beta` is zero and a partial block remains, the last block is shifted left to end at the
/// last column: it recomputes a few columns with the same operations, so it rewrites the same
/// values, and saves the narrower blocks (30 hidden units are 16 + 16 with an overlap of 2).
#[inline(always)]
unsafe fn small_cover<F: Float, const MR: usize, const NR: usize>(
    shape: &SmallShape<F>,
    i: usize,
    mut j: usize,
    alpha: F,
    beta: F,
) -> usize {
    let n = shape.n;
    while j + NR <= n {
        small_block::<F, MR, NR>(shape, i, j, alpha, beta);
        j += NR;
    }
    if j < n && j > 0 && beta == F::zero() {
        small_block::<F, MR, NR>(shape, i, n - NR, alpha, beta);
        j = n;
    }
    j
}

/// The `MR × NR` output block at `(i, j)`, accumulated in registers over the whole sum.
#[inline(always)]
unsafe fn small_block<F: Float, const MR: usize, const NR: usize>(
    shape: &SmallShape<F>,
    i: usize,
    j: usize,
    alpha: F,
    beta: F,
) {
    let mut acc = [[F::zero(); NR]; MR];
    let a = shape.a.add(i * shape.a_row);
    let b = shape.b.add(j);
    for p in 0..shape.k {
        let b_row = std::slice::from_raw_parts(b.add(p * shape.b_row), NR);
        let a_col = a.add(p * shape.a_col);
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let av = *a_col.add(r * shape.a_row);
            for (acc, &bv) in acc_row.iter_mut().zip(b_row) {
                *acc += av * bv;
            }
        }
    }
    small_store(shape, i, j, &acc, alpha, beta);
}

/// Rows `i..i + MR` of a one-column output with contiguous `A` rows and `B` column:
/// `C[i, 0] = ((s₀ + s₁) + (s₂ + s₃)) + tail`, `s_l` summing the products at `p ≡ l (mod 4)`.
#[inline(always)]
unsafe fn small_dots<F: Float, const MR: usize>(
    shape: &SmallShape<F>,
    i: usize,
    alpha: F,
    beta: F,
) {
    let k = shape.k;
    let body = k - k % 4;
    let b = std::slice::from_raw_parts(shape.b, k);
    let mut lanes = [[F::zero(); 4]; MR];
    for (r, lanes) in lanes.iter_mut().enumerate() {
        let a = std::slice::from_raw_parts(shape.a.add((i + r) * shape.a_row), k);
        for (a4, b4) in a[..body].chunks_exact(4).zip(b[..body].chunks_exact(4)) {
            for l in 0..4 {
                lanes[l] += a4[l] * b4[l];
            }
        }
    }
    let mut acc = [[F::zero(); 1]; MR];
    for (r, (acc, lanes)) in acc.iter_mut().zip(&lanes).enumerate() {
        let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        let a = std::slice::from_raw_parts(shape.a.add((i + r) * shape.a_row), k);
        for (&av, &bv) in a[body..].iter().zip(&b[body..]) {
            total += av * bv;
        }
        acc[0] = total;
    }
    small_store(shape, i, 0, &acc, alpha, beta);
}

/// `C[i + r, j + l] = alpha · acc[r][l] (+ beta · C[i + r, j + l])`.
#[inline(always)]
unsafe fn small_store<F: Float, const MR: usize, const NR: usize>(
    shape: &SmallShape<F>,
    i: usize,
    j: usize,
    acc: &[[F; NR]; MR],
    alpha: F,
    beta: F,
) {
    for (r, acc_row) in acc.iter().enumerate() {
        let c_row = std::slice::from_raw_parts_mut(shape.c.add((i + r) * shape.c_row + j), NR);
        if beta == F::zero() && alpha == F::one() {
            // The forward products: `1 · v` is `v`, and skipping it saves a multiply per
            // element (an eighth of the work when the sum has 8 terms).
            c_row.copy_from_slice(acc_row);
        } else if beta == F::zero() {
            for (c, &v) in c_row.iter_mut().zip(acc_row) {
                *c = alpha * v;
            }
        } else {
            for (c, &v) in c_row.iter_mut().zip(acc_row) {
                *c = beta * *c + alpha * v;
            }
        }
    }
}

/// faer's product over views of ndarray buffers. `F` and `T` are the same type (checked by
/// the caller through `TypeId`); `T` names it concretely for faer.
#[cfg(feature = "faer")]
fn faer_gemm<F: Float, T: Float + faer::traits::ComplexField>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    use faer::{linalg::matmul::matmul, Accum, MatMut, MatRef, Par};
    debug_assert_eq!(std::any::TypeId::of::<F>(), std::any::TypeId::of::<T>());
    assert!(
        a.ncols() == b.nrows() && c.nrows() == a.nrows() && c.ncols() == b.ncols(),
        "gemm: incompatible shapes"
    );
    let accum = if beta == F::zero() {
        Accum::Replace
    } else {
        if beta != F::one() {
            c.mapv_inplace(|v| v * beta);
        }
        Accum::Add
    };
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let threads = KERNEL_THREADS.with(Cell::get);
    let par = if threads > 1 && m * k * n >= PARALLEL_MIN_MULADDS {
        Par::rayon(threads)
    } else {
        Par::Seq
    };
    let (sa, sb, sc) = (a.strides(), b.strides(), c.strides());
    let (sa, sb, sc) = ((sa[0], sa[1]), (sb[0], sb[1]), (sc[0], sc[1]));
    // SAFETY: `F` and `T` are the same type (TypeId checked by the caller), so the pointers
    // and strides describe valid `T` matrices of the given shapes for the borrows' lifetimes;
    // `c` is borrowed mutably and cannot alias `a` or `b`.
    let (lhs, rhs, dst) = unsafe {
        (
            MatRef::<T>::from_raw_parts(a.as_ptr().cast::<T>(), m, k, sa.0, sa.1),
            MatRef::<T>::from_raw_parts(b.as_ptr().cast::<T>(), k, n, sb.0, sb.1),
            MatMut::<T>::from_raw_parts_mut(c.as_mut_ptr().cast::<T>(), m, n, sc.0, sc.1),
        )
    };
    let alpha_t = T::from(alpha).unwrap_or_else(T::one);
    matmul(dst, accum, lhs, rhs, alpha_t, par);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::NumpyRng;
    use ndarray::Array2;

    /// A product large enough to be split across threads gives the same bits on one thread
    /// and on two, and a search task's cap wins over a fit's request.
    #[test]
    fn kernel_threads_do_not_change_results() {
        let mut rng = NumpyRng::new(3);
        let a = Array2::from_shape_fn((300, 257), |_| rng.uniform(-1.0, 1.0));
        let b = Array2::from_shape_fn((257, 301), |_| rng.uniform(-1.0, 1.0));
        let run = |threads: usize| {
            let mut c = Array2::<f64>::zeros((300, 301));
            with_kernel_threads(threads, || {
                gemm(0.5, &a.view(), &b.view(), 0.0, &mut c.view_mut());
            });
            c
        };
        let one = run(1);
        assert_eq!(one, run(2));
        let naive = a.dot(&b) * 0.5;
        assert!(one
            .iter()
            .zip(naive.iter())
            .all(|(x, y)| (x - y).abs() < 1e-12));
        let seen = with_single_threaded_kernels(|| {
            with_kernel_threads(4, || KERNEL_THREADS.with(Cell::get))
        });
        assert_eq!(seen, 1);
        assert_eq!(with_kernel_threads(3, || KERNEL_THREADS.with(Cell::get)), 3);
        assert_eq!(KERNEL_THREADS.with(Cell::get), 1);
    }

    /// `beta` other than 0 and 1, a transposed operand and f32 go through the same kernel.
    #[test]
    fn gemm_accumulates_with_beta() {
        let a = ndarray::array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let b = ndarray::array![[1.0f32, 0.5, -1.0], [2.0, 1.0, 0.0]];
        let mut c = Array2::from_elem((3, 3), 1.0f32);
        gemm(2.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
        let expected = a.dot(&b) * 2.0 + 0.5;
        assert_eq!(c, expected);
        let mut d = Array2::from_elem((2, 2), 0.0f32);
        gemm(1.0, &a.t(), &a.view(), 0.0, &mut d.view_mut());
        assert_eq!(d, a.t().dot(&a));
    }

    /// The small kernel sums each output element in increasing `p` from zero (one-unit dot
    /// products in four fixed partial sums), for every orientation the engine uses, in f32
    /// and f64, with and without `beta`: compared bit for bit against that order written out.
    #[test]
    fn small_kernel_follows_its_documented_order() {
        fn reference<F: Float>(a: &Array2<F>, b: &Array2<F>, dots: bool) -> Array2<F> {
            let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
            Array2::from_shape_fn((m, n), |(i, j)| {
                if dots {
                    let body = k - k % 4;
                    let mut lanes = [F::zero(); 4];
                    for p in 0..body {
                        lanes[p % 4] += a[(i, p)] * b[(p, j)];
                    }
                    let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
                    for p in body..k {
                        total += a[(i, p)] * b[(p, j)];
                    }
                    total
                } else {
                    (0..k).fold(F::zero(), |acc, p| acc + a[(i, p)] * b[(p, j)])
                }
            })
        }
        fn check<F: Float>(rng: &mut NumpyRng) {
            let mut random = |shape: (usize, usize)| {
                Array2::from_shape_fn(shape, |_| F::from(rng.uniform(-1.0, 1.0)).unwrap())
            };
            // (m, k, n): the small network's products and ragged widths.
            for (m, k, n) in [
                (32, 8, 30),
                (26, 8, 30),
                (32, 30, 1),
                (27, 30, 1),
                (32, 1, 30),
                (5, 3, 7),
                (9, 12, 41),
                (3, 5, 2),
                (7, 6, 1),
            ] {
                let a = random((m, k));
                let b = random((k, n));
                let at = random((k, m));
                let half = F::from(0.5).unwrap();
                let alpha = F::from(0.25).unwrap();
                let dots = n == 1 && k >= 8;
                let expected = reference(&a, &b, dots).mapv(|v| alpha * v);
                // Row form (and dots for one unit).
                let mut c = Array2::zeros((m, n));
                gemm(alpha, &a.view(), &b.view(), F::zero(), &mut c.view_mut());
                assert_eq!(c, expected, "A·B {m}×{k}×{n}");
                // With beta.
                let c0 = random((m, n));
                let mut c = c0.clone();
                gemm(alpha, &a.view(), &b.view(), half, &mut c.view_mut());
                let with_beta = Array2::from_shape_fn((m, n), |ij| half * c0[ij] + expected[ij]);
                assert_eq!(c, with_beta, "A·B + beta·C {m}×{k}×{n}");
                // Aᵀ·B (the coefficient gradient), row or transposed form.
                let mut c = Array2::zeros((m, n));
                gemm(alpha, &at.t(), &b.view(), F::zero(), &mut c.view_mut());
                let expected_t = reference(&at.t().to_owned(), &b, false).mapv(|v| alpha * v);
                assert_eq!(c, expected_t, "Aᵀ·B {m}×{k}×{n}");
            }
        }
        let mut rng = NumpyRng::new(11);
        check::<f64>(&mut rng);
        check::<f32>(&mut rng);
    }
}
