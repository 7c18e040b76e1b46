//! Limited-memory BFGS for the `lbfgs` solver: the unbounded case of scipy's L-BFGS-B as
//! scikit-learn calls it (`m = 10`, `gtol = tol`, `ftol = 2.22e-9`, at most `max_iter`
//! iterations and `max_fun` evaluations), with a strong-Wolfe line search.

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LbfgsStop {
    /// The largest gradient component fell below `gtol`.
    Gradient,
    /// The relative decrease of the objective fell below `ftol`.
    Objective,
    /// `max_iter` iterations were done.
    MaxIter,
    /// `max_fun` evaluations were spent.
    MaxFun,
    /// The line search found no acceptable step.
    LineSearch,
    /// The objective became non-finite.
    NonFinite,
}

pub(crate) struct LbfgsResult {
    pub(crate) f: f64,
    pub(crate) n_iter: usize,
    pub(crate) stop: LbfgsStop,
}

const HISTORY: usize = 10;
const FTOL: f64 = 2.220_446_049_250_313e-9;
const C1: f64 = 1e-3;
const C2: f64 = 0.9;

/// Minimizes `objective(x, grad) -> f` starting from `x` (updated in place).
pub(crate) fn minimize(
    x: &mut [f64],
    mut objective: impl FnMut(&[f64], &mut [f64]) -> f64,
    max_iter: usize,
    max_fun: usize,
    gtol: f64,
) -> LbfgsResult {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut f = objective(x, &mut g);
    let mut n_fun = 1;
    if !f.is_finite() {
        return LbfgsResult {
            f,
            n_iter: 0,
            stop: LbfgsStop::NonFinite,
        };
    }
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(HISTORY);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(HISTORY);
    let mut rho_hist: Vec<f64> = Vec::with_capacity(HISTORY);
    let mut alpha = [0.0; HISTORY];
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut n_iter = 0;
    loop {
        if inf_norm(&g) <= gtol {
            return LbfgsResult {
                f,
                n_iter,
                stop: LbfgsStop::Gradient,
            };
        }
        if n_iter >= max_iter {
            return LbfgsResult {
                f,
                n_iter,
                stop: LbfgsStop::MaxIter,
            };
        }
        // Two-loop recursion: d = -H g.
        d.copy_from_slice(&g);
        let k = s_hist.len();
        for i in (0..k).rev() {
            alpha[i] = rho_hist[i] * dot(&s_hist[i], &d);
            axpy(-alpha[i], &y_hist[i], &mut d);
        }
        if k > 0 {
            let gamma = dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1]);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let beta = rho_hist[i] * dot(&y_hist[i], &d);
            axpy(alpha[i] - beta, &s_hist[i], &mut d);
        }
        d.iter_mut().for_each(|v| *v = -*v);
        let mut dg = dot(&d, &g);
        if dg >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
            for (di, gi) in d.iter_mut().zip(&g) {
                *di = -gi;
            }
            dg = -dot(&g, &g);
        }
        let first_step = if k == 0 {
            (1.0 / norm(&d)).min(1.0)
        } else {
            1.0
        };
        let search = line_search(
            x,
            f,
            &g,
            &d,
            dg,
            first_step,
            &mut objective,
            &mut x_new,
            &mut g_new,
            max_fun.saturating_sub(n_fun),
        );
        n_fun += search.evaluations;
        let Some(f_new) = search.f else {
            let stop = if n_fun >= max_fun {
                LbfgsStop::MaxFun
            } else if search.non_finite {
                LbfgsStop::NonFinite
            } else {
                LbfgsStop::LineSearch
            };
            return LbfgsResult { f, n_iter, stop };
        };
        n_iter += 1;
        // Curvature pair.
        let s: Vec<f64> = x_new.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_new.iter().zip(g.iter()).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &yv);
        if sy > f64::EPSILON * dot(&yv, &yv) {
            if s_hist.len() == HISTORY {
                s_hist.remove(0);
                y_hist.remove(0);
                rho_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
            rho_hist.push(1.0 / sy);
        }
        let f_old = f;
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        f = f_new;
        if (f_old - f) / f_old.abs().max(f.abs()).max(1.0) <= FTOL {
            return LbfgsResult {
                f,
                n_iter,
                stop: LbfgsStop::Objective,
            };
        }
        if n_fun >= max_fun {
            return LbfgsResult {
                f,
                n_iter,
                stop: LbfgsStop::MaxFun,
            };
        }
    }
}

struct SearchResult {
    f: Option<f64>,
    evaluations: usize,
    non_finite: bool,
}

