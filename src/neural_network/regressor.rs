//! `MLPRegressor`: a multi-layer perceptron trained on the squared error (or Poisson loss).

use std::marker::PhantomData;

use linfa::dataset::{AsTargets, DatasetBase};
use linfa::prelude::{Fit, FitWith, ParamGuard, PredictInplace};
use linfa::Float;
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, ArrayView2, Axis, Data, Dimension, Ix2};

use super::base::OutActivation;
use super::params::MlpConfig;
use super::train::{r2_uniform, train, train_rows, Rows, Start, Task, Trained};
use super::{check_record_rows, check_records, impl_config_setters, impl_fitted_accessors};
use crate::error::{invalid_param, MlpTuneError, Result};
use crate::model_selection::param_space::{ParamValue, SetParams};

/// The regression loss (scikit-learn's `loss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RegressionLoss {
    /// Half squared error, `0.5 · mean((y - ŷ)²)`, identity output (default).
    #[default]
    SquaredError,
    /// Poisson deviance up to a constant, `mean(ŷ - y·ln ŷ)`, exponential output; targets ≥ 0.
    Poisson,
}

impl RegressionLoss {
    /// The scikit-learn name (`squared_error`, `poisson`).
    pub fn name(self) -> &'static str {
        match self {
            RegressionLoss::SquaredError => "squared_error",
            RegressionLoss::Poisson => "poisson",
        }
    }
}

/// Checked hyperparameters of [`MLPRegressor`]; `Fit` lives here. Loading them (with a
/// saved model too) checks them again, as `ParamGuard::check` does.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MLPRegressorValidParams<F> {
    pub(super) config: MlpConfig,
    loss: RegressionLoss,
    #[cfg_attr(feature = "serde", serde(skip))]
    marker: PhantomData<F>,
}

/// Unchecked hyperparameters of [`MLPRegressor`] (a builder); `check()` validates them.
///
/// ```
/// use linfa::prelude::*;
/// use mlp_tune::neural_network::{MLPRegressor, Solver};
/// use ndarray::Array;
///
/// let x = Array::linspace(-1.0, 1.0, 40).into_shape_with_order((20, 2)).unwrap();
/// let y = x.column(0).mapv(|v| 2.0 * v) + &x.column(1);
/// let model = MLPRegressor::params()
///     .hidden_layer_sizes(&[8])
///     .solver(Solver::Lbfgs)
///     .random_state(0)
///     .fit(&Dataset::new(x.clone(), y))
///     .unwrap();
/// let prediction: ndarray::Array1<f64> = model.predict(&x);
/// assert_eq!(prediction.len(), 20);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MLPRegressorParams<F>(pub(super) MLPRegressorValidParams<F>);

/// The fields both forms of the regressor's hyperparameters are saved as.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct RegressorFields {
    config: MlpConfig,
    loss: RegressionLoss,
}

#[cfg(feature = "serde")]
impl<F> From<RegressorFields> for MLPRegressorValidParams<F> {
    fn from(fields: RegressorFields) -> Self {
        MLPRegressorValidParams {
            config: fields.config,
            loss: fields.loss,
            marker: PhantomData,
        }
    }
}

#[cfg(feature = "serde")]
impl<'de, F> serde::Deserialize<'de> for MLPRegressorValidParams<F> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let fields = RegressorFields::deserialize(d)?;
        fields.config.validate().map_err(serde::de::Error::custom)?;
        Ok(fields.into())
    }
}

/// Unchecked, as built: `check()` validates them.
#[cfg(feature = "serde")]
impl<'de, F> serde::Deserialize<'de> for MLPRegressorParams<F> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(MLPRegressorParams(RegressorFields::deserialize(d)?.into()))
    }
}

impl<F> Default for MLPRegressorParams<F> {
    fn default() -> Self {
        MLPRegressorParams(MLPRegressorValidParams {
            config: MlpConfig::default(),
            loss: RegressionLoss::SquaredError,
            marker: PhantomData,
        })
    }
}

impl<F> MLPRegressorParams<F> {
    /// scikit-learn's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The regression loss (default squared error).
    pub fn loss(mut self, loss: RegressionLoss) -> Self {
        self.0.loss = loss;
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: MlpConfig) -> Self {
        self.0.config = config;
        self
    }

    /// The configuration as set so far.
    pub fn current_config(&self) -> &MlpConfig {
        &self.0.config
    }
}

impl_config_setters!(MLPRegressorParams);

