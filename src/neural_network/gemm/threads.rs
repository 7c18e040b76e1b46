//! The thread settings the kernels obey and the split of a product's rows over threads.

use super::*;

thread_local! {
    /// Threads the matrix kernel may use on this thread (set for the length of one fit).
    pub(super) static KERNEL_THREADS: Cell<usize> = const { Cell::new(1) };
    /// Upper bound on [`KERNEL_THREADS`]: 1 inside a search task, so that (candidate × fold)
    /// tasks are the only parallelism and the machine is never oversubscribed.
    static KERNEL_THREAD_CAP: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Restores a thread-local on drop, so a panicking fit cannot leak its setting.
struct Restore(&'static std::thread::LocalKey<Cell<usize>>, usize);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.with(|c| c.set(self.1));
    }
}

/// Runs `f` with the matrix kernel allowed up to `n` threads on the calling thread (capped
/// by [`with_single_threaded_kernels`]). A fit wraps its training loop in this with
/// `MlpConfig::n_threads`.
pub(crate) fn with_kernel_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let cap = KERNEL_THREAD_CAP.with(Cell::get);
    let previous = KERNEL_THREADS.with(|c| c.replace(n.clamp(1, cap.max(1))));
    let _restore = Restore(&KERNEL_THREADS, previous);
    f()
}

/// Runs `f` with every kernel single-threaded, whatever the fits inside ask for. Searches and
/// cross-validation run each (candidate × fold) task in this, because the tasks themselves
/// are spread over the `n_jobs` threads.
pub(crate) fn with_single_threaded_kernels<R>(f: impl FnOnce() -> R) -> R {
    let previous_cap = KERNEL_THREAD_CAP.with(|c| c.replace(1));
    let _restore_cap = Restore(&KERNEL_THREAD_CAP, previous_cap);
    let previous = KERNEL_THREADS.with(|c| c.replace(1));
    let _restore = Restore(&KERNEL_THREADS, previous);
    f()
}

/// Products with fewer multiply-adds than this stay on one thread even when more are
/// allowed: below it, waking a second thread costs more than it saves (how the threshold
/// was chosen is in `docs/performance.md`). The own kernel splits its rows over the threads
/// from the same size on.
pub(super) const PARALLEL_MIN_MULADDS: usize = 1 << 22;

/// Runs the tile, its rows split over the kernel's threads when it is large enough (each
/// row is computed the same way whatever block or thread it falls in, so the results do
/// not depend on the thread count).
#[inline(always)]
pub(super) unsafe fn run<F: Float>(t: &Tile<F>) {
    let threads = KERNEL_THREADS.with(Cell::get);
    let chunk = t.m.div_ceil(threads.max(1)).next_multiple_of(8);
    if threads > 1
        && t.m.saturating_mul(t.k).saturating_mul(t.n) >= PARALLEL_MIN_MULADDS
        && chunk < t.m
    {
        split_rows(Part(t.rows(0, t.m)), chunk);
        return;
    }
    run_on_isa(t)
}

/// A tile handed to another thread: its pointers address its own output rows (disjoint from
/// every other part's) and read-only operands, valid while the caller of [`run`] waits.
struct Part<F>(Tile<F>);

// SAFETY: see `Part`; the elements are `Send`.
unsafe impl<F: Send> Send for Part<F> {}

/// Halves the rows (at a multiple of 8) with `rayon::join` until a part has at most `chunk`
/// rows, and runs the parts (no allocation: `join` keeps its jobs on the stack).
fn split_rows<F: Float>(part: Part<F>, chunk: usize) {
    let m = part.0.m;
    if m <= chunk {
        // SAFETY: `part` is rows of a tile `run` was given (see `Tile::rows`).
        unsafe { run_on_isa(&part.0) };
        return;
    }
    let mid = (m / 2).next_multiple_of(8).min(m - 1);
    // SAFETY: `mid < m`.
    let (top, bottom) = unsafe { (Part(part.0.rows(0, mid)), Part(part.0.rows(mid, m - mid))) };
    rayon::join(
        move || split_rows(top, chunk),
        move || split_rows(bottom, chunk),
    );
}
