//! Toy data sets, the California housing loader, a CSV loader and Géron's split.
//!
//! The five small scikit-learn sets ([`digits`], [`iris`], [`diabetes`],
//! [`breast_cancer`], [`wine`]) are compiled into the library as gzipped CSV (see the
//! crate's `datasets/README.md` for their origin, citation and license) and parsed at
//! load time. These loaders return the [`Dataset`] directly: the embedded bytes are
//! fixed at compile time and a unit test parses every one of them, so their internal
//! `expect` cannot fire.
//!
//! Class names are not stored in the dataset (linfa's `target_names` names target
//! *columns*, not classes); they are the constants [`IRIS_CLASS_NAMES`],
//! [`BREAST_CANCER_CLASS_NAMES`] and [`WINE_CLASS_NAMES`], indexed by the `usize`
//! target. Feature names are scikit-learn's `feature_names`.
//!
//! [`california_housing`] is too large to embed; it is looked up in `$MLP_TUNE_DATA`,
//! then in the user cache, then (with the `download` feature) downloaded from the
//! archive scikit-learn uses.
//!
//! ```
//! use mlp_tune::datasets;
//!
//! let iris = datasets::iris();
//! assert_eq!(iris.records().dim(), (150, 4));
//! assert_eq!(iris.feature_names()[0], "sepal length (cm)");
//! assert_eq!(datasets::IRIS_CLASS_NAMES[iris.targets()[0]], "setosa");
//! ```

use std::fs::File;
#[cfg(feature = "download")]
use std::io::Write;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;
use linfa::Dataset;
use ndarray::{Array1, Array2, Axis, Ix1};

use crate::error::{MlpTuneError, Result};
use crate::random::NumpyRng;

mod samples_generator;
pub use samples_generator::{make_circles, make_classification_2d, make_moons};

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

/// Feature names of [`california_housing`], in scikit-learn's order.
pub const CALIFORNIA_FEATURE_NAMES: [&str; 8] = [
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
];

/// Name of the target of [`california_housing`] (median house value, 100,000 USD).
pub const CALIFORNIA_TARGET_NAME: &str = "MedHouseVal";

/// Environment variable naming a directory that holds `california_housing.csv`.
pub const DATA_DIR_ENV: &str = "MLP_TUNE_DATA";

/// File name of the California housing CSV, in `$MLP_TUNE_DATA` and in the cache.
pub const CALIFORNIA_HOUSING_FILE: &str = "california_housing.csv";

/// The archive scikit-learn's `fetch_california_housing` downloads (a figshare mirror
/// of StatLib's `cal_housing.tgz`).
pub const CALIFORNIA_HOUSING_URL: &str = "https://ndownloader.figshare.com/files/5976036";

/// sha256 of [`CALIFORNIA_HOUSING_URL`]'s content, as pinned by scikit-learn.
pub const CALIFORNIA_HOUSING_SHA256: &str =
    "aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681";

/// Path of the raw data inside the archive.
#[cfg(any(feature = "download", test))]
const ARCHIVE_MEMBER: &str = "CaliforniaHousing/cal_housing.data";

/// A safety cap on the download size (the real archive is about 0.4 MB).
#[cfg(feature = "download")]
const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;

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

fn gunzip(bytes: &[u8]) -> Result<String> {
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

/// A dense numeric table read from simple delimited text (no quoting).
struct Table {
    nrows: usize,
    ncols: usize,
    values: Vec<f64>,
}

/// Parses `text` after skipping `skip` lines; `sep = None` splits on whitespace.
fn parse_numeric(text: &str, skip: usize, sep: Option<char>) -> Result<Table> {
    let mut values = Vec::new();
    let mut ncols = None;
    let mut nrows = 0;
    for (i, line) in text.lines().enumerate().skip(skip) {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = match sep {
            Some(c) => line.split(c).collect(),
            None => line.split_whitespace().collect(),
        };
        let expected = *ncols.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(MlpTuneError::Parse {
                line: line_no,
                column: fields.len().min(expected) + 1,
                reason: format!("expected {expected} fields, found {}", fields.len()),
            });
        }
        for (j, field) in fields.iter().enumerate() {
            values.push(parse_cell(field.trim(), line_no, j + 1)?);
        }
        nrows += 1;
    }
    Ok(Table {
        nrows,
        ncols: ncols.unwrap_or(0),
        values,
    })
}

