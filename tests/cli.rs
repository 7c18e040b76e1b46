//! The `mlp-tune` binary: a sharded search equals `run`; bad specs and arguments give an
//! error naming the file, the line and the key, exit code 2, and write nothing; journals of
//! different specs are not merged (exit 1); `plan` exits 3 while rounds are left.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mlp-tune"))
}

/// The scratch folder of `tag` (as [`dir`] made it).
fn dir_of(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mlp-tune-cli-{tag}-{}", std::process::id()))
}

fn dir(tag: &str) -> PathBuf {
    let d = dir_of(tag);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SPEC: &str = r#"[data]
dataset = "diabetes"
test_size = 0.25

[estimator]
kind = "mlp_regressor"
[estimator.params]
solver = "lbfgs"
max_iter = 30
random_state = 0

[search]
kind = "halving_random"
n_iter = 6
resource = "max_iter"
min_resources = 5
max_resources = 45
cv = 3
seed = 4
journal = "search.jsonl"

[space]
hidden_layer_sizes = [[4], [16]]
alpha = { dist = "loguniform", low = 1e-4, high = 10.0 }
"#;

fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("spec.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], spec: &Path) -> Output {
    let mut c = bin();
    c.arg(args[0]).arg(spec).args(&args[1..]);
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `spec_text` with `run` and, in another folder, round by round in 3 shards (`plan`,
/// `shard`..., then `merge`); checks that both give the same cv_results (timings aside),
/// best candidate, scores and refitted model. Returns the number of rounds.
fn sharded_equals_run(tag: &str, spec_text: &str) -> usize {
    let one = dir(&format!("{tag}-one"));
    let spec = write_spec(&one, spec_text);
    let o = run(
        &["run", "--quiet", "--out", one.join("out").to_str().unwrap()],
        &spec,
    );
    assert!(o.status.success(), "{tag}: {}", stderr(&o));

    let sharded = dir(&format!("{tag}-sharded"));
    let spec = write_spec(&sharded, spec_text);
    let mut rounds = 0;
    loop {
        let plan = run(&["plan"], &spec);
        match plan.status.code() {
            Some(0) => break,
            Some(3) => {}
            other => panic!("{tag}: plan exited {other:?}: {}", stderr(&plan)),
        }
        rounds += 1;
        assert!(rounds < 20, "{tag}");
        for i in 0..3 {
            let o = run(&["shard", "--index", &i.to_string(), "--count", "3"], &spec);
            assert!(o.status.success(), "{tag}: {}", stderr(&o));
        }
    }
    let o = run(
        &["merge", "--out", sharded.join("out").to_str().unwrap()],
        &spec,
    );
    assert!(o.status.success(), "{tag}: {}", stderr(&o));

    let (a, b) = (
        json(one.join("out/cv_results.json")),
        json(sharded.join("out/cv_results.json")),
    );
    for (key, value) in a.as_object().unwrap() {
        if !key.contains("time") {
            assert_eq!(value, &b[key], "{tag}: {key}");
        }
    }
    let (a, b) = (
        json(one.join("out/result.json")),
        json(sharded.join("out/result.json")),
    );
    for key in ["best_params", "best_score", "test_score", "n_candidates"] {
        assert_eq!(a[key], b[key], "{tag}: {key}");
    }
    assert_eq!(
        std::fs::read(one.join("out/model.json")).unwrap(),
        std::fs::read(sharded.join("out/model.json")).unwrap(),
        "{tag}: the same refitted model"
    );
    rounds
}

#[test]
fn a_sharded_halving_search_equals_run() {
    assert_eq!(
        sharded_equals_run("halving", SPEC),
        2,
        "6 candidates, factor 3: rounds at 5 and 15 iterations"
    );
}

/// Runs `command` on `spec_text` and expects exit 2 with a message naming `key` (and the
/// spec file and `line` for an error in the spec), and nothing written.
fn refused(tag: &str, spec_text: &str, args: &[&str], line: Option<usize>, key: &str) {
    let d = dir(tag);
    let spec = write_spec(&d, spec_text);
    let o = run(args, &spec);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{tag}: {err}");
    if let Some(line) = line {
        assert!(err.contains("spec.toml"), "{tag}: names the file: {err}");
        assert!(
            err.contains(&format!("line {line}")),
            "{tag}: names line {line}: {err}"
        );
    }
    assert!(err.contains(key), "{tag}: names `{key}`: {err}");
    let written: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(written.len(), 1, "{tag}: nothing but the spec: {written:?}");
}

#[test]
fn bad_specs_and_arguments_name_file_line_and_key_and_write_nothing() {
    let spec = |from: &str, to: &str| {
        assert!(SPEC.contains(from), "{from}");
        SPEC.replacen(from, to, 1)
    };
    refused(
        "unknown-key",
        &spec("cv = 3", "cv = 3\nfolds = 3"),
        &["run"],
        Some(19),
        "folds",
    );
    refused(
        "wrong-type",
        &spec("cv = 3", "cv = \"three\""),
        &["run"],
        Some(18),
        "cv",
    );
    refused(
        "unknown-param",
        &spec("hidden_layer_sizes", "hiden_layer_sizes"),
        &["run"],
        Some(23),
        "hiden_layer_sizes",
    );
    refused(
        "unknown-dataset",
        &spec("\"diabetes\"", "\"housing\""),
        &["run"],
        Some(2),
        "dataset",
    );
    refused(
        "kind-option",
        &spec("kind = \"halving_random\"", "kind = \"grid\""),
        &["run"],
        Some(14),
        "n_iter",
    );
    refused(
        "bad-dist",
        &spec("low = 1e-4", "low = -1.0"),
        &["run"],
        Some(24),
        "alpha",
    );
    refused(
        "index",
        SPEC,
        &["shard", "--index", "3", "--count", "3"],
        None,
        "index",
    );
    refused(
        "no-journal",
        &spec("journal = \"search.jsonl\"\n", ""),
        &["plan"],
        None,
        "journal",
    );

    // A CSV without the named target column.
    let d = dir("csv");
    std::fs::write(d.join("rows.csv"), "a,b,y\n1,2,3\n4,5,6\n7,8,9\n").unwrap();
    let text = spec(
        "dataset = \"diabetes\"",
        "csv = \"rows.csv\"\ntarget = \"price\"",
    );
    let o = run(&["run"], &write_spec(&d, &text));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("price"), "{}", stderr(&o));
}

/// A BOHB search runs from a spec with its first-bracket batch size; the batch size is
/// checked (>= 1, and only with `sampler = "bohb"`), and changing it changes the proposals
/// but not their number.
#[test]
fn a_bohb_search_takes_its_batch_size_from_the_spec() {
    let bohb = |batch: &str| {
        SPEC.replacen(
            "kind = \"halving_random\"\nn_iter = 6\nresource = \"max_iter\"\nmin_resources = 5\nmax_resources = 45\n",
            &format!("kind = \"hyperband\"\nmax_epochs = 9\nsampler = \"bohb\"\n{batch}"),
            1,
        )
        .replacen("solver = \"lbfgs\"", "solver = \"adam\"", 1)
    };
    assert!(bohb("").contains("hyperband"));
    let mut params = Vec::new();
    for (tag, batch) in [
        ("bohb-1", "batch_size = 1\n"),
        ("bohb-big", "batch_size = 100\n"),
    ] {
        let d = dir(tag);
        let spec = write_spec(&d, &bohb(batch));
        let o = run(
            &["run", "--quiet", "--out", d.join("out").to_str().unwrap()],
            &spec,
        );
        assert_eq!(o.status.code(), Some(0), "{tag}: {}", stderr(&o));
        let cv = json(d.join("out/cv_results.json"));
        params.push(cv["params"].clone());
    }
    assert_eq!(
        params[0].as_array().map(Vec::len),
        params[1].as_array().map(Vec::len),
        "the same schedule"
    );
    assert_ne!(params[0], params[1], "the batch size changes the proposals");
    refused(
        "bohb-zero",
        &bohb("batch_size = 0\n"),
        &["run"],
        Some(16),
        "batch_size",
    );
    refused(
        "hb-batch",
        &bohb("batch_size = 2\n").replacen("sampler = \"bohb\"\n", "", 1),
        &["run"],
        Some(15),
        "batch_size",
    );
}

#[test]
fn shards_of_another_spec_are_not_merged_and_merge_needs_a_complete_search() {
    let d = dir("mixed");
    let spec = write_spec(&d, SPEC);
    let o = run(&["shard", "--index", "0", "--count", "2"], &spec);
    assert!(o.status.success(), "{}", stderr(&o));
    // Merging an incomplete search is refused (exit 1), and plan says so (exit 3).
    assert_eq!(run(&["plan"], &spec).status.code(), Some(3));
    let o = run(&["merge"], &spec);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not complete"), "{}", stderr(&o));
    // The spec changes (another seed): the old shard's journal belongs to another search.
    let spec = write_spec(&d, &SPEC.replace("seed = 4", "seed = 5"));
    let o = run(&["shard", "--index", "1", "--count", "2"], &spec);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = run(&["plan"], &spec);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("different search"), "{}", stderr(&o));
}

const BAYES_SPEC: &str = r#"[data]
dataset = "diabetes"
test_size = 0.25

[estimator]
kind = "mlp_regressor"
[estimator.params]
solver = "lbfgs"
max_iter = 20
random_state = 0

[search]
kind = "bayes"
n_iter = 7
n_initial_points = 3
acquisition = "ei"
xi = 0.02
n_points = 200
batch_size = 2
cv = 2
seed = 3
journal = "search.jsonl"

[space]
hidden_layer_sizes = [[4], [16]]
alpha = { dist = "loguniform", low = 1e-4, high = 10.0 }
"#;

#[test]
fn a_bayes_search_runs_from_a_spec_and_its_options_are_checked() {
    // 3 random trials in one batch, then batches of 2: 3 rounds, sharded or not.
    assert_eq!(sharded_equals_run("bayes", BAYES_SPEC), 3);
    let result = json(dir_of("bayes-one").join("out/result.json"));
    assert_eq!(result["n_candidates"], 7, "{result}");
    assert!(result["best_score"].as_f64().unwrap().is_finite());
    assert!(result["test_score"].as_f64().unwrap().is_finite());

    let spec = |from: &str, to: &str| {
        assert!(BAYES_SPEC.contains(from), "{from}");
        BAYES_SPEC.replacen(from, to, 1)
    };
    refused(
        "bayes-acquisition",
        &spec("\"ei\"", "\"ucb\""),
        &["run"],
        Some(16),
        "acquisition",
    );
    refused(
        "bayes-kappa-with-ei",
        &spec("xi = 0.02", "kappa = 2.0"),
        &["run"],
        Some(17),
        "kappa",
    );
    refused(
        "bayes-needs-n-iter",
        &spec("n_iter = 7\n", ""),
        &["run"],
        Some(13),
        "n_iter",
    );
    refused(
        "bayes-n-initial-points",
        &spec("n_initial_points = 3", "n_initial_points = 8"),
        &["run"],
        Some(15),
        "n_initial_points",
    );
    refused(
        "bayes-n-points",
        &spec("n_points = 200", "n_points = 0"),
        &["run"],
        Some(18),
        "n_points",
    );
    refused(
        "bayes-evolutionary-option",
        &spec("n_points = 200", "population_size = 4"),
        &["run"],
        Some(18),
        "population_size",
    );
}

const EVOLUTIONARY_SPEC: &str = r#"[data]
dataset = "diabetes"

[estimator]
kind = "mlp_regressor"
[estimator.params]
solver = "lbfgs"
max_iter = 20
random_state = 0

[search]
kind = "evolutionary"
population_size = 8
generations_number = 2
gene_mutation_prob = 0.2
tournament_size = 2
crossover = "one_point"
elitism = 1
cv = 2
seed = 1
journal = "search.jsonl"

[space]
hidden_layer_sizes = [[4], [8], [16]]
alpha = [1e-4, 1e-2, 1.0]
"#;

#[test]
fn an_evolutionary_search_runs_from_a_spec_and_its_options_are_checked() {
    // One round per generation with configurations not met before: the first and the two
    // bred from it here.
    assert_eq!(sharded_equals_run("evolutionary", EVOLUTIONARY_SPEC), 3);
    let result = json(dir_of("evolutionary-one").join("out/result.json"));
    // Distinct configurations only: 7 of the grid's 9 for this seed.
    assert_eq!(result["n_candidates"], 7, "{result}");
    assert!(result["best_score"].as_f64().unwrap().is_finite());

    let spec = |from: &str, to: &str| {
        assert!(EVOLUTIONARY_SPEC.contains(from), "{from}");
        EVOLUTIONARY_SPEC.replacen(from, to, 1)
    };
    refused(
        "evolutionary-crossover",
        &spec("\"one_point\"", "\"two_point\""),
        &["run"],
        Some(17),
        "crossover",
    );
    refused(
        "evolutionary-population",
        &spec("population_size = 8", "population_size = 1"),
        &["run"],
        Some(13),
        "population_size",
    );
    refused(
        "evolutionary-probability",
        &spec("gene_mutation_prob = 0.2", "gene_mutation_prob = 1.5"),
        &["run"],
        Some(15),
        "gene_mutation_prob",
    );
    refused(
        "evolutionary-needs-a-grid",
        &spec(
            "alpha = [1e-4, 1e-2, 1.0]",
            "alpha = { dist = \"loguniform\", low = 1e-4, high = 1.0 }",
        ),
        &["run"],
        Some(25),
        "alpha",
    );
    refused(
        "evolutionary-n-iter",
        &spec("elitism = 1", "n_iter = 5"),
        &["run"],
        Some(18),
        "n_iter",
    );
}
