//! Save → load round trips (the `serde` feature): parameters and fitted models come back
//! equal and predict identically.
#![cfg(feature = "serde")]

use linfa::prelude::*;
use mlp_tune::neural_network::{
    MLPClassifier, MLPClassifierValidParams, MLPMultilabelClassifier, MLPRegressor,
    MLPRegressorValidParams, Solver,
};
use ndarray::{Array2, Axis};

mod common;

/// A 4-unit regressor fitted on diabetes for `epochs` epochs (seed 5), with its data.
fn small_diabetes_fit(
    epochs: usize,
) -> (linfa::Dataset<f64, f64, ndarray::Ix1>, MLPRegressor<f64>) {
    let data = mlp_tune::datasets::diabetes();
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[4])
        .max_iter(epochs)
        .random_state(5)
        .fit(&data)
        .unwrap();
    (data, model)
}

/// The model saved as JSON, after checking that the text loads and predicts as the model.
fn saved_and_loaded(
    model: &MLPRegressor<f64>,
    data: &linfa::Dataset<f64, f64, ndarray::Ix1>,
) -> String {
    let text = serde_json::to_string(model).unwrap();
    let loaded: MLPRegressor<f64> = serde_json::from_str(&text).expect("untouched, it loads");
    assert_eq!(
        loaded.predict(data.records()),
        model.predict(data.records())
    );
    text
}

/// Each edit `(from, to, expected)` of `text` alone makes loading fail with an error that
/// contains `expected`.
fn assert_each_edit_is_refused(text: &str, cases: &[(&str, &str, &str)]) {
    for &(from, to, expected) in cases {
        assert!(text.contains(from), "{from}");
        let tampered = text.replacen(from, to, 1);
        let err = serde_json::from_str::<MLPRegressor<f64>>(&tampered)
            .err()
            .unwrap_or_else(|| panic!("{to}: loaded"));
        assert!(err.to_string().contains(expected), "{to}: {err}");
    }
}

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
    let (data, model) = small_diabetes_fit(3);
    let text = saved_and_loaded(&model, &data);
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
    assert_each_edit_is_refused(&text, &cases);
}

/// Every op and optimizer state the layer engine saves passes the load check: batch norm
/// before the activation, noise, no bias, activity regularizers, frozen layers, alpha
/// dropout, and each Keras optimizer's buffers.
#[test]
fn layer_engine_models_of_every_kind_load() {
    use mlp_tune::neural_network::stochastic_optimizers::OptimizerKind;
    use mlp_tune::neural_network::{Activation, BatchNormPosition, LayerSpec, MlpConfig};
    let data = mlp_tune::datasets::diabetes();
    let layers = vec![
        LayerSpec::dense(6, Activation::Relu)
            .batch_norm(BatchNormPosition::BeforeActivation)
            .gaussian_noise(0.1)
            .use_bias(false),
        LayerSpec::dense(5, Activation::Tanh)
            .activity_regularizer(0.01, 0.0)
            .trainable(false)
            .alpha_dropout(0.1),
        LayerSpec::dense(4, Activation::Prelu).kernel_regularizer(0.0, 0.01),
    ];
    for name in OptimizerKind::NAMES {
        let mut config = MlpConfig {
            max_iter: 2,
            random_state: Some(4),
            ..MlpConfig::default()
        };
        config.arch.layers = Some(layers.clone());
        config.arch.optimizer = Some(OptimizerKind::from_name(name).unwrap());
        let model = MLPRegressor::params().config(config).fit(&data).unwrap();
        let text = serde_json::to_string(&model).unwrap();
        let loaded: MLPRegressor<f64> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let diff = (&loaded.predict(data.records()) - &model.predict(data.records()))
            .mapv(f64::abs)
            .fold(0.0f64, |a, &b| a.max(b));
        assert!(diff < 1e-12, "{name}: {diff}");
        let more = loaded.continue_training(&data, 1);
        assert!(more.is_ok(), "{name}: {:?}", more.err());
    }
}

