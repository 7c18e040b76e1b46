//! The synthetic functions of `tpe_synthetic` and `gp_synthetic` (minimised, with known
//! minima), whose definitions `bench/tpe_peers.py` and `bench/gp_vs_skopt.py` repeat, the
//! regret helpers, the toy estimator that lets a CV search minimise them, and the fine grids
//! the evolutionary search runs on.

use std::f64::consts::PI;

use mlp_tune::model_selection::param_space::Candidate;
use mlp_tune::model_selection::{
    Distribution, Estimator, ParamDistributions, ParamGrid, ParamValue,
};
use ndarray::{Array1, ArrayView1, ArrayView2};

/// Predicts `level` everywhere. A search's "estimator" for the point `x` is
/// `Level(sqrt(f(x) - f*))`: against zero targets its negated MSE is exactly `f* - f(x)`,
/// so maximising the CV score minimises `f`.
pub struct Level(pub f64);

impl Estimator<f64, f64> for Level {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> mlp_tune::Result<f64> {
        Ok(self.0)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> mlp_tune::Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

/// `levels` evenly spaced values from `low` to `high`, both included.
fn linspace(low: f64, high: f64, levels: usize) -> Vec<f64> {
    let step = (high - low) / (levels - 1) as f64;
    (0..levels)
        .map(|k| {
            if k + 1 == levels {
                high
            } else {
                low + k as f64 * step
            }
        })
        .collect()
}

/// The grid the evolutionary search (a genetic algorithm over lists) runs on for `problem`:
/// each real parameter as `levels` evenly spaced values over its range, both ends included
/// (log-spaced for `mixed`'s `lr`), each integer as all its values, each category as is.
/// `None` for an unknown problem.
pub fn fine_grid(problem: &str, levels: usize) -> Option<ParamGrid> {
    let axes = |dim: usize, low: f64, high: f64| {
        (0..dim).fold(ParamGrid::new(), |g, j| {
            g.add(&format!("x{j}"), linspace(low, high, levels))
        })
    };
    match problem {
        "branin" => Some(
            ParamGrid::new()
                .add("x1", linspace(-5.0, 10.0, levels))
                .add("x2", linspace(0.0, 15.0, levels)),
        ),
        "hartmann6" => Some(axes(6, 0.0, 1.0)),
        "styblinski_tang8" => Some(axes(8, -5.0, 5.0)),
        "mixed" => Some(
            ParamGrid::new()
                .add("kind", ["a", "b", "c"])
                .add(
                    "lr",
                    linspace(-4.0, 0.0, levels)
                        .into_iter()
                        .map(|e| 10f64.powf(e))
                        .collect::<Vec<_>>(),
                )
                .add("n", (1..=64).collect::<Vec<i64>>()),
        ),
        _ => None,
    }
}

pub struct Problem {
    pub name: &'static str,
    pub space: ParamDistributions,
    pub f: fn(&Candidate) -> f64,
    pub minimum: f64,
    /// A point at which both languages evaluate `f`, as a check.
    pub probe: Candidate,
}

pub fn num(c: &Candidate, name: &str) -> f64 {
    c.get(name)
        .and_then(|v| v.as_f64(name).ok())
        .unwrap_or(f64::NAN)
}

pub fn branin(c: &Candidate) -> f64 {
    let (x1, x2) = (num(c, "x1"), num(c, "x2"));
    let b = 5.1 / (4.0 * PI * PI);
    let cc = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + cc * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

pub const H_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
pub const H_A: [[f64; 6]; 4] = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
];
pub const H_P: [[f64; 6]; 4] = [
    [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
    [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
    [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
    [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
];

pub fn hartmann6(c: &Candidate) -> f64 {
    let x: Vec<f64> = (0..6).map(|j| num(c, &format!("x{j}"))).collect();
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..6)
                .map(|j| H_A[i][j] * (x[j] - 1e-4 * H_P[i][j]).powi(2))
                .sum();
            H_ALPHA[i] * (-inner).exp()
        })
        .sum::<f64>()
}

pub fn styblinski_tang8(c: &Candidate) -> f64 {
    0.5 * (0..8)
        .map(|j| {
            let x = num(c, &format!("x{j}"));
            x.powi(4) - 16.0 * x * x + 5.0 * x
        })
        .sum::<f64>()
}

pub fn mixed(c: &Candidate) -> f64 {
    let offset = match c.get("kind") {
        Some(ParamValue::Str(k)) if k == "a" => 1.0,
        Some(ParamValue::Str(k)) if k == "b" => 0.0,
        Some(ParamValue::Str(k)) if k == "c" => 0.5,
        _ => f64::NAN,
    };
    let u = num(c, "lr").log10() + 2.0;
    let v = (num(c, "n") - 20.0) / 8.0;
    offset + u * u + u * v + v * v
}

pub fn uniform(low: f64, high: f64) -> Distribution {
    Distribution::Uniform {
        loc: low,
        scale: high - low,
    }
}

pub fn box_space(dim: usize, low: f64, high: f64) -> ParamDistributions {
    (0..dim).fold(ParamDistributions::new(), |s, j| {
        s.add(&format!("x{j}"), uniform(low, high))
    })
}

pub fn point(values: &[(&str, ParamValue)]) -> Candidate {
    values
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub fn boxed_point(values: &[f64]) -> Candidate {
    values
        .iter()
        .enumerate()
        .map(|(j, &v)| (format!("x{j}"), ParamValue::Float(v)))
        .collect()
}

pub fn problems() -> Vec<Problem> {
    vec![
        Problem {
            name: "branin",
            space: ParamDistributions::new()
                .add("x1", uniform(-5.0, 10.0))
                .add("x2", uniform(0.0, 15.0)),
            f: branin,
            minimum: 5.0 / (4.0 * PI),
            probe: point(&[("x1", 1.0.into()), ("x2", 2.0.into())]),
        },
        Problem {
            name: "hartmann6",
            space: box_space(6, 0.0, 1.0),
            f: hartmann6,
            minimum: -3.322_368_011_415_514_7,
            probe: boxed_point(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        },
        Problem {
            name: "styblinski_tang8",
            space: box_space(8, -5.0, 5.0),
            f: styblinski_tang8,
            minimum: 8.0 * -39.166_165_703_771_42,
            probe: boxed_point(&[-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]),
        },
        Problem {
            name: "mixed",
            space: ParamDistributions::new()
                .add("kind", Distribution::list(["a", "b", "c"]))
                .add(
                    "lr",
                    Distribution::LogUniform {
                        low: 1e-4,
                        high: 1.0,
                    },
                )
                .add("n", Distribution::RandInt { low: 1, high: 65 }),
            f: mixed,
            minimum: 0.0,
            probe: point(&[
                ("kind", "c".into()),
                ("lr", 0.003.into()),
                ("n", 33i64.into()),
            ]),
        },
    ]
}

/// Best-so-far regret after each of the `values` (minimised).
pub fn regret_curve(values: &[f64], minimum: f64) -> Vec<f64> {
    let mut best = f64::INFINITY;
    values
        .iter()
        .map(|&v| {
            if v < best {
                best = v;
            }
            best - minimum
        })
        .collect()
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}
