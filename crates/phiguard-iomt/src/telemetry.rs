//! Parsing device telemetry (JSON over MQTT) and network flow records (Argus/Zeek-style JSON
//! lines or CSV).
//!
//! Telemetry payload: `{"device": "monitor-3", "ts": 1700000000.5, "vitals": {"SpO2": 97, ...},
//! "flow": {"SrcBytes": 496, ...}}` (`ts` and `flow` optional, at least one vital or flow
//! field). Every numeric field must be a finite JSON number: strings, `null`, and values that
//! overflow to infinity are errors naming the field. Payloads over 64 KiB are refused.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::IomtError;

/// Largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// One reading from a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Device identifier.
    pub device: String,
    /// Timestamp (seconds), if given.
    pub ts: Option<f64>,
    /// Vital signs by name.
    pub vitals: BTreeMap<String, f64>,
    /// Flow features by name (the traffic that carried the reading).
    pub flow: BTreeMap<String, f64>,
}

fn numbers(v: Option<&Value>, group: &str) -> Result<BTreeMap<String, f64>, IomtError> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let x =
                    v.as_f64()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| IomtError::NonFinite {
                            field: format!("{group}.{k}"),
                        })?;
                out.insert(k.clone(), x);
            }
        }
        Some(_) => {
            return Err(IomtError::Payload(format!(
                "`{group}` must be an object of numbers"
            )))
        }
    }
    Ok(out)
}

/// Parses one telemetry payload.
pub fn parse_reading(payload: &[u8]) -> Result<Reading, IomtError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(IomtError::Payload(format!(
            "payload of {} bytes exceeds {MAX_PAYLOAD_BYTES}",
            payload.len()
        )));
    }
    let v: Value = serde_json::from_slice(payload).map_err(|e| {
        IomtError::Payload(format!(
            "invalid json at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| IomtError::Payload("expected a json object".into()))?;
    let device = match obj.get("device") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => s.clone(),
        _ => {
            return Err(IomtError::Payload(
                "missing or invalid `device` (non-empty string up to 256 bytes)".into(),
            ))
        }
    };
    let ts = match obj.get("ts") {
        None | Some(Value::Null) => None,
        Some(t) => Some(
            t.as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| IomtError::NonFinite { field: "ts".into() })?,
        ),
    };
    let vitals = numbers(obj.get("vitals"), "vitals")?;
    let flow = numbers(obj.get("flow"), "flow")?;
    if vitals.is_empty() && flow.is_empty() {
        return Err(IomtError::Payload(
            "reading has neither `vitals` nor `flow` values".into(),
        ));
    }
    Ok(Reading {
        device,
        ts,
        vitals,
        flow,
    })
}

/// A network flow record (device = source address or the `device` field).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// Device (or source address).
    pub device: String,
    /// Numeric flow features.
    pub features: BTreeMap<String, f64>,
}

/// Parses one JSON flow line: an object with `device` (or `SrcAddr`/`id.orig_h`) and numeric
/// fields; non-numeric fields other than the identifier are ignored, numeric ones must be
/// finite.
pub fn parse_flow_json(line: &[u8]) -> Result<FlowRecord, IomtError> {
    if line.len() > MAX_PAYLOAD_BYTES {
        return Err(IomtError::Payload("flow record too large".into()));
    }
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| IomtError::Payload(format!("invalid json at column {}", e.column())))?;
    let obj = v
        .as_object()
        .ok_or_else(|| IomtError::Payload("expected a json object".into()))?;
    let device = ["device", "SrcAddr", "id.orig_h"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            IomtError::Payload("flow record has no `device`, `SrcAddr` or `id.orig_h`".into())
        })?
        .to_string();
    let mut features = BTreeMap::new();
    for (k, v) in obj {
        if let Value::Number(n) = v {
            let x = n
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| IomtError::NonFinite { field: k.clone() })?;
            features.insert(k.clone(), x);
        }
    }
    Ok(FlowRecord { device, features })
}

