//! The textbook California housing search (Géron, *Hands-On Machine Learning* ch. 10) with a
//! genetic algorithm: `EvolutionarySearchCV` (sklearn-deap's `EvolutionaryAlgorithmSearchCV`)
//! over a grid of the textbook space plus the activation and the solver (n_hidden 0–3,
//! n_neurons 10–90, learning rates 3e-4 to 3e-2), 3-fold CV scored by negated MSE, with the
//! same early-stopping rule as `california_random_search`. A configuration met again is not
//! refitted. A randomized search over the same grid with the same seed and as many trials
//! runs after it, to count how many trials the evolution needed to reach its best CV score.
//!
//! `cargo run --release --example california_evolutionary_search [-- --n-jobs 2 --seed 42
//!  --population 10 --generations 3]`
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "n_trials": .., "trials_to_best_random": ..}` (`n_trials`: distinct configurations fitted;
//! `trials_to_best_random` is null when the evolution never reached the random search's best).

mod common;

use std::time::Instant;

use common::{california, flag, mse, trials_to_reach, Progress};
use mlp_tune::model_selection::param_space::candidate_to_json;
use mlp_tune::model_selection::{
    by_name, Distribution, EvolutionarySearchCV, ParamDistributions, ParamGrid, ParamValue,
    RandomizedSearchCV,
};
use mlp_tune::neural_network::{MLPRegressor, Solver};
use serde_json::json;

fn main() {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let population: usize = flag("--population", 10);
    let generations: usize = flag("--generations", 3);
    let data = california();

    let n_hidden = [0i64, 1, 2, 3];
    let n_neurons: Vec<i64> = (1..10).map(|i| i * 10).collect();
    let rates = [3e-4, 1e-3, 3e-3, 1e-2, 3e-2];
    let grid = ParamGrid::new()
        .add("n_hidden", n_hidden)
        .add("n_neurons", n_neurons.clone())
        .add("learning_rate_init", rates)
        .add("activation", ["relu", "tanh"])
        .add("solver", ["sgd", "adam"]);
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Sgd)
        .momentum(0.9)
        .batch_size(32)
        .max_iter(100)
        .early_stopping(true)
        .validation_fraction(0.1)
        .n_iter_no_change(10)
        .random_state(seed);
    println!(
        "EvolutionarySearchCV: population {population}, {generations} generations over a grid of {} configurations, cv 3, {n_jobs} threads, seed {seed}",
        4 * n_neurons.len() * rates.len() * 2 * 2
    );
    let progress = Progress::default_lines();
    let started = Instant::now();
    let search = EvolutionarySearchCV::new(by_name(base.clone()), grid)
        .population_size(population)
        .generations_number(generations)
        .random_state(seed)
        .cv(3)
        .n_jobs(n_jobs)
        .observer(progress.observer())
        .fit(&data.train)
        .unwrap_or_else(|e| {
            eprintln!("search failed: {e}");
            std::process::exit(1);
        });
    let search_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let results = search.cv_results();
    let n_trials = results.params.len();

    // The same grid as lists for the random search.
    let as_list = |v: Vec<ParamValue>| Distribution::List(v);
    let space = ParamDistributions::new()
        .add(
            "n_hidden",
            as_list(n_hidden.iter().map(|&i| ParamValue::Int(i)).collect()),
        )
        .add(
            "n_neurons",
            as_list(n_neurons.iter().map(|&i| ParamValue::Int(i)).collect()),
        )
        .add(
            "learning_rate_init",
            as_list(rates.iter().map(|&r| ParamValue::Float(r)).collect()),
        )
        .add("activation", Distribution::list(["relu", "tanh"]))
        .add("solver", Distribution::list(["sgd", "adam"]));
    println!(
        "\nRandomizedSearchCV over the same grid, same seed, {n_trials} trials, for comparison"
    );
    let random = RandomizedSearchCV::new(by_name(base), space, n_trials)
        .random_state(seed)
        .cv(3)
        .n_jobs(n_jobs)
        .refit(false)
        .fit(&data.train)
        .unwrap_or_else(|e| {
            eprintln!("random search failed: {e}");
            std::process::exit(1);
        });
    let random_best = random.best_score().expect("one metric");
    let trials_to_best_random = trials_to_reach(results, random_best);

    let best_params = search.best_params().expect("refit is on");
    let best_score = search.best_score().expect("refit is on");
    let prediction = search
        .try_predict(&data.test.records)
        .expect("refitted model predicts");
    let test_mse = mse(&prediction, &data.test.targets);
    println!("random search: best score {random_best:.4}");
    println!(
        "evolution: {n_trials} configurations fitted, best score {best_score:.4} (neg MSE, 3-fold CV), test MSE {test_mse:.4}, {search_seconds:.1} s"
    );
    println!(
        "{}",
        json!({
            "best_params": candidate_to_json(best_params),
            "best_score": best_score,
            "test_mse": test_mse,
            "search_seconds": search_seconds,
            "n_trials": n_trials,
            "trials_to_best_random": trials_to_best_random,
        })
    );
}
