//! The California housing Hyperband search shared by the `california_hyperband` (random
//! brackets) and `california_bohb` (BOHB: TPE-proposed brackets) examples.

use mlp_tune::model_selection::SearchResults;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::{california, flag, mse, save_picture, Progress};
use mlp_tune::model_selection::param_space::{candidate_to_json, candidate_to_string};
use mlp_tune::model_selection::{
    by_name, BracketSampler, Distribution, FitEvent, HyperbandSearchCV, ParamDistributions,
    RoundEvent, SearchObserver,
};
use mlp_tune::neural_network::{MLPRegressor, Solver};
use serde_json::json;

/// Prints each round as it starts (which bracket, how many candidates, how many epochs) and
/// a line every tenth of the fits, with the best fold score so far.
struct HyperbandProgress {
    started: Instant,
    total: AtomicUsize,
    done: AtomicUsize,
    best: Mutex<f64>,
}

impl SearchObserver for HyperbandProgress {
    fn on_search_start(&self, n_candidates: usize, n_splits: usize) {
        eprintln!("Hyperband: {n_candidates} candidates drawn, {n_splits} folds each");
    }

    fn on_round_start(&self, e: &RoundEvent) {
        self.total
            .fetch_add(e.n_candidates * e.n_splits, Ordering::SeqCst);
        eprintln!(
            "[{:>6.1} s] bracket {} round {}: {:>3} candidates x {} folds, trained to {:>3} epochs",
            self.started.elapsed().as_secs_f64(),
            e.bracket,
            e.iter,
            e.n_candidates,
            e.n_splits,
            e.n_resources
        );
    }

    fn on_fit_end(&self, e: &FitEvent) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let mut best = self.best.lock().expect("lock");
        if e.score > *best {
            *best = e.score;
        }
        if done.is_multiple_of(25) {
            eprintln!(
                "[{:>6.1} s] {done} fits done (of {} scheduled so far), best fold score {:.4}",
                self.started.elapsed().as_secs_f64(),
                self.total.load(Ordering::SeqCst),
                *best
            );
        }
    }

    fn on_refit_end(&self, seconds: f64) {
        eprintln!("refit of the best candidate on the training rows: {seconds:.2} s");
    }
}

