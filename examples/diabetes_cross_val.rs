//! `cross_val_score` of linfa's `LinearRegression` on the raw diabetes data, 5-fold, scored
//! by negated MSE, unshuffled and shuffled with `random_state=0`: the same folds and scores
//! as scikit-learn's `cross_val_score(LinearRegression(), X, y, cv=KFold(5[, shuffle=True,
//! random_state=0]), scoring="neg_mean_squared_error")`.
//!
//! `cargo run --release --example diabetes_cross_val`
//!
//! Last line: `{"kfold": [5 scores], "kfold_shuffled_rs0": [5 scores]}`.

use linfa_linear::{LinearError, LinearRegression};
use mlp_tune::model_selection::{cross_val_score, KFold, LinfaEstimator, Scorer};
use serde_json::json;

fn main() -> mlp_tune::Result<()> {
    let data = mlp_tune::datasets::diabetes();
    let model = LinfaEstimator::<_, LinearError<f64>>::regressor(LinearRegression::new());
    let scorer = Scorer::from_name("neg_mean_squared_error")?;
    let plain = cross_val_score(&model, &data, &KFold::new(5), &scorer)?;
    let shuffled = cross_val_score(
        &model,
        &data,
        &KFold::new(5).shuffle(true).random_state(0),
        &scorer,
    )?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("diabetes (442 x 10, raw), LinearRegression, neg_mean_squared_error");
    println!(
        "KFold(5):                              {plain:.2?}  mean {:.2}",
        mean(&plain)
    );
    println!(
        "KFold(5, shuffle=True, random_state=0): {shuffled:.2?}  mean {:.2}",
        mean(&shuffled)
    );
    println!(
        "{}",
        json!({"kfold": plain, "kfold_shuffled_rs0": shuffled})
    );
    Ok(())
}
