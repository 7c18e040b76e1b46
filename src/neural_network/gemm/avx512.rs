//! The kernel compiled for AVX-512 (8 `f64` / 16 `f32` lanes, 8 rows × 3 vectors of
//! accumulators: 24 of the 32 registers).

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
