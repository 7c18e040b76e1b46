//! The textbook California housing search (Géron, *Hands-On Machine Learning* ch. 10) with
//! Gaussian-process Bayesian optimization instead of random draws: `BayesSearchCV`
//! (scikit-optimize's `BayesSearchCV`: Matérn 5/2 GP, `gp_hedge`) proposes each trial from
//! the cross-validated scores of the trials before it, on the textbook space plus the
//! activation and the solver, 3-fold CV scored by negated MSE, with the same early-stopping
//! rule as `california_random_search`. A randomized search with the same seed and the same
//! number of trials runs after it, to count how many trials the GP search needed to reach the random
//! search's best CV score.
//!
//! `cargo run --release --example california_bayes_search [-- --n-jobs 2 --seed 42 --n-trials 30
//!  --batch-size 2 --n-startup 10 --journal PATH]` (`--n-startup`: random initial points)
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "n_trials": .., "trials_to_best_random": ..}` (`trials_to_best_random` is null when the GP search
//! never reached the random search's best).

mod common;

use std::time::Instant;

use common::{best_so_far, california, flag, mse, trials_to_reach, Progress};
use mlp_tune::model_selection::param_space::{candidate_to_json, candidate_to_string};
use mlp_tune::model_selection::{
    by_name, BayesSearchCV, Distribution, ParamDistributions, RandomizedSearchCV,
};
use mlp_tune::neural_network::{MLPRegressor, Solver};
use serde_json::json;

fn main() {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let n_trials: usize = flag("--n-trials", 30);
    let batch_size: usize = flag("--batch-size", 2);
    let n_startup: usize = flag("--n-startup", 10);
    let journal: String = flag("--journal", String::new());
    let data = california();

    let space = ParamDistributions::new()
        .add("n_hidden", Distribution::list([0, 1, 2, 3]))
        .add("n_neurons", Distribution::RandInt { low: 1, high: 100 })
        .add(
            "learning_rate_init",
            Distribution::LogUniform {
                low: 3e-4,
                high: 3e-2,
            },
        )
        .add("activation", Distribution::list(["relu", "tanh"]))
        .add("solver", Distribution::list(["sgd", "adam"]));
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
        "California housing, textbook split: {} train / {} valid / {} test rows",
        data.train.records.nrows(),
        data.valid.records.nrows(),
        data.test.records.nrows()
    );
    println!(
        "BayesSearchCV: {n_trials} trials in batches of {batch_size} ({n_startup} random initial points), \
         cv 3, neg MSE, {n_jobs} threads, seed {seed}"
    );

    let progress = Progress::default_lines();
    let started = Instant::now();
    let mut search = BayesSearchCV::new(by_name(base.clone()), space.clone(), n_trials)
        .n_initial_points(n_startup)
        .batch_size(batch_size)
        .random_state(seed)
        .cv(3)
        .n_jobs(n_jobs)
        .observer(progress.observer());
    if !journal.is_empty() {
        // Interrupt and rerun with the same --journal: finished fits are not repeated and
        // the same trials are proposed again.
        search = search.journal(&journal);
    }
    let search = search.fit(&data.train).unwrap_or_else(|e| {
        eprintln!("search failed: {e}");
        std::process::exit(1);
    });
    let search_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    if search.resumed_fits() > 0 {
        println!(
            "{} fits taken from the journal {journal}",
            search.resumed_fits()
        );
    }
    let results = search.cv_results();
    println!("\n trial  mean_test_score  best so far  params");
    for (i, best) in best_so_far(results).iter().enumerate() {
        println!(
            "{:>6}  {:>15.4}  {:>11.4}  {}",
            i + 1,
            results.primary().mean_test[i],
            best,
            candidate_to_string(&results.params[i])
        );
    }

    println!("\nRandomizedSearchCV with the same seed and {n_trials} trials, for comparison");
    let random_started = Instant::now();
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
    let random_seconds = random_started.elapsed().as_secs_f64();
    let random_best = random
        .best_score()
        .expect("a single metric has a best score");
    let trials_to_best_random = trials_to_reach(results, random_best);

    let best_params = search.best_params().expect("refit is on");
    let best_score = search.best_score().expect("refit is on");
    let prediction = search
        .try_predict(&data.test.records)
        .expect("refitted model predicts");
    let test_mse = mse(&prediction, &data.test.targets);
    println!("random search: best score {random_best:.4} in {random_seconds:.1} s");
    println!(
        "GP search: best score {best_score:.4} (neg MSE, 3-fold CV), test MSE {test_mse:.4}, {search_seconds:.1} s"
    );
    match trials_to_best_random {
        Some(n) => {
            println!("the GP search reached the random search's best score after {n} of {n_trials} trials")
        }
        None => println!(
            "the GP search did not reach the random search's best score in {n_trials} trials"
        ),
    }
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
