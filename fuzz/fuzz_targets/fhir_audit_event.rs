//! Fuzzes the BALP AuditEvent line parser: never panics, and a parsed event keeps its id.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(ev) = phiguard_fhir::parse_audit_event(s) {
            assert!(!ev.id.trim().is_empty());
        }
    }
});