/// Runs the California housing Hyperband search with `sampler` (the body of the
/// `california_hyperband` and `california_bohb` examples); `default_max_brackets` is the
/// `--max-brackets` default.
pub fn run(sampler: BracketSampler, default_max_brackets: usize) {
    let n_jobs: usize = flag("--n-jobs", 2);
    let seed: u32 = flag("--seed", 42);
    let max_epochs: usize = flag("--max-epochs", 100);
    let factor: f64 = flag("--factor", 3.0);
    let min_epochs: usize = flag("--min-epochs", 4);
    let max_brackets: usize = flag("--max-brackets", default_max_brackets);
    let iterations: usize = flag("--iterations", 1);
    let journal: String = flag("--journal", String::new());
    let time_budget: f64 = flag("--time-budget", 0.0);
    // `--early-stopping` (the default) is still accepted.
    let early_stopping = !std::env::args().any(|a| a == "--no-early-stopping");
    let data = california();

    let space = ParamDistributions::new()
        .add("n_hidden", Distribution::list([0, 1, 2, 3]))
        .add("n_neurons", Distribution::RandInt { low: 1, high: 100 })
        .add(
            "learning_rate_init",
            Distribution::LogUniform {
                low: 3e-4,
                high: 3e-2,
            },
        )
        .add(
            "activation",
            Distribution::list(["relu", "tanh", "logistic"]),
        )
        .add("solver", Distribution::list(["sgd", "adam"]));
    // The random search's stopping rule (patience 10 on a 10% validation split) by default;
    // `--no-early-stopping` keeps only the training-loss rule. A continued model trains on
    // from its last weights (the restored best ones are only what it reports between
    // rounds), so continuing equals training in one go either way, and a model that stopped
    // is kept as is in later rounds.
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Adam)
        .momentum(0.0)
        .batch_size(32)
        .early_stopping(early_stopping)
        .validation_fraction(0.1)
        .n_iter_no_change(10)
        .random_state(seed);

    println!(
        "California housing, textbook split: {} train / {} valid / {} test rows",
        data.train.records.nrows(),
        data.valid.records.nrows(),
        data.test.records.nrows()
    );
    let name = match sampler {
        BracketSampler::Random => "HyperbandSearchCV".to_string(),
        BracketSampler::Tpe { batch_size, .. } => format!(
            "HyperbandSearchCV with BOHB's TPE sampler (first rounds in batches of {batch_size})"
        ),
    };
    println!(
        "{name}: max_epochs {max_epochs}, factor {factor}, min_epochs {min_epochs}, \
         {max_brackets} bracket(s) x {iterations} iteration(s), cv 3, neg_mean_squared_error, \
         {n_jobs} threads, seed {seed}"
    );

    let progress = Progress::new(HyperbandProgress {
        started: Instant::now(),
        total: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        best: Mutex::new(f64::NEG_INFINITY),
    });
    let started = Instant::now();
    let search = HyperbandSearchCV::new(by_name(base), space, max_epochs)
        .factor(factor)
        .min_epochs(min_epochs)
        .max_brackets(max_brackets)
        .iterations(iterations)
        .cv(3)
        .n_jobs(n_jobs)
        .random_state(seed)
        .sampler(sampler)
        .observer(progress.observer());
    let search = if journal.is_empty() {
        search
    } else {
        search.journal(&journal)
    };
    let search = if time_budget > 0.0 {
        search.time_budget(std::time::Duration::from_secs_f64(time_budget))
    } else {
        search
    };
    let search = search.fit(&data.train).unwrap_or_else(|e| {
        eprintln!("search failed: {e}");
        std::process::exit(1);
    });
    let search_seconds = started.elapsed().as_secs_f64();
    progress.finish();
    if !journal.is_empty() {
        println!(
            "{} fits taken from the journal {journal}; {} models rebuilt for continuation ({} epochs)",
            search.resumed_fits(),
            search.rebuilt_models(),
            search.rebuild_cost()
        );
    }
    save_picture("california_hyperband.svg", |path| {
        // learning_rate_init is drawn log-uniformly: a log axis whatever the draws' span.
        mlp_tune::plot::search_results_with(search.cv_results(), &["learning_rate_init"], path)
    });
    save_picture("california_hyperband_rounds.svg", |path| {
        mlp_tune::plot::halving_rounds(&search, path)
    });

    if search.is_partial() {
        println!(
            "partial search: {}; {} fits not run (rerun with the same --journal and no budget to finish)",
            search.stop_reason().unwrap_or("stopped"),
            search.skipped_fits()
        );
    }
    for (b, bracket) in search.brackets().iter().enumerate() {
        println!(
            "bracket {b} (s = {}): candidates {:?}, epochs {:?}",
            bracket.s, bracket.n_candidates, bracket.n_resources
        );
    }
    let results = search.cv_results();
    let primary = results.primary();
    // Candidates evaluated: the rows of each bracket's first round.
    let iters = results.iter.as_ref().expect("halving column");
    let n_trials = iters.iter().filter(|&&i| i == 0).count();
    let n_resources = results.n_resources.as_ref().expect("halving column");
    let brackets = results.bracket.as_ref().expect("hyperband column");
    println!("\nfinal rounds (max_epochs):\n bracket  mean_test_score  std     params");
    for row in (0..results.params.len()).filter(|&r| n_resources[r] == max_epochs) {
        println!(
            "{:>8}  {:>15.4}  {:.4}  {}",
            brackets[row],
            primary.mean_test[row],
            primary.std_test[row],
            candidate_to_string(&results.params[row])
        );
    }
    let (Some(best_params), Some(best_score), Some(model)) = (
        search.best_params(),
        search.best_score(),
        search.best_model(),
    ) else {
        // Only a stopped search has no best candidate: no round was complete.
        println!("no candidate finished every fold of a round: nothing to refit");
        println!(
            "{}",
            json!({
                "best_params": null,
                "best_score": null,
                "test_mse": null,
                "search_seconds": search_seconds,
                "total_epochs": search.total_cost(),
                "partial": true,
                "skipped_fits": search.skipped_fits(),
                "n_trials": n_trials,
            })
        );
        return;
    };
    let prediction = search
        .try_predict(&data.test.records)
        .expect("refitted model predicts");
    let test_mse = mse(&prediction, &data.test.targets);
    let search_epochs = search.total_cost();
    let total_epochs = search_epochs + model.n_iter();
    println!(
        "\nbest score (neg MSE, 3-fold CV): {best_score:.4}\ntest MSE of the refitted best model: {test_mse:.4}"
    );
    println!(
        "search time: {search_seconds:.1} s; epochs trained: {search_epochs} by the search's fits + {} by the refit",
        model.n_iter()
    );
    println!(
        "{}",
        json!({
            "best_params": candidate_to_json(best_params),
            "best_score": best_score,
            "test_mse": test_mse,
            "search_seconds": search_seconds,
            "total_epochs": total_epochs,
            "partial": search.is_partial(),
            "skipped_fits": search.skipped_fits(),
            "n_trials": n_trials,
        })
    );
}
