//! The search space as the GP sees it: scikit-optimize's `normalize_dimensions` transform.
//! Every numerical parameter becomes one column in `[0, 1]` (min-max normalized, after a log
//! for log-scaled ones), a categorical becomes one-hot columns (one column for two values,
//! none for one), and a point of the unit box maps back by rounding integers and grid
//! indices and taking the largest one-hot column.
//!
//! Mapping of [`Distribution`]: `Uniform { loc, scale }` → real `[loc, loc + scale]`,
//! `LogUniform` → log real, `RandInt { low, high }` → integer `[low, high - 1]`,
//! `LogRandInt` → log integer (rounded after `exp`, as scikit-optimize's log-uniform
//! `Integer`), `IntStep`/`FloatStep` → the index of the grid point, `List` → categorical.

use crate::error::{MlpTuneError, Result};
use crate::model_selection::param_space::{
    Candidate, Distribution, ParamDistributions, ParamValue,
};
use crate::random::NumpyRng;

#[derive(Debug, Clone)]
enum Dim {
    Real {
        lo: f64,
        hi: f64,
        log: bool,
    },
    Int {
        lo: i64,
        hi: i64,
        log: bool,
    },
    /// `low + k·step` for `k` in `0..=n`.
    Grid {
        low: f64,
        step: f64,
        n: i64,
        /// For an `IntStep`, its exact `(low, step)` (the `f64` ones round past 2^53).
        int: Option<(i64, i64)>,
        high: f64,
    },
    /// One-hot (`columns = n`, or 1 when `n = 2`, 0 when `n = 1`).
    Cat(Vec<ParamValue>),
}

impl Dim {
    fn new(dist: &Distribution) -> Self {
        match *dist {
            Distribution::Uniform { loc, scale } => Dim::Real {
                lo: loc,
                hi: loc + scale,
                log: false,
            },
            Distribution::LogUniform { low, high } => Dim::Real {
                lo: low,
                hi: high,
                log: true,
            },
            Distribution::RandInt { low, high } => Dim::Int {
                lo: low,
                hi: high - 1,
                log: false,
            },
            Distribution::LogRandInt { low, high } => Dim::Int {
                lo: low,
                hi: high - 1,
                log: true,
            },
            Distribution::IntStep { low, high, step } => Dim::Grid {
                low: low as f64,
                step: step as f64,
                n: (high - low) / step,
                int: Some((low, step)),
                high: high as f64,
            },
            Distribution::FloatStep { low, high, step } => Dim::Grid {
                low,
                step,
                n: ((high - low) / step).round() as i64,
                int: None,
                high,
            },
            Distribution::List(ref values) => Dim::Cat(values.clone()),
        }
    }

    fn columns(&self) -> usize {
        match self {
            Dim::Int { lo, hi, .. } if lo == hi => 0,
            Dim::Grid { n: 0, .. } => 0,
            Dim::Cat(v) if v.len() <= 2 => v.len() - 1,
            Dim::Cat(v) => v.len(),
            _ => 1,
        }
    }

    /// Normalized position of a number in `[lo, hi]` (log-scaled when `log`).
    fn unit(x: f64, lo: f64, hi: f64, log: bool) -> f64 {
        if log {
            (x.ln() - lo.ln()) / (hi.ln() - lo.ln())
        } else {
            (x - lo) / (hi - lo)
        }
    }

    fn from_unit(u: f64, lo: f64, hi: f64, log: bool) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = if log {
            (lo.ln() + u * (hi.ln() - lo.ln())).exp()
        } else {
            lo + u * (hi - lo)
        };
        v.clamp(lo, hi)
    }

    fn encode(&self, value: &ParamValue, out: &mut Vec<f64>) -> Option<()> {
        let number = match value {
            ParamValue::Int(v) => Some(*v as f64),
            ParamValue::Float(v) => Some(*v),
            _ => None,
        };
        match self {
            Dim::Real { lo, hi, log } => out.push(Self::unit(number?, *lo, *hi, *log)),
            Dim::Int { lo, hi, .. } if lo == hi => {}
            Dim::Int { lo, hi, log } => out.push(Self::unit(number?, *lo as f64, *hi as f64, *log)),
            Dim::Grid { n: 0, .. } => {}
            Dim::Grid { low, step, n, .. } => out.push(((number? - low) / step) / *n as f64),
            Dim::Cat(values) => {
                let k = values.iter().position(|v| v == value)?;
                match values.len() {
                    1 => {}
                    2 => out.push(k as f64),
                    n => out.extend((0..n).map(|i| f64::from(u8::from(i == k)))),
                }
            }
        }
        Some(())
    }

    fn decode(&self, u: &[f64]) -> ParamValue {
        match self {
            Dim::Real { lo, hi, log } => ParamValue::Float(Self::from_unit(u[0], *lo, *hi, *log)),
            Dim::Int { lo, hi, .. } if lo == hi => ParamValue::Int(*lo),
            Dim::Int { lo, hi, log } => {
                let v = Self::from_unit(u[0], *lo as f64, *hi as f64, *log).round() as i64;
                ParamValue::Int(v.clamp(*lo, *hi))
            }
            Dim::Grid {
                low,
                step,
                n,
                int,
                high,
            } => {
                let k = if *n == 0 {
                    0
                } else {
                    ((u[0].clamp(0.0, 1.0) * *n as f64).round() as i64).clamp(0, *n)
                };
                match *int {
                    // `k <= n`, so the value is at most `high`: no overflow.
                    Some((low, step)) => {
                        ParamValue::Int((i128::from(low) + i128::from(k) * i128::from(step)) as i64)
                    }
                    None => ParamValue::Float((low + k as f64 * step).min(*high)),
                }
            }
            Dim::Cat(values) => {
                let k = match values.len() {
                    1 => 0,
                    2 => usize::from(u[0] > 0.5),
                    _ => {
                        // The first largest column (numpy's argmax).
                        let mut k = 0;
                        for (i, v) in u.iter().enumerate() {
                            if *v > u[k] {
                                k = i;
                            }
                        }
                        k
                    }
                };
                values[k].clone()
            }
        }
    }
}

