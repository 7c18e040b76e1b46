//! Random permutation splitters: `ShuffleSplit` and `StratifiedShuffleSplit`.

use super::*;

/// Random permutation cross-validation (scikit-learn's `ShuffleSplit`): `n_splits`
/// independent random train/test splits. Indices come in permutation order (not sorted),
/// and a row may be in neither set when `train_size + test_size < 1`.
///
/// `test_size` defaults to `Fraction(0.1)` when neither size is given; when only
/// `train_size` is given, the test set is the rest.
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, ShuffleSplit, Size, SplitInput};
/// let cv = ShuffleSplit::new(3).test_size(Size::Fraction(0.25)).random_state(0);
/// let folds = cv.split(SplitInput { n_samples: 10, ..Default::default() })?;
/// assert_eq!(folds.len(), 3);
/// assert_eq!((folds[0].train.len(), folds[0].test.len()), (7, 3));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ShuffleSplit {
    /// Number of re-shuffling and splitting iterations (default 10).
    pub n_splits: usize,
    /// Size of the test set (`None`: 0.1 if `train_size` is `None` too, else the rest).
    pub test_size: Option<Size>,
    /// Size of the train set (`None`: the rest).
    pub train_size: Option<Size>,
    /// Seed of the permutations.
    pub random_state: Option<u32>,
}

impl Default for ShuffleSplit {
    fn default() -> Self {
        ShuffleSplit::new(10)
    }
}

impl ShuffleSplit {
    /// `n_splits` random splits with the default sizes.
    pub fn new(n_splits: usize) -> Self {
        ShuffleSplit {
            n_splits,
            test_size: None,
            train_size: None,
            random_state: None,
        }
    }
    /// Size of the test set.
    pub fn test_size(mut self, size: Size) -> Self {
        self.test_size = Some(size);
        self
    }
    /// Size of the train set.
    pub fn train_size(mut self, size: Size) -> Self {
        self.train_size = Some(size);
        self
    }
    /// Seed of the permutations.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = Some(seed);
        self
    }
}

pub(super) fn check_shuffle_n_splits(n_splits: usize) -> Result<()> {
    if n_splits == 0 {
        return Err(invalid_param("n_splits", "must be at least 1, got 0"));
    }
    Ok(())
}

impl CrossValidator for ShuffleSplit {
    fn n_splits(&self) -> usize {
        self.n_splits
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_shuffle_n_splits(self.n_splits)?;
        let n = input.n_samples;
        let (n_train, n_test) =
            validate_shuffle_split(n, self.test_size, self.train_size, Size::Fraction(0.1))?;
        let mut rng = make_rng(self.random_state);
        Ok((0..self.n_splits)
            .map(|_| {
                let perm = rng.permutation(n);
                Fold {
                    train: perm[n_test..n_test + n_train].to_vec(),
                    test: perm[..n_test].to_vec(),
                }
            })
            .collect())
    }
    fn describe(&self) -> String {
        format!(
            "ShuffleSplit(n_splits={}, test_size={}, train_size={}, random_state={:?})",
            self.n_splits,
            fmt_opt_size(self.test_size),
            fmt_opt_size(self.train_size),
            self.random_state
        )
    }
}

/// Stratified random splits (scikit-learn's `StratifiedShuffleSplit`): like
/// [`ShuffleSplit`] but each split keeps the class proportions (rounding decided by
/// scikit-learn's `_approximate_mode`, ties broken at random).
///
/// Needs [`SplitInput::classes`]. Errors when a class has fewer than 2 members, or when the
/// train or test set would be smaller than the number of classes.
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, Size, SplitInput, StratifiedShuffleSplit};
/// let y = [0, 0, 0, 0, 1, 1, 1, 1];
/// let cv = StratifiedShuffleSplit::new(2).test_size(Size::Fraction(0.5)).random_state(0);
/// let folds = cv.split(SplitInput { n_samples: 8, classes: Some(&y), groups: None })?;
/// let test_ones = folds[0].test.iter().filter(|&&i| y[i] == 1).count();
/// assert_eq!(test_ones, 2);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StratifiedShuffleSplit {
    /// Number of re-shuffling and splitting iterations (default 10).
    pub n_splits: usize,
    /// Size of the test set (`None`: 0.1 if `train_size` is `None` too, else the rest).
    pub test_size: Option<Size>,
    /// Size of the train set (`None`: the rest).
    pub train_size: Option<Size>,
    /// Seed of the permutations.
    pub random_state: Option<u32>,
}

