//! SVG pictures of what happened (feature `plot`, built on
//! [plotters](https://docs.rs/plotters) with only its SVG backend).
//!
//! - [`learning_curves`]: a fitted MLP's training loss, validation loss and validation
//!   score per epoch;
//! - [`search_results`]: a search's mean test score against each searched parameter, with
//!   ±1 std bars, a log axis where the values are positive and span two decades or more,
//!   a categorical axis for names, lists, booleans and `None`;
//! - [`halving_rounds`]: candidates and resources per round of a successive-halving search
//!   (one line per bracket for Hyperband).
//!
//! Each has a `*_svg` twin that returns the document as a string. Drawing happens in
//! memory and the file is written at the end, so a path that cannot be written gives
//! [`MlpTuneError::IoError`] (the file could not be written) or [`MlpTuneError::Io`] (the
//! drawing failed) and nothing else: a search result is never lost to a picture.
//!
//! ```
//! use linfa::prelude::*;
//! use mlp_tune::neural_network::MLPRegressor;
//!
//! let data = mlp_tune::datasets::diabetes();
//! let data = linfa::Dataset::new(data.records() / 100.0, data.targets() / 100.0);
//! let model = MLPRegressor::<f64>::params()
//!     .max_iter(20)
//!     .early_stopping(true)
//!     .random_state(0)
//!     .fit(&data)
//!     .unwrap();
//! let svg = mlp_tune::plot::learning_curves_svg(&model).unwrap();
//! assert!(svg.starts_with("<svg"));
//! let path = std::env::temp_dir().join(format!("doc-curves-{}.svg", std::process::id()));
//! mlp_tune::plot::learning_curves(&model, &path).unwrap();
//! # std::fs::remove_file(&path).unwrap();
//! assert!(mlp_tune::plot::learning_curves(&model, "/no/such/dir/curves.svg").is_err());
//! ```

use std::cmp::Ordering;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{MlpTuneError, Result};
use crate::model_selection::{Candidate, CvResults, FittedHalving, FittedHyperband, ParamValue};
use crate::neural_network::{MLPClassifier, MLPRegressor};

/// Panel size in pixels.
const PANEL: (u32, u32) = (480, 340);

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

fn draw_err(e: impl std::fmt::Display) -> MlpTuneError {
    MlpTuneError::Io(format!("plot: {e}"))
}

fn write_svg(svg: &str, path: &Path) -> Result<()> {
    std::fs::write(path, svg).map_err(|e| MlpTuneError::io(path.display().to_string(), e))
}

/// Draws into an in-memory SVG of `cols × rows` panels.
fn render(
    rows: usize,
    cols: usize,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// A compact tick label: `0.001`, `250`, `1e-5`, `3.2e4`.
fn number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        }
    }
}

/// Finite `(min, max)` of values, widened when empty of width and padded by 5%.
fn span(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    Some((lo - pad, hi + pad))
}

/// Whether positive values spanning at least two decades get a log axis.
fn wants_log(values: &[f64]) -> bool {
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let min = finite().fold(f64::INFINITY, f64::min);
    let max = finite().fold(f64::NEG_INFINITY, f64::max);
    min > 0.0 && max / min >= 100.0
}

fn legend_line(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
}

// ---------------------------------------------------------------------------------------
// Learning curves

/// A fitted MLP's per-epoch curves; any of them may be empty (lbfgs keeps no validation
/// curve, an estimator without validation rows has no validation curves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningCurves<'a> {
    /// Training loss per epoch (`loss_curve_`).
    pub loss: &'a [f64],
    /// Validation loss per epoch.
    pub validation_loss: &'a [f64],
    /// Validation score (R² or accuracy) per epoch (`validation_scores_`).
    pub validation_score: &'a [f64],
}

