//! Parity of the TPE sampler with Optuna 5.0.0's `TPESampler`: for every case recorded by
//! `tests/oracle/tpe_oracle.py` in `tests/data/tpe_oracle.json`, the below/above split,
//! the multivariate group, every mixture component (weights, mu/sigma in the transformed
//! space, categorical weights), `log l(x) - log g(x)` at probe points, and the next
//! proposal of a sampler seeded like Optuna's; and whole searches from the first trial
//! (random startup draws of every kind of distribution, then the model's proposals), trial
//! for trial.
//!
//! Tolerance: `|ours - optuna| <= 1e-12 * max(1, |optuna|)`, i.e. absolute 1e-12 for
//! values up to 1 in magnitude and relative 1e-12 beyond.

use mlp_tune::model_selection::param_space::{
    Candidate, Distribution, ParamDistributions, ParamValue,
};
use mlp_tune::model_selection::tpe::inspect::{self, Kernels};
use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler, TpeTrial, TrialState};
use mlp_tune::random::NumpyRng;
use serde_json::Value;

const TOL: f64 = 1e-12;

fn oracle() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tpe_oracle.json");
    let text = std::fs::read_to_string(path).expect("tests/data/tpe_oracle.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            other => panic!("not a number: {other}"),
        },
        other => panic!("not a number: {other}"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

fn value(v: &Value) -> ParamValue {
    match v {
        Value::Bool(b) => ParamValue::Bool(*b),
        Value::Number(n) if n.is_i64() => ParamValue::Int(n.as_i64().unwrap()),
        Value::Number(n) => ParamValue::Float(n.as_f64().unwrap()),
        Value::String(s) => ParamValue::Str(s.clone()),
        other => panic!("unsupported value {other}"),
    }
}

fn distribution(d: &Value) -> Distribution {
    let f = |k: &str| d[k].as_f64().unwrap();
    let i = |k: &str| d[k].as_i64().unwrap();
    match d["kind"].as_str().unwrap() {
        "list" => Distribution::List(d["values"].as_array().unwrap().iter().map(value).collect()),
        "uniform" => Distribution::Uniform {
            loc: f("loc"),
            scale: f("scale"),
        },
        "loguniform" => Distribution::LogUniform {
            low: f("low"),
            high: f("high"),
        },
        "randint" => Distribution::RandInt {
            low: i("low"),
            high: i("high"),
        },
        "lograndint" => Distribution::LogRandInt {
            low: i("low"),
            high: i("high"),
        },
        "floatstep" => Distribution::FloatStep {
            low: f("low"),
            high: f("high"),
            step: f("step"),
        },
        "intstep" => Distribution::IntStep {
            low: i("low"),
            high: i("high"),
            step: i("step"),
        },
        other => panic!("unknown kind {other}"),
    }
}

/// A case's or a search's space, `{name: distribution}`.
fn space_of(space: &Value) -> ParamDistributions {
    space
        .as_object()
        .unwrap()
        .iter()
        .fold(ParamDistributions::new(), |acc, (k, d)| {
            acc.add(k, distribution(d))
        })
}

/// Largest errors seen, and where.
#[derive(Default)]
struct Errors {
    max_abs: f64,
    max_rel: f64,
    checked: usize,
    failures: Vec<String>,
}

impl Errors {
    fn check(&mut self, what: &str, ours: f64, theirs: f64) {
        self.checked += 1;
        if ours == theirs || (ours.is_nan() && theirs.is_nan()) {
            return;
        }
        let abs = (ours - theirs).abs();
        self.max_abs = self.max_abs.max(abs);
        self.max_rel = self.max_rel.max(abs / theirs.abs().max(f64::MIN_POSITIVE));
        let within = abs <= TOL * theirs.abs().max(1.0);
        if !within {
            self.failures
                .push(format!("{what}: ours {ours:e}, optuna {theirs:e}"));
        }
    }

    fn check_all(&mut self, what: &str, ours: &[f64], theirs: &[f64]) {
        if ours.len() != theirs.len() {
            self.failures.push(format!(
                "{what}: {} values, optuna has {}",
                ours.len(),
                theirs.len()
            ));
            return;
        }
        for (k, (a, b)) in ours.iter().zip(theirs).enumerate() {
            self.check(&format!("{what}[{k}]"), *a, *b);
        }
    }
}

fn check_estimator(
    errors: &mut Errors,
    what: &str,
    ours: &inspect::ParzenEstimator,
    theirs: &Value,
    names: &[&str],
) {
    errors.check_all(
        &format!("{what} weights"),
        &ours.weights,
        &nums(&theirs["weights"]),
    );
    for (name, kernels) in names.iter().zip(&ours.kernels) {
        let t = &theirs["params"][*name];
        match kernels {
            Kernels::Categorical { weights } => {
                let rows = t["categorical"]
                    .as_array()
                    .expect("categorical on both sides");
                assert_eq!(weights.len(), rows.len(), "{what} {name} components");
                for (c, (row, trow)) in weights.iter().zip(rows).enumerate() {
                    errors.check_all(&format!("{what} {name} component {c}"), row, &nums(trow));
                }
            }
            Kernels::Numerical { mu, sigma, .. } => {
                errors.check_all(&format!("{what} {name} mu"), mu, &nums(&t["mu"]));
                errors.check_all(&format!("{what} {name} sigma"), sigma, &nums(&t["sigma"]));
            }
        }
    }
}

#[test]
fn tpe_matches_optuna() {
    let doc = oracle();
    assert_eq!(doc["optuna_version"], "5.0.0");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    let mut errors = Errors::default();
    let mut proposals_checked = 0;
    // Cases whose history has no tie that numpy's argsort orders differently from ours:
    // there the oracle is Optuna unmodified.
    let mut untouched_cases = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let space = space_of(&case["space"]);
        let opts = &case["options"];
        let defaults = TpeOptions::default();
        let options = TpeOptions {
            multivariate: opts["multivariate"]
                .as_bool()
                .unwrap_or(defaults.multivariate),
            constant_liar: opts["constant_liar"]
                .as_bool()
                .unwrap_or(defaults.constant_liar),
            prior_weight: opts["prior_weight"]
                .as_f64()
                .unwrap_or(defaults.prior_weight),
            consider_magic_clip: opts["consider_magic_clip"]
                .as_bool()
                .unwrap_or(defaults.consider_magic_clip),
            consider_endpoints: opts["consider_endpoints"]
                .as_bool()
                .unwrap_or(defaults.consider_endpoints),
            ..defaults
        };
        let params: Vec<Candidate> = case["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t["params"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), value(v)))
                    .collect()
            })
            .collect();
        let history: Vec<TpeTrial<'_>> = case["history"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&params)
            .map(|(t, p)| TpeTrial {
                params: p,
                state: match t["state"].as_str().unwrap() {
                    "complete" => TrialState::Complete(num(&t["value"])),
                    "running" => TrialState::Running,
                    "fail" => TrialState::Failed,
                    other => panic!("state {other}"),
                },
            })
            .collect();

        let (below, above) = inspect::split(&history, &options);
        let to_idx = |v: &Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        assert_eq!(below, to_idx(&case["below"]), "{name}: below");
        assert_eq!(above, to_idx(&case["above"]), "{name}: above");

        let relative = inspect::relative_params(&space, &history, &options).unwrap();
        let expected: Vec<String> = case["relative"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(relative, expected, "{name}: multivariate group");

        for (g, group) in case["groups"].as_array().unwrap().iter().enumerate() {
            let names: Vec<&str> = group["names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let (l, gg) = inspect::parzen_estimators(&space, &history, &names, &options).unwrap();
            // Long cases keep only the log ratio and the proposals.
            if case["store_components"].as_bool().unwrap() {
                check_estimator(
                    &mut errors,
                    &format!("{name} group {g} below"),
                    &l,
                    &group["below"],
                    &names,
                );
                check_estimator(
                    &mut errors,
                    &format!("{name} group {g} above"),
                    &gg,
                    &group["above"],
                    &names,
                );
            }
            let probes: Vec<Vec<f64>> = group["probes"]
                .as_array()
                .unwrap()
                .iter()
                .map(nums)
                .collect();
            let ratio = inspect::log_ratio(&space, &history, &names, &options, &probes).unwrap();
            errors.check_all(
                &format!("{name} group {g} log_ratio"),
                &ratio,
                &nums(&group["log_ratio"]),
            );
        }

        // The sampler's next proposals, each earlier one still running, one generator.
        let seed = case["seed"].as_u64().unwrap() as u32;
        let mut rng = NumpyRng::new(seed);
        let expected: Vec<Candidate> = case["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), value(v)))
                    .collect()
            })
            .collect();
        let mut proposals: Vec<Candidate> = Vec::new();
        for (round, theirs) in expected.iter().enumerate() {
            let mut with_running = history.clone();
            with_running.extend(proposals.iter().map(|p| TpeTrial {
                params: p,
                state: TrialState::Running,
            }));
            let proposal = inspect::propose(&space, &with_running, &options, &mut rng).unwrap();
            assert_eq!(
                proposal.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>(),
                "{name}: proposal {round} keys"
            );
            for (k, t) in theirs {
                match (&proposal[k], t) {
                    (ParamValue::Float(a), ParamValue::Float(b)) => {
                        errors.check(&format!("{name} proposal {round} {k}"), *a, *b)
                    }
                    (a, b) => assert_eq!(a, b, "{name}: proposal {round} {k}"),
                }
            }
            proposals.push(proposal);
            proposals_checked += 1;
        }
        if !case["ties_reordered"].as_bool().unwrap() {
            untouched_cases += 1;
        }
    }
    eprintln!(
        "tpe parity: {} cases ({untouched_cases} without reordered ties), {} values and \
         {proposals_checked} proposals checked; max abs error {:e}, max rel error {:e}",
        cases.len(),
        errors.checked,
        errors.max_abs,
        errors.max_rel
    );
    assert!(
        untouched_cases >= 3,
        "too few cases against unmodified Optuna"
    );
    assert!(
        errors.failures.is_empty(),
        "{} mismatches beyond 1e-12, first ones:\n{}",
        errors.failures.len(),
        errors.failures[..errors.failures.len().min(20)].join("\n")
    );
}

