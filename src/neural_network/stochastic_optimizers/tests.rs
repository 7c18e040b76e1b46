//! Update rules and schedules checked by hand.

use super::*;

fn run(kind: OptimizerKind, p0: f64, grads: &[f64], lr: f64) -> Vec<f64> {
    let mut opt = GeneralOptimizer::<f64>::new(kind, 1);
    let mut p = [p0];
    grads
        .iter()
        .map(|&g| {
            opt.step(&mut p, &[g], lr);
            p[0]
        })
        .collect()
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
}

#[test]
fn keras_sgd_momentum_by_hand() {
    let kind = OptimizerKind::Sgd {
        momentum: 0.5,
        nesterov: false,
    };
    let p = run(kind, 1.0, &[2.0, 1.0], 0.1);
    // v1 = -0.2, p1 = 0.8; v2 = -0.1 - 0.1 = -0.2, p2 = 0.6
    close(p[0], 0.8);
    close(p[1], 0.6);
}

#[test]
fn adam_and_amsgrad_by_hand() {
    let adam = |amsgrad| OptimizerKind::Adam {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad,
    };
    let p = run(adam(false), 1.0, &[2.0, 0.5], 0.01);
    // step 1: m = 0.2, v = 0.004, alpha = 0.01·sqrt(0.001)/0.1
    let a1 = 0.01 * (1.0f64 - 0.999).sqrt() / (1.0 - 0.9);
    let p1 = 1.0 - 0.2 * a1 / (0.004f64.sqrt() + 1e-7);
    close(p[0], p1);
    // step 2: m = 0.18 + 0.05, v = 0.003996 + 0.00025
    let (m2, v2) = (0.9 * 0.2 + 0.1 * 0.5, 0.999 * 0.004 + 0.001 * 0.25);
    let a2 = 0.01 * (1.0f64 - 0.999f64.powi(2)).sqrt() / (1.0 - 0.81);
    let p2 = p1 - m2 * a2 / (f64::sqrt(v2) + 1e-7);
    close(p[1], p2);
    // AMSGrad keeps v̂ = max(0.004, 0.004246) = v2 here; with a shrinking gradient it
    // keeps the old maximum instead.
    let q = run(adam(true), 1.0, &[2.0, 0.0], 0.01);
    let m2 = 0.18;
    let v2_raw = 0.999 * 0.004;
    let q2 = p1 - m2 * a2 / (f64::sqrt(0.004f64.max(v2_raw)) + 1e-7);
    close(q[1], q2);
}

#[test]
fn adamw_decays_before_the_adam_step() {
    let kind = OptimizerKind::AdamW {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad: false,
        weight_decay: 0.1,
    };
    let p = run(kind, 2.0, &[1.0], 0.01);
    let decayed = 2.0 - 2.0 * 0.01 * 0.1;
    let a1 = 0.01 * (1.0f64 - 0.999).sqrt() / 0.1;
    close(p[0], decayed - 0.1 * a1 / (0.001f64.sqrt() + 1e-7));
}

#[test]
fn nadam_first_step_by_hand() {
    let kind = OptimizerKind::Nadam {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    };
    let p = run(kind, 1.0, &[2.0], 0.01);
    let u1 = 0.9 * (1.0 - 0.5 * 0.96);
    let u2 = 0.9 * (1.0 - 0.5 * 0.96f64.powi(2));
    let m = 0.2;
    let m_hat = u2 * m / (1.0 - u1 * u2) + (1.0 - u1) * 2.0 / (1.0 - u1);
    let v_hat = 0.004 / (1.0 - 0.999);
    close(p[0], 1.0 - m_hat * 0.01 / (f64::sqrt(v_hat) + 1e-7));
}

#[test]
fn rmsprop_plain_centered_and_momentum_by_hand() {
    let kind = |centered, momentum| OptimizerKind::RmsProp {
        rho: 0.9,
        momentum,
        centered,
        epsilon: 1e-7,
    };
    let p = run(kind(false, 0.0), 1.0, &[2.0, 1.0], 0.01);
    let v1 = 0.1 * 4.0;
    let p1 = 1.0 - 0.01 * 2.0 / f64::sqrt(v1 + 1e-7);
    close(p[0], p1);
    let v2 = 0.9 * v1 + 0.1;
    close(p[1], p1 - 0.01 / f64::sqrt(v2 + 1e-7));
    let c = run(kind(true, 0.0), 1.0, &[2.0], 0.01);
    let avg = 0.2;
    close(c[0], 1.0 - 0.01 * 2.0 / f64::sqrt(v1 - avg * avg + 1e-7));
    let mm = run(kind(false, 0.5), 1.0, &[2.0, 1.0], 0.01);
    let inc1 = 0.01 * 2.0 / f64::sqrt(v1 + 1e-7);
    let inc2 = 0.01 / f64::sqrt(v2 + 1e-7);
    close(mm[1], 1.0 - inc1 - (0.5 * inc1 + inc2));
}

