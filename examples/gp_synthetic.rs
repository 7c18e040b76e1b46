//! Synthetic benchmark of [`BayesSearchCV`] (GP Bayesian optimization) against random
//! search: median regret per evaluation budget on Branin and Hartmann-6, over seeds;
//! `bench/gp_vs_skopt.py` runs scikit-optimize's `gp_minimize` on the same functions.
//!
//! ```text
//! cargo run --release --example gp_synthetic -- [--seeds 10] [--evals 50] [--n-points 10000]
//! ```
//!
//! The functions (minimized; the search maximizes its score, so each trial's "estimator"
//! predicts the constant `sqrt(f(x) - f*)` for zero targets, whose negated MSE is exactly
//! `f* - f(x)`):
//! - `branin` (2-D): `x1` in [-5, 10], `x2` in [0, 15]; minimum `5 / (4 pi)`;
//! - `hartmann6` (6-D): `x0..x5` in [0, 1]; minimum -3.3223680114155147.
//!
//! Regret after `b` evaluations is the best value among the first `b` minus the minimum.
//! Both searches use their defaults (the GP search: 10 random initial points, `gp_hedge`,
//! 10 000 random points per acquisition, batch size 1), with 2-fold CV of the toy estimator
//! (the fold scores are equal, so the CV mean is `f* - f`). The example prints a table of
//! median regrets at 10, 25 and 50 evaluations (those not above `evals`), and as its last
//! line one JSON object: `{"n_seeds", "n_evals", "median_regret": {search: {function:
//! {budget: median}}}, "final_regrets": {search: {function: [per seed]}}, "seconds":
//! {function: mean seconds per GP search}}`.

use std::f64::consts::PI;
use std::time::Instant;

use linfa::Dataset;
use mlp_tune::model_selection::{
    BayesSearchCV, Candidate, Distribution, Estimator, ParamDistributions, RandomizedSearchCV,
};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde_json::json;

mod common;
use common::flag;

const BUDGETS: [usize; 3] = [10, 25, 50];

/// Predicts `level` everywhere.
struct Level(f64);

impl Estimator<f64, f64> for Level {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> mlp_tune::Result<f64> {
        Ok(self.0)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> mlp_tune::Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

fn num(c: &Candidate, name: &str) -> f64 {
    c.get(name)
        .and_then(|v| v.as_f64(name).ok())
        .unwrap_or(f64::NAN)
}

fn branin(c: &Candidate) -> f64 {
    let (x1, x2) = (num(c, "x1"), num(c, "x2"));
    let b = 5.1 / (4.0 * PI * PI);
    let cc = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + cc * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

const H_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
const H_A: [[f64; 6]; 4] = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
];
const H_P: [[f64; 6]; 4] = [
    [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
    [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
    [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
    [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
];

fn hartmann6(c: &Candidate) -> f64 {
    let x: Vec<f64> = (0..6).map(|j| num(c, &format!("x{j}"))).collect();
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..6)
                .map(|j| H_A[i][j] * (x[j] - 1e-4 * H_P[i][j]).powi(2))
                .sum();
            H_ALPHA[i] * (-inner).exp()
        })
        .sum::<f64>()
}

fn uniform(low: f64, high: f64) -> Distribution {
    Distribution::Uniform {
        loc: low,
        scale: high - low,
    }
}

struct Problem {
    name: &'static str,
    space: ParamDistributions,
    f: fn(&Candidate) -> f64,
    minimum: f64,
}

fn problems() -> Vec<Problem> {
    vec![
        Problem {
            name: "branin",
            space: ParamDistributions::new()
                .add("x1", uniform(-5.0, 10.0))
                .add("x2", uniform(0.0, 15.0)),
            f: branin,
            minimum: 5.0 / (4.0 * PI),
        },
        Problem {
            name: "hartmann6",
            space: (0..6).fold(ParamDistributions::new(), |s, j| {
                s.add(&format!("x{j}"), uniform(0.0, 1.0))
            }),
            f: hartmann6,
            minimum: -3.322_368_011_415_514_7,
        },
    ]
}

/// Best-so-far regret after each evaluation.
fn regrets(problem: &Problem, trials: &[Candidate]) -> Vec<f64> {
    let mut best = f64::INFINITY;
    trials
        .iter()
        .map(|c| {
            best = best.min((problem.f)(c));
            best - problem.minimum
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> mlp_tune::Result<()> {
    let n_seeds: u32 = flag("--seeds", 10);
    let evals: usize = flag("--evals", 50);
    let n_points: usize = flag("--n-points", 10_000);
    let data = Dataset::new(Array2::<f64>::zeros((8, 1)), Array1::<f64>::zeros(8));
    let budgets: Vec<usize> = BUDGETS.iter().copied().filter(|&b| b <= evals).collect();
    let mut medians = serde_json::Map::new();
    let mut finals = serde_json::Map::new();
    let mut seconds = serde_json::Map::new();
    for search in ["gp", "random"] {
        let mut by_function = serde_json::Map::new();
        let mut final_by_function = serde_json::Map::new();
        for problem in problems() {
            let (f, minimum) = (problem.f, problem.minimum);
            let build = move |c: &Candidate| Ok(Level((f(c) - minimum).max(0.0).sqrt()));
            let started = Instant::now();
            let mut runs = Vec::new();
            for seed in 0..n_seeds {
                let fitted = if search == "gp" {
                    BayesSearchCV::new(build, problem.space.clone(), evals)
                        .n_points(n_points)
                        .random_state(seed)
                        .cv(2)
                        .refit(false)
                        .fit(&data)?
                } else {
                    RandomizedSearchCV::new(build, problem.space.clone(), evals)
                        .random_state(seed)
                        .cv(2)
                        .refit(false)
                        .fit(&data)?
                };
                runs.push(regrets(&problem, &fitted.cv_results().params));
            }
            if search == "gp" {
                seconds.insert(
                    problem.name.into(),
                    json!(started.elapsed().as_secs_f64() / f64::from(n_seeds)),
                );
            }
            let mut per_budget = serde_json::Map::new();
            for &b in &budgets {
                let m = median(runs.iter().map(|r| r[b - 1]).collect());
                println!(
                    "{search:>6} {:>10} regret after {b:>3}: {m:.6}",
                    problem.name
                );
                per_budget.insert(b.to_string(), json!(m));
            }
            by_function.insert(problem.name.into(), per_budget.into());
            final_by_function.insert(
                problem.name.into(),
                json!(runs.iter().map(|r| r[evals - 1]).collect::<Vec<_>>()),
            );
        }
        medians.insert(search.into(), by_function.into());
        finals.insert(search.into(), final_by_function.into());
    }
    println!(
        "{}",
        json!({
            "n_seeds": n_seeds,
            "n_evals": evals,
            "median_regret": medians,
            "final_regrets": finals,
            "seconds": seconds,
        })
    );
    Ok(())
}
