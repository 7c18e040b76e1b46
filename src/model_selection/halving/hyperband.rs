//! Hyperband (Li et al., 2018): brackets of successive-halving runs over the same
//! cross-validation, advancing in lockstep.

use super::*;

/// One Hyperband bracket's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bracket {
    /// Hyperband's `s` (the bracket with the most rounds has the largest).
    pub s: usize,
    /// Epochs of each round.
    pub n_resources: Vec<usize>,
    /// Candidates of each round.
    pub n_candidates: Vec<usize>,
}

/// Hyperband (Li et al., *Hyperband: A Novel Bandit-Based Approach to Hyperparameter
/// Optimization*, JMLR 2018) over [`ParamDistributions`], with cross-validation and warm
/// continuation: each bracket is a successive-halving run on epochs (`max_iter`).
///
/// With `R = max_epochs`, `η = factor`, `r_min = min_epochs` and
/// `s_max = max { s : r_min·η^s ≤ R }`, bracket `s = s_max, …, 0` starts
/// `n = ceil((s_max + 1) / (s + 1) · η^s)` candidates at `R·η^-s` epochs; round `i` runs
/// `floor(n·η^-i)` candidates (at least 1) for `round(R·η^(i-s))` epochs, the last round `R`.
/// The whole set of brackets is repeated `iterations` times with fresh candidates. All
/// candidates are drawn at once from `random_state`. The best candidate is the best mean
/// test score among the last rounds of all brackets (all at `R` epochs).
///
/// ```
/// use mlp_tune::model_selection::{by_name, Distribution, HyperbandSearchCV, ParamDistributions, SearchResults};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
/// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).random_state(0);
/// let space = ParamDistributions::new()
///     .add("learning_rate_init", Distribution::LogUniform { low: 1e-3, high: 1e-1 });
/// let search = HyperbandSearchCV::new(by_name(base), space, 9).cv(3).fit(&data).unwrap();
/// assert_eq!(search.brackets().len(), 3); // s = 2, 1, 0
/// assert_eq!(search.brackets()[0].n_resources, [1, 3, 9]);
/// assert!(search.best_params().is_some());
/// ```
pub type HyperbandSearchCV<B, T> = SearchCV<B, T, HyperbandSettings>;

/// What a Hyperband search searches and its bracket settings (the `S` of
/// [`HyperbandSearchCV`]): built by [`HyperbandSearchCV::new`], set by the search's own
/// methods.
#[derive(Debug, Clone)]
pub struct HyperbandSettings {
    distributions: ParamDistributions,
    max_epochs: usize,
    min_epochs: usize,
    factor: f64,
    iterations: usize,
    max_brackets: Option<usize>,
    sampler: BracketSampler,
    random_state: u32,
}

/// Hyperband's brackets for `max_epochs`, `min_epochs` and `factor`.
///
/// ```
/// let b = mlp_tune::model_selection::hyperband_brackets(81, 1, 3.0).unwrap();
/// assert_eq!(b[0].n_candidates, [81, 27, 9, 3, 1]);
/// assert_eq!(b[0].n_resources, [1, 3, 9, 27, 81]);
/// assert_eq!(b[4].n_candidates, [5]);
/// ```
pub fn hyperband_brackets(
    max_epochs: usize,
    min_epochs: usize,
    factor: f64,
) -> Result<Vec<Bracket>> {
    check_factor(factor)?;
    if min_epochs == 0 {
        return Err(invalid_param("min_epochs", "must be >= 1"));
    }
    if max_epochs < min_epochs {
        return Err(invalid_param(
            "min_epochs",
            format!("min_epochs={min_epochs} is greater than max_epochs={max_epochs}"),
        ));
    }
    let r_max = max_epochs as f64;
    let mut s_max = 0usize;
    while (min_epochs as f64) * factor.powf((s_max + 1) as f64) <= r_max * (1.0 + 1e-12) {
        s_max += 1;
    }
    let mut brackets = Vec::with_capacity(s_max + 1);
    for s in (0..=s_max).rev() {
        let n =
            (((s_max + 1) as f64 / (s + 1) as f64) * factor.powf(s as f64) - 1e-9).ceil() as usize;
        let mut n_candidates = Vec::with_capacity(s + 1);
        let mut n_resources = Vec::with_capacity(s + 1);
        for i in 0..=s {
            let count = ((n as f64) * factor.powf(-(i as f64)) + 1e-9).floor() as usize;
            n_candidates.push(count.max(1));
            let r = (r_max * factor.powf(i as f64 - s as f64)).round() as usize;
            n_resources.push(r.clamp(1, max_epochs));
        }
        brackets.push(Bracket {
            s,
            n_resources,
            n_candidates,
        });
    }
    Ok(brackets)
}

