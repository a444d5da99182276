//! Fuzzes checkpoint body parsing and signed-checkpoint opening.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_ledger::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_body(s) {
            assert_eq!(cp.body(), s);
        }
    }
    let _ = Checkpoint::open(data, &[]);
});
