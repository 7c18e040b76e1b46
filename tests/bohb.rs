//! BOHB: Hyperband whose candidates are proposed by TPE from the results so far, from
//! the first bracket's second batch on.
//!
//! A toy estimator trained for `max_iter` epochs predicts a level that approaches a known
//! function of its parameters as epochs grow, so fits cost nothing and the scores say how
//! good a candidate is; with zero targets the negated MSE is `-level^2`.

use linfa::Dataset;
use mlp_tune::model_selection::SearchResults;
use mlp_tune::model_selection::{
    BracketSampler, Candidate, Distribution, HyperbandSearchCV, ParamDistributions, ParamValue,
    TpeOptions,
};
use mlp_tune::{MlpTuneError, Result};
use ndarray::{Array1, Array2, Ix1};

mod common;
use common::Level;

fn float(c: &Candidate, name: &str) -> f64 {
    match c.get(name) {
        Some(ParamValue::Float(v)) => *v,
        Some(ParamValue::Int(v)) => *v as f64,
        other => panic!("{name}: {other:?}"),
    }
}

/// `(a - 0.7)^2 + (log10 b + 1)^2`, 0 at a = 0.7, b = 0.1.
fn objective(c: &Candidate) -> f64 {
    (float(c, "a") - 0.7).powi(2) + (float(c, "b").log10() + 1.0).powi(2)
}

fn space() -> ParamDistributions {
    ParamDistributions::new()
        .add(
            "a",
            Distribution::Uniform {
                loc: -2.0,
                scale: 4.0,
            },
        )
        .add(
            "b",
            Distribution::LogUniform {
                low: 1e-3,
                high: 1e1,
            },
        )
}

/// The level after `max_iter` epochs: the objective plus a gap that training closes.
fn builder(c: &Candidate) -> Result<Level> {
    let epochs = match c.get("max_iter") {
        Some(ParamValue::Int(e)) if *e >= 1 => *e as f64,
        other => {
            return Err(MlpTuneError::InvalidParameter {
                name: "max_iter".into(),
                reason: format!("{other:?}"),
            })
        }
    };
    Ok(Level(objective(c) + 1.0 / epochs))
}

fn data() -> Dataset<f64, f64, Ix1> {
    Dataset::new(Array2::zeros((12, 1)), Array1::zeros(12))
}

fn search(
    sampler: BracketSampler,
    seed: u32,
    n_jobs: usize,
) -> mlp_tune::model_selection::FittedHyperband<Level, f64> {
    HyperbandSearchCV::new(builder, space(), 27)
        .sampler(sampler)
        .random_state(seed)
        .cv(2)
        .n_jobs(n_jobs)
        .fit(&data())
        .unwrap()
}

/// The candidates of bracket `b`'s first round.
fn first_round(
    s: &mlp_tune::model_selection::FittedHyperband<Level, f64>,
    b: usize,
) -> Vec<Candidate> {
    let r = s.cv_results();
    let (bracket, iter) = (r.bracket.as_ref().unwrap(), r.iter.as_ref().unwrap());
    (0..r.params.len())
        .filter(|&i| bracket[i] == b && iter[i] == 0)
        .map(|i| {
            let mut c = r.params[i].clone();
            c.remove("max_iter");
            c
        })
        .collect()
}

fn with_batch_size(batch_size: usize) -> BracketSampler {
    BracketSampler::Tpe {
        options: TpeOptions::default(),
        random_fraction: 1.0 / 3.0,
        batch_size,
    }
}

