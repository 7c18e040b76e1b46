//! The engine's matrix kernel, `C = alpha·A·B + beta·C`, and the thread settings it obeys.
//!
//! Small products (the batch-by-layer shapes of MLP training) run on the crate's own
//! register-blocked kernel; larger ones on faer (feature `faer`, default) or ndarray. Every
//! path computes each output row independently of the others and in a documented summation
//! order, so results never depend on the thread count or on how rows are blocked.

use std::cell::{Cell, RefCell};

use linfa::Float;
use ndarray::{linalg::general_mat_mul, ArrayView2, ArrayViewMut2};

use super::base::Activation;
use super::stochastic_optimizers::Step;

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
/// wide-network shapes, where 200×512×512 gains and 200×512×10 loses). The own kernel
/// splits its rows over the threads from the same size on.
const PARALLEL_MIN_MULADDS: usize = 1 << 22;

/// `C = alpha * A · B + beta * C`, the one matrix kernel of the engine.
///
/// The products of MLP training (see [`OwnKernel`] for the shapes) run on the engine's own
/// register-blocked kernel for any element type and without features. Larger ones: with
/// the `faer` feature (default), `f32` and `f64` products run on faer's kernels through
/// zero-copy views of the same buffers; other element types and empty products use
/// ndarray.
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
    if own_gemm(choice_rows, alpha, a, b, c, Epilogue::Plain { beta }, None).epilogue {
        return;
    }
    other_gemm(alpha, a, b, beta, c);
}

/// `C = epilogue(alpha · A · B)` with the epilogue fused into the kernel's stores when the
/// product runs on the engine's own kernel (`Fused::epilogue`). Otherwise it computes only
/// `C = alpha · A · B` on another kernel and the caller applies the epilogue in its own pass
/// (the same operations per element, so the same bits either way; for
/// [`Epilogue::Update`], `C` then holds `alpha · A · B` and nothing was updated).
///
/// With `sums = Some((s, scale))` the kernel also writes `s[j] = scale · Σ_p B[p, j]` (summed
/// in increasing `p` from zero, as `network::column_means` does) while it streams `B`, when
/// it can (`Fused::sums`): the intercept gradient `mean(δ)` of `Aᵀ·δ`.
#[inline]
pub(crate) fn gemm_fused<F: Float>(
    choice_rows: usize,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    c: &mut ArrayViewMut2<F>,
    epilogue: Epilogue<'_, F>,
    sums: Option<(&mut [F], F)>,
) -> Fused {
    let beta = match epilogue {
        Epilogue::Plain { beta } => beta,
        _ => F::zero(),
    };
    let fused = own_gemm(choice_rows, alpha, a, b, c, epilogue, sums);
    if !fused.epilogue {
        other_gemm(alpha, a, b, beta, c);
    }
    fused
}

/// What [`gemm_fused`] did in the kernel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fused {
    /// The epilogue was applied.
    pub(crate) epilogue: bool,
    /// The column sums were written.
    pub(crate) sums: bool,
}

const NOT_FUSED: Fused = Fused {
    epilogue: false,
    sums: false,
};

/// faer (f32 and f64, feature `faer`) or ndarray.
fn other_gemm<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
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

/// What the kernel does with each sum `s = Σ_p A[i, p]·B[p, j]` as it stores `C[i, j]`
/// (fused into the store, which saves a pass over `C`). The operations are those of the
/// separate passes they replace, in the same order, so fusing never changes a bit.
pub(crate) enum Epilogue<'a, F> {
    /// `C = alpha·s + beta·C` (`C = s` when `alpha` is 1 and `beta` 0): a plain product.
    Plain { beta: F },
    /// `C = s + bias[j]`, then `relu` (`x > 0 ? x : 0`) if asked; `alpha` must be 1.
    Bias { bias: &'a [F], relu: bool },
    /// `C = s · f'(out[i, j])` with `f'` from the layer's outputs as
    /// [`Activation::derivative_from_output`] computes it (identity, relu, tanh, logistic);
    /// `alpha` must be 1.
    Derivative {
        out: ArrayView2<'a, F>,
        activation: Activation,
    },
    /// `C = alpha·s + scale·w[i, j]` (the coefficient gradient with its L2 term).
    AddScaled { w: ArrayView2<'a, F>, scale: F },
    /// The optimizer step on `w` with the gradient `g = alpha·s` (`+ scale·w` with `l2`):
    /// [`Step::apply`]'s operations on `w` and its state `s1` (and `s2` for Adam), all of
    /// `C`'s shape; `C` itself is not written.
    Update {
        w: ArrayViewMut2<'a, F>,
        l2: Option<F>,
        s1: ArrayViewMut2<'a, F>,
        s2: Option<ArrayViewMut2<'a, F>>,
        step: Step<F>,
    },
}

/// The shapes the engine's own kernel takes: `choice_rows · k · n` multiply-adds at most
/// [`OWN_MAX_MULADDS`], `B` (`k × n`) at most [`OWN_MAX_B`] elements, so that it stays in the
/// L2 cache while the kernel streams it once per block of output rows without packing, and
/// the sum at most [`OWN_MAX_K`] terms. Measured against faer in one run (f64, one thread,
/// see `docs/performance.md`).
pub(crate) struct OwnKernel;

/// See [`OwnKernel`].
const OWN_MAX_MULADDS: usize = 1 << 24;
/// See [`OwnKernel`].
const OWN_MAX_B: usize = 1 << 16;
/// See [`OwnKernel`].
const OWN_MAX_K: usize = 1024;

impl OwnKernel {
    /// Whether a product of `choice_rows × k` by `k × n` runs on the engine's own kernel.
    #[inline(always)]
    fn takes(choice_rows: usize, k: usize, n: usize) -> bool {
        k <= OWN_MAX_K
            && k.saturating_mul(n) <= OWN_MAX_B
            && choice_rows.saturating_mul(k).saturating_mul(n) <= OWN_MAX_MULADDS
    }
}

thread_local! {
    /// `B` copied with contiguous rows, for products whose `B` has contiguous columns (`δ·Wᵀ`
    /// in the backward pass). Grown to the largest such `B` a thread has seen, then reused:
    /// no allocation per product.
    static PACKED_B: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Elements per row of a packed `B` of `n` columns: whole 64-byte lines, an odd number of
/// them, so that a column of the copy (written row after row by the transpose) spreads over
/// the cache's sets instead of piling into two (a stride of 2 KiB, 256 `f64`, made packing
/// a 256 × 256 `B` slower than the product itself).
fn packed_stride<F>(n: usize) -> usize {
    let size = std::mem::size_of::<F>();
    let lines = (n * size).div_ceil(64) | 1;
    lines * 64 / size
}

/// 8-byte words of [`PACKED_B`] for a `k × n` `B` of `F`: rows of [`packed_stride`] and room
/// to start on a 64-byte boundary.
fn packed_words<F>(k: usize, n: usize) -> usize {
    (k * packed_stride::<F>(n) * std::mem::size_of::<F>()).div_ceil(8) + 8
}

/// Reserves [`PACKED_B`] on the calling thread for every `B` of `k × n` elements of `F` in
/// `shapes`, so that the first batch does not grow it (workspaces call this when they are
/// sized).
pub(crate) fn reserve_packing<F: Float>(shapes: impl Iterator<Item = (usize, usize)>) {
    let words = shapes
        .map(|(k, n)| packed_words::<F>(k, n))
        .max()
        .unwrap_or(0);
    PACKED_B.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < words {
                p.resize(words, 0.0);
            }
        }
    });
}

