//! What each command does, for either estimator kind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use linfa::prelude::ParamGuard;
use linfa::Dataset;
use mlp_tune::datasets::{self, CsvOptions, TargetColumn};
use mlp_tune::model_selection::param_space::candidate_to_json;
use mlp_tune::model_selection::scoring::ScoreTarget;
use mlp_tune::model_selection::{
    by_name, merge_journals, Acquisition, BayesSearchCV, BracketSampler, ConstantLiar, Crossover,
    Estimator, EvolutionarySearchCV, FittedSearch, GridSearchCV, HalvingGridSearchCV,
    HalvingRandomSearchCV, HyperbandSearchCV, InitialPoints, MinResources, RandomizedSearchCV,
    Resource, Scorer, SearchCV, SearchObserver, SetParams, Size, TpeOptions, TpeSearchCV,
};
use mlp_tune::neural_network::{MLPClassifier, MLPRegressor};
use mlp_tune::progress::SearchProgress;
use mlp_tune::spec::SearchSpec;
use mlp_tune::MlpTuneError;
use ndarray::Ix1;
use serde_json::json;

/// The command to run.
pub enum Mode {
    Run { out: Option<PathBuf>, quiet: bool },
    Shards { count: usize },
    Shard { index: usize, count: usize },
    Plan,
    Merge { out: Option<PathBuf> },
}

/// Why a command failed: the spec (exit 2) or the search (exit 1).
pub enum Failure {
    Spec(MlpTuneError),
    Search(MlpTuneError),
}

type Outcome = Result<u8, Failure>;

/// Records with targets of type `T`.
type Rows<T> = Dataset<f64, T, Ix1>;

/// A finished search of estimator `E` on targets `T`.
type Fitted<E, T> = FittedSearch<E, <E as Estimator<f64, T>>::Model>;

fn search_failed(e: MlpTuneError) -> Failure {
    Failure::Search(e)
}

/// Runs `mode` for the spec's estimator kind.
pub fn execute(spec: &SearchSpec, mode: Mode) -> Outcome {
    if spec.is_classifier() {
        let data = load(spec, true)?;
        let labels = data.targets().mapv(|t| t as usize);
        let data = Dataset::new(data.records().clone(), labels);
        run(spec, MLPClassifier::<f64, usize>::params(), data, mode)
    } else {
        run(
            spec,
            MLPRegressor::<f64>::params(),
            load(spec, false)?,
            mode,
        )
    }
}

/// The spec's rows, targets as numbers (class labels checked to be 0, 1, ... for a
/// classifier).
fn load(spec: &SearchSpec, classifier: bool) -> Result<Dataset<f64, f64, Ix1>, Failure> {
    let d = &spec.data;
    let wrong_kind = |name: &str| {
        Failure::Spec(spec.error(
            "data.dataset",
            format!(
                "`{name}` is a {} set; the estimator is an {}",
                if classifier {
                    "regression"
                } else {
                    "classification"
                },
                spec.estimator.kind
            ),
        ))
    };
    let as_f64 = |d: Dataset<f64, usize, Ix1>| {
        let y = d.targets().mapv(|t| t as f64);
        Dataset::new(d.records().clone(), y)
    };
    let data = match (d.dataset.as_deref(), &d.csv) {
        (Some(name @ ("california" | "diabetes")), _) if classifier => {
            return Err(wrong_kind(name))
        }
        (Some(name @ ("iris" | "digits" | "breast_cancer" | "wine")), _) if !classifier => {
            return Err(wrong_kind(name))
        }
        (Some("california"), _) => datasets::california_housing().map_err(search_failed)?,
        (Some("diabetes"), _) => datasets::diabetes(),
        (Some("iris"), _) => as_f64(datasets::iris()),
        (Some("digits"), _) => as_f64(datasets::digits()),
        (Some("breast_cancer"), _) => as_f64(datasets::breast_cancer()),
        (Some("wine"), _) => as_f64(datasets::wine()),
        (_, Some(csv)) => {
            let target = d.target.clone().unwrap_or_default();
            let options = CsvOptions::default().target(TargetColumn::Name(target));
            datasets::load_csv(spec.resolve(csv), &options)
                .map_err(|e| Failure::Spec(spec.error("data.csv", e)))?
        }
        _ => return Err(Failure::Spec(spec.error("data", "no dataset"))),
    };
    if classifier
        && data
            .targets()
            .iter()
            .any(|&t| !(t >= 0.0 && t.fract() == 0.0 && t < 1e9))
    {
        return Err(Failure::Spec(spec.error(
            "data.target",
            "a classifier's target column must hold class labels 0, 1, 2, ...",
        )));
    }
    Ok(data)
}

