//! Protection levels and the approval hook for sensitive records.
//!
//! Higher levels shorten how long unwrapped data keys stay cached, and let the access layer
//! demand step-up authentication or two-person approval. The vault calls the
//! [`AccessHook`] after a record is opened and before its plaintext is returned; security
//! labels are read from the (decrypted) `meta.security` of the resource, so labels are never
//! stored in clear.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How strictly the vault guards keys and sensitive records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtectionLevel {
    /// Default: data keys cached for 5 minutes.
    Normal,
    /// Data keys cached for 30 seconds; sensitive records need step-up.
    Elevated,
    /// No key caching; sensitive records need two-person approval, all others step-up.
    Lockdown,
}

impl ProtectionLevel {
    /// How long an unwrapped data key may stay in memory.
    pub fn key_cache_ttl(self) -> Duration {
        match self {
            ProtectionLevel::Normal => Duration::from_secs(300),
            ProtectionLevel::Elevated => Duration::from_secs(30),
            ProtectionLevel::Lockdown => Duration::ZERO,
        }
    }
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtectionLevel::Normal => "normal",
            ProtectionLevel::Elevated => "elevated",
            ProtectionLevel::Lockdown => "lockdown",
        }
    }
    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "normal" => Some(ProtectionLevel::Normal),
            "elevated" => Some(ProtectionLevel::Elevated),
            "lockdown" => Some(ProtectionLevel::Lockdown),
            _ => None,
        }
    }
}

/// Security labels that mark a record as sensitive: confidentiality R (restricted) and
/// V (very restricted), celebrity / employee (CEL, EMP), and HL7 sensitive-information codes
/// (v3-ActCode `_InformationSensitivityPolicy`).
pub const SENSITIVE_LABELS: &[&str] = &[
    "R",
    "V",
    "CEL",
    "EMP",
    "VIP",
    "TABOO",
    "PSY",
    "PSYTHPN",
    "HIV",
    "ETH",
    "ETHUD",
    "SDV",
    "SEX",
    "STD",
    "SUD",
    "SUDI",
    "SICKLE",
    "BH",
    "MH",
    "GDIS",
    "DRGIS",
    "ALCIS",
    "SCA",
    "ADOL",
    "DEMO",
    "DIA",
    "DOMINVGT",
    "LIVARG",
    "SOC",
    "REPRODUCTIVE",
    "OPIOIDUD",
    "COMPT",
    "HRCOMPT",
];

/// Security label codes in `meta.security[].code` of a resource.
pub fn labels(resource: &serde_json::Value) -> Vec<String> {
    resource
        .pointer("/meta/security")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("code")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether any label is sensitive.
pub fn is_sensitive(labels: &[String]) -> bool {
    labels
        .iter()
        .any(|l| SENSITIVE_LABELS.contains(&l.as_str()))
}

/// What the hook is asked about.
#[derive(Debug, Clone)]
pub struct AccessRequest<'a> {
    /// Current level.
    pub level: ProtectionLevel,
    /// Resource type.
    pub resource_type: &'a str,
    /// Resource id.
    pub id: &'a str,
    /// Security labels of the record.
    pub labels: &'a [String],
    /// Whether a label is sensitive.
    pub sensitive: bool,
}

/// The hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Release the record.
    Allow,
    /// Step-up authentication is required first.
    RequireStepUp,
    /// A second person must approve first.
    RequireTwoPerson,
    /// Refused.
    Deny(String),
}

/// Called before any record's plaintext is released; the access layer implements it to
/// enforce step-up or two-person approval.
pub trait AccessHook: Send + Sync {
    /// Decides whether the record may be released.
    fn check(&self, req: &AccessRequest<'_>) -> Approval;
}

/// Default policy, with no approvals available: normal releases everything; elevated requires
/// step-up for sensitive records; lockdown requires two-person approval for sensitive records
/// and step-up for all others.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultPolicy;

impl AccessHook for DefaultPolicy {
    fn check(&self, req: &AccessRequest<'_>) -> Approval {
        match (req.level, req.sensitive) {
            (ProtectionLevel::Normal, _) => Approval::Allow,
            (ProtectionLevel::Elevated, false) => Approval::Allow,
            (ProtectionLevel::Elevated, true) => Approval::RequireStepUp,
            (ProtectionLevel::Lockdown, true) => Approval::RequireTwoPerson,
            (ProtectionLevel::Lockdown, false) => Approval::RequireStepUp,
        }
    }
}

/// A hook that records that step-up (and optionally a second approver) already happened.
#[derive(Debug, Clone, Copy)]
pub struct Approved {
    /// Step-up authentication done.
    pub step_up: bool,
    /// Two-person approval given.
    pub two_person: bool,
}

impl AccessHook for Approved {
    fn check(&self, req: &AccessRequest<'_>) -> Approval {
        match DefaultPolicy.check(req) {
            Approval::RequireStepUp if self.step_up || self.two_person => Approval::Allow,
            Approval::RequireTwoPerson if self.two_person => Approval::Allow,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_matrix() {
        let l = vec!["HIV".to_string()];
        let req = |level, sensitive| AccessRequest {
            level,
            resource_type: "Observation",
            id: "o",
            labels: &l,
            sensitive,
        };
        assert_eq!(
            DefaultPolicy.check(&req(ProtectionLevel::Normal, true)),
            Approval::Allow
        );
        assert_eq!(
            DefaultPolicy.check(&req(ProtectionLevel::Elevated, true)),
            Approval::RequireStepUp
        );
        assert_eq!(
            DefaultPolicy.check(&req(ProtectionLevel::Lockdown, true)),
            Approval::RequireTwoPerson
        );
        let a = Approved {
            step_up: true,
            two_person: false,
        };
        assert_eq!(
            a.check(&req(ProtectionLevel::Elevated, true)),
            Approval::Allow
        );
        assert_eq!(
            a.check(&req(ProtectionLevel::Lockdown, true)),
            Approval::RequireTwoPerson
        );
        assert!(
            ProtectionLevel::Lockdown.key_cache_ttl() < ProtectionLevel::Elevated.key_cache_ttl()
        );
        assert!(is_sensitive(&l));
        assert!(!is_sensitive(&["N".to_string()]));
    }
}
