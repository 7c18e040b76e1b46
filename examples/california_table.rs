//! The California tabular benchmark: every optimizer looks up the same numbers.
//!
//! `bench/table/california_table.json` holds the 3-fold CV score of every configuration of a
//! discretized textbook space (400 configurations; regenerate with
//! `cargo run --release --bin mlp-tune -- run bench/table/california_table.toml`). Each
//! search here runs on look-ups of that table instead of fits (an estimator whose CV score is
//! the table's), so random search, TPE and the evolutionary search are compared on exactly the
//! same objective, over 8 seeds, in seconds. The GP search (`BayesSearchCV`) is in it too.
//!
//! For each seed: the best score a 30-trial random search reaches, and how many trials each
//! other search needs to reach it (31 when it never does within 30); the median over seeds.
//! Also the median regret (table optimum minus the best found) after 10, 20 and 30 trials.
//!
//! `cargo run --release --example california_table [-- --seeds 8 --trials 30]`
//!
//! Last line: `{"table_rows": .., "optimum": .., "trials": .., "seeds": .., "random_best_median": ..,
//! "trials_to_random_best": {"tpe": .., "gp": .., "evolutionary": ..}, "regret": {name: {"10": .., "20": .., "30": ..}},
//! "random_best_per_seed": [..], "trials_to_random_best_per_seed": {name: [..]}}` (the last two
//! keys added for `bench/table_peers.py`, which runs the Python peers against the same
//! per-seed random-search bests).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::flag;
use linfa::Dataset;
use mlp_tune::model_selection::param_space::candidate_to_json;
use mlp_tune::model_selection::{
    BayesSearchCV, Candidate, CvResults, Distribution, Estimator, EvolutionarySearchCV,
    ParamDistributions, ParamGrid, ParamValue, RandomizedSearchCV, TpeSearchCV,
};
use mlp_tune::Result;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Ix1};
use serde_json::{json, Value};

/// Predicts the constant whose negated MSE against zero targets is the table's score.
#[derive(Debug, Clone)]
struct Lookup(f64);