/// The engine's own kernel, used when the shape is one [`OwnKernel`] takes and one operand
/// orientation lets the output be computed row by row along unit-stride rows:
///
/// - *row form*: `B` and `C` have contiguous rows, `C[i, ..] = Σ_p A[i, p] · B[p, ..]`;
/// - *packed form*: `B` has contiguous columns (`δ·Wᵀ`) and `C` contiguous rows: `B` is
///   first copied with contiguous rows (into [`PACKED_B`]), then the row form;
/// - *transposed form*: `A` and `C` have contiguous columns (e.g. `Hᵀ·δ` with one output
///   unit), computed as `Cᵀ = Bᵀ · Aᵀ` in row form.
///
/// Every output element is `s = fma(A[i, k-1], B[k-1, j], … fma(A[i, 1], B[1, j],
/// fma(A[i, 0], B[0, j], 0)))`: one fused multiply-add per term, in increasing `p`, from
/// zero; then the [`Epilogue`]. Vectors run along the output row, never along the sum, and
/// every path (AVX-512, AVX2 + FMA, portable with `mul_add`) performs these same correctly
/// rounded operations per element, so all give the same bits. The one exception to the
/// order is a one-column output with contiguous operands (`small_dots`).
///
/// Returns `false` (nothing done) when the shape is not taken, no form applies or the
/// epilogue cannot be fused in the form that does.
#[inline(always)]
fn own_gemm<F: Float>(
    choice_rows: usize,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    c: &mut ArrayViewMut2<F>,
    epilogue: Epilogue<'_, F>,
    sums: Option<(&mut [F], F)>,
) -> Fused {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if m == 0 || k == 0 || n == 0 || !OwnKernel::takes(choice_rows, k, n) {
        return NOT_FUSED;
    }
    if b.nrows() != k || c.nrows() != m || c.ncols() != n {
        return NOT_FUSED;
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
        return NOT_FUSED;
    };
    let c_rows = sc1 == 1 || n == 1;
    let row_form = c_rows && (sb1 == 1 || n == 1);
    let transposed_form = (sa0 == 1 && sc0 == 1) || m == 1;
    // `B` with contiguous columns, copied once and reused by every row of `C`: worth it
    // from a few rows on.
    let packed_form = c_rows && sb0 == 1 && m >= 4;
    // A one-column output (`Hᵀ·δ` for a one-unit layer) vectorizes along its column in the
    // transposed form; in row form it would be scalar unless `A`'s rows are contiguous
    // (then it runs as dot products, see `dots`).
    let prefer_transposed = n == 1 && m > 1 && sa1 != 1;
    let use_row_form = row_form && !(prefer_transposed && transposed_form);
    let use_transposed = !use_row_form && transposed_form;
    if !(use_row_form || use_transposed || packed_form) {
        return NOT_FUSED;
    }
    let Some(finish) = finish_of(
        alpha,
        epilogue,
        if use_transposed { m } else { n },
        use_transposed,
    ) else {
        return NOT_FUSED;
    };
    // Column sums of `B` ride along in the row and packed forms (with more than one column:
    // one column runs as dot products).
    let (sums, sums_scale) = match sums {
        Some((s, scale)) if !use_transposed && n > 1 && s.len() == n => (s.as_mut_ptr(), scale),
        _ => (std::ptr::null_mut(), F::zero()),
    };
    let fused = Fused {
        epilogue: true,
        sums: !sums.is_null(),
    };
    if use_row_form {
        let tile = Tile {
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
            finish,
            sums,
            sums_scale,
        };
        // SAFETY: `tile` describes the views (see `Tile`): for `i < m`, `p < k`, `j < n` the
        // offsets address elements of `a`, `b` and `c` (unit strides checked above, or the
        // dimension is 1 so `j = 0`), `c` is borrowed mutably so it aliases no operand, the
        // epilogue's operands were checked by `finish_of`, and `sums` has `n` elements.
        unsafe { run(&tile) };
        return fused;
    }
    if use_transposed {
        let tile = Tile {
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
            finish,
            sums,
            sums_scale,
        };
        // SAFETY: as above, for `Cᵀ = Bᵀ·Aᵀ` (`A` and `C` have unit row strides or one row).
        unsafe { run(&tile) };
        return fused;
    }
    {
        let words = packed_words::<F>(k, n);
        let ld = packed_stride::<F>(n);
        PACKED_B.with(|packed| {
            let Ok(mut packed) = packed.try_borrow_mut() else {
                return NOT_FUSED;
            };
            if packed.len() < words {
                packed.resize(words, 0.0);
            }
            // The copy starts on a 64-byte boundary (at most 7 words in), so a row's vectors
            // do not straddle cache lines.
            let start = packed.as_ptr().align_offset(64).min(7);
            // SAFETY: `start < 8` words into a buffer of `words` ≥ 8 words.
            let dst = unsafe { packed.as_mut_ptr().add(start) }.cast::<F>();
            // SAFETY: `b` has `k × n` elements at `p + j·sb1` (unit row stride checked); from
            // `dst` the buffer holds at least `k · ld` elements of `F` (`packed_words`; `F` is
            // 4 or 8 bytes with alignment at most 8).
            unsafe { pack_rows(b.as_ptr(), sb1, k, n, dst, ld) };
            let tile = Tile {
                m,
                k,
                n,
                a: a.as_ptr(),
                a_row: sa0,
                a_col: sa1,
                b: dst.cast_const(),
                b_row: ld,
                c: c.as_mut_ptr(),
                c_row: sc0,
                finish,
                sums,
                sums_scale,
            };
            // SAFETY: as for the row form, with `B` the packed copy (`k × n`, rows of `ld`).
            unsafe { run(&tile) };
            fused
        })
    }
}

/// `dst[p·ld + j] = src[p + j·col]` for `p < k`, `j < n`: `B` with contiguous rows (a copy,
/// so no rounding). On x86-64 it goes through square blocks transposed in registers (8 × 8
/// `f64` on AVX-512, 4 × 4 `f64` and 8 × 8 `f32` on AVX2); the edges portably.
#[inline(always)]
unsafe fn pack_rows<F: Float>(
    src: *const F,
    col: usize,
    k: usize,
    n: usize,
    dst: *mut F,
    ld: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::any::TypeId;
        let isa = Isa::detected();
        if isa != Isa::Portable {
            let (k0, n0) = if TypeId::of::<F>() == TypeId::of::<f64>() {
                let (src, dst) = (src.cast::<f64>(), dst.cast::<f64>());
                if isa == Isa::Avx512 {
                    simd::transpose_f64_8(src, col, k, n, dst, ld)
                } else {
                    simd::transpose_f64_4(src, col, k, n, dst, ld)
                }
            } else if TypeId::of::<F>() == TypeId::of::<f32>() {
                simd::transpose_f32_8(src.cast::<f32>(), col, k, n, dst.cast::<f32>(), ld)
            } else {
                (0, 0)
            };
            pack_rows_portable(src, col, k, n, dst, ld, k0, n0);
            return;
        }
    }
    pack_rows_portable(src, col, k, n, dst, ld, 0, 0);
}

