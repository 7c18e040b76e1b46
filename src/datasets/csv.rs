//! The CSV loader ([`load_csv`], [`read_csv`]) and the small numeric-table parser the
//! embedded sets use.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use linfa::Dataset;
use ndarray::{Array1, Array2, Ix1};

use crate::error::{MlpTuneError, Result};

pub(super) fn gunzip(bytes: &[u8]) -> Result<String> {
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

/// A dense numeric table read from simple delimited text (no quoting).
pub(super) struct Table {
    pub(super) nrows: usize,
    pub(super) ncols: usize,
    pub(super) values: Vec<f64>,
}

/// Parses `text` after skipping `skip` lines; `sep = None` splits on whitespace.
pub(super) fn parse_numeric(text: &str, skip: usize, sep: Option<char>) -> Result<Table> {
    let mut values = Vec::new();
    let mut ncols = None;
    let mut nrows = 0;
    for (i, line) in text.lines().enumerate().skip(skip) {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = match sep {
            Some(c) => line.split(c).collect(),
            None => line.split_whitespace().collect(),
        };
        let expected = *ncols.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(MlpTuneError::Parse {
                line: line_no,
                column: fields.len().min(expected) + 1,
                reason: format!("expected {expected} fields, found {}", fields.len()),
            });
        }
        for (j, field) in fields.iter().enumerate() {
            values.push(parse_cell(field.trim(), line_no, j + 1)?);
        }
        nrows += 1;
    }
    Ok(Table {
        nrows,
        ncols: ncols.unwrap_or(0),
        values,
    })
}

fn parse_cell(cell: &str, line: usize, column: usize) -> Result<f64> {
    let err = |reason: String| MlpTuneError::Parse {
        line,
        column,
        reason,
    };
    if cell.is_empty() {
        return Err(err("empty cell".to_string()));
    }
    let value: f64 = cell
        .parse()
        .map_err(|_| err(format!("`{cell}` is not a number")))?;
    // Rust parses "nan" and "inf"; a data set must not smuggle them in silently.
    if !value.is_finite() {
        return Err(err(format!("non-finite value `{cell}`")));
    }
    Ok(value)
}

/// Which column of a CSV file is the target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TargetColumn {
    /// The last column (the default).
    #[default]
    Last,
    /// The column at this 0-based index.
    Index(usize),
    /// The column with this header name (needs a header line).
    Name(String),
}

/// How [`load_csv`] and [`read_csv`] read a file.
///
/// The default: a header line, `,` as delimiter, the last column as target.
///
/// ```
/// use mlp_tune::datasets::{CsvOptions, TargetColumn};
///
/// let options = CsvOptions::default()
///     .delimiter(b';')
///     .target(TargetColumn::Name("price".into()));
/// assert!(options.has_header);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first line holds column names (default `true`).
    pub has_header: bool,
    /// The field delimiter (default `b','`).
    pub delimiter: u8,
    /// The target column (default [`TargetColumn::Last`]).
    pub target: TargetColumn,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            delimiter: b',',
            target: TargetColumn::Last,
        }
    }
}

impl CsvOptions {
    /// Sets whether the first line holds column names.
    pub fn has_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// Sets the field delimiter.
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the target column.
    pub fn target(mut self, target: TargetColumn) -> Self {
        self.target = target;
        self
    }
}

/// Loads a numeric CSV file as a regression [`Dataset`]: every column but the target
/// is a feature.
///
/// Feature names come from the header (or are `x0`, `x1`, ... without one); the
/// target column's name becomes the dataset's target name. Every cell must be a
/// finite number: an empty cell, text, `NaN` or `inf`, or a row with the wrong number
/// of fields gives [`MlpTuneError::Parse`] with the 1-based line and column.
///
/// ```no_run
/// use mlp_tune::datasets::{load_csv, CsvOptions, TargetColumn};
///
/// let data = load_csv(
///     "houses.csv",
///     &CsvOptions::default().target(TargetColumn::Name("price".into())),
/// )?;
/// println!("{} rows, features {:?}", data.records().nrows(), data.feature_names());
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn load_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset<f64, f64, Ix1>> {
    let path = path.as_ref();
    let file = File::open(path)
        .map_err(|e| MlpTuneError::io(format!("cannot open {}", path.display()), e))?;
    read_csv(BufReader::new(file), options)
}

