//! BOHB (Falkner, Klein and Hutter, 2018): Hyperband whose new brackets draw their
//! candidates from a TPE model of the results so far instead of at random.
//!
//! When a bracket starts, the model is fitted on the largest budget (epochs) that has at
//! least `d + 1` complete results (`d` the number of searched parameters), as BOHB does;
//! each of the bracket's candidates is then, with probability
//! [`random_fraction`](BracketSampler::Tpe::random_fraction), the random draw a plain
//! Hyperband search would use, and otherwise a TPE proposal (Optuna 5.0.0's sampler, see
//! [`tpe`](super::tpe)), the bracket's earlier proposals counted as running so that they
//! spread out. Before any budget has `d + 1` results (the first brackets), every candidate
//! is random. Continuation between rounds is unchanged: BOHB only chooses who enters.

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
    },
}

impl BracketSampler {
    /// BOHB with its paper's random fraction (1/3) and Optuna 5.0.0's TPE defaults.
    pub fn bohb() -> Self {
        BracketSampler::Tpe {
            options: TpeOptions::default(),
            random_fraction: 1.0 / 3.0,
        }
    }

    /// Checks the ranges documented on each field.
    pub(crate) fn validate(&self) -> Result<()> {
        if let BracketSampler::Tpe {
            options,
            random_fraction,
        } = self
        {
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
            } => Some(Bohb {
                distributions,
                options: TpeOptions {
                    n_startup_trials: 0,
                    ..options
                },
                random_fraction,
                rng: NumpyRng::new(seed),
                tpe_rng: TpeRng::new(seed),
            }),
        }
    }

    /// Replaces the random draws `slots` of a starting bracket by TPE proposals (each with
    /// probability `1 - random_fraction`), once a budget has enough results.
    pub(crate) fn fill(&mut self, slots: &mut [&mut Candidate], history: &History) -> Result<()> {
        let Some(budget) = self.model_budget(history) else {
            return Ok(());
        };
        let rows: Vec<usize> = (0..history.n_rows())
            .filter(|&r| history.n_resources[r] == budget && history.complete[r])
            .collect();
        let states: Vec<TrialState> = rows.iter().map(|&r| trial_state(history, r)).collect();
        let mut proposed: Vec<Candidate> = Vec::new();
        for slot in slots.iter_mut() {
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
                .chain(proposed.iter().map(|params| TpeTrial {
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
            proposed.push(next);
        }
        Ok(())
    }

    /// The largest budget with at least `d + 1` complete, scored results.
    fn model_budget(&self, history: &History) -> Option<usize> {
        let needed = self.distributions.iter().count() + 1;
        let mut counts: std::collections::BTreeMap<usize, usize> = Default::default();
        for r in 0..history.n_rows() {
            if history.complete[r] && matches!(trial_state(history, r), TrialState::Complete(_)) {
                *counts.entry(history.n_resources[r]).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .rev()
            .find(|&(_, n)| n >= needed)
            .map(|(budget, _)| budget)
    }
}
