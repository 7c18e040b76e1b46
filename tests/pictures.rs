//! The `plot` and `progress` features: every picture is a well-formed SVG with one mark per
//! data point, bad paths are typed errors, and the progress bars count what the searches do.

use mlp_tune::model_selection::SearchResults;
use std::sync::Arc;

use linfa::prelude::*;
use linfa::Dataset;
use mlp_tune::model_selection::{
    by_name, Distribution, GridSearchCV, HalvingGridSearchCV, HyperbandSearchCV,
    ParamDistributions, ParamGrid, Resource, SearchObserver,
};
use mlp_tune::neural_network::{MLPRegressor, Solver};
use mlp_tune::plot;
use mlp_tune::progress::{SearchProgress, TrainingProgress};
use mlp_tune::MlpTuneError;

fn diabetes() -> Dataset<f64, f64, ndarray::Ix1> {
    let data = mlp_tune::datasets::diabetes();
    Dataset::new(data.records() / 100.0, data.targets() / 100.0)
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

/// A well-formed document: one root element, closed.
fn assert_svg(svg: &str) {
    assert!(
        svg.starts_with("<svg"),
        "starts with {:?}",
        &svg[..20.min(svg.len())]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(count(svg, "<svg"), 1);
    assert!(
        !svg.contains("NaN"),
        "a non-finite coordinate leaked into the SVG"
    );
}

/// The number of vertices of each `<polyline>` drawn with `stroke-width="2"` (the series;
/// axes and grid lines are thinner).
fn series_lengths(svg: &str) -> Vec<usize> {
    svg.split("<polyline")
        .skip(1)
        .filter(|el| {
            let tag = &el[..el.find("/>").unwrap_or(el.len())];
            tag.contains("stroke-width=\"2\"")
        })
        .map(|el| {
            let start = el.find("points=\"").expect("points") + 8;
            let end = start + el[start..].find('"').expect("closing quote");
            el[start..end].split_whitespace().count()
        })
        .collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mlp-tune-pictures-{}-{name}", std::process::id()))
}

#[test]
fn learning_curves_have_one_vertex_per_epoch() {
    let model = MLPRegressor::<f64>::params()
        .max_iter(25)
        .early_stopping(true)
        .n_iter_no_change(1000)
        .random_state(0)
        .fit(&diabetes())
        .unwrap();
    let epochs = model.loss_curve().len();
    assert_eq!(model.validation_scores().len(), epochs);
    let svg = plot::learning_curves_svg(&model).unwrap();
    assert_svg(&svg);
    for label in [
        "training loss",
        "validation loss",
        "validation score",
        "epoch",
    ] {
        assert!(svg.contains(label), "missing {label}");
    }
    // Training loss and validation loss (top), validation score (bottom); the legend's
    // sample lines have two vertices.
    let curves: Vec<usize> = series_lengths(&svg)
        .into_iter()
        .filter(|&n| n > 2)
        .collect();
    assert_eq!(curves, vec![epochs, epochs, epochs]);

    let path = temp("curves.svg");
    plot::learning_curves(&model, &path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), svg);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn learning_curves_without_validation_have_one_panel() {
    let model = MLPRegressor::<f64>::params()
        .max_iter(10)
        .random_state(0)
        .fit(&diabetes())
        .unwrap();
    let svg = plot::learning_curves_svg(&model).unwrap();
    assert_svg(&svg);
    assert!(svg.contains("training loss"));
    assert!(!svg.contains("validation score"));
    let curves: Vec<usize> = series_lengths(&svg)
        .into_iter()
        .filter(|&n| n > 2)
        .collect();
    assert_eq!(curves, vec![model.loss_curve().len()]);
    let empty = plot::LearningCurves {
        loss: &[],
        validation_loss: &[],
        validation_score: &[],
    };
    assert!(matches!(
        plot::learning_curves_svg(empty),
        Err(MlpTuneError::InvalidInput(_))
    ));
}

#[test]
fn search_results_plot_every_candidate_in_every_panel() {
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Lbfgs)
        .max_iter(30)
        .random_state(0);
    let grid = ParamGrid::new()
        .add("alpha", [1e-5, 1e-3, 1e-1])
        .add("hidden_layer_sizes", [vec![4usize], vec![8, 8]])
        .add("activation", ["relu", "tanh"]);
    let search = GridSearchCV::new(by_name(base), grid)
        .cv(3)
        .fit(&diabetes())
        .unwrap();
    let results = search.cv_results();
    let n = results.params.len();
    assert_eq!(n, 12);
    let svg = plot::search_results_svg(results).unwrap();
    assert_svg(&svg);
    // Three panels, one point per candidate in each (radius 4; the error bars mark their
    // centres with smaller circles), the best one red.
    assert_eq!(count(&svg, "r=\"4\""), 3 * n);
    assert_eq!(count(&svg, "<circle"), 2 * 3 * n);
    assert_eq!(count(&svg, "fill=\"#FF0000\""), 3);
    assert!(svg.contains("alpha (log scale)"));
    for category in ["(4,)", "(8, 8)", "relu", "tanh"] {
        assert!(svg.contains(category), "missing category {category}");
    }

    let path = temp("search.svg");
    plot::search_results(results, &path).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn search_results_skip_failed_candidates_and_refuse_all_failed() {
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Lbfgs)
        .max_iter(20)
        .random_state(0);
    // Learning rates are ignored by lbfgs; a linear axis (span < 2 decades).
    let grid = ParamGrid::new().add("learning_rate_init", [0.01, 0.02, 0.05]);
    let search = GridSearchCV::new(by_name(base), grid)
        .cv(2)
        .fit(&diabetes())
        .unwrap();
    let mut results = search.cv_results().clone();
    results.metrics[0].mean_test[1] = f64::NAN;
    let svg = plot::search_results_svg(&results).unwrap();
    assert_svg(&svg);
    assert_eq!(count(&svg, "r=\"4\""), 2);
    assert!(!svg.contains("log scale"));
    let svg = plot::search_results_svg_with(&results, &["learning_rate_init"]).unwrap();
    assert_svg(&svg);
    assert!(svg.contains("learning_rate_init (log scale)"));
    for m in results.metrics[0].mean_test.iter_mut() {
        *m = f64::NAN;
    }
    assert!(matches!(
        plot::search_results_svg(&results),
        Err(MlpTuneError::InvalidInput(_))
    ));
}

#[test]
fn halving_rounds_and_search_progress_count_rounds() {
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Adam)
        .learning_rate_init(0.01)
        .random_state(0);
    let grid = ParamGrid::new().add("hidden_layer_sizes", [[4usize], [8], [16], [32]]);
    let bar = Arc::new(SearchProgress::hidden());
    let search = HalvingGridSearchCV::new(by_name(base), grid)
        .resource(Resource::Epochs)
        .max_resources(40)
        .factor(2.0)
        .cv(3)
        .observer(bar.clone())
        .fit(&diabetes())
        .unwrap();
    let fits: usize = search.n_candidates().iter().sum::<usize>() * 3;
    assert_eq!(bar.total_fits(), fits as u64);
    assert_eq!(bar.fits_done(), fits as u64);
    assert_eq!(bar.failed_fits(), 0);
    let best = bar.best_score().unwrap();
    let means = &search.cv_results().primary().mean_test;
    let max = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!((best - max).abs() <= 1e-12 * max.abs().max(1.0));

    let rounds = search.n_candidates().len();
    let svg = plot::halving_rounds_svg(&search).unwrap();
    assert_svg(&svg);
    assert_eq!(count(&svg, "<circle"), 2 * rounds);
    let lines: Vec<usize> = series_lengths(&svg)
        .into_iter()
        .filter(|&n| n > 2)
        .collect();
    assert_eq!(lines, vec![rounds, rounds]);
    // The search results of a halving search color points by round.
    let svg = plot::search_results_svg(search.cv_results()).unwrap();
    assert_svg(&svg);
    assert!(svg.contains("round 0") && svg.contains(&format!("round {}", rounds - 1)));
}

