//! Unit tests of the TPE sampler's behaviour (the numbers themselves are checked against
//! Optuna in `tests/tpe_parity.rs`).

use super::*;

fn space() -> ParamDistributions {
    ParamDistributions::new()
        .add(
            "alpha",
            Distribution::LogUniform {
                low: 1e-5,
                high: 1e-1,
            },
        )
        .add("n", Distribution::RandInt { low: 1, high: 50 })
        .add("act", Distribution::list(["relu", "tanh", "logistic"]))
}

/// A deterministic history: `n` complete trials drawn at random, scored by a smooth
/// function of the parameters.
fn history(n: usize) -> Vec<Candidate> {
    space().sample(n, 7).unwrap()
}

fn score_of(c: &Candidate) -> f64 {
    let a = c["alpha"].as_f64("alpha").unwrap().log10();
    let n = c["n"].as_f64("n").unwrap();
    -(a + 3.0).powi(2) - ((n - 20.0) / 10.0).powi(2)
}

fn trials(cands: &[Candidate]) -> Vec<TpeTrial<'_>> {
    cands
        .iter()
        .map(|c| TpeTrial {
            params: c,
            state: TrialState::Complete(score_of(c)),
        })
        .collect()
}

#[test]
fn proposals_are_deterministic_for_a_seed() {
    let cands = history(15);
    let h = trials(&cands);
    let o = TpeOptions::default();
    let a = propose(&space(), &h, &o, &mut TpeRng::new(3)).unwrap();
    let b = propose(&space(), &h, &o, &mut TpeRng::new(3)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3);
    let c = propose(&space(), &h, &o, &mut TpeRng::new(4)).unwrap();
    assert_ne!(a, c, "another seed, another draw");
}

#[test]
fn failed_trials_do_not_change_the_proposal() {
    let cands = history(15);
    let h = trials(&cands);
    let o = TpeOptions::default();
    let base = propose(&space(), &h, &o, &mut TpeRng::new(1)).unwrap();
    let extra = space().sample(3, 99).unwrap();
    let mut with_failed = h.clone();
    for (i, c) in extra.iter().enumerate() {
        // Failed trials anywhere in the history, NaN scores too.
        let state = if i == 0 {
            TrialState::Complete(f64::NAN)
        } else {
            TrialState::Failed
        };
        with_failed.insert(2 * i + 1, TpeTrial { params: c, state });
    }
    let other = propose(&space(), &with_failed, &o, &mut TpeRng::new(1)).unwrap();
    assert_eq!(base, other);
}

