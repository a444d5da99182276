//! IoMT device monitoring for phiguard.
//!
//! # Design overview
//! Data flow: MQTT telemetry ([`mqtt::watch`]) and flow records ([`telemetry`]) are parsed
//! strictly into [`telemetry::Reading`]s (bad payloads become counted, reported rejections) ->
//! [`monitor::DeviceMonitor`] keeps per-device baselines learned without labels and raises
//! explained spoofing / data-alteration alerts. With a labelled capture, a supervised
//! [`forest::RandomForest`] is trained; [`eval`] measures both on WUSTL-EHMS-2020
//! ([`wustl`]) with identifier columns removed.

mod error;
pub mod eval;
pub mod forest;
pub mod monitor;
pub mod mqtt;
pub mod supervised;
pub mod telemetry;
pub mod wustl;

pub use error::IomtError;
pub use wustl::{load_wustl, WustlData};
