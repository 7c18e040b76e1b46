//! scikit-learn's user-guide tip for MLPs: scale the features inside a pipeline and find
//! `alpha` with `GridSearchCV` over `10.0 ** -np.arange(1, 7)`. Here on California housing
//! (textbook split, raw features): `make_pipeline(StandardScaler(), MLPRegressor(
//! hidden_layer_sizes=[50], early_stopping=True, random_state=42))`, 3-fold, neg MSE. The
//! scaler is fitted inside each fold, so no statistics leak from the validation rows.
//!
//! `cargo run --release --example alpha_grid_search [-- --n-jobs 2 --seed 42]`
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..}`.

mod common;

use std::time::Instant;

use common::{california_raw, flag, mse, Progress};
use linfa::ParamGuard;
use linfa_preprocessing::linear_scaling::LinearScaler;
use linfa_preprocessing::PreprocessingError;
use mlp_tune::model_selection::param_space::{candidate_to_json, candidate_to_string};
use mlp_tune::model_selection::{Candidate, GridSearchCV, ParamGrid, Pipeline};
use mlp_tune::neural_network::MLPRegressor;
use serde_json::json;

fn main() -> mlp_tune::Result<()> {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let data = california_raw();
    let alphas: Vec<f64> = (1..7).map(|k| 10f64.powi(-k)).collect();
    let grid = ParamGrid::new().add("mlpregressor__alpha", alphas.clone());
    let build = move |c: &Candidate| -> mlp_tune::Result<_> {
        let mlp = MLPRegressor::<f64>::params()
            .hidden_layer_sizes(&[50])
            .early_stopping(true)
            .alpha(c["mlpregressor__alpha"].as_f64("mlpregressor__alpha")?)
            .random_state(seed)
            .check()?;
        Ok(Pipeline::<_, _, PreprocessingError>::new(
            LinearScaler::standard(),
            mlp,
        ))
    };
    println!(
        "California housing, raw features, {} training rows; GridSearchCV over alpha {alphas:?}, cv 3, {n_jobs} threads",
        data.train.records.nrows()
    );
    let progress = Progress::default_lines();
    let started = Instant::now();
    let search = GridSearchCV::new(build, grid)
        .cv(3)
        .n_jobs(n_jobs)
        .observer(progress.observer())
        .fit(&data.train)?;
    let search_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    let results = search.cv_results();
    for (i, params) in results.params.iter().enumerate() {
        println!(
            "rank {}  mean {:.4}  std {:.4}  {}",
            results.primary().rank_test[i],
            results.primary().mean_test[i],
            results.primary().std_test[i],
            candidate_to_string(params)
        );
    }
    let best_params = search.best_params().expect("refit is on");
    let best_score = search.best_score().expect("refit is on");
    let test_mse = mse(&search.try_predict(&data.test.records)?, &data.test.targets);
    println!(
        "best {} (neg MSE {best_score:.4}); test MSE {test_mse:.4}; {search_seconds:.1} s",
        candidate_to_string(best_params)
    );
    println!(
        "{}",
        json!({
            "best_params": candidate_to_json(best_params),
            "best_score": best_score,
            "test_mse": test_mse,
            "search_seconds": search_seconds,
        })
    );
    Ok(())
}
