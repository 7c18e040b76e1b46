//! Searches fit the MLPs on each fold's rows of the shared data (`Estimator::fit_rows`,
//! `predict_rows`, `ContinueTraining::continue_rows`) instead of copying the fold out. These
//! tests run the same searches through a wrapper that only has the copying methods and
//! check that every fold score is bitwise the same: regressor and classifier (binary and
//! multiclass, probabilities too), with and without early stopping, for each solver and the
//! layer engine, and for the warm continuation of successive halving.

use linfa::prelude::*;
use linfa::{Dataset, Float};
use mlp_tune::model_selection::SearchResults;
use mlp_tune::model_selection::{
    by_name, Candidate, ContinueTraining, CvResults, Estimator, GridSearchCV, HalvingGridSearchCV,
    ParamGrid, Resource, Scorer,
};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};
use ndarray::{ArrayView1, ArrayView2, Axis};

/// An estimator that only has the copying path: the trait's default `fit_rows`,
/// `predict_rows`, `predict_proba_rows` and `continue_rows` select the rows and call the
/// `_xy` methods of the wrapped estimator.
struct Copying<E>(E);

impl<F: Float, T, E: Estimator<F, T>> Estimator<F, T> for Copying<E> {
    type Model = E::Model;

    fn fit_xy(&self, x: ArrayView2<F>, y: ArrayView1<T>) -> mlp_tune::Result<Self::Model> {
        self.0.fit_xy(x, y)
    }

    fn predict_xy(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
    ) -> mlp_tune::Result<ndarray::Array1<T>> {
        self.0.predict_xy(model, x)
    }

    fn predict_proba_xy(
        &self,
        model: &Self::Model,
        x: ArrayView2<F>,
    ) -> Option<mlp_tune::Result<ndarray::Array2<F>>> {
        self.0.predict_proba_xy(model, x)
    }

    fn is_classifier(&self) -> bool {
        self.0.is_classifier()
    }

    fn describe(&self) -> String {
        self.0.describe()
    }

    fn epochs_trained(&self, model: &Self::Model) -> Option<usize> {
        self.0.epochs_trained(model)
    }

    fn continuation(&self) -> Option<&dyn ContinueTraining<F, T, Self::Model>> {
        self.0.continuation().map(|_| self as _)
    }
}

impl<F: Float, T, E: Estimator<F, T>> ContinueTraining<F, T, E::Model> for Copying<E> {
    fn continue_xy(
        &self,
        model: &E::Model,
        x: ArrayView2<F>,
        y: ArrayView1<T>,
        epochs: usize,
    ) -> mlp_tune::Result<E::Model> {
        match self.0.continuation() {
            Some(c) => c.continue_xy(model, x, y, epochs),
            None => Err(mlp_tune::MlpTuneError::InvalidInput(
                "no continuation".into(),
            )),
        }
    }

    fn finished(&self, model: &E::Model) -> bool {
        self.0.continuation().is_some_and(|c| c.finished(model))
    }
}

