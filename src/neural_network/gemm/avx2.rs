//! The kernel compiled for AVX2 + FMA (4 `f64` / 8 `f32` lanes, 4 rows × 3 vectors of
//! accumulators: 12 of the 16 registers).

use std::arch::x86_64::*;

use super::{kernel, Simd, Tile};

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn avx2_f64(t: &Tile<f64>) {
    kernel::<Avx2F64, 4, 3>(t)
}

#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn avx2_f32(t: &Tile<f32>) {
    kernel::<Avx2F32, 4, 3>(t)
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
