//! Typed errors of the IoMT crate.

use std::path::PathBuf;

/// Errors reading captures, parsing telemetry and talking to the broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IomtError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A CSV capture is malformed.
    #[error("{path}:{line}: {reason}")]
    Csv {
        /// File.
        path: PathBuf,
        /// One-based line (0 when unknown).
        line: u64,
        /// What is wrong (values are not echoed).
        reason: String,
    },
    /// A required column is absent from the header.
    #[error("{path}: required column `{column}` not found in header")]
    MissingColumn {
        /// File.
        path: PathBuf,
        /// Column.
        column: String,
    },
    /// A telemetry or flow payload is not valid JSON of the expected shape.
    #[error("malformed payload: {0}")]
    Payload(String),
    /// A reading carries a NaN or infinite value (or a non-number) in a numeric field.
    #[error("non-finite or non-numeric value in field `{field}`")]
    NonFinite {
        /// Field name.
        field: String,
    },
    /// The broker URL is invalid.
    #[error("invalid mqtt url `{0}`: expected mqtt://host[:port]")]
    Url(String),
    /// The MQTT connection failed.
    #[error("mqtt: {0}")]
    Mqtt(String),
    /// A detector error.
    #[error(transparent)]
    Anomaly(#[from] phiguard_anomaly::AnomalyError),
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    Parameter {
        /// Name.
        name: &'static str,
        /// Why.
        reason: String,
    },
}
