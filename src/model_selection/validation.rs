//! Cross-validation (scikit-learn's `model_selection/_validation.py`) over any
//! [`Estimator`].

use std::time::Instant;

use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::Float;
use ndarray::{ArrayView1, ArrayView2, Axis};

use super::estimator::check_rows;
pub use super::estimator::{ContinueTraining, Estimator, FittedPipeline, LinfaEstimator, Pipeline};
use super::scoring::{ScoreTarget, Scorer};
use super::split::{CrossValidator, Fold, KFold, SplitInput, StratifiedKFold};
use crate::error::{MlpTuneError, Result};

/// The cross-validation scheme of a search: a number of folds (stratified for classifiers,
/// plain unshuffled K-fold for regressors, as scikit-learn's `cv=k`) or any splitter.
#[derive(Debug, Clone)]
pub enum Cv {
    /// `cv=k`.
    Folds(usize),
    /// Any splitter.
    Splitter(std::sync::Arc<dyn CrossValidator>),
}

impl Default for Cv {
    fn default() -> Self {
        Cv::Folds(5)
    }
}

impl Cv {
    /// Wraps a splitter.
    pub fn splitter(splitter: impl CrossValidator + 'static) -> Self {
        Cv::Splitter(std::sync::Arc::new(splitter))
    }

    pub(crate) fn folds(
        &self,
        n_samples: usize,
        classes: Option<&[usize]>,
        classifier: bool,
    ) -> Result<Vec<Fold>> {
        let input = SplitInput {
            n_samples,
            classes,
            groups: None,
        };
        match self {
            Cv::Folds(k) if classifier => StratifiedKFold::new(*k).split(input),
            Cv::Folds(k) => KFold::new(*k).split(input),
            Cv::Splitter(s) => s.split(input),
        }
    }

    /// A description for logs and fingerprints.
    pub fn describe(&self, classifier: bool) -> String {
        match self {
            Cv::Folds(k) if classifier => format!("StratifiedKFold(n_splits={k})"),
            Cv::Folds(k) => format!("KFold(n_splits={k})"),
            Cv::Splitter(s) => s.describe(),
        }
    }
}

/// Class ids (sorted label order) when the targets are labels.
pub(crate) fn class_ids<T: ScoreTarget + PartialOrd>(
    y: ArrayView1<T>,
    classes: &[T],
) -> Option<Vec<usize>> {
    if !T::is_label() {
        return None;
    }
    Some(
        y.iter()
            .map(|v| {
                classes
                    .iter()
                    .position(|c| c.partial_cmp(v) == Some(std::cmp::Ordering::Equal))
                    .unwrap_or(0)
            })
            .collect(),
    )
}

/// The outcome of one (candidate, fold) fit.
#[derive(Debug, Clone)]
pub(crate) struct FoldOutcome {
    pub(crate) test_scores: Vec<f64>,
    pub(crate) train_scores: Option<Vec<f64>>,
    pub(crate) fit_time: f64,
    pub(crate) score_time: f64,
    pub(crate) error: Option<String>,
}

/// Fits on the fold's training rows and scores its test rows. Only this fold's rows are
/// materialized; the dataset itself is shared.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_and_score<F, T, E>(
    estimator: &E,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    fold: &Fold,
    scorers: &[Scorer<T>],
    classes: &[T],
    return_train_score: bool,
    error_score: Option<f64>,
) -> Result<(FoldOutcome, Option<E::Model>)>
where
    F: Float,
    T: ScoreTarget,
    E: Estimator<F, T>,
{
    fit_and_score_by(
        estimator,
        x,
        y,
        fold,
        scorers,
        classes,
        return_train_score,
        error_score,
        |x, y, rows| estimator.fit_rows(x, y, rows),
    )
}