#[test]
fn hyperband_brackets_are_one_line_each() {
    let base = MLPRegressor::<f64>::params()
        .solver(Solver::Adam)
        .random_state(0);
    let space = ParamDistributions::new().add(
        "learning_rate_init",
        Distribution::LogUniform {
            low: 1e-3,
            high: 1e-1,
        },
    );
    let bar = Arc::new(SearchProgress::hidden());
    let search = HyperbandSearchCV::new(by_name(base), space, 9)
        .cv(2)
        .observer(bar.clone())
        .fit(&diabetes())
        .unwrap();
    let fits: usize = search
        .brackets()
        .iter()
        .map(|b| b.n_candidates.iter().sum::<usize>())
        .sum::<usize>()
        * 2;
    assert_eq!(bar.total_fits(), fits as u64);
    assert_eq!(bar.fits_done(), fits as u64);
    let svg = plot::halving_rounds_svg(&search).unwrap();
    assert_svg(&svg);
    for b in search.brackets() {
        assert!(svg.contains(&format!("bracket s={}", b.s)));
    }
    let points: usize = search.brackets().iter().map(|b| b.n_resources.len()).sum();
    assert_eq!(count(&svg, "<circle"), 2 * points);
}

#[test]
fn unwritable_paths_are_io_errors() {
    let model = MLPRegressor::<f64>::params()
        .max_iter(5)
        .random_state(0)
        .fit(&diabetes())
        .unwrap();
    let dir = temp("missing-dir");
    let bad = dir.join("curves.svg");
    assert!(matches!(
        plot::learning_curves(&model, &bad),
        Err(ref e @ MlpTuneError::IoError { .. })
            if e.to_string().contains("curves.svg") && e.io_kind() == Some(std::io::ErrorKind::NotFound)
    ));
    // A directory where the file should be.
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(
        plot::learning_curves(&model, &dir),
        Err(MlpTuneError::IoError { .. })
    ));
    std::fs::remove_dir(&dir).unwrap();

    let rounds = plot::HalvingRounds {
        brackets: vec![("a".into(), vec![4, 2, 1], vec![10, 20, 40])],
    };
    assert!(matches!(
        plot::halving_rounds(rounds.clone(), "/proc/no-such-file.svg"),
        Err(MlpTuneError::IoError { .. })
    ));
    assert!(plot::halving_rounds_svg(plot::HalvingRounds { brackets: vec![] }).is_err());
}