fn parse_cell(cell: &str, line: usize, column: usize) -> Result<f64> {
    let err = |reason: String| MlpTuneError::Parse {
        line,
        column,
        reason,
    };
    if cell.is_empty() {
        return Err(err("empty cell".to_string()));
    }
    let value: f64 = cell
        .parse()
        .map_err(|_| err(format!("`{cell}` is not a number")))?;
    // Rust parses "nan" and "inf"; a data set must not smuggle them in silently.
    if !value.is_finite() {
        return Err(err(format!("non-finite value `{cell}`")));
    }
    Ok(value)
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

/// Which column of a CSV file is the target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TargetColumn {
    /// The last column (the default).
    #[default]
    Last,
    /// The column at this 0-based index.
    Index(usize),
    /// The column with this header name (needs a header line).
    Name(String),
}

/// How [`load_csv`] and [`read_csv`] read a file.
///
/// The default: a header line, `,` as delimiter, the last column as target.
///
/// ```
/// use mlp_tune::datasets::{CsvOptions, TargetColumn};
///
/// let options = CsvOptions::default()
///     .delimiter(b';')
///     .target(TargetColumn::Name("price".into()));
/// assert!(options.has_header);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first line holds column names (default `true`).
    pub has_header: bool,
    /// The field delimiter (default `b','`).
    pub delimiter: u8,
    /// The target column (default [`TargetColumn::Last`]).
    pub target: TargetColumn,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            delimiter: b',',
            target: TargetColumn::Last,
        }
    }
}

impl CsvOptions {
    /// Sets whether the first line holds column names.
    pub fn has_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// Sets the field delimiter.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the target column.
    pub fn target(mut self, target: TargetColumn) -> Self {
        self.target = target;
        self
    }
}

/// Loads a numeric CSV file as a regression [`Dataset`]: every column but the target
/// is a feature.
///
/// Feature names come from the header (or are `x0`, `x1`, ... without one); the
/// target column's name becomes the dataset's target name. Every cell must be a
/// finite number: an empty cell, text, `NaN` or `inf`, or a row with the wrong number
/// of fields gives [`MlpTuneError::Parse`] with the 1-based line and column.
///
/// ```no_run
/// use mlp_tune::datasets::{load_csv, CsvOptions, TargetColumn};
///
/// let data = load_csv(
///     "houses.csv",
///     &CsvOptions::default().target(TargetColumn::Name("price".into())),
/// )?;
/// println!("{} rows, features {:?}", data.records().nrows(), data.feature_names());
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn load_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset<f64, f64, Ix1>> {
    let path = path.as_ref();
    let file = File::open(path)
        .map_err(|e| MlpTuneError::Io(format!("cannot open {}: {e}", path.display())))?;
    read_csv(BufReader::new(file), options)
}

