//! The `phiguard scan` loop over any reader and writer: one output line per input event, in
//! input order; bad lines go to a reject sink with their line number and reason, never dropped.

use std::io::{BufRead, Write};

use phiguard_fhir::{parse_audit_event, AccessEvent};
use serde::Serialize;

use crate::engine::{Assessment, Hypothesis, Monitor};

/// A rejected input line.
#[derive(Debug, Clone, Serialize)]
pub struct Reject<'a> {
    /// Where the line came from (file name).
    pub source: &'a str,
    /// 1-based line number.
    pub line: usize,
    /// The offending field, when one is to blame.
    pub field: Option<&'static str>,
    /// Why the line was rejected.
    pub reason: String,
    /// The raw line, kept so that nothing is lost.
    pub raw: &'a str,
}

/// Counters of one scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCounts {
    /// Events scored (= output lines).
    pub events: u64,
    /// Events that alerted.
    pub alerts: u64,
    /// Lines rejected.
    pub rejects: u64,
    /// Events whose time was earlier than an event already seen (scored, see docs).
    pub out_of_order: u64,
    /// Bytes read.
    pub bytes: u64,
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    score: f64,
    alert: bool,
    reasons: Vec<&'static str>,
    explanation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    relation: Option<&'static str>,
    /// Only on lines of the stream's learning days (`"learning": true`): no alert is raised.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    learning: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Vec<EvidenceItem>>,
}

/// One component of the score, written with `phiguard scan --evidence`.
#[derive(Serialize)]
struct EvidenceItem {
    code: &'static str,
    bits: f64,
    #[serde(rename = "for")]
    hypothesis: &'static str,
}

