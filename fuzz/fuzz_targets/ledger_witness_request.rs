//! Fuzzes tlog-witness add-checkpoint request parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_ledger::witness::parse_add_checkpoint;

fuzz_target!(|data: &[u8]| {
    let _ = parse_add_checkpoint(data);
});
