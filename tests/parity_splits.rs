//! Parity of the CV splitters with scikit-learn 1.9.1 on the recorded oracle
//! `$MLP_TUNE_PARITY/splits.json` (every fold's train and test indices, exactly).

use std::collections::BTreeMap;
use std::path::PathBuf;

use mlp_tune::model_selection::{
    train_test_split_indices, CrossValidator, Fold, KFold, RepeatedKFold, RepeatedStratifiedKFold,
    ShuffleSplit, Size, SplitInput, StratifiedKFold, StratifiedShuffleSplit,
};
use serde_json::Value;

fn oracle() -> Value {
    let dir = std::env::var("MLP_TUNE_PARITY").expect("MLP_TUNE_PARITY must be set");
    let path = PathBuf::from(dir).join("splits.json");
    let text = std::fs::read_to_string(&path).expect("read splits.json");
    serde_json::from_str(&text).expect("parse splits.json")
}

/// `Name(k=v, k=v)` -> (name, args); values stay strings.
fn parse_ctor(s: &str) -> (String, BTreeMap<String, String>) {
    let open = s.find('(').expect("constructor has '('");
    let name = s[..open].to_string();
    let inner = &s[open + 1..s.len() - 1];
    let mut args = BTreeMap::new();
    for part in inner.split(", ") {
        match part.split_once('=') {
            Some((k, v)) => {
                args.insert(k.trim().to_string(), v.trim().to_string());
            }
            None => {
                args.insert(part.trim().to_string(), String::new());
            }
        }
    }
    (name, args)
}

fn usize_arg(args: &BTreeMap<String, String>, key: &str) -> Option<usize> {
    args.get(key).map(|v| v.parse().expect("integer argument"))
}

fn u32_arg(args: &BTreeMap<String, String>, key: &str) -> Option<u32> {
    args.get(key)
        .filter(|v| v.as_str() != "None")
        .map(|v| v.parse().expect("seed"))
}

fn size_arg(args: &BTreeMap<String, String>, key: &str) -> Option<Size> {
    args.get(key).map(|v| {
        if v.contains('.') {
            Size::Fraction(v.parse().expect("float size"))
        } else {
            Size::Count(v.parse().expect("int size"))
        }
    })
}

fn build(name: &str, args: &BTreeMap<String, String>) -> Box<dyn CrossValidator> {
    let shuffle = args.get("shuffle").is_some_and(|v| v == "True");
    match name {
        "KFold" | "StratifiedKFold" => {
            let k = usize_arg(args, "n_splits").expect("n_splits");
            let seed = u32_arg(args, "random_state");
            if name == "KFold" {
                Box::new(KFold {
                    n_splits: k,
                    shuffle,
                    random_state: seed,
                })
            } else {
                Box::new(StratifiedKFold {
                    n_splits: k,
                    shuffle,
                    random_state: seed,
                })
            }
        }
        "ShuffleSplit" => Box::new(ShuffleSplit {
            n_splits: usize_arg(args, "n_splits").unwrap_or(10),
            test_size: size_arg(args, "test_size"),
            train_size: size_arg(args, "train_size"),
            random_state: u32_arg(args, "random_state"),
        }),
        "StratifiedShuffleSplit" => Box::new(StratifiedShuffleSplit {
            n_splits: usize_arg(args, "n_splits").unwrap_or(10),
            test_size: size_arg(args, "test_size"),
            train_size: size_arg(args, "train_size"),
            random_state: u32_arg(args, "random_state"),
        }),
        "RepeatedKFold" => Box::new(RepeatedKFold {
            n_splits: usize_arg(args, "n_splits").unwrap_or(5),
            n_repeats: usize_arg(args, "n_repeats").unwrap_or(10),
            random_state: u32_arg(args, "random_state"),
        }),
        "RepeatedStratifiedKFold" => Box::new(RepeatedStratifiedKFold {
            n_splits: usize_arg(args, "n_splits").unwrap_or(5),
            n_repeats: usize_arg(args, "n_repeats").unwrap_or(10),
            random_state: u32_arg(args, "random_state"),
        }),
        other => panic!("unknown splitter {other}"),
    }
}

