//! The GP of `BayesSearchCV` against scikit-learn 1.9.1's `GaussianProcessRegressor` and
//! scikit-optimize 0.10.2's acquisition functions, from `tests/data/gp_oracle.json`
//! (written by `tests/oracle/gp_oracle.py`, which says what each number is).
//!
//! Tolerances: the log marginal likelihood, its gradient, the posterior mean and standard
//! deviation and the acquisition values at fixed hyperparameters agree to 1e-10 (relative
//! to the magnitude, at least absolute 1e-10). The fitted hyperparameters come from
//! different quasi-Newton iterations (ours is not scipy's L-BFGS-B), so they are compared
//! to the optimum: our LML is at least scikit-learn's (minus 1e-9), the hyperparameters at
//! a bound are exactly the bound, and the interior ones are within 1e-3 (in log space) of
//! the tightly polished optimum, which is as close as scipy's default stop itself gets.

use mlp_tune::model_selection::gp::inspect::{
    expected_improvement, log_marginal_likelihood, lower_confidence_bound,
    probability_of_improvement, Gp, Hyper,
};
use mlp_tune::random::NumpyRng;
use serde_json::Value;

fn oracle() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gp_oracle.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(what: &str, ours: f64, theirs: f64, tol: f64) {
    let err = (ours - theirs).abs() / theirs.abs().max(1.0);
    assert!(
        err <= tol,
        "{what}: ours {ours}, scikit-learn {theirs} (error {err:e})"
    );
}

fn cases() -> Vec<Value> {
    oracle()["cases"].as_array().unwrap().clone()
}

#[test]
fn log_marginal_likelihood_and_gradient_match_scikit_learn() {
    for c in cases() {
        let (x, y, d) = (
            floats(&c["x"]),
            floats(&c["y"]),
            c["d"].as_u64().unwrap() as usize,
        );
        for point in c["lml"].as_array().unwrap() {
            let theta = floats(&point["theta"]);
            let (value, grad) = log_marginal_likelihood(&x, d, &y, &theta);
            let name = c["name"].as_str().unwrap();
            close(
                &format!("{name} lml at {theta:?}"),
                value,
                point["value"].as_f64().unwrap(),
                1e-10,
            );
            for (q, (g, e)) in grad.iter().zip(floats(&point["grad"])).enumerate() {
                close(
                    &format!("{name} d lml / d theta[{q}] at {theta:?}"),
                    *g,
                    e,
                    1e-10,
                );
            }
        }
    }
}

#[test]
fn posterior_and_acquisitions_match_at_fixed_hyperparameters() {
    for c in cases() {
        let (x, y, d) = (
            floats(&c["x"]),
            floats(&c["y"]),
            c["d"].as_u64().unwrap() as usize,
        );
        let p = &c["posterior"];
        let h = &p["hyper"];
        let hyper = Hyper {
            constant: h["constant"].as_f64().unwrap(),
            length_scales: floats(&h["length_scales"]),
            noise: h["noise"].as_f64().unwrap(),
        };
        let gp = Gp::with_hyper(&x, d, &y, hyper).unwrap();
        let (mean, std) = gp.predict(&floats(&p["probes"]));
        let (y_opt, xi, kappa) = (
            p["y_opt"].as_f64().unwrap(),
            p["xi"].as_f64().unwrap(),
            p["kappa"].as_f64().unwrap(),
        );
        let name = c["name"].as_str().unwrap();
        let expected = [
            floats(&p["mean"]),
            floats(&p["std"]),
            floats(&p["ei"]),
            floats(&p["pi"]),
            floats(&p["lcb"]),
        ];
        for i in 0..mean.len() {
            let ours = [
                mean[i],
                std[i],
                expected_improvement(mean[i], std[i], y_opt, xi),
                probability_of_improvement(mean[i], std[i], y_opt, xi),
                lower_confidence_bound(mean[i], std[i], kappa),
            ];
            for (k, what) in ["mean", "std", "ei", "pi", "lcb"].iter().enumerate() {
                close(
                    &format!("{name} {what} at probe {i}"),
                    ours[k],
                    expected[k][i],
                    1e-10,
                );
            }
        }
        // The last probes of the noisy case are training points: a small but nonzero std.
        assert!(std.iter().all(|s| *s >= 0.0));
    }
}

#[test]
fn fitted_hyperparameters_reach_scikit_learns_optimum() {
    for c in cases() {
        let (x, y, d) = (
            floats(&c["x"]),
            floats(&c["y"]),
            c["d"].as_u64().unwrap() as usize,
        );
        let name = c["name"].as_str().unwrap();
        let start = Hyper {
            constant: 1.0,
            length_scales: vec![1.0; d],
            noise: 1.0,
        };
        // No restarts: the rng is not drawn from.
        let gp = Gp::fit(&x, d, &y, &start, 0, &mut NumpyRng::new(0)).unwrap();
        let theta = gp.hyper().theta();
        let f = &c["fitted"];
        let (sk_lml, tight) = (f["lml"].as_f64().unwrap(), floats(&f["tight_theta"]));
        let sk_theta = floats(&f["theta"]);
        let lml = gp.log_marginal_likelihood();
        assert!(
            lml >= sk_lml - 1e-9,
            "{name}: our LML {lml} < scikit-learn's {sk_lml}"
        );
        let (lo, hi) = (
            [0.01f64.ln(), 0.01f64.ln(), 1e-5f64.ln()],
            [1000f64.ln(), 100f64.ln(), 1e5f64.ln()],
        );
        for q in 0..theta.len() {
            let kind = if q == 0 {
                0
            } else if q == d + 1 {
                2
            } else {
                1
            };
            let at_bound = [lo[kind], hi[kind]]
                .iter()
                .any(|b| (sk_theta[q] - b).abs() < 1e-12);
            if at_bound {
                assert_eq!(theta[q], sk_theta[q], "{name}: theta[{q}] at its bound");
            } else {
                assert!(
                    (theta[q] - tight[q]).abs() < 1e-3,
                    "{name}: theta[{q}] = {} vs the optimum {} (scikit-learn {})",
                    theta[q],
                    tight[q],
                    sk_theta[q]
                );
            }
        }
    }
}
