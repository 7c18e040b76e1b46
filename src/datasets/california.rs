//! California housing: the embedded copy, `$MLP_TUNE_DATA`, the user cache and the
//! verified download; and Géron's train/validation/test split.

use std::fs::File;
#[cfg(feature = "download")]
use std::io::Read;
#[cfg(feature = "download")]
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[cfg(feature = "download")]
use flate2::read::GzDecoder;
use linfa::Dataset;
use ndarray::{Array1, Array2, Axis, Ix1};

use super::csv::{load_csv, parse_numeric, CsvOptions};
use crate::error::{MlpTuneError, Result};
use crate::random::NumpyRng;

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

/// sha256 of the decompressed embedded `california_housing.csv` (the crate's
/// `datasets/california_housing.csv.gz`), checked every time
/// [`california_housing_embedded`] decompresses it. It is also the sha256 of the file
/// the download path would write to the cache.
pub const CALIFORNIA_HOUSING_CSV_SHA256: &str =
    "94ef369b909f5c725340b512b7c9a05c1550a554b6592d29303990e3ba521a1f";

#[cfg(feature = "embedded-california")]
const CALIFORNIA_GZ: &[u8] = include_bytes!("../../datasets/california_housing.csv.gz");

/// Path of the raw data inside the archive.
#[cfg(any(feature = "download", test))]
const ARCHIVE_MEMBER: &str = "CaliforniaHousing/cal_housing.data";

/// A safety cap on the download size (the real archive is about 0.4 MB).
#[cfg(feature = "download")]
const MAX_DOWNLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// Where [`california_housing_from`] looks for the data and how it downloads it.
///
/// ```
/// use mlp_tune::datasets::FetchOptions;
///
/// // Keep the test away from `$MLP_TUNE_DATA`, the embedded copy and the real cache,
/// // never download.
/// let options = FetchOptions::default()
///     .use_env(false)
///     .embedded(false)
///     .cache_dir(std::env::temp_dir().join("my-test-cache"))
///     .download(false);
/// assert!(options.cache_dir.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Whether to look in the directory named by `$MLP_TUNE_DATA` first (default `true`).
    pub use_env: bool,
    /// Whether to use the copy compiled into the library (default `true`; needs the
    /// `embedded-california` feature, otherwise this step is skipped).
    pub embedded: bool,
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
            embedded: true,
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

    /// Sets whether the embedded copy (feature `embedded-california`) is used.
    pub fn embedded(mut self, embedded: bool) -> Self {
        self.embedded = embedded;
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
/// The lookup order, first hit wins:
/// 1. `$MLP_TUNE_DATA/california_housing.csv`, if the variable names a directory
///    holding that file;
/// 2. the copy compiled into the library (feature `embedded-california`, on by
///    default; see [`california_housing_embedded`]), checked against
///    [`CALIFORNIA_HOUSING_CSV_SHA256`];
/// 3. `california_housing.csv` in the user cache ([`default_cache_dir`]);
/// 4. scikit-learn's archive, downloaded (feature `download`), checked against
///    [`CALIFORNIA_HOUSING_SHA256`], turned into the same features and cached.
///
/// With the default features, step 2 always succeeds, so no network and no
/// environment variable is needed. Use [`california_housing_from`] to skip steps.
///
/// ```
/// let housing = mlp_tune::datasets::california_housing()?;
/// assert_eq!(housing.records().dim(), (20640, 8));
/// assert_eq!(housing.targets()[0], 4.526);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn california_housing() -> Result<Dataset<f64, f64, Ix1>> {
    california_housing_from(&FetchOptions::default())
}

/// [`california_housing`] with explicit [`FetchOptions`].
///
/// Each step of [`california_housing`]'s lookup order is tried in turn, minus the
/// ones `options` turns off: a `$MLP_TUNE_DATA` without the file, or an empty cache,
/// just moves on to the next one; a file that is present but malformed is an error.
/// Writing the cache is best effort: when the cache directory cannot be written (or
/// none is known) the downloaded data are still returned. The cache file is written to
/// a temporary name and renamed, so it is never seen half-written.
///
/// ```no_run
/// use mlp_tune::datasets::{california_housing_from, FetchOptions};
///
/// // Ignore the embedded copy: read the cache, else download into it.
/// let options = FetchOptions::default()
///     .embedded(false)
///     .cache_dir("/tmp/mlp-tune-cache");
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
    #[cfg(feature = "embedded-california")]
    if options.embedded {
        return california_housing_embedded();
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

/// The California housing copy compiled into the library (feature
/// `embedded-california`, on by default): the crate's
/// `datasets/california_housing.csv.gz`, about 0.7 MB, the same rows, columns and
/// bits as scikit-learn's `fetch_california_housing()`.
///
/// The decompressed bytes are checked against [`CALIFORNIA_HOUSING_CSV_SHA256`] on
/// every call (a mismatch is [`MlpTuneError::InvalidInput`] and cannot happen with an
/// intact build); decompressing, hashing and parsing take a few tens of milliseconds.
///
/// ```
/// let housing = mlp_tune::datasets::california_housing_embedded()?;
/// assert_eq!(housing.records().dim(), (20640, 8));
/// assert_eq!(housing.feature_names()[0], "MedInc");
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[cfg(feature = "embedded-california")]
pub fn california_housing_embedded() -> Result<Dataset<f64, f64, Ix1>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(CALIFORNIA_GZ).read_to_end(&mut bytes)?;
    let digest = sha256_hex(&bytes);
    if digest != CALIFORNIA_HOUSING_CSV_SHA256 {
        return Err(MlpTuneError::InvalidInput(format!(
            "the embedded california housing data is damaged: sha256 {digest}, expected \
             {CALIFORNIA_HOUSING_CSV_SHA256}"
        )));
    }
    let data = super::csv::read_csv(&bytes[..], &CsvOptions::default())?;
    check_california_header(data, "the embedded california housing data")
}

fn not_found_error(cache_dir: Option<&Path>, why: &str) -> MlpTuneError {
    let cache = cache_dir.map_or_else(
        || "no cache directory".to_string(),
        |d| d.display().to_string(),
    );
    MlpTuneError::Download(format!(
        "california housing data not found (looked in ${DATA_DIR_ENV} and {cache}) and {why}; \
         put {CALIFORNIA_HOUSING_FILE} (a header line and 9 columns, target last) in a \
         directory named by ${DATA_DIR_ENV}, or enable the `embedded-california` (no \
         network needed) or `download` feature"
    ))
}

fn load_california_csv(path: &Path) -> Result<Dataset<f64, f64, Ix1>> {
    let data = load_csv(path, &CsvOptions::default())?;
    check_california_header(data, &path.display().to_string())
}

fn check_california_header(
    data: Dataset<f64, f64, Ix1>,
    source: &str,
) -> Result<Dataset<f64, f64, Ix1>> {
    if data.feature_names() != CALIFORNIA_FEATURE_NAMES
        || data.target_names() != [CALIFORNIA_TARGET_NAME]
    {
        return Err(MlpTuneError::Parse {
            line: 1,
            column: 1,
            reason: format!(
                "{source} does not have the header {},{CALIFORNIA_TARGET_NAME}",
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
            .map_err(|e| MlpTuneError::io("", e.into_error()))?
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
