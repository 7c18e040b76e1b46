//! Model selection: scikit-learn's `sklearn.model_selection`.
//!
//! The module map mirrors scikit-learn's `model_selection/` package:
//! - [`split`] (`_split.py`): cross-validation splitters ([`KFold`], [`StratifiedKFold`],
//!   [`ShuffleSplit`], [`StratifiedShuffleSplit`], [`RepeatedKFold`],
//!   [`RepeatedStratifiedKFold`], [`GroupKFold`]) behind the [`CrossValidator`] trait, and
//!   [`train_test_split_indices`] / [`train_test_split`];
//! - `_validation.py` (cross-validation scores) and `_search.py` (grid and randomized
//!   searches) will live next to it.

pub mod param_space;
pub mod split;

pub use split::{
    train_test_split, train_test_split_indices, CrossValidator, Fold, GroupKFold, KFold,
    RepeatedKFold, RepeatedStratifiedKFold, ShuffleSplit, Size, SplitInput, StratifiedKFold,
    StratifiedShuffleSplit,
};