/// Parses Argus-style flow CSV text (header row; `SrcAddr` names the device; numeric columns
/// become features, others are ignored unless they look numeric in the header's row type).
/// Errors name the line and column of a malformed numeric field.
pub fn parse_flow_csv(text: &[u8]) -> Result<Vec<FlowRecord>, IomtError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text);
    let malformed = |e: csv::Error| {
        IomtError::Payload(format!(
            "malformed flow csv at line {}",
            e.position().map_or(0, csv::Position::line)
        ))
    };
    let headers: Vec<String> = rdr
        .headers()
        .map_err(malformed)?
        .iter()
        .map(str::to_string)
        .collect();
    let dev = headers
        .iter()
        .position(|h| h == "SrcAddr" || h == "device")
        .ok_or_else(|| {
            IomtError::Payload("flow csv needs a `SrcAddr` or `device` column".into())
        })?;
    let textual = [
        "Dir",
        "Flgs",
        "Proto",
        "State",
        "DstAddr",
        "SrcMac",
        "DstMac",
        "Attack Category",
    ];
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(malformed)?;
        let line = rec.position().map_or(0, csv::Position::line);
        let mut features = BTreeMap::new();
        for (i, f) in rec.iter().enumerate() {
            let h = headers.get(i).map(String::as_str).unwrap_or("");
            if i == dev || textual.contains(&h) {
                continue;
            }
            let x: f64 = f.parse().map_err(|_| {
                IomtError::Payload(format!("non-numeric value at line {line} column `{h}`"))
            })?;
            if !x.is_finite() {
                return Err(IomtError::NonFinite {
                    field: format!("line {line} column `{h}`"),
                });
            }
            features.insert(h.to_string(), x);
        }
        out.push(FlowRecord {
            device: rec.get(dev).unwrap_or("").to_string(),
            features,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_reading() {
        let r = parse_reading(
            br#"{"device":"m1","ts":1.5,"vitals":{"SpO2":97,"Temp":36.6},"flow":{"SrcBytes":496}}"#,
        )
        .unwrap();
        assert_eq!(r.device, "m1");
        assert_eq!(r.vitals.get("SpO2"), Some(&97.0));
        assert_eq!(r.flow.len(), 1);
    }

    #[test]
    fn rejects_bad_readings_with_reasons() {
        let e = parse_reading(br#"{"device":"m1","vitals":{"SpO2":"NaN"}}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "non-finite or non-numeric value in field `vitals.SpO2`");
        let e = parse_reading(br#"{"device":"m1","vitals":{"SpO2":1e999}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("malformed payload") || e.contains("non-finite"),
            "{e}"
        );
        assert!(parse_reading(b"not json").is_err());
        assert!(parse_reading(br#"{"vitals":{"SpO2":97}}"#).is_err());
        assert!(parse_reading(br#"{"device":"m1"}"#).is_err());
        assert!(parse_reading(br#"[1,2]"#).is_err());
    }

    #[test]
    fn parses_flows() {
        let f = parse_flow_json(br#"{"SrcAddr":"10.0.0.1","SrcBytes":496,"Dir":"->"}"#).unwrap();
        assert_eq!(f.device, "10.0.0.1");
        assert_eq!(f.features.len(), 1);
        let v = parse_flow_csv(b"Dir,SrcAddr,SrcBytes,Dur\n->,10.0.0.1,496,0.01\n").unwrap();
        assert_eq!(v[0].features.get("Dur"), Some(&0.01));
        let e = parse_flow_csv(b"SrcAddr,SrcBytes\n10.0.0.1,abc\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2 column `SrcBytes`"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_reading(&bytes);
            let _ = parse_flow_json(&bytes);
            let _ = parse_flow_csv(&bytes);
        }

        #[test]
        fn jsonish_payloads_never_panic(s in r#"[{}\[\]":,a-z0-9.eE+\- ]{0,120}"#) {
            let _ = parse_reading(s.as_bytes());
            let _ = parse_flow_json(s.as_bytes());
        }
    }
}
