//! Géron, *Hands-On Machine Learning* 2nd ed., ch. 10: `RandomizedSearchCV` over the number
//! of hidden layers, neurons per layer and learning rate of an SGD-trained regressor on
//! California housing, 3-fold CV scored by negated MSE, refit on the training rows and
//! evaluated on the test rows.
//!
//! `cargo run --release --example california_random_search [-- --n-jobs 2 --seed 42 --journal PATH --n-iter 10
//!  --plot-dir target/plots]`
//! (`--keras` for the textbook's plain Keras SGD, `--sklearn-analog` for the exact search of
//! `../shared/bench/sklearn_reference.py random-search`).
//!
//! Progress goes to stderr (a bar in a terminal); the mean test score against each searched
//! parameter is drawn to `california_random_search.svg` in the `--plot-dir` folder.
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..}`.

mod common;

use std::time::Instant;

use common::{california, flag, mse, save_picture, Progress};
use mlp_tune::model_selection::param_space::candidate_to_json;
use mlp_tune::model_selection::{by_name, Distribution, ParamDistributions, RandomizedSearchCV};
use mlp_tune::neural_network::{MLPRegressor, Solver};
use serde_json::json;

fn main() {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let journal: String = flag("--journal", String::new());
    let n_iter: usize = flag("--n-iter", 10);
    let sklearn_analog = std::env::args().any(|a| a == "--sklearn-analog");
    let data = california();

    // Three ways to run the textbook search (all SGD, batch 32, up to 100 epochs, early
    // stopping with patience 10 on a 10% validation split, 3-fold CV, neg MSE):
    // - default: the textbook's space (n_hidden 0..3, n_neurons 1..99, learning rate
    //   reciprocal(3e-4, 3e-2)) with scikit-learn's SGD (momentum 0.9, Nesterov);
    // - `--keras`: the textbook's Keras SGD, no momentum; Keras minimizes the MSE where we
    //   minimize half of it, so its learning rate lr is 2·lr here (reciprocal(6e-4, 6e-2));
    // - `--sklearn-analog`: exactly `../shared/bench/sklearn_reference.py random-search`
    //   (hidden_layer_sizes among the 297 shapes of 1 to 3 layers of 1 to 99 neurons, as
    //   scikit-learn cannot express zero hidden layers): the same candidates and the same
    //   numbers as scikit-learn for the same seeds.
    let keras = std::env::args().any(|a| a == "--keras");
    let lr_scale = if keras { 2.0 } else { 1.0 };
    let learning_rate = Distribution::LogUniform {
        low: 3e-4 * lr_scale,
        high: 3e-2 * lr_scale,
    };
    let space = if sklearn_analog {
        let shapes: Vec<Vec<usize>> = (1..=3)
            .flat_map(|h| (1..100).map(move |n| vec![n; h]))
            .collect();
        ParamDistributions::new()
            .add("hidden_layer_sizes", Distribution::list(shapes))
            .add("learning_rate_init", learning_rate)
    } else {
        ParamDistributions::new()
            .add("n_hidden", Distribution::list([0, 1, 2, 3]))
            .add("n_neurons", Distribution::RandInt { low: 1, high: 100 })
            .add("learning_rate_init", learning_rate)
    };
    let momentum = if keras { 0.0 } else { 0.9 };
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Sgd)
        .momentum(momentum)
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
    println!("RandomizedSearchCV: n_iter {n_iter}, cv 3, scoring neg_mean_squared_error, {n_jobs} threads, seed {seed}");
    match (keras, sklearn_analog) {
        (true, _) => println!(
            "Keras mode: plain SGD, learning rates 2x Keras's (our squared loss is half the MSE)"
        ),
        (_, true) => {
            println!("scikit-learn analog: the search of sklearn_reference.py random-search")
        }
        _ => println!("textbook space, scikit-learn's SGD (momentum 0.9, Nesterov)"),
    }

    let progress = Progress::default_lines();
    let started = Instant::now();
    let mut search = RandomizedSearchCV::new(by_name(base), space, n_iter)
        .cv(3)
        .n_jobs(n_jobs)
        .random_state(seed)
        .observer(progress.observer());
    if !journal.is_empty() {
        // Interrupt and rerun with the same --journal: finished fits are not repeated.
        search = search.journal(&journal);
    }
    let search = search.fit(&data.train).unwrap_or_else(|e| {
        eprintln!("search failed: {e}");
        std::process::exit(1);
    });
    let search_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    save_picture("california_random_search.svg", |path| {
        // learning_rate_init is drawn log-uniformly: a log axis whatever the draws' span.
        mlp_tune::plot::search_results_with(search.cv_results(), &["learning_rate_init"], path)
    });
    if search.resumed_fits() > 0 {
        println!(
            "{} fits taken from the journal {journal}",
            search.resumed_fits()
        );
    }

    let results = search.cv_results();
    println!("\n rank  mean_test_score  std     params");
    let primary = results.primary();
    let mut order: Vec<usize> = (0..results.params.len()).collect();
    order.sort_by_key(|&i| primary.rank_test[i]);
    for i in order {
        println!(
            "{:>5}  {:>15.4}  {:.4}  {}",
            primary.rank_test[i],
            primary.mean_test[i],
            primary.std_test[i],
            mlp_tune::model_selection::param_space::candidate_to_string(&results.params[i])
        );
    }
    let best_params = search.best_params().expect("refit is on");
    let best_score = search.best_score().expect("refit is on");
    let prediction = search
        .try_predict(&data.test.records)
        .expect("refitted model predicts");
    let test_mse = mse(&prediction, &data.test.targets);
    println!("\nbest score (neg MSE, 3-fold CV): {best_score:.4}   (textbook/Keras: -0.3204; scikit-learn analog: -0.3079)");
    println!("test MSE of the refitted best model: {test_mse:.4}   (textbook/Keras: 0.3029; scikit-learn analog: 0.2876)");
    println!("search time: {search_seconds:.1} s");
    println!(
        "{}",
        json!({
            "best_params": candidate_to_json(best_params),
            "best_score": best_score,
            "test_mse": test_mse,
            "search_seconds": search_seconds,
        })
    );
}
