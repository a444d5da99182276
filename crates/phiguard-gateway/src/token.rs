//! Bearer tokens: compact JWS (JWT) signed with Ed25519 (`alg: EdDSA`, RFC 8037), ECDSA P-256
//! (`ES256`) or RSA PKCS#1 v1.5 with SHA-256 (`RS256`, 2048 to 8192 bits), verified against the
//! JWKS of configured issuers, plus the local development issuer that `phiguard token issue`
//! uses, and the `jti` revocation list.
//!
//! Algorithm confusion is refused by construction: `none`, every HMAC and any algorithm not
//! listed are refused before any key is looked up, and each key carries the one algorithm it
//! may verify (from its JWK `kty`/`crv`, and its `alg` when present), so a token whose header
//! names another algorithm than its key's is refused too. The signature is checked before a
//! single claim is trusted. Key sets can be replaced at run time ([`Verifier::replace_issuer`],
//! used by JWKS refresh).

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
    /// Header `alg` is not `EdDSA`/`ES256`/`RS256`, or not the algorithm of the key.
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
    /// RFC 7515 4.1.11: extensions the verifier must understand; phiguard understands none.
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct IssOnly {
    iss: String,
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jwks {
    /// Keys.
    pub keys: Vec<Jwk>,
}

/// One JSON Web Key: OKP Ed25519 (RFC 8037), EC P-256 or RSA (RFC 7518 section 6).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// Curve (`Ed25519`, `P-256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// OKP public key or EC x coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Key id.
    #[serde(default)]
    pub kid: String,
    /// Algorithm the key is for (`EdDSA`, `ES256`, `RS256`); must match the key type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use; keys marked other than `sig` are ignored.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

/// Signature algorithms accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// Ed25519.
    EdDsa,
    /// ECDSA P-256 SHA-256 (fixed-length r||s signature).
    Es256,
    /// RSASSA-PKCS1-v1_5 SHA-256, 2048 to 8192 bits.
    Rs256,
}

impl Alg {
    /// From a JOSE `alg` name; `None` for everything else (`none`, `HS256`, `PS256`, ...).
    pub fn from_name(s: &str) -> Option<Alg> {
        match s {
            "EdDSA" => Some(Alg::EdDsa),
            "ES256" => Some(Alg::Es256),
            "RS256" => Some(Alg::Rs256),
            _ => None,
        }
    }
    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::EdDsa => "EdDSA",
            Alg::Es256 => "ES256",
            Alg::Rs256 => "RS256",
        }
    }
}

/// A verification key bound to its one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Ed25519 public key (32 bytes).
    Ed25519(Vec<u8>),
    /// P-256 uncompressed point (0x04 || x || y).
    P256(Vec<u8>),
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Exponent.
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// The algorithm this key verifies.
    pub fn alg(&self) -> Alg {
        match self {
            PublicKey::Ed25519(_) => Alg::EdDsa,
            PublicKey::P256(_) => Alg::Es256,
            PublicKey::Rsa { .. } => Alg::Rs256,
        }
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => UnparsedPublicKey::new(&signature::ED25519, k)
                .verify(msg, sig)
                .is_ok(),
            PublicKey::P256(k) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, k)
                .verify(msg, sig)
                .is_ok(),
            PublicKey::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
        }
    }
}

fn b64_field(v: Option<&String>, name: &str) -> Result<Vec<u8>, String> {
    let v = v.ok_or_else(|| format!("field `{name}` missing"))?;
    B64URL
        .decode(v.as_bytes())
        .map_err(|_| format!("field `{name}` is not base64url"))
}

fn strip_zeros(mut b: Vec<u8>) -> Vec<u8> {
    let z = b.iter().take_while(|x| **x == 0).count();
    b.drain(..z);
    b
}