/// The search space's transform to and from the unit box.
#[derive(Debug, Clone)]
pub(crate) struct UnitSpace {
    names: Vec<String>,
    dims: Vec<Dim>,
    columns: usize,
}

impl UnitSpace {
    /// The transform of a (validated) space.
    pub(crate) fn new(space: &ParamDistributions) -> Self {
        let (names, dims): (Vec<String>, Vec<Dim>) = space
            .iter()
            .map(|(name, dist)| (name.to_string(), Dim::new(dist)))
            .unzip();
        let columns = dims.iter().map(Dim::columns).sum();
        UnitSpace {
            names,
            dims,
            columns,
        }
    }

    /// Columns of the unit box.
    pub(crate) fn columns(&self) -> usize {
        self.columns
    }

    /// Per column: held fixed when polishing (one-hot columns).
    pub(crate) fn fixed(&self) -> Vec<bool> {
        self.dims
            .iter()
            .flat_map(|d| std::iter::repeat_n(matches!(d, Dim::Cat(_)), d.columns()))
            .collect()
    }

    /// A candidate's point; `trial` names it in errors.
    pub(crate) fn encode(&self, candidate: &Candidate, trial: usize) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.columns);
        for (name, dim) in self.names.iter().zip(&self.dims) {
            let ok = candidate.get(name).and_then(|v| dim.encode(v, &mut out));
            if ok.is_none() {
                return Err(MlpTuneError::SearchSpace(format!(
                    "trial {trial}, `{name}`: {:?} does not belong to the space",
                    candidate.get(name)
                )));
            }
        }
        Ok(out)
    }

    /// The candidate at a point of the unit box.
    pub(crate) fn decode(&self, point: &[f64]) -> Candidate {
        let mut out = Candidate::new();
        let mut at = 0;
        for (name, dim) in self.names.iter().zip(&self.dims) {
            let c = dim.columns();
            out.insert(name.clone(), dim.decode(&point[at..at + c]));
            at += c;
        }
        out
    }

    /// `n` points drawn uniformly in the unit box and moved to the nearest representable
    /// point (integers and grid points rounded, one-hot columns a uniform category), row
    /// after row, column after column, from `rng`.
    pub(crate) fn sample(&self, n: usize, rng: &mut NumpyRng) -> Vec<f64> {
        let mut out = Vec::with_capacity(n * self.columns);
        for _ in 0..n {
            for dim in &self.dims {
                match dim {
                    Dim::Cat(values) if values.len() > 1 => {
                        let k = rng.randint(0, values.len() as i64) as usize;
                        match values.len() {
                            2 => out.push(k as f64),
                            len => out.extend((0..len).map(|i| f64::from(u8::from(i == k)))),
                        }
                    }
                    Dim::Cat(_) => {}
                    _ if dim.columns() == 0 => {}
                    _ => {
                        let u = rng.random_sample();
                        let mut snapped = Vec::with_capacity(1);
                        let _ = dim.encode(&dim.decode(&[u]), &mut snapped);
                        out.push(snapped.first().copied().unwrap_or(u));
                    }
                }
            }
        }
        out
    }
}

