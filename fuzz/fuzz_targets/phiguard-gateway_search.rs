//! FHIR search parameters come straight from the request URL: parsing them, and the date
//! ranges inside them, must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_gateway::search::{date_range, parse, Handling};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let pairs: Vec<(String, String)> = s
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv.to_owned(), String::new()),
            })
            .collect();
        for rtype in ["Observation", "Patient"] {
            for handling in [Handling::Strict, Handling::Lenient] {
                let _ = parse(rtype, &pairs, handling);
            }
        }
        let _ = date_range(s);
    }
});
