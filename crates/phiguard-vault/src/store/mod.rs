//! Storage of sealed records and wrapped keys. Backends see only ciphertext, wrapped keys and
//! tokens: no plaintext PHI and no patient id ever reaches a backend.
//!
//! Every multi-row change is one transaction, so a crash leaves either the old or the new
//! state. [`sqlite::SqliteStore`] is the embedded default; `postgres::PgStore` (feature
//! `postgres`) scales out. Both pass the same test suite (`tests/store_suite.rs`).

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

use std::path::Path;

use crate::error::VaultError;
use crate::token::PatientToken;

/// A wrapped patient data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyRow {
    /// Patient.
    pub patient: PatientToken,
    /// Data-key version (1-based, per patient).
    pub version: u32,
    /// KEK version that wrapped it.
    pub kek_version: u32,
    /// Wrapped key bytes.
    pub wrapped: Vec<u8>,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// AES-GCM invocations (seals) made with this key so far.
    pub invocations: u64,
}

/// A patient's key state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRow {
    /// Patient.
    pub patient: PatientToken,
    /// Data-key version used for new records.
    pub current_dk: u32,
    /// Minimum data-key version that may still decrypt.
    pub min_dk: u32,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Set once the patient was crypto-shredded.
    pub erased_at: Option<i64>,
}

/// Identifies one stored record version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordKey {
    /// Patient.
    pub patient: PatientToken,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub id: String,
    /// Version (1-based).
    pub version: u64,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// Which record.
    pub key: RecordKey,
    /// Data-key version that sealed it.
    pub dk_version: u32,
    /// Sealed envelope.
    pub envelope: Vec<u8>,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// An erasure, recorded without PHI (the patient appears only as a token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErasureRow {
    /// Sequence number.
    pub seq: i64,
    /// Patient token (hex).
    pub patient: String,
    /// When, unix seconds.
    pub erased_at: i64,
    /// Data-key versions destroyed.
    pub keys_destroyed: u64,
    /// Records made unreadable.
    pub records: u64,
}

/// Persisted state of a background job (re-encryption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Job name.
    pub name: String,
    /// Last record processed (resume point).
    pub cursor: Option<RecordKey>,
    /// Records examined so far.
    pub processed: u64,
    /// Records re-encrypted so far.
    pub changed: u64,
    /// Records that failed to open (tampered or missing key) and were skipped.
    pub failed: u64,
    /// Records in scope when the job started.
    pub total: u64,
    /// "running" or "done".
    pub state: String,
}

/// Aggregate key statistics for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeyStats {
    /// Patients (including erased).
    pub patients: u64,
    /// Erased patients.
    pub erased: u64,
    /// Stored record versions.
    pub records: u64,
    /// Live wrapped data keys.
    pub data_keys: u64,
    /// Highest invocation count of any data key.
    pub max_invocations: u64,
    /// Sum of invocation counts.
    pub total_invocations: u64,
    /// Creation time of the oldest live data key.
    pub oldest_key_created_at: Option<i64>,
    /// Data keys wrapped by each KEK version: (kek version, count).
    pub keys_by_kek: Vec<(u32, u64)>,
    /// Records sealed under a data key older than the patient's current one.
    pub records_on_old_keys: u64,
}

/// Seals a record once its version number is known.
pub type SealFn<'a> = dyn FnMut(u64) -> Result<Vec<u8>, VaultError> + 'a;

