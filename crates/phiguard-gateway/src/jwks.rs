//! Where issuers' keys come from, and keeping them fresh.
//!
//! An issuer's JWKS comes from a file, a URL, or OpenID Connect discovery (`issuer` +
//! `/.well-known/openid-configuration` -> `jwks_uri`; the document's `issuer` must equal the
//! configured one, OIDC Discovery 1.0 section 4.3). URLs must be `https`; plain `http` only to
//! a loopback address and only with the issuer's `dangerous_allow_http_loopback` (tests).
//! Redirects are not followed; documents are limited to 1 MiB; fetches time out after 10 s.
//!
//! Key sets are refreshed every `jwks_refresh_secs` by a background thread, and at once when
//! a token names a `kid` its issuer does not have (key rotation), at most once per
//! `jwks_min_refresh_secs` per issuer, so a stream of tokens with made-up `kid`s cannot turn
//! the gateway into a request amplifier against the identity provider. A failed refresh keeps
//! the previous keys.

use std::path::PathBuf;
use std::sync::{Mutex, Weak};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use crate::app::Caller;
use crate::error::{ApiError, SetupError};
use crate::state::{GatewayState, Inner, IssuerConfig};
use crate::token::{Jwks, Verifier};

/// Largest discovery or JWKS document, bytes.
pub const MAX_DOCUMENT: usize = 1 << 20;

/// Where one issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS file.
    File(PathBuf),
    /// A JWKS URL.
    Url(String),
    /// OIDC discovery from the issuer URL.
    Discovery,
}

/// One configured issuer and its refresh bookkeeping.
#[derive(Debug)]
pub struct IssuerSource {
    /// `iss`.
    pub issuer: String,
    /// Key source.
    pub source: KeySource,
    allow_http_loopback: bool,
    /// Last refresh triggered by an unknown `kid` (the rate limit).
    last_attempt: Mutex<Option<Instant>>,
}

/// Every configured issuer's key source.
#[derive(Debug, Default)]
pub struct KeySources {
    list: Vec<IssuerSource>,
    min_interval: Duration,
}

fn config_err(what: &str, url: &str, e: impl std::fmt::Display) -> SetupError {
    SetupError::Config(format!("{what} `{url}`: {e}"))
}

/// Checks that a URL may be fetched: `https`, or `http` to a loopback host when allowed.
///
/// # Errors
/// [`SetupError::Config`] naming the URL.
pub fn check_url(
    url: &str,
    allow_http_loopback: bool,
    what: &str,
) -> Result<reqwest::Url, SetupError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| config_err(what, url, e))?;
    let loopback = match parsed.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback()),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback && allow_http_loopback => Ok(parsed),
        "http" if loopback => Err(config_err(
            what,
            url,
            "plain http needs dangerous_allow_http_loopback = true (tests only)",
        )),
        _ => Err(config_err(what, url, "must be https")),
    }
}

/// Fetches a document (on a plain thread, so it also works inside a tokio runtime).
fn fetch(url: &str, allow_http_loopback: bool, what: &str) -> Result<Vec<u8>, SetupError> {
    let parsed = check_url(url, allow_http_loopback, what)?;
    let job = std::thread::spawn(move || -> Result<Vec<u8>, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let r = client.get(parsed).send().map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("status {}", r.status()));
        }
        if r.content_length().is_some_and(|l| l > MAX_DOCUMENT as u64) {
            return Err("document larger than 1 MiB".into());
        }
        let body = r.bytes().map_err(|e| e.to_string())?;
        if body.len() > MAX_DOCUMENT {
            return Err("document larger than 1 MiB".into());
        }
        Ok(body.to_vec())
    });
    job.join()
        .map_err(|_| config_err(what, url, "fetch thread failed"))?
        .map_err(|e| config_err(what, url, e))
}

/// Fetches a JWKS document.
///
/// # Errors
/// [`SetupError::Config`] naming the URL when it is not allowed, unreachable or not a JWKS.
pub fn fetch_jwks(url: &str, allow_http_loopback: bool) -> Result<Jwks, SetupError> {
    let body = fetch(url, allow_http_loopback, "jwks_url")?;
    serde_json::from_slice(&body)
        .map_err(|e| config_err("jwks_url", url, format!("not a JWKS: {e}")))
}

/// OIDC discovery: the `jwks_uri` of `issuer`.
///
/// # Errors
/// [`SetupError::Config`] when the document is unreachable, malformed, names another issuer
/// or a `jwks_uri` that may not be fetched.
pub fn discover(issuer: &str, allow_http_loopback: bool) -> Result<String, SetupError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = fetch(&url, allow_http_loopback, "openid-configuration")?;
    let doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| config_err("openid-configuration", &url, format!("not JSON: {e}")))?;
    if doc.get("issuer").and_then(|v| v.as_str()) != Some(issuer) {
        return Err(config_err(
            "openid-configuration",
            &url,
            "its `issuer` differs from the configured issuer",
        ));
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or_else(|| config_err("openid-configuration", &url, "no `jwks_uri`"))?;
    check_url(jwks_uri, allow_http_loopback, "jwks_uri")?;
    Ok(jwks_uri.to_string())
}

impl IssuerSource {
    /// Loads the current key set.
    ///
    /// # Errors
    /// File, fetch or format errors.
    pub fn load(&self) -> Result<(Jwks, PathBuf), SetupError> {
        match &self.source {
            KeySource::File(p) => Ok((crate::token::read_jwks_file(p)?, p.clone())),
            KeySource::Url(u) => Ok((fetch_jwks(u, self.allow_http_loopback)?, PathBuf::from(u))),
            KeySource::Discovery => {
                let u = discover(&self.issuer, self.allow_http_loopback)?;
                Ok((fetch_jwks(&u, self.allow_http_loopback)?, PathBuf::from(u)))
            }
        }
    }

