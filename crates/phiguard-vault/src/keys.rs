//! Key-encryption keys (KEKs) and the providers that hold them.
//!
//! A [`KeyProvider`] wraps and unwraps 256-bit keys (patient data keys, the tokenization root)
//! under a versioned KEK, and can rotate and retire KEK versions. The vault never sees a KEK,
//! only wrap/unwrap results, so a remote provider (HashiCorp Vault Transit: `encrypt`/`decrypt`
//! with `context`, `rotate`, `min_decryption_version`; a cloud KMS `Encrypt`/`Decrypt` with an
//! encryption context) fits the same trait. See the crate README for each provider's threat model.
//!
//! Shipped providers:
//! - [`LocalKeyProvider`]: KEKs in a key file, each sealed with a key derived from a passphrase
//!   by Argon2id (RFC 9106). The expensive derivation runs once per process and key file.
//! - [`EnvKeyProvider`]: one KEK given as 64 hex digits in an environment variable.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, OpenError, SealKey, SecretKey, KEY_LEN};
use crate::envelope::Kind;
use crate::error::VaultError;

/// A key wrapped by a KEK version. The bytes are provider-specific and opaque to the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// KEK version that wrapped it.
    pub kek_version: u32,
    /// Wrapped bytes.
    pub bytes: Vec<u8>,
}

/// Public facts about one KEK version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KekInfo {
    /// Version number (1-based).
    pub version: u32,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// Why an unwrap failed (turned into [`VaultError::KeyUnwrap`] with the record named).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnwrapError {
    /// The KEK version does not exist (never did, or was retired and destroyed).
    #[error("kek v{0} is not available (retired or unknown)")]
    UnknownKek(u32),
    /// Authentication failed: wrapped bytes tampered or bound to another row.
    #[error("wrapped key failed authentication (tampered or moved)")]
    Auth,
    /// The wrapped bytes are malformed.
    #[error("malformed wrapped key: {0}")]
    Format(String),
    /// The provider could not be reached or refused.
    #[error("provider failure: {0}")]
    Provider(String),
}

/// A holder of versioned key-encryption keys.
///
/// `context` is associated data the provider must bind to the wrapped key (Vault Transit:
/// `associated_data`/derived-key `context`; AWS KMS: `EncryptionContext`), so a wrapped data
/// key moved to another patient fails to unwrap.
pub trait KeyProvider: Send + Sync {
    /// Short provider name for status output ("local-file", "env").
    fn kind(&self) -> &'static str;
    /// KEK version used by [`KeyProvider::wrap`].
    fn current_version(&self) -> u32;
    /// Oldest KEK version that can still unwrap.
    fn min_version(&self) -> u32;
    /// All available KEK versions.
    fn versions(&self) -> Vec<KekInfo>;
    /// Wraps `key` under the current KEK version.
    fn wrap(
        &self,
        kind: Kind,
        context: &[u8],
        key: &[u8; KEY_LEN],
    ) -> Result<WrappedKey, VaultError>;
    /// Unwraps bytes produced by `wrap` with the given KEK version.
    fn unwrap(
        &self,
        kind: Kind,
        kek_version: u32,
        context: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretKey, UnwrapError>;
    /// Creates a new KEK version and makes it current; returns its number.
    fn rotate(&mut self) -> Result<u32, VaultError>;
    /// Destroys every KEK version below `min_version`.
    fn retire_below(&mut self, min_version: u32) -> Result<(), VaultError>;
}

fn local_wrap(
    key: &SealKey,
    version: u32,
    kind: Kind,
    context: &[u8],
    secret: &[u8; KEY_LEN],
) -> Result<WrappedKey, VaultError> {
    Ok(WrappedKey {
        kek_version: version,
        bytes: key.seal(kind, version, context, secret)?,
    })
}

fn local_unwrap(
    key: &SealKey,
    kind: Kind,
    context: &[u8],
    wrapped: &[u8],
) -> Result<SecretKey, UnwrapError> {
    let plain = Zeroizing::new(key.open(wrapped, kind, context).map_err(|e| match e {
        OpenError::Auth => UnwrapError::Auth,
        OpenError::Format(f) => UnwrapError::Format(f.to_string()),
    })?);
    let arr: [u8; KEY_LEN] = plain
        .as_slice()
        .try_into()
        .map_err(|_| UnwrapError::Format(format!("unwrapped key has {} bytes", plain.len())))?;
    Ok(Zeroizing::new(arr))
}

/// Argon2id cost parameters (RFC 9106).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106 second recommended option: 64 MiB, 3 passes, 1 lane.
    pub const RECOMMENDED: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// Insecure low cost, for tests only.
    pub const DANGEROUS_WEAK: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    kdf: KdfParams,
    salt: String,
    check: String,
    min_version: u32,
    keks: Vec<KekEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct KekEntry {
    version: u32,
    created_at: i64,
    sealed: String,
}

const KEYFILE_FORMAT: &str = "phiguard-keyfile-v1";
const CHECK_CONTEXT: &[u8] = b"phiguard/keyfile-check/v1";

fn kek_context(version: u32) -> Vec<u8> {
    let mut c = b"phiguard/kek/v1".to_vec();
    c.extend_from_slice(&version.to_be_bytes());
    c
}

/// Process-wide cache of Argon2id results, keyed by a hash of (salt, params, passphrase), so
/// the expensive derivation runs once per process per key file.
type KdfCache = Mutex<HashMap<[u8; 32], SecretKey>>;
static KDF_CACHE: OnceLock<KdfCache> = OnceLock::new();

fn derive(passphrase: &[u8], salt: &[u8], params: KdfParams) -> Result<SecretKey, VaultError> {
    let mut id = Vec::with_capacity(salt.len() + passphrase.len() + 16);
    id.extend_from_slice(&params.m_kib.to_be_bytes());
    id.extend_from_slice(&params.t.to_be_bytes());
    id.extend_from_slice(&params.p.to_be_bytes());
    id.extend_from_slice(&(salt.len() as u32).to_be_bytes());
    id.extend_from_slice(salt);
    id.extend_from_slice(passphrase);
    let id = Zeroizing::new(id);
    let cache_key = crypto::hmac_sha256(b"phiguard/kdf-cache/v1", &id);
    let cache = KDF_CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(c) = cache.lock() {
        if let Some(k) = c.get(&cache_key) {
            return Ok(k.clone());
        }
    }
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN))
            .map_err(|_| VaultError::Crypto("invalid argon2 parameters"))?,
    );
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase, salt, &mut out[..])
        .map_err(|_| VaultError::Crypto("argon2id derivation failed"))?;
    if let Ok(mut c) = cache.lock() {
        c.insert(cache_key, out.clone());
    }
    Ok(out)
}