#[test]
fn adagrad_by_hand() {
    let kind = OptimizerKind::Adagrad {
        initial_accumulator_value: 0.1,
        epsilon: 1e-7,
    };
    let p = run(kind, 1.0, &[2.0, 1.0], 0.1);
    let p1 = 1.0 - 0.1 * 2.0 / f64::sqrt(4.1 + 1e-7);
    close(p[0], p1);
    close(p[1], p1 - 0.1 / f64::sqrt(5.1 + 1e-7));
}

#[test]
fn clipping_by_norm_then_value() {
    let mut g = [3.0f64, 4.0];
    clip_gradients(&mut g, Some(1.0), None);
    close(g[0], 0.6);
    close(g[1], 0.8);
    let mut g = [3.0f64, -4.0, 0.1];
    clip_gradients(&mut g, None, Some(0.5));
    assert_eq!(g, [0.5, -0.5, 0.1]);
    let mut g = [0.3f64, 0.4];
    clip_gradients(&mut g, Some(1.0), None);
    assert_eq!(g, [0.3, 0.4]);
}

#[test]
fn schedules_by_hand() {
    let e = Schedule::ExponentialDecay {
        decay_steps: 10,
        decay_rate: 0.5,
        staircase: false,
    };
    close(e.at_step(0.1, 0, 0), 0.1);
    close(e.at_step(0.1, 5, 0), 0.1 * 0.5f64.sqrt());
    let st = Schedule::ExponentialDecay {
        decay_steps: 10,
        decay_rate: 0.5,
        staircase: true,
    };
    close(st.at_step(0.1, 19, 0), 0.05);
    let c = Schedule::CosineDecay {
        decay_steps: 0,
        alpha: 0.1,
    };
    close(c.at_step(1.0, 0, 100), 1.0);
    close(c.at_step(1.0, 50, 100), 0.9 * 0.5 + 0.1);
    close(c.at_step(1.0, 500, 100), 0.1);
    assert!(Schedule::from_name("step_decay").is_err());
    assert!(OptimizerKind::from_name("adamax").is_err());
    for name in OptimizerKind::NAMES {
        assert_eq!(OptimizerKind::from_name(name).unwrap().name(), name);
    }
}

#[test]
fn sgd_nesterov_first_steps_by_hand() {
    let mut opt = Optimizer::<f64>::sgd(1, 0.1, LearningRate::Constant, 0.9, true, 0.5);
    let mut p = [1.0];
    opt.update(&mut p, &[2.0]);
    // v = -0.2; update = 0.9 * -0.2 - 0.2 = -0.38
    assert!((p[0] - 0.62).abs() < 1e-15);
    opt.update(&mut p, &[1.0]);
    // v = 0.9 * -0.2 - 0.1 = -0.28; update = 0.9 * -0.28 - 0.1 = -0.352
    assert!((p[0] - (0.62 - 0.352)).abs() < 1e-15);
}

#[test]
fn adam_first_step_is_lr_times_sign() {
    let mut opt = Optimizer::<f64>::adam(2, 0.01, 0.9, 0.999, 1e-8);
    let mut p = [0.0, 0.0];
    opt.update(&mut p, &[3.0, -0.5]);
    // m̂ / sqrt(v̂) = sign(g) on the first step
    assert!((p[0] + 0.01).abs() < 1e-7);
    assert!((p[1] - 0.01).abs() < 1e-7);
}

#[test]
fn adaptive_divides_then_stops() {
    let mut opt = Optimizer::<f64>::sgd(1, 1e-5, LearningRate::Adaptive, 0.0, false, 0.5);
    assert!(!opt.trigger_stopping());
    assert!((opt.learning_rate() - 2e-6).abs() < 1e-20);
    assert!(!opt.trigger_stopping());
    assert!(opt.trigger_stopping());
}
