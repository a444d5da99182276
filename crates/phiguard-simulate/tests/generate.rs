//! The simulator is deterministic, writes parseable FHIR, and plants what it says it plants.

// Test helpers outside #[test] functions: a panic here is a failing test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use phiguard_simulate::{generate, SimConfig};

fn small(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        days: 4,
        history_days: 10,
        patients: 800,
        scale: 0.3,
        incident_days: 2,
        incidents_per_kind: 1,
        ..SimConfig::default()
    }
}

#[test]
fn same_seed_same_bytes_other_seed_differs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    generate(&small(9), a.path()).unwrap();
    generate(&small(9), b.path()).unwrap();
    generate(&small(10), c.path()).unwrap();
    for f in [
        "AuditEvent.ndjson",
        "labels.ndjson",
        "context/Patient.ndjson",
        "context/Encounter.ndjson",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    assert_ne!(
        std::fs::read(a.path().join("AuditEvent.ndjson")).unwrap(),
        std::fs::read(c.path().join("AuditEvent.ndjson")).unwrap()
    );
}

#[test]
fn output_parses_and_incidents_are_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let s = generate(&small(3), dir.path()).unwrap();
    let ctx = phiguard_fhir::load_dir(&s.context_dir).unwrap();
    assert!(ctx.rejects.is_empty(), "{:?}", ctx.rejects.first());
    assert_eq!(ctx.patients.len(), s.patients);
    let events = std::fs::read_to_string(&s.events_file).unwrap();
    let mut last = i64::MIN;
    for line in events.lines() {
        let ev = phiguard_fhir::parse_audit_event(line).unwrap();
        assert!(ev.recorded.unix >= last, "events out of order");
        last = ev.recorded.unix;
    }
    let labels = std::fs::read_to_string(&s.labels_file).unwrap();
    assert_eq!(labels.lines().count(), events.lines().count());
    let mut kinds: Vec<String> = labels
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["kind"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 9, "{kinds:?}");
    assert_eq!(s.incidents, 9);
}

#[test]
fn bad_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SimConfig {
        incident_days: 9,
        days: 3,
        ..small(1)
    };
    let err = generate(&cfg, dir.path()).unwrap_err().to_string();
    assert!(err.contains("incident_days"), "{err}");
}
