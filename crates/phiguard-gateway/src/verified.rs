//! A cache of verified bearer tokens, keyed by the SHA-256 of the token, so a client sending
//! the same token on every request pays the signature check once. An entry is used only
//! while the token is inside its own validity window (`iat <= now <= exp`, no leeway), and
//! for at most [`MAX_AGE_SECS`] after it was verified (so a key withdrawn from an issuer's
//! key set stops being honoured soon even without [`TokenCache::clear`]); anything else goes
//! through full verification again. Revocation is not cached: the caller checks it on every
//! request.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::digest;

use crate::token::Claims;

/// Longest time a verification result is reused, seconds.
pub const MAX_AGE_SECS: i64 = 60;
/// Most tokens remembered; the cache is emptied when full.
const CAPACITY: usize = 10_000;

/// Verified tokens: digest -> (claims, verification time).
#[derive(Debug, Default)]
pub struct TokenCache {
    map: Mutex<HashMap<[u8; 32], (Claims, i64)>>,
}

fn key(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

impl TokenCache {
    /// The claims of `token` if it was verified recently and is still within its validity
    /// window at `now`.
    pub fn get(&self, token: &str, now: i64) -> Option<Claims> {
        let map = self.map.lock().ok()?;
        let (claims, at) = map.get(&key(token))?;
        let fresh = now >= *at && now - *at <= MAX_AGE_SECS;
        (fresh && claims.iat <= now && now <= claims.exp).then(|| claims.clone())
    }

    /// Remembers a token that passed full verification at `now`.
    pub fn put(&self, token: &str, claims: &Claims, now: i64) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key(token), (claims.clone(), now));
        }
    }

    /// Forgets every token (call when an issuer's keys change).
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: i64, exp: i64) -> Claims {
        Claims {
            iss: "i".into(),
            sub: "alice".into(),
            aud: "phiguard".into(),
            exp,
            iat,
            jti: "j".into(),
            scope: "user/*.rs".into(),
            purpose_of_use: None,
            tenant: None,
            patient: None,
            roles: vec![],
            amr: vec![],
        }
    }

    #[test]
    fn entries_hold_only_inside_the_token_window_and_the_cache_age() {
        let c = TokenCache::default();
        c.put("tok", &claims(100, 1000), 100);
        assert_eq!(c.get("tok", 150).map(|c| c.sub), Some("alice".into()));
        assert!(c.get("tok2", 150).is_none(), "another token");
        assert!(
            c.get("tok", 99).is_none(),
            "before iat / before verification"
        );
        assert!(
            c.get("tok", 100 + MAX_AGE_SECS + 1).is_none(),
            "older than the cache age"
        );
        c.put("short", &claims(100, 120), 100);
        assert!(c.get("short", 121).is_none(), "expired");
        c.clear();
        assert!(c.get("tok", 150).is_none());
    }
}
