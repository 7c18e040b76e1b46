//! BOHB (Falkner, Klein and Hutter, 2018): Hyperband whose brackets draw their candidates
//! from a TPE model of the results so far instead of at random.
//!
//! A bracket that starts before any budget has enough results (the first bracket) has its
//! first round proposed in synchronous batches of
//! [`batch_size`](BracketSampler::Tpe::batch_size) candidates, the deterministic
//! counterpart of BOHB's workers asking for a configuration as they free up: so the model
//! starts working inside the first bracket, as soon as the lowest budget has enough
//! results. A bracket that starts with a model proposes its whole first round at once (a
//! model refitted in the middle of that round would be fitted on a higher budget holding
//! mostly the survivors of earlier rounds, all good ones, and would push the proposals
//! away from them).
//!
//! For each batch (or whole round) the model is fitted on the largest budget (epochs)
//! that has at least `d + 1` complete results (`d` the number of searched parameters), as
//! BOHB does; each of the batch's candidates is then, with probability
//! [`random_fraction`](BracketSampler::Tpe::random_fraction), the random draw a plain
//! Hyperband search would use, and otherwise a TPE proposal (Optuna 5.0.0's sampler, see
//! [`tpe`](super::tpe)), the bracket's earlier proposals without a result on that budget
//! counted as running (constant liar) so that they spread out. Before any budget has
//! `d + 1` results every candidate is random. Proposals depend only on the seed, the batch
//! size and the results, never on `n_jobs` or on the order fits finish in. Continuation
//! between rounds is unchanged: BOHB only chooses who enters.

use std::collections::{HashMap, HashSet};

use super::param_space::{Candidate, ParamDistributions};
use super::runner::History;
use super::tpe::{propose, TpeOptions, TpeRng, TpeTrial, TrialState};
use super::tpe_search::trial_state;
use crate::error::{invalid_param, Result};
use crate::random::NumpyRng;

/// How a Hyperband search chooses the candidates of a bracket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BracketSampler {
    /// Independent random draws from the distributions (Hyperband; the default).
    Random,
    /// BOHB: a TPE model of the results on the largest budget with enough of them.
    Tpe {
        /// The sampler's options; `n_startup_trials` is not used (BOHB models a budget once
        /// it has `d + 1` results).
        options: TpeOptions,
        /// Share of candidates drawn at random all the same, so that every region keeps a
        /// chance (BOHB's `random_fraction`, default 1/3); range `[0, 1]`.
        random_fraction: f64,
        /// Candidates proposed (and run) together in the first round of a bracket that
        /// starts before any budget has `d + 1` results (the first bracket), default 3,
        /// range `>= 1`: that round runs as consecutive batches (with the other brackets'
        /// rounds of the same step in the first batch), each proposed from the results of
        /// the batches before it. While no budget has `d + 1` results a batch holds the
        /// candidates still needed for one to have them (at least this many): they are
        /// random draws whatever the results; later batches hold this many. Smaller
        /// batches refit the model more often; larger ones keep more fits running in
        /// parallel (`usize::MAX`: every first round in one batch, proposed when its
        /// bracket starts, so that the first bracket is all random). The results depend on
        /// it, not on `n_jobs`.
        batch_size: usize,
    },
}

impl BracketSampler {
    /// BOHB with its paper's random fraction (1/3) and Optuna 5.0.0's TPE defaults.
    pub fn bohb() -> Self {
        BracketSampler::Tpe {
            options: TpeOptions::default(),
            random_fraction: 1.0 / 3.0,
            batch_size: 3,
        }
    }

    /// The same sampler with BOHB's first-bracket [`batch_size`](BracketSampler::Tpe::batch_size)
    /// set to `batch_size` (random sampling has none and is returned unchanged).
    ///
    /// ```
    /// use mlp_tune::model_selection::BracketSampler;
    /// let sampler = BracketSampler::bohb().with_batch_size(2);
    /// assert!(matches!(sampler, BracketSampler::Tpe { batch_size: 2, .. }));
    /// ```
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        if let BracketSampler::Tpe { batch_size: b, .. } = &mut self {
            *b = batch_size;
        }
        self
    }

    /// Checks the ranges documented on each field.
    pub(crate) fn validate(&self) -> Result<()> {
        if let BracketSampler::Tpe {
            options,
            random_fraction,
            batch_size,
        } = self
        {
            if *batch_size == 0 {
                return Err(invalid_param("batch_size", "must be >= 1"));
            }
            options.validate()?;
            if !(0.0..=1.0).contains(random_fraction) {
                return Err(invalid_param(
                    "random_fraction",
                    format!("must be in [0, 1], got {random_fraction}"),
                ));
            }
        }
        Ok(())
    }
}

