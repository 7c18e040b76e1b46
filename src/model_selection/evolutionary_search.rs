//! [`EvolutionarySearchCV`]: sklearn-deap's `EvolutionaryAlgorithmSearchCV`, a genetic
//! algorithm over a parameter grid, as one strategy of the search core.
//!
//! An individual is one value per parameter of the grid (a gene: the index of the value in
//! its list). The first generation is drawn at random; each next one is bred from the last
//! as DEAP's `eaSimple` does: tournament selection of `population_size` parents, then, pair
//! by pair, crossover with probability 0.5 and, individual by individual, mutation with
//! probability 0.2 (`eaSimple`'s `cxpb` and `mutpb`, as sklearn-deap calls it). Crossover
//! swaps each gene with probability [`gene_crossover_prob`](SearchCV::gene_crossover_prob)
//! ([`Crossover::Uniform`]; numerical genes are redrawn between the parents' values, as
//! sklearn-deap does) or exchanges the tails after a random point ([`Crossover::OnePoint`]);
//! mutation redraws each gene with probability
//! [`gene_mutation_prob`](SearchCV::gene_mutation_prob). The [`elitism`](SearchCV::elitism)
//! best individuals go to the next generation unchanged.
//!
//! A configuration met again is not refitted: its score is taken from the first fit (the
//! cache), so each generation is one batch of the configurations not seen yet, journaled,
//! resumable, budgeted and parallel like every search. `cv_results` has one row per
//! distinct configuration, in the order first met; the best is the best row.

use std::collections::HashMap;

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::Float;

use super::param_space::{
    candidate_to_json, Candidate, ParamGrid, ParamValue, MAX_GRID_CANDIDATES,
};
use super::runner::{Batch, History, Strategy, Trial};
use super::scoring::ScoreTarget;
use super::search::{FittedSearch, SearchCV};
use super::tpe::TrialState;
use super::tpe_search::trial_state;
use super::validation::{AsView2, Estimator};
use crate::error::{invalid_param, Result};
use crate::random::NumpyRng;

/// How two parents exchange genes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossover {
    /// Each gene independently, with probability `gene_crossover_prob` (sklearn-deap's).
    Uniform,
    /// The genes after one random point.
    OnePoint,
}

/// What an evolutionary search searches and its settings (the `S` of
/// [`EvolutionarySearchCV`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EvolutionSettings {
    grid: ParamGrid,
    population_size: usize,
    generations_number: usize,
    gene_mutation_prob: f64,
    gene_crossover_prob: f64,
    tournament_size: usize,
    crossover: Crossover,
    elitism: usize,
    random_state: u32,
}

/// A cross-validated genetic-algorithm search over a grid (sklearn-deap's
/// `EvolutionaryAlgorithmSearchCV`); takes every option of
/// [`GridSearchCV`](super::GridSearchCV) plus its own.
///
/// ```
/// use mlp_tune::model_selection::{by_name, EvolutionarySearchCV, ParamGrid};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let base = MLPRegressor::<f64>::params().solver(Solver::Lbfgs).max_iter(20).random_state(0);
/// let grid = ParamGrid::new()
///     .add("alpha", [1e-4, 1e-2, 1.0, 10.0])
///     .add("hidden_layer_sizes", [[4usize], [8], [16]]);
/// let search = EvolutionarySearchCV::new(by_name(base), grid)
///     .population_size(6)
///     .generations_number(3)
///     .random_state(1)
///     .cv(3)
///     .fit(&data)
///     .unwrap();
/// // Configurations met again are not refitted: at most the 12 of the grid.
/// assert!(search.cv_results().params.len() <= 12);
/// assert!(search.best_params().is_some());
/// ```
pub type EvolutionarySearchCV<B, T> = SearchCV<B, T, EvolutionSettings>;

