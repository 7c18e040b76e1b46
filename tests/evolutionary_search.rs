//! `EvolutionarySearchCV`: a genetic algorithm over a grid as a strategy of the search core.
//! A configuration met again is not refitted; results do not depend on `n_jobs`; a stopped
//! search resumes from its journal; it finds better configurations than its first random
//! generation; bad settings are typed errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use linfa::Dataset;
use mlp_tune::model_selection::{
    Candidate, Crossover, Estimator, EvolutionarySearchCV, FittedSearch, ParamGrid, ParamValue,
};
use mlp_tune::{MlpTuneError, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Ix1};

/// Predicts `level` everywhere (zero targets: the score is `-level^2`), counting fits.
#[derive(Debug, Clone)]
struct Level {
    level: f64,
    fits: Arc<AtomicUsize>,
    delay: Duration,
}

impl Estimator<f64, f64> for Level {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> Result<f64> {
        self.fits.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(self.level)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

fn value(c: &Candidate, name: &str) -> f64 {
    match &c[name] {
        ParamValue::Int(v) => *v as f64,
        ParamValue::Float(v) => *v,
        ParamValue::Str(s) => s.len() as f64,
        other => panic!("{other:?}"),
    }
}

/// 10 x 10 x 3 = 300 configurations; the best is a = 7, b = 2, kind = "ab" (length 2).
fn grid() -> ParamGrid {
    ParamGrid::new()
        .add("a", (0..10).collect::<Vec<i64>>())
        .add("b", (0..10).map(|i| i as f64).collect::<Vec<f64>>())
        .add("kind", ["a", "ab", "abc"])
}

fn objective(c: &Candidate) -> f64 {
    (value(c, "a") - 7.0).powi(2) + (value(c, "b") - 2.0).powi(2) + (value(c, "kind") - 2.0).abs()
}

fn builder(
    fits: &Arc<AtomicUsize>,
    delay: Duration,
) -> impl Fn(&Candidate) -> Result<Level> + Sync {
    let fits = Arc::clone(fits);
    move |c: &Candidate| {
        Ok(Level {
            level: objective(c),
            fits: Arc::clone(&fits),
            delay,
        })
    }
}

fn data() -> Dataset<f64, f64, Ix1> {
    Dataset::new(Array2::zeros((20, 1)), Array1::zeros(20))
}

type Fitted = FittedSearch<Level, f64>;

fn search(seed: u32, n_jobs: usize, fits: &Arc<AtomicUsize>) -> Fitted {
    EvolutionarySearchCV::new(builder(fits, Duration::ZERO), grid())
        .population_size(20)
        .generations_number(8)
        .random_state(seed)
        .cv(2)
        .n_jobs(n_jobs)
        .refit(false)
        .fit(&data())
        .unwrap()
}

#[test]
fn configurations_met_again_are_not_refitted_and_threads_change_nothing() {
    let fits = Arc::new(AtomicUsize::new(0));
    let one = search(3, 1, &fits);
    let rows = one.cv_results().params.len();
    assert_eq!(
        fits.load(Ordering::SeqCst),
        rows * 2,
        "one fit per distinct configuration and fold"
    );
    assert!(
        rows < 20 * 9,
        "some of the 180 individuals repeat a configuration: {rows}"
    );
    let mut distinct = one.cv_results().params.clone();
    distinct.sort_by_key(|c| format!("{c:?}"));
    distinct.dedup();
    assert_eq!(distinct.len(), rows, "each row a distinct configuration");
    let threaded = search(3, 3, &Arc::new(AtomicUsize::new(0)));
    assert_eq!(one.cv_results().params, threaded.cv_results().params);
    assert_eq!(one.best_index(), threaded.best_index());
    assert_ne!(
        one.cv_results().params,
        search(4, 1, &Arc::new(AtomicUsize::new(0)))
            .cv_results()
            .params
    );
}

#[test]
fn evolution_improves_on_the_first_random_generation() {
    let mut improved = 0;
    for seed in 0..8 {
        let s = search(seed, 1, &Arc::new(AtomicUsize::new(0)));
        let iters = s.cv_results().iter.clone().unwrap();
        let first_best = (0..iters.len())
            .filter(|&r| iters[r] == 0)
            .map(|r| objective(&s.cv_results().params[r]))
            .fold(f64::INFINITY, f64::min);
        let best = objective(s.best_params().unwrap());
        assert!(best <= first_best);
        if best < first_best {
            improved += 1;
        }
    }
    assert!(improved >= 6, "improved on {improved} of 8 seeds");
}

#[test]
fn a_stopped_search_resumes_from_its_journal() {
    let dir = std::env::temp_dir().join(format!("mlp-tune-evo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("evo.jsonl");
    let _ = std::fs::remove_file(&path);
    let run = |budget: Option<Duration>, fits: &Arc<AtomicUsize>| {
        let mut s = EvolutionarySearchCV::new(builder(fits, Duration::from_millis(3)), grid())
            .population_size(10)
            .generations_number(4)
            .crossover(Crossover::OnePoint)
            .elitism(1)
            .random_state(9)
            .cv(2)
            .n_jobs(2)
            .speculative_refit(false)
            .journal(&path);
        if let Some(b) = budget {
            s = s.time_budget(b);
        }
        s.fit(&data()).unwrap()
    };
    let fits = Arc::new(AtomicUsize::new(0));
    let stopped = run(Some(Duration::from_millis(40)), &fits);
    assert!(stopped.is_partial());
    let resumed = run(None, &fits);
    std::fs::remove_file(&path).unwrap();
    let fresh_fits = Arc::new(AtomicUsize::new(0));
    let fresh = run(None, &fresh_fits);
    assert_eq!(resumed.cv_results().params, fresh.cv_results().params);
    assert_eq!(
        resumed.cv_results().primary().mean_test,
        fresh.cv_results().primary().mean_test
    );
    assert_eq!(resumed.best_index(), fresh.best_index());
    assert!(resumed.resumed_fits() > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_settings_are_typed_errors() {
    let fits = Arc::new(AtomicUsize::new(0));
    let fit = |s: EvolutionarySearchCV<_, f64>| s.fit(&data()).err().unwrap();
    let new = || EvolutionarySearchCV::new(builder(&fits, Duration::ZERO), grid());
    let name = |e: MlpTuneError| match e {
        MlpTuneError::InvalidParameter { name, .. } => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(name(fit(new().population_size(1))), "population_size");
    // A generation is held in memory: a population past the grid limit is refused (it
    // overflowed the allocation, a panic, before).
    assert_eq!(
        name(fit(new().population_size(usize::MAX).tournament_size(3))),
        "population_size"
    );
    assert_eq!(
        name(fit(new().gene_mutation_prob(1.5))),
        "gene_mutation_prob"
    );
    assert_eq!(name(fit(new().tournament_size(0))), "tournament_size");
    assert_eq!(name(fit(new().elitism(50))), "elitism");
    let or = EvolutionarySearchCV::new(
        builder(&fits, Duration::ZERO),
        ParamGrid::new().add("a", [1i64]).or().add("a", [2i64]),
    );
    assert!(matches!(fit(or), MlpTuneError::SearchSpace(_)));
    assert_eq!(fits.load(Ordering::SeqCst), 0, "no fit ran");
}
