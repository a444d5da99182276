//! Fuzz the WUSTL-EHMS capture loader.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = phiguard_iomt::wustl::read_wustl(data, std::path::Path::new("fuzz.csv"));
});
