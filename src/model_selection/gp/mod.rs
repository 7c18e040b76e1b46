//! Gaussian-process regression as scikit-optimize's `gp_minimize` uses it, for
//! [`BayesSearchCV`](super::BayesSearchCV): the mathematics, without the search loop.
//!
//! - **Model**: scikit-learn's `GaussianProcessRegressor(kernel = ConstantKernel ·
//!   Matern(ν = 5/2, one length scale per input) + WhiteKernel, alpha = 1e-10,
//!   normalize_y = True)`, the estimator scikit-optimize 0.10 cooks for a GP search
//!   (`cook_estimator("GP", noise = "gaussian")`). Targets are standardized (mean 0,
//!   population standard deviation 1; a zero deviation counts as 1).
//! - **Hyperparameters**: maximum of the log marginal likelihood (analytic gradient, see
//!   `kernel.rs`) from the kernel's start (constant 1, length scales 1, noise 1) and from
//!   `n_restarts` starts drawn uniformly in the log bounds, each run by a bounded
//!   quasi-Newton method (`lbfgsb.rs`); the best optimum wins (the first on ties). By
//!   default each run stops where scipy's L-BFGS-B would (its default tolerances, as
//!   scikit-learn runs it); [`FitTolerance::Converged`] runs to the optimum itself.
//!   Bounds are scikit-optimize's: constant `[0.01, 1000]`, length scales `[0.01, 100]`,
//!   noise `[1e-5, 1e5]`.
//! - **Prediction**: as scikit-optimize, the white noise is fitted but left out of the
//!   predicted standard deviation (the posterior of the latent function, Rasmussen &
//!   Williams eq. 2.24).
//! - **Linear algebra**: `linalg.rs`, faer's Cholesky when the `faer` feature is on.

pub(crate) mod acquisition;
pub(crate) mod kernel;
pub(crate) mod lbfgsb;
pub(crate) mod linalg;
pub(crate) mod space;

pub use kernel::Hyper;
use kernel::{cross_covariance, log_marginal_likelihood, scaled, train_covariance};
use lbfgsb::{minimize_box, polish_newton, Limits};
use linalg::Cholesky;

use crate::error::{MlpTuneError, Result};
use crate::random::NumpyRng;

/// Bounds of the hyperparameters (scikit-optimize's defaults).
pub(crate) const CONSTANT_BOUNDS: (f64, f64) = (0.01, 1000.0);
pub(crate) const LENGTH_BOUNDS: (f64, f64) = (0.01, 100.0);
pub(crate) const NOISE_BOUNDS: (f64, f64) = (1e-5, 1e5);

/// How far [`Gp::fit_with`] runs each hyperparameter optimization. Default
/// [`Scipy`](Self::Scipy).
///
/// ```
/// use mlp_tune::model_selection::gp::FitTolerance;
/// assert_eq!(FitTolerance::default(), FitTolerance::Scipy);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FitTolerance {
    /// Stop where scipy's `fmin_l_bfgs_b` stops with its default tolerances (projected
    /// gradient `1e-5`, relative decrease `1e7·ε`, 1000 iterations), as scikit-learn's
    /// `GaussianProcessRegressor` runs it: the log likelihood is within about `1e-9` of
    /// its maximum, the log hyperparameters within about `1e-3` of the maximizer. This is
    /// what [`BayesSearchCV`](super::BayesSearchCV) uses.
    #[default]
    Scipy,
    /// Run to the maximizer: the quasi-Newton method without tolerances (until a step
    /// lowers nothing, 1000 iterations at most), then up to 10 safeguarded Newton steps on
    /// the hyperparameters not held at a bound (Hessian from central differences of the
    /// analytic gradient, step `1e-5` in log space; a step is kept only if it lowers the
    /// projected gradient). At a well-conditioned interior maximum the log
    /// hyperparameters are then exact to about `1e-12`; one at a bound is exactly the
    /// bound. About `2(d + 2)` extra likelihood evaluations per Newton step.
    Converged,
}

