//! Two things the runner decides while fits finish in any order, both in task order so
//! results never depend on it: when too many fits in a row failed, and when the refit of the
//! best candidate can start early (speculatively) because the remaining fits cannot change
//! the leader in time.

use std::time::Instant;

use crate::error::Result;

/// A speculative refit once run: the candidate (or row) it refitted, its model or error,
/// and its seconds.
pub(crate) type Speculated<M> = Option<(usize, Result<M>, f64)>;

/// [`SearchCV::max_consecutive_failures`], counted so that a search trips at the same fit
/// for any thread count: failures in a row are counted in the canonical task order (a grid
/// search's candidate-major, then fold, tasks; a halving search's rows then folds, round
/// after round), over the longest prefix of finished tasks, whatever order they finish in.
/// The trip is the task that makes `limit` failures in a row; every task before it has
/// finished by the time it is known, and the search keeps no result after it.
pub(crate) struct FailureRun {
    limit: Option<usize>,
    state: std::sync::Mutex<FailureState>,
}

#[derive(Default)]
struct FailureState {
    /// Per task of the current batch, once finished: whether it failed.
    finished: Vec<Option<bool>>,
    /// Tasks `0..scanned` of the batch are finished and counted.
    scanned: usize,
    /// Failures in a row up to the last task counted (carried over from earlier batches).
    run: usize,
    /// The task of the current batch that tripped the limit.
    trip: Option<usize>,
}

impl FailureRun {
    /// A counter for `limit` failures in a row (none: it never trips), over a first batch
    /// of `n_tasks` tasks.
    pub(crate) fn new(limit: Option<usize>, n_tasks: usize) -> Self {
        let run = FailureRun {
            limit,
            state: std::sync::Mutex::new(FailureState::default()),
        };
        run.batch(n_tasks);
        run
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FailureState> {
        // The state stays consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the next batch (a halving round) of `n_tasks` tasks, after the last one: the
    /// failures in a row at the end of the last batch carry over.
    pub(crate) fn batch(&self, n_tasks: usize) {
        if self.limit.is_none() {
            return;
        }
        let mut s = self.state();
        s.finished = vec![None; n_tasks];
        s.scanned = 0;
    }

    /// Counts a finished task of the current batch (a fit that ran, or one taken from a
    /// journal); returns whether this trips the limit.
    pub(crate) fn finished(&self, task: usize, failed: bool) -> bool {
        let Some(limit) = self.limit else {
            return false;
        };
        let mut s = self.state();
        if s.trip.is_some() || task >= s.finished.len() {
            return false;
        }
        s.finished[task] = Some(failed);
        while let Some(&Some(failed)) = s.finished.get(s.scanned) {
            s.run = if failed { s.run + 1 } else { 0 };
            s.scanned += 1;
            if s.run >= limit {
                s.trip = Some(s.scanned - 1);
                return true;
            }
        }
        false
    }

    /// The task that tripped the limit, once known.
    pub(crate) fn trip(&self) -> Option<usize> {
        self.limit?;
        self.state().trip
    }

    /// Whether the result of `task` is kept: not after the trip.
    pub(crate) fn keeps(&self, task: usize) -> bool {
        self.trip().is_none_or(|trip| task <= trip)
    }

    /// The stop reason once tripped.
    pub(crate) fn reason(&self) -> Option<String> {
        self.trip()
            .and(self.limit)
            .map(|n| format!("{n} fits in a row failed"))
    }
}

/// All rows over a fold's mean training rows: how much longer a refit takes than a fold fit.
pub(crate) fn refit_rows_ratio(n_rows: usize, folds: &[super::split::Fold]) -> f64 {
    let mean_train =
        folds.iter().map(|f| f.train.len()).sum::<usize>() as f64 / folds.len().max(1) as f64;
    n_rows as f64 / mean_train.max(1.0)
}

/// The speculative refit of a search's leader (see [`SearchCV::speculative_refit`]): the
/// tasks' scores and times as they finish, and the refit once one thread has run it.
pub(crate) struct SpeculativeRefit<'a, M> {
    /// Per task: its relative cost hint (0 when the estimator gives none).
    task_costs: &'a [f64],
    n_splits: usize,
    refit_rows_ratio: f64,
    n_jobs: usize,
    /// Per task (candidate or row, then fold): its selection score and seconds once done.
    done: std::sync::Mutex<Vec<Option<(f64, f64)>>>,
    claimed: std::sync::atomic::AtomicBool,
    refit: std::sync::Mutex<Speculated<M>>,
}

impl<'a, M> SpeculativeRefit<'a, M> {
    /// For tasks of `task_costs.len()` (candidate or row, fold) fits, `n_splits` folds each,
    /// run on `n_jobs` threads; a refit takes `refit_rows_ratio` times a fold fit.
    pub(crate) fn new(
        task_costs: &'a [f64],
        n_splits: usize,
        refit_rows_ratio: f64,
        n_jobs: usize,
    ) -> Self {
        SpeculativeRefit {
            task_costs,
            n_splits,
            refit_rows_ratio,
            n_jobs,
            done: std::sync::Mutex::new(vec![None; task_costs.len()]),
            claimed: std::sync::atomic::AtomicBool::new(false),
            refit: std::sync::Mutex::new(None),
        }
    }

