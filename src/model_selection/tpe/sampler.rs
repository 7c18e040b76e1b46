//! An ask/tell TPE sampler for objective functions that need no estimator: any function
//! of a [`Candidate`] to a score, greater is better.

use super::{propose, TpeOptions, TpeRng, TpeTrial, TrialState};
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::model_selection::param_space::{Candidate, ParamDistributions};

/// A Tree-structured Parzen Estimator over a [`ParamDistributions`], driven by hand
/// (ask a candidate, evaluate it, tell its score) or by [`optimize`](Self::optimize).
///
/// It **maximises**: a greater score is better, as for the crate's scorers (negate a loss).
/// Every candidate is proposed by the same mathematics as Optuna 5.0.0's `TPESampler` (see
/// the [module documentation](super)), and every random number comes from
/// [`NumpyRng`](crate::random::NumpyRng)s
/// seeded with `seed`, arranged as Optuna's: one generator for the random startup draws,
/// one for the model's draws. The same seed, options and scores give the same candidates
/// on every machine, and the candidates Optuna proposes for that seed.
///
/// ```
/// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
/// use mlp_tune::model_selection::{Distribution, ParamDistributions};
///
/// let space = ParamDistributions::new()
///     .add("x", Distribution::Uniform { loc: -5.0, scale: 10.0 })
///     .add("lr", Distribution::LogUniform { low: 1e-4, high: 1.0 });
/// let mut sampler = TpeSampler::new(space, TpeOptions::default(), 0)?;
/// let (best, score) = sampler
///     .optimize(60, |c| {
///         let x = c["x"].as_f64("x").unwrap_or(f64::NAN);
///         let lr = c["lr"].as_f64("lr").unwrap_or(f64::NAN);
///         -(x - 1.0).powi(2) - (lr.log10() + 2.0).powi(2)
///     })?
///     .expect("at least one trial has a score");
/// assert!(score > -0.5, "{score} at {best:?}");
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TpeSampler {
    space: ParamDistributions,
    options: TpeOptions,
    rng: TpeRng,
    trials: Vec<(Candidate, TrialState)>,
}

impl From<f64> for TrialState {
    /// A score is a complete trial (a NaN score counts as failed).
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::TrialState;
    /// assert_eq!(TrialState::from(0.5), TrialState::Complete(0.5));
    /// ```
    fn from(score: f64) -> Self {
        TrialState::Complete(score)
    }
}