/// [`fit_and_score`] with the fit supplied by the caller (a fresh fit, or the continuation
/// of an earlier model on the same rows), called with the shared data and the fold's
/// training rows.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_and_score_by<F, T, E>(
    estimator: &E,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    fold: &Fold,
    scorers: &[Scorer<T>],
    classes: &[T],
    return_train_score: bool,
    error_score: Option<f64>,
    fit: impl FnOnce(ArrayView2<F>, ArrayView1<T>, &[usize]) -> Result<E::Model>,
) -> Result<(FoldOutcome, Option<E::Model>)>
where
    F: Float,
    T: ScoreTarget,
    E: Estimator<F, T>,
{
    let started = Instant::now();
    // Tasks are the parallelism of a search: kernels inside stay on one thread.
    let fitted = crate::neural_network::with_single_threaded_kernels(|| fit(x, y, &fold.train));
    let fit_time = started.elapsed().as_secs_f64();
    let failed = |error: MlpTuneError, score_time: f64| match error_score {
        Some(value) => Ok((
            FoldOutcome {
                test_scores: vec![value; scorers.len()],
                train_scores: return_train_score.then(|| vec![value; scorers.len()]),
                fit_time,
                score_time,
                error: Some(error.to_string()),
            },
            None,
        )),
        None => Err(error),
    };
    let model = match fitted {
        Ok(m) => m,
        Err(e) => return failed(MlpTuneError::fit("", e), 0.0),
    };
    let started = Instant::now();
    let test_scores = score_all(estimator, &model, x, y, &fold.test, scorers, classes);
    let train_scores = if return_train_score {
        Some(score_all(
            estimator,
            &model,
            x,
            y,
            &fold.train,
            scorers,
            classes,
        ))
    } else {
        None
    };
    let score_time = started.elapsed().as_secs_f64();
    match test_scores.and_then(|t| Ok((t, train_scores.transpose()?))) {
        Ok((test_scores, train_scores)) => Ok((
            FoldOutcome {
                test_scores,
                train_scores,
                fit_time,
                score_time,
                error: None,
            },
            Some(model),
        )),
        Err(e) => failed(e, score_time),
    }
}

/// Scores the rows `rows` of the shared data; only their targets are copied.
fn score_all<F, T, E>(
    estimator: &E,
    model: &E::Model,
    x: ArrayView2<F>,
    y: ArrayView1<T>,
    rows: &[usize],
    scorers: &[Scorer<T>],
    classes: &[T],
) -> Result<Vec<f64>>
where
    F: Float,
    T: ScoreTarget,
    E: Estimator<F, T>,
{
    check_rows(y.len(), rows)?;
    let pred = estimator.predict_rows(model, x, rows)?;
    let proba = if scorers.iter().any(|s| s.needs_proba()) {
        match estimator.predict_proba_rows(model, x, rows) {
            Some(p) => Some(p?),
            None => None,
        }
    } else {
        None
    };
    let y = y.select(Axis(0), rows);
    scorers
        .iter()
        .map(|s| {
            T::score(
                s,
                y.view(),
                pred.view(),
                proba.as_ref().map(|p| p.view()),
                classes,
            )
        })
        .collect()
}

/// Per-fold results of [`cross_validate`].
#[derive(Debug, Clone)]
pub struct CrossValidateResult<M> {
    /// Scorer names, in the order of the score vectors.
    pub scorer_names: Vec<String>,
    /// `test_scores[s][fold]`.
    pub test_scores: Vec<Vec<f64>>,
    /// `train_scores[s][fold]` when asked for.
    pub train_scores: Option<Vec<Vec<f64>>>,
    /// Seconds to fit each fold.
    pub fit_time: Vec<f64>,
    /// Seconds to score each fold.
    pub score_time: Vec<f64>,
    /// The fitted model of each fold when asked for.
    pub estimators: Option<Vec<M>>,
}

/// Options of [`cross_validate`].
#[derive(Debug, Clone, Default)]
pub struct CrossValidateOptions {
    /// Also score the training rows.
    pub return_train_score: bool,
    /// Keep each fold's fitted model.
    pub return_estimator: bool,
    /// Threads (0 or 1 = sequential). Results do not depend on it.
    pub n_jobs: usize,
}

