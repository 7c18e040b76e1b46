//! `GridSearchCV(MLPClassifier(max_iter=200, random_state=42), {hidden_layer_sizes: (50,),
//! (100,), (50, 50); alpha: 1e-4, 1e-2}, cv=5, scoring="accuracy")` on the 8×8 digits
//! scaled to [0, 1], with a stratified 75/25 split (random_state 42), as
//! `../shared/bench/sklearn_reference.py grid-digits` runs it in scikit-learn.
//!
//! `cargo run --release --example digits_grid_search [-- --n-jobs 2 --seed 42 --journal PATH
//!  --plot-dir target/plots]`
//!
//! Progress goes to stderr (a bar in a terminal); the mean test accuracy against each
//! parameter is drawn to `digits_grid_search.svg` in the `--plot-dir` folder.
//!
//! Last line: `{"best_params": .., "best_score": .., "test_accuracy": .., "search_seconds": ..}`.

mod common;

use std::time::Instant;

use common::{flag, save_picture, Progress};
use linfa::Dataset;
use mlp_tune::model_selection::param_space::candidate_to_json;
use mlp_tune::model_selection::{by_name, train_test_split_indices, GridSearchCV, ParamGrid, Size};
use mlp_tune::neural_network::MLPClassifier;
use ndarray::Axis;
use serde_json::json;

fn main() -> mlp_tune::Result<()> {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let journal: String = flag("--journal", String::new());
    let digits = mlp_tune::datasets::digits();
    let x = digits.records.mapv(|v| v / 16.0);
    let y = digits.targets.clone();
    let classes: Vec<usize> = y.to_vec();
    let (train, test) =
        train_test_split_indices(x.nrows(), Size::Fraction(0.25), Some(42), Some(&classes))?;
    let train_set = Dataset::new(x.select(Axis(0), &train), y.select(Axis(0), &train));
    let (x_test, y_test) = (x.select(Axis(0), &test), y.select(Axis(0), &test));

    let base = MLPClassifier::params().max_iter(200).random_state(seed);
    let grid = ParamGrid::new()
        .add(
            "hidden_layer_sizes",
            [vec![50usize], vec![100], vec![50, 50]],
        )
        .add("alpha", [1e-4, 1e-2]);
    println!("digits / 16: {} train / {} test rows; GridSearchCV, 6 candidates x 5 folds, accuracy, {n_jobs} threads", train.len(), test.len());
    let progress = Progress::default_lines();
    let started = Instant::now();
    let mut search = GridSearchCV::new(by_name(base), grid)
        .cv(5)
        .scoring("accuracy")?
        .n_jobs(n_jobs)
        .observer(progress.observer());
    if !journal.is_empty() {
        // Interrupt and rerun with the same --journal: finished fits are not repeated.
        search = search.journal(&journal);
    }
    let search = search.fit(&train_set)?;
    let search_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    save_picture("digits_grid_search.svg", |path| {
        mlp_tune::plot::search_results(search.cv_results(), path)
    });
    if search.resumed_fits() > 0 {
        println!(
            "{} fits taken from the journal {journal}",
            search.resumed_fits()
        );
    }
    let results = search.cv_results();
    for (i, params) in results.params.iter().enumerate() {
        println!(
            "rank {}  mean {:.4}  std {:.4}  {}",
            results.primary().rank_test[i],
            results.primary().mean_test[i],
            results.primary().std_test[i],
            mlp_tune::model_selection::param_space::candidate_to_string(params)
        );
    }
    let predictions = search.try_predict(&x_test)?;
    let test_accuracy = predictions
        .iter()
        .zip(y_test.iter())
        .filter(|(a, b)| a == b)
        .count() as f64
        / y_test.len() as f64;
    let best_params = search.best_params().cloned().unwrap_or_default();
    let best_score = search.best_score().unwrap_or(f64::NAN);
    println!(
        "best {best_score:.4} with {}; test accuracy {test_accuracy:.4}; {search_seconds:.1} s",
        mlp_tune::model_selection::param_space::candidate_to_string(&best_params)
    );
    println!("(scikit-learn 1.9.1 on this machine's kind, n_jobs 2: best 0.974 with (100,), alpha 0.01, test 0.982, 12.4 s — shared/bench/README.md)");
    println!(
        "{}",
        json!({
            "best_params": candidate_to_json(&best_params),
            "best_score": best_score,
            "test_accuracy": test_accuracy,
            "search_seconds": search_seconds,
        })
    );
    Ok(())
}
