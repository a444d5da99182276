//! Ingest idempotency: a retried batch must not duplicate events.
//!
//! * **Per event**: every ingested AuditEvent is remembered by (submitter, `AuditEvent.id`)
//!   in a bounded in-memory window (`ingest_dedupe_window` events, oldest forgotten first).
//!   An event seen again is neither scored nor appended; the report lists it under
//!   `duplicates` with the ledger index of the first copy. Events without an id cannot be
//!   recognised and are always ingested. A key is reserved before the append and released
//!   if the append fails, so concurrent retries cannot both append it.
//! * **Per request**: an `Idempotency-Key` header (1 to 255 printable ASCII characters) makes
//!   the first completed response (200 or 422) replayable for `idempotency_key_ttl_secs`: the
//!   same key with the same body returns it again with `Idempotent-Replayed: true`; with
//!   another body, 422; while the first is still running, 409. A request that failed
//!   (e.g. 503 under overload) is not remembered, so its retry runs, and the per-event window
//!   drops the part that was already recorded.
//!
//! Both windows live in memory: after a restart, a retry of a batch sent before it is ingested
//! again (the ledger then holds the events twice, each pseudonymous).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest `Idempotency-Key`.
pub const MAX_KEY_LEN: usize = 255;
/// Idempotency keys remembered at most.
const MAX_KEYS: usize = 10_000;

type Digest = [u8; 32];
/// Event keys -> ledger index (`None` while being appended), and their arrival order.
type EventWindow = (HashMap<Digest, Option<u64>>, VecDeque<Digest>);

fn digest(parts: &[&[u8]]) -> Digest {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// What the event window says about one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// New: the key is reserved; call [`Dedupe::commit`] or [`Dedupe::release`].
    New,
    /// Recorded before at this ledger index.
    Recorded(u64),
    /// Another request is appending it right now.
    InFlight,
}

#[derive(Debug, Clone)]
enum Stored {
    Running,
    Done {
        status: u16,
        body: String,
        at: Instant,
    },
}

/// What to do with a request carrying an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// First use: run it, then [`Dedupe::finish_key`].
    Run,
    /// Completed before: replay this status and body.
    Replay(u16, String),
    /// Same key, different body.
    Mismatch,
    /// Still running.
    Running,
}

/// The windows.
#[derive(Debug)]
pub struct Dedupe {
    capacity: usize,
    ttl: Duration,
    events: Mutex<EventWindow>,
    keys: Mutex<HashMap<Digest, (Digest, Stored)>>,
}

impl Dedupe {
    /// Windows of `capacity` events and `ttl` for idempotency keys.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            events: Mutex::new((HashMap::new(), VecDeque::new())),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Checks and reserves an event key (an empty id is not deduplicated).
    pub fn check_event(&self, submitter: &str, event_id: &str) -> (Seen, Option<[u8; 32]>) {
        if event_id.is_empty() {
            return (Seen::New, None);
        }
        let k = digest(&[submitter.as_bytes(), event_id.as_bytes()]);
        let Ok(mut g) = self.events.lock() else {
            return (Seen::New, None);
        };
        let (map, order) = &mut *g;
        match map.get(&k) {
            Some(Some(i)) => return (Seen::Recorded(*i), None),
            Some(None) => return (Seen::InFlight, None),
            None => {}
        }
        while order.len() >= self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        map.insert(k, None);
        order.push_back(k);
        (Seen::New, Some(k))
    }

    /// Records the ledger index of a reserved event.
    pub fn commit(&self, key: [u8; 32], index: u64) {
        if let Ok(mut g) = self.events.lock() {
            if let Some(v) = g.0.get_mut(&key) {
                *v = Some(index);
            }
        }
    }

    /// Releases a reservation whose append failed.
    pub fn release(&self, key: [u8; 32]) {
        if let Ok(mut g) = self.events.lock() {
            let (map, order) = &mut *g;
            map.remove(&key);
            order.retain(|k| *k != key);
        }
    }

