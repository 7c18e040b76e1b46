//! Branch-free `exp`, `tanh` and logistic over slices, written so that LLVM vectorizes the
//! loops (the per-element libm calls they replace cannot be vectorized and dominated the
//! epoch time of tanh and logistic networks).
//!
//! The method is the classic one of Cody and Waite, as used by Cephes, fdlibm/musl and SLEEF:
//!
//! - `y = k·ln 2 + r` with `k = round(y / ln 2)` and `|r| ≤ ln 2 / 2`; `ln 2` is split into a
//!   high part with trailing zero bits (so `k·ln2_hi` is exact) and a low correction;
//! - `expm1(r)` from its Taylor polynomial, degree 13 for `f64` and 8 for `f32`: on
//!   `|r| ≤ ln 2 / 2` the truncation error is below 2^-56 (`f64`) and 2^-29 (`f32`) relative,
//!   and with `expm1` rather than `exp` the result stays relatively accurate near 0, which
//!   `tanh` needs;
//! - `2^k` written straight into the exponent bits; `k` comes from the round-to-nearest
//!   shifter `(t + 1.5·2^p) - 1.5·2^p`, so no float→integer conversion (which AVX2 lacks for
//!   64-bit lanes) is needed, and `exp` scales by `2^k1 · 2^k2` (`k = k1 + k2`) so that
//!   results down in the subnormal range are rounded once.
//!
//! Then `tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|))` (accurate near 0, exactly 1 once
//! `expm1` rounds to -1) with the sign copied from `x`, and
//! `logistic(x) = (x ≥ 0 ? 1 : e) / (1 + e)` with `e = exp(-|x|)` (no overflow, tiny
//! results for large negative `x` keep their relative accuracy, exactly 1 for large `x`).
//! Out-of-range inputs are clamped with comparisons that let NaN through, so NaN gives NaN
//! and ±∞ give the limits. Every step is arithmetic, a bit operation or a select.
//!
//! Measured over dense sweeps (tests below), `f64` against glibc: `tanh` within 3 ulp,
//! logistic within 2 ulp of `1 / (1 + exp(-x))` on glibc's `exp`, `exp` within 1 ulp; `f32`
//! against the correctly rounded result (from `f64`): within 2 ulp, `exp` within 1 ulp.

use std::any::TypeId;

use linfa::Float;

macro_rules! kernels {
    ($m:ident, $t:ty, $mant:expr, $bias:expr, $ln2_hi:expr, $ln2_lo:expr, $exp_lo:expr,
     $exp_hi:expr, $expm1_lo:expr, [$($c:expr),+ $(,)?]) => {
        pub(crate) mod $m {
            /// `1.5·2^mantissa_bits`: adding and subtracting it rounds to an integer.
            const SHIFT: $t = 1.5 * (1u64 << $mant) as $t;
            const LOG2_E: $t = std::f64::consts::LOG2_E as $t;
            const LN2_HI: $t = $ln2_hi;
            const LN2_LO: $t = $ln2_lo;

            /// `round(t)` for `|t| < 2^(mantissa_bits - 1)`.
            #[inline(always)]
            fn round(t: $t) -> $t {
                (t + SHIFT) - SHIFT
            }

            /// `2^k` for an integer-valued `k` in the normal exponent range.
            #[inline(always)]
            fn pow2(k: $t) -> $t {
                // The shifter's low mantissa bits hold `k` in two's complement; shifting
                // `k + bias` into the exponent field drops everything else.
                <$t>::from_bits((k + SHIFT).to_bits().wrapping_add($bias) << $mant)
            }

            /// `k` and `expm1(r)` with `y = k·ln 2 + r`, `|r| ≤ ln 2 / 2`.
            #[inline(always)]
            fn reduce(y: $t) -> ($t, $t) {
                let k = round(y * LOG2_E);
                let r = (y - k * LN2_HI) - k * LN2_LO;
                // Horner on the Taylor coefficients 1/13! (1/8! for f32) ... 1/2!.
                let mut q: $t = 0.0;
                $(q = q * r + $c;)+
                (k, r + (r * r) * q)
            }

            /// `e^x`.
            #[inline(always)]
            pub(crate) fn exp(x: $t) -> $t {
                // Clamps written so that NaN passes through.
                let x = if x > $exp_hi { $exp_hi } else { x };
                let x = if x < $exp_lo { $exp_lo } else { x };
                let (k, em) = reduce(x);
                let k1 = round(k * 0.5);
                let k2 = k - k1;
                ((1.0 + em) * pow2(k1)) * pow2(k2)
            }

            /// `tanh(x)`.
            #[inline(always)]
            pub(crate) fn tanh(x: $t) -> $t {
                // Below the clamp `e^-2|x|` is under half an ulp of 1 anyway.
                let y = -2.0 * x.abs();
                let y = if y < $expm1_lo { $expm1_lo } else { y };
                // e^y = s·(1 + em), and tanh|x| = (1 - e^y) / (1 + e^y). While `1 ± s` is
                // exact (s ≥ 1/2) numerator and denominator are each rounded once from
                // exact parts; for `s = 1` the numerator is `-expm1(y)`, accurate near 0.
                // Below, e^y ≤ 1/2 enters rounded once, a small part of either sum.
                let (k, em) = reduce(y);
                let s = pow2(k);
                let se = s * em;
                let e = s + se;
                let split = k >= -1.0;
                let num = if split { (1.0 - s) - se } else { 1.0 - e };
                let den = if split { (1.0 + s) + se } else { 1.0 + e };
                (num / den).copysign(x)
            }

            /// `1 / (1 + e^-x)`.
            #[inline(always)]
            pub(crate) fn logistic(x: $t) -> $t {
                let y = -x.abs();
                let y = if y < $exp_lo { $exp_lo } else { y };
                let (k, em) = reduce(y);
                // `e^y` scaled in two steps for subnormal results; `1 + e^y` as in `tanh`.
                let k1 = round(k * 0.5);
                let e = ((1.0 + em) * pow2(k1)) * pow2(k - k1);
                let den = if k >= -1.0 {
                    let s = pow2(k);
                    (1.0 + s) + s * em
                } else {
                    1.0 + e
                };
                let num = if x >= 0.0 { 1.0 } else { e };
                num / den
            }
        }
    };
}