impl<B, T> SearchCV<B, T, HyperbandSettings> {
    /// `HyperbandSearchCV(estimator, distributions, max_epochs)` with factor 3, min epochs
    /// 1, one Hyperband iteration, cv 5, refit on, `random_state` 0.
    pub fn new(builder: B, distributions: ParamDistributions, max_epochs: usize) -> Self {
        SearchCV::with_space(
            builder,
            HyperbandSettings {
                distributions,
                max_epochs,
                min_epochs: 1,
                factor: 3.0,
                iterations: 1,
                max_brackets: None,
                sampler: BracketSampler::Random,
                random_state: 0,
            },
        )
    }

    /// η: each round keeps `1 / factor` of the candidates (default 3; must be > 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.space.factor = factor;
        self
    }

    /// Fewest epochs a candidate is trained (default 1); raising it drops the most
    /// aggressive brackets.
    pub fn min_epochs(mut self, epochs: usize) -> Self {
        self.space.min_epochs = epochs;
        self
    }

    /// Hyperband iterations: the set of brackets is run this many times with fresh
    /// candidates (default 1).
    pub fn iterations(mut self, n: usize) -> Self {
        self.space.iterations = n;
        self
    }

    /// Runs only the `k` most exploratory brackets (largest `s`: most candidates, fewest
    /// epochs to start) of each Hyperband iteration; all by default.
    pub fn max_brackets(mut self, k: usize) -> Self {
        self.space.max_brackets = Some(k);
        self
    }

    /// How each bracket's candidates are chosen: [`BracketSampler::Random`] (Hyperband,
    /// the default) or [`BracketSampler::Tpe`] (BOHB: a TPE model of the results on the
    /// largest budget with `d + 1` of them, see [`BracketSampler::bohb`]; the first
    /// bracket's first round runs in batches so that the model proposes its later
    /// candidates). BOHB's own draws come from a generator seeded with `random_state + 1`.
    ///
    /// ```
    /// use mlp_tune::model_selection::{by_name, BracketSampler, Distribution, HyperbandSearchCV, ParamDistributions};
    /// use mlp_tune::neural_network::{MLPRegressor, Solver};
    ///
    /// let data = mlp_tune::datasets::diabetes();
    /// let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
    /// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).random_state(0);
    /// let space = ParamDistributions::new()
    ///     .add("learning_rate_init", Distribution::LogUniform { low: 1e-3, high: 1e-1 });
    /// let search = HyperbandSearchCV::new(by_name(base), space, 9)
    ///     .sampler(BracketSampler::bohb())
    ///     .cv(3)
    ///     .fit(&data)
    ///     .unwrap();
    /// assert_eq!(search.brackets().len(), 3);
    /// ```
    pub fn sampler(mut self, sampler: BracketSampler) -> Self {
        self.space.sampler = sampler;
        self
    }

    /// Seed of the candidate draws (default 0).
    pub fn random_state(mut self, seed: u32) -> Self {
        self.space.random_state = seed;
        self
    }

    /// Runs the search on a dataset.
    pub fn fit<F, E, R, TT>(
        &self,
        dataset: &DatasetBase<R, TT>,
    ) -> Result<FittedHyperband<E, E::Model>>
    where
        F: Float,
        T: ScoreTarget + PartialOrd,
        B: Fn(&Candidate) -> Result<E> + Sync,
        E: Estimator<F, T>,
        R: Records + AsView2<F>,
        TT: AsSingleTargets<Elem = T>,
    {
        if self.space.iterations == 0 {
            return Err(invalid_param("iterations", "must be >= 1"));
        }
        self.space.sampler.validate()?;
        let mut template = hyperband_brackets(
            self.space.max_epochs,
            self.space.min_epochs,
            self.space.factor,
        )?;
        match self.space.max_brackets {
            Some(0) => return Err(invalid_param("max_brackets", "must be >= 1")),
            Some(k) => template.truncate(k),
            None => {}
        }
        let (x, y) = dataset_views(dataset)?;
        let classes = T::classes_of(y.view());
        let per_iteration: usize = template.iter().map(|b| b.n_candidates[0]).sum();
        let candidates = self.space.distributions.sample(
            per_iteration * self.space.iterations,
            self.space.random_state,
        )?;
        check_resource_param(&self.builder, &candidates, "max_iter", 1)?;
        let classifier = (self.builder)(&with_resource(
            &candidates[0],
            "max_iter",
            ParamValue::Int(1),
        ))?
        .is_classifier();
        let (scorers, refit_index) = self.resolve_scorers(classifier)?;
        let ids = class_ids(y.view(), &classes);
        let folds = self.cv.folds(x.nrows(), ids.as_deref(), classifier)?;
        let n_splits = folds.len();

        // Candidates go to brackets in order; a space too small for all of them leaves the
        // last brackets shorter or empty.
        let mut plans = Vec::new();
        let mut brackets = Vec::new();
        let mut next = 0;
        for _ in 0..self.space.iterations {
            for b in &template {
                let got = b.n_candidates[0].min(candidates.len() - next);
                if got == 0 {
                    continue;
                }
                let counts: Vec<usize> = b.n_candidates.iter().map(|&n| n.min(got)).collect();
                plans.push(BracketPlan {
                    candidates: (next..next + got).collect(),
                    rounds: b
                        .n_resources
                        .iter()
                        .copied()
                        .zip(counts.iter().copied())
                        .collect(),
                });
                brackets.push(Bracket {
                    s: b.s,
                    n_resources: b.n_resources.clone(),
                    n_candidates: counts,
                });
                next += got;
            }
        }
        if let Some(observer) = &self.observer {
            observer.on_search_start(next, n_splits);
        }
        let journal = self.open_journal(|| {
            let mut settings = format!(
                "max_epochs {} min_epochs {} factor {} iterations {} max_brackets {:?} random_state {} plans {:?}",
                self.space.max_epochs,
                self.space.min_epochs,
                self.space.factor.to_bits(),
                self.space.iterations,
                self.space.max_brackets,
                self.space.random_state,
                plans,
            );
            if self.space.sampler != BracketSampler::Random {
                settings += &format!(" sampler {:?}", self.space.sampler);
            }
            let fingerprint = journal_fingerprint(
                self,
                "hyperband",
                settings,
                x,
                y,
                &candidates,
                Some(("max_iter", 1)),
                &folds,
                &scorers,
            )?;
            Ok(fingerprint)
        })?;
        let runner = Runner {
            opts: self,
            x,
            y,
            folds: &folds,
            scorers: &scorers,
            classes: &classes,
            selection: refit_index.unwrap_or(0),
            refit: refit_index.is_some(),
            resource: ResourceKind::Epochs,
            journal: journal.as_ref(),
        };
        let mut strategy = Brackets::new(
            candidates,
            &plans,
            &Resource::Epochs,
            &folds,
            x.nrows(),
            self.space.random_state,
        );
        strategy.bohb = Bohb::new(
            &self.space.sampler,
            &self.space.distributions,
            self.space.random_state.wrapping_add(1),
        );
        let (search, records, rebuilds, entered) =
            run_brackets(&runner, &mut strategy, refit_index)?;
        let run: Vec<Bracket> = brackets
            .iter()
            .zip(&entered)
            .map(|(b, &entered)| Bracket {
                s: b.s,
                n_resources: b.n_resources[..entered.min(b.n_resources.len())].to_vec(),
                n_candidates: b.n_candidates[..entered.min(b.n_candidates.len())].to_vec(),
            })
            .collect();
        Ok(FittedHyperband {
            search,
            brackets: run,
            planned: brackets,
            records,
            rebuilds,
        })
    }
}

