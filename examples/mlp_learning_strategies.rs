//! scikit-learn's gallery example "Compare stochastic learning strategies for
//! MLPClassifier" (`plot_mlp_training_curves.py`): 7 solver settings on iris, digits and two
//! toy sets, each scaled to [0, 1] with MinMaxScaler on the whole set.
//!
//! `cargo run --release --example mlp_learning_strategies`
//!
//! Needs no files: iris and digits are embedded, circles and moons generated. The last
//! output line is a JSON object `{"table": [{"dataset", "setting", "score", "loss"}, ...]}`.

use std::process::ExitCode;

use linfa::prelude::*;
use mlp_tune::neural_network::{LearningRate, MLPClassifier, Solver};
use ndarray::{Array1, Array2};

/// One row of the gallery's parameter list: label, solver, schedule, momentum, Nesterov, lr.
type Setting = (&'static str, Solver, LearningRate, f64, bool, f64);

const SETTINGS: [Setting; 7] = [
    (
        "constant learning-rate",
        Solver::Sgd,
        LearningRate::Constant,
        0.0,
        false,
        0.2,
    ),
    (
        "constant with momentum",
        Solver::Sgd,
        LearningRate::Constant,
        0.9,
        false,
        0.2,
    ),
    (
        "constant with Nesterov's momentum",
        Solver::Sgd,
        LearningRate::Constant,
        0.9,
        true,
        0.2,
    ),
    (
        "inv-scaling learning-rate",
        Solver::Sgd,
        LearningRate::InvScaling,
        0.0,
        false,
        0.2,
    ),
    (
        "inv-scaling with momentum",
        Solver::Sgd,
        LearningRate::InvScaling,
        0.9,
        false,
        0.2,
    ),
    (
        "inv-scaling with Nesterov's momentum",
        Solver::Sgd,
        LearningRate::InvScaling,
        0.9,
        true,
        0.2,
    ),
    (
        "adam",
        Solver::Adam,
        LearningRate::Constant,
        0.9,
        true,
        0.01,
    ),
];

/// scikit-learn's MinMaxScaler, fitted on the rows it transforms: `x * scale + min` with
/// `scale = 1 / (max - min)` (1 for a constant column) and `min = -min * scale`, in that
/// order so the floats match scikit-learn's bit for bit.
fn min_max_scale(mut x: Array2<f64>) -> Array2<f64> {
    for mut col in x.columns_mut() {
        let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let scale = if hi == lo { 1.0 } else { 1.0 / (hi - lo) };
        let min = -lo * scale;
        col.mapv_inplace(|v| v * scale + min);
    }
    x
}

/// The four data sets, each min-max scaled on all its rows as the gallery does: iris and
/// digits embedded in the crate, circles and moons from the generators (equal to
/// scikit-learn's `make_circles(noise=0.2, factor=0.5, random_state=1)` and
/// `make_moons(noise=0.3, random_state=0)`).
fn load(name: &str) -> mlp_tune::Result<(Array2<f64>, Array1<usize>)> {
    let data = match name {
        "iris" => mlp_tune::datasets::iris(),
        "digits" => mlp_tune::datasets::digits(),
        "circles" => mlp_tune::datasets::make_circles(100, 0.2, 0.5, 1)?,
        _ => mlp_tune::datasets::make_moons(100, 0.3, 0)?,
    };
    Ok((min_max_scale(data.records), data.targets))
}

fn main() -> ExitCode {
    let mut table = Vec::new();
    for name in ["iris", "digits", "circles", "moons"] {
        let (x, y) = match load(name) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        // The gallery stops digits early to keep the page fast; the others run to 400.
        let max_iter = if name == "digits" { 15 } else { 400 };
        println!(
            "\nlearning on data set {name} ({} rows, {} features)",
            x.nrows(),
            x.ncols()
        );
        let dataset = Dataset::new(x, y);
        for (label, solver, schedule, momentum, nesterov, lr) in SETTINGS {
            let fitted = MLPClassifier::params()
                .solver(solver)
                .learning_rate(schedule)
                .momentum(momentum)
                .nesterovs_momentum(nesterov)
                .learning_rate_init(lr)
                .max_iter(max_iter)
                .random_state(0)
                .fit(&dataset);
            let model = match fitted {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("{name} / {label}: training failed: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let score = match model.score(dataset.records(), &dataset.targets().view()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{name} / {label}: scoring failed: {e}");
                    return ExitCode::FAILURE;
                }
            };
            println!(
                "  {label:<38} training set score {score:.6}, loss {:.6} ({} epochs)",
                model.loss(),
                model.n_iter()
            );
            table.push(serde_json::json!({
                "dataset": name,
                "setting": label,
                "score": score,
                "loss": model.loss(),
            }));
        }
    }
    println!("{}", serde_json::json!({ "table": table }));
    ExitCode::SUCCESS
}
