//! Hyperband with 3-fold cross-validation and warm continuation on California housing
//! (Géron's textbook split, standardized), over Géron's ch. 10 space (`n_hidden` 0..3,
//! `n_neurons` 1..99, `learning_rate_init` loguniform(3e-4, 3e-2)) widened with the hidden
//! activation (relu, tanh, logistic) and the solver (sgd, adam). Each bracket is a
//! successive-halving run on epochs: the surviving (candidate, fold) models are trained
//! further between rounds, never retrained. The best candidate is refitted on the training
//! rows and evaluated on the test rows.
//!
//! `cargo run --release --example california_hyperband [-- --n-jobs 2 --seed 42
//!  --max-epochs 100 --factor 3 --min-epochs 4 --max-brackets 1 --iterations 1
//!  --no-early-stopping --plot-dir target/plots --journal PATH --time-budget SECONDS]`
//!
//! With `--journal`, an interrupted run rerun with the same file resumes where it stopped.
//! With `--time-budget`, the search starts no fit after that many seconds (running fits
//! finish, no further round starts) and says what it left undone; with a journal, a rerun
//! without the budget finishes the search.
//! Progress goes to stderr (a bar in a terminal, round and fit lines otherwise). Two
//! pictures go to the `--plot-dir` folder: `california_hyperband.svg` (mean test score
//! against each parameter, colored by round) and `california_hyperband_rounds.svg`
//! (candidates and epochs per round of each bracket).
//!
//! The defaults match `california_random_search`: at most 100 epochs, and the same early
//! stopping rule (patience 10 on a 10% validation split; `--no-early-stopping` trains every
//! round to its full epochs). The schedule is Hyperband's most exploratory bracket for 100
//! epochs from 4 with factor 3: 9 candidates trained 11 epochs, the best 3 continued to 33
//! and the best one to 100 (`--max-brackets 3` runs all of this schedule's brackets). Over
//! seeds 42 and 1 to 7 it reached a test MSE of at most 0.29 on 6 of 8 seeds, in less time
//! than the random search on the median (see the README's Reproductions).
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "total_epochs": .., "partial": .., "skipped_fits": .., "n_trials": ..}` (`total_epochs`: epochs trained
//! by the search's fits plus the refit; `n_trials`: candidates evaluated; `partial`: the time budget stopped the search, and
//! the best candidate comes from the last complete round of each bracket; the first three
//! are null when no round was complete).

mod common;

use mlp_tune::model_selection::BracketSampler;

fn main() {
    common::hyperband::run(BracketSampler::Random, 1);
}
