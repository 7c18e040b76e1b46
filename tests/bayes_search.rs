//! `BayesSearchCV`: GP Bayesian optimization as a strategy of the search core. Determinism
//! for any `n_jobs`, resumption from a journal after a stop, failed trials, bad input, and
//! that it learns (against a random search on the same objective and budget).
//!
//! The objective is the toy estimator of `common/toy.rs`, whose CV score is a known
//! function of its parameters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mlp_tune::model_selection::{
    Acquisition, BayesSearchCV, Candidate, ConstantLiar, Distribution, InitialPoints,
    ParamDistributions, ParamValue, RandomizedSearchCV,
};
use mlp_tune::MlpTuneError;

mod common;
use common::toy::{
    assert_resumes_identically, builder, data, float, objective, score_bits, space, Level,
};

#[test]
fn results_depend_on_seed_and_batch_size_never_on_threads() {
    let run = |n_jobs: usize, batch: usize, seed: u32, liar: ConstantLiar| {
        let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, f64::INFINITY);
        BayesSearchCV::new(b, space(), 16)
            .n_initial_points(6)
            .batch_size(batch)
            .liar(liar)
            .n_points(2000)
            .random_state(seed)
            .cv(3)
            .n_jobs(n_jobs)
            .fit(&data())
            .unwrap()
    };
    let one = run(1, 3, 5, ConstantLiar::Min);
    for n_jobs in [2, 3] {
        let other = run(n_jobs, 3, 5, ConstantLiar::Min);
        assert_eq!(one.cv_results().params, other.cv_results().params);
        assert_eq!(score_bits(&one), score_bits(&other));
        assert_eq!(one.best_index(), other.best_index());
    }
    // The seed, the batch size and the liar change the proposals; the initial draws do
    // not depend on the batch size (they run as one batch whatever it is).
    let other_seed = run(1, 3, 6, ConstantLiar::Min);
    assert_ne!(one.cv_results().params, other_seed.cv_results().params);
    let sequential = run(1, 1, 5, ConstantLiar::Min);
    assert_eq!(
        one.cv_results().params[..7],
        sequential.cv_results().params[..7],
        "the initial draws and the first GP proposal do not depend on the batch size"
    );
    assert_ne!(one.cv_results().params, sequential.cv_results().params);
    let pessimist = run(1, 3, 5, ConstantLiar::Max);
    assert_eq!(
        one.cv_results().params[..7],
        pessimist.cv_results().params[..7]
    );
    assert_ne!(one.cv_results().params, pessimist.cv_results().params);
    // One row per trial with its batch in `iter`: six initial draws in batch 0, then
    // batches of 3 (1 when sequential).
    let iters = one.cv_results().iter.clone().unwrap();
    assert_eq!(&iters[..7], &[0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(iters[15], 4);
    assert_eq!(sequential.cv_results().iter.clone().unwrap()[15], 10);
}

#[test]
fn it_learns_better_than_random_search_on_the_same_budget() {
    // Medians over 8 seeds of the best objective after 30 trials (lower is better), for
    // each acquisition.
    let best = |acquisition: Option<Acquisition>, seed: u32| -> f64 {
        let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, f64::INFINITY);
        let search = match acquisition {
            Some(acq) => BayesSearchCV::new(b, space(), 30)
                .acquisition(acq)
                .n_points(2000)
                .random_state(seed)
                .cv(2)
                .refit(false)
                .fit(&data()),
            None => RandomizedSearchCV::new(b, space(), 30)
                .random_state(seed)
                .cv(2)
                .refit(false)
                .fit(&data()),
        }
        .unwrap();
        objective(search.best_params().unwrap())
    };
    let median = |acquisition: Option<Acquisition>| {
        let mut v: Vec<f64> = (0..8).map(|s| best(acquisition, s)).collect();
        v.sort_by(f64::total_cmp);
        (v[3] + v[4]) / 2.0
    };
    let random = median(None);
    for acq in [
        Acquisition::default(),
        Acquisition::ExpectedImprovement { xi: 0.01 },
        Acquisition::LowerConfidenceBound { kappa: 1.96 },
    ] {
        let gp = median(Some(acq));
        assert!(
            gp < 0.2 * random,
            "{acq:?}: the GP search's median best {gp} should be well below random search's {random}"
        );
    }
}

