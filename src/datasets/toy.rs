//! The five small scikit-learn sets, compiled into the library as gzipped CSV.

use linfa::Dataset;
use ndarray::{Array1, Array2, Axis, Ix1};

use super::csv::{gunzip, parse_numeric, Table};
use crate::error::{MlpTuneError, Result};

const DIGITS_GZ: &[u8] = include_bytes!("../../datasets/digits.csv.gz");
const IRIS_GZ: &[u8] = include_bytes!("../../datasets/iris.csv.gz");
const BREAST_CANCER_GZ: &[u8] = include_bytes!("../../datasets/breast_cancer.csv.gz");
const WINE_GZ: &[u8] = include_bytes!("../../datasets/wine_data.csv.gz");
const DIABETES_DATA_GZ: &[u8] = include_bytes!("../../datasets/diabetes_data_raw.csv.gz");
const DIABETES_TARGET_GZ: &[u8] = include_bytes!("../../datasets/diabetes_target.csv.gz");

/// Feature names of [`iris`], as scikit-learn's `load_iris().feature_names`.
pub const IRIS_FEATURE_NAMES: [&str; 4] = [
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
];

/// Class names of [`iris`], indexed by the target value.
pub const IRIS_CLASS_NAMES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// Feature names of [`diabetes`], as scikit-learn's `load_diabetes().feature_names`.
pub const DIABETES_FEATURE_NAMES: [&str; 10] = [
    "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
];

/// Feature names of [`breast_cancer`], as scikit-learn's `load_breast_cancer().feature_names`.
pub const BREAST_CANCER_FEATURE_NAMES: [&str; 30] = [
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
];

/// Class names of [`breast_cancer`], indexed by the target value.
pub const BREAST_CANCER_CLASS_NAMES: [&str; 2] = ["malignant", "benign"];

/// Feature names of [`wine`], as scikit-learn's `load_wine().feature_names`.
pub const WINE_FEATURE_NAMES: [&str; 13] = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
];

/// Class names of [`wine`], indexed by the target value.
pub const WINE_CLASS_NAMES: [&str; 3] = ["class_0", "class_1", "class_2"];

fn pixel_names() -> Vec<String> {
    (0..8)
        .flat_map(|r| (0..8).map(move |c| format!("pixel_{r}_{c}")))
        .collect()
}

/// The handwritten digits: 1797 samples, 64 features (8×8 pixels, 0..16), 10 classes.
///
/// Feature names are `pixel_0_0` .. `pixel_7_7` (row, column), as scikit-learn's.
/// The target is the digit itself.
///
/// ```
/// let digits = mlp_tune::datasets::digits();
/// assert_eq!(digits.records().dim(), (1797, 64));
/// assert_eq!(digits.feature_names()[63], "pixel_7_7");
/// ```
pub fn digits() -> Dataset<f64, usize, Ix1> {
    parse_digits().expect("embedded digits data is valid (checked by unit tests)")
}

/// The digits of classes `0..n_class` only, as scikit-learn's `load_digits(n_class=k)`.
///
/// Fails with [`MlpTuneError::InvalidInput`] unless `1 <= n_class <= 10`.
///
/// ```
/// let three = mlp_tune::datasets::digits_n_class(3)?;
/// assert_eq!(three.records().nrows(), 537);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn digits_n_class(n_class: usize) -> Result<Dataset<f64, usize, Ix1>> {
    if !(1..=10).contains(&n_class) {
        return Err(MlpTuneError::InvalidInput(format!(
            "n_class must be in 1..=10, got {n_class}"
        )));
    }
    let all = digits();
    let keep: Vec<usize> = (0..all.targets().len())
        .filter(|&i| all.targets()[i] < n_class)
        .collect();
    Ok(Dataset::new(
        all.records().select(Axis(0), &keep),
        all.targets().select(Axis(0), &keep),
    )
    .with_feature_names(pixel_names())
    .with_target_names(vec!["digit"]))
}