/// A storage backend. All methods are synchronous; callers in async code use a blocking pool.
pub trait Storage: Send {
    /// Backend name ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// Reads a metadata value.
    fn meta_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, VaultError>;
    /// Writes a metadata value.
    fn meta_put(&mut self, key: &str, value: &[u8]) -> Result<(), VaultError>;
    /// Reads a patient's key state.
    fn patient(&mut self, patient: &PatientToken) -> Result<Option<PatientRow>, VaultError>;
    /// Lists all patients (sorted by token).
    fn patients(&mut self) -> Result<Vec<PatientRow>, VaultError>;
    /// Adds a data key and makes it the patient's current one (creating the patient row).
    /// Fails if the version exists or the patient is erased.
    fn add_data_key(&mut self, key: &DataKeyRow) -> Result<(), VaultError>;
    /// A patient's live data keys, ascending by version.
    fn data_keys(&mut self, patient: &PatientToken) -> Result<Vec<DataKeyRow>, VaultError>;
    /// Up to `limit` data keys wrapped by a KEK version below `kek_version`.
    fn data_keys_below_kek(
        &mut self,
        kek_version: u32,
        limit: usize,
    ) -> Result<Vec<DataKeyRow>, VaultError>;
    /// Replaces the wrapping of data keys (KEK rotation) in one transaction: each entry is
    /// (patient, data-key version, new KEK version, new wrapped bytes). Returns rows changed.
    fn rewrap_data_keys(
        &mut self,
        batch: &[(PatientToken, u32, u32, Vec<u8>)],
    ) -> Result<u64, VaultError>;
    /// Destroys a patient's data keys below `min_dk` and records the new minimum.
    /// Returns the number destroyed.
    fn retire_data_keys(&mut self, patient: &PatientToken, min_dk: u32) -> Result<u64, VaultError>;
    /// In one transaction: assigns the next version of (patient, type, id), calls `seal` with
    /// it, stores the envelope and increments the data key's invocation counter.
    fn append_record(
        &mut self,
        patient: &PatientToken,
        resource_type: &str,
        id: &str,
        dk_version: u32,
        seal: &mut SealFn<'_>,
    ) -> Result<u64, VaultError>;
    /// Reads one record version (latest if `version` is None).
    fn record(
        &mut self,
        patient: &PatientToken,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<Option<RecordRow>, VaultError>;
    /// Lists a patient's records (keys and data-key versions, no envelopes), sorted.
    fn list_records(&mut self, patient: &PatientToken)
        -> Result<Vec<(RecordKey, u32)>, VaultError>;
    /// Up to `limit` records after `cursor` in key order, across all patients.
    fn records_after(
        &mut self,
        cursor: Option<&RecordKey>,
        limit: usize,
    ) -> Result<Vec<RecordRow>, VaultError>;
    /// Replaces a record's envelope if it is still sealed under `old_dk` and bumps the new
    /// key's invocation counter, in one transaction. Returns false if nothing changed.
    fn replace_envelope(
        &mut self,
        key: &RecordKey,
        old_dk: u32,
        new_dk: u32,
        envelope: &[u8],
    ) -> Result<bool, VaultError>;
    /// Adds identifier tokens for a patient (idempotent).
    fn add_identifiers(
        &mut self,
        patient: &PatientToken,
        tokens: &[[u8; 32]],
    ) -> Result<(), VaultError>;
    /// Patients carrying an identifier token.
    fn find_identifier(&mut self, token: &[u8; 32]) -> Result<Vec<PatientToken>, VaultError>;
    /// Crypto-shreds a patient in one transaction: destroys all its data keys and identifier
    /// tokens, marks it erased and appends an erasure record. Then scrubs freed pages.
    fn erase_patient(&mut self, patient: &PatientToken, at: i64) -> Result<ErasureRow, VaultError>;
    /// All erasure records.
    fn erasures(&mut self) -> Result<Vec<ErasureRow>, VaultError>;
    /// Reads a job's state.
    fn job(&mut self, name: &str) -> Result<Option<JobRow>, VaultError>;
    /// Writes a job's state.
    fn put_job(&mut self, job: &JobRow) -> Result<(), VaultError>;
    /// Aggregate statistics.
    fn key_stats(&mut self) -> Result<KeyStats, VaultError>;
    /// Writes a consistent snapshot to `path` (still encrypted).
    fn backup_to(&mut self, path: &Path) -> Result<(), VaultError>;
}
