//! The MLPs as search citizens: [`Estimator`] (fit and predict on rows, cost hint,
//! fingerprint) and [`ContinueTraining`] (exact warm continuation between halving rounds)
//! for the regressor and the classifier params, beside the estimators they describe.

use linfa::dataset::DatasetBase;
use linfa::prelude::Fit;
use linfa::Float;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::general::needs_layer_engine;
use super::params::{MlpConfig, Solver};
use super::train::Start;
use super::{MLPClassifier, MLPClassifierValidParams, MLPRegressor, MLPRegressorValidParams};
use crate::error::Result;
use crate::model_selection::param_space::candidate_to_json;
use crate::model_selection::{ContinueTraining, Estimator};

/// Multiply-adds per row and epoch of an MLP (forward and backward are proportional to
/// them) plus a per-layer share for the elementwise passes, times the epoch bound.
fn mlp_cost(config: &MlpConfig, n_features: usize) -> f64 {
    let mut units = vec![n_features];
    units.extend_from_slice(&config.hidden_layer_sizes);
    units.push(1);
    let per_row: usize = units.windows(2).map(|w| w[0] * w[1] + 8 * w[1]).sum();
    per_row as f64 * config.max_iter.max(1) as f64
}

/// Whether a fitted MLP can be trained further with the same result as one longer fit:
/// every stochastic fit (both engines keep the weights, running statistics, optimizer,
/// generator and stopping state a restore of the best weights replaced), not scikit-learn's
/// lbfgs (its line-search state is not kept).
fn mlp_continues(config: &MlpConfig) -> bool {
    config.solver != Solver::Lbfgs || needs_layer_engine(config)
}

impl<F: Float> Estimator<F, F> for MLPRegressorValidParams<F> {
    type Model = MLPRegressor<F>;

    fn fit_xy(&self, x: ArrayView2<F>, y: ArrayView1<F>) -> Result<Self::Model> {
        self.fit(&DatasetBase::new(x, y))
    }

    fn predict_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Result<Array1<F>> {
        model.try_predict(&x)
    }

    fn fit_rows(&self, x: ArrayView2<F>, y: ArrayView1<F>, rows: &[usize]) -> Result<Self::Model> {
        self.fit_rows_start(x, y, rows, Start::Fresh)
    }

    fn predict_rows(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
        rows: &[usize],
    ) -> Result<Array1<F>> {
        model.predict_rows(x, rows)
    }

    fn is_classifier(&self) -> bool {
        false
    }

    fn cost_hint(&self, n_features: usize) -> Option<f64> {
        Some(mlp_cost(self.config(), n_features))
    }

    fn describe(&self) -> String {
        format!(
            "MLPRegressor loss={} {}",
            self.loss().name(),
            candidate_to_json(&self.config().get_params())
        )
    }

    fn epochs_trained(&self, model: &Self::Model) -> Option<usize> {
        Some(model.n_iter())
    }

    fn continuation(&self) -> Option<&dyn ContinueTraining<F, F, Self::Model>> {
        mlp_continues(self.config()).then_some(self as _)
    }
}

impl<F: Float> ContinueTraining<F, F, MLPRegressor<F>> for MLPRegressorValidParams<F> {
    fn continue_xy(
        &self,
        model: &MLPRegressor<F>,
        x: ArrayView2<F>,
        y: ArrayView1<F>,
        epochs: usize,
    ) -> Result<MLPRegressor<F>> {
        if model.stopped_early() {
            return Ok(model.clone());
        }
        model.continue_training(&DatasetBase::new(x, y), epochs)
    }

    fn finished(&self, model: &MLPRegressor<F>) -> bool {
        model.stopped_early()
    }

    fn continue_rows(
        &self,
        model: &MLPRegressor<F>,
        x: ArrayView2<F>,
        y: ArrayView1<F>,
        rows: &[usize],
        epochs: usize,
    ) -> Result<MLPRegressor<F>> {
        if model.stopped_early() {
            return Ok(model.clone());
        }
        model.continue_training_rows(x, y, rows, epochs)
    }
}

impl<F: Float, L: linfa::Label + Send + Sync> Estimator<F, L> for MLPClassifierValidParams<F> {
    type Model = MLPClassifier<F, L>;

    fn fit_xy(&self, x: ArrayView2<F>, y: ArrayView1<L>) -> Result<Self::Model> {
        self.fit(&DatasetBase::new(x, y))
    }

    fn predict_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Result<Array1<L>> {
        model.try_predict(&x)
    }

    fn predict_proba_xy(&self, model: &Self::Model, x: ArrayView2<F>) -> Option<Result<Array2<F>>> {
        Some(model.predict_proba(&x))
    }

    fn fit_rows(&self, x: ArrayView2<F>, y: ArrayView1<L>, rows: &[usize]) -> Result<Self::Model> {
        self.fit_rows_start(x, y, rows, None, Start::Fresh)
    }

    fn predict_rows(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
        rows: &[usize],
    ) -> Result<Array1<L>> {
        model.predict_rows(x, rows)
    }

    fn predict_proba_rows(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
        rows: &[usize],
    ) -> Option<Result<Array2<F>>> {
        Some(model.predict_proba_rows(x, rows))
    }

    fn is_classifier(&self) -> bool {
        true
    }

    fn cost_hint(&self, n_features: usize) -> Option<f64> {
        Some(mlp_cost(self.config(), n_features))
    }

    fn describe(&self) -> String {
        format!(
            "MLPClassifier {}",
            candidate_to_json(&self.config().get_params())
        )
    }

    fn epochs_trained(&self, model: &Self::Model) -> Option<usize> {
        Some(model.n_iter())
    }

    fn continuation(&self) -> Option<&dyn ContinueTraining<F, L, Self::Model>> {
        mlp_continues(self.config()).then_some(self as _)
    }
}

impl<F: Float, L: linfa::Label + Send + Sync> ContinueTraining<F, L, MLPClassifier<F, L>>
    for MLPClassifierValidParams<F>
{
    fn continue_xy(
        &self,
        model: &MLPClassifier<F, L>,
        x: ArrayView2<F>,
        y: ArrayView1<L>,
        epochs: usize,
    ) -> Result<MLPClassifier<F, L>> {
        if model.stopped_early() {
            return Ok(model.clone());
        }
        model.continue_training(&DatasetBase::new(x, y), epochs)
    }

    fn finished(&self, model: &MLPClassifier<F, L>) -> bool {
        model.stopped_early()
    }

    fn continue_rows(
        &self,
        model: &MLPClassifier<F, L>,
        x: ArrayView2<F>,
        y: ArrayView1<L>,
        rows: &[usize],
        epochs: usize,
    ) -> Result<MLPClassifier<F, L>> {
        if model.stopped_early() {
            return Ok(model.clone());
        }
        model.continue_training_rows(x, y, rows, epochs)
    }
}