fn bits(v: &[Vec<f64>]) -> Vec<Vec<u64>> {
    v.iter()
        .map(|r| r.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// Every fold score (test and train, every metric) and every error of two searches agree
/// bit for bit; and the scores are real numbers, so the comparison is not vacuous.
fn assert_same(shared: &CvResults, copied: &CvResults) {
    assert_eq!(shared.errors, copied.errors);
    assert_eq!(shared.metrics.len(), copied.metrics.len());
    for (a, b) in shared.metrics.iter().zip(&copied.metrics) {
        assert_eq!(bits(&a.split_test), bits(&b.split_test), "{}", a.name);
        let (ta, tb) = (a.train.as_ref().unwrap(), b.train.as_ref().unwrap());
        assert_eq!(bits(&ta.split), bits(&tb.split), "{} (train)", a.name);
        assert!(a.split_test.iter().flatten().any(|v| v.is_finite()));
    }
}

fn diabetes() -> Dataset<f64, f64, ndarray::Ix1> {
    let d = mlp_tune::datasets::diabetes();
    Dataset::new(d.records() / 100.0, d.targets() / 100.0)
}

#[test]
fn regressor_folds_through_rows_equal_copies() {
    let data = diabetes();
    for early_stopping in [false, true] {
        let base = MLPRegressor::<f64>::params()
            .batch_size(32)
            .max_iter(15)
            .learning_rate_init(0.01)
            .early_stopping(early_stopping)
            .n_iter_no_change(3)
            .random_state(7);
        let grid = ParamGrid::new()
            .add("hidden_layer_sizes", [vec![6usize], vec![8, 4]])
            .add("solver", ["sgd", "adam", "lbfgs"])
            // A Keras activation: the layer engine (which trains on a copy of the rows).
            .add("activation", ["relu", "elu"]);
        let scorers = vec![
            Scorer::from_name("neg_mean_squared_error").unwrap(),
            Scorer::from_name("r2").unwrap(),
        ];
        let build = by_name(base);
        let shared = GridSearchCV::new(&build, grid.clone())
            .cv(3)
            .scorers(scorers.clone())
            .return_train_score(true)
            .refit(false)
            .n_jobs(2)
            .fit(&data)
            .unwrap();
        let copied = GridSearchCV::new(|c: &Candidate| build(c).map(Copying), grid)
            .cv(3)
            .scorers(scorers)
            .return_train_score(true)
            .refit(false)
            .fit(&data)
            .unwrap();
        assert_same(shared.cv_results(), copied.cv_results());
    }
}

#[test]
fn classifier_folds_through_rows_equal_copies() {
    // Binary (logistic output, stratified early-stopping split) and multiclass (softmax).
    for (data, hidden) in [
        (mlp_tune::datasets::breast_cancer(), 6usize),
        (mlp_tune::datasets::iris(), 5),
    ] {
        let data = {
            let x = data.records();
            let mean = x.mean_axis(Axis(0)).unwrap();
            let std = x.std_axis(Axis(0), 0.0);
            Dataset::new((x - &mean) / &std, data.targets().clone())
        };
        for early_stopping in [false, true] {
            let base = MLPClassifier::params()
                .hidden_layer_sizes(&[hidden])
                .solver(Solver::Adam)
                .batch_size(16)
                .max_iter(12)
                .early_stopping(early_stopping)
                .n_iter_no_change(2)
                .random_state(1);
            let grid = ParamGrid::new()
                .add("learning_rate_init", [0.01, 0.003])
                .add("solver", ["sgd", "adam"]);
            let scorers = vec![
                Scorer::from_name("accuracy").unwrap(),
                Scorer::from_name("neg_log_loss").unwrap(),
            ];
            let build = by_name(base);
            let shared = GridSearchCV::new(&build, grid.clone())
                .cv(4)
                .scorers(scorers.clone())
                .return_train_score(true)
                .refit(false)
                .fit(&data)
                .unwrap();
            let copied = GridSearchCV::new(|c: &Candidate| build(c).map(Copying), grid)
                .cv(4)
                .scorers(scorers)
                .return_train_score(true)
                .refit(false)
                .n_jobs(2)
                .fit(&data)
                .unwrap();
            assert_same(shared.cv_results(), copied.cv_results());
        }
    }
}

/// Successive halving over epochs continues each fold's model on its rows between rounds.
#[test]
fn halving_continuation_through_rows_equals_copies() {
    let data = diabetes();
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Adam)
        .learning_rate_init(0.01)
        .batch_size(32)
        .random_state(3);
    let grid = ParamGrid::new().add("hidden_layer_sizes", [[2usize], [4], [8], [16]]);
    let build = by_name(base);
    let shared = HalvingGridSearchCV::new(&build, grid.clone())
        .resource(Resource::Epochs)
        .max_resources(24)
        .factor(2.0)
        .cv(3)
        .return_train_score(true)
        .fit(&data)
        .unwrap();
    let copied = HalvingGridSearchCV::new(|c: &Candidate| build(c).map(Copying), grid)
        .resource(Resource::Epochs)
        .max_resources(24)
        .factor(2.0)
        .cv(3)
        .return_train_score(true)
        .fit(&data)
        .unwrap();
    assert_eq!(shared.n_resources(), [6, 12, 24]);
    assert_same(shared.cv_results(), copied.cv_results());
}

/// The rows path checks its rows like the copying path checks its copy.
#[test]
fn fit_rows_reports_bad_rows() {
    let data = diabetes();
    let mlp = MLPRegressor::<f64>::params().max_iter(2).check().unwrap();
    let x = data.records().view();
    let y = data.targets().view();
    assert!(mlp.fit_rows(x, y, &[0, 1, x.nrows()]).is_err());
    assert!(mlp.fit_rows(x, y, &[]).is_err());
    let mut bad = data.records().clone();
    bad[[5, 2]] = f64::NAN;
    // The NaN row is not among the fold's rows: the fit does not see it.
    let rows: Vec<usize> = (10..60).collect();
    assert!(mlp.fit_rows(bad.view(), y, &rows).is_ok());
    let err = mlp.fit_rows(bad.view(), y, &[1, 3, 5, 7]).unwrap_err();
    assert!(err.to_string().contains("row 2"), "{err}");
}
