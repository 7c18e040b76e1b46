//! Cross-validation splitters (scikit-learn's `model_selection/_split.py`).

use crate::error::{MlpTuneError, Result};
use crate::random::NumpyRng;

/// scikit-learn's `_approximate_mode`: how many of `n_draws` each class gets, with ties in
/// the remainders broken at random from `rng`.
pub(crate) fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut NumpyRng) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    let continuous: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / total as f64 * n_draws as f64)
        .collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(floored.iter().sum());
    if need > 0 {
        let remainder: Vec<f64> = continuous
            .iter()
            .zip(&floored)
            .map(|(c, &f)| c - f as f64)
            .collect();
        let mut values = remainder.clone();
        values.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
        values.dedup();
        for value in values {
            let inds: Vec<usize> = (0..remainder.len())
                .filter(|&i| remainder[i] == value)
                .collect();
            let add = inds.len().min(need);
            let perm = rng.permutation(inds.len());
            for &p in &perm[..add] {
                floored[inds[p]] += 1;
            }
            need -= add;
            if need == 0 {
                break;
            }
        }
    }
    floored
}

/// One `StratifiedShuffleSplit` split drawn from an existing generator: `classes` are class
/// ids in sorted label order. Returns `(train, test)`.
pub(crate) fn stratified_shuffle_split_with(
    classes: &[usize],
    n_train: usize,
    n_test: usize,
    rng: &mut NumpyRng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let n_classes = classes.iter().copied().max().map_or(0, |m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &c) in classes.iter().enumerate() {
        members[c].push(i);
    }
    members.retain(|m| !m.is_empty());
    let counts: Vec<usize> = members.iter().map(|m| m.len()).collect();
    if counts.iter().any(|&c| c < 2) {
        return Err(MlpTuneError::Split(
            "the least populated class has only 1 member, which is too few; the minimum number of members in any class cannot be less than 2".into(),
        ));
    }
    if n_train < counts.len() || n_test < counts.len() {
        return Err(MlpTuneError::Split(format!(
            "the train size {n_train} and test size {n_test} should each be at least the number of classes {}",
            counts.len()
        )));
    }
    let n_i = approximate_mode(&counts, n_train, rng);
    let left: Vec<usize> = counts.iter().zip(&n_i).map(|(c, n)| c - n).collect();
    let t_i = approximate_mode(&left, n_test, rng);
    let mut train = Vec::with_capacity(n_train);
    let mut test = Vec::with_capacity(n_test);
    for (k, class_members) in members.iter().enumerate() {
        let perm = rng.permutation(class_members.len());
        let shuffled: Vec<usize> = perm.iter().map(|&p| class_members[p]).collect();
        train.extend_from_slice(&shuffled[..n_i[k]]);
        test.extend_from_slice(&shuffled[n_i[k]..n_i[k] + t_i[k]]);
    }
    let p = rng.permutation(train.len());
    let train: Vec<usize> = p.iter().map(|&i| train[i]).collect();
    let p = rng.permutation(test.len());
    let test: Vec<usize> = p.iter().map(|&i| test[i]).collect();
    Ok((train, test))
}
