//! scikit-learn's metric functions, the numbers behind the search scorers.
//!
//! Every function mirrors the scikit-learn 1.9 function of the same name with its default
//! arguments, computes in `f64` whatever the input float type, and returns an error (never
//! a panic, never a warning) where scikit-learn raises. Where scikit-learn only warns about
//! an undefined ratio (`zero_division="warn"`), the ratio is 0.0, as scikit-learn returns.
//!
//! Regression metrics take 2-D arrays of shape `(n_samples, n_outputs)` and average the
//! per-output scores uniformly (`multioutput="uniform_average"`); pass a 1-D target through
//! `insert_axis(Axis(1))`. Classification metrics take class indices already encoded as
//! `0..n_classes` in sorted label order.

use std::cmp::Ordering;

use linfa::Float;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use crate::error::MlpTuneError;
use crate::Result;

mod classification;
mod regression;

pub use classification::*;
pub use regression::*;

fn invalid(msg: impl Into<String>) -> MlpTuneError {
    MlpTuneError::InvalidInput(msg.into())
}

fn scoring(msg: impl Into<String>) -> MlpTuneError {
    MlpTuneError::Scoring(msg.into())
}

/// Converts to `f64`, refusing NaN and infinities as scikit-learn's `check_array` does.
fn finite_f64<F: Float>(x: F, what: &str) -> Result<f64> {
    match x.to_f64() {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(invalid(format!("{what} contains nan or infinity"))),
    }
}

/// Sorting finite values; `partial_cmp` keeps `-0.0 == 0.0` as numpy does, unlike `total_cmp`.
fn cmp_finite(a: &f64, b: &f64) -> Ordering {
    a.partial_cmp(b).unwrap_or(Ordering::Equal)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

// ---------------------------------------------------------------------------------------------
// Regression
// ---------------------------------------------------------------------------------------------
