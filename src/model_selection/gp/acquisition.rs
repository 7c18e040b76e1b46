//! Acquisition functions on a fitted GP, scikit-optimize's conventions: the objective is
//! *minimized* (the search minimizes the negated score), `y_opt` is the lowest observed
//! value, and each function is given as the value the optimizer minimizes (`-EI`, `-PI`,
//! `LCB`). Maximized as `Optimizer(acq_optimizer = "lbfgs")` does: evaluated at random
//! points, then the best few polished by a bounded quasi-Newton run of at most 20
//! iterations, the best polished point winning.

use super::lbfgsb::{minimize_box, Limits};
use super::Gp;

/// Which acquisition, with its parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AcqKind {
    /// Expected improvement with margin `xi`.
    Ei(f64),
    /// Probability of improvement with margin `xi`.
    Pi(f64),
    /// Lower confidence bound `mu - kappa·std`.
    Lcb(f64),
}

fn norm_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

fn norm_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// scikit-optimize's `gaussian_ei`: `E[max(y_opt - xi - f, 0)]` for `f ~ N(mu, std²)`; 0
/// where `std = 0`.
pub fn expected_improvement(mu: f64, std: f64, y_opt: f64, xi: f64) -> f64 {
    if std > 0.0 {
        let improve = y_opt - xi - mu;
        let z = improve / std;
        improve * norm_cdf(z) + std * norm_pdf(z)
    } else {
        0.0
    }
}

/// scikit-optimize's `gaussian_pi`: `P(f < y_opt - xi)`; 0 where `std = 0`.
pub fn probability_of_improvement(mu: f64, std: f64, y_opt: f64, xi: f64) -> f64 {
    if std > 0.0 {
        norm_cdf((y_opt - xi - mu) / std)
    } else {
        0.0
    }
}

/// scikit-optimize's `gaussian_lcb`: `mu - kappa·std`.
pub fn lower_confidence_bound(mu: f64, std: f64, kappa: f64) -> f64 {
    mu - kappa * std
}

impl AcqKind {
    /// The value to minimize at a prediction.
    pub(crate) fn value(self, mu: f64, std: f64, y_opt: f64) -> f64 {
        match self {
            AcqKind::Ei(xi) => -expected_improvement(mu, std, y_opt, xi),
            AcqKind::Pi(xi) => -probability_of_improvement(mu, std, y_opt, xi),
            AcqKind::Lcb(kappa) => lower_confidence_bound(mu, std, kappa),
        }
    }

    /// The value to minimize and its derivatives in `mu` and `std`.
    fn value_and_partials(self, mu: f64, std: f64, y_opt: f64) -> (f64, f64, f64) {
        match self {
            AcqKind::Lcb(kappa) => (mu - kappa * std, 1.0, -kappa),
            _ if std <= 0.0 => (0.0, 0.0, 0.0),
            AcqKind::Ei(xi) => {
                let z = (y_opt - xi - mu) / std;
                let (cdf, pdf) = (norm_cdf(z), norm_pdf(z));
                (-((y_opt - xi - mu) * cdf + std * pdf), cdf, -pdf)
            }
            AcqKind::Pi(xi) => {
                let z = (y_opt - xi - mu) / std;
                let pdf = norm_pdf(z);
                (-norm_cdf(z), pdf / std, pdf * z / std)
            }
        }
    }
}

/// The point minimizing `kind` among the random `samples` (row-major, one row per point,
/// with precomputed `values`), polished from the `n_polish` best of them over the unit box
/// with the `fixed` columns held (one-hot categoricals). Returns the point and its value.
pub(crate) fn minimize_acquisition(
    gp: &Gp,
    kind: AcqKind,
    y_opt: f64,
    samples: &[f64],
    values: &[f64],
    fixed: &[bool],
    n_polish: usize,
) -> (Vec<f64>, f64) {
    let d = fixed.len();
    let mut order: Vec<usize> = (0..values.len()).collect();
    // Stable: ties keep sample order, as numpy's argsort of a stable kind would.
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let first = order.first().copied().unwrap_or(0);
    let mut best = (samples[first * d..][..d].to_vec(), values[first]);
    if n_polish == 0 || fixed.iter().all(|&f| f) {
        return best;
    }
    let limits = Limits {
        max_iter: 20,
        ..Limits::default()
    };
    let mut polished_best: Option<(Vec<f64>, f64)> = None;
    for &i in order.iter().take(n_polish) {
        let mut x = samples[i * d..][..d].to_vec();
        let (lo, hi): (Vec<f64>, Vec<f64>) = x
            .iter()
            .zip(fixed)
            .map(|(&v, &f)| if f { (v, v) } else { (0.0, 1.0) })
            .unzip();
        let value = minimize_box(
            &mut x,
            &lo,
            &hi,
            |p, g| {
                let (mu, std, dmu, dstd) = gp.predict_with_gradient(p);
                let (v, a, b) = kind.value_and_partials(mu, std, y_opt);
                for q in 0..d {
                    g[q] = a * dmu[q] + b * dstd[q];
                }
                v
            },
            limits,
        );
        if value.is_finite() && polished_best.as_ref().is_none_or(|(_, b)| value < *b) {
            polished_best = Some((x, value));
        }
    }
    if let Some(p) = polished_best {
        if p.1 <= best.1 {
            best = p;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_selection::gp::Hyper;

    #[test]
    fn partials_match_the_values() {
        for kind in [AcqKind::Ei(0.01), AcqKind::Pi(0.01), AcqKind::Lcb(1.96)] {
            let (mu, std, y_opt) = (0.3, 0.7, 0.1);
            let (v, a, b) = kind.value_and_partials(mu, std, y_opt);
            assert_eq!(v, kind.value(mu, std, y_opt));
            let h = 1e-6;
            let da = (kind.value(mu + h, std, y_opt) - kind.value(mu - h, std, y_opt)) / (2.0 * h);
            let db = (kind.value(mu, std + h, y_opt) - kind.value(mu, std - h, y_opt)) / (2.0 * h);
            assert!((a - da).abs() < 1e-8 && (b - db).abs() < 1e-8, "{kind:?}");
        }
    }

    #[test]
    fn prediction_gradient_matches_differences() {
        let x = [0.1, 0.9, 0.4, 0.3, 0.8, 0.5, 0.35, 0.6];
        let y = [1.0, -0.5, 0.2, 0.7];
        let hyper = Hyper {
            constant: 1.3,
            length_scales: vec![0.4, 0.7],
            noise: 1e-3,
        };
        let gp = Gp::with_hyper(&x, 2, &y, hyper).unwrap();
        let p = [0.55, 0.45];
        let (mu, std, dmu, dstd) = gp.predict_with_gradient(&p);
        let (m, s) = gp.predict(&p);
        assert!((m[0] - mu).abs() < 1e-12 && (s[0] - std).abs() < 1e-12);
        for q in 0..2 {
            let (mut up, mut down) = (p, p);
            up[q] += 1e-6;
            down[q] -= 1e-6;
            let (mu_u, s_u) = gp.predict(&up);
            let (mu_d, s_d) = gp.predict(&down);
            assert!(((mu_u[0] - mu_d[0]) / 2e-6 - dmu[q]).abs() < 1e-6);
            assert!(((s_u[0] - s_d[0]) / 2e-6 - dstd[q]).abs() < 1e-6);
        }
    }
}
