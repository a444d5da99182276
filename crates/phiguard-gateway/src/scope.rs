//! SMART on FHIR scopes (v2 `patient/Observation.rs`, `user/*.cruds`, with v1
//! `patient/*.read` / `.write` / `.*` accepted): parsing and checking an interaction.

/// Who the scope is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compartment {
    /// `patient/`: only the patient in the token's launch context.
    Patient,
    /// `user/`: whatever the user may see.
    User,
    /// `system/`: a backend service.
    System,
}

/// A FHIR interaction, in SMART v2 permission letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    /// `c`: create.
    Create,
    /// `r`: read, vread.
    Read,
    /// `u`: update.
    Update,
    /// `d`: delete.
    Delete,
    /// `s`: search.
    Search,
}

impl Interaction {
    fn letter(self) -> char {
        match self {
            Interaction::Create => 'c',
            Interaction::Read => 'r',
            Interaction::Update => 'u',
            Interaction::Delete => 'd',
            Interaction::Search => 's',
        }
    }
}

/// One parsed resource scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Compartment.
    pub compartment: Compartment,
    /// Resource type or `*`.
    pub resource: String,
    /// Permission letters granted (subset of `cruds`).
    pub perms: String,
}

impl Scope {
    /// Parses one scope; `None` for scopes that are not resource scopes (`openid`,
    /// `launch/patient`, malformed ones): those grant nothing here.
    pub fn parse(s: &str) -> Option<Scope> {
        let (comp, rest) = s.split_once('/')?;
        let compartment = match comp {
            "patient" => Compartment::Patient,
            "user" => Compartment::User,
            "system" => Compartment::System,
            _ => return None,
        };
        let (resource, perms) = rest.split_once('.')?;
        // v2 query parameters (`?category=...`) narrow a scope; we do not evaluate them, so
        // such a scope grants nothing rather than more than intended.
        if perms.contains('?') {
            return None;
        }
        if resource != "*"
            && !(resource.len() <= 64
                && resource.starts_with(|c: char| c.is_ascii_uppercase())
                && resource.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return None;
        }
        let perms = match perms {
            "read" => "rs".to_string(),
            "write" => "cud".to_string(),
            "*" => "cruds".to_string(),
            p => {
                // v2 letters must appear in the order c r u d s, each at most once.
                let mut last = None;
                for ch in p.chars() {
                    let pos = "cruds".find(ch)?;
                    if last.is_some_and(|l| pos <= l) {
                        return None;
                    }
                    last = Some(pos);
                }
                if p.is_empty() {
                    return None;
                }
                p.to_string()
            }
        };
        Some(Scope {
            compartment,
            resource: resource.to_string(),
            perms,
        })
    }

    /// Whether this scope permits `interaction` on `resource_type`.
    pub fn permits(&self, resource_type: &str, interaction: Interaction) -> bool {
        (self.resource == "*" || self.resource == resource_type)
            && self.perms.contains(interaction.letter())
    }
}

/// Parses a space-separated scope string.
pub fn parse_scopes(s: &str) -> Vec<Scope> {
    s.split_ascii_whitespace()
        .filter_map(Scope::parse)
        .collect()
}

/// The scopes that permit the interaction, if any: returns the broadest compartment granted
/// (`user`/`system` before `patient`), or `None` when no scope covers the request.
pub fn check(
    scopes: &[Scope],
    resource_type: &str,
    interaction: Interaction,
) -> Option<Compartment> {
    let mut best = None;
    for s in scopes
        .iter()
        .filter(|s| s.permits(resource_type, interaction))
    {
        match s.compartment {
            Compartment::User | Compartment::System => return Some(s.compartment),
            Compartment::Patient => best = Some(Compartment::Patient),
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn v2_and_v1_scopes() {
        let s = parse_scopes("openid patient/Observation.rs user/*.cruds launch/patient");
        assert_eq!(s.len(), 2);
        assert_eq!(
            check(&s[..1], "Observation", Interaction::Read),
            Some(Compartment::Patient)
        );
        assert_eq!(check(&s[..1], "Observation", Interaction::Create), None);
        assert_eq!(check(&s[..1], "Condition", Interaction::Read), None);
        assert_eq!(
            check(&s, "Condition", Interaction::Update),
            Some(Compartment::User)
        );
        let v1 = parse_scopes("patient/*.read");
        assert_eq!(
            check(&v1, "Patient", Interaction::Search),
            Some(Compartment::Patient)
        );
        assert_eq!(check(&v1, "Patient", Interaction::Update), None);
    }

    #[test]
    fn malformed_scopes_grant_nothing() {
        for s in [
            "patient/Observation.sr",
            "patient/Observation.rr",
            "patient/Observation.",
            "patient/observation.rs",
            "patient/../Observation.rs",
            "admin/*.cruds",
            "user/*.x",
            "user/Observation.rs?category=laboratory",
        ] {
            assert!(Scope::parse(s).is_none(), "{s}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_scope_strings_never_panic(s in ".{0,80}") {
            let _ = parse_scopes(&s);
        }
    }
}
