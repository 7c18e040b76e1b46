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

/// The header line of a journal for the search with `fingerprint`.
fn header_line(fingerprint: &str) -> Value {
    json!({"format": FORMAT, "version": VERSION, "fingerprint": fingerprint})
}

/// Reads a journal's text: the recorded tasks, and the length of its complete lines (what
/// follows the last newline is a torn line, being written when the process died). The
/// error says why the text is no journal of the search with `fingerprint`.
fn read_journal(
    text: &str,
    fingerprint: &str,
) -> std::result::Result<(HashMap<TrialKey, RoundEntry>, usize), String> {
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    let lines: Vec<&str> = text[..complete].lines().collect();
    let header: Value = lines
        .first()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or("not a search journal (no header line)")?;
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err("not a search journal (unknown header)".into());
    }
    if header.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err("written by an incompatible version".into());
    }
    if header.get("fingerprint").and_then(Value::as_str) != Some(fingerprint) {
        return Err(
            "written by a different search (space, data, estimator settings, \
                    scorers or splitter differ); use another journal file"
                .into(),
        );
    }
    let mut finished = HashMap::new();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let (key, entry) =
            parse_record(line).ok_or_else(|| format!("line {} is damaged", i + 1))?;
        finished.insert(key, entry);
    }
    Ok((finished, complete))
}

/// What [`merge_journals`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Journal files read.
    pub files: usize,
    /// Files named that do not exist (a shard that has not run yet): skipped.
    pub missing: Vec<PathBuf>,
    /// Distinct (trial, fold) records in the merged journal.
    pub records: usize,
    /// Records met more than once (the same fit in several files): kept once.
    pub duplicates: usize,
    /// Torn last lines (a process killed while writing): dropped.
    pub torn_lines: usize,
}

/// Unions journals of one search (the shards' files, and `into` itself if it exists) into
/// `into`, each finished (trial, fold) fit exactly once, the first record met kept. Files of
/// different searches are refused; a torn last line is dropped, any other damaged line is an
/// error. The merged file is written beside `into`, flushed and renamed over it, so a
/// reader sees the old journal or the new one, never a mix (this needs a file system with
/// atomic rename within a folder: local disks and NFS do; see the docs on sharding).
///
/// ```
/// # use mlp_tune::model_selection::merge_journals;
/// let dir = std::env::temp_dir().join(format!("doc-merge-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let report = merge_journals(dir.join("merged.jsonl"), [dir.join("no-shard-yet.jsonl")]).unwrap();
/// assert_eq!(report.missing.len(), 1);
/// assert_eq!(report.records, 0);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn merge_journals<P: AsRef<Path>>(
    into: impl AsRef<Path>,
    from: impl IntoIterator<Item = P>,
) -> Result<MergeReport> {
    let into = into.as_ref();
    let mut report = MergeReport::default();
    let mut fingerprint: Option<(String, PathBuf)> = None;
    let mut merged: HashMap<TrialKey, String> = HashMap::new();
    let mut order: Vec<TrialKey> = Vec::new();
    let sources: Vec<PathBuf> = std::iter::once(into.to_path_buf())
        .chain(from.into_iter().map(|p| p.as_ref().to_path_buf()))
        .collect();
    for (i, path) in sources.iter().enumerate() {
        if i > 0 && path == into {
            continue;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if i > 0 {
                    report.missing.push(path.clone());
                }
                continue;
            }
            Err(e) => return Err(journal_error(path, format_args!("cannot read: {e}"))),
        };
        if text.is_empty() {
            continue;
        }
        let header: Option<String> = text
            .lines()
            .next()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
            .and_then(|h| {
                h.get("fingerprint")
                    .and_then(Value::as_str)
                    .map(String::from)
            });
        let Some(header) = header else {
            return Err(journal_error(path, "not a search journal (no header line)"));
        };
        match &fingerprint {
            Some((f, first)) if *f != header => {
                return Err(journal_error(
                    path,
                    format_args!(
                        "written by a different search than {} (shards of different searches cannot be merged)",
                        first.display()
                    ),
                ))
            }
            Some(_) => {}
            None => fingerprint = Some((header.clone(), path.clone())),
        }
        let (_, complete) = read_journal(&text, &header).map_err(|e| journal_error(path, e))?;
        if complete < text.len() {
            report.torn_lines += 1;
        }
        report.files += 1;
        for line in text[..complete].lines().skip(1) {
            let (key, _) =
                parse_record(line).ok_or_else(|| journal_error(path, "a damaged line"))?;
            match merged.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => report.duplicates += 1,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    order.push(slot.key().clone());
                    slot.insert(line.to_string());
                }
            }
        }
    }
    report.records = order.len();
    let Some((fingerprint, _)) = fingerprint else {
        return Ok(report);
    };
    let mut text = header_line(&fingerprint).to_string();
    text.push('\n');
    for key in &order {
        text.push_str(&merged[key]);
        text.push('\n');
    }
    let tmp = into.with_extension("merging");
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, into)?;
        // The rename itself on disk: sync the folder.
        let dir = match into.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
        Ok(())
    };
    write()
        .map_err(|e| journal_error(into, format_args!("cannot write the merged journal: {e}")))?;
    Ok(report)
}

