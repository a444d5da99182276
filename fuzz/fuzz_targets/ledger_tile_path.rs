//! Fuzzes tile path and entry bundle parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_ledger::tile::{parse_bundle, TileId};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = TileId::parse(s) {
            assert_eq!(t.path(), s);
        }
    }
    let _ = parse_bundle(data);
});
