//! Search journals for real: a search process is killed with SIGKILL in the middle, then
//! resumed from its journal; the result equals an uninterrupted run and only unfinished fits
//! run again.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use linfa::prelude::*;
use mlp_tune::model_selection::{
    by_name, Candidate, Estimator, FittedSearch, GridSearchCV, ParamGrid,
};
use mlp_tune::neural_network::{MLPRegressor, MLPRegressorValidParams, Solver};
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
    let mut search = GridSearchCV::new(builder, grid).cv(3).n_jobs(2);
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
                mlp_tune::neural_network::MLPClassifier::<f64, usize>::params()
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
