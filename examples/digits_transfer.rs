//! Transfer learning (Géron, *Hands-On Machine Learning* 3rd ed., ch. 11, "Reusing
//! Pretrained Layers", on digits instead of Fashion MNIST): pretrain an `MLPClassifier` on
//! digits 0–4, then learn digits 5–9 from a few labelled images per class, reusing the
//! pretrained hidden layers with the first one frozen, against the same network trained from
//! scratch with the same seed.
//!
//! ```text
//! cargo run --release --example digits_transfer [-- --per-class 20 --repeats 5 --seed 42]
//! ```
//!
//! Measured here (2026-12-07, defaults): median test accuracy on 5–9 over 5 repeats 0.9070
//! in 167 epochs with the reused layers against 0.9523 in 47 epochs from scratch. Reusing
//! the features of 0–4 does not pay on this task, as Géron warns for small dense networks
//! ("transfer learning does not work very well with small dense networks"); it is the
//! mechanism this example shows, with honest numbers.
//!
//! Each repeat draws its own small training set of 5–9 (`--per-class` images per class,
//! the rest is the test set) and seeds both networks alike. The last line is JSON with the
//! medians over the repeats: `transfer_accuracy`, `scratch_accuracy`, `transfer_epochs`,
//! `scratch_epochs` (plus `repeats` and `per_class`).

use linfa::prelude::*;
use linfa::Dataset;
use mlp_tune::neural_network::{Activation, LayerSpec, MLPClassifier, Solver};
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Axis};

struct Args {
    per_class: usize,
    repeats: usize,
    seed: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        per_class: 20,
        repeats: 5,
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag}: {e}");
        match flag.as_str() {
            "--per-class" => args.per_class = value.parse().map_err(bad)?,
            "--repeats" => args.repeats = value.parse().map_err(bad)?,
            "--seed" => args.seed = value.parse().map_err(bad)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.per_class == 0 || args.repeats == 0 {
        return Err("--per-class and --repeats must be at least 1".into());
    }
    Ok(args)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The network both runs train on task B: the pretrained shape, a fresh softmax head.
fn classifier(
    layers: Vec<LayerSpec>,
    seed: u32,
) -> mlp_tune::neural_network::MLPClassifierParams<f64> {
    MLPClassifier::params()
        .layers(layers)
        .solver(Solver::Adam)
        .learning_rate_init(1e-2)
        .max_iter(500)
        .random_state(seed)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("digits_transfer: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("digits_transfer: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> mlp_tune::Result<()> {
    let digits = mlp_tune::datasets::digits();
    let x = digits.records() / 16.0;
    let y = digits.targets();
    let rows_of = |classes: std::ops::Range<usize>| -> Vec<usize> {
        (0..y.len()).filter(|&i| classes.contains(&y[i])).collect()
    };
    let (task_a, task_b) = (rows_of(0..5), rows_of(5..10));
    let subset = |rows: &[usize]| {
        Dataset::new(
            x.select(Axis(0), rows),
            Array1::from_iter(rows.iter().map(|&i| y[i])),
        )
    };
    let hidden = || {
        vec![
            LayerSpec::dense(64, Activation::Relu),
            LayerSpec::dense(32, Activation::Relu),
        ]
    };
    let source = subset(&task_a);
    let pretrained = classifier(hidden(), args.seed).fit(&source)?;
    println!(
        "pretrained on digits 0-4: {} rows, {} epochs, training accuracy {:.4}",
        task_a.len(),
        pretrained.n_iter(),
        pretrained.score(source.records(), source.targets())?
    );
    println!(
        "digits 5-9: {} labelled images per class, the rest ({} rows) tests",
        args.per_class,
        task_b.len() - 5 * args.per_class
    );
    println!("repeat  transfer acc  epochs   scratch acc  epochs");
    let (mut t_acc, mut t_ep, mut s_acc, mut s_ep) = (vec![], vec![], vec![], vec![]);
    for repeat in 0..args.repeats {
        let seed = args.seed.wrapping_add(repeat as u32);
        let (train, test) = few_per_class(&task_b, y, args.per_class, seed);
        let (train_set, test_x, test_y) = (
            subset(&train),
            x.select(Axis(0), &test),
            Array1::from_iter(test.iter().map(|&i| y[i])),
        );
        let mut reused = pretrained.hidden_layers(2)?;
        reused[0] = reused[0].clone().trainable(false);
        let transfer = classifier(reused, seed).fit(&train_set)?;
        let scratch = classifier(hidden(), seed).fit(&train_set)?;
        let (ta, sa) = (
            transfer.score(&test_x, &test_y)?,
            scratch.score(&test_x, &test_y)?,
        );
        println!(
            "{repeat:>6}  {ta:>12.4}  {:>6}   {sa:>11.4}  {:>6}",
            transfer.n_iter(),
            scratch.n_iter()
        );
        t_acc.push(ta);
        s_acc.push(sa);
        t_ep.push(transfer.n_iter() as f64);
        s_ep.push(scratch.n_iter() as f64);
    }
    let (ta, sa, te, se) = (median(t_acc), median(s_acc), median(t_ep), median(s_ep));
    println!(
        "median over {} repeats: transfer accuracy {ta:.4} in {te} epochs, scratch {sa:.4} in {se} epochs",
        args.repeats
    );
    println!(
        "{}",
        serde_json::json!({
            "transfer_accuracy": ta,
            "scratch_accuracy": sa,
            "transfer_epochs": te,
            "scratch_epochs": se,
            "repeats": args.repeats,
            "per_class": args.per_class,
        })
    );
    Ok(())
}

/// `per_class` rows of each class of `rows` for training (drawn with `seed`), the others
/// for testing.
fn few_per_class(
    rows: &[usize],
    y: &Array1<usize>,
    per_class: usize,
    seed: u32,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = NumpyRng::new(seed);
    let order: Vec<usize> = rng
        .permutation(rows.len())
        .into_iter()
        .map(|p| rows[p])
        .collect();
    let mut taken = std::collections::BTreeMap::<usize, usize>::new();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for i in order {
        let count = taken.entry(y[i]).or_default();
        if *count < per_class {
            *count += 1;
            train.push(i);
        } else {
            test.push(i);
        }
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}
