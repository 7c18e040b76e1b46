//! BOHB (Falkner et al., 2018) on California housing: the `california_hyperband` search
//! (Géron's ch. 10 space widened with the activation and the solver, 3-fold CV, warm
//! continuation between rounds, the random search's early-stopping rule) whose candidates
//! are proposed by TPE from the results on the largest budget that has `d + 1` of them,
//! instead of drawn at random (a third stay random). A bracket's first round runs in
//! batches of `--batch-size` candidates: the first batches are drawn at random as in
//! Hyperband, and once the lowest budget has `d + 1 = 6` results the later batches, of the
//! first bracket already, are proposed by the model.
//!
//! `cargo run --release --example california_bohb [-- --n-jobs 2 --seed 42 --max-epochs 100
//!  --factor 3 --min-epochs 4 --max-brackets 1 --iterations 1 --batch-size 3
//!  --no-early-stopping --plot-dir target/plots --journal PATH --time-budget SECONDS]`
//! (the flags of `california_hyperband`, with the same defaults: one bracket, 9 candidates
//! trained 11 epochs, the best 3 continued to 33 and the best one to 100; `--max-brackets 3`
//! runs all of this schedule's brackets; `--batch-size`, BOHB's candidates proposed
//! together, defaults to 3: the first 6 candidates are Hyperband's random draws and the
//! last 3 are proposed from their results, each by TPE with probability 2/3).
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "total_epochs": .., "partial": .., "skipped_fits": .., "n_trials": ..}` (as
//! `california_hyperband`; `n_trials`: candidates evaluated).

mod common;

use mlp_tune::model_selection::BracketSampler;

fn main() {
    let batch_size: usize = common::flag("--batch-size", 3);
    let sampler = BracketSampler::bohb().with_batch_size(batch_size);
    common::hyperband::run(sampler, 1);
}
