//! # mlp-tune
//!
//! scikit-learn's multi-layer perceptrons ([`MLPRegressor`](neural_network::MLPRegressor),
//! [`MLPClassifier`](neural_network::MLPClassifier)) and its model selection
//! (splitters, scorers, cross-validation, `GridSearchCV`, `RandomizedSearchCV`, successive
//! halving and Hyperband with warm continuation) as linfa citizens, with the same numbers as scikit-learn for the same `random_state`.
//!
//! Map of the crate (it mirrors scikit-learn's layout):
//! - [`neural_network`]: the estimators, their activations and losses, their optimizers;
//! - [`model_selection`]: splitters, validation, searches (grid, random, halving, Hyperband);
//! - [`metrics`]: the metric functions behind the scorers;
//! - [`datasets`]: embedded toy sets and the California housing loader;
//! - [`random`]: numpy's `RandomState`, the source of every random choice.
//! - `progress` (feature `progress`): terminal progress bars for searches and training,
//!   drawn only when attached as observers;
//! - `plot` (feature `plot`): SVG learning curves, search results and halving rounds;
//! - `spec` (feature `cli`, on by default): searches described in a TOML file, which the
//!   `mlp-tune` binary runs in one process or in shards on a batch engine.

pub mod datasets;
pub mod error;
pub mod metrics;
pub mod model_selection;
pub mod neural_network;
#[cfg(feature = "plot")]
pub mod plot;
#[cfg(feature = "progress")]
pub mod progress;
pub mod random;
#[cfg(feature = "cli")]
pub mod spec;

pub use error::{MlpTuneError, Result};

/// The names most programs need.
pub mod prelude {
    pub use crate::error::{MlpTuneError, Result};
    pub use crate::model_selection::{
        by_name, cross_val_score, cross_validate, ContinueTraining, Cv, Distribution, Estimator,
        GridSearchCV, HalvingGridSearchCV, HalvingRandomSearchCV, HyperbandSearchCV, KFold,
        LinfaEstimator, MinResources, NCandidates, ParamDistributions, ParamGrid, ParamValue,
        Pipeline, RandomizedSearchCV, Resource, Scorer, SearchResults, SetParams, StratifiedKFold,
    };
    pub use crate::neural_network::{
        Activation, LearningRate, MLPClassifier, MLPRegressor, MlpConfig, Solver,
    };
    pub use crate::random::NumpyRng;
}

/// The README's code, compiled and run as a doc test so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
