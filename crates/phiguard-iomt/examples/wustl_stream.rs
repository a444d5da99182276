//! Replays a WUSTL-EHMS-2020 capture, in file order, through the streaming per-device monitor
//! (no labels, identifier columns removed, every row treated as coming from one monitored
//! device) and reports how its alerts match the labels.
//!
//! `cargo run --release -p phiguard-iomt --example wustl_stream -- FILE [warmup] [threshold]`
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use phiguard_anomaly::metrics::f1_accuracy;
use phiguard_iomt::monitor::{AlertKind, DeviceMonitor, MonitorConfig};
use phiguard_iomt::telemetry::Reading;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .ok_or("usage: wustl_stream FILE [warmup] [threshold]")?,
    );
    let warmup: u64 = args.next().map_or(Ok(30), |s| s.parse())?;
    let threshold: f64 = args.next().map_or(Ok(6.0), |s| s.parse())?;
    let d = phiguard_iomt::load_wustl(&path)?;
    let mut m = DeviceMonitor::new(MonitorConfig {
        warmup,
        threshold,
        ..MonitorConfig::default()
    });
    let mut pred = Vec::with_capacity(d.y.len());
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..d.y.len() {
        let flow = d
            .network_names
            .iter()
            .cloned()
            .zip(d.network.row(i).iter().copied())
            .collect();
        let vitals = d
            .biometric_names
            .iter()
            .cloned()
            .zip(d.biometric.row(i).iter().copied())
            .collect();
        let alerts = m.observe(&Reading {
            device: "ehms".into(),
            ts: None,
            vitals,
            flow,
        });
        for a in &alerts {
            *kinds
                .entry(match a.kind {
                    AlertKind::Spoofing => "spoofing",
                    AlertKind::DataAlteration => "data_alteration",
                    AlertKind::SupervisedAttack => "supervised_attack",
                })
                .or_default() += 1;
        }
        pred.push(!alerts.is_empty());
    }
    let (f1, acc) = f1_accuracy(&pred, &d.y);
    let tp = pred.iter().zip(&d.y).filter(|(p, y)| **p && **y).count();
    let flagged = pred.iter().filter(|p| **p).count();
    let attacks = d.y.iter().filter(|y| **y).count();
    println!(
        "rows {} attacks {attacks} flagged {flagged} true_positives {tp} precision {:.3} recall {:.3} f1 {f1:.3} accuracy {acc:.3} alerts_by_kind {kinds:?}",
        d.y.len(),
        tp as f64 / flagged.max(1) as f64,
        tp as f64 / attacks.max(1) as f64
    );
    Ok(())
}
