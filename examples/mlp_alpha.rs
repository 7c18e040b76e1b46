//! scikit-learn gallery, "Varying regularization in Multi-layer Perceptron": test accuracy of
//! `make_pipeline(StandardScaler(), MLPClassifier(solver="lbfgs", alpha, random_state=1,
//! max_iter=2000, hidden_layer_sizes=[10, 10]))` for alpha in `logspace(-1, 1, 5)` on
//! moons, circles and a linearly separable set (60/40 split, random_state 42), with an SVG
//! of the decision boundaries laid out like the gallery figure.
//!
//! `cargo run --release --example mlp_alpha [-- --svg target/mlp_alpha.svg]`
//!
//! Last line: `{"alphas": [..], "scores": {"moons": [..], "circles": [..],
//! "linearly_separable": [..]}, "published": {..}}`.

mod common;

use std::fmt::Write as _;

use common::{flag, standard_scaler, transform};
use linfa::prelude::*;
use mlp_tune::datasets::{make_circles, make_classification_2d, make_moons};
use mlp_tune::model_selection::{train_test_split_indices, Size};
use mlp_tune::neural_network::{MLPClassifier, Solver};
use mlp_tune::random::NumpyRng;
use ndarray::{Array1, Array2, Axis};
use serde_json::json;

/// The gallery's figure, as printed in its rendered page (scikit-learn 1.x).
const PUBLISHED: [(&str, [f64; 5]); 3] = [
    ("moons", [0.875, 0.950, 0.950, 0.875, 0.475]),
    ("circles", [0.775, 0.875, 0.900, 0.400, 0.400]),
    ("linearly_separable", [0.900, 0.950, 0.950, 0.925, 0.825]),
];

/// Grid cells per panel side in the SVG.
const CELLS: usize = 40;
/// Panel size in SVG pixels.
const PANEL: f64 = 150.0;

struct Panel {
    title: String,
    score: Option<f64>,
    /// Bounds of the plot: x_min, x_max, y_min, y_max.
    bounds: [f64; 4],
    /// Probability of class 1 on a CELLS × CELLS grid (row 0 = top), if a model was fitted.
    heat: Option<Array2<f64>>,
    train: (Array2<f64>, Array1<usize>),
    test: (Array2<f64>, Array1<usize>),
}

fn main() -> mlp_tune::Result<()> {
    let svg_path: String = flag("--svg", "target/mlp_alpha.svg".to_string());
    let alphas: Vec<f64> = (0..5).map(|i| 10f64.powf(-1.0 + 0.5 * i as f64)).collect();

    let mut linear = make_classification_2d(100, 0)?;
    // The gallery spreads this set: `X += 2 * RandomState(2).uniform(size=X.shape)`.
    let mut rng = NumpyRng::new(2);
    for v in linear.records.iter_mut() {
        *v += 2.0 * rng.random_sample();
    }
    let sets = [
        ("moons", make_moons(100, 0.3, 0)?),
        ("circles", make_circles(100, 0.2, 0.5, 1)?),
        ("linearly_separable", linear),
    ];

    let mut scores = serde_json::Map::new();
    let mut panels = Vec::new();
    println!("test accuracy (ours / published), alpha = {alphas:.2?}");
    for ((name, data), (_, published)) in sets.iter().zip(PUBLISHED.iter()) {
        let (train, test) =
            train_test_split_indices(data.nsamples(), Size::Fraction(0.4), Some(42), None)?;
        let x = data.records();
        let (x_train, y_train) = (
            x.select(Axis(0), &train),
            data.targets().select(Axis(0), &train),
        );
        let (x_test, y_test) = (
            x.select(Axis(0), &test),
            data.targets().select(Axis(0), &test),
        );
        let bounds = [
            x.column(0).fold(f64::INFINITY, |a, &b| a.min(b)) - 0.5,
            x.column(0).fold(f64::NEG_INFINITY, |a, &b| a.max(b)) + 0.5,
            x.column(1).fold(f64::INFINITY, |a, &b| a.min(b)) - 0.5,
            x.column(1).fold(f64::NEG_INFINITY, |a, &b| a.max(b)) + 0.5,
        ];
        panels.push(Panel {
            title: name.replace('_', " "),
            score: None,
            bounds,
            heat: None,
            train: (x_train.clone(), y_train.clone()),
            test: (x_test.clone(), y_test.clone()),
        });
        // The pipeline's scaler sees the training rows only.
        let stats = standard_scaler(&x_train);
        let train_set = Dataset::new(transform(&x_train, &stats), y_train.clone());
        let grid = grid_points(bounds);
        let grid_scaled = transform(&grid, &stats);
        let mut row = Vec::new();
        let mut fits = Vec::new();
        for &alpha in &alphas {
            let model = MLPClassifier::params()
                .solver(Solver::Lbfgs)
                .alpha(alpha)
                .random_state(1)
                .max_iter(2000)
                .early_stopping(true)
                .hidden_layer_sizes(&[10, 10])
                .fit(&train_set)?;
            let score = model.score(&transform(&x_test, &stats), &y_test.view())?;
            row.push(score);
            fits.push(format!("{}it/{:.4}", model.n_iter(), model.loss()));
            let proba = model.predict_proba(&grid_scaled)?;
            let heat = Array2::from_shape_fn((CELLS, CELLS), |(r, c)| proba[[r * CELLS + c, 1]]);
            panels.push(Panel {
                title: format!("alpha {alpha:.2}"),
                score: Some(score),
                bounds,
                heat: Some(heat),
                train: (x_train.clone(), y_train.clone()),
                test: (x_test.clone(), y_test.clone()),
            });
        }
        println!(
            "{name:>20}: {}",
            row.iter()
                .zip(published.iter())
                .map(|(o, p)| format!("{o:.3}/{p:.3}"))
                .collect::<Vec<_>>()
                .join("  ")
        );
        println!("{:>20}  iterations/final loss: {}", "", fits.join("  "));
        scores.insert(name.to_string(), json!(row));
    }

    match write_svg(&svg_path, &panels, alphas.len() + 1) {
        Ok(()) => println!("decision boundaries written to {svg_path}"),
        // A figure that cannot be written does not lose the numbers.
        Err(e) => eprintln!("cannot write {svg_path}: {e}"),
    }
    let published: serde_json::Map<String, serde_json::Value> = PUBLISHED
        .iter()
        .map(|(n, s)| (n.to_string(), json!(s)))
        .collect();
    println!(
        "{}",
        json!({"alphas": alphas, "scores": scores, "published": published})
    );
    Ok(())
}

