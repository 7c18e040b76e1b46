//! Search journals: every finished (candidate, fold) result is appended to a file as one JSON
//! line and flushed to disk (`fsync`) before the task counts as done, so a search that is
//! stopped — by Ctrl-C, a crash or `kill -9` — loses no finished work. Running the same
//! search with the same journal skips what is recorded and gives `cv_results`, best
//! candidate and refit identical to an uninterrupted run.
//!
//! The first line is a header with a fingerprint of everything that determines the results
//! (search kind, candidates, folds, scorers, data, estimator settings); a journal written by
//! a different search is refused, never mixed in. A torn last line (the process killed in
//! the middle of a write) is detected and dropped; any other damaged line is an error.
//!
//! A line records one (trial, fold) fit of any search: the trial's `bracket` and `iter`
//! (round), its `candidate` (the strategy's configuration number), the `split`, the
//! `params` the estimator was built from, the round's `n_resources` and the fit's `cost`
//! (resource actually spent), which resumed records need to be identical to fresh ones. A
//! rerun finds a record by all of these (the trial's content), not by a position in a list
//! fixed up front, so strategies that propose trials from the results so far resume too.
//!
//! Scores are stored as the bit patterns of their `f64` values (NaN and infinities
//! included), so resumed results are bitwise the recorded ones; a readable copy sits beside
//! them for humans.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::param_space::{candidate_to_json, Candidate};
use super::validation::FoldOutcome;
use crate::error::{MlpTuneError, Result};

const FORMAT: &str = "mlp-tune search journal";
const VERSION: u64 = 1;

/// Identifies one (trial, fold) fit by its content: the trial's tag (bracket and round;
/// both 0 for grid, random and model-based searches, which number their batches as rounds),
/// the strategy's configuration number, the fold and the parameters the estimator was
/// built from (as canonical JSON, resource included). A record is found only by a trial
/// equal in all of them, so a strategy that proposes its trials as it goes (TPE) finds its
/// own records when it proposes the same trials again, and never another trial's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TrialKey {
    bracket: usize,
    iter: usize,
    config: usize,
    split: usize,
    params: String,
}

impl TrialKey {
    pub(crate) fn new(
        bracket: usize,
        iter: usize,
        config: usize,
        split: usize,
        params: &Candidate,
    ) -> Self {
        TrialKey {
            bracket,
            iter,
            config,
            split,
            params: candidate_to_json(params).to_string(),
        }
    }
}

/// A recorded (trial, fold) fit.
#[derive(Debug, Clone)]
pub(crate) struct RoundEntry {
    pub(crate) outcome: FoldOutcome,
    /// The round's resource.
    pub(crate) n_resources: usize,
    /// Resource the fit actually spent (see `HalvingRecord::cost`).
    pub(crate) cost: usize,
}

/// Builds the fingerprint of a search from its parts, in a fixed order.
#[derive(Default)]
pub(crate) struct Fingerprint {
    hasher: Sha256,
}

impl Fingerprint {
    pub(crate) fn part(&mut self, label: &str, bytes: &[u8]) -> &mut Self {
        self.hasher.update((label.len() as u64).to_le_bytes());
        self.hasher.update(label.as_bytes());
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
        self
    }