#[test]
fn search_progress_counts_fits_and_failures() {
    let bar = SearchProgress::hidden();
    bar.on_search_start(2, 3);
    assert_eq!(bar.total_fits(), 6);
    let fit = |candidate, split, score: f64, error: Option<&str>| {
        bar.on_fit_end(&mlp_tune::model_selection::FitEvent {
            candidate,
            split,
            score,
            seconds: 0.0,
            error: error.map(str::to_string),
        })
    };
    fit(0, 0, -1.0, None);
    fit(1, 0, -0.5, None);
    fit(0, 1, -3.0, None);
    // No candidate has all its folds yet.
    assert_eq!(bar.best_score(), None);
    fit(0, 2, -2.0, None);
    assert_eq!(bar.best_score(), Some(-2.0));
    fit(1, 1, f64::NAN, Some("diverged"));
    fit(1, 2, -0.5, None);
    // Candidate 1's mean is NaN: it never becomes the best.
    assert_eq!(bar.best_score(), Some(-2.0));
    assert_eq!(bar.failed_fits(), 1);
    assert_eq!(bar.fits_done(), 6);
    bar.on_refit_end(0.1);
    bar.finish();
    // A second search through the same bar starts over.
    bar.on_search_start(1, 2);
    assert_eq!((bar.fits_done(), bar.total_fits()), (0, 2));
    assert_eq!(bar.best_score(), None);
}

#[test]
fn training_progress_follows_epochs_and_early_stopping() {
    let bar = TrainingProgress::hidden(200);
    let model = MLPRegressor::<f64>::params()
        .max_iter(200)
        .early_stopping(true)
        .n_iter_no_change(3)
        .random_state(0)
        .observer(bar.clone())
        .fit(&diabetes())
        .unwrap();
    assert_eq!(bar.epochs_done(), model.n_iter() as u64);
    // The bar ends full even when training stopped early.
    assert_eq!(bar.bar().length(), Some(model.n_iter() as u64));
    assert_eq!(bar.last_loss(), Some(model.loss()));
}
