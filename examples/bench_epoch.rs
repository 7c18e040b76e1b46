//! Seconds per training epoch and GFLOP/s on the two benchmark networks, the same work
//! `../shared/bench/sklearn_reference.py` times (`fit-regressor` and `wide-epoch`).
//!
//! - `--task small`: the textbook California train split (11610 × 8, standardized) → 30 relu →
//!   1, batch 32, SGD lr 1e-3 (momentum 0.9, Nesterov, alpha 1e-4: scikit-learn's defaults),
//!   `--epochs` (default 20) with no early stop, as `sklearn_reference.py fit-regressor`;
//! - `--task wide`: 10000 × 784 uniform random rows (numpy's `RandomState(0).rand`, drawn by
//!   the crate's `NumpyRng`) with 10 random classes → 512 relu → 512 relu → 10 softmax, batch
//!   200, Adam, as `sklearn_reference.py wide-epoch` (which runs one epoch; we run
//!   `--epochs`, default 3, and take the median).
//!
//! Options: `--dtype f32|f64` (default f64), `--epochs N`, `--threads N` (the fit's
//! `n_threads`, default 1). For `--task small` also `--activation relu|tanh|logistic`
//! (default relu), `--hidden 30,30,30` (default 30) and `--solver sgd|adam` (default sgd;
//! adam uses scikit-learn's defaults with the same learning rate), e.g. the tanh network of
//! the Hyperband search:
//! `cargo run --release --example bench_epoch -- --activation tanh --hidden 30,30,30 --solver adam`.
//!
//! FLOPs per epoch are counted as scikit-learn's script counts them: 6 × coefficients × rows
//! (forward and backward, a multiply-add = 2).
//!
//! `cargo run --release --example bench_epoch -- --task wide --dtype f32`
//!
//! After the fit it measures one core's multiply-add peak with a tiny FMA loop (12
//! independent chains on the widest vectors the CPU has, best of 7 runs of about 20 ms) and
//! prints the epoch's GFLOP/s as a share of it.
//!
//! Last line: `{"task": .., "dtype": .., "seconds_per_epoch": .., "gflops": ..,
//! "peak_gflops_one_core": .., ...}` (`seconds_per_epoch` is the median over epochs of the
//! per-epoch wall time).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::{california, flag};
use linfa::prelude::*;
use linfa::Float;
use mlp_tune::neural_network::{
    Activation, EpochLog, MLPClassifier, MLPRegressor, Solver, TrainingControl, TrainingObserver,
};
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2};
use serde_json::json;

/// Per-epoch wall times reported by the training observer.
fn epoch_recorder() -> (impl TrainingObserver + 'static, Arc<Mutex<Vec<f64>>>) {
    let seconds = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seconds);
    let observer = move |log: &EpochLog| {
        sink.lock().expect("lock").push(log.seconds);
        TrainingControl::Continue
    };
    (observer, seconds)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

struct Run {
    epoch_seconds: Vec<f64>,
    fit_seconds: f64,
    rows: usize,
    coefficients: usize,
    quality: (&'static str, f64),
}

/// The `--task small` network: hidden sizes, activation and solver.
struct SmallNet {
    hidden: Vec<usize>,
    activation: Activation,
    solver: Solver,
}

fn small<F: Float>(epochs: usize, threads: usize, net: &SmallNet) -> mlp_tune::Result<Run> {
    let data = california();
    let cast = |x: &Array2<f64>| x.mapv(|v| F::from(v).expect("finite"));
    let train = Dataset::new(
        cast(&data.train.records),
        data.train.targets.mapv(|v| F::from(v).expect("finite")),
    );
    let (observer, seconds) = epoch_recorder();
    let started = Instant::now();
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&net.hidden)
        .activation(net.activation)
        .solver(net.solver)
        .learning_rate_init(1e-3)
        .batch_size(32)
        .max_iter(epochs)
        .tol(0.0)
        .n_iter_no_change(epochs + 1)
        .random_state(42)
        .n_threads(threads)
        .observer(observer)
        .fit(&train)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let pred = model.try_predict(&cast(&data.test.records))?;
    let test_mse = pred
        .iter()
        .zip(data.test.targets.iter())
        .map(|(&p, &t)| {
            let d = p.to_f64().unwrap_or(f64::NAN) - t;
            d * d
        })
        .sum::<f64>()
        / pred.len() as f64;
    let epoch_seconds = seconds.lock().expect("lock").clone();
    Ok(Run {
        epoch_seconds,
        fit_seconds,
        rows: train.nsamples(),
        coefficients: std::iter::once(8)
            .chain(net.hidden.iter().copied())
            .zip(net.hidden.iter().copied().chain(std::iter::once(1)))
            .map(|(a, b)| a * b)
            .sum(),
        quality: ("test_mse", test_mse),
    })
}