#[test]
fn a_running_trial_changes_the_proposal_with_the_constant_liar() {
    let cands = history(15);
    let h = trials(&cands);
    let o = TpeOptions::default();
    let base = propose(&space(), &h, &o, &mut TpeRng::new(1)).unwrap();
    // The running trial sits exactly on the proposal: it becomes a bad trial there.
    let mut with_running = h.clone();
    with_running.push(TpeTrial {
        params: &base,
        state: TrialState::Running,
    });
    let (below, above) = inspect::split(&with_running, &o);
    assert!(above.contains(&15) && !below.contains(&15));
    let lied = propose(&space(), &with_running, &o, &mut TpeRng::new(1)).unwrap();
    assert_ne!(base, lied);
    // Without the liar the running trial is invisible.
    let honest = TpeOptions {
        constant_liar: false,
        ..o
    };
    let a = propose(&space(), &h, &honest, &mut TpeRng::new(1)).unwrap();
    let b = propose(&space(), &with_running, &honest, &mut TpeRng::new(1)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn startup_draws_at_random_from_the_space() {
    let cands = history(9);
    let h = trials(&cands);
    let o = TpeOptions::default();
    let space = space();
    let got = propose(&space, &h, &o, &mut TpeRng::new(5)).unwrap();
    // Optuna's RandomSampler's draws, from the startup generator seeded with 5 (their
    // values against Optuna's are checked by tests/tpe_parity.rs).
    let mut rng = NumpyRng::new(5);
    let expected: Candidate = space
        .iter()
        .map(|(k, d)| (k.clone(), Param::new(k, d).random_draw(&mut rng)))
        .collect();
    for (k, d) in space.iter() {
        assert!(Param::new(k, d).to_internal(0, &expected[k]).is_ok(), "{k}");
    }
    assert_eq!(got, expected);
    // Running trials do not count towards the startup.
    let mut more = h.clone();
    more.push(TpeTrial {
        params: &cands[0],
        state: TrialState::Running,
    });
    let got = propose(&space, &more, &o, &mut TpeRng::new(5)).unwrap();
    assert_eq!(got, expected);
}

#[test]
fn gamma_and_split_follow_optuna() {
    assert_eq!(gamma(0), 0);
    assert_eq!(gamma(10), 1);
    assert_eq!(gamma(11), 2);
    assert_eq!(gamma(30), 3);
    assert_eq!(gamma(31), 4);
    assert_eq!(gamma(1000), 25);
    let c = Candidate::new();
    let states = [
        TrialState::Complete(1.0),
        TrialState::Complete(3.0),
        TrialState::Failed,
        TrialState::Complete(3.0),
        TrialState::Running,
        TrialState::Complete(2.0),
    ];
    let h: Vec<TpeTrial<'_>> = states
        .iter()
        .map(|&state| TpeTrial { params: &c, state })
        .collect();
    // 4 complete trials -> 1 good; the tie at 3.0 goes to the earlier trial.
    let (below, above) = split(&h, true);
    assert_eq!(below, vec![1]);
    assert_eq!(above, vec![0, 3, 4, 5]);
}

#[test]
fn proposals_stay_inside_the_space() {
    let space = ParamDistributions::new()
        .add(
            "f",
            Distribution::FloatStep {
                low: 0.0,
                high: 1.0,
                step: 0.25,
            },
        )
        .add(
            "i",
            Distribution::IntStep {
                low: 2,
                high: 20,
                step: 6,
            },
        )
        .add("l", Distribution::LogRandInt { low: 1, high: 100 })
        .add(
            "u",
            Distribution::Uniform {
                loc: -1.0,
                scale: 2.0,
            },
        )
        .add("one", Distribution::list([7]));
    let cands = space.sample(30, 3).unwrap();
    let mut rng = TpeRng::new(0);
    let mut h: Vec<TpeTrial<'_>> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| TpeTrial {
            params: c,
            state: TrialState::Complete((i % 7) as f64),
        })
        .collect();
    let mut proposed = Vec::new();
    for _ in 0..10 {
        proposed.push(propose(&space, &h, &TpeOptions::default(), &mut rng).unwrap());
    }
    for p in &proposed {
        let f = p["f"].as_f64("f").unwrap();
        assert!([0.0, 0.25, 0.5, 0.75, 1.0].contains(&f), "{f}");
        assert!(
            matches!(p["i"], ParamValue::Int(2 | 8 | 14 | 20)),
            "{}",
            p["i"]
        );
        assert!(matches!(p["l"], ParamValue::Int(1..=99)));
        let u = p["u"].as_f64("u").unwrap();
        assert!((-1.0..=1.0).contains(&u));
        assert_eq!(p["one"], ParamValue::Int(7));
    }
    // Running trials of earlier proposals are accepted too.
    for p in &proposed {
        h.push(TpeTrial {
            params: p,
            state: TrialState::Running,
        });
    }
    propose(&space, &h, &TpeOptions::default(), &mut rng).unwrap();
}

#[test]
fn conditional_parameters_are_modelled_alone() {
    let space = ParamDistributions::new()
        .add(
            "a",
            Distribution::Uniform {
                loc: 0.0,
                scale: 1.0,
            },
        )
        .add(
            "b",
            Distribution::Uniform {
                loc: 0.0,
                scale: 1.0,
            },
        )
        .add("c", Distribution::list([1, 2, 3]));
    let mut cands = space.sample(20, 11).unwrap();
    for (i, c) in cands.iter_mut().enumerate() {
        if i % 3 == 0 {
            c.remove("b");
        }
    }
    let h: Vec<TpeTrial<'_>> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| TpeTrial {
            params: c,
            state: TrialState::Complete(i as f64),
        })
        .collect();
    let o = TpeOptions::default();
    assert_eq!(
        inspect::relative_params(&space, &h, &o).unwrap(),
        vec!["a", "c"]
    );
    let p = propose(&space, &h, &o, &mut TpeRng::new(2)).unwrap();
    assert_eq!(p.len(), 3);
    let univariate = TpeOptions {
        multivariate: false,
        ..o
    };
    assert!(inspect::relative_params(&space, &h, &univariate)
        .unwrap()
        .is_empty());
    propose(&space, &h, &univariate, &mut TpeRng::new(2)).unwrap();
}

