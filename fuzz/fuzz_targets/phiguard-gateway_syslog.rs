//! RFC 5424 syslog parsing and ingest line splitting must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = phiguard_gateway::ingest::parse_rfc5424(s);
        let _ = phiguard_gateway::ingest::split_lines(s);
    }
});
