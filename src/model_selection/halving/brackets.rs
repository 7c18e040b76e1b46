//! The strategy shared by successive halving and Hyperband: brackets of rounds over the
//! search core, keeping the best `1 / factor` of each round, with warm continuation.

use super::*;

/// The rounds of one successive-halving run.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BracketPlan {
    /// Indices into the candidate list.
    pub(super) candidates: Vec<usize>,
    /// `(n_resources, n_candidates)` per round; `rounds[0].1 == candidates.len()`.
    pub(super) rounds: Vec<(usize, usize)>,
}

/// The runner's view of a halving resource.
pub(super) fn resource_kind(resource: &Resource) -> ResourceKind {
    match resource {
        Resource::NSamples => ResourceKind::Rows,
        Resource::Epochs => ResourceKind::Epochs,
        Resource::Param(_) => ResourceKind::Param,
    }
}

pub(super) fn with_resource(candidate: &Candidate, name: &str, value: ParamValue) -> Candidate {
    let mut c = candidate.clone();
    c.insert(name.to_string(), value);
    c
}

/// scikit-learn's `resample(idx, replace=False, n_samples=m, random_state=seed)`: a fresh
/// generator, a shuffle of `0..len`, the first `m`.
pub(super) fn resample(idx: &[usize], m: usize, seed: u32) -> Vec<usize> {
    let mut rng = NumpyRng::new(seed);
    let p = rng.permutation(idx.len());
    p[..m.min(idx.len())].iter().map(|&i| idx[i]).collect()
}

/// The folds of a `resource = n_samples` round.
pub(super) fn subsample_folds(folds: &[Fold], r: usize, n_samples: usize, seed: u32) -> Vec<Fold> {
    let fraction = r as f64 / n_samples as f64;
    folds
        .iter()
        .map(|f| Fold {
            train: resample(&f.train, (fraction * f.train.len() as f64) as usize, seed),
            test: resample(&f.test, (fraction * f.test.len() as f64) as usize, seed),
        })
        .collect()
}

/// Positions of the `k` best scores, in ascending order of score (NaN lowest; equal
/// scores keep their order), as scikit-learn's `_top_k` returns them.
pub(super) fn top_k(scores: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (scores[a], scores[b]);
        match (x.is_nan(), y.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        }
    });
    order.split_off(order.len() - k.min(order.len()))
}

/// Successive-halving brackets as a strategy of the search core: one batch per step, a
/// step running the current round of every bracket that has started. Brackets are aligned
/// on their last round: shorter brackets start later, so every step (and the expensive
/// last one above all) has work from several brackets.
pub(super) struct Brackets<'a> {
    /// The candidate of every slot of every bracket: random draws, replaced by BOHB's
    /// proposals when their bracket starts.
    candidates: Vec<Candidate>,
    pub(super) bohb: Option<Bohb<'a>>,
    plans: &'a [BracketPlan],
    resource: &'a Resource,
    /// The search's folds, subsampled per round with `resource = n_samples`.
    folds: &'a [Fold],
    n_samples: usize,
    random_state: u32,
    n_splits: usize,
    /// Candidates of each bracket's current round.
    current: Vec<Vec<usize>>,
    /// Steps each bracket waits before its first round.
    offset: Vec<usize>,
    n_steps: usize,
    /// The next step.
    step: usize,
    /// Each bracket's last resource.
    prev_resource: Vec<usize>,
}

impl<'a> Brackets<'a> {
    pub(super) fn new(
        candidates: Vec<Candidate>,
        plans: &'a [BracketPlan],
        resource: &'a Resource,
        folds: &'a [Fold],
        n_samples: usize,
        random_state: u32,
    ) -> Self {
        let n_steps = plans.iter().map(|p| p.rounds.len()).max().unwrap_or(0);
        Brackets {
            candidates,
            bohb: None,
            plans,
            resource,
            folds,
            n_samples,
            random_state,
            n_splits: folds.len(),
            current: plans.iter().map(|p| p.candidates.clone()).collect(),
            offset: plans.iter().map(|p| n_steps - p.rounds.len()).collect(),
            n_steps,
            step: 0,
            prev_resource: vec![0; plans.len()],
        }
    }

    fn round_of(&self, bracket: usize, step: usize) -> Option<usize> {
        step.checked_sub(self.offset[bracket])
    }
}

