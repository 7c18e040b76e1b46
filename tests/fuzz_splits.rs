//! Property tests of the cross-validation splitters and `train_test_split` over random
//! arguments: any number of rows, folds, repeats, sizes, seeds, classes and groups.
//!
//! Whatever the arguments, a splitter answers with folds or a typed error (never a panic),
//! and the folds it gives keep the invariants scikit-learn's do: train and test are
//! disjoint row sets inside `0..n_samples`; for the k-fold splitters every row is in exactly
//! one test fold per repeat; stratified k-fold folds keep every class's share within one
//! row; group folds never split a group; shuffle splits have the sizes asked for.

use linfa::Dataset;
use mlp_tune::model_selection::{
    train_test_split, train_test_split_indices, CrossValidator, Fold, GroupKFold, Grouped, KFold,
    RepeatedKFold, RepeatedStratifiedKFold, ShuffleSplit, Size, SplitInput, StratifiedKFold,
    StratifiedShuffleSplit,
};
use mlp_tune::MlpTuneError;
use ndarray::{Array1, Array2};
use proptest::prelude::*;

fn split_error(e: &MlpTuneError) -> bool {
    matches!(
        e,
        MlpTuneError::Split(_) | MlpTuneError::InvalidParameter { .. }
    )
}

/// Train and test are disjoint, duplicate-free and inside `0..n`.
fn check_fold(fold: &Fold, n: usize) -> std::result::Result<(), TestCaseError> {
    let mut seen = vec![0u8; n];
    for &r in fold.train.iter().chain(&fold.test) {
        prop_assert!(r < n, "row {r} out of 0..{n}");
        seen[r] += 1;
        prop_assert!(seen[r] == 1, "row {r} twice in one split");
    }
    Ok(())
}

/// Every row is in exactly one test fold of each consecutive group of `k` folds, and each
/// fold's train set is the complement of its test set.
fn check_partition(folds: &[Fold], n: usize, k: usize) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(folds.len() % k, 0);
    for repeat in folds.chunks(k) {
        let mut in_test = vec![0usize; n];
        for fold in repeat {
            check_fold(fold, n)?;
            prop_assert_eq!(fold.train.len() + fold.test.len(), n);
            for &r in &fold.test {
                in_test[r] += 1;
            }
        }
        prop_assert!(
            in_test.iter().all(|&c| c == 1),
            "test folds do not partition the rows"
        );
    }
    Ok(())
}

/// Stratified k-fold: a class with `m` members has `floor(m/k)` or `ceil(m/k)` of them in
/// each test fold (its share within one row).
fn check_stratified(
    folds: &[Fold],
    classes: &[usize],
    k: usize,
) -> std::result::Result<(), TestCaseError> {
    let n_classes = classes.iter().max().map_or(0, |m| m + 1);
    let mut members = vec![0usize; n_classes];
    for &c in classes {
        members[c] += 1;
    }
    for fold in folds {
        let mut counts = vec![0usize; n_classes];
        for &r in &fold.test {
            counts[classes[r]] += 1;
        }
        for c in 0..n_classes {
            let lo = members[c] / k;
            let hi = members[c].div_ceil(k);
            prop_assert!(
                (lo..=hi).contains(&counts[c]),
                "class {c}: {} of {} members in a test fold of {k}",
                counts[c],
                members[c]
            );
        }
    }
    Ok(())
}

fn any_size() -> impl Strategy<Value = Size> {
    prop_oneof![
        (0usize..40).prop_map(Size::Count),
        prop_oneof![
            Just(0.0),
            Just(1.0),
            Just(0.5),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.1),
            0.0..1.0f64,
        ]
        .prop_map(Size::Fraction),
    ]
}

fn classes_of(n: usize) -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        proptest::collection::vec(0usize..3, n..=n),
        proptest::collection::vec(0usize..6, n..=n),
        // Sparse, unordered labels: only equality matters.
        proptest::collection::vec(
            prop_oneof![Just(7usize), Just(1000), Just(usize::MAX)],
            n..=n
        ),
    ]
}

