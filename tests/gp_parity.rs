//! The GP of `BayesSearchCV` against scikit-learn 1.9.1's `GaussianProcessRegressor` and
//! scikit-optimize 0.10.2's acquisition functions, from `tests/data/gp_oracle.json`
//! (written by `tests/oracle/gp_oracle.py`, which says what each number is).
//!
//! Tolerances: the log marginal likelihood, its gradient, the posterior mean and standard
//! deviation and the acquisition values at fixed hyperparameters agree to 1e-10 (relative
//! to the magnitude, at least absolute 1e-10).
//!
//! Fitted hyperparameters (from the kernel's start, no restarts): run to the optimum on
//! both sides ([`FitTolerance::Converged`] here; scikit-learn with the oracle's
//! `converged_optimizer`: scipy's L-BFGS-B without tolerances, then Newton steps), the log
//! hyperparameters, the LML and the posterior and acquisitions at the probe points with
//! them agree to 1e-10, and a hyperparameter at a bound is exactly the bound on both
//! sides. At the default tolerances (scipy's, where scikit-learn's own fit stops), the
//! two quasi-Newton methods stop at different points near the optimum: our LML is at
//! least scikit-learn's (minus 1e-9), the interior log hyperparameters within 1e-3 of the
//! optimum, the ones at a bound exactly on it.

use mlp_tune::model_selection::gp::inspect::{
    expected_improvement, log_marginal_likelihood, lower_confidence_bound,
    probability_of_improvement, FitTolerance, Gp, Hyper,
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

/// The log bounds of `θ[q]` for `d` columns (scikit-optimize's).
fn bounds_of(q: usize, d: usize) -> (f64, f64) {
    if q == 0 {
        (0.01f64.ln(), 1000f64.ln())
    } else if q == d + 1 {
        (1e-5f64.ln(), 1e5f64.ln())
    } else {
        (0.01f64.ln(), 100f64.ln())
    }
}

fn data(c: &Value) -> (Vec<f64>, Vec<f64>, usize, String) {
    (
        floats(&c["x"]),
        floats(&c["y"]),
        c["d"].as_u64().unwrap() as usize,
        c["name"].as_str().unwrap().to_string(),
    )
}

#[test]
fn default_fit_stops_near_scikit_learns_optimum() {
    for c in cases() {
        let (x, y, d, name) = data(&c);
        // No restarts: the rng is not drawn from.
        let gp = Gp::fit(&x, d, &y, &Hyper::start(d), 0, &mut NumpyRng::new(0)).unwrap();
        let theta = gp.hyper().theta();
        let (sk_lml, sk_theta) = (
            c["fitted"]["lml"].as_f64().unwrap(),
            floats(&c["fitted"]["theta"]),
        );
        let optimum = floats(&c["converged"]["theta"]);
        let lml = gp.log_marginal_likelihood();
        assert!(
            lml >= sk_lml - 1e-9,
            "{name}: our LML {lml} < scikit-learn's {sk_lml}"
        );
        for q in 0..theta.len() {
            let (lo, hi) = bounds_of(q, d);
            if sk_theta[q] == lo || sk_theta[q] == hi {
                assert_eq!(theta[q], sk_theta[q], "{name}: theta[{q}] at its bound");
            } else {
                assert!(
                    (theta[q] - optimum[q]).abs() < 1e-3,
                    "{name}: theta[{q}] = {} vs the optimum {} (scikit-learn {})",
                    theta[q],
                    optimum[q],
                    sk_theta[q]
                );
            }
        }
    }
}

#[test]
fn converged_fit_matches_scikit_learns_converged_fit() {
    for c in cases() {
        let (x, y, d, name) = data(&c);
        let gp = Gp::fit_with(
            &x,
            d,
            &y,
            &Hyper::start(d),
            0,
            &mut NumpyRng::new(0),
            FitTolerance::Converged,
        )
        .unwrap();
        let theta = gp.hyper().theta();
        let conv = &c["converged"];
        let sk_theta = floats(&conv["theta"]);
        // The oracle's data sets are chosen so the optimum is well-conditioned: the free
        // Hessian's smallest eigenvalue and the projected gradient left bound the distance
        // to the true optimum far below the tolerance.
        let eig = conv["min_free_hessian_eigenvalue"].as_f64().unwrap();
        let pg = conv["projected_gradient"].as_f64().unwrap();
        assert!(
            pg / eig < 2e-11,
            "{name}: oracle not converged ({pg:e} / {eig:e})"
        );
        for q in 0..theta.len() {
            let (lo, hi) = bounds_of(q, d);
            if sk_theta[q] == lo || sk_theta[q] == hi {
                assert_eq!(theta[q], sk_theta[q], "{name}: theta[{q}] at its bound");
            } else {
                close(&format!("{name} theta[{q}]"), theta[q], sk_theta[q], 1e-10);
            }
        }
        close(
            &format!("{name} fitted lml"),
            gp.log_marginal_likelihood(),
            conv["lml"].as_f64().unwrap(),
            1e-10,
        );
        let p = &c["posterior"];
        let (mean, std) = gp.predict(&floats(&p["probes"]));
        let (y_opt, xi, kappa) = (
            p["y_opt"].as_f64().unwrap(),
            p["xi"].as_f64().unwrap(),
            p["kappa"].as_f64().unwrap(),
        );
        let q = &conv["posterior"];
        let expected = [
            floats(&q["mean"]),
            floats(&q["std"]),
            floats(&q["ei"]),
            floats(&q["pi"]),
            floats(&q["lcb"]),
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
                    &format!("{name} fitted {what} at probe {i}"),
                    ours[k],
                    expected[k][i],
                    1e-10,
                );
            }
        }
    }
}