/// KEKs stored in a local key file, sealed with an Argon2id passphrase key.
pub struct LocalKeyProvider {
    path: PathBuf,
    file: KeyFile,
    wrapping: SealKey,
    keks: Vec<(u32, i64, SealKey)>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl LocalKeyProvider {
    /// Creates a new key file with one KEK. Fails if the file exists.
    pub fn create(path: &Path, passphrase: &[u8], params: KdfParams) -> Result<Self, VaultError> {
        if path.exists() {
            return Err(VaultError::InvalidState(format!(
                "key file `{}` already exists; refusing to overwrite",
                path.display()
            )));
        }
        if passphrase.is_empty() {
            return Err(VaultError::InvalidState("empty passphrase".into()));
        }
        let mut salt = [0u8; 16];
        crypto::random_bytes(&mut salt)?;
        let wkey = derive(passphrase, &salt, params)?;
        let wrapping = SealKey::new(&wkey)?;
        let check = wrapping.seal(Kind::KekEntry, 0, CHECK_CONTEXT, &[0u8; 32])?;
        let mut p = LocalKeyProvider {
            path: path.to_path_buf(),
            file: KeyFile {
                format: KEYFILE_FORMAT.into(),
                kdf: params,
                salt: hex::encode(salt),
                check: hex::encode(check),
                min_version: 1,
                keks: Vec::new(),
            },
            wrapping,
            keks: Vec::new(),
        };
        p.add_kek(1)?;
        p.save()?;
        Ok(p)
    }

    /// Opens an existing key file.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Self, VaultError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::KeyFileMissing {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(VaultError::Io {
                    what: "reading key file",
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        let corrupt = |reason: String| VaultError::KeyFileCorrupt {
            path: path.to_path_buf(),
            reason,
        };
        let file: KeyFile =
            serde_json::from_str(&text).map_err(|e| corrupt(format!("not valid json: {e}")))?;
        if file.format != KEYFILE_FORMAT {
            return Err(corrupt(format!("unknown format `{}`", file.format)));
        }
        let salt =
            hex::decode(&file.salt).map_err(|_| corrupt("field `salt` is not hex".into()))?;
        let check =
            hex::decode(&file.check).map_err(|_| corrupt("field `check` is not hex".into()))?;
        if file.kdf.m_kib < KdfParams::DANGEROUS_WEAK.m_kib || file.kdf.m_kib > 4 * 1024 * 1024 {
            return Err(corrupt(format!(
                "kdf memory {} KiB out of range",
                file.kdf.m_kib
            )));
        }
        let wkey = derive(passphrase, &salt, file.kdf)?;
        let wrapping = SealKey::new(&wkey)?;
        match wrapping.open(&check, Kind::KekEntry, CHECK_CONTEXT) {
            Ok(_) => {}
            Err(OpenError::Auth) => {
                return Err(VaultError::WrongPassphrase {
                    path: path.to_path_buf(),
                })
            }
            Err(OpenError::Format(e)) => return Err(corrupt(format!("field `check`: {e}"))),
        }
        let mut keks = Vec::new();
        for (i, e) in file.keks.iter().enumerate() {
            let sealed = hex::decode(&e.sealed)
                .map_err(|_| corrupt(format!("keks[{i}].sealed is not hex")))?;
            let k = local_unwrap(&wrapping, Kind::KekEntry, &kek_context(e.version), &sealed)
                .map_err(|err| corrupt(format!("keks[{i}] (v{}): {err}", e.version)))?;
            keks.push((e.version, e.created_at, SealKey::new(&k)?));
        }
        if keks.is_empty() {
            return Err(corrupt("no key-encryption keys".into()));
        }
        Ok(LocalKeyProvider {
            path: path.to_path_buf(),
            file,
            wrapping,
            keks,
        })
    }

