//! SMART scope parsing must never panic and never grant on malformed scopes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for sc in phiguard_gateway::scope::parse_scopes(s) {
            assert!(!sc.perms.is_empty());
        }
    }
});
