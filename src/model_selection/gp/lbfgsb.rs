//! A small bound-constrained quasi-Newton minimizer: projected L-BFGS with an active set,
//! used for the GP's hyperparameters (box bounds in log space, as scikit-learn's
//! `fmin_l_bfgs_b`) and to polish the acquisition's best sampled points (the unit box).
//!
//! Each iteration fixes the variables at a bound whose gradient points out of the box, takes
//! the L-BFGS direction (two-loop recursion, `m = 10` pairs) on the free ones, and
//! backtracks along the projected path `P(x + t d)` until Armijo's condition holds. It
//! stops as scipy's L-BFGS-B does: projected gradient `‖P(x - g) - x‖∞ ≤ pgtol`, or a
//! relative decrease below `factr · ε`, or `max_iter` iterations. It is not scipy's
//! algorithm (no generalized Cauchy point, no subspace minimization), so iterates differ,
//! but it stops at the same kind of point: a KKT point of the box problem.
//!
//! [`polish_newton`] then takes such a point to the optimum as closely as rounding allows
//! (for the GP's converged fit, [`FitTolerance::Converged`](super::FitTolerance)): Newton
//! steps on the free variables with a Hessian from central differences of the gradient,
//! each kept only if it lowers the projected gradient.

use std::collections::VecDeque;

use super::linalg::Cholesky;

/// Stopping rules (scipy's `fmin_l_bfgs_b` defaults: `pgtol = 1e-5`, `factr = 1e7`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_iter: usize,
    pub(crate) pgtol: f64,
    pub(crate) factr: f64,
}

impl Limits {
    /// No tolerance: iterate until a step no longer lowers `f` (or the line search
    /// fails), at most `max_iter` times.
    pub(crate) fn exhaustive(max_iter: usize) -> Self {
        Limits {
            max_iter,
            pgtol: 0.0,
            factr: 0.0,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_iter: 1000,
            pgtol: 1e-5,
            factr: 1e7,
        }
    }
}

const MEMORY: usize = 10;
const MAX_BACKTRACKS: usize = 30;

