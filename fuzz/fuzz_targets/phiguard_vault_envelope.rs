//! Fuzzes the on-disk envelope parser and the open path of sealed records: arbitrary bytes
//! from a tampered database must yield a typed error, never a panic or garbage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phiguard_vault::crypto::{record_context, SealKey};
use phiguard_vault::envelope::{self, Kind};

fuzz_target!(|data: &[u8]| {
    let _ = envelope::parse(data);
    if let Ok(key) = SealKey::new(&[7u8; 32]) {
        let ctx = record_context("t", &[1u8; 32], "Observation", "o1", 1);
        // A forgery must never open.
        assert!(key.open(data, Kind::Record, &ctx).is_err());
    }
});
