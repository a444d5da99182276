//! Where FHIR resources live: the encrypted vault (embedded mode) plus a small index from
//! `(resource type, id)` to the patient the resource belongs to, so `GET /Observation/o1`
//! finds the right per-patient data key.
//!
//! The index stores patient ids in clear (opaque FHIR ids; the vault itself stores only
//! tokens). See README "Known gaps".

use std::path::Path;
use std::sync::Mutex;

use phiguard_vault::level::Approved;
use phiguard_vault::vault::Vault;
use phiguard_vault::VaultError;
use rusqlite::{params, OptionalExtension as _};

use crate::error::{ApiError, SetupError};

/// The vault and its patient index.
pub struct VaultStore {
    vault: Mutex<Vault>,
    index: Mutex<rusqlite::Connection>,
}

impl std::fmt::Debug for VaultStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultStore")
    }
}

/// A stored resource as read.
#[derive(Debug, Clone)]
pub struct Found {
    /// The JSON.
    pub json: serde_json::Value,
    /// Version.
    pub version: u64,
    /// Security labels.
    pub labels: Vec<String>,
}

fn vault_err(e: &VaultError) -> ApiError {
    match e {
        VaultError::NotFound { .. } | VaultError::UnknownPatient { .. } => ApiError::not_found(),
        VaultError::PatientErased { .. } => ApiError::new(
            axum::http::StatusCode::GONE,
            "deleted",
            "resource was erased",
        ),
        VaultError::InvalidResource(m) => ApiError::invalid(format!("invalid resource: {m}")),
        VaultError::ApprovalRequired {
            requirement, level, ..
        } => ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "security",
            format!("the vault requires {requirement} at protection level {level}"),
        ),
        _ => {
            tracing::error!(kind = "vault", "vault operation failed");
            ApiError::internal()
        }
    }
}

impl VaultStore {
    /// Wraps an open vault; the index lives in `index_path` (SQLite).
    ///
    /// # Errors
    /// SQLite errors opening the index.
    pub fn new(vault: Vault, index_path: &Path) -> Result<Self, SetupError> {
        let bad = |e: rusqlite::Error| SetupError::Invalid {
            what: "resource index",
            path: index_path.to_owned(),
            reason: e.to_string(),
        };
        let c = rusqlite::Connection::open(index_path).map_err(bad)?;
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS resource_patient (
               rtype TEXT NOT NULL, id TEXT NOT NULL, patient TEXT NOT NULL,
               PRIMARY KEY (rtype, id));",
        )
        .map_err(bad)?;
        Ok(Self {
            vault: Mutex::new(vault),
            index: Mutex::new(c),
        })
    }

    /// The vault's tenant.
    pub fn tenant(&self) -> String {
        self.vault
            .lock()
            .map(|v| v.tenant().to_string())
            .unwrap_or_default()
    }

    /// The vault's protection level code.
    pub fn level(&self) -> &'static str {
        self.vault
            .lock()
            .map(|v| v.level().as_str())
            .unwrap_or("lockdown")
    }

    /// The patient a resource belongs to.
    ///
    /// # Errors
    /// 500 on index failure.
    pub fn patient_of(&self, rtype: &str, id: &str) -> Result<Option<String>, ApiError> {
        let c = self.index.lock().map_err(|_| ApiError::internal())?;
        c.query_row(
            "SELECT patient FROM resource_patient WHERE rtype = ?1 AND id = ?2",
            params![rtype, id],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map_err(|_| ApiError::internal())
    }

    /// Reads a resource (latest or a version) of a patient.
    ///
    /// # Errors
    /// 404, 410, 401 (vault approval) or 500.
    pub fn read(
        &self,
        patient: &str,
        rtype: &str,
        id: &str,
        version: Option<u64>,
        step_up: bool,
    ) -> Result<Found, ApiError> {
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        v.set_hook(Box::new(Approved {
            step_up,
            two_person: false,
        }));
        let bytes = v
            .get(patient, rtype, id, version)
            .map_err(|e| vault_err(&e))?;
        let version = match version {
            Some(n) => n,
            None => v
                .list(patient)
                .map_err(|e| vault_err(&e))?
                .iter()
                .filter(|(k, _)| k.resource_type == rtype && k.id == id)
                .map(|(k, _)| k.version)
                .max()
                .unwrap_or(1),
        };
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| ApiError::internal())?;
        let labels = phiguard_vault::level::labels(&json);
        Ok(Found {
            json,
            version,
            labels,
        })
    }

    /// Latest versions of a patient's resources of one type (all types when `rtype` is None).
    ///
    /// # Errors
    /// 401 (vault approval) or 500; an unknown patient gives an empty list.
    pub fn search(
        &self,
        patient: &str,
        rtype: Option<&str>,
        step_up: bool,
        limit: usize,
    ) -> Result<Vec<Found>, ApiError> {
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        v.set_hook(Box::new(Approved {
            step_up,
            two_person: false,
        }));
        let keys = match v.list(patient) {
            Ok(k) => k,
            Err(VaultError::UnknownPatient { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(vault_err(&e)),
        };
        let mut latest: std::collections::BTreeMap<(String, String), u64> = Default::default();
        for (k, _) in keys {
            if rtype.is_some_and(|t| t != k.resource_type) {
                continue;
            }
            let e = latest.entry((k.resource_type, k.id)).or_insert(0);
            *e = (*e).max(k.version);
        }
        let mut out = Vec::new();
        for ((t, id), ver) in latest.into_iter().take(limit) {
            let bytes = v
                .get(patient, &t, &id, Some(ver))
                .map_err(|e| vault_err(&e))?;
            let json: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|_| ApiError::internal())?;
            let labels = phiguard_vault::level::labels(&json);
            out.push(Found {
                json,
                version: ver,
                labels,
            });
        }
        Ok(out)
    }

    /// Stores a resource version for a patient and indexes it.
    ///
    /// # Errors
    /// 400 for invalid resources, 409 when the id already belongs to another patient, 500.
    pub fn put(&self, patient: &str, rtype: &str, id: &str, body: &[u8]) -> Result<u64, ApiError> {
        let c = self.index.lock().map_err(|_| ApiError::internal())?;
        let owner: Option<String> = c
            .query_row(
                "SELECT patient FROM resource_patient WHERE rtype = ?1 AND id = ?2",
                params![rtype, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|_| ApiError::internal())?;
        if owner.as_deref().is_some_and(|o| o != patient) {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                "resource id already belongs to another patient",
            ));
        }
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        let put = v.put(patient, body).map_err(|e| vault_err(&e))?;
        c.execute(
            "INSERT OR IGNORE INTO resource_patient (rtype, id, patient) VALUES (?1, ?2, ?3)",
            params![rtype, id, patient],
        )
        .map_err(|_| ApiError::internal())?;
        Ok(put.version)
    }
}
