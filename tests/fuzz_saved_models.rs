//! Property test of saved models (the `serde` feature): a `model.json` edited anywhere (a
//! number replaced, an array shortened or lengthened, a value nulled) either is refused
//! when it loads or predicts and continues training with a result or a typed error, never
//! a panic (proptest reports a panic in the body as a failure and shrinks it).
#![cfg(feature = "serde")]

use std::sync::OnceLock;

use linfa::prelude::*;
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor};
use proptest::prelude::*;
use serde_json::Value;

mod common;
use common::fuzz::{any_float, any_int};
use common::layer_engine_config;

/// The saved models the edits start from: the fused engine with early stopping (best
/// weights, held-out rows), the layer engine (PReLU, batch norm, dropout) and a
/// three-class classifier.
fn saved() -> &'static [Value; 3] {
    static SAVED: OnceLock<[Value; 3]> = OnceLock::new();
    SAVED.get_or_init(|| {
        let diabetes = mlp_tune::datasets::diabetes();
        let fused = MLPRegressor::params()
            .hidden_layer_sizes(&[5, 3])
            .max_iter(3)
            .early_stopping(true)
            .random_state(1)
            .fit(&diabetes)
            .unwrap();
        let config = layer_engine_config(&[4, 3], 2);
        let layered = MLPRegressor::params()
            .config(config)
            .fit(&diabetes)
            .unwrap();
        let classifier = MLPClassifier::params()
            .hidden_layer_sizes(&[4])
            .max_iter(3)
            .random_state(3)
            .fit(&mlp_tune::datasets::iris())
            .unwrap();
        [
            serde_json::to_value(&fused).unwrap(),
            serde_json::to_value(&layered).unwrap(),
            serde_json::to_value(&classifier).unwrap(),
        ]
    })
}

/// Every place an edit can go: the paths (object keys and array positions) of every
/// value in the document.
fn paths(value: &Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                at.push(PathStep::Key(key.clone()));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(PathStep::Index(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_path<'a>(value: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        PathStep::Key(k) => &mut v[k.as_str()],
        PathStep::Index(i) => &mut v[*i],
    })
}

#[derive(Clone, Debug)]
enum Edit {
    Number(f64),
    Int(i64),
    Null,
    DropLast,
    RepeatLast,
}

fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any_int().prop_map(Edit::Int),
        2 => any_float()
            .prop_filter("JSON numbers are finite", |v| v.is_finite())
            .prop_map(Edit::Number),
        1 => Just(Edit::Null),
        2 => Just(Edit::DropLast),
        2 => Just(Edit::RepeatLast),
    ]
}

/// Applies `edit` at `path`; `false` when it does not apply there.
fn apply(doc: &mut Value, path: &[PathStep], edit: &Edit) -> bool {
    let target = at_path(doc, path);
    match (edit, target) {
        (Edit::DropLast, Value::Array(items)) => items.pop().is_some(),
        (Edit::RepeatLast, Value::Array(items)) => match items.last().cloned() {
            Some(last) => {
                items.push(last);
                true
            }
            None => false,
        },
        (Edit::Int(v), target @ Value::Number(_)) => {
            *target = Value::from(*v);
            true
        }
        (Edit::Number(v), target @ Value::Number(_)) => {
            *target = Value::from(*v);
            true
        }
        (Edit::Null, target) if !target.is_null() => {
            *target = Value::Null;
            true
        }
        _ => false,
    }
}

/// Loads the edited document and, if it loads, uses it the ways a user would.
fn load_and_use(which: usize, doc: Value) {
    if which < 2 {
        let data = mlp_tune::datasets::diabetes();
        let Ok(model) = serde_json::from_value::<MLPRegressor<f64>>(doc) else {
            return;
        };
        let _ = model.try_predict(data.records());
        let _ = model.score(data.records(), data.targets());
        let _ = model.continue_training(&data, 1);
    } else {
        let data = mlp_tune::datasets::iris();
        let Ok(model) = serde_json::from_value::<MLPClassifier<f64, usize>>(doc) else {
            return;
        };
        let _ = model.try_predict(data.records());
        let _ = model.predict_proba(data.records());
        let _ = model.continue_training(&data, 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    /// One or two edits anywhere in a saved model: a typed error or a working model.
    #[test]
    fn an_edited_saved_model_loads_with_an_error_or_works(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any_edit()), 1..3),
    ) {
        let mut doc = saved()[which].clone();
        for (index, edit) in &edits {
            let mut all = Vec::new();
            paths(&doc, &mut Vec::new(), &mut all);
            let path = &all[index.index(all.len())];
            apply(&mut doc, path, edit);
        }
        load_and_use(which, doc);
    }
}
