//! `MLPClassifier`: a multi-layer perceptron trained on the log-loss, logistic output for two
//! classes and softmax for more.

use std::marker::PhantomData;

use linfa::dataset::{AsSingleTargets, DatasetBase, Label};
use linfa::prelude::{Fit, FitWith, ParamGuard, PredictInplace};
use linfa::Float;
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, ArrayView2, Data, Ix1, Ix2};

use super::base::OutActivation;
use super::params::MlpConfig;
use super::train::{argmax, train_rows, Rows, Start, Task, Trained};
use super::{check_record_rows, check_records, impl_config_setters, impl_fitted_accessors};
use crate::error::{MlpTuneError, Result};
use crate::model_selection::param_space::{ParamValue, SetParams};

/// Checked hyperparameters of [`MLPClassifier`]; `Fit` lives here. Loading them (with a
/// saved model too) checks them again, as `ParamGuard::check` does.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MLPClassifierValidParams<F> {
    pub(super) config: MlpConfig,
    #[cfg_attr(feature = "serde", serde(skip))]
    marker: PhantomData<F>,
}

/// Unchecked hyperparameters of [`MLPClassifier`] (a builder); `check()` validates them.
///
/// ```
/// use linfa::prelude::*;
/// use mlp_tune::neural_network::MLPClassifier;
/// use ndarray::array;
///
/// let x = array![[0.0, 0.0], [0.1, 0.2], [1.0, 1.0], [0.9, 1.1]];
/// let y = array!["low", "low", "high", "high"];
/// let model = MLPClassifier::params()
///     .hidden_layer_sizes(&[4])
///     .max_iter(500)
///     .random_state(0)
///     .fit(&Dataset::new(x.clone(), y))
///     .unwrap();
/// assert_eq!(model.classes(), &["high", "low"]);
/// let proba = model.predict_proba(&x).unwrap();
/// assert_eq!(proba.dim(), (4, 2));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MLPClassifierParams<F>(pub(super) MLPClassifierValidParams<F>);

/// The fields both forms of the classifier's hyperparameters are saved as.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct ClassifierFields {
    config: MlpConfig,
}

#[cfg(feature = "serde")]
impl<F> From<ClassifierFields> for MLPClassifierValidParams<F> {
    fn from(fields: ClassifierFields) -> Self {
        MLPClassifierValidParams {
            config: fields.config,
            marker: PhantomData,
        }
    }
}

#[cfg(feature = "serde")]
impl<'de, F> serde::Deserialize<'de> for MLPClassifierValidParams<F> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let fields = ClassifierFields::deserialize(d)?;
        fields.config.validate().map_err(serde::de::Error::custom)?;
        Ok(fields.into())
    }
}

/// Unchecked, as built: `check()` validates them.
#[cfg(feature = "serde")]
impl<'de, F> serde::Deserialize<'de> for MLPClassifierParams<F> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(MLPClassifierParams(
            ClassifierFields::deserialize(d)?.into(),
        ))
    }
}

impl<F> Default for MLPClassifierParams<F> {
    fn default() -> Self {
        MLPClassifierParams(MLPClassifierValidParams {
            config: MlpConfig::default(),
            marker: PhantomData,
        })
    }
}

impl<F> MLPClassifierParams<F> {
    /// scikit-learn's defaults.
    pub fn new() -> Self {
        Self::default()
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

impl_config_setters!(MLPClassifierParams);

impl<F> MLPClassifierValidParams<F> {
    /// The hyperparameters.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }
}

impl<F> ParamGuard for MLPClassifierParams<F> {
    type Checked = MLPClassifierValidParams<F>;
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

impl<F> SetParams for MLPClassifierParams<F> {
    fn param_names(&self) -> Vec<&'static str> {
        super::MLP_PARAM_NAMES.to_vec()
    }

    fn get_params(&self) -> crate::model_selection::param_space::Candidate {
        self.0.config.get_params()
    }

    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()> {
        self.0.config.set_param(name, value)
    }
}

/// A fitted multi-layer perceptron classifier over labels of type `L`.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(bound(
        serialize = "F: serde::Serialize, L: serde::Serialize",
        deserialize = "F: serde::de::DeserializeOwned, L: serde::de::DeserializeOwned"
    ))
)]
pub struct MLPClassifier<F, L> {
    trained: Trained<F>,
    classes: Vec<L>,
    params: MLPClassifierValidParams<F>,
}

impl<F: Float> MLPClassifier<F, usize> {
    /// Default hyperparameters (scikit-learn's), to be adjusted with the builder's setters.
    /// The label type comes from the dataset at fit time.
    pub fn params() -> MLPClassifierParams<F> {
        MLPClassifierParams::default()
    }
}

