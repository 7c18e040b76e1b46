//! Successive halving and Hyperband: warm continuation equals one-go training, the cost
//! counts epochs actually trained, results do not depend on the thread count, round events
//! reach the observer, any estimator can be searched, and bad input gives typed errors.

use mlp_tune::model_selection::SearchResults;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use linfa::prelude::*;
use linfa::Dataset;
use mlp_tune::model_selection::{
    by_name, cross_validate, Candidate, CrossValidateOptions, Distribution, Estimator,
    HalvingGridSearchCV, HalvingRandomSearchCV, HyperbandSearchCV, KFold, MinResources,
    NCandidates, ParamDistributions, ParamGrid, ParamValue, Resource, RoundEvent, Scorer,
    SearchObserver,
};
use mlp_tune::neural_network::{
    Activation, BatchNormPosition, MLPRegressor, MLPRegressorParams, Solver,
};
use mlp_tune::MlpTuneError;
use ndarray::{Array1, Array2};

fn data() -> Dataset<f64, f64, ndarray::Ix1> {
    let d = mlp_tune::datasets::diabetes();
    Dataset::new(d.records() / 100.0, d.targets() / 100.0)
}

fn base() -> MLPRegressorParams<f64> {
    MLPRegressor::<f64>::params()
        .solver(Solver::Adam)
        .learning_rate_init(0.01)
        .batch_size(32)
        .random_state(3)
}

fn grid() -> ParamGrid {
    ParamGrid::new().add("hidden_layer_sizes", [[2usize], [4], [8], [16]])
}

/// Final-round fold scores of the survivor equal a one-go cross-validation of that
/// candidate with the final epoch count, bit for bit; with and without the stopping rule
/// firing mid-search.
#[test]
fn warm_continuation_equals_training_in_one_go() {
    let data = data();
    for (tol, n_iter_no_change, early_stopping) in
        [(0.0, 1000, false), (1e-3, 2, false), (1e-4, 3, true)]
    {
        let base = base()
            .tol(tol)
            .n_iter_no_change(n_iter_no_change)
            .early_stopping(early_stopping);
        let search = HalvingGridSearchCV::new(by_name(base.clone()), grid())
            .resource(Resource::Epochs)
            .max_resources(40)
            .factor(2.0)
            .cv(3)
            .fit(&data)
            .unwrap();
        assert_eq!(search.n_resources(), [10, 20, 40]);
        assert_eq!(search.n_candidates(), [4, 2, 1]);
        let results = search.cv_results();
        let last = results
            .iter
            .as_ref()
            .unwrap()
            .iter()
            .position(|&i| i == 2)
            .unwrap();
        assert_eq!(results.params[last]["max_iter"], ParamValue::Int(40));
        let estimator = by_name(base.clone())(&results.params[last]).unwrap();
        let one_go = cross_validate(
            &estimator,
            &data,
            &KFold::new(3),
            &[Scorer::from_name("neg_mean_squared_error").unwrap()],
            &CrossValidateOptions {
                return_estimator: true,
                ..Default::default()
            },
        )
        .unwrap();
        let ours: Vec<u64> = results.primary().split_test[last]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        let theirs: Vec<u64> = one_go.test_scores[0].iter().map(|v| v.to_bits()).collect();
        assert_eq!(ours, theirs, "tol {tol}");

        // One candidate is left for the last round, so its refit ran alongside its folds:
        // the same model as a refit afterwards.
        let refit = estimator
            .fit_xy(data.records().view(), data.targets().view())
            .unwrap();
        let a = search.try_predict(data.records()).unwrap();
        let b = estimator.predict_xy(&refit, data.records().view()).unwrap();
        assert_eq!(a, b);
        assert!(search.refit_time().is_some());

        // Cost: each (candidate, fold) pays only the epochs it actually trained.
        let one_go_epochs: usize = one_go
            .estimators
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.n_iter())
            .sum();
        let last_records: usize = search.records().iter().filter(|r| r.iter == 2).count();
        assert_eq!(last_records, 3);
        if tol == 0.0 {
            // 4 × 10 + 2 × 10 more + 1 × 20 more epochs per fold.
            assert_eq!(search.total_cost(), 3 * (40 + 20 + 20));
            assert_eq!(one_go_epochs, 3 * 40);
        } else {
            assert!(search.total_cost() < 3 * (40 + 20 + 20));
        }
    }
}

