//! K-fold splitters: `KFold`, `StratifiedKFold` and their repeated forms.

use super::*;

/// K-fold cross-validation (scikit-learn's `KFold`): consecutive chunks of the (optionally
/// shuffled) rows; the first `n_samples % n_splits` folds get one extra row. Train and test
/// indices are returned sorted.
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, KFold, SplitInput};
/// let cv = KFold::new(2).shuffle(true).random_state(0);
/// let folds = cv.split(SplitInput { n_samples: 5, ..Default::default() })?;
/// assert_eq!(folds.len(), 2);
/// assert_eq!(folds[0].test.len(), 3);
/// // an integer seed gives the same folds at every call
/// assert_eq!(folds, cv.split(SplitInput { n_samples: 5, ..Default::default() })?);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KFold {
    /// Number of folds, at least 2 (default 5).
    pub n_splits: usize,
    /// Shuffle the rows once before cutting them into folds (default false).
    pub shuffle: bool,
    /// Seed of the shuffle; must be `None` when `shuffle` is false (as in scikit-learn).
    pub random_state: Option<u32>,
}

impl Default for KFold {
    fn default() -> Self {
        KFold::new(5)
    }
}

impl KFold {
    /// `n_splits` folds, no shuffle.
    pub fn new(n_splits: usize) -> Self {
        KFold {
            n_splits,
            shuffle: false,
            random_state: None,
        }
    }
    /// Whether to shuffle the rows before splitting.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Seed of the shuffle.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = Some(seed);
        self
    }
}

impl CrossValidator for KFold {
    fn n_splits(&self) -> usize {
        self.n_splits
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_n_splits(self.n_splits)?;
        check_shuffle_seed(self.shuffle, self.random_state)?;
        check_not_more_splits_than_samples(self.n_splits, input.n_samples)?;
        let mut rng = self.shuffle.then(|| make_rng(self.random_state));
        Ok(kfold_folds(input.n_samples, self.n_splits, rng.as_mut()))
    }
    fn describe(&self) -> String {
        format!(
            "KFold(n_splits={}, shuffle={}, random_state={:?})",
            self.n_splits, self.shuffle, self.random_state
        )
    }
}

// ----------------------------------------------------------------------------------------
// StratifiedKFold
// ----------------------------------------------------------------------------------------

/// Stratified K-fold (scikit-learn's `StratifiedKFold`): each fold keeps the class
/// proportions as far as possible.
///
/// Needs [`SplitInput::classes`]. scikit-learn warns when the smallest class has fewer
/// than `n_splits` members; this library can't print, so it proceeds silently in that case
/// (those classes are then missing from some test folds) and only errors, as scikit-learn
/// does, when *every* class has fewer than `n_splits` members.
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, SplitInput, StratifiedKFold};
/// let y = [0, 0, 0, 1, 1, 1];
/// let folds = StratifiedKFold::new(3).split(SplitInput {
///     n_samples: 6,
///     classes: Some(&y),
///     groups: None,
/// })?;
/// assert_eq!(folds[0].test, vec![0, 3]);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StratifiedKFold {
    /// Number of folds, at least 2 (default 5).
    pub n_splits: usize,
    /// Shuffle each class's members before assigning them to folds (default false).
    pub shuffle: bool,
    /// Seed of the shuffle; must be `None` when `shuffle` is false (as in scikit-learn).
    pub random_state: Option<u32>,
}

impl Default for StratifiedKFold {
    fn default() -> Self {
        StratifiedKFold::new(5)
    }
}

impl StratifiedKFold {
    /// `n_splits` folds, no shuffle.
    pub fn new(n_splits: usize) -> Self {
        StratifiedKFold {
            n_splits,
            shuffle: false,
            random_state: None,
        }
    }
    /// Whether to shuffle within classes before splitting.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Seed of the shuffle.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = Some(seed);
        self
    }
}

impl CrossValidator for StratifiedKFold {
    fn n_splits(&self) -> usize {
        self.n_splits
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_n_splits(self.n_splits)?;
        check_shuffle_seed(self.shuffle, self.random_state)?;
        let classes = require_classes(&input, "StratifiedKFold")?;
        check_not_more_splits_than_samples(self.n_splits, input.n_samples)?;
        let mut rng = self.shuffle.then(|| make_rng(self.random_state));
        stratified_kfold_folds(classes, self.n_splits, rng.as_mut())
    }
    fn needs_classes(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        format!(
            "StratifiedKFold(n_splits={}, shuffle={}, random_state={:?})",
            self.n_splits, self.shuffle, self.random_state
        )
    }
}

// ----------------------------------------------------------------------------------------
// ShuffleSplit / StratifiedShuffleSplit
// ----------------------------------------------------------------------------------------

