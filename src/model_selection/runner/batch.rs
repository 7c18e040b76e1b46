//! One batch of a run: its (trial × fold) tasks on the executor, each looked up in the
//! journal, continued from a cached model, fitted and scored, or skipped by a stop.

use super::*;

impl<B, T, F, E, S> Runner<'_, B, T, F, S>
where
    S: Sync,
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    /// Runs one batch's (row, fold) tasks and appends their outcomes to the history;
    /// returns how many were not started.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_batch(
        &self,
        rows: &[Row<E>],
        decides_best: bool,
        first_row: usize,
        stopper: &Stopper,
        models: &mut HashMap<(usize, usize), E::Model>,
        trained: &mut HashMap<(usize, usize, usize), (usize, bool)>,
        out: &mut RunOutput<E, E::Model>,
    ) -> Result<usize> {
        let opts = self.opts;
        let (x, y) = (self.x, self.y);
        let n_splits = self.folds.len();
        let warm = self.resource == ResourceKind::Epochs;
        // When a single candidate is left in a batch that decides the best, it is the best
        // whatever its score, so its refit on all rows runs alongside its folds (first, as the longest
        // task) instead of after them. With several, the leader's refit is speculated.
        let decides_best = decides_best && opts.execution == Execution::All;
        let overlap_refit = decides_best && rows.len() == 1;
        let tasks: Vec<(usize, usize)> = (0..rows.len())
            .flat_map(|r| (0..n_splits).map(move |s| (r, s)))
            .collect();
        // The failure run goes on in this batch's task order; fits in the journal count at
        // their place in it, so that a resumed search trips where an uninterrupted one would.
        stopper.failures.batch(tasks.len());
        for (t, &(ri, s)) in tasks.iter().enumerate() {
            if let Some(entry) = &rows[ri].recorded[s] {
                stopper.failures.finished(t, entry.outcome.error.is_some());
            }
        }
        // Each row's relative cost for this batch: its hint scaled to the work of the round
        // (a continued model trains only the epochs past the previous round).
        let row_costs: Vec<f64> = rows
            .iter()
            .map(|row| {
                let hint = row.estimator.cost_hint(x.ncols()).unwrap_or(0.0);
                let trial = &row.trial;
                match self.resource {
                    ResourceKind::Rows => hint * trial.resource as f64,
                    ResourceKind::Epochs if warm && trial.prev_resource > 0 => {
                        hint * trial.resource.saturating_sub(trial.prev_resource) as f64
                            / trial.resource.max(1) as f64
                    }
                    _ => hint,
                }
            })
            .collect();
        let task_costs: Vec<f64> = tasks.iter().map(|&(ri, _)| row_costs[ri]).collect();
        // Run order: the overlapped refit (`None`) first, then the costliest fits first on
        // several threads, so that no long fit is left running alone at the end.
        let mut order: Vec<Option<usize>> = overlap_refit
            .then_some(None)
            .into_iter()
            .chain((0..tasks.len()).map(Some))
            .collect();
        if opts.n_jobs > 1 {
            order.sort_by(|a, b| match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, _) => std::cmp::Ordering::Less,
                (_, None) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => task_costs[*b].total_cmp(&task_costs[*a]),
            });
        }
        let speculation = SpeculativeRefit::new(
            &task_costs,
            n_splits,
            refit_rows_ratio(x.nrows(), self.folds),
            opts.n_jobs,
        );
        let models_ref = &*models;
        let results = run_parallel_with_side_work(
            opts.n_jobs,
            &order,
            |task| {
                let Some(t) = *task else {
                    if stopper.stopped() {
                        return TaskOut::Skipped;
                    }
                    let started = Instant::now();
                    let model = rows[0].estimator.fit_xy(x, y);
                    return TaskOut::Refit(model, started.elapsed().as_secs_f64());
                };
                if !stopper.failures.keeps(t) {
                    return TaskOut::Skipped;
                }
                let (ri, s) = tasks[t];
                self.run_task(
                    &rows[ri],
                    s,
                    first_row + ri,
                    t,
                    stopper,
                    models_ref,
                    &speculation,
                )
            },
            |next| {
                if opts.speculative_refit && decides_best && rows.len() > 1 && !stopper.stopped() {
                    let unstarted: Vec<usize> = order[next..].iter().flatten().copied().collect();
                    speculation.consider(&unstarted, |ri| rows[ri].estimator.fit_xy(x, y));
                }
            },
        )?;
        if let Some((guess, model, seconds)) = speculation.into_refit() {
            let estimator = (opts.builder)(&rows[guess].trial.params)?;
            out.early_refit = Some((first_row + guess, estimator, model, seconds));
        }
        // Back to (row, fold) order: the results do not depend on the run order.
        let mut in_task_order: Vec<Option<TaskOut<E::Model>>> =
            (0..tasks.len()).map(|_| None).collect();
        for (task, result) in order.iter().zip(results) {
            match (task, result) {
                (Some(t), result) => in_task_order[*t] = Some(result),
                (None, TaskOut::Refit(model, seconds)) => {
                    let estimator = (opts.builder)(&rows[0].trial.params)?;
                    out.early_refit = Some((first_row, estimator, model, seconds));
                }
                (None, TaskOut::Skipped) => {}
                (None, TaskOut::Fold(_)) => {
                    return Err(MlpTuneError::InvalidInput(
                        "internal: a refit task returned a fold result".into(),
                    ))
                }
            }
        }
        let mut kept: HashMap<(usize, usize), E::Model> = HashMap::new();
        out.history.complete.resize(first_row + rows.len(), true);
        let mut step_skipped = 0;
        for (t, (&(ri, s), result)) in tasks.iter().zip(in_task_order).enumerate() {
            let result = match result {
                Some(TaskOut::Fold(result)) if stopper.failures.keeps(t) => Some(result),
                // Ran on another thread before the failure limit tripped on an earlier task:
                // dropped, as a run on one thread would never have started it.
                Some(TaskOut::Fold(result)) => {
                    result?;
                    None
                }
                Some(TaskOut::Skipped) => None,
                Some(TaskOut::Refit(..)) | None => {
                    return Err(MlpTuneError::InvalidInput(
                        "internal: a fold task returned no fold result".into(),
                    ))
                }
            };
            let Some(result) = result else {
                step_skipped += 1;
                out.pending.push(PendingFit {
                    row: first_row + ri,
                    split: s,
                    task: t,
                });
                out.history.complete[first_row + ri] = false;
                out.history.outcomes.push(not_fitted(
                    self.scorers.len(),
                    opts.return_train_score,
                    stopper.reason().as_deref(),
                ));
                continue;
            };
            let FoldDone {
                outcome,
                model,
                cost,
                recorded,
                rebuilt,
            } = result?;
            let trial = &rows[ri].trial;
            if recorded {
                out.resumed += 1;
            }
            if let Some(epochs) = rebuilt {
                out.rebuilds.models += 1;
                out.rebuilds.epochs += epochs;
            }
            // A failed fit leaves no model, so the next round starts afresh and its cost
            // is the whole count of a fresh fit.
            let t = trained
                .entry((trial.bracket, trial.config, s))
                .or_insert((0, false));
            *t = match (outcome.error.is_none(), t.1) {
                (false, _) => (0, false),
                (true, true) => (t.0 + cost, true),
                (true, false) => (cost, true),
            };
            out.records.push(HalvingRecord {
                bracket: trial.bracket,
                iter: trial.iter,
                row: first_row + ri,
                candidate: trial.config,
                split: s,
                n_resources: trial.resource,
                test_scores: outcome.test_scores.clone(),
                train_scores: outcome.train_scores.clone(),
                fit_time: outcome.fit_time,
                score_time: outcome.score_time,
                error: outcome.error.clone(),
                cost,
            });
            out.history.outcomes.push(outcome);
            if warm && rows[ri].estimator.continuation().is_some() {
                if let Some(m) = model {
                    kept.insert((trial.config, s), m);
                }
            }
        }
        *models = kept;
        Ok(step_skipped)
    }

    /// Runs (or takes from the journal) the fit of `row` on fold `s`, task `t` of the
    /// batch, reported as `cv_results` row `row_index`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_task(
        &self,
        row: &Row<E>,
        s: usize,
        row_index: usize,
        t: usize,
        stopper: &Stopper,
        models: &HashMap<(usize, usize), E::Model>,
        speculation: &SpeculativeRefit<'_, E::Model>,
    ) -> TaskOut<E::Model> {
        let opts = self.opts;
        let (x, y) = (self.x, self.y);
        let warm = self.resource == ResourceKind::Epochs;
        let trial = &row.trial;
        let note_done = |o: &FoldOutcome| {
            speculation.finished(t, o.test_scores[self.selection], o.fit_time + o.score_time);
        };
        let report = |o: &FoldOutcome| {
            if let Some(observer) = &opts.observer {
                observer.on_fit_end(&FitEvent {
                    candidate: row_index,
                    split: s,
                    score: o.test_scores[0],
                    seconds: o.fit_time + o.score_time,
                    error: o.error.clone(),
                });
            }
        };
        if let Some(entry) = &row.recorded[s] {
            note_done(&entry.outcome);
            report(&entry.outcome);
            return TaskOut::Fold(Ok(FoldDone {
                outcome: entry.outcome.clone(),
                model: None,
                cost: entry.cost,
                recorded: true,
                rebuilt: None,
            }));
        }
        if !opts.execution.runs(t) || stopper.stopped() {
            return TaskOut::Skipped;
        }
        if let Some(observer) = &opts.observer {
            observer.on_fit_start(row_index, s);
        }
        let rebuild = row.rebuild[s];
        let previous = if warm {
            models.get(&(trial.config, s))
        } else {
            None
        };
        let continuation = row.estimator.continuation().filter(|_| warm);
        let mut cost = None;
        let result = fit_and_score_by(
            &row.estimator,
            x,
            y,
            &row.folds[s],
            self.scorers,
            self.classes,
            opts.return_train_score,
            opts.error_score,
            |x, y, train_rows| match (continuation, previous) {
                (Some(c), Some(m)) => {
                    let extra = trial.resource.saturating_sub(trial.prev_resource);
                    let continued = c.continue_rows(m, x, y, train_rows, extra)?;
                    cost = match (
                        row.estimator.epochs_trained(&continued),
                        row.estimator.epochs_trained(m),
                    ) {
                        (Some(after), Some(before)) => Some(after.saturating_sub(before)),
                        _ => Some(extra),
                    };
                    Ok(continued)
                }
                _ => {
                    let fitted = row.estimator.fit_rows(x, y, train_rows)?;
                    let epochs = row.estimator.epochs_trained(&fitted);
                    // A rebuilt model is charged, like a continued one, only the epochs
                    // past the previous round; the rest is reported as rebuild cost.
                    cost = match (rebuild, epochs) {
                        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
                        (Some(_), None) => Some(trial.resource.saturating_sub(trial.prev_resource)),
                        (None, epochs) => epochs,
                    };
                    Ok(fitted)
                }
            },
        );
        let cost = cost.unwrap_or(match self.resource {
            ResourceKind::Rows => row.folds[s].train.len(),
            _ => trial.resource,
        });
        // On disk before it counts as done.
        if let (Some(j), Ok((o, _))) = (self.journal, &result) {
            let entry = RoundEntry {
                outcome: o.clone(),
                n_resources: trial.resource,
                cost,
            };
            if let Err(e) = j.record(&key_of(trial, s), &trial.params, &entry) {
                return TaskOut::Fold(Err(e));
            }
        }
        if let Ok((o, _)) = &result {
            stopper.failures.finished(t, o.error.is_some());
            note_done(o);
            report(o);
        }
        TaskOut::Fold(result.map(|(outcome, model)| FoldDone {
            outcome,
            model,
            cost,
            recorded: false,
            rebuilt: rebuild,
        }))
    }
}