impl<B, T> SearchCV<B, T, EvolutionSettings> {
    /// A genetic search over `grid` (one grid, every list non-empty) with sklearn-deap's
    /// defaults: population 50, 10 generations, gene mutation probability 0.1, gene
    /// crossover probability 0.5, tournaments of 3, uniform crossover, no elitism, seed 0.
    pub fn new(builder: B, grid: ParamGrid) -> Self {
        SearchCV::with_space(
            builder,
            EvolutionSettings {
                grid,
                population_size: 50,
                generations_number: 10,
                gene_mutation_prob: 0.1,
                gene_crossover_prob: 0.5,
                tournament_size: 3,
                crossover: Crossover::Uniform,
                elitism: 0,
                random_state: 0,
            },
        )
    }

    /// Individuals per generation (default 50; `2..=`[`MAX_GRID_CANDIDATES`]: a generation
    /// is held in memory, as a grid's candidates are).
    ///
    /// [`MAX_GRID_CANDIDATES`]: super::param_space::MAX_GRID_CANDIDATES
    pub fn population_size(mut self, n: usize) -> Self {
        self.space.population_size = n;
        self
    }

    /// Generations bred after the first (default 10; 0 evaluates one random population).
    pub fn generations_number(mut self, n: usize) -> Self {
        self.space.generations_number = n;
        self
    }

    /// Probability that a mutating individual redraws each gene (default 0.1; `[0, 1]`).
    pub fn gene_mutation_prob(mut self, p: f64) -> Self {
        self.space.gene_mutation_prob = p;
        self
    }

    /// Probability that a uniform crossover exchanges each gene (default 0.5; `[0, 1]`).
    pub fn gene_crossover_prob(mut self, p: f64) -> Self {
        self.space.gene_crossover_prob = p;
        self
    }

    /// Individuals per selection tournament (default 3; `1..=population_size`).
    pub fn tournament_size(mut self, k: usize) -> Self {
        self.space.tournament_size = k;
        self
    }

    /// The crossover (default [`Crossover::Uniform`]).
    pub fn crossover(mut self, crossover: Crossover) -> Self {
        self.space.crossover = crossover;
        self
    }

    /// Best individuals copied unchanged into the next generation (default 0, as
    /// sklearn-deap; `< population_size`).
    pub fn elitism(mut self, n: usize) -> Self {
        self.space.elitism = n;
        self
    }

    /// Seed of every draw of the algorithm, through the crate's `NumpyRng`.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.space.random_state = seed;
        self
    }

    /// Runs the search on a dataset. Settings out of range are
    /// [`InvalidParameter`](crate::MlpTuneError::InvalidParameter) errors and an empty grid,
    /// a list of grids or an empty value list [`SearchSpace`](crate::MlpTuneError::SearchSpace)
    /// errors, before any fit.
    pub fn fit<F, E, R, TT>(
        &self,
        dataset: &DatasetBase<R, TT>,
    ) -> Result<FittedSearch<E, E::Model>>
    where
        F: Float,
        T: ScoreTarget + PartialOrd,
        B: Fn(&Candidate) -> Result<E> + Sync,
        E: Estimator<F, T>,
        R: Records + AsView2<F>,
        TT: AsSingleTargets<Elem = T>,
    {
        let settings = &self.space;
        settings.check()?;
        let axes: Vec<(String, Vec<ParamValue>)> = settings
            .grid
            .axes()?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let probe: Candidate = axes
            .iter()
            .map(|(name, values)| (name.clone(), values[0].clone()))
            .collect();
        let mut strategy = Evolution {
            settings,
            axes,
            rng: NumpyRng::new(settings.random_state),
            population: Vec::new(),
            generation: 0,
            seen: HashMap::new(),
        };
        // Announced as one population's worth of trials: later generations are not known.
        self.fit_strategy(
            dataset,
            "evolutionary",
            settings.population_size,
            probe,
            &mut strategy,
        )
    }
}