#[test]
fn failed_trials_get_the_error_score_and_are_invisible_to_the_model() {
    // Every trial with a > 1 fails.
    let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, 1.0);
    let search = BayesSearchCV::new(b, space(), 24)
        .n_initial_points(8)
        .n_points(2000)
        .random_state(3)
        .cv(2)
        .fit(&data())
        .unwrap();
    let results = search.cv_results();
    assert_eq!(results.params.len(), 24);
    let failed: Vec<usize> = (0..24).filter(|&r| results.errors[r].is_some()).collect();
    assert!(!failed.is_empty(), "some trials fall where fits fail");
    for &r in &failed {
        assert!(float(&results.params[r], "a") > 1.0);
        assert!(results.primary().mean_test[r].is_nan());
    }
    // Failed initial draws do not count: the GP starts after 8 complete trials.
    let iters = results.iter.clone().unwrap();
    let first_batch = iters.iter().filter(|&&i| i == 0).count();
    let failed_first = failed.iter().filter(|&&r| iters[r] == 0).count();
    assert_eq!(first_batch, 8);
    if failed_first > 0 {
        assert_eq!(iters.iter().filter(|&&i| i == 1).count(), failed_first);
    }
    let best = search.best_index().unwrap();
    assert!(results.errors[best].is_none());
    assert!(objective(&results.params[best]) < 0.5);
    assert!(!search.is_partial());
}

