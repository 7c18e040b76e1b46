//! The line search: MINPACK-2's `dcsrch`/`dcstep` (Moré–Thuente), as scipy's L-BFGS-B
//! calls it, with its warnings and errors.

/// What `dcsrch` asks for after a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SearchTask {
    /// Evaluate the function at the new `stp`.
    Evaluate,
    /// Both the sufficient-decrease and the curvature condition hold.
    Converged,
    /// No further progress is possible; `stp` is the last trial (accepted by L-BFGS-B).
    Warning(SearchWarning),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SearchWarning {
    /// Rounding errors prevent progress.
    Rounding,
    /// The bracketing interval is smaller than `xtol`.
    Xtol,
    /// The step reached `stpmax`.
    Stpmax,
    /// The step reached `stpmin`.
    Stpmin,
}

/// Invalid arguments to [`MoreThuente::start`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SearchError {
    /// The initial step lies outside `[stpmin, stpmax]`, the initial slope is not negative,
    /// or a tolerance or bound is negative.
    InvalidInput,
}

/// The state of MINPACK-2's `dcsrch` (Moré & Thuente, "Line search algorithms with
/// guaranteed sufficient decrease", ACM TOMS 20, 1994) between trials.
#[derive(Debug, Clone)]
pub(super) struct MoreThuente {
    gtol: f64,
    xtol: f64,
    stpmin: f64,
    stpmax: f64,
    brackt: bool,
    stage: u8,
    finit: f64,
    ginit: f64,
    gtest: f64,
    /// Best step so far and its function value and derivative.
    stx: f64,
    fx: f64,
    gx: f64,
    /// Other end of the interval.
    sty: f64,
    fy: f64,
    gy: f64,
    stmin: f64,
    stmax: f64,
    width: f64,
    width1: f64,
}

