//! Once training has started, a batch allocates nothing: a counting global allocator records
//! the heap allocations made on the training thread between consecutive epoch-end observer
//! calls, and each epoch's count must stay a small constant however many batches it runs.
//!
//! The constant per-epoch allocations that remain are outside the batch loop: the loss curve's
//! `Vec` growing (amortized, a few times over a whole fit) and, with a validation set, the
//! prediction buffers of the epoch's validation pass.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Arc, Mutex};

use linfa::prelude::*;
use linfa::Float;
use mlp_tune::neural_network::{
    Activation, EpochLog, MLPClassifier, MLPRegressor, Solver, TrainingControl,
};
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2};

struct Counting;

thread_local! {
    // Counted per thread so tests running in parallel do not see each other's allocations.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

const EPOCHS: usize = 12;

/// An observer recording the allocation counter at each epoch end, into a buffer reserved up
/// front so recording allocates nothing itself.
fn recorder() -> (
    impl Fn(&EpochLog) -> TrainingControl + Send + Sync + 'static,
    Arc<Mutex<Vec<usize>>>,
) {
    let marks = Arc::new(Mutex::new(Vec::with_capacity(EPOCHS + 1)));
    let sink = Arc::clone(&marks);
    let observer = move |_: &EpochLog| {
        let now = allocations();
        if let Ok(mut m) = sink.lock() {
            if m.len() < m.capacity() {
                m.push(now);
            }
        }
        TrainingControl::Continue
    };
    (observer, marks)
}

/// Allocations in each epoch after the first (the first builds the workspaces).
fn per_epoch(marks: &[usize]) -> Vec<usize> {
    marks.windows(2).map(|w| w[1] - w[0]).collect()
}

fn data<F: Float>(rows: usize, cols: usize, seed: u32) -> (Array2<F>, Array1<F>, Array1<usize>) {
    let mut rng = NumpyRng::new(seed);
    let x = Array2::from_shape_fn((rows, cols), |_| {
        F::from(rng.uniform(-1.0, 1.0)).unwrap_or_else(F::zero)
    });
    let y_reg = x
        .rows()
        .into_iter()
        .map(|r| r.iter().fold(F::zero(), |a, &v| a + v * v))
        .collect();
    let y_cls = (0..rows).map(|_| rng.randint(0, 4) as usize).collect();
    (x, y_reg, y_cls)
}

fn check(name: &str, marks: &[usize], batches_per_epoch: usize, allowed: usize) {
    assert_eq!(marks.len(), EPOCHS, "{name}: one mark per epoch");
    let counts = per_epoch(marks);
    let worst = counts.iter().copied().max().unwrap_or(0);
    assert!(
        batches_per_epoch >= 50,
        "{name}: the test needs many batches to tell per-batch from per-epoch allocations"
    );
    assert!(
        worst <= allowed,
        "{name}: up to {worst} allocations in an epoch of {batches_per_epoch} batches (allowed {allowed} per epoch): {counts:?}"
    );
}

fn regressor_case<F: Float>(solver: Solver, activation: Activation) {
    let (x, y, _) = data::<F>(1600, 7, 3);
    let (observer, marks) = recorder();
    let model = MLPRegressor::params()
        .hidden_layer_sizes(&[20, 11])
        .activation(activation)
        .solver(solver)
        .batch_size(16)
        .max_iter(EPOCHS)
        .tol(0.0)
        .n_iter_no_change(EPOCHS + 1)
        .random_state(7)
        .observer(observer)
        .fit(&Dataset::new(x, y))
        .expect("fit");
    assert_eq!(model.n_iter(), EPOCHS);
    let marks = marks.lock().expect("lock").clone();
    // Only the loss curve's amortized growth may allocate, never once per batch.
    check(
        &format!("regressor {solver:?} {activation:?}"),
        &marks,
        100,
        1,
    );
}

#[test]
fn regressor_batches_allocate_nothing() {
    regressor_case::<f64>(Solver::Sgd, Activation::Relu);
    regressor_case::<f64>(Solver::Adam, Activation::Tanh);
    regressor_case::<f32>(Solver::Adam, Activation::Logistic);
}

#[test]
fn classifier_batches_allocate_nothing() {
    let (x, _, y) = data::<f64>(1200, 5, 11);
    let (observer, marks) = recorder();
    MLPClassifier::params()
        .hidden_layer_sizes(&[16])
        .batch_size(12)
        .max_iter(EPOCHS)
        .tol(0.0)
        .n_iter_no_change(EPOCHS + 1)
        .random_state(1)
        .observer(observer)
        .fit(&Dataset::new(x, y))
        .expect("fit");
    let marks = marks.lock().expect("lock").clone();
    check("softmax classifier", &marks, 100, 1);
}

#[test]
fn early_stopping_allocates_per_epoch_not_per_batch() {
    let (x, y, _) = data::<f64>(2000, 6, 5);
    let (observer, marks) = recorder();
    MLPRegressor::params()
        .hidden_layer_sizes(&[10])
        .batch_size(20)
        .early_stopping(true)
        .max_iter(EPOCHS)
        .tol(0.0)
        .n_iter_no_change(EPOCHS + 1)
        .random_state(2)
        .observer(observer)
        .fit(&Dataset::new(x, y))
        .expect("fit");
    let marks = marks.lock().expect("lock").clone();
    // The validation pass allocates its prediction buffers once per epoch (one per layer
    // plus the output), and the curves grow; 90 batches per epoch add nothing.
    check("early stopping", &marks, 90, 8);
}

/// Every knob family of the layer engine runs the same epoch loop with batch buffers sized
/// once: dropout and noise draws, batch norm, kernel and activity regularizers, a Keras
/// optimizer with clipping and a decay schedule, a Keras activation, a frozen layer, and
/// scikit-learn's early stopping on held-out rows.
#[test]
fn layer_engine_batches_allocate_nothing() {
    use mlp_tune::model_selection::param_space::ParamValue;
    use mlp_tune::neural_network::{LayerSpec, MlpConfig};
    let families: Vec<(&str, Vec<(&str, ParamValue)>)> = vec![
        (
            "dropout and noise",
            vec![("dropout", 0.2.into()), ("gaussian_noise", 0.1.into())],
        ),
        ("batch norm", vec![("batch_norm", "before".into())]),
        (
            "regularizers",
            vec![
                ("kernel_l1", 1e-4.into()),
                ("kernel_l2", 1e-3.into()),
                ("activity_l2", 1e-4.into()),
            ],
        ),
        (
            "keras optimizer, clipping, schedule",
            vec![
                ("optimizer", "nadam".into()),
                ("clipnorm", 1.0.into()),
                ("learning_rate", "cosine_decay".into()),
            ],
        ),
        ("keras activation", vec![("activation", "gelu".into())]),
        (
            "early stopping",
            vec![
                ("batch_norm", "after".into()),
                ("early_stopping", true.into()),
            ],
        ),
    ];
    for (name, knobs) in families {
        let (x, y, _) = data::<f64>(1600, 7, 3);
        let mut config = MlpConfig {
            hidden_layer_sizes: vec![20, 11],
            max_iter: EPOCHS,
            tol: 0.0,
            n_iter_no_change: EPOCHS + 1,
            random_state: Some(7),
            ..MlpConfig::default()
        };
        for (k, v) in &knobs {
            config.set_param(k, v).expect("knob");
        }
        config.batch_size = mlp_tune::neural_network::BatchSize::Fixed(16);
        let (observer, marks) = recorder();
        MLPRegressor::params()
            .config(config)
            .observer(observer)
            .fit(&Dataset::new(x, y))
            .expect("fit");
        let marks = marks.lock().expect("lock").clone();
        // With early stopping the validation pass allocates its buffers once per epoch
        // (one per op input of this 2-layer network with batch norm, plus the output and
        // the running statistics) and three curves grow; 90 batches add nothing.
        // 1600 rows in batches of 16; early stopping holds out 160 of them.
        let (batches, allowed) = if name == "early stopping" {
            (90, 16)
        } else {
            (100, 1)
        };
        check(name, &marks, batches, allowed);
    }
    // A frozen first layer.
    let (x, y, _) = data::<f64>(1600, 7, 3);
    let mut config = MlpConfig {
        max_iter: EPOCHS,
        tol: 0.0,
        n_iter_no_change: EPOCHS + 1,
        random_state: Some(7),
        ..MlpConfig::default()
    };
    config.arch.layers = Some(vec![
        LayerSpec::dense(20, Activation::Relu).trainable(false),
        LayerSpec::dense(11, Activation::Relu),
    ]);
    config.batch_size = mlp_tune::neural_network::BatchSize::Fixed(16);
    let (observer, marks) = recorder();
    MLPRegressor::params()
        .config(config)
        .observer(observer)
        .fit(&Dataset::new(x, y))
        .expect("fit");
    let marks = marks.lock().expect("lock").clone();
    check("frozen layer", &marks, 100, 1);
}
