//! Copying a `B` with contiguous columns into one with contiguous rows (the packed form),
//! and the thread-local buffer it goes into.

use super::*;

thread_local! {
    /// `B` copied with contiguous rows, for products whose `B` has contiguous columns (`δ·Wᵀ`
    /// in the backward pass). Grown to the largest such `B` a thread has seen, then reused:
    /// no allocation per product.
    pub(super) static PACKED_B: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Elements per row of a packed `B` of `n` columns: whole 64-byte lines, an odd number of
/// them, so that a column of the copy (written row after row by the transpose) spreads over
/// the cache's sets instead of piling into two (as it does with a stride of 2 KiB, 256
/// `f64`; the cost is recorded in `docs/performance.md`).
pub(super) fn packed_stride<F>(n: usize) -> usize {
    let size = std::mem::size_of::<F>();
    let lines = (n * size).div_ceil(64) | 1;
    lines * 64 / size
}

/// 8-byte words of [`PACKED_B`] for a `k × n` `B` of `F`: rows of [`packed_stride`] and room
/// to start on a 64-byte boundary.
pub(super) fn packed_words<F>(k: usize, n: usize) -> usize {
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

/// `dst[p·ld + j] = src[p + j·col]` for `p < k`, `j < n`: `B` with contiguous rows (a copy,
/// so no rounding). On x86-64 it goes through square blocks transposed in registers (8 × 8
/// `f64` on AVX-512, 4 × 4 `f64` and 8 × 8 `f32` on AVX2); the edges portably.
#[inline(always)]
pub(super) unsafe fn pack_rows<F: Float>(
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
                    transpose::transpose_f64_8(src, col, k, n, dst, ld)
                } else {
                    transpose::transpose_f64_4(src, col, k, n, dst, ld)
                }
            } else if TypeId::of::<F>() == TypeId::of::<f32>() {
                transpose::transpose_f32_8(src.cast::<f32>(), col, k, n, dst.cast::<f32>(), ld)
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

#[cfg(target_arch = "x86_64")]
mod transpose {
    //! The square-block transposes of [`super::pack_rows`], in registers (AVX-512, AVX2).

    use std::arch::x86_64::*;

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
    /// masked loads and stores (returns the whole `k × n`, leaving nothing to the slower
    /// portable loop).
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
}
