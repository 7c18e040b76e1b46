//! The textbook California housing search (Géron, *Hands-On Machine Learning* ch. 10) with
//! Gaussian-process Bayesian optimization instead of random draws: `BayesSearchCV`
//! (scikit-optimize's `BayesSearchCV`: Matérn 5/2 GP, `gp_hedge`) proposes each trial from
//! the cross-validated scores of the trials before it, on the textbook space plus the
//! activation and the solver, 3-fold CV scored by negated MSE, with the same early-stopping
//! rule as `california_random_search`. A randomized search with the same seed and the same
//! number of trials runs after it, to count how many trials the GP search needed to reach the random
//! search's best CV score.
//!
//! `cargo run --release --example california_bayes_search [-- --n-jobs 2 --seed 42 --n-trials 30
//!  --batch-size 2 --n-startup 10 --journal PATH]` (`--n-startup`: random initial points)
//!
//! Last line: `{"best_params": .., "best_score": .., "test_mse": .., "search_seconds": ..,
//! "n_trials": .., "trials_to_best_random": ..}` (`trials_to_best_random` is null when the GP search
//! never reached the random search's best).

mod common;

use common::learned::{run, Flags};
use mlp_tune::model_selection::{by_name, BayesSearchCV};

fn main() {
    run(
        "GP search",
        |flags: &Flags, base, space, observer, train| {
            let mut search = BayesSearchCV::new(by_name(base), space, flags.n_trials)
                .n_initial_points(flags.n_startup)
                .batch_size(flags.batch_size)
                .random_state(flags.seed)
                .cv(3)
                .n_jobs(flags.n_jobs)
                .observer(observer);
            if !flags.journal.is_empty() {
                search = search.journal(&flags.journal);
            }
            search.fit(train)
        },
    );
}
