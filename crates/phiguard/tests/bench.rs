//! CLI tests of the benchmark commands the issues quote: each prints its side-by-side table.
//! Small sizes keep them quick in a debug build; the speed targets themselves are checked by
//! the benchmarks' own "target ... met" lines, never asserted here.

// Test helpers outside #[test] functions: a panic here is a failing test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_phiguard"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "phiguard {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The row of a table whose first column is `name`, split into its columns.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no row {name:?} in:\n{table}"))
        .trim_start_matches(name)
        .split_whitespace()
        .collect()
}

#[test]
fn bench_monitor_prints_scan_beside_plain_json_and_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hospital");
    let out = run(&[
        "bench",
        "monitor",
        "--days",
        "4",
        "--scale",
        "0.2",
        "--repeat",
        "1",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    // Plain parsing is the 100% everything else is compared with, in the same run.
    let plain = row(&out, "plain JSON parsing (serde_json::Value)");
    assert_eq!(plain.last(), Some(&"100%"), "{out}");
    let scan = row(&out, "phiguard scan (parse+score+explain+write)");
    let events_per_s: f64 = scan[0].parse().unwrap();
    assert!(events_per_s > 0.0, "{out}");
    assert!(scan[2].ends_with('%'), "{out}");
    for line in [
        "peak RSS (VmHWM):",
        "monitor state:",
        "target scan >= 50% of plain JSON parsing:",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // --dir keeps the hospital it measured.
    assert!(dir.join("AuditEvent.ndjson").is_file());
}

#[test]
fn anomaly_bench_times_every_detector() {
    let out = run(&["anomaly", "bench", "--calls", "50"]);
    assert!(out.contains("fitted on 5000 rows x 10 features"), "{out}");
    for detector in [
        "iforest", "hbos", "ecod", "copod", "pca", "knn", "loda", "default",
    ] {
        let cols = row(&out, detector);
        assert_eq!(cols.len(), 4, "{detector}: {cols:?}");
        for c in cols {
            let v: f64 = c.parse().unwrap();
            assert!(v.is_finite() && v > 0.0, "{detector}: {c}");
        }
    }
}
