//! The crate's single error type.

use thiserror::Error;

/// Everything that can go wrong in mlp-tune. Messages are lower-case, as in linfa.
#[derive(Error, Debug, Clone)]
#[non_exhaustive]
pub enum MlpTuneError {
    /// An error raised by linfa itself.
    #[error("linfa: {0}")]
    Linfa(#[from] linfa::Error),
    /// A hyperparameter has a value outside its range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name, as used in searches.
        name: String,
        /// Why the value was refused.
        reason: String,
    },
    /// The input data is unusable (NaN, wrong shape, too few rows, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The number of features at predict time differs from the one seen at fit time.
    #[error("expected {expected} features, got {found}")]
    FeatureMismatch {
        /// Features seen at fit time.
        expected: usize,
        /// Features given now.
        found: usize,
    },
    /// Training produced a non-finite loss.
    #[error("loss became non-finite at epoch {epoch}")]
    Diverged {
        /// 1-based epoch at which the loss stopped being finite.
        epoch: usize,
    },
    /// A search-space problem: unknown parameter name, wrong value type, empty grid, ...
    #[error("search space: {0}")]
    SearchSpace(String),
    /// A cross-validation splitter cannot split the data as asked.
    #[error("split: {0}")]
    Split(String),
    /// A scorer cannot be applied (unknown name, needs probabilities, ...).
    #[error("scoring: {0}")]
    Scoring(String),
    /// Reading or writing a dataset or a file failed.
    #[error("io: {0}")]
    Io(String),
    /// A dataset file is malformed.
    #[error("parse error at line {line}, column {column}: {reason}")]
    Parse {
        /// 1-based line number in the file.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// What was wrong.
        reason: String,
    },
    /// Downloading a dataset failed (network, checksum, truncated archive).
    #[error("download: {0}")]
    Download(String),
    /// A search fit failed and `error_score` was set to raise, or the refit failed.
    #[error("fit failed: {0}")]
    FitFailed(String),
    /// A search journal cannot be used: missing directory, unreadable, damaged, or written
    /// by a different search.
    #[error("journal {0}")]
    Journal(String),
}

impl From<std::io::Error> for MlpTuneError {
    fn from(err: std::io::Error) -> Self {
        MlpTuneError::Io(err.to_string())
    }
}

/// `Result` with [`MlpTuneError`].
pub type Result<T> = std::result::Result<T, MlpTuneError>;

pub(crate) fn invalid_param(name: &str, reason: impl Into<String>) -> MlpTuneError {
    MlpTuneError::InvalidParameter {
        name: name.to_string(),
        reason: reason.into(),
    }
}
