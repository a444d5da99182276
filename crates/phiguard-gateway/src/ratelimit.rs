//! Rate limiting of every request (health probes aside) with token buckets, per client
//! address and per authenticated user.
//!
//! * Per address (`rate_limit_ip_per_sec`, burst `rate_limit_ip_burst`): the socket address,
//!   never `X-Forwarded-For`.
//! * Per user (`rate_limit_user_per_sec`, burst `rate_limit_user_burst`): the subject of a
//!   token that *verifies* (signature, or a live session), so nobody can spend another user's
//!   budget with forged tokens. A verified token's subject is cached (by SHA-256 of the token,
//!   until it expires, at most 10,000 entries) so the signature is not checked twice.
//!
//! Beyond a budget: 429 with `Retry-After` (seconds until a token is back) and an
//! OperationOutcome. Refusals are audited with one summary ledger entry (purpose
//! `rate-limited`) per address or user per second, so a flood cannot fill the ledger for
//! everyone. A rate of 0 turns a limit off.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::metrics::METRICS;
use crate::state::GatewayState;

/// Buckets tracked before idle ones are pruned.
const MAX_KEYS: usize = 100_000;
/// Verified tokens remembered.
const MAX_CACHED_TOKENS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
    audited: Option<Instant>,
}

/// What a bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within budget.
    Ok,
    /// Over budget.
    Limited {
        /// Seconds until a request would pass.
        retry_after: u64,
        /// Write the once-per-second summary ledger entry.
        audit: bool,
    },
}

/// Token buckets keyed by string.
#[derive(Debug)]
pub struct Buckets {
    rate: f64,
    burst: f64,
    map: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    /// Buckets refilling at `rate` per second up to `burst` (0 rate: unlimited).
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate: rate.max(0.0),
            burst: burst.max(1.0),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`.
    pub fn take(&self, key: &str, now: Instant) -> Verdict {
        if self.rate <= 0.0 {
            return Verdict::Ok;
        }
        let Ok(mut m) = self.map.lock() else {
            return Verdict::Ok;
        };
        if m.len() >= MAX_KEYS && !m.contains_key(key) {
            let (rate, burst) = (self.rate, self.burst);
            m.retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let b = m.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
            audited: None,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * self.rate).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Verdict::Ok;
        }
        let retry_after = ((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64;
        let audit = b
            .audited
            .is_none_or(|t| now.duration_since(t).as_secs_f64() >= 1.0);
        if audit {
            b.audited = Some(now);
        }
        Verdict::Limited { retry_after, audit }
    }
}

/// The gateway's limiters.
#[derive(Debug)]
pub struct Limits {
    /// Per client address.
    pub ip: Buckets,
    /// Per authenticated user.
    pub user: Buckets,
    verified: Mutex<HashMap<[u8; 32], (String, i64)>>,
}

impl Limits {
    /// From the configuration.
    pub fn new(cfg: &crate::state::GatewayConfig) -> Self {
        Self {
            ip: Buckets::new(cfg.rate_limit_ip_per_sec, cfg.rate_limit_ip_burst),
            user: Buckets::new(cfg.rate_limit_user_per_sec, cfg.rate_limit_user_burst),
            verified: Mutex::new(HashMap::new()),
        }
    }
}

fn verified_user(s: &GatewayState, headers: &axum::http::HeaderMap) -> Option<String> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))?
        .trim();
    let now = crate::app::now_unix();
    let mut key = [0u8; 32];
    key.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref(),
    );
    let limits = &s.inner.limits;
    if let Some((sub, exp)) = limits.verified.lock().ok()?.get(&key) {
        if *exp > now {
            return Some(sub.clone());
        }
    }
    let (sub, exp) = if token.starts_with(crate::accounts::SESSION_PREFIX) {
        let u = s.inner.accounts.session(token, now)?;
        (u.login, u.expires)
    } else {
        let c = s.inner.verifier.verify(token, now).ok()?;
        (c.sub, c.exp)
    };
    if let Ok(mut m) = limits.verified.lock() {
        if m.len() >= MAX_CACHED_TOKENS {
            m.retain(|_, (_, e)| *e > now);
            if m.len() >= MAX_CACHED_TOKENS {
                m.clear();
            }
        }
        m.insert(key, (sub.clone(), exp));
    }
    Some(sub)
}

async fn throttled(
    s: &GatewayState,
    actor: &str,
    retry_after: u64,
    audit: bool,
    msg: &'static str,
) -> Response {
    METRICS.rate_limited.inc();
    let e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", msg);
    let mut r = if audit {
        crate::app::refuse(s, actor, "", "request", "-", "rate-limited", e).await
    } else {
        e.into_response()
    };
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// The middleware.
pub async fn limit(State(s): State<GatewayState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" || path == "/readyz" {
        return next.run(req).await;
    }
    let now = Instant::now();
    let ip = crate::app::client_addr(req.extensions())
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if let Verdict::Limited { retry_after, audit } = s.inner.limits.ip.take(&ip, now) {
        return throttled(
            &s,
            "anonymous",
            retry_after,
            audit,
            "rate limit exceeded for this client address",
        )
        .await;
    }
    if s.inner.limits.user.rate > 0.0 {
        if let Some(user) = verified_user(&s, req.headers()) {
            if let Verdict::Limited { retry_after, audit } = s.inner.limits.user.take(&user, now) {
                return throttled(
                    &s,
                    &user,
                    retry_after,
                    audit,
                    "rate limit exceeded for this user",
                )
                .await;
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills_and_reports_retry_after() {
        let b = Buckets::new(2.0, 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take("a", t0), Verdict::Ok);
        }
        assert_eq!(
            b.take("a", t0),
            Verdict::Limited {
                retry_after: 1,
                audit: true
            }
        );
        // Audited once per second only.
        assert_eq!(
            b.take("a", t0 + Duration::from_millis(100)),
            Verdict::Limited {
                retry_after: 1,
                audit: false
            }
        );
        // Other keys are independent; half a second refills one token at 2/s.
        assert_eq!(b.take("b", t0), Verdict::Ok);
        assert_eq!(b.take("a", t0 + Duration::from_millis(700)), Verdict::Ok);
        let slow = Buckets::new(0.1, 1.0);
        assert_eq!(slow.take("x", t0), Verdict::Ok);
        assert!(matches!(
            slow.take("x", t0),
            Verdict::Limited {
                retry_after: 10,
                ..
            }
        ));
        let off = Buckets::new(0.0, 1.0);
        for _ in 0..100 {
            assert_eq!(off.take("x", t0), Verdict::Ok);
        }
    }
}
