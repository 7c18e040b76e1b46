//! The engine's matrix kernel, `C = alpha·A·B + beta·C`, and the thread settings it obeys.
//!
//! Small products (the batch-by-layer shapes of MLP training) run on the crate's own
//! register-blocked kernel; larger ones on faer (feature `faer`, default) or ndarray. Every
//! path computes each output row independently of the others and in a documented summation
//! order, so results never depend on the thread count or on how rows are blocked.
//!
//! This file holds the entry points (`gemm`, `gemm_chosen_for`, `gemm_fused`, [`Epilogue`]),
//! the choice between the own kernel and faer/ndarray, the own kernel's operand forms and
//! the instruction-set dispatch. The rest: `threads` (the thread settings and the split of
//! rows over threads), `tile` (a product in the kernel's terms and its epilogue), `blocked`
//! (the register-blocked kernel and its portable instance), `avx512` and `avx2` (its vector
//! instances), `pack` (copying `B` with contiguous rows) and `tests`.

use std::cell::{Cell, RefCell};

use linfa::Float;
use ndarray::{linalg::general_mat_mul, ArrayView2, ArrayViewMut2};

use super::base::Activation;
use super::stochastic_optimizers::Step;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod blocked;
mod pack;
#[cfg(test)]
mod tests;
mod threads;
mod tile;

use blocked::*;
pub(crate) use pack::reserve_packing;
use pack::*;
use threads::*;
pub(crate) use threads::{with_kernel_threads, with_single_threaded_kernels};
use tile::*;

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
/// the sum at most [`OWN_MAX_K`] terms. Within these limits it keeps up with faer on the
/// training shapes (the comparison is in `docs/performance.md`).
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
                    Isa::Avx512 => avx512::avx512_f64(t),
                    _ => avx2::avx2_f64(t),
                }
                return;
            }
            if TypeId::of::<F>() == TypeId::of::<f32>() {
                // SAFETY: as above, for `f32`.
                let t = &*(t as *const Tile<F>).cast::<Tile<f32>>();
                match isa {
                    Isa::Avx512 => avx512::avx512_f32(t),
                    _ => avx2::avx2_f32(t),
                }
                return;
            }
        }
    }
    kernel::<Scalar<F>, 4, 4>(t);
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
