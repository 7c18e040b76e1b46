//! What a search needs from an estimator ([`Estimator`], [`ContinueTraining`]) and the two
//! adapters that make any linfa model one: [`LinfaEstimator`] and [`Pipeline`].

use std::marker::PhantomData;

use linfa::dataset::DatasetBase;
use linfa::prelude::{Fit, PredictInplace, Transformer};
use linfa::Float;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{MlpTuneError, Result};

/// What a search needs from an estimator: fit on rows, predict rows, optionally give
/// probabilities. Implemented by our MLPs, by [`LinfaEstimator`] (any linfa `Fit` +
/// `PredictInplace` model) and by [`Pipeline`].
pub trait Estimator<F: Float, T>: Send + Sync {
    /// The fitted model.
    type Model: Send + Sync;
    /// Fits on `(x, y)`.
    fn fit_xy(&self, x: ArrayView2<F>, y: ArrayView1<T>) -> Result<Self::Model>;
    /// Predicts targets for `x`.
    fn predict_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Result<Array1<T>>;
    /// Class probabilities (columns in sorted class order), if the model has them.
    fn predict_proba_xy(
        &self,
        _model: &Self::Model,
        _x: ArrayView2<F>,
    ) -> Option<Result<Array2<F>>> {
        None
    }
    /// Fits on the rows `rows` of `(x, y)` (a fold of data shared by every task of a
    /// search). The default copies the rows and calls [`fit_xy`](Self::fit_xy); the MLPs
    /// override it to gather their batches through the row list, with bitwise the same
    /// model, so a search never copies its data per task.
    ///
    /// ```
    /// use linfa::prelude::*;
    /// use mlp_tune::model_selection::Estimator;
    /// use mlp_tune::neural_network::MLPRegressor;
    /// let data = mlp_tune::datasets::diabetes();
    /// let mlp = MLPRegressor::<f64>::params().hidden_layer_sizes(&[5]).max_iter(5).random_state(0).check().unwrap();
    /// let rows: Vec<usize> = (0..data.nsamples()).filter(|r| r % 3 != 0).collect();
    /// let shared = mlp.fit_rows(data.records.view(), data.targets.view(), &rows).unwrap();
    /// let x = data.records.select(ndarray::Axis(0), &rows);
    /// let y = data.targets.select(ndarray::Axis(0), &rows);
    /// let copied = mlp.fit_xy(x.view(), y.view()).unwrap();
    /// assert_eq!(shared.coefs(), copied.coefs());
    /// ```
    fn fit_rows(&self, x: ArrayView2<F>, y: ArrayView1<T>, rows: &[usize]) -> Result<Self::Model>
    where
        T: Clone,
    {
        check_rows(x.nrows(), rows)?;
        self.fit_xy(
            x.select(Axis(0), rows).view(),
            y.select(Axis(0), rows).view(),
        )
    }
    /// Predicts the rows `rows` of `x`. The default predicts a copy of the rows.
    fn predict_rows(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
        rows: &[usize],
    ) -> Result<Array1<T>> {
        check_rows(x.nrows(), rows)?;
        self.predict_xy(model, x.select(Axis(0), rows).view())
    }
    /// Class probabilities of the rows `rows` of `x`. The default predicts a copy of the rows.
    fn predict_proba_rows(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
        rows: &[usize],
    ) -> Option<Result<Array2<F>>> {
        if let Err(e) = check_rows(x.nrows(), rows) {
            return Some(Err(e));
        }
        self.predict_proba_xy(model, x.select(Axis(0), rows).view())
    }
    /// Whether it is a classifier (classifiers get stratified folds by default).
    fn is_classifier(&self) -> bool;
    /// A rough relative cost of one fit on data with `n_features` columns, if the
    /// estimator can tell from its settings. Searches start their costliest (candidate ×
    /// fold) tasks first so that no long fit is left running alone at the end; results
    /// never depend on it. The MLPs give their multiply-adds per row and epoch times
    /// `max_iter`; the default `None` keeps the candidate order.
    fn cost_hint(&self, _n_features: usize) -> Option<f64> {
        None
    }
    /// Everything about this estimator's settings that changes its results, for the
    /// fingerprint of a search journal (a journal written with other settings is refused).
    /// The MLPs describe their whole configuration but the training observer and
    /// `n_threads`, which do not change results; the default is empty, so a custom
    /// estimator whose settings are not all in the searched candidates should override it.
    fn describe(&self) -> String {
        String::new()
    }
    /// Epochs (or iterations) a fitted model has trained in all, when the estimator counts
    /// them. Successive-halving searches add these up as their cost.
    fn epochs_trained(&self, _model: &Self::Model) -> Option<usize> {
        None
    }
    /// The estimator's exact warm continuation, if it has one (opt in by implementing
    /// [`ContinueTraining`] and returning `Some(self)`). Successive-halving searches with
    /// `resource = epochs` then train each (candidate, fold) model further between rounds
    /// instead of retraining it from scratch.
    fn continuation(&self) -> Option<&dyn ContinueTraining<F, T, Self::Model>> {
        None
    }
}