pub(super) fn check_n_repeats(n_repeats: usize) -> Result<()> {
    if n_repeats == 0 {
        return Err(invalid_param(
            "n_repeats",
            "number of repetitions must be greater than 0",
        ));
    }
    Ok(())
}

/// [`KFold`] with shuffling, repeated `n_repeats` times (scikit-learn's `RepeatedKFold`).
/// The repeats draw consecutive shuffles from one generator, so they differ from each
/// other while the whole sequence is reproducible for a given seed.
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, RepeatedKFold, SplitInput};
/// let cv = RepeatedKFold::new(3, 2).random_state(0);
/// let folds = cv.split(SplitInput { n_samples: 9, ..Default::default() })?;
/// assert_eq!(folds.len(), 6);
/// assert_eq!(cv.n_splits(), 6);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedKFold {
    /// Folds per repeat, at least 2 (default 5).
    pub n_splits: usize,
    /// Number of repeats, at least 1 (default 10).
    pub n_repeats: usize,
    /// Seed of the generator shared by all repeats.
    pub random_state: Option<u32>,
}

impl Default for RepeatedKFold {
    fn default() -> Self {
        RepeatedKFold::new(5, 10)
    }
}

impl RepeatedKFold {
    /// `n_repeats` shuffled `n_splits`-fold splits.
    pub fn new(n_splits: usize, n_repeats: usize) -> Self {
        RepeatedKFold {
            n_splits,
            n_repeats,
            random_state: None,
        }
    }
    /// Seed of the generator.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = Some(seed);
        self
    }
}

impl CrossValidator for RepeatedKFold {
    fn n_splits(&self) -> usize {
        self.n_splits.saturating_mul(self.n_repeats)
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_n_repeats(self.n_repeats)?;
        check_n_splits(self.n_splits)?;
        check_not_more_splits_than_samples(self.n_splits, input.n_samples)?;
        let mut rng = make_rng(self.random_state);
        let mut folds = Vec::new();
        for _ in 0..self.n_repeats {
            folds.extend(kfold_folds(input.n_samples, self.n_splits, Some(&mut rng)));
        }
        Ok(folds)
    }
    fn describe(&self) -> String {
        format!(
            "RepeatedKFold(n_splits={}, n_repeats={}, random_state={:?})",
            self.n_splits, self.n_repeats, self.random_state
        )
    }
}

/// [`StratifiedKFold`] with shuffling, repeated `n_repeats` times (scikit-learn's
/// `RepeatedStratifiedKFold`), one generator shared by the repeats. Needs
/// [`SplitInput::classes`].
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, RepeatedStratifiedKFold, SplitInput};
/// let y = [0, 1, 0, 1, 0, 1];
/// let cv = RepeatedStratifiedKFold::new(3, 2).random_state(0);
/// let folds = cv.split(SplitInput { n_samples: 6, classes: Some(&y), groups: None })?;
/// assert_eq!(folds.len(), 6);
/// assert!(folds.iter().all(|f| f.test.len() == 2));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedStratifiedKFold {
    /// Folds per repeat, at least 2 (default 5).
    pub n_splits: usize,
    /// Number of repeats, at least 1 (default 10).
    pub n_repeats: usize,
    /// Seed of the generator shared by all repeats.
    pub random_state: Option<u32>,
}

impl Default for RepeatedStratifiedKFold {
    fn default() -> Self {
        RepeatedStratifiedKFold::new(5, 10)
    }
}

impl RepeatedStratifiedKFold {
    /// `n_repeats` shuffled stratified `n_splits`-fold splits.
    pub fn new(n_splits: usize, n_repeats: usize) -> Self {
        RepeatedStratifiedKFold {
            n_splits,
            n_repeats,
            random_state: None,
        }
    }
    /// Seed of the generator.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = Some(seed);
        self
    }
}

impl CrossValidator for RepeatedStratifiedKFold {
    fn n_splits(&self) -> usize {
        self.n_splits.saturating_mul(self.n_repeats)
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_n_repeats(self.n_repeats)?;
        check_n_splits(self.n_splits)?;
        let classes = require_classes(&input, "RepeatedStratifiedKFold")?;
        check_not_more_splits_than_samples(self.n_splits, input.n_samples)?;
        let mut rng = make_rng(self.random_state);
        let mut folds = Vec::new();
        for _ in 0..self.n_repeats {
            folds.extend(stratified_kfold_folds(
                classes,
                self.n_splits,
                Some(&mut rng),
            )?);
        }
        Ok(folds)
    }
    fn needs_classes(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        format!(
            "RepeatedStratifiedKFold(n_splits={}, n_repeats={}, random_state={:?})",
            self.n_splits, self.n_repeats, self.random_state
        )
    }
}

// ----------------------------------------------------------------------------------------
// GroupKFold
// ----------------------------------------------------------------------------------------