/// [`pack_rows`] for the elements not in the `k0 × n0` corner: blocks of 8 columns, so each
/// step reads 8 runs of `src` forward and writes one run of `dst`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_rows_portable<F: Copy>(
    src: *const F,
    col: usize,
    k: usize,
    n: usize,
    dst: *mut F,
    ld: usize,
    k0: usize,
    n0: usize,
) {
    // The rows below the corner, all columns; then the corner's rows, columns from n0.
    for (rows, cols) in [((k0, k), (0, n)), ((0, k0), (n0, n))] {
        let mut j0 = cols.0;
        while j0 < cols.1 {
            let width = (cols.1 - j0).min(8);
            for p in rows.0..rows.1 {
                let d = dst.add(p * ld + j0);
                let s = src.add(p + j0 * col);
                for j in 0..width {
                    *d.add(j) = *s.add(j * col);
                }
            }
            j0 += width;
        }
    }
}

/// The epilogue in the kernel's terms, with its operands checked against the output's
/// `n_cols` columns (in the transposed form, operands are read transposed; a bias cannot be).
fn finish_of<F: Float>(
    alpha: F,
    epilogue: Epilogue<'_, F>,
    n_cols: usize,
    transposed: bool,
) -> Option<Finish<F>> {
    // An operand's row stride in the kernel's terms; its columns must be contiguous for
    // vector loads (or there is one column).
    let row_stride = |strides: &[isize]| -> Option<usize> {
        let (s0, s1) = (strides[0], strides[1]);
        let (row, col) = if transposed { (s1, s0) } else { (s0, s1) };
        let row = usize::try_from(row).ok()?;
        (col == 1 || n_cols == 1).then_some(row)
    };
    let operand = |v: &ArrayView2<F>| -> Option<(*const F, usize)> {
        Some((v.as_ptr(), row_stride(v.strides())?))
    };
    Some(match epilogue {
        Epilogue::Plain { beta } => Finish::Store { alpha, beta },
        Epilogue::Bias { bias, relu } => {
            if transposed || alpha != F::one() || bias.len() != n_cols {
                return None;
            }
            Finish::Bias {
                bias: bias.as_ptr(),
                relu,
            }
        }
        Epilogue::Derivative { out, activation } => {
            let kind = match activation {
                Activation::Identity => Derivative::Identity,
                Activation::Relu => Derivative::Relu,
                Activation::Tanh => Derivative::Tanh,
                Activation::Logistic => Derivative::Logistic,
                _ => return None,
            };
            if alpha != F::one() {
                return None;
            }
            let (out, out_row) = operand(&out)?;
            Finish::Derivative { out, out_row, kind }
        }
        Epilogue::AddScaled { w, scale } => {
            let (w, w_row) = operand(&w)?;
            Finish::AddScaled {
                alpha,
                w,
                w_row,
                scale,
            }
        }
        Epilogue::Update {
            mut w,
            l2,
            mut s1,
            s2,
            step,
        } => {
            let w_row = row_stride(w.strides())?;
            let s1_row = row_stride(s1.strides())?;
            let (s2, s2_row) = match s2 {
                Some(mut s2) => {
                    let row = row_stride(s2.strides())?;
                    (s2.as_mut_ptr(), row)
                }
                None if step.uses_second_state() => return None,
                None => (std::ptr::null_mut(), 0),
            };
            Finish::Update {
                alpha,
                l2,
                w: w.as_mut_ptr(),
                w_row,
                s1: s1.as_mut_ptr(),
                s1_row,
                s2,
                s2_row,
                step,
            }
        }
    })
}

/// A row-form product for the kernel: `C[i, j] = finish(Σ_p A[i, p] · B[p, j])` with
/// `A[i, p] = a[i·a_row + p·a_col]`, `B[p, j] = b[p·b_row + j]`, `C[i, j] = c[i·c_row + j]`,
/// for `i < m`, `p < k`, `j < n`.
struct Tile<F> {
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
    finish: Finish<F>,
    /// When not null: `sums[j] = sums_scale · Σ_p B[p, j]`, computed with the first block of
    /// rows.
    sums: *mut F,
    sums_scale: F,
}

impl<F: Float> Tile<F> {
    /// Rows `start..start + len` of the tile (the column sums only with the first rows).
    ///
    /// # Safety
    /// `start + len <= self.m`.
    unsafe fn rows(&self, start: usize, len: usize) -> Tile<F> {
        let finish = match self.finish {
            Finish::Derivative { out, out_row, kind } => Finish::Derivative {
                out: out.add(start * out_row),
                out_row,
                kind,
            },
            Finish::AddScaled {
                alpha,
                w,
                w_row,
                scale,
            } => Finish::AddScaled {
                alpha,
                w: w.add(start * w_row),
                w_row,
                scale,
            },
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
            } => Finish::Update {
                alpha,
                l2,
                w: w.add(start * w_row),
                w_row,
                s1: s1.add(start * s1_row),
                s1_row,
                s2: if s2.is_null() {
                    s2
                } else {
                    s2.add(start * s2_row)
                },
                s2_row,
                step,
            },
            other @ (Finish::Store { .. } | Finish::Bias { .. }) => other,
        };
        Tile {
            m: len,
            k: self.k,
            n: self.n,
            a: self.a.add(start * self.a_row),
            a_row: self.a_row,
            a_col: self.a_col,
            b: self.b,
            b_row: self.b_row,
            c: self.c.add(start * self.c_row),
            c_row: self.c_row,
            finish,
            sums: if start == 0 {
                self.sums
            } else {
                std::ptr::null_mut()
            },
            sums_scale: self.sums_scale,
        }
    }
}

/// [`Epilogue`] in the kernel's terms: operands as pointers with their row strides (columns
/// contiguous), in the kernel's orientation.
#[derive(Clone, Copy)]
enum Finish<F> {
    Store {
        alpha: F,
        beta: F,
    },
    Bias {
        bias: *const F,
        relu: bool,
    },
    Derivative {
        out: *const F,
        out_row: usize,
        kind: Derivative,
    },
    AddScaled {
        alpha: F,
        w: *const F,
        w_row: usize,
        scale: F,
    },
    Update {
        alpha: F,
        l2: Option<F>,
        w: *mut F,
        w_row: usize,
        s1: *mut F,
        s1_row: usize,
        s2: *mut F,
        s2_row: usize,
        step: Step<F>,
    },
}

/// The activation derivatives [`Finish::Derivative`] applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Derivative {
    Identity,
    Relu,
    Tanh,
    Logistic,
}

/// The instruction sets the kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    Portable,
}

