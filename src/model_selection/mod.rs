//! Model selection: scikit-learn's `sklearn.model_selection`.
//!
//! The module map mirrors scikit-learn's `model_selection/` package:
//! - [`split`] (`_split.py`): cross-validation splitters ([`KFold`], [`StratifiedKFold`],
//!   [`ShuffleSplit`], [`StratifiedShuffleSplit`], [`RepeatedKFold`],
//!   [`RepeatedStratifiedKFold`], [`GroupKFold`]) behind the [`CrossValidator`] trait, and
//!   [`train_test_split_indices`] / [`train_test_split`];
//! - [`validation`] (`_validation.py`): [`cross_validate`], [`cross_val_score`], the
//!   [`Estimator`] trait any model plugs into ([`LinfaEstimator`] for linfa models,
//!   [`Pipeline`] for a transformer + estimator);
//! - [`search`] (`_search.py`): [`GridSearchCV`], [`RandomizedSearchCV`];
//! - [`halving`] (`_search_successive_halving.py`): [`HalvingGridSearchCV`],
//!   [`HalvingRandomSearchCV`], and [`HyperbandSearchCV`], with warm continuation of
//!   models that implement [`ContinueTraining`];
//! - [`param_space`]: [`ParamGrid`], [`ParamDistributions`], [`ParamValue`];
//! - [`scoring`]: greater-is-better [`Scorer`]s by scikit-learn name;
//! - [`tpe`]: the Tree-structured Parzen Estimator of Optuna's `TPESampler` ([`TpeOptions`]),
//!   and [`TpeSearchCV`], a cross-validated search whose trials it proposes;
//! - [`gp`]: the Gaussian process of scikit-optimize's `gp_minimize`, and [`BayesSearchCV`],
//!   a cross-validated search whose trials it proposes;
//! - search journals (`SearchCV::journal`): finished fits on disk, so a stopped search
//!   resumes where it was.

mod bayes_search;
mod bohb;
mod cv_results;
mod estimator;
mod evolutionary_search;
mod fitted;
pub use fitted::SearchResults;
pub mod gp;
pub mod halving;
mod journal;
mod observer;
pub use journal::{merge_journals, MergeReport};
pub mod param_space;
mod runner;
pub mod scoring;
pub mod search;
mod speculative;
pub mod split;
pub mod tpe;
mod tpe_search;
pub mod validation;

pub use bayes_search::{Acquisition, BayesSearchCV, BayesSpace, ConstantLiar, InitialPoints};
pub use bohb::BracketSampler;
pub use evolutionary_search::{Crossover, EvolutionSettings, EvolutionarySearchCV};
pub use halving::{
    hyperband_brackets, Bracket, FittedHalving, FittedHyperband, HalvingGridSearchCV,
    HalvingRandomSearchCV, HalvingRecord, HalvingSchedule, HalvingSearchCV, HyperbandSearchCV,
    MaxResources, MinResources, NCandidates, Resource,
};
pub use param_space::{
    Candidate, Distribution, ParamDistributions, ParamGrid, ParamValue, SetParams,
};
pub use scoring::{Scorer, ScorerKind};
pub use search::{
    by_name, CvResults, Execution, FitEvent, FittedSearch, GridSearchCV, MetricResults, PendingFit,
    RandomizedSearchCV, RoundEvent, SearchCV, SearchObserver, SearchSpace,
};
pub use split::{
    train_test_split, train_test_split_indices, CrossValidator, Fold, GroupKFold, Grouped, KFold,
    RepeatedKFold, RepeatedStratifiedKFold, ShuffleSplit, Size, SplitInput, StratifiedKFold,
    StratifiedShuffleSplit,
};
pub use tpe::TpeOptions;
pub use tpe_search::{TpeSearchCV, TpeSpace};
pub use validation::{
    cross_val_score, cross_validate, ContinueTraining, CrossValidateOptions, CrossValidateResult,
    Cv, Estimator, FittedPipeline, LinfaEstimator, Pipeline,
};