    pub(crate) fn finish(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// An open journal: what earlier runs finished, and the file new results are appended to.
pub(crate) struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    finished: HashMap<TrialKey, RoundEntry>,
}

fn journal_error(path: &Path, what: impl std::fmt::Display) -> MlpTuneError {
    MlpTuneError::Journal(format!("{}: {what}", path.display()))
}

fn bits(values: &[f64]) -> Value {
    Value::from(values.iter().map(|v| v.to_bits()).collect::<Vec<u64>>())
}

fn readable(values: &[f64]) -> Value {
    // JSON has no NaN or infinity; the bits are authoritative, this copy is for people.
    Value::from(
        values
            .iter()
            .map(|v| {
                if v.is_finite() {
                    json!(v)
                } else {
                    json!(v.to_string())
                }
            })
            .collect::<Vec<Value>>(),
    )
}

fn floats_from_bits(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?
        .iter()
        .map(|b| b.as_u64().map(f64::from_bits))
        .collect()
}

fn parse_record(line: &str) -> Option<(TrialKey, RoundEntry)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let index = |name: &str| v.get(name)?.as_u64().map(|n| n as usize);
    // Lines of grid and random searches written before the search core have a `round`
    // and no resources.
    let (bracket, round, n_resources, cost) = match v.get("bracket") {
        Some(_) => (
            index("bracket")?,
            index("iter")?,
            index("n_resources")?,
            index("cost")?,
        ),
        None => (0, index("round")?, 0, 0),
    };
    let key = TrialKey {
        bracket,
        iter: round,
        config: index("candidate")?,
        split: index("split")?,
        params: v.get("params")?.to_string(),
    };
    let train_scores = match v.get("train_bits")? {
        Value::Null => None,
        other => Some(floats_from_bits(other)?),
    };
    let outcome = FoldOutcome {
        test_scores: floats_from_bits(v.get("test_bits")?)?,
        train_scores,
        fit_time: f64::from_bits(v.get("fit_time_bits")?.as_u64()?),
        score_time: f64::from_bits(v.get("score_time_bits")?.as_u64()?),
        error: match v.get("error")? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return None,
        },
    };
    Some((
        key,
        RoundEntry {
            outcome,
            n_resources,
            cost,
        },
    ))
}

impl Journal {
    /// Opens (or creates) the journal at `path` for the search with `fingerprint`.
    pub(crate) fn open(path: &Path, fingerprint: &str) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| journal_error(path, format_args!("cannot open: {e}")))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| journal_error(path, format_args!("cannot read: {e}")))?;

        let mut finished = HashMap::new();
        if text.is_empty() {
            let header = json!({"format": FORMAT, "version": VERSION, "fingerprint": fingerprint});
            write_line(&mut file, &header.to_string())
                .map_err(|e| journal_error(path, format_args!("cannot write: {e}")))?;
        } else {
            // Only complete lines count: whatever follows the last newline was being
            // written when the process died.
            let complete = text.rfind('\n').map_or(0, |i| i + 1);
            let lines: Vec<&str> = text[..complete].lines().collect();
            let header: Value = lines
                .first()
                .and_then(|l| serde_json::from_str(l).ok())
                .ok_or_else(|| journal_error(path, "not a search journal (no header line)"))?;
            if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
                return Err(journal_error(path, "not a search journal (unknown header)"));
            }
            if header.get("version").and_then(Value::as_u64) != Some(VERSION) {
                return Err(journal_error(path, "written by an incompatible version"));
            }
            if header.get("fingerprint").and_then(Value::as_str) != Some(fingerprint) {
                return Err(journal_error(
                    path,
                    "written by a different search (space, data, estimator settings, \
                     scorers or splitter differ); use another journal file",
                ));
            }
            for (i, line) in lines.iter().enumerate().skip(1) {
                match parse_record(line) {
                    Some((key, outcome)) => {
                        finished.insert(key, outcome);
                    }
                    None => {
                        return Err(journal_error(
                            path,
                            format_args!("line {} is damaged", i + 1),
                        ))
                    }
                }
            }
            if complete < text.len() {
                file.set_len(complete as u64)
                    .and_then(|_| file.seek(SeekFrom::End(0)).map(|_| ()))
                    .map_err(|e| journal_error(path, format_args!("cannot drop torn line: {e}")))?;
            }
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            finished,
        })
    }

    /// The entry an earlier run recorded for this (trial, fold) fit.
    pub(crate) fn finished(&self, key: &TrialKey) -> Option<&RoundEntry> {
        self.finished.get(key)
    }

    /// Appends a finished (trial, fold) fit and waits until it is on disk.
    pub(crate) fn record(
        &self,
        key: &TrialKey,
        params: &Candidate,
        entry: &RoundEntry,
    ) -> Result<()> {
        let mut line = json!({
            "bracket": key.bracket,
            "iter": key.iter,
            "candidate": key.config,
            "split": key.split,
            "n_resources": entry.n_resources,
            "cost": entry.cost,
        });
        add_outcome(&mut line, params, &entry.outcome);
        self.append(&line)
    }

    fn append(&self, line: &Value) -> Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| journal_error(&self.path, "a writer panicked"))?;
        write_line(&mut file, &line.to_string())
            .map_err(|e| journal_error(&self.path, format_args!("cannot append: {e}")))
    }
}

