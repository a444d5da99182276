//! Fuzzes tlog-proof parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_ledger::proof::TlogProof;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TlogProof::parse(data) {
        let _ = TlogProof::parse(p.encode().as_bytes());
    }
});
