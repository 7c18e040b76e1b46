//! Cross-validation splitters: scikit-learn's `model_selection/_split.py`.
//!
//! Every splitter gives the same folds as scikit-learn 1.9 for the same `random_state`,
//! because all randomness comes from [`NumpyRng`], numpy's legacy `RandomState`, drawn in
//! the order scikit-learn draws.
//!
//! Seeds follow scikit-learn's `check_random_state` for an integer: `random_state:
//! Some(s)` starts a fresh generator at every [`CrossValidator::split`] call, so repeated
//! calls give identical folds. `random_state: None` stands for numpy's global generator:
//! a seed is drawn from [`rand::thread_rng`] at each call, so the folds differ per call
//! (and are not reproducible), as in scikit-learn.
//!
//! ```
//! use mlp_tune::model_selection::{CrossValidator, KFold, SplitInput};
//! let folds = KFold::new(3).split(SplitInput { n_samples: 7, ..Default::default() })?;
//! assert_eq!(folds[0].test, vec![0, 1, 2]);
//! assert_eq!(folds[2].train, vec![0, 1, 2, 3, 4]);
//! # Ok::<(), mlp_tune::MlpTuneError>(())
//! ```

use std::fmt;

use crate::error::{invalid_param, MlpTuneError};
use crate::random::NumpyRng;
use crate::Result;

mod group;
mod kfold;
mod shuffle;

pub use group::*;
pub use kfold::*;
pub use shuffle::*;

/// One train/test split: row indices into the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows to evaluate on.
    pub test: Vec<usize>,
}

/// What a splitter may look at besides the number of rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct SplitInput<'a> {
    /// Number of rows of the dataset.
    pub n_samples: usize,
    /// class of each row, encoded 0..n_classes in SORTED label order (np.unique order); required by stratified splitters
    pub classes: Option<&'a [usize]>,
    /// group id of each row; required by GroupKFold
    pub groups: Option<&'a [usize]>,
}

/// A cross-validation scheme (scikit-learn's CV splitters).
pub trait CrossValidator: Send + Sync + std::fmt::Debug {
    /// number of folds it yields
    fn n_splits(&self) -> usize;
    /// all folds, in scikit-learn's order; errors (typed, never panics) when the data can't be split as asked
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>>;
    /// true when `split` needs `classes`
    fn needs_classes(&self) -> bool {
        false
    }
    /// true when `split` needs `groups`
    fn needs_groups(&self) -> bool {
        false
    }
    /// short description for fingerprints/logs, e.g. "KFold(n_splits=5, shuffle=true, random_state=Some(0))"
    fn describe(&self) -> String {
        format!("{:?}", self)
    }
}

/// A train or test size: a fraction of the rows or an absolute count (scikit-learn's
/// float vs int `test_size`/`train_size`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// A fraction in the open interval `(0, 1)`; a test fraction rounds up, a train
    /// fraction rounds down, as in scikit-learn.
    Fraction(f64),
    /// An absolute number of rows, in `1..n_samples`.
    Count(usize),
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Fraction(x) => write!(f, "{x}"),
            Size::Count(c) => write!(f, "{c}"),
        }
    }
}

fn fmt_opt_size(size: Option<Size>) -> String {
    size.map_or_else(|| "None".to_string(), |s| s.to_string())
}

// ----------------------------------------------------------------------------------------
// shared helpers
// ----------------------------------------------------------------------------------------

/// `check_random_state`: an int seed restarts the stream; `None` plays numpy's global
/// generator, which we can't share, so a fresh seed from the thread RNG stands in for it.
fn make_rng(random_state: Option<u32>) -> NumpyRng {
    match random_state {
        Some(seed) => NumpyRng::new(seed),
        None => NumpyRng::new(rand::Rng::gen(&mut rand::thread_rng())),
    }
}

fn check_n_splits(n_splits: usize) -> Result<()> {
    if n_splits < 2 {
        return Err(invalid_param(
            "n_splits",
            format!(
                "k-fold cross-validation requires at least one train/test split by setting \
                 n_splits=2 or more, got n_splits={n_splits}"
            ),
        ));
    }
    Ok(())
}

