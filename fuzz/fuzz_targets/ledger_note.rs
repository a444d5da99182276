//! Fuzzes signed-note and key parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_ledger::note::{Note, Signer, VerifierKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = Note::parse(data) {
        let _ = Note::parse(n.encode().as_bytes());
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = VerifierKey::parse(s);
        let _ = Signer::parse(s);
    }
});