/// Newton steps of [`FitTolerance::Converged`].
const NEWTON_STEPS: usize = 10;

/// A fitted Gaussian process: the regressor [`BayesSearchCV`](super::BayesSearchCV)
/// models the negated score with, usable on its own. Inputs are row-major (`d` columns,
/// meant to lie in the unit box: the length scale bounds `[0.01, 100]` assume it).
///
/// ```
/// use mlp_tune::model_selection::gp::{Gp, Hyper};
/// use mlp_tune::random::NumpyRng;
///
/// // y = sin(6 x) at 8 points of [0, 1].
/// let x: Vec<f64> = (0..8).map(|i| i as f64 / 7.0).collect();
/// let y: Vec<f64> = x.iter().map(|v| (6.0 * v).sin()).collect();
/// let gp = Gp::fit(&x, 1, &y, &Hyper::start(1), 2, &mut NumpyRng::new(0)).unwrap();
/// let (mean, std) = gp.predict(&[0.5, 3.0 / 7.0]);
/// assert!((mean[0] - 3f64.sin()).abs() < 0.05);
/// assert!(std[1] < 1e-2, "small at a training point: {}", std[1]);
/// assert!(gp.hyper().noise < 1e-3, "noise-free data: {:?}", gp.hyper());
/// ```
#[derive(Debug, Clone)]
pub struct Gp {
    d: usize,
    /// Training rows divided by the length scales.
    xs: Vec<f64>,
    hyper: Hyper,
    y_mean: f64,
    y_std: f64,
    chol: Cholesky,
    /// `K⁻¹ y` of the normalized targets.
    alpha: Vec<f64>,
    lml: f64,
}

/// scikit-learn's `normalize_y`: mean and population standard deviation (1 when zero).
fn normalize(y: &[f64]) -> (Vec<f64>, f64, f64) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    let std = if std < 10.0 * f64::EPSILON { 1.0 } else { std };
    (y.iter().map(|v| (v - mean) / std).collect(), mean, std)
}

fn log_bounds(d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![CONSTANT_BOUNDS.0.ln()];
    let mut hi = vec![CONSTANT_BOUNDS.1.ln()];
    lo.extend(std::iter::repeat_n(LENGTH_BOUNDS.0.ln(), d));
    hi.extend(std::iter::repeat_n(LENGTH_BOUNDS.1.ln(), d));
    lo.push(NOISE_BOUNDS.0.ln());
    hi.push(NOISE_BOUNDS.1.ln());
    (lo, hi)
}

fn check_shapes(x: &[f64], d: usize, y: &[f64]) -> Result<()> {
    if d == 0 || y.is_empty() || x.len() != y.len() * d {
        return Err(MlpTuneError::InvalidInput(format!(
            "GP: {} inputs of {d} columns for {} targets",
            x.len(),
            y.len()
        )));
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(MlpTuneError::InvalidInput(
            "GP: non-finite input or target".into(),
        ));
    }
    Ok(())
}

impl Gp {
    /// The GP of rows `x` (row-major, `d` columns) and targets `y` with the given
    /// hyperparameters (scikit-learn's `optimizer=None`).
    ///
    /// Errors: mismatched shapes, non-finite values, or a covariance that is not positive
    /// definite ([`MlpTuneError::InvalidInput`]).
    pub fn with_hyper(x: &[f64], d: usize, y: &[f64], hyper: Hyper) -> Result<Self> {
        check_shapes(x, d, y)?;
        if hyper.length_scales.len() != d {
            return Err(MlpTuneError::InvalidInput(format!(
                "GP: {} length scales for {d} columns",
                hyper.length_scales.len()
            )));
        }
        let (yn, y_mean, y_std) = normalize(y);
        let xs = scaled(x, &hyper.length_scales);
        let n = y.len();
        let chol = Cholesky::new(&train_covariance(&xs, d, &hyper), n).ok_or_else(|| {
            MlpTuneError::InvalidInput("GP: the covariance is not positive definite".into())
        })?;
        let mut alpha = yn.clone();
        chol.solve(&mut alpha, 1);
        let lml = log_marginal_likelihood(x, d, &yn, &hyper.theta(), None);
        Ok(Gp {
            d,
            xs,
            hyper,
            y_mean,
            y_std,
            chol,
            alpha,
            lml,
        })
    }

