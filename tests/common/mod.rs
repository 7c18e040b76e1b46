//! Helpers shared by the integration tests: locating `../shared` data through env vars and
//! turning scikit-learn's JSON into arrays and parameters.
#![allow(dead_code)]

pub mod fuzz;
pub mod toy;

use std::path::PathBuf;

use mlp_tune::model_selection::param_space::ParamValue;
use mlp_tune::model_selection::Estimator;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde_json::Value;

/// A regressor that predicts a constant: a search's trial costs microseconds and scores
/// `-(level - y)^2` on zero targets, so tests of the search machinery steer its scores
/// through the level a builder gives.
#[derive(Debug, Clone)]
pub struct Level(pub f64);

impl Estimator<f64, f64> for Level {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> mlp_tune::Result<f64> {
        Ok(self.0)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> mlp_tune::Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

/// `$MLP_TUNE_PARITY/<file>` parsed as JSON. Panics with a clear message when the variable
/// is missing: tests calling it are `#[ignore]`d unless CI provides it.
pub fn parity_json(file: &str) -> Value {
    let dir = std::env::var("MLP_TUNE_PARITY")
        .expect("set MLP_TUNE_PARITY to the parity directory (../shared/parity)");
    let path = PathBuf::from(dir).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

pub fn parity_path(file: &str) -> PathBuf {
    let dir = std::env::var("MLP_TUNE_PARITY")
        .expect("set MLP_TUNE_PARITY to the parity directory (../shared/parity)");
    PathBuf::from(dir).join(file)
}

pub fn matrix(v: &Value) -> Array2<f64> {
    let rows = v.as_array().expect("matrix rows");
    let n = rows.len();
    let k = rows
        .first()
        .and_then(|r| r.as_array())
        .map_or(0, |r| r.len());
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
        })
        .collect();
    Array2::from_shape_vec((n, k), flat).expect("rectangular matrix")
}

pub fn vector(v: &Value) -> Array1<f64> {
    v.as_array()
        .expect("vector")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("index list")
        .iter()
        .map(|x| x.as_u64().expect("index") as usize)
        .collect()
}

/// A scikit-learn `get_params()` value as a search-space value.
pub fn param_value(v: &Value) -> ParamValue {
    match v {
        Value::Bool(b) => ParamValue::Bool(*b),
        Value::Number(n) if n.is_i64() => ParamValue::Int(n.as_i64().unwrap_or(0)),
        Value::Number(n) => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => ParamValue::Str(s.clone()),
        Value::Array(items) => {
            ParamValue::Ints(items.iter().map(|x| x.as_i64().unwrap_or(-1)).collect())
        }
        Value::Null => ParamValue::None,
        Value::Object(_) => panic!("unexpected object parameter"),
    }
}

pub fn max_abs_diff(a: &Array2<f64>, b: &ndarray::ArrayView2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim(), "shapes differ");
    a.iter()
        .zip(b.iter())
        .fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Reads a `x0..,y` CSV with a header (the parity folder's generated data sets).
pub fn read_xy_csv(path: &std::path::Path) -> (Array2<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(path).expect("csv readable");
    let mut rows = Vec::new();
    let mut y = Vec::new();
    for line in text.lines().skip(1) {
        let vals: Vec<f64> = line
            .split(',')
            .map(|s| s.trim().parse().expect("number"))
            .collect();
        let (last, head) = vals.split_last().expect("non-empty row");
        rows.push(head.to_vec());
        y.push(*last);
    }
    let k = rows[0].len();
    let flat: Vec<f64> = rows.into_iter().flatten().collect();
    (
        Array2::from_shape_vec((y.len(), k), flat).expect("rectangular"),
        y,
    )
}
/// `$MLP_TUNE_DATA/<file>` (the real data sets, ../shared/datasets).
pub fn data_path(file: &str) -> PathBuf {
    let dir = std::env::var("MLP_TUNE_DATA")
        .expect("set MLP_TUNE_DATA to the datasets directory (../shared/datasets)");
    PathBuf::from(dir).join(file)
}

/// Parses comma-separated numbers, one row per non-empty line.
fn parse_rows(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().parse().expect("number"))
                .collect()
        })
        .collect()
}

/// Splits rows whose last column is an integer class label.
fn features_and_labels(rows: Vec<Vec<f64>>) -> (Array2<f64>, Vec<usize>) {
    let n = rows.len();
    let k = rows[0].len() - 1;
    let mut x = Array2::zeros((n, k));
    let mut y = Vec::with_capacity(n);
    for (i, row) in rows.iter().enumerate() {
        for j in 0..k {
            x[[i, j]] = row[j];
        }
        y.push(row[k] as usize);
    }
    (x, y)
}

