//! Searches that stop starting fits: a time budget and a limit on failures in a row.

use std::time::Duration;

use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};

#[test]
fn a_spent_time_budget_gives_a_partial_result() {
    let iris = mlp_tune::datasets::iris();
    let search = |budget: Duration| {
        GridSearchCV::new(
            by_name(
                MLPClassifier::<f64, usize>::params()
                    .solver(Solver::Lbfgs)
                    .max_iter(30)
                    .random_state(0),
            ),
            ParamGrid::new().add("alpha", [1e-4, 1e-2, 1.0]),
        )
        .cv(3)
        .time_budget(budget)
    };
    let none = search(Duration::ZERO).fit(&iris).unwrap();
    assert!(none.is_partial());
    assert_eq!(none.skipped_fits(), 9);
    assert!(none.stop_reason().unwrap().contains("time budget"));
    assert_eq!(none.best_index(), None);
    assert!(none.best_model().is_none());
    assert!(none
        .cv_results()
        .primary()
        .mean_test
        .iter()
        .all(|m| m.is_nan()));
    assert!(none.cv_results().errors[0]
        .as_ref()
        .unwrap()
        .contains("not fitted"));

    let all = search(Duration::from_secs(3600)).fit(&iris).unwrap();
    assert!(!all.is_partial());
    assert_eq!(all.stop_reason(), None);
    assert!(all.best_model().is_some());
}

#[test]
fn failures_in_a_row_stop_the_search() {
    let data = mlp_tune::datasets::diabetes();
    // Raw diabetes targets (~150) with these steps blow up in the first epoch: every fit fails.
    let search = GridSearchCV::new(
        by_name(
            MLPRegressor::<f64>::params()
                .solver(Solver::Sgd)
                .activation(mlp_tune::neural_network::Activation::Identity)
                .momentum(0.99)
                .max_iter(5)
                .random_state(0),
        ),
        ParamGrid::new().add("learning_rate_init", [10.0, 20.0, 30.0, 40.0]),
    )
    .cv(3)
    .n_jobs(1)
    .max_consecutive_failures(2)
    .fit(&data)
    .unwrap();
    assert!(search.is_partial());
    assert_eq!(search.skipped_fits(), 12 - 2);
    assert!(search
        .stop_reason()
        .unwrap()
        .contains("2 fits in a row failed"));
    assert!(search.cv_results().errors[0]
        .as_ref()
        .unwrap()
        .contains("non-finite"));
}

/// The observer sees every fit start and end, and a refit; fits taken from a journal are
/// reported as ended without a start.
#[test]
fn observers_see_fit_starts_ends_and_the_refit() {
    use mlp_tune::model_selection::{FitEvent, SearchObserver};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Default)]
    struct Counts {
        planned: AtomicUsize,
        started: AtomicUsize,
        ended: AtomicUsize,
        refits: AtomicUsize,
    }
    impl SearchObserver for Counts {
        fn on_search_start(&self, n_candidates: usize, n_splits: usize) {
            self.planned
                .store(n_candidates * n_splits, Ordering::SeqCst);
        }
        fn on_fit_start(&self, _c: usize, _s: usize) {
            self.started.fetch_add(1, Ordering::SeqCst);
        }
        fn on_fit_end(&self, e: &FitEvent) {
            assert!(e.seconds >= 0.0 && e.error.is_none());
            self.ended.fetch_add(1, Ordering::SeqCst);
        }
        fn on_refit_end(&self, _seconds: f64) {
            self.refits.fetch_add(1, Ordering::SeqCst);
        }
    }
    let path = std::env::temp_dir().join(format!("mlp-tune-observer-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let iris = mlp_tune::datasets::iris();
    let run = || {
        let counts = Arc::new(Counts::default());
        GridSearchCV::new(
            by_name(
                MLPClassifier::<f64, usize>::params()
                    .solver(Solver::Lbfgs)
                    .max_iter(20)
                    .random_state(0),
            ),
            ParamGrid::new().add("alpha", [1e-4, 1e-1]),
        )
        .cv(3)
        .n_jobs(2)
        .journal(&path)
        .observer(counts.clone())
        .fit(&iris)
        .unwrap();
        let c = |a: &AtomicUsize| a.load(Ordering::SeqCst);
        (
            c(&counts.planned),
            c(&counts.started),
            c(&counts.ended),
            c(&counts.refits),
        )
    };
    assert_eq!(run(), (6, 6, 6, 1));
    assert_eq!(run(), (6, 0, 6, 1), "resumed fits have no start");
    let _ = std::fs::remove_file(&path);
}
