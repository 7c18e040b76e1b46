//! The Parzen estimator of Optuna 5.0.0's TPE (`samplers/_tpe/parzen_estimator.py` and
//! `probability_distributions.py`): a mixture with one component per observed trial plus
//! one prior component, each a product over parameters of a truncated normal (numerical
//! parameters, in the transformed space) or a smoothed one-hot (categorical parameters).
//!
//! Values are in Optuna's *internal representation*: a categorical value is its index in
//! the list, a number is itself (integers as `f64`). The transformed space takes the log of
//! log-scaled parameters, and widens stepped ones (integers included) by half a step on
//! each side so that every grid point owns a cell of equal width.
//!
//! Sums are numpy's pairwise sums and the operations keep Optuna's order, so that the
//! parity test can hold the result to 1e-12.

use super::truncnorm;
use crate::random::NumpyRng;

/// One parameter of the space, as the estimator sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Space {
    /// A categorical parameter with this many choices (internal value = index).
    Categorical(usize),
    /// A numerical parameter on `[low, high]` (both included), optionally on a grid of
    /// `step` from `low` (integers have step 1), optionally log-scaled (`low > 0`).
    Numerical {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Grid spacing, `None` for a continuous parameter.
        step: Option<f64>,
        /// Whether the kernels live in log space.
        log: bool,
    },
}

/// The estimator's options (Optuna's `_ParzenEstimatorParameters`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ParzenParams {
    /// Weight of the prior component before normalisation.
    pub prior_weight: f64,
    /// Floor the bandwidths at `range / min(100, 1 + n_kernels)`.
    pub consider_magic_clip: bool,
    /// Let the outermost observations' bandwidth reach the bounds.
    pub consider_endpoints: bool,
}

/// One parameter's part of every mixture component.
#[derive(Debug, Clone, PartialEq)]
pub enum Kernels {
    /// Per component, the probability of each choice (rows sum to 1).
    Categorical {
        /// `weights[component][choice]`.
        weights: Vec<Vec<f64>>,
    },
    /// Per component, a normal `(mu, sigma)` in the transformed space, truncated to the
    /// (transformed, widened) bounds.
    Numerical {
        /// Centres, the prior's last.
        mu: Vec<f64>,
        /// Bandwidths, the prior's last.
        sigma: Vec<f64>,
        /// The parameter's smallest value (untransformed).
        low: f64,
        /// The parameter's largest value (untransformed).
        high: f64,
        /// Grid spacing, 0 for a continuous parameter.
        step: f64,
        /// Log-scaled.
        log: bool,
    },
}

impl Kernels {
    /// The lower bound in the transformed space.
    fn adapted_low(&self) -> f64 {
        match *self {
            Kernels::Numerical { low, step, log, .. } => {
                let l = low - step / 2.0;
                if log {
                    l.ln()
                } else {
                    l
                }
            }
            Kernels::Categorical { .. } => 0.0,
        }
    }

    /// The upper bound in the transformed space.
    fn adapted_high(&self) -> f64 {
        match *self {
            Kernels::Numerical {
                high, step, log, ..
            } => {
                let h = high + step / 2.0;
                if log {
                    h.ln()
                } else {
                    h
                }
            }
            Kernels::Categorical { .. } => 0.0,
        }
    }
}

/// A fitted Parzen estimator: mixture weights and per-parameter kernels.
#[derive(Debug, Clone, PartialEq)]
pub struct ParzenEstimator {
    /// Mixture weights, normalised; the prior's last (alone when there is no observation).
    pub weights: Vec<f64>,
    /// One entry per parameter, in the space's order.
    pub kernels: Vec<Kernels>,
}