    /// Looks up (and on first use reserves) an `Idempotency-Key` of `user` for `body`.
    pub fn begin_key(&self, user: &str, key: &str, body: &[u8]) -> KeyState {
        let k = digest(&[user.as_bytes(), key.as_bytes()]);
        let body_hash = digest(&[body]);
        let Ok(mut m) = self.keys.lock() else {
            return KeyState::Run;
        };
        let ttl = self.ttl;
        m.retain(|_, (_, s)| match s {
            Stored::Done { at, .. } => at.elapsed() < ttl,
            Stored::Running => true,
        });
        if let Some((h, s)) = m.get(&k) {
            if *h != body_hash {
                return KeyState::Mismatch;
            }
            return match s {
                Stored::Running => KeyState::Running,
                Stored::Done { status, body, .. } => KeyState::Replay(*status, body.clone()),
            };
        }
        if m.len() >= MAX_KEYS {
            // Oldest completed first; running ones are kept.
            if let Some(oldest) = m
                .iter()
                .filter_map(|(k, (_, s))| match s {
                    Stored::Done { at, .. } => Some((*k, *at)),
                    Stored::Running => None,
                })
                .min_by_key(|(_, at)| *at)
                .map(|(k, _)| k)
            {
                m.remove(&oldest);
            }
        }
        m.insert(k, (body_hash, Stored::Running));
        KeyState::Run
    }

    /// Stores the response of a key's first run (`Some`) or forgets the key (`None`: the
    /// request failed and may be retried).
    pub fn finish_key(&self, user: &str, key: &str, response: Option<(u16, String)>) {
        let k = digest(&[user.as_bytes(), key.as_bytes()]);
        let Ok(mut m) = self.keys.lock() else {
            return;
        };
        match response {
            None => {
                m.remove(&k);
            }
            Some((status, body)) => {
                if let Some((_, s)) = m.get_mut(&k) {
                    *s = Stored::Done {
                        status,
                        body,
                        at: Instant::now(),
                    };
                }
            }
        }
    }
}

/// Whether an `Idempotency-Key` value is acceptable.
pub fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_reserved_committed_released_and_evicted() {
        let d = Dedupe::new(2, Duration::from_secs(60));
        let (s, k) = d.check_event("ehr", "e1");
        assert_eq!(s, Seen::New);
        assert_eq!(d.check_event("ehr", "e1").0, Seen::InFlight);
        d.commit(k.unwrap_or_default(), 7);
        assert_eq!(d.check_event("ehr", "e1").0, Seen::Recorded(7));
        // Another submitter's e1 is another event.
        assert_eq!(d.check_event("lab", "e1").0, Seen::New);
        // Released reservations can be retried.
        let (_, k2) = d.check_event("ehr", "e2");
        d.release(k2.unwrap_or_default());
        assert_eq!(d.check_event("ehr", "e2").0, Seen::New);
        // Capacity 2: e1 of ehr was evicted.
        assert_eq!(d.check_event("ehr", "e1").0, Seen::New);
        // No id: never deduplicated.
        assert_eq!(d.check_event("ehr", ""), (Seen::New, None));
        assert_eq!(d.check_event("ehr", ""), (Seen::New, None));
    }

    #[test]
    fn keys_replay_mismatch_running_and_failures() {
        let d = Dedupe::new(10, Duration::from_secs(60));
        assert_eq!(d.begin_key("u", "k1", b"body"), KeyState::Run);
        assert_eq!(d.begin_key("u", "k1", b"body"), KeyState::Running);
        assert_eq!(d.begin_key("u", "k1", b"other"), KeyState::Mismatch);
        d.finish_key("u", "k1", Some((200, "{}".into())));
        assert_eq!(
            d.begin_key("u", "k1", b"body"),
            KeyState::Replay(200, "{}".into())
        );
        // Keys are per user.
        assert_eq!(d.begin_key("v", "k1", b"body"), KeyState::Run);
        // A failed run is forgotten.
        assert_eq!(d.begin_key("u", "k2", b"x"), KeyState::Run);
        d.finish_key("u", "k2", None);
        assert_eq!(d.begin_key("u", "k2", b"x"), KeyState::Run);
        assert!(valid_key("abc-123"));
        assert!(!valid_key("a b"));
        assert!(!valid_key(""));
        let short = Dedupe::new(10, Duration::ZERO);
        assert_eq!(short.begin_key("u", "k", b"b"), KeyState::Run);
        short.finish_key("u", "k", Some((200, String::new())));
        assert_eq!(short.begin_key("u", "k", b"b"), KeyState::Run, "expired");
    }
}
