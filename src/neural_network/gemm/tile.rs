//! A product in the kernel's terms: the tile of pointers and strides it runs on and the
//! epilogue ([`Finish`]) it applies as it stores.

use super::*;

/// The epilogue in the kernel's terms, with its operands checked against the output's
/// `n_cols` columns (in the transposed form, operands are read transposed; a bias cannot be).
pub(super) fn finish_of<F: Float>(
    alpha: F,
    epilogue: Epilogue<'_, F>,
    n_cols: usize,
    transposed: bool,
) -> Option<Finish<F>> {
    // An operand's row stride in the kernel's terms; its columns must be contiguous for
    // vector loads (or there is one column).
    let row_stride = |strides: &[isize]| -> Option<usize> {
        let (s0, s1) = (strides[0], strides[1]);
        let (row, col) = if transposed { (s1, s0) } else { (s0, s1) };
        let row = usize::try_from(row).ok()?;
        (col == 1 || n_cols == 1).then_some(row)
    };
    let operand = |v: &ArrayView2<F>| -> Option<(*const F, usize)> {
        Some((v.as_ptr(), row_stride(v.strides())?))
    };
    Some(match epilogue {
        Epilogue::Plain { beta } => Finish::Store { alpha, beta },
        Epilogue::Bias { bias, relu } => {
            if transposed || alpha != F::one() || bias.len() != n_cols {
                return None;
            }
            Finish::Bias {
                bias: bias.as_ptr(),
                relu,
            }
        }
        Epilogue::Derivative { out, activation } => {
            let kind = match activation {
                Activation::Identity => Derivative::Identity,
                Activation::Relu => Derivative::Relu,
                Activation::Tanh => Derivative::Tanh,
                Activation::Logistic => Derivative::Logistic,
                _ => return None,
            };
            if alpha != F::one() {
                return None;
            }
            let (out, out_row) = operand(&out)?;
            Finish::Derivative { out, out_row, kind }
        }
        Epilogue::AddScaled { w, scale } => {
            let (w, w_row) = operand(&w)?;
            Finish::AddScaled {
                alpha,
                w,
                w_row,
                scale,
            }
        }
        Epilogue::Update {
            mut w,
            l2,
            mut s1,
            s2,
            step,
        } => {
            let w_row = row_stride(w.strides())?;
            let s1_row = row_stride(s1.strides())?;
            let (s2, s2_row) = match s2 {
                Some(mut s2) => {
                    let row = row_stride(s2.strides())?;
                    (s2.as_mut_ptr(), row)
                }
                None if step.uses_second_state() => return None,
                None => (std::ptr::null_mut(), 0),
            };
            Finish::Update {
                alpha,
                l2,
                w: w.as_mut_ptr(),
                w_row,
                s1: s1.as_mut_ptr(),
                s1_row,
                s2,
                s2_row,
                step,
            }
        }
    })
}

/// A row-form product for the kernel: `C[i, j] = finish(Σ_p A[i, p] · B[p, j])` with
/// `A[i, p] = a[i·a_row + p·a_col]`, `B[p, j] = b[p·b_row + j]`, `C[i, j] = c[i·c_row + j]`,
/// for `i < m`, `p < k`, `j < n`.
pub(super) struct Tile<F> {
    pub(super) m: usize,
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) a: *const F,
    pub(super) a_row: usize,
    pub(super) a_col: usize,
    pub(super) b: *const F,
    pub(super) b_row: usize,
    pub(super) c: *mut F,
    pub(super) c_row: usize,
    pub(super) finish: Finish<F>,
    /// When not null: `sums[j] = sums_scale · Σ_p B[p, j]`, computed with the first block of
    /// rows.
    pub(super) sums: *mut F,
    pub(super) sums_scale: F,
}

impl<F: Float> Tile<F> {
    /// Rows `start..start + len` of the tile (the column sums only with the first rows).
    ///
    /// # Safety
    /// `start + len <= self.m`.
    pub(super) unsafe fn rows(&self, start: usize, len: usize) -> Tile<F> {
        let finish = match self.finish {
            Finish::Derivative { out, out_row, kind } => Finish::Derivative {
                out: out.add(start * out_row),
                out_row,
                kind,
            },
            Finish::AddScaled {
                alpha,
                w,
                w_row,
                scale,
            } => Finish::AddScaled {
                alpha,
                w: w.add(start * w_row),
                w_row,
                scale,
            },
            Finish::Update {
                alpha,
                l2,
                w,
                w_row,
                s1,
                s1_row,
                s2,
                s2_row,
                step,
            } => Finish::Update {
                alpha,
                l2,
                w: w.add(start * w_row),
                w_row,
                s1: s1.add(start * s1_row),
                s1_row,
                s2: if s2.is_null() {
                    s2
                } else {
                    s2.add(start * s2_row)
                },
                s2_row,
                step,
            },
            other @ (Finish::Store { .. } | Finish::Bias { .. }) => other,
        };
        Tile {
            m: len,
            k: self.k,
            n: self.n,
            a: self.a.add(start * self.a_row),
            a_row: self.a_row,
            a_col: self.a_col,
            b: self.b,
            b_row: self.b_row,
            c: self.c.add(start * self.c_row),
            c_row: self.c_row,
            finish,
            sums: if start == 0 {
                self.sums
            } else {
                std::ptr::null_mut()
            },
            sums_scale: self.sums_scale,
        }
    }
}

/// [`Epilogue`] in the kernel's terms: operands as pointers with their row strides (columns
/// contiguous), in the kernel's orientation.
#[derive(Clone, Copy)]
pub(super) enum Finish<F> {
    Store {
        alpha: F,
        beta: F,
    },
    Bias {
        bias: *const F,
        relu: bool,
    },
    Derivative {
        out: *const F,
        out_row: usize,
        kind: Derivative,
    },
    AddScaled {
        alpha: F,
        w: *const F,
        w_row: usize,
        scale: F,
    },
    Update {
        alpha: F,
        l2: Option<F>,
        w: *mut F,
        w_row: usize,
        s1: *mut F,
        s1_row: usize,
        s2: *mut F,
        s2_row: usize,
        step: Step<F>,
    },
}

/// The activation derivatives [`Finish::Derivative`] applies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Derivative {
    Identity,
    Relu,
    Tanh,
    Logistic,
}
