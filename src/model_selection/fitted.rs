//! What every finished search answers: results, best candidate, refitted model.
//!
//! [`FittedSearch`] holds them; the halving and Hyperband results hold a `FittedSearch`
//! beside their schedules and records. [`SearchResults`] gives all three the same calls
//! (scikit-learn's `cv_results_`, `best_params_`, `predict`, ...) without one type posing
//! as another through `Deref`.

use linfa::prelude::PredictInplace;
use linfa::Float;
use ndarray::{Array1, Array2, ArrayBase, Data, Ix1, Ix2};

use super::cv_results::CvResults;
use super::halving::{FittedHalving, FittedHyperband};
use super::param_space::Candidate;
use super::scoring::{ScoreTarget, Scorer};
use super::search::PendingFit;
use super::validation::Estimator;
use crate::error::{MlpTuneError, Result};

/// A finished search: results, the best candidate and (with refit) its model trained on
/// all rows.
#[derive(Debug, Clone)]
pub struct FittedSearch<E, M> {
    pub(crate) cv_results: CvResults,
    pub(crate) best_index: Option<usize>,
    pub(crate) best_score: Option<f64>,
    pub(crate) best_params: Option<Candidate>,
    pub(crate) best_estimator: Option<E>,
    pub(crate) best_model: Option<M>,
    pub(crate) refit_time: Option<f64>,
    pub(crate) n_splits: usize,
    pub(crate) classes_len: usize,
    pub(crate) resumed_fits: usize,
    pub(crate) skipped_fits: usize,
    pub(crate) stop_reason: Option<String>,
    pub(crate) pending: Vec<PendingFit>,
}

impl<E, M> FittedSearch<E, M> {
    /// The fits the round in progress still needs, in task order: what a stopped, sharded
    /// or [planned](super::SearchCV::plan_only) run left for the next run (empty for a complete
    /// search, or one stopped between rounds).
    pub fn pending(&self) -> &[PendingFit] {
        &self.pending
    }

    /// Whether some fits were never started or were dropped (time budget spent or too many
    /// failures in a row); their scores are NaN and their candidates rank last.
    pub fn is_partial(&self) -> bool {
        self.skipped_fits > 0
    }
    /// How many (candidate, fold) fits were never started, or dropped because they come
    /// after the fit where [too many failures in a row](super::SearchCV::max_consecutive_failures)
    /// stopped the search. For halving and Hyperband searches this includes every fit the
    /// schedule planned for the rounds never entered.
    pub fn skipped_fits(&self) -> usize {
        self.skipped_fits
    }
    /// Why the search stopped starting fits, if it did.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }
    /// How many (candidate, fold) results came from the journal instead of being fitted
    /// (not counting recorded fits dropped after a failure limit's trip).
    pub fn resumed_fits(&self) -> usize {
        self.resumed_fits
    }
    /// `cv_results_`.
    pub fn cv_results(&self) -> &CvResults {
        &self.cv_results
    }
    /// `best_index_` (none with several metrics and `refit(false)`, as in scikit-learn).
    pub fn best_index(&self) -> Option<usize> {
        self.best_index
    }
    /// `best_score_`: mean test score of the best candidate.
    pub fn best_score(&self) -> Option<f64> {
        self.best_score
    }
    /// `best_params_`.
    pub fn best_params(&self) -> Option<&Candidate> {
        self.best_params.as_ref()
    }
    /// `best_estimator_`'s params.
    pub fn best_estimator(&self) -> Option<&E> {
        self.best_estimator.as_ref()
    }
    /// `best_estimator_`'s fitted model (refit on all rows).
    pub fn best_model(&self) -> Option<&M> {
        self.best_model.as_ref()
    }
    /// `refit_time_` in seconds.
    pub fn refit_time(&self) -> Option<f64> {
        self.refit_time
    }
    /// `n_splits_`.
    pub fn n_splits(&self) -> usize {
        self.n_splits
    }
    /// Number of classes seen (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.classes_len
    }

    fn refitted(&self) -> Result<(&E, &M)> {
        match (&self.best_estimator, &self.best_model) {
            (Some(e), Some(m)) => Ok((e, m)),
            _ => Err(MlpTuneError::NotFitted(
                "this search ran with refit(false): there is no best estimator to predict with"
                    .into(),
            )),
        }
    }

    /// Predictions of the refitted best estimator.
    pub fn try_predict<F: Float, T, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array1<T>>
    where
        E: Estimator<F, T, Model = M>,
    {
        let (e, m) = self.refitted()?;
        e.predict_xy(m, x.view())
    }

    /// Class probabilities of the refitted best estimator.
    pub fn predict_proba<F: Float, T, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array2<F>>
    where
        E: Estimator<F, T, Model = M>,
    {
        let (e, m) = self.refitted()?;
        e.predict_proba_xy(m, x.view()).unwrap_or_else(|| {
            Err(MlpTuneError::Scoring(
                "the best estimator has no predict_proba".into(),
            ))
        })
    }

    /// Scores the refitted best estimator on `(x, y)` with a scorer. Records and targets
    /// are taken by reference, owned or views, as by the estimators' own `score`; targets
    /// of another length than the records are an error, never a panic.
    pub fn score<F: Float, T: ScoreTarget, D: Data<Elem = F>, S: Data<Elem = T>>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &ArrayBase<S, Ix1>,
        scorer: &Scorer<T>,
        classes: &[T],
    ) -> Result<f64>
    where
        E: Estimator<F, T, Model = M>,
    {
        let (e, m) = self.refitted()?;
        let pred = e.predict_xy(m, x.view())?;
        let proba = if scorer.needs_proba() {
            e.predict_proba_xy(m, x.view()).transpose()?
        } else {
            None
        };
        if y.len() != pred.len() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but targets have {}",
                pred.len(),
                y.len()
            )));
        }
        T::score(
            scorer,
            y.view(),
            pred.view(),
            proba.as_ref().map(|p| p.view()),
            classes,
        )
    }
}

