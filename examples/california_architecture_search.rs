//! Randomized search over architecture knobs beyond scikit-learn (activation, dropout, batch
//! normalization, optimizer, initializer) together with depth, width and learning rate, on
//! California housing (textbook split, standardized), against the plain scikit-learn MLP
//! search with the same budget (same `n_iter`, folds, epochs and stopping rule).
//!
//! Both searches cross-validate `n_iter` candidates drawn at random; the architecture
//! candidates reuse the plain candidates' draws of depth, width and learning rate and add a
//! random draw of the architecture knobs (a paired design, so the two searches differ only by
//! the knobs).
//!
//! `cargo run --release --example california_architecture_search [-- --n-jobs 2 --seed 42 --n-iter 20 --max-iter 40]`
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "baseline_best_params": .., "baseline_best_score": .., "baseline_test_mse": ..,
//! "baseline_search_seconds": ..}`.

mod common;

use std::time::Instant;

use common::{california, flag, mse, Progress};
use mlp_tune::model_selection::param_space::Candidate;
use mlp_tune::model_selection::param_space::{candidate_to_json, candidate_to_string};
use mlp_tune::model_selection::{
    by_name, Distribution, GridSearchCV, ParamDistributions, ParamGrid,
};
use mlp_tune::neural_network::{MLPRegressor, MLPRegressorParams};
use serde_json::{json, Value};

struct Outcome {
    best_params: Value,
    best_score: f64,
    test_mse: f64,
    seconds: f64,
}

/// Cross-validates exactly these sampled candidates (a randomized search whose draws were
/// made up front), refits the best and scores it on the test rows.
fn run(
    label: &str,
    base: MLPRegressorParams<f64>,
    candidates: &[Candidate],
    n_jobs: usize,
    data: &common::California,
) -> Outcome {
    println!(
        "\n== {label}: {} sampled candidates, cv 3, neg MSE, {n_jobs} threads",
        candidates.len()
    );
    let mut grid = ParamGrid::new();
    for (i, c) in candidates.iter().enumerate() {
        if i > 0 {
            grid = grid.or();
        }
        for (name, value) in c {
            grid = grid.add(name, [value.clone()]);
        }
    }
    let progress = Progress::default_lines();
    let started = Instant::now();
    let search = GridSearchCV::new(by_name(base), grid)
        .cv(3)
        .n_jobs(n_jobs)
        .observer(progress.observer())
        .fit(&data.train)
        .unwrap_or_else(|e| {
            eprintln!("search failed: {e}");
            std::process::exit(1);
        });
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let results = search.cv_results();
    let primary = results.primary();
    let mut order: Vec<usize> = (0..results.params.len()).collect();
    order.sort_by_key(|&i| primary.rank_test[i]);
    println!(" rank  mean_test_score  std     params");
    for i in order {
        println!(
            "{:>5}  {:>15.4}  {:.4}  {}",
            primary.rank_test[i],
            primary.mean_test[i],
            primary.std_test[i],
            candidate_to_string(&results.params[i])
        );
    }
    let best_params = candidate_to_json(search.best_params().expect("refit is on"));
    let best_score = search.best_score().expect("refit is on");
    let prediction = search
        .try_predict(&data.test.records)
        .expect("refitted model predicts");
    let test_mse = mse(&prediction, &data.test.targets);
    println!("best CV score {best_score:.4}, test MSE {test_mse:.4}, {seconds:.1} s");
    Outcome {
        best_params,
        best_score,
        test_mse,
        seconds,
    }
}

fn main() {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let n_iter: usize = flag("--n-iter", 20);
    let max_iter: usize = flag("--max-iter", 40);
    let data = california();
    println!(
        "California housing, textbook split: {} train / {} valid / {} test rows",
        data.train.records.nrows(),
        data.valid.records.nrows(),
        data.test.records.nrows()
    );

    // Both searches share the budget: Adam-family training, mini-batches of 32, at most
    // `max_iter` epochs with scikit-learn's early stopping on a 10% hold-out (patience 5).
    let base = MLPRegressor::<f64>::params()
        .batch_size(32)
        .max_iter(max_iter)
        .early_stopping(true)
        .validation_fraction(0.1)
        .n_iter_no_change(5)
        .random_state(seed);
    let shape = |d: ParamDistributions| {
        d.add("n_hidden", Distribution::list([1, 2, 3]))
            .add("n_neurons", Distribution::RandInt { low: 10, high: 100 })
            .add(
                "learning_rate_init",
                Distribution::LogUniform {
                    low: 3e-4,
                    high: 1e-2,
                },
            )
    };
    let plain_space = shape(ParamDistributions::new());
    // The architecture knobs, drawn separately and paired with the plain draws: candidate i
    // of the architecture search has the depth, width and learning rate of candidate i of the
    // plain search, so the comparison measures the knobs rather than the luck of the shapes.
    let knob_space = ParamDistributions::new()
        .add(
            "activation",
            Distribution::list(["relu", "elu", "selu", "gelu", "swish", "leaky_relu", "mish"]),
        )
        .add("dropout", Distribution::list([0.0, 0.05, 0.1]))
        .add(
            "batch_norm",
            Distribution::list(["none", "before", "after"]),
        )
        .add(
            "optimizer",
            Distribution::list(["adam", "nadam", "adamw", "amsgrad", "rmsprop"]),
        )
        .add(
            "initializer",
            Distribution::list(["sklearn", "glorot_uniform", "he_normal", "lecun_normal"]),
        );
    let plain_candidates = plain_space
        .sample(n_iter, seed)
        .expect("valid distributions");
    let knobs = knob_space
        .sample(n_iter, seed.wrapping_add(1))
        .expect("valid distributions");
    let arch_candidates: Vec<Candidate> = plain_candidates
        .iter()
        .zip(&knobs)
        .map(|(p, k)| {
            p.iter()
                .chain(k)
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        })
        .collect();

    let arch = run(
        "architecture search",
        base.clone(),
        &arch_candidates,
        n_jobs,
        &data,
    );
    let plain = run(
        "plain MLP search (baseline)",
        base,
        &plain_candidates,
        n_jobs,
        &data,
    );
    println!(
        "\ntest MSE: architecture search {:.4} vs plain search {:.4}",
        arch.test_mse, plain.test_mse
    );
    println!(
        "{}",
        json!({
            "best_params": arch.best_params,
            "best_score": arch.best_score,
            "test_mse": arch.test_mse,
            "search_seconds": arch.seconds,
            "baseline_best_params": plain.best_params,
            "baseline_best_score": plain.best_score,
            "baseline_test_mse": plain.test_mse,
            "baseline_search_seconds": plain.seconds,
        })
    );
}