#[test]
fn a_stopped_search_resumes_from_its_journal_to_the_identical_result() {
    let dir = std::env::temp_dir().join(format!("mlp-tune-gp-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gp.jsonl");
    let _ = std::fs::remove_file(&path);
    let search = |fits: &Arc<AtomicUsize>, journal: bool, budget: Option<Duration>| {
        let b = builder(Arc::clone(fits), Duration::from_millis(4), 1.5);
        let mut s = BayesSearchCV::new(b, space(), 16)
            .n_initial_points(5)
            .batch_size(2)
            .n_points(1000)
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
    assert_resumes_identically(16 * 3 + 1, search);

    // Another acquisition is another search: its journal is refused.
    let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, 1.5);
    let err = BayesSearchCV::new(b, space(), 16)
        .n_initial_points(5)
        .batch_size(2)
        .n_points(1000)
        .acquisition(Acquisition::ExpectedImprovement { xi: 0.01 })
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
    let fit = |space: ParamDistributions,
               n_trials: usize,
               batch: usize,
               initial: usize,
               acq: Acquisition,
               n_points: usize| {
        BayesSearchCV::new(
            builder(Arc::clone(&fits), Duration::ZERO, f64::INFINITY),
            space,
            n_trials,
        )
        .n_initial_points(initial)
        .batch_size(batch)
        .acquisition(acq)
        .n_points(n_points)
        .cv(2)
        .fit(&data())
        .err()
    };
    let param = |e: Option<MlpTuneError>| match e {
        Some(MlpTuneError::InvalidParameter { name, .. }) => name,
        other => panic!("expected an invalid parameter, got {other:?}"),
    };
    let ok = Acquisition::default();
    assert_eq!(param(fit(space(), 0, 1, 0, ok, 10)), "n_trials");
    assert_eq!(param(fit(space(), 10, 0, 2, ok, 10)), "batch_size");
    assert_eq!(param(fit(space(), 10, 1, 11, ok, 10)), "n_initial_points");
    assert_eq!(param(fit(space(), 10, 1, 2, ok, 0)), "n_points");
    for bad in [
        Acquisition::ExpectedImprovement { xi: f64::NAN },
        Acquisition::LowerConfidenceBound { kappa: -1.0 },
        Acquisition::GpHedge {
            xi: 0.01,
            kappa: 1.96,
            eta: 0.0,
        },
    ] {
        assert_eq!(param(fit(space(), 10, 1, 2, bad, 10)), "acquisition");
    }
    assert!(matches!(
        fit(ParamDistributions::new(), 10, 1, 2, ok, 10),
        Some(MlpTuneError::SearchSpace(_))
    ));
    let degenerate = ParamDistributions::new()
        .add("a", Distribution::list([0.5]))
        .add("kind", Distribution::list(["y"]));
    assert!(matches!(
        fit(degenerate, 10, 1, 2, ok, 10),
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
        fit(invalid, 10, 1, 2, ok, 10),
        Some(MlpTuneError::SearchSpace(_))
    ));
    assert_eq!(fits.load(Ordering::SeqCst), 0, "no fit ran");
}

#[test]
fn integer_grid_and_list_parameters_are_proposed_inside_the_space() {
    // A space of integers, a float grid and a list of arrays: every proposal belongs to
    // its distribution, and the search finds the optimum of a separable objective.
    let space = ParamDistributions::new()
        .add("n", Distribution::RandInt { low: 1, high: 40 })
        .add("m", Distribution::LogRandInt { low: 1, high: 1000 })
        .add(
            "s",
            Distribution::FloatStep {
                low: 0.0,
                high: 1.0,
                step: 0.25,
            },
        )
        .add("h", Distribution::list([[4usize], [8], [16]]));
    let objective = |c: &Candidate| {
        let n = float(c, "n");
        let m = float(c, "m");
        let s = float(c, "s");
        let h = match c.get("h") {
            Some(ParamValue::Ints(v)) => f64::from(u8::from(v[..] != [8])),
            other => panic!("h: {other:?}"),
        };
        (n - 17.0).abs() / 10.0 + (m.log10() - 2.0).abs() + (s - 0.75).abs() + h
    };
    let fits = Arc::new(AtomicUsize::new(0));
    let search = BayesSearchCV::new(
        move |c: &Candidate| {
            Ok(Level {
                level: objective(c),
                fail: false,
                delay: Duration::ZERO,
                fits: Arc::clone(&fits),
            })
        },
        space,
        30,
    )
    .n_points(2000)
    .random_state(2)
    .cv(2)
    .refit(false)
    .fit(&data())
    .unwrap();
    for c in &search.cv_results().params {
        assert!(
            matches!(c["n"], ParamValue::Int(v) if (1..40).contains(&v)),
            "{c:?}"
        );
        assert!(
            matches!(c["m"], ParamValue::Int(v) if (1..1000).contains(&v)),
            "{c:?}"
        );
        assert!(
            matches!(c["s"], ParamValue::Float(v) if [0.0, 0.25, 0.5, 0.75, 1.0].contains(&v)),
            "{c:?}"
        );
    }
    let best = search.best_params().unwrap();
    assert!(objective(best) < 1.0, "{best:?}: {}", objective(best));
}

#[test]
fn latin_hypercube_initial_points_cover_every_stratum() {
    let run = |seed: u32| {
        let b = builder(Arc::new(AtomicUsize::new(0)), Duration::ZERO, f64::INFINITY);
        BayesSearchCV::new(b, space(), 14)
            .n_initial_points(10)
            .initial_points(InitialPoints::LatinHypercube)
            .n_points(1000)
            .random_state(seed)
            .cv(2)
            .fit(&data())
            .unwrap()
    };
    let search = run(4);
    let params = &search.cv_results().params;
    // `a` is uniform on [-2, 2): one initial point in each tenth; `b` log-uniform on
    // [1e-3, 10): one in each tenth of its decades.
    let mut a: Vec<usize> = params[..10]
        .iter()
        .map(|c| ((float(c, "a") + 2.0) / 0.4) as usize)
        .collect();
    let mut b: Vec<usize> = params[..10]
        .iter()
        .map(|c| ((float(c, "b").log10() + 3.0) / 0.4) as usize)
        .collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, (0..10).collect::<Vec<_>>());
    assert_eq!(b, (0..10).collect::<Vec<_>>());
    let mut kinds: Vec<usize> = ["x", "y", "z"]
        .iter()
        .map(|k| {
            params[..10]
                .iter()
                .filter(|c| c["kind"] == ParamValue::from(*k))
                .count()
        })
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec![3, 3, 4]);
    assert_eq!(params, &run(4).cv_results().params);
    assert_ne!(params, &run(5).cv_results().params);
}