impl Isa {
    /// The widest the CPU runs (checked once per product: a cached load and a bit test).
    #[inline(always)]
    pub(crate) fn detected() -> Isa {
        #[cfg(test)]
        if let Some(isa) = FORCED_ISA.with(Cell::get) {
            return isa;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2Fma;
            }
        }
        Isa::Portable
    }

    /// Every instruction set the CPU runs, widest first.
    #[cfg(test)]
    pub(crate) fn all_supported() -> Vec<Isa> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Isa::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                all.push(Isa::Avx2Fma);
            }
        }
        all.push(Isa::Portable);
        all
    }
}

#[cfg(test)]
thread_local! {
    /// Tests run the kernel on a chosen instruction set (one the CPU supports).
    static FORCED_ISA: Cell<Option<Isa>> = const { Cell::new(None) };
}

/// Runs `f` with the kernel on `isa` on this thread (tests only).
#[cfg(test)]
pub(crate) fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    let previous = FORCED_ISA.with(|c| c.replace(Some(isa)));
    let result = f();
    FORCED_ISA.with(|c| c.set(previous));
    result
}

/// Runs the tile, its rows split over the kernel's threads when it is large enough (each
/// row is computed the same way whatever block or thread it falls in, so the results do
/// not depend on the thread count).
#[inline(always)]
unsafe fn run<F: Float>(t: &Tile<F>) {
    let threads = KERNEL_THREADS.with(Cell::get);
    let chunk = t.m.div_ceil(threads.max(1)).next_multiple_of(8);
    if threads > 1
        && t.m.saturating_mul(t.k).saturating_mul(t.n) >= PARALLEL_MIN_MULADDS
        && chunk < t.m
    {
        split_rows(Part(t.rows(0, t.m)), chunk);
        return;
    }
    run_on_isa(t)
}

/// A tile handed to another thread: its pointers address its own output rows (disjoint from
/// every other part's) and read-only operands, valid while the caller of [`run`] waits.
struct Part<F>(Tile<F>);

// SAFETY: see `Part`; the elements are `Send`.
unsafe impl<F: Send> Send for Part<F> {}

/// Halves the rows (at a multiple of 8) with `rayon::join` until a part has at most `chunk`
/// rows, and runs the parts (no allocation: `join` keeps its jobs on the stack).
fn split_rows<F: Float>(part: Part<F>, chunk: usize) {
    let m = part.0.m;
    if m <= chunk {
        // SAFETY: `part` is rows of a tile `run` was given (see `Tile::rows`).
        unsafe { run_on_isa(&part.0) };
        return;
    }
    let mid = (m / 2).next_multiple_of(8).min(m - 1);
    // SAFETY: `mid < m`.
    let (top, bottom) = unsafe { (Part(part.0.rows(0, mid)), Part(part.0.rows(mid, m - mid))) };
    rayon::join(
        move || split_rows(top, chunk),
        move || split_rows(bottom, chunk),
    );
}

/// Runs the tile on the widest instruction set the CPU has.
#[inline(always)]
unsafe fn run_on_isa<F: Float>(t: &Tile<F>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::any::TypeId;
        let isa = Isa::detected();
        if isa != Isa::Portable {
            if TypeId::of::<F>() == TypeId::of::<f64>() {
                // SAFETY: `F` is `f64`, so `Tile<F>` is `Tile<f64>`.
                let t = &*(t as *const Tile<F>).cast::<Tile<f64>>();
                match isa {
                    Isa::Avx512 => simd::avx512_f64(t),
                    _ => simd::avx2_f64(t),
                }
                return;
            }
            if TypeId::of::<F>() == TypeId::of::<f32>() {
                // SAFETY: as above, for `f32`.
                let t = &*(t as *const Tile<F>).cast::<Tile<f32>>();
                match isa {
                    Isa::Avx512 => simd::avx512_f32(t),
                    _ => simd::avx2_f32(t),
                }
                return;
            }
        }
    }
    kernel::<Scalar<F>, 4, 4>(t);
}

