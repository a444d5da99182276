//! Fuzz the MQTT telemetry payload parser and feed accepted readings to the monitor.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(r) = phiguard_iomt::telemetry::parse_reading(data) {
        let mut m = phiguard_iomt::monitor::DeviceMonitor::default();
        let _ = m.observe(&r);
    }
});