impl MoreThuente {
    /// Starts a search from `f(0) = f`, `f'(0) = g < 0` with the first trial `stp`, which
    /// the caller evaluates next.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start(
        f: f64,
        g: f64,
        stp: f64,
        ftol: f64,
        gtol: f64,
        xtol: f64,
        stpmin: f64,
        stpmax: f64,
    ) -> Result<Self, SearchError> {
        // Written so that NaN arguments are rejected too.
        let valid = stp >= stpmin
            && stp <= stpmax
            && g < 0.0
            && ftol >= 0.0
            && gtol >= 0.0
            && xtol >= 0.0
            && stpmin >= 0.0
            && stpmax >= stpmin;
        if !valid {
            return Err(SearchError::InvalidInput);
        }
        let width = stpmax - stpmin;
        Ok(Self {
            gtol,
            xtol,
            stpmin,
            stpmax,
            brackt: false,
            stage: 1,
            finit: f,
            ginit: g,
            gtest: ftol * g,
            stx: 0.0,
            fx: f,
            gx: g,
            sty: 0.0,
            fy: f,
            gy: g,
            stmin: 0.0,
            stmax: stp + 4.0 * stp,
            width,
            width1: width / 0.5,
        })
    }

    /// Takes `f(stp)` and `f'(stp)`; either accepts `stp` or replaces it by the next trial.
    pub(super) fn next(&mut self, f: f64, g: f64, stp: &mut f64) -> SearchTask {
        const XTRAPL: f64 = 1.1;
        const XTRAPU: f64 = 4.0;
        let ftest = self.finit + *stp * self.gtest;
        if self.stage == 1 && f <= ftest && g >= 0.0 {
            self.stage = 2;
        }
        // Later tests override earlier ones, as in MINPACK-2.
        let mut task = None;
        if self.brackt && (*stp <= self.stmin || *stp >= self.stmax) {
            task = Some(SearchTask::Warning(SearchWarning::Rounding));
        }
        if self.brackt && self.stmax - self.stmin <= self.xtol * self.stmax {
            task = Some(SearchTask::Warning(SearchWarning::Xtol));
        }
        if *stp == self.stpmax && f <= ftest && g <= self.gtest {
            task = Some(SearchTask::Warning(SearchWarning::Stpmax));
        }
        if *stp == self.stpmin && (f > ftest || g >= self.gtest) {
            task = Some(SearchTask::Warning(SearchWarning::Stpmin));
        }
        if f <= ftest && g.abs() <= self.gtol * -self.ginit {
            task = Some(SearchTask::Converged);
        }
        if let Some(task) = task {
            return task;
        }

        // In the first stage a modified function (psi) drives the step while the
        // decrease is not yet sufficient.
        if self.stage == 1 && f <= self.fx && f > ftest {
            let gtest = self.gtest;
            let mut ends = Interval {
                stx: self.stx,
                fx: self.fx - self.stx * gtest,
                dx: self.gx - gtest,
                sty: self.sty,
                fy: self.fy - self.sty * gtest,
                dy: self.gy - gtest,
            };
            let fm = f - *stp * gtest;
            let gm = g - gtest;
            dcstep(
                &mut ends,
                stp,
                fm,
                gm,
                &mut self.brackt,
                self.stmin,
                self.stmax,
            );
            self.stx = ends.stx;
            self.sty = ends.sty;
            self.fx = ends.fx + ends.stx * gtest;
            self.fy = ends.fy + ends.sty * gtest;
            self.gx = ends.dx + gtest;
            self.gy = ends.dy + gtest;
        } else {
            let mut ends = Interval {
                stx: self.stx,
                fx: self.fx,
                dx: self.gx,
                sty: self.sty,
                fy: self.fy,
                dy: self.gy,
            };
            dcstep(
                &mut ends,
                stp,
                f,
                g,
                &mut self.brackt,
                self.stmin,
                self.stmax,
            );
            self.stx = ends.stx;
            self.fx = ends.fx;
            self.gx = ends.dx;
            self.sty = ends.sty;
            self.fy = ends.fy;
            self.gy = ends.dy;
        }

        // Bisect when the interval does not shrink fast enough.
        if self.brackt {
            if (self.sty - self.stx).abs() >= 0.66 * self.width1 {
                *stp = self.stx + 0.5 * (self.sty - self.stx);
            }
            self.width1 = self.width;
            self.width = (self.sty - self.stx).abs();
        }
        if self.brackt {
            self.stmin = self.stx.min(self.sty);
            self.stmax = self.stx.max(self.sty);
        } else {
            self.stmin = *stp + XTRAPL * (*stp - self.stx);
            self.stmax = *stp + XTRAPU * (*stp - self.stx);
        }
        // `f64::max`/`min` ignore a NaN operand exactly like C's fmax/fmin.
        *stp = stp.max(self.stpmin);
        *stp = stp.min(self.stpmax);
        // If no further progress is possible, the best step so far is the last trial.
        if self.brackt
            && (*stp <= self.stmin
                || *stp >= self.stmax
                || self.stmax - self.stmin <= self.xtol * self.stmax)
        {
            *stp = self.stx;
        }
        SearchTask::Evaluate
    }
}

/// The ends of `dcstep`'s interval: `stx` is the best step, `sty` the other end, with their
/// function values and derivatives.
pub(super) struct Interval {
    stx: f64,
    fx: f64,
    dx: f64,
    sty: f64,
    fy: f64,
    dy: f64,
}

