//! Helpers shared by the integration tests: locating `../shared` data through env vars and
//! turning scikit-learn's JSON into arrays and parameters.
#![allow(dead_code)]

use std::path::PathBuf;

use mlp_tune::model_selection::param_space::ParamValue;
use ndarray::{Array1, Array2};
use serde_json::Value;

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