#[test]
fn bad_input_gives_typed_errors() {
    let mut rng = TpeRng::new(0);
    let o = TpeOptions::default();
    let empty = ParamDistributions::new();
    assert!(matches!(
        propose(&empty, &[], &o, &mut rng),
        Err(MlpTuneError::SearchSpace(_))
    ));
    for d in [
        Distribution::List(vec![]),
        Distribution::Uniform {
            loc: 0.0,
            scale: -1.0,
        },
        Distribution::LogUniform {
            low: 0.0,
            high: 1.0,
        },
        Distribution::RandInt { low: 3, high: 3 },
        Distribution::FloatStep {
            low: 0.0,
            high: 1.0,
            step: 0.3,
        },
        Distribution::IntStep {
            low: 0,
            high: 5,
            step: 0,
        },
    ] {
        let s = ParamDistributions::new().add("x", d);
        assert!(matches!(
            propose(&s, &[], &o, &mut rng),
            Err(MlpTuneError::SearchSpace(_))
        ));
    }
    let bad_options = [
        TpeOptions {
            n_ei_candidates: 0,
            ..o
        },
        TpeOptions {
            prior_weight: -1.0,
            ..o
        },
        TpeOptions {
            prior_weight: f64::NAN,
            ..o
        },
    ];
    for bo in bad_options {
        assert!(matches!(
            propose(&space(), &[], &bo, &mut rng),
            Err(MlpTuneError::InvalidParameter { .. })
        ));
    }
    // A trial value outside its distribution, or of the wrong type.
    let cands = history(12);
    for (name, value) in [
        ("act", ParamValue::from("selu")),
        ("n", ParamValue::Int(50)),
        ("n", ParamValue::Float(2.5)),
        ("alpha", ParamValue::Float(f64::NAN)),
        ("alpha", ParamValue::from("big")),
    ] {
        let mut broken = cands.clone();
        broken[4].insert(name.to_string(), value);
        let h = trials_unscored(&broken);
        assert!(matches!(
            propose(&space(), &h, &o, &mut rng),
            Err(MlpTuneError::SearchSpace(_))
        ));
    }
}

fn trials_unscored(cands: &[Candidate]) -> Vec<TpeTrial<'_>> {
    cands
        .iter()
        .enumerate()
        .map(|(i, c)| TpeTrial {
            params: c,
            state: TrialState::Complete(i as f64),
        })
        .collect()
}

#[test]
fn zero_startup_trials_model_from_the_prior() {
    let o = TpeOptions {
        n_startup_trials: 0,
        ..TpeOptions::default()
    };
    let p = propose(&space(), &[], &o, &mut TpeRng::new(0)).unwrap();
    assert_eq!(p.len(), 3);
}

#[test]
fn inspection_of_an_unknown_parameter_is_an_error() {
    let cands = history(12);
    let h = trials(&cands);
    let o = TpeOptions::default();
    assert!(matches!(
        inspect::parzen_estimators(&space(), &h, &["nope"], &o),
        Err(MlpTuneError::SearchSpace(_))
    ));
    assert!(matches!(
        inspect::log_ratio(&space(), &h, &["alpha", "nope"], &o, &[vec![0.01, 1.0]]),
        Err(MlpTuneError::SearchSpace(_))
    ));
    // A probe with too few coordinates gives NaN, not a panic.
    let r = inspect::log_ratio(&space(), &h, &["alpha", "n"], &o, &[vec![0.01]]).unwrap();
    assert!(r[0].is_nan());
}