/// Strong-Wolfe line search (Nocedal & Wright, algorithms 3.5 and 3.6) with cubic
/// interpolation in the zoom phase. On success `x_new`/`g_new` hold the accepted point.
#[allow(clippy::too_many_arguments)]
fn line_search(
    x: &[f64],
    f0: f64,
    _g0: &[f64],
    d: &[f64],
    dg0: f64,
    first_step: f64,
    objective: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x_new: &mut [f64],
    g_new: &mut [f64],
    budget: usize,
) -> SearchResult {
    let mut evaluations = 0;
    let mut eval = |step: f64, x_new: &mut [f64], g_new: &mut [f64], evals: &mut usize| {
        for ((xn, &xi), &di) in x_new.iter_mut().zip(x).zip(d) {
            *xn = xi + step * di;
        }
        *evals += 1;
        let f = objective(x_new, g_new);
        (f, dot(g_new, d))
    };
    let mut step_prev = 0.0;
    let mut f_prev = f0;
    let mut dg_prev = dg0;
    let mut step = first_step;
    let max_step = 1e10;
    for i in 0..20 {
        if evaluations >= budget {
            return SearchResult {
                f: None,
                evaluations,
                non_finite: false,
            };
        }
        let (f, dg) = eval(step, x_new, g_new, &mut evaluations);
        if !f.is_finite() {
            // Back off towards the start: the step overshot into overflow.
            if i > 0 && step_prev > 0.0 {
                return zoom(
                    step_prev,
                    f_prev,
                    dg_prev,
                    step,
                    f,
                    dg,
                    f0,
                    dg0,
                    &mut eval,
                    x_new,
                    g_new,
                    &mut evaluations,
                    budget,
                );
            }
            step *= 0.1;
            if step < 1e-20 {
                return SearchResult {
                    f: None,
                    evaluations,
                    non_finite: true,
                };
            }
            continue;
        }
        if f > f0 + C1 * step * dg0 || (i > 0 && f >= f_prev) {
            return zoom(
                step_prev,
                f_prev,
                dg_prev,
                step,
                f,
                dg,
                f0,
                dg0,
                &mut eval,
                x_new,
                g_new,
                &mut evaluations,
                budget,
            );
        }
        if dg.abs() <= -C2 * dg0 {
            return SearchResult {
                f: Some(f),
                evaluations,
                non_finite: false,
            };
        }
        if dg >= 0.0 {
            return zoom(
                step,
                f,
                dg,
                step_prev,
                f_prev,
                dg_prev,
                f0,
                dg0,
                &mut eval,
                x_new,
                g_new,
                &mut evaluations,
                budget,
            );
        }
        step_prev = step;
        f_prev = f;
        dg_prev = dg;
        step = (step * 4.0).min(max_step);
    }
    SearchResult {
        f: None,
        evaluations,
        non_finite: false,
    }
}

#[allow(clippy::too_many_arguments)]
fn zoom(
    mut lo: f64,
    mut f_lo: f64,
    mut dg_lo: f64,
    mut hi: f64,
    mut f_hi: f64,
    mut dg_hi: f64,
    f0: f64,
    dg0: f64,
    eval: &mut impl FnMut(f64, &mut [f64], &mut [f64], &mut usize) -> (f64, f64),
    x_new: &mut [f64],
    g_new: &mut [f64],
    evaluations: &mut usize,
    budget: usize,
) -> SearchResult {
    for _ in 0..30 {
        if *evaluations >= budget {
            break;
        }
        let step = interpolate(lo, f_lo, dg_lo, hi, f_hi, dg_hi);
        let (f, dg) = eval(step, x_new, g_new, evaluations);
        if !f.is_finite() || f > f0 + C1 * step * dg0 || f >= f_lo {
            hi = step;
            f_hi = f;
            dg_hi = dg;
        } else {
            if dg.abs() <= -C2 * dg0 {
                return SearchResult {
                    f: Some(f),
                    evaluations: *evaluations,
                    non_finite: false,
                };
            }
            if dg * (hi - lo) >= 0.0 {
                hi = lo;
                f_hi = f_lo;
                dg_hi = dg_lo;
            }
            lo = step;
            f_lo = f;
            dg_lo = dg;
        }
        if (hi - lo).abs() < 1e-16 * lo.abs().max(1.0) {
            break;
        }
    }
    // Accept the best sufficient-decrease point found, as L-BFGS-B does when the
    // interval collapses.
    if lo > 0.0 && f_lo < f0 {
        let (f, _) = eval(lo, x_new, g_new, evaluations);
        if f.is_finite() {
            return SearchResult {
                f: Some(f),
                evaluations: *evaluations,
                non_finite: false,
            };
        }
    }
    SearchResult {
        f: None,
        evaluations: *evaluations,
        non_finite: false,
    }
}

/// Minimizer of the cubic through both ends, safeguarded into the interval's interior.
fn interpolate(a: f64, fa: f64, ga: f64, b: f64, fb: f64, gb: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let width = hi - lo;
    let mid = 0.5 * (a + b);
    if !fb.is_finite() || !gb.is_finite() {
        return lo + 0.5 * width.min((b - a).abs());
    }
    let d1 = ga + gb - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - ga * gb;
    if disc < 0.0 {
        return mid;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * (gb + d2 - d1) / (gb - ga + 2.0 * d2);
    if !t.is_finite() || t <= lo + 0.1 * width || t >= hi - 0.1 * width {
        mid
    } else {
        t
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_rosenbrock() {
        let mut x = vec![-1.2, 1.0];
        let result = minimize(
            &mut x,
            |p, g| {
                let (a, b) = (p[0], p[1]);
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
            },
            1000,
            15000,
            1e-10,
        );
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] - 1.0).abs() < 1e-4,
            "{x:?}"
        );
        assert!(result.f < 1e-8);
    }
}