/// MINPACK-2's `dcstep`: a safeguarded cubic/quadratic step from the interval `ends` and
/// the trial `(stp, fp, dp)`, updating the interval. The operation order follows the
/// original so that the steps agree to the last bit.
pub(super) fn dcstep(
    ends: &mut Interval,
    stp: &mut f64,
    fp: f64,
    dp: f64,
    brackt: &mut bool,
    stpmin: f64,
    stpmax: f64,
) {
    let Interval {
        stx,
        fx,
        dx,
        sty,
        fy,
        dy,
    } = *ends;
    let p_ = *stp;
    let sgnd = dp * (dx / dx.abs());
    let stpf;
    if fp > fx {
        // Higher function value: the minimum is bracketed. Take the cubic step if it is
        // closer to stx than the quadratic step, else their mean.
        let theta = 3.0 * (fx - fp) / (p_ - stx) + dx + dp;
        let s = theta.abs().max(dx.abs().max(dp.abs()));
        let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
        if p_ < stx {
            gamma = -gamma;
        }
        let p = (gamma - dx) + theta;
        let q = ((gamma - dx) + gamma) + dp;
        let r = p / q;
        let stpc = stx + r * (p_ - stx);
        let stpq = stx + ((dx / ((fx - fp) / (p_ - stx) + dx)) / 2.0) * (p_ - stx);
        stpf = if (stpc - stx).abs() < (stpq - stx).abs() {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        };
        *brackt = true;
    } else if sgnd < 0.0 {
        // Lower value, derivatives of opposite sign: bracketed. Take the cubic step if it
        // is farther from stp than the secant step, else the secant step.
        let theta = 3.0 * (fx - fp) / (p_ - stx) + dx + dp;
        let s = theta.abs().max(dx.abs().max(dp.abs()));
        let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
        if p_ > stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + dx;
        let r = p / q;
        let stpc = p_ + r * (stx - p_);
        let stpq = p_ + (dp / (dp - dx)) * (stx - p_);
        stpf = if (stpc - p_).abs() > (stpq - p_).abs() {
            stpc
        } else {
            stpq
        };
        *brackt = true;
    } else if dp.abs() < dx.abs() {
        // Lower value, same sign, derivative magnitude decreasing. The cubic step is only
        // used if the cubic tends to infinity in the step's direction or its minimum lies
        // beyond stp; otherwise the secant step.
        let theta = 3.0 * (fx - fp) / (p_ - stx) + dx + dp;
        let s = theta.abs().max(dx.abs().max(dp.abs()));
        let mut gamma = s * (0f64.max((theta / s).powi(2) - (dx / s) * (dp / s))).sqrt();
        if p_ > stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = (gamma + (dx - dp)) + gamma;
        let r = p / q;
        let stpc = if r < 0.0 && gamma != 0.0 {
            p_ + r * (stx - p_)
        } else if p_ > stx {
            stpmax
        } else {
            stpmin
        };
        let stpq = p_ + (dp / (dp - dx)) * (stx - p_);
        if *brackt {
            // Cubic if closer to stp than the secant step, kept inside the interval.
            let closer = if (stpc - p_).abs() < (stpq - p_).abs() {
                stpc
            } else {
                stpq
            };
            stpf = if p_ > stx {
                (p_ + 0.66 * (sty - p_)).min(closer)
            } else {
                (p_ + 0.66 * (sty - p_)).max(closer)
            };
        } else {
            let farther = if (stpc - p_).abs() > (stpq - p_).abs() {
                stpc
            } else {
                stpq
            };
            stpf = farther.min(stpmax).max(stpmin);
        }
    } else {
        // Lower value, same sign, derivative magnitude not decreasing: without a bracket
        // go to a bound, with one take the cubic step through stp and sty.
        stpf = if *brackt {
            let theta = 3.0 * (fp - fy) / (sty - p_) + dy + dp;
            let s = theta.abs().max(dy.abs().max(dp.abs()));
            let mut gamma = s * ((theta / s).powi(2) - (dy / s) * (dp / s)).sqrt();
            if p_ > sty {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + dy;
            let r = p / q;
            p_ + r * (sty - p_)
        } else if p_ > stx {
            stpmax
        } else {
            stpmin
        };
    }

    if fp > fx {
        ends.sty = p_;
        ends.fy = fp;
        ends.dy = dp;
    } else {
        if sgnd < 0.0 {
            ends.sty = stx;
            ends.fy = fx;
            ends.dy = dx;
        }
        ends.stx = p_;
        ends.fx = fp;
        ends.dx = dp;
    }
    *stp = stpf;
}
