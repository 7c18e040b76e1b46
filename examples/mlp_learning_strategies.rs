//! scikit-learn's gallery example "Compare stochastic learning strategies for
//! MLPClassifier" (`plot_mlp_training_curves.py`): 7 solver settings on iris, digits and two
//! toy sets, each scaled to [0, 1] with MinMaxScaler on the whole set.
//!
//! ```text
//! MLP_TUNE_DATA=/path/to/datasets MLP_TUNE_PARITY=/path/to/parity \
//!     cargo run --release --example mlp_learning_strategies
//! ```
//!
//! iris and digits come from `MLP_TUNE_DATA`; the circles and moons samples (scikit-learn's
//! `make_circles`/`make_moons` output) from `MLP_TUNE_PARITY`. The last output line is a
//! JSON object `{"table": [{"dataset", "setting", "score", "loss"}, ...]}`.

use std::io::Read;
use std::path::{Path, PathBuf};
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

/// Comma-separated rows whose last column is an integer class; `skip` header lines.
fn parse_labelled(
    text: &str,
    skip: usize,
    origin: &str,
) -> Result<(Array2<f64>, Array1<usize>), String> {
    let mut flat = Vec::new();
    let mut y = Vec::new();
    let mut width = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .skip(skip)
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let values: Vec<f64> = line
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{origin}:{}: {e}", i + 1))?;
        let Some((label, features)) = values.split_last() else {
            continue;
        };
        if *width.get_or_insert(features.len()) != features.len()
            || *label < 0.0
            || label.fract() != 0.0
        {
            return Err(format!(
                "{origin}:{}: ragged row or non-integer class",
                i + 1
            ));
        }
        flat.extend_from_slice(features);
        y.push(*label as usize);
    }
    let x =
        Array2::from_shape_vec((y.len(), width.unwrap_or(0)), flat).map_err(|e| e.to_string())?;
    Ok((x, Array1::from(y)))
}

fn read_text(path: &Path) -> Result<String, String> {
    let err = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    if path.extension().is_some_and(|e| e == "gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).map_err(err)?)
            .read_to_string(&mut text)
            .map_err(err)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(err)
    }
}

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

fn load(name: &str, data: &Path, parity: &Path) -> Result<(Array2<f64>, Array1<usize>), String> {
    let (path, skip) = match name {
        "iris" => (data.join("iris.csv"), 1),
        "digits" => (data.join("digits.csv.gz"), 0),
        "circles" => (parity.join("make_circles_noise0.2_factor0.5_rs1.csv"), 1),
        _ => (parity.join("make_moons_noise0.3_rs0.csv"), 1),
    };
    let (x, y) = parse_labelled(&read_text(&path)?, skip, &path.display().to_string())?;
    Ok((min_max_scale(x), y))
}

fn main() -> ExitCode {
    let (Some(data), Some(parity)) = (
        std::env::var_os("MLP_TUNE_DATA").map(PathBuf::from),
        std::env::var_os("MLP_TUNE_PARITY").map(PathBuf::from),
    ) else {
        eprintln!(
            "set MLP_TUNE_DATA (directory with iris.csv, digits.csv.gz) and MLP_TUNE_PARITY \
             (directory with the make_circles/make_moons CSVs)"
        );
        return ExitCode::from(2);
    };

    let mut table = Vec::new();
    for name in ["iris", "digits", "circles", "moons"] {
        let (x, y) = match load(name, &data, &parity) {
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
