//! FHIR R4 ingestion for phiguard.
//!
//! Two inputs, both exactly as `shared/spec/access-monitoring.md` describes:
//!
//! * the **context**: a FHIR Bulk Data `$export` directory with one `<ResourceType>.ndjson` file per
//!   resource type (Organization, Practitioner, PractitionerRole, Patient, Encounter, CareTeam),
//!   loaded by [`context::load_dir`] into owned, validated structs;
//! * the **audit stream**: IHE BALP-shaped `AuditEvent` resources, one per line, parsed one line
//!   at a time by [`audit::parse_audit_event`] into a borrowed [`audit::AccessEvent`] (no
//!   allocation for the common case).
//!
//! Parsing never panics on input. Every rejected line comes back as an error that names the
//! file, the line and the field, so that callers can report it and keep the raw line. A UTF-8
//! byte-order mark at the start of a file (Windows exporters write one) is ignored: see
//! [`without_bom`].

pub mod audit;
pub mod context;
pub mod error;
pub mod instant;

pub use audit::{parse_audit_event, AccessEvent, AddressKind};
pub use context::{load_dir, CareTeam, Context, Encounter, Organization, Patient, Practitioner};
pub use error::{FhirError, RecordError};
pub use instant::Instant;

/// The first line of an NDJSON file without a leading UTF-8 byte-order mark (U+FEFF); any
/// other line unchanged. `line_no` counts from 1.
///
/// Exports written on Windows often start with a BOM, which JSON does not allow; without this
/// the file's first resource or event would be rejected.
#[must_use]
pub fn without_bom(line_no: usize, line: &str) -> &str {
    if line_no == 1 {
        line.strip_prefix('\u{feff}').unwrap_or(line)
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::without_bom;

    #[test]
    fn a_bom_is_dropped_from_the_first_line_only() {
        assert_eq!(without_bom(1, "\u{feff}{\"a\":1}"), "{\"a\":1}");
        assert_eq!(without_bom(1, "{\"a\":1}"), "{\"a\":1}");
        assert_eq!(without_bom(2, "\u{feff}{}"), "\u{feff}{}");
    }
}
