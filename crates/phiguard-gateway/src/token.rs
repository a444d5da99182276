//! Bearer tokens: compact JWS (JWT) signed with Ed25519 (`alg: EdDSA`, RFC 8037), verified
//! against the JWKS of configured issuers, plus the local development issuer that
//! `phiguard token issue` uses, and the `jti` revocation list.
//!
//! Only `EdDSA` is accepted: `none`, HMAC and any algorithm not listed are refused before any
//! key is looked up, so algorithm-confusion attacks have nothing to confuse. The signature is
//! checked before a single claim is trusted.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::SetupError;

/// Longest token accepted, in bytes (a header limit anyway; refuse early).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Claims phiguard reads from a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user's login (as in `Practitioner.identifier.value`).
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Token id (for revocation).
    pub jti: String,
    /// SMART scopes, space separated.
    pub scope: String,
    /// Default purpose of use (v3-ActReason code, e.g. `TREAT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_of_use: Option<String>,
    /// Tenant the user belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// SMART launch context patient (binds `patient/` scopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// Hospital roles (`clinician`, `auditor`, `admin`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Authentication methods (RFC 8176); `mfa` or `hwk` counts as step-up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// Why a token was refused (the client sees only "invalid token"; the reason goes to metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts, or too long.
    #[error("malformed token")]
    Malformed,
    /// Header `alg` is not `EdDSA`.
    #[error("unsupported algorithm")]
    Algorithm,
    /// Issuer not configured or `kid` unknown.
    #[error("unknown issuer or key")]
    UnknownKey,
    /// Signature does not verify.
    #[error("bad signature")]
    Signature,
    /// Expired or not yet valid.
    #[error("expired")]
    Expired,
    /// Audience differs.
    #[error("wrong audience")]
    Audience,
    /// `jti` is on the revocation list.
    #[error("revoked")]
    Revoked,
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IssOnly {
    iss: String,
}

/// A JSON Web Key Set with Ed25519 (`OKP`) keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jwks {
    /// Keys.
    pub keys: Vec<Jwk>,
}

/// One OKP Ed25519 key (RFC 8037).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// Public key, base64url.
    pub x: String,
    /// Key id.
    pub kid: String,
    /// `EdDSA`.
    #[serde(default)]
    pub alg: Option<String>,
}

/// Verifies tokens from the configured issuers.
#[derive(Debug, Default)]
pub struct Verifier {
    audience: String,
    /// issuer -> kid -> public key bytes
    keys: HashMap<String, HashMap<String, Vec<u8>>>,
    leeway: i64,
}

impl Verifier {
    /// A verifier for `audience` with no issuers yet.
    pub fn new(audience: &str) -> Self {
        Self {
            audience: audience.to_string(),
            keys: HashMap::new(),
            leeway: 30,
        }
    }

    /// Trusts `issuer` with the keys of a JWKS document.
    ///
    /// # Errors
    /// [`SetupError::Invalid`] when a key is not an Ed25519 OKP key of 32 bytes.
    pub fn add_issuer(
        &mut self,
        issuer: &str,
        jwks: &Jwks,
        source: &Path,
    ) -> Result<(), SetupError> {
        let entry = self.keys.entry(issuer.to_string()).or_default();
        for (i, k) in jwks.keys.iter().enumerate() {
            let bad = |reason: String| SetupError::Invalid {
                what: "jwks",
                path: source.to_owned(),
                reason: format!("keys[{i}]: {reason}"),
            };
            if k.kty != "OKP" || k.crv != "Ed25519" {
                return Err(bad("only OKP Ed25519 keys are supported".into()));
            }
            let x = B64URL
                .decode(k.x.as_bytes())
                .map_err(|_| bad("field `x` is not base64url".into()))?;
            if x.len() != 32 {
                return Err(bad("field `x` is not 32 bytes".into()));
            }
            entry.insert(k.kid.clone(), x);
        }
        Ok(())
    }

