//! The [`Vault`]: put/get of FHIR resources per patient, key lifecycle (rotation, retirement,
//! re-encryption, crypto-shredding), identifier search, status and backup.
//!
//! Key hierarchy: KEK (provider) → per-patient data keys (versioned, wrapped, in storage) →
//! records. A separate tokenization root (wrapped by the KEK) → per-tenant HKDF keys →
//! patient and identifier tokens.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::crypto::{self, OpenError, SealKey, SecretKey};
use crate::envelope::Kind;
use crate::error::{RecordRef, VaultError};
use crate::keys::{KekInfo, KeyProvider, UnwrapError};
use crate::level::{self, AccessHook, AccessRequest, Approval, DefaultPolicy, ProtectionLevel};
use crate::store::{DataKeyRow, ErasureRow, JobRow, KeyStats, PatientRow, RecordKey, Storage};
use crate::token::{IdentifierKind, PatientToken, Tokenizer};

/// SP 800-38D §8.3: with random 96-bit nonces, at most 2^32 invocations per key. The vault
/// rotates a patient's data key at 2^30 (a collision probability below 2^-35).
pub const DEFAULT_MAX_INVOCATIONS: u64 = 1 << 30;
/// Name of the re-encryption job.
pub const REENCRYPT_JOB: &str = "reencrypt";

/// Current unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Options fixed at vault creation.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Tenant name, bound into every ciphertext and token.
    pub tenant: String,
    /// Data-key rotation threshold (AES-GCM invocations per key). At most 2^32.
    pub max_invocations_per_key: u64,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            tenant: "default".into(),
            max_invocations_per_key: DEFAULT_MAX_INVOCATIONS,
        }
    }
}

/// Result of a put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PutResult {
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub id: String,
    /// New version.
    pub version: u64,
    /// Data-key version that sealed it.
    pub dk_version: u32,
}

/// `status` output.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Storage backend.
    pub backend: &'static str,
    /// Key provider kind.
    pub provider: &'static str,
    /// Tenant.
    pub tenant: String,
    /// Protection level.
    pub level: ProtectionLevel,
    /// Current KEK version.
    pub kek_current: u32,
    /// KEK versions and their ages.
    pub keks: Vec<KekInfo>,
    /// Data-key rotation threshold.
    pub max_invocations_per_key: u64,
    /// Aggregates.
    pub stats: KeyStats,
    /// Re-encryption job state, if any.
    pub reencrypt: Option<JobStatus>,
}

/// Re-encryption job progress for `status`.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// "running" or "done".
    pub state: String,
    /// Records examined.
    pub processed: u64,
    /// Records re-encrypted.
    pub changed: u64,
    /// Records skipped because they failed to open.
    pub failed: u64,
    /// Records on old keys when the job started.
    pub total: u64,
}

/// `verify` output: every record was opened (hook bypassed, plaintext discarded).
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Records that opened.
    pub ok: u64,
    /// Records of erased patients (unreadable by design).
    pub erased: u64,
    /// Errors, one message per failing record.
    pub failures: Vec<String>,
}

struct CachedKey {
    key: Arc<SealKey>,
    at: Instant,
}

/// The PHI vault.
pub struct Vault {
    store: Box<dyn Storage>,
    provider: Box<dyn KeyProvider>,
    tenant: String,
    tokenizer: Tokenizer,
    level: ProtectionLevel,
    hook: Box<dyn AccessHook>,
    max_invocations: u64,
    cache: HashMap<(PatientToken, u32), CachedKey>,
    cache_limit: usize,
}

fn rref(p: &PatientToken, t: &str, id: &str, v: Option<u64>) -> RecordRef {
    RecordRef {
        patient: p.short(),
        resource_type: t.to_string(),
        id: id.to_string(),
        version: v,
    }
}

fn valid_type(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphabetic())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