    fn add_kek(&mut self, version: u32) -> Result<(), VaultError> {
        let k = crypto::random_key()?;
        let sealed = self
            .wrapping
            .seal(Kind::KekEntry, version, &kek_context(version), &k[..])?;
        let created = now();
        self.file.keks.push(KekEntry {
            version,
            created_at: created,
            sealed: hex::encode(sealed),
        });
        self.keks.push((version, created, SealKey::new(&k)?));
        Ok(())
    }

    fn save(&self) -> Result<(), VaultError> {
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|_| VaultError::Crypto("key file serialization failed"))?;
        write_atomic(&self.path, &json)
    }

    fn key(&self, version: u32) -> Option<&SealKey> {
        self.keks
            .iter()
            .find(|(v, _, _)| *v == version)
            .map(|(_, _, k)| k)
    }
}

/// Writes a file atomically and durably: temp file, fsync, rename, fsync directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let io = |what: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| VaultError::Io {
            what,
            path: p,
            source,
        }
    };
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io("creating", &tmp))?;
        f.write_all(bytes).map_err(io("writing", &tmp))?;
        f.sync_all().map_err(io("syncing", &tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io("renaming into place", path))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl KeyProvider for LocalKeyProvider {
    fn kind(&self) -> &'static str {
        "local-file"
    }
    fn current_version(&self) -> u32 {
        self.keks.iter().map(|(v, _, _)| *v).max().unwrap_or(0)
    }
    fn min_version(&self) -> u32 {
        self.file.min_version
    }
    fn versions(&self) -> Vec<KekInfo> {
        self.keks
            .iter()
            .map(|(v, c, _)| KekInfo {
                version: *v,
                created_at: *c,
            })
            .collect()
    }
    fn wrap(
        &self,
        kind: Kind,
        context: &[u8],
        key: &[u8; KEY_LEN],
    ) -> Result<WrappedKey, VaultError> {
        let v = self.current_version();
        let k = self.key(v).ok_or(VaultError::Provider {
            provider: "local-file",
            reason: "no current kek".into(),
        })?;
        local_wrap(k, v, kind, context, key)
    }
    fn unwrap(
        &self,
        kind: Kind,
        kek_version: u32,
        context: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretKey, UnwrapError> {
        let k = self
            .key(kek_version)
            .ok_or(UnwrapError::UnknownKek(kek_version))?;
        local_unwrap(k, kind, context, wrapped)
    }
    fn rotate(&mut self) -> Result<u32, VaultError> {
        let v = self.current_version() + 1;
        self.add_kek(v)?;
        self.save()?;
        Ok(v)
    }
    fn retire_below(&mut self, min_version: u32) -> Result<(), VaultError> {
        if min_version > self.current_version() {
            return Err(VaultError::InvalidState(format!(
                "cannot retire below v{min_version}: current kek is v{}",
                self.current_version()
            )));
        }
        self.file.keks.retain(|e| e.version >= min_version);
        self.keks.retain(|(v, _, _)| *v >= min_version);
        self.file.min_version = self.file.min_version.max(min_version);
        self.save()
    }
}

/// One KEK from an environment variable (64 hex digits), version 1. Cannot rotate itself:
/// rotation happens in the secret manager that sets the variable.
pub struct EnvKeyProvider {
    key: SealKey,
}

/// Default variable read by [`EnvKeyProvider::from_env`].
pub const KEK_ENV: &str = "PHIGUARD_KEK";

impl EnvKeyProvider {
    /// Uses the given 32 bytes as the KEK (tests, or a key fetched by the caller).
    pub fn from_bytes(key: &[u8; KEY_LEN]) -> Result<Self, VaultError> {
        Ok(EnvKeyProvider {
            key: SealKey::new(key)?,
        })
    }

    /// Reads the KEK from `var`.
    pub fn from_env(var: &str) -> Result<Self, VaultError> {
        let err = |reason: String| VaultError::Provider {
            provider: "env",
            reason,
        };
        let val = Zeroizing::new(
            std::env::var(var)
                .map_err(|_| err(format!("environment variable {var} is not set")))?,
        );
        let bytes = Zeroizing::new(
            hex::decode(val.trim()).map_err(|_| err(format!("{var} must be 64 hex digits")))?,
        );
        let arr: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| err(format!("{var} must be 64 hex digits (32 bytes)")))?;
        let arr = Zeroizing::new(arr);
        Ok(EnvKeyProvider {
            key: SealKey::new(&arr)?,
        })
    }
}