impl EvolutionSettings {
    fn check(&self) -> Result<()> {
        if !(2..=MAX_GRID_CANDIDATES).contains(&self.population_size) {
            return Err(invalid_param(
                "population_size",
                format!(
                    "must be in 2..={MAX_GRID_CANDIDATES} (a generation is held in memory), got {}",
                    self.population_size
                ),
            ));
        }
        for (name, p) in [
            ("gene_mutation_prob", self.gene_mutation_prob),
            ("gene_crossover_prob", self.gene_crossover_prob),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(invalid_param(name, format!("must be in [0, 1], got {p}")));
            }
        }
        if self.tournament_size == 0 || self.tournament_size > self.population_size {
            return Err(invalid_param(
                "tournament_size",
                format!("must be in 1..={}", self.population_size),
            ));
        }
        if self.elitism >= self.population_size {
            return Err(invalid_param(
                "elitism",
                format!("must be below the population size {}", self.population_size),
            ));
        }
        Ok(())
    }
}

/// An individual: the index of its value in each parameter's list.
type Genes = Vec<usize>;

/// DEAP's `eaSimple` probabilities, as sklearn-deap calls it.
const CXPB: f64 = 0.5;
const MUTPB: f64 = 0.2;

struct Evolution<'a> {
    settings: &'a EvolutionSettings,
    axes: Vec<(String, Vec<ParamValue>)>,
    rng: NumpyRng,
    population: Vec<Genes>,
    /// Generations bred so far (0: the random first one is next).
    generation: usize,
    /// Configuration (canonical JSON) → its history row, once proposed.
    seen: HashMap<String, usize>,
}

