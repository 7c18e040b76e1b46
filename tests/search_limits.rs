//! Searches that stop starting fits: a time budget and a limit on failures in a row.

use std::time::Duration;

use mlp_tune::model_selection::{by_name, GridSearchCV, ParamGrid};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};

#[test]
fn a_spent_time_budget_gives_a_partial_result() {
    let iris = mlp_tune::datasets::iris();
    let search = |budget: Duration| {
        GridSearchCV::new(
            by_name(
                MLPClassifier::<f64, usize>::params()
                    .solver(Solver::Lbfgs)
                    .max_iter(30)
                    .random_state(0),
            ),
            ParamGrid::new().add("alpha", [1e-4, 1e-2, 1.0]),
        )
        .cv(3)
        .time_budget(budget)
    };
    let none = search(Duration::ZERO).fit(&iris).unwrap();
    assert!(none.is_partial());
    assert_eq!(none.skipped_fits(), 9);
    assert!(none.stop_reason().unwrap().contains("time budget"));
    assert_eq!(none.best_index(), None);
    assert!(none.best_model().is_none());
    assert!(none
        .cv_results()
        .primary()
        .mean_test
        .iter()
        .all(|m| m.is_nan()));
    assert!(none.cv_results().errors[0]
        .as_ref()
        .unwrap()
        .contains("not fitted"));

    let all = search(Duration::from_secs(3600)).fit(&iris).unwrap();
    assert!(!all.is_partial());
    assert_eq!(all.stop_reason(), None);
    assert!(all.best_model().is_some());
}

#[test]
fn failures_in_a_row_stop_the_search() {
    let data = mlp_tune::datasets::diabetes();
    // Raw diabetes targets (~150) with these steps blow up in the first epoch: every fit fails.
    let search = GridSearchCV::new(
        by_name(
            MLPRegressor::<f64>::params()
                .solver(Solver::Sgd)
                .activation(mlp_tune::neural_network::Activation::Identity)
                .momentum(0.99)
                .max_iter(5)
                .random_state(0),
        ),
        ParamGrid::new().add("learning_rate_init", [10.0, 20.0, 30.0, 40.0]),
    )
    .cv(3)
    .n_jobs(1)
    .max_consecutive_failures(2)
    .fit(&data)
    .unwrap();
    assert!(search.is_partial());
    assert_eq!(search.skipped_fits(), 12 - 2);
    assert!(search
        .stop_reason()
        .unwrap()
        .contains("2 fits in a row failed"));
    assert!(search.cv_results().errors[0]
        .as_ref()
        .unwrap()
        .contains("non-finite"));
}