/// The vector operations the kernel is written in, one implementation per instruction set.
/// Each is the correctly rounded IEEE operation per lane (`fma` fused, one rounding), so an
/// element's result does not depend on the vector width.
trait Simd: Copy {
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
fn fused<F: Float>(a: F, b: F, c: F) -> F {
    num_traits::Float::mul_add(a, b, c)
}

/// One element per "vector": the portable kernel.
#[derive(Clone, Copy)]
struct Scalar<F>(std::marker::PhantomData<F>);

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
unsafe fn kernel<S: Simd, const MR: usize, const NV: usize>(t: &Tile<S::E>) {
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

#[cfg(target_arch = "x86_64")]
mod simd {
    //! The kernel compiled for AVX-512 (8 `f64` / 16 `f32` lanes, 8 rows × 3 vectors of
    //! accumulators: 24 of the 32 registers) and AVX2 + FMA (4 / 8 lanes, 4 rows × 3
    //! vectors: 12 of the 16 registers).

    use std::arch::x86_64::*;

    use super::{kernel, Simd, Tile};

    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn avx512_f64(t: &Tile<f64>) {
        kernel::<Avx512F64, 8, 3>(t)
    }

    #[target_feature(enable = "avx512f,fma")]
    pub(super) unsafe fn avx512_f32(t: &Tile<f32>) {
        kernel::<Avx512F32, 8, 3>(t)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2_f64(t: &Tile<f64>) {
        kernel::<Avx2F64, 4, 3>(t)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2_f32(t: &Tile<f32>) {
        kernel::<Avx2F32, 4, 3>(t)
    }

    /// [`super::pack_rows`]'s square blocks: `dst[p·ld + j] = src[p + j·col]` for the
    /// `k0 × n0` corner it returns (multiples of the block size `B`), each block loaded as `B`
    /// rows of `src`, transposed in registers by `block` and stored as `B` rows of `dst`.
    #[inline(always)]
    unsafe fn transpose_blocks<T: Copy, const B: usize>(
        src: *const T,
        col: usize,
        k: usize,
        n: usize,
        dst: *mut T,
        ld: usize,
        block: impl Fn(*const T, usize, *mut T, usize),
    ) -> (usize, usize) {
        let (k0, n0) = (k - k % B, n - n % B);
        for j0 in (0..n0).step_by(B) {
            for p0 in (0..k0).step_by(B) {
                block(src.add(p0 + j0 * col), col, dst.add(p0 * ld + j0), ld);
            }
        }
        (k0, n0)
    }

    /// 8 × 8 `f64` blocks: unpacks, then 128-bit lane shuffles; the edge blocks too, with
    /// masked loads and stores (returns the whole `k × n`, leaving nothing to the portable
    /// loop, which took half the time of a 60 × 60 copy).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn transpose_f64_8(
        src: *const f64,
        col: usize,
        k: usize,
        n: usize,
        dst: *mut f64,
        ld: usize,
    ) -> (usize, usize) {
        /// The block of `rows ≤ 8` rows of `src` and `cols ≤ 8` columns at `s`, transposed
        /// to `cols` rows of `rows` elements at `d`.
        #[target_feature(enable = "avx512f")]
        #[inline]
        unsafe fn block(
            s: *const f64,
            col: usize,
            d: *mut f64,
            ld: usize,
            rows: usize,
            cols: usize,
        ) {
            let (load_mask, store_mask) = (((1u32 << cols) - 1) as u8, ((1u32 << rows) - 1) as u8);
            let full = rows == 8 && cols == 8;
            let load = |q: usize| {
                if full {
                    _mm512_loadu_pd(s.add(q * col))
                } else if q < rows {
                    _mm512_maskz_loadu_pd(load_mask, s.add(q * col))
                } else {
                    _mm512_setzero_pd()
                }
            };
            let r: [__m512d; 8] = [
                load(0),
                load(1),
                load(2),
                load(3),
                load(4),
                load(5),
                load(6),
                load(7),
            ];
            let t0 = _mm512_unpacklo_pd(r[0], r[1]);
            let t1 = _mm512_unpackhi_pd(r[0], r[1]);
            let t2 = _mm512_unpacklo_pd(r[2], r[3]);
            let t3 = _mm512_unpackhi_pd(r[2], r[3]);
            let t4 = _mm512_unpacklo_pd(r[4], r[5]);
            let t5 = _mm512_unpackhi_pd(r[4], r[5]);
            let t6 = _mm512_unpacklo_pd(r[6], r[7]);
            let t7 = _mm512_unpackhi_pd(r[6], r[7]);
            let u0 = _mm512_shuffle_f64x2::<0x88>(t0, t2);
            let u1 = _mm512_shuffle_f64x2::<0xdd>(t0, t2);
            let u2 = _mm512_shuffle_f64x2::<0x88>(t1, t3);
            let u3 = _mm512_shuffle_f64x2::<0xdd>(t1, t3);
            let u4 = _mm512_shuffle_f64x2::<0x88>(t4, t6);
            let u5 = _mm512_shuffle_f64x2::<0xdd>(t4, t6);
            let u6 = _mm512_shuffle_f64x2::<0x88>(t5, t7);
            let u7 = _mm512_shuffle_f64x2::<0xdd>(t5, t7);
            let out = [
                _mm512_shuffle_f64x2::<0x88>(u0, u4),
                _mm512_shuffle_f64x2::<0x88>(u2, u6),
                _mm512_shuffle_f64x2::<0x88>(u1, u5),
                _mm512_shuffle_f64x2::<0x88>(u3, u7),
                _mm512_shuffle_f64x2::<0xdd>(u0, u4),
                _mm512_shuffle_f64x2::<0xdd>(u2, u6),
                _mm512_shuffle_f64x2::<0xdd>(u1, u5),
                _mm512_shuffle_f64x2::<0xdd>(u3, u7),
            ];
            for (q, &v) in out.iter().enumerate().take(cols) {
                if full {
                    _mm512_storeu_pd(d.add(q * ld), v);
                } else {
                    _mm512_mask_storeu_pd(d.add(q * ld), store_mask, v);
                }
            }
        }
        for j0 in (0..n).step_by(8) {
            let rows = (n - j0).min(8);
            for p0 in (0..k).step_by(8) {
                let cols = (k - p0).min(8);
                block(
                    src.add(p0 + j0 * col),
                    col,
                    dst.add(p0 * ld + j0),
                    ld,
                    rows,
                    cols,
                );
            }
        }
        (k, n)
    }

    /// 4 × 4 `f64` blocks: unpacks, then 128-bit lane permutes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn transpose_f64_4(
        src: *const f64,
        col: usize,
        k: usize,
        n: usize,
        dst: *mut f64,
        ld: usize,
    ) -> (usize, usize) {
        #[target_feature(enable = "avx2")]
        unsafe fn block(s: *const f64, col: usize, d: *mut f64, ld: usize) {
            let r0 = _mm256_loadu_pd(s);
            let r1 = _mm256_loadu_pd(s.add(col));
            let r2 = _mm256_loadu_pd(s.add(2 * col));
            let r3 = _mm256_loadu_pd(s.add(3 * col));
            let t0 = _mm256_unpacklo_pd(r0, r1);
            let t1 = _mm256_unpackhi_pd(r0, r1);
            let t2 = _mm256_unpacklo_pd(r2, r3);
            let t3 = _mm256_unpackhi_pd(r2, r3);
            _mm256_storeu_pd(d, _mm256_permute2f128_pd::<0x20>(t0, t2));
            _mm256_storeu_pd(d.add(ld), _mm256_permute2f128_pd::<0x20>(t1, t3));
            _mm256_storeu_pd(d.add(2 * ld), _mm256_permute2f128_pd::<0x31>(t0, t2));
            _mm256_storeu_pd(d.add(3 * ld), _mm256_permute2f128_pd::<0x31>(t1, t3));
        }
        // SAFETY (of the calls): this function's caller guarantees AVX2.
        transpose_blocks::<f64, 4>(src, col, k, n, dst, ld, |s, c, d, l| unsafe {
            block(s, c, d, l)
        })
    }

    /// 8 × 8 `f32` blocks: unpacks, shuffles, then 128-bit lane permutes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn transpose_f32_8(
        src: *const f32,
        col: usize,
        k: usize,
        n: usize,
        dst: *mut f32,
        ld: usize,
    ) -> (usize, usize) {
        #[target_feature(enable = "avx2")]
        unsafe fn block(s: *const f32, col: usize, d: *mut f32, ld: usize) {
            let r: [__m256; 8] = [
                _mm256_loadu_ps(s),
                _mm256_loadu_ps(s.add(col)),
                _mm256_loadu_ps(s.add(2 * col)),
                _mm256_loadu_ps(s.add(3 * col)),
                _mm256_loadu_ps(s.add(4 * col)),
                _mm256_loadu_ps(s.add(5 * col)),
                _mm256_loadu_ps(s.add(6 * col)),
                _mm256_loadu_ps(s.add(7 * col)),
            ];
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
            let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
            let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
            let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
            _mm256_storeu_ps(d, _mm256_permute2f128_ps::<0x20>(s0, s4));
            _mm256_storeu_ps(d.add(ld), _mm256_permute2f128_ps::<0x20>(s1, s5));
            _mm256_storeu_ps(d.add(2 * ld), _mm256_permute2f128_ps::<0x20>(s2, s6));
            _mm256_storeu_ps(d.add(3 * ld), _mm256_permute2f128_ps::<0x20>(s3, s7));
            _mm256_storeu_ps(d.add(4 * ld), _mm256_permute2f128_ps::<0x31>(s0, s4));
            _mm256_storeu_ps(d.add(5 * ld), _mm256_permute2f128_ps::<0x31>(s1, s5));
            _mm256_storeu_ps(d.add(6 * ld), _mm256_permute2f128_ps::<0x31>(s2, s6));
            _mm256_storeu_ps(d.add(7 * ld), _mm256_permute2f128_ps::<0x31>(s3, s7));
        }
        // SAFETY (of the calls): this function's caller guarantees AVX2.
        transpose_blocks::<f32, 8>(src, col, k, n, dst, ld, |s, c, d, l| unsafe {
            block(s, c, d, l)
        })
    }

    #[derive(Clone, Copy)]
    struct Avx512F64;

    impl Simd for Avx512F64 {
        type E = f64;
        type V = __m512d;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn splat(x: f64) -> __m512d {
            _mm512_set1_pd(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> __m512d {
            _mm512_loadu_pd(p)
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f64, n: usize) -> __m512d {
            _mm512_maskz_loadu_pd(((1u32 << n) - 1) as __mmask8, p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: __m512d) {
            _mm512_storeu_pd(p, v)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f64, v: __m512d, n: usize) {
            _mm512_mask_storeu_pd(p, ((1u32 << n) - 1) as __mmask8, v)
        }
        #[inline(always)]
        unsafe fn fma(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            _mm512_fmadd_pd(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: __m512d, b: __m512d) -> __m512d {
            _mm512_add_pd(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m512d, b: __m512d) -> __m512d {
            _mm512_sub_pd(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m512d, b: __m512d) -> __m512d {
            _mm512_mul_pd(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: __m512d, b: __m512d) -> __m512d {
            _mm512_div_pd(a, b)
        }
        #[inline(always)]
        unsafe fn sqrt(v: __m512d) -> __m512d {
            _mm512_sqrt_pd(v)
        }
        #[inline(always)]
        unsafe fn relu(v: __m512d) -> __m512d {
            let positive = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(v, _mm512_setzero_pd());
            _mm512_maskz_mov_pd(positive, v)
        }
        #[inline(always)]
        unsafe fn times_nonzero(d: __m512d, a: __m512d) -> __m512d {
            let zero = _mm512_setzero_pd();
            let is_zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(a, zero);
            _mm512_mul_pd(d, _mm512_mask_blend_pd(is_zero, _mm512_set1_pd(1.0), zero))
        }
    }

    #[derive(Clone, Copy)]
    struct Avx512F32;

    impl Simd for Avx512F32 {
        type E = f32;
        type V = __m512;
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            _mm512_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m512 {
            _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f32, v: __m512, n: usize) {
            _mm512_mask_storeu_ps(p, ((1u32 << n) - 1) as __mmask16, v)
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m512, b: __m512) -> __m512 {
            _mm512_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: __m512, b: __m512) -> __m512 {
            _mm512_div_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sqrt(v: __m512) -> __m512 {
            _mm512_sqrt_ps(v)
        }
        #[inline(always)]
        unsafe fn relu(v: __m512) -> __m512 {
            let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, _mm512_setzero_ps());
            _mm512_maskz_mov_ps(positive, v)
        }
        #[inline(always)]
        unsafe fn times_nonzero(d: __m512, a: __m512) -> __m512 {
            let zero = _mm512_setzero_ps();
            let is_zero = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, zero);
            _mm512_mul_ps(d, _mm512_mask_blend_ps(is_zero, _mm512_set1_ps(1.0), zero))
        }
    }

    #[derive(Clone, Copy)]
    struct Avx2F64;

    impl Avx2F64 {
        #[inline(always)]
        unsafe fn mask(n: usize) -> __m256i {
            _mm256_cmpgt_epi64(_mm256_set1_epi64x(n as i64), _mm256_setr_epi64x(0, 1, 2, 3))
        }
    }

    impl Simd for Avx2F64 {
        type E = f64;
        type V = __m256d;
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn splat(x: f64) -> __m256d {
            _mm256_set1_pd(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f64) -> __m256d {
            _mm256_loadu_pd(p)
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f64, n: usize) -> __m256d {
            _mm256_maskload_pd(p, Self::mask(n))
        }
        #[inline(always)]
        unsafe fn store(p: *mut f64, v: __m256d) {
            _mm256_storeu_pd(p, v)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f64, v: __m256d, n: usize) {
            _mm256_maskstore_pd(p, Self::mask(n), v)
        }
        #[inline(always)]
        unsafe fn fma(a: __m256d, b: __m256d, c: __m256d) -> __m256d {
            _mm256_fmadd_pd(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: __m256d, b: __m256d) -> __m256d {
            _mm256_add_pd(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m256d, b: __m256d) -> __m256d {
            _mm256_sub_pd(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m256d, b: __m256d) -> __m256d {
            _mm256_mul_pd(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: __m256d, b: __m256d) -> __m256d {
            _mm256_div_pd(a, b)
        }
        #[inline(always)]
        unsafe fn sqrt(v: __m256d) -> __m256d {
            _mm256_sqrt_pd(v)
        }
        #[inline(always)]
        unsafe fn relu(v: __m256d) -> __m256d {
            _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(v, _mm256_setzero_pd()), v)
        }
        #[inline(always)]
        unsafe fn times_nonzero(d: __m256d, a: __m256d) -> __m256d {
            let zero = _mm256_setzero_pd();
            let is_zero = _mm256_cmp_pd::<_CMP_EQ_OQ>(a, zero);
            _mm256_mul_pd(d, _mm256_blendv_pd(_mm256_set1_pd(1.0), zero, is_zero))
        }
    }

    #[derive(Clone, Copy)]
    struct Avx2F32;

    impl Avx2F32 {
        #[inline(always)]
        unsafe fn mask(n: usize) -> __m256i {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(n as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }

    impl Simd for Avx2F32 {
        type E = f32;
        type V = __m256;
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            _mm256_set1_ps(x)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn load_first(p: *const f32, n: usize) -> __m256 {
            _mm256_maskload_ps(p, Self::mask(n))
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            _mm256_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn store_first(p: *mut f32, v: __m256, n: usize) {
            _mm256_maskstore_ps(p, Self::mask(n), v)
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sub(a: __m256, b: __m256) -> __m256 {
            _mm256_sub_ps(a, b)
        }
        #[inline(always)]
        unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }
        #[inline(always)]
        unsafe fn div(a: __m256, b: __m256) -> __m256 {
            _mm256_div_ps(a, b)
        }
        #[inline(always)]
        unsafe fn sqrt(v: __m256) -> __m256 {
            _mm256_sqrt_ps(v)
        }
        #[inline(always)]
        unsafe fn relu(v: __m256) -> __m256 {
            _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_setzero_ps()), v)
        }
        #[inline(always)]
        unsafe fn times_nonzero(d: __m256, a: __m256) -> __m256 {
            let zero = _mm256_setzero_ps();
            let is_zero = _mm256_cmp_ps::<_CMP_EQ_OQ>(a, zero);
            _mm256_mul_ps(d, _mm256_blendv_ps(_mm256_set1_ps(1.0), zero, is_zero))
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

    /// The own kernel splits a large product's rows over the threads: the same bits on one
    /// thread and two, with every epilogue that writes by rows (the optimizer step) and the
    /// column sums (computed by the first rows only).
    #[test]
    fn own_kernel_threads_do_not_change_results() {
        let mut rng = NumpyRng::new(7);
        let (m, k, n) = (256, 256, 100);
        let at = Array2::from_shape_fn((k, m), |_| rng.uniform(-1.0, 1.0));
        let b = Array2::from_shape_fn((k, n), |_| rng.uniform(-1.0, 1.0));
        let w0 = Array2::from_shape_fn((m, n), |_| rng.uniform(-1.0, 1.0));
        let run = |threads: usize| {
            let (mut w, mut s1) = (w0.clone(), Array2::<f64>::zeros((m, n)));
            let mut c = Array2::<f64>::zeros((m, n));
            let mut sums = vec![0.0; n];
            let plain = with_kernel_threads(threads, || {
                let step = Step::Sgd {
                    lr: 0.01,
                    momentum: 0.9,
                    nesterov: true,
                };
                let ep = Epilogue::Update {
                    w: w.view_mut(),
                    l2: Some(1e-3),
                    s1: s1.view_mut(),
                    s2: None,
                    step,
                };
                let fused = gemm_fused(
                    m,
                    0.5,
                    &at.t(),
                    &b.view(),
                    &mut c.view_mut(),
                    ep,
                    Some((&mut sums, 0.5)),
                );
                assert!(fused.epilogue && fused.sums);
                let mut plain = Array2::<f64>::zeros((m, n));
                gemm(0.5, &at.t(), &b.view(), 0.0, &mut plain.view_mut());
                plain
            });
            (w, s1, sums, plain)
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
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

    /// The own kernel sums each output element with one fused multiply-add per term in
    /// increasing `p` from zero (one-unit dot products in four fixed partial sums), for every
    /// orientation the engine uses, in f32 and f64, with and without `beta`, and with every
    /// fused epilogue: compared bit for bit against that order written out, on every
    /// instruction set the CPU runs (so AVX-512, AVX2 + FMA and portable agree).
    #[test]
    fn own_kernel_follows_its_documented_order() {
        fn reference<F: Float>(a: &Array2<F>, b: &Array2<F>, dots: bool) -> Array2<F> {
            let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
            Array2::from_shape_fn((m, n), |(i, j)| {
                if dots {
                    let body = k - k % 4;
                    let mut lanes = [F::zero(); 4];
                    for p in 0..body {
                        lanes[p % 4] = fused(a[(i, p)], b[(p, j)], lanes[p % 4]);
                    }
                    let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
                    for p in body..k {
                        total = fused(a[(i, p)], b[(p, j)], total);
                    }
                    total
                } else {
                    (0..k).fold(F::zero(), |acc, p| fused(a[(i, p)], b[(p, j)], acc))
                }
            })
        }
        fn check<F: Float>(rng: &mut NumpyRng) {
            let mut random = |shape: (usize, usize)| {
                Array2::from_shape_fn(shape, |_| F::from(rng.uniform(-1.0, 1.0)).unwrap())
            };
            // (m, k, n): the benchmark networks' products, ragged widths and row counts on
            // both sides of every register block, vector and panel width.
            for (m, k, n) in [
                (32, 8, 30),
                (26, 8, 30),
                (32, 30, 1),
                (27, 30, 1),
                (32, 1, 30),
                (32, 60, 60),
                (26, 60, 60),
                (60, 32, 60),
                (32, 60, 1),
                (31, 99, 99),
                (5, 3, 7),
                (9, 12, 41),
                (3, 5, 2),
                (7, 6, 1),
                (15, 17, 49),
                (13, 33, 97),
            ] {
                let a = random((m, k));
                let b = random((k, n));
                let at = random((k, m));
                let bt = random((n, k));
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
                // Aᵀ·B (the coefficient gradient), row or transposed form, with its L2 term.
                let mut c = Array2::zeros((m, n));
                gemm(alpha, &at.t(), &b.view(), F::zero(), &mut c.view_mut());
                let expected_t = reference(&at.t().to_owned(), &b, false).mapv(|v| alpha * v);
                assert_eq!(c, expected_t, "Aᵀ·B {m}×{k}×{n}");
                let w = random((m, n));
                let mut c = Array2::zeros((m, n));
                let ep = Epilogue::AddScaled {
                    w: w.view(),
                    scale: half,
                };
                // With the column sums of B (the intercept gradient) along.
                let mut sums = vec![F::zero(); n];
                let fused = gemm_fused(
                    m,
                    alpha,
                    &at.t(),
                    &b.view(),
                    &mut c.view_mut(),
                    ep,
                    Some((&mut sums, half)),
                );
                assert!(fused.epilogue, "Aᵀ·B + scale·W {m}×{k}×{n} not fused");
                if fused.sums {
                    let expected: Vec<F> = (0..n)
                        .map(|j| (0..k).fold(F::zero(), |acc, p| acc + b[(p, j)]) * half)
                        .collect();
                    assert_eq!(sums, expected, "column sums {m}×{k}×{n}");
                } else {
                    assert!(n == 1 || m == 1, "column sums {m}×{k}×{n} not fused");
                }
                let expected_l2 = Array2::from_shape_fn((m, n), |ij| expected_t[ij] + half * w[ij]);
                assert_eq!(c, expected_l2, "Aᵀ·B + scale·W {m}×{k}×{n}");
                // The optimizer's step fused into Aᵀ·B: the same bits as the gradient
                // (with and without its L2 term) followed by `Step::apply`.
                let steps = [
                    Step::Sgd {
                        lr: F::from(0.01).unwrap(),
                        momentum: F::from(0.9).unwrap(),
                        nesterov: true,
                    },
                    Step::Sgd {
                        lr: F::from(0.01).unwrap(),
                        momentum: F::from(0.9).unwrap(),
                        nesterov: false,
                    },
                    Step::Adam {
                        b1: F::from(0.9).unwrap(),
                        one_minus_b1: F::from(0.1).unwrap(),
                        b2: F::from(0.999).unwrap(),
                        one_minus_b2: F::one() - F::from(0.999).unwrap(),
                        neg_lr: F::from(-0.001).unwrap(),
                        eps: F::from(1e-8).unwrap(),
                    },
                ];
                for step in steps {
                    for l2 in [None, Some(half)] {
                        let mut w_fused = w.clone();
                        let mut s1_fused = random((m, n));
                        let mut s2_fused = random((m, n)).mapv(|v| v * v);
                        let (mut w_ref, mut s1_ref, mut s2_ref) =
                            (w_fused.clone(), s1_fused.clone(), s2_fused.clone());
                        let mut c = Array2::zeros((m, n));
                        let ep = Epilogue::Update {
                            w: w_fused.view_mut(),
                            l2,
                            s1: s1_fused.view_mut(),
                            s2: step.uses_second_state().then(|| s2_fused.view_mut()),
                            step,
                        };
                        let fused =
                            gemm_fused(m, alpha, &at.t(), &b.view(), &mut c.view_mut(), ep, None);
                        assert!(fused.epilogue, "update {m}×{k}×{n} not fused");
                        let g = match l2 {
                            Some(scale) => {
                                Array2::from_shape_fn((m, n), |ij| expected_t[ij] + scale * w[ij])
                            }
                            None => expected_t.clone(),
                        };
                        step.apply(
                            w_ref.as_slice_mut().unwrap(),
                            s1_ref.as_slice_mut().unwrap(),
                            s2_ref.as_slice_mut().unwrap(),
                            g.as_slice().unwrap(),
                        );
                        assert_eq!(w_fused, w_ref, "update {step:?} l2 {l2:?} {m}×{k}×{n}");
                        assert_eq!(s1_fused, s1_ref, "state {step:?} {m}×{k}×{n}");
                        assert_eq!(s2_fused, s2_ref, "second state {step:?} {m}×{k}×{n}");
                    }
                }
                // A·Bᵀ (the backward product, packed form from 4 rows), with each derivative.
                let plain = reference(&a, &bt.t().to_owned(), dots);
                let mut c = Array2::zeros((m, n));
                gemm(F::one(), &a.view(), &bt.t(), F::zero(), &mut c.view_mut());
                assert_eq!(c, plain, "A·Bᵀ {m}×{k}×{n}");
                let mut out = random((m, n));
                out.iter_mut().step_by(3).for_each(|v| *v = F::zero());
                for activation in Activation::ALL {
                    let mut c = Array2::zeros((m, n));
                    let ep = Epilogue::Derivative {
                        out: out.view(),
                        activation,
                    };
                    if gemm_fused(m, F::one(), &a.view(), &bt.t(), &mut c.view_mut(), ep, None)
                        .epilogue
                    {
                        let expected = Array2::from_shape_fn((m, n), |ij| {
                            plain[ij] * activation.derivative_from_output(out[ij])
                        });
                        assert_eq!(c, expected, "A·Bᵀ·f' {activation:?} {m}×{k}×{n}");
                    } else {
                        assert!(m < 4, "A·Bᵀ·f' {m}×{k}×{n} not fused");
                    }
                }
                // The forward product with bias and relu (or identity).
                let bias: Vec<F> = random((1, n)).into_iter().collect();
                let with_bias = reference(&a, &b, dots);
                for relu in [false, true] {
                    let mut c = Array2::zeros((m, n));
                    let ep = Epilogue::Bias { bias: &bias, relu };
                    let fused = gemm_fused(
                        m,
                        F::one(),
                        &a.view(),
                        &b.view(),
                        &mut c.view_mut(),
                        ep,
                        None,
                    );
                    assert!(fused.epilogue, "A·B + bias {m}×{k}×{n} not fused");
                    let act = if relu {
                        Activation::Relu
                    } else {
                        Activation::Identity
                    };
                    let expected = Array2::from_shape_fn((m, n), |(i, j)| {
                        act.apply(with_bias[(i, j)] + bias[j])
                    });
                    assert_eq!(c, expected, "A·B + bias, relu {relu}, {m}×{k}×{n}");
                }
            }
        }
        for isa in Isa::all_supported() {
            with_isa(isa, || {
                let mut rng = NumpyRng::new(11);
                check::<f64>(&mut rng);
                check::<f32>(&mut rng);
            });
        }
    }

    /// The own kernel against faer on the products of MLP training (batch 32, 128, 256 ×
    /// widths 30, 60, 100, 256, in the three orientations), f64 and f32, one thread: 7
    /// alternating samples each, medians, and the largest difference of the results. Prints a
    /// markdown table (`docs/performance.md` quotes one):
    /// `cargo test --release --lib own_kernel_against_faer -- --ignored --nocapture`.
    #[cfg(feature = "faer")]
    #[test]
    #[ignore = "a benchmark: run it on purpose, on a quiet machine"]
    fn own_kernel_against_faer() {
        use std::time::Instant;
        fn median(mut v: Vec<f64>) -> f64 {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        }
        fn measure<F: Float + faer::traits::ComplexField>(
            kind: &str,
            m: usize,
            k: usize,
            n: usize,
        ) {
            let mut rng = NumpyRng::new(1);
            let mut random = |shape: (usize, usize)| {
                Array2::from_shape_fn(shape, |_| F::from(rng.uniform(-0.5, 0.5)).unwrap())
            };
            let a_store = if kind == "gradient Aᵀ·δ" {
                random((k, m))
            } else {
                random((m, k))
            };
            let b_store = if kind == "backward δ·Wᵀ" {
                random((n, k))
            } else {
                random((k, n))
            };
            let a = if kind == "gradient Aᵀ·δ" {
                a_store.t()
            } else {
                a_store.view()
            };
            let b = if kind == "backward δ·Wᵀ" {
                b_store.t()
            } else {
                b_store.view()
            };
            let (mut own, mut other) = (Array2::<F>::zeros((m, n)), Array2::<F>::zeros((m, n)));
            let reps = (4_000_000 / (m * k * n)).clamp(2, 100_000);
            let mut run_own = || gemm(F::one(), &a, &b, F::zero(), &mut own.view_mut());
            let mut run_faer =
                || faer_gemm::<F, F>(F::one(), &a, &b, F::zero(), &mut other.view_mut());
            for _ in 0..reps / 4 + 1 {
                run_own();
                run_faer();
            }
            let (mut t_own, mut t_faer) = (Vec::new(), Vec::new());
            for _ in 0..7 {
                let started = Instant::now();
                for _ in 0..reps {
                    run_own();
                }
                t_own.push(started.elapsed().as_secs_f64() / reps as f64);
                let started = Instant::now();
                for _ in 0..reps {
                    run_faer();
                }
                t_faer.push(started.elapsed().as_secs_f64() / reps as f64);
            }
            let diff = own
                .iter()
                .zip(other.iter())
                .map(|(x, y)| (*x - *y).abs().to_f64().unwrap_or(f64::NAN))
                .fold(0.0, f64::max);
            let (o, f) = (median(t_own) * 1e6, median(t_faer) * 1e6);
            println!(
                "| {} | {kind} | {m}×{k}×{n} | {o:.2} | {f:.2} | {:.2} | {:.1} | {diff:.0e} |",
                std::any::type_name::<F>(),
                f / o,
                2.0 * (m * k * n) as f64 / o / 1e3
            );
        }
        println!("| dtype | product | m×k×n | own µs | faer µs | faer / own | own GFLOP/s | max abs diff |");
        println!("|---|---|---|---|---|---|---|---|");
        for f32 in [false, true] {
            for batch in [32, 128, 256] {
                for w in [30, 60, 100, 256] {
                    for (kind, m, k, n) in [
                        ("forward A·W", batch, w, w),
                        ("gradient Aᵀ·δ", w, batch, w),
                        ("backward δ·Wᵀ", batch, w, w),
                    ] {
                        if f32 {
                            measure::<f32>(kind, m, k, n);
                        } else {
                            measure::<f64>(kind, m, k, n);
                        }
                    }
                }
            }
        }
    }

    /// Products the own kernel does not take go to faer with the same results up to
    /// rounding, and an epilogue not fused is left to the caller.
    #[test]
    fn large_products_leave_the_epilogue_to_the_caller() {
        let mut rng = NumpyRng::new(5);
        let a = Array2::from_shape_fn((40, 300), |_| rng.uniform(-1.0, 1.0));
        let b = Array2::from_shape_fn((300, 300), |_| rng.uniform(-1.0, 1.0));
        let bias = vec![1.0; 300];
        let mut c = Array2::zeros((40, 300));
        let ep = Epilogue::Bias {
            bias: &bias,
            relu: true,
        };
        let fused = gemm_fused(40, 1.0, &a.view(), &b.view(), &mut c.view_mut(), ep, None);
        assert!(!fused.epilogue);
        let naive = a.dot(&b);
        assert!(c
            .iter()
            .zip(naive.iter())
            .all(|(x, y)| (x - y).abs() < 1e-12));
    }
}