/// The journal line of a finished (trial, fold) fit.
fn record_line(key: &TrialKey, params: &Candidate, entry: &RoundEntry) -> Value {
    let mut line = json!({
        "bracket": key.bracket,
        "iter": key.iter,
        "candidate": key.config,
        "split": key.split,
        "n_resources": entry.n_resources,
        "cost": entry.cost,
    });
    add_outcome(&mut line, params, &entry.outcome);
    line
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

        let finished = if text.is_empty() {
            write_line(&mut file, &header_line(fingerprint).to_string())
                .map_err(|e| journal_error(path, format_args!("cannot write: {e}")))?;
            HashMap::new()
        } else {
            let (finished, complete) =
                read_journal(&text, fingerprint).map_err(|e| journal_error(path, e))?;
            if complete < text.len() {
                file.set_len(complete as u64)
                    .and_then(|_| file.seek(SeekFrom::End(0)).map(|_| ()))
                    .map_err(|e| journal_error(path, format_args!("cannot drop torn line: {e}")))?;
            }
            finished
        };
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            finished,
        })
    }

    /// Also takes the records of another journal of the same search (another shard's
    /// file), read-only; a missing file holds nothing yet, a torn last line is ignored.
    /// Records this journal holds already are kept.
    pub(crate) fn absorb(&mut self, path: &Path, fingerprint: &str) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(journal_error(path, format_args!("cannot read: {e}"))),
        };
        if text.is_empty() {
            return Ok(());
        }
        let (records, _) = read_journal(&text, fingerprint).map_err(|e| journal_error(path, e))?;
        for (key, entry) in records {
            self.finished.entry(key).or_insert(entry);
        }
        Ok(())
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
        self.append(&record_line(key, params, entry))
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

    mod fuzz {
        //! Property tests of the journal's text format: any recorded task reads back bit
        //! for bit, and any text, damaged or foreign, reads as recorded tasks or a typed
        //! refusal, never a panic.

        use super::super::*;
        use crate::model_selection::ParamValue;
        use proptest::prelude::*;

        fn any_f64() -> impl Strategy<Value = f64> {
            prop_oneof![
                any::<u64>().prop_map(f64::from_bits),
                Just(f64::NAN),
                Just(-f64::NAN),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                Just(-0.0),
                -1.0..1.0f64,
            ]
        }

        fn any_outcome() -> impl Strategy<Value = FoldOutcome> {
            (
                proptest::collection::vec(any_f64(), 0..4),
                proptest::option::of(proptest::collection::vec(any_f64(), 0..4)),
                any_f64(),
                any_f64(),
                proptest::option::of("\\PC{0,20}|[\"\\\\\n\u{0}\u{7f}]{0,4}"),
            )
                .prop_map(
                    |(test_scores, train_scores, fit_time, score_time, error)| FoldOutcome {
                        test_scores,
                        train_scores,
                        fit_time,
                        score_time,
                        error,
                    },
                )
        }

        fn any_candidate() -> impl Strategy<Value = Candidate> {
            let value = prop_oneof![
                any::<bool>().prop_map(ParamValue::Bool),
                any::<i64>().prop_map(ParamValue::Int),
                any_f64().prop_map(ParamValue::Float),
                "\\PC{0,8}".prop_map(ParamValue::Str),
                proptest::collection::vec(any::<i64>(), 0..3).prop_map(ParamValue::Ints),
                Just(ParamValue::None),
            ];
            proptest::collection::btree_map("\\PC{0,6}", value, 0..4)
        }

        fn same_bits(a: &[f64], b: &[f64]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }

        fn same_outcome(a: &FoldOutcome, b: &FoldOutcome) -> bool {
            same_bits(&a.test_scores, &b.test_scores)
                && match (&a.train_scores, &b.train_scores) {
                    (Some(x), Some(y)) => same_bits(x, y),
                    (None, None) => true,
                    _ => false,
                }
                && a.fit_time.to_bits() == b.fit_time.to_bits()
                && a.score_time.to_bits() == b.score_time.to_bits()
                && a.error == b.error
        }

        /// One byte-level change to a journal's text.
        fn tamper(text: &str, at: usize, byte: u8, how: u8) -> String {
            let mut bytes = text.as_bytes().to_vec();
            let pos = at % (bytes.len() + 1);
            match how % 3 {
                0 => bytes.insert(pos, byte),
                1 if pos < bytes.len() => {
                    bytes.remove(pos);
                }
                _ if pos < bytes.len() => bytes[pos] = byte,
                _ => bytes.push(byte),
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

            /// A line reads back as the key it was written under (the trial's content,
            /// parameters included) and, bit for bit, the same outcome and resources; a
            /// journal of such lines reads back whole, and lines in the format before the
            /// search core (a `round`, no resources) still read.
            #[test]
            fn lines_round_trip(
                pos in (any::<usize>(), any::<usize>(), any::<usize>(), any::<usize>()),
                candidate in any_candidate(),
                outcome in any_outcome(),
                n_resources: usize,
                cost: usize,
                fingerprint in "\\PC{0,16}",
            ) {
                let key = TrialKey::new(pos.0, pos.1, pos.2, pos.3, &candidate);
                let entry = RoundEntry { outcome: outcome.clone(), n_resources, cost };
                let line = record_line(&key, &candidate, &entry).to_string();
                prop_assert!(!line.contains('\n'));
                let (k, back) = parse_record(&line).expect("a line parses");
                prop_assert_eq!(&k, &key);
                prop_assert_eq!((back.n_resources, back.cost), (n_resources, cost));
                prop_assert!(same_outcome(&back.outcome, &outcome));

                let mut legacy = json!({"round": pos.1, "candidate": pos.2, "split": pos.3});
                add_outcome(&mut legacy, &candidate, &outcome);
                let (k, back) = parse_record(&legacy.to_string()).expect("a legacy line parses");
                prop_assert_eq!(&k, &TrialKey::new(0, pos.1, pos.2, pos.3, &candidate));
                prop_assert_eq!((back.n_resources, back.cost), (0, 0));
                prop_assert!(same_outcome(&back.outcome, &outcome));

                let text = format!("{}\n{line}\n{legacy}\n", header_line(&fingerprint));
                let (finished, complete) = read_journal(&text, &fingerprint).expect("reads");
                prop_assert_eq!(complete, text.len());
                prop_assert!(finished.contains_key(&key));
                prop_assert!(finished.contains_key(&k));
                // Any other search's fingerprint is refused.
                let other = format!("{fingerprint}x");
                prop_assert!(read_journal(&text, &other).is_err());
            }

            /// A torn last line is left out (everything before it still reads), and one
            /// changed, added or removed byte anywhere gives the records or a refusal.
            #[test]
            fn torn_and_tampered_journals_never_panic(
                outcomes in proptest::collection::vec((0usize..5, 0usize..5, any_outcome()), 1..4),
                cut: usize,
                at: usize,
                byte: u8,
                how: u8,
            ) {
                let candidate: Candidate = [("alpha".to_string(), ParamValue::Float(0.1))].into();
                let key = |c: usize, s: usize| TrialKey::new(0, 0, c, s, &candidate);
                let line = |c: usize, s: usize, o: &FoldOutcome| {
                    let entry = RoundEntry { outcome: o.clone(), n_resources: 0, cost: 0 };
                    record_line(&key(c, s), &candidate, &entry).to_string()
                };
                let mut text = format!("{}\n", header_line("fp"));
                for (c, s, o) in &outcomes {
                    text.push_str(&line(*c, *s, o));
                    text.push('\n');
                }
                let header_len = text.find('\n').unwrap_or(0) + 1;
                // Torn: a prefix of a further line.
                let extra = line(9, 9, &outcomes[0].2);
                let mut torn_at = (cut % extra.len()).max(1);
                while !extra.is_char_boundary(torn_at) {
                    torn_at -= 1;
                }
                let torn = format!("{text}{}", &extra[..torn_at]);
                let (finished, complete) = read_journal(&torn, "fp").expect("torn tail dropped");
                prop_assert_eq!(complete, text.len());
                prop_assert!(!finished.contains_key(&key(9, 9)));
                for (c, s, _) in &outcomes {
                    prop_assert!(finished.contains_key(&key(*c, *s)));
                }

                let tampered = tamper(&text, at, byte, how);
                match read_journal(&tampered, "fp") {
                    Ok((finished, complete)) => {
                        prop_assert!(complete <= tampered.len());
                        prop_assert!(tampered.is_char_boundary(complete));
                        prop_assert!(finished.len() <= outcomes.len() + 1);
                    }
                    Err(reason) => prop_assert!(!reason.is_empty()),
                }
                // Damage inside the header line leaves no valid journal of "fp" unless
                // the byte was rewritten to itself, or only JSON whitespace changed.
                if at % (text.len() + 1) < header_len - 1 && how % 3 == 0 && !b" \t\r".contains(&byte) {
                    prop_assert!(read_journal(&tampered, "fp").is_err());
                }
            }

            /// Arbitrary text after a valid header, and arbitrary text alone.
            #[test]
            fn arbitrary_text_never_panics(body in "\\PC{0,200}|[{}\":,0-9a-z_\n\\[\\]]{0,200}", with_header: bool) {
                let text = if with_header { format!("{}\n{body}", header_line("fp")) } else { body };
                if let Ok((finished, complete)) = read_journal(&text, "fp") {
                    prop_assert!(complete <= text.len());
                    let _ = finished;
                }
            }
        }
    }
}
