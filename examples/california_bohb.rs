//! BOHB (Falkner et al., 2018) on California housing: the `california_hyperband` search
//! (Géron's ch. 10 space widened with the activation and the solver, 3-fold CV, warm
//! continuation between rounds, the random search's early-stopping rule) with every
//! bracket of the schedule, whose candidates are proposed by TPE from the results on the
//! largest budget that has `d + 1` of them, instead of drawn at random (a third stay random).
//! The first bracket has no results to learn from and is drawn at random as in Hyperband;
//! later brackets learn from it.
//!
//! `cargo run --release --example california_bohb [-- --n-jobs 2 --seed 42 --max-epochs 100
//!  --factor 3 --min-epochs 4 --max-brackets 3 --iterations 1 --no-early-stopping
//!  --plot-dir target/plots --journal PATH --time-budget SECONDS]`
//! (the flags of `california_hyperband`; here `--max-brackets` defaults to 3, all brackets).
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "total_epochs": .., "partial": .., "skipped_fits": .., "n_trials": ..}` (as
//! `california_hyperband`; `n_trials`: candidates evaluated).

mod common;

use mlp_tune::model_selection::BracketSampler;

fn main() {
    common::hyperband::run(BracketSampler::bohb(), 3);
}
