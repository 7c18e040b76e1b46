//! Géron, *Hands-On Machine Learning* 3rd ed., ch. 10: an `MLPClassifier` with one hidden
//! layer of 5 neurons in a StandardScaler pipeline on iris (`train_test_split` with
//! `test_size=0.1` twice, `random_state=42`).
//!
//! `cargo run --release --example iris_mlp_classifier`
//!
//! scikit-learn 1.9.1 reaches validation accuracy 1.0 after 1183 epochs. The last output
//! line is a JSON object `{"accuracy": ...}`.

mod common;

use common::{standard_scaler, transform};
use linfa::prelude::*;
use mlp_tune::datasets::IRIS_CLASS_NAMES;
use mlp_tune::model_selection::{train_test_split_indices, Size};
use mlp_tune::neural_network::MLPClassifier;
use ndarray::Axis;

fn main() -> mlp_tune::Result<()> {
    let iris = mlp_tune::datasets::iris();
    let (x, y) = (&iris.records, &iris.targets);
    // Géron splits twice: test off the whole set, then validation off the rest.
    let (train_full, test) =
        train_test_split_indices(x.nrows(), Size::Fraction(0.1), Some(42), None)?;
    let (train_pos, valid_pos) =
        train_test_split_indices(train_full.len(), Size::Fraction(0.1), Some(42), None)?;
    let train: Vec<usize> = train_pos.iter().map(|&p| train_full[p]).collect();
    let valid: Vec<usize> = valid_pos.iter().map(|&p| train_full[p]).collect();
    let x_train = x.select(Axis(0), &train);
    let stats = standard_scaler(&x_train);
    let (x_train, x_valid) = (
        transform(&x_train, &stats),
        transform(&x.select(Axis(0), &valid), &stats),
    );
    let (y_train, y_valid) = (y.select(Axis(0), &train), y.select(Axis(0), &valid));
    println!(
        "iris: {} train / {} valid / {} test rows, 4 features, 3 classes",
        train.len(),
        valid.len(),
        test.len()
    );

    let model = MLPClassifier::params()
        .hidden_layer_sizes(&[5])
        .max_iter(10_000)
        .random_state(42)
        .fit(&Dataset::new(x_train, y_train))?;
    let accuracy = model.score(&x_valid, &y_valid.view())?;
    let predicted = model.try_predict(&x_valid)?;
    println!(
        "MLPClassifier(hidden_layer_sizes=[5], max_iter=10000, random_state=42): {} epochs, final loss {:.6}",
        model.n_iter(),
        model.loss()
    );
    let name = |c: usize| IRIS_CLASS_NAMES.get(c).copied().unwrap_or("?");
    for (p, t) in predicted.iter().zip(y_valid.iter()).take(5) {
        println!("  predicted {:<10} true {}", name(*p), name(*t));
    }
    println!("validation accuracy {accuracy:.4} (scikit-learn 1.9.1: 1.0)");
    println!("{}", serde_json::json!({ "accuracy": accuracy }));
    Ok(())
}
