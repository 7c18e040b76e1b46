//! Scorers (scikit-learn's `metrics/_scorer.py`): named metrics turned "greater is better".
//!
//! Regressors report negated errors (`neg_mean_squared_error`, ...), so every search
//! maximizes. **Default scoring** here is `neg_mean_squared_error` for regressors (the
//! mission of this crate; scikit-learn's default is `r2`) and `accuracy` for classifiers.

use std::fmt;
use std::sync::Arc;

use linfa::Float;
use ndarray::{ArrayView1, ArrayView2, Axis};

use crate::error::{MlpTuneError, Result};
use crate::metrics::{self, Average};

/// A user metric on `(y_true, y_pred)`, greater is better.
pub type CustomScoreFn<T> = Arc<dyn Fn(ArrayView1<T>, ArrayView1<T>) -> f64 + Send + Sync>;

/// One scorer, by scikit-learn name or custom.
#[derive(Clone)]
pub enum Scorer<T> {
    /// A built-in metric.
    Named(ScorerKind),
    /// A closure with a name for the results table.
    Custom {
        /// Column name in `cv_results`.
        name: String,
        /// The metric.
        func: CustomScoreFn<T>,
    },
}

impl<T> fmt::Debug for Scorer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scorer({})", self.name())
    }
}

/// The built-in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScorerKind {
    /// `neg_mean_squared_error`
    NegMeanSquaredError,
    /// `neg_root_mean_squared_error`
    NegRootMeanSquaredError,
    /// `neg_mean_absolute_error`
    NegMeanAbsoluteError,
    /// `neg_median_absolute_error`
    NegMedianAbsoluteError,
    /// `neg_max_error`
    NegMaxError,
    /// `r2`
    R2,
    /// `explained_variance`
    ExplainedVariance,
    /// `accuracy`
    Accuracy,
    /// `balanced_accuracy`
    BalancedAccuracy,
    /// `f1`, `f1_macro`, `f1_micro`, `f1_weighted`
    F1(AverageKind),
    /// `precision`, `precision_*`
    Precision(AverageKind),
    /// `recall`, `recall_*`
    Recall(AverageKind),
    /// `neg_log_loss` (needs probabilities)
    NegLogLoss,
    /// `roc_auc` (binary; needs probabilities)
    RocAuc,
}

/// Averaging of the per-class scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AverageKind {
    /// Positive class = the larger of two labels.
    Binary,
    /// Unweighted mean over classes.
    Macro,
    /// Global counts.
    Micro,
    /// Mean weighted by support.
    Weighted,
}

const NAMES: &[(&str, ScorerKind)] = &[
    ("neg_mean_squared_error", ScorerKind::NegMeanSquaredError),
    (
        "neg_root_mean_squared_error",
        ScorerKind::NegRootMeanSquaredError,
    ),
    ("neg_mean_absolute_error", ScorerKind::NegMeanAbsoluteError),
    (
        "neg_median_absolute_error",
        ScorerKind::NegMedianAbsoluteError,
    ),
    ("neg_max_error", ScorerKind::NegMaxError),
    ("r2", ScorerKind::R2),
    ("explained_variance", ScorerKind::ExplainedVariance),
    ("accuracy", ScorerKind::Accuracy),
    ("balanced_accuracy", ScorerKind::BalancedAccuracy),
    ("f1", ScorerKind::F1(AverageKind::Binary)),
    ("f1_macro", ScorerKind::F1(AverageKind::Macro)),
    ("f1_micro", ScorerKind::F1(AverageKind::Micro)),
    ("f1_weighted", ScorerKind::F1(AverageKind::Weighted)),
    ("precision", ScorerKind::Precision(AverageKind::Binary)),
    ("precision_macro", ScorerKind::Precision(AverageKind::Macro)),
    ("precision_micro", ScorerKind::Precision(AverageKind::Micro)),
    (
        "precision_weighted",
        ScorerKind::Precision(AverageKind::Weighted),
    ),
    ("recall", ScorerKind::Recall(AverageKind::Binary)),
    ("recall_macro", ScorerKind::Recall(AverageKind::Macro)),
    ("recall_micro", ScorerKind::Recall(AverageKind::Micro)),
    ("recall_weighted", ScorerKind::Recall(AverageKind::Weighted)),
    ("neg_log_loss", ScorerKind::NegLogLoss),
    ("roc_auc", ScorerKind::RocAuc),
];

