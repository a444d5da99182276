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
//! file, the line and the field, so that callers can report it and keep the raw line.

pub mod audit;
pub mod context;
pub mod error;
pub mod instant;

pub use audit::{parse_audit_event, AccessEvent, AddressKind};
pub use context::{load_dir, CareTeam, Context, Encounter, Organization, Patient, Practitioner};
pub use error::{FhirError, RecordError};
pub use instant::Instant;