impl<'a, F: linfa::Float> From<&'a MLPRegressor<F>> for LearningCurves<'a> {
    fn from(model: &'a MLPRegressor<F>) -> Self {
        LearningCurves {
            loss: model.loss_curve(),
            validation_loss: model.validation_loss_curve(),
            validation_score: model.validation_scores(),
        }
    }
}

impl<'a, F: linfa::Float, L> From<&'a MLPClassifier<F, L>> for LearningCurves<'a> {
    fn from(model: &'a MLPClassifier<F, L>) -> Self {
        LearningCurves {
            loss: model.loss_curve(),
            validation_loss: model.validation_loss_curve(),
            validation_score: model.validation_scores(),
        }
    }
}

/// Writes a fitted MLP's learning curves to an SVG file: losses on top (training and
/// validation), validation score below when there is one. Epochs are 1-based.
///
/// Errors: [`MlpTuneError::InvalidInput`] when the model has no curve at all,
/// [`MlpTuneError::IoError`] when the file cannot be written.
pub fn learning_curves<'a>(
    curves: impl Into<LearningCurves<'a>>,
    path: impl AsRef<Path>,
) -> Result<()> {
    write_svg(&learning_curves_svg(curves)?, path.as_ref())
}

/// [`learning_curves`] as an SVG string.
pub fn learning_curves_svg<'a>(curves: impl Into<LearningCurves<'a>>) -> Result<String> {
    let c = curves.into();
    if c.loss.is_empty() && c.validation_loss.is_empty() && c.validation_score.is_empty() {
        return Err(MlpTuneError::InvalidInput(
            "nothing to plot: the model has no learning curve".into(),
        ));
    }
    let has_losses = !(c.loss.is_empty() && c.validation_loss.is_empty());
    let has_score = !c.validation_score.is_empty();
    let rows = has_losses as usize + has_score as usize;
    let epochs = c
        .loss
        .len()
        .max(c.validation_loss.len())
        .max(c.validation_score.len());
    let x_range = 0.5..epochs as f64 + 0.5;
    let points = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(i, &y)| ((i + 1) as f64, y))
            .collect()
    };
    render(rows, 1, |root| {
        let panels = root.split_evenly((rows, 1));
        let mut panels = panels.iter();
        if has_losses {
            let area = panels.next().expect("one panel per row");
            let (lo, hi) =
                span(c.loss.iter().chain(c.validation_loss).copied()).unwrap_or((0.0, 1.0));
            let mut chart = ChartBuilder::on(area)
                .caption("Loss per epoch", ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(x_range.clone(), lo..hi)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .max_light_lines(0)
                .x_desc("epoch")
                .x_label_formatter(&|x| number(*x))
                .y_desc("loss")
                .y_label_formatter(&|v| number(*v))
                .draw()
                .map_err(draw_err)?;
            for (i, (name, values)) in [
                ("training loss", c.loss),
                ("validation loss", c.validation_loss),
            ]
            .into_iter()
            .enumerate()
            {
                if values.is_empty() {
                    continue;
                }
                chart
                    .draw_series(LineSeries::new(points(values), color(i).stroke_width(2)))
                    .map_err(draw_err)?
                    .label(name)
                    .legend(legend_line(color(i)));
            }
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .draw()
                .map_err(draw_err)?;
        }
        if has_score {
            let area = panels.next().expect("one panel per row");
            let (lo, hi) = span(c.validation_score.iter().copied()).unwrap_or((0.0, 1.0));
            let mut chart = ChartBuilder::on(area)
                .caption("Validation score per epoch", ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(x_range.clone(), lo..hi)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .max_light_lines(0)
                .x_desc("epoch")
                .x_label_formatter(&|x| number(*x))
                .y_desc("score")
                .y_label_formatter(&|v| number(*v))
                .draw()
                .map_err(draw_err)?;
            chart
                .draw_series(LineSeries::new(
                    points(c.validation_score),
                    color(2).stroke_width(2),
                ))
                .map_err(draw_err)?
                .label("validation score")
                .legend(legend_line(color(2)));
            chart
                .configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.8))
                .draw()
                .map_err(draw_err)?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Search results

/// How one parameter's values sit on the x axis.
enum Axis {
    Linear,
    /// x = log10(value).
    Log,
    /// x = index into the sorted labels.
    Categorical(Vec<ParamValue>),
}

fn label(v: &ParamValue) -> String {
    match v {
        ParamValue::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

fn as_number(v: &ParamValue) -> Option<f64> {
    match v {
        ParamValue::Int(i) => Some(*i as f64),
        ParamValue::Float(f) => Some(*f),
        _ => None,
    }
}

/// Orders category values: by kind, then lists by length then elementwise, names
/// alphabetically.
fn compare(a: &ParamValue, b: &ParamValue) -> Ordering {
    fn rank(v: &ParamValue) -> u8 {
        match v {
            ParamValue::None => 0,
            ParamValue::Bool(_) => 1,
            ParamValue::Int(_) | ParamValue::Float(_) => 2,
            ParamValue::Str(_) => 3,
            ParamValue::Ints(_) => 4,
        }
    }
    match (a, b) {
        (ParamValue::Bool(x), ParamValue::Bool(y)) => x.cmp(y),
        (ParamValue::Str(x), ParamValue::Str(y)) => x.cmp(y),
        (ParamValue::Ints(x), ParamValue::Ints(y)) => x.len().cmp(&y.len()).then(x.cmp(y)),
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => rank(a).cmp(&rank(b)),
        },
    }
}

/// The parameters worth a panel: those present in some candidate, in name order; ones
/// with a single value are left out unless every parameter is constant.
fn searched_params(params: &[Candidate]) -> Vec<String> {
    let mut names: Vec<String> = params.iter().flat_map(|c| c.keys().cloned()).collect();
    names.sort();
    names.dedup();
    let varying: Vec<String> = names
        .iter()
        .filter(|n| {
            let mut values = params.iter().filter_map(|c| c.get(n.as_str()));
            let first = values.next();
            values.any(|v| Some(v) != first)
        })
        .cloned()
        .collect();
    if varying.is_empty() {
        names
    } else {
        varying
    }
}

/// Spreads points sharing an x value (a grid's other parameters) side by side, at most
/// `reach` either way, so their bars do not hide each other.
fn spread(xs: &[f64], reach: f64) -> Vec<f64> {
    let mut out = xs.to_vec();
    let mut seen: Vec<f64> = Vec::new();
    for &x in xs {
        if !x.is_finite() || seen.contains(&x) {
            continue;
        }
        seen.push(x);
        let group: Vec<usize> = (0..xs.len()).filter(|&i| xs[i] == x).collect();
        if group.len() < 2 {
            continue;
        }
        let step = (2.0 * reach / (group.len() - 1) as f64).min(reach / 2.0);
        let middle = (group.len() - 1) as f64 / 2.0;
        for (k, &i) in group.iter().enumerate() {
            out[i] = x + (k as f64 - middle) * step;
        }
    }
    out
}

fn axis_for(values: &[&ParamValue], log: bool) -> Axis {
    let numbers: Option<Vec<f64>> = values.iter().map(|v| as_number(v)).collect();
    match numbers {
        Some(n) if wants_log(&n) => Axis::Log,
        Some(n) if log && n.iter().all(|&v| v > 0.0) => Axis::Log,
        Some(_) => Axis::Linear,
        None => {
            let mut cats: Vec<ParamValue> = Vec::new();
            for v in values {
                if !cats.contains(v) {
                    cats.push((*v).clone());
                }
            }
            cats.sort_by(compare);
            Axis::Categorical(cats)
        }
    }
}

/// Writes a search's results to an SVG file: one panel per searched parameter (two per
/// row), each candidate's mean test score of the first scorer as a point with ±1 std bar,
/// the best-ranked candidate in red. Halving and Hyperband results color their points by
/// round. Candidates whose folds all failed (NaN mean) are left out.
///
/// Errors: [`MlpTuneError::InvalidInput`] when no candidate has a finite score,
/// [`MlpTuneError::IoError`] when the file cannot be written.
pub fn search_results(results: &CvResults, path: impl AsRef<Path>) -> Result<()> {
    write_svg(&search_results_svg(results)?, path.as_ref())
}

/// [`search_results`] as an SVG string.
pub fn search_results_svg(results: &CvResults) -> Result<String> {
    search_results_svg_with(results, &[])
}

/// [`search_results`] with a log axis for the parameters named in `log_params` (when their
/// values are positive) even if the values drawn span less than two decades, as for a
/// log-uniform distribution whose draws happened to bunch up.
pub fn search_results_with(
    results: &CvResults,
    log_params: &[&str],
    path: impl AsRef<Path>,
) -> Result<()> {
    write_svg(
        &search_results_svg_with(results, log_params)?,
        path.as_ref(),
    )
}

/// [`search_results_with`] as an SVG string.
pub fn search_results_svg_with(results: &CvResults, log_params: &[&str]) -> Result<String> {
    let metric = results
        .metrics
        .first()
        .ok_or_else(|| MlpTuneError::InvalidInput("nothing to plot: no scorer".into()))?;
    let shown: Vec<usize> = (0..results.params.len())
        .filter(|&i| metric.mean_test.get(i).is_some_and(|m| m.is_finite()))
        .collect();
    if shown.is_empty() {
        return Err(MlpTuneError::InvalidInput(
            "nothing to plot: no candidate has a finite mean test score".into(),
        ));
    }
    let names = searched_params(&results.params);
    if names.is_empty() {
        return Err(MlpTuneError::InvalidInput(
            "nothing to plot: the candidates have no parameter".into(),
        ));
    }
    let std_of = |i: usize| {
        metric
            .std_test
            .get(i)
            .copied()
            .filter(|s| s.is_finite())
            .unwrap_or(0.0)
    };
    let (y_lo, y_hi) = span(shown.iter().flat_map(|&i| {
        [
            metric.mean_test[i] - std_of(i),
            metric.mean_test[i] + std_of(i),
        ]
    }))
    .unwrap_or((0.0, 1.0));
    let best = shown
        .iter()
        .copied()
        .find(|&i| metric.rank_test.get(i) == Some(&1));
    let rounds = results.iter.as_ref();
    let n_rounds = rounds.map_or(1, |r| r.iter().max().map_or(1, |m| m + 1));
    let cols = names.len().min(2);
    let rows = names.len().div_ceil(2);
    let score_name = metric.name.clone();
    render(rows, cols, |root| {
        let panels = root.split_evenly((rows, cols));
        for (name, area) in names.iter().zip(panels.iter()) {
            let with_param: Vec<usize> = shown
                .iter()
                .copied()
                .filter(|&i| results.params[i].contains_key(name))
                .collect();
            let values: Vec<&ParamValue> = with_param
                .iter()
                .map(|&i| &results.params[i][name])
                .collect();
            let axis = axis_for(&values, log_params.contains(&name.as_str()));
            let x_of = |v: &ParamValue| -> f64 {
                match &axis {
                    Axis::Linear => as_number(v).unwrap_or(f64::NAN),
                    Axis::Log => as_number(v).map_or(f64::NAN, f64::log10),
                    Axis::Categorical(cats) => cats
                        .iter()
                        .position(|c| c == v)
                        .map_or(f64::NAN, |p| p as f64),
                }
            };
            let xs: Vec<f64> = values.iter().map(|v| x_of(v)).collect();
            let (x_lo, x_hi) = match &axis {
                Axis::Categorical(cats) => (-0.5, cats.len() as f64 - 0.5),
                _ => span(xs.iter().copied()).unwrap_or((0.0, 1.0)),
            };
            let xs = spread(&xs, (x_hi - x_lo) * 0.04);
            let x_desc = match &axis {
                Axis::Log => format!("{name} (log scale)"),
                _ => name.clone(),
            };
            let formatter = |x: &f64| -> String {
                match &axis {
                    Axis::Linear => number(*x),
                    Axis::Log => number(10f64.powf(*x)),
                    Axis::Categorical(cats) => {
                        let i = x.round();
                        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
                            label(&cats[i as usize])
                        } else {
                            String::new()
                        }
                    }
                }
            };
            let n_labels = match &axis {
                Axis::Categorical(cats) => cats.len() + 1,
                _ => 6,
            };
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("mean test {score_name} vs {name}"),
                    ("sans-serif", 16),
                )
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .max_light_lines(0)
                .x_desc(x_desc)
                .y_desc(format!("mean test {score_name} ± std"))
                .x_labels(n_labels)
                .x_label_formatter(&formatter)
                .y_label_formatter(&|v| number(*v))
                .draw()
                .map_err(draw_err)?;
            for round in 0..n_rounds {
                let in_round: Vec<(f64, usize)> = with_param
                    .iter()
                    .zip(&xs)
                    .filter(|(&i, x)| {
                        x.is_finite() && rounds.is_none_or(|r| r.get(i) == Some(&round))
                    })
                    .map(|(&i, &x)| (x, i))
                    .collect();
                if in_round.is_empty() {
                    continue;
                }
                let c = color(round);
                chart
                    .draw_series(in_round.iter().map(|&(x, i)| {
                        let m = metric.mean_test[i];
                        ErrorBar::new_vertical(x, m - std_of(i), m, m + std_of(i), c, 6)
                    }))
                    .map_err(draw_err)?;
                let series = chart
                    .draw_series(in_round.iter().map(|&(x, i)| {
                        let style = if Some(i) == best { RED } else { c };
                        Circle::new((x, metric.mean_test[i]), 4, style.filled())
                    }))
                    .map_err(draw_err)?;
                if rounds.is_some() {
                    series
                        .label(format!("round {round}"))
                        .legend(move |(x, y)| {
                            Rectangle::new([(x, y - 4), (x + 8, y + 4)], c.filled())
                        });
                }
            }
            // One legend is enough: every panel colors the rounds alike.
            if rounds.is_some() && name == &names[0] {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .border_style(BLACK)
                    .background_style(WHITE.mix(0.8))
                    .draw()
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Halving rounds

/// Candidates and resources of each round, one entry per bracket (a single one for a
/// plain halving search).
#[derive(Debug, Clone, PartialEq)]
pub struct HalvingRounds {
    /// `(label, n_candidates per round, n_resources per round)` of each bracket.
    pub brackets: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl<E, M> From<&FittedHalving<E, M>> for HalvingRounds {
    fn from(search: &FittedHalving<E, M>) -> Self {
        HalvingRounds {
            brackets: vec![(
                "halving".into(),
                search.n_candidates().to_vec(),
                search.n_resources().to_vec(),
            )],
        }
    }
}

impl<E, M> From<&FittedHyperband<E, M>> for HalvingRounds {
    fn from(search: &FittedHyperband<E, M>) -> Self {
        HalvingRounds {
            brackets: search
                .brackets()
                .iter()
                .map(|b| {
                    (
                        format!("bracket s={}", b.s),
                        b.n_candidates.clone(),
                        b.n_resources.clone(),
                    )
                })
                .collect(),
        }
    }
}

/// Writes a halving or Hyperband search's rounds to an SVG file: candidates per round on
/// the left, resource per candidate on the right (log scale when it spans two decades or
/// more), one line per bracket.
///
/// Errors: [`MlpTuneError::InvalidInput`] when there is no round,
/// [`MlpTuneError::IoError`] when the file cannot be written.
pub fn halving_rounds(rounds: impl Into<HalvingRounds>, path: impl AsRef<Path>) -> Result<()> {
    write_svg(&halving_rounds_svg(rounds)?, path.as_ref())
}

/// [`halving_rounds`] as an SVG string.
pub fn halving_rounds_svg(rounds: impl Into<HalvingRounds>) -> Result<String> {
    let rounds = rounds.into();
    let n_rounds = rounds
        .brackets
        .iter()
        .map(|(_, c, r)| c.len().min(r.len()))
        .max()
        .unwrap_or(0);
    if n_rounds == 0 {
        return Err(MlpTuneError::InvalidInput(
            "nothing to plot: the search has no round".into(),
        ));
    }
    render(1, 2, |root| {
        let panels = root.split_evenly((1, 2));
        for (panel, area) in panels.iter().enumerate() {
            let column = |b: &(String, Vec<usize>, Vec<usize>)| -> Vec<f64> {
                let v = if panel == 0 { &b.1 } else { &b.2 };
                v.iter()
                    .take(b.1.len().min(b.2.len()))
                    .map(|&n| n as f64)
                    .collect()
            };
            let all: Vec<f64> = rounds.brackets.iter().flat_map(column).collect();
            let log = wants_log(&all);
            let y = |v: f64| if log { v.log10() } else { v };
            let (lo, hi) = span(all.iter().map(|&v| y(v))).unwrap_or((0.0, 1.0));
            let lo = if log { lo } else { lo.min(0.0) };
            let (title, desc) = if panel == 0 {
                ("Candidates per round", "candidates")
            } else {
                ("Resource per candidate", "resource")
            };
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(-0.3..(n_rounds as f64 - 0.7), lo..hi)
                .map_err(draw_err)?;
            let x_fmt = |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    format!("{}", i as usize)
                } else {
                    String::new()
                }
            };
            let y_fmt = |v: &f64| number(if log { 10f64.powf(*v) } else { *v });
            chart
                .configure_mesh()
                .max_light_lines(0)
                .x_desc("round")
                .y_desc(if log {
                    format!("{desc} (log scale)")
                } else {
                    desc.to_string()
                })
                .x_labels(n_rounds + 1)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .draw()
                .map_err(draw_err)?;
            for (b, bracket) in rounds.brackets.iter().enumerate() {
                let points: Vec<(f64, f64)> = column(bracket)
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (i as f64, y(v)))
                    .collect();
                let c = color(b);
                chart
                    .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                    .map_err(draw_err)?
                    .label(bracket.0.clone())
                    .legend(legend_line(c));
                chart
                    .draw_series(points.into_iter().map(|p| Circle::new(p, 4, c.filled())))
                    .map_err(draw_err)?;
            }
            if rounds.brackets.len() > 1 || panel == 0 {
                chart
                    .configure_series_labels()
                    .border_style(BLACK)
                    .background_style(WHITE.mix(0.8))
                    .draw()
                    .map_err(draw_err)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(number(0.001), "0.001");
        assert_eq!(number(250.0), "250");
        assert_eq!(number(1e-5), "1e-5");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.3204), "-0.3204");
    }

    #[test]
    fn log_only_for_positive_wide_spans() {
        assert!(wants_log(&[1e-4, 1e-2]));
        assert!(!wants_log(&[1e-3, 5e-2]));
        assert!(!wants_log(&[0.0, 1.0, 1000.0]));
        assert!(!wants_log(&[-1.0, 100.0]));
    }

    #[test]
    fn lists_sort_by_length_then_values() {
        let mut v = [
            ParamValue::Ints(vec![10, 10]),
            ParamValue::Ints(vec![50]),
            ParamValue::Ints(vec![5]),
        ];
        v.sort_by(compare);
        assert_eq!(
            v,
            [
                ParamValue::Ints(vec![5]),
                ParamValue::Ints(vec![50]),
                ParamValue::Ints(vec![10, 10]),
            ]
        );
    }
}