/// iris.csv: scikit-learn's header line (`150,4,setosa,...`), then 4 features and a class.
pub fn load_iris() -> (Array2<f64>, Vec<usize>) {
    let text = std::fs::read_to_string(data_path("iris.csv")).expect("iris.csv readable");
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    features_and_labels(parse_rows(&body))
}

/// digits.csv.gz: no header, 64 pixels then the class.
pub fn load_digits() -> (Array2<f64>, Vec<usize>) {
    use std::io::Read;
    let file = std::fs::File::open(data_path("digits.csv.gz")).expect("digits.csv.gz readable");
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("valid gzip");
    features_and_labels(parse_rows(&text))
}

/// california_housing.csv: header, 8 features, target.
pub fn load_california() -> (Array2<f64>, Vec<f64>) {
    read_xy_csv(&data_path("california_housing.csv"))
}

/// The `row` column of california_housing_split_rs42.csv for `subset`, in `position` order.
pub fn california_split_rows(subset: &str) -> Vec<usize> {
    let text = std::fs::read_to_string(data_path("california_housing_split_rs42.csv"))
        .expect("split csv readable");
    let mut rows: Vec<(usize, usize)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split(',');
            let s = it.next()?;
            let pos = it.next()?.trim().parse().ok()?;
            let row = it.next()?.trim().parse().ok()?;
            (s == subset).then_some((pos, row))
        })
        .collect();
    rows.sort_unstable();
    rows.into_iter().map(|(_, r)| r).collect()
}

/// scikit-learn's MinMaxScaler fitted and applied on the same rows: `x * scale + min` with
/// `scale = 1 / (max - min)` (1 for a constant column) and `min = -min * scale`, computed in
/// that order so the bits match.
pub fn min_max_scale(x: &Array2<f64>) -> Array2<f64> {
    let mut out = x.clone();
    for mut col in out.columns_mut() {
        let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let range = hi - lo;
        let scale = if range == 0.0 { 1.0 } else { 1.0 / range };
        let min = -lo * scale;
        col.mapv_inplace(|v| v * scale + min);
    }
    out
}

/// scikit-learn's StandardScaler statistics: column means and population std (ddof 0),
/// a zero std replaced by 1.
pub fn standard_scaler_fit(x: &Array2<f64>) -> (Array1<f64>, Array1<f64>) {
    let n = x.nrows() as f64;
    let mean = x.sum_axis(ndarray::Axis(0)) / n;
    let var = x
        .rows()
        .into_iter()
        .fold(Array1::<f64>::zeros(x.ncols()), |acc, r| {
            acc + (&r - &mean).mapv(|d| d * d)
        })
        / n;
    let std = var.mapv(|v| if v == 0.0 { 1.0 } else { v.sqrt() });
    (mean, std)
}

pub fn standard_scaler_apply(
    x: &Array2<f64>,
    mean: &Array1<f64>,
    std: &Array1<f64>,
) -> Array2<f64> {
    (x - mean) / std
}

/// Rows of `x` in the order of `idx`.
pub fn take_rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    x.select(ndarray::Axis(0), idx)
}

/// Index of the first epoch where two loss curves differ by more than `rel` (relative).
pub fn first_divergence(ours: &[f64], theirs: &[f64], rel: f64) -> Option<usize> {
    ours.iter()
        .zip(theirs)
        .position(|(a, b)| ((a - b) / b).abs() > rel)
        .or_else(|| (ours.len() != theirs.len()).then(|| ours.len().min(theirs.len())))
}

/// Largest relative difference between two loss curves over their common epochs.
pub fn max_rel_diff(ours: &[f64], theirs: &[f64]) -> f64 {
    ours.iter()
        .zip(theirs)
        .fold(0.0, |m, (a, b)| m.max(((a - b) / b).abs()))
}

/// A small network on the layer engine: PReLU, batch norm after the activation, dropout,
/// early stopping (each kind of entry a saved model's op list and state hold).
pub fn layer_engine_config(hidden: &[usize], seed: u32) -> mlp_tune::neural_network::MlpConfig {
    use mlp_tune::neural_network::{Activation, BatchNormPosition, MlpConfig};
    let mut config = MlpConfig {
        hidden_layer_sizes: hidden.to_vec(),
        max_iter: 3,
        random_state: Some(seed),
        activation: Activation::Prelu,
        early_stopping: true,
        ..MlpConfig::default()
    };
    config.arch.batch_norm = Some(BatchNormPosition::AfterActivation);
    config.arch.dropout = 0.2;
    config
}
