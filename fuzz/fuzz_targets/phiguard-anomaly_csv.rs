//! Fuzz the labelled-CSV loader of phiguard-anomaly.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = phiguard_anomaly::read_labelled_csv(data, std::path::Path::new("fuzz.csv"), "y");
});
