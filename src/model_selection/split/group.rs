//! Splitters that keep groups together: `GroupKFold`, and `Grouped` for any splitter.

use super::*;

/// K-fold with non-overlapping groups (scikit-learn's `GroupKFold`, its deterministic
/// `shuffle=False` algorithm): groups are taken from largest to smallest and each goes to
/// the fold with the fewest rows so far (the first such fold on ties), so every group is in
/// exactly one test fold and the folds are about the same size.
///
/// Needs [`SplitInput::groups`] with at least `n_splits` distinct groups. Among groups of
/// equal size the one with the larger id is placed first (what numpy's reversed `argsort`
/// does for small arrays; numpy does not promise an order for ties in large ones).
///
/// ```
/// use mlp_tune::model_selection::{CrossValidator, GroupKFold, SplitInput};
/// let groups = [0, 0, 0, 1, 1, 2];
/// let folds = GroupKFold::new(2).split(SplitInput {
///     n_samples: 6,
///     classes: None,
///     groups: Some(&groups),
/// })?;
/// assert_eq!(folds[0].test, vec![0, 1, 2]);
/// assert_eq!(folds[1].test, vec![3, 4, 5]);
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKFold {
    /// Number of folds, at least 2 (default 5).
    pub n_splits: usize,
}

impl Default for GroupKFold {
    fn default() -> Self {
        GroupKFold::new(5)
    }
}

impl GroupKFold {
    /// `n_splits` group folds.
    pub fn new(n_splits: usize) -> Self {
        GroupKFold { n_splits }
    }
}

impl CrossValidator for GroupKFold {
    fn n_splits(&self) -> usize {
        self.n_splits
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        check_n_splits(self.n_splits)?;
        check_not_more_splits_than_samples(self.n_splits, input.n_samples)?;
        let groups = require_groups(&input, "GroupKFold")?;
        let (group_of, sizes) = dense_sorted_codes(groups);
        let n_groups = sizes.len();
        if self.n_splits > n_groups {
            return Err(MlpTuneError::Split(format!(
                "cannot have number of splits n_splits={} greater than the number of groups: \
                 {n_groups}",
                self.n_splits
            )));
        }
        let mut order: Vec<usize> = (0..n_groups).collect();
        order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(b.cmp(&a)));
        let mut fold_weight = vec![0usize; self.n_splits];
        let mut group_to_fold = vec![0usize; n_groups];
        for g in order {
            let mut lightest = 0;
            for f in 1..self.n_splits {
                if fold_weight[f] < fold_weight[lightest] {
                    lightest = f;
                }
            }
            fold_weight[lightest] += sizes[g];
            group_to_fold[g] = lightest;
        }
        let fold_of: Vec<usize> = group_of.iter().map(|&g| group_to_fold[g]).collect();
        Ok(folds_from_assignment(&fold_of, self.n_splits))
    }
    fn needs_groups(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        format!("GroupKFold(n_splits={})", self.n_splits)
    }
}

/// A splitter bound to the group of every row, so that a group splitter such as
/// [`GroupKFold`] can be used wherever a plain splitter is: in a search
/// ([`Cv::splitter`](crate::model_selection::Cv::splitter)), in [`cross_validate`](crate::model_selection::cross_validate)
/// and [`cross_val_score`](crate::model_selection::cross_val_score). scikit-learn passes `groups` to
/// `fit`; here the groups travel with the splitter, so every search and validation
/// function takes them without a new argument.
///
/// The groups must have one entry per row of the data the splitter is used on; otherwise
/// splitting is a [`MlpTuneError::Split`] error.
///
/// ```
/// use mlp_tune::model_selection::{by_name, Cv, GridSearchCV, GroupKFold, Grouped, ParamGrid};
/// use mlp_tune::neural_network::{MLPClassifier, Solver};
///
/// let iris = mlp_tune::datasets::iris();
/// // Ten groups of 15 rows (say, ten patients): no group is in both a train and a test fold.
/// let groups: Vec<usize> = (0..150).map(|i| i % 10).collect();
/// let cv = Cv::splitter(Grouped::new(GroupKFold::new(5), groups));
/// let base = MLPClassifier::params().solver(Solver::Lbfgs).max_iter(20).random_state(0);
/// let search = GridSearchCV::new(by_name(base), ParamGrid::new().add("alpha", [1e-4, 1e-2]))
///     .cv_with(cv)
///     .fit(&iris)
///     .unwrap();
/// assert_eq!(search.n_splits(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct Grouped<S> {
    splitter: S,
    groups: Vec<usize>,
}

impl<S: CrossValidator> Grouped<S> {
    /// `splitter` with the group id of each row (any integers; only equality matters).
    pub fn new(splitter: S, groups: Vec<usize>) -> Self {
        Grouped { splitter, groups }
    }

    /// The group of each row.
    pub fn groups(&self) -> &[usize] {
        &self.groups
    }
}

impl<S: CrossValidator> CrossValidator for Grouped<S> {
    fn n_splits(&self) -> usize {
        self.splitter.n_splits()
    }
    fn split(&self, input: SplitInput<'_>) -> Result<Vec<Fold>> {
        if self.groups.len() != input.n_samples {
            return Err(MlpTuneError::Split(format!(
                "{} was given {} groups for {} rows",
                self.splitter.describe(),
                self.groups.len(),
                input.n_samples
            )));
        }
        self.splitter.split(SplitInput {
            groups: Some(&self.groups),
            ..input
        })
    }
    fn needs_classes(&self) -> bool {
        self.splitter.needs_classes()
    }
    fn describe(&self) -> String {
        format!("{} with groups", self.splitter.describe())
    }
}

// ----------------------------------------------------------------------------------------
// train_test_split
// ----------------------------------------------------------------------------------------