fn project(x: &mut [f64], lo: &[f64], hi: &[f64]) {
    for ((v, &l), &h) in x.iter_mut().zip(lo).zip(hi) {
        *v = v.clamp(l, h);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Minimizes `f(x, grad) -> value` over the box `[lo, hi]` from `x` (projected first,
/// updated in place). Returns the value at the final `x`; a non-finite start returns it
/// unchanged.
pub(crate) fn minimize_box(
    x: &mut [f64],
    lo: &[f64],
    hi: &[f64],
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    limits: Limits,
) -> f64 {
    let n = x.len();
    project(x, lo, hi);
    let mut g = vec![0.0; n];
    let mut fx = f(x, &mut g);
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return fx;
    }
    let mut memory: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let (mut xn, mut gn, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut alphas = [0.0; MEMORY];
    for _ in 0..limits.max_iter {
        if projected_gradient(x, &g, lo, hi) <= limits.pgtol {
            break;
        }
        let free: Vec<bool> = (0..n)
            .map(|i| !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0)))
            .collect();
        let masked_dot = |a: &[f64], b: &[f64]| -> f64 {
            (0..n).filter(|&i| free[i]).map(|i| a[i] * b[i]).sum()
        };
        // Two-loop recursion on the free variables.
        for i in 0..n {
            d[i] = if free[i] { -g[i] } else { 0.0 };
        }
        let mut curvature_ok = true;
        for (k, (s, y, _)) in memory.iter().enumerate().rev() {
            let sy = masked_dot(s, y);
            if sy <= 0.0 {
                curvature_ok = false;
                break;
            }
            alphas[k] = masked_dot(s, &d) / sy;
            for i in (0..n).filter(|&i| free[i]) {
                d[i] -= alphas[k] * y[i];
            }
        }
        if curvature_ok {
            if let Some((s, y, _)) = memory.back() {
                let (sy, yy) = (masked_dot(s, y), masked_dot(y, y));
                if yy > 0.0 {
                    for v in d.iter_mut() {
                        *v *= sy / yy;
                    }
                }
            }
            for (k, (s, y, _)) in memory.iter().enumerate() {
                let beta = masked_dot(y, &d) / masked_dot(s, y);
                for i in (0..n).filter(|&i| free[i]) {
                    d[i] += (alphas[k] - beta) * s[i];
                }
            }
        }
        if !curvature_ok || dot(&d, &g) >= 0.0 || d.iter().any(|v| !v.is_finite()) {
            memory.clear();
            for i in 0..n {
                d[i] = if free[i] { -g[i] } else { 0.0 };
            }
        }
        // The first step (and any from steepest descent) is at most unit length.
        let norm = dot(&d, &d).sqrt();
        let mut t = if memory.is_empty() && norm > 1.0 {
            1.0 / norm
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..MAX_BACKTRACKS {
            for i in 0..n {
                xn[i] = x[i] + t * d[i];
            }
            project(&mut xn, lo, hi);
            let decrease: f64 = (0..n).map(|i| g[i] * (xn[i] - x[i])).sum();
            let fnew = f(&xn, &mut gn);
            if fnew.is_finite() && gn.iter().all(|v| v.is_finite()) && fnew <= fx + 1e-4 * decrease
            {
                accepted = Some(fnew);
                break;
            }
            t *= 0.5;
        }
        let Some(fnew) = accepted else {
            if memory.is_empty() {
                break;
            }
            memory.clear();
            continue;
        };
        let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
        let sy = dot(&s, &y);
        if sy > f64::EPSILON * dot(&y, &y) {
            if memory.len() == MEMORY {
                memory.pop_front();
            }
            memory.push_back((s, y, sy));
        }
        let fold = fx;
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        fx = fnew;
        if (fold - fx) <= limits.factr * f64::EPSILON * fold.abs().max(fx.abs()).max(1.0) {
            break;
        }
    }
    fx
}

/// Step of the central differences of the gradient in [`polish_newton`].
pub(crate) const NEWTON_FD_STEP: f64 = 1e-5;

/// `‖P(x - g) - x‖∞`, the projected gradient's size on the box.
fn projected_gradient(x: &[f64], g: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    (0..x.len())
        .map(|i| ((x[i] - g[i]).clamp(lo[i], hi[i]) - x[i]).abs())
        .fold(0.0, f64::max)
}

/// Polishes a near-stationary point `x` of `f(x, grad) -> value` over the box `[lo, hi]`
/// (updated in place) by safeguarded Newton steps; returns the value at the final `x`.
///
/// Each of at most `max_iter` iterations: the free variables are those not held at a
/// bound by a gradient pointing out of the box (`x = lo` with `g > 0`, `x = hi` with
/// `g < 0`); their Hessian `H` is taken by central differences of the gradient with step
/// [`NEWTON_FD_STEP`] (`f` is called up to that far outside the box) and symmetrized
/// (`(H + Hᵀ)/2`); the step `-H⁻¹ g` (Cholesky) is added to the free variables, the result
/// clipped to the box, and kept only if it strictly lowers the projected gradient
/// `‖P(x - g) - x‖∞`. It stops at the first step not kept, a Hessian that is not positive
/// definite, a non-finite value, or a step that changes nothing. Near a well-conditioned
/// optimum one step reaches the rounding floor of the gradient, so the point is then the
/// optimum to about `(gradient rounding) / (smallest Hessian eigenvalue)`.
pub(crate) fn polish_newton(
    x: &mut [f64],
    lo: &[f64],
    hi: &[f64],
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    max_iter: usize,
) -> f64 {
    let n = x.len();
    project(x, lo, hi);
    let mut g = vec![0.0; n];
    let mut fx = f(x, &mut g);
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return fx;
    }
    let mut pg = projected_gradient(x, &g, lo, hi);
    let (mut xp, mut gp, mut gm, mut gn) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for _ in 0..max_iter {
        if pg == 0.0 {
            break;
        }
        let free: Vec<usize> = (0..n)
            .filter(|&i| !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0)))
            .collect();
        let m = free.len();
        if m == 0 {
            break;
        }
        let mut h = vec![0.0; m * m];
        for (a, &i) in free.iter().enumerate() {
            xp.copy_from_slice(x);
            xp[i] = x[i] + NEWTON_FD_STEP;
            f(&xp, &mut gp);
            xp[i] = x[i] - NEWTON_FD_STEP;
            f(&xp, &mut gm);
            for (b, &j) in free.iter().enumerate() {
                h[b * m + a] = (gp[j] - gm[j]) / (2.0 * NEWTON_FD_STEP);
            }
        }
        for a in 0..m {
            for b in 0..a {
                let v = 0.5 * (h[a * m + b] + h[b * m + a]);
                h[a * m + b] = v;
                h[b * m + a] = v;
            }
        }
        let Some(chol) = Cholesky::new(&h, m) else {
            break;
        };
        let mut step: Vec<f64> = free.iter().map(|&i| -g[i]).collect();
        chol.solve(&mut step, 1);
        xp.copy_from_slice(x);
        for (a, &i) in free.iter().enumerate() {
            xp[i] = (x[i] + step[a]).clamp(lo[i], hi[i]);
        }
        if xp == x || xp.iter().any(|v| !v.is_finite()) {
            break;
        }
        let fnew = f(&xp, &mut gn);
        if !fnew.is_finite() || gn.iter().any(|v| !v.is_finite()) {
            break;
        }
        let pgn = projected_gradient(&xp, &gn, lo, hi);
        if pgn >= pg {
            break;
        }
        x.copy_from_slice(&xp);
        g.copy_from_slice(&gn);
        fx = fnew;
        pg = pgn;
    }
    fx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(p: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (p[0], p[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn finds_interior_and_bound_minima() {
        let tight = Limits {
            max_iter: 2000,
            pgtol: 1e-10,
            factr: 10.0,
        };
        let mut x = [-1.2, 1.0];
        let f = minimize_box(&mut x, &[-5.0, -5.0], &[5.0, 5.0], rosenbrock, tight);
        assert!(f < 1e-12 && (x[0] - 1.0).abs() < 1e-5, "{x:?} {f}");
        // With b <= 0.5 the minimum lies on that bound: a = 0.7 solves
        // -2(1-a) - 400a(0.5-a²) = 0 near the unconstrained one.
        let mut x = [-1.2, 0.0];
        minimize_box(&mut x, &[-5.0, -5.0], &[5.0, 0.5], rosenbrock, tight);
        assert_eq!(x[1], 0.5);
        let a = x[0];
        assert!((-2.0 * (1.0 - a) - 400.0 * a * (0.5 - a * a)).abs() < 1e-6);
    }

    #[test]
    fn newton_polish_reaches_the_optimum_to_rounding() {
        // From scipy's default stop (pgtol 1e-5) to the minimum, interior and on a bound.
        let mut x = [-1.2, 1.0];
        minimize_box(
            &mut x,
            &[-5.0, -5.0],
            &[5.0, 5.0],
            rosenbrock,
            Limits::default(),
        );
        polish_newton(&mut x, &[-5.0, -5.0], &[5.0, 5.0], rosenbrock, 20);
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12,
            "{x:?}"
        );
        let mut x = [-1.2, 0.0];
        minimize_box(
            &mut x,
            &[-5.0, -5.0],
            &[5.0, 0.5],
            rosenbrock,
            Limits::default(),
        );
        polish_newton(&mut x, &[-5.0, -5.0], &[5.0, 0.5], rosenbrock, 20);
        assert_eq!(x[1], 0.5);
        let a = x[0];
        assert!((-2.0 * (1.0 - a) - 400.0 * a * (0.5 - a * a)).abs() < 1e-12);
    }
}