    /// Notes that `task` finished with this selection score after `seconds`.
    pub(crate) fn finished(&self, task: usize, score: f64, seconds: f64) {
        if let Ok(mut done) = self.done.lock() {
            done[task] = Some((score, seconds));
        }
    }

    /// Runs `fit` on the leader (its candidate or row index) on this thread if no refit has
    /// been claimed yet and the tasks not yet started (`unstarted`) would keep the other
    /// threads busy no longer than the refit takes.
    pub(crate) fn consider(&self, unstarted: &[usize], fit: impl FnOnce(usize) -> Result<M>) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.claimed.load(SeqCst) {
            return;
        }
        let guess = match self.done.lock() {
            // With every fit done there is nothing left to overlap.
            Ok(done) if done.iter().any(Option::is_none) => {
                leader(&done, self.n_splits).filter(|&leader| {
                    tail_fits_within_refit(&TailEstimate {
                        done: &done,
                        task_costs: self.task_costs,
                        unstarted,
                        leader,
                        n_splits: self.n_splits,
                        refit_rows_ratio: self.refit_rows_ratio,
                        other_threads: self.n_jobs.saturating_sub(1),
                    })
                })
            }
            _ => None,
        };
        let Some(guess) = guess else { return };
        if self.claimed.swap(true, SeqCst) {
            return;
        }
        let started = Instant::now();
        let model = fit(guess);
        let seconds = started.elapsed().as_secs_f64();
        if let Ok(mut slot) = self.refit.lock() {
            *slot = Some((guess, model, seconds));
        }
    }

    /// The refit, if one ran: (candidate or row, model or error, seconds).
    pub(crate) fn into_refit(self) -> Speculated<M> {
        self.refit.into_inner().ok().flatten()
    }
}

/// What [`tail_fits_within_refit`] judges from.
struct TailEstimate<'a> {
    /// Per task (candidate-major, then fold): its selection score and seconds once done.
    pub(crate) done: &'a [Option<(f64, f64)>],
    /// Per task: its estimator's relative cost hint (0 when it gives none).
    pub(crate) task_costs: &'a [f64],
    /// Tasks not yet started.
    pub(crate) unstarted: &'a [usize],
    pub(crate) leader: usize,
    pub(crate) n_splits: usize,
    /// All rows over a fold's training rows: a refit's time over a fold fit's.
    pub(crate) refit_rows_ratio: f64,
    pub(crate) other_threads: usize,
}

/// Whether the fits not yet started would keep the other threads busy no longer than a
/// refit of the leader takes, so that refitting it now shortens the search. Judged from the
/// fits done: the refit from the leader's fold times scaled to all rows, the rest from the
/// cost hints calibrated on the finished fits (or, without hints, the mean fit time).
fn tail_fits_within_refit(e: &TailEstimate<'_>) -> bool {
    let leader_folds = &e.done[e.leader * e.n_splits..(e.leader + 1) * e.n_splits];
    let leader_seconds: f64 = leader_folds.iter().flatten().map(|&(_, t)| t).sum();
    let refit_seconds = leader_seconds / e.n_splits.max(1) as f64 * e.refit_rows_ratio;
    let (mut seconds, mut hinted, mut count) = (0.0, 0.0, 0usize);
    for (t, done) in e.done.iter().enumerate() {
        if let Some((_, time)) = done {
            seconds += time;
            hinted += e.task_costs[t];
            count += 1;
        }
    }
    let with_hints = hinted > 0.0 && e.unstarted.iter().all(|&t| e.task_costs[t] > 0.0);
    let tail_seconds = if with_hints {
        e.unstarted.iter().map(|&t| e.task_costs[t]).sum::<f64>() * (seconds / hinted)
    } else {
        e.unstarted.len() as f64 * seconds / count.max(1) as f64
    };
    tail_seconds <= e.other_threads as f64 * refit_seconds
}

