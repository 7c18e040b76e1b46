//! Property tests of the searches that propose candidates from results (TPE, GP, BOHB,
//! evolutionary) and of the randomized and halving searches, over any space: a search answers with a result or a typed
//! error, never a panic, and every candidate it tried lies in its distribution's support.
//! The estimator is a constant predictor whose level is a function of the candidate, so
//! each fit takes microseconds and scores vary across the space.

use linfa::Dataset;
use mlp_tune::model_selection::param_space::{
    Candidate, Distribution, ParamDistributions, ParamValue,
};
use mlp_tune::model_selection::{
    BayesSearchCV, BracketSampler, Estimator, EvolutionarySearchCV, HalvingRandomSearchCV,
    HyperbandSearchCV, ParamGrid, RandomizedSearchCV, TpeSearchCV,
};
use mlp_tune::{MlpTuneError, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Ix1};
use proptest::prelude::*;

/// Predicts a constant.
struct Level(f64);

impl Estimator<f64, f64> for Level {
    type Model = f64;
    fn fit_xy(&self, _x: ArrayView2<f64>, _y: ArrayView1<f64>) -> Result<f64> {
        Ok(self.0)
    }
    fn predict_xy(&self, level: &f64, x: ArrayView2<f64>) -> Result<Array1<f64>> {
        Ok(Array1::from_elem(x.nrows(), *level))
    }
    fn is_classifier(&self) -> bool {
        false
    }
}

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

fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(1.0e300),
        -10.0..10.0f64,
        any::<f64>(),
    ]
}

fn any_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(1),
        Just(i64::MIN),
        Just(i64::MAX),
        -20..300i64,
        any::<i64>()
    ]
}

fn any_value() -> impl Strategy<Value = ParamValue> {
    prop_oneof![
        any_int().prop_map(ParamValue::Int),
        any_float().prop_map(ParamValue::Float),
        any::<bool>().prop_map(ParamValue::Bool),
        "[a-c]{0,2}".prop_map(ParamValue::Str),
        Just(ParamValue::None),
    ]
}

fn any_distribution() -> impl Strategy<Value = Distribution> {
    prop_oneof![
        proptest::collection::vec(any_value(), 0..4).prop_map(Distribution::List),
        (any_float(), any_float()).prop_map(|(loc, scale)| Distribution::Uniform { loc, scale }),
        (any_float(), any_float()).prop_map(|(low, high)| Distribution::LogUniform { low, high }),
        (any_int(), any_int()).prop_map(|(low, high)| Distribution::RandInt { low, high }),
        (any_int(), any_int()).prop_map(|(low, high)| Distribution::LogRandInt { low, high }),
        (
            -50..50i32,
            0..20u32,
            prop_oneof![Just(0.1), Just(1.0), Just(1e-3)]
        )
            .prop_map(|(low, n, step)| {
                let low = f64::from(low) * step;
                Distribution::FloatStep {
                    low,
                    high: low + f64::from(n) * step,
                    step,
                }
            }),
        (any_float(), any_float(), any_float())
            .prop_map(|(low, high, step)| Distribution::FloatStep { low, high, step }),
        (any_int(), 0..30i64, 1..7i64).prop_map(|(low, n, step)| Distribution::IntStep {
            low,
            high: low.saturating_add(n * step),
            step,
        }),
    ]
}

/// Whether `v` is a value `d` can give (`d` valid).
fn in_support(d: &Distribution, v: &ParamValue) -> bool {
    let same = |a: &ParamValue, b: &ParamValue| {
        a == b
            || matches!((a, b), (ParamValue::Float(x), ParamValue::Float(y)) if x.is_nan() && y.is_nan())
    };
    match (d, v) {
        (Distribution::List(values), v) => values.iter().any(|x| same(x, v)),
        (Distribution::Uniform { loc, scale }, ParamValue::Float(x)) => {
            *x >= *loc && *x <= loc + scale
        }
        (Distribution::LogUniform { low, high }, ParamValue::Float(x)) => {
            *x >= low * (1.0 - 1e-12) && *x <= high * (1.0 + 1e-12)
        }
        (Distribution::RandInt { low, high }, ParamValue::Int(x))
        | (Distribution::LogRandInt { low, high }, ParamValue::Int(x)) => x >= low && x < high,
        (Distribution::FloatStep { low, high, step }, ParamValue::Float(x)) => {
            let k = ((x - low) / step).round();
            *x >= *low && *x <= *high && (x - (low + k * step)).abs() <= 1e-9 * step.max(x.abs())
        }
        (Distribution::IntStep { low, high, step }, ParamValue::Int(x)) => {
            x >= low && x <= high && (i128::from(*x) - i128::from(*low)) % i128::from(*step) == 0
        }
        _ => false,
    }
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
