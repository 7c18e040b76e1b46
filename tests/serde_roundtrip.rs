//! Save → load round trips (the `serde` feature): parameters and fitted models come back
//! equal and predict identically.
#![cfg(feature = "serde")]

use linfa::prelude::*;
use mlp_tune::neural_network::{
    MLPClassifier, MLPClassifierValidParams, MLPMultilabelClassifier, MLPRegressor,
    MLPRegressorValidParams, Solver,
};
use ndarray::{Array2, Axis};

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    let text = serde_json::to_string(value).expect("serializes");
    serde_json::from_str(&text).expect("deserializes")
}

#[test]
fn regressor_predicts_identically_after_a_round_trip() {
    let data = mlp_tune::datasets::diabetes();
    let params = MLPRegressor::params()
        .hidden_layer_sizes(&[16, 8])
        .learning_rate_init(0.01)
        .max_iter(20)
        .random_state(5)
        .check()
        .unwrap();
    let loaded_params: MLPRegressorValidParams<f64> = round_trip(&params);
    assert_eq!(loaded_params, params);

    let model = params.fit(&data).unwrap();
    let loaded: MLPRegressor<f64> = round_trip(&model);
    assert_eq!(
        loaded.predict(data.records()),
        model.predict(data.records())
    );
    assert_eq!(loaded.loss_curve(), model.loss_curve());
    assert_eq!(loaded.n_iter(), model.n_iter());
}

#[test]
fn classifier_with_string_labels_in_f32_round_trips() {
    let iris = mlp_tune::datasets::iris();
    let x = iris.records().mapv(|v| v as f32);
    let names = mlp_tune::datasets::IRIS_CLASS_NAMES;
    let y = iris.targets().mapv(|c| names[c].to_string());
    let data = Dataset::new(x.clone(), y);
    let params = MLPClassifier::params()
        .hidden_layer_sizes(&[8])
        .solver(Solver::Lbfgs)
        .max_iter(300)
        .random_state(1)
        .check()
        .unwrap();
    let loaded_params: MLPClassifierValidParams<f32> = round_trip(&params);
    assert_eq!(loaded_params, params);
    let model = params.fit(&data).unwrap();
    let loaded: MLPClassifier<f32, String> = round_trip(&model);
    assert_eq!(loaded.classes(), model.classes());
    assert_eq!(
        loaded.predict_proba(&x).unwrap(),
        model.predict_proba(&x).unwrap()
    );
    assert_eq!(loaded.predict(&x), model.predict(&x));
}

#[test]
fn multilabel_classifier_round_trips() {
    let iris = mlp_tune::datasets::iris();
    let x = iris.records().clone();
    let mut y = Array2::from_elem((x.nrows(), 2), false);
    for (i, row) in x.axis_iter(Axis(0)).enumerate() {
        y[[i, 0]] = row[0] > 5.8;
        y[[i, 1]] = row[3] > 1.3;
    }
    let model = MLPClassifier::params()
        .hidden_layer_sizes(&[5])
        .max_iter(50)
        .random_state(2)
        .check()
        .unwrap()
        .multilabel()
        .fit(&Dataset::new(x.clone(), y))
        .unwrap();
    let loaded: MLPMultilabelClassifier<f64> = round_trip(&model);
    assert_eq!(
        loaded.predict_proba(&x).unwrap(),
        model.predict_proba(&x).unwrap()
    );
}

/// A saved model whose parts do not fit together (edited or truncated) is refused when it
/// is loaded, naming the part; before, it loaded and its `predict` panicked (an index out
/// of bounds) for the layer sizes, the offsets and a missing parameter.
#[test]
fn a_tampered_saved_model_is_refused_on_load() {
    let data = mlp_tune::datasets::diabetes();
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[4])
        .max_iter(3)
        .random_state(5)
        .fit(&data)
        .unwrap();
    let text = serde_json::to_string(&model).unwrap();
    let loaded: MLPRegressor<f64> = serde_json::from_str(&text).expect("untouched, it loads");
    assert_eq!(
        loaded.predict(data.records()),
        model.predict(data.records())
    );
    let params_start = text.find("\"params\":[").expect("the parameters") + "\"params\":[".len();
    let first_param_end = params_start + text[params_start..].find(',').expect("two parameters");
    let cases = [
        (
            "\"layer_units\":[10,4,1]",
            "\"layer_units\":[10,400,1]",
            "layout",
        ),
        (
            "\"layer_units\":[10,4,1]",
            "\"layer_units\":[10,0,1]",
            "layer sizes",
        ),
        (
            "\"layer_units\":[10,4,1]",
            "\"layer_units\":[1]",
            "layer sizes",
        ),
        (
            "\"coef_offsets\":[0,40]",
            "\"coef_offsets\":[0,4000]",
            "layout",
        ),
        ("\"total\":49", "\"total\":4", "layout"),
        (
            &text[params_start..=first_param_end],
            "",
            "`params` holds 48 values",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(text.contains(from), "{from}");
        let tampered = text.replacen(from, to, 1);
        let err = serde_json::from_str::<MLPRegressor<f64>>(&tampered)
            .err()
            .unwrap_or_else(|| panic!("{to}: loaded"));
        assert!(err.to_string().contains(expected), "{to}: {err}");
    }
}
