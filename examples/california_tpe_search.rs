//! The textbook California housing search (Géron, *Hands-On Machine Learning* ch. 10) with
//! TPE instead of random draws: `TpeSearchCV` proposes each trial from the cross-validated
//! scores of the trials before it (Optuna 5.0.0's sampler), on the textbook space plus the
//! activation and the solver, 3-fold CV scored by negated MSE, with the same early-stopping
//! rule as `california_random_search`. A randomized search with the same seed and the same
//! number of trials runs after it, to count how many trials TPE needed to reach the random
//! search's best CV score.
//!
//! `cargo run --release --example california_tpe_search [-- --n-jobs 2 --seed 42 --n-trials 30
//!  --batch-size 2 --n-startup 10 --journal PATH]`
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "n_trials": .., "trials_to_best_random": ..}` (`trials_to_best_random` is null when TPE
//! never reached the random search's best).

mod common;

use common::learned::{run, Flags};
use mlp_tune::model_selection::{by_name, TpeOptions, TpeSearchCV};

fn main() {
    run("TPE", |flags: &Flags, base, space, observer, train| {
        let mut search = TpeSearchCV::new(by_name(base), space, flags.n_trials)
            .tpe_options(TpeOptions {
                n_startup_trials: flags.n_startup,
                ..TpeOptions::default()
            })
            .batch_size(flags.batch_size)
            .random_state(flags.seed)
            .cv(3)
            .n_jobs(flags.n_jobs)
            .observer(observer);
        if !flags.journal.is_empty() {
            // Interrupt and rerun with the same --journal: finished fits are not repeated
            // and the same trials are proposed again.
            search = search.journal(&flags.journal);
        }
        search.fit(train)
    });
}
