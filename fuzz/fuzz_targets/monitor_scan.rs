//! Fuzzes the whole scan loop: arbitrary NDJSON through parsing and scoring never panics, and
//! every output line is valid JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_monitor::scan::scan_stream;
use phiguard_monitor::{Monitor, MonitorConfig};

fuzz_target!(|data: &[u8]| {
    let mut monitor = Monitor::new(&phiguard_fhir::Context::default(), MonitorConfig::default());
    let mut out = Vec::new();
    if scan_stream(&mut monitor, "fuzz", data, &mut out, |_| {}, |_, _, _| {}).is_ok() {
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(serde_json::from_slice::<serde_json::Value>(line).is_ok());
        }
    }
});