impl<F: Float, L: Label> MLPClassifier<F, L> {
    /// `classes_`: the labels, sorted; probability columns follow this order.
    pub fn classes(&self) -> &[L] {
        &self.classes
    }

    /// The hyperparameters this model was fitted with.
    pub fn fitted_params(&self) -> &MLPClassifierValidParams<F> {
        &self.params
    }

    /// Class probabilities, `(n_samples, n_classes)`, columns in [`classes`](Self::classes)
    /// order.
    pub fn predict_proba<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array2<F>> {
        check_records(&x.view(), Some(self.n_features_in()))?;
        self.check_classes()?;
        Ok(self.proba_of(self.trained.predict(x.view())))
    }

    /// Whether the labels fit the output layer (one unit for two classes, else one per
    /// class). A fitted model always does; a saved one edited by hand may not, and would
    /// otherwise look up a label that is not there.
    fn check_classes(&self) -> Result<()> {
        let units = self.trained.layout.layer_units.last().copied().unwrap_or(0);
        if self.classes.len() < 2 || units != output_units(self.classes.len()) {
            return Err(MlpTuneError::InvalidInput(format!(
                "the model's {} classes do not fit its {units} output units",
                self.classes.len()
            )));
        }
        Ok(())
    }

    fn proba_of(&self, p: Array2<F>) -> Array2<F> {
        if self.trained.out == OutActivation::Logistic && self.classes.len() == 2 {
            let mut both = Array2::zeros((p.nrows(), 2));
            for (i, &v) in p.column(0).iter().enumerate() {
                both[[i, 0]] = F::one() - v;
                both[[i, 1]] = v;
            }
            both
        } else {
            p
        }
    }

    /// [`predict_proba`](Self::predict_proba) of the rows `rows` of `x`, bitwise that of a
    /// copy of them.
    pub(crate) fn predict_proba_rows(&self, x: ArrayView2<F>, rows: &[usize]) -> Result<Array2<F>> {
        check_record_rows(&x, rows, Some(self.n_features_in()))?;
        self.check_classes()?;
        Ok(self.proba_of(self.trained.predict_rows(x, rows)))
    }

    /// [`try_predict`](Self::try_predict) of the rows `rows` of `x`, bitwise that of a copy
    /// of them.
    pub(crate) fn predict_rows(&self, x: ArrayView2<F>, rows: &[usize]) -> Result<Array1<L>> {
        check_record_rows(&x, rows, Some(self.n_features_in()))?;
        self.check_classes()?;
        let p = self.trained.predict_rows(x, rows);
        Ok(Self::ids_of(&p)
            .into_iter()
            .map(|c| self.classes[c].clone())
            .collect())
    }

    fn ids_of(p: &Array2<F>) -> Vec<usize> {
        let half = F::from(0.5).unwrap_or_else(F::zero);
        p.rows()
            .into_iter()
            .map(|row| {
                if row.len() == 1 {
                    usize::from(row[0] > half)
                } else {
                    argmax(row.iter().copied())
                }
            })
            .collect()
    }

    /// [`continue_training`](Self::continue_training) on the rows `rows` of `(x, y)`.
    pub(crate) fn continue_training_rows(
        &self,
        x: ArrayView2<F>,
        y: ArrayView1<L>,
        rows: &[usize],
        epochs: usize,
    ) -> Result<Self> {
        let mut params = self.params.clone();
        params.config.max_iter = params.config.max_iter.max(epochs);
        params.fit_rows_start(
            x,
            y,
            rows,
            Some(&self.classes),
            Start::Continue(self.trained.clone(), epochs),
        )
    }

    /// Natural logarithm of [`predict_proba`](Self::predict_proba).
    pub fn predict_log_proba<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array2<F>> {
        Ok(self.predict_proba(x)?.mapv(|v| v.ln()))
    }

    /// Class ids (indices into [`classes`](Self::classes)) of the predictions.
    pub fn predict_class_ids<D: Data<Elem = F>>(
        &self,
        x: &ArrayBase<D, Ix2>,
    ) -> Result<Vec<usize>> {
        check_records(&x.view(), Some(self.n_features_in()))?;
        self.check_classes()?;
        Ok(Self::ids_of(&self.trained.predict(x.view())))
    }

    /// Predicted labels, with a typed error on bad input.
    pub fn try_predict<D: Data<Elem = F>>(&self, x: &ArrayBase<D, Ix2>) -> Result<Array1<L>> {
        Ok(self
            .predict_class_ids(x)?
            .into_iter()
            .map(|c| self.classes[c].clone())
            .collect())
    }

