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
///
/// With BOHB the first round of a bracket that starts before the model exists is run in
/// several batches (see [`BracketSampler::Tpe::batch_size`]), each proposed from the
/// results of those before it: the first batch of a step holds the other brackets' rounds
/// too, the later ones only the rest of the first rounds, and hold the models of the
/// step's earlier batches for the next round to continue.
pub(super) struct Brackets<'a> {
    /// The candidate of every slot of every bracket: random draws, replaced by BOHB's
    /// proposals when their batch is proposed.
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
    /// Candidates of each bracket's first round already proposed.
    emitted: Vec<usize>,
    /// Whether each bracket's first round is proposed in BOHB's batches (decided when it
    /// starts: only without a model yet).
    batched: Vec<bool>,
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
            emitted: vec![0; plans.len()],
            batched: vec![false; plans.len()],
        }
    }

    /// Candidates of bracket `b`'s first round proposed in one batch: for a bracket that
    /// started without a model, BOHB's batch size, or more while the model still needs
    /// results (those candidates are random draws whatever the results); else all.
    fn part_size(&self, b: usize, history: &History) -> usize {
        match &self.bohb {
            Some(bohb) if self.batched[b] => bohb.batch_size().max(bohb.results_needed(history)),
            _ => usize::MAX,
        }
    }

    /// Whether a bracket starting at `step` still has first-round candidates to propose.
    fn first_rounds_left(&self, step: usize) -> bool {
        (0..self.plans.len())
            .any(|b| self.round_of(b, step) == Some(0) && self.emitted[b] < self.current[b].len())
    }

    /// Appends to `batch` the next part of the first round of bracket `b` (resource `r`):
    /// proposed by BOHB from `history` when it samples.
    fn push_first_round_part(
        &mut self,
        batch: &mut Batch,
        b: usize,
        r: usize,
        folds: &Option<Arc<Vec<Fold>>>,
        history: &History,
    ) -> Result<()> {
        let start = self.emitted[b];
        if start == 0 {
            // A bracket that starts with a model proposes its whole first round at once:
            // a model refitted in the middle of the round would be fitted on a higher
            // budget whose results are mostly survivors of earlier rounds (all good), and
            // would push proposals away from them.
            self.batched[b] = self
                .bohb
                .as_ref()
                .is_some_and(|bohb| bohb.model_budget(history).is_none());
        }
        let end = start
            .saturating_add(self.part_size(b, history))
            .min(self.current[b].len());
        let configs: Vec<usize> = self.current[b][start..end].to_vec();
        self.emitted[b] = end;
        if let Some(bohb) = &mut self.bohb {
            let mut slots: Vec<(usize, &mut Candidate)> = self
                .candidates
                .iter_mut()
                .enumerate()
                .filter(|(c, _)| configs.contains(c))
                .collect();
            bohb.fill(b, &mut slots, history)?;
        }
        for c in configs {
            batch.trials.push(self.trial(c, b, 0, r, 0, folds));
        }
        Ok(())
    }

    /// The trial of configuration `c` in round `round` of bracket `b`.
    fn trial(
        &self,
        c: usize,
        b: usize,
        round: usize,
        r: usize,
        prev_resource: usize,
        folds: &Option<Arc<Vec<Fold>>>,
    ) -> Trial {
        let params = match self.resource.param_name() {
            Some(name) => with_resource(&self.candidates[c], name, ParamValue::Int(r as i64)),
            None => self.candidates[c].clone(),
        };
        Trial {
            params,
            config: c,
            bracket: b,
            iter: round,
            resource: r,
            prev_resource,
            folds: folds.clone(),
        }
    }

    /// The folds of a round with resource `r` (subsampled with `resource = n_samples`).
    fn round_folds(&self, r: usize) -> Option<Arc<Vec<Fold>>> {
        (*self.resource == Resource::NSamples).then(|| {
            Arc::new(subsample_folds(
                self.folds,
                r,
                self.n_samples,
                self.random_state,
            ))
        })
    }

    /// The configurations of every bracket's round at `step` (so far): their models are
    /// kept through the later batches of the step for the next round to continue.
    fn step_configs(&self, step: usize) -> Vec<usize> {
        (0..self.plans.len())
            .filter_map(|b| self.round_of(b, step).map(|round| (b, round)))
            .filter(|&(b, round)| round + 1 < self.plans[b].rounds.len())
            .flat_map(|(b, round)| {
                let n = if round == 0 {
                    self.emitted[b]
                } else {
                    self.current[b].len()
                };
                self.current[b][..n.min(self.current[b].len())].to_vec()
            })
            .collect()
    }

    fn round_of(&self, bracket: usize, step: usize) -> Option<usize> {
        step.checked_sub(self.offset[bracket])
    }
}

impl Strategy for Brackets<'_> {
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>> {
        // The rest of the first rounds of the step in progress (BOHB), a part at a time.
        if let Some(step) = self.step.checked_sub(1) {
            if self.first_rounds_left(step) {
                let mut batch = Batch {
                    holds: self.step_configs(step),
                    ..Batch::default()
                };
                for b in 0..self.plans.len() {
                    if self.round_of(b, step) != Some(0) {
                        continue;
                    }
                    if self.emitted[b] >= self.current[b].len() {
                        continue;
                    }
                    let r = self.plans[b].rounds[0].0;
                    let folds = self.round_folds(r);
                    self.push_first_round_part(&mut batch, b, r, &folds, history)?;
                }
                return Ok(Some(batch));
            }
        }
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
        let mut batch = Batch::default();
        for (b, plan) in self.plans.iter().enumerate() {
            let Some(round) = self.round_of(b, step) else {
                continue;
            };
            let Some(&(r, _)) = plan.rounds.get(round) else {
                continue;
            };
            batch.rounds.push(RoundEvent {
                bracket: b,
                iter: round,
                n_candidates: self.current[b].len(),
                n_resources: r,
                n_splits: self.n_splits,
            });
            let folds = self.round_folds(r);
            if round == 0 {
                self.push_first_round_part(&mut batch, b, r, &folds, history)?;
            } else {
                for &c in &self.current[b] {
                    batch
                        .trials
                        .push(self.trial(c, b, round, r, self.prev_resource[b], &folds));
                }
            }
            self.prev_resource[b] = r;
        }
        // The best is among this batch's trials only when the last step is one batch.
        batch.decides_best = self.step == self.n_steps && !self.first_rounds_left(step);
        Ok(Some(batch))
    }

    fn planned_fits_left(&self, history: &History) -> usize {
        self.plans
            .iter()
            .zip(history.rounds_entered(self.plans.len()))
            .enumerate()
            .map(|(b, (plan, entered))| {
                // A first round entered in part (BOHB's batches) has the rest to run.
                let first_left = if entered >= 1 {
                    let run = (0..history.n_rows())
                        .filter(|&r| history.bracket[r] == b && history.iter[r] == 0)
                        .count();
                    plan.rounds[0].1.saturating_sub(run) * self.n_splits
                } else {
                    0
                };
                first_left
                    + plan.rounds[entered.min(plan.rounds.len())..]
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