impl TpeSampler {
    /// A sampler over `distributions` with `options`, every random choice drawn from
    /// `seed`.
    ///
    /// Errors: an empty space or an invalid distribution ([`MlpTuneError::SearchSpace`]),
    /// options out of range ([`MlpTuneError::InvalidParameter`]).
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions};
    /// use mlp_tune::MlpTuneError;
    ///
    /// let space = ParamDistributions::new().add("n", Distribution::RandInt { low: 1, high: 9 });
    /// assert!(TpeSampler::new(space, TpeOptions::default(), 42).is_ok());
    /// let empty = TpeSampler::new(ParamDistributions::new(), TpeOptions::default(), 42);
    /// assert!(matches!(empty, Err(MlpTuneError::SearchSpace(_))));
    /// ```
    pub fn new(distributions: ParamDistributions, options: TpeOptions, seed: u32) -> Result<Self> {
        options.validate()?;
        if distributions.is_empty() {
            return Err(MlpTuneError::SearchSpace(
                "the parameter distributions are empty".into(),
            ));
        }
        for (name, dist) in distributions.iter() {
            dist.validate(name)?;
        }
        Ok(TpeSampler {
            space: distributions,
            options,
            rng: TpeRng::new(seed),
            trials: Vec::new(),
        })
    }

    /// Proposes the next candidate and returns it with its trial number (0, 1, 2, ... in
    /// the order asked), to give back to [`tell`](Self::tell). The trial is running until
    /// told; with [`TpeOptions::constant_liar`] running trials count as bad ones, so several
    /// asks before their tells (parallel evaluations) spread out.
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions};
    ///
    /// let space = ParamDistributions::new().add("x", Distribution::Uniform { loc: 0.0, scale: 1.0 });
    /// let mut sampler = TpeSampler::new(space, TpeOptions::default(), 7)?;
    /// let (number, candidate) = sampler.ask()?;
    /// assert_eq!(number, 0);
    /// let x = candidate["x"].as_f64("x")?;
    /// assert!((0.0..1.0).contains(&x));
    /// sampler.tell(number, -x)?;
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn ask(&mut self) -> Result<(usize, Candidate)> {
        let history = as_history(&self.trials);
        let candidate = propose(&self.space, &history, &self.options, &mut self.rng)?;
        self.trials.push((candidate.clone(), TrialState::Running));
        Ok((self.trials.len() - 1, candidate))
    }

    /// Reports how trial `number` ended: a score (`f64`, greater is better, or
    /// [`TrialState::Complete`]) or [`TrialState::Failed`]. A NaN score is recorded as a
    /// failed trial, which the sampler ignores; an infinite score is a score.
    ///
    /// Errors ([`MlpTuneError::InvalidParameter`] naming `trial`): a number never asked,
    /// a trial already told, or [`TrialState::Running`] as the outcome. The sampler is
    /// unchanged then.
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler, TrialState};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions};
    ///
    /// let space = ParamDistributions::new().add("act", Distribution::list(["relu", "tanh"]));
    /// let mut sampler = TpeSampler::new(space, TpeOptions::default(), 1)?;
    /// let (a, _) = sampler.ask()?;
    /// let (b, _) = sampler.ask()?;
    /// sampler.tell(b, TrialState::Failed)?;
    /// sampler.tell(a, 0.75)?;
    /// assert!(sampler.tell(a, 0.5).is_err(), "told twice");
    /// assert!(sampler.tell(9, 0.5).is_err(), "never asked");
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn tell(&mut self, number: usize, outcome: impl Into<TrialState>) -> Result<()> {
        let outcome = match outcome.into() {
            TrialState::Complete(v) if v.is_nan() => TrialState::Failed,
            TrialState::Running => {
                return Err(invalid_param(
                    "trial",
                    format!("trial {number}: the outcome of a trial cannot be `Running`"),
                ))
            }
            other => other,
        };
        let asked = self.trials.len();
        match self.trials.get_mut(number) {
            None => Err(invalid_param(
                "trial",
                format!("trial {number} was never asked ({asked} asked so far)"),
            )),
            Some((_, state)) if *state != TrialState::Running => Err(invalid_param(
                "trial",
                format!("trial {number} was already told ({state:?})"),
            )),
            Some((_, state)) => {
                *state = outcome;
                Ok(())
            }
        }
    }

    /// Runs `n_trials` sequential trials (ask, evaluate `objective`, tell) and returns the
    /// best candidate of the whole history with its score, or `None` when no trial has a
    /// score (every one failed, or `n_trials` is 0 on a fresh sampler). An objective
    /// returning NaN fails its trial; the search goes on.
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions, ParamValue};
    ///
    /// let space = ParamDistributions::new().add("n", Distribution::RandInt { low: 0, high: 100 });
    /// let mut sampler = TpeSampler::new(space, TpeOptions::default(), 3)?;
    /// let best = sampler.optimize(40, |c| match c["n"] {
    ///     ParamValue::Int(n) => -((n - 70) as f64).abs(),
    ///     _ => f64::NAN,
    /// })?;
    /// let (candidate, score) = best.expect("scores were given");
    /// assert!(score >= -5.0, "{candidate:?}");
    /// assert_eq!(sampler.trials().len(), 40);
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn optimize<F>(
        &mut self,
        n_trials: usize,
        mut objective: F,
    ) -> Result<Option<(Candidate, f64)>>
    where
        F: FnMut(&Candidate) -> f64,
    {
        for _ in 0..n_trials {
            let (number, candidate) = self.ask()?;
            let score = objective(&candidate);
            self.tell(number, score)?;
        }
        Ok(self.best().map(|(c, s)| (c.clone(), s)))
    }

    /// The complete trial with the greatest score (the earliest among equals), if any.
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions};
    ///
    /// let space = ParamDistributions::new().add("x", Distribution::Uniform { loc: 0.0, scale: 1.0 });
    /// let mut sampler = TpeSampler::new(space, TpeOptions::default(), 0)?;
    /// assert!(sampler.best().is_none());
    /// let (a, _) = sampler.ask()?;
    /// let (b, cb) = sampler.ask()?;
    /// sampler.tell(a, 1.0)?;
    /// sampler.tell(b, 2.0)?;
    /// assert_eq!(sampler.best(), Some((&cb, 2.0)));
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn best(&self) -> Option<(&Candidate, f64)> {
        let mut best: Option<(&Candidate, f64)> = None;
        for (candidate, state) in &self.trials {
            if let TrialState::Complete(v) = *state {
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((candidate, v));
                }
            }
        }
        best
    }

    /// Every trial so far, in the order asked (the index is the trial number), with its
    /// state: [`TrialState::Running`] until told.
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler, TrialState};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions};
    ///
    /// let space = ParamDistributions::new().add("x", Distribution::Uniform { loc: 0.0, scale: 1.0 });
    /// let mut sampler = TpeSampler::new(space, TpeOptions::default(), 0)?;
    /// let (n, _) = sampler.ask()?;
    /// assert_eq!(sampler.trials()[n].state, TrialState::Running);
    /// sampler.tell(n, f64::NAN)?;
    /// assert_eq!(sampler.trials()[n].state, TrialState::Failed);
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn trials(&self) -> Vec<TpeTrial<'_>> {
        as_history(&self.trials)
    }

    /// The options the sampler was built with.
    ///
    /// ```
    /// use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    /// use mlp_tune::model_selection::{Distribution, ParamDistributions};
    ///
    /// let space = ParamDistributions::new().add("x", Distribution::Uniform { loc: 0.0, scale: 1.0 });
    /// let options = TpeOptions { n_startup_trials: 5, ..TpeOptions::default() };
    /// let sampler = TpeSampler::new(space, options, 0)?;
    /// assert_eq!(sampler.options().n_startup_trials, 5);
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn options(&self) -> &TpeOptions {
        &self.options
    }
}

