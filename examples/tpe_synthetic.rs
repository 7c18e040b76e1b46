//! Synthetic benchmark of the ask/tell [`TpeSampler`] against plain random sampling: median
//! regret per evaluation budget on four functions with known minima, over many seeds.
//!
//! ```text
//! cargo run --release --example tpe_synthetic -- [--seeds 30] [--evals 100]
//! ```
//!
//! The functions (all minimised; the sampler maximises, so it is given `-f`), whose
//! definitions `bench/tpe_peers.py` repeats for Optuna, hyperopt and scikit-optimize:
//! - `branin` (2-D): `x1` in [-5, 10], `x2` in [0, 15]; minimum `5 / (4 pi)` at three points;
//! - `hartmann6` (6-D): `x0..x5` in [0, 1]; minimum -3.3223680114155147;
//! - `styblinski_tang8` (8-D): `x0..x7` in [-5, 5], `0.5 * sum(x^4 - 16 x^2 + 5 x)`;
//!   minimum `8 * -39.16616570377142` at every `x_i = -2.903534`;
//! - `mixed` (3 parameters): `kind` in {"a", "b", "c"} (categorical), `lr` log-uniform in
//!   [1e-4, 1], `n` an integer in 1..=64; with `u = log10(lr) + 2`, `v = (n - 20) / 8`,
//!   `f = offset(kind) + u^2 + u v + v^2`, `offset = {a: 1, b: 0, c: 0.5}`. The quadratic
//!   form is positive definite (eigenvalues 0.5 and 1.5), so the minimum is 0, reached only
//!   at `kind = "b"`, `lr = 0.01`, `n = 20`.
//!
//! Regret after `b` evaluations is the best value among the first `b` minus the minimum.
//! For every function and seed `0..seeds` the example runs `TpeSampler` (default
//! `TpeOptions`: Optuna 5.0.0's defaults, multivariate) for `evals` evaluations, and the
//! random baseline `ParamDistributions::sample(evals, seed)`. It prints a table of median
//! regrets at 10, 25, 50 and 100 evaluations (those not above `evals`) and, as its last
//! line, one JSON object: `{"n_seeds", "n_evals", "budgets", "median_regret": {sampler:
//! {function: {budget: median}}}, "final_regrets": {sampler: {function: [regret after
//! evals, per seed]}}, "check_values": {function: f(probe)}}` (`check_values` lets the
//! driver verify that both languages evaluate the same functions).
//!
//! `--optuna-streams` adds a diagnostic row, "mlp-tune TPE, Optuna's streams": the same
//! proposals built here from `tpe::inspect::propose` with the random numbers arranged as
//! Optuna's `TPESampler(seed)` arranges them (startup draws from one `RandomState(seed)`,
//! the model's from a second). `TpeSampler` now arranges its generators the same way, so
//! the row must equal the `TpeSampler` row: it checks that arrangement.

use std::collections::BTreeMap;
use std::f64::consts::PI;

mod common;
use common::flag;
use mlp_tune::model_selection::param_space::Candidate;
use mlp_tune::model_selection::tpe::{inspect, TpeOptions, TpeSampler, TpeTrial, TrialState};
use mlp_tune::model_selection::{Distribution, ParamDistributions, ParamValue};
use mlp_tune::random::NumpyRng;
use serde_json::{json, Value};

const BUDGETS: [usize; 4] = [10, 25, 50, 100];

