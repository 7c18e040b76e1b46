//! The kernels' tests: thread counts, the documented summation order bit for bit on every
//! instruction set, and agreement with faer.

use super::*;
use crate::random::NumpyRng;
use ndarray::Array2;

/// A product large enough to be split across threads gives the same bits on one thread
/// and on two, and a search task's cap wins over a fit's request.
#[test]
fn kernel_threads_do_not_change_results() {
    let mut rng = NumpyRng::new(3);
    let a = Array2::from_shape_fn((300, 257), |_| rng.uniform(-1.0, 1.0));
    let b = Array2::from_shape_fn((257, 301), |_| rng.uniform(-1.0, 1.0));
    let run = |threads: usize| {
        let mut c = Array2::<f64>::zeros((300, 301));
        with_kernel_threads(threads, || {
            gemm(0.5, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        });
        c
    };
    let one = run(1);
    assert_eq!(one, run(2));
    let naive = a.dot(&b) * 0.5;
    assert!(one
        .iter()
        .zip(naive.iter())
        .all(|(x, y)| (x - y).abs() < 1e-12));
    let seen =
        with_single_threaded_kernels(|| with_kernel_threads(4, || KERNEL_THREADS.with(Cell::get)));
    assert_eq!(seen, 1);
    assert_eq!(with_kernel_threads(3, || KERNEL_THREADS.with(Cell::get)), 3);
    assert_eq!(KERNEL_THREADS.with(Cell::get), 1);
}

/// The own kernel splits a large product's rows over the threads: the same bits on one
/// thread and two, with every epilogue that writes by rows (the optimizer step) and the
/// column sums (computed by the first rows only).
#[test]
fn own_kernel_threads_do_not_change_results() {
    let mut rng = NumpyRng::new(7);
    let (m, k, n) = (256, 256, 100);
    let at = Array2::from_shape_fn((k, m), |_| rng.uniform(-1.0, 1.0));
    let b = Array2::from_shape_fn((k, n), |_| rng.uniform(-1.0, 1.0));
    let w0 = Array2::from_shape_fn((m, n), |_| rng.uniform(-1.0, 1.0));
    let run = |threads: usize| {
        let (mut w, mut s1) = (w0.clone(), Array2::<f64>::zeros((m, n)));
        let mut c = Array2::<f64>::zeros((m, n));
        let mut sums = vec![0.0; n];
        let plain = with_kernel_threads(threads, || {
            let step = Step::Sgd {
                lr: 0.01,
                momentum: 0.9,
                nesterov: true,
            };
            let ep = Epilogue::Update {
                w: w.view_mut(),
                l2: Some(1e-3),
                s1: s1.view_mut(),
                s2: None,
                step,
            };
            let fused = gemm_fused(
                m,
                0.5,
                &at.t(),
                &b.view(),
                &mut c.view_mut(),
                ep,
                Some((&mut sums, 0.5)),
            );
            assert!(fused.epilogue && fused.sums);
            let mut plain = Array2::<f64>::zeros((m, n));
            gemm(0.5, &at.t(), &b.view(), 0.0, &mut plain.view_mut());
            plain
        });
        (w, s1, sums, plain)
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

/// `beta` other than 0 and 1, a transposed operand and f32 go through the same kernel.
#[test]
fn gemm_accumulates_with_beta() {
    let a = ndarray::array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let b = ndarray::array![[1.0f32, 0.5, -1.0], [2.0, 1.0, 0.0]];
    let mut c = Array2::from_elem((3, 3), 1.0f32);
    gemm(2.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
    let expected = a.dot(&b) * 2.0 + 0.5;
    assert_eq!(c, expected);
    let mut d = Array2::from_elem((2, 2), 0.0f32);
    gemm(1.0, &a.t(), &a.view(), 0.0, &mut d.view_mut());
    assert_eq!(d, a.t().dot(&a));
}

/// The own kernel sums each output element with one fused multiply-add per term in
/// increasing `p` from zero (one-unit dot products in four fixed partial sums), for every
/// orientation the engine uses, in f32 and f64, with and without `beta`, and with every
/// fused epilogue: compared bit for bit against that order written out, on every
/// instruction set the CPU runs (so AVX-512, AVX2 + FMA and portable agree).
#[test]
fn own_kernel_follows_its_documented_order() {
    fn reference<F: Float>(a: &Array2<F>, b: &Array2<F>, dots: bool) -> Array2<F> {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        Array2::from_shape_fn((m, n), |(i, j)| {
            if dots {
                let body = k - k % 4;
                let mut lanes = [F::zero(); 4];
                for p in 0..body {
                    lanes[p % 4] = fused(a[(i, p)], b[(p, j)], lanes[p % 4]);
                }
                let mut total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
                for p in body..k {
                    total = fused(a[(i, p)], b[(p, j)], total);
                }
                total
            } else {
                (0..k).fold(F::zero(), |acc, p| fused(a[(i, p)], b[(p, j)], acc))
            }
        })
    }
    fn check<F: Float>(rng: &mut NumpyRng) {
        let mut random = |shape: (usize, usize)| {
            Array2::from_shape_fn(shape, |_| F::from(rng.uniform(-1.0, 1.0)).unwrap())
        };
        // (m, k, n): the benchmark networks' products, ragged widths and row counts on
        // both sides of every register block, vector and panel width.
        for (m, k, n) in [
            (32, 8, 30),
            (26, 8, 30),
            (32, 30, 1),
            (27, 30, 1),
            (32, 1, 30),
            (32, 60, 60),
            (26, 60, 60),
            (60, 32, 60),
            (32, 60, 1),
            (31, 99, 99),
            (5, 3, 7),
            (9, 12, 41),
            (3, 5, 2),
            (7, 6, 1),
            (15, 17, 49),
            (13, 33, 97),
        ] {
            let a = random((m, k));
            let b = random((k, n));
            let at = random((k, m));
            let bt = random((n, k));
            let half = F::from(0.5).unwrap();
            let alpha = F::from(0.25).unwrap();
            let dots = n == 1 && k >= 8;
            let expected = reference(&a, &b, dots).mapv(|v| alpha * v);
            // Row form (and dots for one unit).
            let mut c = Array2::zeros((m, n));
            gemm(alpha, &a.view(), &b.view(), F::zero(), &mut c.view_mut());
            assert_eq!(c, expected, "A·B {m}×{k}×{n}");
            // With beta.
            let c0 = random((m, n));
            let mut c = c0.clone();
            gemm(alpha, &a.view(), &b.view(), half, &mut c.view_mut());
            let with_beta = Array2::from_shape_fn((m, n), |ij| half * c0[ij] + expected[ij]);
            assert_eq!(c, with_beta, "A·B + beta·C {m}×{k}×{n}");
            // Aᵀ·B (the coefficient gradient), row or transposed form, with its L2 term.
            let mut c = Array2::zeros((m, n));
            gemm(alpha, &at.t(), &b.view(), F::zero(), &mut c.view_mut());
            let expected_t = reference(&at.t().to_owned(), &b, false).mapv(|v| alpha * v);
            assert_eq!(c, expected_t, "Aᵀ·B {m}×{k}×{n}");
            let w = random((m, n));
            let mut c = Array2::zeros((m, n));
            let ep = Epilogue::AddScaled {
                w: w.view(),
                scale: half,
            };
            // With the column sums of B (the intercept gradient) along.
            let mut sums = vec![F::zero(); n];
            let fused = gemm_fused(
                m,
                alpha,
                &at.t(),
                &b.view(),
                &mut c.view_mut(),
                ep,
                Some((&mut sums, half)),
            );
            assert!(fused.epilogue, "Aᵀ·B + scale·W {m}×{k}×{n} not fused");
            if fused.sums {
                let expected: Vec<F> = (0..n)
                    .map(|j| (0..k).fold(F::zero(), |acc, p| acc + b[(p, j)]) * half)
                    .collect();
                assert_eq!(sums, expected, "column sums {m}×{k}×{n}");
            } else {
                assert!(n == 1 || m == 1, "column sums {m}×{k}×{n} not fused");
            }
            let expected_l2 = Array2::from_shape_fn((m, n), |ij| expected_t[ij] + half * w[ij]);
            assert_eq!(c, expected_l2, "Aᵀ·B + scale·W {m}×{k}×{n}");
            // The optimizer's step fused into Aᵀ·B: the same bits as the gradient
            // (with and without its L2 term) followed by `Step::apply`.
            let steps = [
                Step::Sgd {
                    lr: F::from(0.01).unwrap(),
                    momentum: F::from(0.9).unwrap(),
                    nesterov: true,
                },
                Step::Sgd {
                    lr: F::from(0.01).unwrap(),
                    momentum: F::from(0.9).unwrap(),
                    nesterov: false,
                },
                Step::Adam {
                    b1: F::from(0.9).unwrap(),
                    one_minus_b1: F::from(0.1).unwrap(),
                    b2: F::from(0.999).unwrap(),
                    one_minus_b2: F::one() - F::from(0.999).unwrap(),
                    neg_lr: F::from(-0.001).unwrap(),
                    eps: F::from(1e-8).unwrap(),
                },
            ];
            for step in steps {
                for l2 in [None, Some(half)] {
                    let mut w_fused = w.clone();
                    let mut s1_fused = random((m, n));
                    let mut s2_fused = random((m, n)).mapv(|v| v * v);
                    let (mut w_ref, mut s1_ref, mut s2_ref) =
                        (w_fused.clone(), s1_fused.clone(), s2_fused.clone());
                    let mut c = Array2::zeros((m, n));
                    let ep = Epilogue::Update {
                        w: w_fused.view_mut(),
                        l2,
                        s1: s1_fused.view_mut(),
                        s2: step.uses_second_state().then(|| s2_fused.view_mut()),
                        step,
                    };
                    let fused =
                        gemm_fused(m, alpha, &at.t(), &b.view(), &mut c.view_mut(), ep, None);
                    assert!(fused.epilogue, "update {m}×{k}×{n} not fused");
                    let g = match l2 {
                        Some(scale) => {
                            Array2::from_shape_fn((m, n), |ij| expected_t[ij] + scale * w[ij])
                        }
                        None => expected_t.clone(),
                    };
                    step.apply(
                        w_ref.as_slice_mut().unwrap(),
                        s1_ref.as_slice_mut().unwrap(),
                        s2_ref.as_slice_mut().unwrap(),
                        g.as_slice().unwrap(),
                    );
                    assert_eq!(w_fused, w_ref, "update {step:?} l2 {l2:?} {m}×{k}×{n}");
                    assert_eq!(s1_fused, s1_ref, "state {step:?} {m}×{k}×{n}");
                    assert_eq!(s2_fused, s2_ref, "second state {step:?} {m}×{k}×{n}");
                }
            }
            // A·Bᵀ (the backward product, packed form from 4 rows), with each derivative.
            let plain = reference(&a, &bt.t().to_owned(), dots);
            let mut c = Array2::zeros((m, n));
            gemm(F::one(), &a.view(), &bt.t(), F::zero(), &mut c.view_mut());
            assert_eq!(c, plain, "A·Bᵀ {m}×{k}×{n}");
            let mut out = random((m, n));
            out.iter_mut().step_by(3).for_each(|v| *v = F::zero());
            for activation in Activation::ALL {
                let mut c = Array2::zeros((m, n));
                let ep = Epilogue::Derivative {
                    out: out.view(),
                    activation,
                };
                if gemm_fused(m, F::one(), &a.view(), &bt.t(), &mut c.view_mut(), ep, None).epilogue
                {
                    let expected = Array2::from_shape_fn((m, n), |ij| {
                        plain[ij] * activation.derivative_from_output(out[ij])
                    });
                    assert_eq!(c, expected, "A·Bᵀ·f' {activation:?} {m}×{k}×{n}");
                } else {
                    assert!(m < 4, "A·Bᵀ·f' {m}×{k}×{n} not fused");
                }
            }
            // The forward product with bias and relu (or identity).
            let bias: Vec<F> = random((1, n)).into_iter().collect();
            let with_bias = reference(&a, &b, dots);
            for relu in [false, true] {
                let mut c = Array2::zeros((m, n));
                let ep = Epilogue::Bias { bias: &bias, relu };
                let fused = gemm_fused(
                    m,
                    F::one(),
                    &a.view(),
                    &b.view(),
                    &mut c.view_mut(),
                    ep,
                    None,
                );
                assert!(fused.epilogue, "A·B + bias {m}×{k}×{n} not fused");
                let act = if relu {
                    Activation::Relu
                } else {
                    Activation::Identity
                };
                let expected =
                    Array2::from_shape_fn((m, n), |(i, j)| act.apply(with_bias[(i, j)] + bias[j]));
                assert_eq!(c, expected, "A·B + bias, relu {relu}, {m}×{k}×{n}");
            }
        }
    }
    for isa in Isa::all_supported() {
        with_isa(isa, || {
            let mut rng = NumpyRng::new(11);
            check::<f64>(&mut rng);
            check::<f32>(&mut rng);
        });
    }
}

/// The own kernel against faer on the products of MLP training (batch 32, 128, 256 ×
/// widths 30, 60, 100, 256, in the three orientations), f64 and f32, one thread: 7
/// alternating samples each, medians, and the largest difference of the results. Prints a
/// markdown table (`docs/performance.md` quotes one):
/// `cargo test --release --lib own_kernel_against_faer -- --ignored --nocapture`.
#[cfg(feature = "faer")]
#[test]
#[ignore = "a benchmark: run it on purpose, on a quiet machine"]
fn own_kernel_against_faer() {
    use std::time::Instant;
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    fn measure<F: Float + faer::traits::ComplexField>(kind: &str, m: usize, k: usize, n: usize) {
        let mut rng = NumpyRng::new(1);
        let mut random = |shape: (usize, usize)| {
            Array2::from_shape_fn(shape, |_| F::from(rng.uniform(-0.5, 0.5)).unwrap())
        };
        let a_store = if kind == "gradient Aᵀ·δ" {
            random((k, m))
        } else {
            random((m, k))
        };
        let b_store = if kind == "backward δ·Wᵀ" {
            random((n, k))
        } else {
            random((k, n))
        };
        let a = if kind == "gradient Aᵀ·δ" {
            a_store.t()
        } else {
            a_store.view()
        };
        let b = if kind == "backward δ·Wᵀ" {
            b_store.t()
        } else {
            b_store.view()
        };
        let (mut own, mut other) = (Array2::<F>::zeros((m, n)), Array2::<F>::zeros((m, n)));
        let reps = (4_000_000 / (m * k * n)).clamp(2, 100_000);
        let mut run_own = || gemm(F::one(), &a, &b, F::zero(), &mut own.view_mut());
        let mut run_faer = || faer_gemm::<F, F>(F::one(), &a, &b, F::zero(), &mut other.view_mut());
        for _ in 0..reps / 4 + 1 {
            run_own();
            run_faer();
        }
        let (mut t_own, mut t_faer) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            let started = Instant::now();
            for _ in 0..reps {
                run_own();
            }
            t_own.push(started.elapsed().as_secs_f64() / reps as f64);
            let started = Instant::now();
            for _ in 0..reps {
                run_faer();
            }
            t_faer.push(started.elapsed().as_secs_f64() / reps as f64);
        }
        let diff = own
            .iter()
            .zip(other.iter())
            .map(|(x, y)| (*x - *y).abs().to_f64().unwrap_or(f64::NAN))
            .fold(0.0, f64::max);
        let (o, f) = (median(t_own) * 1e6, median(t_faer) * 1e6);
        println!(
            "| {} | {kind} | {m}×{k}×{n} | {o:.2} | {f:.2} | {:.2} | {:.1} | {diff:.0e} |",
            std::any::type_name::<F>(),
            f / o,
            2.0 * (m * k * n) as f64 / o / 1e3
        );
    }
    println!(
        "| dtype | product | m×k×n | own µs | faer µs | faer / own | own GFLOP/s | max abs diff |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // KERNEL_WIDTHS=60,73 and KERNEL_BATCHES=32 measure other shapes (f64 only when set).
    let list = |name: &str, default: &[usize]| -> Vec<usize> {
        std::env::var(name).map_or_else(
            |_| default.to_vec(),
            |v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        )
    };
    let custom = std::env::var("KERNEL_WIDTHS").is_ok() || std::env::var("KERNEL_BATCHES").is_ok();
    let dtypes: &[bool] = if custom { &[false] } else { &[false, true] };
    for &f32 in dtypes {
        for batch in list("KERNEL_BATCHES", &[32, 128, 256]) {
            for w in list("KERNEL_WIDTHS", &[30, 60, 100, 256]) {
                for (kind, m, k, n) in [
                    ("forward A·W", batch, w, w),
                    ("gradient Aᵀ·δ", w, batch, w),
                    ("backward δ·Wᵀ", batch, w, w),
                ] {
                    if f32 {
                        measure::<f32>(kind, m, k, n);
                    } else {
                        measure::<f64>(kind, m, k, n);
                    }
                }
            }
        }
    }
}

/// Products the own kernel does not take go to faer with the same results up to
/// rounding, and an epilogue not fused is left to the caller.
#[test]
fn large_products_leave_the_epilogue_to_the_caller() {
    let mut rng = NumpyRng::new(5);
    let a = Array2::from_shape_fn((40, 300), |_| rng.uniform(-1.0, 1.0));
    let b = Array2::from_shape_fn((300, 300), |_| rng.uniform(-1.0, 1.0));
    let bias = vec![1.0; 300];
    let mut c = Array2::zeros((40, 300));
    let ep = Epilogue::Bias {
        bias: &bias,
        relu: true,
    };
    let fused = gemm_fused(40, 1.0, &a.view(), &b.view(), &mut c.view_mut(), ep, None);
    assert!(!fused.epilogue);
    let naive = a.dot(&b);
    assert!(c
        .iter()
        .zip(naive.iter())
        .all(|(x, y)| (x - y).abs() < 1e-12));
}
