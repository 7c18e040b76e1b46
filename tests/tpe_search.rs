//! `TpeSearchCV`: a strategy of the search core. Determinism for any `n_jobs`, resumption
//! from a journal after a stop, failed trials, bad input, and that it learns (against a
//! random search on the same objective and budget).
//!
//! The objective is the toy estimator of `common/toy.rs`, whose CV score is a known
//! function of its parameters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mlp_tune::model_selection::{
    Distribution, ParamDistributions, RandomizedSearchCV, TpeOptions, TpeSearchCV,
};
use mlp_tune::MlpTuneError;

mod common;
use common::toy::{assert_resumes_identically, builder, data, float, objective, space};

fn options(n_startup: usize) -> TpeOptions {
    TpeOptions {
        n_startup_trials: n_startup,
        ..TpeOptions::default()
    }
}

#[test]
fn results_depend_on_seed_and_batch_size_never_on_threads() {
    let run = |n_jobs: usize, batch: usize, seed: u32| {
        let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, f64::INFINITY);
        TpeSearchCV::new(b, space(), 24)
            .tpe_options(options(6))
            .batch_size(batch)
            .random_state(seed)
            .cv(3)
            .n_jobs(n_jobs)
            .fit(&data())
            .unwrap()
    };
    let one = run(1, 3, 5);
    for n_jobs in [2, 3] {
        let other = run(n_jobs, 3, 5);
        assert_eq!(one.cv_results().params, other.cv_results().params);
        let (a, b) = (one.cv_results().primary(), other.cv_results().primary());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.mean_test), bits(&b.mean_test));
        assert_eq!(one.best_index(), other.best_index());
    }
    // The seed and the batch size change the proposals; the startup draws do not depend
    // on the batch size (they run as one batch whatever it is).
    let other_seed = run(1, 3, 6);
    assert_ne!(one.cv_results().params, other_seed.cv_results().params);
    let sequential = run(1, 1, 5);
    assert_eq!(
        one.cv_results().params[..6],
        sequential.cv_results().params[..6]
    );
    assert_ne!(one.cv_results().params, sequential.cv_results().params);
    // cv_results has one row per trial with its batch in `iter`: the six startup draws
    // form batch 0, then batches of 3 (1 with a sequential search).
    let iters = one.cv_results().iter.clone().unwrap();
    assert_eq!(&iters[..7], &[0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(iters[23], 6);
    assert_eq!(sequential.cv_results().iter.clone().unwrap()[23], 18);
}

#[test]
fn it_learns_better_than_random_search_on_the_same_budget() {
    // Medians over 8 seeds of the best objective after 40 trials (lower is better).
    let best = |tpe: bool, seed: u32| -> f64 {
        let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, f64::INFINITY);
        let search = if tpe {
            TpeSearchCV::new(b, space(), 40)
                .random_state(seed)
                .cv(2)
                .refit(false)
                .fit(&data())
        } else {
            RandomizedSearchCV::new(b, space(), 40)
                .random_state(seed)
                .cv(2)
                .refit(false)
                .fit(&data())
        }
        .unwrap();
        objective(search.best_params().unwrap())
    };
    let median = |tpe: bool| {
        let mut v: Vec<f64> = (0..8).map(|s| best(tpe, s)).collect();
        v.sort_by(f64::total_cmp);
        (v[3] + v[4]) / 2.0
    };
    let (tpe, random) = (median(true), median(false));
    assert!(
        tpe < 0.5 * random,
        "TPE's median best {tpe} should be well below random search's {random}"
    );
}