/// Like [`load_csv`], from any reader.
///
/// ```
/// use mlp_tune::datasets::{read_csv, CsvOptions};
///
/// let text = "a,b,y\n1,2,3\n4,5,6\n";
/// let data = read_csv(text.as_bytes(), &CsvOptions::default())?;
/// assert_eq!(data.feature_names(), ["a", "b"]);
/// assert_eq!(data.targets()[1], 6.0);
///
/// let bad = read_csv("a,y\n1,2\nNaN,3\n".as_bytes(), &CsvOptions::default());
/// assert!(bad.unwrap_err().to_string().contains("line 3, column 1"));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn read_csv<R: Read>(mut reader: R, options: &CsvOptions) -> Result<Dataset<f64, f64, Ix1>> {
    // Buffered whole so line numbers can be counted from byte offsets: the csv crate's
    // own line count skips blank lines.
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let mut lines = LineCounter::new(&bytes);
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        // Field counts are checked here so the error names the line and column.
        .flexible(true)
        .delimiter(options.delimiter)
        .trim(csv::Trim::All)
        .from_reader(&bytes[..]);

    let mut names: Option<Vec<String>> = None;
    let mut ncols = 0;
    let mut target_col = 0;
    let mut records = Vec::new();
    let mut targets = Vec::new();
    let mut nrows = 0;
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        match csv_reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, &mut lines)),
        }
        let line = lines.line_of(record.position());
        if first {
            first = false;
            ncols = record.len();
            let header: Vec<String> = if options.has_header {
                record.iter().map(str::to_string).collect()
            } else {
                (0..ncols).map(|j| format!("x{j}")).collect()
            };
            target_col = resolve_target(&options.target, &header, options.has_header)?;
            if ncols < 2 {
                return Err(MlpTuneError::InvalidInput(format!(
                    "need at least 2 columns (features and a target), found {ncols}"
                )));
            }
            names = Some(header);
            if options.has_header {
                continue;
            }
        }
        if record.len() != ncols {
            return Err(MlpTuneError::Parse {
                line,
                column: record.len().min(ncols) + 1,
                reason: format!("expected {ncols} fields, found {}", record.len()),
            });
        }
        for (j, cell) in record.iter().enumerate() {
            let value = parse_cell(cell, line, j + 1)?;
            if j == target_col {
                targets.push(value);
            } else {
                records.push(value);
            }
        }
        nrows += 1;
    }
    let names = names.ok_or_else(|| MlpTuneError::InvalidInput("empty csv input".to_string()))?;
    if nrows == 0 {
        return Err(MlpTuneError::InvalidInput(
            "csv input has no data rows".to_string(),
        ));
    }
    let records = Array2::from_shape_vec((nrows, ncols - 1), records)
        .map_err(|e| MlpTuneError::InvalidInput(e.to_string()))?;
    let target_name = names[target_col].clone();
    let feature_names: Vec<String> = names
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| j != target_col)
        .map(|(_, n)| n)
        .collect();
    Ok(Dataset::new(records, Array1::from(targets))
        .with_feature_names(feature_names)
        .with_target_names(vec![target_name]))
}

fn resolve_target(target: &TargetColumn, header: &[String], has_header: bool) -> Result<usize> {
    let ncols = header.len();
    match target {
        TargetColumn::Last => Ok(ncols.saturating_sub(1)),
        TargetColumn::Index(i) if *i < ncols => Ok(*i),
        TargetColumn::Index(i) => Err(MlpTuneError::InvalidInput(format!(
            "target column index {i} is out of range for {ncols} columns"
        ))),
        TargetColumn::Name(_) if !has_header => Err(MlpTuneError::InvalidInput(
            "a target column given by name needs a header line".to_string(),
        )),
        TargetColumn::Name(name) => header.iter().position(|h| h == name).ok_or_else(|| {
            MlpTuneError::InvalidInput(format!("no column named `{name}` in the header"))
        }),
    }
}

fn csv_error(e: csv::Error, lines: &mut LineCounter) -> MlpTuneError {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, err } => MlpTuneError::Parse {
            line: lines.line_of(pos.as_ref()),
            column: err.field() + 1,
            reason: "invalid utf-8".to_string(),
        },
        _ => MlpTuneError::Io(e.to_string()),
    }
}

/// Maps the byte offsets of csv records to 1-based line numbers, counting the blank
/// lines the csv crate skips.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record starting at `position`; offsets must not decrease.
    fn line_of(&mut self, position: Option<&csv::Position>) -> usize {
        let target = position.map_or(self.offset, |p| {
            usize::try_from(p.byte()).unwrap_or(usize::MAX)
        });
        let target = target.clamp(self.offset, self.bytes.len());
        self.line += self.bytes[self.offset..target]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = target;
        // A record's position is taken before the blank lines preceding it.
        while let Some(&b) = self.bytes.get(self.offset) {
            if b != b'\n' && b != b'\r' {
                break;
            }
            self.line += usize::from(b == b'\n');
            self.offset += 1;
        }
        self.line
    }
}

