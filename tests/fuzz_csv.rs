//! Property tests of the CSV loader (`read_csv`, `load_csv`): random bytes, random text,
//! valid tables that must read back exactly, and near-valid tables with one defect.
//!
//! Whatever the input, the loader answers with a dataset or a typed error
//! (`Parse` with a line inside the file, `InvalidInput`, or an I/O error), never a panic.

use mlp_tune::datasets::{load_csv, read_csv, CsvOptions, TargetColumn};
use mlp_tune::MlpTuneError;
use proptest::prelude::*;

fn any_options() -> impl Strategy<Value = CsvOptions> {
    (
        any::<bool>(),
        prop_oneof![
            Just(b','),
            Just(b';'),
            Just(b'\t'),
            Just(b' '),
            Just(b'"'),
            Just(b'\n'),
            Just(b'0'),
            Just(b'.'),
            any::<u8>()
        ],
        prop_oneof![
            Just(TargetColumn::Last),
            (0usize..6).prop_map(TargetColumn::Index),
            Just(TargetColumn::Index(usize::MAX)),
            "[a-c]{0,2}".prop_map(TargetColumn::Name),
        ],
    )
        .prop_map(|(has_header, delimiter, target)| CsvOptions {
            has_header,
            delimiter,
            target,
        })
}

/// A typed error of the loader, with its line inside the input when it names one.
fn check_error(e: &MlpTuneError, bytes: &[u8]) -> std::result::Result<(), TestCaseError> {
    match e {
        MlpTuneError::Parse { line, column, .. } => {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            prop_assert!(*line >= 1 && *line <= lines, "line {line} of {lines}");
            prop_assert!(*column >= 1);
        }
        MlpTuneError::InvalidInput(_) | MlpTuneError::Io(_) | MlpTuneError::IoError { .. } => {}
        other => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

/// A dataset the loader accepted is consistent with itself.
fn check_dataset(
    data: &linfa::Dataset<f64, f64, ndarray::Ix1>,
) -> std::result::Result<(), TestCaseError> {
    let n = data.records().nrows();
    prop_assert!(n >= 1);
    prop_assert_eq!(data.targets().len(), n);
    prop_assert_eq!(data.feature_names().len(), data.records().ncols());
    prop_assert!(data.records().iter().all(|v| v.is_finite()));
    prop_assert!(data.targets().iter().all(|v| v.is_finite()));
    Ok(())
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6..1e6f64,
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        (-1000i32..1000).prop_map(f64::from),
    ]
}

/// A valid table: header names, rows of finite numbers.
fn table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<f64>>)> {
    (2usize..5, 1usize..6).prop_flat_map(|(cols, rows)| {
        (
            proptest::collection::vec("[a-z][a-z0-9_]{0,5}", cols..=cols),
            proptest::collection::vec(
                proptest::collection::vec(finite(), cols..=cols),
                rows..=rows,
            ),
        )
    })
}

fn render(header: &[String], rows: &[Vec<f64>], sep: &str, newline: &str) -> String {
    let mut text = header.join(sep);
    text.push_str(newline);
    for row in rows {
        // `{:?}` prints the shortest string that parses back to the same f64.
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        text.push_str(&cells.join(sep));
        text.push_str(newline);
    }
    text
}

/// One defect a person or a broken export might put in a file.
#[derive(Debug, Clone)]
enum Defect {
    InsertByte(usize, u8),
    DeleteByte(usize),
    DropField(usize),
    Cell(usize, &'static str),
    BlankLines(usize),
    Truncate(usize),
}

fn defect() -> impl Strategy<Value = Defect> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Defect::InsertByte(i, b)),
        any::<usize>().prop_map(Defect::DeleteByte),
        any::<usize>().prop_map(Defect::DropField),
        (
            any::<usize>(),
            proptest::sample::select(vec![
                "",
                "NaN",
                "nan",
                "inf",
                "-inf",
                "1e999",
                "x",
                "\"1\"",
                "\"1,2\"",
                "\"",
                "1 2",
                "0x10",
                "1_000",
                "\u{feff}1",
                "\u{00e9}",
                "--1",
                "+1",
                ".5",
                "5.",
                "1e-400",
            ])
        )
            .prop_map(|(i, c)| Defect::Cell(i, c)),
        any::<usize>().prop_map(Defect::BlankLines),
        any::<usize>().prop_map(Defect::Truncate),
    ]
}

