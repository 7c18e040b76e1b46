//! Synthetic benchmark of [`BayesSearchCV`] (GP Bayesian optimization) against random
//! search: median regret per evaluation budget on Branin and Hartmann-6, over seeds;
//! `bench/gp_vs_skopt.py` runs scikit-optimize's `gp_minimize` on the same functions.
//!
//! ```text
//! cargo run --release --example gp_synthetic -- [--seeds 10] [--evals 50] [--n-points 10000] [--all true] [--functions hartmann6]
//! ```
//!
//! The functions are `tpe_synthetic`'s (`common/synthetic.rs`): `branin` (2-D) and
//! `hartmann6` (6-D), and with `--all true` also `styblinski_tang8` and `mixed` (a list,
//! a log-uniform float and an integer); `--functions` keeps only the named ones
//! (comma-separated). They are minimized; the search maximizes its
//! score, so each trial's "estimator" predicts the constant `sqrt(f(x) - f*)` for zero
//! targets, whose negated MSE is exactly `f* - f(x)`.
//!
//! Regret after `b` evaluations is the best value among the first `b` minus the minimum.
//! Both searches use their defaults (the GP search: 10 random initial points, `gp_hedge`,
//! 10 000 random points per acquisition, batch size 1), with 2-fold CV of the toy estimator
//! (the fold scores are equal, so the CV mean is `f* - f`). The example prints a table of
//! median regrets at 10, 25 and 50 evaluations (those not above `evals`), and as its last
//! line one JSON object: `{"n_seeds", "n_evals", "median_regret": {search: {function:
//! {budget: median}}}, "final_regrets": {search: {function: [per seed]}}, "seconds":
//! {function: mean seconds per GP search}}`.

use std::time::Instant;

use linfa::Dataset;
use mlp_tune::model_selection::{BayesSearchCV, Candidate, RandomizedSearchCV};
use ndarray::{Array1, Array2};
use serde_json::json;

mod common;
use common::flag;
use common::synthetic::{median, problems, regret_curve, Level};

const BUDGETS: [usize; 3] = [10, 25, 50];

fn main() -> mlp_tune::Result<()> {
    let n_seeds: u32 = flag("--seeds", 10);
    let evals: usize = flag("--evals", 50);
    let n_points: usize = flag("--n-points", 10_000);
    let all: bool = flag("--all", false);
    let only: String = flag("--functions", String::new());
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|f| f == name);
    let data = Dataset::new(Array2::<f64>::zeros((8, 1)), Array1::<f64>::zeros(8));
    let budgets: Vec<usize> = BUDGETS.iter().copied().filter(|&b| b <= evals).collect();
    let mut medians = serde_json::Map::new();
    let mut finals = serde_json::Map::new();
    let mut seconds = serde_json::Map::new();
    for search in ["gp", "random"] {
        let mut by_function = serde_json::Map::new();
        let mut final_by_function = serde_json::Map::new();
        for problem in problems()
            .into_iter()
            .filter(|p| all || matches!(p.name, "branin" | "hartmann6"))
            .filter(|p| wanted(p.name))
        {
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
                let values: Vec<f64> = fitted.cv_results().params.iter().map(f).collect();
                runs.push(regret_curve(&values, minimum));
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