/// The continuation itself, on one model: 10 + 10 + 20 epochs give the weights of 40.
/// With early stopping each call ends on the best weights so far, and the next one goes on
/// from where training was, not from those: still the weights of one 40-epoch fit, whether
/// the stopping rule fires (patience 3) or not (patience 1000).
#[test]
fn continued_mlp_weights_equal_one_go() {
    let data = data();
    for (early_stopping, patience, layered) in [
        (false, 1000, false),
        (true, 1000, false),
        (true, 3, false),
        (true, 1000, true),
        (true, 3, true),
    ] {
        let mut p = base()
            .tol(0.0)
            .n_iter_no_change(patience)
            .early_stopping(early_stopping)
            .hidden_layer_sizes(&[8]);
        if layered {
            // The layer engine, with running statistics restored alongside the weights.
            p = p
                .activation(Activation::Gelu { approximate: false })
                .batch_norm(BatchNormPosition::BeforeActivation)
                .dropout(0.3)
                .learning_rate_init(0.05);
        }
        let one_go = p.clone().max_iter(40).fit(&data).unwrap();
        let est = p.max_iter(10).check().unwrap();
        let cont = est.continuation().expect("adam continues");
        let x = data.records().view();
        let y = data.targets().view();
        let m = est.fit_xy(x, y).unwrap();
        if early_stopping {
            // After 10 epochs the best validation score is not the last one, so the
            // restored weights are not where training was: the case a continuation must
            // not start from.
            let scores = m.validation_scores();
            let best = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            assert_ne!(scores.last(), Some(&best), "{scores:?}");
        }
        let m = cont.continue_xy(&m, x, y, 10).unwrap();
        let m = cont.continue_xy(&m, x, y, 20).unwrap();
        assert_eq!(
            m.n_iter(),
            one_go.n_iter(),
            "early stopping {early_stopping}, layer engine {layered}"
        );
        if patience == 1000 {
            assert_eq!(m.n_iter(), 40);
        } else {
            assert!(m.n_iter() < 40, "the stopping rule fired");
        }
        for (a, b) in m.coefs().iter().zip(one_go.coefs()) {
            assert_eq!(
                a, &b,
                "early stopping {early_stopping}, patience {patience}, layer engine {layered}"
            );
        }
        for (a, b) in m.intercepts().iter().zip(one_go.intercepts()) {
            assert_eq!(a, &b);
        }
        assert_eq!(m.validation_scores(), one_go.validation_scores());
    }
}

#[test]
fn estimators_that_cannot_continue_exactly_are_retrained() {
    // Early stopping continues on both engines; scikit-learn's L-BFGS retrains.
    let with_es = base().early_stopping(true).check().unwrap();
    assert!(with_es.continuation().is_some());
    let layered_es = base()
        .early_stopping(true)
        .activation(Activation::Gelu { approximate: false })
        .check()
        .unwrap();
    assert!(layered_es.continuation().is_some());
    let lbfgs = base().solver(Solver::Lbfgs).check().unwrap();
    assert!(lbfgs.continuation().is_none());
    // Retraining from scratch costs the full resource every round.
    let search = HalvingGridSearchCV::new(by_name(base().solver(Solver::Lbfgs)), grid())
        .resource(Resource::Epochs)
        .max_resources(20)
        .factor(2.0)
        .cv(3)
        .fit(&data())
        .unwrap();
    assert_eq!(search.n_resources(), [5, 10, 20]);
    let per_round: usize = search
        .records()
        .iter()
        .map(|r| r.n_resources)
        .sum::<usize>();
    assert!(search.total_cost() <= per_round);
    assert!(search.total_cost() > 3 * 20);
}

#[test]
fn scikit_learn_resource_param_retrains_every_round() {
    let search = HalvingGridSearchCV::new(by_name(base().tol(0.0).n_iter_no_change(1000)), grid())
        .resource(Resource::Param("max_iter".into()))
        .max_resources(40)
        .factor(2.0)
        .cv(3)
        .fit(&data())
        .unwrap();
    assert_eq!(search.total_cost(), 3 * (4 * 10 + 2 * 20 + 40));
    let best = search.best_params().unwrap();
    assert_eq!(best["max_iter"], ParamValue::Int(40));
}

#[derive(Default)]
struct Recorder {
    rounds: Mutex<Vec<RoundEvent>>,
    fits: AtomicUsize,
}

impl SearchObserver for Recorder {
    fn on_fit_end(&self, _event: &mlp_tune::model_selection::FitEvent) {
        self.fits.fetch_add(1, Ordering::SeqCst);
    }
    fn on_round_start(&self, event: &RoundEvent) {
        self.rounds.lock().unwrap().push(event.clone());
    }
}

