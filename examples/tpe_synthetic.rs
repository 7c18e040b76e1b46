//! Synthetic benchmark of the ask/tell [`TpeSampler`] against plain random sampling: median
//! regret per evaluation budget on four functions with known minima, over many seeds.
//!
//! ```text
//! cargo run --release --example tpe_synthetic -- [--seeds 30] [--evals 100]
//!     [--optuna-streams] [--gp] [--evolutionary [--grid-levels 1001] [--population 10] [--generations N]]
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
//!
//! `--gp` adds the row "mlp-tune GP": `BayesSearchCV` with its defaults (10 random initial
//! points, `gp_hedge`, 10 000 random points per acquisition, batch size 1; the settings of
//! `gp_synthetic`), seed `seed`, on the same space, its trial's estimator predicting the
//! constant `sqrt(f(x) - f*)` for zero targets (2-fold CV; the CV score is exactly
//! `f* - f(x)`). `--evolutionary` adds "mlp-tune evolutionary": `EvolutionarySearchCV`, a
//! genetic algorithm over lists, so it runs on a fine grid of the same space
//! (`common::synthetic::fine_grid`): `--grid-levels` (default 1001) evenly spaced values
//! per real parameter, both ends included (log-spaced for `mixed`'s `lr`), every integer and
//! every category; population `--population` (default 10, as `california_table`), its
//! other settings sklearn-deap's defaults, seed `seed`. It does not refit a configuration met
//! again, so its evaluations are its distinct configurations in the order first met; it
//! breeds `--generations` (default `10 * evals`: a converged population proposes few new
//! configurations) and its first `evals` distinct configurations count (a run with fewer
//! keeps its best after its last one; the JSON's `"evolutionary_short_runs"` counts such
//! runs). Both add their rows to every table and JSON key, and `"seconds"`
//! (added key) gives each sampler's total time. `"regrets_by_budget"` (added key): {sampler:
//! {function: {budget: [regret after budget, per seed]}}}.

use std::collections::BTreeMap;

mod common;
use common::flag;
use common::synthetic::{fine_grid, median, problems, regret_curve, Level, Problem};
use linfa::Dataset;
use mlp_tune::model_selection::param_space::Candidate;
use mlp_tune::model_selection::tpe::{inspect, TpeOptions, TpeSampler, TpeTrial, TrialState};
use mlp_tune::model_selection::{BayesSearchCV, EvolutionarySearchCV};
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2};
use serde_json::{json, Value};

