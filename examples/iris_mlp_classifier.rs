//! Géron, *Hands-On Machine Learning* 3rd ed., ch. 10: an `MLPClassifier` with one hidden
//! layer of 5 neurons in a StandardScaler pipeline on iris.
//!
//! ```text
//! MLP_TUNE_DATA=/path/to/datasets cargo run --release --example iris_mlp_classifier
//! ```
//!
//! scikit-learn 1.9.1 reaches validation accuracy 1.0 after 1183 epochs. The last output
//! line is a JSON object `{"accuracy": ...}`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use linfa::prelude::*;
use mlp_tune::neural_network::MLPClassifier;
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2, Axis};

const CLASS_NAMES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// Reads scikit-learn's `iris.csv`: a `150,4,...` header, then 4 features and a class id.
fn read_iris(path: &Path) -> Result<(Array2<f64>, Array1<usize>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut flat = Vec::new();
    let mut y = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |what: &str| format!("{}:{}: {what}", path.display(), i + 1);
        if fields.len() != 5 {
            return Err(bad("expected 5 columns"));
        }
        for f in &fields[..4] {
            flat.push(f.parse::<f64>().map_err(|e| bad(&e.to_string()))?);
        }
        y.push(
            fields[4]
                .parse::<usize>()
                .map_err(|e| bad(&e.to_string()))?,
        );
    }
    let x = Array2::from_shape_vec((y.len(), 4), flat).map_err(|e| e.to_string())?;
    Ok((x, Array1::from(y)))
}

/// `train_test_split(..., test_size=0.1, random_state=42)`: a fresh `RandomState(42)`
/// permutation, the first `ceil(0.1 n)` positions being the test part.
fn split_rs42(idx: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let n_test = idx.len().div_ceil(10);
    let perm = NumpyRng::new(42).permutation(idx.len());
    let pick = |p: &[usize]| p.iter().map(|&i| idx[i]).collect::<Vec<_>>();
    (pick(&perm[n_test..]), pick(&perm[..n_test]))
}

/// StandardScaler statistics from the training rows only (population std, 0 → 1).
fn standardize(train: &Array2<f64>, other: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
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
    ((train - &mean) / &std, (other - &mean) / &std)
}

fn main() -> ExitCode {
    let Some(dir) = std::env::var_os("MLP_TUNE_DATA").map(PathBuf::from) else {
        eprintln!("MLP_TUNE_DATA is not set: point it at the directory holding iris.csv");
        return ExitCode::from(2);
    };
    let (x, y) = match read_iris(&dir.join("iris.csv")) {
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
    let (x_train, x_valid) = standardize(&x.select(Axis(0), &train), &x.select(Axis(0), &valid));
    let y_train = y.select(Axis(0), &train);
    let y_valid = y.select(Axis(0), &valid);
    println!(
        "iris: {} train / {} valid / {} test rows, 4 features, 3 classes",
        train.len(),
        valid.len(),
        test.len()
    );

    let model = match MLPClassifier::params()
        .hidden_layer_sizes(&[5])
        .max_iter(10_000)
        .random_state(42)
        .fit(&Dataset::new(x_train, y_train))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("training failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (accuracy, predicted) = match (
        model.score(&x_valid, &y_valid.view()),
        model.try_predict(&x_valid),
    ) {
        (Ok(a), Ok(p)) => (a, p),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("prediction failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "MLPClassifier(hidden_layer_sizes=[5], max_iter=10000, random_state=42): {} epochs, final loss {:.6}",
        model.n_iter(),
        model.loss()
    );
    for (p, t) in predicted.iter().zip(y_valid.iter()).take(5) {
        let name = |c: usize| CLASS_NAMES.get(c).copied().unwrap_or("?");
        println!("  predicted {:<10} true {}", name(*p), name(*t));
    }
    println!("validation accuracy {accuracy:.4} (scikit-learn 1.9.1: 1.0)");
    println!("{}", serde_json::json!({ "accuracy": accuracy }));
    ExitCode::SUCCESS
}
