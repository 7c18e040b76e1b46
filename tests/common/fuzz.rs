//! Strategies and checks shared by the property tests (`fuzz_params`, `fuzz_searches`):
//! values a user might give, any search space, and whether a value belongs to a
//! distribution.

use mlp_tune::model_selection::param_space::{Distribution, ParamValue};
use proptest::prelude::*;

/// Floats that matter to range checks: specials, boundaries, tiny and huge values.
pub fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(0.5),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(9.0e15),
        Just(1.0e300),
        -10.0..10.0f64,
        any::<f64>(),
    ]
}

pub fn any_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(1),
        Just(-1),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(u32::MAX as i64),
        Just(u32::MAX as i64 + 1),
        -5..300i64,
        any::<i64>(),
    ]
}

pub fn any_str_value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "relu",
            "tanh",
            "logistic",
            "identity",
            "gelu",
            "selu",
            "adam",
            "sgd",
            "lbfgs",
            "nadam",
            "rmsprop",
            "adamw",
            "adagrad",
            "amsgrad",
            "constant",
            "invscaling",
            "adaptive",
            "exponential_decay",
            "cosine_decay",
            "reduce_on_plateau",
            "auto",
            "validation_score",
            "validation_loss",
            "val_loss",
            "loss",
            "standard",
            "alpha",
            "none",
            "before",
            "after",
            "glorot_uniform",
            "he_normal",
            "lecun_normal",
            "",
        ])
        .prop_map(str::to_string),
        "\\PC{0,10}",
    ]
}

pub fn any_value() -> impl Strategy<Value = ParamValue> {
    prop_oneof![
        any::<bool>().prop_map(ParamValue::Bool),
        any_int().prop_map(ParamValue::Int),
        any_float().prop_map(ParamValue::Float),
        any_str_value().prop_map(ParamValue::Str),
        proptest::collection::vec(any_int(), 0..5).prop_map(ParamValue::Ints),
        Just(ParamValue::None),
    ]
}

pub fn any_distribution() -> impl Strategy<Value = Distribution> {
    let small_int = || prop_oneof![any_int(), -20..20i64];
    prop_oneof![
        proptest::collection::vec(any_value(), 0..5).prop_map(Distribution::List),
        (any_float(), any_float()).prop_map(|(loc, scale)| Distribution::Uniform { loc, scale }),
        (any_float(), any_float()).prop_map(|(low, high)| Distribution::LogUniform { low, high }),
        (small_int(), small_int()).prop_map(|(low, high)| Distribution::RandInt { low, high }),
        (small_int(), small_int()).prop_map(|(low, high)| Distribution::LogRandInt { low, high }),
        (any_float(), any_float(), any_float())
            .prop_map(|(low, high, step)| Distribution::FloatStep { low, high, step }),
        // Grids that are valid by construction, so the sampling is exercised too.
        (
            -100..100i32,
            0..50u32,
            prop_oneof![Just(0.1), Just(0.25), Just(1.0), Just(1e-3)]
        )
            .prop_map(|(low, n, step)| {
                let low = f64::from(low) * step;
                Distribution::FloatStep {
                    low,
                    high: low + f64::from(n) * step,
                    step,
                }
            }),
        (small_int(), small_int(), small_int())
            .prop_map(|(low, high, step)| Distribution::IntStep { low, high, step }),
        (small_int(), 0..30i64, 1..7i64).prop_map(|(low, n, step)| Distribution::IntStep {
            low,
            high: low.saturating_add(n * step),
            step,
        }),
    ]
}

/// Whether `v` is a value `d` can draw (`d` valid).
pub fn in_support(d: &Distribution, v: &ParamValue) -> bool {
    match (d, v) {
        (Distribution::List(values), v) => values.contains(v) || values.iter().any(|x| {
            // NaN list entries come back as NaN.
            matches!((x, v), (ParamValue::Float(a), ParamValue::Float(b)) if a.is_nan() && b.is_nan())
        }),
        (Distribution::Uniform { loc, scale }, ParamValue::Float(x)) => {
            *x >= *loc && *x <= loc + scale
        }
        (Distribution::LogUniform { low, high }, ParamValue::Float(x)) => {
            // exp(ln(x)) may move the ends by a few ulps.
            *x >= low * (1.0 - 1e-12) && *x <= high * (1.0 + 1e-12)
        }
        (Distribution::RandInt { low, high }, ParamValue::Int(x)) => x >= low && x < high,
        (Distribution::LogRandInt { low, high }, ParamValue::Int(x)) => x >= low && x < high,
        (Distribution::FloatStep { low, high, step }, ParamValue::Float(x)) => {
            let k = ((x - low) / step).round();
            *x >= *low && *x <= *high && (x - (low + k * step)).abs() <= 1e-9 * step.max(x.abs())
        }
        (Distribution::IntStep { low, high, step }, ParamValue::Int(x)) => {
            x >= low && x <= high && (i128::from(*x) - i128::from(*low)) % i128::from(*step) == 0
        }
        _ => false,
    }
}
