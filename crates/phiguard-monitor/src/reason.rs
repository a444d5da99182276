//! Reason codes: what made an access suspicious. The first eleven are the contract of
//! `shared/spec/access-monitoring.md`; the rest are phiguard's additions.

use std::fmt;

/// A reason code attached to a scored access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// The user appears to be the patient (same surname, first name and birth date).
    SelfAccess,
    /// The user shares the patient's home address (household), usually with the same surname.
    Family,
    /// The user lives on the patient's street.
    Neighbor,
    /// The patient is a colleague: labelled EMP or matching a staff member.
    Coworker,
    /// The patient is labelled CEL (celebrity / VIP).
    Vip,
    /// The patient was deceased at the time of access (long enough ago to be unusual).
    Deceased,
    /// Nothing in the care relationships explains the access for this user.
    NoRelationship,
    /// Far more distinct patients in the last hour or day than this user (and peers) ever open.
    Bulk,
    /// An hour of day this user (and peers) rarely work.
    UnusualTime,
    /// A workstation or network address new to this user, their peers or the hospital.
    UnusualLocation,
    /// Break-the-glass (BTG/ETREAT) outside any emergency context.
    BreakGlass,
    /// The login is not a staff member of the context (extension).
    UnknownUser,
    /// The patient id is not in the patient index (extension).
    UnknownPatient,
    /// The record carries R/V confidentiality or sensitive-information labels (extension).
    Sensitive,
    /// The part of the record touched (its resource type, read or written) is one the user's
    /// peer group rarely touches, such as clinical notes opened by a laboratory technician
    /// (extension).
    UnusualActivity,
}

impl Reason {
    /// The code written in scan output.
    pub fn code(self) -> &'static str {
        match self {
            Reason::SelfAccess => "SELF",
            Reason::Family => "FAMILY",
            Reason::Neighbor => "NEIGHBOR",
            Reason::Coworker => "COWORKER",
            Reason::Vip => "VIP",
            Reason::Deceased => "DECEASED",
            Reason::NoRelationship => "NO_RELATIONSHIP",
            Reason::Bulk => "BULK",
            Reason::UnusualTime => "UNUSUAL_TIME",
            Reason::UnusualLocation => "UNUSUAL_LOCATION",
            Reason::BreakGlass => "BREAK_GLASS",
            Reason::UnknownUser => "UNKNOWN_USER",
            Reason::UnknownPatient => "UNKNOWN_PATIENT",
            Reason::Sensitive => "SENSITIVE",
            Reason::UnusualActivity => "UNUSUAL_ACTIVITY",
        }
    }

    /// Whether the reason says who the patient is to the user (an identity coincidence or
    /// status) rather than how the access was made.
    pub fn is_identity(self) -> bool {
        matches!(
            self,
            Reason::SelfAccess
                | Reason::Family
                | Reason::Neighbor
                | Reason::Coworker
                | Reason::Vip
                | Reason::Deceased
        )
    }

    /// Every reason, in documentation order.
    pub const ALL: [Reason; 15] = [
        Reason::SelfAccess,
        Reason::Family,
        Reason::Neighbor,
        Reason::Coworker,
        Reason::Vip,
        Reason::Deceased,
        Reason::NoRelationship,
        Reason::Bulk,
        Reason::UnusualTime,
        Reason::UnusualLocation,
        Reason::BreakGlass,
        Reason::UnknownUser,
        Reason::UnknownPatient,
        Reason::Sensitive,
        Reason::UnusualActivity,
    ];

    /// Parses a code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