/// The candidate that leads so far: the best mean score among the candidates whose folds
/// are all scored (the first on ties; NaN never leads), as the final ranking would pick if
/// the others did no better.
fn leader(done: &[Option<(f64, f64)>], n_splits: usize) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (c, folds) in done.chunks(n_splits.max(1)).enumerate() {
        let Some(sum) = folds.iter().try_fold(0.0, |acc, s| s.map(|(s, _)| acc + s)) else {
            continue;
        };
        let mean = sum / folds.len() as f64;
        if !mean.is_nan() && best.is_none_or(|(_, b)| mean > b) {
            best = Some((c, mean));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_runs_trip_in_task_order_whatever_the_finishing_order() {
        // Task order: ok, fail, ok, fail, fail, fail, ok; a limit of 3 trips at task 5.
        let failed = [false, true, false, true, true, true, false];
        let orders: [[usize; 7]; 3] = [
            [0, 1, 2, 3, 4, 5, 6],
            [6, 5, 4, 3, 1, 0, 2],
            [3, 4, 5, 1, 6, 0, 2],
        ];
        for order in orders {
            let run = FailureRun::new(Some(3), failed.len());
            let mut tripped_at = None;
            for (k, &t) in order.iter().enumerate() {
                if run.finished(t, failed[t]) {
                    tripped_at = Some(k);
                }
            }
            assert_eq!(run.trip(), Some(5), "{order:?}");
            // Known once every task up to 5 has finished, and only then.
            let last_needed = order.iter().rposition(|&t| t <= 5).unwrap();
            assert_eq!(tripped_at, Some(last_needed), "{order:?}");
            assert!(run.keeps(5) && !run.keeps(6));
            assert_eq!(run.reason().as_deref(), Some("3 fits in a row failed"));
        }
        // The run carries into the next batch; a success resets it.
        let run = FailureRun::new(Some(3), 3);
        for (t, f) in [false, true, true].into_iter().enumerate() {
            assert!(!run.finished(t, f));
        }
        run.batch(2);
        assert!(!run.finished(1, false));
        assert!(run.finished(0, true));
        assert_eq!(run.trip(), Some(0));
        assert!(!run.keeps(1));
        // Without a limit nothing trips.
        let none = FailureRun::new(None, 4);
        assert!((0..4).all(|t| !none.finished(t, true)));
        assert_eq!((none.trip(), none.reason()), (None, None));
        assert!(none.keeps(3));
    }

    #[test]
    fn the_leader_is_the_best_complete_candidate_first_on_ties() {
        let done = |v: &[Option<f64>]| -> Vec<Option<(f64, f64)>> {
            v.iter().map(|s| s.map(|s| (s, 1.0))).collect()
        };
        // 2 folds per candidate; candidate 1 is incomplete, candidate 3 is NaN.
        let scores = [
            Some(-2.0),
            Some(-2.0),
            Some(0.0),
            None,
            Some(-1.0),
            Some(-1.0),
            Some(f64::NAN),
            Some(5.0),
            Some(-1.0),
            Some(-1.0),
        ];
        assert_eq!(leader(&done(&scores), 2), Some(2));
        assert_eq!(leader(&done(&[None, Some(1.0)]), 2), None);
    }

    #[test]
    fn a_refit_starts_once_the_tail_fits_in_the_other_threads() {
        // 3 candidates x 2 folds; hints 4, 2, 1; fits so far took 1 s per hint unit.
        let task_costs = [4.0, 4.0, 2.0, 2.0, 1.0, 1.0];
        let mut done = vec![None; 6];
        done[0] = Some((-1.0, 4.0));
        done[1] = Some((-1.0, 4.0));
        done[2] = Some((-2.0, 2.0));
        let estimate = |unstarted: &[usize], other_threads: usize| {
            tail_fits_within_refit(&TailEstimate {
                done: &done,
                task_costs: &task_costs,
                unstarted,
                leader: 0,
                n_splits: 2,
                refit_rows_ratio: 1.5,
                other_threads,
            })
        };
        // The leader's refit: 4 s x 1.5 = 6 s. Left to start: 2 + 1 + 1 = 4 s.
        assert!(estimate(&[3, 4, 5], 1));
        // 3 x 2 s would be too many for one other thread, not for three.
        assert!(!estimate(&[3, 3, 3, 3], 1));
        assert!(estimate(&[3, 3, 3, 3], 3));
        // No hints: the mean fit time (10 s / 3) per task left.
        let no_hints = [0.0; 6];
        let by_count = |unstarted: &[usize]| {
            tail_fits_within_refit(&TailEstimate {
                task_costs: &no_hints,
                unstarted,
                done: &done,
                leader: 0,
                n_splits: 2,
                refit_rows_ratio: 1.5,
                other_threads: 1,
            })
        };
        assert!(by_count(&[3]));
        assert!(!by_count(&[3, 4]));
    }
}
