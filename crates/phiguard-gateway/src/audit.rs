//! The audit path: every request becomes a PHI-free ledger entry (pseudonyms and commitments
//! from `phiguard_ledger::entry`), appended through the ledger's group committer *before* the
//! response leaves (durable in the ledger's write-ahead journal; tiles and the signed
//! checkpoint follow within milliseconds), with a bounded queue: when the queue is full or the
//! append does not finish in time, the request is refused with 503 instead of being served
//! unaudited.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phiguard_ledger::committer::Appender;
use phiguard_ledger::entry::{AccessEntry, AccessRecord, Pseudonymizer};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// What the monitor said about one request (kept in memory for `/fhir/AuditEvent`).
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// Ledger index of the entry.
    pub index: u64,
    /// Monitor score (bits).
    pub score: f64,
    /// Alert raised.
    pub alert: bool,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Relationship rung.
    pub relation: Option<String>,
    /// Served as break-the-glass (always reviewed).
    pub break_glass: bool,
}

/// Appends audit entries with back-pressure.
pub struct AuditSink {
    appender: Appender,
    permits: Arc<Semaphore>,
    timeout: Duration,
    pseudo: Pseudonymizer,
    recent: Mutex<VecDeque<Scored>>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How many scored entries are kept in memory.
const RECENT: usize = 10_000;

/// One access to record.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// Who (login, or `anonymous`).
    pub actor: &'a str,
    /// Which patient (empty when none).
    pub patient: &'a str,
    /// Interaction (`read`, `vread`, `search`, `create`, `update`, `ingest`, `auth`).
    pub action: &'a str,
    /// Resource type (or `-`).
    pub resource: &'a str,
    /// Purpose of use.
    pub purpose: &'a str,
    /// `allowed`, `denied`, `flagged` (break-the-glass or alert).
    pub outcome: &'a str,
    /// Detail committed to (record id, query): only a commitment goes to the ledger.
    pub detail: Option<&'a [u8]>,
}

