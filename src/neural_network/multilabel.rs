//! Multilabel classification: scikit-learn's `MLPClassifier` fitted on a 2-D indicator
//! matrix. One logistic output per label, trained on the summed binary log-loss; a label is
//! predicted when its probability exceeds one half.
//!
//! linfa's single-target `Fit` on [`MLPClassifierValidParams`] cannot also accept 2-D targets
//! (the impls would overlap), so the multilabel estimator is reached through
//! [`MLPClassifierValidParams::multilabel`], which takes the same hyperparameters.

use linfa::dataset::DatasetBase;
use linfa::prelude::{Fit, PredictInplace};
use linfa::Float;
use ndarray::{Array2, ArrayBase, ArrayView2, Data, Ix2};

use super::base::OutActivation;
use super::classifier::MLPClassifierValidParams;
use super::train::{accuracy_from_outputs, train, Start, Task, Trained};
use super::{check_records, impl_fitted_accessors};
use crate::error::{MlpTuneError, Result};

/// Checked hyperparameters of a multilabel [`MLPMultilabelClassifier`]: the classifier's,
/// with `Fit` over `(records, Array2<bool>)` datasets.
///
/// ```
/// use linfa::prelude::*;
/// use mlp_tune::neural_network::MLPClassifier;
/// use ndarray::array;
///
/// let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
/// // label 0 = "first feature on", label 1 = "second feature on"
/// let y = array![[false, false], [false, true], [true, false], [true, true]];
/// let model = MLPClassifier::params()
///     .hidden_layer_sizes(&[8])
///     .solver(mlp_tune::neural_network::Solver::Lbfgs)
///     .random_state(1)
///     .check()
///     .unwrap()
///     .multilabel()
///     .fit(&Dataset::new(x.clone(), y.clone()))
///     .unwrap();
/// assert_eq!(model.try_predict(&x).unwrap(), y);
/// assert_eq!(model.predict_proba(&x).unwrap().dim(), (4, 2));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MLPMultilabelParams<F>(MLPClassifierValidParams<F>);

impl<F> MLPClassifierValidParams<F> {
    /// The same hyperparameters for a multilabel (2-D boolean) target.
    pub fn multilabel(&self) -> MLPMultilabelParams<F>
    where
        F: Clone,
    {
        MLPMultilabelParams(self.clone())
    }
}

impl<F> MLPMultilabelParams<F> {
    /// The classifier hyperparameters this wraps.
    pub fn classifier_params(&self) -> &MLPClassifierValidParams<F> {
        &self.0
    }

    /// The configuration shared by every MLP.
    pub fn config(&self) -> &super::MlpConfig {
        self.0.config()
    }
}

/// A fitted multilabel perceptron: `n_outputs` independent logistic outputs sharing the
/// hidden layers.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "F: serde::Serialize",
        deserialize = "F: serde::de::DeserializeOwned"
    ))
)]
pub struct MLPMultilabelClassifier<F> {
    trained: Trained<F>,
    params: MLPMultilabelParams<F>,
}

fn indicator_to_float<F: Float, S: Data<Elem = bool>>(y: &ArrayBase<S, Ix2>) -> Array2<F> {
    y.mapv(|b| if b { F::one() } else { F::zero() })
}

impl<F: Float> MLPMultilabelParams<F> {
    fn fit_start<S: Data<Elem = bool>>(
        &self,
        x: ArrayView2<F>,
        y: &ArrayBase<S, Ix2>,
        start: Start<F>,
    ) -> Result<MLPMultilabelClassifier<F>> {
        check_records(&x, None)?;
        if y.nrows() != x.nrows() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but targets have {}",
                x.nrows(),
                y.nrows()
            )));
        }
        if y.ncols() == 0 {
            return Err(MlpTuneError::InvalidInput(
                "a multilabel target needs at least one label column".into(),
            ));
        }
        let y = indicator_to_float::<F, S>(y);
        let trained = train(
            self.0.config(),
            Task {
                out: OutActivation::Logistic,
                classifier: true,
            },
            x,
            y.view(),
            // scikit-learn does not stratify the early-stopping split of multilabel targets.
            None,
            None,
            start,
        )?;
        Ok(MLPMultilabelClassifier {
            trained,
            params: self.clone(),
        })
    }
}

impl<F: Float, D: Data<Elem = F>, S: Data<Elem = bool>>
    Fit<ArrayBase<D, Ix2>, ArrayBase<S, Ix2>, MlpTuneError> for MLPMultilabelParams<F>
{
    type Object = MLPMultilabelClassifier<F>;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, ArrayBase<S, Ix2>>,
    ) -> Result<MLPMultilabelClassifier<F>> {
        self.fit_start(dataset.records.view(), &dataset.targets, Start::Fresh)
    }
}

impl<F: Float> MLPMultilabelClassifier<F> {
    /// The hyperparameters this model was fitted with.
    pub fn fitted_params(&self) -> &MLPMultilabelParams<F> {
        &self.params
    }

    /// Per-label probabilities, `(n_samples, n_labels)`.
    pub fn predict_proba<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array2<F>> {
        check_records(&x.view(), Some(self.n_features_in()))?;
        Ok(self.trained.predict(x.view()))
    }

    /// Predicted indicator matrix (probability above one half), with a typed error on bad
    /// input.
    pub fn try_predict<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array2<bool>> {
        let half = F::from(0.5).unwrap_or_else(F::zero);
        Ok(self.predict_proba(x)?.mapv(|p| p > half))
    }

    /// Subset accuracy (every label of a row right), scikit-learn's `score` for multilabel.
    pub fn score<D: Data<Elem = F>, S: Data<Elem = bool>>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &ArrayBase<S, Ix2>,
    ) -> Result<f64> {
        let p = self.predict_proba(x)?;
        if p.dim() != y.dim() {
            return Err(MlpTuneError::InvalidInput(format!(
                "predictions are {:?} but targets are {:?}",
                p.dim(),
                y.dim()
            )));
        }
        let y = indicator_to_float::<F, S>(y);
        Ok(accuracy_from_outputs(
            y.view(),
            p.view(),
            OutActivation::Logistic,
        ))
    }

    /// Trains `epochs` more epochs exactly as if the original fit had run longer (same data).
    pub fn continue_training<D: Data<Elem = F>, S: Data<Elem = bool>>(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, ArrayBase<S, Ix2>>,
        epochs: usize,
    ) -> Result<Self> {
        let mut params = self.params.clone();
        params.0.config.max_iter = params.0.config.max_iter.max(epochs);
        params.fit_start(
            dataset.records.view(),
            &dataset.targets,
            Start::Continue(self.trained.clone(), epochs),
        )
    }
}

impl_fitted_accessors!(MLPMultilabelClassifier);

/// Predicts the indicator matrix. A wrong number of features cannot be reported through this
/// trait, so the targets are left at `false`; use [`MLPMultilabelClassifier::try_predict`] for
/// a typed error.
impl<F: Float, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array2<bool>>
    for MLPMultilabelClassifier<F>
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array2<bool>) {
        if let Ok(p) = self.try_predict(x) {
            if p.dim() == y.dim() {
                y.assign(&p);
            }
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array2<bool> {
        Array2::from_elem((x.nrows(), self.n_outputs()), false)
    }
}