    /// Mean accuracy on `(x, y)` (scikit-learn's `score`). `y` holds the true labels,
    /// owned or a view; a length that differs from the number of rows is an
    /// [`InvalidInput`](MlpTuneError::InvalidInput) error.
    pub fn score<D: Data<Elem = F>, S: Data<Elem = L>>(
        &self,
        x: &ArrayBase<D, Ix2>,
        y: &ArrayBase<S, Ix1>,
    ) -> Result<f64> {
        let p = self.try_predict(x)?;
        if p.len() != y.len() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but labels have {}",
                p.len(),
                y.len()
            )));
        }
        let correct = p.iter().zip(y.iter()).filter(|(a, b)| a == b).count();
        Ok(correct as f64 / y.len().max(1) as f64)
    }

    /// Trains `epochs` more epochs exactly as if the original fit had run longer (same data).
    pub fn continue_training<D: Data<Elem = F>, T: AsSingleTargets<Elem = L>>(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        epochs: usize,
    ) -> Result<Self> {
        let mut params = self.params.clone();
        params.config.max_iter = params.config.max_iter.max(epochs);
        params.fit_start(
            dataset,
            Some(&self.classes),
            None,
            Start::Continue(self.trained.clone(), epochs),
        )
    }
}

impl_fitted_accessors!(MLPClassifier, L);

/// Output units for `n_classes` labels: one logistic unit for two, else one per class.
fn output_units(n_classes: usize) -> usize {
    if n_classes == 2 {
        1
    } else {
        n_classes
    }
}

/// Encodes labels as sorted class ids and the float target matrix scikit-learn trains on
/// (one 0/1 column for two classes, one-hot for more).
fn binarize<F: Float, L: Label>(
    labels: ArrayView1<L>,
    known: Option<&[L]>,
) -> Result<(Vec<L>, Vec<usize>, Array2<F>)> {
    binarize_iter(labels.iter(), known)
}

/// [`binarize`] of labels given in order by an iterator (a fold's rows of shared labels).
fn binarize_iter<'l, F: Float, L: Label + 'l>(
    labels: impl ExactSizeIterator<Item = &'l L> + Clone,
    known: Option<&[L]>,
) -> Result<(Vec<L>, Vec<usize>, Array2<F>)> {
    let classes: Vec<L> = match known {
        Some(k) => k.to_vec(),
        None => {
            let mut c: Vec<L> = labels.clone().cloned().collect();
            c.sort();
            c.dedup();
            c
        }
    };
    if classes.len() < 2 {
        return Err(MlpTuneError::InvalidInput(format!(
            "a classifier needs at least 2 classes, got {}",
            classes.len()
        )));
    }
    let mut ids = Vec::with_capacity(labels.len());
    for label in labels {
        match classes.binary_search(label) {
            Ok(i) => ids.push(i),
            Err(_) => {
                return Err(MlpTuneError::InvalidInput(format!(
                    "label {label:?} was not seen in the first call; known classes: {classes:?}"
                )))
            }
        }
    }
    let width = output_units(classes.len());
    let mut y = Array2::zeros((ids.len(), width));
    for (row, &c) in ids.iter().enumerate() {
        if width == 1 {
            y[[row, 0]] = if c == 1 { F::one() } else { F::zero() };
        } else {
            y[[row, c]] = F::one();
        }
    }
    Ok((classes, ids, y))
}