/// Predicts through the refitted best estimator. Errors cannot be reported through this
/// trait, so the targets keep their defaults; use [`FittedSearch::try_predict`].
impl<F, T, E, M, D> PredictInplace<ArrayBase<D, Ix2>, Array1<T>> for FittedSearch<E, M>
where
    F: Float,
    T: Clone + Default,
    E: Estimator<F, T, Model = M>,
    D: Data<Elem = F>,
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<T>) {
        if let Ok(p) = self.try_predict(x) {
            if p.len() == y.len() {
                y.assign(&p);
            }
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<T> {
        Array1::from_elem(x.nrows(), T::default())
    }
}

/// The accessors every finished search has, answered by its [`FittedSearch`].
///
/// ```
/// use mlp_tune::model_selection::{by_name, HalvingGridSearchCV, ParamGrid, Resource, SearchResults};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
///
/// let data = mlp_tune::datasets::diabetes();
/// let (x, y) = (data.records() / 100.0, data.targets() / 100.0);
/// let data = linfa::Dataset::new(x, y);
/// let base = MLPRegressor::<f64>::params().solver(Solver::Adam).learning_rate_init(0.01).random_state(0);
/// let grid = ParamGrid::new().add("hidden_layer_sizes", [[4usize], [8]]);
/// let search = HalvingGridSearchCV::new(by_name(base), grid)
///     .resource(Resource::Epochs)
///     .max_resources(20)
///     .factor(2.0)
///     .cv(3)
///     .fit(&data)
///     .unwrap();
/// // Any finished search answers the same calls.
/// fn best(results: &impl SearchResults) -> Option<f64> {
///     results.best_score()
/// }
/// assert_eq!(best(&search), search.search().best_score());
/// assert_eq!(search.cv_results().primary().mean_test.len(), 3);
/// ```
pub trait SearchResults {
    /// The estimator params type searched.
    type Estimator;
    /// The fitted model type.
    type Model;
    /// The search results themselves.
    fn search(&self) -> &FittedSearch<Self::Estimator, Self::Model>;

    /// `cv_results_`.
    fn cv_results(&self) -> &CvResults {
        self.search().cv_results()
    }
    /// `best_index_` (none with several metrics and `refit(false)`, as in scikit-learn).
    fn best_index(&self) -> Option<usize> {
        self.search().best_index()
    }
    /// `best_score_`: mean test score of the best candidate.
    fn best_score(&self) -> Option<f64> {
        self.search().best_score()
    }
    /// `best_params_`.
    fn best_params(&self) -> Option<&Candidate> {
        self.search().best_params()
    }
    /// `best_estimator_`'s params.
    fn best_estimator(&self) -> Option<&Self::Estimator> {
        self.search().best_estimator()
    }
    /// `best_estimator_`'s fitted model (refit on all rows).
    fn best_model(&self) -> Option<&Self::Model> {
        self.search().best_model()
    }
    /// `refit_time_` in seconds.
    fn refit_time(&self) -> Option<f64> {
        self.search().refit_time()
    }
    /// `n_splits_`.
    fn n_splits(&self) -> usize {
        self.search().n_splits()
    }
    /// Number of classes seen (0 for regression).
    fn n_classes(&self) -> usize {
        self.search().n_classes()
    }
    /// See [`FittedSearch::pending`].
    fn pending(&self) -> &[PendingFit] {
        self.search().pending()
    }
    /// See [`FittedSearch::is_partial`].
    fn is_partial(&self) -> bool {
        self.search().is_partial()
    }
    /// See [`FittedSearch::skipped_fits`].
    fn skipped_fits(&self) -> usize {
        self.search().skipped_fits()
    }
    /// See [`FittedSearch::stop_reason`].
    fn stop_reason(&self) -> Option<&str> {
        self.search().stop_reason()
    }
    /// See [`FittedSearch::resumed_fits`].
    fn resumed_fits(&self) -> usize {
        self.search().resumed_fits()
    }
    /// Predictions of the refitted best estimator.
    fn try_predict<F: Float, T, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array1<T>>
    where
        Self::Estimator: Estimator<F, T, Model = Self::Model>,
    {
        self.search().try_predict(x)
    }
    /// Class probabilities of the refitted best estimator.
    fn predict_proba<F: Float, T, D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Array2<F>>
    where
        Self::Estimator: Estimator<F, T, Model = Self::Model>,
    {
        self.search().predict_proba(x)
    }
    /// See [`FittedSearch::score`].
    fn score<F: Float, T: ScoreTarget, D: Data<Elem = F>, S: Data<Elem = T>>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &ArrayBase<S, Ix1>,
        scorer: &Scorer<T>,
        classes: &[T],
    ) -> Result<f64>
    where
        Self::Estimator: Estimator<F, T, Model = Self::Model>,
    {
        self.search().score(x, y, scorer, classes)
    }
}