/// Centres of a CELLS × CELLS grid over `bounds`, row-major from the top row.
fn grid_points(bounds: [f64; 4]) -> Array2<f64> {
    let [x0, x1, y0, y1] = bounds;
    Array2::from_shape_fn((CELLS * CELLS, 2), |(i, j)| {
        let (r, c) = (i / CELLS, i % CELLS);
        if j == 0 {
            x0 + (c as f64 + 0.5) / CELLS as f64 * (x1 - x0)
        } else {
            y1 - (r as f64 + 0.5) / CELLS as f64 * (y1 - y0)
        }
    })
}

/// matplotlib's RdBu colormap (red at 0, white at 0.5, blue at 1), linearly interpolated.
fn rdbu(p: f64) -> String {
    const STOPS: [(u8, u8, u8); 11] = [
        (103, 0, 31),
        (178, 24, 43),
        (214, 96, 77),
        (244, 165, 130),
        (253, 219, 199),
        (247, 247, 247),
        (209, 229, 240),
        (146, 197, 222),
        (67, 147, 195),
        (33, 102, 172),
        (5, 48, 97),
    ];
    let t = p.clamp(0.0, 1.0) * 10.0;
    let i = (t.floor() as usize).min(9);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

fn write_svg(path: &str, panels: &[Panel], columns: usize) -> std::io::Result<()> {
    let gap = 12.0;
    let title = 18.0;
    let rows = panels.len().div_ceil(columns);
    let width = columns as f64 * (PANEL + gap) + gap;
    let height = rows as f64 * (PANEL + gap + title) + gap;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let cell = PANEL / CELLS as f64;
    for (k, panel) in panels.iter().enumerate() {
        let ox = gap + (k % columns) as f64 * (PANEL + gap);
        let oy = gap + (k / columns) as f64 * (PANEL + gap + title) + title;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            ox + PANEL / 2.0,
            oy - 5.0,
            panel.title
        );
        let _ = writeln!(svg, r#"<g transform="translate({ox:.1},{oy:.1})">"#);
        if let Some(heat) = &panel.heat {
            for ((r, c), &p) in heat.indexed_iter() {
                let _ = write!(
                    svg,
                    r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}" fill-opacity="0.8"/>"#,
                    c as f64 * cell,
                    r as f64 * cell,
                    cell + 0.05,
                    cell + 0.05,
                    rdbu(p)
                );
            }
            svg.push('\n');
        }
        let [x0, x1, y0, y1] = panel.bounds;
        let px = |x: f64| (x - x0) / (x1 - x0) * PANEL;
        let py = |y: f64| (y1 - y) / (y1 - y0) * PANEL;
        for ((x, y), opacity) in [(&panel.train, 1.0), (&panel.test, 0.6)] {
            for (row, &label) in x.rows().into_iter().zip(y.iter()) {
                let color = if label == 1 { "#0000ff" } else { "#ff0000" };
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}" fill-opacity="{opacity}" stroke="black" stroke-width="0.4"/>"#,
                    px(row[0]),
                    py(row[1])
                );
            }
        }
        let _ = writeln!(
            svg,
            r#"<rect width="{PANEL}" height="{PANEL}" fill="none" stroke="black"/>"#
        );
        if let Some(score) = panel.score {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="15">{}</text>"#,
                PANEL - 4.0,
                PANEL - 6.0,
                format!("{score:.3}").trim_start_matches('0')
            );
        }
        let _ = writeln!(svg, "</g>");
    }
    svg.push_str("</svg>\n");
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    std::fs::write(path, svg)
}