impl<F> MLPRegressorValidParams<F> {
    /// The hyperparameters.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The regression loss.
    pub fn loss(&self) -> RegressionLoss {
        self.loss
    }
}

impl<F> ParamGuard for MLPRegressorParams<F> {
    type Checked = MLPRegressorValidParams<F>;
    type Error = MlpTuneError;

    fn check_ref(&self) -> Result<&Self::Checked> {
        self.0.config.validate()?;
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl<F> SetParams for MLPRegressorParams<F> {
    fn param_names(&self) -> Vec<&'static str> {
        let mut names = super::MLP_PARAM_NAMES.to_vec();
        names.push("loss");
        names.sort_unstable();
        names
    }

    fn get_params(&self) -> crate::model_selection::param_space::Candidate {
        let mut params = self.0.config.get_params();
        params.insert("loss".into(), ParamValue::Str(self.0.loss.name().into()));
        params
    }

    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()> {
        if name == "loss" {
            self.0.loss = match value.as_str(name)? {
                "squared_error" => RegressionLoss::SquaredError,
                "poisson" => RegressionLoss::Poisson,
                other => {
                    return Err(invalid_param(
                        name,
                        format!("unknown loss `{other}`; valid: squared_error, poisson"),
                    ))
                }
            };
            return Ok(());
        }
        self.0.config.set_param(name, value).map_err(|e| match e {
            MlpTuneError::SearchSpace(_) => MlpTuneError::SearchSpace(format!(
                "unknown parameter `{name}`; valid names: {}",
                self.param_names().join(", ")
            )),
            other => other,
        })
    }
}

/// A fitted multi-layer perceptron regressor.
///
/// Learned state mirrors scikit-learn's attributes: [`coefs`](Self::coefs),
/// [`intercepts`](Self::intercepts), [`loss`](Self::loss), [`loss_curve`](Self::loss_curve),
/// [`n_iter`](Self::n_iter), ...
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "F: serde::Serialize",
        deserialize = "F: serde::de::DeserializeOwned"
    ))
)]
pub struct MLPRegressor<F> {
    trained: Trained<F>,
    params: MLPRegressorValidParams<F>,
}

impl<F: Float> MLPRegressor<F> {
    /// Default hyperparameters (scikit-learn's), to be adjusted with the builder's setters.
    pub fn params() -> MLPRegressorParams<F> {
        MLPRegressorParams::default()
    }

    /// The hyperparameters this model was fitted with.
    pub fn fitted_params(&self) -> &MLPRegressorValidParams<F> {
        &self.params
    }

    /// Predictions for every output, `(n_samples, n_outputs)`.
    pub fn predict_outputs<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array2<F>> {
        check_records(&x.view(), Some(self.n_features_in()))?;
        Ok(self.trained.predict(x.view()))
    }

    /// Predictions of the first (usually only) output, with a typed error on bad input.
    pub fn try_predict<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array1<F>> {
        Ok(self.predict_outputs(x)?.column(0).to_owned())
    }

    /// Coefficient of determination R² of the predictions (scikit-learn's `score`), averaged
    /// over the outputs.
    ///
    /// `y` holds the true targets, owned or a view: one value per row (1-D) or one column
    /// per output (2-D). Targets whose shape does not match the predictions are an
    /// [`InvalidInput`](MlpTuneError::InvalidInput) error; with fewer than two rows R² is
    /// undefined and the score is NaN, as in scikit-learn.
    ///
    /// ```
    /// use linfa::prelude::*;
    /// use mlp_tune::neural_network::{MLPRegressor, Solver};
    /// let data = mlp_tune::datasets::diabetes();
    /// let model = MLPRegressor::params().hidden_layer_sizes(&[5]).solver(Solver::Lbfgs)
    ///     .max_iter(5).random_state(0).fit(&data)?;
    /// let r2 = model.score(data.records(), data.targets())?;       // 1-D targets, by reference
    /// let column = data.targets().view().insert_axis(ndarray::Axis(1));
    /// assert_eq!(r2, model.score(data.records(), &column)?);          // the same as a column
    /// assert!(model.score(data.records(), &data.targets().slice(ndarray::s![..5])).is_err());
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    pub fn score<D: Data<Elem = F>, S: Data<Elem = F>, E: Dimension>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &ArrayBase<S, E>,
    ) -> Result<f64> {
        let y = match y.ndim() {
            1 => y.view().into_shape_with_order((y.len(), 1)),
            2 => y.view().into_dimensionality::<Ix2>(),
            n => {
                return Err(MlpTuneError::InvalidInput(format!(
                    "targets must be 1-D or 2-D, got {n} dimensions"
                )))
            }
        }
        .map_err(|e| MlpTuneError::InvalidInput(format!("targets: {e}")))?;
        let p = self.predict_outputs(x)?;
        if y.dim() != p.dim() {
            return Err(MlpTuneError::InvalidInput(format!(
                "targets have shape {:?} but the predictions have shape {:?} \
                 (rows, outputs)",
                y.dim(),
                p.dim()
            )));
        }
        Ok(r2_uniform(y, p.view()))
    }

    /// Trains `epochs` more epochs exactly as if the original fit had run longer (same
    /// generator stream, optimizer state, row order and stopping state) on the same data.
    pub fn continue_training<D: Data<Elem = F>, T: AsTargets<Elem = F>>(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        epochs: usize,
    ) -> Result<Self> {
        let mut params = self.params.clone();
        params.config.max_iter = params.config.max_iter.max(epochs);
        params.fit_start(dataset, None, Start::Continue(self.trained.clone(), epochs))
    }
}