fn check_shuffle_seed(shuffle: bool, random_state: Option<u32>) -> Result<()> {
    // scikit-learn refuses this combination rather than silently ignoring the seed.
    if !shuffle && random_state.is_some() {
        return Err(invalid_param(
            "random_state",
            "setting a random_state has no effect since shuffle is false; leave random_state \
             to None, or set shuffle=true",
        ));
    }
    Ok(())
}

fn check_not_more_splits_than_samples(n_splits: usize, n_samples: usize) -> Result<()> {
    if n_splits > n_samples {
        return Err(MlpTuneError::Split(format!(
            "cannot have number of splits n_splits={n_splits} greater than the number of \
             samples: n_samples={n_samples}"
        )));
    }
    Ok(())
}

fn require_classes<'a>(input: &SplitInput<'a>, who: &str) -> Result<&'a [usize]> {
    let classes = input.classes.ok_or_else(|| {
        MlpTuneError::Split(format!(
            "{who} needs the class of every row (classes is none)"
        ))
    })?;
    if classes.len() != input.n_samples {
        return Err(MlpTuneError::Split(format!(
            "classes has {} entries but n_samples={}",
            classes.len(),
            input.n_samples
        )));
    }
    Ok(classes)
}

fn require_groups<'a>(input: &SplitInput<'a>, who: &str) -> Result<&'a [usize]> {
    let groups = input.groups.ok_or_else(|| {
        MlpTuneError::Split(format!(
            "{who} needs the group of every row (groups is none)"
        ))
    })?;
    if groups.len() != input.n_samples {
        return Err(MlpTuneError::Split(format!(
            "groups has {} entries but n_samples={}",
            groups.len(),
            input.n_samples
        )));
    }
    Ok(groups)
}

/// `np.unique(codes, return_inverse=True)`: dense ranks in sorted code order, and the count
/// of each rank. Re-densifying protects against codes with no rows.
fn dense_sorted_codes(codes: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut distinct: Vec<usize> = codes.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let inverse: Vec<usize> = codes
        .iter()
        .map(|c| distinct.binary_search(c).unwrap_or(0))
        .collect();
    let mut counts = vec![0usize; distinct.len()];
    for &c in &inverse {
        counts[c] += 1;
    }
    (inverse, counts)
}

/// Turns a fold number per row into folds: test = rows of fold `i`, train = the rest, both
/// ascending (scikit-learn builds them from boolean masks).
fn folds_from_assignment(fold_of: &[usize], n_splits: usize) -> Vec<Fold> {
    (0..n_splits)
        .map(|f| {
            let mut train = Vec::with_capacity(fold_of.len());
            let mut test = Vec::new();
            for (row, &g) in fold_of.iter().enumerate() {
                if g == f {
                    test.push(row);
                } else {
                    train.push(row);
                }
            }
            Fold { train, test }
        })
        .collect()
}

/// `KFold._iter_test_indices` followed by the mask-based `split`.
fn kfold_folds(n_samples: usize, n_splits: usize, rng: Option<&mut NumpyRng>) -> Vec<Fold> {
    let mut indices: Vec<usize> = (0..n_samples).collect();
    if let Some(rng) = rng {
        rng.shuffle(&mut indices);
    }
    let mut fold_of = vec![0usize; n_samples];
    let base = n_samples / n_splits;
    let extra = n_samples % n_splits;
    let mut start = 0;
    for f in 0..n_splits {
        let size = base + usize::from(f < extra);
        for &row in &indices[start..start + size] {
            fold_of[row] = f;
        }
        start += size;
    }
    folds_from_assignment(&fold_of, n_splits)
}