impl Evolution<'_> {
    fn candidate(&self, genes: &Genes) -> Candidate {
        self.axes
            .iter()
            .zip(genes)
            .map(|((name, values), &g)| (name.clone(), values[g].clone()))
            .collect()
    }

    fn key(&self, genes: &Genes) -> String {
        candidate_to_json(&self.candidate(genes)).to_string()
    }

    /// A gene is numerical when every value of its list is a number (sklearn-deap's
    /// gene types).
    fn numerical(&self, gene: usize) -> bool {
        self.axes[gene]
            .1
            .iter()
            .all(|v| matches!(v, ParamValue::Int(_) | ParamValue::Float(_)))
    }

    /// Fitness of an individual: its mean CV score, minus infinity when it failed.
    fn fitness(&self, genes: &Genes, history: &History) -> f64 {
        match self
            .seen
            .get(&self.key(genes))
            .map(|&r| trial_state(history, r))
        {
            Some(TrialState::Complete(score)) => score,
            _ => f64::NEG_INFINITY,
        }
    }

    /// The next generation from the current one (DEAP's selection and `varAnd`).
    fn breed(&mut self, history: &History) -> Vec<Genes> {
        let s = self.settings;
        let fitness: Vec<f64> = self
            .population
            .iter()
            .map(|g| self.fitness(g, history))
            .collect();
        // Elites: the best individuals, ties in population order.
        let mut order: Vec<usize> = (0..self.population.len()).collect();
        order.sort_by(|&a, &b| fitness[b].total_cmp(&fitness[a]));
        let elites: Vec<Genes> = order[..s.elitism]
            .iter()
            .map(|&i| self.population[i].clone())
            .collect();
        // Tournament selection (DEAP's selTournament: `k` aspirants drawn with
        // replacement, the fittest wins).
        let n = s.population_size - s.elitism;
        let mut offspring: Vec<Genes> = (0..n)
            .map(|_| {
                let mut best: Option<usize> = None;
                for _ in 0..s.tournament_size {
                    let i = s_randint(&mut self.rng, 0, self.population.len() - 1);
                    if best.is_none_or(|b| fitness[i] > fitness[b]) {
                        best = Some(i);
                    }
                }
                self.population[best.unwrap_or(0)].clone()
            })
            .collect();
        for i in (1..offspring.len()).step_by(2) {
            if self.rng.random_sample() < CXPB {
                let (left, right) = offspring.split_at_mut(i);
                self.mate(&mut left[i - 1], &mut right[0]);
            }
        }
        for child in &mut offspring {
            if self.rng.random_sample() < MUTPB {
                for (g, (_, values)) in self.axes.iter().enumerate() {
                    if self.rng.random_sample() < s.gene_mutation_prob {
                        child[g] = s_randint(&mut self.rng, 0, values.len() - 1);
                    }
                }
            }
        }
        elites.into_iter().chain(offspring).collect()
    }

    fn mate(&mut self, a: &mut Genes, b: &mut Genes) {
        match self.settings.crossover {
            Crossover::Uniform => {
                for g in 0..a.len() {
                    if self.rng.random_sample() < self.settings.gene_crossover_prob {
                        if self.numerical(g) {
                            // sklearn-deap's blend: the second draw uses the first's result.
                            if a[g] <= b[g] {
                                a[g] = s_randint(&mut self.rng, a[g], b[g]);
                                b[g] = s_randint(&mut self.rng, a[g], b[g]);
                            } else {
                                a[g] = s_randint(&mut self.rng, b[g], a[g]);
                                b[g] = s_randint(&mut self.rng, b[g], a[g]);
                            }
                        } else {
                            std::mem::swap(&mut a[g], &mut b[g]);
                        }
                    }
                }
            }
            Crossover::OnePoint => {
                if a.len() > 1 {
                    let point = s_randint(&mut self.rng, 1, a.len() - 1);
                    for g in point..a.len() {
                        std::mem::swap(&mut a[g], &mut b[g]);
                    }
                }
            }
        }
    }

    /// The population's configurations not proposed before, as one batch.
    fn batch_of_new(&mut self, history: &History) -> Batch {
        let mut trials = Vec::new();
        for genes in self.population.clone() {
            let key = self.key(&genes);
            if self.seen.contains_key(&key) {
                continue;
            }
            let row = history.n_rows() + trials.len();
            self.seen.insert(key, row);
            trials.push(Trial {
                params: self.candidate(&genes),
                config: row,
                bracket: 0,
                iter: self.generation,
                resource: 0,
                prev_resource: 0,
                folds: None,
            });
        }
        Batch {
            trials,
            rounds: Vec::new(),
            decides_best: false,
            holds: Vec::new(),
        }
    }
}

/// `random.randint(low, high)` on a generator, both included.
fn s_randint(rng: &mut NumpyRng, low: usize, high: usize) -> usize {
    low + rng.random_interval((high - low) as u64) as usize
}

impl Strategy for Evolution<'_> {
    fn next_batch(&mut self, history: &History) -> Result<Option<Batch>> {
        loop {
            if self.population.is_empty() {
                let sizes: Vec<usize> = self.axes.iter().map(|(_, v)| v.len()).collect();
                self.population = (0..self.settings.population_size)
                    .map(|_| {
                        sizes
                            .iter()
                            .map(|&n| s_randint(&mut self.rng, 0, n - 1))
                            .collect()
                    })
                    .collect();
            } else if self.generation < self.settings.generations_number {
                self.population = self.breed(history);
                self.generation += 1;
            } else {
                return Ok(None);
            }
            let batch = self.batch_of_new(history);
            // A generation met entirely before costs nothing: breed the next one.
            if !batch.trials.is_empty() {
                return Ok(Some(batch));
            }
        }
    }

    /// An upper bound: every individual of the generations left, as if none were met
    /// before.
    fn planned_fits_left(&self, history: &History) -> usize {
        let generations_left = self.settings.generations_number - self.generation;
        let unrun = self
            .seen
            .values()
            .filter(|&&r| r >= history.n_rows())
            .count();
        generations_left
            .saturating_mul(self.settings.population_size)
            .saturating_add(unrun)
            .saturating_mul(history.n_splits)
    }
}