/// The estimator with the spec's fixed hyperparameters, each error naming its key.
fn with_fixed<P: SetParams>(spec: &SearchSpec, mut base: P) -> Result<P, Failure> {
    for (name, value) in spec.fixed_params().map_err(Failure::Spec)? {
        base.set_param(&name, &value)
            .map_err(|e| Failure::Spec(spec.error(&format!("estimator.params.{name}"), e)))?;
    }
    Ok(base)
}

/// Checks that every searched name is a hyperparameter of the estimator.
fn check_space<P: SetParams + Clone>(spec: &SearchSpec, base: &P) -> Result<(), Failure> {
    let names = base.param_names();
    for name in spec.space.keys() {
        if !names.contains(&name.as_str()) {
            return Err(Failure::Spec(spec.error(
                &format!("space.{name}"),
                format!(
                    "unknown hyperparameter `{name}`; one of {}",
                    names.join(", ")
                ),
            )));
        }
    }
    Ok(())
}

/// Where a search's journal and its shards' journals are.
struct Journals {
    main: PathBuf,
}

impl Journals {
    fn of(spec: &SearchSpec) -> Result<Self, Failure> {
        spec.journal().map(|main| Journals { main }).ok_or_else(|| {
            Failure::Spec(spec.error(
                "search.journal",
                "sharded commands need a journal in [search] (the shards' shared state)",
            ))
        })
    }

    fn shard(&self, index: usize) -> PathBuf {
        let stem = self
            .main
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.main
            .with_file_name(format!("{stem}.shard-{index}.jsonl"))
    }