/// Fisher's iris: 150 samples, 4 features, 3 classes (see [`IRIS_CLASS_NAMES`]).
///
/// ```
/// let iris = mlp_tune::datasets::iris();
/// assert_eq!(iris.records().dim(), (150, 4));
/// ```
pub fn iris() -> Dataset<f64, usize, Ix1> {
    parse_with_sklearn_header(IRIS_GZ, &IRIS_FEATURE_NAMES, &IRIS_CLASS_NAMES, "species")
        .expect("embedded iris data is valid (checked by unit tests)")
}

/// Breast cancer Wisconsin (diagnostic): 569 samples, 30 features, 2 classes
/// (0 = malignant, 1 = benign; see [`BREAST_CANCER_CLASS_NAMES`]).
///
/// ```
/// let bc = mlp_tune::datasets::breast_cancer();
/// assert_eq!(bc.records().dim(), (569, 30));
/// ```
pub fn breast_cancer() -> Dataset<f64, usize, Ix1> {
    parse_with_sklearn_header(
        BREAST_CANCER_GZ,
        &BREAST_CANCER_FEATURE_NAMES,
        &BREAST_CANCER_CLASS_NAMES,
        "diagnosis",
    )
    .expect("embedded breast cancer data is valid (checked by unit tests)")
}

/// Wine recognition: 178 samples, 13 features, 3 classes (see [`WINE_CLASS_NAMES`]).
///
/// ```
/// let wine = mlp_tune::datasets::wine();
/// assert_eq!(wine.records().dim(), (178, 13));
/// ```
pub fn wine() -> Dataset<f64, usize, Ix1> {
    parse_with_sklearn_header(WINE_GZ, &WINE_FEATURE_NAMES, &WINE_CLASS_NAMES, "cultivar")
        .expect("embedded wine data is valid (checked by unit tests)")
}

/// Diabetes (Efron et al. 2004), raw and unscaled as `load_diabetes(scaled=False)`:
/// 442 samples, 10 features (`age`, `sex`, `bmi`, `bp`, `s1`..`s6`), and a float
/// target (disease progression one year after baseline).
///
/// ```
/// let diabetes = mlp_tune::datasets::diabetes();
/// assert_eq!(diabetes.records().dim(), (442, 10));
/// assert_eq!(diabetes.targets()[0], 151.0);
/// ```
pub fn diabetes() -> Dataset<f64, f64, Ix1> {
    parse_diabetes().expect("embedded diabetes data is valid (checked by unit tests)")
}

/// Splits a table whose last column is an integer class label.
fn split_classification(
    table: Table,
    n_features: usize,
    n_classes: usize,
    skip: usize,
) -> Result<(Array2<f64>, Array1<usize>)> {
    if table.ncols != n_features + 1 {
        return Err(MlpTuneError::InvalidInput(format!(
            "expected {} columns, found {}",
            n_features + 1,
            table.ncols
        )));
    }
    let mut records = Vec::with_capacity(table.nrows * n_features);
    let mut targets = Vec::with_capacity(table.nrows);
    for (r, row) in table.values.chunks(table.ncols).enumerate() {
        records.extend_from_slice(&row[..n_features]);
        let label = row[n_features];
        if label < 0.0 || label.fract() != 0.0 || label >= n_classes as f64 {
            return Err(MlpTuneError::Parse {
                line: skip + r + 1,
                column: n_features + 1,
                reason: format!("`{label}` is not a class label in 0..{n_classes}"),
            });
        }
        targets.push(label as usize);
    }
    let records = Array2::from_shape_vec((table.nrows, n_features), records)
        .map_err(|e| MlpTuneError::InvalidInput(e.to_string()))?;
    Ok((records, Array1::from(targets)))
}

fn parse_digits() -> Result<Dataset<f64, usize, Ix1>> {
    let table = parse_numeric(&gunzip(DIGITS_GZ)?, 0, Some(','))?;
    let (records, targets) = split_classification(table, 64, 10, 0)?;
    Ok(Dataset::new(records, targets)
        .with_feature_names(pixel_names())
        .with_target_names(vec!["digit"]))
}