/// The BOHB sampler of a running search.
pub(crate) struct Bohb<'a> {
    distributions: &'a ParamDistributions,
    options: TpeOptions,
    random_fraction: f64,
    batch_size: usize,
    /// Per bracket: the configurations (candidate indices) of its first round that TPE
    /// proposed, and their parameters.
    proposed: HashMap<usize, Vec<(usize, Candidate)>>,
    /// Decides random or modelled: one generator for the search.
    rng: NumpyRng,
    /// The proposals' generators.
    tpe_rng: TpeRng,
}

impl<'a> Bohb<'a> {
    /// For `sampler` (none unless it is [`BracketSampler::Tpe`]).
    pub(crate) fn new(
        sampler: &BracketSampler,
        distributions: &'a ParamDistributions,
        seed: u32,
    ) -> Option<Self> {
        match *sampler {
            BracketSampler::Random => None,
            BracketSampler::Tpe {
                options,
                random_fraction,
                batch_size,
            } => Some(Bohb {
                distributions,
                options: TpeOptions {
                    n_startup_trials: 0,
                    ..options
                },
                random_fraction,
                batch_size,
                proposed: HashMap::new(),
                rng: NumpyRng::new(seed),
                tpe_rng: TpeRng::new(seed),
            }),
        }
    }

    /// Candidates of a bracket's first round proposed together.
    pub(crate) fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Replaces the random draws `slots` (configuration, candidate) of a batch of
    /// `bracket`'s first round by TPE proposals (each with probability
    /// `1 - random_fraction`), once a budget has enough results. The bracket's earlier
    /// proposals without a result on the model's budget count as running.
    pub(crate) fn fill(
        &mut self,
        bracket: usize,
        slots: &mut [(usize, &mut Candidate)],
        history: &History,
    ) -> Result<()> {
        let Some(budget) = self.model_budget(history) else {
            return Ok(());
        };
        let rows: Vec<usize> = (0..history.n_rows())
            .filter(|&r| history.n_resources[r] == budget && history.complete[r])
            .collect();
        let states: Vec<TrialState> = rows.iter().map(|&r| trial_state(history, r)).collect();
        let proposed = self.proposed.entry(bracket).or_default();
        let modelled: HashSet<usize> = rows
            .iter()
            .filter(|&&r| history.bracket[r] == bracket)
            .map(|&r| history.config[r])
            .collect();
        let mut running: Vec<Candidate> = proposed
            .iter()
            .filter(|(config, _)| !modelled.contains(config))
            .map(|(_, params)| params.clone())
            .collect();
        for (config, slot) in slots.iter_mut() {
            if self.rng.random_sample() < self.random_fraction {
                continue;
            }
            let trials: Vec<TpeTrial<'_>> = rows
                .iter()
                .zip(&states)
                .map(|(&r, &state)| TpeTrial {
                    params: &history.params[r],
                    state,
                })
                .chain(running.iter().map(|params| TpeTrial {
                    params,
                    state: TrialState::Running,
                }))
                .collect();
            let next = propose(
                self.distributions,
                &trials,
                &self.options,
                &mut self.tpe_rng,
            )?;
            **slot = next.clone();
            proposed.push((*config, next.clone()));
            running.push(next);
        }
        Ok(())
    }

    /// Complete, scored results per budget.
    fn counts(history: &History) -> std::collections::BTreeMap<usize, usize> {
        let mut counts: std::collections::BTreeMap<usize, usize> = Default::default();
        for r in 0..history.n_rows() {
            if history.complete[r] && matches!(trial_state(history, r), TrialState::Complete(_)) {
                *counts.entry(history.n_resources[r]).or_default() += 1;
            }
        }
        counts
    }

    /// `d + 1`: the results a budget needs to be modelled.
    fn min_points(&self) -> usize {
        self.distributions.iter().count() + 1
    }

    /// The largest budget with at least `d + 1` complete, scored results.
    pub(crate) fn model_budget(&self, history: &History) -> Option<usize> {
        let needed = self.min_points();
        Self::counts(history)
            .into_iter()
            .rev()
            .find(|&(_, n)| n >= needed)
            .map(|(budget, _)| budget)
    }

    /// Results still missing before some budget has `d + 1` (0 once one has): until then
    /// every candidate is a random draw, whatever the results, so that many can run in one
    /// batch.
    pub(crate) fn results_needed(&self, history: &History) -> usize {
        let most = Self::counts(history).into_values().max().unwrap_or(0);
        self.min_points().saturating_sub(most)
    }
}