fn as_history(trials: &[(Candidate, TrialState)]) -> Vec<TpeTrial<'_>> {
    trials
        .iter()
        .map(|(params, state)| TpeTrial {
            params,
            state: *state,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_selection::param_space::{Distribution, ParamValue};

    fn quadratic_space() -> ParamDistributions {
        ParamDistributions::new()
            .add(
                "x",
                Distribution::Uniform {
                    loc: -5.0,
                    scale: 10.0,
                },
            )
            .add(
                "y",
                Distribution::Uniform {
                    loc: -5.0,
                    scale: 10.0,
                },
            )
    }

    /// Minus a quadratic with its maximum 0 at (1, -2).
    fn quadratic(c: &Candidate) -> f64 {
        let x = c["x"].as_f64("x").unwrap();
        let y = c["y"].as_f64("y").unwrap();
        -((x - 1.0).powi(2) + (y + 2.0).powi(2))
    }

    fn history(s: &TpeSampler) -> Vec<(Candidate, TrialState)> {
        s.trials()
            .iter()
            .map(|t| (t.params.clone(), t.state))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_search() {
        let run = |seed| {
            let mut s = TpeSampler::new(quadratic_space(), TpeOptions::default(), seed).unwrap();
            s.optimize(30, quadratic).unwrap();
            history(&s)
        };
        let a = run(5);
        assert_eq!(a.len(), 30);
        assert_eq!(a, run(5));
        let b = run(6);
        assert_ne!(a[0], b[0], "another seed, another startup draw");
        assert_ne!(a[29], b[29], "another seed, another model-based proposal");
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        }
    }

    #[test]
    fn beats_random_search_on_a_quadratic_in_the_median_of_seeds() {
        let (n_evals, seeds) = (60, 0..15u32);
        let mut tpe = Vec::new();
        let mut random = Vec::new();
        for seed in seeds {
            let mut s = TpeSampler::new(quadratic_space(), TpeOptions::default(), seed).unwrap();
            let (_, best) = s.optimize(n_evals, quadratic).unwrap().unwrap();
            tpe.push(-best);
            let draws = quadratic_space().sample(n_evals, seed).unwrap();
            let best = draws
                .iter()
                .map(quadratic)
                .fold(f64::NEG_INFINITY, f64::max);
            random.push(-best);
        }
        let (tpe, random) = (median(tpe), median(random));
        // Random search's median regret with 60 draws on this square is about 0.5; TPE's is
        // an order of magnitude below.
        assert!(tpe < 0.25 * random, "tpe {tpe} vs random {random}");
    }

    #[test]
    fn bad_spaces_and_options_are_typed_errors() {
        let o = TpeOptions::default();
        assert!(matches!(
            TpeSampler::new(ParamDistributions::new(), o, 0),
            Err(MlpTuneError::SearchSpace(_))
        ));
        let bad = ParamDistributions::new().add("x", Distribution::List(vec![]));
        assert!(matches!(
            TpeSampler::new(bad, o, 0),
            Err(MlpTuneError::SearchSpace(_))
        ));
        let nan = ParamDistributions::new().add(
            "x",
            Distribution::Uniform {
                loc: f64::NAN,
                scale: 1.0,
            },
        );
        assert!(matches!(
            TpeSampler::new(nan, o, 0),
            Err(MlpTuneError::SearchSpace(_))
        ));
        let options = TpeOptions {
            n_ei_candidates: 0,
            ..o
        };
        assert!(matches!(
            TpeSampler::new(quadratic_space(), options, 0),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
        let options = TpeOptions {
            prior_weight: f64::NAN,
            ..o
        };
        assert!(matches!(
            TpeSampler::new(quadratic_space(), options, 0),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn nan_scores_fail_their_trials_and_the_search_goes_on() {
        let mut s = TpeSampler::new(quadratic_space(), TpeOptions::default(), 2).unwrap();
        // Every other trial fails: the model still gets its 10 startup scores and proposes.
        let mut k = 0;
        let best = s
            .optimize(40, |c| {
                k += 1;
                if k % 2 == 0 {
                    f64::NAN
                } else {
                    quadratic(c)
                }
            })
            .unwrap()
            .unwrap();
        let states: Vec<TrialState> = s.trials().iter().map(|t| t.state).collect();
        assert_eq!(
            states.iter().filter(|s| **s == TrialState::Failed).count(),
            20
        );
        assert!(states.iter().all(|s| match s {
            TrialState::Complete(v) => !v.is_nan(),
            TrialState::Failed => true,
            TrialState::Running => false,
        }));
        let max = states
            .iter()
            .filter_map(|s| match s {
                TrialState::Complete(v) => Some(*v),
                _ => None,
            })
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(best.1, max);

        // Only failures: no best, no panic, and asking still works.
        let mut s = TpeSampler::new(quadratic_space(), TpeOptions::default(), 2).unwrap();
        assert_eq!(s.optimize(15, |_| f64::NAN).unwrap(), None);
        assert!(s.ask().is_ok());
        let mut s = TpeSampler::new(quadratic_space(), TpeOptions::default(), 2).unwrap();
        assert_eq!(s.optimize(0, quadratic).unwrap(), None);
    }

    #[test]
    fn wrong_tells_are_errors_that_change_nothing() {
        let mut s = TpeSampler::new(quadratic_space(), TpeOptions::default(), 0).unwrap();
        assert!(matches!(
            s.tell(0, 1.0),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
        let (n, _) = s.ask().unwrap();
        assert!(matches!(
            s.tell(n, TrialState::Running),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
        assert_eq!(s.trials()[n].state, TrialState::Running);
        s.tell(n, -3.0).unwrap();
        assert!(s.tell(n, 5.0).is_err());
        assert_eq!(s.trials()[n].state, TrialState::Complete(-3.0));
        assert!(s.tell(n + 1, 5.0).is_err());
        assert_eq!(s.trials().len(), 1);
    }

    #[test]
    fn infinite_scores_are_scores() {
        let space = ParamDistributions::new().add("c", Distribution::list(["a", "b", "c"]));
        let mut s = TpeSampler::new(space, TpeOptions::default(), 4).unwrap();
        let best = s
            .optimize(25, |c| match &c["c"] {
                ParamValue::Str(v) if v == "b" => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            })
            .unwrap()
            .unwrap();
        assert_eq!(
            best,
            (Candidate::from([("c".into(), "b".into())]), f64::INFINITY)
        );
        let b_after_startup = s.trials()[10..]
            .iter()
            .filter(|t| t.state == TrialState::Complete(f64::INFINITY))
            .count();
        assert!(
            b_after_startup >= 10,
            "{b_after_startup} of 15 model-based asks are `b`"
        );
    }

    #[test]
    fn asks_before_tells_are_running_trials() {
        let options = TpeOptions {
            n_startup_trials: 5,
            ..TpeOptions::default()
        };
        let mut s = TpeSampler::new(quadratic_space(), options, 1).unwrap();
        s.optimize(20, quadratic).unwrap();
        let (_, a) = s.ask().unwrap();
        let (_, b) = s.ask().unwrap();
        assert_ne!(a, b);
        assert_eq!(s.trials().len(), 22);
        assert!(s.trials()[20..]
            .iter()
            .all(|t| t.state == TrialState::Running));
    }
}
