//! The body of the model-based California searches (`california_tpe_search`,
//! `california_bayes_search`): the textbook space, the search, a random search with the
//! same seed and trials, the report and the JSON last line.

use std::sync::Arc;
use std::time::Instant;

use super::{best_so_far, california, flag, mse, trials_to_reach, Progress};
use linfa::Dataset;
use mlp_tune::model_selection::param_space::{candidate_to_json, candidate_to_string};
use mlp_tune::model_selection::{
    by_name, Distribution, FittedSearch, ParamDistributions, RandomizedSearchCV, SearchObserver,
};
use mlp_tune::neural_network::{MLPRegressor, MLPRegressorParams, MLPRegressorValidParams, Solver};
use ndarray::Ix1;
use serde_json::json;

/// The flags every model-based California search takes.
pub struct Flags {
    pub n_jobs: usize,
    pub seed: u32,
    pub n_trials: usize,
    pub batch_size: usize,
    pub n_startup: usize,
    pub journal: String,
}

/// Runs a model-based search (`fit`, given the flags, the estimator, the space and the
/// progress observer and the training rows) on the textbook space, then a random search with the same seed and
/// trials, and prints the report and the JSON last line of `california_tpe_search` and
/// `california_bayes_search`. `name` names the search in the report.
pub fn run(
    name: &str,
    fit: impl FnOnce(
        &Flags,
        MLPRegressorParams<f64>,
        ParamDistributions,
        Arc<dyn SearchObserver>,
        &Dataset<f64, f64, Ix1>,
    )
        -> mlp_tune::Result<FittedSearch<MLPRegressorValidParams<f64>, MLPRegressor<f64>>>,
) {
    let flags = Flags {
        n_jobs: flag("--n-jobs", 2),
        seed: flag("--seed", 42),
        n_trials: flag("--n-trials", 30),
        batch_size: flag("--batch-size", 2),
        n_startup: flag("--n-startup", 10),
        journal: flag("--journal", String::new()),
    };
    let Flags {
        n_jobs,
        seed,
        n_trials,
        batch_size,
        n_startup,
        ..
    } = flags;
    let journal = flags.journal.clone();
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
        "{name}: {n_trials} trials in batches of {batch_size} ({n_startup} random first), \
         cv 3, neg MSE, {n_jobs} threads, seed {seed}"
    );

    let progress = Progress::default_lines();
    let started = Instant::now();
    let search = fit(
        &flags,
        base.clone(),
        space.clone(),
        progress.observer(),
        &data.train,
    )
    .unwrap_or_else(|e| {
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
        "{name}: best score {best_score:.4} (neg MSE, 3-fold CV), test MSE {test_mse:.4}, {search_seconds:.1} s"
    );
    match trials_to_best_random {
        Some(n) => {
            println!("{name} reached the random search's best score after {n} of {n_trials} trials")
        }
        None => {
            println!("{name} did not reach the random search's best score in {n_trials} trials")
        }
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
