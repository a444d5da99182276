//! phiguard's EHR access monitor.
//!
//! A causal, streaming engine that scores every access to a patient record:
//!
//! ```text
//!  Context (FHIR) ──> World (indexed: staff, patients, episodes, identities)
//!                          │
//!  AccessEvent ──> Monitor::assess ──> relationship rung  (relation.rs: care team, department,
//!                          │                               earlier access, colleagues, elsewhere)
//!                          ├──> who else opened it        (collab.rs: the user's collaborators
//!                          │                               among the record's recent users)
//!                          ├──> identity flags            (self, household, street, colleague,
//!                          │                               VIP, deceased, sensitive, break-glass)
//!                          ├──> behaviour                 (hour of day, location novelty, volume)
//!                          v
//!                   Assessment: score in bits, alert, reasons, explanation (explain.rs)
//! ```
//!
//! Each component is a log2 likelihood ratio between a misuse model and this user's legitimate
//! behaviour learned from the stream (model.rs), so scores add up and mean the same thing in every
//! hospital. See `engine.rs` (with `engine/flags.rs`, `engine/place.rs` and `engine/pooling.rs`)
//! for the models and `config.rs` for the defaults.

pub mod collab;
pub mod config;
pub mod engine;
pub mod explain;
pub mod exposure;
pub mod model;
pub mod normalize;
pub mod reason;
pub mod relation;
pub mod scan;
pub mod world;

pub use config::MonitorConfig;
pub use engine::{Assessment, Detail, Evidence, Hypothesis, Monitor};
pub use reason::Reason;
