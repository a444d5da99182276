//! Local accounts (for the dashboard and for sites without an identity provider): Argon2id
//! password hashes (PHC strings, RFC 9106 parameters), server-side sessions, lockout with
//! exponential backoff after failed logins.
//!
//! Everything lives in `DATA-DIR/accounts.db` (SQLite, mode 0600):
//!
//! * `account(login, hash, roles, scope, disabled, failed, locked_until, ...)`;
//! * `session(id, secret_sha256, login, created, expires, revoked)`. A session token is
//!   `pgs_<id>.<secret>`; only the SHA-256 of the secret is stored, so a copy of the database
//!   does not hand out live sessions.
//!
//! A session is looked up on every request (one primary-key read), so revoking it, or
//! disabling its account, takes effect on the next request.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{params, OptionalExtension as _};
use serde::Serialize;

/// Prefix of session tokens (never the start of a JWT, whose header is base64 `eyJ`).
pub const SESSION_PREFIX: &str = "pgs_";
/// Shortest password accepted by [`Accounts::add`].
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (Argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Issuer name put in the claims of a session.
pub const SESSION_ISSUER: &str = "phiguard-local";
/// Argon2 hashes computed at once at most (each takes `m_kib` of memory).
pub const MAX_CONCURRENT_HASHES: usize = 4;

/// Errors of the account store. Messages name the account (a staff login, not PHI), never a
/// password.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The database could not be opened or queried.
    #[error("account database `{path}`: {reason}")]
    Db {
        /// Database path.
        path: PathBuf,
        /// SQLite's message.
        reason: String,
    },
    /// The login is not `[A-Za-z0-9._@-]{1,64}`.
    #[error("login must be 1 to 64 characters of [A-Za-z0-9._@-]")]
    InvalidLogin,
    /// A role or scope is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Password too short or too long.
    #[error("password must have at least {MIN_PASSWORD_CHARS} characters and at most {MAX_PASSWORD_BYTES} bytes")]
    WeakPassword,
    /// An account with that login exists.
    #[error("account `{0}` already exists")]
    Exists(String),
    /// No account with that login.
    #[error("no account `{0}`")]
    Unknown(String),
    /// Hashing failed (bad parameters).
    #[error("password hashing: {0}")]
    Hash(String),
}

/// Why a login was refused. The client sees the same message for every variant except
/// [`LoginError::Locked`], so it cannot probe which logins exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown login, wrong password or disabled account.
    #[error("invalid credentials")]
    Invalid,
    /// Too many failures: try again after this many seconds.
    #[error("account temporarily locked")]
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// Database failure.
    #[error("account database failure")]
    Internal,
}

/// Argon2id cost (RFC 9106).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl HashCost {
    /// RFC 9106 second recommended option: 64 MiB, 3 passes, 1 lane.
    pub const RECOMMENDED: HashCost = HashCost {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
    /// Insecure low cost, for tests only.
    pub const DANGEROUS_WEAK: HashCost = HashCost {
        m_kib: 64,
        t: 1,
        p: 1,
    };
}

/// Lockout policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures before the account locks.
    pub max_failures: u32,
    /// First lock duration, seconds; doubles with every further failure.
    pub base_secs: u64,
    /// Longest lock, seconds.
    pub max_secs: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            base_secs: 30,
            max_secs: 900,
        }
    }
}

impl LockoutPolicy {
    /// Lock duration after `failed` consecutive failures (0 while below the threshold).
    pub fn lock_secs(&self, failed: u32) -> u64 {
        if failed < self.max_failures {
            return 0;
        }
        let doublings = (failed - self.max_failures).min(20);
        self.base_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_secs)
    }
}

/// An account as listed (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountInfo {
    /// Login.
    pub login: String,
    /// Roles.
    pub roles: Vec<String>,
    /// SMART scopes granted to its sessions.
    pub scope: String,
    /// Disabled.
    pub disabled: bool,
    /// Consecutive failed logins.
    pub failed_logins: u32,
    /// Locked until (unix seconds), if locked.
    pub locked_until: Option<i64>,
    /// Active sessions.
    pub active_sessions: u32,
}

/// A session as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Login.
    pub login: String,
    /// Created (unix seconds).
    pub created: i64,
    /// Expires (unix seconds).
    pub expires: i64,
}

/// A new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The bearer token (shown once).
    pub token: String,
    /// Session id (for listing and revocation).
    pub id: String,
    /// Expiry (unix seconds).
    pub expires: i64,
}