/// `StratifiedKFold._make_test_folds` followed by the mask-based `split`.
fn stratified_kfold_folds(
    classes: &[usize],
    n_splits: usize,
    mut rng: Option<&mut NumpyRng>,
) -> Result<Vec<Fold>> {
    // scikit-learn numbers classes by first appearance, not by sorted label; any bijective
    // encoding of the labels gives the same first-appearance numbering.
    let mut first_seen: std::collections::HashMap<usize, usize> = Default::default();
    let encoded: Vec<usize> = classes
        .iter()
        .map(|&c| {
            let next = first_seen.len();
            *first_seen.entry(c).or_insert(next)
        })
        .collect();
    let n_classes = first_seen.len();
    let mut counts = vec![0usize; n_classes];
    for &c in &encoded {
        counts[c] += 1;
    }
    // scikit-learn only warns when *some* class is smaller than n_splits (those classes
    // are then missing from some test folds); it refuses only when all of them are.
    if counts.iter().all(|&c| c < n_splits) {
        return Err(MlpTuneError::Split(format!(
            "n_splits={n_splits} cannot be greater than the number of members in each class"
        )));
    }
    let mut y_order = encoded.clone();
    y_order.sort_unstable();
    // allocation[i][c] = members of class c in y_order[i::n_splits]
    let mut allocation = vec![vec![0usize; n_classes]; n_splits];
    for (pos, &c) in y_order.iter().enumerate() {
        allocation[pos % n_splits][c] += 1;
    }
    let mut fold_of = vec![0usize; classes.len()];
    for c in 0..n_classes {
        let mut folds_for_class: Vec<usize> = allocation
            .iter()
            .enumerate()
            .flat_map(|(f, per_class)| std::iter::repeat_n(f, per_class[c]))
            .collect();
        if let Some(rng) = rng.as_deref_mut() {
            rng.shuffle(&mut folds_for_class);
        }
        let mut next = folds_for_class.into_iter();
        for (row, &rc) in encoded.iter().enumerate() {
            if rc == c {
                fold_of[row] = next.next().unwrap_or(0);
            }
        }
    }
    Ok(folds_from_assignment(&fold_of, n_splits))
}

/// scikit-learn's `_validate_shuffle_split`: `(n_train, n_test)`.
fn validate_shuffle_split(
    n_samples: usize,
    test_size: Option<Size>,
    train_size: Option<Size>,
    default_test_size: Size,
) -> Result<(usize, usize)> {
    let test_size = if test_size.is_none() && train_size.is_none() {
        Some(default_test_size)
    } else {
        test_size
    };
    let check = |name: &str, size: Option<Size>| -> Result<()> {
        let bad = match size {
            Some(Size::Count(c)) => c >= n_samples || c == 0,
            Some(Size::Fraction(f)) => !(f > 0.0 && f < 1.0),
            None => false,
        };
        if bad {
            return Err(invalid_param(
                name,
                format!(
                    "{name}={} should be either positive and smaller than the number of \
                     samples {n_samples} or a float in the (0, 1) range",
                    fmt_opt_size(size)
                ),
            ));
        }
        Ok(())
    };
    check("test_size", test_size)?;
    check("train_size", train_size)?;
    if let (Some(Size::Fraction(tr)), Some(Size::Fraction(te))) = (train_size, test_size) {
        if tr + te > 1.0 {
            return Err(invalid_param(
                "test_size",
                format!(
                    "the sum of test_size and train_size = {}, should be in the (0, 1) range; \
                     reduce test_size and/or train_size",
                    tr + te
                ),
            ));
        }
    }
    let resolve = |size: Size, round_up: bool| -> usize {
        match size {
            Size::Count(c) => c,
            Size::Fraction(f) => {
                let x = f * n_samples as f64;
                (if round_up { x.ceil() } else { x.floor() }) as usize
            }
        }
    };
    let (n_train, n_test) = match (train_size, test_size) {
        (None, Some(te)) => {
            let n_test = resolve(te, true);
            (n_samples.saturating_sub(n_test), n_test)
        }
        (Some(tr), None) => {
            let n_train = resolve(tr, false);
            (n_train, n_samples.saturating_sub(n_train))
        }
        (Some(tr), Some(te)) => (resolve(tr, false), resolve(te, true)),
        // unreachable: a default test size was filled in above
        (None, None) => (n_samples, 0),
    };
    if n_train + n_test > n_samples {
        return Err(MlpTuneError::Split(format!(
            "the sum of train_size and test_size = {}, should be smaller than the number of \
             samples {n_samples}; reduce test_size and/or train_size",
            n_train + n_test
        )));
    }
    if n_train == 0 {
        return Err(MlpTuneError::Split(format!(
            "with n_samples={n_samples}, test_size={} and train_size={}, the resulting train \
             set will be empty; adjust any of the aforementioned parameters",
            fmt_opt_size(test_size),
            fmt_opt_size(train_size)
        )));
    }
    Ok((n_train, n_test))
}

