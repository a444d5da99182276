//! Loader for WUSTL-EHMS-2020 captures (Argus flow features + patient biometrics + label).
//!
//! Identifier columns are dropped because they leak the label (the attacker's address, MAC and
//! ports identify attack rows): `SrcAddr`, `DstAddr`, `SrcMac`, `DstMac`, `Sport`, `Dport`,
//! `Packet_num`. The categorical `Dir` and `Flgs` columns are dropped too (as most re-analyses
//! do), and `Attack Category` is kept only as metadata. Every other column must be numeric and
//! finite: anything else is an error naming file, line and column.

use std::path::Path;

use phiguard_anomaly::Matrix;

use crate::IomtError;

/// Columns removed because they identify hosts or packets (label leakage).
pub const IDENTIFIER_COLUMNS: &[&str] = &[
    "SrcAddr",
    "DstAddr",
    "SrcMac",
    "DstMac",
    "Sport",
    "Dport",
    "Packet_num",
];
/// Categorical flow columns not used as features.
pub const CATEGORICAL_COLUMNS: &[&str] = &["Dir", "Flgs"];
/// The biometric columns.
pub const BIOMETRIC_COLUMNS: &[&str] = &[
    "Temp",
    "SpO2",
    "Pulse_Rate",
    "SYS",
    "DIA",
    "Heart_rate",
    "Resp_Rate",
    "ST",
];
/// Label column (0 normal, 1 attack).
pub const LABEL_COLUMN: &str = "Label";
/// Attack category column.
pub const CATEGORY_COLUMN: &str = "Attack Category";

/// A loaded WUSTL-EHMS capture.
#[derive(Debug, Clone)]
pub struct WustlData {
    /// Network (flow) feature names.
    pub network_names: Vec<String>,
    /// Biometric feature names.
    pub biometric_names: Vec<String>,
    /// Network features.
    pub network: Matrix,
    /// Biometric features.
    pub biometric: Matrix,
    /// Labels (true = attack).
    pub y: Vec<bool>,
    /// Attack category per row.
    pub category: Vec<String>,
}

impl WustlData {
    /// Network and biometric features side by side.
    pub fn combined(&self) -> Result<Matrix, IomtError> {
        let rows: Vec<Vec<f64>> = (0..self.network.rows())
            .map(|i| {
                let mut r = self.network.row(i).to_vec();
                r.extend_from_slice(self.biometric.row(i));
                r
            })
            .collect();
        Ok(Matrix::from_rows(&rows)?)
    }
}

/// Reads a WUSTL-EHMS CSV.
pub fn load_wustl(path: &Path) -> Result<WustlData, IomtError> {
    let file = std::fs::File::open(path).map_err(|source| IomtError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_wustl(std::io::BufReader::new(file), path)
}

/// Reads a WUSTL-EHMS CSV from a reader (`path` only names it in errors).
pub fn read_wustl<R: std::io::Read>(reader: R, path: &Path) -> Result<WustlData, IomtError> {
    let p = || path.to_path_buf();
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let err = |e: csv::Error| IomtError::Csv {
        path: p(),
        line: e.position().map_or(0, csv::Position::line),
        reason: match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("expected {expected_len} fields, found {len}"),
            _ => "malformed csv record".into(),
        },
    };
    let headers: Vec<String> = rdr
        .headers()
        .map_err(err)?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| IomtError::MissingColumn {
                path: p(),
                column: name.into(),
            })
    };
    let label_idx = find(LABEL_COLUMN)?;
    let cat_idx = headers.iter().position(|h| h == CATEGORY_COLUMN);
    let bio_idx: Vec<usize> = BIOMETRIC_COLUMNS
        .iter()
        .map(|c| find(c))
        .collect::<Result<_, _>>()?;
    let net_idx: Vec<usize> = (0..headers.len())
        .filter(|&i| {
            let h = headers.get(i).map(String::as_str).unwrap_or("");
            i != label_idx
                && Some(i) != cat_idx
                && !bio_idx.contains(&i)
                && !IDENTIFIER_COLUMNS.contains(&h)
                && !CATEGORICAL_COLUMNS.contains(&h)
        })
        .collect();
    let name_of = |i: &usize| headers.get(*i).cloned().unwrap_or_default();
    let (mut net, mut bio, mut y, mut category) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(err)? {
        let line = rec.position().map_or(0, csv::Position::line);
        let num = |i: usize| -> Result<f64, IomtError> {
            let f = rec.get(i).unwrap_or("");
            let bad = |what: &str| IomtError::Csv {
                path: p(),
                line,
                reason: format!("{what} in column `{}`", name_of(&i)),
            };
            if f.is_empty() {
                return Err(bad("missing value"));
            }
            let v: f64 = f.parse().map_err(|_| bad("non-numeric value"))?;
            if !v.is_finite() {
                return Err(bad("non-finite value"));
            }
            Ok(v)
        };
        for &i in &net_idx {
            net.push(num(i)?);
        }
        for &i in &bio_idx {
            bio.push(num(i)?);
        }
        y.push(match rec.get(label_idx).unwrap_or("") {
            "0" => false,
            "1" => true,
            _ => {
                return Err(IomtError::Csv {
                    path: p(),
                    line,
                    reason: format!("label in column `{LABEL_COLUMN}` must be 0 or 1"),
                })
            }
        });
        category.push(cat_idx.and_then(|c| rec.get(c)).unwrap_or("").to_string());
    }
    let n = y.len();
    Ok(WustlData {
        network_names: net_idx.iter().map(name_of).collect(),
        biometric_names: bio_idx.iter().map(name_of).collect(),
        network: Matrix::new(n, net_idx.len(), net)?,
        biometric: Matrix::new(n, bio_idx.len(), bio)?,
        y,
        category,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Dir,Flgs,SrcAddr,DstAddr,Sport,Dport,SrcBytes,DstBytes,SrcMac,DstMac,Packet_num,Temp,SpO2,Pulse_Rate,SYS,DIA,Heart_rate,Resp_Rate,ST,Attack Category,Label\n";

    #[test]
    fn drops_identifiers_and_splits_groups() {
        let s = format!("{HEAD}->,e,10.0.0.1,10.0.0.2,5000,1111,496,186,aa,bb,1,28.9,97,70,120,80,71,17,0.4,normal,0\n");
        let d = read_wustl(s.as_bytes(), Path::new("w.csv")).unwrap();
        assert_eq!(d.network_names, vec!["SrcBytes", "DstBytes"]);
        assert_eq!(d.biometric_names.len(), 8);
        assert_eq!(d.y, vec![false]);
        assert_eq!(d.combined().unwrap().cols(), 10);
    }

    #[test]
    fn errors_name_line_and_column() {
        let s = format!("{HEAD}->,e,a,b,1,2,x,186,aa,bb,1,28.9,97,70,120,80,71,17,0.4,normal,0\n");
        let e = read_wustl(s.as_bytes(), Path::new("w.csv"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "w.csv:2: non-numeric value in column `SrcBytes`");
        let e = read_wustl("a,b\n1,2\n".as_bytes(), Path::new("w.csv"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "w.csv: required column `Label` not found in header");
    }
}