/// What a valid session token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    /// Session id.
    pub id: String,
    /// Login.
    pub login: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Scopes.
    pub scope: String,
    /// Created (unix seconds).
    pub created: i64,
    /// Expires (unix seconds).
    pub expires: i64,
}

/// The account store.
pub struct Accounts {
    path: PathBuf,
    conn: Mutex<rusqlite::Connection>,
    hashing: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("path", &self.path)
            .finish()
    }
}

/// Account database inside a data dir.
pub fn accounts_path(data_dir: &Path) -> PathBuf {
    data_dir.join("accounts.db")
}

/// Whether `s` is an acceptable login.
pub fn valid_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = aws_lc_rs::rand::fill(&mut b);
    hex::encode(b)
}

fn sha256(b: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

fn argon(cost: HashCost) -> Result<Argon2<'static>, AccountError> {
    let p = Params::new(cost.m_kib, cost.t, cost.p, None)
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=...`).
///
/// # Errors
/// [`AccountError::Hash`] for unusable parameters.
pub fn hash_password(password: &str, cost: HashCost) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| AccountError::Hash("no randomness".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    argon(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Verifies a password against a PHC string (the cost comes from the string). Anything but
/// an Argon2id hash is refused.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    if h.algorithm.as_str() != "argon2id" {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &h)
        .is_ok()
}

fn split_roles(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

impl Accounts {
    /// Opens (creating on first use, mode 0600) the account database.
    ///
    /// # Errors
    /// [`AccountError::Db`].
    pub fn open(path: &Path) -> Result<Self, AccountError> {
        let db = |e: String| AccountError::Db {
            path: path.to_owned(),
            reason: e,
        };
        let existed = path.exists();
        let c = rusqlite::Connection::open(path).map_err(|e| db(e.to_string()))?;
        if !existed {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| db(e.to_string()))?;
        } else {
            let mode = std::fs::metadata(path)
                .map_err(|e| db(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(db("readable by group or other; chmod 600 it".into()));
            }
        }
        c.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| db(e.to_string()))?;
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS account (
               login TEXT PRIMARY KEY, hash TEXT NOT NULL, roles TEXT NOT NULL,
               scope TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
               failed INTEGER NOT NULL DEFAULT 0, locked_until INTEGER,
               created INTEGER NOT NULL, last_login INTEGER);
             CREATE TABLE IF NOT EXISTS session (
               id TEXT PRIMARY KEY, secret BLOB NOT NULL, login TEXT NOT NULL,
               created INTEGER NOT NULL, expires INTEGER NOT NULL,
               revoked INTEGER NOT NULL DEFAULT 0);
             CREATE INDEX IF NOT EXISTS session_login ON session(login);",
        )
        .map_err(|e| db(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(c),
            hashing: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_HASHES)),
        })
    }

    fn db(&self, e: impl std::fmt::Display) -> AccountError {
        AccountError::Db {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, rusqlite::Connection>, AccountError> {
        self.conn.lock().map_err(|_| self.db("lock poisoned"))
    }

    /// Permits bounding concurrent password hashing (memory-hard: `m_kib` each).
    pub fn hashing_permits(&self) -> Arc<tokio::sync::Semaphore> {
        self.hashing.clone()
    }

    /// Creates an account.
    ///
    /// # Errors
    /// Invalid login, role or scope, weak password, existing login, database errors.
    pub fn add(
        &self,
        login: &str,
        password: &str,
        roles: &[String],
        scope: &str,
        cost: HashCost,
        now: i64,
    ) -> Result<(), AccountError> {
        if !valid_login(login) {
            return Err(AccountError::InvalidLogin);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(AccountError::WeakPassword);
        }
        for r in roles {
            if r.is_empty()
                || r.len() > 64
                || !r
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(AccountError::Invalid(format!(
                    "role `{r}` must be 1 to 64 characters of [A-Za-z0-9_-]"
                )));
            }
        }
        if scope.len() > 2048 || scope.chars().any(|c| c.is_control()) {
            return Err(AccountError::Invalid(
                "scope must be printable and at most 2048 bytes".into(),
            ));
        }
        let hash = hash_password(password, cost)?;
        let c = self.conn()?;
        let n = c
            .execute(
                "INSERT OR IGNORE INTO account (login, hash, roles, scope, created)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![login, hash, roles.join(" "), scope, now],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(AccountError::Exists(login.to_string()));
        }
        Ok(())
    }

    /// Disables (or re-enables) an account. Disabling revokes its sessions at once.
    ///
    /// # Errors
    /// Unknown login, database errors.
    pub fn set_disabled(&self, login: &str, disabled: bool) -> Result<(), AccountError> {
        let c = self.conn()?;
        let n = c
            .execute(
                "UPDATE account SET disabled = ?2, failed = 0, locked_until = NULL WHERE login = ?1",
                params![login, disabled],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(AccountError::Unknown(login.to_string()));
        }
        if disabled {
            c.execute(
                "UPDATE session SET revoked = 1 WHERE login = ?1",
                params![login],
            )
            .map_err(|e| self.db(e))?;
        }
        Ok(())
    }

    /// Every account, by login.
    ///
    /// # Errors
    /// Database errors.
    pub fn list(&self, now: i64) -> Result<Vec<AccountInfo>, AccountError> {
        let c = self.conn()?;
        let mut st = c
            .prepare(
                "SELECT a.login, a.roles, a.scope, a.disabled, a.failed, a.locked_until,
                   (SELECT COUNT(*) FROM session s WHERE s.login = a.login AND s.revoked = 0
                      AND s.expires > ?1)
                 FROM account a ORDER BY a.login",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![now], |r| {
                Ok(AccountInfo {
                    login: r.get(0)?,
                    roles: split_roles(&r.get::<_, String>(1)?),
                    scope: r.get(2)?,
                    disabled: r.get(3)?,
                    failed_logins: r.get(4)?,
                    locked_until: r.get::<_, Option<i64>>(5)?.filter(|t| *t > now),
                    active_sessions: r.get(6)?,
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.db(e))
    }

    /// The PHC hash to verify against for a login attempt: the account's own, or, for an
    /// unknown login, the newest account's (so both take the same time). `None` when the
    /// store is empty.
    fn hash_for(&self, login: &str) -> Result<Option<(bool, String)>, AccountError> {
        let c = self.conn()?;
        if let Some(h) = c
            .query_row(
                "SELECT hash FROM account WHERE login = ?1",
                params![login],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(|e| self.db(e))?
        {
            return Ok(Some((true, h)));
        }
        c.query_row(
            "SELECT hash FROM account ORDER BY created DESC, login LIMIT 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .map(|o| o.map(|h| (false, h)))
        .map_err(|e| self.db(e))
    }

    /// Checks a password and opens a session of `ttl` seconds. Blocking (Argon2): call it
    /// from a blocking thread, holding a [`Accounts::hashing_permits`] permit.
    ///
    /// A locked account is refused without looking at the password. Every failure on an
    /// existing account counts towards its lock; a success resets the count.
    ///
    /// # Errors
    /// [`LoginError`].
    pub fn login(
        &self,
        login: &str,
        password: &str,
        now: i64,
        ttl: i64,
        policy: &LockoutPolicy,
    ) -> Result<NewSession, LoginError> {
        if !valid_login(login) || password.len() > MAX_PASSWORD_BYTES {
            return Err(LoginError::Invalid);
        }
        let state = {
            let c = self.conn().map_err(|_| LoginError::Internal)?;
            c.query_row(
                "SELECT disabled, failed, locked_until FROM account WHERE login = ?1",
                params![login],
                |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(|_| LoginError::Internal)?
        };
        if let Some((_, _, Some(until))) = state {
            if until > now {
                return Err(LoginError::Locked {
                    retry_after: u64::try_from(until - now).unwrap_or(1),
                });
            }
        }
        let Some((exists, phc)) = self.hash_for(login).map_err(|_| LoginError::Internal)? else {
            return Err(LoginError::Invalid);
        };
        let ok = verify_password(password, &phc) && exists;
        let c = self.conn().map_err(|_| LoginError::Internal)?;
        let Some((disabled, failed, _)) = state else {
            return Err(LoginError::Invalid);
        };
        if !ok || disabled {
            let failed = failed.saturating_add(1);
            let lock = policy.lock_secs(failed);
            let until = (lock > 0).then(|| now + i64::try_from(lock).unwrap_or(i64::MAX / 2));
            c.execute(
                "UPDATE account SET failed = ?2, locked_until = ?3 WHERE login = ?1",
                params![login, failed, until],
            )
            .map_err(|_| LoginError::Internal)?;
            return Err(LoginError::Invalid);
        }
        c.execute(
            "UPDATE account SET failed = 0, locked_until = NULL, last_login = ?2 WHERE login = ?1",
            params![login, now],
        )
        .map_err(|_| LoginError::Internal)?;
        let id = random_hex(16);
        let secret = random_hex(32);
        let expires = now + ttl.max(60);
        c.execute(
            "INSERT INTO session (id, secret, login, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, sha256(secret.as_bytes()), login, now, expires],
        )
        .map_err(|_| LoginError::Internal)?;
        // Expired sessions are pruned as new ones are made.
        let _ = c.execute(
            "DELETE FROM session WHERE expires < ?1",
            params![now - 86_400],
        );
        Ok(NewSession {
            token: format!("{SESSION_PREFIX}{id}.{secret}"),
            id,
            expires,
        })
    }

    /// The user behind a session token, if the session exists, is neither revoked nor
    /// expired, and its account is enabled. The secret is compared in constant time.
    pub fn session(&self, token: &str, now: i64) -> Option<SessionUser> {
        let rest = token.strip_prefix(SESSION_PREFIX)?;
        let (id, secret) = rest.split_once('.')?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || secret.len() > 128 {
            return None;
        }
        let c = self.conn().ok()?;
        let row = c
            .query_row(
                "SELECT s.secret, s.login, a.roles, a.scope, s.created, s.expires
                 FROM session s JOIN account a ON a.login = s.login
                 WHERE s.id = ?1 AND s.revoked = 0 AND a.disabled = 0",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()
            .ok()??;
        let (stored, login, roles, scope, created, expires) = row;
        let given = sha256(secret.as_bytes());
        if aws_lc_rs::constant_time::verify_slices_are_equal(&stored, &given).is_err()
            || expires <= now
        {
            return None;
        }
        Some(SessionUser {
            id: id.to_string(),
            login,
            roles: split_roles(&roles),
            scope,
            created,
            expires,
        })
    }

    /// Active sessions, of one login or of everyone.
    ///
    /// # Errors
    /// Database errors.
    pub fn sessions(
        &self,
        login: Option<&str>,
        now: i64,
    ) -> Result<Vec<SessionInfo>, AccountError> {
        let c = self.conn()?;
        let mut st = c
            .prepare(
                "SELECT id, login, created, expires FROM session
                 WHERE revoked = 0 AND expires > ?1 AND (?2 IS NULL OR login = ?2)
                 ORDER BY created DESC, id",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![now, login], |r| {
                Ok(SessionInfo {
                    id: r.get(0)?,
                    login: r.get(1)?,
                    created: r.get(2)?,
                    expires: r.get(3)?,
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.db(e))
    }

    /// Revokes a session; with `owner`, only if it belongs to that login. Returns whether a
    /// live session was revoked.
    ///
    /// # Errors
    /// Database errors.
    pub fn revoke(&self, id: &str, owner: Option<&str>) -> Result<bool, AccountError> {
        let c = self.conn()?;
        let n = c
            .execute(
                "UPDATE session SET revoked = 1 WHERE id = ?1 AND revoked = 0
                 AND (?2 IS NULL OR login = ?2)",
                params![id, owner],
            )
            .map_err(|e| self.db(e))?;
        Ok(n > 0)
    }

    /// Whether an account exists.
    pub fn exists(&self, login: &str) -> bool {
        self.conn()
            .ok()
            .and_then(|c| {
                c.query_row(
                    "SELECT 1 FROM account WHERE login = ?1",
                    params![login],
                    |_| Ok(()),
                )
                .optional()
                .ok()
            })
            .flatten()
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PW: &str = "correct horse battery";

    fn store() -> (tempfile::TempDir, Accounts) {
        let d = tempfile::tempdir().unwrap();
        let a = Accounts::open(&accounts_path(d.path())).unwrap();
        a.add(
            "alice",
            PW,
            &["clinician".into()],
            "user/*.rs",
            HashCost::DANGEROUS_WEAK,
            1000,
        )
        .unwrap();
        (d, a)
    }

    #[test]
    fn hashes_are_argon2id_phc_and_verify() {
        let h = hash_password(PW, HashCost::DANGEROUS_WEAK).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(verify_password(PW, &h));
        assert!(!verify_password("wrong password!", &h));
        // Argon2i / argon2d strings are refused even when they verify.
        let p = Params::new(64, 1, 1, None).unwrap();
        let salt = SaltString::encode_b64(&[1u8; 16]).unwrap();
        let h2 = Argon2::new(Algorithm::Argon2i, Version::V0x13, p)
            .hash_password(PW.as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert!(!verify_password(PW, &h2));
        assert!(!verify_password(PW, "not a hash"));
    }

    #[test]
    fn add_validates_and_refuses_duplicates() {
        let (d, a) = store();
        let w = HashCost::DANGEROUS_WEAK;
        assert!(matches!(
            a.add("alice", PW, &[], "", w, 1),
            Err(AccountError::Exists(_))
        ));
        assert!(matches!(
            a.add("bob", "short", &[], "", w, 1),
            Err(AccountError::WeakPassword)
        ));
        assert!(matches!(
            a.add("b ob", PW, &[], "", w, 1),
            Err(AccountError::InvalidLogin)
        ));
        assert!(matches!(
            a.add("bob", PW, &["x y".into()], "", w, 1),
            Err(AccountError::Invalid(_))
        ));
        let mode = std::fs::metadata(accounts_path(d.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
        let l = a.list(1000).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].roles, vec!["clinician".to_string()]);
    }

    #[test]
    fn login_session_revoke_and_disable() {
        let (_d, a) = store();
        let pol = LockoutPolicy::default();
        let s = a.login("alice", PW, 2000, 3600, &pol).unwrap();
        assert!(s.token.starts_with(SESSION_PREFIX));
        let u = a.session(&s.token, 2001).unwrap();
        assert_eq!(u.login, "alice");
        assert_eq!(u.scope, "user/*.rs");
        // Expired, tampered, unknown.
        assert!(a.session(&s.token, s.expires).is_none());
        let mut bad = s.token.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '0' { '1' } else { '0' });
        assert!(a.session(&bad, 2001).is_none());
        assert!(a.session("pgs_nothing", 2001).is_none());
        assert_eq!(a.sessions(Some("alice"), 2001).unwrap().len(), 1);
        // Someone else cannot revoke it; the owner can.
        assert!(!a.revoke(&s.id, Some("bob")).unwrap());
        assert!(a.revoke(&s.id, Some("alice")).unwrap());
        assert!(a.session(&s.token, 2001).is_none());
        // Disabling kills live sessions and refuses logins with the generic error.
        let s2 = a.login("alice", PW, 2002, 3600, &pol).unwrap();
        a.set_disabled("alice", true).unwrap();
        assert!(a.session(&s2.token, 2003).is_none());
        assert_eq!(
            a.login("alice", PW, 2004, 3600, &pol),
            Err(LoginError::Invalid)
        );
        a.set_disabled("alice", false).unwrap();
        assert!(a.login("alice", PW, 2005, 3600, &pol).is_ok());
        assert!(matches!(
            a.set_disabled("nobody", true),
            Err(AccountError::Unknown(_))
        ));
    }

    #[test]
    fn lockout_backs_off_and_resets() {
        let (_d, a) = store();
        let pol = LockoutPolicy {
            max_failures: 3,
            base_secs: 10,
            max_secs: 40,
        };
        for _ in 0..2 {
            assert_eq!(
                a.login("alice", "wrong password", 100, 60, &pol),
                Err(LoginError::Invalid)
            );
        }
        // Third failure locks for 10 s; even the right password is refused meanwhile.
        assert_eq!(
            a.login("alice", "wrong password", 100, 60, &pol),
            Err(LoginError::Invalid)
        );
        assert_eq!(
            a.login("alice", PW, 105, 60, &pol),
            Err(LoginError::Locked { retry_after: 5 })
        );
        // After the lock, one more failure locks for twice as long.
        assert_eq!(
            a.login("alice", "wrong password", 111, 60, &pol),
            Err(LoginError::Invalid)
        );
        assert_eq!(
            a.login("alice", PW, 112, 60, &pol),
            Err(LoginError::Locked { retry_after: 19 })
        );
        assert_eq!(pol.lock_secs(10), 40);
        assert!(a.login("alice", PW, 200, 60, &pol).is_ok());
        assert_eq!(a.list(200).unwrap()[0].failed_logins, 0);
        // Unknown logins fail the same way and lock nothing.
        assert_eq!(
            a.login("mallory", PW, 200, 60, &pol),
            Err(LoginError::Invalid)
        );
    }
}
