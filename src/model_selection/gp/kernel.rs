//! scikit-optimize's GP kernel, `ConstantKernel · Matern(ν = 5/2, ARD) + WhiteKernel`, with
//! the log marginal likelihood of scikit-learn's `GaussianProcessRegressor` and its analytic
//! gradient in the log hyperparameters `θ = ln [constant, length scales..., noise]`
//! (scikit-learn's `kernel.theta` order).

use super::linalg::Cholesky;

/// `√5`.
pub(crate) const SQRT5: f64 = 2.236_067_977_499_79;

/// scikit-learn's `alpha` default, added to the training diagonal.
pub(crate) const JITTER: f64 = 1e-10;

/// Matérn 5/2 at a scaled distance `r`: `(1 + √5 r + 5r²/3) e^{-√5 r}`, computed as
/// scikit-learn does (`K = √5 r; (1 + K + K²/3) e^{-K}`).
pub(crate) fn matern52(r: f64) -> f64 {
    let k = r * SQRT5;
    (1.0 + k + k * k / 3.0) * (-k).exp()
}

/// The kernel's hyperparameters: `constant · Matern52(x / length_scales) + noise · δ`.
///
/// ```
/// use mlp_tune::model_selection::gp::Hyper;
/// let start = Hyper::start(2); // scikit-optimize's start: all ones
/// assert_eq!(start.theta(), vec![0.0; 4]);
/// let h = Hyper { constant: 2.0, length_scales: vec![0.5, 4.0], noise: 1e-3 };
/// assert_eq!(Hyper::from_theta(&h.theta()).length_scales.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    /// Signal variance (`ConstantKernel`'s `constant_value`).
    pub constant: f64,
    /// One length scale per input column (ARD Matérn).
    pub length_scales: Vec<f64>,
    /// Noise variance (`WhiteKernel`'s `noise_level`), in the normalized target's units.
    pub noise: f64,
}

impl Hyper {
    /// The kernel's starting point for `d` columns, as scikit-optimize builds it: constant
    /// 1, every length scale 1, noise 1.
    pub fn start(d: usize) -> Self {
        Hyper {
            constant: 1.0,
            length_scales: vec![1.0; d],
            noise: 1.0,
        }
    }

    /// `θ`, scikit-learn's `kernel.theta`: the logs, in the order constant, length scales,
    /// noise.
    pub fn theta(&self) -> Vec<f64> {
        std::iter::once(self.constant.ln())
            .chain(self.length_scales.iter().map(|l| l.ln()))
            .chain(std::iter::once(self.noise.ln()))
            .collect()
    }

    /// The hyperparameters of `θ` (`len = d + 2`).
    pub fn from_theta(theta: &[f64]) -> Self {
        let d = theta.len().saturating_sub(2);
        Hyper {
            constant: theta.first().map_or(1.0, |t| t.exp()),
            length_scales: theta.iter().skip(1).take(d).map(|t| t.exp()).collect(),
            noise: theta.get(d + 1).map_or(1.0, |t| t.exp()),
        }
    }
}

/// Rows of `x` (row-major, `d` columns) divided by the length scales, as scikit-learn
/// scales before taking distances.
pub(crate) fn scaled(x: &[f64], length_scales: &[f64]) -> Vec<f64> {
    let d = length_scales.len();
    x.iter()
        .enumerate()
        .map(|(i, v)| v / length_scales[i % d])
        .collect()
}

pub(crate) fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt()
}

/// The training covariance `c·M + (noise + jitter)·I` of scaled rows `xs`.
pub(crate) fn train_covariance(xs: &[f64], d: usize, hyper: &Hyper) -> Vec<f64> {
    let n = xs.len().checked_div(d).unwrap_or(0);
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        k[i * n + i] = hyper.constant + hyper.noise + JITTER;
        for j in 0..i {
            let v = hyper.constant * matern52(distance(&xs[i * d..][..d], &xs[j * d..][..d]));
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
    }
    k
}