    /// Every shard journal beside the main one.
    fn shards(&self) -> Vec<PathBuf> {
        let stem = self
            .main
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!("{stem}.shard-");
        let dir = match self.main.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .map(|n| n.to_string_lossy())
                            .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".jsonl"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    /// Unions the shards' journals into the main one.
    fn merge(&self) -> Result<(), Failure> {
        let report = merge_journals(&self.main, self.shards()).map_err(search_failed)?;
        eprintln!(
            "merged {} journal(s): {} fits, {} duplicates dropped, {} torn lines dropped",
            report.files, report.records, report.duplicates, report.torn_lines
        );
        Ok(())
    }
}

/// How one run of the search is set up.
struct RunSetup {
    execution: mlp_tune::model_selection::Execution,
    journal: Option<PathBuf>,
    inputs: Vec<PathBuf>,
    observer: Option<Arc<dyn SearchObserver>>,
}

/// The options every search kind takes from the spec.
fn common<B, T: ScoreTarget, S>(
    spec: &SearchSpec,
    mut s: SearchCV<B, T, S>,
    setup: &RunSetup,
) -> Result<SearchCV<B, T, S>, Failure> {
    let o = &spec.search;
    s = s.cv(o.cv.unwrap_or(5)).n_jobs(o.n_jobs.unwrap_or(1));
    if let Some(name) = &o.scoring {
        s = s
            .scoring(name)
            .map_err(|e| Failure::Spec(spec.error("search.scoring", e)))?;
    }
    if let Some(j) = &setup.journal {
        s = s.journal(j).journal_inputs(&setup.inputs);
    }
    if let Some(observer) = &setup.observer {
        s = s.observer(Arc::clone(observer));
    }
    Ok(match setup.execution {
        mlp_tune::model_selection::Execution::All => s,
        mlp_tune::model_selection::Execution::Shard { index, count } => s.shard(index, count),
        mlp_tune::model_selection::Execution::PlanOnly => s.plan_only(),
    })
}

/// Runs the spec's search once, as `setup` says.
#[allow(clippy::type_complexity)]
fn fit_search<P, T>(
    spec: &SearchSpec,
    base: &P,
    train: &Dataset<f64, T, Ix1>,
    setup: &RunSetup,
) -> Result<Fitted<P::Checked, T>, Failure>
where
    P: SetParams + ParamGuard + Clone + Send + Sync,
    MlpTuneError: From<P::Error>,
    P::Checked: Estimator<f64, T> + Clone,
    <P::Checked as Estimator<f64, T>>::Model: Clone,
    T: ScoreTarget + PartialOrd + Clone + Send + Sync,
{
    let o = &spec.search;
    let seed = o.seed.unwrap_or(0);
    let builder = by_name(base.clone());
    let result = match o.kind.as_str() {
        "grid" => common(
            spec,
            GridSearchCV::new(builder, spec.grid().map_err(Failure::Spec)?),
            setup,
        )?
        .fit(train),
        "random" => common(
            spec,
            RandomizedSearchCV::new(
                builder,
                spec.distributions().map_err(Failure::Spec)?,
                o.n_iter.unwrap_or(10),
            )
            .random_state(seed),
            setup,
        )?
        .fit(train),
        "halving_grid" | "halving_random" => {
            let s = if o.kind == "halving_grid" {
                HalvingGridSearchCV::new(builder, spec.grid().map_err(Failure::Spec)?)
            } else {
                let mut s = HalvingRandomSearchCV::new(
                    builder,
                    spec.distributions().map_err(Failure::Spec)?,
                );
                if let Some(n) = o.n_iter {
                    s = s.n_candidates(mlp_tune::model_selection::NCandidates::Value(n));
                }
                s
            };
            let mut s = s
                .random_state(seed)
                .factor(o.factor.unwrap_or(3.0))
                .resource(Resource::named(
                    o.resource.as_deref().unwrap_or("n_samples"),
                ));
            if let Some(m) = o.min_resources {
                s = s.min_resources(MinResources::Value(m));
            }
            if let Some(m) = o.max_resources {
                s = s.max_resources(m);
            }
            common(spec, s, setup)?
                .fit(train)
                .map(|f| f.search().clone())
        }
        "hyperband" => {
            let mut s = HyperbandSearchCV::new(
                builder,
                spec.distributions().map_err(Failure::Spec)?,
                o.max_epochs.unwrap_or(1),
            )
            .random_state(seed)
            .factor(o.factor.unwrap_or(3.0))
            .min_epochs(o.min_epochs.unwrap_or(1));
            if let Some(k) = o.max_brackets {
                s = s.max_brackets(k);
            }
            if o.sampler.as_deref() == Some("bohb") {
                let sampler = BracketSampler::bohb();
                s = s.sampler(match o.batch_size {
                    Some(b) => sampler.with_batch_size(b),
                    None => sampler,
                });
            }
            common(spec, s, setup)?
                .fit(train)
                .map(|f| f.search().clone())
        }
        "tpe" => {
            let mut options = TpeOptions::default();
            if let Some(n) = o.n_startup_trials {
                options.n_startup_trials = n;
            }
            common(
                spec,
                TpeSearchCV::new(
                    builder,
                    spec.distributions().map_err(Failure::Spec)?,
                    o.n_iter.unwrap_or(10),
                )
                .tpe_options(options)
                .batch_size(o.batch_size.unwrap_or(1))
                .random_state(seed),
                setup,
            )?
            .fit(train)
        }
        "bayes" => {
            let mut s = BayesSearchCV::new(
                builder,
                spec.distributions().map_err(Failure::Spec)?,
                o.n_iter.unwrap_or(10),
            )
            .batch_size(o.batch_size.unwrap_or(1))
            .acquisition(acquisition(spec))
            .random_state(seed);
            if let Some(n) = o.n_initial_points {
                s = s.n_initial_points(n);
            }
            if o.initial_points.as_deref() == Some("lhs") {
                s = s.initial_points(InitialPoints::LatinHypercube);
            }
            s = s.liar(match o.liar.as_deref() {
                Some("cl_mean") => ConstantLiar::Mean,
                Some("cl_max") => ConstantLiar::Max,
                _ => ConstantLiar::Min,
            });
            if let Some(n) = o.n_points {
                s = s.n_points(n);
            }
            common(spec, s, setup)?.fit(train)
        }
        "evolutionary" => {
            let mut s = EvolutionarySearchCV::new(builder, spec.grid().map_err(Failure::Spec)?)
                .random_state(seed);
            if let Some(n) = o.population_size {
                s = s.population_size(n);
            }
            if let Some(n) = o.generations_number {
                s = s.generations_number(n);
            }
            if let Some(p) = o.gene_mutation_prob {
                s = s.gene_mutation_prob(p);
            }
            if let Some(p) = o.gene_crossover_prob {
                s = s.gene_crossover_prob(p);
            }
            if let Some(k) = o.tournament_size {
                s = s.tournament_size(k);
            }
            if o.crossover.as_deref() == Some("one_point") {
                s = s.crossover(Crossover::OnePoint);
            }
            if let Some(n) = o.elitism {
                s = s.elitism(n);
            }
            common(spec, s, setup)?.fit(train)
        }
        other => {
            return Err(Failure::Spec(
                spec.error("search.kind", format!("unknown kind {other}")),
            ))
        }
    };
    result.map_err(|e| match e {
        // A search option out of range names its key in [search].
        MlpTuneError::InvalidParameter { ref name, .. } if search_option(spec, name).is_some() => {
            let key = search_option(spec, name).unwrap_or("search");
            Failure::Spec(spec.error(key, e))
        }
        // Parameters the builder refuses are the spec's fault.
        MlpTuneError::InvalidParameter { .. } | MlpTuneError::SearchSpace(_) => {
            Failure::Spec(spec.error("space", e))
        }
        other => Failure::Search(other),
    })
}

/// The `[search]` key of a search setting the library refused by `name` (`n_trials` is
/// the spec's `n_iter`, `n_splits` its `cv`, the acquisition's range errors its `xi` or
/// `kappa`), unless a hyperparameter of the space or the estimator has that name.
fn search_option(spec: &SearchSpec, name: &str) -> Option<&'static str> {
    if spec.space.contains_key(name) || spec.estimator.params.contains_key(name) {
        return None;
    }
    let o = &spec.search;
    Some(match name {
        "n_trials" | "n_iter" | "n_candidates" => "search.n_iter",
        "n_splits" => "search.cv",
        "n_startup_trials" => "search.n_startup_trials",
        "min_resources" => "search.min_resources",
        "max_resources" => "search.max_resources",
        "min_epochs" => "search.min_epochs",
        "max_brackets" => "search.max_brackets",
        "acquisition" if o.kappa.is_some() && o.xi.is_none() => "search.kappa",
        "acquisition" if o.xi.is_some() => "search.xi",
        "acquisition" => "search.acquisition",
        "batch_size" => "search.batch_size",
        "n_initial_points" => "search.n_initial_points",
        "n_points" => "search.n_points",
        "factor" => "search.factor",
        "population_size" => "search.population_size",
        "gene_mutation_prob" => "search.gene_mutation_prob",
        "gene_crossover_prob" => "search.gene_crossover_prob",
        "tournament_size" => "search.tournament_size",
        "elitism" => "search.elitism",
        _ => return None,
    })
}

