//! The truncated standard normal as Optuna 5.0.0's `samplers/_tpe/_truncnorm.py` computes
//! it (itself derived from SciPy's `truncnorm`): log of the Gaussian mass of an interval,
//! log pdf, and the percent point function used to sample.
//!
//! Every function follows Optuna's formulas operation by operation (same branch points,
//! same order of floating-point operations), because the parity test compares with Optuna
//! to 1e-12 and a different but "equivalent" formula loses digits in the tails. Vectorised
//! steps whose result depends on the whole batch (the Newton iteration of `ndtri_exp`
//! stops when *every* element has converged) take the batch as a slice for the same reason.
//!
//! `erf`/`erfc` come from the `libm` crate (a port of the same Sun fdlibm code that
//! CPython's `math.erf` uses through the C library). Optuna switches to its own polynomial
//! `erf` for arrays of 2000 values or more (long searches with many parameters); it is at
//! most 1 ulp from `math.erf`, so that path is not reproduced (the parity test's 300-trial
//! case crosses it and still agrees to 1e-12).

use std::f64::consts::PI;

/// `sqrt(2)`, as Python's `2**0.5`.
const SQRT2: f64 = std::f64::consts::SQRT_2;
/// `log(sqrt(2 pi))`, Optuna's `_norm_pdf_logC`.
fn norm_pdf_log_c() -> f64 {
    (2.0 * PI).sqrt().ln()
}
/// `sqrt(3) / pi`, the slope of the logistic approximation of the normal cdf.
fn ndtri_exp_approx_c() -> f64 {
    3f64.sqrt() / PI
}

/// `np.logaddexp(x, y)`: `log(exp(x) + exp(y))` without overflow, numpy's branches.
pub(crate) fn logaddexp(x: f64, y: f64) -> f64 {
    if x == y {
        // Also covers both infinite of the same sign, where x - y would be NaN.
        return x + std::f64::consts::LN_2;
    }
    let tmp = x - y;
    if tmp > 0.0 {
        x + (-tmp).exp().ln_1p()
    } else if tmp <= 0.0 {
        y + tmp.exp().ln_1p()
    } else {
        tmp
    }
}

/// `log(exp(p) - exp(q))` for `p >= q`, Optuna's `_log_diff`.
fn log_diff(log_p: f64, log_q: f64) -> f64 {
    log_p + (-(log_q - log_p).exp()).ln_1p()
}

/// The standard normal cdf of one value, Optuna's `_ndtr_single` (erfc in the tails).
fn ndtr_single(a: f64) -> f64 {
    let x = a / SQRT2;
    let half_sqrt = 1.0 / SQRT2;
    if x < -half_sqrt {
        0.5 * libm::erfc(-x)
    } else if x < half_sqrt {
        0.5 + 0.5 * libm::erf(x)
    } else {
        1.0 - 0.5 * libm::erfc(x)
    }
}

/// The vectorised `_ndtr` Optuna uses for the central case: erf only.
fn ndtr(a: f64) -> f64 {
    0.5 + 0.5 * libm::erf(a / SQRT2)
}

/// `log(ndtr(a))`, Optuna's `_log_ndtr_single`: direct for moderate `a`, `-ndtr(-a)` above
/// 6, and the asymptotic series below -20 where the cdf underflows.
pub(crate) fn log_ndtr(a: f64) -> f64 {
    if a > 6.0 {
        return -ndtr_single(-a);
    }
    if a > -20.0 {
        return ndtr_single(a).ln();
    }
    let log_lhs = -0.5 * (a * a) - (-a).ln() - 0.5 * (2.0 * PI).ln();
    let mut last_total: f64 = 0.0;
    let mut right_hand_side: f64 = 1.0;
    let mut numerator = 1.0;
    let mut denom_factor = 1.0;
    let denom_cons = 1.0 / (a * a);
    let mut sign = 1.0;
    let mut i = 0.0;
    // The series converges for |a| >= 20 in a few dozen terms; the cap only guards NaN.
    let mut guard = 0;
    while (last_total - right_hand_side).abs() > f64::EPSILON && guard < 1000 {
        guard += 1;
        i += 1.0;
        last_total = right_hand_side;
        sign = -sign;
        denom_factor *= denom_cons;
        numerator *= 2.0 * i - 1.0;
        right_hand_side += sign * numerator * denom_factor;
    }
    log_lhs + right_hand_side.ln()
}

