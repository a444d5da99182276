//! The audit entry schema phiguard writes to the ledger: no PHI in clear.
//!
//! The ledger itself stores opaque bytes and is public to auditors and witnesses, and it can
//! never be edited: anything written there stays forever. So an entry names people only by
//! keyed pseudonyms and binds details only by commitments:
//!
//! ```json
//! {"v":1,"t":1700000000,"actor":"ps1:3q2+7w...","patient":"ps1:Zk3...","action":"read",
//!  "resource":"Observation","purpose":"treatment","outcome":"allowed","detail":"cm1:Qm9..."}
//! ```
//!
//! * `actor`, `patient`: `ps1:` + base64 of `HMAC-SHA256(pseudonym key, domain || 0x00 || id)`,
//!   where the domain is `actor` or `patient`. Equal ids give equal pseudonyms (so auditors
//!   can count accesses per patient), but without the key nobody can test a guessed id.
//!   Erasing the pseudonym key (or the patient's own key, when per-patient keys are used)
//!   leaves nothing linkable behind.
//! * `detail`: `cm1:` + base64 of `HMAC-SHA256(commitment key, nonce || detail)` with a
//!   random 16-byte nonce kept by the caller next to the detail (never in the ledger): proves
//!   later that a given detail (query text, record id) was what was logged.
//! * `action`, `resource`, `purpose`, `outcome` are short codes from fixed vocabularies
//!   (FHIR interaction, resource type, purpose of use, decision) and carry no PHI.
//!
//! Fields are serialized in a fixed order with no whitespace, so the same record always
//! gives the same bytes.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A record of one access, with identifiers still in clear (never stored as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// When, as a POSIX timestamp.
    pub time: u64,
    /// Who accessed (user id in the hospital directory).
    pub actor_id: &'a str,
    /// Whose data (patient id).
    pub patient_id: &'a str,
    /// FHIR interaction or similar code: `read`, `search`, `update`, `export`, ...
    pub action: &'a str,
    /// Resource type: `Observation`, `Patient`, ...
    pub resource: &'a str,
    /// Declared purpose of use: `treatment`, `billing`, `research`, `break-glass`, ...
    pub purpose: &'a str,
    /// Decision: `allowed`, `denied`, `flagged`.
    pub outcome: &'a str,
    /// Free detail to commit to (query, record id): only its commitment is stored.
    pub detail: Option<&'a [u8]>,
}

/// The serialized, PHI-free ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessEntry {
    /// Schema version (1).
    pub v: u8,
    /// POSIX timestamp.
    pub t: u64,
    /// Actor pseudonym (`ps1:`...).
    pub actor: String,
    /// Patient pseudonym (`ps1:`...).
    pub patient: String,
    /// Action code.
    pub action: String,
    /// Resource type.
    pub resource: String,
    /// Purpose of use code.
    pub purpose: String,
    /// Outcome code.
    pub outcome: String,
    /// Commitment to the detail (`cm1:`...), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// Keys for pseudonyms and commitments (keep them outside the ledger, e.g. in the vault).
pub struct Pseudonymizer {
    pseudonym: hmac::Key,
    commitment: hmac::Key,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(..)")
    }
}

impl Pseudonymizer {
    /// From two secret keys of at least 32 bytes each.
    pub fn new(pseudonym_key: &[u8], commitment_key: &[u8]) -> Result<Self> {
        if pseudonym_key.len() < 32 || commitment_key.len() < 32 {
            return Err(Error::Key(
                "pseudonym and commitment keys need 32 bytes or more".into(),
            ));
        }
        Ok(Self {
            pseudonym: hmac::Key::new(hmac::HMAC_SHA256, pseudonym_key),
            commitment: hmac::Key::new(hmac::HMAC_SHA256, commitment_key),
        })
    }

