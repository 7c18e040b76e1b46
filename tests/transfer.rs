//! Transfer learning: a fitted model's hidden layers start a new network, frozen or
//! fine-tuned.

use linfa::prelude::*;
use linfa::Dataset;
use mlp_tune::model_selection::param_space::ParamValue;
use mlp_tune::model_selection::SetParams;
use mlp_tune::neural_network::{
    Activation, BatchNormPosition, LayerSpec, MLPClassifier, MLPRegressor, OptimizerKind, Solver,
};
use mlp_tune::MlpTuneError;
use ndarray::{Array1, Array2};

fn regression_data(seed: u32, n: usize) -> Dataset<f64, f64, ndarray::Ix1> {
    let mut rng = mlp_tune::random::NumpyRng::new(seed);
    let x = Array2::from_shape_fn((n, 5), |_| rng.uniform(-1.0, 1.0));
    let y = Array1::from_iter(
        x.rows()
            .into_iter()
            .map(|r| r[0] * r[1] - 0.5 * r[2] + (r[3] * 2.0).sin()),
    );
    Dataset::new(x, y)
}

fn pretrained() -> MLPRegressor<f64> {
    MLPRegressor::params()
        .hidden_layer_sizes(&[12, 8])
        .solver(Solver::Adam)
        .learning_rate_init(0.01)
        .max_iter(30)
        .random_state(0)
        .fit(&regression_data(1, 120))
        .unwrap()
}

/// Every optimizer, with the knobs that touch weights outside the gradient (AdamW's
/// decoupled decay, L2 penalties, gradient clipping): a frozen layer keeps its weights and
/// biases bit for bit while the trainable ones move.
#[test]
fn frozen_layers_stay_bitwise_unchanged_under_every_optimizer() {
    let source = pretrained();
    let data = regression_data(2, 90);
    for name in OptimizerKind::NAMES {
        let mut layers = source.hidden_layers(2).unwrap();
        layers[0] = layers[0].clone().trainable(false);
        let model = MLPRegressor::params()
            .layers(layers)
            .optimizer(OptimizerKind::from_name(name).unwrap())
            .alpha(0.01)
            .kernel_regularizer(0.001, 0.01)
            .clip(Some(0.5), None)
            .learning_rate_init(0.01)
            .max_iter(8)
            .random_state(3)
            .fit(&data)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(model.n_iter(), 8, "{name}");
        assert_eq!(model.coefs()[0], source.coefs()[0], "{name}: frozen kernel");
        assert_eq!(
            model.intercepts()[0],
            source.intercepts()[0],
            "{name}: frozen biases"
        );
        assert_ne!(
            model.coefs()[1],
            source.coefs()[1],
            "{name}: trainable layer"
        );
    }
}

/// `f32` models transfer too: their weights convert to `f64` and back exactly.
#[test]
fn an_f32_model_transfers_exactly() {
    let data = regression_data(4, 80);
    let x = data.records().mapv(|v| v as f32);
    let y = data.targets().mapv(|v| v as f32);
    let data32 = Dataset::new(x, y);
    let source = MLPRegressor::<f32>::params()
        .hidden_layer_sizes(&[6])
        .max_iter(10)
        .random_state(0)
        .fit(&data32)
        .unwrap();
    let layers = vec![source.hidden_layers(1).unwrap()[0].clone().trainable(false)];
    let model = MLPRegressor::<f32>::params()
        .layers(layers)
        .max_iter(4)
        .random_state(1)
        .fit(&data32)
        .unwrap();
    assert_eq!(model.coefs()[0], source.coefs()[0]);
}

/// Transferred layers start from the fitted weights: with every hidden layer frozen, the
/// new network's hidden features are the old one's, and a fit with the whole network
/// trainable starts from them too (its first epoch's loss is the pretrained model's level,
/// far below a fresh network's).
#[test]
fn transferred_layers_start_from_the_fitted_weights() {
    let source = pretrained();
    let data = regression_data(1, 120);
    let fine_tuned = MLPRegressor::params()
        .layers(source.hidden_layers(2).unwrap())
        .learning_rate_init(0.01)
        .max_iter(1)
        .random_state(0)
        .fit(&data)
        .unwrap();
    let scratch = MLPRegressor::params()
        .layers(vec![
            LayerSpec::dense(12, Activation::Relu),
            LayerSpec::dense(8, Activation::Relu),
        ])
        .learning_rate_init(0.01)
        .max_iter(1)
        .random_state(0)
        .fit(&data)
        .unwrap();
    assert!(
        fine_tuned.loss() < 0.75 * scratch.loss(),
        "transfer {} vs scratch {}",
        fine_tuned.loss(),
        scratch.loss()
    );
}