struct Problem {
    name: &'static str,
    space: ParamDistributions,
    f: fn(&Candidate) -> f64,
    minimum: f64,
    /// A point at which both languages evaluate `f`, as a check.
    probe: Candidate,
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

fn styblinski_tang8(c: &Candidate) -> f64 {
    0.5 * (0..8)
        .map(|j| {
            let x = num(c, &format!("x{j}"));
            x.powi(4) - 16.0 * x * x + 5.0 * x
        })
        .sum::<f64>()
}

fn mixed(c: &Candidate) -> f64 {
    let offset = match c.get("kind") {
        Some(ParamValue::Str(k)) if k == "a" => 1.0,
        Some(ParamValue::Str(k)) if k == "b" => 0.0,
        Some(ParamValue::Str(k)) if k == "c" => 0.5,
        _ => f64::NAN,
    };
    let u = num(c, "lr").log10() + 2.0;
    let v = (num(c, "n") - 20.0) / 8.0;
    offset + u * u + u * v + v * v
}

fn uniform(low: f64, high: f64) -> Distribution {
    Distribution::Uniform {
        loc: low,
        scale: high - low,
    }
}

fn box_space(dim: usize, low: f64, high: f64) -> ParamDistributions {
    (0..dim).fold(ParamDistributions::new(), |s, j| {
        s.add(&format!("x{j}"), uniform(low, high))
    })
}

fn point(values: &[(&str, ParamValue)]) -> Candidate {
    values
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn boxed_point(values: &[f64]) -> Candidate {
    values
        .iter()
        .enumerate()
        .map(|(j, &v)| (format!("x{j}"), ParamValue::Float(v)))
        .collect()
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
            probe: point(&[("x1", 1.0.into()), ("x2", 2.0.into())]),
        },
        Problem {
            name: "hartmann6",
            space: box_space(6, 0.0, 1.0),
            f: hartmann6,
            minimum: -3.322_368_011_415_514_7,
            probe: boxed_point(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        },
        Problem {
            name: "styblinski_tang8",
            space: box_space(8, -5.0, 5.0),
            f: styblinski_tang8,
            minimum: 8.0 * -39.166_165_703_771_42,
            probe: boxed_point(&[-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]),
        },
        Problem {
            name: "mixed",
            space: ParamDistributions::new()
                .add("kind", Distribution::list(["a", "b", "c"]))
                .add(
                    "lr",
                    Distribution::LogUniform {
                        low: 1e-4,
                        high: 1.0,
                    },
                )
                .add("n", Distribution::RandInt { low: 1, high: 65 }),
            f: mixed,
            minimum: 0.0,
            probe: point(&[
                ("kind", "c".into()),
                ("lr", 0.003.into()),
                ("n", 33i64.into()),
            ]),
        },
    ]
}

/// Best-so-far regret after each of the `values` (minimised).
fn regret_curve(values: &[f64], minimum: f64) -> Vec<f64> {
    let mut best = f64::INFINITY;
    values
        .iter()
        .map(|&v| {
            if v < best {
                best = v;
            }
            best - minimum
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The values of `n_evals` TPE trials minimising `f`, with Optuna's two generators (see
/// the module documentation).
fn optuna_streams(problem: &Problem, seed: u32, n_evals: usize) -> mlp_tune::Result<Vec<f64>> {
    let options = TpeOptions::default();
    let (mut startup, mut model) = (NumpyRng::new(seed), NumpyRng::new(seed));
    let mut tried: Vec<Candidate> = Vec::with_capacity(n_evals);
    let mut values: Vec<f64> = Vec::with_capacity(n_evals);
    for i in 0..n_evals {
        let history: Vec<TpeTrial<'_>> = tried
            .iter()
            .zip(&values)
            .map(|(params, &v)| TpeTrial {
                params,
                state: TrialState::Complete(-v),
            })
            .collect();
        // Every trial completes (the functions are finite), so `i` complete trials.
        let rng = if i < options.n_startup_trials {
            &mut startup
        } else {
            &mut model
        };
        let candidate = inspect::propose(&problem.space, &history, &options, rng)?;
        values.push((problem.f)(&candidate));
        tried.push(candidate);
    }
    Ok(values)
}

fn main() -> mlp_tune::Result<()> {
    let n_seeds: u32 = flag("--seeds", 30);
    let n_evals: usize = flag("--evals", 100);
    let budgets: Vec<usize> = BUDGETS.into_iter().filter(|&b| b <= n_evals).collect();
    let with_streams = std::env::args().any(|a| a == "--optuna-streams");
    let mut samplers = vec!["mlp-tune TPE", "mlp-tune random"];
    if with_streams {
        samplers.push("mlp-tune TPE, Optuna's streams");
    }
    let mut medians: BTreeMap<&str, BTreeMap<&str, BTreeMap<String, f64>>> = BTreeMap::new();
    // The regret after all `n_evals` evaluations, per seed (for the driver's bootstrap).
    let mut finals: BTreeMap<&str, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    let mut checks = serde_json::Map::new();
    let start = std::time::Instant::now();
    for problem in problems() {
        checks.insert(problem.name.into(), json!((problem.f)(&problem.probe)));
        // curves[sampler] = one regret curve per seed.
        let mut curves: Vec<Vec<Vec<f64>>> = vec![Vec::new(); samplers.len()];
        for seed in 0..n_seeds {
            let mut sampler = TpeSampler::new(problem.space.clone(), TpeOptions::default(), seed)?;
            let mut values = Vec::with_capacity(n_evals);
            sampler.optimize(n_evals, |c| {
                let v = (problem.f)(c);
                values.push(v);
                -v
            })?;
            curves[0].push(regret_curve(&values, problem.minimum));
            let draws = problem.space.sample(n_evals, seed)?;
            let values: Vec<f64> = draws.iter().map(problem.f).collect();
            curves[1].push(regret_curve(&values, problem.minimum));
            if with_streams {
                let values = optuna_streams(&problem, seed, n_evals)?;
                curves[2].push(regret_curve(&values, problem.minimum));
            }
        }
        for (sampler, curves) in samplers.iter().zip(&curves) {
            finals.entry(sampler).or_default().insert(
                problem.name,
                curves.iter().map(|c| c[n_evals - 1]).collect(),
            );
            let row = medians
                .entry(sampler)
                .or_default()
                .entry(problem.name)
                .or_default();
            for &b in &budgets {
                row.insert(
                    b.to_string(),
                    median(curves.iter().map(|c| c[b - 1]).collect()),
                );
            }
        }
    }
    println!(
        "median regret over {n_seeds} seeds, {n_evals} evaluations ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    print!("{:<18} {:<31}", "function", "sampler");
    for b in &budgets {
        print!(" {:>12}", format!("@{b}"));
    }
    println!();
    for problem in problems() {
        for sampler in &samplers {
            print!("{:<18} {:<31}", problem.name, sampler);
            for b in &budgets {
                print!(
                    " {:>12.4e}",
                    medians[*sampler][problem.name][&b.to_string()]
                );
            }
            println!();
        }
    }
    let out: Value = json!({
        "n_seeds": n_seeds,
        "n_evals": n_evals,
        "budgets": budgets,
        "median_regret": medians,
        "final_regrets": finals,
        "check_values": checks,
    });
    println!("{out}");
    Ok(())
}
