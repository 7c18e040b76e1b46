//! Regression metrics: 2-D `(n_samples, n_outputs)` arrays, outputs averaged uniformly.

use super::*;

/// One output's true and predicted values.
pub(super) struct Column {
    y_true: Vec<f64>,
    y_pred: Vec<f64>,
}

/// scikit-learn's `_check_reg_targets`: same shape, non-empty, finite; returns the columns.
pub(super) fn regression_columns<F: Float>(
    y_true: ArrayView2<F>,
    y_pred: ArrayView2<F>,
) -> Result<Vec<Column>> {
    if y_true.dim() != y_pred.dim() {
        return Err(invalid(format!(
            "y_true has shape {:?} but y_pred has shape {:?}",
            y_true.dim(),
            y_pred.dim()
        )));
    }
    if y_true.nrows() == 0 {
        return Err(invalid("empty input: no samples"));
    }
    if y_true.ncols() == 0 {
        return Err(invalid("empty input: no outputs"));
    }
    y_true
        .axis_iter(Axis(1))
        .zip(y_pred.axis_iter(Axis(1)))
        .map(|(t, p)| {
            Ok(Column {
                y_true: t
                    .iter()
                    .map(|&v| finite_f64(v, "y_true"))
                    .collect::<Result<_>>()?,
                y_pred: p
                    .iter()
                    .map(|&v| finite_f64(v, "y_pred"))
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

/// Applies `per_output` to every output and averages uniformly.
pub(super) fn uniform_average<F: Float>(
    y_true: ArrayView2<F>,
    y_pred: ArrayView2<F>,
    per_output: impl Fn(&Column) -> f64,
) -> Result<f64> {
    let columns = regression_columns(y_true, y_pred)?;
    let scores: Vec<f64> = columns.iter().map(per_output).collect();
    Ok(mean(&scores))
}

pub(super) fn squared_error_mean(c: &Column) -> f64 {
    let sum: f64 = c
        .y_true
        .iter()
        .zip(&c.y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    sum / c.y_true.len() as f64
}

/// scikit-learn's `_assemble_r2_explained_variance` with `force_finite=True`: a constant
/// target scores 1.0 if perfectly predicted and 0.0 otherwise, instead of NaN or -inf.
pub(super) fn force_finite_score(numerator: f64, denominator: f64) -> f64 {
    if numerator == 0.0 {
        1.0
    } else if denominator == 0.0 {
        0.0
    } else {
        1.0 - numerator / denominator
    }
}

/// Mean squared error, scikit-learn's `mean_squared_error`.
///
/// `MSE = mean_outputs( (1/n) Σ_i (y_i - ŷ_i)² )`.
///
/// ```
/// use mlp_tune::metrics::mean_squared_error;
/// use ndarray::{array, Axis};
/// let y_true = array![3.0, -0.5, 2.0, 7.0].insert_axis(Axis(1));
/// let y_pred = array![2.5, 0.0, 2.0, 8.0].insert_axis(Axis(1));
/// let mse = mean_squared_error(y_true.view(), y_pred.view()).unwrap();
/// assert!((mse - 0.375).abs() < 1e-12);
/// ```
pub fn mean_squared_error<F: Float>(y_true: ArrayView2<F>, y_pred: ArrayView2<F>) -> Result<f64> {
    uniform_average(y_true, y_pred, squared_error_mean)
}

/// Root mean squared error, scikit-learn's `root_mean_squared_error`.
///
/// `RMSE = mean_outputs( sqrt((1/n) Σ_i (y_i - ŷ_i)²) )`: the square root is taken per
/// output before averaging, as scikit-learn does.
///
/// ```
/// use mlp_tune::metrics::root_mean_squared_error;
/// use ndarray::array;
/// let y_true = array![[0.5, 1.0], [-1.0, 1.0], [7.0, -6.0]];
/// let y_pred = array![[0.0, 2.0], [-1.0, 2.0], [8.0, -5.0]];
/// let rmse = root_mean_squared_error(y_true.view(), y_pred.view()).unwrap();
/// assert!((rmse - 0.8227486121839513).abs() < 1e-12);
/// ```
pub fn root_mean_squared_error<F: Float>(
    y_true: ArrayView2<F>,
    y_pred: ArrayView2<F>,
) -> Result<f64> {
    uniform_average(y_true, y_pred, |c| squared_error_mean(c).sqrt())
}

/// Mean absolute error, scikit-learn's `mean_absolute_error`.
///
/// `MAE = mean_outputs( (1/n) Σ_i |y_i - ŷ_i| )`.
///
/// ```
/// use mlp_tune::metrics::mean_absolute_error;
/// use ndarray::{array, Axis};
/// let y_true = array![3.0, -0.5, 2.0, 7.0].insert_axis(Axis(1));
/// let y_pred = array![2.5, 0.0, 2.0, 8.0].insert_axis(Axis(1));
/// let mae = mean_absolute_error(y_true.view(), y_pred.view()).unwrap();
/// assert!((mae - 0.5).abs() < 1e-12);
/// ```
pub fn mean_absolute_error<F: Float>(y_true: ArrayView2<F>, y_pred: ArrayView2<F>) -> Result<f64> {
    uniform_average(y_true, y_pred, |c| {
        let sum: f64 = c
            .y_true
            .iter()
            .zip(&c.y_pred)
            .map(|(t, p)| (t - p).abs())
            .sum();
        sum / c.y_true.len() as f64
    })
}

/// Median absolute error, scikit-learn's `median_absolute_error`.
///
/// `MedAE = mean_outputs( median_i |y_i - ŷ_i| )`, where the median of an even count is the
/// mean of the two middle values, as `numpy.median`.
///
/// ```
/// use mlp_tune::metrics::median_absolute_error;
/// use ndarray::{array, Axis};
/// let y_true = array![3.0, -0.5, 2.0, 7.0].insert_axis(Axis(1));
/// let y_pred = array![2.5, 0.0, 2.0, 8.0].insert_axis(Axis(1));
/// let medae = median_absolute_error(y_true.view(), y_pred.view()).unwrap();
/// assert!((medae - 0.5).abs() < 1e-12);
/// ```
pub fn median_absolute_error<F: Float>(
    y_true: ArrayView2<F>,
    y_pred: ArrayView2<F>,
) -> Result<f64> {
    uniform_average(y_true, y_pred, |c| {
        let mut errors: Vec<f64> = c
            .y_true
            .iter()
            .zip(&c.y_pred)
            .map(|(t, p)| (t - p).abs())
            .collect();
        errors.sort_by(cmp_finite);
        let n = errors.len();
        if n % 2 == 1 {
            errors[n / 2]
        } else {
            (errors[n / 2 - 1] + errors[n / 2]) / 2.0
        }
    })
}

/// Maximum residual error, scikit-learn's `max_error`.
///
/// `max_i |y_i - ŷ_i|`. Like scikit-learn, only a single output is supported: more than one
/// column is a [`MlpTuneError::Scoring`] error.
///
/// ```
/// use mlp_tune::metrics::max_error;
/// use ndarray::{array, Axis};
/// let y_true = array![3.0, 2.0, 7.0, 1.0].insert_axis(Axis(1));
/// let y_pred = array![4.0, 2.0, 7.0, 1.0].insert_axis(Axis(1));
/// assert_eq!(max_error(y_true.view(), y_pred.view()).unwrap(), 1.0);
/// ```
pub fn max_error<F: Float>(y_true: ArrayView2<F>, y_pred: ArrayView2<F>) -> Result<f64> {
    let columns = regression_columns(y_true, y_pred)?;
    if columns.len() != 1 {
        return Err(scoring("multioutput not supported in max_error"));
    }
    let c = &columns[0];
    Ok(c.y_true
        .iter()
        .zip(&c.y_pred)
        .map(|(t, p)| (t - p).abs())
        .fold(0.0, f64::max))
}

/// Coefficient of determination, scikit-learn's `r2_score`.
///
/// `R² = mean_outputs( 1 - Σ_i (y_i - ŷ_i)² / Σ_i (y_i - ȳ)² )`, with `force_finite=True`:
/// for a constant target the score is 1.0 if the predictions are perfect and 0.0 otherwise.
/// Fewer than two samples is an error (scikit-learn warns and returns NaN).
///
/// ```
/// use mlp_tune::metrics::r2_score;
/// use ndarray::{array, Axis};
/// let y_true = array![3.0, -0.5, 2.0, 7.0].insert_axis(Axis(1));
/// let y_pred = array![2.5, 0.0, 2.0, 8.0].insert_axis(Axis(1));
/// let r2 = r2_score(y_true.view(), y_pred.view()).unwrap();
/// assert!((r2 - 0.9486081370449679).abs() < 1e-12);
/// ```
pub fn r2_score<F: Float>(y_true: ArrayView2<F>, y_pred: ArrayView2<F>) -> Result<f64> {
    let columns = regression_columns(y_true, y_pred)?;
    if y_true.nrows() < 2 {
        return Err(scoring(
            "r2 score is not well-defined with less than two samples",
        ));
    }
    let scores: Vec<f64> = columns
        .iter()
        .map(|c| {
            let y_mean = mean(&c.y_true);
            let numerator: f64 = c
                .y_true
                .iter()
                .zip(&c.y_pred)
                .map(|(t, p)| (t - p) * (t - p))
                .sum();
            let denominator: f64 = c.y_true.iter().map(|t| (t - y_mean) * (t - y_mean)).sum();
            force_finite_score(numerator, denominator)
        })
        .collect();
    Ok(mean(&scores))
}

/// Explained variance, scikit-learn's `explained_variance_score`.
///
/// `EV = mean_outputs( 1 - Var(y - ŷ) / Var(y) )` with population variances and the same
/// `force_finite=True` rules as [`r2_score`]; unlike R², a single sample is accepted, as in
/// scikit-learn.
///
/// ```
/// use mlp_tune::metrics::explained_variance_score;
/// use ndarray::{array, Axis};
/// let y_true = array![3.0, -0.5, 2.0, 7.0].insert_axis(Axis(1));
/// let y_pred = array![2.5, 0.0, 2.0, 8.0].insert_axis(Axis(1));
/// let ev = explained_variance_score(y_true.view(), y_pred.view()).unwrap();
/// assert!((ev - 0.9571734475374732).abs() < 1e-12);
/// ```
pub fn explained_variance_score<F: Float>(
    y_true: ArrayView2<F>,
    y_pred: ArrayView2<F>,
) -> Result<f64> {
    uniform_average(y_true, y_pred, |c| {
        let diff: Vec<f64> = c.y_true.iter().zip(&c.y_pred).map(|(t, p)| t - p).collect();
        let diff_mean = mean(&diff);
        let numerator = diff
            .iter()
            .map(|d| (d - diff_mean) * (d - diff_mean))
            .sum::<f64>()
            / diff.len() as f64;
        let y_mean = mean(&c.y_true);
        let denominator = c
            .y_true
            .iter()
            .map(|t| (t - y_mean) * (t - y_mean))
            .sum::<f64>()
            / c.y_true.len() as f64;
        force_finite_score(numerator, denominator)
    })
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    fn col(v: &[f64]) -> Array2<f64> {
        Array1::from(v.to_vec()).insert_axis(Axis(1))
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    const T: [f64; 4] = [3.0, -0.5, 2.0, 7.0];
    const P: [f64; 4] = [2.5, 0.0, 2.0, 8.0];

    fn multi() -> (Array2<f64>, Array2<f64>) {
        (
            array![[0.5, 1.0], [-1.0, 1.0], [7.0, -6.0]],
            array![[0.0, 2.0], [-1.0, 2.0], [8.0, -5.0]],
        )
    }

    #[test]
    fn metrics_regression_docstring_values() {
        let (t, p) = (col(&T), col(&P));
        close(mean_squared_error(t.view(), p.view()).unwrap(), 0.375);
        close(
            root_mean_squared_error(t.view(), p.view()).unwrap(),
            0.6123724356957945,
        );
        close(mean_absolute_error(t.view(), p.view()).unwrap(), 0.5);
        close(median_absolute_error(t.view(), p.view()).unwrap(), 0.5);
        close(r2_score(t.view(), p.view()).unwrap(), 0.9486081370449679);
        close(
            explained_variance_score(t.view(), p.view()).unwrap(),
            0.9571734475374732,
        );
        let (t, p) = (col(&[3.0, 2.0, 7.0, 1.0]), col(&[4.0, 2.0, 7.0, 1.0]));
        close(max_error(t.view(), p.view()).unwrap(), 1.0);
    }

    #[test]
    fn metrics_regression_multioutput_uniform_average() {
        let (t, p) = multi();
        close(
            mean_squared_error(t.view(), p.view()).unwrap(),
            0.7083333333333334,
        );
        close(
            root_mean_squared_error(t.view(), p.view()).unwrap(),
            0.8227486121839513,
        );
        close(mean_absolute_error(t.view(), p.view()).unwrap(), 0.75);
        close(median_absolute_error(t.view(), p.view()).unwrap(), 0.75);
        close(r2_score(t.view(), p.view()).unwrap(), 0.9368005266622779);
        close(
            explained_variance_score(t.view(), p.view()).unwrap(),
            0.9838709677419355,
        );
        assert!(matches!(
            max_error(t.view(), p.view()),
            Err(MlpTuneError::Scoring(_))
        ));
    }

    #[test]
    fn metrics_median_even_and_odd() {
        let t = col(&[0.0, 0.0, 0.0, 0.0, 0.0]);
        let p = col(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        close(median_absolute_error(t.view(), p.view()).unwrap(), 3.0);
        let t = col(&[0.0, 0.0, 0.0, 0.0]);
        let p = col(&[-4.0, 1.0, 3.0, 2.0]);
        close(median_absolute_error(t.view(), p.view()).unwrap(), 2.5);
    }

    #[test]
    fn metrics_force_finite_constant_target() {
        let t = col(&[2.0, 2.0, 2.0]);
        close(r2_score(t.view(), t.view()).unwrap(), 1.0);
        close(explained_variance_score(t.view(), t.view()).unwrap(), 1.0);
        let p = col(&[2.0, 3.0, 2.0]);
        close(r2_score(t.view(), p.view()).unwrap(), 0.0);
        close(explained_variance_score(t.view(), p.view()).unwrap(), 0.0);
        // A constant shift is fully "explained" but not an R² of one.
        let t = col(&[1.0, 2.0, 3.0]);
        let p = col(&[2.0, 3.0, 4.0]);
        close(explained_variance_score(t.view(), p.view()).unwrap(), 1.0);
        close(r2_score(t.view(), p.view()).unwrap(), -0.5);
        // Single sample: explained variance is defined (1.0), R² is not.
        let (t1, p1) = (col(&[1.0]), col(&[1.5]));
        close(explained_variance_score(t1.view(), p1.view()).unwrap(), 1.0);
        assert!(r2_score(t1.view(), p1.view()).is_err());
    }

    #[test]
    fn metrics_regression_f32() {
        let t = col(&T).mapv(|v| v as f32);
        let p = col(&P).mapv(|v| v as f32);
        close(mean_squared_error(t.view(), p.view()).unwrap(), 0.375);
        close(mean_absolute_error(t.view(), p.view()).unwrap(), 0.5);
        close(median_absolute_error(t.view(), p.view()).unwrap(), 0.5);
        close(max_error(t.view(), p.view()).unwrap(), 1.0);
        close(r2_score(t.view(), p.view()).unwrap(), 0.9486081370449679);
        close(
            explained_variance_score(t.view(), p.view()).unwrap(),
            0.9571734475374732,
        );
        close(
            root_mean_squared_error(t.view(), p.view()).unwrap(),
            0.6123724356957945,
        );
    }

    type RegFn = fn(ArrayView2<f64>, ArrayView2<f64>) -> Result<f64>;

    const REGRESSION: [(&str, RegFn); 7] = [
        ("mse", mean_squared_error::<f64>),
        ("rmse", root_mean_squared_error::<f64>),
        ("mae", mean_absolute_error::<f64>),
        ("medae", median_absolute_error::<f64>),
        ("max", max_error::<f64>),
        ("r2", r2_score::<f64>),
        ("ev", explained_variance_score::<f64>),
    ];

    #[test]
    fn metrics_regression_errors() {
        let empty = Array2::<f64>::zeros((0, 1));
        let no_outputs = Array2::<f64>::zeros((3, 0));
        let (t, p) = (col(&T), col(&P));
        let short = col(&[1.0, 2.0, 3.0]);
        let wide = Array2::<f64>::zeros((4, 2));
        let mut nan = col(&P);
        nan[[1, 0]] = f64::NAN;
        let mut inf = col(&T);
        inf[[2, 0]] = f64::INFINITY;
        for (name, f) in REGRESSION {
            let cases = [
                (empty.view(), empty.view()),
                (no_outputs.view(), no_outputs.view()),
                (t.view(), short.view()),
                (t.view(), wide.view()),
                (t.view(), nan.view()),
                (inf.view(), p.view()),
            ];
            for (i, (a, b)) in cases.into_iter().enumerate() {
                assert!(
                    matches!(f(a, b), Err(MlpTuneError::InvalidInput(_))),
                    "{name} case {i}"
                );
            }
        }
    }
}