#[test]
fn tpe_proposes_from_the_first_brackets_second_batch_on() {
    let random = search(BracketSampler::Random, 4, 1);
    let bohb = search(BracketSampler::bohb(), 4, 1);
    assert_eq!(BracketSampler::bohb(), with_batch_size(3), "the default");
    let n_brackets = random.brackets().len();
    assert_eq!(
        n_brackets, 4,
        "27 epochs from 1 with factor 3: s = 3, 2, 1, 0"
    );
    assert_eq!(bohb.brackets(), random.brackets(), "same schedule");
    // Bracket 0's first round runs in batches of 3: nothing to learn from for the first,
    // Hyperband's draws; d + 1 = 3 results at 1 epoch after it, so about two thirds of the
    // later batches' candidates are TPE proposals.
    let (r0, b0) = (first_round(&random, 0), first_round(&bohb, 0));
    assert_eq!(b0[..3], r0[..3]);
    let proposed = b0[3..].iter().zip(&r0[3..]).filter(|(b, r)| b != r).count();
    assert!(proposed > 8 && proposed < 24, "{proposed} of 24");
    // Later brackets too.
    let mut proposed = 0;
    let mut total = 0;
    for b in 1..n_brackets {
        let (r, t) = (first_round(&random, b), first_round(&bohb, b));
        total += t.len();
        proposed += t.iter().zip(&r).filter(|(t, r)| t != r).count();
    }
    assert!(proposed > 0 && proposed < total, "{proposed} of {total}");

    // A bracket's first round in one batch (the former behaviour): the first bracket is
    // Hyperband's, later brackets are proposed when they start.
    let whole = search(with_batch_size(usize::MAX), 4, 1);
    assert_eq!(first_round(&whole, 0), r0);
    assert_ne!(first_round(&whole, 1), first_round(&random, 1));

    // All random (random_fraction 1): exactly Hyperband.
    let all_random = search(
        BracketSampler::Tpe {
            options: TpeOptions::default(),
            random_fraction: 1.0,
            batch_size: 3,
        },
        4,
        1,
    );
    assert_eq!(all_random.cv_results().params, random.cv_results().params);
    assert_eq!(
        all_random.cv_results().primary().mean_test,
        random.cv_results().primary().mean_test
    );
}

#[test]
fn proposals_are_better_than_random_draws_and_the_same_for_any_thread_count() {
    // Mean objective of the candidates of the later brackets (lower is better), per seed.
    // (Bracket 0 is mostly TPE's too now, but compared here are the brackets that start
    // with a model.)
    let later = |s: &mlp_tune::model_selection::FittedHyperband<Level, f64>| -> f64 {
        let c: Vec<Candidate> = (1..s.brackets().len())
            .flat_map(|b| first_round(s, b))
            .collect();
        c.iter().map(objective).sum::<f64>() / c.len() as f64
    };
    let mut better = 0;
    for seed in 0..8 {
        let bohb = search(BracketSampler::bohb(), seed, 1);
        if later(&bohb) < later(&search(BracketSampler::Random, seed, 1)) {
            better += 1;
        }
        if seed < 2 {
            let threaded = search(BracketSampler::bohb(), seed, 3);
            assert_eq!(bohb.cv_results().params, threaded.cv_results().params);
            assert_eq!(bohb.best_index(), threaded.best_index());
        }
        if seed == 0 {
            // Any batch size: the same for any thread count.
            for batch_size in [1, 2, 5] {
                let one = search(with_batch_size(batch_size), seed, 1);
                let two = search(with_batch_size(batch_size), seed, 2);
                assert_eq!(one.cv_results().params, two.cv_results().params);
                assert_eq!(
                    one.cv_results().primary().mean_test,
                    two.cv_results().primary().mean_test
                );
                assert_eq!(one.best_index(), two.best_index());
            }
        }
    }
    assert!(
        better >= 6,
        "BOHB's later brackets better on {better} of 8 seeds"
    );
}

#[test]
fn a_random_fraction_outside_zero_one_is_refused() {
    let err = HyperbandSearchCV::new(builder, space(), 9)
        .sampler(BracketSampler::Tpe {
            options: TpeOptions::default(),
            random_fraction: 1.5,
            batch_size: 3,
        })
        .fit(&data())
        .err()
        .unwrap();
    assert!(
        matches!(err, MlpTuneError::InvalidParameter { ref name, .. } if name == "random_fraction"),
        "{err}"
    );
}