fn float(c: &Candidate, k: &str) -> f64 {
    match c[k] {
        ParamValue::Float(v) => v,
        ParamValue::Int(v) => v as f64,
        ref other => panic!("{k}: not a number: {other:?}"),
    }
}

fn int(c: &Candidate, k: &str) -> i64 {
    match c[k] {
        ParamValue::Int(v) => v,
        ref other => panic!("{k}: not an int: {other:?}"),
    }
}

fn text<'a>(c: &'a Candidate, k: &str) -> &'a str {
    match c[k] {
        ParamValue::Str(ref v) => v,
        ref other => panic!("{k}: not a string: {other:?}"),
    }
}

/// The oracle's objectives, term by term in the order Python evaluates them.
fn objective(name: &str, p: &Candidate) -> f64 {
    use std::f64::consts::PI;
    match name {
        "mixed_poly" => {
            let act = match text(p, "act") {
                "relu" => 0.5,
                "tanh" => 0.2,
                _ => 0.0,
            };
            let early = match p["early"] {
                ParamValue::Bool(true) => 0.1,
                _ => 0.0,
            };
            let n_layers = int(p, "n_layers") - 2;
            -(float(p, "lr") - 0.05).powi(2) * 400.0
                - (float(p, "alpha") * 20.0 - 1.0).powi(2)
                - ((int(p, "batch") - 96) as f64 / 64.0).powi(2)
                - (float(p, "momentum") - 0.8).powi(2) * 10.0
                - (n_layers * n_layers) as f64 * 0.3
                - ((int(p, "units") - 100) as f64 / 200.0).powi(2)
                + act
                + early
        }
        "table_poly" => {
            let n_hidden = int(p, "n_hidden") - 2;
            -(float(p, "learning_rate_init") * 100.0 - 0.8).powi(2)
                - (n_hidden * n_hidden) as f64 * 0.2
                - ((int(p, "n_neurons") - 60) as f64 / 40.0).powi(2)
                + if text(p, "activation") == "relu" {
                    0.3
                } else {
                    0.0
                }
                + if text(p, "solver") == "adam" {
                    0.2
                } else {
                    0.0
                }
        }
        "branin" => {
            let (x, y) = (float(p, "x"), float(p, "y"));
            let a = y - 5.1 / (4.0 * PI.powi(2)) * x.powi(2) + 5.0 / PI * x - 6.0;
            -(a.powi(2) + 10.0 * (1.0 - 1.0 / (8.0 * PI)) * x.cos() + 10.0)
        }
        other => panic!("unknown objective {other}"),
    }
}

