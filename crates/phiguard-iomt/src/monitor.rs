//! Per-device baselines learned without labels, and explained alerts.
//!
//! Each device gets running statistics (mean and variance) of every vital sign and flow feature
//! it reports. After `warmup` readings, a reading is checked three ways:
//! - **spoofing**: the traffic that carried it is unlike this device's traffic history (a flow
//!   feature more than `threshold` standard deviations from the device's mean) — another host
//!   is likely speaking for the device;
//! - **data alteration**: a vital sign is more than `threshold` deviations from the device's
//!   history while its traffic looks normal — the values were changed in transit or at source;
//! - **physiological inconsistency** (also reported as data alteration): two sensors that
//!   measure the same thing disagree (ECG heart rate vs pulse-oximeter pulse rate by more than
//!   `pulse_tolerance_bpm`).
//!
//! Baselines: plain running mean/variance during the warm-up, then an exponentially weighted
//! mean/variance over about `window` readings, updated with every reading **winsorised** to the
//! alert boundary (mean +- threshold x sd). A single spoofed or altered reading can move the
//! baseline by at most `threshold * sd / window`, so an attacker cannot drag it quickly, while a
//! lasting change of regime (a sensor warming up, a new patient) is absorbed over a few hundred
//! readings instead of raising alerts forever.
//!
//! Sensor dropouts: a vital sign that cannot be zero in a live patient (`Temp`, `SpO2`,
//! `Pulse_Rate`, `Heart_rate`, `SYS`, `DIA`, `Resp_Rate`) reported as exactly 0 means "no
//! reading"; it is neither scored nor learned, and it is counted (`vital_dropouts`).
//!
//! Alerts name features and deviations, never raw vital values.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::telemetry::Reading;

/// Monitor settings.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Readings per device before alerts are raised (default 30).
    pub warmup: u64,
    /// Deviation, in standard deviations, that raises an alert (default 6).
    pub threshold: f64,
    /// Largest tolerated |Heart_rate - Pulse_Rate| in beats per minute (default 40).
    pub pulse_tolerance_bpm: f64,
    /// Effective memory of the baselines after the warm-up, in readings (default 1000).
    pub window: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            warmup: 30,
            threshold: 6.0,
            pulse_tolerance_bpm: 40.0,
            window: 1000,
        }
    }
}

/// Vital signs for which an exact 0 means "sensor reported nothing".
pub const DROPOUT_ZERO_VITALS: &[&str] = &[
    "Temp",
    "SpO2",
    "Pulse_Rate",
    "Heart_rate",
    "SYS",
    "DIA",
    "Resp_Rate",
];

/// Running mean and variance: cumulative while `n < window`, exponentially weighted after.
#[derive(Debug, Clone, Default)]
struct Baseline {
    n: f64,
    mean: f64,
    var: f64,
}

impl Baseline {
    fn sd(&self) -> f64 {
        // floor: 1% of the magnitude (or 1e-3), so a constant history does not make every
        // rounding difference infinite
        let floor = (self.mean.abs() * 0.01).max(1e-3);
        self.var.max(0.0).sqrt().max(floor)
    }

    /// Learns `x`; past `clip_after` observations, `x` is first clipped to
    /// `mean +- clip_sd * sd` so outliers move the baseline only a bounded amount.
    fn push(&mut self, x: f64, clip_after: f64, clip_sd: f64, window: f64) {
        let x = if self.n >= clip_after {
            let r = clip_sd * self.sd();
            x.clamp(self.mean - r, self.mean + r)
        } else {
            x
        };
        self.n += 1.0;
        let alpha = 1.0 / self.n.min(window.max(1.0));
        let d = x - self.mean;
        self.mean += alpha * d;
        // West's / Welford's update, exponentially weighted once alpha stops shrinking
        self.var = (1.0 - alpha) * (self.var + alpha * d * d);
    }

    fn z(&self, x: f64) -> f64 {
        (x - self.mean) / self.sd()
    }
}

#[derive(Debug, Clone, Default)]
struct DeviceState {
    readings: u64,
    vitals: BTreeMap<String, Baseline>,
    flow: BTreeMap<String, Baseline>,
}

/// One feature's part in an alert.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Deviation {
    /// Feature name (`vitals.SpO2`, `flow.SrcBytes`, ...).
    pub feature: String,
    /// Signed deviation from the device's baseline, in standard deviations.
    pub z: f64,
}

/// Alert kinds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The supervised model (trained on a labelled capture) classifies the reading as an attack.
    SupervisedAttack,
    /// Traffic inconsistent with the device's history.
    Spoofing,
    /// Vitals inconsistent with the device's history or with each other.
    DataAlteration,
}