/// Like [`load_csv`], from any reader.
///
/// ```
/// use mlp_tune::datasets::{read_csv, CsvOptions};
///
/// let text = "a,b,y\n1,2,3\n4,5,6\n";
/// let data = read_csv(text.as_bytes(), &CsvOptions::default())?;
/// assert_eq!(data.feature_names(), ["a", "b"]);
/// assert_eq!(data.targets()[1], 6.0);
///
/// let bad = read_csv("a,y\n1,2\nNaN,3\n".as_bytes(), &CsvOptions::default());
/// assert!(bad.unwrap_err().to_string().contains("line 3, column 1"));
/// # Ok::<(), mlp_tune::MlpTuneError>(())
/// ```
pub fn read_csv<R: Read>(mut reader: R, options: &CsvOptions) -> Result<Dataset<f64, f64, Ix1>> {
    // Buffered whole so line numbers can be counted from byte offsets: the csv crate's
    // own line count skips blank lines.
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let mut lines = LineCounter::new(&bytes);
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        // Field counts are checked here so the error names the line and column.
        .flexible(true)
        .delimiter(options.delimiter)
        .trim(csv::Trim::All)
        .from_reader(&bytes[..]);

    let mut names: Option<Vec<String>> = None;
    let mut ncols = 0;
    let mut target_col = 0;
    let mut records = Vec::new();
    let mut targets = Vec::new();
    let mut nrows = 0;
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        match csv_reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(e, &mut lines)),
        }
        let line = lines.line_of(record.position());
        if first {
            first = false;
            ncols = record.len();
            let header: Vec<String> = if options.has_header {
                record.iter().map(str::to_string).collect()
            } else {
                (0..ncols).map(|j| format!("x{j}")).collect()
            };
            target_col = resolve_target(&options.target, &header, options.has_header)?;
            if ncols < 2 {
                return Err(MlpTuneError::InvalidInput(format!(
                    "need at least 2 columns (features and a target), found {ncols}"
                )));
            }
            names = Some(header);
            if options.has_header {
                continue;
            }
        }
        if record.len() != ncols {
            return Err(MlpTuneError::Parse {
                line,
                column: record.len().min(ncols) + 1,
                reason: format!("expected {ncols} fields, found {}", record.len()),
            });
        }
        for (j, cell) in record.iter().enumerate() {
            let value = parse_cell(cell, line, j + 1)?;
            if j == target_col {
                targets.push(value);
            } else {
                records.push(value);
            }
        }
        nrows += 1;
    }
    let names = names.ok_or_else(|| MlpTuneError::InvalidInput("empty csv input".to_string()))?;
    if nrows == 0 {
        return Err(MlpTuneError::InvalidInput(
            "csv input has no data rows".to_string(),
        ));
    }
    let records = Array2::from_shape_vec((nrows, ncols - 1), records)
        .map_err(|e| MlpTuneError::InvalidInput(e.to_string()))?;
    let target_name = names[target_col].clone();
    let feature_names: Vec<String> = names
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| j != target_col)
        .map(|(_, n)| n)
        .collect();
    Ok(Dataset::new(records, Array1::from(targets))
        .with_feature_names(feature_names)
        .with_target_names(vec![target_name]))
}

fn resolve_target(target: &TargetColumn, header: &[String], has_header: bool) -> Result<usize> {
    let ncols = header.len();
    match target {
        TargetColumn::Last => Ok(ncols.saturating_sub(1)),
        TargetColumn::Index(i) if *i < ncols => Ok(*i),
        TargetColumn::Index(i) => Err(MlpTuneError::InvalidInput(format!(
            "target column index {i} is out of range for {ncols} columns"
        ))),
        TargetColumn::Name(_) if !has_header => Err(MlpTuneError::InvalidInput(
            "a target column given by name needs a header line".to_string(),
        )),
        TargetColumn::Name(name) => header.iter().position(|h| h == name).ok_or_else(|| {
            MlpTuneError::InvalidInput(format!("no column named `{name}` in the header"))
        }),
    }
}

fn csv_error(e: csv::Error, lines: &mut LineCounter) -> MlpTuneError {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, err } => {
            return MlpTuneError::Parse {
                line: lines.line_of(pos.as_ref()),
                column: err.field() + 1,
                reason: "invalid utf-8".to_string(),
            }
        }
        csv::ErrorKind::Io(_) => {}
        _ => return MlpTuneError::Io(e.to_string()),
    }
    match e.into_kind() {
        csv::ErrorKind::Io(err) => MlpTuneError::io("reading csv", err),
        other => MlpTuneError::Io(format!("{other:?}")),
    }
}

/// Maps the byte offsets of csv records to 1-based line numbers, counting the blank
/// lines the csv crate skips.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record starting at `position`; offsets must not decrease.
    fn line_of(&mut self, position: Option<&csv::Position>) -> usize {
        let target = position.map_or(self.offset, |p| {
            usize::try_from(p.byte()).unwrap_or(usize::MAX)
        });
        let target = target.clamp(self.offset, self.bytes.len());
        self.line += self.bytes[self.offset..target]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = target;
        // A record's position is taken before the blank lines preceding it.
        while let Some(&b) = self.bytes.get(self.offset) {
            if b != b'\n' && b != b'\r' {
                break;
            }
            self.line += usize::from(b == b'\n');
            self.offset += 1;
        }
        self.line
    }
}