fn wide<F: Float>(epochs: usize, threads: usize) -> mlp_tune::Result<Run> {
    let (rows, features) = (10_000, 784);
    let mut rng = NumpyRng::new(0);
    let x = Array2::from_shape_fn((rows, features), |_| {
        F::from(rng.random_sample()).expect("finite")
    });
    let y: Array1<usize> = (0..rows).map(|_| rng.randint(0, 10) as usize).collect();
    let data = Dataset::new(x, y);
    let (observer, seconds) = epoch_recorder();
    let started = Instant::now();
    let model = MLPClassifier::params()
        .hidden_layer_sizes(&[512, 512])
        .solver(Solver::Adam)
        .batch_size(200)
        .max_iter(epochs)
        .tol(0.0)
        .n_iter_no_change(epochs + 1)
        .random_state(0)
        .n_threads(threads)
        .observer(observer)
        .fit(&data)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let epoch_seconds = seconds.lock().expect("lock").clone();
    Ok(Run {
        epoch_seconds,
        fit_seconds,
        rows,
        coefficients: 784 * 512 + 512 * 512 + 512 * 10,
        quality: ("final_loss", model.loss()),
    })
}

/// The core's multiply-add peak in GFLOP/s (a multiply-add = 2), measured with a tiny loop:
/// 12 independent chains of fused multiply-adds on the widest vectors the CPU has (AVX-512,
/// else AVX2 + FMA, else scalar `mul_add`), each run about 20 ms, best of 7. Returns the
/// figure and the instruction set used.
fn fma_peak_gflops(f32: bool) -> (f64, &'static str) {
    const CHAINS: usize = 12;
    let iterations = 1usize << 20;
    #[allow(unused_mut)]
    let mut run: Box<dyn Fn() -> f64> = Box::new(move || {
        let mut acc = [1.0f64; CHAINS];
        for _ in 0..iterations {
            for a in acc.iter_mut() {
                *a = a.mul_add(0.999_999_9, 1e-7);
            }
        }
        std::hint::black_box(acc.iter().sum::<f64>());
        (iterations * CHAINS * 2) as f64
    });
    #[allow(unused_mut)]
    let mut isa = "scalar mul_add";
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(iterations: usize, f32: bool) -> f64 {
            let mut acc = [_mm512_set1_pd(1.0); CHAINS];
            let (a, b) = if f32 {
                (
                    _mm512_castps_pd(_mm512_set1_ps(0.999_9)),
                    _mm512_castps_pd(_mm512_set1_ps(1e-4)),
                )
            } else {
                (_mm512_set1_pd(0.999_999_9), _mm512_set1_pd(1e-7))
            };
            for _ in 0..iterations {
                for x in acc.iter_mut() {
                    *x = if f32 {
                        _mm512_castps_pd(_mm512_fmadd_ps(
                            _mm512_castpd_ps(*x),
                            _mm512_castpd_ps(a),
                            _mm512_castpd_ps(b),
                        ))
                    } else {
                        _mm512_fmadd_pd(*x, a, b)
                    };
                }
            }
            std::hint::black_box(acc);
            (iterations * CHAINS * if f32 { 16 } else { 8 } * 2) as f64
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(iterations: usize, f32: bool) -> f64 {
            let mut acc = [_mm256_set1_pd(1.0); CHAINS];
            let (a, b) = if f32 {
                (
                    _mm256_castps_pd(_mm256_set1_ps(0.999_9)),
                    _mm256_castps_pd(_mm256_set1_ps(1e-4)),
                )
            } else {
                (_mm256_set1_pd(0.999_999_9), _mm256_set1_pd(1e-7))
            };
            for _ in 0..iterations {
                for x in acc.iter_mut() {
                    *x = if f32 {
                        _mm256_castps_pd(_mm256_fmadd_ps(
                            _mm256_castpd_ps(*x),
                            _mm256_castpd_ps(a),
                            _mm256_castpd_ps(b),
                        ))
                    } else {
                        _mm256_fmadd_pd(*x, a, b)
                    };
                }
            }
            std::hint::black_box(acc);
            (iterations * CHAINS * if f32 { 8 } else { 4 } * 2) as f64
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            isa = "AVX-512";
            // SAFETY: the CPU has AVX-512F.
            run = Box::new(move || unsafe { avx512(iterations, f32) });
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            isa = "AVX2 + FMA";
            // SAFETY: the CPU has AVX2 and FMA.
            run = Box::new(move || unsafe { avx2(iterations, f32) });
        }
    }
    let best = (0..7)
        .map(|_| {
            let started = Instant::now();
            let flops = run();
            flops / started.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max);
    (best, isa)
}

fn main() -> mlp_tune::Result<()> {
    let task: String = flag("--task", "small".to_string());
    let dtype: String = flag("--dtype", "f64".to_string());
    let threads: usize = flag("--threads", 1);
    let default_epochs = if task == "wide" { 3 } else { 20 };
    let epochs: usize = flag("--epochs", default_epochs).max(1);
    let activation_name: String = flag("--activation", "relu".to_string());
    let hidden_text: String = flag("--hidden", "30".to_string());
    let solver_name: String = flag("--solver", "sgd".to_string());
    let hidden: Option<Vec<usize>> = hidden_text
        .split(',')
        .map(|h| h.trim().parse().ok())
        .collect();
    let solver = match solver_name.as_str() {
        "sgd" => Some(Solver::Sgd),
        "adam" => Some(Solver::Adam),
        _ => None,
    };
    let (Ok(activation), Some(hidden), Some(solver)) =
        (Activation::from_name(&activation_name), hidden, solver)
    else {
        eprintln!("bad --activation, --hidden or --solver");
        std::process::exit(2);
    };
    let net = SmallNet {
        hidden,
        activation,
        solver,
    };
    let run = match (task.as_str(), dtype.as_str()) {
        ("small", "f64") => small::<f64>(epochs, threads, &net)?,
        ("small", "f32") => small::<f32>(epochs, threads, &net)?,
        ("wide", "f64") => wide::<f64>(epochs, threads)?,
        ("wide", "f32") => wide::<f32>(epochs, threads)?,
        _ => {
            eprintln!(
                "usage: bench_epoch --task small|wide --dtype f32|f64 [--epochs N] [--threads N]"
            );
            std::process::exit(2);
        }
    };
    let per_epoch = median(&run.epoch_seconds);
    let flops = 6.0 * run.coefficients as f64 * run.rows as f64;
    let gflops = flops / per_epoch / 1e9;
    // The fastest epoch: the least disturbed by other work on a shared machine, as the peak
    // below (a best of 7) is.
    let fastest = run
        .epoch_seconds
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let best_gflops = flops / fastest / 1e9;
    let fit_per_epoch = run.fit_seconds / run.epoch_seconds.len().max(1) as f64;
    // The peak is measured after the fit, on the same (warm) core.
    let (peak, peak_isa) = fma_peak_gflops(dtype == "f32");
    println!(
        "task {task} ({dtype}, {threads} kernel thread(s)): {} rows, {} coefficients, {} epochs",
        run.rows,
        run.coefficients,
        run.epoch_seconds.len()
    );
    println!("per-epoch seconds: {:.5?}", run.epoch_seconds);
    println!(
        "median {:.3} ms/epoch, {:.2} GFLOP/s; whole fit {:.3} s ({:.3} ms/epoch incl. setup); {} {:.4}",
        per_epoch * 1e3,
        gflops,
        run.fit_seconds,
        fit_per_epoch * 1e3,
        run.quality.0,
        run.quality.1
    );
    println!(
        "one core's {dtype} multiply-add peak (tiny {peak_isa} FMA loop): {peak:.1} GFLOP/s; \
         the median epoch runs at {:.0}% of it, the fastest ({:.1} GFLOP/s) at {:.0}%{}",
        100.0 * gflops / peak,
        best_gflops,
        100.0 * best_gflops / peak,
        if threads > 1 {
            format!(
                " ({:.0}% of {threads} cores)",
                100.0 * gflops / peak / threads as f64
            )
        } else {
            String::new()
        }
    );
    println!(
        "{}",
        json!({
            "task": task,
            "dtype": dtype,
            "threads": threads,
            "activation": if task == "wide" { "relu" } else { activation_name.as_str() },
            "hidden": if task == "wide" { "512,512" } else { hidden_text.as_str() },
            "solver": if task == "wide" { "adam" } else { solver_name.as_str() },
            "epochs": run.epoch_seconds.len(),
            "seconds_per_epoch": per_epoch,
            "fit_seconds_per_epoch": fit_per_epoch,
            "gflops": gflops,
            "fastest_epoch_gflops": best_gflops,
            "peak_gflops_one_core": peak,
            "peak_isa": peak_isa,
            run.quality.0: run.quality.1,
        })
    );
    Ok(())
}
