//! Errors of the gateway library and their FHIR OperationOutcome rendering.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors raised while setting up the gateway (files, keys, policies, configuration).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A file could not be read or written.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What the file is.
        what: &'static str,
        /// Its path.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file has bad content.
    #[error("{what} `{path}`: {reason}")]
    Invalid {
        /// What the file is.
        what: &'static str,
        /// Its path.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The Cedar policies or schema do not parse or validate.
    #[error("cedar {what}: {reason}")]
    Policy {
        /// Policies, schema or validation.
        what: &'static str,
        /// Cedar's message.
        reason: String,
    },
    /// The ledger could not be opened.
    #[error("ledger: {0}")]
    Ledger(#[from] phiguard_ledger::Error),
    /// A key could not be created or loaded.
    #[error("key material: {0}")]
    Key(String),
    /// A configuration value is not acceptable.
    #[error("configuration: {0}")]
    Config(String),
}

/// An HTTP error carried to the client as a FHIR OperationOutcome. Messages never contain
/// PHI: they name the rule that failed, not the data.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// OperationOutcome.issue.code (FHIR issue-type).
    pub code: &'static str,
    /// Human-readable diagnostics (no PHI).
    pub message: String,
    /// Extra `WWW-Authenticate` value for 401/403.
    pub www_authenticate: Option<&'static str>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            www_authenticate: None,
        }
    }
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Bearer error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "login", message)
        }
    }
    /// 403 forbidden.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 400 invalid input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }
    /// 404 not found.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "resource not found")
    }
    /// 503: the request could not be audited, so it is not served.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "transient", message)
    }
    /// 500 with a fixed message (details go to the log without PHI).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "internal error",
        )
    }
}

/// A FHIR OperationOutcome with one issue.
pub fn operation_outcome(severity: &str, code: &str, message: &str) -> serde_json::Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}]
    })
}

/// Content type of FHIR JSON responses.
pub const FHIR_JSON: &str = "application/fhir+json";

/// A FHIR JSON response.
pub fn fhir_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = fhir_response(
            self.status,
            &operation_outcome("error", self.code, &self.message),
        );
        if let Some(w) = self.www_authenticate {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(w));
        }
        r
    }
}