/// Where [`california_housing_from`] looks for the data and how it downloads it.
///
/// ```
/// use mlp_tune::datasets::FetchOptions;
///
/// // Keep the test away from `$MLP_TUNE_DATA` and the real cache, never download.
/// let options = FetchOptions::default()
///     .use_env(false)
///     .cache_dir(std::env::temp_dir().join("my-test-cache"))
///     .download(false);
/// assert!(options.cache_dir.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Whether to look in the directory named by `$MLP_TUNE_DATA` first (default `true`).
    pub use_env: bool,
    /// The cache directory; `None` means the user cache
    /// (`$XDG_CACHE_HOME/mlp-tune`, else `$HOME/.cache/mlp-tune`).
    pub cache_dir: Option<PathBuf>,
    /// Whether to download the data when it is found nowhere (default `true`; needs the
    /// `download` feature).
    pub download: bool,
    /// The archive's URL (default [`CALIFORNIA_HOUSING_URL`]).
    pub url: String,
    /// The archive's expected sha256, hex (default [`CALIFORNIA_HOUSING_SHA256`]).
    pub sha256: String,
    /// Overall timeout of the download (default 120 s).
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            use_env: true,
            cache_dir: None,
            download: true,
            url: CALIFORNIA_HOUSING_URL.to_string(),
            sha256: CALIFORNIA_HOUSING_SHA256.to_string(),
            timeout: Duration::from_secs(120),
        }
    }
}

impl FetchOptions {
    /// Sets whether `$MLP_TUNE_DATA` is consulted.
    pub fn use_env(mut self, use_env: bool) -> Self {
        self.use_env = use_env;
        self
    }

    /// Sets an explicit cache directory.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Sets whether a missing data set may be downloaded.
    pub fn download(mut self, download: bool) -> Self {
        self.download = download;
        self
    }

    /// Sets the archive URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Sets the archive's expected sha256 (hex, either case).
    pub fn sha256(mut self, sha256: impl Into<String>) -> Self {
        self.sha256 = sha256.into();
        self
    }

    /// Sets the download timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The user cache directory of this crate: `$XDG_CACHE_HOME/mlp-tune` if that variable
/// holds an absolute path, else `$HOME/.cache/mlp-tune` (`%USERPROFILE%` on Windows);
/// `None` when neither is known.
///
/// ```
/// if let Some(dir) = mlp_tune::datasets::default_cache_dir() {
///     assert!(dir.ends_with("mlp-tune"));
/// }
/// ```
pub fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty());
    if let Some(xdg) = non_empty("XDG_CACHE_HOME").map(PathBuf::from) {
        // The XDG spec says relative values are invalid and must be ignored.
        if xdg.is_absolute() {
            return Some(xdg.join("mlp-tune"));
        }
    }
    non_empty("HOME")
        .or_else(|| non_empty("USERPROFILE"))
        .map(|home| PathBuf::from(home).join(".cache").join("mlp-tune"))
}

/// California housing (1990 census, 20640 block groups), as scikit-learn's
/// `fetch_california_housing`: 8 features [`CALIFORNIA_FEATURE_NAMES`] and the median
/// house value in 100,000 USD as target.
///
/// Looks in `$MLP_TUNE_DATA/california_housing.csv`, then in the user cache
/// ([`default_cache_dir`]), then downloads scikit-learn's archive (needs the
/// `download` feature), checks its sha256, derives the features and caches them. Use
/// [`california_housing_from`] to change any of this.
///
/// ```no_run
/// let housing = mlp_tune::datasets::california_housing()?;
/// assert_eq!(housing.records().dim(), (20640, 8));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn california_housing() -> Result<Dataset<f64, f64, Ix1>> {
    california_housing_from(&FetchOptions::default())
}