impl Estimator<f64, f64> for Lookup {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> Result<f64> {
        Ok(self.0)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

fn key(c: &Candidate) -> String {
    candidate_to_json(c).to_string()
}

fn to_param(v: &Value) -> ParamValue {
    match v {
        Value::Number(n) if n.is_i64() => ParamValue::Int(n.as_i64().unwrap_or(0)),
        Value::Number(n) => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => ParamValue::Str(s.clone()),
        Value::Bool(b) => ParamValue::Bool(*b),
        other => panic!("unexpected table value {other}"),
    }
}

/// The best score after each trial.
fn best_curve(results: &CvResults) -> Vec<f64> {
    common::best_so_far(results)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let seeds: u32 = flag("--seeds", 8);
    let trials: usize = flag("--trials", 30);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/table/california_table.json");
    let table: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        std::process::exit(2);
    }))
    .expect("the table is JSON");
    let params = table["params"].as_array().expect("params");
    let scores = table["mean_test_score"]
        .as_array()
        .expect("mean_test_score");
    let mut lookup: HashMap<String, f64> = HashMap::new();
    let mut axes: std::collections::BTreeMap<String, Vec<ParamValue>> = Default::default();
    for (p, s) in params.iter().zip(scores) {
        let c: Candidate = p
            .as_object()
            .expect("a candidate")
            .iter()
            .map(|(k, v)| (k.clone(), to_param(v)))
            .collect();
        for (k, v) in &c {
            let values = axes.entry(k.clone()).or_default();
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
        lookup.insert(key(&c), s.as_f64().unwrap_or(f64::NEG_INFINITY));
    }
    let optimum = lookup.values().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut grid = ParamGrid::new();
    let mut space = ParamDistributions::new();
    for (name, values) in &axes {
        grid = grid.add(name, values.clone());
        space = space.add(name, Distribution::List(values.clone()));
    }
    let builder = |c: &Candidate| -> Result<Lookup> {
        let score = lookup.get(&key(c)).copied().ok_or_else(|| {
            mlp_tune::MlpTuneError::SearchSpace(format!("{} is not in the table", key(c)))
        })?;
        Ok(Lookup((-score).max(0.0).sqrt()))
    };
    let data: Dataset<f64, f64, Ix1> = Dataset::new(Array2::zeros((8, 1)), Array1::zeros(8));
    println!(
        "table: {} configurations, optimum {optimum:.4}; {trials} trials, {seeds} seeds",
        lookup.len()
    );

    let mut curves: HashMap<&str, Vec<Vec<f64>>> = HashMap::new();
    for seed in 0..seeds {
        let random = RandomizedSearchCV::new(builder, space.clone(), trials)
            .random_state(seed)
            .cv(2)
            .refit(false)
            .fit(&data)
            .expect("random search");
        let tpe = TpeSearchCV::new(builder, space.clone(), trials)
            .random_state(seed)
            .cv(2)
            .refit(false)
            .fit(&data)
            .expect("TPE search");
        let bayes = BayesSearchCV::new(builder, space.clone(), trials)
            .random_state(seed)
            .cv(2)
            .refit(false)
            .fit(&data)
            .expect("GP search");
        // Generations until `trials` distinct configurations (the cache refits none).
        let evolution = EvolutionarySearchCV::new(builder, grid.clone())
            .population_size(10)
            .generations_number(40)
            .random_state(seed)
            .cv(2)
            .refit(false)
            .fit(&data)
            .expect("evolutionary search");
        for (name, search) in [
            ("random", &random),
            ("tpe", &tpe),
            ("gp", &bayes),
            ("evolutionary", &evolution),
        ] {
            let mut curve = best_curve(search.cv_results());
            curve.truncate(trials);
            while curve.len() < trials {
                let last = curve.last().copied().unwrap_or(f64::NEG_INFINITY);
                curve.push(last);
            }
            curves.entry(name).or_default().push(curve);
        }
    }
    let random_best: Vec<f64> = curves["random"].iter().map(|c| c[trials - 1]).collect();
    let mut to_random = serde_json::Map::new();
    let mut reach_per_seed = serde_json::Map::new();
    let mut regret = serde_json::Map::new();
    println!("\nsearch         trials to the 30-trial random best (median)   regret at 10 / 20 / {trials} (median)");
    for name in ["random", "tpe", "gp", "evolutionary"] {
        let reach: Vec<f64> = curves[name]
            .iter()
            .zip(&random_best)
            .map(|(curve, &target)| {
                curve
                    .iter()
                    .position(|&s| s >= target)
                    .map_or(trials as f64 + 1.0, |i| i as f64 + 1.0)
            })
            .collect();
        let at = |n: usize| {
            median(
                curves[name]
                    .iter()
                    .map(|c| optimum - c[n.min(trials) - 1])
                    .collect(),
            )
        };
        let (r10, r20, r30) = (at(10), at(20), at(trials));
        println!(
            "{name:<14} {:>10.1} (per seed {:?})   {r10:.4} / {r20:.4} / {r30:.4}",
            median(reach.clone()),
            reach.iter().map(|&r| r as usize).collect::<Vec<_>>()
        );
        reach_per_seed.insert(name.into(), json!(reach));
        if name != "random" {
            to_random.insert(name.into(), json!(median(reach)));
        }
        regret.insert(
            name.into(),
            json!({"10": r10, "20": r20, trials.to_string(): r30}),
        );
    }
    println!(
        "{}",
        json!({
            "table_rows": lookup.len(),
            "optimum": optimum,
            "trials": trials,
            "seeds": seeds,
            "random_best_median": median(random_best.clone()),
            "random_best_per_seed": random_best,
            "trials_to_random_best_per_seed": reach_per_seed,
            "trials_to_random_best": to_random,
            "regret": regret,
        })
    );
}
