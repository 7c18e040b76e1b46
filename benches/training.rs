//! Criterion benchmarks of the training engine (not run by CI; `cargo bench --bench training`).
//!
//! The data is synthetic with the benchmark tasks' shapes, so the benches need no download:
//! - `small_epoch`: one SGD epoch of 8 → 30 relu → 1, batch 32, on 11610 rows (the textbook
//!   California training split's shape);
//! - `wide_epoch/{f32,f64}`: one Adam epoch of 784 → 512 → 512 → 10 softmax, batch 200, on
//!   2000 rows (a fifth of `bench_epoch --task wide`, to keep a sample short);
//! - `predict/{rows}`: predictions of the small network on 1k to 1M rows, reported as rows per
//!   second so linear scaling shows as a flat throughput;
//! - `search_fold`: one (candidate × fold) task of the textbook search: fit on two thirds of the
//!   training rows with early stopping (SGD, batch 32, 20 epochs at most) and score on the rest.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use linfa::prelude::*;
use linfa::Float;
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor, Solver};
use mlp_tune::random::NumpyRng;
use ndarray::{s, Array1, Array2};
use std::hint::black_box;
use std::time::Duration;

fn regression_data(rows: usize, cols: usize, seed: u32) -> (Array2<f64>, Array1<f64>) {
    let mut rng = NumpyRng::new(seed);
    let x = Array2::from_shape_fn((rows, cols), |_| rng.uniform(-2.0, 2.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| r[0] * r[1] + r.iter().map(|v| v.sin()).sum::<f64>())
        .collect();
    (x, y)
}

fn small_epoch(c: &mut Criterion) {
    let (x, y) = regression_data(11610, 8, 1);
    let data = Dataset::new(x, y);
    let params = MLPRegressor::params()
        .hidden_layer_sizes(&[30])
        .solver(Solver::Sgd)
        .batch_size(32)
        .max_iter(1)
        .random_state(42);
    c.bench_function("small_epoch", |b| {
        b.iter(|| black_box(params.clone().fit(&data).expect("fit")))
    });
}

fn wide_case<F: Float>(c: &mut Criterion, name: &str) {
    let rows = 2000;
    let mut rng = NumpyRng::new(0);
    let x = Array2::from_shape_fn((rows, 784), |_| {
        F::from(rng.random_sample()).unwrap_or_else(F::zero)
    });
    let y: Array1<usize> = (0..rows).map(|_| rng.randint(0, 10) as usize).collect();
    let data = Dataset::new(x, y);
    let params = MLPClassifier::params()
        .hidden_layer_sizes(&[512, 512])
        .batch_size(200)
        .max_iter(1)
        .random_state(0);
    let mut group = c.benchmark_group("wide_epoch");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    // 6 × coefficients × rows: the FLOPs of one epoch.
    group.throughput(Throughput::Elements(
        6 * (784 * 512 + 512 * 512 + 512 * 10) * rows as u64,
    ));
    group.bench_function(name, |b| {
        b.iter(|| black_box(params.clone().fit(&data).expect("fit")))
    });
    group.finish();
}

fn wide_epoch(c: &mut Criterion) {
    wide_case::<f32>(c, "f32");
    wide_case::<f64>(c, "f64");
}

fn predict(c: &mut Criterion) {
    let (x, y) = regression_data(2000, 8, 2);
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[30])
        .max_iter(5)
        .random_state(0)
        .fit(&Dataset::new(x, y))
        .expect("fit");
    let (big, _) = regression_data(1_000_000, 8, 3);
    let mut group = c.benchmark_group("predict");
    group.sample_size(10);
    for rows in [1_000usize, 10_000, 100_000, 1_000_000] {
        let view = big.slice(s![..rows, ..]).to_owned();
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &view, |b, x| {
            b.iter(|| black_box(model.try_predict(x).expect("predict")))
        });
    }
    group.finish();
}

fn search_fold(c: &mut Criterion) {
    let (x, y) = regression_data(11610, 8, 4);
    let cut = 11610 * 2 / 3;
    let train = Dataset::new(
        x.slice(s![..cut, ..]).to_owned(),
        y.slice(s![..cut]).to_owned(),
    );
    let test = x.slice(s![cut.., ..]).to_owned();
    let params = MLPRegressor::params()
        .hidden_layer_sizes(&[30, 30])
        .solver(Solver::Sgd)
        .learning_rate_init(3e-3)
        .batch_size(32)
        .early_stopping(true)
        .max_iter(20)
        .random_state(42);
    let mut group = c.benchmark_group("search_fold");
    group.sample_size(10);
    group.bench_function("fit_and_score", |b| {
        b.iter(|| {
            let model = params.clone().fit(&train).expect("fit");
            black_box(model.try_predict(&test).expect("predict"))
        })
    });
    group.finish();
}

criterion_group!(benches, small_epoch, wide_epoch, predict, search_fold);
criterion_main!(benches);