fn apply(text: &str, defect: &Defect) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *defect {
        Defect::InsertByte(i, b) => {
            let pos = at(i, bytes.len() + 1);
            bytes.insert(pos, b);
        }
        Defect::DeleteByte(i) => {
            let pos = at(i, bytes.len());
            bytes.remove(pos);
        }
        Defect::DropField(i) | Defect::Cell(i, _) => {
            // Work on the fields of the whole text.
            let mut cells: Vec<String> = text.split(',').map(str::to_string).collect();
            let k = at(i, cells.len());
            match defect {
                Defect::Cell(_, c) => {
                    // Keep the newline that may end the cell.
                    let tail = if cells[k].ends_with('\n') { "\n" } else { "" };
                    cells[k] = format!("{c}{tail}");
                }
                _ => {
                    cells.remove(k);
                }
            }
            bytes = cells.join(",").into_bytes();
        }
        Defect::BlankLines(i) => {
            let lines: Vec<usize> = bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(p, _)| p)
                .collect();
            let pos = lines.get(at(i, lines.len())).map_or(0, |p| p + 1);
            bytes.splice(pos..pos, b"\n\r\n  \n".iter().copied());
        }
        Defect::Truncate(i) => {
            let len = at(i, bytes.len());
            bytes.truncate(len);
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes under arbitrary options.
    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        options in any_options(),
    ) {
        match read_csv(&bytes[..], &options) {
            Ok(data) => check_dataset(&data)?,
            Err(e) => check_error(&e, &bytes)?,
        }
    }

    /// Arbitrary text built from the characters CSV files are made of.
    #[test]
    fn csv_like_text_never_panics(
        text in "[0-9a-z.,;\"\n\r\t eE+-]{0,120}",
        options in any_options(),
    ) {
        match read_csv(text.as_bytes(), &options) {
            Ok(data) => check_dataset(&data)?,
            Err(e) => check_error(&e, text.as_bytes())?,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12_000, failure_persistence: None, ..ProptestConfig::default() })]

    /// A valid table reads back exactly: names, shape, every value bit for bit, with any
    /// delimiter, `\n` or `\r\n` line ends, and the target wherever it is.
    #[test]
    fn valid_tables_read_back_exactly(
        (header, rows) in table(),
        sep in prop_oneof![Just((",", b',')), Just((";", b';')), Just(("\t", b'\t'))],
        crlf: bool,
        target_pick: usize,
    ) {
        let ncols = header.len();
        let target = target_pick % ncols;
        let text = render(&header, &rows, sep.0, if crlf { "\r\n" } else { "\n" });
        let options = CsvOptions::default()
            .delimiter(sep.1)
            .target(TargetColumn::Index(target));
        let data = read_csv(text.as_bytes(), &options)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        check_dataset(&data)?;
        prop_assert_eq!(data.records().dim(), (rows.len(), ncols - 1));
        let features: Vec<&String> =
            header.iter().enumerate().filter(|&(j, _)| j != target).map(|(_, h)| h).collect();
        prop_assert_eq!(data.feature_names().iter().collect::<Vec<_>>(), features);
        for (i, row) in rows.iter().enumerate() {
            prop_assert_eq!(data.targets()[i].to_bits(), row[target].to_bits());
            let rest: Vec<u64> = row
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != target)
                .map(|(_, v)| v.to_bits())
                .collect();
            let got: Vec<u64> = data.records().row(i).iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(got, rest);
        }
        // The same table without its header line, the target named by position.
        let body = text.split_once('\n').map_or("", |(_, b)| b);
        let no_header = CsvOptions::default()
            .has_header(false)
            .delimiter(sep.1)
            .target(TargetColumn::Index(target));
        let data2 = read_csv(body.as_bytes(), &no_header)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(data2.records(), data.records());
        prop_assert_eq!(data2.targets(), data.targets());
    }

    /// A valid table with one defect: a dataset or a typed error, and a `Parse` error names
    /// a line of the file.
    #[test]
    fn near_valid_tables_give_typed_errors(
        (header, rows) in table(),
        defect in defect(),
        target_pick: usize,
    ) {
        let text = render(&header, &rows, ",", "\n");
        let bytes = apply(&text, &defect);
        let options = CsvOptions::default().target(TargetColumn::Index(target_pick % header.len()));
        match read_csv(&bytes[..], &options) {
            Ok(data) => check_dataset(&data)?,
            Err(e) => check_error(&e, &bytes)?,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// `load_csv` on a file gives what `read_csv` gives on its bytes; a missing file is an
    /// I/O error.
    #[test]
    fn load_csv_reads_files_like_read_csv(bytes in proptest::collection::vec(any::<u8>(), 0..100), valid: bool) {
        let dir = std::env::temp_dir().join(format!("mlp-tune-fuzz-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.join("data.csv");
        let bytes = if valid { b"a,b,y\n1,2,3\n".to_vec() } else { bytes };
        std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from_file = load_csv(&path, &CsvOptions::default());
        let from_bytes = read_csv(&bytes[..], &CsvOptions::default());
        match (&from_file, &from_bytes) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.records(), b.records());
                prop_assert_eq!(a.targets(), b.targets());
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            _ => prop_assert!(false, "{from_file:?} vs {from_bytes:?}"),
        }
        let missing = load_csv(dir.join("no such file.csv"), &CsvOptions::default());
        let kind = missing.as_ref().err().and_then(MlpTuneError::io_kind);
        prop_assert_eq!(kind, Some(std::io::ErrorKind::NotFound), "{:?}", missing);
    }
}