impl Vault {
    /// Initialises a new vault in an empty store.
    pub fn create(
        mut store: Box<dyn Storage>,
        provider: Box<dyn KeyProvider>,
        config: VaultConfig,
    ) -> Result<Self, VaultError> {
        if store.meta_get("format")?.is_some() {
            return Err(VaultError::InvalidState(
                "the store already holds a vault; refusing to initialise it again".into(),
            ));
        }
        if config.max_invocations_per_key == 0 || config.max_invocations_per_key > 1 << 32 {
            return Err(VaultError::InvalidState(
                "max invocations per key must be in 1..=2^32 (SP 800-38D)".into(),
            ));
        }
        let root = crypto::random_key()?;
        let w = provider.wrap(
            Kind::TokenRoot,
            &crypto::token_root_context(&config.tenant),
            &root,
        )?;
        let mut tr = w.kek_version.to_be_bytes().to_vec();
        tr.extend_from_slice(&w.bytes);
        store.meta_put("tenant", config.tenant.as_bytes())?;
        store.meta_put("token_root", &tr)?;
        store.meta_put("level", b"normal")?;
        store.meta_put(
            "max_invocations",
            config.max_invocations_per_key.to_string().as_bytes(),
        )?;
        store.meta_put("format", b"1")?;
        Self::open(store, provider)
    }

    /// Opens an existing vault.
    pub fn open(
        mut store: Box<dyn Storage>,
        provider: Box<dyn KeyProvider>,
    ) -> Result<Self, VaultError> {
        let text = |store: &mut Box<dyn Storage>, k: &str| -> Result<String, VaultError> {
            let v = store.meta_get(k)?.ok_or_else(|| {
                VaultError::InvalidState(format!(
                    "no vault here (metadata `{k}` missing); run `phiguard vault init` first"
                ))
            })?;
            String::from_utf8(v)
                .map_err(|_| VaultError::InvalidState(format!("metadata `{k}` is not utf-8")))
        };
        let format = text(&mut store, "format")?;
        if format != "1" {
            return Err(VaultError::InvalidState(format!(
                "unsupported vault format `{format}`"
            )));
        }
        let tenant = text(&mut store, "tenant")?;
        let level = ProtectionLevel::parse(&text(&mut store, "level")?)
            .unwrap_or(ProtectionLevel::Lockdown);
        let max_invocations = text(&mut store, "max_invocations")?
            .parse::<u64>()
            .map_err(|_| {
                VaultError::InvalidState("metadata `max_invocations` is not a number".into())
            })?;
        let tr = store
            .meta_get("token_root")?
            .ok_or_else(|| VaultError::TokenRoot {
                reason: "missing".into(),
            })?;
        if tr.len() < 4 {
            return Err(VaultError::TokenRoot {
                reason: "truncated".into(),
            });
        }
        let (kv, wrapped) = tr.split_at(4);
        let kek_version = u32::from_be_bytes([kv[0], kv[1], kv[2], kv[3]]);
        let root = provider
            .unwrap(
                Kind::TokenRoot,
                kek_version,
                &crypto::token_root_context(&tenant),
                wrapped,
            )
            .map_err(|e| VaultError::TokenRoot {
                reason: e.to_string(),
            })?;
        let tokenizer = Tokenizer::new(&root, &tenant)?;
        Ok(Vault {
            store,
            provider,
            tenant,
            tokenizer,
            level,
            hook: Box::new(DefaultPolicy),
            max_invocations,
            cache: HashMap::new(),
            cache_limit: 100_000,
        })
    }

    /// Replaces the access hook (default: [`DefaultPolicy`]).
    pub fn set_hook(&mut self, hook: Box<dyn AccessHook>) {
        self.hook = hook;
    }

    /// Current protection level.
    pub fn level(&self) -> ProtectionLevel {
        self.level
    }

    /// Changes and persists the protection level; a stricter level drops the key cache.
    pub fn set_level(&mut self, level: ProtectionLevel) -> Result<(), VaultError> {
        self.store.meta_put("level", level.as_str().as_bytes())?;
        if level > self.level {
            self.cache.clear();
        }
        self.level = level;
        Ok(())
    }

