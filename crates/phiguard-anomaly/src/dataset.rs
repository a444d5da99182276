//! Loading a labelled numeric CSV (ADBench layout: feature columns plus a 0/1 label column).
//!
//! Strict by design: an empty field, a non-numeric field, NaN/inf, a bad label or a ragged row is
//! an error naming the file, the line and the column; nothing is imputed or skipped. Field
//! values are never echoed in errors (they may be sensitive).

use std::path::Path;

use crate::{CsvError, Matrix};

/// A labelled data set.
#[derive(Debug, Clone)]
pub struct LabelledData {
    /// File stem (e.g. `6_cardio`).
    pub name: String,
    /// Feature column names, in order.
    pub feature_names: Vec<String>,
    /// Features.
    pub x: Matrix,
    /// Labels (true = anomaly).
    pub y: Vec<bool>,
}

/// Reads `path`; `label_column` names the 0/1 label column.
pub fn load_labelled_csv(path: &Path, label_column: &str) -> Result<LabelledData, CsvError> {
    let file = std::fs::File::open(path).map_err(|source| CsvError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_labelled_csv(std::io::BufReader::new(file), path, label_column)
}

/// Reads a labelled CSV from any reader; `path` is used only in error messages and the name.
pub fn read_labelled_csv<R: std::io::Read>(
    reader: R,
    path: &Path,
    label_column: &str,
) -> Result<LabelledData, CsvError> {
    let p = || path.to_path_buf();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let malformed = |e: csv::Error| CsvError::Malformed {
        path: p(),
        line: e.position().map_or(0, csv::Position::line),
        reason: match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("expected {expected_len} fields, found {len}")
            }
            csv::ErrorKind::Utf8 { .. } => "invalid utf-8".to_string(),
            csv::ErrorKind::Io(io) => format!("i/o error: {io}"),
            _ => "unreadable record".to_string(),
        },
    };
    let headers: Vec<String> = rdr
        .headers()
        .map_err(malformed)?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(CsvError::NoHeader { path: p() });
    }
    let label_idx = headers
        .iter()
        .position(|h| h == label_column)
        .ok_or_else(|| CsvError::MissingLabelColumn {
            path: p(),
            column: label_column.to_string(),
            available: headers.join(","),
        })?;
    if headers.len() < 2 {
        return Err(CsvError::NoFeatures { path: p() });
    }
    let feature_names: Vec<String> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != label_idx)
        .map(|(_, h)| h.clone())
        .collect();
    let mut data = Vec::new();
    let mut y = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(malformed(e)),
        }
        let line = record.position().map_or(0, csv::Position::line);
        for (i, field) in record.iter().enumerate() {
            let column = || headers.get(i).cloned().unwrap_or_default();
            if field.is_empty() {
                return Err(CsvError::MissingValue {
                    path: p(),
                    line,
                    column: column(),
                });
            }
            if i == label_idx {
                let label = match field {
                    "0" | "0.0" | "false" | "False" => false,
                    "1" | "1.0" | "true" | "True" => true,
                    _ => {
                        return Err(CsvError::BadLabel {
                            path: p(),
                            line,
                            column: column(),
                        })
                    }
                };
                y.push(label);
                continue;
            }
            let v: f64 = field.parse().map_err(|_| CsvError::NonNumeric {
                path: p(),
                line,
                column: column(),
            })?;
            if !v.is_finite() {
                return Err(CsvError::NonFinite {
                    path: p(),
                    line,
                    column: column(),
                });
            }
            data.push(v);
        }
    }
    if y.is_empty() {
        return Err(CsvError::NoRows { path: p() });
    }
    let rows = y.len();
    let x = Matrix::new(rows, feature_names.len(), data).map_err(|e| CsvError::Malformed {
        path: p(),
        line: 0,
        reason: e.to_string(),
    })?;
    let name = path.file_stem().map_or_else(
        || "dataset".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Ok(LabelledData {
        name,
        feature_names,
        x,
        y,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<LabelledData, CsvError> {
        read_labelled_csv(s.as_bytes(), Path::new("t.csv"), "y")
    }

    #[test]
    fn reads_good_file() {
        let d = read("a,b,y\n1,2,0\n3,4,1\n").unwrap();
        assert_eq!(d.x.rows(), 2);
        assert_eq!(d.feature_names, vec!["a", "b"]);
        assert_eq!(d.y, vec![false, true]);
        assert_eq!(d.x.row(1), &[3.0, 4.0]);
    }

    #[test]
    fn errors_name_file_line_column() {
        let e = read("a,b,y\n1,2,0\n3,,1\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:3: missing value in column `b`");
        let e = read("a,b,y\n1,x,0\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:2: non-numeric value in column `b`");
        let e = read("a,b,y\n1,NaN,0\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv:2: non-finite value (NaN or infinite) in column `b`"
        );
        let e = read("a,b,y\n1,2,3\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:2: label in column `y` must be 0 or 1");
        let e = read("a,b\n1,2\n").unwrap_err().to_string();
        assert!(e.contains("label column `y` not found"), "{e}");
        let e = read("a,b,y\n1,2,0\n1,2\n").unwrap_err().to_string();
        assert!(e.starts_with("t.csv:3: malformed csv"), "{e}");
        assert!(matches!(read("a,b,y\n"), Err(CsvError::NoRows { .. })));
        assert!(matches!(read("y\n1\n"), Err(CsvError::NoFeatures { .. })));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = read_labelled_csv(bytes.as_slice(), Path::new("f.csv"), "y");
        }

        #[test]
        fn arbitrary_csvish_text_never_panics(s in "[a-z0-9y,.\\-\n eNa]{0,200}") {
            let _ = read(&s);
        }
    }
}