    /// `ps1:` + base64(HMAC(domain || 0x00 || id)).
    pub fn pseudonym(&self, domain: &str, id: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.pseudonym);
        ctx.update(domain.as_bytes());
        ctx.update(&[0]);
        ctx.update(id.as_bytes());
        format!("ps1:{}", B64.encode(ctx.sign().as_ref()))
    }

    /// `cm1:` + base64(HMAC(nonce || detail)).
    pub fn commit(&self, nonce: &[u8; 16], detail: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.commitment);
        ctx.update(nonce);
        ctx.update(detail);
        format!("cm1:{}", B64.encode(ctx.sign().as_ref()))
    }

    /// Builds the ledger entry for a record. Returns the entry and the commitment nonce
    /// (store the nonce with the detail, outside the ledger).
    pub fn entry(&self, rec: &AccessRecord<'_>) -> Result<(AccessEntry, Option<[u8; 16]>)> {
        for (field, v) in [
            ("action", rec.action),
            ("resource", rec.resource),
            ("purpose", rec.purpose),
            ("outcome", rec.outcome),
        ] {
            if v.is_empty()
                || v.len() > 64
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(Error::parse(
                    "access record",
                    format!("field `{field}` must be a short code ([A-Za-z0-9_-]{{1,64}})"),
                ));
            }
        }
        let (detail, nonce) = match rec.detail {
            Some(d) => {
                let mut nonce = [0u8; 16];
                aws_lc_rs::rand::fill(&mut nonce)
                    .map_err(|_| Error::Key("no randomness".into()))?;
                (Some(self.commit(&nonce, d)), Some(nonce))
            }
            None => (None, None),
        };
        Ok((
            AccessEntry {
                v: 1,
                t: rec.time,
                actor: self.pseudonym("actor", rec.actor_id),
                patient: self.pseudonym("patient", rec.patient_id),
                action: rec.action.to_owned(),
                resource: rec.resource.to_owned(),
                purpose: rec.purpose.to_owned(),
                outcome: rec.outcome.to_owned(),
                detail,
            },
            nonce,
        ))
    }
}

impl AccessEntry {
    /// The canonical bytes appended to the ledger (compact JSON, fixed field order).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| Error::parse("access entry", e.to_string()))
    }

    /// Parses entry bytes read back from the ledger.
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        serde_json::from_slice(data).map_err(|e| Error::parse("access entry", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_hold_no_identifier_in_clear() {
        let p = Pseudonymizer::new(&[1; 32], &[2; 32]).unwrap();
        let rec = AccessRecord {
            time: 1_700_000_000,
            actor_id: "dr.house@hospital.example",
            patient_id: "MRN-0042-SMITH",
            action: "read",
            resource: "Observation",
            purpose: "treatment",
            outcome: "allowed",
            detail: Some(b"GET /Observation?patient=MRN-0042-SMITH"),
        };
        let (e, nonce) = p.entry(&rec).unwrap();
        let bytes = e.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("MRN"), "{text}");
        assert!(!text.contains("house"), "{text}");
        assert!(text.starts_with("{\"v\":1,\"t\":1700000000,\"actor\":\"ps1:"));
        assert_eq!(AccessEntry::from_bytes(&bytes).unwrap(), e);
        // Same ids give the same pseudonyms; the commitment opens with the nonce.
        let (e2, _) = p.entry(&rec).unwrap();
        assert_eq!(e2.patient, e.patient);
        assert_ne!(e.actor, e.patient);
        assert_eq!(
            e.detail.unwrap(),
            p.commit(&nonce.unwrap(), b"GET /Observation?patient=MRN-0042-SMITH")
        );
        // Another key gives unlinkable pseudonyms.
        let q = Pseudonymizer::new(&[3; 32], &[2; 32]).unwrap();
        assert_ne!(q.pseudonym("patient", "MRN-0042-SMITH"), e2.patient);
        let bad = AccessRecord {
            action: "read everything",
            ..rec
        };
        assert!(p.entry(&bad).is_err());
    }
}