    /// Loads a JWKS file and trusts it for `issuer`.
    ///
    /// # Errors
    /// File or format errors.
    pub fn add_issuer_file(&mut self, issuer: &str, path: &Path) -> Result<(), SetupError> {
        let text = std::fs::read_to_string(path).map_err(|source| SetupError::Io {
            what: "jwks",
            path: path.to_owned(),
            source,
        })?;
        let jwks: Jwks = serde_json::from_str(&text).map_err(|e| SetupError::Invalid {
            what: "jwks",
            path: path.to_owned(),
            reason: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
        self.add_issuer(issuer, &jwks, path)
    }

    /// Verifies a compact JWS and its claims at time `now` (unix seconds).
    ///
    /// # Errors
    /// A [`TokenError`] naming the first check that failed.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = B64URL
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Algorithm);
        }
        let payload = B64URL.decode(p).map_err(|_| TokenError::Malformed)?;
        let sig = B64URL.decode(s).map_err(|_| TokenError::Malformed)?;
        // The issuer picks the key set; nothing else of the payload is read before the
        // signature is verified.
        let iss: IssOnly = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        let keys = self.keys.get(&iss.iss).ok_or(TokenError::UnknownKey)?;
        let key = match header.kid.as_deref() {
            Some(kid) => keys.get(kid).ok_or(TokenError::UnknownKey)?,
            None if keys.len() == 1 => keys.values().next().ok_or(TokenError::UnknownKey)?,
            None => return Err(TokenError::UnknownKey),
        };
        let signed_len = h.len() + 1 + p.len();
        let msg = token.get(..signed_len).ok_or(TokenError::Malformed)?;
        UnparsedPublicKey::new(&signature::ED25519, key)
            .verify(msg.as_bytes(), &sig)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp + self.leeway < now || claims.iat - self.leeway > now {
            return Err(TokenError::Expired);
        }
        if claims.aud != self.audience {
            return Err(TokenError::Audience);
        }
        Ok(claims)
    }
}

/// The local development issuer: an Ed25519 key in `DATA-DIR/issuer/` (0600).
pub struct DevIssuer {
    key: Ed25519KeyPair,
    kid: String,
    /// Issuer name (`iss`).
    pub issuer: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer").field("kid", &self.kid).finish()
    }
}

/// Issuer name of the development issuer.
pub const DEV_ISSUER: &str = "phiguard-dev";

/// Directory of the development issuer inside a data dir.
pub fn issuer_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("issuer")
}

/// JWKS file of the development issuer.
pub fn dev_jwks_path(data_dir: &Path) -> PathBuf {
    issuer_dir(data_dir).join("jwks.json")
}

impl DevIssuer {
    /// Opens the development issuer of `data_dir`, creating its key (0600) on first use.
    ///
    /// # Errors
    /// I/O, permission (group/other readable key) or key format errors.
    pub fn open_or_create(data_dir: &Path) -> Result<Self, SetupError> {
        let dir = issuer_dir(data_dir);
        let key_path = dir.join("dev-issuer.pk8");
        let io = |what: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| SetupError::Io { what, path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io("issuer dir", &dir))?;
        let pkcs8 = if key_path.exists() {
            crate::files::check_private(&key_path)?;
            std::fs::read(&key_path).map_err(io("issuer key", &key_path))?
        } else {
            let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| SetupError::Key("ed25519 key generation failed".into()))?;
            crate::files::write_private(&key_path, doc.as_ref())?;
            doc.as_ref().to_vec()
        };
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| SetupError::Invalid {
            what: "issuer key",
            path: key_path.clone(),
            reason: "not an ed25519 pkcs8 key".into(),
        })?;
        let kid = hex::encode(
            &aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key().as_ref())
                .as_ref()[..8],
        );
        let me = Self {
            key,
            kid,
            issuer: DEV_ISSUER.to_string(),
        };
        let jwks_path = dev_jwks_path(data_dir);
        let jwks =
            serde_json::to_string_pretty(&me.jwks()).map_err(|e| SetupError::Key(e.to_string()))?;
        std::fs::write(&jwks_path, jwks).map_err(io("jwks", &jwks_path))?;
        Ok(me)
    }

    /// The public JWKS.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: vec![Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: B64URL.encode(self.key.public_key().as_ref()),
                kid: self.kid.clone(),
                alg: Some("EdDSA".into()),
            }],
        }
    }

    /// Signs claims into a compact JWS.
    ///
    /// # Errors
    /// Serialization failure (never with these types, but typed anyway).
    pub fn sign(&self, claims: &Claims) -> Result<String, SetupError> {
        sign_with(&self.key, Some(&self.kid), claims)
    }
}

/// Signs `claims` with an Ed25519 key (used by the issuer and by tests forging tokens).
///
/// # Errors
/// Serialization failure.
pub fn sign_with(
    key: &Ed25519KeyPair,
    kid: Option<&str>,
    claims: &Claims,
) -> Result<String, SetupError> {
    let header = match kid {
        Some(k) => serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": k}),
        None => serde_json::json!({"alg": "EdDSA", "typ": "JWT"}),
    };
    let payload = serde_json::to_vec(claims).map_err(|e| SetupError::Key(e.to_string()))?;
    let mut out = B64URL.encode(header.to_string());
    out.push('.');
    out.push_str(&B64URL.encode(payload));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&B64URL.encode(sig.as_ref()));
    Ok(out)
}

/// A random token id.
pub fn new_jti() -> String {
    let mut b = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut b);
    hex::encode(b)
}

/// The `jti` revocation list: a text file with one id per line, re-read whenever it changes
/// (checked on every request, one `stat`), so `phiguard token revoke` takes effect at once.
#[derive(Debug)]
pub struct Revocations {
    path: PathBuf,
    state: RwLock<(Option<SystemTime>, HashSet<String>)>,
}

