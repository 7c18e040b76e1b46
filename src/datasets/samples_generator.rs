//! scikit-learn's sample generators (`datasets/_samples_generator.py`): `make_moons`,
//! `make_circles` and the two-feature `make_classification` of the gallery examples, drawing
//! from [`NumpyRng`] in scikit-learn's order, so the same `random_state` gives the same
//! points (to the last bits of `sin`/`cos`, which numpy may compute differently).

use linfa::Dataset;
use ndarray::{Array1, Array2, Axis};

use crate::error::{MlpTuneError, Result};
use crate::random::NumpyRng;

/// `np.linspace(0, stop, num, endpoint)`.
fn linspace(stop: f64, num: usize, endpoint: bool) -> Vec<f64> {
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let step = if div > 0 { stop / div as f64 } else { 0.0 };
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step).collect();
    if endpoint && num > 1 {
        v[num - 1] = stop;
    }
    v
}

/// `sklearn.utils.shuffle(X, y, random_state)`: one permutation of the rows.
fn shuffle_rows(
    x: Array2<f64>,
    y: Array1<usize>,
    rng: &mut NumpyRng,
) -> (Array2<f64>, Array1<usize>) {
    let order = rng.permutation(x.nrows());
    (x.select(Axis(0), &order), y.select(Axis(0), &order))
}

/// Adds `normal(scale=noise)` to every entry, row-major, as `X += normal(size=X.shape)`.
fn add_noise(x: &mut Array2<f64>, noise: f64, rng: &mut NumpyRng) {
    for v in x.iter_mut() {
        *v += rng.normal(0.0, noise);
    }
}

fn two_groups(outer: Vec<(f64, f64)>, inner: Vec<(f64, f64)>) -> (Array2<f64>, Array1<usize>) {
    let n_out = outer.len();
    let points: Vec<(f64, f64)> = outer.into_iter().chain(inner).collect();
    let x = Array2::from_shape_fn((points.len(), 2), |(i, j)| {
        if j == 0 {
            points[i].0
        } else {
            points[i].1
        }
    });
    let y = Array1::from_shape_fn(points.len(), |i| usize::from(i >= n_out));
    (x, y)
}

/// Stacks the two groups (labels 0 and 1), shuffles the rows and adds Gaussian noise, in
/// scikit-learn's draw order.
fn two_noisy_groups(
    outer: Vec<(f64, f64)>,
    inner: Vec<(f64, f64)>,
    noise: f64,
    rng: &mut NumpyRng,
) -> Dataset<f64, usize, ndarray::Ix1> {
    let (x, y) = two_groups(outer, inner);
    let (mut x, y) = shuffle_rows(x, y, rng);
    if noise > 0.0 {
        add_noise(&mut x, noise, rng);
    }
    Dataset::new(x, y).with_feature_names(vec!["x1", "x2"])
}

fn check_n_samples(n_samples: usize) -> Result<()> {
    if n_samples < 2 {
        return Err(MlpTuneError::InvalidParameter {
            name: "n_samples".into(),
            reason: format!("must be at least 2, got {n_samples}"),
        });
    }
    Ok(())
}

fn check_noise(noise: f64) -> Result<()> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(MlpTuneError::InvalidParameter {
            name: "noise".into(),
            reason: format!("must be finite and non-negative, got {noise}"),
        });
    }
    Ok(())
}

/// `make_moons(n_samples, shuffle=True, noise, random_state)`: two interleaving half
/// circles, labels 0 (outer) and 1 (inner).
///
/// ```
/// let moons = mlp_tune::datasets::make_moons(100, 0.3, 0).unwrap();
/// assert_eq!(moons.records().dim(), (100, 2));
/// assert_eq!(moons.targets().iter().filter(|&&c| c == 1).count(), 50);
/// ```
pub fn make_moons(
    n_samples: usize,
    noise: f64,
    random_state: u32,
) -> Result<Dataset<f64, usize, ndarray::Ix1>> {
    check_n_samples(n_samples)?;
    check_noise(noise)?;
    let mut rng = NumpyRng::new(random_state);
    let n_out = n_samples / 2;
    let n_in = n_samples - n_out;
    let outer = linspace(std::f64::consts::PI, n_out, true)
        .into_iter()
        .map(|t| (t.cos(), t.sin()))
        .collect();
    let inner = linspace(std::f64::consts::PI, n_in, true)
        .into_iter()
        .map(|t| (1.0 - t.cos(), 1.0 - t.sin() - 0.5))
        .collect();
    Ok(two_noisy_groups(outer, inner, noise, &mut rng))
}

/// `make_circles(n_samples, shuffle=True, noise, random_state, factor)`: a large circle
/// (label 0) around a small one of relative size `factor` (label 1).
///
/// ```
/// let circles = mlp_tune::datasets::make_circles(100, 0.2, 0.5, 1).unwrap();
/// assert_eq!(circles.records().dim(), (100, 2));
/// ```
pub fn make_circles(
    n_samples: usize,
    noise: f64,
    factor: f64,
    random_state: u32,
) -> Result<Dataset<f64, usize, ndarray::Ix1>> {
    check_n_samples(n_samples)?;
    check_noise(noise)?;
    if !(0.0..1.0).contains(&factor) {
        return Err(MlpTuneError::InvalidParameter {
            name: "factor".into(),
            reason: format!("must be in [0, 1), got {factor}"),
        });
    }
    let mut rng = NumpyRng::new(random_state);
    let n_out = n_samples / 2;
    let n_in = n_samples - n_out;
    let tau = 2.0 * std::f64::consts::PI;
    let outer = linspace(tau, n_out, false)
        .into_iter()
        .map(|t| (t.cos(), t.sin()))
        .collect();
    let inner = linspace(tau, n_in, false)
        .into_iter()
        .map(|t| (t.cos() * factor, t.sin() * factor))
        .collect();
    Ok(two_noisy_groups(outer, inner, noise, &mut rng))
}

