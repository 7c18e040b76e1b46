//! Helpers shared by the examples: command-line flags, the textbook California split with
//! standardization, progress on stderr for searches (a bar in a terminal, one line per fit
//! otherwise; the library itself never prints) and the pictures' folder.
#![allow(dead_code)]

pub mod hyperband;
pub mod learned;
pub mod synthetic;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use linfa::Dataset;
use mlp_tune::datasets::{california_housing, california_textbook_split};
use mlp_tune::model_selection::{FitEvent, SearchObserver};
use mlp_tune::progress::SearchProgress;
use ndarray::{Array1, Array2, Axis, Ix1};

/// `--name value` from the command line, parsed, or `default`.
pub fn flag<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Mean and population std of each column of `x` (scikit-learn's StandardScaler; a zero std
/// becomes 1).
pub fn standard_scaler(x: &Array2<f64>) -> (Array1<f64>, Array1<f64>) {
    let mean = x.mean_axis(Axis(0)).expect("non-empty");
    let std = x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s == 0.0 { 1.0 } else { s });
    (mean, std)
}

pub fn transform(x: &Array2<f64>, stats: &(Array1<f64>, Array1<f64>)) -> Array2<f64> {
    (x - &stats.0) / &stats.1
}

/// Géron's split (11610 train / 3870 valid / 5160 test), standardized with training-set
/// statistics.
pub struct California {
    pub train: Dataset<f64, f64, Ix1>,
    pub valid: Dataset<f64, f64, Ix1>,
    pub test: Dataset<f64, f64, Ix1>,
}

/// Géron's split of the raw features (for pipelines that scale inside each fold).
pub fn california_raw() -> California {
    let data = match california_housing() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot load California housing: {e}");
            eprintln!("build with the default `embedded-california` feature, set MLP_TUNE_DATA to a folder holding california_housing.csv, or allow the download");
            std::process::exit(2);
        }
    };
    let split = california_textbook_split(data.records.nrows()).expect("20640 rows split");
    let pick = |rows: &[usize]| {
        Dataset::new(
            data.records.select(Axis(0), rows),
            data.targets.select(Axis(0), rows),
        )
    };
    California {
        train: pick(&split.train),
        valid: pick(&split.valid),
        test: pick(&split.test),
    }
}

/// Géron's split, standardized with training-set statistics.
pub fn california() -> California {
    let raw = california_raw();
    let stats = standard_scaler(&raw.train.records);
    let scale = |d: Dataset<f64, f64, Ix1>| Dataset::new(transform(&d.records, &stats), d.targets);
    California {
        train: scale(raw.train),
        valid: scale(raw.valid),
        test: scale(raw.test),
    }
}

pub fn mse(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    (a - b).mapv(|v| v * v).mean().unwrap_or(f64::NAN)
}

/// Prints one line per finished fit to stderr: `[done/total] candidate c fold s score (t s)`.
#[derive(Default)]
pub struct ProgressPrinter {
    total: AtomicUsize,
    done: AtomicUsize,
    best: Mutex<f64>,
}

impl SearchObserver for ProgressPrinter {
    fn on_search_start(&self, n_candidates: usize, n_splits: usize) {
        self.total.store(n_candidates * n_splits, Ordering::SeqCst);
        *self.best.lock().expect("lock") = f64::NEG_INFINITY;
        eprintln!(
            "fitting {n_splits} folds for each of {n_candidates} candidates, totalling {} fits",
            n_candidates * n_splits
        );
    }

    fn on_fit_end(&self, e: &FitEvent) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let total = self.total.load(Ordering::SeqCst);
        let mut best = self.best.lock().expect("lock");
        if e.score > *best {
            *best = e.score;
        }
        match &e.error {
            Some(err) => eprintln!("[{done:>3}/{total}] candidate {:>2} fold {} FAILED: {err}", e.candidate, e.split),
            None => eprintln!(
                "[{done:>3}/{total}] candidate {:>2} fold {} score {:>9.4} ({:.2} s) best so far {:.4}",
                e.candidate, e.split, e.score, e.seconds, *best
            ),
        }
    }

    fn on_refit_end(&self, seconds: f64) {
        eprintln!("refit of the best candidate: {seconds:.2} s");
    }
}

/// How a search shows its progress on stderr.
pub enum Progress {
    /// indicatif's bar (stderr is a terminal).
    Bar(Arc<SearchProgress>),
    /// Plain lines (logs, CI), kept because a bar is invisible there.
    Lines(Arc<dyn SearchObserver>),
}

impl Progress {
    /// A bar when stderr is a terminal, else `lines`.
    pub fn new(lines: impl SearchObserver + 'static) -> Self {
        if std::io::stderr().is_terminal() {
            Progress::Bar(Arc::new(SearchProgress::new()))
        } else {
            Progress::Lines(Arc::new(lines))
        }
    }

    /// A bar in a terminal, [`ProgressPrinter`]'s lines elsewhere.
    pub fn default_lines() -> Self {
        Self::new(ProgressPrinter::default())
    }

    /// The observer to attach to the search.
    pub fn observer(&self) -> Arc<dyn SearchObserver> {
        match self {
            Progress::Bar(bar) => bar.clone(),
            Progress::Lines(lines) => lines.clone(),
        }
    }

    /// Leaves the bar at its final state before the report is printed.
    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}

/// `--plot-dir DIR` (default `target/plots`): where the examples write their pictures.
pub fn plot_dir() -> PathBuf {
    PathBuf::from(flag("--plot-dir", "target/plots".to_string()))
}

/// Writes the picture `name` into the `--plot-dir` folder (created if missing). A failure is
/// a warning on stderr: it never changes the example's output or exit status.
pub fn save_picture(name: &str, draw: impl FnOnce(&Path) -> mlp_tune::Result<()>) {
    let dir = plot_dir();
    let path = dir.join(name);
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| mlp_tune::MlpTuneError::io(dir.display().to_string(), e))
        .and_then(|()| draw(&path));
    match written {
        Ok(()) => eprintln!("picture: {}", path.display()),
        Err(e) => eprintln!("warning: picture {} not written: {e}", path.display()),
    }
}

/// The first trial (counted from 1) whose mean CV score reaches `target`.
pub fn trials_to_reach(
    results: &mlp_tune::model_selection::CvResults,
    target: f64,
) -> Option<usize> {
    results
        .primary()
        .mean_test
        .iter()
        .position(|&s| s >= target)
        .map(|i| i + 1)
}

/// The best score after each trial.
pub fn best_so_far(results: &mlp_tune::model_selection::CvResults) -> Vec<f64> {
    let mut best = f64::NEG_INFINITY;
    results
        .primary()
        .mean_test
        .iter()
        .map(|&s| {
            if s > best {
                best = s;
            }
            best
        })
        .collect()
}
