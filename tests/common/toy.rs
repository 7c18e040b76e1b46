//! A toy estimator for the model-based search tests (`tpe_search.rs`, `bayes_search.rs`):
//! its constant prediction is a known function of its parameters, so a trial costs
//! microseconds and its CV score is exact: with zero targets the negated MSE is `-f(x)^2`,
//! maximal (0) at the optimum.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use linfa::Dataset;
use mlp_tune::model_selection::{
    Candidate, Distribution, Estimator, ParamDistributions, ParamValue,
};
use mlp_tune::{MlpTuneError, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Predicts `level` everywhere; fails when `fail` is set; sleeps `delay` per fit.
#[derive(Debug, Clone)]
pub struct Level {
    pub level: f64,
    pub fail: bool,
    pub delay: Duration,
    pub fits: Arc<AtomicUsize>,
}

impl Estimator<f64, f64> for Level {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> Result<f64> {
        self.fits.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        if self.fail {
            return Err(MlpTuneError::FitFailed("this region always fails".into()));
        }
        Ok(self.level)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

pub fn float(c: &Candidate, name: &str) -> f64 {
    match c.get(name) {
        Some(ParamValue::Float(v)) => *v,
        Some(ParamValue::Int(v)) => *v as f64,
        other => panic!("{name}: {other:?}"),
    }
}

/// A 3-parameter space: two floats (one log-scaled) and a categorical.
pub fn space() -> ParamDistributions {
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
        .add("kind", Distribution::list(["x", "y", "z"]))
}

/// `f = (a - 0.7)^2 + (log10 b + 1)^2 + [kind != y]`: 0 at a = 0.7, b = 0.1, kind = y.
pub fn objective(c: &Candidate) -> f64 {
    let (a, b) = (float(c, "a"), float(c, "b"));
    let kind = match c.get("kind") {
        Some(ParamValue::Str(k)) => k.as_str(),
        other => panic!("kind: {other:?}"),
    };
    (a - 0.7).powi(2) + (b.log10() + 1.0).powi(2) + if kind == "y" { 0.0 } else { 1.0 }
}

pub fn builder(
    fits: Arc<AtomicUsize>,
    delay: Duration,
    fail_above: f64,
) -> impl Fn(&Candidate) -> Result<Level> + Sync {
    move |c: &Candidate| {
        Ok(Level {
            level: objective(c),
            fail: float(c, "a") > fail_above,
            delay,
            fits: Arc::clone(&fits),
        })
    }
}

pub fn data() -> Dataset<f64, f64, ndarray::Ix1> {
    Dataset::new(Array2::zeros((30, 1)), Array1::zeros(30))
}

/// The fitted toy search.
pub type Fitted = mlp_tune::model_selection::FittedSearch<Level, f64>;

/// The bits of each trial's mean test score: equal bits, identical results.
pub fn score_bits(s: &Fitted) -> Vec<u64> {
    s.cv_results()
        .primary()
        .mean_test
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

/// Runs `search(fits, journal, budget)` (each fit counted in `fits`) uninterrupted, then
/// with its journal stopped part-way by a 60 ms time budget, then resumed from the journal
/// without a budget, and checks that the resumed search ran only the unfinished fits and
/// ended with the uninterrupted one's trials, scores, best and refit. `total_fits` is every
/// (trial, fold) fit and the refit.
pub fn assert_resumes_identically(
    total_fits: usize,
    search: impl Fn(&Arc<AtomicUsize>, bool, Option<Duration>) -> Fitted,
) {
    let fits = Arc::new(AtomicUsize::new(0));
    let uninterrupted = search(&fits, false, None);
    assert_eq!(fits.swap(0, Ordering::SeqCst), total_fits);

    // Stopped part-way by a time budget: a partial result, its fits journaled.
    let stopped = search(&fits, true, Some(Duration::from_millis(60)));
    assert!(stopped.is_partial(), "the budget stops the search");
    assert!(fits.swap(0, Ordering::SeqCst) < total_fits);

    // Rerun with the journal and no budget: only the unfinished fits run, and the search
    // proposes the same trials and ends with the same result as the uninterrupted one.
    let resumed = search(&fits, true, None);
    let fits_after = fits.swap(0, Ordering::SeqCst);
    assert!(resumed.resumed_fits() > 0);
    assert_eq!(fits_after, total_fits - resumed.resumed_fits());
    assert_eq!(
        uninterrupted.cv_results().params,
        resumed.cv_results().params
    );
    assert_eq!(score_bits(&uninterrupted), score_bits(&resumed));
    assert_eq!(uninterrupted.best_index(), resumed.best_index());
    assert_eq!(uninterrupted.best_model(), resumed.best_model());
}