impl ScorerKind {
    /// The scikit-learn name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// Whether the scorer needs `predict_proba`.
    pub fn needs_proba(self) -> bool {
        matches!(self, ScorerKind::NegLogLoss | ScorerKind::RocAuc)
    }

    fn is_regression(self) -> bool {
        matches!(
            self,
            ScorerKind::NegMeanSquaredError
                | ScorerKind::NegRootMeanSquaredError
                | ScorerKind::NegMeanAbsoluteError
                | ScorerKind::NegMedianAbsoluteError
                | ScorerKind::NegMaxError
                | ScorerKind::R2
                | ScorerKind::ExplainedVariance
        )
    }
}

impl<T> Scorer<T> {
    /// A scorer by scikit-learn name.
    ///
    /// ```
    /// use mlp_tune::model_selection::scoring::Scorer;
    /// assert!(Scorer::<f64>::from_name("neg_mean_squared_error").is_ok());
    /// assert!(Scorer::<f64>::from_name("mse").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Self> {
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| Scorer::Named(*k))
            .ok_or_else(|| {
                let valid: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                MlpTuneError::Scoring(format!(
                    "unknown scorer `{name}`; valid: {}",
                    valid.join(", ")
                ))
            })
    }

    /// A custom scorer from a closure (greater is better).
    pub fn custom(
        name: &str,
        func: impl Fn(ArrayView1<T>, ArrayView1<T>) -> f64 + Send + Sync + 'static,
    ) -> Self {
        Scorer::Custom {
            name: name.to_string(),
            func: Arc::new(func),
        }
    }

    /// The column name in results.
    pub fn name(&self) -> String {
        match self {
            Scorer::Named(k) => k.name().to_string(),
            Scorer::Custom { name, .. } => name.clone(),
        }
    }

    /// Whether the scorer needs probabilities.
    pub fn needs_proba(&self) -> bool {
        matches!(self, Scorer::Named(k) if k.needs_proba())
    }
}

/// Target types a scorer can evaluate: floats (regression) and labels (classification).
pub trait ScoreTarget: Clone + Send + Sync + std::fmt::Debug + 'static {
    /// Scores predictions. `classes` are the sorted distinct labels of the whole dataset
    /// (classification); `proba` has one column per class in that order.
    fn score<F: Float>(
        scorer: &Scorer<Self>,
        y_true: ArrayView1<Self>,
        y_pred: ArrayView1<Self>,
        proba: Option<ArrayView2<F>>,
        classes: &[Self],
    ) -> Result<f64>;

    /// The sorted distinct values (classes) of a target vector; empty for regression.
    fn classes_of(y: ArrayView1<Self>) -> Vec<Self>;

    /// Whether these targets are class labels.
    fn is_label() -> bool;
}

macro_rules! impl_regression_target {
    ($t:ty) => {
        impl ScoreTarget for $t {
            fn score<F: Float>(
                scorer: &Scorer<Self>,
                y_true: ArrayView1<Self>,
                y_pred: ArrayView1<Self>,
                _proba: Option<ArrayView2<F>>,
                _classes: &[Self],
            ) -> Result<f64> {
                let kind = match scorer {
                    Scorer::Custom { func, .. } => return Ok(func(y_true, y_pred)),
                    Scorer::Named(k) => *k,
                };
                if !kind.is_regression() {
                    return Err(MlpTuneError::Scoring(format!(
                        "`{}` is a classification scorer; the targets are real numbers",
                        kind.name()
                    )));
                }
                let t = y_true.insert_axis(Axis(1));
                let p = y_pred.insert_axis(Axis(1));
                Ok(match kind {
                    ScorerKind::NegMeanSquaredError => -metrics::mean_squared_error(t, p)?,
                    ScorerKind::NegRootMeanSquaredError => -metrics::root_mean_squared_error(t, p)?,
                    ScorerKind::NegMeanAbsoluteError => -metrics::mean_absolute_error(t, p)?,
                    ScorerKind::NegMedianAbsoluteError => -metrics::median_absolute_error(t, p)?,
                    ScorerKind::NegMaxError => -metrics::max_error(t, p)?,
                    ScorerKind::R2 => metrics::r2_score(t, p)?,
                    _ => metrics::explained_variance_score(t, p)?,
                })
            }

            fn classes_of(_y: ArrayView1<Self>) -> Vec<Self> {
                Vec::new()
            }

            fn is_label() -> bool {
                false
            }
        }
    };
}
impl_regression_target!(f64);
impl_regression_target!(f32);