kernels!(
    fast64,
    f64,
    52,
    1023,
    // fdlibm's ln2_hi: 32 significant bits, so `k·LN2_HI` is exact for |k| < 2^21.
    f64::from_bits(0x3fe6_2e42_fee0_0000),
    // ln 2 - ln2_hi (fdlibm's ln2_lo).
    f64::from_bits(0x3dea_39ef_3579_3c76),
    -746.0,
    710.0,
    -40.0,
    [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ]
);

kernels!(
    fast32,
    f32,
    23,
    127,
    // 15 significant bits, so `k·LN2_HI` is exact for |k| < 2^9.
    f32::from_bits(0x3f31_7200),
    (std::f64::consts::LN_2 - 0.693_145_751_953_125_f64) as f32,
    -104.0,
    89.0,
    -20.0,
    [
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ]
);

/// `v[i] = f(v[i])`. Compiled again for AVX-512 and AVX2 and picked at run time (the callers
/// are not all compiled for a wide target); the kernels use no fused operations, so every
/// version gives the same bits.
#[inline(always)]
fn map<T: Copy>(v: &mut [T], f: impl Fn(T) -> T) {
    #[inline(always)]
    fn each<T: Copy>(v: &mut [T], f: impl Fn(T) -> T) {
        for x in v.iter_mut() {
            *x = f(*x);
        }
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        unsafe fn each_avx512<T: Copy>(v: &mut [T], f: impl Fn(T) -> T) {
            each(v, f)
        }
        #[target_feature(enable = "avx2")]
        unsafe fn each_avx2<T: Copy>(v: &mut [T], f: impl Fn(T) -> T) {
            each(v, f)
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { each_avx512(v, f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { each_avx2(v, f) };
        }
    }
    each(v, f)
}

/// Runs `f64_kernel` or `f32_kernel` over `v` in place when `F` is `f64` or `f32`, and the
/// scalar `fallback` otherwise.
#[inline(always)]
fn map_in_place<F: Float>(
    v: &mut [F],
    f64_kernel: impl Fn(f64) -> f64,
    f32_kernel: impl Fn(f32) -> f32,
    fallback: impl Fn(F) -> F,
) {
    if TypeId::of::<F>() == TypeId::of::<f64>() {
        // SAFETY: `F` is `f64` (same type, so same size, alignment and validity).
        map(unsafe { &mut *(v as *mut [F] as *mut [f64]) }, f64_kernel);
    } else if TypeId::of::<F>() == TypeId::of::<f32>() {
        // SAFETY: `F` is `f32`.
        map(unsafe { &mut *(v as *mut [F] as *mut [f32]) }, f32_kernel);
    } else {
        for x in v.iter_mut() {
            *x = fallback(*x);
        }
    }
}

/// `v = tanh(v)` elementwise.
#[inline(always)]
pub(crate) fn tanh_in_place<F: Float>(v: &mut [F]) {
    map_in_place(v, fast64::tanh, fast32::tanh, |x| x.tanh());
}

/// `v = 1 / (1 + exp(-v))` elementwise.
#[inline(always)]
pub(crate) fn logistic_in_place<F: Float>(v: &mut [F]) {
    map_in_place(v, fast64::logistic, fast32::logistic, |x| {
        super::base::logistic(x)
    });
}

/// `v = exp(v)` elementwise.
#[inline(always)]
pub(crate) fn exp_in_place<F: Float>(v: &mut [F]) {
    map_in_place(v, fast64::exp, fast32::exp, |x| x.exp());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place, counting across zero (`-0` and `+0` coincide).
    fn ulps64(a: f64, b: f64) -> u64 {
        if a.is_nan() || b.is_nan() {
            return if a.is_nan() && b.is_nan() {
                0
            } else {
                u64::MAX
            };
        }
        let key = |x: f64| {
            let bits = x.to_bits() as i64;
            if bits < 0 {
                i64::MIN - bits
            } else {
                bits
            }
        };
        key(a).abs_diff(key(b))
    }

    fn ulps32(a: f32, b: f32) -> u64 {
        if a.is_nan() || b.is_nan() {
            return if a.is_nan() && b.is_nan() {
                0
            } else {
                u64::MAX
            };
        }
        let key = |x: f32| {
            let bits = x.to_bits() as i32;
            i64::from(if bits < 0 { i32::MIN - bits } else { bits })
        };
        key(a).abs_diff(key(b))
    }

    /// Dense grid over [-lo, hi], plus tiny, subnormal, huge and special values.
    fn points(lo: f64, hi: f64, n: usize) -> Vec<f64> {
        let mut p: Vec<f64> = (0..=n)
            .map(|i| lo + (hi - lo) * i as f64 / n as f64)
            .collect();
        for e in -1074..=1023 {
            let v = 2f64.powi(e);
            for m in [1.0, 1.1, 1.5, 1.9] {
                p.push(v * m);
                p.push(-v * m);
            }
        }
        p.extend([
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            709.78,
            709.79,
            -745.1,
            -745.2,
            88.7,
            88.8,
            -103.9,
            -104.0,
            19.06,
            9.01,
        ]);
        p
    }

    fn std_logistic64(x: f64) -> f64 {
        super::super::base::logistic(x)
    }

    fn max_err64(f: fn(f64) -> f64, reference: fn(f64) -> f64, xs: &[f64]) -> (u64, f64) {
        xs.iter()
            .map(|&x| (ulps64(f(x), reference(x)), x))
            .max_by_key(|p| p.0)
            .unwrap()
    }

    fn max_err32(f: fn(f32) -> f32, reference: fn(f64) -> f64, xs: &[f64]) -> (u64, f64) {
        xs.iter()
            .map(|&x| {
                let x = x as f32;
                (ulps32(f(x), reference(f64::from(x)) as f32), f64::from(x))
            })
            .max_by_key(|p| p.0)
            .unwrap()
    }

    #[test]
    fn f64_within_a_few_ulp_of_std() {
        let xs = points(-40.0, 40.0, 1_000_000);
        let tanh = max_err64(fast64::tanh, f64::tanh, &xs);
        let logistic = max_err64(fast64::logistic, std_logistic64, &xs);
        let wide = points(-760.0, 720.0, 1_000_000);
        let exp = max_err64(fast64::exp, f64::exp, &wide);
        let logistic_wide = max_err64(fast64::logistic, std_logistic64, &wide);
        println!(
            "f64 max ulp (at x): tanh {tanh:?} logistic {logistic:?} {logistic_wide:?} exp {exp:?}"
        );
        assert!(tanh.0 <= 3, "tanh {tanh:?}");
        assert!(logistic.0 <= 2, "logistic {logistic:?}");
        assert!(logistic_wide.0 <= 2, "logistic {logistic_wide:?}");
        assert!(exp.0 <= 1, "exp {exp:?}");
    }

    #[test]
    fn f32_within_two_ulp_of_rounded_f64() {
        let xs = points(-40.0, 40.0, 1_000_000);
        let tanh = max_err32(fast32::tanh, f64::tanh, &xs);
        let logistic = max_err32(fast32::logistic, std_logistic64, &xs);
        let wide = points(-110.0, 95.0, 1_000_000);
        let exp = max_err32(fast32::exp, f64::exp, &wide);
        let logistic_wide = max_err32(fast32::logistic, std_logistic64, &wide);
        println!(
            "f32 max ulp (at x): tanh {tanh:?} logistic {logistic:?} {logistic_wide:?} exp {exp:?}"
        );
        assert!(tanh.0 <= 2, "tanh {tanh:?}");
        assert!(logistic.0 <= 2, "logistic {logistic:?}");
        assert!(logistic_wide.0 <= 2, "logistic {logistic_wide:?}");
        assert!(exp.0 <= 1, "exp {exp:?}");
    }

    #[test]
    fn specials_and_saturation() {
        for (x, t, l, e) in [
            (f64::NAN, f64::NAN, f64::NAN, f64::NAN),
            (f64::INFINITY, 1.0, 1.0, f64::INFINITY),
            (f64::NEG_INFINITY, -1.0, 0.0, 0.0),
            (25.0, 1.0, 1.0 / (1.0 + (-25f64).exp()), 25f64.exp()),
            (
                -25.0,
                -1.0,
                (-25f64).exp() / (1.0 + (-25f64).exp()),
                (-25f64).exp(),
            ),
            (40.0, 1.0, 1.0, 40f64.exp()),
            (800.0, 1.0, 1.0, f64::INFINITY),
            (-800.0, -1.0, 0.0, 0.0),
        ] {
            let close = |a: f64, b: f64| ulps64(a, b) <= 2;
            assert!(close(fast64::tanh(x), t), "tanh({x})");
            assert!(close(fast64::logistic(x), l), "logistic({x})");
            assert!(close(fast64::exp(x), e), "exp({x})");
            let x32 = x as f32;
            assert!(close(f64::from(fast32::tanh(x32)), t), "tanhf({x})");
            assert!(fast32::tanh(x32).is_nan() == x.is_nan());
        }
        assert_eq!(fast32::logistic(20.0), 1.0);
        assert_eq!(fast32::logistic(f32::NEG_INFINITY), 0.0);
        assert_eq!(fast32::exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(fast32::exp(-200.0), 0.0);
        // Signed zeros and tiny inputs: tanh(x) = x.
        assert_eq!(fast64::tanh(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(fast64::tanh(1e-300), 1e-300);
        assert_eq!(fast64::tanh(-5e-324), -5e-324);
        assert_eq!(fast32::tanh(-1e-40), -1e-40);
        // Tiny logistic results keep their relative accuracy (subnormal included).
        assert!(ulps64(fast64::logistic(-700.0), (-700f64).exp()) <= 2);
        assert!(fast64::logistic(-740.0) > 0.0);
        assert!(fast32::logistic(-100.0) > 0.0);
    }

    #[test]
    fn monotone_on_grids() {
        for (lo, hi) in [(-20.0, 20.0), (-1e-3, 1e-3), (-750.0, 40.0)] {
            let n = 200_000;
            let xs: Vec<f64> = (0..=n)
                .map(|i| lo + (hi - lo) * f64::from(i) / f64::from(n))
                .collect();
            for w in xs.windows(2) {
                assert!(fast64::tanh(w[0]) <= fast64::tanh(w[1]), "tanh at {}", w[0]);
                assert!(
                    fast64::logistic(w[0]) <= fast64::logistic(w[1]),
                    "logistic at {}",
                    w[0]
                );
                assert!(fast64::exp(w[0]) <= fast64::exp(w[1]), "exp at {}", w[0]);
            }
        }
        // f32 steps several ulp of the output apart (a 1-ulp error may reverse closer pairs).
        for (lo, hi, n) in [(-20.0f32, 20.0, 4_000), (-100.0, 80.0, 18_000)] {
            let xs: Vec<f32> = (0..=n)
                .map(|i| lo + (hi - lo) * i as f32 / n as f32)
                .collect();
            for w in xs.windows(2) {
                let (a, b) = (w[0], w[1]);
                assert!(fast32::tanh(a) <= fast32::tanh(b), "tanhf at {a}");
                assert!(
                    fast32::logistic(a) <= fast32::logistic(b),
                    "logisticf at {a}"
                );
                assert!(fast32::exp(a) <= fast32::exp(b), "expf at {a}");
            }
        }
    }

    /// The slice loops (AVX-512 or AVX2 where available) give the scalar kernels' bits.
    #[test]
    fn slices_match_the_scalar_kernels() {
        let xs: Vec<f64> = (0..1001).map(|i| (f64::from(i) - 500.0) * 0.037).collect();
        let mut t = xs.clone();
        tanh_in_place(&mut t);
        let mut l = xs.clone();
        logistic_in_place(&mut l);
        let mut e = xs.clone();
        exp_in_place(&mut e);
        let mut t32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
        tanh_in_place(&mut t32);
        for (i, &x) in xs.iter().enumerate() {
            assert_eq!(t[i], fast64::tanh(x));
            assert_eq!(l[i], fast64::logistic(x));
            assert_eq!(e[i], fast64::exp(x));
            assert_eq!(t32[i], fast32::tanh(x as f32));
        }
    }
}