/// scikit-learn's `_approximate_mode`: how many of `n_draws` each class gets, ties in the
/// rounding broken at random.
fn approximate_mode(class_counts: &[usize], n_draws: usize, rng: &mut NumpyRng) -> Vec<usize> {
    let total: usize = class_counts.iter().sum();
    // same operation order as numpy: counts / sum * n_draws
    let continuous: Vec<f64> = class_counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let floored: Vec<f64> = continuous.iter().map(|x| x.floor()).collect();
    let mut result: Vec<usize> = floored.iter().map(|&x| x as usize).collect();
    let floored_sum: f64 = floored.iter().sum();
    let mut need = (n_draws as f64 - floored_sum) as i64;
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, f)| c - f)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add_now = inds.len().min(need as usize);
            // rng.choice(inds, add_now, replace=False) draws a full permutation
            let perm = rng.permutation(inds.len());
            for &p in &perm[..add_now] {
                result[inds[p]] += 1;
            }
            need -= add_now as i64;
            if need == 0 {
                break;
            }
        }
    }
    result
}

// ----------------------------------------------------------------------------------------
// KFold
// ----------------------------------------------------------------------------------------

/// Row indices `(train, test)` exactly as scikit-learn's
/// `train_test_split(np.arange(n_samples), test_size=..., random_state=..., stratify=...)`
/// returns them (shuffled order, not sorted).
///
/// `n_test = ceil(test_size * n_samples)` for a fraction, the train set is the rest; the
/// split is the first one of [`ShuffleSplit`], or of [`StratifiedShuffleSplit`] when
/// `stratify` (the class of each row, see [`SplitInput::classes`]) is given.
///
/// ```
/// use mlp_tune::model_selection::{train_test_split_indices, Size};
/// let (train, test) = train_test_split_indices(10, Size::Fraction(0.25), Some(42), None)?;
/// assert_eq!((train.len(), test.len()), (7, 3));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn train_test_split_indices(
    n_samples: usize,
    test_size: Size,
    random_state: Option<u32>,
    stratify: Option<&[usize]>,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let (n_train, n_test) =
        validate_shuffle_split(n_samples, Some(test_size), None, Size::Fraction(0.25))?;
    let input = SplitInput {
        n_samples,
        classes: stratify,
        groups: None,
    };
    let folds = match stratify {
        None => ShuffleSplit {
            n_splits: 1,
            test_size: Some(Size::Count(n_test)),
            train_size: Some(Size::Count(n_train)),
            random_state,
        }
        .split(input)?,
        Some(_) => StratifiedShuffleSplit {
            n_splits: 1,
            test_size: Some(Size::Count(n_test)),
            train_size: Some(Size::Count(n_train)),
            random_state,
        }
        .split(input)?,
    };
    let fold = folds
        .into_iter()
        .next()
        .ok_or_else(|| MlpTuneError::Split("no split was produced".to_string()))?;
    Ok((fold.train, fold.test))
}

/// A linfa dataset with one target per row.
type Dataset1<F, T> = linfa::Dataset<F, T, ndarray::Ix1>;

