//! Property test of the spec file reader (`mlp_tune::spec`): the example specs with a line
//! dropped, repeated, or a value replaced by any TOML value. Whatever the text, reading
//! it and deriving the fixed parameters, the grid and the distributions give a value or a
//! typed error, never a panic.

use mlp_tune::spec::SearchSpec;
use proptest::prelude::*;
use std::path::Path;

fn example_specs() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/specs");
    let mut specs: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples/specs")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| std::fs::read_to_string(p).expect("a spec"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 4);
    specs
}

/// TOML values, well-formed or not for the key they replace.
fn any_toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("0.5".to_string()),
        Just("true".to_string()),
        Just("\"\"".to_string()),
        Just("\"adam\"".to_string()),
        Just("[]".to_string()),
        Just("[[]]".to_string()),
        Just("[1, \"a\"]".to_string()),
        Just("{}".to_string()),
        Just("{ dist = \"uniform\" }".to_string()),
        Just("{ dist = \"loguniform\", low = -1.0, high = 0.0 }".to_string()),
        Just("{ dist = \"randint\", low = 5, high = 5 }".to_string()),
        Just("{ dist = \"intstep\", low = 0, high = 10, step = 0 }".to_string()),
        Just("{ dist = \"floatstep\", low = 0.0, high = 1.0, step = 1e-300 }".to_string()),
        Just("1979-05-27".to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        "[a-z_]{0,8}".prop_map(|s| format!("\"{s}\"")),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop(usize),
    Repeat(usize),
    Replace(usize, String),
}

fn any_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Drop),
        any::<usize>().prop_map(Mutation::Repeat),
        (any::<usize>(), any_toml_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        match m {
            Mutation::Drop(i) => {
                lines.remove(i % lines.len());
            }
            Mutation::Repeat(i) => {
                let line = lines[i % lines.len()].clone();
                lines.insert(i % lines.len(), line);
            }
            Mutation::Replace(i, value) => {
                let k = i % lines.len();
                if let Some((key, _)) = lines[k].split_once(" = ") {
                    lines[k] = format!("{key} = {value}");
                }
            }
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_spec_text_reads_to_a_spec_or_a_typed_error(
        which in any::<usize>(),
        mutations in proptest::collection::vec(any_mutation(), 1..4),
    ) {
        let specs = example_specs();
        let text = mutate(&specs[which % specs.len()], &mutations);
        if let Ok(spec) = SearchSpec::from_str(&text, Path::new("fuzz.toml")) {
            let _ = spec.fixed_params();
            let _ = spec.grid();
            let _ = spec.distributions();
            let _ = spec.journal();
            let _ = spec.is_classifier();
        }
    }
}

/// Runs `mlp-tune shards SPEC --count 2` (which builds the estimator and the search and
/// prints the current round's fits, without fitting) on `text`, in a fresh folder, and
/// returns its exit status and standard error; `None` when it had to be killed after 60 s.
fn shards(text: &str, case: usize) -> Option<(Option<i32>, String)> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir =
        std::env::temp_dir().join(format!("mlp_tune_fuzz_spec_{}_{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, text).expect("the spec");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlp-tune"))
        .args([
            "shards",
            spec.to_str().expect("a UTF-8 path"),
            "--count",
            "2",
        ])
        .env_remove("MLP_TUNE_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("its status") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        use std::io::Read;
        let _ = err.read_to_string(&mut stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
    status.map(|s| (s.code(), stderr))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    /// The binary on a mutated spec: it answers (an exit code, a message for a refusal),
    /// never a panic (exit 101) or a hang.
    #[test]
    fn the_binary_refuses_a_bad_spec_without_panicking(
        which in any::<usize>(),
        mutations in proptest::collection::vec(any_mutation(), 1..5),
        case: usize,
    ) {
        let specs = example_specs();
        let text = mutate(&specs[which % specs.len()], &mutations);
        let outcome = shards(&text, case);
        prop_assert!(outcome.is_some(), "no answer within 60 s:\n{text}");
        let (code, stderr) = outcome.unwrap_or_default();
        prop_assert!(code.is_some() && code != Some(101) && !stderr.contains("panicked"),
            "exit {code:?}, stderr:\n{stderr}\nspec:\n{text}");
    }
}

/// Found by the property above: `population_size = 9223372036854775807` in an
/// evolutionary spec overflowed an allocation (exit 101). It is now refused, naming the
/// file, line and key (exit 2).
#[test]
fn regression_a_huge_population_is_refused_by_the_binary() {
    let specs = example_specs();
    let evolutionary = specs
        .iter()
        .find(|s| s.contains("kind = \"evolutionary\""))
        .expect("an evolutionary example spec");
    let text = evolutionary
        .lines()
        .map(|l| {
            if l.starts_with("population_size = ") {
                "population_size = 9223372036854775807".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (code, stderr) = shards(&text, usize::MAX).expect("an answer");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("search.population_size") && stderr.contains("line"),
        "{stderr}"
    );
}