/// [`california_housing`] with explicit [`FetchOptions`].
///
/// Each step is tried in turn: a `$MLP_TUNE_DATA` without the file, or an empty
/// cache, just moves on to the next one; a file that is present but malformed is an
/// error. Writing the cache is best effort: when the cache directory cannot be
/// written (or none is known) the downloaded data are still returned. The cache file is written to a temporary name
/// and renamed, so it is never seen half-written.
///
/// ```no_run
/// use mlp_tune::datasets::{california_housing_from, FetchOptions};
///
/// let options = FetchOptions::default().cache_dir("/tmp/mlp-tune-cache");
/// let housing = california_housing_from(&options)?;
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn california_housing_from(options: &FetchOptions) -> Result<Dataset<f64, f64, Ix1>> {
    if options.use_env {
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            let path = Path::new(&dir).join(CALIFORNIA_HOUSING_FILE);
            if path.is_file() {
                return load_california_csv(&path);
            }
        }
    }
    let cache_dir = options.cache_dir.clone().or_else(default_cache_dir);
    if let Some(dir) = &cache_dir {
        let path = dir.join(CALIFORNIA_HOUSING_FILE);
        if path.is_file() {
            return load_california_csv(&path);
        }
    }
    if !options.download {
        return Err(not_found_error(
            cache_dir.as_deref(),
            "downloading is disabled",
        ));
    }
    fetch_and_cache(options, cache_dir.as_deref())
}

fn not_found_error(cache_dir: Option<&Path>, why: &str) -> MlpTuneError {
    let cache = cache_dir.map_or_else(
        || "no cache directory".to_string(),
        |d| d.display().to_string(),
    );
    MlpTuneError::Download(format!(
        "california housing data not found (looked in ${DATA_DIR_ENV} and {cache}) and {why}; \
         put {CALIFORNIA_HOUSING_FILE} (a header line and 9 columns, target last) in a \
         directory named by ${DATA_DIR_ENV}, or enable the `download` feature"
    ))
}

fn load_california_csv(path: &Path) -> Result<Dataset<f64, f64, Ix1>> {
    let data = load_csv(path, &CsvOptions::default())?;
    if data.feature_names() != CALIFORNIA_FEATURE_NAMES
        || data.target_names() != [CALIFORNIA_TARGET_NAME]
    {
        return Err(MlpTuneError::Parse {
            line: 1,
            column: 1,
            reason: format!(
                "{} does not have the header {},{CALIFORNIA_TARGET_NAME}",
                path.display(),
                CALIFORNIA_FEATURE_NAMES.join(",")
            ),
        });
    }
    Ok(data)
}

#[cfg(not(feature = "download"))]
fn fetch_and_cache(
    _options: &FetchOptions,
    cache_dir: Option<&Path>,
) -> Result<Dataset<f64, f64, Ix1>> {
    Err(not_found_error(
        cache_dir,
        "this build lacks the `download` feature",
    ))
}

#[cfg(feature = "download")]
fn fetch_and_cache(
    options: &FetchOptions,
    cache_dir: Option<&Path>,
) -> Result<Dataset<f64, f64, Ix1>> {
    let archive = download(&options.url, options.timeout)?;
    let digest = sha256_hex(&archive);
    if !digest.eq_ignore_ascii_case(options.sha256.trim()) {
        return Err(MlpTuneError::Download(format!(
            "checksum mismatch for {}: expected sha256 {}, got {digest}",
            options.url, options.sha256
        )));
    }
    let raw = extract_member(&archive, ARCHIVE_MEMBER)?;
    let (records, targets) = derive_california(&raw)?;
    if let Some(dir) = cache_dir {
        // Best effort: a read-only cache must not cost the user the data just fetched.
        let _ = write_cache(dir, &records, &targets);
    }
    Ok(Dataset::new(records, targets)
        .with_feature_names(CALIFORNIA_FEATURE_NAMES.to_vec())
        .with_target_names(vec![CALIFORNIA_TARGET_NAME]))
}

#[cfg(feature = "download")]
fn download(url: &str, timeout: Duration) -> Result<Vec<u8>> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(timeout.min(Duration::from_secs(30)))
        .timeout(timeout)
        .build();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| MlpTuneError::Download(format!("cannot download {url}: {e}")))?;
    let mut bytes = Vec::new();
    response
        .into_reader()
        .take(MAX_DOWNLOAD_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| MlpTuneError::Download(format!("reading {url} failed: {e}")))?;
    Ok(bytes)
}