/// scikit-learn's `train_test_split` for a linfa dataset: `(train, test)` datasets holding
/// the rows of [`train_test_split_indices`], in that (shuffled) order. Sample weights and
/// feature names are carried over.
///
/// ```
/// use linfa::Dataset;
/// use mlp_tune::model_selection::{train_test_split, Size};
/// use ndarray::{Array1, Array2};
/// let ds = Dataset::new(Array2::<f64>::zeros((8, 2)), Array1::from_vec((0..8).collect()));
/// let (train, test) = train_test_split(&ds, Size::Count(2), Some(0), None)?;
/// assert_eq!((train.targets().len(), test.targets().len()), (6, 2));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn train_test_split<F: Clone, T: Clone>(
    dataset: &Dataset1<F, T>,
    test_size: Size,
    random_state: Option<u32>,
    stratify: Option<&[usize]>,
) -> Result<(Dataset1<F, T>, Dataset1<F, T>)> {
    let n = dataset.records().nrows();
    if dataset.targets().len() != n {
        return Err(MlpTuneError::InvalidInput(format!(
            "dataset has {n} records but {} targets",
            dataset.targets().len()
        )));
    }
    let (train, test) = train_test_split_indices(n, test_size, random_state, stratify)?;
    let take = |rows: &[usize]| {
        let mut part = linfa::Dataset::new(
            dataset.records().select(ndarray::Axis(0), rows),
            dataset.targets().select(ndarray::Axis(0), rows),
        )
        .with_feature_names(dataset.feature_names().to_vec());
        if let Some(w) = dataset.weights() {
            part = part.with_weights(rows.iter().map(|&r| w[r]).collect());
        }
        part
    };
    Ok((take(&train), take(&test)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(n: usize) -> SplitInput<'static> {
        SplitInput {
            n_samples: n,
            ..Default::default()
        }
    }

    fn assert_partition(folds: &[Fold], n: usize) {
        let mut seen = vec![0usize; n];
        for f in folds {
            let mut all: Vec<usize> = f.train.iter().chain(&f.test).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
            for &t in &f.test {
                seen[t] += 1;
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn kfold_sizes_first_folds_larger() {
        let folds = KFold::new(3).split(plain(11)).unwrap();
        let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
        assert_eq!(sizes, vec![4, 4, 3]);
        assert_eq!(folds[1].test, vec![4, 5, 6, 7]);
        assert_partition(&folds, 11);
    }

    #[test]
    fn kfold_shuffled_is_sorted_and_deterministic() {
        let cv = KFold::new(4).shuffle(true).random_state(7);
        let a = cv.split(plain(23)).unwrap();
        let b = cv.split(plain(23)).unwrap();
        assert_eq!(a, b);
        assert_partition(&a, 23);
        for f in &a {
            assert!(f.test.windows(2).all(|w| w[0] < w[1]));
            assert!(f.train.windows(2).all(|w| w[0] < w[1]));
        }
        assert_ne!(a, KFold::new(4).split(plain(23)).unwrap());
    }

    #[test]
    fn kfold_seed_from_thread_rng_still_partitions() {
        let folds = KFold::new(5).shuffle(true).split(plain(17)).unwrap();
        assert_partition(&folds, 17);
    }

    #[test]
    fn kfold_bad_parameters() {
        assert!(matches!(
            KFold::new(1).split(plain(10)),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
        assert!(matches!(
            KFold::new(11).split(plain(10)),
            Err(MlpTuneError::Split(_))
        ));
        assert!(matches!(
            KFold::new(3).random_state(0).split(plain(10)),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
        assert_eq!(
            KFold::new(5).shuffle(true).random_state(0).describe(),
            "KFold(n_splits=5, shuffle=true, random_state=Some(0))"
        );
    }

    #[test]
    fn stratified_errors() {
        let y = [0, 0, 1, 1, 2, 2];
        let input = SplitInput {
            n_samples: 6,
            classes: Some(&y),
            groups: None,
        };
        // every class smaller than k
        assert!(matches!(
            StratifiedKFold::new(3).split(input),
            Err(MlpTuneError::Split(_))
        ));
        // missing or mis-sized classes
        assert!(StratifiedKFold::new(2).split(plain(6)).is_err());
        let short = [0, 1];
        let bad = SplitInput {
            n_samples: 6,
            classes: Some(&short),
            groups: None,
        };
        assert!(StratifiedKFold::new(2).split(bad).is_err());
        assert!(StratifiedShuffleSplit::new(2).split(bad).is_err());
        // a singleton class
        let y1 = [0, 0, 0, 1, 1, 1, 2];
        let single = SplitInput {
            n_samples: 7,
            classes: Some(&y1),
            groups: None,
        };
        assert!(StratifiedShuffleSplit::new(2)
            .test_size(Size::Fraction(0.5))
            .split(single)
            .is_err());
        // fewer test rows than classes
        let y2 = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
        let tiny = SplitInput {
            n_samples: 12,
            classes: Some(&y2),
            groups: None,
        };
        assert!(StratifiedShuffleSplit::new(2)
            .test_size(Size::Count(2))
            .split(tiny)
            .is_err());
    }

    #[test]
    fn stratified_proceeds_when_only_some_classes_small() {
        let y = [0, 0, 0, 0, 1, 1];
        let input = SplitInput {
            n_samples: 6,
            classes: Some(&y),
            groups: None,
        };
        let folds = StratifiedKFold::new(3).split(input).unwrap();
        assert_partition(&folds, 6);
    }

    #[test]
    fn shuffle_split_sizes_and_errors() {
        let cv = ShuffleSplit::new(2)
            .train_size(Size::Fraction(0.5))
            .test_size(Size::Count(3))
            .random_state(1);
        let folds = cv.split(plain(11)).unwrap();
        assert_eq!((folds[0].train.len(), folds[0].test.len()), (5, 3));
        assert_eq!(folds, cv.split(plain(11)).unwrap());
        // default test size 0.1 -> ceil(1.1) = 2
        let d = ShuffleSplit::default()
            .random_state(0)
            .split(plain(11))
            .unwrap();
        assert_eq!((d.len(), d[0].test.len(), d[0].train.len()), (10, 2, 9));
        for bad in [
            Size::Fraction(0.0),
            Size::Fraction(1.0),
            Size::Fraction(f64::NAN),
            Size::Count(0),
            Size::Count(11),
        ] {
            assert!(ShuffleSplit::new(2)
                .test_size(bad)
                .split(plain(11))
                .is_err());
        }
        assert!(ShuffleSplit::new(2)
            .test_size(Size::Fraction(0.6))
            .train_size(Size::Fraction(0.6))
            .split(plain(11))
            .is_err());
        assert!(ShuffleSplit::new(2)
            .test_size(Size::Count(6))
            .train_size(Size::Count(6))
            .split(plain(11))
            .is_err());
    }

    #[test]
    fn approximate_mode_sums() {
        let mut rng = NumpyRng::new(0);
        let got = approximate_mode(&[3, 5, 2], 7, &mut rng);
        assert_eq!(got.iter().sum::<usize>(), 7);
    }

    #[test]
    fn repeated_kfold_differs_between_repeats() {
        let folds = RepeatedKFold::new(3, 2)
            .random_state(0)
            .split(plain(12))
            .unwrap();
        assert_eq!(folds.len(), 6);
        assert_partition(&folds[..3], 12);
        assert_partition(&folds[3..], 12);
        assert_ne!(folds[..3], folds[3..]);
        assert!(RepeatedKFold::new(3, 0).split(plain(12)).is_err());
    }

    #[test]
    fn group_kfold_balances_and_errors() {
        let groups = [5, 5, 5, 5, 1, 1, 1, 2, 2, 3];
        let input = SplitInput {
            n_samples: 10,
            classes: None,
            groups: Some(&groups),
        };
        let folds = GroupKFold::new(2).split(input).unwrap();
        assert_partition(&folds, 10);
        // sizes 4 (g5), 3 (g1), 2 (g2), 1 (g3): 4 -> f0, 3 -> f1, 2 -> f1, 1 -> f0
        assert_eq!(folds[0].test, vec![0, 1, 2, 3, 9]);
        assert_eq!(folds[1].test, vec![4, 5, 6, 7, 8]);
        for f in &folds {
            for &t in &f.test {
                assert!(f.train.iter().all(|&r| groups[r] != groups[t]));
            }
        }
        assert!(GroupKFold::new(5).split(input).is_err());
        assert!(GroupKFold::new(2).split(plain(10)).is_err());
        assert!(GroupKFold::new(2).needs_groups());
    }

    #[test]
    fn train_test_split_stratified_keeps_counts() {
        let y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let (train, test) =
            train_test_split_indices(12, Size::Fraction(0.5), Some(3), Some(&y)).unwrap();
        assert_eq!((train.len(), test.len()), (6, 6));
        assert_eq!(test.iter().filter(|&&i| y[i] == 1).count(), 3);
        assert!(train_test_split_indices(12, Size::Fraction(1.5), None, None).is_err());
    }

    #[test]
    fn train_test_split_dataset_follows_indices() {
        let records = ndarray::Array2::from_shape_fn((10, 2), |(r, c)| (r * 10 + c) as f64);
        let targets = ndarray::Array1::from_vec((0..10usize).collect());
        let ds = linfa::Dataset::new(records, targets)
            .with_weights(ndarray::Array1::from_shape_fn(10, |r| r as f32));
        let (train, test) = train_test_split(&ds, Size::Fraction(0.25), Some(42), None).unwrap();
        let (tr, te) = train_test_split_indices(10, Size::Fraction(0.25), Some(42), None).unwrap();
        assert_eq!(train.targets().to_vec(), tr);
        assert_eq!(test.targets().to_vec(), te);
        assert_eq!(test.records()[[0, 1]], (te[0] * 10 + 1) as f64);
        assert_eq!(test.weights().unwrap()[0], te[0] as f32);
    }
}