/// The log marginal likelihood of the normalized targets `y` at `θ`, and its gradient in
/// `θ` into `grad` when given: scikit-learn's `log_marginal_likelihood(theta,
/// eval_gradient=True)`. A covariance that is not positive definite gives `-inf` and a
/// zero gradient, as in scikit-learn.
pub(crate) fn log_marginal_likelihood(
    x: &[f64],
    d: usize,
    y: &[f64],
    theta: &[f64],
    grad: Option<&mut [f64]>,
) -> f64 {
    let n = y.len();
    let hyper = Hyper::from_theta(theta);
    let xs = scaled(x, &hyper.length_scales);
    let k = train_covariance(&xs, d, &hyper);
    let Some(chol) = Cholesky::new(&k, n) else {
        if let Some(g) = grad {
            g.iter_mut().for_each(|v| *v = 0.0);
        }
        return f64::NEG_INFINITY;
    };
    let mut alpha = y.to_vec();
    chol.solve(&mut alpha, 1);
    let fit: f64 = y.iter().zip(&alpha).map(|(a, b)| a * b).sum();
    let lml = -0.5 * fit - chol.half_log_det() - n as f64 / 2.0 * (2.0 * std::f64::consts::PI).ln();
    if let Some(g) = grad {
        let k_inv = chol.inverse();
        g.iter_mut().for_each(|v| *v = 0.0);
        let c = hyper.constant;
        let mut diff = vec![0.0; d];
        for i in 0..n {
            let w_ii = alpha[i] * alpha[i] - k_inv[i * n + i];
            g[0] += 0.5 * w_ii * c;
            g[d + 1] += 0.5 * w_ii * hyper.noise;
            for j in 0..i {
                // Both (i, j) and (j, i): twice the half.
                let w = alpha[i] * alpha[j] - k_inv[i * n + j];
                let (a, b) = (&xs[i * d..][..d], &xs[j * d..][..d]);
                let mut r2 = 0.0;
                for q in 0..d {
                    diff[q] = (a[q] - b[q]) * (a[q] - b[q]);
                    r2 += diff[q];
                }
                let t = (5.0 * r2).sqrt();
                let e = (-t).exp();
                g[0] += w * c * (1.0 + t + t * t / 3.0) * e;
                let common = w * c * 5.0 / 3.0 * (t + 1.0) * e;
                for q in 0..d {
                    g[1 + q] += common * diff[q];
                }
            }
        }
    }
    lml
}

/// Covariances `c·M(x, xᵢ)` between one scaled point and the scaled training rows, and,
/// when `dk` is given, their gradients in the (unscaled) point: `dk[i·d + q]`.
pub(crate) fn cross_covariance(
    point: &[f64],
    xs: &[f64],
    hyper: &Hyper,
    k: &mut [f64],
    mut dk: Option<&mut [f64]>,
) {
    let d = point.len();
    for (i, ki) in k.iter_mut().enumerate() {
        let row = &xs[i * d..][..d];
        let r = distance(point, row);
        *ki = hyper.constant * matern52(r);
        if let Some(dk) = dk.as_deref_mut() {
            // d/dr [c (1 + √5r + 5r²/3) e^{-√5r}] = -5/3 c r (1 + √5 r) e^{-√5 r}, and
            // dr/dx_q = (x_q - x_iq) / (l_q² r) in unscaled coordinates.
            let t = SQRT5 * r;
            let common = -5.0 / 3.0 * hyper.constant * (1.0 + t) * (-t).exp();
            for q in 0..d {
                dk[i * d + q] = common * (point[q] - row[q]) / hyper.length_scales[q];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_central_differences() {
        let x = [0.1, 0.9, 0.4, 0.3, 0.8, 0.5, 0.35, 0.6, 0.0, 0.05];
        let y = [0.3, -1.0, 0.8, 0.1, -0.2];
        let theta = [0.3f64.ln(), 0.4f64.ln(), 1.7f64.ln(), 0.05f64.ln()];
        let mut g = [0.0; 4];
        log_marginal_likelihood(&x, 2, &y, &theta, Some(&mut g));
        for q in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[q] += h;
            down[q] -= h;
            let fd = (log_marginal_likelihood(&x, 2, &y, &up, None)
                - log_marginal_likelihood(&x, 2, &y, &down, None))
                / (2.0 * h);
            assert!(
                (fd - g[q]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{q}: {fd} vs {}",
                g[q]
            );
        }
    }
}
