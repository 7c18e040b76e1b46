//! The layer engine against hand computations and its own invariants.

use super::*;
use ndarray::array;

fn data() -> (Array2<f64>, Array2<f64>) {
    let x = array![
        [0.3, -1.2, 0.5],
        [1.1, 0.4, -0.7],
        [-0.2, 0.9, 1.5],
        [0.8, -0.3, 0.1],
        [-1.0, 0.2, -0.4]
    ];
    let y = array![[0.5], [1.5], [-0.3], [0.0], [0.9]];
    (x, y)
}

/// Central-difference check of the whole gradient with masks and noise held fixed.
fn check(specs: &[LayerSpec], alpha: f64, init: Initializer) {
    let (x, y) = data();
    let m = x.nrows();
    let net = Net::new(
        specs,
        3,
        1,
        OutActivation::Identity,
        init,
        Activation::Relu,
        0.99,
        1e-3,
    );
    let mut rng = NumpyRng::new(3);
    let (mut params, mut running) = net.init::<f64>(&mut rng);
    // Move PReLU slopes and BN scales off their initial values so the check sees them.
    for (k, p) in params.iter_mut().enumerate().skip(net.layout.len()) {
        *p += 0.1 + 0.05 * (k % 3) as f64;
    }
    let mut ws = NetWorkspace::new(&net, m);
    let idx: Vec<usize> = (0..m).collect();
    ws.gather_split(&x.view(), &idx, &y.view(), &idx);
    forward(
        &net,
        &params,
        &mut running,
        &mut ws,
        m,
        Mode::Train,
        &mut rng,
    );
    let _ = backward(&net, &params, &mut ws, m, alpha);
    let grad = ws.grads.clone();
    let mut eval = |p: &[f64], ws: &mut NetWorkspace<f64>| {
        forward(
            &net,
            p,
            &mut running,
            ws,
            m,
            Mode::TrainFixedMasks,
            &mut rng,
        );
        backward(&net, p, ws, m, alpha)
    };
    for k in 0..params.len() {
        if net.is_frozen(k) {
            assert_eq!(grad[k], 0.0);
            continue;
        }
        let h = 1e-6;
        let orig = params[k];
        params[k] = orig + h;
        let up = eval(&params, &mut ws);
        params[k] = orig - h;
        let down = eval(&params, &mut ws);
        params[k] = orig;
        let numeric = (up - down) / (2.0 * h);
        assert!(
            (numeric - grad[k]).abs() < 1e-5 * (1.0 + numeric.abs()),
            "{specs:?} param {k}: numeric {numeric} analytic {}",
            grad[k]
        );
    }
}

#[test]
fn gradient_every_activation() {
    for act in Activation::EXTENDED {
        check(
            &[LayerSpec::dense(4, act), LayerSpec::dense(3, act)],
            0.0,
            Initializer::Sklearn,
        );
    }
}

#[test]
fn gradient_dropout_with_fixed_mask() {
    check(
        &[
            LayerSpec::dense(6, Activation::Tanh).dropout(0.4),
            LayerSpec::dense(5, Activation::Selu).alpha_dropout(0.3),
            LayerSpec::dense(4, Activation::Relu).gaussian_noise(0.2),
        ],
        0.0,
        Initializer::GlorotUniform,
    );
}

#[test]
fn gradient_batch_norm_training_mode() {
    for pos in [
        BatchNormPosition::BeforeActivation,
        BatchNormPosition::AfterActivation,
    ] {
        check(
            &[
                LayerSpec::dense(4, Activation::Tanh)
                    .batch_norm(pos)
                    .use_bias(false),
                LayerSpec::dense(3, Activation::Prelu).batch_norm(pos),
            ],
            0.0,
            Initializer::HeNormal,
        );
    }
}

#[test]
fn gradient_regularizers() {
    check(
        &[
            LayerSpec::dense(4, Activation::Elu { alpha: 1.0 })
                .kernel_regularizer(0.01, 0.02)
                .activity_regularizer(0.03, 0.04),
            LayerSpec::activation_only(Activation::Tanh).activity_regularizer(0.0, 0.1),
            LayerSpec::dense(3, Activation::Swish).kernel_regularizer(0.0, 0.5),
        ],
        0.3,
        Initializer::LecunNormal,
    );
}