impl Default for StratifiedShuffleSplit {
    fn default() -> Self {
        StratifiedShuffleSplit::new(10)
    }
}

impl StratifiedShuffleSplit {
    /// `n_splits` stratified random splits with the default sizes.
    pub fn new(n_splits: usize) -> Self {
        StratifiedShuffleSplit {
            n_splits,
            test_size: None,
            train_size: None,
            random_state: None,
        }
    }
    /// Size of the test set.
    pub fn test_size(mut self, size: Size) -> Self {
        self.test_size = Some(size);
        self
    }
    /// Size of the train set.
    pub fn train_size(mut self, size: Size) -> Self {
        self.train_size = Some(size);
        self
    }
    /// Seed of the permutations.
    pub fn random_state(mut self, seed: u32) -> Self {
        self.random_state = Some(seed);
        self
    }
}

/// One `StratifiedShuffleSplit` split drawn from an existing generator, returning
/// `(train, test)`. The MLPs' early-stopping split calls it with their own generator, so the
/// draws continue the fit's stream as in scikit-learn.
pub(crate) fn stratified_shuffle_split_with(
    classes: &[usize],
    n_train: usize,
    n_test: usize,
    rng: &mut NumpyRng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let (y_indices, class_counts) = dense_sorted_codes(classes);
    let n_classes = class_counts.len();
    if class_counts.iter().any(|&c| c < 2) {
        return Err(MlpTuneError::Split(
            "the least populated class in y has only 1 member, which is too few; the \
             minimum number of groups for any class cannot be less than 2"
                .to_string(),
        ));
    }
    if n_train < n_classes {
        return Err(MlpTuneError::Split(format!(
            "the train_size = {n_train} should be greater or equal to the number of \
             classes = {n_classes}"
        )));
    }
    if n_test < n_classes {
        return Err(MlpTuneError::Split(format!(
            "the test_size = {n_test} should be greater or equal to the number of \
             classes = {n_classes}"
        )));
    }
    let mut class_indices: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (row, &c) in y_indices.iter().enumerate() {
        class_indices[c].push(row);
    }
    let n_i = approximate_mode(&class_counts, n_train, rng);
    let remaining: Vec<usize> = class_counts
        .iter()
        .zip(&n_i)
        .map(|(c, n)| c.saturating_sub(*n))
        .collect();
    let t_i = approximate_mode(&remaining, n_test, rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for c in 0..n_classes {
        let perm = rng.permutation(class_counts[c]);
        let members: Vec<usize> = perm.iter().map(|&p| class_indices[c][p]).collect();
        // clamped like numpy's `take(mode="clip")`, so float rounding can't panic
        let a = n_i[c].min(members.len());
        let b = (n_i[c] + t_i[c]).min(members.len());
        train.extend_from_slice(&members[..a]);
        test.extend_from_slice(&members[a..b]);
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    Ok((train, test))
}

impl CrossValidator for StratifiedShuffleSplit {
    fn n_splits(&self) -> usize {
        self.n_splits
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_shuffle_n_splits(self.n_splits)?;
        let classes = require_classes(&input, "StratifiedShuffleSplit")?;
        let (n_train, n_test) = validate_shuffle_split(
            input.n_samples,
            self.test_size,
            self.train_size,
            Size::Fraction(0.1),
        )?;
        let mut rng = make_rng(self.random_state);
        let mut folds = Vec::with_capacity(self.n_splits);
        for _ in 0..self.n_splits {
            let (train, test) = stratified_shuffle_split_with(classes, n_train, n_test, &mut rng)?;
            folds.push(Fold { train, test });
        }
        Ok(folds)
    }
    fn needs_classes(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        format!(
            "StratifiedShuffleSplit(n_splits={}, test_size={}, train_size={}, random_state={:?})",
            self.n_splits,
            fmt_opt_size(self.test_size),
            fmt_opt_size(self.train_size),
            self.random_state
        )
    }
}

// ----------------------------------------------------------------------------------------
// RepeatedKFold / RepeatedStratifiedKFold
// ----------------------------------------------------------------------------------------