/// An explained alert.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    /// Device.
    pub device: String,
    /// Kind.
    pub kind: AlertKind,
    /// Largest absolute deviation (standard deviations), or the sensor disagreement in bpm.
    pub score: f64,
    /// One sentence for the analyst.
    pub reason: String,
    /// Features that deviate, largest first.
    pub deviations: Vec<Deviation>,
}

/// Counters; every message ends up in exactly one of accepted or rejected.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MonitorStats {
    /// Messages received.
    pub received: u64,
    /// Readings accepted (parsed and scored).
    pub accepted: u64,
    /// Rejected: malformed payload.
    pub rejected_malformed: u64,
    /// Rejected: NaN, infinite or non-numeric values.
    pub rejected_non_finite: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Vital values of exactly 0 treated as sensor dropouts (not scored, not learned).
    pub vital_dropouts: u64,
}

/// The per-device monitor.
#[derive(Debug, Default)]
pub struct DeviceMonitor {
    config: MonitorConfig,
    supervised: Option<crate::supervised::SupervisedModel>,
    devices: BTreeMap<String, DeviceState>,
    stats: MonitorStats,
}

fn deviations(
    group: &str,
    values: &BTreeMap<String, f64>,
    stats: &BTreeMap<String, Baseline>,
    thr: f64,
) -> Vec<Deviation> {
    let mut out: Vec<Deviation> = values
        .iter()
        .filter_map(|(k, &v)| {
            stats.get(k).map(|w| Deviation {
                feature: format!("{group}.{k}"),
                z: w.z(v),
            })
        })
        .filter(|d| d.z.abs() >= thr)
        .collect();
    out.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
    out
}