impl<E, M> SearchResults for FittedSearch<E, M> {
    type Estimator = E;
    type Model = M;
    fn search(&self) -> &FittedSearch<E, M> {
        self
    }
}

impl<E, M> SearchResults for FittedHalving<E, M> {
    type Estimator = E;
    type Model = M;
    fn search(&self) -> &FittedSearch<E, M> {
        FittedHalving::search(self)
    }
}

impl<E, M> SearchResults for FittedHyperband<E, M> {
    type Estimator = E;
    type Model = M;
    fn search(&self) -> &FittedSearch<E, M> {
        FittedHyperband::search(self)
    }
}

/// Predicts through the refitted best estimator, as [`FittedSearch`] does.
macro_rules! predict_through_search {
    ($fitted:ident) => {
        impl<F, T, E, M, D> PredictInplace<ArrayBase<D, Ix2>, Array1<T>> for $fitted<E, M>
        where
            F: Float,
            T: Clone + Default,
            E: Estimator<F, T, Model = M>,
            D: Data<Elem = F>,
        {
            fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<T>) {
                SearchResults::search(self).predict_inplace(x, y)
            }

            fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<T> {
                Array1::from_elem(x.nrows(), T::default())
            }
        }
    };
}
predict_through_search!(FittedHalving);
predict_through_search!(FittedHyperband);