/// A classifier reuses a regressor's layers (any fitted MLP's hidden layers fit any new
/// head), and the frozen layer survives a warm continuation of several calls.
#[test]
fn a_classifier_reuses_hidden_layers_and_keeps_them_frozen_across_calls() {
    let iris = mlp_tune::datasets::iris();
    let source = MLPClassifier::params()
        .hidden_layer_sizes(&[10])
        .max_iter(30)
        .random_state(0)
        .fit(&iris)
        .unwrap();
    let frozen = vec![source.hidden_layers(1).unwrap()[0].clone().trainable(false)];
    let mut model = MLPClassifier::params()
        .layers(frozen)
        .solver(Solver::Sgd)
        .max_iter(3)
        .random_state(5)
        .fit(&iris)
        .unwrap();
    for _ in 0..3 {
        model = model.continue_training(&iris, 2).unwrap();
    }
    assert_eq!(model.coefs()[0], source.coefs()[0]);
}

/// Bad requests are typed errors: too many layers, weights that do not fit the data or the
/// layer, a frozen layer with batch normalization, a batch-normalized source.
#[test]
fn bad_transfers_are_errors() {
    let source = pretrained();
    for k in [0, 3] {
        assert!(matches!(
            source.hidden_layers(k),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
    }
    // Weights for 5 inputs, data with 3.
    let x = Array2::from_shape_fn((20, 3), |(i, j)| (i * 3 + j) as f64 / 60.0);
    let narrow = Dataset::new(x, Array1::from_iter((0..20).map(|i| i as f64 / 20.0)));
    let err = MLPRegressor::params()
        .layers(source.hidden_layers(1).unwrap())
        .max_iter(2)
        .fit(&narrow)
        .unwrap_err();
    assert!(
        matches!(&err, MlpTuneError::InvalidParameter { name, .. } if name == "layers"),
        "{err}"
    );
    // Weights of a 12-wide layer on a 7-wide one.
    let mut wrong = source.hidden_layers(1).unwrap()[0].clone();
    wrong.units = 7;
    assert!(MLPRegressor::params()
        .layers(vec![wrong])
        .max_iter(2)
        .fit(&regression_data(1, 30))
        .is_err());
    let frozen_bn = LayerSpec::dense(4, Activation::Relu)
        .batch_norm(BatchNormPosition::BeforeActivation)
        .trainable(false);
    assert!(matches!(
        MLPRegressor::params()
            .layers(vec![frozen_bn])
            .max_iter(2)
            .fit(&regression_data(1, 30)),
        Err(MlpTuneError::InvalidParameter { .. })
    ));
    let bn_source = MLPRegressor::params()
        .layers(vec![
            LayerSpec::dense(4, Activation::Relu).batch_norm(BatchNormPosition::BeforeActivation)
        ])
        .max_iter(2)
        .random_state(0)
        .fit(&regression_data(1, 30))
        .unwrap();
    assert!(bn_source.hidden_layers(1).is_err());
}

/// Pretrained weights and freezing change results, so they are hyperparameters (and part
/// of a search journal's fingerprint).
#[test]
fn weights_and_freezing_are_listed_hyperparameters() {
    let source = pretrained();
    let layers = source.hidden_layers(1).unwrap();
    let params = MLPRegressor::<f64>::params().layers(layers.clone());
    let listed = params.get_params();
    assert_eq!(listed["layers.0.trainable"], ParamValue::Bool(true));
    let ParamValue::Str(digest) = &listed["layers.0.weights"] else {
        panic!("weights digest missing");
    };
    assert_eq!(digest.len(), 64);
    let frozen = MLPRegressor::<f64>::params().layers(vec![layers[0].clone().trainable(false)]);
    assert_ne!(frozen.get_params(), listed);
    let other = MLPRegressor::params()
        .hidden_layer_sizes(&[12, 8])
        .max_iter(31)
        .random_state(0)
        .fit(&regression_data(1, 120))
        .unwrap();
    let moved = MLPRegressor::<f64>::params().layers(other.hidden_layers(1).unwrap());
    assert_ne!(
        moved.get_params()["layers.0.weights"],
        listed["layers.0.weights"]
    );
}
