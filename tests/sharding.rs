//! Sharded searches: every round run by N shards (each with its own journal, reading the
//! merged journal of the earlier rounds), merged, planned, and finished in one process,
//! gives the result of a search run in one process: the same rows, scores, ranks, best
//! candidate and refitted model. For grid, random, successive halving with warm
//! continuation, Hyperband and TPE. A shard killed mid-way reruns only its unfinished fits;
//! journals of different searches are not merged.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mlp_tune::model_selection::{
    by_name, merge_journals, Distribution, FitEvent, FittedSearch, GridSearchCV,
    HalvingRandomSearchCV, HyperbandSearchCV, MinResources, ParamDistributions, ParamGrid,
    RandomizedSearchCV, Resource, SearchCV, SearchObserver, TpeOptions, TpeSearchCV,
};
use mlp_tune::neural_network::{MLPRegressor, MLPRegressorParams, MLPRegressorValidParams, Solver};
use mlp_tune::MlpTuneError;
use ndarray::Ix1;

type Data = linfa::Dataset<f64, f64, Ix1>;

fn data() -> Data {
    let d = mlp_tune::datasets::diabetes();
    linfa::Dataset::new(d.records() / 100.0, d.targets() / 100.0)
}

fn base() -> MLPRegressorParams<f64> {
    MLPRegressor::params()
        .solver(Solver::Adam)
        .learning_rate_init(0.01)
        .max_iter(6)
        .random_state(0)
}