/// Whole searches: `TpeSampler::new(space, defaults, seed)` asked and told in turn, as
/// `TPESampler(seed=seed)` drove a study in the oracle. Every trial's parameters equal
/// Optuna's (ints, categories and booleans exactly, floats to 1e-12): the ten random
/// startup draws of every kind of distribution, then the model's proposals.
#[test]
fn whole_searches_propose_optunas_trials() {
    let doc = oracle();
    let studies = doc["studies"].as_array().unwrap();
    assert!(studies.len() >= 5);
    let mut errors = Errors::default();
    let mut trials_checked = 0;
    for study in studies {
        let name = study["name"].as_str().unwrap();
        let space = space_of(&study["space"]);
        let seed = study["seed"].as_u64().unwrap() as u32;
        let objective_name = study["objective"].as_str().unwrap();
        let mut sampler = TpeSampler::new(space, TpeOptions::default(), seed).unwrap();
        for (i, trial) in study["trials"].as_array().unwrap().iter().enumerate() {
            let (number, ours) = sampler.ask().unwrap();
            assert_eq!(number, i);
            let theirs = trial["params"].as_object().unwrap();
            assert_eq!(ours.len(), theirs.len(), "{name} trial {i}: {ours:?}");
            for (k, t) in theirs {
                match (&ours[k], value(t)) {
                    (ParamValue::Float(a), ParamValue::Float(b)) => {
                        errors.check(&format!("{name} trial {i} {k}"), *a, b)
                    }
                    (a, b) => assert_eq!(*a, b, "{name} trial {i} `{k}`: ours {ours:?}"),
                }
            }
            let score = objective(objective_name, &ours);
            errors.check(
                &format!("{name} trial {i} value"),
                score,
                num(&trial["value"]),
            );
            sampler.tell(number, score).unwrap();
            trials_checked += 1;
        }
    }
    eprintln!(
        "tpe parity: {} searches, {trials_checked} trials equal to Optuna's; max abs error \
         {:e}, max rel error {:e}",
        studies.len(),
        errors.max_abs,
        errors.max_rel
    );
    assert!(
        errors.failures.is_empty(),
        "{} mismatches beyond 1e-12, first ones:\n{}",
        errors.failures.len(),
        errors.failures[..errors.failures.len().min(20)].join("\n")
    );
}
