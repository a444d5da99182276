//! Where FHIR resources live: the encrypted vault (embedded mode) plus a small index from
//! `(resource type, id)` to the patient the resource belongs to, so `GET /Observation/o1`
//! finds the right per-patient data key.
//!
//! The index never holds a patient id: it maps `(type, id)` to the vault's patient token, a
//! keyed pseudonym (HMAC-SHA-256 under a per-tenant key derived by HKDF from the vault's
//! tokenization root, which the KEK wraps: the key is kept with the vault's keys). Finding the patient of a resource therefore needs the vault's keys:
//! the owner's record is opened and its `subject`/`patient` reference read. An index of the
//! earlier format (`resource_patient`, ids in clear) is migrated when opened: every id is
//! replaced by its token, the old table dropped and the file vacuumed so the clear ids do not
//! linger in free pages.

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
    /// The vault's erasure ledger (`erasures.jsonl` beside the index), so a restore from
    /// backup re-applies erasures made through the gateway.
    erasure_ledger: Option<std::path::PathBuf>,
    migrated: usize,
    /// (type, id) -> patient, for resources whose owner was already found by opening their
    /// record: a resource never changes patient, so later requests skip that decryption (the
    /// read itself still goes through the vault, which refuses erased patients). In memory
    /// only, bounded by [`OWNER_CACHE`].
    owners: Mutex<std::collections::HashMap<(String, String), String>>,
}

/// Most (type, id) -> patient pairs kept by [`VaultStore::patient_of`] (the map is emptied when
/// full).
const OWNER_CACHE: usize = 65_536;

/// Replaces an earlier-format `resource_patient` table (patient ids in clear) by
/// `resource_owner` rows holding the vault's patient tokens; returns the rows migrated.
fn migrate_clear_index(c: &rusqlite::Connection, vault: &Vault) -> Result<usize, rusqlite::Error> {
    let old: bool = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'resource_patient'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if !old {
        return Ok(0);
    }
    let rows: Vec<(String, String, String)> = {
        let mut st = c.prepare("SELECT rtype, id, patient FROM resource_patient")?;
        let it = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        it.collect::<Result<_, _>>()?
    };
    c.execute_batch("BEGIN IMMEDIATE")?;
    let run = || -> Result<(), rusqlite::Error> {
        for (t, id, p) in &rows {
            c.execute(
                "INSERT OR REPLACE INTO resource_owner (rtype, id, owner) VALUES (?1, ?2, ?3)",
                params![t, id, vault.patient_token(p).to_hex()],
            )?;
        }
        c.execute_batch("DROP TABLE resource_patient")
    };
    if let Err(e) = run() {
        let _ = c.execute_batch("ROLLBACK");
        return Err(e);
    }
    c.execute_batch("COMMIT; VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(rows.len())
}

fn token_of_hex(h: &str) -> Option<phiguard_vault::token::PatientToken> {
    let b = hex::decode(h).ok()?;
    Some(phiguard_vault::token::PatientToken(b.try_into().ok()?))
}

/// `meta.tag` system marking a deletion version (FHIR delete keeps history).
pub const TOMBSTONE_TAG: &str = "urn:phiguard:deleted";

/// Whether a stored version is a deletion marker.
pub fn is_tombstone(v: &serde_json::Value) -> bool {
    v.pointer("/meta/tag")
        .and_then(|t| t.as_array())
        .is_some_and(|a| a.iter().any(|t| t["system"] == TOMBSTONE_TAG))
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// A deletion version was written (the resource reads 410 from now on).
    Version(u64),
    /// The patient was crypto-shredded: every record of theirs is unreadable.
    Erased,
    /// Already deleted or erased (FHIR: deleting again has no effect).
    Already,
}

/// RFC 3339 UTC of a unix time.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn gone() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::GONE,
        "deleted",
        "resource was deleted",
    )
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

impl Found {
    /// A stored version with its security labels.
    fn new(json: serde_json::Value, version: u64) -> Found {
        let labels = phiguard_vault::level::labels(&json);
        Found {
            json,
            version,
            labels,
        }
    }
}