fn space() -> ParamDistributions {
    ParamDistributions::new()
        .add(
            "alpha",
            Distribution::LogUniform {
                low: 1e-5,
                high: 1e0,
            },
        )
        .add(
            "hidden_layer_sizes",
            Distribution::list([[3usize], [8], [16]]),
        )
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mlp-tune-shards-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Counts the fits started.
#[derive(Default)]
struct Starts(AtomicUsize);

impl SearchObserver for Starts {
    fn on_fit_start(&self, _candidate: usize, _split: usize) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn on_fit_end(&self, _event: &FitEvent) {}
}

/// Runs `search(shard, plan)` round by round on `n` shards until the merged journal holds
/// the whole search, then finishes it in one process. `search` builds the search with
/// `Some((index, count, journal, inputs))` for a shard run and `None` for the merged run on
/// `merged`. Returns the final result and the number of rounds.
fn sharded<E>(
    dir: &Path,
    n: usize,
    run: impl Fn(Option<(usize, usize)>, &Path, &[PathBuf], bool) -> FittedSearch<E, MLPRegressor<f64>>,
) -> (FittedSearch<E, MLPRegressor<f64>>, usize) {
    let merged = dir.join("merged.jsonl");
    let shards: Vec<PathBuf> = (0..n)
        .map(|i| dir.join(format!("shard-{i}.jsonl")))
        .collect();
    let mut rounds = 0;
    loop {
        let plan = run(None, &merged, &[], true);
        if !plan.is_partial() {
            break;
        }
        rounds += 1;
        assert!(rounds < 20, "the plan advances");
        for (i, shard) in shards.iter().enumerate() {
            let part = run(Some((i, n)), shard, std::slice::from_ref(&merged), false);
            assert!(part.best_model().is_none(), "a shard refits nothing");
        }
        merge_journals(&merged, &shards).unwrap();
    }
    (run(None, &merged, &[], false), rounds)
}

/// A search run as a shard (`Some((index, count))`), a plan, or in full, with a journal
/// and the journals it reads.
fn setup<B, T, S>(
    mut s: SearchCV<B, T, S>,
    journal: Option<(&Path, &[PathBuf])>,
    shard: Option<(usize, usize)>,
    plan: bool,
) -> SearchCV<B, T, S> {
    if let Some((path, inputs)) = journal {
        s = s.journal(path).journal_inputs(inputs);
    }
    if let Some((i, n)) = shard {
        s = s.shard(i, n);
    }
    if plan {
        s = s.plan_only();
    }
    s
}

type Fitted = FittedSearch<MLPRegressorValidParams<f64>, MLPRegressor<f64>>;

fn assert_same(a: &Fitted, b: &Fitted, x: &Data) {
    let (ra, rb) = (a.cv_results(), b.cv_results());
    assert_eq!(ra.params, rb.params);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for (ma, mb) in ra.metrics.iter().zip(&rb.metrics) {
        assert_eq!(ma.split_test.len(), mb.split_test.len());
        for (fa, fb) in ma.split_test.iter().zip(&mb.split_test) {
            assert_eq!(bits(fa), bits(fb));
        }
        assert_eq!(ma.rank_test, mb.rank_test);
    }
    assert_eq!(ra.iter, rb.iter);
    assert_eq!(ra.n_resources, rb.n_resources);
    assert_eq!(ra.bracket, rb.bracket);
    assert_eq!(a.best_index(), b.best_index());
    assert!(!b.is_partial());
    let (pa, pb) = (
        a.try_predict(x.records()).unwrap(),
        b.try_predict(x.records()).unwrap(),
    );
    assert_eq!(bits(pa.as_slice().unwrap()), bits(pb.as_slice().unwrap()));
}

#[test]
fn a_sharded_grid_and_random_search_equals_one_process() {
    let x = data();
    let grid = ParamGrid::new()
        .add("alpha", [1e-4, 1e-2, 1.0])
        .add("hidden_layer_sizes", [[4usize], [12]]);
    let single = GridSearchCV::new(by_name(base()), grid.clone())
        .cv(3)
        .fit(&x)
        .unwrap();
    let dir = temp_dir("grid");
    let (merged, rounds) = sharded(&dir, 4, |shard, journal, inputs, plan| {
        let s = GridSearchCV::new(by_name(base()), grid.clone())
            .cv(3)
            .journal(journal)
            .journal_inputs(inputs);
        setup(s, None, shard, plan).fit(&x).unwrap()
    });
    assert_eq!(rounds, 1, "a grid search is one round");
    assert_same(&single, &merged, &x);

    let single = RandomizedSearchCV::new(by_name(base()), space(), 7)
        .random_state(3)
        .cv(3)
        .fit(&x)
        .unwrap();
    let dir = temp_dir("random");
    let (merged, _) = sharded(&dir, 3, |shard, journal, inputs, plan| {
        let s = RandomizedSearchCV::new(by_name(base()), space(), 7)
            .random_state(3)
            .cv(3)
            .journal(journal)
            .journal_inputs(inputs);
        setup(s, None, shard, plan).fit(&x).unwrap()
    });
    assert_same(&single, &merged, &x);
}

#[test]
fn sharded_adaptive_searches_equal_one_process_round_by_round() {
    let x = data();
    // Successive halving on epochs with warm continuation: a shard rebuilds the models it
    // continues (their rounds ran elsewhere), which gives the same models.
    let halving =
        |journal: Option<(&Path, &[PathBuf])>, shard: Option<(usize, usize)>, plan: bool| {
            let mut s = HalvingRandomSearchCV::new(by_name(base()), space())
                .resource(Resource::Epochs)
                .min_resources(MinResources::Value(2))
                .max_resources(18)
                .random_state(5)
                .cv(2);
            if let Some((path, inputs)) = journal {
                s = s.journal(path).journal_inputs(inputs);
            }
            if let Some((i, n)) = shard {
                s = s.shard(i, n);
            }
            if plan {
                s = s.plan_only();
            }
            s.fit(&x).unwrap().search().clone()
        };
    let single = halving(None, None, false);
    let dir = temp_dir("halving");
    let (merged, rounds) = sharded(&dir, 3, |shard, journal, inputs, plan| {
        halving(Some((journal, inputs)), shard, plan)
    });
    assert_eq!(rounds, 3, "rounds at 2, 6 and 18 epochs");
    assert_same(&single, &merged, &x);

    let hyperband =
        |journal: Option<(&Path, &[PathBuf])>, shard: Option<(usize, usize)>, plan: bool| {
            let mut s = HyperbandSearchCV::new(by_name(base()), space(), 9)
                .random_state(2)
                .cv(2);
            if let Some((path, inputs)) = journal {
                s = s.journal(path).journal_inputs(inputs);
            }
            if let Some((i, n)) = shard {
                s = s.shard(i, n);
            }
            if plan {
                s = s.plan_only();
            }
            s.fit(&x).unwrap().search().clone()
        };
    let single = hyperband(None, None, false);
    let dir = temp_dir("hyperband");
    let (merged, rounds) = sharded(&dir, 2, |shard, journal, inputs, plan| {
        hyperband(Some((journal, inputs)), shard, plan)
    });
    assert_eq!(rounds, 3, "three lockstep steps of the brackets");
    assert_same(&single, &merged, &x);

    let tpe = |journal: Option<(&Path, &[PathBuf])>, shard: Option<(usize, usize)>, plan: bool| {
        let mut s = TpeSearchCV::new(by_name(base()), space(), 9)
            .tpe_options(TpeOptions {
                n_startup_trials: 4,
                ..TpeOptions::default()
            })
            .batch_size(2)
            .random_state(8)
            .cv(2);
        if let Some((path, inputs)) = journal {
            s = s.journal(path).journal_inputs(inputs);
        }
        setup(s, None, shard, plan).fit(&x).unwrap()
    };
    let single = tpe(None, None, false);
    let dir = temp_dir("tpe");
    let (merged, rounds) = sharded(&dir, 3, |shard, journal, inputs, plan| {
        tpe(Some((journal, inputs)), shard, plan)
    });
    assert_eq!(rounds, 4, "startup batch of 4, then batches of 2, 2 and 1");
    assert_same(&single, &merged, &x);
}

#[test]
fn a_killed_shard_reruns_only_its_unfinished_fits_and_other_searches_are_not_merged() {
    let x = data();
    let grid = ParamGrid::new().add("alpha", [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]);
    let dir = temp_dir("killed");
    let shard = dir.join("shard-0.jsonl");
    let run = |starts: Arc<Starts>| {
        GridSearchCV::new(by_name(base()), grid.clone())
            .cv(3)
            .journal(&shard)
            .shard(0, 2)
            .observer(starts)
            .fit(&x)
            .unwrap()
    };
    let starts = Arc::new(Starts::default());
    run(Arc::clone(&starts));
    assert_eq!(starts.0.load(Ordering::SeqCst), 9, "half of 6 x 3 fits");
    // As a kill leaves it: the last two records gone and a torn line.
    let text = std::fs::read_to_string(&shard).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kept = lines[..lines.len() - 2].join("\n") + "\n{\"bracket\":0,\"it";
    std::fs::write(&shard, kept).unwrap();
    let again = Arc::new(Starts::default());
    run(Arc::clone(&again));
    assert_eq!(
        again.0.load(Ordering::SeqCst),
        2,
        "only the two lost fits run again"
    );

    // A journal of another search (other grid) is refused by the merge.
    let other = dir.join("other.jsonl");
    GridSearchCV::new(by_name(base()), ParamGrid::new().add("alpha", [0.5]))
        .cv(3)
        .journal(&other)
        .fit(&x)
        .unwrap();
    let err = merge_journals(dir.join("merged.jsonl"), [&shard, &other])
        .err()
        .unwrap();
    assert!(matches!(err, MlpTuneError::Journal(_)), "{err}");
    // And a shard index outside 0..count is an error before any fit.
    let err = GridSearchCV::new(by_name(base()), grid.clone())
        .shard(2, 2)
        .fit(&x)
        .err()
        .unwrap();
    assert!(
        matches!(err, MlpTuneError::InvalidParameter { .. }),
        "{err}"
    );
}
