//! Integration test against a real MQTT broker (PHIGUARD_TEST_MQTT_URL, e.g.
//! mqtt://127.0.0.1:1883): publishes readings, expects an alert and a counted rejection.

use std::sync::mpsc;
use std::time::Duration;

use phiguard_iomt::monitor::{AlertKind, DeviceMonitor, MonitorConfig};
use phiguard_iomt::mqtt::{parse_mqtt_url, watch, WatchEvent};
use rumqttc::{Client, MqttOptions, QoS};

#[test]
fn publishes_readings_and_sees_the_alert() {
    let Ok(url) = std::env::var("PHIGUARD_TEST_MQTT_URL") else {
        println!("skipped: PHIGUARD_TEST_MQTT_URL not set");
        return;
    };
    let topic = format!(
        "phiguard-test/{}/{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let n_normal = 40u64;
    let total = n_normal + 3; // + altered + malformed + NaN-as-string
    let (ready_tx, ready_rx) = mpsc::channel();
    let watch_url = url.clone();
    let watch_topic = format!("{topic}/#");
    let watcher = std::thread::spawn(move || {
        let mut monitor = DeviceMonitor::new(MonitorConfig {
            warmup: 20,
            ..MonitorConfig::default()
        });
        let mut events = Vec::new();
        let res = watch(
            &watch_url,
            &[watch_topic],
            &mut monitor,
            Some(total),
            |e| {
                events.push(e.clone());
                Ok(())
            },
            || {
                let _ = ready_tx.send(());
            },
        );
        (res, events, monitor.stats().clone())
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("subscription not acknowledged");

    let (host, port) = parse_mqtt_url(&url).unwrap();
    let mut opts = MqttOptions::new(
        format!("phiguard-test-pub-{}", std::process::id()),
        host,
        port,
    );
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut conn) = Client::new(opts, 128);
    let pump = std::thread::spawn(move || {
        for ev in conn.iter() {
            if ev.is_err() {
                break;
            }
        }
    });
    let t = format!("{topic}/monitor-1");
    for i in 0..n_normal {
        let j = (i % 5) as f64;
        let p = format!(
            r#"{{"device":"monitor-1","vitals":{{"SpO2":{},"Temp":{}}},"flow":{{"SrcBytes":{}}}}}"#,
            97.0 + j * 0.2,
            36.6 + j * 0.05,
            496.0 + j * 2.0
        );
        client
            .publish(t.as_str(), QoS::AtLeastOnce, false, p.into_bytes())
            .unwrap();
    }
    client
        .publish(
            t.as_str(),
            QoS::AtLeastOnce,
            false,
            br#"{"device":"monitor-1","vitals":{"SpO2":70,"Temp":36.6},"flow":{"SrcBytes":498}}"#
                .to_vec(),
        )
        .unwrap();
    client
        .publish(t.as_str(), QoS::AtLeastOnce, false, b"{not json".to_vec())
        .unwrap();
    client
        .publish(
            t.as_str(),
            QoS::AtLeastOnce,
            false,
            br#"{"device":"monitor-1","vitals":{"SpO2":"NaN"}}"#.to_vec(),
        )
        .unwrap();

    let (res, events, stats) = watcher.join().unwrap();
    let _ = client.disconnect();
    let _ = pump.join();
    res.unwrap();
    let alerts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Alert { alert, .. } => Some(alert),
            _ => None,
        })
        .collect();
    assert_eq!(alerts.len(), 1, "{events:?}");
    assert_eq!(alerts[0].kind, AlertKind::DataAlteration);
    assert_eq!(alerts[0].deviations[0].feature, "vitals.SpO2");
    let rejected = events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Rejected { .. }))
        .count();
    assert_eq!(rejected, 2);
    assert_eq!(stats.received, total);
    assert_eq!(stats.rejected_malformed, 1);
    assert_eq!(stats.rejected_non_finite, 1);
}