/// Log of the standard normal mass in `[a, b]`, Optuna's `_log_gauss_mass`: the left tail
/// directly, the right tail by symmetry, and `log1p(-ndtr(a) - ndtr(-b))` when the interval
/// straddles 0 (the left/right formulas cancel catastrophically there).
pub(crate) fn log_gauss_mass(a: f64, b: f64) -> f64 {
    // Optuna fills the left case, then overwrites with the right case, so `a > 0` wins.
    if a > 0.0 {
        log_diff(log_ndtr(-a), log_ndtr(-b))
    } else if b <= 0.0 {
        log_diff(log_ndtr(b), log_ndtr(a))
    } else {
        (-ndtr(a) - ndtr(-b)).ln_1p()
    }
}

/// Log density at `x` of the normal `(loc, scale)` truncated to `[a, b]` (bounds in
/// standard units), Optuna's `_truncnorm.logpdf`: NaN when `a == b`, -inf outside.
pub(crate) fn logpdf(x: f64, a: f64, b: f64, loc: f64, scale: f64) -> f64 {
    let z = (x - loc) / scale;
    if a == b {
        return f64::NAN;
    }
    if z < a || z > b {
        return f64::NEG_INFINITY;
    }
    -(z * z) / 2.0 - norm_pdf_log_c() - log_gauss_mass(a, b) - scale.ln()
}

/// Solves `log_ndtr(x) = y` for each `y` in place, Optuna's `_ndtri_exp`: an asymptotic or
/// logistic first guess, then Newton steps on the whole batch until every element moved by
/// less than 1e-8 of itself (at most 100 steps).
fn ndtri_exp(y: &mut [f64]) {
    let log_c = norm_pdf_log_c();
    let approx_c = ndtri_exp_approx_c();
    // Near y = 0 the root is far right, where log_ndtr is flat: solve for -x instead.
    let flipped: Vec<bool> = y.iter().map(|&v| v > -1e-2).collect();
    let z: Vec<f64> = y
        .iter()
        .zip(&flipped)
        .map(|(&v, &f)| if f { (-v.exp_m1()).ln() } else { v })
        .collect();
    let mut x: Vec<f64> = z
        .iter()
        .map(|&zi| {
            if zi < -5.0 {
                -(-2.0 * (zi + log_c)).sqrt()
            } else if zi >= -5.0 {
                -approx_c * (-zi).exp_m1().ln()
            } else {
                // NaN input: numpy leaves the slot uninitialised; NaN is the honest value.
                f64::NAN
            }
        })
        .collect();
    for _ in 0..100 {
        let mut converged = true;
        for (xi, &zi) in x.iter_mut().zip(&z) {
            let log_ndtr_x = log_ndtr(*xi);
            let log_norm_pdf_x = -0.5 * (*xi * *xi) - log_c;
            let dx = (log_ndtr_x - zi) * (log_ndtr_x - log_norm_pdf_x).exp();
            *xi -= dx;
            // Written as numpy's `all(abs(dx) < 1e-8 * abs(x))`, so NaN never converges.
            let small = dx.abs() < 1e-8 * xi.abs();
            if !small {
                converged = false;
            }
        }
        if converged {
            break;
        }
    }
    for ((out, xi), &f) in y.iter_mut().zip(x).zip(&flipped) {
        *out = if f { -xi } else { xi };
    }
}

