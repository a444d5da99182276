//! Fuzz the flow-record parsers (JSON lines and Argus-style CSV).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = phiguard_iomt::telemetry::parse_flow_json(data);
    let _ = phiguard_iomt::telemetry::parse_flow_csv(data);
});
