//! Property tests of the by-name hyperparameter API (`SetParams`, `MlpConfig::set_param`,
//! `by_name`), the builders with `ParamGuard::check`, and the search spaces (`ParamGrid`,
//! `ParamDistributions`, `Distribution` including the step grids).
//!
//! Nothing here fits a network: every property is about parsing and checking values, so
//! thousands of cases run in well under a second each. Whatever the input, the library
//! must answer with a value or a typed [`MlpTuneError`], never a panic (proptest reports a
//! panic in the body as a failure and shrinks it).

use linfa::ParamGuard;
use mlp_tune::model_selection::by_name;
use mlp_tune::model_selection::param_space::{
    Candidate, Distribution, ParamDistributions, ParamGrid, ParamValue, SetParams,
};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, MlpConfig, MLP_PARAM_NAMES};
use mlp_tune::MlpTuneError;
use proptest::prelude::*;

mod common;
use common::fuzz::{any_distribution, any_float, any_int, any_value, in_support};

/// Names a user might type: the real ones, real ones with typos, and anything else.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(MLP_PARAM_NAMES).prop_map(str::to_string),
        1 => proptest::sample::select(MLP_PARAM_NAMES).prop_map(|n| format!("{n}_")),
        1 => proptest::sample::select(MLP_PARAM_NAMES).prop_map(|n| n.to_uppercase()),
        1 => "\\PC{0,12}",
    ]
}