    /// The GP with hyperparameters of maximal log marginal likelihood: one run from
    /// `start` (clamped into the bounds), then `n_restarts` from starts drawn from `rng`
    /// uniformly in the log bounds (scikit-learn's `n_restarts_optimizer`).
    ///
    /// Errors: as [`with_hyper`](Self::with_hyper), or no start reaching a finite
    /// likelihood.
    /// Each run stops at scipy's default tolerances ([`FitTolerance::Scipy`]); see
    /// [`fit_with`](Self::fit_with) for the optimum itself.
    pub fn fit(
        x: &[f64],
        d: usize,
        y: &[f64],
        start: &Hyper,
        n_restarts: usize,
        rng: &mut NumpyRng,
    ) -> Result<Self> {
        Self::fit_with(x, d, y, start, n_restarts, rng, FitTolerance::Scipy)
    }

    /// [`fit`](Self::fit) with each run taken as far as `tolerance` says.
    ///
    /// ```
    /// use mlp_tune::model_selection::gp::{FitTolerance, Gp, Hyper};
    /// use mlp_tune::random::NumpyRng;
    ///
    /// let x: Vec<f64> = (0..12).map(|i| i as f64 / 11.0).collect();
    /// let y: Vec<f64> = x.iter().map(|v| (6.0 * v).sin() + 0.1 * (40.0 * v).cos()).collect();
    /// let fit = |tol| Gp::fit_with(&x, 1, &y, &Hyper::start(1), 0, &mut NumpyRng::new(0), tol);
    /// let (scipy, converged) = (fit(FitTolerance::Scipy).unwrap(), fit(FitTolerance::Converged).unwrap());
    /// assert!(converged.log_marginal_likelihood() >= scipy.log_marginal_likelihood() - 1e-12);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn fit_with(
        x: &[f64],
        d: usize,
        y: &[f64],
        start: &Hyper,
        n_restarts: usize,
        rng: &mut NumpyRng,
        tolerance: FitTolerance,
    ) -> Result<Self> {
        check_shapes(x, d, y)?;
        let (yn, _, _) = normalize(y);
        let (lo, hi) = log_bounds(d);
        let mut best: Option<(f64, Vec<f64>)> = None;
        for run in 0..=n_restarts {
            let mut theta = if run == 0 {
                start.theta()
            } else {
                lo.iter()
                    .zip(&hi)
                    .map(|(&l, &h)| rng.uniform(l, h))
                    .collect()
            };
            if theta.len() != d + 2 {
                return Err(MlpTuneError::InvalidInput(format!(
                    "GP: {} length scales for {d} columns",
                    start.length_scales.len()
                )));
            }
            let objective = |t: &[f64], g: &mut [f64]| {
                let lml = log_marginal_likelihood(x, d, &yn, t, Some(g));
                g.iter_mut().for_each(|v| *v = -*v);
                -lml
            };
            let value = match tolerance {
                FitTolerance::Scipy => {
                    minimize_box(&mut theta, &lo, &hi, objective, Limits::default())
                }
                FitTolerance::Converged => {
                    minimize_box(&mut theta, &lo, &hi, objective, Limits::exhaustive(1000));
                    polish_newton(&mut theta, &lo, &hi, objective, NEWTON_STEPS)
                }
            };
            if value.is_finite() && best.as_ref().is_none_or(|(b, _)| value < *b) {
                best = Some((value, theta));
            }
        }
        let (_, theta) = best.ok_or_else(|| {
            MlpTuneError::InvalidInput("GP: no hyperparameters give a finite likelihood".into())
        })?;
        Self::with_hyper(x, d, y, Hyper::from_theta(&theta))
    }

    /// The fitted hyperparameters.
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }

    /// Log marginal likelihood of the (normalized) training targets at the fitted
    /// hyperparameters.
    pub fn log_marginal_likelihood(&self) -> f64 {
        self.lml
    }

    /// Posterior mean and standard deviation (of the latent function: no white noise) at
    /// the rows of `points` (row-major, `d` columns), in the targets' units.
    pub fn predict(&self, points: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (d, n) = (self.d, self.alpha.len());
        let m = points.len() / d;
        let ps = scaled(points, &self.hyper.length_scales);
        // k_trans transposed: n × m, column j the covariances of point j.
        let mut v = vec![0.0; n * m];
        let mut k = vec![0.0; n];
        let mut mean = Vec::with_capacity(m);
        for j in 0..m {
            cross_covariance(&ps[j * d..][..d], &self.xs, &self.hyper, &mut k, None);
            let mu: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
            mean.push(self.y_std * mu + self.y_mean);
            for i in 0..n {
                v[i * m + j] = k[i];
            }
        }
        self.chol.solve_lower(&mut v, m);
        let mut var = vec![self.hyper.constant; m];
        for i in 0..n {
            for j in 0..m {
                var[j] -= v[i * m + j] * v[i * m + j];
            }
        }
        let std = var
            .iter()
            .map(|&s| (s.max(0.0) * (self.y_std * self.y_std)).sqrt())
            .collect();
        (mean, std)
    }

    /// Posterior mean and standard deviation at one point with their gradients in the
    /// point: `(mean, std, d mean, d std)`.
    pub(crate) fn predict_with_gradient(&self, point: &[f64]) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let (d, n) = (self.d, self.alpha.len());
        let p = scaled(point, &self.hyper.length_scales);
        let mut k = vec![0.0; n];
        let mut dk = vec![0.0; n * d];
        cross_covariance(&p, &self.xs, &self.hyper, &mut k, Some(&mut dk));
        let mu: f64 = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        let mut v = k.clone();
        self.chol.solve_lower(&mut v, 1);
        let var = self.hyper.constant - v.iter().map(|a| a * a).sum::<f64>();
        let mut u = v;
        self.chol.solve_upper(&mut u, 1);
        let (mut dmu, mut dvar) = (vec![0.0; d], vec![0.0; d]);
        for i in 0..n {
            for q in 0..d {
                dmu[q] += self.alpha[i] * dk[i * d + q];
                dvar[q] -= 2.0 * u[i] * dk[i * d + q];
            }
        }
        let ys = self.y_std;
        let std = (var.max(0.0) * (ys * ys)).sqrt();
        let dstd = if var > 0.0 {
            dvar.iter().map(|g| g / (2.0 * var.sqrt()) * ys).collect()
        } else {
            vec![0.0; d]
        };
        (
            ys * mu + self.y_mean,
            std,
            dmu.iter().map(|g| g * ys).collect(),
            dstd,
        )
    }
}

/// The GP's pieces, for the parity tests against scikit-learn only: not a stable API.
#[doc(hidden)]
pub mod inspect {
    pub use super::acquisition::{
        expected_improvement, lower_confidence_bound, probability_of_improvement,
    };
    pub use super::{FitTolerance, Gp, Hyper};

    /// Log marginal likelihood (of the standardized targets, as `normalize_y = True`) at
    /// `θ` and its gradient.
    pub fn log_marginal_likelihood(
        x: &[f64],
        d: usize,
        y: &[f64],
        theta: &[f64],
    ) -> (f64, Vec<f64>) {
        let (yn, _, _) = super::normalize(y);
        let mut g = vec![0.0; theta.len()];
        let v = super::log_marginal_likelihood(x, d, &yn, theta, Some(&mut g));
        (v, g)
    }
}