#[test]
fn prediction_is_deterministic_and_ignores_dropout() {
    let (x, _) = data();
    let specs = [LayerSpec::dense(8, Activation::Relu)
        .dropout(0.5)
        .gaussian_noise(1.0)];
    let net = Net::new(
        &specs,
        3,
        1,
        OutActivation::Identity,
        Initializer::Sklearn,
        Activation::Relu,
        0.99,
        1e-3,
    );
    let mut rng = NumpyRng::new(1);
    let (params, running) = net.init::<f64>(&mut rng);
    let a = predict(&net, &params, &running, x.view(), None);
    let b = predict(&net, &params, &running, x.view(), None);
    assert_eq!(a, b);
    // Without dropout/noise the same weights give the same outputs.
    let plain = Net::new(
        &[LayerSpec::dense(8, Activation::Relu)],
        3,
        1,
        OutActivation::Identity,
        Initializer::Sklearn,
        Activation::Relu,
        0.99,
        1e-3,
    );
    assert_eq!(predict(&plain, &params, &[], x.view(), None), a);
}

/// A row's prediction is the same whether it is predicted alone, in a short block or
/// in a long one spanning several 256-row blocks (the kernel does not follow the block
/// size), bit for bit, with batch norm and a wide layer in the mix.
#[test]
fn prediction_does_not_depend_on_the_rows_predicted_with_it() {
    let mut rng = NumpyRng::new(5);
    let x = Array2::from_shape_fn((600, 40), |_| rng.uniform(-1.0, 1.0));
    let specs = [
        LayerSpec::dense(120, Activation::Relu).batch_norm(BatchNormPosition::BeforeActivation),
        LayerSpec::dense(60, Activation::Tanh),
    ];
    let net = Net::new(
        &specs,
        40,
        3,
        OutActivation::Identity,
        Initializer::GlorotUniform,
        Activation::Relu,
        0.99,
        1e-3,
    );
    let (params, running) = net.init::<f64>(&mut rng);
    let all = predict(&net, &params, &running, x.view(), None);
    for (start, len) in [(0, 1), (17, 1), (3, 5), (250, 40), (599, 1), (100, 300)] {
        let part = predict(
            &net,
            &params,
            &running,
            x.slice(s![start..start + len, ..]),
            None,
        );
        assert_eq!(
            part,
            all.slice(s![start..start + len, ..]),
            "rows {start}+{len}"
        );
    }
}

#[test]
fn batch_norm_running_statistics_follow_keras_momentum() {
    let (x, y) = data();
    let specs = [
        LayerSpec::dense(2, Activation::Identity).batch_norm(BatchNormPosition::AfterActivation)
    ];
    let net = Net::new(
        &specs,
        3,
        1,
        OutActivation::Identity,
        Initializer::Sklearn,
        Activation::Relu,
        0.99,
        1e-3,
    );
    let mut rng = NumpyRng::new(1);
    let (params, mut running) = net.init::<f64>(&mut rng);
    let mut ws = NetWorkspace::new(&net, 5);
    ws.gather_split(&x.view(), &[0, 1, 2, 3, 4], &y.view(), &[0, 1, 2, 3, 4]);
    forward(
        &net,
        &params,
        &mut running,
        &mut ws,
        5,
        Mode::Train,
        &mut rng,
    );
    let z = ws.bufs[1].clone();
    for j in 0..2 {
        let col = z.column(j);
        let mean = col.sum() / 5.0;
        let var = col.mapv(|v| (v - mean) * (v - mean)).sum() / 5.0;
        assert!((running[j] - 0.01 * mean).abs() < 1e-12);
        assert!((running[2 + j] - (0.99 + 0.01 * var)).abs() < 1e-12);
    }
}

#[test]
fn initializer_scales() {
    let mut rng = NumpyRng::new(0);
    let (fan_in, fan_out) = (200, 100);
    for init in Initializer::ALL {
        let mut k = vec![0.0f64; fan_in * fan_out];
        let mut b = vec![1.0f64; fan_out];
        init.draw(&mut rng, fan_in, fan_out, Activation::Relu, &mut k, &mut b);
        let var = k.iter().map(|v| v * v).sum::<f64>() / k.len() as f64;
        let expected = match init {
            Initializer::Sklearn => 6.0 / 300.0 / 3.0,
            Initializer::GlorotUniform | Initializer::GlorotNormal => 2.0 / 300.0,
            Initializer::HeUniform | Initializer::HeNormal => 2.0 / 200.0,
            Initializer::LecunUniform | Initializer::LecunNormal => 1.0 / 200.0,
        };
        assert!(
            (var / expected - 1.0).abs() < 0.05,
            "{init:?}: {var} vs {expected}"
        );
        if init != Initializer::Sklearn {
            assert!(b.iter().all(|&v| v == 0.0));
            let sd = expected.sqrt() / 0.879_625_661_034_239_8;
            if matches!(
                init,
                Initializer::GlorotNormal | Initializer::HeNormal | Initializer::LecunNormal
            ) {
                assert!(k.iter().all(|v| v.abs() <= 2.0 * sd + 1e-12));
            }
        }
    }
}
