//! Bearer token verification must never panic on untrusted input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let v = phiguard_gateway::token::Verifier::new("phiguard");
        let _ = v.verify(s, 1_800_000_000);
    }
});