/// Estimators whose fitted models can be trained further **exactly**: `e` epochs then `k`
/// more equals `e + k` epochs in one go (same generator stream, optimizer state, row order
/// and stopping state), on the same rows.
///
/// Implemented by the MLP params for every stochastic fit, on both engines and with early
/// stopping too: a call that restores the best weights keeps the weights (and batch-norm
/// statistics) it ended on, and the next call trains on from those. Not for scikit-learn's
/// L-BFGS, which restarts its memory every call (see [`Estimator::continuation`]).
pub trait ContinueTraining<F, T, M>: Send + Sync {
    /// Trains `model` (fitted on exactly these rows) `epochs` more epochs; a
    /// [`finished`](Self::finished) model comes back unchanged.
    fn continue_xy(
        &self,
        model: &M,
        x: ArrayView2<F>,
        y: ArrayView1<T>,
        epochs: usize,
    ) -> Result<M>;
    /// Whether training already stopped by itself (stopping rule or observer): a one-go run
    /// with more epochs would have stopped at the same point, so the model is final.
    fn finished(&self, model: &M) -> bool;
    /// [`continue_xy`](Self::continue_xy) on the rows `rows` of `(x, y)` (the rows the model
    /// was fitted on). The default continues on a copy of the rows; the MLPs gather through
    /// the row list.
    fn continue_rows(
        &self,
        model: &M,
        x: ArrayView2<F>,
        y: ArrayView1<T>,
        rows: &[usize],
        epochs: usize,
    ) -> Result<M>
    where
        F: Clone,
        T: Clone,
    {
        check_rows(x.nrows(), rows)?;
        self.continue_xy(
            model,
            x.select(Axis(0), rows).view(),
            y.select(Axis(0), rows).view(),
            epochs,
        )
    }
}

/// Row indices past the data are an error of the splitter, not a panic.
pub(crate) fn check_rows(n: usize, rows: &[usize]) -> Result<()> {
    match rows.iter().find(|&&r| r >= n) {
        Some(r) => Err(MlpTuneError::InvalidInput(format!(
            "row {r} is out of range for records with {n} rows"
        ))),
        None => Ok(()),
    }
}

/// Any linfa estimator: params implementing `Fit` whose model implements `PredictInplace`.
/// `E` is the error type of its `Fit` (linfa params may implement `Fit` for several).
///
/// ```
/// use mlp_tune::model_selection::{cross_val_score, KFold, LinfaEstimator, Scorer};
/// use linfa_linear::{LinearError, LinearRegression};
/// let data = mlp_tune::datasets::diabetes();
/// let model = LinfaEstimator::<_, LinearError<f64>>::regressor(LinearRegression::new());
/// let scores = cross_val_score(&model, &data, &KFold::new(5), &Scorer::from_name("r2").unwrap()).unwrap();
/// assert_eq!(scores.len(), 5);
/// ```
pub struct LinfaEstimator<P, E> {
    params: P,
    classifier: bool,
    error: PhantomData<fn() -> E>,
}

impl<P: Clone, E> Clone for LinfaEstimator<P, E> {
    fn clone(&self) -> Self {
        LinfaEstimator {
            params: self.params.clone(),
            classifier: self.classifier,
            error: PhantomData,
        }
    }
}

impl<P: std::fmt::Debug, E> std::fmt::Debug for LinfaEstimator<P, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinfaEstimator")
            .field("params", &self.params)
            .field("classifier", &self.classifier)
            .finish()
    }
}

impl<P, E> LinfaEstimator<P, E> {
    /// Wraps regression params.
    pub fn regressor(params: P) -> Self {
        LinfaEstimator {
            params,
            classifier: false,
            error: PhantomData,
        }
    }

    /// Wraps classification params (stratified folds by default).
    pub fn classifier(params: P) -> Self {
        LinfaEstimator {
            params,
            classifier: true,
            error: PhantomData,
        }
    }

    /// The wrapped params.
    pub fn params(&self) -> &P {
        &self.params
    }
}

