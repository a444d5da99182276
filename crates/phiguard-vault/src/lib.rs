//! # phiguard-vault: encrypted patient records
//!
//! Stores FHIR R4 resources (any type, as JSON) per patient, with versions, sealed with
//! AES-256-GCM under a per-patient data key (DEK). Each DEK is wrapped by a key-encryption key
//! (KEK) held by a pluggable [`KeyProvider`]. Destroying a patient's DEKs (crypto-shredding)
//! makes every copy of their records unreadable.
//!
//! ## Design overview
//! - [`envelope`]: the on-disk byte format of a sealed record or wrapped key, and its parser.
//! - [`crypto`]: AES-256-GCM sealing with associated data binding each ciphertext to
//!   tenant, patient, resource type, id and version; HKDF and HMAC helpers.
//! - [`keys`]: the [`KeyProvider`] trait and the local providers (passphrase key file, env).
//! - [`token`]: deterministic per-tenant tokens for patient ids and identifiers.
//! - [`level`]: protection levels and the approval hook for sensitive records.
//! - [`store`]: the [`Storage`] trait with SQLite and PostgreSQL backends.
//! - [`vault`]: the [`Vault`] that ties them together (put/get/rotate/erase/backup).
#![forbid(unsafe_code)]

pub mod bench;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod level;
pub mod store;
pub mod token;
pub mod vault;

pub use error::VaultError;
pub use keys::{EnvKeyProvider, KeyProvider, LocalKeyProvider};
pub use level::{AccessHook, Approval, ProtectionLevel};
pub use store::Storage;
pub use token::PatientToken;
pub use vault::{Vault, VaultConfig};
