//! Search journals for real: a search process (grid, successive halving with warm
//! continuation, Hyperband) is killed with SIGKILL in the middle, then resumed from its
//! journal; the result equals an uninterrupted run and only unfinished fits run again.

use mlp_tune::model_selection::SearchResults;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linfa::prelude::*;
use mlp_tune::model_selection::{
    by_name, BracketSampler, Candidate, ContinueTraining, Distribution, Estimator, FittedHalving,
    FittedHyperband, FittedSearch, GridSearchCV, HalvingGridSearchCV, HalvingRecord,
    HyperbandSearchCV, ParamDistributions, ParamGrid, ParamValue, Resource,
};
use mlp_tune::neural_network::{MLPRegressor, MLPRegressorParams, MLPRegressorValidParams, Solver};
use mlp_tune::MlpTuneError;
use ndarray::{Array1, ArrayView1, ArrayView2};

const CHILD_ENV: &str = "MLP_TUNE_JOURNAL_CHILD";

/// An MLP that counts its fits.
struct Counting {
    inner: MLPRegressorValidParams<f64>,
    fits: Arc<AtomicUsize>,
}

impl Estimator<f64, f64> for Counting {
    type Model = MLPRegressor<f64>;
    fn fit_xy(&self, x: ArrayView2<f64>, y: ArrayView1<f64>) -> mlp_tune::Result<Self::Model> {
        self.fits.fetch_add(1, Ordering::SeqCst);
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
}

fn data() -> Dataset<f64, f64, ndarray::Ix1> {
    let d = mlp_tune::datasets::diabetes();
    let x = d.records();
    let mean = x.mean_axis(ndarray::Axis(0)).unwrap();
    let std = x.std_axis(ndarray::Axis(0), 0.0);
    Dataset::new((x - &mean) / &std, d.targets().mapv(|v| v / 100.0))
}

/// 8 candidates × 3 folds of slow-enough fits.
fn run(
    journal: Option<&PathBuf>,
    fits: Arc<AtomicUsize>,
) -> mlp_tune::Result<FittedSearch<Counting, MLPRegressor<f64>>> {
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Sgd)
        .hidden_layer_sizes(&[64, 64])
        .max_iter(150)
        .tol(0.0)
        .n_iter_no_change(1000)
        .random_state(0);
    let named = by_name(base);
    let builder = move |c: &Candidate| {
        Ok(Counting {
            inner: named(c)?,
            fits: fits.clone(),
        })
    };
    let grid = ParamGrid::new()
        .add("learning_rate_init", [1e-3, 3e-3, 1e-2, 3e-2])
        .add("alpha", [1e-4, 1e-1]);
    // Fits are counted exactly: no speculative refit that might be thrown away.
    let mut search = GridSearchCV::new(builder, grid)
        .cv(3)
        .n_jobs(2)
        .speculative_refit(false);
    if let Some(path) = journal {
        search = search.journal(path);
    }
    search.fit(&data())
}

/// Runs the search in this process when started as the child of the test below.
#[test]
fn journal_child_process() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        run(Some(&PathBuf::from(path)), Arc::default()).unwrap();
    }
}

fn records_in(path: &PathBuf) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.matches('\n').count().saturating_sub(1))
        .unwrap_or(0)
}