fn encode<L: PartialEq + Ord>(labels: ArrayView1<L>, classes: &[L]) -> Result<Vec<usize>> {
    labels
        .iter()
        .map(|l| {
            classes.binary_search(l).map_err(|_| {
                MlpTuneError::Scoring("a label is not among the dataset's classes".into())
            })
        })
        .collect()
}

macro_rules! impl_label_target {
    ($t:ty) => {
        impl ScoreTarget for $t {
            fn score<F: Float>(
                scorer: &Scorer<Self>,
                y_true: ArrayView1<Self>,
                y_pred: ArrayView1<Self>,
                proba: Option<ArrayView2<F>>,
                classes: &[Self],
            ) -> Result<f64> {
                let kind = match scorer {
                    Scorer::Custom { func, .. } => return Ok(func(y_true, y_pred)),
                    Scorer::Named(k) => *k,
                };
                if kind.is_regression() {
                    return Err(MlpTuneError::Scoring(format!(
                        "`{}` is a regression scorer; the targets are class labels",
                        kind.name()
                    )));
                }
                let n_classes = classes.len();
                let t = encode(y_true, classes)?;
                if kind.needs_proba() {
                    let proba = proba.ok_or_else(|| {
                        MlpTuneError::Scoring(format!(
                            "`{}` needs predicted probabilities and this estimator has none",
                            kind.name()
                        ))
                    })?;
                    return Ok(match kind {
                        ScorerKind::NegLogLoss => -metrics::log_loss(&t, proba)?,
                        _ => {
                            if proba.ncols() != 2 {
                                return Err(MlpTuneError::Scoring(
                                    "roc_auc here is for binary problems".into(),
                                ));
                            }
                            metrics::roc_auc_score(&t, proba.column(1))?
                        }
                    });
                }
                let p = encode(y_pred, classes)?;
                let avg = |a: AverageKind| match a {
                    AverageKind::Binary => Average::Binary {
                        pos_label: n_classes.saturating_sub(1),
                    },
                    AverageKind::Macro => Average::Macro,
                    AverageKind::Micro => Average::Micro,
                    AverageKind::Weighted => Average::Weighted,
                };
                Ok(match kind {
                    ScorerKind::Accuracy => metrics::accuracy_score(&t, &p, n_classes)?,
                    ScorerKind::BalancedAccuracy => {
                        metrics::balanced_accuracy_score(&t, &p, n_classes)?
                    }
                    ScorerKind::F1(a) => metrics::f1_score(&t, &p, n_classes, avg(a))?,
                    ScorerKind::Precision(a) => {
                        metrics::precision_score(&t, &p, n_classes, avg(a))?
                    }
                    _ => match kind {
                        ScorerKind::Recall(a) => metrics::recall_score(&t, &p, n_classes, avg(a))?,
                        _ => unreachable_scorer(kind)?,
                    },
                })
            }

            fn classes_of(y: ArrayView1<Self>) -> Vec<Self> {
                let mut c: Vec<Self> = y.iter().cloned().collect();
                c.sort();
                c.dedup();
                c
            }

            fn is_label() -> bool {
                true
            }
        }
    };
}

fn unreachable_scorer(kind: ScorerKind) -> Result<f64> {
    Err(MlpTuneError::Scoring(format!(
        "scorer `{}` is not available for labels",
        kind.name()
    )))
}

impl_label_target!(usize);
impl_label_target!(bool);
impl_label_target!(String);
impl_label_target!(&'static str);