/// Errors that stop a scan (I/O); bad input lines do not.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading the events failed at this line.
    #[error("reading events at line {line}: {source}")]
    Read {
        /// 1-based line number.
        line: usize,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the output failed.
    #[error("writing scores: {0}")]
    Write(#[source] std::io::Error),
}

/// Writes one scan output line for an event; with `evidence`, the line also lists every
/// component of the score (`{"code", "bits", "for"}`, `for` = the misuse type it speaks for:
/// `insider`, `compromised` or `both`), for analysts who want to see how a score was reached.
///
/// # Errors
/// The writer's I/O errors.
pub fn write_line(
    out: &mut impl Write,
    id: &str,
    a: &Assessment,
    evidence: bool,
) -> std::io::Result<()> {
    let line = Line {
        id,
        score: a.score,
        alert: a.alert,
        reasons: a.reasons.iter().map(|r| r.code()).collect(),
        explanation: a.explanation(),
        relation: a.relation.map(|r| r.code()),
        learning: a.learning,
        evidence: evidence.then(|| {
            a.evidence
                .iter()
                .map(|e| EvidenceItem {
                    code: e.reason.code(),
                    bits: (e.bits * 100.0).round() / 100.0,
                    hypothesis: match e.hypothesis {
                        Hypothesis::Both => "both",
                        Hypothesis::Insider => "insider",
                        Hypothesis::Compromised => "compromised",
                    },
                })
                .collect()
        }),
    };
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// Scans an NDJSON stream of AuditEvents.
///
/// `on_reject` receives every rejected line; `on_event` every scored event with its
/// assessment (used by the demo and by progress reporting). `evidence` adds each line's score
/// components (see [`write_line`]).
///
/// # Errors
/// [`ScanError`] on I/O failure. Bad lines are not errors.
pub fn scan_stream<R: BufRead, W: Write>(
    monitor: &mut Monitor,
    source: &str,
    mut input: R,
    out: &mut W,
    evidence: bool,
    mut on_reject: impl FnMut(&Reject<'_>),
    mut on_event: impl FnMut(&AccessEvent<'_>, &Assessment, &ScanCounts),
) -> Result<ScanCounts, ScanError> {
    let mut counts = ScanCounts::default();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0usize;
    loop {
        buf.clear();
        line_no += 1;
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| ScanError::Read {
                line: line_no,
                source,
            })?;
        if n == 0 {
            break;
        }
        counts.bytes += n as u64;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => phiguard_fhir::without_bom(line_no, t).trim(),
            Err(e) => {
                let raw = String::from_utf8_lossy(&buf);
                counts.rejects += 1;
                on_reject(&Reject {
                    source,
                    line: line_no,
                    field: None,
                    reason: format!("not UTF-8: {e}"),
                    raw: raw.trim(),
                });
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match parse_audit_event(text) {
            Ok(ev) => {
                let a = monitor.assess(&ev);
                counts.events += 1;
                counts.alerts += u64::from(a.alert);
                counts.out_of_order += u64::from(a.out_of_order);
                write_line(out, &ev.id, &a, evidence).map_err(ScanError::Write)?;
                on_event(&ev, &a, &counts);
            }
            Err(e) => {
                counts.rejects += 1;
                on_reject(&Reject {
                    source,
                    line: line_no,
                    field: e.field(),
                    reason: e.to_string(),
                    raw: text,
                });
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MonitorConfig;
    use phiguard_fhir::Context;

    fn event(id: &str, t: &str, user: &str, patient: &str) -> String {
        format!(
            r#"{{"resourceType":"AuditEvent","id":"{id}","recorded":"{t}","agent":[{{"requestor":true,"who":{{"identifier":{{"value":"{user}"}}}},"network":{{"address":"WS-1","type":"1"}}}}],"entity":[{{"what":{{"reference":"Patient/{patient}"}},"role":{{"code":"1"}}}}]}}"#
        )
    }

    fn run(input: &str) -> (String, Vec<(usize, Option<&'static str>)>, ScanCounts) {
        let mut m = Monitor::new(&Context::default(), MonitorConfig::default());
        let mut out = Vec::new();
        let mut rejects = Vec::new();
        let counts = scan_stream(
            &mut m,
            "events.ndjson",
            input.as_bytes(),
            &mut out,
            false,
            |r| rejects.push((r.line, r.field)),
            |_, _, _| {},
        )
        .unwrap();
        (String::from_utf8(out).unwrap(), rejects, counts)
    }

    #[test]
    fn one_line_per_event_rejects_kept() {
        let input = [
            event("a", "2026-03-01T10:00:00Z", "u1", "p1"),
            "{broken".to_owned(),
            String::new(),
            r#"{"resourceType":"AuditEvent","id":"b","recorded":"2026-03-01T10:00:00Z"}"#
                .to_owned(),
            event("c", "2026-03-01T09:00:00Z", "u1", "p2"),
        ]
        .join("\n");
        let (out, rejects, counts) = run(&input);
        let ids: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ids, vec!["a", "c"]);
        assert_eq!(rejects, vec![(2, None), (4, Some("agent.requestor"))]);
        assert_eq!(counts.events, 2);
        assert_eq!(counts.rejects, 2);
        assert_eq!(counts.out_of_order, 1);
    }

    #[test]
    fn a_windows_export_scans_like_any_other() {
        let lines = [
            event("a", "2026-03-01T10:00:00Z", "u1", "p1"),
            event("b", "2026-03-01T10:01:00Z", "u1", "p2"),
        ];
        let (plain, _, _) = run(&lines.join("\n"));
        let (windows, rejects, counts) = run(&format!("\u{feff}{}\r\n", lines.join("\r\n")));
        assert_eq!(windows, plain);
        assert!(rejects.is_empty());
        assert_eq!(counts.events, 2);
    }

    #[test]
    fn causal_prefix_gives_same_lines() {
        let lines: Vec<String> = (0..60)
            .map(|i| {
                event(
                    &format!("e{i}"),
                    &format!("2026-03-01T{:02}:{:02}:00Z", 8 + i / 20, (i * 3) % 60),
                    &format!("u{}", i % 4),
                    &format!("p{}", i % 9),
                )
            })
            .collect();
        let full = run(&lines.join("\n")).0;
        let prefix = run(&lines[..25].join("\n")).0;
        assert!(full.starts_with(&prefix));
        assert_eq!(prefix.lines().count(), 25);
    }

    #[test]
    fn evidence_lists_the_components_only_when_asked() {
        let input = event("a", "2026-03-01T03:00:00Z", "u1", "p1");
        assert!(!run(&input).0.contains("evidence"));
        let mut m = Monitor::new(&Context::default(), MonitorConfig::default());
        let mut out = Vec::new();
        scan_stream(
            &mut m,
            "e",
            input.as_bytes(),
            &mut out,
            true,
            |_| {},
            |_, _, _| {},
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let items = v["evidence"].as_array().unwrap();
        // An unknown user opening an unknown patient: the relationship rung and both unknowns.
        let codes: Vec<&str> = items.iter().map(|e| e["code"].as_str().unwrap()).collect();
        assert!(codes.contains(&"NO_RELATIONSHIP"), "{codes:?}");
        assert!(codes.contains(&"UNKNOWN_USER"), "{codes:?}");
        for e in items {
            assert!(e["bits"].as_f64().unwrap().is_finite());
            assert!(["insider", "compromised", "both"].contains(&e["for"].as_str().unwrap()));
        }
    }

    #[test]
    fn empty_input_is_fine() {
        let (out, rejects, counts) = run("");
        assert!(out.is_empty() && rejects.is_empty());
        assert_eq!(counts, ScanCounts::default());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::MonitorConfig;
    use phiguard_fhir::Context;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary well-formed events in arbitrary order, users and patients: never a panic,
        /// always exactly one output line per event, scores finite.
        #[test]
        fn any_stream_scores_every_event(
            evs in proptest::collection::vec((0u32..5, 0u32..20, 0i64..200_000, 0u8..4, proptest::bool::ANY), 0..80)
        ) {
            let input: Vec<String> = evs.iter().enumerate().map(|(i, (u, p, t, kind, btg))| {
                let secs = 1_772_323_200 + t;
                let ts = format!("2026-03-{:02}T{:02}:{:02}:{:02}Z", 1 + (secs - 1_772_323_200) / 86_400, (secs / 3600) % 24, (secs / 60) % 60, secs % 60);
                let addr = match kind { 0 => r#","network":{"address":"WS-1","type":"1"}"#.to_owned(), 1 => format!(r#","network":{{"address":"10.0.{u}.{p}","type":"2"}}"#), _ => String::new() };
                let purpose = if *btg { r#","purposeOfUse":[{"coding":[{"code":"BTG"}]}]"# } else { "" };
                format!(r#"{{"id":"e{i}","recorded":"{ts}","agent":[{{"requestor":true,"who":{{"identifier":{{"value":"u{u}"}}}}{addr}{purpose}}}],"entity":[{{"what":{{"reference":"Patient/p{p}"}},"role":{{"code":"1"}}}}]}}"#)
            }).collect();
            let mut m = Monitor::new(&Context::default(), MonitorConfig::default());
            let mut out = Vec::new();
            let counts = scan_stream(&mut m, "p", input.join("\n").as_bytes(), &mut out, true, |_| {}, |_, a, _| {
                assert!(a.score.is_finite());
            }).unwrap();
            prop_assert_eq!(counts.events as usize, evs.len());
            prop_assert_eq!(out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(), evs.len());
        }
    }
}