/// The percent point function (inverse cdf) of the standard normal truncated to `[a, b]`,
/// for a batch of `(q, a, b)`, Optuna's `_truncnorm.ppf`. The batch matters only through
/// the shared Newton stopping rule; give it exactly what Optuna gives one `ppf` call.
pub(crate) fn ppf(q: &[f64], a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = q.len();
    let mut out = vec![0.0; n];
    // Optuna splits the batch by sign of `a` and solves each group as one array.
    let is_left: Vec<bool> = a.iter().map(|&x| x < 0.0).collect();
    let left: Vec<usize> = (0..n).filter(|&i| is_left[i]).collect();
    let right: Vec<usize> = (0..n).filter(|&i| !is_left[i]).collect();
    let mut ys: Vec<f64> = left
        .iter()
        .map(|&i| logaddexp(log_ndtr(a[i]), q[i].ln() + log_gauss_mass(a[i], b[i])))
        .collect();
    ndtri_exp(&mut ys);
    for (&i, y) in left.iter().zip(ys) {
        out[i] = y;
    }
    // For a >= 0 the left tail of the mirrored interval is the accurate one.
    let mut ys: Vec<f64> = right
        .iter()
        .map(|&i| {
            logaddexp(
                log_ndtr(-b[i]),
                (-q[i]).ln_1p() + log_gauss_mass(a[i], b[i]),
            )
        })
        .collect();
    ndtri_exp(&mut ys);
    for (&i, y) in right.iter().zip(ys) {
        out[i] = -y;
    }
    for i in 0..n {
        if q[i] == 0.0 {
            out[i] = a[i];
        }
        if q[i] == 1.0 {
            out[i] = b[i];
        }
        if a[i] == b[i] {
            out[i] = f64::NAN;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mass_of_the_whole_line_is_one() {
        assert!(log_gauss_mass(f64::NEG_INFINITY, f64::INFINITY).abs() < 1e-15);
        // P(Z <= 0) = 1/2.
        assert!((log_gauss_mass(f64::NEG_INFINITY, 0.0) - 0.5f64.ln()).abs() < 1e-15);
        // Symmetry of the tails.
        let l = log_gauss_mass(-9.0, -8.0);
        let r = log_gauss_mass(8.0, 9.0);
        assert!((l - r).abs() < 1e-13 * l.abs());
    }

    #[test]
    fn far_left_tail_uses_the_series() {
        // Optuna 5.0.0: _truncnorm._log_ndtr_single(-30.0) == -454.32124395634315
        let v = log_ndtr(-30.0);
        assert!((v - (-454.321_243_956_343_15)).abs() < 1e-12, "{v}");
    }

    #[test]
    fn ppf_inverts_the_cdf() {
        let (a, b) = (-1.5, 2.0);
        let qs = [0.0, 1e-9, 0.1, 0.5, 0.9, 1.0 - 1e-9, 1.0];
        let xs = ppf(&qs, &[a; 7], &[b; 7]);
        let mass = log_gauss_mass(a, b).exp();
        for (q, x) in qs.iter().zip(&xs) {
            assert!(*x >= a && *x <= b);
            let cdf = (log_gauss_mass(a, *x).exp()) / mass;
            assert!((cdf - q).abs() < 1e-9, "q {q} x {x} cdf {cdf}");
        }
        // The right-hand case (a >= 0) too.
        let xs = ppf(&[0.25], &[0.5], &[3.0]);
        let cdf = log_gauss_mass(0.5, xs[0]).exp() / log_gauss_mass(0.5, 3.0).exp();
        assert!((cdf - 0.25).abs() < 1e-9);
    }

    #[test]
    fn logpdf_outside_is_minus_infinity() {
        assert_eq!(logpdf(5.0, -1.0, 1.0, 0.0, 1.0), f64::NEG_INFINITY);
        assert!(logpdf(0.0, 1.0, 1.0, 0.0, 1.0).is_nan());
    }
}