impl Jwk {
    /// The verification key, or why not. `Ok(None)` for keys that are not for signatures
    /// (`use` other than `sig`) or of a type phiguard does not verify with, which a JWKS
    /// may legitimately also contain.
    ///
    /// # Errors
    /// A message naming the bad field when a supported key is malformed or its `alg`
    /// contradicts its type.
    pub fn to_key(&self) -> Result<Option<PublicKey>, String> {
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Ok(None);
        }
        let key = match (self.kty.as_str(), self.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => {
                let x = b64_field(self.x.as_ref(), "x")?;
                if x.len() != 32 {
                    return Err("field `x` is not 32 bytes".into());
                }
                PublicKey::Ed25519(x)
            }
            ("EC", Some("P-256")) => {
                let x = b64_field(self.x.as_ref(), "x")?;
                let y = b64_field(self.y.as_ref(), "y")?;
                if x.len() != 32 || y.len() != 32 {
                    return Err("fields `x` and `y` must be 32 bytes each".into());
                }
                let mut p = Vec::with_capacity(65);
                p.push(4);
                p.extend_from_slice(&x);
                p.extend_from_slice(&y);
                PublicKey::P256(p)
            }
            ("RSA", _) => {
                let n = strip_zeros(b64_field(self.n.as_ref(), "n")?);
                let e = strip_zeros(b64_field(self.e.as_ref(), "e")?);
                if n.len() < 256 || n.len() > 1024 {
                    return Err("RSA modulus must be 2048 to 8192 bits".into());
                }
                if e.is_empty() || e.len() > 4 {
                    return Err("RSA exponent out of range".into());
                }
                PublicKey::Rsa { n, e }
            }
            _ => return Ok(None),
        };
        match self.alg.as_deref() {
            None => Ok(Some(key)),
            Some(a) if Alg::from_name(a) == Some(key.alg()) => Ok(Some(key)),
            Some(a) if Alg::from_name(a).is_none() && self.kty == "RSA" => Ok(None),
            Some(a) => Err(format!(
                "field `alg` is {a} but the key is for {}",
                key.alg().name()
            )),
        }
    }
}

/// Parses every usable key of a JWKS (`kid` -> key).
///
/// # Errors
/// [`SetupError::Invalid`] naming `source` and the key index for a malformed key, or when no
/// key is usable.
pub fn parse_jwks(jwks: &Jwks, source: &Path) -> Result<HashMap<String, PublicKey>, SetupError> {
    let mut out = HashMap::new();
    for (i, k) in jwks.keys.iter().enumerate() {
        let bad = |reason: String| SetupError::Invalid {
            what: "jwks",
            path: source.to_owned(),
            reason: format!("keys[{i}]: {reason}"),
        };
        if let Some(key) = k.to_key().map_err(bad)? {
            if out.insert(k.kid.clone(), key).is_some() {
                return Err(bad(format!("duplicate kid `{}`", k.kid)));
            }
        }
    }
    if out.is_empty() {
        return Err(SetupError::Invalid {
            what: "jwks",
            path: source.to_owned(),
            reason: "no usable signing key (supported: OKP Ed25519, EC P-256, RSA)".into(),
        });
    }
    Ok(out)
}

/// Verifies tokens from the configured issuers.
#[derive(Debug, Default)]
pub struct Verifier {
    audience: String,
    /// issuer -> kid -> key
    keys: RwLock<HashMap<String, HashMap<String, PublicKey>>>,
    leeway: i64,
}

impl Verifier {
    /// A verifier for `audience` with no issuers yet.
    pub fn new(audience: &str) -> Self {
        Self {
            audience: audience.to_string(),
            keys: RwLock::new(HashMap::new()),
            leeway: 30,
        }
    }

    /// Trusts `issuer` with the keys of a JWKS document (added to any it has).
    ///
    /// # Errors
    /// [`SetupError::Invalid`] when a key is malformed or none is usable.
    pub fn add_issuer(
        &mut self,
        issuer: &str,
        jwks: &Jwks,
        source: &Path,
    ) -> Result<(), SetupError> {
        let parsed = parse_jwks(jwks, source)?;
        if let Ok(mut m) = self.keys.write() {
            m.entry(issuer.to_string()).or_default().extend(parsed);
        }
        Ok(())
    }

    /// Replaces the key set of `issuer` (JWKS refresh: rotated-out keys stop verifying).
    ///
    /// # Errors
    /// [`SetupError::Invalid`] when a key is malformed or none is usable; the old set stays.
    pub fn replace_issuer(
        &self,
        issuer: &str,
        jwks: &Jwks,
        source: &Path,
    ) -> Result<(), SetupError> {
        let parsed = parse_jwks(jwks, source)?;
        if let Ok(mut m) = self.keys.write() {
            m.insert(issuer.to_string(), parsed);
        }
        Ok(())
    }