/// Revocation list file inside a data dir.
pub fn revocations_path(data_dir: &Path) -> PathBuf {
    data_dir.join("revoked-jti.txt")
}

impl Revocations {
    /// A list backed by `path` (need not exist yet).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            state: RwLock::new((None, HashSet::new())),
        }
    }

    /// Whether `jti` is revoked. If the file cannot be read after it existed, every token is
    /// treated as revoked (fail closed).
    pub fn is_revoked(&self, jti: &str) -> bool {
        let mtime = match std::fs::metadata(&self.path) {
            Ok(m) => m.modified().ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return true,
        };
        if let Ok(st) = self.state.read() {
            if st.0 == mtime {
                return st.1.contains(jti);
            }
        }
        let set: HashSet<String> = match mtime {
            None => HashSet::new(),
            Some(_) => match std::fs::read_to_string(&self.path) {
                Ok(t) => t
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                Err(_) => return true,
            },
        };
        let hit = set.contains(jti);
        if let Ok(mut st) = self.state.write() {
            *st = (mtime, set);
        }
        hit
    }

    /// Adds `jti` to the file.
    ///
    /// # Errors
    /// I/O errors.
    pub fn revoke(&self, jti: &str) -> Result<(), SetupError> {
        use std::io::Write as _;
        if jti.is_empty()
            || !jti
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SetupError::Config("jti must be [A-Za-z0-9_-]+".into()));
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|source| SetupError::Io {
                what: "revocation list",
                path: self.path.clone(),
                source,
            })?;
        writeln!(f, "{jti}")
            .and_then(|_| f.sync_all())
            .map_err(|source| SetupError::Io {
                what: "revocation list",
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> Claims {
        Claims {
            iss: DEV_ISSUER.into(),
            sub: "alice".into(),
            aud: "phiguard".into(),
            exp: now + 600,
            iat: now,
            jti: new_jti(),
            scope: "user/*.cruds".into(),
            purpose_of_use: Some("TREAT".into()),
            tenant: None,
            patient: None,
            roles: vec![],
            amr: vec![],
        }
    }

    #[test]
    fn sign_verify_and_every_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let iss = DevIssuer::open_or_create(dir.path()).unwrap();
        let mut v = Verifier::new("phiguard");
        v.add_issuer_file(DEV_ISSUER, &dev_jwks_path(dir.path()))
            .unwrap();
        let now = 1_800_000_000;
        let c = claims(now);
        let t = iss.sign(&c).unwrap();
        assert_eq!(v.verify(&t, now).unwrap(), c);
        assert_eq!(v.verify(&t, now + 10_000), Err(TokenError::Expired));
        let mut wrong = c.clone();
        wrong.aud = "other".into();
        assert_eq!(
            v.verify(&iss.sign(&wrong).unwrap(), now),
            Err(TokenError::Audience)
        );
        // Forged: same kid, other key.
        let other = Ed25519KeyPair::generate().unwrap();
        let forged = sign_with(&other, Some(&iss.kid), &c).unwrap();
        assert_eq!(v.verify(&forged, now), Err(TokenError::Signature));
        // Payload swapped under a valid signature.
        let mut admin = c.clone();
        admin.sub = "mallory".into();
        let t2 = iss.sign(&admin).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let parts2: Vec<&str> = t2.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], parts2[1], parts[2]);
        assert_eq!(v.verify(&spliced, now), Err(TokenError::Signature));
        // alg none.
        let none = format!("{}.{}.", B64URL.encode(r#"{"alg":"none"}"#), parts[1]);
        assert_eq!(v.verify(&none, now), Err(TokenError::Algorithm));
        let hs = format!(
            "{}.{}.{}",
            B64URL.encode(r#"{"alg":"HS256"}"#),
            parts[1],
            parts[2]
        );
        assert_eq!(v.verify(&hs, now), Err(TokenError::Algorithm));
        // Unknown issuer.
        let mut stranger = c.clone();
        stranger.iss = "https://evil.example".into();
        assert_eq!(
            v.verify(&iss.sign(&stranger).unwrap(), now),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(v.verify("a.b", now), Err(TokenError::Malformed));
        // Key file is private.
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(issuer_dir(dir.path()).join("dev-issuer.pk8"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }

    #[test]
    fn revocation_takes_effect_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let r = Revocations::new(revocations_path(dir.path()));
        assert!(!r.is_revoked("abc"));
        r.revoke("abc").unwrap();
        assert!(r.is_revoked("abc"));
        assert!(!r.is_revoked("abd"));
        assert!(r.revoke("a\nb").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(s in ".{0,300}") {
            let v = Verifier::new("phiguard");
            let _ = v.verify(&s, 0);
        }
    }
}