/// Parses the iris/breast cancer/wine layout: a first line
/// `n_samples,n_features,class names...`, then features and the class label.
fn parse_with_sklearn_header(
    gz: &[u8],
    feature_names: &[&str],
    class_names: &[&str],
    target_name: &str,
) -> Result<Dataset<f64, usize, Ix1>> {
    let text = gunzip(gz)?;
    let header: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
    let declared = |i: usize| header.get(i).and_then(|s| s.trim().parse::<usize>().ok());
    let n_declared = declared(0);
    if header.get(2..) != Some(class_names)
        || declared(1) != Some(feature_names.len())
        || n_declared.is_none()
    {
        return Err(MlpTuneError::Parse {
            line: 1,
            column: 1,
            reason: "unexpected header".to_string(),
        });
    }
    let table = parse_numeric(&text, 1, Some(','))?;
    let nrows = table.nrows;
    let (records, targets) =
        split_classification(table, feature_names.len(), class_names.len(), 1)?;
    if n_declared != Some(nrows) {
        return Err(MlpTuneError::InvalidInput(format!(
            "header announces {n_declared:?} rows, found {nrows}"
        )));
    }
    Ok(Dataset::new(records, targets)
        .with_feature_names(feature_names.to_vec())
        .with_target_names(vec![target_name]))
}

fn parse_diabetes() -> Result<Dataset<f64, f64, Ix1>> {
    let data = parse_numeric(&gunzip(DIABETES_DATA_GZ)?, 0, None)?;
    let target = parse_numeric(&gunzip(DIABETES_TARGET_GZ)?, 0, None)?;
    if data.ncols != 10 || target.ncols != 1 || data.nrows != target.nrows {
        return Err(MlpTuneError::InvalidInput(
            "diabetes data and target do not match".to_string(),
        ));
    }
    let records = Array2::from_shape_vec((data.nrows, data.ncols), data.values)
        .map_err(|e| MlpTuneError::InvalidInput(e.to_string()))?;
    Ok(Dataset::new(records, Array1::from(target.values))
        .with_feature_names(DIABETES_FEATURE_NAMES.to_vec())
        .with_target_names(vec!["progression"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_set_parses() {
        assert_eq!(parse_digits().unwrap().records().dim(), (1797, 64));
        for (gz, names, classes, n) in [
            (IRIS_GZ, &IRIS_FEATURE_NAMES[..], &IRIS_CLASS_NAMES[..], 150),
            (
                BREAST_CANCER_GZ,
                &BREAST_CANCER_FEATURE_NAMES[..],
                &BREAST_CANCER_CLASS_NAMES[..],
                569,
            ),
            (WINE_GZ, &WINE_FEATURE_NAMES[..], &WINE_CLASS_NAMES[..], 178),
        ] {
            let data = parse_with_sklearn_header(gz, names, classes, "t").unwrap();
            assert_eq!(data.records().dim(), (n, names.len()));
        }
        assert_eq!(parse_diabetes().unwrap().records().dim(), (442, 10));
    }

    #[test]
    fn embedded_header_is_checked() {
        let gz = |text: &str| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
            enc.finish().unwrap()
        };
        let ok = gz("2,1,a,b\n1.0,0\n2.0,1\n");
        assert!(parse_with_sklearn_header(&ok, &["f"], &["a", "b"], "t").is_ok());
        for bad in [
            "3,1,a,b\n1.0,0\n2.0,1\n",
            "2,2,a,b\n1.0,0\n2.0,1\n",
            "2,1,a,c\n1.0,0\n2.0,1\n",
            "2,1,a,b\n1.0,0\n2.0,2\n",
            "2,1,a,b\n1.0,0\n2.0,0.5\n",
        ] {
            assert!(parse_with_sklearn_header(&gz(bad), &["f"], &["a", "b"], "t").is_err());
        }
    }
}
