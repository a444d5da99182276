//! Error types: one per failure site, each naming what failed and where.

use std::path::PathBuf;

/// Why one NDJSON line was rejected. The caller knows the file and line; this names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The line is not valid JSON (or not the JSON shape of the resource).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The line is JSON but a different resource type than the file holds.
    #[error("expected resourceType `{expected}`, found `{found}`")]
    WrongType {
        /// The type the file or stream holds.
        expected: &'static str,
        /// The type found on the line.
        found: String,
    },
    /// A required field is absent or empty.
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    /// A field is present but its value is not acceptable.
    #[error("field `{field}`: {problem}")]
    Invalid {
        /// The FHIR path of the field.
        field: &'static str,
        /// What is wrong with it (never the PHI value itself).
        problem: String,
    },
}

impl RecordError {
    /// The FHIR path of the offending field, when the error is about one field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RecordError::Missing(f) => Some(f),
            RecordError::Invalid { field, .. } => Some(field),
            RecordError::Json(_) | RecordError::WrongType { .. } => None,
        }
    }
}

/// Errors that stop loading a context directory as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The context directory itself is missing or unreadable.
    #[error("context directory `{path}`: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A context file exists but could not be read.
    #[error("reading `{path}` line {line}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// 1-based line number where reading failed.
        line: usize,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The directory holds none of the files the monitor needs.
    #[error("context directory `{0}` holds no Practitioner.ndjson and no Patient.ndjson")]
    Empty(PathBuf),
}
