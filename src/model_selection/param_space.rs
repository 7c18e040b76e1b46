//! Search spaces: parameter values, grids (scikit-learn's `ParameterGrid`) and
//! distributions (`ParameterSampler`).

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{invalid_param, Result};

/// One hyperparameter value in a search space.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ParamValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer (layer count, epochs, seed, ...).
    Int(i64),
    /// A real number (learning rate, alpha, ...).
    Float(f64),
    /// A name (`"relu"`, `"adam"`, ...).
    Str(String),
    /// A list of integers (`hidden_layer_sizes`).
    Ints(Vec<i64>),
    /// Python's `None`.
    None,
}

impl ParamValue {
    /// The value as a real number (integers convert).
    pub fn as_f64(&self, name: &str) -> Result<f64> {
        match self {
            ParamValue::Float(v) => Ok(*v),
            ParamValue::Int(v) => Ok(*v as f64),
            other => Err(invalid_param(
                name,
                format!("expected a number, got {other}"),
            )),
        }
    }

    /// The value as a non-negative integer.
    pub fn as_usize(&self, name: &str) -> Result<usize> {
        match self {
            ParamValue::Int(v) if *v >= 0 => Ok(*v as usize),
            ParamValue::Float(v) if *v >= 0.0 && v.fract() == 0.0 && *v < 9.0e15 => Ok(*v as usize),
            other => Err(invalid_param(
                name,
                format!("expected a non-negative integer, got {other}"),
            )),
        }
    }

    /// The value as a boolean.
    pub fn as_bool(&self, name: &str) -> Result<bool> {
        match self {
            ParamValue::Bool(v) => Ok(*v),
            other => Err(invalid_param(
                name,
                format!("expected true or false, got {other}"),
            )),
        }
    }

    /// The value as a name.
    pub fn as_str(&self, name: &str) -> Result<&str> {
        match self {
            ParamValue::Str(v) => Ok(v),
            other => Err(invalid_param(name, format!("expected a name, got {other}"))),
        }
    }

    /// The value as a list of non-negative integers (a single integer is a one-item list).
    pub fn as_usizes(&self, name: &str) -> Result<Vec<usize>> {
        match self {
            ParamValue::Ints(v) => v
                .iter()
                .map(|&x| {
                    usize::try_from(x).map_err(|_| {
                        invalid_param(name, format!("expected non-negative integers, got {x}"))
                    })
                })
                .collect(),
            ParamValue::Int(_) => Ok(vec![self.as_usize(name)?]),
            other => Err(invalid_param(
                name,
                format!("expected a list of integers, got {other}"),
            )),
        }
    }
}

impl fmt::Display for ParamValue {
    /// Python-like rendering, as scikit-learn prints `cv_results_['params']`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{}", if *v { "True" } else { "False" }),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v:?}"),
            ParamValue::Str(v) => write!(f, "'{v}'"),
            ParamValue::Ints(v) => {
                let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                if items.len() == 1 {
                    write!(f, "({},)", items[0])
                } else {
                    write!(f, "({})", items.join(", "))
                }
            }
            ParamValue::None => f.write_str("None"),
        }
    }
}

impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}
impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}
impl From<i32> for ParamValue {
    fn from(v: i32) -> Self {
        ParamValue::Int(v as i64)
    }
}
impl From<usize> for ParamValue {
    fn from(v: usize) -> Self {
        ParamValue::Int(v as i64)
    }
}
impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}
impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Str(v.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Str(v)
    }
}
impl<const N: usize> From<[usize; N]> for ParamValue {
    fn from(v: [usize; N]) -> Self {
        ParamValue::Ints(v.iter().map(|&x| x as i64).collect())
    }
}
impl From<Vec<usize>> for ParamValue {
    fn from(v: Vec<usize>) -> Self {
        ParamValue::Ints(v.iter().map(|&x| x as i64).collect())
    }
}

/// One candidate of a search: parameter name → value, keys sorted (scikit-learn's order).
pub type Candidate = BTreeMap<String, ParamValue>;

/// Hyperparameters settable by name, so a search can tune them without a builder closure.
pub trait SetParams: Sized {
    /// Names accepted by [`set_param`](SetParams::set_param).
    fn param_names(&self) -> Vec<&'static str>;
    /// Sets one parameter; an unknown name or a value of the wrong type is an error that
    /// lists the valid names.
    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()>;
    /// Applies a whole candidate, returning the new parameters.
    fn with_candidate(mut self, candidate: &Candidate) -> Result<Self> {
        for (name, value) in candidate {
            self.set_param(name, value)?;
        }
        Ok(self)
    }
}