/// Labels -> dense codes in sorted label order (what `SplitInput::classes` expects).
fn encode(labels: &[i64]) -> Vec<usize> {
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    labels
        .iter()
        .map(|l| distinct.binary_search(l).unwrap())
        .collect()
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("index list")
        .iter()
        .map(|x| x.as_u64().expect("index") as usize)
        .collect()
}

fn expected_folds(case: &Value) -> Vec<Fold> {
    case["folds"]
        .as_array()
        .expect("folds")
        .iter()
        .map(|f| Fold {
            train: indices(&f["train"]),
            test: indices(&f["test"]),
        })
        .collect()
}

#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn splits_match_sklearn_exactly() {
    let data = oracle();
    let labels: BTreeMap<String, Vec<usize>> = data["labels"]
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| {
            let raw: Vec<i64> = v
                .as_array()
                .expect("label list")
                .iter()
                .map(|x| x.as_i64().expect("int label"))
                .collect();
            (k.clone(), encode(&raw))
        })
        .collect();
    let cases = data["cases"].as_array().expect("cases");
    let mut compared = 0;
    let mut errors_matched = 0;
    let mut failures = Vec::new();
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let n = case["n"].as_u64().expect("n") as usize;
        let classes: Option<&[usize]> = case["y"].as_str().map(|key| {
            // "labels[150]"
            let k = key.trim_start_matches("labels[").trim_end_matches(']');
            labels.get(k).expect("label key").as_slice()
        });
        let (name, args) = parse_ctor(case["splitter"].as_str().expect("splitter"));
        let got: mlp_tune::Result<Vec<Fold>> = if name == "train_test_split" {
            let stratify = if args.contains_key("stratify") {
                Some(classes.expect("stratify labels"))
            } else {
                None
            };
            train_test_split_indices(
                n,
                size_arg(&args, "test_size").expect("test_size"),
                u32_arg(&args, "random_state"),
                stratify,
            )
            .map(|(train, test)| vec![Fold { train, test }])
        } else {
            let cv = build(&name, &args);
            assert_eq!(cv.needs_classes(), name.contains("Stratified"), "{id}");
            cv.split(SplitInput {
                n_samples: n,
                classes,
                groups: None,
            })
        };
        compared += 1;
        if let Some(err) = case.get("error").and_then(Value::as_str) {
            match got {
                Err(e) => {
                    errors_matched += 1;
                    // same condition as scikit-learn's message
                    if err.contains("cannot be greater than the number of members") {
                        assert!(e.to_string().contains("number of members"), "{id}: {e}");
                    }
                }
                Ok(_) => failures.push(format!("{id}: expected error `{err}`, got folds")),
            }
            continue;
        }
        match got {
            Ok(folds) => {
                let want = expected_folds(case);
                if folds != want {
                    failures.push(format!("{id}: folds differ"));
                }
            }
            Err(e) => failures.push(format!("{id}: unexpected error {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(compared, 120, "every oracle case must be compared");
    assert_eq!(compared, cases.len());
    assert_eq!(errors_matched, 9);
}

#[test]
#[ignore = "needs MLP_TUNE_PARITY"]
fn fresh_seed_gives_same_folds_every_call() {
    let data = oracle();
    let case = data["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == "KFold(n_splits=5, shuffle=True, random_state=0)/n=150")
        .expect("case present");
    let cv = KFold::new(5).shuffle(true).random_state(0);
    let input = SplitInput {
        n_samples: 150,
        ..Default::default()
    };
    let want = expected_folds(case);
    assert_eq!(cv.split(input).unwrap(), want);
    assert_eq!(cv.split(input).unwrap(), want);
}
