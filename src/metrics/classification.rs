//! Classification metrics over class indices `0..n_classes` (sorted label order).

use super::*;

/// How per-class precision, recall and F1 are combined, as scikit-learn's `average`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// Only the scores of class `pos_label`; an error if more than two classes are present
    /// in `y_true ∪ y_pred`.
    Binary {
        /// Encoded index of the positive class.
        pos_label: usize,
    },
    /// Unweighted mean over the classes present in `y_true ∪ y_pred`.
    Macro,
    /// Global counts of true positives, false positives and false negatives.
    Micro,
    /// Mean over the classes present in `y_true ∪ y_pred`, weighted by their support in
    /// `y_true`.
    Weighted,
}

pub(super) fn check_labels(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<()> {
    if y_true.len() != y_pred.len() {
        return Err(invalid(format!(
            "y_true has {} samples but y_pred has {}",
            y_true.len(),
            y_pred.len()
        )));
    }
    if y_true.is_empty() {
        return Err(invalid("empty input: no samples"));
    }
    for (name, labels) in [("y_true", y_true), ("y_pred", y_pred)] {
        if let Some(&bad) = labels.iter().find(|&&l| l >= n_classes) {
            return Err(invalid(format!(
                "{name} contains class index {bad} but n_classes is {n_classes}"
            )));
        }
    }
    Ok(())
}

/// Confusion matrix, scikit-learn's `confusion_matrix` with `labels=range(n_classes)`.
///
/// Entry `(i, j)` counts the samples of true class `i` predicted as class `j`.
///
/// ```
/// use mlp_tune::metrics::confusion_matrix;
/// use ndarray::array;
/// let cm = confusion_matrix(&[2, 0, 2, 2, 0, 1], &[0, 0, 2, 2, 0, 2], 3).unwrap();
/// assert_eq!(cm, array![[2, 0, 0], [0, 0, 1], [1, 0, 2]]);
/// ```
pub fn confusion_matrix(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<Array2<usize>> {
    check_labels(y_true, y_pred, n_classes)?;
    let mut cm = Array2::zeros((n_classes, n_classes));
    for (&t, &p) in y_true.iter().zip(y_pred) {
        cm[[t, p]] += 1;
    }
    Ok(cm)
}

/// Accuracy, scikit-learn's `accuracy_score`: the fraction of samples with `ŷ_i = y_i`.
///
/// ```
/// use mlp_tune::metrics::accuracy_score;
/// let acc = accuracy_score(&[0, 1, 2, 3], &[0, 2, 1, 3], 4).unwrap();
/// assert_eq!(acc, 0.5);
/// ```
pub fn accuracy_score(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<f64> {
    check_labels(y_true, y_pred, n_classes)?;
    let correct = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / y_true.len() as f64)
}

/// Balanced accuracy, scikit-learn's `balanced_accuracy_score` (not adjusted).
///
/// `mean_c ( C[c, c] / Σ_j C[c, j] )` over the classes `c` present in `y_true`: classes only
/// predicted are ignored, as scikit-learn does after its warning.
///
/// ```
/// use mlp_tune::metrics::balanced_accuracy_score;
/// let bacc = balanced_accuracy_score(&[0, 1, 0, 0, 1, 0], &[0, 1, 0, 0, 0, 1], 2).unwrap();
/// assert!((bacc - 0.625).abs() < 1e-12);
/// ```
pub fn balanced_accuracy_score(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
) -> Result<f64> {
    let cm = confusion_matrix(y_true, y_pred, n_classes)?;
    let recalls: Vec<f64> = (0..n_classes)
        .filter_map(|c| {
            let support: usize = cm.row(c).sum();
            (support > 0).then(|| cm[[c, c]] as f64 / support as f64)
        })
        .collect();
    Ok(mean(&recalls))
}

/// `num / den`, or 0.0 where scikit-learn's `zero_division="warn"` would warn.
pub(super) fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Per-class counts from scikit-learn's `multilabel_confusion_matrix`.
#[derive(Clone, Copy, Default)]
pub(super) struct ClassCounts {
    tp: usize,
    pred: usize,
    truth: usize,
}

impl ClassCounts {
    fn precision(&self) -> f64 {
        ratio(self.tp, self.pred)
    }
    fn recall(&self) -> f64 {
        ratio(self.tp, self.truth)
    }
    /// scikit-learn ≥ 1.3 computes F1 from counts, `2tp / (2tp + fp + fn)`, not from P and R.
    fn f1(&self) -> f64 {
        ratio(2 * self.tp, self.truth + self.pred)
    }
}

/// scikit-learn's `precision_recall_fscore_support` reduced to one `(P, R, F1)` triple.
pub(super) fn precision_recall_f1(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<(f64, f64, f64)> {
    let cm = confusion_matrix(y_true, y_pred, n_classes)?;
    let counts: Vec<ClassCounts> = (0..n_classes)
        .map(|c| ClassCounts {
            tp: cm[[c, c]],
            pred: cm.column(c).sum(),
            truth: cm.row(c).sum(),
        })
        .collect();
    // scikit-learn's `unique_labels(y_true, y_pred)`: the label set of every average.
    let present: Vec<usize> = (0..n_classes)
        .filter(|&c| counts[c].pred > 0 || counts[c].truth > 0)
        .collect();
    let summarize = |c: ClassCounts| (c.precision(), c.recall(), c.f1());
    match average {
        Average::Binary { pos_label } => {
            if present.len() > 2 {
                return Err(scoring(
                    "target is multiclass but average is binary; choose macro, micro or weighted",
                ));
            }
            if pos_label >= n_classes {
                return Err(invalid(format!(
                    "pos_label {pos_label} is not below n_classes {n_classes}"
                )));
            }
            // scikit-learn accepts an absent pos_label only when fewer than two classes are
            // present, and then scores it as a class with no samples.
            if !present.contains(&pos_label) && present.len() >= 2 {
                return Err(scoring(format!(
                    "pos_label={pos_label} is not a valid label: it should be one of {present:?}"
                )));
            }
            Ok(summarize(counts[pos_label]))
        }
        Average::Micro => {
            let total = present
                .iter()
                .fold(ClassCounts::default(), |acc, &c| ClassCounts {
                    tp: acc.tp + counts[c].tp,
                    pred: acc.pred + counts[c].pred,
                    truth: acc.truth + counts[c].truth,
                });
            Ok(summarize(total))
        }
        Average::Macro | Average::Weighted => {
            let weight = |c: usize| match average {
                Average::Weighted => counts[c].truth as f64,
                _ => 1.0,
            };
            let total_weight: f64 = present.iter().map(|&c| weight(c)).sum();
            if total_weight == 0.0 {
                return Ok((0.0, 0.0, 0.0));
            }
            let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
            for &c in &present {
                let w = weight(c);
                let (cp, cr, cf) = summarize(counts[c]);
                p += w * cp;
                r += w * cr;
                f += w * cf;
            }
            Ok((p / total_weight, r / total_weight, f / total_weight))
        }
    }
}

/// Precision, scikit-learn's `precision_score`: `tp / (tp + fp)`, averaged as `average`
/// says; 0.0 where no sample is predicted in a class.
///
/// ```
/// use mlp_tune::metrics::{precision_score, Average};
/// let (y_true, y_pred) = ([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]);
/// let p = precision_score(&y_true, &y_pred, 3, Average::Macro).unwrap();
/// assert!((p - 2.0 / 9.0).abs() < 1e-12);
/// ```
pub fn precision_score(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    precision_recall_f1(y_true, y_pred, n_classes, average).map(|(p, _, _)| p)
}

/// Recall, scikit-learn's `recall_score`: `tp / (tp + fn)`, averaged as `average` says;
/// 0.0 for a class with no true sample.
///
/// ```
/// use mlp_tune::metrics::{recall_score, Average};
/// let (y_true, y_pred) = ([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]);
/// let r = recall_score(&y_true, &y_pred, 3, Average::Macro).unwrap();
/// assert!((r - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn recall_score(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    precision_recall_f1(y_true, y_pred, n_classes, average).map(|(_, r, _)| r)
}

/// F1 score, scikit-learn's `f1_score`: `2tp / (2tp + fp + fn)` per class, averaged as
/// `average` says; 0.0 where the denominator is zero.
///
/// ```
/// use mlp_tune::metrics::{f1_score, Average};
/// let (y_true, y_pred) = ([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]);
/// let macro_f1 = f1_score(&y_true, &y_pred, 3, Average::Macro).unwrap();
/// assert!((macro_f1 - 0.26666666666666666).abs() < 1e-12);
/// let micro_f1 = f1_score(&y_true, &y_pred, 3, Average::Micro).unwrap();
/// assert!((micro_f1 - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn f1_score(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    average: Average,
) -> Result<f64> {
    precision_recall_f1(y_true, y_pred, n_classes, average).map(|(_, _, f)| f)
}

// ---------------------------------------------------------------------------------------------
// Probability and ranking metrics
// ---------------------------------------------------------------------------------------------

/// Log loss (cross-entropy), scikit-learn's `log_loss`.
///
/// `-(1/n) Σ_i log(clip(p_{i, y_i}, ε, 1 - ε))` with `ε` the machine epsilon of `F`, as
/// scikit-learn 1.9 (`np.finfo(y_prob.dtype).eps`, no renormalisation of the rows).
/// Column `k` of `proba` is the probability of class `k`; a single column is read as the
/// probability of class 1 of a binary problem. The classes are the columns, as if
/// scikit-learn were given `labels=range(n_columns)`, so `y_true` may miss some classes.
/// Probabilities outside `[0, 1]` are an error, as in scikit-learn 1.9; rows that do not sum
/// to one are accepted (scikit-learn only warns).
///
/// ```
/// use mlp_tune::metrics::log_loss;
/// use ndarray::array;
/// // scikit-learn's ["spam", "ham", "ham", "spam"], with "ham" = 0 and "spam" = 1.
/// let proba = array![[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]];
/// let loss = log_loss(&[1, 0, 0, 1], proba.view()).unwrap();
/// assert!((loss - 0.21616187468057912).abs() < 1e-12);
/// ```
pub fn log_loss<F: Float>(y_true: &[usize], proba: ArrayView2<F>) -> Result<f64> {
    if y_true.len() != proba.nrows() {
        return Err(invalid(format!(
            "y_true has {} samples but proba has {}",
            y_true.len(),
            proba.nrows()
        )));
    }
    if y_true.is_empty() {
        return Err(invalid("empty input: no samples"));
    }
    if proba.ncols() == 0 {
        return Err(invalid("proba has no columns"));
    }
    for &p in proba.iter() {
        let v = finite_f64(p, "proba")?;
        if !(0.0..=1.0).contains(&v) {
            return Err(invalid(format!("proba contains {v}, outside [0, 1]")));
        }
    }
    let n_classes = proba.ncols().max(2);
    if let Some(&bad) = y_true.iter().find(|&&l| l >= n_classes) {
        return Err(invalid(format!(
            "y_true contains class index {bad} but proba has {n_classes} classes"
        )));
    }
    let eps = F::epsilon();
    let upper = F::one() - eps;
    let mut total = 0.0;
    for (row, &label) in proba.axis_iter(Axis(0)).zip(y_true) {
        // The complement is taken in `F`, as numpy builds `1 - y_prob` in the input dtype.
        let p = if proba.ncols() == 1 && label == 0 {
            F::one() - row[0]
        } else if proba.ncols() == 1 {
            row[0]
        } else {
            row[label]
        };
        let clipped = p.max(eps).min(upper);
        total -= finite_f64(clipped, "proba")?.ln();
    }
    Ok(total / y_true.len() as f64)
}

/// Area under the ROC curve of a binary problem, scikit-learn's `roc_auc_score`.
///
/// `AUC = P(score of a positive > score of a negative) + ½ P(tie)`, the Mann–Whitney U
/// statistic with average ranks, which equals scikit-learn's trapezoidal area under
/// `roc_curve`. The pair counts are exact integers, so the result is the correctly rounded
/// AUC (scikit-learn's floating-point trapezoid may differ in the last bits).
/// `y_true` holds 0 (negative) and 1 (positive); a single class is an error.
///
/// ```
/// use mlp_tune::metrics::roc_auc_score;
/// use ndarray::array;
/// let auc = roc_auc_score(&[0, 0, 1, 1], array![0.1, 0.4, 0.35, 0.8].view()).unwrap();
/// assert!((auc - 0.75).abs() < 1e-12);
/// ```
pub fn roc_auc_score<F: Float>(y_true: &[usize], score: ArrayView1<F>) -> Result<f64> {
    if y_true.len() != score.len() {
        return Err(invalid(format!(
            "y_true has {} samples but score has {}",
            y_true.len(),
            score.len()
        )));
    }
    if y_true.is_empty() {
        return Err(invalid("empty input: no samples"));
    }
    if let Some(&bad) = y_true.iter().find(|&&l| l > 1) {
        return Err(invalid(format!(
            "y_true contains class index {bad}; roc_auc_score expects 0 and 1"
        )));
    }
    let mut pairs: Vec<(f64, usize)> = score
        .iter()
        .zip(y_true)
        .map(|(&s, &l)| Ok((finite_f64(s, "score")?, l)))
        .collect::<Result<_>>()?;
    let n_pos = y_true.iter().filter(|&&l| l == 1).count() as u128;
    let n_neg = y_true.len() as u128 - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(scoring(
            "only one class is present in y_true; roc auc score is not defined in that case",
        ));
    }
    pairs.sort_by(|a, b| cmp_finite(&a.0, &b.0));
    // Twice U: each positive counts 2 per lower-scored negative and 1 per tied negative.
    let mut twice_u: u128 = 0;
    let mut negatives_below: u128 = 0;
    let mut start = 0;
    while start < pairs.len() {
        let mut end = start;
        while end < pairs.len() && pairs[end].0 == pairs[start].0 {
            end += 1;
        }
        let group = &pairs[start..end];
        let pos = group.iter().filter(|(_, l)| *l == 1).count() as u128;
        let neg = group.len() as u128 - pos;
        twice_u += pos * (2 * negatives_below + neg);
        negatives_below += neg;
        start = end;
    }
    Ok(twice_u as f64 / (2 * n_pos * n_neg) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn metrics_classification_docstring_values() {
        let (t, p) = ([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]);
        close(
            f1_score(&t, &p, 3, Average::Macro).unwrap(),
            0.26666666666666666,
        );
        close(f1_score(&t, &p, 3, Average::Micro).unwrap(), 1.0 / 3.0);
        close(
            f1_score(&t, &p, 3, Average::Weighted).unwrap(),
            0.26666666666666666,
        );
        close(
            precision_score(&t, &p, 3, Average::Macro).unwrap(),
            2.0 / 9.0,
        );
        close(
            precision_score(&t, &p, 3, Average::Micro).unwrap(),
            1.0 / 3.0,
        );
        close(
            precision_score(&t, &p, 3, Average::Weighted).unwrap(),
            2.0 / 9.0,
        );
        close(recall_score(&t, &p, 3, Average::Macro).unwrap(), 1.0 / 3.0);
        close(recall_score(&t, &p, 3, Average::Micro).unwrap(), 1.0 / 3.0);
        close(
            recall_score(&t, &p, 3, Average::Weighted).unwrap(),
            1.0 / 3.0,
        );
        close(accuracy_score(&t, &p, 3).unwrap(), 1.0 / 3.0);
        close(
            balanced_accuracy_score(&[0, 1, 0, 0, 1, 0], &[0, 1, 0, 0, 0, 1], 2).unwrap(),
            0.625,
        );
        close(
            accuracy_score(&[0, 1, 2, 3], &[0, 2, 1, 3], 4).unwrap(),
            0.5,
        );
        assert_eq!(
            confusion_matrix(&[2, 0, 2, 2, 0, 1], &[0, 0, 2, 2, 0, 2], 3).unwrap(),
            array![[2, 0, 0], [0, 0, 1], [1, 0, 2]]
        );
    }

    #[test]
    fn metrics_binary_average() {
        // tp = 2, fp = 1, fn = 1 for class 1; tp = 1, fp = 1, fn = 1 for class 0.
        let (t, p) = ([0, 1, 1, 0, 1], [0, 1, 1, 1, 0]);
        let pos1 = Average::Binary { pos_label: 1 };
        close(precision_score(&t, &p, 2, pos1).unwrap(), 2.0 / 3.0);
        close(recall_score(&t, &p, 2, pos1).unwrap(), 2.0 / 3.0);
        close(f1_score(&t, &p, 2, pos1).unwrap(), 2.0 / 3.0);
        let pos0 = Average::Binary { pos_label: 0 };
        close(precision_score(&t, &p, 2, pos0).unwrap(), 0.5);
        close(f1_score(&t, &p, 2, pos0).unwrap(), 0.5);
        // Two classes present among three possible: binary still applies.
        let pos2 = Average::Binary { pos_label: 2 };
        close(
            f1_score(&[0, 2, 2], &[0, 2, 0], 3, pos2).unwrap(),
            2.0 / 3.0,
        );
        // Only one class present, pos_label absent: scored as an empty class.
        close(f1_score(&[0, 0], &[0, 0], 2, pos1).unwrap(), 0.0);
        // pos_label absent while two other classes are present.
        assert!(matches!(
            f1_score(&[0, 2], &[0, 2], 3, pos1),
            Err(MlpTuneError::Scoring(_))
        ));
        // More than two classes present in y_true ∪ y_pred.
        assert!(matches!(
            f1_score(&[0, 1, 1], &[0, 1, 2], 3, pos1),
            Err(MlpTuneError::Scoring(_))
        ));
        assert!(matches!(
            f1_score(&t, &p, 2, Average::Binary { pos_label: 2 }),
            Err(MlpTuneError::InvalidInput(_))
        ));
    }

    #[test]
    fn metrics_zero_division_and_label_set() {
        // Class 2 is never predicted and class 1 never true: undefined ratios are 0.0.
        let (t, p) = ([0, 0, 2], [0, 1, 0]);
        // Present labels {0, 1, 2}; precision: 1/2, 0, 0 → 1/6.
        close(
            precision_score(&t, &p, 4, Average::Macro).unwrap(),
            1.0 / 6.0,
        );
        // Recall: 1/2, 0, 0 → 1/6; class 3 is absent everywhere and ignored.
        close(recall_score(&t, &p, 4, Average::Macro).unwrap(), 1.0 / 6.0);
        // F1: 2/(2+2) = 1/2, 0, 0 → 1/6; weighted by support 2, 0, 1 → 1/3.
        close(f1_score(&t, &p, 4, Average::Macro).unwrap(), 1.0 / 6.0);
        close(f1_score(&t, &p, 4, Average::Weighted).unwrap(), 1.0 / 3.0);
        // Balanced accuracy ignores the only-predicted class 1.
        close(balanced_accuracy_score(&t, &p, 4).unwrap(), 0.25);
    }

    #[test]
    fn metrics_classification_errors() {
        let all = [
            Average::Macro,
            Average::Micro,
            Average::Weighted,
            Average::Binary { pos_label: 1 },
        ];
        for (t, p) in [
            (&[][..], &[][..]),
            (&[0, 1][..], &[0][..]),
            (&[0, 5][..], &[0, 1][..]),
            (&[0, 1][..], &[0, 2][..]),
        ] {
            assert!(matches!(
                accuracy_score(t, p, 2),
                Err(MlpTuneError::InvalidInput(_))
            ));
            assert!(matches!(
                balanced_accuracy_score(t, p, 2),
                Err(MlpTuneError::InvalidInput(_))
            ));
            assert!(matches!(
                confusion_matrix(t, p, 2),
                Err(MlpTuneError::InvalidInput(_))
            ));
            for avg in all {
                assert!(precision_score(t, p, 2, avg).is_err());
                assert!(recall_score(t, p, 2, avg).is_err());
                assert!(f1_score(t, p, 2, avg).is_err());
            }
        }
    }

    #[test]
    fn metrics_log_loss_values() {
        let proba = array![[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]];
        close(
            log_loss(&[1, 0, 0, 1], proba.view()).unwrap(),
            0.21616187468057912,
        );
        // One column = P(class 1).
        let p1 = array![[0.9], [0.1], [0.2], [0.65]];
        close(
            log_loss(&[1, 0, 0, 1], p1.view()).unwrap(),
            0.21616187468057912,
        );
        // Exact zeros and ones are clipped to [eps, 1 - eps].
        let hard = array![[1.0, 0.0], [0.0, 1.0]];
        close(
            log_loss(&[0, 0], hard.view()).unwrap(),
            (-(1.0 - f64::EPSILON).ln() - f64::EPSILON.ln()) / 2.0,
        );
        let hard32 = hard.mapv(|v| v as f32);
        let expected32 = (-((1.0 - f32::EPSILON) as f64).ln() - (f32::EPSILON as f64).ln()) / 2.0;
        close(log_loss(&[0, 0], hard32.view()).unwrap(), expected32);
        // f32 probabilities.
        let proba32 = proba.mapv(|v| v as f32);
        let got = log_loss(&[1, 0, 0, 1], proba32.view()).unwrap();
        assert!((got - 0.21616187468057912).abs() < 1e-6);
        // Three classes, y_true missing one of them.
        let p3 = array![[0.2, 0.7, 0.1], [0.6, 0.2, 0.2]];
        close(
            log_loss(&[1, 0], p3.view()).unwrap(),
            -(0.7f64.ln() + 0.6f64.ln()) / 2.0,
        );
    }

    #[test]
    fn metrics_log_loss_errors() {
        let proba = array![[0.1, 0.9], [0.9, 0.1]];
        let bad = |r: Result<f64>| matches!(r, Err(MlpTuneError::InvalidInput(_)));
        assert!(bad(log_loss(&[], Array2::<f64>::zeros((0, 2)).view())));
        assert!(bad(log_loss(&[0], proba.view())));
        assert!(bad(log_loss(&[0, 2], proba.view())));
        assert!(bad(log_loss(&[0, 1], Array2::<f64>::zeros((2, 0)).view())));
        assert!(bad(log_loss(
            &[0, 1],
            array![[0.1, f64::NAN], [0.9, 0.1]].view()
        )));
        assert!(bad(log_loss(
            &[0, 1],
            array![[1.1, -0.1], [0.9, 0.1]].view()
        )));
        assert!(bad(log_loss(
            &[0, 1],
            array![[0.1, 0.9], [-0.2, 1.2]].view()
        )));
        assert!(bad(log_loss(
            &[0, 1],
            array![[0.1], [f64::INFINITY]].view()
        )));
    }

    #[test]
    fn metrics_roc_auc_values() {
        close(
            roc_auc_score(&[0, 0, 1, 1], array![0.1, 0.4, 0.35, 0.8].view()).unwrap(),
            0.75,
        );
        // Ties count one half: pairs (0.5 vs 0.5) = ½, the other three = 1.
        close(
            roc_auc_score(&[0, 1, 0, 1], array![0.5, 0.5, 0.2, 0.8].view()).unwrap(),
            0.875,
        );
        // All scores tied: the diagonal.
        close(
            roc_auc_score(&[0, 1, 1], array![1.0, 1.0, 1.0].view()).unwrap(),
            0.5,
        );
        // -0.0 and 0.0 are equal scores, as in numpy.
        close(
            roc_auc_score(&[0, 1], array![0.0, -0.0].view()).unwrap(),
            0.5,
        );
        close(
            roc_auc_score(&[1, 0], array![1.0, 0.0].view()).unwrap(),
            1.0,
        );
        close(
            roc_auc_score(&[1, 0], array![0.0, 1.0].view()).unwrap(),
            0.0,
        );
        let s32 = array![0.1f32, 0.4, 0.35, 0.8];
        close(roc_auc_score(&[0, 0, 1, 1], s32.view()).unwrap(), 0.75);
    }

    #[test]
    fn metrics_roc_auc_errors() {
        let s = array![0.1, 0.4, 0.35];
        assert!(matches!(
            roc_auc_score(&[1, 1, 1], s.view()),
            Err(MlpTuneError::Scoring(_))
        ));
        assert!(matches!(
            roc_auc_score(&[0, 0, 0], s.view()),
            Err(MlpTuneError::Scoring(_))
        ));
        let bad = |r: Result<f64>| matches!(r, Err(MlpTuneError::InvalidInput(_)));
        assert!(bad(roc_auc_score(&[], Array1::<f64>::zeros(0).view())));
        assert!(bad(roc_auc_score(&[0, 1], s.view())));
        assert!(bad(roc_auc_score(&[0, 1, 2], s.view())));
        assert!(bad(roc_auc_score(
            &[0, 1, 1],
            array![0.1, f64::NAN, 0.2].view()
        )));
        assert!(bad(roc_auc_score(
            &[0, 1, 1],
            array![0.1, f64::NEG_INFINITY, 0.2].view()
        )));
    }
}
