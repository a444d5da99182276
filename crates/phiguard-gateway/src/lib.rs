//! phiguard's access gateway (`phiguard serve`).
//!
//! Every request for patient data is authenticated (JWT bearer, SMART on FHIR v2 scopes),
//! decided in context by Cedar policies (purpose of use, relationship evidence from the access
//! monitor, sensitivity labels, time, network, the user's current risk, protection level),
//! recorded in the tamper-evident ledger without PHI *before* the response leaves, and scored
//! in real time by the same monitor as `phiguard scan`. Resources come from the encrypted
//! vault (embedded mode) or from an upstream FHIR server (proxy mode).
//!
//! [`app::app`] returns the axum router; [`server::serve`] runs it (HTTP on loopback, HTTPS with
//! rustls elsewhere).

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth_routes;
pub mod authz;
pub mod bench;
pub mod error;
pub mod files;
pub mod idempotency;
pub mod ingest;
pub mod jwks;
pub mod load;
pub mod metrics;
pub mod proxy;
pub mod ratelimit;
pub mod scope;
pub mod search;
pub mod server;
pub mod state;
pub mod store;
pub mod token;
pub mod verified;

pub use app::app;
pub use error::{ApiError, SetupError};
pub use state::{Backend, GatewayConfig, GatewayState};

/// The OpenAPI 3.1 description of the gateway's own API.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");