    /// Whether `issuer` has a key `kid`.
    pub fn has_key(&self, issuer: &str, kid: &str) -> bool {
        self.keys
            .read()
            .is_ok_and(|m| m.get(issuer).is_some_and(|k| k.contains_key(kid)))
    }

    /// Loads a JWKS file and trusts it for `issuer`.
    ///
    /// # Errors
    /// File or format errors.
    pub fn add_issuer_file(&mut self, issuer: &str, path: &Path) -> Result<(), SetupError> {
        let jwks = read_jwks_file(path)?;
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
        let Some(alg) = Alg::from_name(&header.alg) else {
            return Err(TokenError::Algorithm);
        };
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        let payload = B64URL.decode(p).map_err(|_| TokenError::Malformed)?;
        let sig = B64URL.decode(s).map_err(|_| TokenError::Malformed)?;
        // The issuer picks the key set; nothing else of the payload is read before the
        // signature is verified.
        let iss: IssOnly = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        let key = {
            let all = self.keys.read().map_err(|_| TokenError::UnknownKey)?;
            let keys = all.get(&iss.iss).ok_or(TokenError::UnknownKey)?;
            match header.kid.as_deref() {
                Some(kid) => keys.get(kid).ok_or(TokenError::UnknownKey)?.clone(),
                None if keys.len() == 1 => {
                    keys.values().next().ok_or(TokenError::UnknownKey)?.clone()
                }
                None => return Err(TokenError::UnknownKey),
            }
        };
        // The header's algorithm must be the key's own: no RS256 key used as HS256 secret,
        // no EdDSA token checked against an RSA key.
        if key.alg() != alg {
            return Err(TokenError::Algorithm);
        }
        let signed_len = h.len() + 1 + p.len();
        let msg = token.get(..signed_len).ok_or(TokenError::Malformed)?;
        if !key.verify(msg.as_bytes(), &sig) {
            return Err(TokenError::Signature);
        }
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
                crv: Some("Ed25519".into()),
                x: Some(B64URL.encode(self.key.public_key().as_ref())),
                kid: self.kid.clone(),
                alg: Some("EdDSA".into()),
                use_: Some("sig".into()),
                ..Jwk::default()
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

/// Reads a JWKS file.
///
/// # Errors
/// I/O or JSON errors naming the file (and line/column).
pub fn read_jwks_file(path: &Path) -> Result<Jwks, SetupError> {
    let text = std::fs::read_to_string(path).map_err(|source| SetupError::Io {
        what: "jwks",
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| SetupError::Invalid {
        what: "jwks",
        path: path.to_owned(),
        reason: format!("line {} column {}: {e}", e.line(), e.column()),
    })
}

/// Signs `claims` with any JOSE signer (tests and other issuers): `sign` gets the signing
/// input and returns the raw signature.
///
/// # Errors
/// Serialization failure, or the signer's failure.
pub fn sign_generic(
    alg: &str,
    kid: Option<&str>,
    claims: &Claims,
    sign: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<String, SetupError> {
    let header = match kid {
        Some(k) => serde_json::json!({"alg": alg, "typ": "JWT", "kid": k}),
        None => serde_json::json!({"alg": alg, "typ": "JWT"}),
    };
    let payload = serde_json::to_vec(claims).map_err(|e| SetupError::Key(e.to_string()))?;
    let mut out = B64URL.encode(header.to_string());
    out.push('.');
    out.push_str(&B64URL.encode(payload));
    let sig = sign(out.as_bytes()).ok_or_else(|| SetupError::Key("signing failed".into()))?;
    out.push('.');
    out.push_str(&B64URL.encode(sig));
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

    fn es256() -> (signature::EcdsaKeyPair, Jwk) {
        let k =
            signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pt = k.public_key().as_ref().to_vec();
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(B64URL.encode(&pt[1..33])),
            y: Some(B64URL.encode(&pt[33..65])),
            kid: "ec1".into(),
            alg: Some("ES256".into()),
            ..Jwk::default()
        };
        (k, jwk)
    }

    fn rs256() -> (signature::RsaKeyPair, Jwk) {
        let k = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let jwk = Jwk {
            kty: "RSA".into(),
            n: Some(B64URL.encode(k.public_key().modulus().big_endian_without_leading_zero())),
            e: Some(B64URL.encode(k.public_key().exponent().big_endian_without_leading_zero())),
            kid: "rsa1".into(),
            ..Jwk::default()
        };
        (k, jwk)
    }

    fn rsa_sign(k: &signature::RsaKeyPair, msg: &[u8]) -> Option<Vec<u8>> {
        let mut sig = vec![0u8; k.public_modulus_len()];
        k.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            msg,
            &mut sig,
        )
        .ok()?;
        Some(sig)
    }

    fn hmac(key: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
        let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
        Some(aws_lc_rs::hmac::sign(&k, msg).as_ref().to_vec())
    }

    #[test]
    fn es256_and_rs256_verify_and_alg_confusion_is_refused() {
        let (ec, ec_jwk) = es256();
        let (rsa, rsa_jwk) = rs256();
        let ed_dir = tempfile::tempdir().unwrap();
        let ed = DevIssuer::open_or_create(ed_dir.path()).unwrap();
        let mut ed_jwk = ed.jwks().keys.remove(0);
        ed_jwk.kid = "ed1".into();
        let mut v = Verifier::new("phiguard");
        let jwks = Jwks {
            keys: vec![ec_jwk.clone(), rsa_jwk.clone(), ed_jwk.clone()],
        };
        v.add_issuer(DEV_ISSUER, &jwks, Path::new("test")).unwrap();
        let now = 1_800_000_000;
        let c = claims(now);
        let rng = SystemRandom::new();
        let es = |m: &[u8]| ec.sign(&rng, m).ok().map(|s| s.as_ref().to_vec());
        let rs = |m: &[u8]| rsa_sign(&rsa, m);
        let ed_sign = |m: &[u8]| Some(ed.key.sign(m).as_ref().to_vec());
        let t = sign_generic("ES256", Some("ec1"), &c, &es).unwrap();
        assert_eq!(v.verify(&t, now).unwrap(), c);
        let t = sign_generic("RS256", Some("rsa1"), &c, &rs).unwrap();
        assert_eq!(v.verify(&t, now).unwrap(), c);
        let t = sign_generic("EdDSA", Some("ed1"), &c, &ed_sign).unwrap();
        assert_eq!(v.verify(&t, now).unwrap(), c);
        // Header algorithm differs from the key's: refused before the signature is checked.
        let t = sign_generic("ES256", Some("rsa1"), &c, &rs).unwrap();
        assert_eq!(v.verify(&t, now), Err(TokenError::Algorithm));
        let t = sign_generic("RS256", Some("ed1"), &c, &ed_sign).unwrap();
        assert_eq!(v.verify(&t, now), Err(TokenError::Algorithm));
        let t = sign_generic("EdDSA", Some("ec1"), &c, &es).unwrap();
        assert_eq!(v.verify(&t, now), Err(TokenError::Algorithm));
        // The classic confusion: HS256 "signed" with the public key as the HMAC secret.
        for (kid, secret) in [
            ("rsa1", serde_json::to_vec(&rsa_jwk).unwrap()),
            ("ec1", serde_json::to_vec(&ec_jwk).unwrap()),
            ("rsa1", rsa.public_key().as_ref().to_vec()),
        ] {
            for alg in [
                "HS256", "HS384", "HS512", "none", "PS256", "ES384", "RS512", "eddsa",
            ] {
                let t = sign_generic(alg, Some(kid), &c, &|m| hmac(&secret, m)).unwrap();
                assert_eq!(v.verify(&t, now), Err(TokenError::Algorithm), "{alg}");
            }
        }
        // alg none with an empty signature, and `crit` extensions nobody understands.
        let parts: Vec<String> = sign_generic("RS256", Some("rsa1"), &c, &rs)
            .unwrap()
            .split('.')
            .map(str::to_string)
            .collect();
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none","kid":"rsa1"}"#),
            parts[1]
        );
        assert_eq!(v.verify(&none, now), Err(TokenError::Algorithm));
        let crit = format!(
            "{}.{}.{}",
            B64URL.encode(r#"{"alg":"RS256","kid":"rsa1","crit":["exp"],"exp":1}"#),
            parts[1],
            parts[2]
        );
        assert_eq!(v.verify(&crit, now), Err(TokenError::Malformed));
        // A forged ES256 signature (other key, same kid).
        let (ec2, _) = es256();
        let t = sign_generic("ES256", Some("ec1"), &c, &|m| {
            ec2.sign(&rng, m).ok().map(|s| s.as_ref().to_vec())
        })
        .unwrap();
        assert_eq!(v.verify(&t, now), Err(TokenError::Signature));
    }

    #[test]
    fn jwks_keys_are_checked_against_their_declared_alg() {
        let (_, ec) = es256();
        let (_, rsa) = rs256();
        let p = Path::new("jwks.json");
        // alg contradicting the key type.
        let mut bad = ec.clone();
        bad.alg = Some("RS256".into());
        let e = parse_jwks(&Jwks { keys: vec![bad] }, p).unwrap_err();
        assert!(
            e.to_string().contains("keys[0]: field `alg` is RS256"),
            "{e}"
        );
        let mut bad = rsa.clone();
        bad.alg = Some("HS256".into());
        assert!(parse_jwks(
            &Jwks {
                keys: vec![bad, ec.clone()]
            },
            p
        )
        .is_ok_and(|k| k.len() == 1));
        // Encryption keys and unknown types are skipped; nothing usable is an error.
        let mut enc = rsa.clone();
        enc.use_ = Some("enc".into());
        let oct = Jwk {
            kty: "oct".into(),
            kid: "h".into(),
            ..Jwk::default()
        };
        let e = parse_jwks(
            &Jwks {
                keys: vec![enc, oct],
            },
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no usable signing key"), "{e}");
        // Short RSA moduli, wrong point sizes, duplicate kids.
        let mut short = rsa.clone();
        short.n = Some(B64URL.encode([0xc5u8; 128]));
        assert!(parse_jwks(&Jwks { keys: vec![short] }, p)
            .unwrap_err()
            .to_string()
            .contains("2048 to 8192"));
        let mut pt = ec.clone();
        pt.y = Some(B64URL.encode([1u8; 31]));
        assert!(parse_jwks(&Jwks { keys: vec![pt] }, p).is_err());
        let e = parse_jwks(
            &Jwks {
                keys: vec![ec.clone(), ec],
            },
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("duplicate kid"), "{e}");
    }

    #[test]
    fn replace_issuer_rotates_keys() {
        let (ec, ec_jwk) = es256();
        let (ec2, mut ec2_jwk) = es256();
        ec2_jwk.kid = "ec2".into();
        let mut v = Verifier::new("phiguard");
        v.add_issuer(DEV_ISSUER, &Jwks { keys: vec![ec_jwk] }, Path::new("a"))
            .unwrap();
        let now = 1_800_000_000;
        let rng = SystemRandom::new();
        let old = sign_generic("ES256", Some("ec1"), &claims(now), &|m| {
            ec.sign(&rng, m).ok().map(|s| s.as_ref().to_vec())
        })
        .unwrap();
        let new = sign_generic("ES256", Some("ec2"), &claims(now), &|m| {
            ec2.sign(&rng, m).ok().map(|s| s.as_ref().to_vec())
        })
        .unwrap();
        assert!(v.verify(&old, now).is_ok());
        assert_eq!(v.verify(&new, now), Err(TokenError::UnknownKey));
        assert!(!v.has_key(DEV_ISSUER, "ec2"));
        v.replace_issuer(
            DEV_ISSUER,
            &Jwks {
                keys: vec![ec2_jwk],
            },
            Path::new("b"),
        )
        .unwrap();
        assert!(v.verify(&new, now).is_ok());
        assert_eq!(v.verify(&old, now), Err(TokenError::UnknownKey));
        // A bad replacement keeps the current keys.
        assert!(v
            .replace_issuer(DEV_ISSUER, &Jwks::default(), Path::new("c"))
            .is_err());
        assert!(v.verify(&new, now).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_never_panic(s in ".{0,300}") {
            let v = Verifier::new("phiguard");
            let _ = v.verify(&s, 0);
        }
    }
}