/// The error kinds a by-name setting or a check may answer with.
fn is_param_error(e: &MlpTuneError) -> bool {
    matches!(
        e,
        MlpTuneError::InvalidParameter { .. }
            | MlpTuneError::SearchSpace(_)
            | MlpTuneError::InvalidInput(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any sequence of (name, value) settings on the regressor's and the classifier's params
    /// gives `Ok` or a parameter error, and so does the check afterwards; an unknown name is
    /// a search-space error that lists the valid names, and a refused setting leaves the
    /// check's verdict to the values accepted before.
    #[test]
    fn set_param_then_check_never_panics(
        settings in proptest::collection::vec((any_name(), any_value()), 1..6)
    ) {
        let mut regressor = MLPRegressor::<f64>::params();
        let mut classifier = MLPClassifier::<f64, usize>::params();
        let mut config = MlpConfig::default();
        for (name, value) in &settings {
            let r = regressor.set_param(name, value);
            let c = classifier.set_param(name, value);
            let m = config.set_param(name, value);
            // The three front ends share one parser: same verdict.
            prop_assert_eq!(r.is_ok(), c.is_ok());
            prop_assert_eq!(r.is_ok(), m.is_ok());
            if let Err(e) = &r {
                prop_assert!(is_param_error(e), "{name} = {value}: {e:?}");
                if !MLP_PARAM_NAMES.contains(&name.as_str()) {
                    prop_assert!(matches!(e, MlpTuneError::SearchSpace(_)), "{e:?}");
                    prop_assert!(e.to_string().contains("valid names"), "{e}");
                }
            }
        }
        let checked_r = regressor.check_ref().map(|_| ());
        let checked_c = classifier.check_ref().map(|_| ());
        let validated = config.validate();
        for result in [&checked_r, &checked_c, &validated] {
            if let Err(e) = result {
                prop_assert!(is_param_error(e), "{settings:?}: {e:?}");
            }
        }
        prop_assert_eq!(checked_r.is_ok(), validated.is_ok());
        prop_assert_eq!(checked_c.is_ok(), validated.is_ok());
    }

    /// `by_name` turns any candidate into checked params or a typed error, exactly when
    /// applying the candidate by hand and checking does.
    #[test]
    fn by_name_agrees_with_set_param_and_check(
        entries in proptest::collection::btree_map(any_name(), any_value(), 0..5)
    ) {
        let candidate: Candidate = entries;
        let build = by_name(MLPRegressor::<f64>::params().max_iter(3));
        let built = build(&candidate);
        let by_hand = MLPRegressor::<f64>::params()
            .max_iter(3)
            .with_candidate(&candidate)
            .and_then(|p| p.check());
        match (&built, &by_hand) {
            // (Compared as text: an accepted NaN is not equal to itself.)
            (Ok(a), Ok(b)) => prop_assert_eq!(format!("{:?}", a.config()), format!("{:?}", b.config())),
            (Err(a), Err(b)) => {
                prop_assert!(is_param_error(a), "{a:?}");
                prop_assert_eq!(a.to_string(), b.to_string());
            }
            _ => prop_assert!(false, "by_name {:?} vs by hand {:?}", built.is_ok(), by_hand.is_ok()),
        }
    }

    /// Real-valued hyperparameters set through the builders: `check` accepts exactly the
    /// documented ranges.
    #[test]
    fn builder_ranges_are_the_documented_ones(
        alpha in any_float(),
        lr in any_float(),
        momentum in any_float(),
        fraction in any_float(),
        beta_1 in any_float(),
        epsilon in any_float(),
        max_iter in 0usize..3,
        batch in 0usize..3,
        sizes in proptest::collection::vec(0usize..4, 0..4),
    ) {
        let params = MLPClassifier::<f64, usize>::params()
            .alpha(alpha)
            .learning_rate_init(lr)
            .momentum(momentum)
            .validation_fraction(fraction)
            .beta_1(beta_1)
            .epsilon(epsilon)
            .max_iter(max_iter)
            .batch_size(batch)
            .hidden_layer_sizes(&sizes);
        let expected = alpha.is_finite() && alpha >= 0.0
            && lr.is_finite() && lr > 0.0
            && (0.0..=1.0).contains(&momentum)
            && fraction > 0.0 && fraction < 1.0
            && (0.0..1.0).contains(&beta_1)
            && epsilon.is_finite() && epsilon > 0.0
            && max_iter >= 1
            && batch >= 1
            && sizes.iter().all(|&s| s >= 1);
        let checked = params.check();
        prop_assert_eq!(checked.is_ok(), expected, "{:?}", checked.err());
        if let Err(e) = checked {
            prop_assert!(matches!(e, MlpTuneError::InvalidParameter { .. }), "{e:?}");
        }
    }

    /// Géron's `n_hidden` / `n_neurons`: any pair of non-negative integers sets
    /// `hidden_layer_sizes` to `n_neurons` repeated `n_hidden` times (or is refused with a
    /// typed error when the depth is absurd), in either order of setting.
    #[test]
    fn n_hidden_n_neurons_compose(depth in any_int(), width in any_int(), depth_first: bool) {
        let mut config = MlpConfig::default();
        let (a, b) = if depth_first {
            (("n_hidden", depth), ("n_neurons", width))
        } else {
            (("n_neurons", width), ("n_hidden", depth))
        };
        let first = config.set_param(a.0, &ParamValue::Int(a.1));
        let second = first.and_then(|_| config.set_param(b.0, &ParamValue::Int(b.1)));
        match second {
            Ok(()) => {
                let layers = &config.hidden_layer_sizes;
                prop_assert_eq!(layers.len() as i64, depth);
                prop_assert!(layers.iter().all(|&w| w as i64 == width));
            }
            Err(e) => prop_assert!(
                matches!(e, MlpTuneError::InvalidParameter { .. }),
                "{e:?}"
            ),
        }
    }

    /// The number a grid expands to is the sum over its maps of the product of its list
    /// lengths; every candidate takes each value from its list, keys come sorted with the
    /// last one varying fastest, and an empty list or an all-empty grid is a typed error.
    #[test]
    fn param_grid_size_is_the_product_of_its_lists(
        maps in proptest::collection::vec(
            proptest::collection::btree_map("[a-e]{1,2}", proptest::collection::vec(any_int(), 0..4), 0..4),
            1..4,
        )
    ) {
        let mut grid = ParamGrid::new();
        for (i, map) in maps.iter().enumerate() {
            if i > 0 {
                grid = grid.or();
            }
            for (name, values) in map {
                grid = grid.add(name, values.iter().copied());
            }
        }
        let any_empty_list = maps.iter().any(|m| m.values().any(Vec::is_empty));
        let all_empty = maps.iter().all(|m| m.is_empty());
        match grid.candidates() {
            Ok(candidates) => {
                prop_assert!(!any_empty_list && !all_empty);
                let expected: usize = maps
                    .iter()
                    .map(|m| m.values().map(Vec::len).product::<usize>())
                    .sum();
                prop_assert_eq!(candidates.len(), expected);
                let mut offset = 0;
                for map in &maps {
                    let n: usize = map.values().map(Vec::len).product();
                    for (k, c) in candidates[offset..offset + n].iter().enumerate() {
                        prop_assert_eq!(c.len(), map.len());
                        // Mixed-radix digits, last key fastest.
                        let mut rest = k;
                        for (name, values) in map.iter().rev() {
                            let i = rest % values.len();
                            rest /= values.len();
                            prop_assert_eq!(&c[name], &ParamValue::Int(values[i]));
                        }
                    }
                    offset += n;
                }
            }
            Err(e) => {
                prop_assert!(any_empty_list || all_empty, "{e:?}");
                prop_assert!(matches!(e, MlpTuneError::SearchSpace(_)), "{e:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any space samples to `Ok` or a search-space / parameter error; every drawn value is in
    /// its distribution's support, candidates are distinct, there are at most `n_iter` of
    /// them, and an all-list space gives exactly `min(n_iter, grid size)`.
    #[test]
    fn param_distributions_sample_within_support(
        dists in proptest::collection::btree_map("[a-d]", any_distribution(), 0..4),
        n_iter in 0usize..12,
        seed: u32,
    ) {
        let mut space = ParamDistributions::new();
        for (name, d) in &dists {
            space = space.add(name, d.clone());
        }
        match space.sample(n_iter, seed) {
            Ok(candidates) => {
                prop_assert!(n_iter >= 1 && !dists.is_empty());
                prop_assert!(candidates.len() <= n_iter);
                prop_assert!(!candidates.is_empty());
                for c in &candidates {
                    prop_assert_eq!(c.len(), dists.len());
                    for (name, d) in &dists {
                        prop_assert!(in_support(d, &c[name]), "{name}: {d:?} drew {}", c[name]);
                    }
                }
                let all_lists = dists.values().all(|d| matches!(d, Distribution::List(_)));
                if all_lists {
                    let size: usize = dists
                        .values()
                        .map(|d| match d { Distribution::List(v) => v.len(), _ => 1 })
                        .product();
                    prop_assert_eq!(candidates.len(), n_iter.min(size));
                } else {
                    for (i, a) in candidates.iter().enumerate() {
                        prop_assert!(!candidates[..i].contains(a), "repeated candidate {a:?}");
                    }
                }
                // Same seed, same draws.
                // (Compared as text: a NaN value is not equal to itself.)
                let again = space.sample(n_iter, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(format!("{again:?}"), format!("{candidates:?}"));
            }
            Err(e) => prop_assert!(
                matches!(e, MlpTuneError::SearchSpace(_) | MlpTuneError::InvalidParameter { .. }),
                "{e:?}"
            ),
        }
    }
}

// Regressions: inputs the properties above found (or that reading the code for them showed)
// to panic, overflow or pass unchecked before the library was fixed.

/// `RandInt` over the widest range computed `high - low - 1` in i64, which overflows (a
/// panic with overflow checks, a silent wrap without).
#[test]
fn regression_randint_over_the_whole_i64_range() {
    let space = ParamDistributions::new().add(
        "seed",
        Distribution::RandInt {
            low: i64::MIN,
            high: i64::MAX,
        },
    );
    let drawn = space.sample(20, 0).unwrap();
    assert_eq!(drawn.len(), 20);
    assert!(drawn
        .iter()
        .all(|c| matches!(c["seed"], ParamValue::Int(v) if v < i64::MAX)));
    // Negative and positive draws both occur over such a range.
    let signs: Vec<bool> = drawn
        .iter()
        .map(|c| matches!(c["seed"], ParamValue::Int(v) if v < 0))
        .collect();
    assert!(signs.contains(&true) && signs.contains(&false), "{drawn:?}");
}

/// `n_hidden = 10^12` allocated a list of 10^12 layers (aborting the process on memory);
/// now it is a typed error, through `set_param` and through the builder's `check`.
#[test]
fn regression_absurd_n_hidden_is_refused() {
    let mut config = MlpConfig::default();
    let err = config
        .set_param("n_hidden", &ParamValue::Int(1_000_000_000_000))
        .unwrap_err();
    assert!(matches!(err, MlpTuneError::InvalidParameter { ref name, .. } if name == "n_hidden"));
    assert_eq!(config.hidden_layer_sizes, vec![100], "left unchanged");
    let err = MLPRegressor::<f64>::params()
        .n_hidden_n_neurons(usize::MAX, 10)
        .check()
        .unwrap_err();
    assert!(
        matches!(err, MlpTuneError::InvalidParameter { ref name, .. } if name == "hidden_layer_sizes")
    );
    // The limit itself is accepted.
    let mut config = MlpConfig::default();
    config
        .set_param(
            "n_hidden",
            &ParamValue::Int(mlp_tune::neural_network::MAX_HIDDEN_LAYERS as i64),
        )
        .unwrap();
    config.validate().unwrap();
}

/// A grid whose size overflows `usize` (16 lists of 2^4 values: 2^64 candidates) wrapped
/// its count or panicked; now it is a search-space error, as is one past the limit.
#[test]
fn regression_huge_grids_are_refused() {
    let mut grid = ParamGrid::new();
    for p in 0..16 {
        grid = grid.add(&format!("p{p:02}"), 0..16i64);
    }
    assert!(matches!(
        grid.candidates(),
        Err(MlpTuneError::SearchSpace(_))
    ));
    let space = (0..16).fold(ParamDistributions::new(), |s, p| {
        s.add(&format!("p{p:02}"), Distribution::list(0..16i64))
    });
    assert!(matches!(
        space.sample(3, 0),
        Err(MlpTuneError::SearchSpace(_))
    ));
}

/// An optimizer override (`optimizer_epsilon`, `optimizer_momentum`, `rho`,
/// `weight_decay`) set without an `optimizer` was never checked, so NaN passed `check`.
#[test]
fn regression_optimizer_overrides_are_checked_without_an_optimizer() {
    for (name, value) in [
        ("optimizer_epsilon", f64::NAN),
        ("optimizer_epsilon", 0.0),
        ("optimizer_momentum", 1.5),
        ("rho", -0.1),
        ("weight_decay", f64::INFINITY),
    ] {
        let mut params = MLPRegressor::<f64>::params();
        params.set_param(name, &ParamValue::Float(value)).unwrap();
        assert!(
            matches!(params.check(), Err(MlpTuneError::InvalidParameter { .. })),
            "{name} = {value}"
        );
    }
    let mut params = MLPRegressor::<f64>::params();
    params
        .set_param("optimizer_epsilon", &ParamValue::Float(1e-6))
        .unwrap();
    params.check().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// TPE over any space: a space that samples answers every ask with a candidate in the
    /// support of each distribution (the startup draws, Optuna's `RandomSampler`'s, then the
    /// model's proposals); an invalid space is a typed error at construction; never a panic.
    #[test]
    fn tpe_proposals_stay_within_support(
        dists in proptest::collection::btree_map("[a-d]", any_distribution(), 0..4),
        n_startup in 0usize..4,
        seed: u32,
        scores in proptest::collection::vec(prop_oneof![Just(f64::NAN), Just(f64::NEG_INFINITY), -5.0..5.0f64], 8),
    ) {
        use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
        let space = dists
            .iter()
            .fold(ParamDistributions::new(), |s, (name, d)| s.add(name, d.clone()));
        let options = TpeOptions { n_startup_trials: n_startup, ..TpeOptions::default() };
        match TpeSampler::new(space, options, seed) {
            Ok(mut sampler) => {
                for score in scores {
                    let (number, c) = sampler.ask().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(c.len(), dists.len());
                    for (name, d) in &dists {
                        prop_assert!(in_support(d, &c[name]), "{name}: {d:?} proposed {}", c[name]);
                    }
                    sampler.tell(number, score).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            Err(e) => prop_assert!(
                matches!(e, MlpTuneError::SearchSpace(_) | MlpTuneError::InvalidParameter { .. }),
                "{e:?}"
            ),
        }
    }
}

/// TPE rounded an int grid through `f64`: a one-value `IntStep` beyond 2^53 was proposed
/// as a neighbouring integer outside it, and a wide `RandInt` could be proposed as its
/// excluded `high`. Ints now come from the exact grid.
#[test]
fn regression_tpe_keeps_huge_ints_on_their_grid() {
    use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    let odd = -25_542_199_743_409_801;
    let space = ParamDistributions::new()
        .add(
            "a",
            Distribution::IntStep {
                low: odd,
                high: odd,
                step: 1,
            },
        )
        .add(
            "b",
            Distribution::RandInt {
                low: i64::MIN,
                high: i64::MAX,
            },
        );
    let mut sampler = TpeSampler::new(space, TpeOptions::default(), 0).unwrap();
    for i in 0..14 {
        let (n, c) = sampler.ask().unwrap();
        assert_eq!(c["a"], ParamValue::Int(odd), "trial {i}");
        assert!(
            matches!(c["b"], ParamValue::Int(v) if v < i64::MAX),
            "trial {i}: {}",
            c["b"]
        );
        sampler.tell(n, i as f64).unwrap();
    }
}

/// A list holding NaN: TPE proposed the NaN and then refused it when told ("NaN is not one
/// of the listed values"), since NaN is not equal to itself.
#[test]
fn regression_tpe_takes_back_a_nan_it_proposed_from_a_list() {
    use mlp_tune::model_selection::tpe::{TpeOptions, TpeSampler};
    let space = ParamDistributions::new().add(
        "a",
        Distribution::List(vec![ParamValue::Float(f64::NAN), ParamValue::Float(1.0)]),
    );
    let mut sampler = TpeSampler::new(space, TpeOptions::default(), 0).unwrap();
    let mut nans = 0;
    for i in 0..20 {
        let (n, c) = sampler.ask().unwrap();
        nans += usize::from(matches!(c["a"], ParamValue::Float(v) if v.is_nan()));
        sampler.tell(n, -(i as f64)).unwrap();
    }
    assert!(nans > 0, "the NaN choice was never proposed");
}
