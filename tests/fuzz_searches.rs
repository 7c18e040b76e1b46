//! Property tests of the searches that propose candidates from results (TPE, GP, BOHB,
//! evolutionary) and of the randomized and halving searches, over any space: a search
//! answers with a result or a typed error, never a panic, and every candidate it tried
//! lies in its distribution's support.
//! The estimator is a constant predictor whose level is a function of the candidate, so
//! each fit takes microseconds and scores vary across the space.

use linfa::Dataset;
use mlp_tune::model_selection::param_space::{
    Candidate, Distribution, ParamDistributions, ParamValue,
};
use mlp_tune::model_selection::{
    BayesSearchCV, BracketSampler, EvolutionarySearchCV, HalvingRandomSearchCV, HyperbandSearchCV,
    ParamGrid, RandomizedSearchCV, TpeSearchCV,
};
use mlp_tune::{MlpTuneError, Result};
use ndarray::{Array1, Array2, Ix1};
use proptest::prelude::*;

mod common;
use common::fuzz::{any_distribution, in_support};
use common::Level;

/// A level from the candidate's numbers (bounded, so that the MSE stays finite) and its
/// other values' text; `max_iter` (Hyperband's budget) must be an integer.
fn level(c: &Candidate) -> Result<Level> {
    let mut level = 0.0;
    for (k, v) in c {
        // Hyperband's budget: an integer, as for the MLPs (the search checks that a
        // fractional one is refused).
        if k == "max_iter" {
            if !matches!(v, ParamValue::Int(n) if *n >= 1) {
                return Err(MlpTuneError::InvalidParameter {
                    name: k.clone(),
                    reason: format!("{v} is not an integer >= 1"),
                });
            }
            continue;
        }
        level += match v {
            ParamValue::Float(x) if x.is_finite() => x.abs().ln_1p().min(50.0),
            ParamValue::Int(x) => (*x as f64).abs().ln_1p(),
            other => (format!("{k}{other}").len() % 7) as f64,
        };
    }
    Ok(Level(level))
}

fn check(
    name: &str,
    dists: &std::collections::BTreeMap<String, Distribution>,
    fitted: Result<Vec<Candidate>>,
) -> std::result::Result<(), TestCaseError> {
    match fitted {
        Ok(tried) => {
            for c in &tried {
                for (k, d) in dists {
                    prop_assert!(in_support(d, &c[k]), "{name}: {k}: {d:?} tried {}", c[k]);
                }
            }
        }
        Err(e) => prop_assert!(
            matches!(
                e,
                MlpTuneError::SearchSpace(_) | MlpTuneError::InvalidParameter { .. }
            ),
            "{name}: {e:?}"
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn model_based_searches_stay_within_any_space(
        dists in proptest::collection::btree_map("[a-c]", any_distribution(), 1..4),
        seed: u32,
    ) {
        let space = dists
            .iter()
            .fold(ParamDistributions::new(), |s, (k, d)| s.add(k, d.clone()));
        let data: Dataset<f64, f64, Ix1> = Dataset::new(Array2::zeros((24, 1)), Array1::zeros(24));
        check("random", &dists,
            RandomizedSearchCV::new(level, space.clone(), 6)
                .random_state(seed).cv(2).refit(false).fit(&data)
                .map(|f| f.cv_results().params.clone()),
        )?;
        check("tpe", &dists,
            TpeSearchCV::new(level, space.clone(), 8)
                .tpe_options(mlp_tune::model_selection::TpeOptions { n_startup_trials: 3, ..Default::default() })
                .random_state(seed).cv(2).refit(false).fit(&data)
                .map(|f| f.cv_results().params.clone()),
        )?;
        check("bohb", &dists,
            HyperbandSearchCV::new(level, space.clone(), 9)
                .sampler(BracketSampler::bohb().with_batch_size(2))
                .random_state(seed).cv(2).refit(false).fit(&data)
                .map(|f| f.search().cv_results().params.clone()),
        )?;
        check("halving", &dists,
            HalvingRandomSearchCV::new(level, space.clone())
                .random_state(seed).cv(2).refit(false).fit(&data)
                .map(|f| f.search().cv_results().params.clone()),
        )?;
        // A genetic algorithm over lists: the lists of the space (a space with another
        // kind of distribution is not a grid).
        let lists: Option<ParamGrid> = dists.iter().try_fold(ParamGrid::new(), |g, (k, d)| match d {
            Distribution::List(values) => Some(g.add(k, values.clone())),
            _ => None,
        });
        if let Some(grid) = lists {
            check("evolutionary", &dists,
                EvolutionarySearchCV::new(level, grid)
                    .population_size(4)
                    .generations_number(3)
                    .random_state(seed).cv(2).refit(false).fit(&data)
                    .map(|f| f.cv_results().params.clone()),
            )?;
        }
        check("gp", &dists,
            BayesSearchCV::new(level, space, 6)
                .n_initial_points(3)
                .n_points(50)
                .random_state(seed).cv(2).refit(false).fit(&data)
                .map(|f| f.cv_results().params.clone()),
        )?;
    }
}