impl KeyProvider for EnvKeyProvider {
    fn kind(&self) -> &'static str {
        "env"
    }
    fn current_version(&self) -> u32 {
        1
    }
    fn min_version(&self) -> u32 {
        1
    }
    fn versions(&self) -> Vec<KekInfo> {
        vec![KekInfo {
            version: 1,
            created_at: 0,
        }]
    }
    fn wrap(
        &self,
        kind: Kind,
        context: &[u8],
        key: &[u8; KEY_LEN],
    ) -> Result<WrappedKey, VaultError> {
        local_wrap(&self.key, 1, kind, context, key)
    }
    fn unwrap(
        &self,
        kind: Kind,
        kek_version: u32,
        context: &[u8],
        wrapped: &[u8],
    ) -> Result<SecretKey, UnwrapError> {
        if kek_version != 1 {
            return Err(UnwrapError::UnknownKek(kek_version));
        }
        local_unwrap(&self.key, kind, context, wrapped)
    }
    fn rotate(&mut self) -> Result<u32, VaultError> {
        Err(VaultError::Provider {
            provider: "env",
            reason: "the env provider cannot rotate; use the local-file provider or a KMS".into(),
        })
    }
    fn retire_below(&mut self, _min_version: u32) -> Result<(), VaultError> {
        Err(VaultError::Provider {
            provider: "env",
            reason: "the env provider has a single kek version".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_roundtrip_rotate_retire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut p = LocalKeyProvider::create(&path, b"pw", KdfParams::DANGEROUS_WEAK).unwrap();
        let dk = [5u8; 32];
        let w1 = p.wrap(Kind::DataKey, b"ctx", &dk).unwrap();
        assert_eq!(w1.kek_version, 1);
        assert_eq!(p.rotate().unwrap(), 2);
        let p2 = LocalKeyProvider::open(&path, b"pw").unwrap();
        assert_eq!(p2.current_version(), 2);
        assert_eq!(*p2.unwrap(Kind::DataKey, 1, b"ctx", &w1.bytes).unwrap(), dk);
        assert_eq!(
            p2.unwrap(Kind::DataKey, 1, b"other", &w1.bytes),
            Err(UnwrapError::Auth)
        );
        p.retire_below(2).unwrap();
        let p3 = LocalKeyProvider::open(&path, b"pw").unwrap();
        assert_eq!(
            p3.unwrap(Kind::DataKey, 1, b"ctx", &w1.bytes),
            Err(UnwrapError::UnknownKek(1))
        );
    }

    #[test]
    fn wrong_passphrase_missing_and_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        LocalKeyProvider::create(&path, b"right", KdfParams::DANGEROUS_WEAK).unwrap();
        assert!(matches!(
            LocalKeyProvider::open(&path, b"wrong"),
            Err(VaultError::WrongPassphrase { .. })
        ));
        assert!(matches!(
            LocalKeyProvider::open(&dir.path().join("nope.json"), b"right"),
            Err(VaultError::KeyFileMissing { .. })
        ));
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            LocalKeyProvider::open(&path, b"right"),
            Err(VaultError::KeyFileCorrupt { .. })
        ));
    }
}