impl<F, T, P, E> Estimator<F, T> for LinfaEstimator<P, E>
where
    F: Float,
    T: Clone + Default + Send + Sync,
    P: Fit<Array2<F>, Array1<T>, E> + Send + Sync,
    P::Object: PredictInplace<Array2<F>, Array1<T>> + Send + Sync,
    E: std::error::Error + From<linfa::Error> + Send + Sync + 'static,
{
    type Model = P::Object;

    fn fit_xy(&self, x: ArrayView2<F>, y: ArrayView1<T>) -> Result<Self::Model> {
        let dataset = DatasetBase::new(x.to_owned(), y.to_owned());
        self.params
            .fit(&dataset)
            .map_err(|e| MlpTuneError::fit("", e))
    }

    fn predict_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Result<Array1<T>> {
        let x = x.to_owned();
        let mut y = model.default_target(&x);
        model.predict_inplace(&x, &mut y);
        Ok(y)
    }

    fn is_classifier(&self) -> bool {
        self.classifier
    }
}

/// A linfa transformer (e.g. linfa-preprocessing's standard scaler) fitted inside each fold
/// before the estimator, so no statistics leak from validation rows. `SE` is the error type
/// of the transformer's `Fit`.
///
/// ```
/// use linfa_preprocessing::{linear_scaling::LinearScaler, PreprocessingError};
/// use mlp_tune::model_selection::{cross_val_score, KFold, Pipeline, Scorer};
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
/// use linfa::prelude::*;
/// let data = mlp_tune::datasets::diabetes();
/// let mlp = MLPRegressor::<f64>::params().solver(Solver::Lbfgs).max_iter(20).random_state(0).check().unwrap();
/// let pipe = Pipeline::<_, _, PreprocessingError>::new(LinearScaler::standard(), mlp);
/// let scores = cross_val_score(&pipe, &data, &KFold::new(3), &Scorer::from_name("r2").unwrap()).unwrap();
/// assert_eq!(scores.len(), 3);
/// ```
pub struct Pipeline<S, E, SE> {
    /// The transformer's params.
    pub transformer: S,
    /// The final estimator.
    pub estimator: E,
    error: PhantomData<fn() -> SE>,
}

impl<S: Clone, E: Clone, SE> Clone for Pipeline<S, E, SE> {
    fn clone(&self) -> Self {
        Pipeline::new(self.transformer.clone(), self.estimator.clone())
    }
}

impl<S: std::fmt::Debug, E: std::fmt::Debug, SE> std::fmt::Debug for Pipeline<S, E, SE> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("transformer", &self.transformer)
            .field("estimator", &self.estimator)
            .finish()
    }
}

impl<S, E, SE> Pipeline<S, E, SE> {
    /// `make_pipeline(transformer, estimator)`.
    pub fn new(transformer: S, estimator: E) -> Self {
        Pipeline {
            transformer,
            estimator,
            error: PhantomData,
        }
    }
}

/// A fitted [`Pipeline`].
#[derive(Debug, Clone)]
pub struct FittedPipeline<S, M> {
    /// The fitted transformer.
    pub transformer: S,
    /// The fitted final model.
    pub model: M,
}

impl<F, T, S, SE, E> Estimator<F, T> for Pipeline<S, E, SE>
where
    F: Float,
    T: Send + Sync,
    S: Fit<Array2<F>, Array1<F>, SE> + Send + Sync,
    S::Object: Transformer<Array2<F>, Array2<F>> + Send + Sync,
    SE: std::error::Error + From<linfa::Error> + Send + Sync + 'static,
    E: Estimator<F, T>,
{
    type Model = FittedPipeline<S::Object, E::Model>;

    fn fit_xy(&self, x: ArrayView2<F>, y: ArrayView1<T>) -> Result<Self::Model> {
        let dummy = Array1::zeros(x.nrows());
        let transformer = self
            .transformer
            .fit(&DatasetBase::new(x.to_owned(), dummy))
            .map_err(|e| MlpTuneError::fit("the pipeline's transformer", e))?;
        let xt = transformer.transform(x.to_owned());
        let model = self.estimator.fit_xy(xt.view(), y)?;
        Ok(FittedPipeline { transformer, model })
    }

    fn predict_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Result<Array1<T>> {
        let xt = model.transformer.transform(x.to_owned());
        self.estimator.predict_xy(&model.model, xt.view())
    }

    fn predict_proba_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Option<Result<Array2<F>>> {
        let xt = model.transformer.transform(x.to_owned());
        self.estimator.predict_proba_xy(&model.model, xt.view())
    }

    fn is_classifier(&self) -> bool {
        self.estimator.is_classifier()
    }

    fn describe(&self) -> String {
        format!("Pipeline({})", self.estimator.describe())
    }

    fn cost_hint(&self, n_features: usize) -> Option<f64> {
        self.estimator.cost_hint(n_features)
    }

    fn epochs_trained(&self, model: &Self::Model) -> Option<usize> {
        self.estimator.epochs_trained(&model.model)
    }
}