impl AuditSink {
    /// A sink over a ledger appender, with at most `queue` appends in flight and `timeout`
    /// per append.
    pub fn new(appender: Appender, pseudo: Pseudonymizer, queue: usize, timeout: Duration) -> Self {
        Self {
            appender,
            permits: Arc::new(Semaphore::new(queue.max(1))),
            timeout,
            pseudo,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// The pseudonym of an id in a domain (`actor`, `patient`).
    pub fn pseudonym(&self, domain: &str, id: &str) -> String {
        self.pseudo.pseudonym(domain, id)
    }

    /// Appends one entry and waits until it is durable; returns its ledger index.
    ///
    /// # Errors
    /// 503 when the queue is full, the append times out or the ledger fails.
    pub async fn append(&self, rec: &Record<'_>) -> Result<u64, ApiError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (entry, _nonce) = self
            .pseudo
            .entry(&AccessRecord {
                time: now,
                actor_id: rec.actor,
                patient_id: rec.patient,
                action: rec.action,
                resource: rec.resource,
                purpose: rec.purpose,
                outcome: rec.outcome,
                detail: rec.detail,
            })
            .map_err(|_| ApiError::internal())?;
        let bytes = entry.to_bytes().map_err(|_| ApiError::internal())?;
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            crate::metrics::METRICS.audit_overload.inc();
            return Err(ApiError::unavailable(
                "audit ledger queue is full; request refused (never served unaudited)",
            ));
        };
        // Acknowledged once the entry is in the ledger's write-ahead journal (one fdatasync
        // per group of requests); awaited without a blocking thread.
        let started = std::time::Instant::now();
        let job = self.appender.append_many_async(vec![bytes]);
        let r = tokio::time::timeout(self.timeout, job).await;
        drop(permit);
        // The timer is coarse (1 ms ticks): an acknowledgement that came after the deadline
        // is late too (the entry is in the ledger; the request is refused all the same).
        let r = match r {
            Ok(Ok(_)) if started.elapsed() > self.timeout => Err(()),
            Ok(x) => Ok(x),
            Err(_) => Err(()),
        };
        match r {
            Ok(Ok(index)) => {
                crate::metrics::METRICS.audit_appended.inc();
                Ok(index)
            }
            Ok(Err(_)) => {
                tracing::error!("ledger append failed");
                Err(ApiError::unavailable(
                    "audit ledger unavailable; request refused",
                ))
            }
            Err(_) => {
                crate::metrics::METRICS.audit_overload.inc();
                Err(ApiError::unavailable(
                    "audit ledger append timed out; request refused",
                ))
            }
        }
    }

    /// Waits until every entry appended so far is under a signed checkpoint (tiles and
    /// checkpoints are published shortly after the journal acknowledgement); returns the
    /// signed size. For readers of the ledger files (`/fhir/AuditEvent`, tests).
    ///
    /// # Errors
    /// 503 when the ledger cannot publish.
    pub async fn flush(&self) -> Result<u64, ApiError> {
        self.appender
            .flush_async()
            .await
            .map_err(|_| ApiError::unavailable("audit ledger unavailable"))
    }

    /// Blocking [`AuditSink::flush`] (no runtime needed).
    ///
    /// # Errors
    /// 503 when the ledger cannot publish.
    pub fn flush_blocking(&self) -> Result<u64, ApiError> {
        self.appender
            .flush()
            .map_err(|_| ApiError::unavailable("audit ledger unavailable"))
    }

    /// Remembers the monitor's assessment of an appended entry.
    pub fn remember(&self, s: Scored) {
        if let Ok(mut r) = self.recent.lock() {
            if r.len() >= RECENT {
                r.pop_front();
            }
            r.push_back(s);
        }
    }

    /// Scored entries, newest first (`alerts_only` keeps alerts and break-the-glass).
    pub fn recent(&self, alerts_only: bool, limit: usize) -> Vec<Scored> {
        self.recent
            .lock()
            .map(|r| {
                r.iter()
                    .rev()
                    .filter(|s| !alerts_only || s.alert || s.break_glass)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The scored record of a ledger index, if still in memory.
    pub fn scored(&self, index: u64) -> Option<Scored> {
        self.recent
            .lock()
            .ok()
            .and_then(|r| r.iter().rev().find(|s| s.index == index).cloned())
    }
}

/// Renders a ledger entry as a BALP-shaped FHIR AuditEvent (pseudonymous: no PHI).
pub fn to_audit_event(index: u64, e: &AccessEntry, scored: Option<&Scored>) -> serde_json::Value {
    let action = match e.action.as_str() {
        "create" => "C",
        "update" => "U",
        "delete" => "D",
        "read" | "vread" | "search" => "R",
        _ => "E",
    };
    let outcome = if e.outcome == "denied" { "4" } else { "0" };
    let recorded = time::OffsetDateTime::from_unix_timestamp(i64::try_from(e.t).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let mut ev = serde_json::json!({
        "resourceType": "AuditEvent",
        "id": format!("ledger-{index}"),
        "meta": {"profile": ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": e.action}],
        "action": action,
        "recorded": recorded,
        "outcome": outcome,
        "agent": [{
            "requestor": true,
            "who": {"identifier": {"system": "urn:phiguard:pseudonym", "value": e.actor}},
            "purposeOfUse": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": e.purpose}]}]
        }],
        "source": {"observer": {"display": "phiguard gateway"}},
        "entity": [{
            "what": {"identifier": {"system": "urn:phiguard:pseudonym", "value": e.patient}},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"},
            "description": e.resource
        }],
        "extension": [
            {"url": "urn:phiguard:ledger-index", "valueInteger": index},
            {"url": "urn:phiguard:outcome", "valueCode": e.outcome}
        ]
    });
    if let (Some(s), Some(ext)) = (
        scored,
        ev.get_mut("extension").and_then(|x| x.as_array_mut()),
    ) {
        ext.push(serde_json::json!({"url": "urn:phiguard:monitor-score", "valueDecimal": (s.score * 100.0).round() / 100.0}));
        ext.push(serde_json::json!({"url": "urn:phiguard:alert", "valueBoolean": s.alert}));
        ext.push(
            serde_json::json!({"url": "urn:phiguard:break-glass", "valueBoolean": s.break_glass}),
        );
        if let Some(r) = &s.relation {
            ext.push(serde_json::json!({"url": "urn:phiguard:relation", "valueCode": r}));
        }
        for r in &s.reasons {
            ext.push(serde_json::json!({"url": "urn:phiguard:reason", "valueCode": r}));
        }
    }
    ev
}