/// A finished Hyperband search: the [`FittedSearch`] (also through
/// [`SearchResults`](crate::model_selection::SearchResults)), the brackets run
/// and the records. `cv_results` has `bracket`, `iter` and `n_resources` columns.
#[derive(Debug, Clone)]
pub struct FittedHyperband<E, M> {
    search: FittedSearch<E, M>,
    brackets: Vec<Bracket>,
    planned: Vec<Bracket>,
    records: Vec<HalvingRecord>,
    rebuilds: Rebuilds,
}

impl<E, M> FittedHyperband<E, M> {
    /// The search results, best candidate and refitted model.
    pub fn search(&self) -> &FittedSearch<E, M> {
        &self.search
    }
    /// The brackets, in order (bracket `b` of the records and `cv_results`), with the
    /// rounds run: all of them unless the search [stopped](FittedSearch::is_partial), then
    /// the rounds entered (the last possibly incomplete; none for a bracket that never
    /// started). See [`planned_brackets`](Self::planned_brackets).
    pub fn brackets(&self) -> &[Bracket] {
        &self.brackets
    }
    /// The brackets as planned, whether or not the search ran all of their rounds.
    pub fn planned_brackets(&self) -> &[Bracket] {
        &self.planned
    }
    /// Every (candidate, fold, round) fit, in collection order.
    pub fn records(&self) -> &[HalvingRecord] {
        &self.records
    }
    /// Epochs actually trained by the search (without the refit). A search resumed from a
    /// journal reports the same cost as an uninterrupted one; what resuming cost on top is
    /// [`rebuild_cost`](Self::rebuild_cost).
    pub fn total_cost(&self) -> usize {
        self.records.iter().map(|r| r.cost).sum()
    }
    /// Fits of a resumed search that had to rebuild the model they continue (see
    /// [`FittedHalving::rebuilt_models`]).
    pub fn rebuilt_models(&self) -> usize {
        self.rebuilds.models
    }
    /// Epochs spent rebuilding models on resuming; 0 for an uninterrupted search.
    pub fn rebuild_cost(&self) -> usize {
        self.rebuilds.epochs
    }
}