/// The spec's acquisition with its `xi` and `kappa` (scikit-optimize's defaults otherwise).
fn acquisition(spec: &SearchSpec) -> Acquisition {
    let o = &spec.search;
    let (xi, kappa) = (o.xi.unwrap_or(0.01), o.kappa.unwrap_or(1.96));
    match o.acquisition.as_deref() {
        Some("ei") => Acquisition::ExpectedImprovement { xi },
        Some("pi") => Acquisition::ProbabilityOfImprovement { xi },
        Some("lcb") => Acquisition::LowerConfidenceBound { kappa },
        _ => Acquisition::GpHedge {
            xi,
            kappa,
            eta: 1.0,
        },
    }
}

fn run<P, T>(spec: &SearchSpec, base: P, data: Dataset<f64, T, Ix1>, mode: Mode) -> Outcome
where
    P: SetParams + ParamGuard + Clone + Send + Sync,
    MlpTuneError: From<P::Error>,
    P::Checked: Estimator<f64, T> + Clone,
    <P::Checked as Estimator<f64, T>>::Model: Clone + serde::Serialize,
    T: ScoreTarget + PartialOrd + Clone + Send + Sync,
{
    let base = with_fixed(spec, base)?;
    check_space(spec, &base)?;
    let (train, test) = match spec.data.test_size {
        Some(t) => {
            let (train, test) = mlp_tune::model_selection::train_test_split(
                &data,
                Size::Fraction(t),
                Some(spec.search.seed.unwrap_or(0)),
                None,
            )
            .map_err(|e| Failure::Spec(spec.error("data.test_size", e)))?;
            (train, Some(test))
        }
        None => (data, None),
    };
    let (train, test) = if spec.data.standardize == Some(true) {
        standardize(train, test)
    } else {
        (train, test)
    };
    let setup = |execution, journal: Option<PathBuf>, inputs: Vec<PathBuf>| RunSetup {
        execution,
        journal,
        inputs,
        observer: None,
    };
    use mlp_tune::model_selection::Execution;
    match mode {
        Mode::Run { out, quiet } => {
            let mut s = setup(Execution::All, spec.journal(), Vec::new());
            let progress = (!quiet).then(|| Arc::new(SearchProgress::new()));
            if let Some(p) = &progress {
                s.observer = Some(Arc::clone(p) as Arc<dyn SearchObserver>);
            }
            let started = Instant::now();
            let fitted = fit_search(spec, &base, &train, &s)?;
            if let Some(p) = &progress {
                p.finish_and_clear();
            }
            write_results(
                spec,
                out,
                &fitted,
                test.as_ref(),
                started.elapsed().as_secs_f64(),
            )
        }
        Mode::Shards { count } => {
            if count == 0 {
                return Err(Failure::Spec(MlpTuneError::InvalidInput(
                    "--count must be >= 1".into(),
                )));
            }
            let journals = Journals::of(spec)?;
            let plan = fit_search(
                spec,
                &base,
                &train,
                &setup(
                    Execution::PlanOnly,
                    Some(journals.main.clone()),
                    journals.shards(),
                ),
            )?;
            print_plan(&plan, Some(count));
            Ok(0)
        }
        Mode::Shard { index, count } => {
            if count == 0 || index >= count {
                return Err(Failure::Spec(MlpTuneError::InvalidInput(format!(
                    "--index {index} --count {count}: the index must be in 0..count"
                ))));
            }
            let journals = Journals::of(spec)?;
            let started = Instant::now();
            let part = fit_search(
                spec,
                &base,
                &train,
                &setup(
                    Execution::Shard { index, count },
                    Some(journals.shard(index)),
                    vec![journals.main.clone()],
                ),
            )?;
            let ran = part
                .cv_results()
                .primary()
                .split_test
                .iter()
                .flatten()
                .filter(|s| !s.is_nan())
                .count();
            println!(
                "{}",
                json!({
                    "shard": index,
                    "count": count,
                    "journal": journals.shard(index),
                    "fits_done": ran,
                    "fits_left_to_others": part.pending().len(),
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
            Ok(0)
        }
        Mode::Plan => {
            let journals = Journals::of(spec)?;
            journals.merge()?;
            let plan = fit_search(
                spec,
                &base,
                &train,
                &setup(Execution::PlanOnly, Some(journals.main.clone()), Vec::new()),
            )?;
            print_plan(&plan, None);
            Ok(if plan.is_partial() { 3 } else { 0 })
        }
        Mode::Merge { out } => {
            let journals = Journals::of(spec)?;
            journals.merge()?;
            let plan = fit_search(
                spec,
                &base,
                &train,
                &setup(Execution::PlanOnly, Some(journals.main.clone()), Vec::new()),
            )?;
            if plan.is_partial() {
                return Err(Failure::Search(MlpTuneError::InvalidInput(format!(
                    "the search is not complete: {} fits left ({} in the current round); run its shards, then merge",
                    plan.skipped_fits(),
                    plan.pending().len()
                ))));
            }
            let started = Instant::now();
            let fitted = fit_search(
                spec,
                &base,
                &train,
                &setup(Execution::All, Some(journals.main.clone()), Vec::new()),
            )?;
            write_results(
                spec,
                out,
                &fitted,
                test.as_ref(),
                started.elapsed().as_secs_f64(),
            )
        }
    }
}

/// Scales every feature of `train` (and `test`) by the mean and population standard
/// deviation of `train`'s rows (a zero deviation counts as 1), as `StandardScaler`.
fn standardize<T: Clone>(train: Rows<T>, test: Option<Rows<T>>) -> (Rows<T>, Option<Rows<T>>) {
    let x = train.records();
    let (Some(mean), std) = (
        x.mean_axis(ndarray::Axis(0)),
        x.std_axis(ndarray::Axis(0), 0.0),
    ) else {
        return (train, test);
    };
    let std = std.mapv(|s| if s == 0.0 { 1.0 } else { s });
    let scale = |d: Rows<T>| {
        let x = (d.records() - &mean) / &std;
        Dataset::new(x, d.targets().clone())
    };
    (scale(train), test.map(scale))
}

/// Prints what the current round still needs (and each fit's shard), last line JSON.
fn print_plan<E, M>(plan: &FittedSearch<E, M>, count: Option<usize>) {
    let results = plan.cv_results();
    for p in plan.pending() {
        let shard = count
            .map(|n| format!("shard {:>3}  ", p.task % n))
            .unwrap_or_default();
        println!(
            "{shard}row {:>4} fold {}  {}",
            p.row,
            p.split,
            candidate_to_json(&results.params[p.row])
        );
    }
    println!(
        "{}",
        json!({
            "complete": !plan.is_partial(),
            "fits_done": plan.resumed_fits(),
            "round_fits_left": plan.pending().len(),
            "fits_left": plan.skipped_fits(),
        })
    );
}

/// Writes cv_results (CSV, JSON), result.json and the refitted model, and prints the
/// result's JSON as the last line.
fn write_results<E, M, T>(
    spec: &SearchSpec,
    out: Option<PathBuf>,
    fitted: &FittedSearch<E, M>,
    test: Option<&Dataset<f64, T, Ix1>>,
    seconds: f64,
) -> Outcome
where
    E: Estimator<f64, T, Model = M>,
    M: serde::Serialize,
    T: ScoreTarget,
{
    let out = out.unwrap_or_else(|| default_out(&spec.path));
    std::fs::create_dir_all(&out).map_err(|e| {
        search_failed(MlpTuneError::InvalidInput(format!(
            "{}: {e}",
            out.display()
        )))
    })?;
    let write = |name: &str, text: String| -> Result<(), Failure> {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| {
            search_failed(MlpTuneError::InvalidInput(format!(
                "{}: {e}",
                path.display()
            )))
        })
    };
    let results = fitted.cv_results();
    write("cv_results.csv", results.to_csv())?;
    write("cv_results.json", results.to_json().to_string())?;
    let scorer_name = results.primary().name.clone();
    let test_score = match test {
        Some(test) if fitted.best_model().is_some() => {
            let scorer = Scorer::from_name(&scorer_name).map_err(search_failed)?;
            let classes = T::classes_of(test.targets().view());
            Some(
                fitted
                    .score(test.records(), test.targets(), &scorer, &classes)
                    .map_err(search_failed)?,
            )
        }
        _ => None,
    };
    if let Some(model) = fitted.best_model() {
        write(
            "model.json",
            serde_json::to_string(model)
                .map_err(|e| search_failed(MlpTuneError::InvalidInput(e.to_string())))?,
        )?;
    }
    let result = json!({
        "best_params": fitted.best_params().map(candidate_to_json),
        "best_score": fitted.best_score(),
        "scoring": scorer_name,
        "test_score": test_score,
        "n_candidates": results.params.len(),
        "resumed_fits": fitted.resumed_fits(),
        "partial": fitted.is_partial(),
        "search_seconds": seconds,
        "out": out,
    });
    write("result.json", result.to_string())?;
    println!("{result}");
    Ok(0)
}

/// `<spec stem>-results` beside the spec.
fn default_out(spec: &Path) -> PathBuf {
    let stem = spec
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "search".into());
    spec.with_file_name(format!("{stem}-results"))
}