#[cfg(feature = "download")]
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(feature = "download")]
fn extract_member(archive: &[u8], member: &str) -> Result<String> {
    let corrupt = |e: std::io::Error| MlpTuneError::Download(format!("corrupt archive: {e}"));
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let is_member = entry.path().map_err(corrupt)?.as_ref() == Path::new(member);
        if is_member {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(corrupt)?;
            return Ok(text);
        }
    }
    Err(MlpTuneError::Download(format!(
        "archive does not contain {member}"
    )))
}

/// Derives scikit-learn's features from `cal_housing.data` (columns longitude,
/// latitude, housingMedianAge, totalRooms, totalBedrooms, population, households,
/// medianIncome, medianHouseValue), with the same floating-point operations.
#[cfg(any(feature = "download", test))]
fn derive_california(raw: &str) -> Result<(Array2<f64>, Array1<f64>)> {
    let table = parse_numeric(raw, 0, Some(','))
        .map_err(|e| MlpTuneError::Download(format!("malformed {ARCHIVE_MEMBER}: {e}")))?;
    if table.ncols != 9 || table.nrows == 0 {
        return Err(MlpTuneError::Download(format!(
            "malformed {ARCHIVE_MEMBER}: expected rows of 9 columns, found {} rows of {}",
            table.nrows, table.ncols
        )));
    }
    let mut records = Vec::with_capacity(table.nrows * 8);
    let mut targets = Vec::with_capacity(table.nrows);
    for (i, row) in table.values.chunks(9).enumerate() {
        let [lon, lat, age, rooms, bedrooms, population, households, income, value] = [
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
        ];
        records.extend_from_slice(&[
            income,
            age,
            rooms / households,
            bedrooms / households,
            population,
            population / households,
            lat,
            lon,
        ]);
        targets.push(value / 100000.0);
        // A zero household count would put `inf` in the cache, which then fails to load.
        if records[records.len() - 8..].iter().any(|v| !v.is_finite()) {
            return Err(MlpTuneError::Download(format!(
                "malformed {ARCHIVE_MEMBER}: line {} has zero households",
                i + 1
            )));
        }
    }
    let records = Array2::from_shape_vec((table.nrows, 8), records)
        .map_err(|e| MlpTuneError::InvalidInput(e.to_string()))?;
    Ok((records, Array1::from(targets)))
}

/// Writes the cache CSV through a temporary file and a rename, so a reader never
/// sees a partial file.
#[cfg(feature = "download")]
fn write_cache(dir: &Path, records: &Array2<f64>, targets: &Array1<f64>) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{CALIFORNIA_HOUSING_FILE}.{}.{nanos}.tmp",
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        writeln!(
            out,
            "{},{CALIFORNIA_TARGET_NAME}",
            CALIFORNIA_FEATURE_NAMES.join(",")
        )?;
        for (row, target) in records.rows().into_iter().zip(targets) {
            for value in row {
                // `{}` is Rust's shortest round-trip form, so reading gives the same bits.
                write!(out, "{value},")?;
            }
            writeln!(out, "{target}")?;
        }
        out.into_inner()
            .map_err(|e| MlpTuneError::Io(e.to_string()))?
            .sync_all()?;
        std::fs::rename(&tmp, dir.join(CALIFORNIA_HOUSING_FILE))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Row indices of Géron's train/validation/test split (see
/// [`california_textbook_split`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextbookSplit {
    /// Training rows, in the order scikit-learn returns them.
    pub train: Vec<usize>,
    /// Validation rows, in order.
    pub valid: Vec<usize>,
    /// Test rows, in order.
    pub test: Vec<usize>,
}

