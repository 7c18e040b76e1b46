//! Géron, *Hands-On Machine Learning* 3rd ed., ch. 10: an `MLPRegressor` with three hidden
//! layers of 50 neurons in a StandardScaler pipeline on California housing (textbook split,
//! scaler fitted on the training rows).
//!
//! `cargo run --release --example california_mlp_regressor`
//!
//! scikit-learn 1.9.1 gives a validation RMSE of 0.5053326657967906 after 169 epochs. The
//! last output line is a JSON object `{"valid_rmse": ...}`.

mod common;

use common::{california, mse};
use linfa::prelude::*;
use mlp_tune::neural_network::MLPRegressor;

fn main() -> mlp_tune::Result<()> {
    let data = california();
    println!(
        "California housing: {} train / {} valid / {} test rows, 8 features",
        data.train.records.nrows(),
        data.valid.records.nrows(),
        data.test.records.nrows()
    );
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[50, 50, 50])
        .random_state(42)
        .fit(&data.train)?;
    let rmse = mse(
        &model.try_predict(&data.valid.records)?,
        &data.valid.targets,
    )
    .sqrt();
    println!(
        "MLPRegressor(hidden_layer_sizes=[50, 50, 50], random_state=42): {} epochs, final loss {:.6}",
        model.n_iter(),
        model.loss()
    );
    println!("validation RMSE {rmse:.6} (scikit-learn 1.9.1: 0.505333)");
    println!("{}", serde_json::json!({ "valid_rmse": rmse }));
    Ok(())
}
