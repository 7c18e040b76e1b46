//! Cholesky factorization and triangular solves for the Gaussian process.
//!
//! With the `faer` feature (on by default) the factorization and the many-right-hand-side
//! solves (the posterior variance at thousands of candidate points at once) run on faer's
//! blocked kernels; without it, on the plain loops below (the matrices are a few hundred
//! rows at most: one row per finished trial, so the fallback is only slower, never wrong).
//! The factor is kept row-major, lower triangular, in a plain `Vec` either way, so the rest
//! of the GP does not depend on the feature.

/// The lower Cholesky factor `L` of a symmetric positive definite `K = L Lᵀ`.
#[derive(Debug, Clone)]
pub(crate) struct Cholesky {
    n: usize,
    /// Row-major `n × n`, zero above the diagonal.
    l: Vec<f64>,
}

impl Cholesky {
    /// Factors the row-major `n × n` matrix `a` (only its lower triangle is read), or `None`
    /// when it is not numerically positive definite (a non-positive or non-finite pivot).
    pub(crate) fn new(a: &[f64], n: usize) -> Option<Self> {
        if a.len() != n * n || a.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let l = factor(a, n)?;
        if (0..n).any(|i| !(l[i * n + i] > 0.0 && l[i * n + i].is_finite())) {
            return None;
        }
        Some(Cholesky { n, l })
    }

    /// `Σ ln L_ii = ½ ln det K`.
    pub(crate) fn half_log_det(&self) -> f64 {
        (0..self.n).map(|i| self.l[i * self.n + i].ln()).sum()
    }

    /// Solves `L X = B` in place, `B` row-major `n × k`.
    pub(crate) fn solve_lower(&self, b: &mut [f64], k: usize) {
        solve_lower(&self.l, self.n, b, k);
    }

    /// Solves `Lᵀ X = B` in place, `B` row-major `n × k`.
    pub(crate) fn solve_upper(&self, b: &mut [f64], k: usize) {
        solve_upper(&self.l, self.n, b, k);
    }

    /// Solves `K X = B` in place, `B` row-major `n × k`.
    pub(crate) fn solve(&self, b: &mut [f64], k: usize) {
        self.solve_lower(b, k);
        self.solve_upper(b, k);
    }

    /// `K⁻¹`, row-major.
    pub(crate) fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        let mut inv = vec![0.0; n * n];
        for i in 0..n {
            inv[i * n + i] = 1.0;
        }
        self.solve(&mut inv, n);
        inv
    }
}

#[cfg(feature = "faer")]
fn factor(a: &[f64], n: usize) -> Option<Vec<f64>> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
    // In place on a copy, seen by faer through a row-major view: it reads and writes the
    // lower triangle; the upper one is cleared after. One thread (`Par::Seq`): faer's
    // global parallelism may be switched off by the caller's program (its `llt()` would
    // then panic), and a factorization of a few hundred rows gains nothing from threads.
    let mut l = a.to_vec();
    let mut mem = MemBuffer::new(cholesky_in_place_scratch::<f64>(
        n,
        faer::Par::Seq,
        Default::default(),
    ));
    let view = faer::MatMut::from_row_major_slice_mut(&mut l, n, n);
    cholesky_in_place(
        view,
        Default::default(),
        faer::Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .ok()?;
    for i in 0..n {
        for j in i + 1..n {
            l[i * n + j] = 0.0;
        }
    }
    Some(l)
}

#[cfg(not(feature = "faer"))]
fn factor(a: &[f64], n: usize) -> Option<Vec<f64>> {
    // Left-looking, row by row: L_ij = (a_ij - Σ_{k<j} L_ik L_jk) / L_jj.
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            let v = a[i * n + j] - dot;
            if i == j {
                if !(v > 0.0) {
                    return None;
                }
                l[i * n + i] = v.sqrt();
            } else {
                l[i * n + j] = v / l[j * n + j];
            }
        }
    }
    Some(l)
}

#[cfg(feature = "faer")]
fn solve_lower(l: &[f64], n: usize, b: &mut [f64], k: usize) {
    let lm = faer::MatRef::from_row_major_slice(l, n, n);
    let rhs = faer::MatMut::from_row_major_slice_mut(b, n, k);
    faer::linalg::triangular_solve::solve_lower_triangular_in_place(lm, rhs, faer::Par::Seq);
}

#[cfg(feature = "faer")]
fn solve_upper(l: &[f64], n: usize, b: &mut [f64], k: usize) {
    let lm = faer::MatRef::from_row_major_slice(l, n, n);
    let rhs = faer::MatMut::from_row_major_slice_mut(b, n, k);
    faer::linalg::triangular_solve::solve_upper_triangular_in_place(
        lm.transpose(),
        rhs,
        faer::Par::Seq,
    );
}

#[cfg(not(feature = "faer"))]
fn solve_lower(l: &[f64], n: usize, b: &mut [f64], k: usize) {
    for i in 0..n {
        for j in 0..i {
            let lij = l[i * n + j];
            if lij != 0.0 {
                for c in 0..k {
                    b[i * k + c] -= lij * b[j * k + c];
                }
            }
        }
        let d = l[i * n + i];
        for c in 0..k {
            b[i * k + c] /= d;
        }
    }
}

#[cfg(not(feature = "faer"))]
fn solve_upper(l: &[f64], n: usize, b: &mut [f64], k: usize) {
    for i in (0..n).rev() {
        for j in i + 1..n {
            let lji = l[j * n + i];
            if lji != 0.0 {
                for c in 0..k {
                    b[i * k + c] -= lji * b[j * k + c];
                }
            }
        }
        let d = l[i * n + i];
        for c in 0..k {
            b[i * k + c] /= d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_inverts_a_small_spd_matrix() {
        let a = [4.0, 2.0, 0.4, 2.0, 5.0, 1.0, 0.4, 1.0, 3.0];
        let c = Cholesky::new(&a, 3).unwrap();
        let inv = c.inverse();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((v - f64::from(u8::from(i == j))).abs() < 1e-14);
            }
        }
        // det = 4·(15-1) - 2·(6-0.4) + 0.4·(2-2) = 44.8
        assert!((2.0 * c.half_log_det() - 44.8f64.ln()).abs() < 1e-14);
        assert!(Cholesky::new(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(Cholesky::new(&[f64::NAN], 1).is_none());
    }
}