impl<F: Float> MLPRegressor<F> {
    /// First-output predictions for the rows `rows` of `x`, bitwise those of predicting a
    /// copy of them.
    pub(crate) fn predict_rows(&self, x: ArrayView2<F>, rows: &[usize]) -> Result<Array1<F>> {
        check_record_rows(&x, rows, Some(self.n_features_in()))?;
        Ok(self.trained.predict_rows(x, rows).column(0).to_owned())
    }

    /// [`continue_training`](Self::continue_training) on the rows `rows` of `(x, y)`.
    pub(crate) fn continue_training_rows(
        &self,
        x: ArrayView2<F>,
        y: ArrayView1<F>,
        rows: &[usize],
        epochs: usize,
    ) -> Result<Self> {
        let mut params = self.params.clone();
        params.config.max_iter = params.config.max_iter.max(epochs);
        params.fit_rows_start(x, y, rows, Start::Continue(self.trained.clone(), epochs))
    }
}

impl_fitted_accessors!(MLPRegressor);

impl<F: Float> MLPRegressorValidParams<F> {
    fn task(&self) -> Task {
        Task {
            out: match self.loss {
                RegressionLoss::SquaredError => OutActivation::Identity,
                RegressionLoss::Poisson => OutActivation::Exp,
            },
            classifier: false,
        }
    }

    fn fit_start<'v, D: Data<Elem = F>, T: AsTargets<Elem = F>>(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        validation: Option<(ArrayView2<'v, F>, ArrayView2<'v, F>)>,
        start: Start<F>,
    ) -> Result<MLPRegressor<F>> {
        let x = dataset.records.view();
        let y = targets_2d(dataset)?;
        check_records(&x, None)?;
        check_targets(&x, &y.view(), self.loss)?;
        if let Some((xv, yv)) = &validation {
            check_records(xv, Some(x.ncols()))?;
            check_targets(xv, yv, self.loss)?;
            if yv.ncols() != y.ncols() {
                return Err(MlpTuneError::InvalidInput(format!(
                    "validation targets have {} outputs, training targets {}",
                    yv.ncols(),
                    y.ncols()
                )));
            }
        }
        let trained = train(
            &self.config,
            self.task(),
            x,
            y.view(),
            None,
            validation,
            start,
        )?;
        Ok(MLPRegressor {
            trained,
            params: self.clone(),
        })
    }

    /// Fits on the rows `rows` of `(x, y)` without copying them: the batches are gathered
    /// through the row list. Bitwise the same model as fitting a copy of the rows.
    pub(crate) fn fit_rows_start(
        &self,
        x: ArrayView2<F>,
        y: ArrayView1<F>,
        rows: &[usize],
        start: Start<F>,
    ) -> Result<MLPRegressor<F>> {
        check_record_rows(&x, rows, None)?;
        if y.len() != x.nrows() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but targets have {}",
                x.nrows(),
                y.len()
            )));
        }
        if rows.iter().any(|&r| !y[r].is_finite()) {
            return Err(MlpTuneError::InvalidInput(
                "targets contain NaN or infinity".into(),
            ));
        }
        if self.loss == RegressionLoss::Poisson && rows.iter().any(|&r| y[r] < F::zero()) {
            return Err(MlpTuneError::InvalidInput(
                "the poisson loss needs non-negative targets".into(),
            ));
        }
        let trained = train_rows(
            &self.config,
            self.task(),
            x,
            y.insert_axis(Axis(1)),
            Rows {
                x: Some(rows),
                y: Some(rows),
            },
            None,
            None,
            start,
        )?;
        Ok(MLPRegressor {
            trained,
            params: self.clone(),
        })
    }

    /// Fits with an explicit validation set (instead of `validation_fraction`): its R² and
    /// loss are recorded every epoch, and early stopping (when on) watches it.
    pub fn fit_with_validation<
        D: Data<Elem = F>,
        T: AsTargets<Elem = F>,
        D2: Data<Elem = F>,
        T2: AsTargets<Elem = F>,
    >(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        validation: &DatasetBase<ArrayBase<D2, Ix2>, T2>,
    ) -> Result<MLPRegressor<F>> {
        let yv = targets_2d(validation)?;
        self.fit_start(
            dataset,
            Some((validation.records.view(), yv.view())),
            Start::Fresh,
        )
    }

    /// scikit-learn's `warm_start=True` refit: starts from `previous`'s weights (no new
    /// initialization) and trains up to `max_iter` more epochs with a fresh optimizer.
    /// With `warm_start = false` this is a plain `fit`.
    pub fn fit_from<D: Data<Elem = F>, T: AsTargets<Elem = F>>(
        &self,
        previous: MLPRegressor<F>,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<MLPRegressor<F>> {
        if self.config.warm_start {
            self.fit_start(dataset, None, Start::WarmStart(previous.trained))
        } else {
            self.fit_start(dataset, None, Start::Fresh)
        }
    }
}