fn add_outcome(line: &mut Value, candidate: &Candidate, outcome: &FoldOutcome) {
    if let Value::Object(map) = line {
        for (k, v) in [
            ("params", candidate_to_json(candidate)),
            ("test", readable(&outcome.test_scores)),
            ("test_bits", bits(&outcome.test_scores)),
            (
                "train_bits",
                outcome.train_scores.as_deref().map_or(Value::Null, bits),
            ),
            ("fit_time", json!(outcome.fit_time)),
            ("fit_time_bits", json!(outcome.fit_time.to_bits())),
            ("score_time_bits", json!(outcome.score_time.to_bits())),
            ("error", json!(outcome.error)),
        ] {
            map.insert(k.to_string(), v);
        }
    }
}

/// One line in one write, then `fsync`: a crash leaves either the whole line or a torn
/// tail that the next open drops.
fn write_line(file: &mut File, line: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    file.write_all(&buf)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_selection::ParamValue;

    fn temp_path(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mlp-tune-journal-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        path
    }

    fn entry(score: f64) -> RoundEntry {
        RoundEntry {
            outcome: FoldOutcome {
                test_scores: vec![score, f64::NAN],
                train_scores: Some(vec![f64::NEG_INFINITY]),
                fit_time: 0.25,
                score_time: 0.01,
                error: None,
            },
            n_resources: 0,
            cost: 0,
        }
    }

    fn key(config: usize, split: usize) -> TrialKey {
        let candidate: Candidate = [("alpha".to_string(), ParamValue::Float(0.1))].into();
        TrialKey::new(0, 0, config, split, &candidate)
    }

    #[test]
    fn records_survive_reopening_bit_for_bit_and_torn_tails_are_dropped() {
        let path = temp_path("roundtrip");
        let candidate: Candidate = [("alpha".to_string(), ParamValue::Float(0.1))].into();
        {
            let j = Journal::open(&path, "abc").unwrap();
            j.record(&key(1, 2), &candidate, &entry(-0.1 - 0.2))
                .unwrap();
        }
        // A half-written record, as a kill in the middle of a write leaves it.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"round\":0,\"candidate\":3,\"spl").unwrap();
        drop(f);

        let j = Journal::open(&path, "abc").unwrap();
        let got = &j.finished(&key(1, 2)).unwrap().outcome;
        assert_eq!(got.test_scores[0].to_bits(), (-0.1f64 - 0.2).to_bits());
        assert!(got.test_scores[1].is_nan());
        assert_eq!(got.train_scores.as_ref().unwrap()[0], f64::NEG_INFINITY);
        assert!(j.finished(&key(3, 0)).is_none());
        // The same position with other parameters is another trial.
        let other: Candidate = [("alpha".to_string(), ParamValue::Float(0.2))].into();
        assert!(j.finished(&TrialKey::new(0, 0, 1, 2, &other)).is_none());
        j.record(&key(3, 0), &candidate, &entry(1.0)).unwrap();
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().count(),
            3,
            "torn tail dropped, new record appended"
        );

        assert!(matches!(
            Journal::open(&path, "other search"),
            Err(MlpTuneError::Journal(_))
        ));
    }

    #[test]
    fn damaged_lines_and_foreign_files_are_errors() {
        let path = temp_path("damaged");
        std::fs::write(&path, "hello\n").unwrap();
        assert!(matches!(
            Journal::open(&path, "x"),
            Err(MlpTuneError::Journal(_))
        ));
        let header = json!({"format": FORMAT, "version": VERSION, "fingerprint": "x"});
        std::fs::write(&path, format!("{header}\nnot json\n{{}}\n")).unwrap();
        let err = Journal::open(&path, "x").err().unwrap();
        assert!(err.to_string().contains("line 2"), "{err}");
        let missing = std::env::temp_dir()
            .join("mlp-tune-no-such-dir-for-journal")
            .join("j.jsonl");
        assert!(matches!(
            Journal::open(&missing, "x"),
            Err(MlpTuneError::Journal(_))
        ));
    }
}
