//! Unit tests of the scikit-learn engine.

use super::*;
use ndarray::array;

/// Outputs of a row are bitwise the same whatever block of rows it is predicted in and
/// whether the block is a slice of the data or gathered through a row list, for layer
/// widths on both sides of the kernels' register tiles.
#[test]
fn prediction_does_not_depend_on_the_block_size() {
    let mut rng = NumpyRng::new(11);
    for units in [
        vec![8, 1, 1],
        vec![8, 30, 1],
        vec![8, 99, 99, 1],
        vec![64, 17, 10],
        vec![13, 5, 33, 3],
    ] {
        let layout = Layout::new(&units);
        let params: Vec<f64> = init_params_sklearn(&layout, Activation::Relu, &mut rng);
        let x = Array2::from_shape_fn((5000, units[0]), |_| rng.uniform(-2.0, 2.0));
        let rows: Vec<usize> = (0..x.nrows()).rev().step_by(3).collect();
        let whole = |block| {
            predict_blocks(
                &layout,
                &params,
                Activation::Relu,
                OutActivation::Identity,
                x.view(),
                None,
                block,
            )
        };
        let reference = whole(4096);
        for block in [1, 7, 64, 256, 1000, 5000] {
            assert_eq!(whole(block), reference, "{units:?} block {block}");
        }
        let picked = reference.select(ndarray::Axis(0), &rows);
        for block in [5, 256, 4096] {
            let gathered = predict_blocks(
                &layout,
                &params,
                Activation::Relu,
                OutActivation::Identity,
                x.view(),
                Some(&rows),
                block,
            );
            assert_eq!(gathered, picked, "{units:?} rows block {block}");
        }
    }
}

/// Finite-difference check of the gradient for every hidden activation and output.
#[test]
fn gradient_matches_finite_differences() {
    let x = array![
        [0.3, -1.2, 0.5],
        [1.1, 0.4, -0.7],
        [-0.2, 0.9, 1.5],
        [0.8, -0.3, 0.1]
    ];
    let y_reg = array![[0.5, -1.0], [1.5, 0.2], [-0.3, 0.7], [0.0, 1.1]];
    let y_multi = array![[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]];
    let y_pois = array![[1.0, 0.0], [2.0, 3.0], [0.0, 1.0], [4.0, 1.0]];
    for activation in Activation::ALL {
        for (out, y) in [
            (OutActivation::Identity, &y_reg),
            (OutActivation::Logistic, &y_multi),
            (OutActivation::Softmax, &y_multi),
            (OutActivation::Exp, &y_pois),
        ] {
            for alpha in [0.0, 0.3] {
                let layout = Layout::new(&[3, 4, 3, 2]);
                let mut rng = NumpyRng::new(5);
                let params: Vec<f64> = init_params_sklearn(&layout, activation, &mut rng);
                let mut ws = Workspace::new(&layout, 4);
                let mut grad = vec![0.0; layout.len()];
                let loss_at = |p: &[f64], ws: &mut Workspace<f64>, g: &mut [f64]| {
                    full_batch_loss_grad(
                        &layout,
                        p,
                        activation,
                        out,
                        &x.view(),
                        &y.view(),
                        ws,
                        alpha,
                        g,
                    )
                };
                loss_at(&params, &mut ws, &mut grad);
                let mut scratch = vec![0.0; layout.len()];
                for k in 0..layout.len() {
                    let h = 1e-6;
                    let mut p = params.clone();
                    p[k] += h;
                    let up = loss_at(&p, &mut ws, &mut scratch);
                    p[k] -= 2.0 * h;
                    let down = loss_at(&p, &mut ws, &mut scratch);
                    let numeric = (up - down) / (2.0 * h);
                    // The multi-output squared loss averages over outputs while
                    // scikit-learn's gradient does not: compare against its scaling.
                    let scale = if out == OutActivation::Identity || out == OutActivation::Exp {
                        2.0
                    } else {
                        1.0
                    };
                    let analytic = grad[k];
                    let numeric_scaled = if k < layout.coefs_len() && alpha != 0.0 {
                        // The L2 part is not divided by the outputs.
                        let w = params[k];
                        (numeric - alpha * w / 4.0) * scale + alpha * w / 4.0
                    } else {
                        numeric * scale
                    };
                    assert!(
                        (numeric_scaled - analytic).abs() < 1e-6,
                        "{activation:?} {out:?} alpha {alpha} param {k}: {numeric_scaled} vs {analytic}"
                    );
                }
            }
        }
    }
}
