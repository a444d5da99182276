//! The vault's error type. Messages never contain PHI: records are named by patient token
//! prefix, resource type, id and version; never by content.

use std::path::PathBuf;

/// Names a stored record without revealing PHI (the patient appears as a token prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// First 8 hex characters of the patient token.
    pub patient: String,
    /// FHIR resource type.
    pub resource_type: String,
    /// FHIR logical id.
    pub id: String,
    /// Record version (1-based), if known.
    pub version: Option<u64>,
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "patient#{} {}/{}",
            self.patient, self.resource_type, self.id
        )?;
        if let Some(v) = self.version {
            write!(f, "/_history/{v}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The passphrase does not open the key file.
    #[error("wrong passphrase for key file `{path}` (or its check value is corrupted)")]
    WrongPassphrase {
        /// Key file path.
        path: PathBuf,
    },
    /// The key file does not exist.
    #[error("key file `{path}` is missing")]
    KeyFileMissing {
        /// Key file path.
        path: PathBuf,
    },
    /// The key file exists but cannot be parsed or one of its entries fails authentication.
    #[error("key file `{path}` is corrupted: {reason}")]
    KeyFileCorrupt {
        /// Key file path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key provider failed (missing KEK version, bad configuration, unsupported operation).
    #[error("key provider `{provider}`: {reason}")]
    Provider {
        /// Provider kind.
        provider: &'static str,
        /// What failed.
        reason: String,
    },
    /// A record's ciphertext failed authentication: tampered, moved to another row, or opened
    /// with the wrong key. Never returns garbage.
    #[error(
        "record {record} failed authentication (tampered, moved from another row, or wrong key)"
    )]
    RecordAuth {
        /// Which record.
        record: RecordRef,
    },
    /// A record's stored bytes are not a valid envelope.
    #[error("record {record}: malformed envelope: {reason}")]
    RecordFormat {
        /// Which record.
        record: RecordRef,
        /// Parser message.
        reason: String,
    },
    /// A wrapped data key failed to unwrap (tampered, or its KEK version is gone).
    #[error("data key v{version} of patient#{patient} failed to unwrap{}: {reason}", record.as_ref().map(|r| format!(" (needed by {r})")).unwrap_or_default())]
    KeyUnwrap {
        /// Patient token prefix.
        patient: String,
        /// Data key version.
        version: u32,
        /// The record that needed the key, if any.
        record: Option<Box<RecordRef>>,
        /// Why.
        reason: String,
    },
    /// The data key version needed is below the patient's minimum decryption version.
    #[error("record {record} is sealed under retired data key v{version} (minimum decryption version is v{min})")]
    KeyRetired {
        /// Which record.
        record: RecordRef,
        /// Key version of the record.
        version: u32,
        /// Minimum decryption version.
        min: u32,
    },
    /// The patient was crypto-shredded.
    #[error(
        "patient#{patient} was erased at unix time {erased_at}; {what} can no longer be opened"
    )]
    PatientErased {
        /// Patient token prefix.
        patient: String,
        /// When (unix seconds).
        erased_at: i64,
        /// What was requested (a record ref or "records").
        what: String,
    },
    /// No such patient.
    #[error("no patient#{patient} in the vault")]
    UnknownPatient {
        /// Patient token prefix.
        patient: String,
    },
    /// No such record.
    #[error("record {record} not found")]
    NotFound {
        /// Which record.
        record: RecordRef,
    },
    /// The input resource is not acceptable.
    #[error("invalid resource: {0}")]
    InvalidResource(String),
    /// The access hook requires an approval that was not given.
    #[error("record {record}: access requires {requirement} at protection level {level}")]
    ApprovalRequired {
        /// Which record.
        record: Box<RecordRef>,
        /// What is required (step-up, two-person approval).
        requirement: String,
        /// Current level.
        level: String,
    },
    /// The access hook denied access.
    #[error("record {record}: access denied by policy: {reason}")]
    AccessDenied {
        /// Which record.
        record: RecordRef,
        /// Why.
        reason: String,
    },
    /// An operation cannot proceed in the current state.
    #[error("{0}")]
    InvalidState(String),
    /// The storage backend failed.
    #[error("storage ({backend}): {message}")]
    Storage {
        /// Backend name.
        backend: &'static str,
        /// Backend message (contains no record contents).
        message: String,
    },
    /// A file operation failed.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The tokenization root key failed to unwrap (wrong KEK or tampered metadata).
    #[error("tokenization root key failed to unwrap (wrong key-encryption key for this vault?): {reason}")]
    TokenRoot {
        /// Why.
        reason: String,
    },
    /// The crypto library reported a failure (e.g. no randomness).
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
}

impl VaultError {
    /// Wraps a rusqlite error.
    pub(crate) fn sqlite(e: rusqlite::Error) -> Self {
        VaultError::Storage {
            backend: "sqlite",
            message: e.to_string(),
        }
    }
}
