//! The speculative refit of a search on several threads: a thread left without a fit to
//! start refits the current leader. Its model is kept when the leader is the best and
//! thrown away otherwise; the results never change.

use mlp_tune::model_selection::SearchResults;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use linfa::prelude::*;
use mlp_tune::model_selection::{Candidate, Estimator, FittedSearch, GridSearchCV, ParamGrid};
use ndarray::{Array1, ArrayView1, ArrayView2};

/// What the fits of one search share: the number of fits on all rows (refits), and how many
/// fold fits of the held-back candidate have started.
#[derive(Default)]
struct Shared {
    refits_started: Mutex<usize>,
    refit_began: Condvar,
    held_fits: AtomicUsize,
    /// The held fit gave up waiting: no refit began while it ran.
    gave_up: AtomicBool,
}

/// Predicts the constant `level` whatever the input. The candidate `hold` has its second
/// fold fit wait (up to a minute) for a refit to begin: with two threads that fit is then
/// the last one running, and the other thread must refit the leader while it waits.
struct Constant {
    level: f64,
    hold: bool,
    /// Only fits on this many rows are held back (all fold fits when `None`).
    hold_rows: Option<usize>,
    n_rows: usize,
    shared: Arc<Shared>,
}

impl Estimator<f64, f64> for Constant {
    type Model = f64;
    fn fit_xy(&self, x: ArrayView2<f64>, _y: ArrayView1<f64>) -> mlp_tune::Result<f64> {
        if x.nrows() == self.n_rows {
            if let Ok(mut n) = self.shared.refits_started.lock() {
                *n += 1;
                self.shared.refit_began.notify_all();
            }
        } else if self.hold
            && self.hold_rows.is_none_or(|rows| rows == x.nrows())
            && self.shared.held_fits.fetch_add(1, Ordering::SeqCst) == 1
        {
            let started = self.shared.refits_started.lock().unwrap();
            let (_guard, wait) = self
                .shared
                .refit_began
                .wait_timeout_while(started, Duration::from_secs(60), |n| *n == 0)
                .unwrap();
            if wait.timed_out() {
                self.shared.gave_up.store(true, Ordering::SeqCst);
            }
        }
        Ok(self.level)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> mlp_tune::Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

fn data() -> Dataset<f64, f64, ndarray::Ix1> {
    // Targets all 1.0: a level's fold score is -(level - 1)^2, the same on every fold.
    Dataset::new(
        ndarray::Array2::from_shape_fn((30, 2), |(i, j)| (i * 2 + j) as f64),
        Array1::from_elem(30, 1.0),
    )
}

/// A grid search over `levels` (the candidate `held` is held back when a speculative
/// refit can release it), 2 folds; also gives the number of refits begun.
fn search(
    levels: &[f64],
    held: usize,
    n_jobs: usize,
    speculative: bool,
) -> (FittedSearch<Constant, f64>, usize) {
    let shared = Arc::new(Shared::default());
    let s = Arc::clone(&shared);
    let data = data();
    let n_rows = data.nsamples();
    let held_level = levels[held];
    let builder = move |c: &Candidate| -> mlp_tune::Result<Constant> {
        let level = c["level"].as_f64("level")?;
        Ok(Constant {
            level,
            // Only where a refit can begin while the fit waits.
            hold: level == held_level && n_jobs > 1 && speculative,
            hold_rows: None,
            n_rows,
            shared: Arc::clone(&s),
        })
    };
    let fitted = GridSearchCV::new(builder, ParamGrid::new().add("level", levels.to_vec()))
        .cv(2)
        .n_jobs(n_jobs)
        .speculative_refit(speculative)
        .fit(&data)
        .unwrap();
    let refits = *shared.refits_started.lock().unwrap();
    assert!(
        !shared.gave_up.load(Ordering::SeqCst),
        "no refit began during the last fit"
    );
    (fitted, refits)
}

#[test]
fn a_right_guess_is_kept_and_a_wrong_one_refitted_again() {
    // The leader when the last fit runs (level 1.0, candidate 0) is the best: one refit.
    let (right, refits) = search(&[1.0, 3.0], 1, 2, true);
    assert_eq!(right.best_index(), Some(0));
    assert_eq!(right.best_model(), Some(&1.0));
    assert_eq!(refits, 1);

    // The held-back candidate turns out best: the speculated refit (of candidate 0) is
    // dropped and the best is refitted after the search.
    let (wrong, refits) = search(&[1.5, 1.0], 1, 2, true);
    assert_eq!(wrong.best_index(), Some(1));
    assert_eq!(wrong.best_model(), Some(&1.0));
    assert_eq!(refits, 2);
}

#[test]
fn results_do_not_depend_on_speculation_or_threads() {
    for (levels, held) in [(&[1.0, 3.0, 0.5][..], 1), (&[1.5, 1.0, 4.0][..], 1)] {
        let (one, _) = search(levels, held, 1, true);
        let (off, refits_off) = search(levels, held, 2, false);
        let (on, _) = search(levels, held, 2, true);
        assert_eq!(refits_off, 1);
        for other in [&off, &on] {
            assert_eq!(other.best_index(), one.best_index());
            assert_eq!(other.best_model(), one.best_model());
            assert_eq!(
                other.cv_results().primary().mean_test,
                one.cv_results().primary().mean_test
            );
        }
    }
}

/// Successive halving on rows: 6 levels, 60 rows in 2 folds, rounds of 20 and 60 rows, so
/// the last round holds the best two levels (the worse first); the fits on a full fold (30
/// rows) of the level `held` are held back as in the grid search.
fn halving(
    levels: &[f64],
    held: f64,
    n_jobs: usize,
    speculative: bool,
) -> (
    mlp_tune::model_selection::FittedHalving<Constant, f64>,
    usize,
) {
    use mlp_tune::model_selection::{HalvingGridSearchCV, MinResources};
    let shared = Arc::new(Shared::default());
    let s = Arc::clone(&shared);
    let data = Dataset::new(
        ndarray::Array2::from_shape_fn((60, 2), |(i, j)| (i * 2 + j) as f64),
        Array1::from_elem(60, 1.0),
    );
    let builder = move |c: &Candidate| -> mlp_tune::Result<Constant> {
        let level = c["level"].as_f64("level")?;
        Ok(Constant {
            level,
            hold: level == held && n_jobs > 1 && speculative,
            hold_rows: Some(30),
            n_rows: 60,
            shared: Arc::clone(&s),
        })
    };
    let fitted = HalvingGridSearchCV::new(builder, ParamGrid::new().add("level", levels.to_vec()))
        .factor(3.0)
        .min_resources(MinResources::Value(20))
        .cv(2)
        .n_jobs(n_jobs)
        .speculative_refit(speculative)
        .fit(&data)
        .unwrap();
    assert_eq!(fitted.n_candidates(), [6, 2]);
    let refits = *shared.refits_started.lock().unwrap();
    assert!(
        !shared.gave_up.load(Ordering::SeqCst),
        "no refit began during the last fit"
    );
    (fitted, refits)
}

#[test]
fn halving_speculates_the_refit_of_its_last_round() {
    let levels = [3.0, 1.2, 5.0, 1.0, 4.0, 2.0];
    // The last round runs level 1.2 then level 1.0. Holding 1.2 back, the leader when the
    // other thread runs out of fits is 1.0, the best: kept.
    let (right, refits) = halving(&levels, 1.2, 2, true);
    assert_eq!(right.best_model(), Some(&1.0));
    assert_eq!(refits, 1);
    // Holding 1.0 back, the leader is 1.2: refitted, dropped, and 1.0 refitted after.
    let (wrong, refits) = halving(&levels, 1.0, 2, true);
    assert_eq!(wrong.best_model(), Some(&1.0));
    assert_eq!(refits, 2);
    let (one, _) = halving(&levels, 1.0, 1, true);
    let (off, refits_off) = halving(&levels, 1.0, 2, false);
    assert_eq!(refits_off, 1);
    for other in [&right, &wrong, &off] {
        assert_eq!(other.best_index(), one.best_index());
        assert_eq!(
            other.cv_results().primary().mean_test,
            one.cv_results().primary().mean_test
        );
    }
}
