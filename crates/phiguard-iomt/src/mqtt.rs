//! MQTT subscriber: receives telemetry on configurable topics and feeds the monitor.
//!
//! Every message produces exactly one output event: an alert list (possibly empty: nothing is
//! printed), or a rejection with its reason; nothing is dropped silently. The connection uses
//! `rumqttc`'s synchronous client.

use std::time::Duration;

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde::Serialize;

use crate::monitor::{Alert, DeviceMonitor};
use crate::telemetry::parse_reading;
use crate::IomtError;

/// Broker host and port from `mqtt://host[:port]` (default port 1883).
pub fn parse_mqtt_url(url: &str) -> Result<(String, u16), IomtError> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| IomtError::Url(url.into()))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| IomtError::Url(url.into()))?),
        None => (rest, 1883),
    };
    if host.is_empty() {
        return Err(IomtError::Url(url.into()));
    }
    Ok((host.to_string(), port))
}

/// What the watcher reports per message.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WatchEvent {
    /// An alert.
    Alert {
        /// Topic the reading came from.
        topic: String,
        /// The alert.
        #[serde(flatten)]
        alert: Alert,
    },
    /// A message that could not be used, with the reason.
    Rejected {
        /// Topic.
        topic: String,
        /// Why.
        reason: String,
    },
}

/// Subscribes to `topics` and calls `sink` for every alert or rejection, until `max_messages`
/// messages were processed (when given) or the connection fails.
pub fn watch(
    url: &str,
    topics: &[String],
    monitor: &mut DeviceMonitor,
    max_messages: Option<u64>,
    mut sink: impl FnMut(&WatchEvent) -> Result<(), IomtError>,
    mut on_subscribed: impl FnMut(),
) -> Result<(), IomtError> {
    let (host, port) = parse_mqtt_url(url)?;
    if topics.is_empty() {
        return Err(IomtError::Parameter {
            name: "topic",
            reason: "at least one topic is needed".into(),
        });
    }
    let id = format!("phiguard-iomt-{}", std::process::id());
    let mut opts = MqttOptions::new(id, host, port);
    opts.set_keep_alive(Duration::from_secs(10));
    opts.set_max_packet_size(
        crate::telemetry::MAX_PAYLOAD_BYTES + 1024,
        crate::telemetry::MAX_PAYLOAD_BYTES + 1024,
    );
    let (client, mut connection) = Client::new(opts, 64);
    for t in topics {
        client
            .subscribe(t.as_str(), QoS::AtLeastOnce)
            .map_err(|e| IomtError::Mqtt(e.to_string()))?;
    }
    let mut processed = 0u64;
    let mut pending_acks = topics.len();
    for event in connection.iter() {
        let event = event.map_err(|e| IomtError::Mqtt(e.to_string()))?;
        match event {
            Event::Incoming(Packet::SubAck(_)) => {
                pending_acks = pending_acks.saturating_sub(1);
                if pending_acks == 0 {
                    on_subscribed();
                }
            }
            Event::Incoming(Packet::Publish(p)) => {
                let topic = p.topic.clone();
                match parse_reading(&p.payload) {
                    Ok(r) => {
                        for alert in monitor.observe(&r) {
                            sink(&WatchEvent::Alert {
                                topic: topic.clone(),
                                alert,
                            })?;
                        }
                    }
                    Err(e) => {
                        monitor.record_rejection(matches!(e, IomtError::NonFinite { .. }));
                        sink(&WatchEvent::Rejected {
                            topic,
                            reason: e.to_string(),
                        })?;
                    }
                }
                processed += 1;
                if max_messages.is_some_and(|m| processed >= m) {
                    let _ = client.disconnect();
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_mqtt_url("mqtt://127.0.0.1:1883").unwrap(),
            ("127.0.0.1".into(), 1883)
        );
        assert_eq!(
            parse_mqtt_url("mqtt://broker").unwrap(),
            ("broker".into(), 1883)
        );
        assert!(parse_mqtt_url("http://x").is_err());
        assert!(parse_mqtt_url("mqtt://:1").is_err());
        assert!(parse_mqtt_url("mqtt://h:99999").is_err());
    }
}