impl TextbookSplit {
    /// Selects the three subsets of `data` (train, valid, test), keeping feature and
    /// target names.
    ///
    /// Fails with [`MlpTuneError::InvalidInput`] if an index is out of range.
    ///
    /// ```
    /// use mlp_tune::datasets::{california_textbook_split, diabetes};
    ///
    /// let data = diabetes();
    /// let split = california_textbook_split(data.records().nrows())?;
    /// let (train, valid, test) = split.subsets(&data)?;
    /// assert_eq!(train.records().nrows() + valid.records().nrows() + test.records().nrows(), 442);
    /// # Ok::<(), mlp_tune::MlpTuneError>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn subsets<T: Clone>(
        &self,
        data: &Dataset<f64, T, Ix1>,
    ) -> Result<(
        Dataset<f64, T, Ix1>,
        Dataset<f64, T, Ix1>,
        Dataset<f64, T, Ix1>,
    )> {
        let n = data.records().nrows();
        let pick = |rows: &[usize]| -> Result<Dataset<f64, T, Ix1>> {
            if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
                return Err(MlpTuneError::InvalidInput(format!(
                    "split row {bad} is out of range for {n} samples"
                )));
            }
            Ok(Dataset::new(
                data.records().select(Axis(0), rows),
                data.targets().select(Axis(0), rows),
            )
            .with_feature_names(data.feature_names().to_vec())
            .with_target_names(data.target_names().to_vec()))
        };
        Ok((pick(&self.train)?, pick(&self.valid)?, pick(&self.test)?))
    }
}

/// Géron's split (*Hands-On Machine Learning*, ch. 10): `train_test_split` with
/// `random_state=42` and the default `test_size=0.25`, applied to all rows and then
/// to the remaining training rows.
///
/// For `n_samples = 20640` (California housing) this gives 11610 train, 3870 valid
/// and 5160 test rows, the same rows and order as scikit-learn. Works for any
/// `n_samples >= 3`; smaller values give [`MlpTuneError::Split`] (scikit-learn
/// refuses an empty training set).
///
/// ```
/// let split = mlp_tune::datasets::california_textbook_split(20640)?;
/// assert_eq!((split.train.len(), split.valid.len(), split.test.len()), (11610, 3870, 5160));
/// assert_eq!(&split.test[..3], &[20046, 3024, 15663]);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn california_textbook_split(n_samples: usize) -> Result<TextbookSplit> {
    let (test, train_full) = train_test_split_rs42(&(0..n_samples).collect::<Vec<_>>())?;
    let (valid, train) = train_test_split_rs42(&train_full)?;
    Ok(TextbookSplit { train, valid, test })
}

/// scikit-learn's `train_test_split(rows, random_state=42)`; returns (test, train).
fn train_test_split_rs42(rows: &[usize]) -> Result<(Vec<usize>, Vec<usize>)> {
    let n = rows.len();
    // ceil(0.25 n) as scikit-learn computes it; 0.25 n is exact in f64 for any
    // realistic n, so integer arithmetic gives the same value.
    let n_test = n.div_ceil(4);
    let n_train = n - n_test;
    if n_test == 0 || n_train == 0 {
        return Err(MlpTuneError::Split(format!(
            "with n_samples={n} and test_size=0.25 one of the subsets is empty"
        )));
    }
    if u32::try_from(n).is_err() {
        return Err(MlpTuneError::Split(format!("n_samples={n} is too large")));
    }
    let perm = NumpyRng::new(42).permutation(n);
    let test = perm[..n_test].iter().map(|&p| rows[p]).collect();
    let train = perm[n_test..].iter().map(|&p| rows[p]).collect();
    Ok((test, train))
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

    #[test]
    fn derive_matches_scikit_learn_first_row() {
        let (x, y) =
            derive_california("-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0\n")
                .unwrap();
        assert_eq!(
            x.row(0).to_vec(),
            vec![
                8.3252,
                41.0,
                880.0 / 126.0,
                129.0 / 126.0,
                322.0,
                322.0 / 126.0,
                37.88,
                -122.23
            ]
        );
        assert_eq!(y[0], 4.526);
        assert!(derive_california("1,2,3\n").is_err());
        assert!(derive_california("1,2,3,4,5,6,0,8,9\n").is_err());
        assert!(derive_california("").is_err());
    }

    #[test]
    fn small_splits() {
        assert!(california_textbook_split(2).is_err());
        let s = california_textbook_split(3).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (1, 1, 1));
    }
}