/// Parses a record the vault returned (it was validated JSON when stored: failure is a 500).
fn parse_record(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|_| ApiError::internal())
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
             CREATE TABLE IF NOT EXISTS resource_owner (
               rtype TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL,
               PRIMARY KEY (rtype, id));",
        )
        .map_err(bad)?;
        let migrated = migrate_clear_index(&c, &vault).map_err(bad)?;
        Ok(Self {
            vault: Mutex::new(vault),
            index: Mutex::new(c),
            erasure_ledger: index_path.parent().map(|d| d.join("erasures.jsonl")),
            migrated,
            owners: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// Rows of an earlier-format index (patient ids in clear) migrated to pseudonyms when
    /// this store was opened (0 when there was nothing to migrate).
    pub fn migrated(&self) -> usize {
        self.migrated
    }

    fn owner_token(v: &Vault, patient: &str) -> String {
        v.patient_token(patient).to_hex()
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

    /// The patient a resource belongs to: the index gives the owner's vault token, the
    /// owner's latest version (opened internally, never released) names the patient.
    ///
    /// # Errors
    /// 410 when the patient was erased, 500 on index or vault failure.
    pub fn patient_of(&self, rtype: &str, id: &str) -> Result<Option<String>, ApiError> {
        let owner: Option<String> = {
            let c = self.index.lock().map_err(|_| ApiError::internal())?;
            c.prepare_cached("SELECT owner FROM resource_owner WHERE rtype = ?1 AND id = ?2")
                .and_then(|mut st| {
                    st.query_row(params![rtype, id], |r| r.get::<_, String>(0))
                        .optional()
                })
                .map_err(|_| ApiError::internal())?
        };
        let Some(tok) = owner.as_deref().and_then(token_of_hex) else {
            return Ok(None);
        };
        let key = (rtype.to_owned(), id.to_owned());
        if let Some(p) = self.owners.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(Some(p));
        }
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        // A Patient's id is the patient: no record needs opening (it may be erased).
        if rtype == "Patient" {
            return Ok((v.patient_token(id) == tok).then(|| id.to_string()));
        }
        v.set_hook(Box::new(Approved {
            step_up: true,
            two_person: true,
        }));
        let bytes = match v.get_by_token(&tok, rtype, id, None) {
            Ok(b) => b,
            Err(VaultError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(vault_err(&e)),
        };
        let json = parse_record(&bytes)?;
        let patient = crate::app::patient_of_resource(&json);
        // The record must belong to the token it is indexed under.
        let patient = patient.filter(|p| v.patient_token(p) == tok);
        if let (Some(p), Ok(mut m)) = (&patient, self.owners.lock()) {
            if m.len() >= OWNER_CACHE {
                m.clear();
            }
            m.insert(key, p.clone());
        }
        Ok(patient)
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
        // The version comes with the record (no listing of the patient's records), and the
        // JSON the vault parsed for its own label check is reused.
        let (version, json) = v
            .get_versioned(patient, rtype, id, version)
            .map_err(|e| vault_err(&e))?;
        if is_tombstone(&json) {
            return Err(gone());
        }
        Ok(Found::new(json, version))
    }

    /// Every version of a resource, newest first, deletion markers included (FHIR history).
    ///
    /// # Errors
    /// 404 when it never existed, 410 when its patient was erased, 401 (vault approval), 500.
    pub fn history(
        &self,
        patient: &str,
        rtype: &str,
        id: &str,
        step_up: bool,
    ) -> Result<Vec<Found>, ApiError> {
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        v.set_hook(Box::new(Approved {
            step_up,
            two_person: false,
        }));
        let mut versions: Vec<u64> = v
            .list(patient)
            .map_err(|e| vault_err(&e))?
            .into_iter()
            .filter(|(k, _)| k.resource_type == rtype && k.id == id)
            .map(|(k, _)| k.version)
            .collect();
        if versions.is_empty() {
            return Err(ApiError::not_found());
        }
        versions.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::with_capacity(versions.len());
        for ver in versions {
            let bytes = v
                .get(patient, rtype, id, Some(ver))
                .map_err(|e| vault_err(&e))?;
            out.push(Found::new(parse_record(&bytes)?, ver));
        }
        Ok(out)
    }

    /// Deletes a resource. A Patient is crypto-shredded through the vault (every record of
    /// the patient becomes unreadable; the erasure is added to the vault's erasure ledger);
    /// any other resource gets a deletion version (the vault keeps one data key per
    /// patient, so a single record cannot be shredded alone; earlier versions stay readable
    /// by vread and history, as FHIR allows).
    ///
    /// # Errors
    /// 404 when it never existed, 500.
    pub fn delete(
        &self,
        patient: &str,
        rtype: &str,
        id: &str,
        now: i64,
    ) -> Result<Deleted, ApiError> {
        if rtype == "Patient" {
            let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
            return match v.erase(patient) {
                Ok(row) => {
                    if let Some(p) = &self.erasure_ledger {
                        if phiguard_vault::vault::append_ledger(p, &row).is_err() {
                            tracing::error!(
                                "erasure ledger append failed (the erasure itself is done)"
                            );
                        }
                    }
                    Ok(Deleted::Erased)
                }
                Err(VaultError::UnknownPatient { .. }) => Err(ApiError::not_found()),
                Err(VaultError::PatientErased { .. }) => Ok(Deleted::Already),
                Err(e) => Err(vault_err(&e)),
            };
        }
        let latest = {
            let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
            v.set_hook(Box::new(Approved {
                step_up: true,
                two_person: true,
            }));
            let max = match v.list(patient) {
                Ok(k) => k
                    .into_iter()
                    .filter(|(k, _)| k.resource_type == rtype && k.id == id)
                    .map(|(k, _)| k.version)
                    .max(),
                Err(VaultError::UnknownPatient { .. }) => None,
                Err(VaultError::PatientErased { .. }) => return Ok(Deleted::Already),
                Err(e) => return Err(vault_err(&e)),
            };
            let Some(max) = max else {
                return Err(ApiError::not_found());
            };
            match v.get(patient, rtype, id, Some(max)) {
                Ok(b) => serde_json::from_slice::<serde_json::Value>(&b)
                    .map_err(|_| ApiError::internal())?,
                Err(VaultError::PatientErased { .. }) => return Ok(Deleted::Already),
                Err(e) => return Err(vault_err(&e)),
            }
        };
        if is_tombstone(&latest) {
            return Ok(Deleted::Already);
        }
        let mut tomb = serde_json::json!({
            "resourceType": rtype,
            "id": id,
            "meta": {"tag": [{"system": TOMBSTONE_TAG, "code": "deleted"}]}
        });
        // The patient reference stays, so the owner of a deleted resource can still be found.
        for f in ["subject", "patient", "beneficiary"] {
            if let (Some(r), Some(o)) = (latest.get(f), tomb.as_object_mut()) {
                o.insert(f.to_string(), r.clone());
            }
        }
        self.put_stamped(patient, rtype, id, tomb, now)
            .map(|(v, _)| Deleted::Version(v))
    }

    /// Latest versions of a patient's resources of one type (all types when `rtype` is None),
    /// deleted ones left out; filtering, sorting and paging are [`crate::search`]'s.
    ///
    /// # Errors
    /// 401 (vault approval) or 500; an unknown or erased patient gives an empty list.
    pub fn search(
        &self,
        patient: &str,
        rtype: Option<&str>,
        step_up: bool,
    ) -> Result<Vec<Found>, ApiError> {
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        v.set_hook(Box::new(Approved {
            step_up,
            two_person: false,
        }));
        let keys = match v.list(patient) {
            Ok(k) => k,
            Err(VaultError::UnknownPatient { .. } | VaultError::PatientErased { .. }) => {
                return Ok(Vec::new())
            }
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
        for ((t, id), ver) in latest {
            let bytes = match v.get(patient, &t, &id, Some(ver)) {
                Ok(b) => b,
                Err(VaultError::PatientErased { .. }) => return Ok(Vec::new()),
                Err(e) => return Err(vault_err(&e)),
            };
            let json = parse_record(&bytes)?;
            if is_tombstone(&json) {
                continue;
            }
            out.push(Found::new(json, ver));
        }
        Ok(out)
    }

    /// Stores a resource version for a patient and indexes it (see [`VaultStore::put_stamped`]).
    ///
    /// # Errors
    /// 400 for invalid resources, 409 when the id already belongs to another patient, 500.
    pub fn put(&self, patient: &str, rtype: &str, id: &str, body: &[u8]) -> Result<u64, ApiError> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::invalid("invalid resource: not JSON"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.put_stamped(patient, rtype, id, v, now).map(|(v, _)| v)
    }

    /// Stores a new version with `meta.versionId` and `meta.lastUpdated` set to what the
    /// vault records (so read, vread and history agree), indexes it, and returns the version
    /// and the stored JSON.
    ///
    /// # Errors
    /// 400 for invalid resources, 409 when the id already belongs to another patient, 500.
    pub fn put_stamped(
        &self,
        patient: &str,
        rtype: &str,
        id: &str,
        mut resource: serde_json::Value,
        now: i64,
    ) -> Result<(u64, serde_json::Value), ApiError> {
        let c = self.index.lock().map_err(|_| ApiError::internal())?;
        let owner: Option<String> = c
            .query_row(
                "SELECT owner FROM resource_owner WHERE rtype = ?1 AND id = ?2",
                params![rtype, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|_| ApiError::internal())?;
        let mut v = self.vault.lock().map_err(|_| ApiError::internal())?;
        let token = Self::owner_token(&v, patient);
        if owner.as_deref().is_some_and(|o| o != token) {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                "resource id already belongs to another patient",
            ));
        }
        let next = match v.list(patient) {
            Ok(k) => {
                k.iter()
                    .filter(|(k, _)| k.resource_type == rtype && k.id == id)
                    .map(|(k, _)| k.version)
                    .max()
                    .unwrap_or(0)
                    + 1
            }
            Err(VaultError::UnknownPatient { .. }) => 1,
            Err(e) => return Err(vault_err(&e)),
        };
        let Some(o) = resource.as_object_mut() else {
            return Err(ApiError::invalid("invalid resource: not a JSON object"));
        };
        let meta = o.entry("meta").or_insert_with(|| serde_json::json!({}));
        let Some(meta) = meta.as_object_mut() else {
            return Err(ApiError::invalid("invalid resource: meta is not an object"));
        };
        meta.insert("versionId".into(), serde_json::json!(next.to_string()));
        meta.insert("lastUpdated".into(), serde_json::json!(rfc3339(now)));
        let bytes = resource.to_string().into_bytes();
        let put = v.put(patient, &bytes).map_err(|e| vault_err(&e))?;
        if put.version != next {
            tracing::error!("vault version differs from the one stamped in meta");
            return Err(ApiError::internal());
        }
        c.execute(
            "INSERT OR IGNORE INTO resource_owner (rtype, id, owner) VALUES (?1, ?2, ?3)",
            params![rtype, id, token],
        )
        .map_err(|_| ApiError::internal())?;
        Ok((put.version, resource))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vault(dir: &Path) -> Vault {
        let store =
            phiguard_vault::store::sqlite::SqliteStore::open(&dir.join("vault.db")).unwrap();
        let provider = phiguard_vault::EnvKeyProvider::from_bytes(&[9u8; 32]).unwrap();
        Vault::create(
            Box::new(store),
            Box::new(provider),
            phiguard_vault::vault::VaultConfig::default(),
        )
        .unwrap()
    }

    fn file_has(dir: &Path, needle: &str) -> bool {
        ["gateway-index.db", "gateway-index.db-wal"]
            .iter()
            .any(|f| {
                std::fs::read(dir.join(f))
                    .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
                    .unwrap_or(false)
            })
    }

    const OBS: &str = r#"{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/zz-patient-9"}}"#;

    #[test]
    fn index_holds_pseudonyms_only() {
        let d = tempfile::tempdir().unwrap();
        let s = VaultStore::new(vault(d.path()), &d.path().join("gateway-index.db")).unwrap();
        assert_eq!(s.migrated(), 0);
        s.put("zz-patient-9", "Observation", "o1", OBS.as_bytes())
            .unwrap();
        assert_eq!(
            s.patient_of("Observation", "o1").unwrap().as_deref(),
            Some("zz-patient-9")
        );
        assert_eq!(s.patient_of("Observation", "o2").unwrap(), None);
        assert!(!file_has(d.path(), "zz-patient-9"));
        // Another patient cannot take the id over.
        let other =
            r#"{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p2"}}"#;
        let e = s
            .put("p2", "Observation", "o1", other.as_bytes())
            .unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::CONFLICT);
    }

    #[test]
    fn clear_text_index_is_migrated_and_purged() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("gateway-index.db");
        let mut v = vault(d.path());
        v.put("zz-patient-9", OBS.as_bytes()).unwrap();
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch(
                "PRAGMA journal_mode=WAL;
                 CREATE TABLE resource_patient (rtype TEXT NOT NULL, id TEXT NOT NULL,
                   patient TEXT NOT NULL, PRIMARY KEY (rtype, id));
                 INSERT INTO resource_patient VALUES ('Observation', 'o1', 'zz-patient-9');",
            )
            .unwrap();
        }
        assert!(file_has(d.path(), "zz-patient-9"));
        let s = VaultStore::new(v, &path).unwrap();
        assert_eq!(s.migrated(), 1);
        assert!(!file_has(d.path(), "zz-patient-9"), "clear ids purged");
        assert_eq!(
            s.patient_of("Observation", "o1").unwrap().as_deref(),
            Some("zz-patient-9")
        );
        let f = s
            .read("zz-patient-9", "Observation", "o1", None, false)
            .unwrap();
        assert_eq!(f.json["id"], "o1");
        drop(s);
        // Opening again: nothing left to migrate.
        let s = VaultStore::new(vault_reopen(d.path()), &path).unwrap();
        assert_eq!(s.migrated(), 0);
    }

    fn vault_reopen(dir: &Path) -> Vault {
        let store =
            phiguard_vault::store::sqlite::SqliteStore::open(&dir.join("vault.db")).unwrap();
        let provider = phiguard_vault::EnvKeyProvider::from_bytes(&[9u8; 32]).unwrap();
        Vault::open(Box::new(store), Box::new(provider)).unwrap()
    }
}
