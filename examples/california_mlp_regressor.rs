//! Géron, *Hands-On Machine Learning* 3rd ed., ch. 10: an `MLPRegressor` with three hidden
//! layers of 50 neurons in a StandardScaler pipeline on California housing.
//!
//! ```text
//! MLP_TUNE_DATA=/path/to/datasets cargo run --release --example california_mlp_regressor
//! ```
//!
//! scikit-learn 1.9.1 gives a validation RMSE of 0.5053326657967906 after 169 epochs. The
//! last output line is a JSON object `{"valid_rmse": ...}`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use linfa::prelude::*;
use mlp_tune::neural_network::MLPRegressor;
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2, Axis};

/// Reads `california_housing.csv`: one header line, 8 feature columns, then the target.
fn read_california(path: &Path) -> Result<(Array2<f64>, Array1<f64>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut flat = Vec::new();
    let mut y = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let values: Vec<f64> = line
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let Some((target, features)) = values.split_last() else {
            continue;
        };
        if features.len() != 8 {
            return Err(format!("{}:{}: expected 9 columns", path.display(), i + 1));
        }
        flat.extend_from_slice(features);
        y.push(*target);
    }
    let x = Array2::from_shape_vec((y.len(), 8), flat).map_err(|e| e.to_string())?;
    Ok((x, Array1::from(y)))
}

/// `train_test_split(..., random_state=42)` with the default 25 % test share: a fresh
/// `RandomState(42)` permutation, the first `ceil(n / 4)` positions being the test part.
fn split_rs42(idx: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let n_test = idx.len().div_ceil(4);
    let perm = NumpyRng::new(42).permutation(idx.len());
    let pick = |p: &[usize]| p.iter().map(|&i| idx[i]).collect::<Vec<_>>();
    (pick(&perm[n_test..]), pick(&perm[..n_test]))
}

/// StandardScaler statistics from the training rows only (population std, 0 → 1).
fn standardize(train: &Array2<f64>, others: &[&Array2<f64>]) -> (Array2<f64>, Vec<Array2<f64>>) {
    let n = train.nrows() as f64;
    let mean = train.sum_axis(Axis(0)) / n;
    let var = train
        .rows()
        .into_iter()
        .fold(Array1::<f64>::zeros(train.ncols()), |acc, r| {
            acc + (&r - &mean).mapv(|d| d * d)
        })
        / n;
    let std = var.mapv(|v| if v == 0.0 { 1.0 } else { v.sqrt() });
    let scale = |x: &Array2<f64>| (x - &mean) / &std;
    (scale(train), others.iter().map(|x| scale(x)).collect())
}

fn main() -> ExitCode {
    let Some(dir) = std::env::var_os("MLP_TUNE_DATA").map(PathBuf::from) else {
        eprintln!(
            "MLP_TUNE_DATA is not set: point it at the directory holding california_housing.csv"
        );
        return ExitCode::from(2);
    };
    let (x, y) = match read_california(&dir.join("california_housing.csv")) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };

    // Géron splits twice: test off the whole set, then validation off the rest.
    let all: Vec<usize> = (0..x.nrows()).collect();
    let (train_full, test) = split_rs42(&all);
    let (train, valid) = split_rs42(&train_full);
    let (x_train, scaled) = standardize(&x.select(Axis(0), &train), &[&x.select(Axis(0), &valid)]);
    let x_valid = &scaled[0];
    let y_train = y.select(Axis(0), &train);
    let y_valid = y.select(Axis(0), &valid);
    println!(
        "California housing: {} train / {} valid / {} test rows, 8 features",
        train.len(),
        valid.len(),
        test.len()
    );

    let model = match MLPRegressor::params()
        .hidden_layer_sizes(&[50, 50, 50])
        .random_state(42)
        .fit(&Dataset::new(x_train, y_train))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("training failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pred = match model.try_predict(x_valid) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("prediction failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rmse = ((&pred - &y_valid).mapv(|d| d * d).sum() / y_valid.len() as f64).sqrt();
    println!(
        "MLPRegressor(hidden_layer_sizes=[50, 50, 50], random_state=42): {} epochs, final loss {:.6}",
        model.n_iter(),
        model.loss()
    );
    println!("validation RMSE {rmse:.6} (scikit-learn 1.9.1: 0.505333)");
    println!("{}", serde_json::json!({ "valid_rmse": rmse }));
    ExitCode::SUCCESS
}