#[test]
fn a_killed_search_resumes_from_its_journal_with_identical_results() {
    let dir = std::env::temp_dir().join(format!("mlp-tune-journal-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("search.jsonl");
    let _ = std::fs::remove_file(&path);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "journal_child_process", "--test-threads", "1"])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while records_in(&path) < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "child made no progress"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child finished before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let recorded = records_in(&path);
    assert!(recorded < 24, "the kill came after the search ended");

    let resumed_fits = Arc::new(AtomicUsize::new(0));
    let resumed = run(Some(&path), resumed_fits.clone()).unwrap();
    let fresh_fits = Arc::new(AtomicUsize::new(0));
    let fresh = run(None, fresh_fits.clone()).unwrap();

    // Only the unfinished fits ran again (plus the refit of the best candidate).
    assert_eq!(resumed.resumed_fits(), recorded);
    assert_eq!(resumed_fits.load(Ordering::SeqCst), 24 - recorded + 1);
    assert_eq!(fresh_fits.load(Ordering::SeqCst), 24 + 1);

    let (a, b) = (resumed.cv_results(), fresh.cv_results());
    let bits =
        |m: &Vec<Vec<f64>>| -> Vec<u64> { m.iter().flatten().map(|v| v.to_bits()).collect() };
    assert_eq!(bits(&a.primary().split_test), bits(&b.primary().split_test));
    assert_eq!(a.primary().rank_test, b.primary().rank_test);
    assert_eq!(resumed.best_params(), fresh.best_params());
    let x = data().records().clone();
    assert_eq!(
        resumed.try_predict(&x).unwrap(),
        fresh.try_predict(&x).unwrap()
    );

    // The journal is now complete: a third run fits nothing but the refit.
    let third_fits = Arc::new(AtomicUsize::new(0));
    let third = run(Some(&path), third_fits.clone()).unwrap();
    assert_eq!(third.resumed_fits(), 24);
    assert_eq!(third_fits.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_journal_from_another_search_is_refused() {
    let dir = std::env::temp_dir().join(format!("mlp-tune-journal-other-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("search.jsonl");
    let _ = std::fs::remove_file(&path);
    let iris = mlp_tune::datasets::iris();
    let search = |alphas: Vec<f64>| {
        GridSearchCV::new(
            by_name(
                mlp_tune::neural_network::MLPClassifier::params()
                    .solver(Solver::Lbfgs)
                    .max_iter(20)
                    .random_state(0),
            ),
            ParamGrid::new().add("alpha", alphas),
        )
        .cv(3)
        .journal(&path)
    };
    search(vec![1e-4, 1e-2]).fit(&iris).unwrap();
    match search(vec![1e-4, 1e-3]).fit(&iris) {
        Err(MlpTuneError::Journal(msg)) => assert!(msg.contains("different search"), "{msg}"),
        other => panic!("expected a journal error, got {:?}", other.map(|_| ())),
    }
    // Same space, other data: refused too.
    let mut other = iris.clone();
    other.records[[0, 0]] += 1.0;
    assert!(matches!(
        search(vec![1e-4, 1e-2]).fit(&other),
        Err(MlpTuneError::Journal(_))
    ));
    // A journal in a missing directory is a clear error before any fit.
    let missing = dir.join("no-such-dir").join("j.jsonl");
    let err = search(vec![1e-4])
        .journal(&missing)
        .fit(&iris)
        .err()
        .unwrap();
    assert!(matches!(err, MlpTuneError::Journal(_)), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Successive halving and Hyperband with warm continuation.

const HALVING_CHILD_ENV: &str = "MLP_TUNE_JOURNAL_HALVING_CHILD";
const HYPERBAND_CHILD_ENV: &str = "MLP_TUNE_JOURNAL_HYPERBAND_CHILD";
const BOHB_CHILD_ENV: &str = "MLP_TUNE_JOURNAL_BOHB_CHILD";

/// Counts fits, continuations and the epochs they train.
#[derive(Default)]
struct Counters {
    fits: AtomicUsize,
    continuations: AtomicUsize,
    epochs: AtomicUsize,
}

impl Counters {
    fn calls(&self) -> usize {
        self.fits.load(Ordering::SeqCst) + self.continuations.load(Ordering::SeqCst)
    }
}

/// An MLP that continues exactly between rounds and counts what it trains.
struct CountingWarm {
    inner: MLPRegressorValidParams<f64>,
    counters: Arc<Counters>,
}

impl Estimator<f64, f64> for CountingWarm {
    type Model = MLPRegressor<f64>;
    fn fit_xy(&self, x: ArrayView2<f64>, y: ArrayView1<f64>) -> mlp_tune::Result<Self::Model> {
        self.counters.fits.fetch_add(1, Ordering::SeqCst);
        let m = self.inner.fit_xy(x, y)?;
        self.counters.epochs.fetch_add(m.n_iter(), Ordering::SeqCst);
        Ok(m)
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
    fn continuation(&self) -> Option<&dyn ContinueTraining<f64, f64, Self::Model>> {
        self.inner.continuation().map(|_| self as _)
    }
}

impl ContinueTraining<f64, f64, MLPRegressor<f64>> for CountingWarm {
    fn continue_xy(
        &self,
        model: &MLPRegressor<f64>,
        x: ArrayView2<f64>,
        y: ArrayView1<f64>,
        epochs: usize,
    ) -> mlp_tune::Result<MLPRegressor<f64>> {
        self.counters.continuations.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.continuation().expect("continues");
        let m = inner.continue_xy(model, x, y, epochs)?;
        self.counters
            .epochs
            .fetch_add(m.n_iter() - model.n_iter(), Ordering::SeqCst);
        Ok(m)
    }
    fn finished(&self, model: &MLPRegressor<f64>) -> bool {
        self.inner
            .continuation()
            .expect("continues")
            .finished(model)
    }
}

fn warm_builder(
    base: MLPRegressorParams<f64>,
    counters: Arc<Counters>,
) -> impl Fn(&Candidate) -> mlp_tune::Result<CountingWarm> + Sync {
    let named = by_name(base);
    move |c: &Candidate| {
        Ok(CountingWarm {
            inner: named(c)?,
            counters: counters.clone(),
        })
    }
}

fn warm_base() -> MLPRegressorParams<f64> {
    MLPRegressor::<f64>::params()
        .solver(Solver::Sgd)
        .hidden_layer_sizes(&[64, 64])
        .tol(0.0)
        .n_iter_no_change(1000)
        .random_state(0)
}

/// 8 candidates × 3 folds, 10/20/40/80 epochs: 45 fits, survivors continued.
fn run_halving(
    journal: Option<&PathBuf>,
    counters: Arc<Counters>,
    max_resources: usize,
) -> mlp_tune::Result<FittedHalving<CountingWarm, MLPRegressor<f64>>> {
    let grid = ParamGrid::new()
        .add("learning_rate_init", [1e-3, 3e-3, 1e-2, 3e-2])
        .add("alpha", [1e-4, 1e-1]);
    let mut search = HalvingGridSearchCV::new(warm_builder(warm_base(), counters), grid)
        .resource(Resource::Epochs)
        .max_resources(max_resources)
        .factor(2.0)
        .cv(3)
        .n_jobs(2)
        .speculative_refit(false);
    if let Some(path) = journal {
        search = search.journal(path);
    }
    search.fit(&data())
}

/// Hyperband over 18 epochs from 2, factor 3: brackets of 9, 5 and 3 candidates, 22 rows
/// × 3 folds.
fn run_hyperband(
    journal: Option<&PathBuf>,
    counters: Arc<Counters>,
    max_brackets: usize,
) -> mlp_tune::Result<FittedHyperband<CountingWarm, MLPRegressor<f64>>> {
    run_hyperband_with(journal, counters, max_brackets, BracketSampler::Random, 2)
}

/// BOHB on the Hyperband search above, bracket 0's first round proposed in batches: the
/// d + 1 = 3 random draws the model needs, then 2 candidates at a time.
fn run_bohb(
    journal: Option<&PathBuf>,
    counters: Arc<Counters>,
    n_jobs: usize,
) -> mlp_tune::Result<FittedHyperband<CountingWarm, MLPRegressor<f64>>> {
    let sampler = BracketSampler::bohb().with_batch_size(2);
    run_hyperband_with(journal, counters, 3, sampler, n_jobs)
}

fn run_hyperband_with(
    journal: Option<&PathBuf>,
    counters: Arc<Counters>,
    max_brackets: usize,
    sampler: BracketSampler,
    n_jobs: usize,
) -> mlp_tune::Result<FittedHyperband<CountingWarm, MLPRegressor<f64>>> {
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
    let mut search = HyperbandSearchCV::new(warm_builder(warm_base(), counters), space, 18)
        .min_epochs(2)
        .max_brackets(max_brackets)
        .sampler(sampler)
        .cv(3)
        .n_jobs(n_jobs)
        .speculative_refit(false)
        .random_state(5);
    if let Some(path) = journal {
        search = search.journal(path);
    }
    search.fit(&data())
}

#[test]
fn journal_halving_child_process() {
    if let Some(path) = std::env::var_os(HALVING_CHILD_ENV) {
        run_halving(Some(&PathBuf::from(path)), Arc::default(), 80).unwrap();
    }
}

#[test]
fn journal_hyperband_child_process() {
    if let Some(path) = std::env::var_os(HYPERBAND_CHILD_ENV) {
        run_hyperband(Some(&PathBuf::from(path)), Arc::default(), 3).unwrap();
    }
}

#[test]
fn journal_bohb_child_process() {
    if let Some(path) = std::env::var_os(BOHB_CHILD_ENV) {
        run_bohb(Some(&PathBuf::from(path)), Arc::default(), 2).unwrap();
    }
}

/// Starts `child_test` of this binary with the journal at `path` and SIGKILLs it once
/// `kill_at` records are on disk; returns the records then.
fn kill_child_after(child_test: &str, env: &str, path: &PathBuf, kill_at: usize) -> usize {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child_test, "--test-threads", "1"])
        .env(env, path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while records_in(path) < kill_at {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "child made no progress"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child finished before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    records_in(path)
}

/// (bracket, iter, candidate, split) of every complete record line of a journal.
fn recorded_keys(path: &PathBuf) -> std::collections::HashSet<(usize, usize, usize, usize)> {
    let text = std::fs::read_to_string(path).unwrap();
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    text[..complete]
        .lines()
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let f = |k: &str| v[k].as_u64().unwrap() as usize;
            (f("bracket"), f("iter"), f("candidate"), f("split"))
        })
        .collect()
}

/// What a resume from a journal holding `recorded` must re-run, from the records of an
/// uninterrupted run: the unfinished fits, those of them that rebuild the model they
/// continue (their previous round was recorded), and the epochs of those rebuilds.
fn expected_resume(
    fresh: &[HalvingRecord],
    recorded: &std::collections::HashSet<(usize, usize, usize, usize)>,
) -> (usize, usize, usize, usize) {
    let key = |r: &HalvingRecord| (r.bracket, r.iter, r.candidate, r.split);
    let find = |b, i, c, s| fresh.iter().find(|r| key(r) == (b, i, c, s));
    let unfinished: Vec<&HalvingRecord> = fresh
        .iter()
        .filter(|r| !recorded.contains(&key(r)))
        .collect();
    // A failed fit leaves no model: nothing to rebuild after it, and the next fit starts
    // afresh.
    let rebuilt: Vec<&&HalvingRecord> = unfinished
        .iter()
        .filter(|r| {
            r.iter > 0
                && recorded.contains(&(r.bracket, r.iter - 1, r.candidate, r.split))
                && find(r.bracket, r.iter - 1, r.candidate, r.split)
                    .is_some_and(|p| p.error.is_none())
        })
        .collect();
    let rebuild_epochs: usize = rebuilt
        .iter()
        .map(|r| {
            (0..r.iter)
                .filter_map(|i| find(r.bracket, i, r.candidate, r.split))
                .fold(0, |epochs, p| {
                    if p.error.is_some() {
                        0
                    } else {
                        epochs + p.cost
                    }
                })
        })
        .sum();
    let unfinished_epochs = unfinished.iter().map(|r| r.cost).sum();
    (
        unfinished.len(),
        rebuilt.len(),
        rebuild_epochs,
        unfinished_epochs,
    )
}

/// A record without its times: (bracket, iter, row, candidate, split, n_resources, cost,
/// test score bits).
type RecordBits = (usize, usize, usize, usize, usize, usize, usize, Vec<u64>);

fn assert_same_search<E: Estimator<f64, f64, Model = MLPRegressor<f64>>>(
    a: &FittedSearch<E, MLPRegressor<f64>>,
    ra: &[HalvingRecord],
    b: &FittedSearch<E, MLPRegressor<f64>>,
    rb: &[HalvingRecord],
) {
    let (ca, cb) = (a.cv_results(), b.cv_results());
    let bits =
        |m: &Vec<Vec<f64>>| -> Vec<u64> { m.iter().flatten().map(|v| v.to_bits()).collect() };
    assert_eq!(ca.params, cb.params);
    assert_eq!(ca.iter, cb.iter);
    assert_eq!(ca.n_resources, cb.n_resources);
    assert_eq!(ca.bracket, cb.bracket);
    assert_eq!(
        bits(&ca.primary().split_test),
        bits(&cb.primary().split_test)
    );
    assert_eq!(
        ca.primary()
            .mean_test
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        cb.primary()
            .mean_test
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    );
    assert_eq!(ca.primary().rank_test, cb.primary().rank_test);
    assert_eq!(a.best_index(), b.best_index());
    assert_eq!(a.best_params(), b.best_params());
    let key = |r: &[HalvingRecord]| -> Vec<RecordBits> {
        r.iter()
            .map(|r| {
                (
                    r.bracket,
                    r.iter,
                    r.row,
                    r.candidate,
                    r.split,
                    r.n_resources,
                    r.cost,
                    r.test_scores.iter().map(|v| v.to_bits()).collect(),
                )
            })
            .collect()
    };
    assert_eq!(key(ra), key(rb));
    let x = data().records().clone();
    assert_eq!(a.try_predict(&x).unwrap(), b.try_predict(&x).unwrap());
}

fn fresh_dir(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mlp-tune-journal-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("search.jsonl");
    let _ = std::fs::remove_file(&path);
    (dir, path)
}

#[test]
fn a_killed_halving_search_with_warm_continuation_resumes_identically() {
    let (dir, path) = fresh_dir("halving-kill");
    let fresh_counters = Arc::new(Counters::default());
    let fresh = run_halving(None, fresh_counters.clone(), 80).unwrap();
    assert_eq!(fresh.n_resources(), [10, 20, 40, 80]);
    assert_eq!(fresh.n_candidates(), [8, 4, 2, 1]);
    let total = fresh.records().len();
    assert_eq!(total, 45);
    assert_eq!(fresh.rebuilt_models(), 0);
    assert_eq!(fresh_counters.calls(), total + 1);

    // Killed in the second round: its unfinished fits continue models of the first round,
    // which only the journal knows.
    let recorded = kill_child_after(
        "journal_halving_child_process",
        HALVING_CHILD_ENV,
        &path,
        27,
    );
    assert!(recorded < total, "the kill came after the search ended");
    // Whatever the kill left, a torn last line is dropped.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"bracket\":0,\"iter\":1,\"cand").unwrap();
    drop(f);
    let keys = recorded_keys(&path);
    assert_eq!(keys.len(), recorded);
    let (unfinished, rebuilt, rebuild_epochs, unfinished_epochs) =
        expected_resume(fresh.records(), &keys);
    assert!(
        rebuilt > 0,
        "the kill left no model to rebuild ({recorded} records)"
    );

    let counters = Arc::new(Counters::default());
    let resumed = run_halving(Some(&path), counters.clone(), 80).unwrap();
    assert_eq!(resumed.resumed_fits(), recorded);
    assert_eq!(unfinished, total - recorded);
    // Only the unfinished fits ran (plus the refit); the rebuilt ones trained the epochs of
    // their recorded rounds again, in the same call.
    assert_eq!(counters.calls(), unfinished + 1);
    assert_eq!(resumed.rebuilt_models(), rebuilt);
    assert_eq!(resumed.rebuild_cost(), rebuild_epochs);
    let refit_epochs = resumed.best_model().unwrap().n_iter();
    assert_eq!(
        counters.epochs.load(Ordering::SeqCst),
        unfinished_epochs + rebuild_epochs + refit_epochs
    );
    assert_eq!(resumed.total_cost(), fresh.total_cost());
    eprintln!(
        "halving: killed after {recorded} of {total} records; resume ran {} fits + refit, \
         {rebuilt} of them rebuilt models ({rebuild_epochs} epochs); search cost {} epochs",
        unfinished,
        fresh.total_cost()
    );
    assert_same_search(
        resumed.search(),
        resumed.records(),
        fresh.search(),
        fresh.records(),
    );

    // Complete now: a third run fits nothing but the refit.
    let third_counters = Arc::new(Counters::default());
    let third = run_halving(Some(&path), third_counters.clone(), 80).unwrap();
    assert_eq!(third.resumed_fits(), total);
    assert_eq!(third.rebuilt_models(), 0);
    assert_eq!(third_counters.calls(), 1);
    assert_same_search(
        third.search(),
        third.records(),
        fresh.search(),
        fresh.records(),
    );

    // Another schedule (max_resources) is another search.
    match run_halving(Some(&path), Arc::default(), 40) {
        Err(MlpTuneError::Journal(msg)) => assert!(msg.contains("different search"), "{msg}"),
        other => panic!("expected a journal error, got {:?}", other.map(|_| ())),
    }
    // A Hyperband search refuses it too.
    assert!(matches!(
        run_hyperband(Some(&path), Arc::default(), 1),
        Err(MlpTuneError::Journal(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_hyperband_search_resumes_identically() {
    let (dir, path) = fresh_dir("hyperband-kill");
    let fresh_counters = Arc::new(Counters::default());
    let fresh = run_hyperband(None, fresh_counters.clone(), 3).unwrap();
    let total = fresh.records().len();
    assert_eq!(total, (9 + 3 + 1 + 5 + 1 + 3) * 3);

    // Killed in the second step: bracket 0's second round and bracket 1's first.
    let recorded = kill_child_after(
        "journal_hyperband_child_process",
        HYPERBAND_CHILD_ENV,
        &path,
        33,
    );
    assert!(recorded < total, "the kill came after the search ended");
    let keys = recorded_keys(&path);
    let (unfinished, rebuilt, rebuild_epochs, unfinished_epochs) =
        expected_resume(fresh.records(), &keys);

    let counters = Arc::new(Counters::default());
    let resumed = run_hyperband(Some(&path), counters.clone(), 3).unwrap();
    assert_eq!(resumed.resumed_fits(), recorded);
    assert_eq!(counters.calls(), unfinished + 1);
    assert_eq!(resumed.rebuilt_models(), rebuilt);
    assert_eq!(resumed.rebuild_cost(), rebuild_epochs);
    let refit_epochs = resumed.best_model().unwrap().n_iter();
    assert_eq!(
        counters.epochs.load(Ordering::SeqCst),
        unfinished_epochs + rebuild_epochs + refit_epochs
    );
    eprintln!(
        "hyperband: killed after {recorded} of {total} records; resume ran {unfinished} fits + \
         refit, {rebuilt} of them rebuilt models ({rebuild_epochs} epochs); search cost {} epochs",
        fresh.total_cost()
    );
    assert_same_search(
        resumed.search(),
        resumed.records(),
        fresh.search(),
        fresh.records(),
    );

    // Other brackets are another search.
    assert!(matches!(
        run_hyperband(Some(&path), Arc::default(), 2),
        Err(MlpTuneError::Journal(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_bohb_search_resumes_identically() {
    let (dir, path) = fresh_dir("bohb-kill");
    let fresh = run_bohb(None, Arc::default(), 2).unwrap();
    let total = fresh.records().len();
    assert_eq!(total, (9 + 3 + 1 + 5 + 1 + 3) * 3);
    // Parts of first rounds hold the earlier parts' models: nothing is retrained.
    assert_eq!(fresh.rebuilt_models(), 0);
    // The same search on one thread and on two.
    let one = run_bohb(None, Arc::default(), 1).unwrap();
    assert_same_search(one.search(), one.records(), fresh.search(), fresh.records());
    // TPE proposed some of bracket 0's first round, from its second batch on (the first
    // holds the d + 1 = 3 random draws the model needs; the later ones 2 candidates each).
    let hyperband = run_hyperband(None, Arc::default(), 3).unwrap();
    let first = |s: &FittedHyperband<CountingWarm, MLPRegressor<f64>>| -> Vec<Candidate> {
        let r = s.cv_results();
        (0..9).map(|i| r.params[i].clone()).collect()
    };
    let (b, h) = (first(&fresh), first(&hyperband));
    assert_eq!(b[..3], h[..3], "the first batch is Hyperband's draws");
    assert_ne!(b[3..], h[3..], "later batches are proposed by TPE");

    // Killed in bracket 0's second batch (rows 3 and 4: records 10 to 15), the first one
    // TPE proposes.
    let recorded = kill_child_after("journal_bohb_child_process", BOHB_CHILD_ENV, &path, 14);
    assert!(recorded < total, "the kill came after the search ended");
    let keys = recorded_keys(&path);
    let (unfinished, rebuilt, rebuild_epochs, _) = expected_resume(fresh.records(), &keys);
    let counters = Arc::new(Counters::default());
    let resumed = run_bohb(Some(&path), counters.clone(), 2).unwrap();
    assert_eq!(resumed.resumed_fits(), recorded);
    assert_eq!(counters.calls(), unfinished + 1);
    assert_eq!(resumed.rebuilt_models(), rebuilt);
    assert_eq!(resumed.rebuild_cost(), rebuild_epochs);
    eprintln!("bohb: killed after {recorded} of {total} records; resume ran {unfinished} fits");
    assert_same_search(
        resumed.search(),
        resumed.records(),
        fresh.search(),
        fresh.records(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An MLP whose fits fail for one candidate in the first round (10 epochs), so that with a
/// large `error_score` it survives without a model to continue.
struct Flaky {
    inner: MLPRegressorValidParams<f64>,
    fail: bool,
}

impl Estimator<f64, f64> for Flaky {
    type Model = MLPRegressor<f64>;
    fn fit_xy(&self, x: ArrayView2<f64>, y: ArrayView1<f64>) -> mlp_tune::Result<Self::Model> {
        if self.fail {
            return Err(MlpTuneError::InvalidInput("flaky".into()));
        }
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
    fn continuation(&self) -> Option<&dyn ContinueTraining<f64, f64, Self::Model>> {
        self.inner.continuation()
    }
}

/// Every prefix of a complete journal is a state a kill can leave (records are appended
/// one whole line at a time); resuming from each gives the uninterrupted run's results
/// and costs, including a candidate whose first-round fits failed (no model to continue:
/// its next round trains afresh).
#[test]
fn resuming_from_every_prefix_of_a_halving_journal_gives_the_same_search() {
    let (dir, path) = fresh_dir("halving-prefixes");
    let lrs = [1e-3, 3e-3, 1e-2, 3e-2];
    let run = |journal: Option<&PathBuf>, flaky: Option<f64>| {
        let named = by_name(warm_base().hidden_layer_sizes(&[8]));
        let builder = move |c: &Candidate| {
            Ok(Flaky {
                inner: named(c)?,
                fail: c.get("max_iter") == Some(&ParamValue::Int(10))
                    && flaky.map(ParamValue::Float).as_ref() == c.get("learning_rate_init"),
            })
        };
        let grid = ParamGrid::new().add("learning_rate_init", lrs);
        let mut search = HalvingGridSearchCV::new(builder, grid)
            .resource(Resource::Epochs)
            .max_resources(40)
            .factor(2.0)
            .error_score(Some(1e9))
            .cv(3)
            .n_jobs(2);
        if let Some(p) = journal {
            search = search.journal(p);
        }
        search.fit(&data()).unwrap()
    };
    // The candidate that wins the second round fails its first: it survives on the error
    // score, trains afresh in the second round, wins it again and is continued in the last.
    let plain = run(None, None);
    let winner = plain
        .records()
        .iter()
        .find(|r| r.iter == 2)
        .unwrap()
        .candidate;
    let flaky = Some(lrs[winner]);
    let run = |journal: Option<&PathBuf>| run(journal, flaky);
    let fresh = run(None);
    assert_eq!(fresh.n_candidates(), [4, 2, 1]);
    let flaky_iters: Vec<(usize, bool)> = fresh
        .records()
        .iter()
        .filter(|r| r.candidate == winner)
        .map(|r| (r.iter, r.error.is_none()))
        .collect();
    assert_eq!(
        flaky_iters,
        [0, 0, 0, 1, 1, 1, 2, 2, 2].map(|i| (i, i > 0)),
        "the failing candidate must fail its first round and win the second"
    );
    let total = fresh.records().len();
    run(Some(&path));
    let full = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    assert_eq!(lines.len(), total + 1);
    for n in 0..=total {
        std::fs::write(&path, format!("{}\n", lines[..=n].join("\n"))).unwrap();
        let keys = recorded_keys(&path);
        let (_, rebuilt, rebuild_epochs, _) = expected_resume(fresh.records(), &keys);
        let resumed = run(Some(&path));
        assert_eq!(resumed.resumed_fits(), n);
        assert_same_search(
            resumed.search(),
            resumed.records(),
            fresh.search(),
            fresh.records(),
        );
        assert_eq!(resumed.rebuilt_models(), rebuilt, "prefix {n}");
        assert_eq!(resumed.rebuild_cost(), rebuild_epochs, "prefix {n}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Attaching a training observer (a progress bar, say) or changing the thread count does
/// not change a search's results, so it keeps the journal valid: the rerun resumes every fit.
#[test]
fn an_observer_or_thread_count_keeps_the_journal_valid() {
    struct Quiet;
    impl mlp_tune::neural_network::TrainingObserver for Quiet {
        fn on_epoch_end(
            &self,
            _log: &mlp_tune::neural_network::EpochLog,
        ) -> mlp_tune::neural_network::TrainingControl {
            mlp_tune::neural_network::TrainingControl::Continue
        }
    }
    let dir = std::env::temp_dir().join(format!("mlp-tune-journal-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("search.jsonl");
    let _ = std::fs::remove_file(&path);
    let iris = mlp_tune::datasets::iris();
    let base = || {
        mlp_tune::neural_network::MLPClassifier::params()
            .solver(Solver::Adam)
            .max_iter(5)
            .random_state(0)
    };
    let search = |base: mlp_tune::neural_network::MLPClassifierParams<f64>| {
        GridSearchCV::new(by_name(base), ParamGrid::new().add("alpha", [1e-4, 1e-2]))
            .cv(3)
            .speculative_refit(false)
            .journal(&path)
    };
    let first = search(base()).fit(&iris).unwrap();
    assert_eq!(first.resumed_fits(), 0);
    let watched = search(base().observer(Quiet).n_threads(2))
        .fit(&iris)
        .unwrap();
    assert_eq!(watched.resumed_fits(), 6);
    assert_eq!(
        watched.cv_results().primary().mean_test,
        first.cv_results().primary().mean_test
    );
    // A setting that changes results still invalidates it.
    assert!(matches!(
        search(base().max_iter(6)).fit(&iris),
        Err(MlpTuneError::Journal(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