fn targets_2d<F: Float, R: linfa::dataset::Records, T: AsTargets<Elem = F>>(
    dataset: &DatasetBase<R, T>,
) -> Result<Array2<F>> {
    let t = dataset.as_targets();
    let n = t.shape().first().copied().unwrap_or(0);
    let k = t.len().checked_div(n).unwrap_or(1);
    let flat: Vec<F> = t.iter().copied().collect();
    Array2::from_shape_vec((n, k), flat)
        .map_err(|e| MlpTuneError::InvalidInput(format!("targets: {e}")))
}

fn check_targets<F: Float>(
    x: &ArrayView2<F>,
    y: &ArrayView2<F>,
    loss: RegressionLoss,
) -> Result<()> {
    if y.nrows() != x.nrows() {
        return Err(MlpTuneError::InvalidInput(format!(
            "records have {} rows but targets have {}",
            x.nrows(),
            y.nrows()
        )));
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(MlpTuneError::InvalidInput(
            "targets contain NaN or infinity".into(),
        ));
    }
    if loss == RegressionLoss::Poisson && y.iter().any(|&v| v < F::zero()) {
        return Err(MlpTuneError::InvalidInput(
            "the poisson loss needs non-negative targets".into(),
        ));
    }
    Ok(())
}

impl<F: Float, D: Data<Elem = F>, T: AsTargets<Elem = F>> Fit<ArrayBase<D, Ix2>, T, MlpTuneError>
    for MLPRegressorValidParams<F>
{
    type Object = MLPRegressor<F>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<MLPRegressor<F>> {
        self.fit_start(dataset, None, Start::Fresh)
    }
}

/// scikit-learn's `partial_fit`: one epoch per call; `None` initializes a new model.
impl<'a, F: Float, D: Data<Elem = F>, T: AsTargets<Elem = F>>
    FitWith<'a, ArrayBase<D, Ix2>, T, MlpTuneError> for MLPRegressorValidParams<F>
{
    type ObjectIn = Option<MLPRegressor<F>>;
    type ObjectOut = MLPRegressor<F>;

    fn fit_with(
        &self,
        model: Self::ObjectIn,
        dataset: &'a DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<MLPRegressor<F>> {
        self.fit_start(dataset, None, Start::Partial(model.map(|m| m.trained)))
    }
}

/// Predicts the first output. Rows with the wrong number of features cannot be reported
/// here (the trait returns nothing), so the predictions are NaN; use
/// [`MLPRegressor::try_predict`] for a typed error.
impl<F: Float, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array1<F>> for MLPRegressor<F> {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<F>) {
        match self.try_predict(x) {
            Ok(p) if p.len() == y.len() => y.assign(&p),
            _ => y.fill(F::nan()),
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<F> {
        Array1::zeros(x.nrows())
    }
}