/// The layer engine's op list, a classifier's labels and the rows a continued fit trains on
/// are checked too: an edited op list or row order is refused on load, labels that do not
/// fit the output layer and rows beyond the data give errors. Before, the op list loaded
/// and indexed out of bounds when it predicted, continuing on fewer rows did too, and
/// labels that do not fit either panicked or were silently wrong.
#[test]
fn a_tampered_layer_engine_model_or_label_list_is_refused() {
    let data = mlp_tune::datasets::diabetes();
    let config = common::layer_engine_config(&[6, 5], 2);
    let model = MLPRegressor::params().config(config).fit(&data).unwrap();
    let text = saved_and_loaded(&model, &data);
    let order_start = text.find("\"order\":[").expect("the row order") + "\"order\":[".len();
    let first_row = &text[order_start..order_start + text[order_start..].find(',').unwrap()];
    let second_row_end = order_start + first_row.len() + 1;
    let second_row =
        &text[second_row_end..second_row_end + text[second_row_end..].find(',').unwrap()];
    let live_start = text.find("\"live_running\":[").unwrap() + "\"live_running\":[".len();
    let live_first = &text[live_start..=live_start + text[live_start..].find(',').unwrap()];
    let orders = (
        format!("\"order\":[{first_row},{second_row},"),
        format!("\"order\":[{second_row},{second_row},"),
    );
    let cases: [(&str, &str, &str); 9] = [
        ("\"prelu\":107", "\"prelu\":139", "op 1 "),
        ("\"running\":12,", "\"running\":20,", "op 6 "),
        ("\"slot\":3}", "\"slot\":9}", "op 7 "),
        ("5,5,5,5,1]", "5,5,5,5]", "widths"),
        (
            "{\"Dense\":{\"layer\":1,",
            "{\"Dense\":{\"layer\":2,",
            "op 4 ",
        ),
        ("\"end\":140}", "\"end\":141}", "trainable"),
        ("\"n_running\":22", "\"n_running\":12", "op 6 "),
        (live_first, "", "callbacks"),
        (&orders.0, &orders.1, "row order"),
    ];
    assert_each_edit_is_refused(&text, &cases);

    // Continuing on fewer rows than the model was fitted on.
    let head = linfa::Dataset::new(
        data.records().slice(ndarray::s![..100, ..]).to_owned(),
        data.targets().slice(ndarray::s![..100]).to_owned(),
    );
    let err = model.continue_training(&head, 1).expect_err("an error");
    assert!(err.to_string().contains("continues on row"), "{err}");

    // A classifier whose saved labels do not fit its output layer.
    let iris = mlp_tune::datasets::iris();
    let classifier = MLPClassifier::params()
        .hidden_layer_sizes(&[4])
        .max_iter(2)
        .random_state(1)
        .fit(&iris)
        .unwrap();
    let text = serde_json::to_string(&classifier).unwrap();
    assert!(text.contains("\"classes\":[0,1,2]"), "the labels");
    for labels in ["[0,1]", "[0,1,2,3]", "[0]"] {
        let tampered = text.replacen("\"classes\":[0,1,2]", &format!("\"classes\":{labels}"), 1);
        let loaded: MLPClassifier<f64, usize> = serde_json::from_str(&tampered).unwrap();
        for err in [
            loaded.try_predict(iris.records()).err(),
            loaded.predict_proba(iris.records()).err(),
        ] {
            let err = err.unwrap_or_else(|| panic!("{labels}: predicted"));
            assert!(err.to_string().contains("do not fit"), "{labels}: {err}");
        }
    }
}

/// Checked hyperparameters are checked again when loaded (alone or in a saved model), as
/// `ParamGuard::check` does; unchecked ones load as they are and fail at `check()`. Before,
/// a saved model's hyperparameters loaded unchecked, and continuing its training with them
/// ran with values `check()` refuses.
#[test]
fn saved_hyperparameters_are_checked_on_load() {
    let (_, model) = small_diabetes_fit(2);
    let text = serde_json::to_string(&model).unwrap();
    // The hyperparameters come after the fitted state (whose optimizer has a
    // `learning_rate_init` too).
    let at = text
        .find("\"params\":{\"config\"")
        .expect("the hyperparameters");
    for (from, to) in [
        (
            "\"learning_rate_init\":0.001",
            "\"learning_rate_init\":-1.0",
        ),
        ("\"validation_fraction\":0.1", "\"validation_fraction\":2.0"),
        ("\"beta_1\":0.9", "\"beta_1\":1.5"),
        ("\"hidden_layer_sizes\":[4]", "\"hidden_layer_sizes\":[0]"),
    ] {
        assert!(text[at..].contains(from), "{from}");
        let tampered = format!("{}{}", &text[..at], text[at..].replacen(from, to, 1));
        let err = serde_json::from_str::<MLPRegressor<f64>>(&tampered)
            .err()
            .unwrap_or_else(|| panic!("{to}: loaded"));
        assert!(!err.to_string().is_empty());
        let params_text = serde_json::to_string(model.fitted_params())
            .unwrap()
            .replacen(from, to, 1);
        assert!(serde_json::from_str::<MLPRegressorValidParams<f64>>(&params_text).is_err());
        let unchecked: mlp_tune::neural_network::MLPRegressorParams<f64> =
            serde_json::from_str(&params_text).expect("unchecked parameters load as they are");
        assert!(unchecked.check().is_err(), "{to}");
    }
    let classifier = MLPClassifier::params()
        .max_iter(1)
        .fit(&mlp_tune::datasets::iris())
        .unwrap();
    let text =
        serde_json::to_string(&classifier)
            .unwrap()
            .replacen("\"tol\":0.0001", "\"tol\":-1.0", 1);
    assert!(serde_json::from_str::<MLPClassifier<f64, usize>>(&text).is_err());
}