fn describe(d: &[Deviation]) -> String {
    d.iter()
        .take(3)
        .map(|x| {
            format!(
                "{} {:.1} sd {}",
                x.feature,
                x.z.abs(),
                if x.z > 0.0 { "above" } else { "below" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl DeviceMonitor {
    /// A monitor with the given settings.
    pub fn new(config: MonitorConfig) -> Self {
        Self {
            config,
            supervised: None,
            devices: BTreeMap::new(),
            stats: MonitorStats::default(),
        }
    }

    /// Also applies a supervised model to readings that carry all its features.
    pub fn with_supervised(mut self, model: crate::supervised::SupervisedModel) -> Self {
        self.supervised = Some(model);
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> &MonitorStats {
        &self.stats
    }

    /// Counts a message that could not be parsed (`non_finite` selects the counter).
    pub fn record_rejection(&mut self, non_finite: bool) {
        self.stats.received += 1;
        if non_finite {
            self.stats.rejected_non_finite += 1;
        } else {
            self.stats.rejected_malformed += 1;
        }
    }

    /// Scores a reading against its device's baseline, then learns from it if it is clean.
    pub fn observe(&mut self, r: &Reading) -> Vec<Alert> {
        self.stats.received += 1;
        self.stats.accepted += 1;
        let cfg = self.config.clone();
        let vitals: BTreeMap<String, f64> = r
            .vitals
            .iter()
            .filter(|(k, v)| !(**v == 0.0 && DROPOUT_ZERO_VITALS.contains(&k.as_str())))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.stats.vital_dropouts += (r.vitals.len() - vitals.len()) as u64;
        let flow = &r.flow;
        let st = self.devices.entry(r.device.clone()).or_default();
        let mut alerts = Vec::new();
        if let (Some(hr), Some(pr)) = (r.vitals.get("Heart_rate"), r.vitals.get("Pulse_Rate")) {
            let gap = (hr - pr).abs();
            if *hr > 0.0 && *pr > 0.0 && gap > cfg.pulse_tolerance_bpm {
                alerts.push(Alert {
                    device: r.device.clone(),
                    kind: AlertKind::DataAlteration,
                    score: gap,
                    reason: format!("ECG heart rate and oximeter pulse rate disagree by {gap:.0} bpm (tolerance {:.0})", cfg.pulse_tolerance_bpm),
                    deviations: vec![],
                });
            }
        }
        if let Some(v) = self
            .supervised
            .as_ref()
            .and_then(|m| m.predict(&r.flow, &r.vitals))
        {
            if v.probability >= 0.5 {
                alerts.push(Alert {
                    device: r.device.clone(),
                    kind: AlertKind::SupervisedAttack,
                    score: v.probability,
                    reason: format!(
                        "supervised model trained on a labelled capture: attack probability {:.2} (network evidence {:.2}, biometric evidence {:.2})",
                        v.probability, v.network, v.biometric
                    ),
                    deviations: vec![],
                });
            }
        }
        if st.readings >= cfg.warmup {
            let fdev = deviations("flow", flow, &st.flow, cfg.threshold);
            let vdev = deviations("vitals", &vitals, &st.vitals, cfg.threshold);
            if !fdev.is_empty() {
                let score = fdev.first().map_or(0.0, |d| d.z.abs());
                let mut all = fdev.clone();
                all.extend(vdev.iter().cloned());
                alerts.push(Alert {
                    device: r.device.clone(),
                    kind: AlertKind::Spoofing,
                    score,
                    reason: format!(
                        "traffic unlike this device's history ({}): possible spoofed sender",
                        describe(&fdev)
                    ),
                    deviations: all,
                });
            } else if !vdev.is_empty() {
                let score = vdev.first().map_or(0.0, |d| d.z.abs());
                alerts.push(Alert {
                    device: r.device.clone(),
                    kind: AlertKind::DataAlteration,
                    score,
                    reason: format!("vital signs unlike this device's history while its traffic is normal ({}): possible data alteration", describe(&vdev)),
                    deviations: vdev,
                });
            }
        }
        st.readings += 1;
        let (warm, thr, window) = (cfg.warmup as f64, cfg.threshold, cfg.window as f64);
        for (k, &v) in &vitals {
            st.vitals
                .entry(k.clone())
                .or_default()
                .push(v, warm, thr, window);
        }
        for (k, &v) in flow {
            st.flow
                .entry(k.clone())
                .or_default()
                .push(v, warm, thr, window);
        }
        self.stats.alerts += alerts.len() as u64;
        alerts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::parse_reading;

    fn reading(i: u64, spo2: f64, bytes: f64) -> Reading {
        let jitter = (i % 5) as f64;
        parse_reading(
            format!(r#"{{"device":"m1","vitals":{{"SpO2":{},"Heart_rate":{},"Pulse_Rate":{}}},"flow":{{"SrcBytes":{}}}}}"#, spo2 + jitter * 0.2, 70.0 + jitter, 71.0 + jitter, bytes + jitter * 3.0)
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn quiet_during_warmup_and_for_normal_readings() {
        let mut m = DeviceMonitor::new(MonitorConfig::default());
        for i in 0..100 {
            assert!(
                m.observe(&reading(i, 97.0, 500.0)).is_empty(),
                "reading {i}"
            );
        }
        assert_eq!(m.stats().accepted, 100);
    }

    #[test]
    fn altered_vitals_and_spoofed_traffic_are_explained() {
        let mut m = DeviceMonitor::new(MonitorConfig::default());
        for i in 0..50 {
            m.observe(&reading(i, 97.0, 500.0));
        }
        let a = m.observe(&reading(51, 60.0, 500.0));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AlertKind::DataAlteration);
        assert_eq!(a[0].deviations[0].feature, "vitals.SpO2");
        assert!(a[0].reason.contains("vitals.SpO2"), "{}", a[0].reason);
        let a = m.observe(&reading(52, 97.0, 5000.0));
        assert_eq!(a[0].kind, AlertKind::Spoofing);
        assert!(a[0].reason.contains("flow.SrcBytes"));
        // the altered readings did not move the baseline
        assert!(m.observe(&reading(53, 97.0, 500.0)).is_empty());
        assert_eq!(m.stats().alerts, 2);
    }

    #[test]
    fn sensor_disagreement_is_flagged_immediately() {
        let mut m = DeviceMonitor::new(MonitorConfig::default());
        let r = parse_reading(br#"{"device":"m2","vitals":{"Heart_rate":130,"Pulse_Rate":70}}"#)
            .unwrap();
        let a = m.observe(&r);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, AlertKind::DataAlteration);
    }

    #[test]
    fn a_lasting_change_of_regime_is_absorbed_but_a_spike_is_not() {
        let mut m = DeviceMonitor::new(MonitorConfig::default());
        for i in 0..50 {
            m.observe(&reading(i, 97.0, 500.0));
        }
        // one spike: alert, and the baseline barely moves
        assert_eq!(m.observe(&reading(50, 60.0, 500.0)).len(), 1);
        assert!(m.observe(&reading(51, 97.0, 500.0)).is_empty());
        // a new patient with a lower SpO2: alerts at first, absorbed after a few hundred readings
        let alerts: Vec<usize> = (0..800)
            .map(|i| m.observe(&reading(100 + i, 90.0, 500.0)).len())
            .collect();
        assert!(alerts[0] > 0);
        assert_eq!(alerts[700..].iter().sum::<usize>(), 0);
    }

    #[test]
    fn zero_vitals_are_counted_dropouts_not_alerts() {
        let mut m = DeviceMonitor::new(MonitorConfig::default());
        for i in 0..50 {
            m.observe(&reading(i, 97.0, 500.0));
        }
        let r = parse_reading(
            br#"{"device":"m1","vitals":{"SpO2":0,"Heart_rate":0},"flow":{"SrcBytes":503}}"#,
        )
        .unwrap();
        assert!(m.observe(&r).is_empty());
        assert_eq!(m.stats().vital_dropouts, 2);
    }
}
