//! scikit-learn's `verbose=True`, as a callback: the library prints nothing, this example's
//! observer prints every epoch's loss, validation score and time, and stops training itself
//! when the user-set time budget runs out.
//!
//! `cargo run --release --example verbose_training [-- --budget-seconds 5]`
//!
//! Last line: `{"n_iter": .., "best_validation_score": .., "test_accuracy": .., "stopped_by_callback": ..}`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::flag;
use linfa::prelude::*;
use mlp_tune::model_selection::{train_test_split_indices, Size};
use mlp_tune::neural_network::{EpochLog, MLPClassifier, TrainingControl, TrainingObserver};
use ndarray::Axis;
use serde_json::json;

/// Prints what scikit-learn prints with `verbose=True` (plus the validation loss and the
/// epoch time) and stops once `budget_seconds` have passed.
struct Verbose {
    started: Instant,
    budget_seconds: f64,
    stopped: AtomicBool,
}

impl TrainingObserver for Verbose {
    fn on_epoch_end(&self, log: &EpochLog) -> TrainingControl {
        print!("Iteration {}, loss = {:.8}", log.epoch, log.loss);
        if let (Some(score), Some(loss)) = (log.validation_score, log.validation_loss) {
            print!(", validation score = {score:.6}, validation loss = {loss:.6}");
        }
        println!(", {:.1} ms", log.seconds * 1e3);
        if self.started.elapsed().as_secs_f64() > self.budget_seconds {
            println!("time budget of {} s spent: stopping", self.budget_seconds);
            self.stopped.store(true, Ordering::Relaxed);
            TrainingControl::Stop
        } else {
            TrainingControl::Continue
        }
    }
}

fn main() -> mlp_tune::Result<()> {
    let budget_seconds: f64 = flag("--budget-seconds", 30.0);
    let digits = mlp_tune::datasets::digits();
    let x = digits.records.mapv(|v| v / 16.0);
    let y = digits.targets.clone();
    let classes: Vec<usize> = y.to_vec();
    let (train, test) =
        train_test_split_indices(x.nrows(), Size::Fraction(0.25), Some(42), Some(&classes))?;
    let train_set = Dataset::new(x.select(Axis(0), &train), y.select(Axis(0), &train));
    let (x_test, y_test) = (x.select(Axis(0), &test), y.select(Axis(0), &test));

    let verbose = Arc::new(Verbose {
        started: Instant::now(),
        budget_seconds,
        stopped: AtomicBool::new(false),
    });
    let observer = Arc::clone(&verbose);
    let model = MLPClassifier::params()
        .hidden_layer_sizes(&[100])
        .early_stopping(true)
        .random_state(42)
        .observer(move |log: &EpochLog| observer.on_epoch_end(log))
        .fit(&train_set)?;
    let test_accuracy = model.score(&x_test, &y_test.view())?;
    println!(
        "stopped after {} epochs (early stopping: {}); best validation accuracy {:.4}; test accuracy {:.4}",
        model.n_iter(),
        model.stopped_early(),
        model.best_validation_score().unwrap_or(f64::NAN),
        test_accuracy
    );
    println!(
        "{}",
        json!({
            "n_iter": model.n_iter(),
            "best_validation_score": model.best_validation_score(),
            "test_accuracy": test_accuracy,
            "stopped_by_callback": verbose.stopped.load(Ordering::Relaxed),
        })
    );
    Ok(())
}
