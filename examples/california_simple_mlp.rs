//! Géron, *Hands-On Machine Learning* 2nd ed., ch. 10: the first regression MLP (Dense 30
//! relu → Dense 1, SGD, batch 32, 20 epochs) on the textbook California split.
//!
//! Keras minimizes the MSE while scikit-learn (and we) minimize half of it, so Keras's
//! learning rate 1e-3 is 2e-3 here; Keras's plain SGD has no momentum, so neither has ours.
//!
//! `cargo run --release --example california_simple_mlp [-- --plot-dir target/plots]`
//!
//! The learning curves (training and validation loss, validation R² per epoch) are drawn to
//! `california_simple_mlp.svg` in the `--plot-dir` folder, from a second, untimed fit of
//! the same network that also scores the validation rows every epoch.
//!
//! Last line: `{"test_mse": .., "seconds_per_epoch": ..}`.

mod common;

use std::time::Instant;

use common::{california, mse, save_picture};
use linfa::prelude::*;
use mlp_tune::neural_network::{MLPRegressor, Solver};
use serde_json::json;

fn main() -> mlp_tune::Result<()> {
    let data = california();
    let epochs = 20;
    let started = Instant::now();
    let params = MLPRegressor::params()
        .hidden_layer_sizes(&[30])
        .solver(Solver::Sgd)
        .momentum(0.0)
        .learning_rate_init(2e-3)
        .batch_size(32)
        .max_iter(epochs)
        .tol(0.0)
        .n_iter_no_change(epochs + 1)
        .random_state(42);
    let model = params.fit(&data.train)?;
    let seconds_per_epoch = started.elapsed().as_secs_f64() / model.n_iter() as f64;
    let test_mse = mse(&model.try_predict(&data.test.records)?, &data.test.targets);
    let valid_mse = mse(
        &model.try_predict(&data.valid.records)?,
        &data.valid.targets,
    );
    println!(
        "30 relu -> 1, SGD lr 2e-3 (= Keras 1e-3: our loss is half the MSE), batch 32, {} epochs",
        model.n_iter()
    );
    println!(
        "training loss (half MSE) by epoch: {:.4?}",
        model.loss_curve()
    );
    println!("valid MSE {valid_mse:.4}, test MSE {test_mse:.4} (textbook, Keras: 0.4212); {:.1} ms per epoch", seconds_per_epoch * 1e3);
    // The timed fit above stays free of per-epoch validation, whose cost would count in
    // seconds_per_epoch; the explicit validation set does not change the training itself.
    save_picture("california_simple_mlp.svg", |path| {
        let with_validation = params
            .check_ref()?
            .fit_with_validation(&data.train, &data.valid)?;
        mlp_tune::plot::learning_curves(&with_validation, path)
    });
    println!(
        "{}",
        json!({"test_mse": test_mse, "seconds_per_epoch": seconds_per_epoch})
    );
    Ok(())
}