/// `make_classification(n_samples, n_features=2, n_informative=2, n_redundant=0,
/// n_clusters_per_class=1, random_state)` with scikit-learn's other defaults (two classes,
/// `class_sep` 1, `flip_y` 0.01, hypercube, shuffled): each class is a Gaussian cluster
/// around a vertex of the square `[-1, 1]²`, linearly transformed. This is the case the
/// gallery's "linearly separable" data set uses; other settings are not implemented.
///
/// ```
/// let data = mlp_tune::datasets::make_classification_2d(100, 0).unwrap();
/// assert_eq!(data.records().dim(), (100, 2));
/// ```
pub fn make_classification_2d(
    n_samples: usize,
    random_state: u32,
) -> Result<Dataset<f64, usize, ndarray::Ix1>> {
    check_n_samples(n_samples)?;
    let mut rng = NumpyRng::new(random_state);
    let (n_classes, n_features) = (2usize, 2usize);
    let mut per_cluster = vec![n_samples / n_classes; n_classes];
    for i in 0..n_samples - per_cluster.iter().sum::<usize>() {
        per_cluster[i % n_classes] += 1;
    }
    // `_generate_hypercube`: two distinct vertices of the unit square, from
    // `sample_without_replacement(4, 2)` = `permutation(4)[:2]`, as bits (high bit first).
    let vertices: Vec<[f64; 2]> = rng.permutation(4)[..n_classes]
        .iter()
        .map(|&v| {
            [
                ((v >> 1) & 1) as f64 * 2.0 - 1.0,
                (v & 1) as f64 * 2.0 - 1.0,
            ]
        })
        .collect();
    let mut x = Array2::zeros((n_samples, n_features));
    for v in x.iter_mut() {
        *v = rng.standard_normal();
    }
    let mut y = Array1::zeros(n_samples);
    let mut start = 0;
    for (k, centroid) in vertices.iter().enumerate() {
        let stop = start + per_cluster[k];
        let mut a = [[0.0; 2]; 2];
        for row in a.iter_mut() {
            for v in row.iter_mut() {
                *v = 2.0 * rng.random_sample() - 1.0;
            }
        }
        for i in start..stop {
            y[i] = k % n_classes;
            let (x0, x1) = (x[[i, 0]], x[[i, 1]]);
            for j in 0..n_features {
                x[[i, j]] = x0 * a[0][j] + x1 * a[1][j] + centroid[j];
            }
        }
        start = stop;
    }
    // flip_y = 0.01: relabel a random 1% at random.
    let flip: Vec<usize> = (0..n_samples)
        .filter(|_| rng.random_sample() < 0.01)
        .collect();
    for &i in &flip {
        y[i] = rng.randint(0, n_classes as i64) as usize;
    }
    let (x, y) = shuffle_rows(x, y, &mut rng);
    let mut columns: Vec<usize> = (0..n_features).collect();
    rng.shuffle(&mut columns);
    let x = x
        .select(Axis(1), &columns)
        .as_standard_layout()
        .into_owned();
    Ok(Dataset::new(x, y).with_feature_names(vec!["x1", "x2"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_matches_numpy() {
        assert_eq!(linspace(1.0, 5, true), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(linspace(1.0, 4, false), vec![0.0, 0.25, 0.5, 0.75]);
    }

    #[test]
    fn make_classification_equals_scikit_learn() {
        // scikit-learn 1.9.1: make_classification(n_features=2, n_redundant=0,
        // n_informative=2, random_state=0, n_clusters_per_class=1)
        let d = make_classification_2d(100, 0).unwrap();
        let first = [
            [-0.6054157973815384, 1.2967080804064262],
            [1.3548998580811358, -0.046877475804735114],
            [1.7803747427888172, 1.0998578550475584],
        ];
        for (i, row) in first.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert!((d.records()[[i, j]] - v).abs() < 1e-13);
            }
        }
        assert_eq!(
            d.targets().slice(ndarray::s![..10]).to_vec(),
            vec![1, 0, 1, 1, 1, 0, 0, 1, 0, 1]
        );
        assert_eq!(d.targets().sum(), 50);
    }

    #[test]
    fn generators_are_balanced_and_seeded() {
        let a = make_moons(51, 0.1, 3).unwrap();
        let b = make_moons(51, 0.1, 3).unwrap();
        assert_eq!(a.records(), b.records());
        assert_eq!(a.targets().iter().filter(|&&c| c == 0).count(), 25);
        let c = make_circles(40, 0.0, 0.5, 0).unwrap();
        // Without noise every point is on one of the two circles.
        for (row, &label) in c.records().rows().into_iter().zip(c.targets()) {
            let r = (row[0] * row[0] + row[1] * row[1]).sqrt();
            let expected = if label == 0 { 1.0 } else { 0.5 };
            assert!((r - expected).abs() < 1e-12);
        }
        assert!(make_circles(10, 0.1, 1.5, 0).is_err());
        assert!(make_moons(1, 0.1, 0).is_err());
        assert!(make_moons(10, f64::NAN, 0).is_err());
    }
}
