//! A synthetic hospital for testing and demonstrating the access monitor.
//!
//! [`generate`] writes, into one directory:
//! * `context/*.ndjson`: FHIR R4 Organization, Practitioner, PractitionerRole, Patient,
//!   Encounter and CareTeam resources (Bulk Data layout, `shared/spec/access-monitoring.md` §1);
//! * `AuditEvent.ndjson`: BALP-shaped AuditEvents in time order (§2);
//! * `labels.ndjson`: one line per event with its case (`user|YYYY-MM-DD`) and, for planted
//!   incidents, the incident id and kind.
//!
//! Normal life includes the hard legitimate cases a monitor must not flag: consults outside the
//! care team, ward census views at shift change, float nurses, billing and coding batches days
//! after discharge, registration and scheduling, ED break-the-glass, remote radiologists at
//! night, physicians working from home, shared common surnames, staff treated by their own
//! colleagues, a celebrity's care team, deaths in intensive care followed by billing. Incidents
//! (self, family, neighbour, colleague, VIP, deceased, snooping, compromised login,
//! break-the-glass misuse) are planted in the last days.

mod hospital;
mod names;
mod write;

use std::path::{Path, PathBuf};

pub use hospital::IncidentKind;

/// Settings of a simulated hospital.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Random seed: the same seed and settings give byte-identical output.
    pub seed: u64,
    /// Days with audit events.
    pub days: u32,
    /// Days of encounters before the first event (so that "recent" care exists on day one).
    pub history_days: u32,
    /// Patients in the index.
    pub patients: u32,
    /// Multiplies staff numbers and daily activity.
    pub scale: f64,
    /// Incidents are planted in this many last days.
    pub incident_days: u32,
    /// Incidents of each kind.
    pub incidents_per_kind: u32,
    /// First day with events, as days since 1970-01-01 (default 2026-03-02).
    pub start_day: i64,
    /// Local UTC offset in hours (timestamps are written with it).
    pub utc_offset_hours: i32,
    /// Share of legitimate accesses repeated on a random patient: legitimate work whose reason
    /// the context does not record (covering another ward, a hallway consult, looking a patient
    /// up for a colleague). 0 by default; a stress test of the monitor's precision.
    pub unexplained_share: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            days: 21,
            history_days: 45,
            patients: 6000,
            scale: 1.0,
            incident_days: 3,
            incidents_per_kind: 2,
            start_day: 20_514,
            utc_offset_hours: -5,
            unexplained_share: 0.0,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Patients written.
    pub patients: usize,
    /// Staff written.
    pub staff: usize,
    /// Encounters written.
    pub encounters: usize,
    /// Audit events written.
    pub events: usize,
    /// Incidents planted.
    pub incidents: usize,
    /// Path of the context directory.
    pub context_dir: PathBuf,
    /// Path of the AuditEvent file.
    pub events_file: PathBuf,
    /// Path of the labels file.
    pub labels_file: PathBuf,
}

/// Errors from the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// Writing output failed.
    #[error("writing `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The settings cannot produce a hospital.
    #[error("invalid settings: {0}")]
    Config(String),
}

/// Generates a hospital into `out` (created if needed).
///
/// # Errors
/// [`SimError::Config`] for impossible settings, [`SimError::Io`] when writing fails.
pub fn generate(cfg: &SimConfig, out: &Path) -> Result<Summary, SimError> {
    let problem = if cfg.days == 0 {
        Some("`days` must be at least 1".to_owned())
    } else if cfg.patients < 200 {
        Some(format!(
            "`patients` must be at least 200 (got {})",
            cfg.patients
        ))
    } else if cfg.scale.is_nan() || cfg.scale <= 0.0 || cfg.scale > 50.0 {
        Some(format!("`scale` must be in (0, 50] (got {})", cfg.scale))
    } else if cfg.incident_days > cfg.days {
        Some(format!(
            "`incident_days` ({}) cannot exceed `days` ({})",
            cfg.incident_days, cfg.days
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        return Err(SimError::Config(p));
    }
    let h = hospital::Hospital::build(cfg);
    write::write_all(&h, cfg, out)
}