    fn refresh(&self, v: &Verifier) -> Result<(), SetupError> {
        let (jwks, src) = self.load()?;
        v.replace_issuer(&self.issuer, &jwks, &src)
    }
}

/// Loads every configured issuer's keys into `verifier` (at start: any failure is fatal).
///
/// # Errors
/// [`SetupError::Config`] for contradictory settings, and load errors.
pub fn setup(
    verifier: &mut Verifier,
    issuers: &[IssuerConfig],
    min_interval: Duration,
) -> Result<KeySources, SetupError> {
    let mut list = Vec::new();
    for i in issuers {
        let source = match (&i.jwks_file, &i.jwks_url, i.discovery) {
            (Some(f), None, false) => KeySource::File(f.clone()),
            (None, Some(u), false) => KeySource::Url(u.clone()),
            (None, None, true) => {
                check_url(&i.issuer, i.dangerous_allow_http_loopback, "issuer")?;
                KeySource::Discovery
            }
            _ => {
                return Err(SetupError::Config(format!(
                    "issuer `{}`: set exactly one of jwks_file, jwks_url, discovery = true",
                    i.issuer
                )))
            }
        };
        let src = IssuerSource {
            issuer: i.issuer.clone(),
            source,
            allow_http_loopback: i.dangerous_allow_http_loopback,
            last_attempt: Mutex::new(None),
        };
        let (jwks, path) = src.load()?;
        verifier.add_issuer(&i.issuer, &jwks, &path)?;
        list.push(src);
    }
    Ok(KeySources { list, min_interval })
}

impl KeySources {
    /// Whether no issuer is configured (no refresh thread needed).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Reloads every issuer's keys; returns how many failed (each logged, old keys kept).
    pub fn refresh_all(&self, v: &Verifier) -> usize {
        let mut failed = 0;
        for s in &self.list {
            if let Err(e) = s.refresh(v) {
                failed += 1;
                tracing::warn!(issuer = %s.issuer, error = %e, "jwks refresh failed; keeping the previous keys");
            }
        }
        failed
    }

    /// The source of `issuer` if a refresh for an unknown `kid` is due (rate limited).
    fn due(&self, issuer: &str) -> Option<&IssuerSource> {
        let s = self.list.iter().find(|s| s.issuer == issuer)?;
        let mut t = s.last_attempt.lock().ok()?;
        if t.is_some_and(|t| t.elapsed() < self.min_interval) {
            return None;
        }
        *t = Some(Instant::now());
        Some(s)
    }

    /// Refreshes `issuer` because a token named an unknown key, if the rate limit allows.
    /// Returns whether the key set was replaced.
    pub fn refresh_for_unknown_kid(&self, v: &Verifier, issuer: &str) -> bool {
        let Some(s) = self.due(issuer) else {
            return false;
        };
        match s.refresh(v) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(issuer = %s.issuer, error = %e, "jwks refresh on unknown kid failed");
                false
            }
        }
    }
}

/// Refreshes every issuer's keys every `every` until the gateway state is dropped.
pub fn spawn_refresher(state: Weak<Inner>, every: Duration) {
    let every = every.max(Duration::from_secs(1));
    let _ = std::thread::Builder::new()
        .name("jwks-refresh".into())
        .spawn(move || {
            let mut last = Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(500).min(every));
                let Some(inner) = state.upgrade() else {
                    return;
                };
                if last.elapsed() >= every {
                    inner.key_sources.refresh_all(&inner.verifier);
                    // A withdrawn key's tokens must not live on in the verified-token cache.
                    inner.token_cache.clear();
                    last = Instant::now();
                }
            }
        });
}

/// `(iss, kid)` of an unverified JWT, only to decide whether a refresh could help.
fn unverified_iss_kid(token: &str) -> Option<(String, String)> {
    if token.len() > crate::token::MAX_TOKEN_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let h: serde_json::Value = serde_json::from_slice(&B64URL.decode(parts.next()?).ok()?).ok()?;
    let p: serde_json::Value = serde_json::from_slice(&B64URL.decode(parts.next()?).ok()?).ok()?;
    Some((
        p.get("iss")?.as_str()?.to_string(),
        h.get("kid")?.as_str()?.to_string(),
    ))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    h.strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(str::trim)
}

/// [`crate::app::authenticate`], plus one JWKS refresh (rate limited) when the token names a
/// key its configured issuer does not have, then a second try.
///
/// # Errors
/// As [`crate::app::authenticate`].
pub async fn authenticate(
    s: &GatewayState,
    headers: &HeaderMap,
    addr: Option<std::net::SocketAddr>,
) -> Result<Caller, ApiError> {
    let first = crate::app::authenticate(s, headers, addr);
    if first.is_ok() {
        return first;
    }
    let Some((iss, kid)) = bearer(headers).and_then(unverified_iss_kid) else {
        return first;
    };
    if s.inner.verifier.has_key(&iss, &kid) {
        return first;
    }
    let s2 = s.clone();
    let refreshed = tokio::task::spawn_blocking(move || {
        s2.inner
            .key_sources
            .refresh_for_unknown_kid(&s2.inner.verifier, &iss)
    })
    .await
    .unwrap_or(false);
    if refreshed {
        s.inner.token_cache.clear();
        crate::app::authenticate(s, headers, addr)
    } else {
        first
    }
}