#[test]
fn failed_trials_get_the_error_score_and_the_search_goes_on() {
    // Every trial with a > 1 fails.
    let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, 1.0);
    let search = TpeSearchCV::new(b, space(), 30)
        .tpe_options(options(8))
        .random_state(3)
        .cv(2)
        .fit(&data())
        .unwrap();
    let results = search.cv_results();
    assert_eq!(results.params.len(), 30);
    let failed: Vec<usize> = (0..30).filter(|&r| results.errors[r].is_some()).collect();
    assert!(!failed.is_empty(), "some trials fall where fits fail");
    for &r in &failed {
        assert!(float(&results.params[r], "a") > 1.0);
        assert!(results.primary().mean_test[r].is_nan());
    }
    let best = search.best_index().unwrap();
    assert!(results.errors[best].is_none());
    assert!(!search.is_partial());
}

#[test]
fn a_stopped_search_resumes_from_its_journal_to_the_identical_result() {
    let dir = std::env::temp_dir().join(format!("mlp-tune-tpe-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tpe.jsonl");
    let _ = std::fs::remove_file(&path);
    let search = |fits: &Arc<AtomicUsize>, journal: bool, budget: Option<Duration>| {
        let b = builder(Arc::clone(fits), Duration::from_millis(4), 1.5);
        let mut s = TpeSearchCV::new(b, space(), 20)
            .tpe_options(options(5))
            .batch_size(2)
            .random_state(11)
            .cv(3)
            .n_jobs(2)
            // Fits are counted exactly: no refit is speculated.
            .speculative_refit(false);
        if journal {
            s = s.journal(&path);
        }
        if let Some(budget) = budget {
            s = s.time_budget(budget);
        }
        s.fit(&data()).unwrap()
    };
    assert_resumes_identically(20 * 3 + 1, search);

    // The same search over other distributions is another search: its journal is refused.
    let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, 1.5);
    let changed = space().add(
        "a",
        Distribution::Uniform {
            loc: -2.0,
            scale: 5.0,
        },
    );
    let err = TpeSearchCV::new(b, changed, 20)
        .tpe_options(options(5))
        .batch_size(2)
        .random_state(11)
        .cv(3)
        .journal(&path)
        .fit(&data())
        .err()
        .unwrap();
    assert!(matches!(err, MlpTuneError::Journal(_)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_a_typed_error_before_any_fit() {
    let fits = Arc::new(AtomicUsize::new(0));
    let fit = |space: ParamDistributions, n_trials: usize, batch: usize, startup: usize| {
        TpeSearchCV::new(
            builder(Arc::clone(&fits), Duration::ZERO, f64::INFINITY),
            space,
            n_trials,
        )
        .tpe_options(options(startup))
        .batch_size(batch)
        .cv(2)
        .fit(&data())
        .err()
    };
    let param = |e: Option<MlpTuneError>| match e {
        Some(MlpTuneError::InvalidParameter { name, .. }) => name,
        other => panic!("expected an invalid parameter, got {other:?}"),
    };
    assert_eq!(param(fit(space(), 0, 1, 0)), "n_trials");
    assert_eq!(param(fit(space(), 10, 0, 2)), "batch_size");
    assert_eq!(param(fit(space(), 10, 1, 11)), "n_startup_trials");
    assert!(matches!(
        fit(ParamDistributions::new(), 10, 1, 2),
        Some(MlpTuneError::SearchSpace(_))
    ));
    let degenerate = ParamDistributions::new()
        .add("a", Distribution::list([0.5]))
        .add(
            "b",
            Distribution::Uniform {
                loc: 0.1,
                scale: 0.0,
            },
        )
        .add("kind", Distribution::list(["y"]));
    assert!(matches!(
        fit(degenerate, 10, 1, 2),
        Some(MlpTuneError::SearchSpace(_))
    ));
    let invalid = space().add(
        "b",
        Distribution::LogUniform {
            low: -1.0,
            high: 1.0,
        },
    );
    assert!(matches!(
        fit(invalid, 10, 1, 2),
        Some(MlpTuneError::SearchSpace(_) | MlpTuneError::InvalidParameter { .. })
    ));
    assert_eq!(fits.load(Ordering::SeqCst), 0, "no fit ran");
}
