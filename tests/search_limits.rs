//! Searches that stop starting fits: a time budget and a limit on failures in a row.

use std::time::Duration;

use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, MLPRegressorValidParams, Solver};

#[test]
fn a_spent_time_budget_gives_a_partial_result() {
    let iris = mlp_tune::datasets::iris();
    let search = |budget: Duration| {
        GridSearchCV::new(
            by_name(
                MLPClassifier::params()
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

/// 4 candidates × 3 folds on diabetes, every fit failing: with the raw targets (~150) these
/// steps blow up in the first epoch.
fn every_fit_fails() -> mlp_tune::model_selection::SearchCV<
    impl Fn(&mlp_tune::model_selection::Candidate) -> mlp_tune::Result<MLPRegressorValidParams<f64>>,
    f64,
> {
    GridSearchCV::new(
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
}

#[test]
fn failures_in_a_row_stop_the_search() {
    let data = mlp_tune::datasets::diabetes();
    let search = every_fit_fails()
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

/// A constant predictor (the training mean plus `offset`) that fails on demand, with a cost
/// hint that decides the run order on several threads (costliest first).
struct Scripted {
    fail: bool,
    offset: f64,
    hint: f64,
}

impl mlp_tune::model_selection::Estimator<f64, f64> for Scripted {
    type Model = f64;
    fn fit_xy(
        &self,
        _x: ndarray::ArrayView2<f64>,
        y: ndarray::ArrayView1<f64>,
    ) -> mlp_tune::Result<f64> {
        if self.fail {
            return Err(mlp_tune::MlpTuneError::InvalidInput(
                "scripted failure".into(),
            ));
        }
        Ok(y.mean().unwrap_or(0.0) + self.offset)
    }
    fn predict_xy(
        &self,
        model: &f64,
        x: ndarray::ArrayView2<f64>,
    ) -> mlp_tune::Result<ndarray::Array1<f64>> {
        Ok(ndarray::Array1::from_elem(x.nrows(), *model))
    }
    fn is_classifier(&self) -> bool {
        false
    }
    fn cost_hint(&self, _n_features: usize) -> Option<f64> {
        Some(self.hint)
    }
}

/// Scores as bits, so that NaN equals NaN.
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Failures in a row are counted in task order (candidate, then fold), not in the order the
/// fits finish, so the limit stops the search at the same fit for any thread count and for
/// a search resumed from its journal.
#[test]
fn failures_in_a_row_stop_a_grid_search_at_the_same_fit_for_any_thread_count() {
    use mlp_tune::model_selection::{Candidate, ParamValue};

    // Candidates 1, 3 and 4 fail. In task order (2 folds each) that is F F . . F F F: the
    // limit of 3 trips at candidate 4's first fold. On several threads the failing
    // candidates run first (highest hint), then 5 and 6, then 0 and 2: the first fits to
    // finish are six failures, and 5 and 6 run before the trip can be known.
    let script = |c: &Candidate| -> (bool, f64, f64) {
        match c.get("k") {
            Some(&ParamValue::Int(k)) => match k {
                1 | 3 | 4 => (true, 0.0, 3.0),
                0 => (false, 1.0, 1.0),
                2 => (false, 0.0, 1.0),
                _ => (false, 0.5, 2.0),
            },
            _ => (true, 0.0, 0.0),
        }
    };
    let data = mlp_tune::datasets::diabetes();
    let search = |n_jobs: usize, limit: Option<usize>, journal: Option<&std::path::Path>| {
        let mut s = GridSearchCV::new(
            move |c: &Candidate| {
                let (fail, offset, hint) = script(c);
                Ok(Scripted { fail, offset, hint })
            },
            ParamGrid::new().add("k", (0..7i64).collect::<Vec<_>>()),
        )
        .cv(2)
        .n_jobs(n_jobs);
        if let Some(n) = limit {
            s = s.max_consecutive_failures(n);
        }
        if let Some(path) = journal {
            s = s.journal(path);
        }
        s.fit(&data).unwrap()
    };
    let summary = |s: &mlp_tune::model_selection::FittedSearch<Scripted, f64>| {
        let p = s.cv_results().primary();
        (
            p.split_test.iter().map(|v| bits(v)).collect::<Vec<_>>(),
            bits(&p.mean_test),
            p.rank_test.clone(),
            s.cv_results().errors.clone(),
            s.skipped_fits(),
            s.best_index(),
            s.stop_reason().map(str::to_string),
            s.best_model().map(|m| m.to_bits()),
        )
    };

    let one = search(1, Some(3), None);
    assert_eq!(one.stop_reason(), Some("3 fits in a row failed"));
    // Kept: candidates 0 to 3 and candidate 4's first fold; dropped: the rest.
    assert_eq!(one.skipped_fits(), 14 - 9);
    let mean = &one.cv_results().primary().mean_test;
    let nan: Vec<bool> = mean.iter().map(|m| m.is_nan()).collect();
    assert_eq!(nan, [false, true, false, true, true, true, true]);
    let errors = &one.cv_results().errors;
    assert!(errors[4].as_ref().unwrap().contains("scripted failure"));
    assert!(errors[5].as_ref().unwrap().contains("not fitted"));
    assert_eq!(one.best_index(), Some(2));
    assert!(one.best_model().is_some());

    for n_jobs in [2, 3] {
        let other = search(n_jobs, Some(3), None);
        assert_eq!(summary(&other), summary(&one), "n_jobs {n_jobs}");
    }

    // A journal written on two threads holds every fit (the trip is known only once
    // candidates 0 and 2, the last to start, are done), those after the trip included.
    // Resuming with the same limit takes the recorded fits in task order and stops where
    // the uninterrupted search did; without the limit the recorded fits are all reused.
    let path = std::env::temp_dir().join(format!(
        "mlp-tune-limits-grid-failures-{}.jsonl",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let journaled = search(2, Some(3), Some(&path));
    assert_eq!(summary(&journaled), summary(&one));
    let resumed = search(1, Some(3), Some(&path));
    assert_eq!(summary(&resumed), summary(&one));
    assert_eq!(resumed.resumed_fits(), 9);
    let unlimited = search(1, None, Some(&path));
    assert!(!unlimited.is_partial());
    assert_eq!(unlimited.resumed_fits(), 14);
    assert_eq!(summary(&unlimited), summary(&search(3, None, None)));
    let _ = std::fs::remove_file(&path);
}

/// A limit reached on the very last fit leaves nothing undone: the result is complete, with
/// no stop reason (as in the halving searches).
#[test]
fn a_limit_reached_on_the_last_fit_stops_nothing() {
    let data = mlp_tune::datasets::diabetes();
    for n_jobs in [1, 2] {
        let search = every_fit_fails()
            .n_jobs(n_jobs)
            .refit(false)
            .max_consecutive_failures(12)
            .fit(&data)
            .unwrap();
        assert_eq!(search.skipped_fits(), 0);
        assert!(!search.is_partial());
        assert_eq!(search.stop_reason(), None);
        assert!(search.cv_results().errors.iter().all(Option::is_some));
    }
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
                MLPClassifier::params()
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

// Successive halving and Hyperband: the same limits, round by round.

mod rounds {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use linfa::prelude::*;
    use mlp_tune::model_selection::SearchResults;
    use mlp_tune::model_selection::{
        by_name, Candidate, ContinueTraining, Distribution, Estimator, FitEvent, FittedSearch,
        HalvingGridSearchCV, HalvingRecord, HyperbandSearchCV, ParamDistributions, ParamGrid,
        ParamValue, Resource, RoundEvent, SearchObserver,
    };
    use mlp_tune::neural_network::{
        MLPRegressor, MLPRegressorParams, MLPRegressorValidParams, Solver,
    };
    use mlp_tune::MlpTuneError;
    use ndarray::{Array1, ArrayView1, ArrayView2};

    fn data() -> Dataset<f64, f64, ndarray::Ix1> {
        let d = mlp_tune::datasets::diabetes();
        let x = d.records();
        let mean = x.mean_axis(ndarray::Axis(0)).unwrap();
        let std = x.std_axis(ndarray::Axis(0), 0.0);
        Dataset::new((x - &mean) / &std, d.targets().mapv(|v| v / 100.0))
    }

    fn base() -> MLPRegressorParams<f64> {
        MLPRegressor::<f64>::params()
            .solver(Solver::Sgd)
            .hidden_layer_sizes(&[8])
            .tol(0.0)
            .n_iter_no_change(1000)
            .random_state(0)
    }

    /// How long the sleeping fit sleeps: longer than the budgets the tests give, so the
    /// budget is certainly spent once it is done (the tests assert nothing about time).
    const NAP: Duration = Duration::from_millis(600);

    /// An MLP with warm continuation that fails on chosen (candidate, resource) pairs and
    /// can sleep through one fit.
    struct Probe {
        inner: MLPRegressorValidParams<f64>,
        fail: bool,
        /// Sleep through the first fit or continuation that finds this unset.
        nap: Option<Arc<AtomicBool>>,
        /// Cost hint (the run order on several threads: costliest first).
        hint: Option<f64>,
    }

    impl Probe {
        fn enter(&self) -> mlp_tune::Result<()> {
            if self.fail {
                return Err(MlpTuneError::InvalidInput("probe failure".into()));
            }
            if let Some(flag) = &self.nap {
                if !flag.swap(true, Ordering::SeqCst) {
                    std::thread::sleep(NAP);
                }
            }
            Ok(())
        }
    }

    impl Estimator<f64, f64> for Probe {
        type Model = MLPRegressor<f64>;
        fn fit_xy(&self, x: ArrayView2<f64>, y: ArrayView1<f64>) -> mlp_tune::Result<Self::Model> {
            self.enter()?;
            self.inner.fit_xy(x, y)
        }
        fn predict_xy(&self, m: &Self::Model, x: ArrayView2<f64>) -> mlp_tune::Result<Array1<f64>> {
            self.inner.predict_xy(m, x)
        }
        fn is_classifier(&self) -> bool {
            false
        }
        fn describe(&self) -> String {
            Estimator::<f64, f64>::describe(&self.inner)
        }
        fn epochs_trained(&self, m: &Self::Model) -> Option<usize> {
            Some(m.n_iter())
        }
        fn cost_hint(&self, _n_features: usize) -> Option<f64> {
            self.hint
        }
        fn continuation(&self) -> Option<&dyn ContinueTraining<f64, f64, Self::Model>> {
            self.inner.continuation().map(|_| self as _)
        }
    }

    impl ContinueTraining<f64, f64, MLPRegressor<f64>> for Probe {
        fn continue_xy(
            &self,
            model: &MLPRegressor<f64>,
            x: ArrayView2<f64>,
            y: ArrayView1<f64>,
            epochs: usize,
        ) -> mlp_tune::Result<MLPRegressor<f64>> {
            self.enter()?;
            let inner = self.inner.continuation().expect("continues");
            inner.continue_xy(model, x, y, epochs)
        }
        fn finished(&self, model: &MLPRegressor<f64>) -> bool {
            self.inner
                .continuation()
                .expect("continues")
                .finished(model)
        }
    }

    fn epochs(c: &Candidate) -> i64 {
        match c.get("max_iter") {
            Some(ParamValue::Int(e)) => *e,
            _ => -1,
        }
    }

    fn lr(c: &Candidate) -> f64 {
        match c.get("learning_rate_init") {
            Some(ParamValue::Float(v)) => *v,
            _ => f64::NAN,
        }
    }

    /// Probes that fail where `fail` says, and sleep through the first fit at `nap_epochs`.
    fn probes(
        fail: impl Fn(&Candidate) -> bool + Sync,
        nap_epochs: Option<i64>,
    ) -> impl Fn(&Candidate) -> mlp_tune::Result<Probe> + Sync {
        let named = by_name(base());
        let flag = Arc::new(AtomicBool::new(false));
        move |c: &Candidate| {
            Ok(Probe {
                inner: named(c)?,
                fail: fail(c),
                nap: (nap_epochs == Some(epochs(c))).then(|| flag.clone()),
                hint: None,
            })
        }
    }

    /// Probes that fail where `fail` says, with the cost hint `hint` gives.
    fn hinted_probes(
        fail: impl Fn(&Candidate) -> bool + Sync,
        hint: impl Fn(&Candidate) -> f64 + Sync,
    ) -> impl Fn(&Candidate) -> mlp_tune::Result<Probe> + Sync {
        let named = by_name(base());
        move |c: &Candidate| {
            Ok(Probe {
                inner: named(c)?,
                fail: fail(c),
                nap: None,
                hint: Some(hint(c)),
            })
        }
    }

    /// Counts fit starts and ends, and records the rounds announced.
    #[derive(Default)]
    struct Watch {
        started: AtomicUsize,
        ended: AtomicUsize,
        rounds: Mutex<Vec<RoundEvent>>,
        refits: AtomicUsize,
    }

    impl SearchObserver for Watch {
        fn on_fit_start(&self, _c: usize, _s: usize) {
            self.started.fetch_add(1, Ordering::SeqCst);
        }
        fn on_fit_end(&self, _e: &FitEvent) {
            self.ended.fetch_add(1, Ordering::SeqCst);
        }
        fn on_round_start(&self, e: &RoundEvent) {
            self.rounds.lock().unwrap().push(e.clone());
        }
        fn on_refit_end(&self, _seconds: f64) {
            self.refits.fetch_add(1, Ordering::SeqCst);
        }
    }

    const LRS: [f64; 4] = [1e-3, 3e-3, 1e-2, 3e-2];

    /// 4 candidates × 3 folds at 10, 20 and 40 epochs (4, 2 and 1 candidates).
    fn halving<BF>(builder: BF) -> mlp_tune::model_selection::HalvingSearchCV<BF, f64> {
        HalvingGridSearchCV::new(builder, ParamGrid::new().add("learning_rate_init", LRS))
            .resource(Resource::Epochs)
            .max_resources(40)
            .factor(2.0)
            .cv(3)
    }

    #[test]
    fn a_halving_search_with_no_time_lists_its_first_round_and_stops() {
        let watch = Arc::new(Watch::default());
        let search = halving(probes(|_| false, None))
            .time_budget(Duration::ZERO)
            .observer(watch.clone())
            .fit(&data())
            .unwrap();
        assert!(search.is_partial());
        assert!(search.stop_reason().unwrap().contains("time budget"));
        // Every fit of the schedule: 4×3 + 2×3 + 1×3.
        assert_eq!(search.skipped_fits(), 21);
        assert_eq!(search.n_iterations(), 1);
        assert_eq!(search.n_resources(), [10]);
        assert_eq!(search.n_candidates(), [4]);
        assert_eq!(search.planned_schedule().n_resources, [10, 20, 40]);
        assert_eq!(search.n_remaining_candidates(), 2);
        let results = search.cv_results();
        assert_eq!(results.params.len(), 4);
        assert!(results.primary().mean_test.iter().all(|m| m.is_nan()));
        assert!(results.errors[0].as_ref().unwrap().contains("not fitted"));
        assert!(search.records().is_empty());
        assert_eq!(search.best_index(), None);
        assert_eq!(search.best_params(), None);
        assert!(search.best_model().is_none());
        assert!(search.try_predict(data().records()).is_err());
        assert_eq!(watch.started.load(Ordering::SeqCst), 0);
        assert_eq!(watch.ended.load(Ordering::SeqCst), 0);
        assert_eq!(watch.refits.load(Ordering::SeqCst), 0);
        assert_eq!(watch.rounds.lock().unwrap().len(), 1);
    }

    #[test]
    fn failures_in_a_row_in_the_first_round_leave_no_best_candidate() {
        // With one thread, fits run in task order: candidate 0's three folds fail, then
        // candidate 1's first one trips the limit of 4.
        let watch = Arc::new(Watch::default());
        let search = halving(probes(|c| lr(c) <= 3e-3, None))
            .max_consecutive_failures(4)
            .n_jobs(1)
            .observer(watch.clone())
            .fit(&data())
            .unwrap();
        assert!(search.is_partial());
        assert_eq!(search.stop_reason(), Some("4 fits in a row failed"));
        assert_eq!(search.records().len(), 4);
        assert!(search.records().iter().all(|r| r.error.is_some()));
        assert_eq!(search.skipped_fits(), (12 - 4) + 6 + 3);
        assert_eq!(search.n_iterations(), 1);
        assert_eq!(unfinished_rows(search.search()), [1, 2, 3]);
        assert_eq!(search.best_index(), None);
        assert!(search.best_model().is_none());
        assert_eq!(watch.started.load(Ordering::SeqCst), 4);
        assert_eq!(watch.ended.load(Ordering::SeqCst), 4);
        assert_eq!(watch.refits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_stop_in_a_later_round_takes_the_best_of_the_last_complete_round() {
        let watch = Arc::new(Watch::default());
        // Every 20-epoch fit fails: the second round trips the limit at its third fit.
        let search = halving(probes(|c| epochs(c) == 20, None))
            .max_consecutive_failures(3)
            .n_jobs(1)
            .observer(watch.clone())
            .fit(&data())
            .unwrap();
        let plain = halving(probes(|_| false, None)).fit(&data()).unwrap();
        assert!(search.is_partial());
        assert_eq!(search.stop_reason(), Some("3 fits in a row failed"));
        assert_eq!(search.n_iterations(), 2);
        assert_eq!(search.n_resources(), [10, 20]);
        assert_eq!(search.n_candidates(), [4, 2]);
        assert_eq!(search.skipped_fits(), 3 + 3);
        let results = search.cv_results();
        assert_eq!(results.iter.as_deref(), Some(&[0, 0, 0, 0, 1, 1][..]));
        // The second round's rows are failed or unfitted: NaN, ranked last.
        assert_eq!(unfinished_rows(search.search()), [5]);
        let p = results.primary();
        assert!(p.rank_test[4..].iter().all(|&r| r > 4));
        // The first round ran as in a search without failures; its best is the answer.
        let first = &plain.cv_results().primary().mean_test[..4];
        assert_eq!(&p.mean_test[..4], first);
        let best = search.best_index().unwrap();
        assert!(best < 4);
        assert_eq!(p.rank_test[best], 1);
        assert_eq!(
            search.best_params().unwrap().get("max_iter"),
            Some(&ParamValue::Int(10))
        );
        assert_eq!(search.best_model().unwrap().n_iter(), 10);
        assert_eq!(watch.refits.load(Ordering::SeqCst), 1);
        assert_eq!(watch.started.load(Ordering::SeqCst), search.records().len());
        assert_eq!(watch.ended.load(Ordering::SeqCst), search.records().len());
        let rounds = watch.rounds.lock().unwrap().clone();
        assert_eq!(
            rounds.iter().map(|r| r.n_resources).collect::<Vec<_>>(),
            search.n_resources()
        );
    }

    /// The last round's single candidate is refitted alongside its folds; when the round
    /// stops before its folds are done, that refit is dropped and the best of the round
    /// before is refitted instead (here the overlapped refit even failed).
    #[test]
    fn a_stop_in_the_last_round_refits_the_best_of_the_round_before() {
        let search = halving(probes(|c| epochs(c) == 40, None))
            .max_consecutive_failures(2)
            .n_jobs(1)
            .fit(&data())
            .unwrap();
        assert!(search.is_partial());
        assert_eq!(search.stop_reason(), Some("2 fits in a row failed"));
        assert_eq!(search.skipped_fits(), 1);
        assert_eq!(search.n_iterations(), 3);
        assert_eq!(unfinished_rows(search.search()), [6]);
        let best = search.best_index().unwrap();
        assert_eq!(search.cv_results().iter.as_ref().unwrap()[best], 1);
        assert_eq!(
            search.best_params().unwrap().get("max_iter"),
            Some(&ParamValue::Int(20))
        );
        assert_eq!(search.best_model().unwrap().n_iter(), 20);
    }

    /// Failures in a row are counted in task order (round by round; rows, then folds), the
    /// run carried across rounds, so the limit stops a halving search at the same fit for
    /// any thread count, and a search resumed from its journal stops there too.
    #[test]
    fn failures_in_a_row_stop_a_halving_search_at_the_same_fit_for_any_thread_count() {
        // First round: 3e-3 and 3e-2 fail. On several threads they run first (highest hint),
        // so its first six fits to finish are failures, but in task order the round ends
        // with three in a row (the last row's folds). They carry into the second round,
        // where every fit fails: its first fit is the fourth in a row and trips the limit.
        let failing = |c: &Candidate| lr(c) == 3e-3 || lr(c) == 3e-2;
        let fail = move |c: &Candidate| (failing(c) && epochs(c) == 10) || epochs(c) == 20;
        let hint = move |c: &Candidate| if failing(c) { 3.0 } else { 1.0 };
        let run = |n_jobs: usize, limit: Option<usize>, journal: Option<&PathBuf>| {
            let mut search = halving(hinted_probes(fail, hint)).n_jobs(n_jobs);
            if let Some(n) = limit {
                search = search.max_consecutive_failures(n);
            }
            if let Some(path) = journal {
                search = search.journal(path);
            }
            search.fit(&data()).unwrap()
        };
        let one = run(1, Some(4), None);
        assert_eq!(one.stop_reason(), Some("4 fits in a row failed"));
        assert_eq!(one.n_iterations(), 2);
        assert_eq!(one.records().len(), 12 + 1);
        assert_eq!(one.skipped_fits(), (6 - 1) + 3);
        assert_eq!(unfinished_rows(one.search()), [4, 5]);
        let best = one.best_index().unwrap();
        assert_eq!(one.cv_results().iter.as_ref().unwrap()[best], 0);
        assert!(!failing(one.best_params().unwrap()));
        let same = |a: &FittedSearch<Probe, MLPRegressor<f64>>,
                    ra: &[HalvingRecord],
                    b: &FittedSearch<Probe, MLPRegressor<f64>>,
                    rb: &[HalvingRecord]| {
            assert_same_search(a, ra, b, rb);
            assert_eq!(a.skipped_fits(), b.skipped_fits());
            assert_eq!(a.stop_reason(), b.stop_reason());
        };
        for n_jobs in [2, 3] {
            let other = run(n_jobs, Some(4), None);
            same(other.search(), other.records(), one.search(), one.records());
            assert_eq!(other.schedule(), one.schedule());
        }

        // Journaled on two threads, resumed on one with the same limit: the recorded fits
        // count in task order, so the resumed search trips at the same fit, dropping any
        // recorded fit after it.
        let path = journal_path("halving-failures-threads");
        let journaled = run(2, Some(4), Some(&path));
        same(
            journaled.search(),
            journaled.records(),
            one.search(),
            one.records(),
        );
        let resumed = run(1, Some(4), Some(&path));
        same(
            resumed.search(),
            resumed.records(),
            one.search(),
            one.records(),
        );
        assert_eq!(resumed.resumed_fits(), 13);
        let finished = run(2, None, Some(&path));
        let plain = run(1, None, None);
        assert!(!finished.is_partial());
        same(
            finished.search(),
            finished.records(),
            plain.search(),
            plain.records(),
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn limits_that_never_trip_change_nothing() {
        let limited = halving(probes(|_| false, None))
            .time_budget(Duration::from_secs(3600))
            .max_consecutive_failures(1)
            .fit(&data())
            .unwrap();
        let plain = halving(probes(|_| false, None)).fit(&data()).unwrap();
        assert!(!limited.is_partial());
        assert_eq!(limited.stop_reason(), None);
        assert_eq!(limited.skipped_fits(), 0);
        assert_eq!(limited.schedule(), limited.planned_schedule());
        assert_same_search(
            limited.search(),
            limited.records(),
            plain.search(),
            plain.records(),
        );
    }

    /// Rows with folds never fitted (a failed fit has a fit time; an unstarted one has not).
    fn unfinished_rows<E, M>(s: &FittedSearch<E, M>) -> Vec<usize> {
        let times = &s.cv_results().mean_fit_time;
        (0..times.len()).filter(|&r| times[r].is_nan()).collect()
    }

    /// Scores as bits, so that NaN equals NaN.
    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Same results, best candidate, records (without times) and refitted model.
    fn assert_same_search(
        a: &FittedSearch<Probe, MLPRegressor<f64>>,
        ra: &[HalvingRecord],
        b: &FittedSearch<Probe, MLPRegressor<f64>>,
        rb: &[HalvingRecord],
    ) {
        let (ca, cb) = (a.cv_results(), b.cv_results());
        assert_eq!(ca.params, cb.params);
        assert_eq!(ca.iter, cb.iter);
        assert_eq!(ca.n_resources, cb.n_resources);
        assert_eq!(ca.bracket, cb.bracket);
        assert_eq!(ca.errors, cb.errors);
        let (pa, pb) = (ca.primary(), cb.primary());
        assert_eq!(
            pa.split_test.iter().map(|v| bits(v)).collect::<Vec<_>>(),
            pb.split_test.iter().map(|v| bits(v)).collect::<Vec<_>>()
        );
        assert_eq!(bits(&pa.mean_test), bits(&pb.mean_test));
        assert_eq!(pa.rank_test, pb.rank_test);
        assert_eq!(a.best_index(), b.best_index());
        assert_eq!(a.best_params(), b.best_params());
        assert_eq!(
            a.best_score().map(f64::to_bits),
            b.best_score().map(f64::to_bits)
        );
        let key = |r: &[HalvingRecord]| -> Vec<_> {
            r.iter()
                .map(|r| {
                    (
                        (r.bracket, r.iter, r.row, r.candidate, r.split),
                        (r.n_resources, r.cost, r.error.clone()),
                        bits(&r.test_scores),
                    )
                })
                .collect()
        };
        assert_eq!(key(ra), key(rb));
        let x = data().records().clone();
        match (a.try_predict(&x), b.try_predict(&x)) {
            (Ok(pa), Ok(pb)) => {
                assert_eq!(bits(pa.as_slice().unwrap()), bits(pb.as_slice().unwrap()))
            }
            (Err(_), Err(_)) => {}
            _ => panic!("one search has a refitted model, the other not"),
        }
    }

    fn journal_path(tag: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "mlp-tune-limits-{tag}-{}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    /// Stop and resume: a search stopped by its time budget (the first 20-epoch fit, a
    /// continuation, sleeps past it) is run again with its journal and no budget; the
    /// result is the uninterrupted run's. Where the budget ran out depends on the machine;
    /// the test asserts only what holds wherever it did.
    #[test]
    fn a_halving_search_stopped_by_its_budget_resumes_from_its_journal() {
        let path = journal_path("halving-budget");
        let fresh = halving(probes(|_| false, Some(20)))
            .n_jobs(2)
            .fit(&data())
            .unwrap();
        assert!(!fresh.is_partial());
        let stopped = halving(probes(|_| false, Some(20)))
            .time_budget(NAP / 2)
            .n_jobs(1)
            .journal(&path)
            .fit(&data())
            .unwrap();
        assert!(stopped.is_partial());
        assert!(stopped.stop_reason().unwrap().contains("time budget"));
        assert!(stopped.n_iterations() <= 2);
        assert_eq!(
            stopped.records().len() + stopped.skipped_fits(),
            fresh.records().len()
        );
        // Every fit that ran is in the journal, and it ran as in the uninterrupted search.
        for r in stopped.records() {
            assert!(fresh.records().iter().any(|f| {
                (f.iter, f.candidate, f.split) == (r.iter, r.candidate, r.split)
                    && bits(&f.test_scores) == bits(&r.test_scores)
            }));
        }
        if let Some(best) = stopped.best_index() {
            assert!(!unfinished_rows(stopped.search()).contains(&best));
        }
        eprintln!(
            "stopped after {} fits in {} round(s), {} skipped",
            stopped.records().len(),
            stopped.n_iterations(),
            stopped.skipped_fits()
        );

        let resumed = halving(probes(|_| false, Some(20)))
            .n_jobs(2)
            .journal(&path)
            .fit(&data())
            .unwrap();
        assert!(!resumed.is_partial());
        assert_eq!(resumed.resumed_fits(), stopped.records().len());
        assert_same_search(
            resumed.search(),
            resumed.records(),
            fresh.search(),
            fresh.records(),
        );

        // With every fit in the journal, even a spent budget gives the whole search: a
        // stopped search still takes what the journal holds.
        let replayed = halving(probes(|_| false, Some(20)))
            .time_budget(Duration::ZERO)
            .journal(&path)
            .fit(&data())
            .unwrap();
        assert!(!replayed.is_partial());
        assert_eq!(replayed.resumed_fits(), fresh.records().len());
        assert_same_search(
            replayed.search(),
            replayed.records(),
            fresh.search(),
            fresh.records(),
        );

        // A journal missing one first-round fit, and no time: the first round stays
        // incomplete, so no later round is entered although the journal holds them.
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let first_round =
            |l: &&str| serde_json::from_str::<serde_json::Value>(l).unwrap()["iter"] == 0;
        let hole = 1 + lines[1..].iter().position(first_round).unwrap();
        lines.remove(hole);
        std::fs::write(&path, format!("{}\n", lines.join("\n"))).unwrap();
        let holed = halving(probes(|_| false, Some(20)))
            .time_budget(Duration::ZERO)
            .journal(&path)
            .fit(&data())
            .unwrap();
        assert!(holed.is_partial());
        assert_eq!(holed.n_iterations(), 1);
        assert_eq!(holed.resumed_fits(), 11);
        assert_eq!(holed.skipped_fits(), 1 + 6 + 3);
        assert_eq!(holed.best_index(), None);
        let _ = std::fs::remove_file(&path);
    }

    /// Hyperband over 18 epochs from 2, two brackets ([2, 6, 18] epochs for 9, 3, 1
    /// candidates; [6, 18] for 5, 1), aligned on their last round.
    fn hyperband<BF>(builder: BF) -> mlp_tune::model_selection::HyperbandSearchCV<BF, f64> {
        let space = ParamDistributions::new()
            .add(
                "learning_rate_init",
                Distribution::LogUniform {
                    low: 1e-3,
                    high: 1e-1,
                },
            )
            .add(
                "alpha",
                Distribution::LogUniform {
                    low: 1e-5,
                    high: 1.0,
                },
            );
        HyperbandSearchCV::new(builder, space, 18)
            .min_epochs(2)
            .max_brackets(2)
            .cv(3)
            .random_state(5)
    }

    #[test]
    fn a_hyperband_search_stopped_by_failures_resumes_from_its_journal() {
        let path = journal_path("hyperband-failures");
        // Every 6-epoch fit fails: the second step (both brackets at 6 epochs) trips the
        // limit of 3 at the end of its first row.
        let fails = |c: &Candidate| epochs(c) == 6;
        let fresh = hyperband(probes(fails, None))
            .n_jobs(2)
            .fit(&data())
            .unwrap();
        assert!(!fresh.is_partial());
        let watch = Arc::new(Watch::default());
        let stopped = hyperband(probes(fails, None))
            .max_consecutive_failures(3)
            .n_jobs(1)
            .journal(&path)
            .observer(watch.clone())
            .fit(&data())
            .unwrap();
        assert!(stopped.is_partial());
        assert_eq!(stopped.stop_reason(), Some("3 fits in a row failed"));
        assert_eq!(stopped.records().len(), 9 * 3 + 3);
        // The rest of the second step (7 rows × 3 folds) and the whole last one.
        assert_eq!(stopped.skipped_fits(), 7 * 3 + 2 * 3);
        let run: Vec<Vec<usize>> = stopped
            .brackets()
            .iter()
            .map(|b| b.n_resources.clone())
            .collect();
        assert_eq!(run, [vec![2, 6], vec![6]]);
        let planned: Vec<Vec<usize>> = stopped
            .planned_brackets()
            .iter()
            .map(|b| b.n_resources.clone())
            .collect();
        assert_eq!(planned, [vec![2, 6, 18], vec![6, 18]]);
        assert_eq!(watch.rounds.lock().unwrap().len(), 3);
        assert_eq!(watch.started.load(Ordering::SeqCst), 30);
        assert_eq!(watch.ended.load(Ordering::SeqCst), 30);
        // Only the first bracket's first round is complete: the best comes from it.
        let results = stopped.cv_results();
        let best = stopped.best_index().unwrap();
        assert_eq!(results.bracket.as_ref().unwrap()[best], 0);
        assert_eq!(results.iter.as_ref().unwrap()[best], 0);
        assert_eq!(
            stopped.best_params().unwrap().get("max_iter"),
            Some(&ParamValue::Int(2))
        );
        assert_eq!(
            stopped.best_score(),
            results.primary().mean_test[..9]
                .iter()
                .copied()
                .reduce(f64::max)
        );
        assert_eq!(stopped.best_model().unwrap().n_iter(), 2);
        // On more threads the search stops at the same fit.
        for n_jobs in [2, 3] {
            let other = hyperband(probes(fails, None))
                .max_consecutive_failures(3)
                .n_jobs(n_jobs)
                .fit(&data())
                .unwrap();
            assert_eq!(other.skipped_fits(), stopped.skipped_fits());
            assert_eq!(other.stop_reason(), stopped.stop_reason());
            assert_eq!(other.brackets(), stopped.brackets());
            assert_same_search(
                other.search(),
                other.records(),
                stopped.search(),
                stopped.records(),
            );
        }

        let resumed = hyperband(probes(fails, None))
            .n_jobs(2)
            .journal(&path)
            .fit(&data())
            .unwrap();
        assert!(!resumed.is_partial());
        assert_eq!(resumed.resumed_fits(), 30);
        assert_eq!(resumed.brackets(), fresh.brackets());
        assert_same_search(
            resumed.search(),
            resumed.records(),
            fresh.search(),
            fresh.records(),
        );
        let _ = std::fs::remove_file(&path);
    }
}