impl UnitSpace {
    /// `n` points of a Latin hypercube: each numerical parameter's range cut into `n`
    /// equal strata with one point drawn uniformly in each (then rounded as
    /// [`sample`](Self::sample) rounds), the strata matched at random across parameters; a
    /// list's values are dealt in turn (`n / len` or one more each). Of `designs` such
    /// hypercubes drawn from `rng`, the one whose closest two points are farthest apart
    /// wins (scikit-optimize's `Lhs(criterion="maximin")`; the first on ties).
    pub(crate) fn latin_hypercube(&self, n: usize, designs: usize, rng: &mut NumpyRng) -> Vec<f64> {
        let d = self.columns;
        let mut best: Option<(f64, Vec<f64>)> = None;
        for _ in 0..designs.max(1) {
            let mut design = vec![0.0; n * d];
            let mut at = 0;
            for dim in &self.dims {
                let c = dim.columns();
                if c == 0 {
                    continue;
                }
                let strata = rng.permutation(n);
                for (i, &k) in strata.iter().enumerate() {
                    let row = &mut design[i * d + at..][..c];
                    match dim {
                        Dim::Cat(values) => {
                            let v = k % values.len();
                            if values.len() == 2 {
                                row[0] = v as f64;
                            } else {
                                row[v] = 1.0;
                            }
                        }
                        _ => {
                            let u = (k as f64 + rng.random_sample()) / n as f64;
                            let mut snapped = Vec::with_capacity(1);
                            let _ = dim.encode(&dim.decode(&[u]), &mut snapped);
                            row[0] = snapped.first().copied().unwrap_or(u);
                        }
                    }
                }
                at += c;
            }
            let mut closest = f64::INFINITY;
            for i in 0..n {
                for j in 0..i {
                    let dist: f64 = (0..d)
                        .map(|q| (design[i * d + q] - design[j * d + q]).powi(2))
                        .sum();
                    closest = closest.min(dist);
                }
            }
            if best.as_ref().is_none_or(|(b, _)| closest > *b) {
                best = Some((closest, design));
            }
        }
        best.map(|(_, design)| design).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rounds() {
        let space = ParamDistributions::new()
            .add(
                "a",
                Distribution::Uniform {
                    loc: -2.0,
                    scale: 4.0,
                },
            )
            .add(
                "b",
                Distribution::LogUniform {
                    low: 1e-3,
                    high: 1e1,
                },
            )
            .add("c", Distribution::list(["x", "y", "z"]))
            .add("d", Distribution::list([true, false]))
            .add(
                "e",
                Distribution::IntStep {
                    low: 2,
                    high: 10,
                    step: 4,
                },
            )
            .add("f", Distribution::LogRandInt { low: 1, high: 101 })
            .add("g", Distribution::list([7]));
        let u = UnitSpace::new(&space);
        assert_eq!(u.columns(), 1 + 1 + 3 + 1 + 1 + 1);
        assert_eq!(
            u.fixed(),
            vec![false, false, true, true, true, true, false, false]
        );
        let mut rng = NumpyRng::new(3);
        let points = u.sample(50, &mut rng);
        for p in points.chunks(u.columns()) {
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
            let c = u.decode(p);
            let back = u.encode(&c, 0).unwrap();
            for (a, b) in p.iter().zip(&back) {
                assert!((a - b).abs() < 1e-12, "{p:?} {back:?}");
            }
        }
        let c = u.decode(&[0.5, 0.5, 0.1, 0.7, 0.7, 0.6, 0.4, 1.0]);
        assert_eq!(c["a"], ParamValue::Float(0.0));
        assert!(matches!(c["b"], ParamValue::Float(b) if (b - 0.1).abs() < 1e-12));
        assert_eq!(c["c"], ParamValue::from("y"));
        assert_eq!(c["d"], ParamValue::from(false));
        assert_eq!(c["e"], ParamValue::Int(6));
        assert_eq!(c["f"], ParamValue::Int(100));
        assert_eq!(c["g"], ParamValue::Int(7));
    }

    #[test]
    fn latin_hypercube_puts_one_point_in_each_stratum() {
        let space = ParamDistributions::new()
            .add(
                "a",
                Distribution::Uniform {
                    loc: 0.0,
                    scale: 10.0,
                },
            )
            .add(
                "b",
                Distribution::LogUniform {
                    low: 1e-4,
                    high: 1.0,
                },
            )
            .add("c", Distribution::list(["x", "y", "z"]));
        let u = UnitSpace::new(&space);
        let n = 9;
        let design = u.latin_hypercube(n, 20, &mut NumpyRng::new(1));
        assert_eq!(design.len(), n * u.columns());
        for column in 0..2 {
            let mut strata: Vec<usize> = (0..n)
                .map(|i| (design[i * u.columns() + column] * n as f64) as usize)
                .collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>());
        }
        for k in 0..3 {
            let count = (0..n)
                .filter(|i| design[i * u.columns() + 2 + k] == 1.0)
                .count();
            assert_eq!(count, 3, "each value of the list dealt 3 times");
        }
        assert_eq!(design, u.latin_hypercube(n, 20, &mut NumpyRng::new(1)));
    }
}
