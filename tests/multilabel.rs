//! Multilabel classification (2-D boolean targets), as scikit-learn's MLPClassifier does it.

use linfa::prelude::*;
use mlp_tune::neural_network::{MLPClassifier, Solver};
use ndarray::{Array2, Axis};

fn iris_multilabel() -> (Array2<f64>, Array2<bool>) {
    let iris = mlp_tune::datasets::iris();
    let x = iris.records().clone();
    let classes = iris.targets();
    // Three overlapping labels: setosa, versicolor, and "petal longer than 4 cm".
    let mut y = Array2::from_elem((x.nrows(), 3), false);
    for (i, row) in x.axis_iter(Axis(0)).enumerate() {
        y[[i, 0]] = classes[i] == 0;
        y[[i, 1]] = classes[i] == 1;
        y[[i, 2]] = row[2] > 4.0;
    }
    (x, y)
}

#[test]
fn one_label_column_trains_exactly_like_a_binary_classifier() {
    let (x, y) = iris_multilabel();
    let column = y.column(1).to_owned();
    let params = MLPClassifier::params()
        .hidden_layer_sizes(&[6])
        .max_iter(30)
        .random_state(3)
        .check()
        .unwrap();
    let binary = params
        .fit(&Dataset::new(x.clone(), column.clone()))
        .unwrap();
    let multi = params
        .multilabel()
        .fit(&Dataset::new(x.clone(), column.insert_axis(Axis(1))))
        .unwrap();
    let p_binary = binary.predict_proba(&x).unwrap();
    let p_multi = multi.predict_proba(&x).unwrap();
    assert_eq!(p_multi.ncols(), 1);
    assert_eq!(p_binary.column(1), p_multi.column(0));
    assert_eq!(binary.loss_curve(), multi.loss_curve());
}

#[test]
fn learns_overlapping_labels_and_scores_subset_accuracy() {
    let (x, y) = iris_multilabel();
    let model = MLPClassifier::params()
        .hidden_layer_sizes(&[20])
        .solver(Solver::Lbfgs)
        .max_iter(2000)
        .random_state(0)
        .check()
        .unwrap()
        .multilabel()
        .fit(&Dataset::new(x.clone(), y.clone()))
        .unwrap();
    assert_eq!(model.n_outputs(), 3);
    let predicted = model.try_predict(&x).unwrap();
    assert_eq!(predicted.dim(), y.dim());
    let subset = model.score(&x, &y).unwrap();
    let rows_right = predicted
        .rows()
        .into_iter()
        .zip(y.rows())
        .filter(|(p, t)| p == t)
        .count() as f64
        / y.nrows() as f64;
    assert_eq!(subset, rows_right);
    assert!(subset > 0.9, "subset accuracy {subset}");
    // linfa's predict goes through PredictInplace.
    assert_eq!(model.predict(&x), predicted);
}

#[test]
fn continuing_equals_training_longer_at_once() {
    let (x, y) = iris_multilabel();
    let data = Dataset::new(x.clone(), y);
    let params = |epochs| {
        MLPClassifier::params()
            .hidden_layer_sizes(&[10])
            .max_iter(epochs)
            .tol(0.0)
            .random_state(7)
            .check()
            .unwrap()
            .multilabel()
    };
    let at_once = params(25).fit(&data).unwrap();
    let split = params(10)
        .fit(&data)
        .unwrap()
        .continue_training(&data, 15)
        .unwrap();
    assert_eq!(at_once.n_iter(), split.n_iter());
    assert_eq!(at_once.coefs(), split.coefs());
}

#[test]
fn bad_multilabel_input_is_a_typed_error() {
    let (x, y) = iris_multilabel();
    let params = MLPClassifier::params().check().unwrap().multilabel();
    let short = y.slice(ndarray::s![..10, ..]).to_owned();
    assert!(params.fit(&Dataset::new(x.clone(), short)).is_err());
    let empty = Array2::<bool>::from_elem((x.nrows(), 0), false);
    assert!(params.fit(&Dataset::new(x.clone(), empty)).is_err());
    let model = params.fit(&Dataset::new(x.clone(), y)).unwrap();
    let narrow = x.slice(ndarray::s![.., ..2]).to_owned();
    assert!(model.try_predict(&narrow).is_err());
}
