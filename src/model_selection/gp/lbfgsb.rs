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

use std::collections::VecDeque;

/// Stopping rules (scipy's `fmin_l_bfgs_b` defaults: `pgtol = 1e-5`, `factr = 1e7`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_iter: usize,
    pub(crate) pgtol: f64,
    pub(crate) factr: f64,
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
        let pg = (0..n)
            .map(|i| ((x[i] - g[i]).clamp(lo[i], hi[i]) - x[i]).abs())
            .fold(0.0, f64::max);
        if pg <= limits.pgtol {
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
}
