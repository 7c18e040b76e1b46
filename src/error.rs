//! The crate's single error type.

use std::sync::Arc;

use thiserror::Error;

/// A cause kept by an [`MlpTuneError`], behind an `Arc` so the error stays `Clone`. It
/// dereferences to the cause, and [`source`](std::error::Error::source) returns the cause
/// itself, so `downcast_ref` finds its type:
/// `err.source().and_then(|s| s.downcast_ref::<std::io::Error>())`.
pub struct Shared<E: ?Sized>(pub Arc<E>);

impl<E: ?Sized> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<E: ?Sized> std::ops::Deref for Shared<E> {
    type Target = E;
    fn deref(&self) -> &E {
        &self.0
    }
}

impl<E: ?Sized + std::fmt::Debug> std::fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: ?Sized + std::fmt::Display> std::fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The cause of a [`MlpTuneError::Fit`]: any error (often an [`MlpTuneError`] itself).
pub type ErrorSource = Shared<dyn std::error::Error + Send + Sync + 'static>;

/// `"{context}: "`, or nothing for an empty context.
fn prefix(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!("{context}: ")
    }
}

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
    /// Reading or writing failed, described by a message only. The library itself reports
    /// I/O failures as [`IoError`](MlpTuneError::IoError), which keeps the
    /// [`std::io::ErrorKind`]; this variant remains for errors built from text.
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
    /// A fit failed, described by a message only. The library itself reports fit failures
    /// as [`Fit`](MlpTuneError::Fit), which keeps the cause as its source; this variant
    /// remains for errors built from text (e.g. by a user's estimator closure).
    #[error("fit failed: {0}")]
    FitFailed(String),
    /// A model was asked for predictions or scores it does not have: a search that ran
    /// with `refit(false)` has no best estimator.
    #[error("not fitted: {0}")]
    NotFitted(String),
    /// A fit failed, with the error that made it fail as its
    /// [`source`](std::error::Error::source): a search's refit, a fold fit when
    /// `error_score` is set to raise, a linfa estimator's or a pipeline transformer's fit.
    /// The message repeats the cause, so it reads whole where only `Display` is shown
    /// (`cv_results` errors, logs).
    #[error("fit failed: {}{source}", prefix(context))]
    Fit {
        /// What was being fitted (may be empty).
        context: String,
        /// The error the fit returned.
        #[source]
        source: ErrorSource,
    },
    /// Reading or writing a file failed, with the [`std::io::Error`] (and so its
    /// [`kind`](std::io::Error::kind), see [`MlpTuneError::io_kind`]) as the
    /// [`source`](std::error::Error::source).
    #[error("io: {}{source}", prefix(context))]
    IoError {
        /// What was being done, usually naming the file (may be empty).
        context: String,
        /// The operating system's error.
        #[source]
        source: Shared<std::io::Error>,
    },
    /// A search journal cannot be used: missing directory, unreadable, damaged, or written
    /// by a different search.
    #[error("journal {0}")]
    Journal(String),
}

impl From<std::io::Error> for MlpTuneError {
    fn from(err: std::io::Error) -> Self {
        MlpTuneError::io("", err)
    }
}

impl MlpTuneError {
    /// An [`IoError`](MlpTuneError::IoError) keeping `err` (and its kind) as the source;
    /// `context` says what was being done, e.g. `"cannot open data.csv"`.
    pub fn io(context: impl Into<String>, err: std::io::Error) -> Self {
        MlpTuneError::IoError {
            context: context.into(),
            source: Shared(Arc::new(err)),
        }
    }

    /// A [`Fit`](MlpTuneError::Fit) error keeping `err` as the source; `context` says what
    /// was being fitted.
    pub fn fit(
        context: impl Into<String>,
        err: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        MlpTuneError::Fit {
            context: context.into(),
            source: Shared(Arc::new(err)),
        }
    }

    /// The [`std::io::ErrorKind`] of an I/O error (`None` for every other error, and for
    /// the message-only [`Io`](MlpTuneError::Io)).
    ///
    /// ```
    /// use mlp_tune::datasets::{load_csv, CsvOptions};
    /// let err = load_csv("/no/such/file.csv", &CsvOptions::default()).unwrap_err();
    /// assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
    /// ```
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            MlpTuneError::IoError { source, .. } => Some(source.kind()),
            _ => None,
        }
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