const BUDGETS: [usize; 4] = [10, 25, 50, 100];

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
    let has = |name: &str| std::env::args().any(|a| a == name);
    let (with_streams, with_gp, with_evolution) =
        (has("--optuna-streams"), has("--gp"), has("--evolutionary"));
    let grid_levels: usize = flag("--grid-levels", 1001);
    let population: usize = flag("--population", 10);
    let generations: usize = flag("--generations", 10 * n_evals);
    let mut samplers = vec!["mlp-tune TPE", "mlp-tune random"];
    if with_streams {
        samplers.push("mlp-tune TPE, Optuna's streams");
    }
    if with_gp {
        samplers.push("mlp-tune GP");
    }
    if with_evolution {
        samplers.push("mlp-tune evolutionary");
    }
    let index = |name: &str| samplers.iter().position(|s| *s == name);
    let (gp_row, evolution_row) = (index("mlp-tune GP"), index("mlp-tune evolutionary"));
    let data = Dataset::new(Array2::<f64>::zeros((8, 1)), Array1::<f64>::zeros(8));
    let mut seconds = vec![0.0f64; samplers.len()];
    let mut short_runs = 0usize;
    let mut medians: BTreeMap<&str, BTreeMap<&str, BTreeMap<String, f64>>> = BTreeMap::new();
    // The regret after all `n_evals` evaluations, per seed (for the driver's bootstrap).
    let mut finals: BTreeMap<&str, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    // The regret after each budget, per seed (added key "regrets_by_budget").
    type PerSeed<'a> = BTreeMap<&'a str, BTreeMap<&'a str, BTreeMap<String, Vec<f64>>>>;
    let mut by_budget: PerSeed = BTreeMap::new();
    let mut checks = serde_json::Map::new();
    let start = std::time::Instant::now();
    for problem in problems() {
        checks.insert(problem.name.into(), json!((problem.f)(&problem.probe)));
        // curves[sampler] = one regret curve per seed.
        let mut curves: Vec<Vec<Vec<f64>>> = vec![Vec::new(); samplers.len()];
        let (f, minimum) = (problem.f, problem.minimum);
        let build = move |c: &Candidate| Ok(Level((f(c) - minimum).max(0.0).sqrt()));
        let grid = if with_evolution {
            fine_grid(problem.name, grid_levels).ok_or_else(|| {
                mlp_tune::MlpTuneError::SearchSpace(format!("no grid for {}", problem.name))
            })?
        } else {
            Default::default()
        };
        for seed in 0..n_seeds {
            let started = std::time::Instant::now();
            let mut sampler = TpeSampler::new(problem.space.clone(), TpeOptions::default(), seed)?;
            let mut values = Vec::with_capacity(n_evals);
            sampler.optimize(n_evals, |c| {
                let v = (problem.f)(c);
                values.push(v);
                -v
            })?;
            curves[0].push(regret_curve(&values, problem.minimum));
            seconds[0] += started.elapsed().as_secs_f64();
            let started = std::time::Instant::now();
            let draws = problem.space.sample(n_evals, seed)?;
            let values: Vec<f64> = draws.iter().map(problem.f).collect();
            curves[1].push(regret_curve(&values, problem.minimum));
            seconds[1] += started.elapsed().as_secs_f64();
            if with_streams {
                let started = std::time::Instant::now();
                let values = optuna_streams(&problem, seed, n_evals)?;
                curves[2].push(regret_curve(&values, problem.minimum));
                seconds[2] += started.elapsed().as_secs_f64();
            }
            if let Some(row) = gp_row {
                let started = std::time::Instant::now();
                let fitted = BayesSearchCV::new(build, problem.space.clone(), n_evals)
                    .random_state(seed)
                    .cv(2)
                    .refit(false)
                    .fit(&data)?;
                let values: Vec<f64> = fitted.cv_results().params.iter().map(f).collect();
                curves[row].push(regret_curve(&values, minimum));
                seconds[row] += started.elapsed().as_secs_f64();
            }
            if let Some(row) = evolution_row {
                let started = std::time::Instant::now();
                let fitted = EvolutionarySearchCV::new(build, grid.clone())
                    .population_size(population)
                    .generations_number(generations)
                    .random_state(seed)
                    .cv(2)
                    .refit(false)
                    .fit(&data)?;
                let values: Vec<f64> = fitted
                    .cv_results()
                    .params
                    .iter()
                    .take(n_evals)
                    .map(f)
                    .collect();
                let mut curve = regret_curve(&values, minimum);
                if curve.len() < n_evals {
                    short_runs += 1;
                    let last = curve.last().copied().unwrap_or(f64::INFINITY);
                    curve.resize(n_evals, last);
                }
                curves[row].push(curve);
                seconds[row] += started.elapsed().as_secs_f64();
            }
        }
        for (sampler, curves) in samplers.iter().zip(&curves) {
            finals.entry(sampler).or_default().insert(
                problem.name,
                curves.iter().map(|c| c[n_evals - 1]).collect(),
            );
            let per_seed = by_budget
                .entry(sampler)
                .or_default()
                .entry(problem.name)
                .or_default();
            for &b in &budgets {
                per_seed.insert(b.to_string(), curves.iter().map(|c| c[b - 1]).collect());
            }
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
    if short_runs > 0 {
        println!(
            "evolutionary runs with fewer than {n_evals} distinct configurations: {short_runs}"
        );
    }
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
        "seconds": samplers.iter().zip(&seconds).map(|(s, t)| (s.to_string(), json!(t))).collect::<serde_json::Map<_, _>>(),
        "evolutionary_short_runs": short_runs,
        "regrets_by_budget": by_budget,
    });
    println!("{out}");
    Ok(())
}