impl Strategy for Brackets<'_> {
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>> {
        if let Some(done) = self.step.checked_sub(1) {
            // Survivors of each bracket that has another round: the best of the round just
            // run, by mean test score.
            for b in 0..self.plans.len() {
                let Some(round) = self.round_of(b, done) else {
                    continue;
                };
                let Some(&(_, n_next)) = self.plans[b].rounds.get(round + 1) else {
                    continue;
                };
                let scores: Vec<f64> = (0..history.n_rows())
                    .filter(|&r| history.bracket[r] == b && history.iter[r] == round)
                    .map(|r| history.mean_score(r))
                    .collect();
                let keep = top_k(&scores, n_next);
                self.current[b] = keep.into_iter().map(|i| self.current[b][i]).collect();
            }
        }
        if self.step >= self.n_steps {
            return Ok(None);
        }
        let step = self.step;
        self.step += 1;
        let param = self.resource.param_name();
        let mut batch = Batch {
            decides_best: self.step == self.n_steps,
            ..Batch::default()
        };
        for (b, plan) in self.plans.iter().enumerate() {
            let Some(round) = self.round_of(b, step) else {
                continue;
            };
            let Some(&(r, _)) = plan.rounds.get(round) else {
                continue;
            };
            if let (Some(bohb), 0) = (&mut self.bohb, round) {
                let mut slots: Vec<&mut Candidate> = self
                    .candidates
                    .iter_mut()
                    .enumerate()
                    .filter(|(c, _)| plan.candidates.contains(c))
                    .map(|(_, candidate)| candidate)
                    .collect();
                bohb.fill(&mut slots, history)?;
            }
            batch.rounds.push(RoundEvent {
                bracket: b,
                iter: round,
                n_candidates: self.current[b].len(),
                n_resources: r,
                n_splits: self.n_splits,
            });
            let folds = (*self.resource == Resource::NSamples).then(|| {
                Arc::new(subsample_folds(
                    self.folds,
                    r,
                    self.n_samples,
                    self.random_state,
                ))
            });
            for &c in &self.current[b] {
                let params = match param {
                    Some(name) => {
                        with_resource(&self.candidates[c], name, ParamValue::Int(r as i64))
                    }
                    None => self.candidates[c].clone(),
                };
                batch.trials.push(Trial {
                    params,
                    config: c,
                    bracket: b,
                    iter: round,
                    resource: r,
                    prev_resource: self.prev_resource[b],
                    folds: folds.clone(),
                });
            }
            self.prev_resource[b] = r;
        }
        Ok(Some(batch))
    }

    fn planned_fits_left(&self, history: &History) -> usize {
        self.plans
            .iter()
            .zip(history.rounds_entered(self.plans.len()))
            .map(|(plan, entered)| {
                plan.rounds[entered.min(plan.rounds.len())..]
                    .iter()
                    .map(|&(_, n)| n * self.n_splits)
                    .sum::<usize>()
            })
            .sum()
    }

    /// The best candidate comes from the last round of its bracket (scikit-learn:
    /// `nanargmax` over the last iteration; the first row when all are NaN). In a stopped
    /// search, from each bracket's last round whose every fit was done: never from a
    /// candidate with folds left unfitted.
    fn best_rows(&self, history: &History) -> Vec<usize> {
        let mut round_complete: HashMap<(usize, usize), bool> = HashMap::new();
        for r in 0..history.n_rows() {
            *round_complete
                .entry((history.bracket[r], history.iter[r]))
                .or_insert(true) &= history.complete[r];
        }
        let mut last_complete: HashMap<usize, usize> = HashMap::new();
        for (&(b, i), &complete) in &round_complete {
            if complete {
                let last = last_complete.entry(b).or_insert(i);
                *last = (*last).max(i);
            }
        }
        (0..history.n_rows())
            .filter(|&r| last_complete.get(&history.bracket[r]) == Some(&history.iter[r]))
            .collect()
    }
}

/// Runs `strategy` over `candidates` and assembles the fitted search, the records and the
/// rebuild counts; also returns the rounds each of `n_brackets` brackets entered.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(super) fn run_brackets<F, T, B, E, S: Sync>(
    runner: &Runner<'_, B, T, F, S>,
    strategy: &mut Brackets<'_>,
    refit_index: Option<usize>,
) -> Result<(
    FittedSearch<E, E::Model>,
    Vec<HalvingRecord>,
    Rebuilds,
    Vec<usize>,
)>
where
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    let mut out = runner.run(strategy)?;
    let best_rows = strategy.best_rows(&out.history);
    let entered = out.history.rounds_entered(strategy.plans.len());
    let records = std::mem::take(&mut out.records);
    let rebuilds = out.rebuilds;
    let search = runner.finish(out, &best_rows, Some(runner.selection), refit_index)?;
    Ok((search, records, rebuilds, entered))
}

/// Checks that the resource parameter is an integer parameter the builder takes: it must
/// accept an integer and refuse a fractional number.
pub(super) fn check_resource_param<B, E>(
    builder: &B,
    candidates: &[Candidate],
    name: &str,
    probe: usize,
) -> Result<()>
where
    B: Fn(&Candidate) -> Result<E>,
{
    if candidates.iter().any(|c| c.contains_key(name)) {
        return Err(MlpTuneError::SearchSpace(format!(
            "cannot use parameter `{name}` as the resource since it is part of the searched parameters"
        )));
    }
    let first = &candidates[0];
    if let Err(e) = builder(&with_resource(first, name, ParamValue::Int(probe as i64))) {
        return Err(invalid_param(
            "resource",
            format!("`{name}` is not an integer parameter of the estimator: {e}"),
        ));
    }
    if builder(&with_resource(first, name, ParamValue::Float(0.5))).is_ok() {
        return Err(invalid_param(
            "resource",
            format!(
                "`{name}` is not an integer parameter of the estimator (it accepts 0.5, or is ignored)"
            ),
        ));
    }
    Ok(())
}

/// The journal fingerprint of a halving or Hyperband search: `settings` (its schedule
/// settings) besides what every search's fingerprint covers (candidates, estimators built
/// with the resource parameter, folds, scorers, data).
#[allow(clippy::too_many_arguments)]
pub(super) fn journal_fingerprint<F, T, B, E, S>(
    opts: &SearchCV<B, T, S>,
    kind: &str,
    settings: String,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    candidates: &[Candidate],
    resource_param: Option<(&str, usize)>,
    folds: &[Fold],
    scorers: &[Scorer<T>],
) -> Result<String>
where
    F: Float,
    T: ScoreTarget,
    B: Fn(&Candidate) -> Result<E> + Sync,
    E: Estimator<F, T>,
{
    let estimators: Vec<E> = candidates
        .iter()
        .map(|c| match resource_param {
            Some((name, r)) => (opts.builder)(&with_resource(c, name, ParamValue::Int(r as i64))),
            None => (opts.builder)(c),
        })
        .collect::<Result<_>>()?;
    Ok(opts.fingerprint_of(
        kind,
        &settings,
        x,
        y,
        candidates,
        &estimators,
        folds,
        scorers,
    ))
}