/// numpy's pairwise summation (`np.sum` of a contiguous float64 array), so that sums
/// round exactly as numpy's do.
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let m = n - n % 8;
        for chunk in a[8..m].chunks_exact(8) {
            for (rj, &x) in r.iter_mut().zip(chunk) {
                *rj += x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[m..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// Optuna's `default_weights(n)`: equal weights for up to 25 observations; beyond, the
/// oldest `n - 25` ramp linearly from `1/n` up to 1 (`np.linspace`), so stale trials count
/// less.
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let num = n - 25;
    let start = 1.0 / n as f64;
    let stop = 1.0;
    let mut w: Vec<f64> = if num > 1 {
        // np.linspace: i * step + start, with the endpoint set exactly.
        let step = (stop - start) / (num - 1) as f64;
        let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
        v[num - 1] = stop;
        v
    } else if num == 1 {
        vec![start]
    } else {
        Vec::new()
    };
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// `argsort` that keeps equal values in input order. numpy's default `argsort` is not
/// stable (on AVX-512 machines its order of ties even depends on the SIMD kernel), so the
/// pairing of tied observations with their two neighbour gaps is not portable in Optuna;
/// we fix it to the input order.
fn stable_argsort(v: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    idx
}

impl ParzenEstimator {
    /// Fits the estimator to `observations[param][trial]` (internal representation, one
    /// column per entry of `space`, all of the same length). Component weights are
    /// [`default_weights`] plus `prior_weight`, normalised.
    pub(crate) fn new(observations: &[Vec<f64>], space: &[Space], params: &ParzenParams) -> Self {
        let n = observations.first().map_or(0, Vec::len);
        let mut weights = if n == 0 {
            vec![1.0]
        } else {
            let mut w = default_weights(n);
            w.push(params.prior_weight);
            w
        };
        let total = pairwise_sum(&weights);
        for w in &mut weights {
            *w /= total;
        }
        let kernels = space
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let obs = observations.get(i).map_or(&[][..], |v| &v[..]);
                match *s {
                    Space::Categorical(n_choices) => categorical_kernels(obs, n_choices, params),
                    Space::Numerical {
                        low,
                        high,
                        step,
                        log,
                    } => numerical_kernels(obs, low, high, step, log, params),
                }
            })
            .collect();
        ParzenEstimator { weights, kernels }
    }

    /// Log density (log probability mass for stepped parameters) of the mixture at each
    /// point; `x[param][point]` in internal representation.
    pub(crate) fn log_pdf(&self, x: &[Vec<f64>]) -> Vec<f64> {
        let m = x.first().map_or(0, Vec::len);
        let k = self.weights.len();
        // weighted[point * k + component], accumulated in Optuna's order: categorical and
        // stepped parameters one by one, then the sum of the continuous ones, then the
        // log weight.
        let mut weighted = vec![0.0; m * k];
        let mut continuous = Vec::new();
        for (kernels, xs) in self.kernels.iter().zip(x) {
            match kernels {
                Kernels::Categorical { weights } => {
                    for (p, &xv) in xs.iter().enumerate() {
                        let choice = xv as usize;
                        for (c, row) in weights.iter().enumerate() {
                            let w = row.get(choice).copied().unwrap_or(0.0);
                            weighted[p * k + c] += w.ln();
                        }
                    }
                }
                Kernels::Numerical {
                    mu,
                    sigma,
                    step,
                    log,
                    ..
                } if *step != 0.0 => {
                    let (lo, hi) = (kernels.adapted_low(), kernels.adapted_high());
                    let norm: Vec<f64> = mu
                        .iter()
                        .zip(sigma)
                        .map(|(&mu, &s)| truncnorm::log_gauss_mass((lo - mu) / s, (hi - mu) / s))
                        .collect();
                    for (p, &xv) in xs.iter().enumerate() {
                        let (mut left, mut right) = (xv - step / 2.0, xv + step / 2.0);
                        if *log {
                            left = left.ln();
                            right = right.ln();
                        }
                        for c in 0..k {
                            let (mu, s) = (mu[c], sigma[c]);
                            weighted[p * k + c] +=
                                truncnorm::log_gauss_mass((left - mu) / s, (right - mu) / s);
                            weighted[p * k + c] -= norm[c];
                        }
                    }
                }
                Kernels::Numerical { .. } => continuous.push((kernels, xs)),
            }
        }
        if !continuous.is_empty() {
            let bounds: Vec<(f64, f64)> = continuous
                .iter()
                .map(|(kr, _)| (kr.adapted_low(), kr.adapted_high()))
                .collect();
            for p in 0..m {
                let mut terms = Vec::with_capacity(continuous.len());
                for c in 0..k {
                    terms.clear();
                    for ((kr, xs), &(lo, hi)) in continuous.iter().zip(&bounds) {
                        if let Kernels::Numerical { mu, sigma, log, .. } = kr {
                            let xv = if *log { xs[p].ln() } else { xs[p] };
                            let (mu, s) = (mu[c], sigma[c]);
                            terms.push(truncnorm::logpdf(xv, (lo - mu) / s, (hi - mu) / s, mu, s));
                        }
                    }
                    // `.sum(axis=-1)` over the continuous parameters.
                    weighted[p * k + c] += pairwise_sum(&terms);
                }
            }
        }
        let log_w: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        (0..m)
            .map(|p| {
                let row = &mut weighted[p * k..(p + 1) * k];
                for (v, lw) in row.iter_mut().zip(&log_w) {
                    *v += lw;
                }
                // log-sum-exp; an all -inf row stays -inf instead of NaN.
                let mut max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if row.iter().any(|v| v.is_nan()) {
                    max = f64::NAN;
                }
                if max == f64::NEG_INFINITY {
                    max = 0.0;
                }
                let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
                pairwise_sum(&e).ln() + max
            })
            .collect()
    }

    /// Draws `size` points from the mixture in numpy's order of random draws (Optuna's
    /// `_MixtureOfProductDistribution.sample`): the components (`choice` with `p`), then one
    /// uniform per point for each categorical parameter, then the uniforms of all the
    /// numerical parameters, inverted through the truncated normal's ppf as one batch.
    /// Returns `points[param][point]` in internal representation.
    pub(crate) fn sample(&self, rng: &mut NumpyRng, size: usize) -> Vec<Vec<f64>> {
        // RandomState.choice(len, p=weights, size): cumulative sums, normalised by the
        // last, and `searchsorted(side="right")` of uniforms.
        let mut cdf = Vec::with_capacity(self.weights.len());
        let mut acc = 0.0;
        for &w in &self.weights {
            acc += w;
            cdf.push(acc);
        }
        let last = acc;
        for c in &mut cdf {
            *c /= last;
        }
        let last_index = self.weights.len().saturating_sub(1);
        let active: Vec<usize> = (0..size)
            .map(|_| {
                let u = rng.random_sample();
                cdf.iter().take_while(|&&c| c <= u).count().min(last_index)
            })
            .collect();
        let mut out = vec![vec![0.0; size]; self.kernels.len()];
        let mut numerical = Vec::new();
        for (i, kernels) in self.kernels.iter().enumerate() {
            match kernels {
                Kernels::Categorical { weights } => {
                    let u: Vec<f64> = (0..size).map(|_| rng.random_sample()).collect();
                    for (p, &c) in active.iter().enumerate() {
                        let row = &weights[c];
                        let mut acc = 0.0;
                        let mut count = 0usize;
                        for (j, &w) in row.iter().enumerate() {
                            acc += w;
                            // Optuna sets the last cumulative probability to exactly 1.
                            let cum = if j + 1 == row.len() { 1.0 } else { acc };
                            if cum < u[p] {
                                count += 1;
                            }
                        }
                        out[i][p] = count as f64;
                    }
                }
                Kernels::Numerical { .. } => numerical.push(i),
            }
        }
        if numerical.is_empty() {
            return out;
        }
        // uniform(0, 1, size=(n_numerical, size)), row-major.
        let q: Vec<f64> = (0..numerical.len() * size)
            .map(|_| rng.random_sample())
            .collect();
        let mut a = Vec::with_capacity(q.len());
        let mut b = Vec::with_capacity(q.len());
        for &i in &numerical {
            let kernels = &self.kernels[i];
            let (lo, hi) = (kernels.adapted_low(), kernels.adapted_high());
            if let Kernels::Numerical { mu, sigma, .. } = kernels {
                for &c in &active {
                    a.push((lo - mu[c]) / sigma[c]);
                    b.push((hi - mu[c]) / sigma[c]);
                }
            }
        }
        let z = truncnorm::ppf(&q, &a, &b);
        for (r, &i) in numerical.iter().enumerate() {
            if let Kernels::Numerical {
                mu,
                sigma,
                low,
                high,
                step,
                log,
            } = &self.kernels[i]
            {
                for (p, &c) in active.iter().enumerate() {
                    let mut v = z[r * size + p] * sigma[c] + mu[c];
                    if *log {
                        v = v.exp();
                    }
                    if *step != 0.0 {
                        // np.round rounds half to even; np.clip is max-then-min.
                        v = (low + ((v - low) / step).round_ties_even() * step)
                            .max(*low)
                            .min(*high);
                    }
                    out[i][p] = v;
                }
            }
        }
        out
    }
}

/// Categorical kernels: each observation's one-hot plus `prior_weight / n_kernels` on
/// every choice, rows normalised; the prior row is uniform.
fn categorical_kernels(obs: &[f64], n_choices: usize, params: &ParzenParams) -> Kernels {
    if obs.is_empty() {
        return Kernels::Categorical {
            weights: vec![vec![1.0 / n_choices as f64; n_choices]],
        };
    }
    let n_kernels = obs.len() + 1;
    let fill = params.prior_weight / n_kernels as f64;
    let mut weights = vec![vec![fill; n_choices]; n_kernels];
    for (row, &o) in weights.iter_mut().zip(obs) {
        if let Some(w) = row.get_mut(o as usize) {
            *w += 1.0;
        }
    }
    for row in &mut weights {
        let sum = pairwise_sum(row);
        let sum = if sum == 0.0 { 1.0 } else { sum };
        for w in row.iter_mut() {
            *w /= sum;
        }
    }
    Kernels::Categorical { weights }
}

/// Numerical kernels: a truncated normal at each observation whose bandwidth is the larger
/// gap to its sorted neighbours (the bounds acting as neighbours), clipped to
/// `[range / min(100, 1 + n_kernels), range]`, plus a prior centred on the range with the
/// range as bandwidth. Optuna 5.0.0 uses this neighbour-gap rule for the univariate and
/// the multivariate estimator alike (no Scott's rule).
fn numerical_kernels(
    obs: &[f64],
    low: f64,
    high: f64,
    step: Option<f64>,
    log: bool,
    params: &ParzenParams,
) -> Kernels {
    let (mut lo, mut hi) = (low, high);
    if let Some(s) = step {
        lo -= s / 2.0;
        hi += s / 2.0;
    }
    let mut mus: Vec<f64> = obs.to_vec();
    if log {
        for m in &mut mus {
            *m = m.ln();
        }
        lo = lo.ln();
        hi = hi.ln();
    }
    let n = mus.len();
    let order = stable_argsort(&mus);
    let mut with_ends = Vec::with_capacity(n + 2);
    with_ends.push(lo);
    with_ends.extend(order.iter().map(|&i| mus[i]));
    with_ends.push(hi);
    let mut sorted_sigmas: Vec<f64> = (0..n)
        .map(|i| {
            let left = with_ends[i + 1] - with_ends[i];
            let right = with_ends[i + 2] - with_ends[i + 1];
            // np.maximum propagates NaN.
            if left.is_nan() || right.is_nan() {
                f64::NAN
            } else {
                left.max(right)
            }
        })
        .collect();
    if !params.consider_endpoints && with_ends.len() >= 4 {
        // The outermost kernels only look inwards.
        sorted_sigmas[0] = with_ends[2] - with_ends[1];
        sorted_sigmas[n - 1] = with_ends[n] - with_ends[n - 1];
    }
    let mut sigmas = vec![0.0; n];
    for (pos, &i) in order.iter().enumerate() {
        sigmas[i] = sorted_sigmas[pos];
    }
    let max_sigma = hi - lo;
    let min_sigma = if params.consider_magic_clip {
        let n_kernels = (n + 1) as f64;
        (hi - lo) / 100f64.min(1.0 + n_kernels)
    } else {
        1e-12
    };
    for s in &mut sigmas {
        // np.clip(s, min, max) == minimum(maximum(s, min), max), NaN kept.
        if !s.is_nan() {
            *s = s.max(min_sigma).min(max_sigma);
        }
    }
    mus.push(0.5 * (lo + hi));
    sigmas.push(hi - lo);
    Kernels::Numerical {
        mu: mus,
        sigma: sigmas,
        low,
        high,
        step: step.unwrap_or(0.0),
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sum_on_integers() {
        let v: Vec<f64> = (1..=300).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 45150.0);
        assert_eq!(pairwise_sum(&[]), 0.0);
    }

    #[test]
    fn weights_ramp_after_25() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert_eq!(w[0], 1.0 / 30.0);
        assert_eq!(w[4], 1.0);
        assert!(w[..5].windows(2).all(|p| p[0] < p[1]));
        assert_eq!(default_weights(26)[0], 1.0 / 26.0);
    }

    #[test]
    fn mixture_density_integrates_to_one() {
        let space = [Space::Numerical {
            low: 0.0,
            high: 1.0,
            step: None,
            log: false,
        }];
        let params = ParzenParams {
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
        };
        let pe = ParzenEstimator::new(&[vec![0.2, 0.25, 0.9]], &space, &params);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let total: f64 = pe.log_pdf(&[xs]).iter().map(|l| l.exp()).sum::<f64>() / n as f64;
        assert!((total - 1.0).abs() < 1e-6, "{total}");
    }

    #[test]
    fn stepped_masses_sum_to_one() {
        let space = [Space::Numerical {
            low: 1.0,
            high: 9.0,
            step: Some(2.0),
            log: false,
        }];
        let params = ParzenParams {
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
        };
        let pe = ParzenEstimator::new(&[vec![3.0, 3.0, 7.0]], &space, &params);
        let total: f64 = pe
            .log_pdf(&[vec![1.0, 3.0, 5.0, 7.0, 9.0]])
            .iter()
            .map(|l| l.exp())
            .sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }
}