/// Runs `f` on every item on `n_jobs` threads (the calling thread and `n_jobs - 1` more)
/// and returns the results in item order.
///
/// Items start in list order, each on the first thread that is free (list scheduling), so
/// a caller that lists its costliest tasks first gets the shortest tail: fits differ in
/// cost by 100× (a 3×99-neuron network next to a linear one), and a long fit started last
/// leaves the other threads idle until it ends. The calling thread takes tasks too instead
/// of waiting: every thread that allocates gets its own allocator arena (glibc) and
/// packing buffer (faer), so one thread fewer is about 1 MB less resident memory.
pub(crate) fn run_parallel<I: Sync, R: Send>(
    n_jobs: usize,
    items: &[I],
    f: impl Fn(&I) -> R + Sync + Send,
) -> Result<Vec<R>> {
    run_parallel_with_side_work(n_jobs, items, f, |_| {})
}

/// [`run_parallel`], and before each item it takes (and once when none is left) a worker
/// calls `between(next)` with the index of the first item not yet started (`items.len()`
/// when all have started): the place for side work that pays only when it fills a thread
/// the tail of the list would leave idle (a search refits its current leader there). One
/// worker never calls it.
pub(crate) fn run_parallel_with_side_work<I: Sync, R: Send>(
    n_jobs: usize,
    items: &[I],
    f: impl Fn(&I) -> R + Sync + Send,
    between: impl Fn(usize) + Sync + Send,
) -> Result<Vec<R>> {
    let workers = n_jobs.min(items.len());
    if workers <= 1 {
        return Ok(items.iter().map(f).collect());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let work = || loop {
        between(
            next.load(std::sync::atomic::Ordering::Relaxed)
                .min(items.len()),
        );
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(item) = items.get(i) else { break };
        let result = f(item);
        if let Ok(mut slot) = slots[i].lock() {
            *slot = Some(result);
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..workers {
            // A thread that cannot be started leaves its share to the others: the calling
            // thread works until the list is empty.
            let _ = std::thread::Builder::new()
                .name("mlp-tune-search".into())
                .spawn_scoped(scope, work);
        }
        work();
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten())
        .collect::<Option<Vec<R>>>()
        .ok_or_else(|| MlpTuneError::FitFailed("a parallel task did not finish".into()))
}

/// scikit-learn's `cross_validate`: per-fold test scores for several scorers, optional
/// train scores, fit and score times and fitted models.
pub fn cross_validate<F, T, E, R, TT>(
    estimator: &E,
    dataset: &DatasetBase<R, TT>,
    cv: &dyn CrossValidator,
    scorers: &[Scorer<T>],
    options: &CrossValidateOptions,
) -> Result<CrossValidateResult<E::Model>>
where
    F: Float,
    T: ScoreTarget + PartialOrd,
    E: Estimator<F, T>,
    R: Records + AsView2<F>,
    TT: linfa::dataset::AsSingleTargets<Elem = T>,
{
    let (x, y) = dataset_views(dataset)?;
    if scorers.is_empty() {
        return Err(MlpTuneError::Scoring("no scorer given".into()));
    }
    let classes = T::classes_of(y.view());
    let ids = class_ids(y.view(), &classes);
    let folds = cv.split(SplitInput {
        n_samples: x.nrows(),
        classes: ids.as_deref(),
        groups: None,
    })?;
    let outcomes = run_parallel(options.n_jobs, &folds, |fold| {
        fit_and_score(
            estimator,
            x,
            y.view(),
            fold,
            scorers,
            &classes,
            options.return_train_score,
            None,
        )
    })?;
    let mut result = CrossValidateResult {
        scorer_names: scorers.iter().map(|s| s.name()).collect(),
        test_scores: vec![Vec::new(); scorers.len()],
        train_scores: options
            .return_train_score
            .then(|| vec![Vec::new(); scorers.len()]),
        fit_time: Vec::new(),
        score_time: Vec::new(),
        estimators: options.return_estimator.then(Vec::new),
    };
    for outcome in outcomes {
        let (o, model) = outcome?;
        for (s, v) in o.test_scores.iter().enumerate() {
            result.test_scores[s].push(*v);
        }
        if let (Some(train), Some(scores)) = (&mut result.train_scores, &o.train_scores) {
            for (s, v) in scores.iter().enumerate() {
                train[s].push(*v);
            }
        }
        result.fit_time.push(o.fit_time);
        result.score_time.push(o.score_time);
        if let (Some(list), Some(m)) = (&mut result.estimators, model) {
            list.push(m);
        }
    }
    Ok(result)
}

/// scikit-learn's `cross_val_score`: one scorer's test score per fold.
pub fn cross_val_score<F, T, E, R, TT>(
    estimator: &E,
    dataset: &DatasetBase<R, TT>,
    cv: &dyn CrossValidator,
    scorer: &Scorer<T>,
) -> Result<Vec<f64>>
where
    F: Float,
    T: ScoreTarget + PartialOrd,
    E: Estimator<F, T>,
    R: Records + AsView2<F>,
    TT: linfa::dataset::AsSingleTargets<Elem = T>,
{
    let result = cross_validate(
        estimator,
        dataset,
        cv,
        std::slice::from_ref(scorer),
        &CrossValidateOptions::default(),
    )?;
    Ok(result.test_scores.into_iter().next().unwrap_or_default())
}

/// The records and single targets of a dataset as views, checked to have as many rows.
pub(crate) fn dataset_views<'a, F, T, R, TT>(
    dataset: &'a DatasetBase<R, TT>,
) -> Result<(ArrayView2<'a, F>, ArrayView1<'a, T>)>
where
    R: Records + AsView2<F>,
    TT: AsSingleTargets<Elem = T>,
{
    let x = dataset.records.as_view2();
    let y = dataset.as_single_targets();
    if y.len() != x.nrows() {
        return Err(MlpTuneError::InvalidInput(format!(
            "records have {} rows but targets have {}",
            x.nrows(),
            y.len()
        )));
    }
    Ok((x, y))
}

/// Records viewable as a 2-D array (owned arrays and views).
pub trait AsView2<F> {
    /// The records as a view.
    fn as_view2(&self) -> ArrayView2<'_, F>;
}

impl<F, S: ndarray::Data<Elem = F>> AsView2<F> for ndarray::ArrayBase<S, ndarray::Ix2> {
    fn as_view2(&self) -> ArrayView2<'_, F> {
        self.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Every item runs exactly once, on at most `n_jobs` threads, the results come back in
    /// item order, and items start in list order.
    #[test]
    fn run_parallel_runs_each_item_once_in_list_order() {
        for n_jobs in [1, 2, 3, 20] {
            let items: Vec<usize> = (0..13).collect();
            let started = Mutex::new(Vec::new());
            let threads = Mutex::new(std::collections::BTreeSet::new());
            let runs = AtomicUsize::new(0);
            let results = run_parallel(n_jobs, &items, |&i| {
                if let Ok(mut s) = started.lock() {
                    s.push(i);
                }
                if let Ok(mut t) = threads.lock() {
                    t.insert(format!("{:?}", std::thread::current().id()));
                }
                runs.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                i * 10
            })
            .unwrap();
            assert_eq!(results, items.iter().map(|i| i * 10).collect::<Vec<_>>());
            assert_eq!(runs.load(Ordering::SeqCst), items.len());
            assert!(threads.lock().unwrap().len() <= n_jobs.max(1));
            let started = started.into_inner().unwrap();
            // Taken in list order: a later item never starts before an earlier one is taken
            // (the start log can only swap neighbours taken at the same instant).
            for (k, &i) in started.iter().enumerate() {
                assert!(i + n_jobs > k && k + n_jobs > i, "{started:?}");
            }
        }
    }
}