#[test]
fn observer_sees_every_round_and_fit() {
    let recorder = Arc::new(Recorder::default());
    let search = HalvingGridSearchCV::new(by_name(base()), grid())
        .resource(Resource::Epochs)
        .max_resources(12)
        .factor(2.0)
        .cv(2)
        .observer(recorder.clone())
        .fit(&data())
        .unwrap();
    let rounds = recorder.rounds.lock().unwrap().clone();
    assert_eq!(rounds.len(), search.n_iterations());
    let counts: Vec<usize> = rounds.iter().map(|r| r.n_candidates).collect();
    let resources: Vec<usize> = rounds.iter().map(|r| r.n_resources).collect();
    assert_eq!(counts, search.n_candidates());
    assert_eq!(resources, search.n_resources());
    assert_eq!(recorder.fits.load(Ordering::SeqCst), search.records().len());
}

fn hyperband_space() -> ParamDistributions {
    ParamDistributions::new()
        .add("n_neurons", Distribution::RandInt { low: 1, high: 20 })
        .add(
            "learning_rate_init",
            Distribution::LogUniform {
                low: 1e-3,
                high: 1e-1,
            },
        )
        .add("activation", Distribution::list(["relu", "tanh"]))
}

#[test]
fn hyperband_is_identical_for_one_and_two_threads() {
    let data = data();
    let run = |n_jobs| {
        HyperbandSearchCV::new(by_name(base()), hyperband_space(), 9)
            .cv(3)
            .n_jobs(n_jobs)
            .random_state(7)
            .fit(&data)
            .unwrap()
    };
    let (a, b) = (run(1), run(2));
    let (ra, rb) = (a.cv_results(), b.cv_results());
    assert_eq!(ra.params, rb.params);
    assert_eq!(ra.iter, rb.iter);
    assert_eq!(ra.n_resources, rb.n_resources);
    assert_eq!(ra.bracket, rb.bracket);
    let bits = |m: &Vec<Vec<f64>>| -> Vec<Vec<u64>> {
        m.iter()
            .map(|r| r.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    assert_eq!(
        bits(&ra.primary().split_test),
        bits(&rb.primary().split_test)
    );
    assert_eq!(ra.primary().rank_test, rb.primary().rank_test);
    assert_eq!(a.best_index(), b.best_index());
    assert_eq!(a.total_cost(), b.total_cost());
    let costs =
        |r: &[mlp_tune::model_selection::HalvingRecord]| -> Vec<(usize, usize, usize, usize)> {
            r.iter()
                .map(|r| (r.bracket, r.iter, r.candidate, r.cost))
                .collect()
        };
    assert_eq!(costs(a.records()), costs(b.records()));
    // Every bracket ends at max_epochs and the best comes from a last round.
    assert!(a
        .brackets()
        .iter()
        .all(|b| *b.n_resources.last().unwrap() == 9));
    let best = a.best_index().unwrap();
    assert_eq!(ra.n_resources.as_ref().unwrap()[best], 9);
    assert!(a.best_params().is_some() && a.best_model().is_some());
}

#[test]
fn hyperband_continues_survivors_instead_of_retraining() {
    let search = HyperbandSearchCV::new(
        by_name(base().tol(0.0).n_iter_no_change(1000)),
        hyperband_space(),
        9,
    )
    .cv(2)
    .fit(&data())
    .unwrap();
    // Each (candidate, fold) pays its final epoch count once: the sum over candidates of
    // the largest resource each reached.
    let mut reached = std::collections::BTreeMap::new();
    for r in search.records() {
        let e = reached.entry((r.candidate, r.split)).or_insert(0);
        *e = (*e).max(r.n_resources);
    }
    assert_eq!(search.total_cost(), reached.values().sum::<usize>());
    let retrain: usize = search.records().iter().map(|r| r.n_resources).sum();
    assert!(search.total_cost() < retrain);
}

#[test]
fn any_linfa_estimator_can_be_halved_on_samples() {
    use linfa_elasticnet::{ElasticNet, ElasticNetError};
    use mlp_tune::model_selection::LinfaEstimator;
    let builder = |c: &Candidate| -> mlp_tune::Result<_> {
        let penalty = c["penalty"].as_f64("penalty")?;
        Ok(LinfaEstimator::<_, ElasticNetError>::regressor(
            ElasticNet::<f64>::params().penalty(penalty).l1_ratio(0.5),
        ))
    };
    let grid = ParamGrid::new().add("penalty", [0.001, 0.01, 0.1, 1.0, 10.0]);
    let search = HalvingGridSearchCV::new(builder, grid)
        .factor(2.0)
        .cv(5)
        .fit(&mlp_tune::datasets::diabetes())
        .unwrap();
    assert_eq!(search.n_candidates(), [5, 3, 2]);
    let rows = search.cv_results().iter.as_ref().unwrap();
    let best = search.best_index().unwrap();
    assert_eq!(rows[best], 2, "the best comes from the last round");
    // n_samples rounds give the fold's subsampled rows as cost.
    assert!(search.records().iter().all(|r| r.cost > 0));
}

#[test]
fn random_halving_draws_exhaust_candidates() {
    let search = HalvingRandomSearchCV::new(by_name(base()), hyperband_space())
        .resource(Resource::Epochs)
        .min_resources(MinResources::Value(2))
        .max_resources(16)
        .factor(2.0)
        .cv(2)
        .fit(&data())
        .unwrap();
    assert_eq!(search.n_candidates(), [8, 4, 2, 1]);
    assert_eq!(search.n_resources(), [2, 4, 8, 16]);
}

fn assert_invalid(result: Result<impl std::fmt::Debug, MlpTuneError>, name: &str) {
    match result {
        Err(MlpTuneError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected InvalidParameter({name}), got {other:?}"),
    }
}

#[test]
fn bad_input_gives_typed_errors() {
    let d = data();
    let halving = || {
        HalvingGridSearchCV::new(by_name(base()), grid())
            .resource(Resource::Epochs)
            .max_resources(20)
            .cv(2)
    };
    for factor in [1.0, 0.5, -2.0, f64::NAN] {
        assert_invalid(halving().factor(factor).fit(&d), "factor");
    }
    assert_invalid(
        halving().min_resources(MinResources::Value(30)).fit(&d),
        "min_resources",
    );
    assert_invalid(
        halving().min_resources(MinResources::Value(0)).fit(&d),
        "min_resources",
    );
    assert_invalid(
        halving().resource(Resource::Param("alpha".into())).fit(&d),
        "resource",
    );
    assert_invalid(
        halving()
            .resource(Resource::Param("no_such_param".into()))
            .fit(&d),
        "resource",
    );
    // max_resources = auto needs resource = n_samples.
    assert_invalid(
        HalvingGridSearchCV::new(by_name(base()), grid())
            .resource(Resource::Epochs)
            .fit(&d),
        "max_resources",
    );
    // The resource cannot also be searched.
    let searched = ParamGrid::new().add("max_iter", [5, 10]);
    assert!(matches!(
        HalvingGridSearchCV::new(by_name(base()), searched)
            .resource(Resource::Epochs)
            .max_resources(20)
            .fit(&d),
        Err(MlpTuneError::SearchSpace(_))
    ));
    // Too few samples for the first round: 3 of 442 rows leave empty test folds.
    assert!(matches!(
        HalvingGridSearchCV::new(by_name(base()), grid())
            .min_resources(MinResources::Value(3))
            .cv(5)
            .fit(&d),
        Err(MlpTuneError::InvalidInput(m)) if m.contains("too few samples")
    ));
    assert_invalid(
        HalvingGridSearchCV::new(by_name(base()), grid())
            .max_resources(1000)
            .fit(&d),
        "max_resources",
    );
    // HalvingRandomSearchCV: both exhaust, and zero candidates.
    assert_invalid(
        HalvingRandomSearchCV::new(by_name(base()), hyperband_space())
            .min_resources(MinResources::Exhaust)
            .fit(&d),
        "n_candidates",
    );
    assert_invalid(
        HalvingRandomSearchCV::new(by_name(base()), hyperband_space())
            .n_candidates(NCandidates::Value(0))
            .fit(&d),
        "n_candidates",
    );
    // Hyperband.
    assert_invalid(
        HyperbandSearchCV::new(by_name(base()), hyperband_space(), 9)
            .factor(1.0)
            .fit(&d),
        "factor",
    );
    assert_invalid(
        HyperbandSearchCV::new(by_name(base()), hyperband_space(), 9)
            .min_epochs(10)
            .fit(&d),
        "min_epochs",
    );
    assert_invalid(
        HyperbandSearchCV::new(by_name(base()), hyperband_space(), 9)
            .iterations(0)
            .fit(&d),
        "iterations",
    );
    // Mismatched rows are an input error, not a panic.
    let bad = Dataset::new(Array2::<f64>::zeros((10, 2)), Array1::<f64>::zeros(9));
    assert!(HalvingGridSearchCV::new(by_name(base()), grid())
        .fit(&bad)
        .is_err());
}