impl<F: Float> MLPClassifierValidParams<F> {
    fn fit_start<L: Label, D: Data<Elem = F>, T: AsSingleTargets<Elem = L>>(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        known_classes: Option<&[L]>,
        validation: Option<(ArrayView2<F>, ArrayView1<L>)>,
        start: Start<F>,
    ) -> Result<MLPClassifier<F, L>> {
        let x = dataset.records.view();
        check_records(&x, None)?;
        let labels = dataset.as_single_targets();
        if labels.len() != x.nrows() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but targets have {}",
                x.nrows(),
                labels.len()
            )));
        }
        let (classes, ids, y) = binarize::<F, L>(labels.view(), known_classes)?;
        let out = if classes.len() == 2 {
            OutActivation::Logistic
        } else {
            OutActivation::Softmax
        };
        let held_out = match validation {
            Some((xv, yv)) => {
                check_records(&xv, Some(x.ncols()))?;
                if xv.nrows() != yv.len() {
                    return Err(MlpTuneError::InvalidInput(
                        "validation records and labels differ in length".into(),
                    ));
                }
                let (_, _, yv) = binarize::<F, L>(yv, Some(&classes))?;
                Some((xv, yv))
            }
            None => None,
        };
        let trained = train_rows(
            &self.config,
            Task {
                out,
                classifier: true,
            },
            x,
            y.view(),
            Rows::default(),
            Some(&ids),
            held_out.as_ref().map(|(xv, yv)| (xv.view(), yv.view())),
            start,
        )?;
        Ok(MLPClassifier {
            trained,
            classes,
            params: self.clone(),
        })
    }

    /// Fits on the rows `rows` of `(x, labels)` without copying the records: the batches
    /// are gathered through the row list, and only the rows' labels are encoded (as a copy
    /// would be). Bitwise the same model as fitting a copy of the rows.
    pub(crate) fn fit_rows_start<L: Label>(
        &self,
        x: ArrayView2<F>,
        labels: ArrayView1<L>,
        rows: &[usize],
        known_classes: Option<&[L]>,
        start: Start<F>,
    ) -> Result<MLPClassifier<F, L>> {
        check_record_rows(&x, rows, None)?;
        if labels.len() != x.nrows() {
            return Err(MlpTuneError::InvalidInput(format!(
                "records have {} rows but targets have {}",
                x.nrows(),
                labels.len()
            )));
        }
        let (classes, ids, y) =
            binarize_iter::<F, L>(rows.iter().map(|&r| &labels[r]), known_classes)?;
        let out = if classes.len() == 2 {
            OutActivation::Logistic
        } else {
            OutActivation::Softmax
        };
        let trained = train_rows(
            &self.config,
            Task {
                out,
                classifier: true,
            },
            x,
            y.view(),
            Rows {
                x: Some(rows),
                y: None,
            },
            Some(&ids),
            None,
            start,
        )?;
        Ok(MLPClassifier {
            trained,
            classes,
            params: self.clone(),
        })
    }

    /// Fits with an explicit validation set (instead of `validation_fraction`): its accuracy
    /// and loss are recorded every epoch, and early stopping (when on) watches it.
    pub fn fit_with_validation<
        L: Label,
        D: Data<Elem = F>,
        T: AsSingleTargets<Elem = L>,
        D2: Data<Elem = F>,
        T2: AsSingleTargets<Elem = L>,
    >(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
        validation: &DatasetBase<ArrayBase<D2, Ix2>, T2>,
    ) -> Result<MLPClassifier<F, L>> {
        let yv = validation.as_single_targets();
        self.fit_start(
            dataset,
            None,
            Some((validation.records.view(), yv.view())),
            Start::Fresh,
        )
    }

    /// scikit-learn's `warm_start=True` refit from `previous`'s weights (a plain `fit` when
    /// `warm_start` is false).
    pub fn fit_from<L: Label, D: Data<Elem = F>, T: AsSingleTargets<Elem = L>>(
        &self,
        previous: MLPClassifier<F, L>,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<MLPClassifier<F, L>> {
        if self.config.warm_start {
            let classes = previous.classes.clone();
            self.fit_start(
                dataset,
                Some(&classes),
                None,
                Start::WarmStart(previous.trained),
            )
        } else {
            self.fit_start(dataset, None, None, Start::Fresh)
        }
    }
}

impl<F: Float, L: Label, D: Data<Elem = F>, T: AsSingleTargets<Elem = L>>
    Fit<ArrayBase<D, Ix2>, T, MlpTuneError> for MLPClassifierValidParams<F>
{
    type Object = MLPClassifier<F, L>;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<MLPClassifier<F, L>> {
        self.fit_start(dataset, None, None, Start::Fresh)
    }
}

/// scikit-learn's `partial_fit`: one epoch per call. The first call (`None`) fixes the
/// classes; a later call with a label outside them is an error.
impl<'a, F: Float, L: Label + 'a, D: Data<Elem = F>, T: AsSingleTargets<Elem = L>>
    FitWith<'a, ArrayBase<D, Ix2>, T, MlpTuneError> for MLPClassifierValidParams<F>
{
    type ObjectIn = Option<MLPClassifier<F, L>>;
    type ObjectOut = MLPClassifier<F, L>;

    fn fit_with(
        &self,
        model: Self::ObjectIn,
        dataset: &'a DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<MLPClassifier<F, L>> {
        match model {
            Some(m) => {
                let classes = m.classes.clone();
                self.fit_start(
                    dataset,
                    Some(&classes),
                    None,
                    Start::Partial(Some(m.trained)),
                )
            }
            None => self.fit_start(dataset, None, None, Start::Partial(None)),
        }
    }
}

/// Predicts labels. A wrong number of features cannot be reported through this trait, so the
/// targets are left at their default; use [`MLPClassifier::try_predict`] for a typed error.
impl<F: Float, L: Label, D: Data<Elem = F>> PredictInplace<ArrayBase<D, Ix2>, Array1<L>>
    for MLPClassifier<F, L>
{
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<L>) {
        if let Ok(p) = self.try_predict(x) {
            if p.len() == y.len() {
                y.assign(&p);
            }
        }
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<L> {
        Array1::from_elem(x.nrows(), L::default())
    }
}