fn rows_and_classes() -> impl Strategy<Value = (usize, Vec<usize>)> {
    (0usize..40).prop_flat_map(|n| (Just(n), classes_of(n)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 15_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn kfold_partitions_the_rows(
        n in 0usize..60, k in 0usize..12, shuffle: bool, seed in proptest::option::of(any::<u32>()),
    ) {
        let mut cv = KFold::new(k).shuffle(shuffle);
        cv.random_state = seed;
        match cv.split(SplitInput { n_samples: n, ..Default::default() }) {
            Ok(folds) => {
                prop_assert!(k >= 2 && k <= n && (shuffle || seed.is_none()));
                prop_assert_eq!(folds.len(), k);
                check_partition(&folds, n, k)?;
                // Sizes differ by at most one, larger folds first.
                for w in folds.windows(2) {
                    prop_assert!(w[0].test.len() >= w[1].test.len());
                    prop_assert!(w[0].test.len() - w[1].test.len() <= 1);
                }
            }
            Err(e) => {
                prop_assert!(split_error(&e), "{e:?}");
                prop_assert!(k < 2 || k > n || (!shuffle && seed.is_some()));
            }
        }
    }

    #[test]
    fn repeated_kfold_partitions_each_repeat(
        n in 0usize..40, k in 0usize..8, repeats in 0usize..4, seed: u32,
    ) {
        let cv = RepeatedKFold::new(k, repeats).random_state(seed);
        match cv.split(SplitInput { n_samples: n, ..Default::default() }) {
            Ok(folds) => {
                prop_assert_eq!(folds.len(), k * repeats);
                prop_assert_eq!(cv.n_splits(), folds.len());
                check_partition(&folds, n, k)?;
            }
            Err(e) => {
                prop_assert!(split_error(&e), "{e:?}");
                prop_assert!(k < 2 || k > n || repeats == 0);
            }
        }
    }

    #[test]
    fn stratified_kfold_keeps_class_shares(
        (n, classes) in rows_and_classes(),
        k in 0usize..8,
        shuffle: bool,
        seed: u32,
        repeats in 1usize..3,
    ) {
        // Dense codes for the share check; the splitter sees the raw labels.
        let mut distinct = classes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let dense: Vec<usize> = classes.iter().map(|c| distinct.binary_search(c).unwrap()).collect();
        let input = SplitInput { n_samples: n, classes: Some(&classes), groups: None };

        let cv = if shuffle {
            StratifiedKFold::new(k).shuffle(true).random_state(seed)
        } else {
            StratifiedKFold::new(k)
        };
        match cv.split(input) {
            Ok(folds) => {
                prop_assert_eq!(folds.len(), k);
                check_partition(&folds, n, k)?;
                check_stratified(&folds, &dense, k)?;
            }
            Err(e) => prop_assert!(split_error(&e), "{e:?}"),
        }
        let repeated = RepeatedStratifiedKFold::new(k, repeats).random_state(seed);
        match repeated.split(input) {
            Ok(folds) => {
                prop_assert_eq!(folds.len(), k * repeats);
                check_partition(&folds, n, k)?;
                check_stratified(&folds, &dense, k)?;
            }
            Err(e) => prop_assert!(split_error(&e), "{e:?}"),
        }
        // Classes of the wrong length are refused, not indexed out of bounds.
        let short = &classes[..n.saturating_sub(1)];
        if n > 0 {
            let bad = SplitInput { n_samples: n, classes: Some(short), groups: None };
            prop_assert!(cv.split(bad).is_err());
        }
        let no_classes = SplitInput { n_samples: n, ..Default::default() };
        prop_assert!(cv.split(no_classes).is_err());
    }

    #[test]
    fn shuffle_splits_have_the_sizes_asked_for(
        (n, classes) in rows_and_classes(),
        n_splits in 0usize..5,
        test_size in proptest::option::of(any_size()),
        train_size in proptest::option::of(any_size()),
        seed: u32,
    ) {
        let mut plain = ShuffleSplit::new(n_splits).random_state(seed);
        plain.test_size = test_size;
        plain.train_size = train_size;
        let input = SplitInput { n_samples: n, classes: Some(&classes), groups: None };
        let plain_folds = plain.split(input);
        match &plain_folds {
            Ok(folds) => {
                prop_assert_eq!(folds.len(), n_splits);
                for f in folds {
                    check_fold(f, n)?;
                    prop_assert!(!f.train.is_empty());
                    prop_assert_eq!(&f.train.len(), &folds[0].train.len());
                    prop_assert_eq!(&f.test.len(), &folds[0].test.len());
                    if let Some(Size::Count(c)) = test_size {
                        prop_assert_eq!(f.test.len(), c);
                    }
                    if let Some(Size::Count(c)) = train_size {
                        prop_assert_eq!(f.train.len(), c);
                    }
                }
            }
            Err(e) => prop_assert!(split_error(e), "{e:?}"),
        }
        let mut stratified = StratifiedShuffleSplit::new(n_splits).random_state(seed);
        stratified.test_size = test_size;
        stratified.train_size = train_size;
        match stratified.split(input) {
            Ok(folds) => {
                // Same size rules as the plain splitter; only the draws differ.
                let plain_folds = plain_folds.as_ref().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(folds.len(), n_splits);
                for (f, p) in folds.iter().zip(plain_folds) {
                    check_fold(f, n)?;
                    prop_assert_eq!(f.train.len(), p.train.len());
                    prop_assert_eq!(f.test.len(), p.test.len());
                }
            }
            Err(e) => prop_assert!(split_error(&e), "{e:?}"),
        }
    }

    #[test]
    fn group_kfold_never_splits_a_group(
        n in 0usize..50,
        k in 0usize..7,
        n_groups in 1usize..12,
        raw in proptest::collection::vec(any::<usize>(), 50),
    ) {
        let groups: Vec<usize> = raw[..n].iter().map(|g| g % n_groups * 1_000_003).collect();
        let input = SplitInput { n_samples: n, classes: None, groups: Some(&groups) };
        match GroupKFold::new(k).split(input) {
            Ok(folds) => {
                prop_assert_eq!(folds.len(), k);
                check_partition(&folds, n, k)?;
                for f in &folds {
                    prop_assert!(!f.test.is_empty());
                    for &t in &f.test {
                        prop_assert!(f.train.iter().all(|&r| groups[r] != groups[t]));
                    }
                }
            }
            Err(e) => prop_assert!(split_error(&e), "{e:?}"),
        }
        // Bound to its groups, the splitter refuses data of another length.
        let grouped = Grouped::new(GroupKFold::new(k), groups.clone());
        let longer = SplitInput { n_samples: n + 1, ..Default::default() };
        prop_assert!(grouped.split(longer).is_err());
        let same = grouped.split(SplitInput { n_samples: n, ..Default::default() });
        prop_assert_eq!(same.ok(), GroupKFold::new(k).split(input).ok());
    }

    #[test]
    fn train_test_split_takes_every_row_once(
        (n, classes) in rows_and_classes(),
        test_size in any_size(),
        seed in proptest::option::of(any::<u32>()),
        stratify: bool,
    ) {
        let stratify = stratify.then_some(classes.as_slice());
        match train_test_split_indices(n, test_size, seed, stratify) {
            Ok((train, test)) => {
                check_fold(&Fold { train: train.clone(), test: test.clone() }, n)?;
                prop_assert!(!train.is_empty() && !test.is_empty());
                if stratify.is_none() {
                    prop_assert_eq!(train.len() + test.len(), n);
                }
                // The dataset version carries the same rows.
                let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * 2 + j) as f64);
                let ds = Dataset::new(x, Array1::from(classes.clone()));
                let (tr, te) = train_test_split(&ds, test_size, seed, stratify)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                if seed.is_some() {
                    let rows: Vec<usize> =
                        tr.records().column(0).iter().map(|v| *v as usize / 2).collect();
                    prop_assert_eq!(&rows, &train);
                }
                prop_assert_eq!(tr.records().nrows() + te.records().nrows(), train.len() + test.len());
            }
            Err(e) => prop_assert!(split_error(&e), "{e:?}"),
        }
    }
}