    /// Number of unwrapped data keys currently cached.
    pub fn key_cache_len(&self) -> usize {
        self.cache.len()
    }

    /// Drops every cached unwrapped data key.
    pub fn clear_key_cache(&mut self) {
        self.cache.clear();
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The token of a patient id.
    pub fn patient_token(&self, patient_id: &str) -> PatientToken {
        self.tokenizer.patient(patient_id)
    }

    /// Direct access to the storage backend (tests, tools).
    pub fn store_mut(&mut self) -> &mut dyn Storage {
        self.store.as_mut()
    }

    fn unwrap_data_key(
        &mut self,
        p: &PatientToken,
        version: u32,
        record: Option<&RecordRef>,
    ) -> Result<Arc<SealKey>, VaultError> {
        let ttl = self.level.key_cache_ttl();
        if let Some(c) = self.cache.get(&(*p, version)) {
            if c.at.elapsed() < ttl {
                return Ok(c.key.clone());
            }
        }
        let keys = self.store.data_keys(p)?;
        let fail = |reason: String| VaultError::KeyUnwrap {
            patient: p.short(),
            version,
            record: record.map(|r| Box::new(r.clone())),
            reason,
        };
        let row = keys
            .iter()
            .find(|k| k.version == version)
            .ok_or_else(|| fail("no such data key in storage".into()))?;
        let secret: SecretKey = self
            .provider
            .unwrap(
                Kind::DataKey,
                row.kek_version,
                &crypto::data_key_context(&self.tenant, &p.0, version),
                &row.wrapped,
            )
            .map_err(|e: UnwrapError| fail(e.to_string()))?;
        let key = Arc::new(SealKey::new(&secret)?);
        if !ttl.is_zero() {
            if self.cache.len() >= self.cache_limit {
                self.cache.retain(|_, c| c.at.elapsed() < ttl);
                if self.cache.len() >= self.cache_limit {
                    self.cache.clear();
                }
            }
            self.cache.insert(
                (*p, version),
                CachedKey {
                    key: key.clone(),
                    at: Instant::now(),
                },
            );
        }
        Ok(key)
    }

    fn new_data_key(&mut self, p: &PatientToken, version: u32) -> Result<(), VaultError> {
        let dk = crypto::random_key()?;
        let w = self.provider.wrap(
            Kind::DataKey,
            &crypto::data_key_context(&self.tenant, &p.0, version),
            &dk,
        )?;
        self.store.add_data_key(&DataKeyRow {
            patient: *p,
            version,
            kek_version: w.kek_version,
            wrapped: w.bytes,
            created_at: now(),
            invocations: 0,
        })
    }

    /// The data-key version for new records: creates v1 for a new patient and a new version
    /// when the current key reached the invocation limit.
    fn write_key(&mut self, p: &PatientToken) -> Result<u32, VaultError> {
        match self.store.patient(p)? {
            Some(PatientRow {
                erased_at: Some(at),
                ..
            }) => Err(VaultError::PatientErased {
                patient: p.short(),
                erased_at: at,
                what: "new records".into(),
            }),
            Some(row) => {
                let keys = self.store.data_keys(p)?;
                let cur = keys.iter().find(|k| k.version == row.current_dk);
                match cur {
                    Some(k) if k.invocations < self.max_invocations => Ok(k.version),
                    _ => {
                        let v = keys
                            .iter()
                            .map(|k| k.version)
                            .max()
                            .unwrap_or(0)
                            .max(row.current_dk)
                            + 1;
                        self.new_data_key(p, v)?;
                        Ok(v)
                    }
                }
            }
            None => {
                self.new_data_key(p, 1)?;
                Ok(1)
            }
        }
    }

    /// Stores a new version of a FHIR resource (JSON with `resourceType` and `id`).
    pub fn put(&mut self, patient_id: &str, resource_json: &[u8]) -> Result<PutResult, VaultError> {
        let value: serde_json::Value = serde_json::from_slice(resource_json).map_err(|e| {
            VaultError::InvalidResource(format!(
                "not valid json at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        let rtype = value
            .get("resourceType")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                VaultError::InvalidResource("field `resourceType` missing or not a string".into())
            })?
            .to_string();
        if !valid_type(&rtype) {
            return Err(VaultError::InvalidResource(
                "field `resourceType` is not a FHIR type name".into(),
            ));
        }
        let id = value
            .get("id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                VaultError::InvalidResource("field `id` missing or not a string".into())
            })?
            .to_string();
        if !valid_id(&id) {
            return Err(VaultError::InvalidResource(
                "field `id` is not a FHIR id ([A-Za-z0-9-.]{1,64})".into(),
            ));
        }
        if patient_id.is_empty() {
            return Err(VaultError::InvalidResource("empty patient id".into()));
        }
        let p = self.tokenizer.patient(patient_id);
        let dk_version = self.write_key(&p)?;
        let key = self.unwrap_data_key(&p, dk_version, None)?;
        let tenant = self.tenant.clone();
        let mut seal = |version: u64| {
            let ctx = crypto::record_context(&tenant, &p.0, &rtype, &id, version);
            key.seal(Kind::Record, dk_version, &ctx, resource_json)
        };
        let version = self
            .store
            .append_record(&p, &rtype, &id, dk_version, &mut seal)?;
        let ids = crate::token::extract_identifiers(&value);
        if !ids.is_empty() {
            let toks: Vec<[u8; 32]> = ids
                .iter()
                .map(|(k, v)| self.tokenizer.identifier(k, v))
                .collect();
            self.store.add_identifiers(&p, &toks)?;
        }
        Ok(PutResult {
            resource_type: rtype,
            id,
            version,
            dk_version,
        })
    }

    /// Reads a resource (latest version unless `version` is given), subject to the hook.
    pub fn get(
        &mut self,
        patient_id: &str,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<Vec<u8>, VaultError> {
        let p = self.tokenizer.patient(patient_id);
        self.get_by_token(&p, resource_type, id, version)
    }

    /// Like [`Vault::get`] with a patient token (e.g. from [`Vault::find_by_identifier`]).
    pub fn get_by_token(
        &mut self,
        p: &PatientToken,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<Vec<u8>, VaultError> {
        self.open_checked(p, resource_type, id, version)
            .map(|(_, plain, _)| plain)
    }

    /// Like [`Vault::get`], but returns the version read and the parsed JSON (the vault parses
    /// it anyway for the security labels, so callers need not parse it again).
    pub fn get_versioned(
        &mut self,
        patient_id: &str,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<(u64, serde_json::Value), VaultError> {
        let p = self.tokenizer.patient(patient_id);
        self.open_checked(&p, resource_type, id, version)
            .map(|(r, _, value)| (r.version.unwrap_or(1), value))
    }

    /// Opens a record and asks the hook: (record with its version, plaintext, parsed JSON).
    fn open_checked(
        &mut self,
        p: &PatientToken,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<(RecordRef, Vec<u8>, serde_json::Value), VaultError> {
        let (r, plain) = self.open_record(p, resource_type, id, version)?;
        let value: serde_json::Value = serde_json::from_slice(&plain).map_err(|_| {
            VaultError::InvalidState(format!("record {r} decrypted to invalid json"))
        })?;
        let labels = level::labels(&value);
        let req = AccessRequest {
            level: self.level,
            resource_type,
            id,
            labels: &labels,
            sensitive: level::is_sensitive(&labels),
        };
        match self.hook.check(&req) {
            Approval::Allow => Ok((r, plain, value)),
            Approval::RequireStepUp => Err(VaultError::ApprovalRequired {
                record: Box::new(r.clone()),
                requirement: "step-up authentication".into(),
                level: self.level.as_str().into(),
            }),
            Approval::RequireTwoPerson => Err(VaultError::ApprovalRequired {
                record: Box::new(r.clone()),
                requirement: "two-person approval".into(),
                level: self.level.as_str().into(),
            }),
            Approval::Deny(reason) => Err(VaultError::AccessDenied { record: r, reason }),
        }
    }

    fn open_record(
        &mut self,
        p: &PatientToken,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> Result<(RecordRef, Vec<u8>), VaultError> {
        let mut r = rref(p, resource_type, id, version);
        let prow = match self.store.patient(p)? {
            Some(row) => row,
            None => return Err(VaultError::NotFound { record: r }),
        };
        if let Some(at) = prow.erased_at {
            return Err(VaultError::PatientErased {
                patient: p.short(),
                erased_at: at,
                what: format!("record {r}"),
            });
        }
        let row = self
            .store
            .record(p, resource_type, id, version)?
            .ok_or(VaultError::NotFound { record: r.clone() })?;
        r.version = Some(row.key.version);
        if row.dk_version < prow.min_dk {
            return Err(VaultError::KeyRetired {
                record: r,
                version: row.dk_version,
                min: prow.min_dk,
            });
        }
        let plain = self.open_row(p, &row.key, row.dk_version, row.envelope, &r)?;
        Ok((r, plain))
    }

    fn open_row(
        &mut self,
        p: &PatientToken,
        key: &RecordKey,
        dk_version: u32,
        envelope: Vec<u8>,
        r: &RecordRef,
    ) -> Result<Vec<u8>, VaultError> {
        // The envelope's own key version must agree with the row; a mismatch is tampering.
        let env_kv = crate::envelope::parse_kind(&envelope, Kind::Record)
            .map_err(|e| VaultError::RecordFormat {
                record: r.clone(),
                reason: e.to_string(),
            })?
            .key_version;
        if env_kv != dk_version {
            return Err(VaultError::RecordAuth { record: r.clone() });
        }
        let sk = self.unwrap_data_key(p, dk_version, Some(r))?;
        let ctx =
            crypto::record_context(&self.tenant, &p.0, &key.resource_type, &key.id, key.version);
        sk.open(&envelope, Kind::Record, &ctx).map_err(|e| match e {
            OpenError::Auth => VaultError::RecordAuth { record: r.clone() },
            OpenError::Format(f) => VaultError::RecordFormat {
                record: r.clone(),
                reason: f.to_string(),
            },
        })
    }

    /// Lists a patient's stored record versions.
    pub fn list(&mut self, patient_id: &str) -> Result<Vec<(RecordKey, u32)>, VaultError> {
        let p = self.tokenizer.patient(patient_id);
        match self.store.patient(&p)? {
            None => Err(VaultError::UnknownPatient { patient: p.short() }),
            Some(_) => self.store.list_records(&p),
        }
    }

    /// Patients whose resources carry an identifier (one index lookup, nothing decrypted).
    pub fn find_by_identifier(
        &mut self,
        kind: &IdentifierKind,
        value: &str,
    ) -> Result<Vec<PatientToken>, VaultError> {
        let t = self.tokenizer.identifier(kind, value);
        self.store.find_identifier(&t)
    }

    /// Crypto-shreds a patient: destroys all data-key versions and identifier tokens, records
    /// the erasure. Records remain as undecryptable ciphertext.
    pub fn erase(&mut self, patient_id: &str) -> Result<ErasureRow, VaultError> {
        let p = self.tokenizer.patient(patient_id);
        if self.store.patient(&p)?.is_none() {
            return Err(VaultError::UnknownPatient { patient: p.short() });
        }
        self.erase_token(&p)
    }

    /// Crypto-shreds by token (used to re-apply an erasure ledger after restore).
    pub fn erase_token(&mut self, p: &PatientToken) -> Result<ErasureRow, VaultError> {
        self.cache.retain(|(q, _), _| q != p);
        self.store.erase_patient(p, now())
    }

    /// The erasure records.
    pub fn erasures(&mut self) -> Result<Vec<ErasureRow>, VaultError> {
        self.store.erasures()
    }

    /// Creates a new data-key version for every live patient. Returns how many.
    pub fn rotate_data_keys(&mut self) -> Result<u64, VaultError> {
        let mut n = 0;
        for row in self.store.patients()? {
            if row.erased_at.is_some() {
                continue;
            }
            let keys = self.store.data_keys(&row.patient)?;
            let v = keys
                .iter()
                .map(|k| k.version)
                .max()
                .unwrap_or(0)
                .max(row.current_dk)
                + 1;
            self.new_data_key(&row.patient, v)?;
            n += 1;
        }
        Ok(n)
    }

    /// Re-encrypts records sealed under an old data key with the patient's current one, in
    /// batches, persisting a cursor after each batch so a killed job resumes where it stopped.
    /// `max_batches` bounds the work of this call (None: run to completion).
    pub fn reencrypt(
        &mut self,
        batch: usize,
        max_batches: Option<u64>,
        progress: &mut dyn FnMut(&JobRow),
    ) -> Result<JobRow, VaultError> {
        let batch = batch.max(1);
        let mut job = match self.store.job(REENCRYPT_JOB)? {
            Some(j) if j.state == "running" => j,
            _ => {
                let total = self.store.key_stats()?.records_on_old_keys;
                let j = JobRow {
                    name: REENCRYPT_JOB.into(),
                    cursor: None,
                    processed: 0,
                    changed: 0,
                    failed: 0,
                    total,
                    state: "running".into(),
                };
                self.store.put_job(&j)?;
                j
            }
        };
        let mut batches = 0u64;
        let mut prows: HashMap<PatientToken, PatientRow> = HashMap::new();
        loop {
            if max_batches.is_some_and(|m| batches >= m) {
                return Ok(job);
            }
            let rows = self.store.records_after(job.cursor.as_ref(), batch)?;
            if rows.is_empty() {
                job.state = "done".into();
                self.store.put_job(&job)?;
                progress(&job);
                return Ok(job);
            }
            for row in rows {
                let p = row.key.patient;
                if !prows.contains_key(&p) {
                    if prows.len() > 10_000 {
                        prows.clear();
                    }
                    if let Some(pr) = self.store.patient(&p)? {
                        prows.insert(p, pr);
                    }
                }
                let cursor = row.key.clone();
                if let Some(pr) = prows.get(&p).cloned() {
                    if pr.erased_at.is_none() && row.dk_version < pr.current_dk {
                        let r = rref(
                            &p,
                            &row.key.resource_type,
                            &row.key.id,
                            Some(row.key.version),
                        );
                        // A record that does not open (tampered, key gone) is skipped and
                        // counted rather than blocking every later record; it keeps its old
                        // data key, which `retire_data_keys` therefore keeps too.
                        let plain =
                            match self.open_row(&p, &row.key, row.dk_version, row.envelope, &r) {
                                Ok(pl) => pl,
                                Err(_) => {
                                    job.failed += 1;
                                    job.processed += 1;
                                    job.cursor = Some(cursor);
                                    continue;
                                }
                            };
                        let nk = self.unwrap_data_key(&p, pr.current_dk, Some(&r))?;
                        let ctx = crypto::record_context(
                            &self.tenant,
                            &p.0,
                            &row.key.resource_type,
                            &row.key.id,
                            row.key.version,
                        );
                        let env = nk.seal(Kind::Record, pr.current_dk, &ctx, &plain)?;
                        if self.store.replace_envelope(
                            &row.key,
                            row.dk_version,
                            pr.current_dk,
                            &env,
                        )? {
                            job.changed += 1;
                        }
                    }
                }
                job.processed += 1;
                job.cursor = Some(cursor);
            }
            self.store.put_job(&job)?;
            progress(&job);
            batches += 1;
        }
    }

    /// Destroys data-key versions no record uses any more (below each patient's lowest used
    /// version, never the current one) and raises the minimum decryption version.
    /// Returns (keys destroyed, patients still holding old keys because records need them).
    pub fn retire_data_keys(&mut self) -> Result<(u64, u64), VaultError> {
        let mut destroyed = 0;
        let mut held = 0;
        for row in self.store.patients()? {
            if row.erased_at.is_some() {
                continue;
            }
            let used_min = self
                .store
                .list_records(&row.patient)?
                .iter()
                .map(|(_, dk)| *dk)
                .min()
                .unwrap_or(row.current_dk);
            let min = used_min.min(row.current_dk);
            if min < row.current_dk {
                held += 1;
            }
            if min > row.min_dk {
                destroyed += self.store.retire_data_keys(&row.patient, min)?;
                self.cache
                    .retain(|(q, v), _| !(*q == row.patient && *v < min));
            }
        }
        Ok((destroyed, held))
    }

    /// Rewraps every data key and the token root still under an old KEK with the current KEK.
    /// Plaintext records are never touched. Returns keys rewrapped.
    pub fn rewrap_all(&mut self) -> Result<u64, VaultError> {
        let cur = self.provider.current_version();
        let mut n = 0;
        loop {
            let rows = self.store.data_keys_below_kek(cur, 500)?;
            if rows.is_empty() {
                break;
            }
            let mut batch = Vec::with_capacity(rows.len());
            for k in rows {
                let ctx = crypto::data_key_context(&self.tenant, &k.patient.0, k.version);
                let secret = self
                    .provider
                    .unwrap(Kind::DataKey, k.kek_version, &ctx, &k.wrapped)
                    .map_err(|e| VaultError::KeyUnwrap {
                        patient: k.patient.short(),
                        version: k.version,
                        record: None,
                        reason: e.to_string(),
                    })?;
                let w = self.provider.wrap(Kind::DataKey, &ctx, &secret)?;
                batch.push((k.patient, k.version, w.kek_version, w.bytes));
            }
            n += self.store.rewrap_data_keys(&batch)?;
        }
        let tr = self.store.meta_get("token_root")?.unwrap_or_default();
        if tr.len() >= 4 {
            let (kv, wrapped) = tr.split_at(4);
            let kv = u32::from_be_bytes([kv[0], kv[1], kv[2], kv[3]]);
            if kv < cur {
                let ctx = crypto::token_root_context(&self.tenant);
                let root = self
                    .provider
                    .unwrap(Kind::TokenRoot, kv, &ctx, wrapped)
                    .map_err(|e| VaultError::TokenRoot {
                        reason: e.to_string(),
                    })?;
                let w = self.provider.wrap(Kind::TokenRoot, &ctx, &root)?;
                let mut b = w.kek_version.to_be_bytes().to_vec();
                b.extend_from_slice(&w.bytes);
                self.store.meta_put("token_root", &b)?;
            }
        }
        Ok(n)
    }

    /// Rotates the KEK (new version in the provider) and rewraps all keys under it.
    pub fn rotate_kek(&mut self) -> Result<(u32, u64), VaultError> {
        let v = self.provider.rotate()?;
        let n = self.rewrap_all()?;
        Ok((v, n))
    }

    /// Destroys KEK versions below the current one, after checking nothing still needs them.
    pub fn retire_old_keks(&mut self) -> Result<u32, VaultError> {
        let cur = self.provider.current_version();
        if !self.store.data_keys_below_kek(cur, 1)?.is_empty() {
            return Err(VaultError::InvalidState(format!(
                "data keys still wrapped by a kek below v{cur}; run `phiguard vault rotate --rewrap` first"
            )));
        }
        self.provider.retire_below(cur)?;
        Ok(cur)
    }

    /// Key ages, invocation counts, level, job state.
    pub fn status(&mut self) -> Result<Status, VaultError> {
        let stats = self.store.key_stats()?;
        let job = self.store.job(REENCRYPT_JOB)?.map(|j| JobStatus {
            state: j.state,
            processed: j.processed,
            changed: j.changed,
            failed: j.failed,
            total: j.total,
        });
        Ok(Status {
            backend: self.store.backend(),
            provider: self.provider.kind(),
            tenant: self.tenant.clone(),
            level: self.level,
            kek_current: self.provider.current_version(),
            keks: self.provider.versions(),
            max_invocations_per_key: self.max_invocations,
            stats,
            reencrypt: job,
        })
    }

    /// Opens every record (hook bypassed, plaintext discarded) and reports failures.
    pub fn verify(&mut self) -> Result<VerifyReport, VaultError> {
        let mut rep = VerifyReport::default();
        let mut cursor: Option<RecordKey> = None;
        let mut prows: HashMap<PatientToken, Option<PatientRow>> = HashMap::new();
        loop {
            let rows = self.store.records_after(cursor.as_ref(), 500)?;
            if rows.is_empty() {
                return Ok(rep);
            }
            for row in rows {
                cursor = Some(row.key.clone());
                let p = row.key.patient;
                if !prows.contains_key(&p) {
                    if prows.len() > 10_000 {
                        prows.clear();
                    }
                    let pr = self.store.patient(&p)?;
                    prows.insert(p, pr);
                }
                let r = rref(
                    &p,
                    &row.key.resource_type,
                    &row.key.id,
                    Some(row.key.version),
                );
                match prows.get(&p).cloned().flatten() {
                    Some(pr) if pr.erased_at.is_some() => rep.erased += 1,
                    Some(pr) if row.dk_version < pr.min_dk => rep.failures.push(
                        VaultError::KeyRetired {
                            record: r,
                            version: row.dk_version,
                            min: pr.min_dk,
                        }
                        .to_string(),
                    ),
                    Some(_) => {
                        match self.open_row(&p, &row.key, row.dk_version, row.envelope, &r) {
                            Ok(_) => rep.ok += 1,
                            Err(e) => rep.failures.push(e.to_string()),
                        }
                    }
                    None => rep.failures.push(format!("record {r}: no patient row")),
                }
            }
        }
    }

    /// Writes a consistent, still-encrypted snapshot of the store.
    pub fn backup(&mut self, path: &Path) -> Result<(), VaultError> {
        self.store.backup_to(path)
    }
}

/// One line of the erasure ledger kept beside (not inside) the database, so a restore from an
/// older backup re-applies every later erasure.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// Patient token (hex).
    pub patient: String,
    /// Unix seconds.
    pub erased_at: i64,
}

/// Appends an erasure to the ledger file (JSON lines, fsynced).
pub fn append_ledger(path: &Path, row: &ErasureRow) -> Result<(), VaultError> {
    use std::io::Write;
    let io = |source| VaultError::Io {
        what: "appending to erasure ledger",
        path: path.to_path_buf(),
        source,
    };
    let line = serde_json::to_string(&LedgerEntry {
        patient: row.patient.clone(),
        erased_at: row.erased_at,
    })
    .map_err(|_| VaultError::Crypto("ledger serialization failed"))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    writeln!(f, "{line}").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads the erasure ledger (missing file: empty).
pub fn read_ledger(path: &Path) -> Result<Vec<LedgerEntry>, VaultError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(VaultError::Io {
                what: "reading erasure ledger",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: LedgerEntry = serde_json::from_str(line).map_err(|err| {
            VaultError::InvalidState(format!(
                "erasure ledger `{}` line {}: {err}",
                path.display(),
                i + 1
            ))
        })?;
        out.push(e);
    }
    Ok(out)
}

impl Vault {
    /// Re-applies ledger erasures to patients present in this store (after a restore).
    /// Returns how many patients were erased again.
    pub fn apply_ledger(&mut self, entries: &[LedgerEntry]) -> Result<u64, VaultError> {
        let mut n = 0;
        for e in entries {
            let Some(p) = PatientToken::from_hex(&e.patient) else {
                continue;
            };
            match self.store.patient(&p)? {
                Some(row) if row.erased_at.is_none() => {
                    self.erase_token(&p)?;
                    n += 1;
                }
                _ => {}
            }
        }
        Ok(n)
    }
}
