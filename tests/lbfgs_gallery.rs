//! The `lbfgs` solver against scikit-learn on the gallery example "Varying regularization in
//! Multi-layer Perceptron": `make_pipeline(StandardScaler(), MLPClassifier(solver="lbfgs",
//! alpha, random_state=1, max_iter=2000, hidden_layer_sizes=[10, 10]))` on a 60/40 split
//! (random_state 42) of the gallery's three data sets.
//!
//! Reference numbers: scikit-learn 1.9.1 with scipy 1.17.1 and numpy 2.4.6 (`n_iter_`,
//! `loss_`). The cells checked here are those whose whole trajectory stays within rounding
//! of scikit-learn's; in the other cells (small alpha, 100+ iterations) the one-ulp
//! differences of the objective and of the dot products grow until the runs part (see
//! `src/neural_network/lbfgs.rs`), so only their test accuracy is compared by the
//! `mlp_alpha` example.

use linfa::prelude::*;
use mlp_tune::datasets::{make_circles, make_classification_2d, make_moons};
use mlp_tune::model_selection::{train_test_split_indices, Size};
use mlp_tune::neural_network::{MLPClassifier, Solver};
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2, Axis};

/// Training rows of the split, standardized with their own mean and (population) std.
fn scaled_train(data: &Dataset<f64, usize, ndarray::Ix1>) -> Dataset<f64, usize, ndarray::Ix1> {
    let (train, _) = train_test_split_indices(data.nsamples(), Size::Fraction(0.4), Some(42), None)
        .expect("split");
    let x: Array2<f64> = data.records().select(Axis(0), &train);
    let y: Array1<usize> = data.targets().select(Axis(0), &train);
    let mean = x.mean_axis(Axis(0)).expect("rows");
    let std = x.std_axis(Axis(0), 0.0);
    Dataset::new((&x - &mean) / &std, y)
}

fn gallery_set(name: &str) -> Dataset<f64, usize, ndarray::Ix1> {
    match name {
        "moons" => make_moons(100, 0.3, 0).expect("moons"),
        "circles" => make_circles(100, 0.2, 0.5, 1).expect("circles"),
        _ => {
            let mut linear = make_classification_2d(100, 0).expect("linear");
            let mut rng = NumpyRng::new(2);
            for v in linear.records.iter_mut() {
                *v += 2.0 * rng.random_sample();
            }
            linear
        }
    }
}

#[test]
fn lbfgs_reproduces_scikit_learn_gallery_cells() {
    // (data set, alpha, scikit-learn's n_iter_, scikit-learn's loss_)
    let cells = [
        ("moons", 10f64.powf(0.5), 45, 0.503_338_984_959_180_7),
        ("moons", 10.0, 16, 0.692_591_533_834_629_3),
        ("circles", 10f64.powf(0.5), 14, 0.684_231_978_225_349_9),
        ("circles", 10.0, 10, 0.684_231_779_275_089_7),
        ("linear", 10f64.powf(0.5), 94, 0.459_527_289_093_510_04),
    ];
    for (name, alpha, n_iter, loss) in cells {
        let train = scaled_train(&gallery_set(name));
        let model = MLPClassifier::params()
            .solver(Solver::Lbfgs)
            .alpha(alpha)
            .random_state(1)
            .max_iter(2000)
            .hidden_layer_sizes(&[10, 10])
            .fit(&train)
            .expect("fit");
        assert_eq!(model.n_iter(), n_iter, "{name}, alpha {alpha}");
        assert!(
            (model.loss() - loss).abs() <= 1e-9 * loss,
            "{name}, alpha {alpha}: loss {} vs scikit-learn's {loss}",
            model.loss()
        );
    }
}
