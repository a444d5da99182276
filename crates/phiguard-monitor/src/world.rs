//! The hospital as the monitor sees it: the FHIR context indexed for constant-time lookups.
//!
//! Logins, patients and departments are interned to small integers; each patient's encounters
//! and care teams sit in one contiguous, time-sorted slice; identities are reduced to hashes of
//! normalised names, birth dates and addresses. Nothing here changes while events stream by,
//! except that logins and patient ids the context never mentioned are added as "unknown".

use std::hash::{Hash, Hasher};

use phiguard_fhir::context::{Context, Deceased, Reference};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use crate::normalize;
use crate::relation::DAY;

/// Hash of a normalised string (0 = absent).
pub type Key = u64;

/// Hashes any value with a fixed hasher (deterministic across runs).
pub fn key<T: Hash + ?Sized>(v: &T) -> Key {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish().max(1)
}

/// Identity of a person, as hashes of normalised fields (0 = unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity {
    /// Surname.
    pub family: Key,
    /// First given name.
    pub given: Key,
    /// Birth date.
    pub birth: Key,
    /// Home address (number, street, unit, locality).
    pub home: Key,
    /// Street and locality.
    pub street: Key,
}

impl Identity {
    fn from_person(p: &phiguard_fhir::context::Person) -> Identity {
        let family = p
            .family
            .as_ref()
            .map(|v| normalize::surname(v))
            .filter(|v| !v.is_empty())
            .map_or(0, |v| key(&v));
        let addr = p.address.as_ref().and_then(|a| {
            normalize::address(&a.lines, a.city.as_deref(), a.postal_code.as_deref())
        });
        Identity {
            family,
            // The first given name only: "Ana Maria" and "Ana" are one person's records.
            given: p
                .given
                .first()
                .map(|g| normalize::text(g))
                .and_then(|g| g.split(' ').next().map(normalize::name))
                .filter(|v| !v.is_empty())
                .map(|v| key(&v))
                .unwrap_or(0),
            birth: p.birth_date.as_deref().map(|b| key(b.trim())).unwrap_or(0),
            home: addr.as_ref().map(|a| key(&a.home)).unwrap_or(0),
            street: addr.as_ref().map(|a| key(&a.street)).unwrap_or(0),
        }
    }

    /// Same person: the birth date known and equal, and either the surname equal with the first
    /// name or the home (a nickname, "Bob" for "Robert", is the same person at the same home),
    /// or the first name and the home equal under another surname (a record kept under a
    /// maiden or former married name).
    pub fn same_person(&self, other: &Identity) -> bool {
        let same_home = self.home != 0 && self.home == other.home;
        self.birth != 0
            && self.birth == other.birth
            && ((self.family != 0
                && self.family == other.family
                && (self.given == other.given || same_home))
                || (self.given != 0 && self.given == other.given && same_home))
    }

    /// The key used to find a staff member among patients.
    fn person_key(&self) -> Option<(Key, Key, Key)> {
        (self.family != 0 && self.birth != 0).then_some((self.family, self.given, self.birth))
    }

    /// The key that finds a staff member registered under another surname at the same home.
    fn home_key(&self) -> Option<(Key, Key, Key)> {
        (self.given != 0 && self.birth != 0 && self.home != 0)
            .then_some((self.given, self.birth, self.home))
    }
}

/// A login seen in the context or in the stream.
#[derive(Debug, Clone)]
pub struct User {
    /// The practitioner behind the login (`None` for logins the context does not know).
    pub practitioner: Option<u32>,
    /// Department (Organization index).
    pub dept: Option<u16>,
    /// Peer group (role x department) index.
    pub group: u32,
}

/// A staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Identity hashes.
    pub identity: Identity,
    /// Department of the first PractitionerRole (the peer group's department).
    pub dept: Option<u16>,
    /// Departments of further PractitionerRoles (a physician with privileges in two
    /// departments, a nurse who floats): their patients are the user's department's patients too.
    pub other_depts: Vec<u16>,
}

/// Patient labels relevant to monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Labels {
    /// `CEL`: celebrity or VIP.
    pub vip: bool,
    /// `EMP`: employee of this hospital.
    pub employee: bool,
    /// `R` or `V`: restricted.
    pub restricted: bool,
    /// Sensitive-information codes (PSY, HIV, ETH, SDV, ...).
    pub sensitive: bool,
}

/// A patient seen in the context or in the stream.
#[derive(Debug, Clone)]
pub struct PatientInfo {
    /// Whether the context has a Patient resource for this id.
    pub known: bool,
    /// Identity hashes.
    pub identity: Identity,
    /// Labels.
    pub labels: Labels,
    /// When the patient died, in unix seconds (`i64::MIN` when deceased at an unknown time).
    pub deceased: Option<i64>,
    /// A staff member (index into [`World::staff`]) with the same name and birth date.
    pub staff_match: Option<u32>,
    /// Range into [`World::episodes`].
    pub episodes: (u32, u32),
}

/// An encounter or care team: a span of time in which some staff and a department treat a patient.
#[derive(Debug, Clone)]
pub struct Episode {
    /// Start (unix seconds); `i64::MIN` when unknown.
    pub start: i64,
    /// End (unix seconds); `i64::MAX` while ongoing.
    pub end: i64,
    /// Department treating the patient.
    pub dept: Option<u16>,
    /// Emergency encounter (`class.code` EMER).
    pub emergency: bool,
    /// Staff indices on the care team.
    pub staff: Vec<u32>,
    /// The patient died during this episode (or within a day of its end).
    pub death: bool,
}

/// The indexed context.
#[derive(Debug, Default)]
pub struct World {
    /// Department names by index.
    pub dept_names: Vec<String>,
    /// Peer group names (`role@department`) by index.
    pub group_names: Vec<String>,
    /// Each peer group's role (an index into `role_names`).
    pub group_roles: Vec<u32>,
    /// Role codes by index.
    pub role_names: Vec<String>,
    /// Staff members.
    pub staff: Vec<Staff>,
    /// Users by index.
    pub users: Vec<User>,
    /// Patients by index.
    pub patients: Vec<PatientInfo>,
    /// Episodes, grouped by patient and sorted by start.
    pub episodes: Vec<Episode>,
    login_index: FxHashMap<Box<str>, u32>,
    patient_index: FxHashMap<Box<str>, u32>,
    group_index: FxHashMap<String, u32>,
    /// Span of encounter start times (unix seconds), for sampling.
    pub time_span: (i64, i64),
}

/// Sensitive-information codes from v3-ActCode that mark a record as sensitive.
pub const SENSITIVE_CODES: [&str; 12] = [
    "PSY", "PSYTHPN", "HIV", "ETH", "ETHUD", "SDV", "SEX", "STD", "SUD", "TBOO", "GDIS", "SICKLE",
];

impl World {
    /// Indexes a loaded context.
    pub fn new(ctx: &Context) -> World {
        let mut w = World::default();
        let mut dept_index: FxHashMap<String, u16> = FxHashMap::default();
        let canonical = departments(&ctx.organizations);
        for o in &ctx.organizations {
            let (cid, cname) = canonical
                .get(o.id.as_str())
                .copied()
                .unwrap_or((o.id.as_str(), o.name.as_str()));
            let d = match dept_index.get(cid) {
                Some(&d) => d,
                None => {
                    let next = u16::try_from(w.dept_names.len()).unwrap_or(u16::MAX);
                    w.dept_names.push(cname.to_owned());
                    dept_index.insert(cid.to_owned(), next);
                    next
                }
            };
            dept_index.entry(o.id.clone()).or_insert(d);
        }
        let mut dept_of = |id: &str, names: &mut Vec<String>| -> u16 {
            if let Some(&d) = dept_index.get(id) {
                return d;
            }
            let next = u16::try_from(names.len()).unwrap_or(u16::MAX);
            names.push(id.to_owned());
            dept_index.insert(id.to_owned(), next);
            next
        };
        let mut staff_index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut role_index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut person_index: FxHashMap<(Key, Key, Key), u32> = FxHashMap::default();
        let mut home_index: FxHashMap<(Key, Key, Key), u32> = FxHashMap::default();
        for p in &ctx.practitioners {
            let idx = u32::try_from(w.staff.len()).unwrap_or(u32::MAX);
            let role = p.roles.first();
            let dept = role
                .and_then(|r| r.organization.as_deref())
                .map(|o| dept_of(o, &mut w.dept_names));
            let code = role
                .and_then(|r| r.codes.first())
                .map(String::as_str)
                .unwrap_or("staff");
            let dept_name = dept
                .and_then(|d| w.dept_names.get(usize::from(d)))
                .map_or_else(|| "no-department".to_owned(), String::clone);
            let group = w.group(code, Some(&dept_name));
            let identity = Identity::from_person(&p.person);
            if let Some(k) = identity.person_key() {
                person_index.entry(k).or_insert(idx);
            }
            if let Some(k) = identity.home_key() {
                home_index.entry(k).or_insert(idx);
            }
            let mut other_depts: Vec<u16> = Vec::new();
            for r in p.roles.iter().skip(1) {
                if let Some(o) = r.organization.as_deref() {
                    let d = dept_of(o, &mut w.dept_names);
                    if Some(d) != dept && !other_depts.contains(&d) {
                        other_depts.push(d);
                    }
                }
            }
            w.staff.push(Staff {
                identity,
                dept,
                other_depts,
            });
            staff_index.insert(p.id.as_str(), idx);
            for r in &p.roles {
                if let Some(rid) = r.id.as_deref() {
                    role_index.insert(rid, idx);
                }
            }
            for login in &p.logins {
                if !w.login_index.contains_key(login.as_str()) {
                    let uid = u32::try_from(w.users.len()).unwrap_or(u32::MAX);
                    w.users.push(User {
                        practitioner: Some(idx),
                        dept,
                        group,
                    });
                    w.login_index.insert(login.as_str().into(), uid);
                }
            }
        }
        for p in &ctx.patients {
            let identity = Identity::from_person(&p.person);
            let mut labels = Labels::default();
            for code in &p.security {
                match code.as_str() {
                    "CEL" | "VIP" => labels.vip = true,
                    "EMP" => labels.employee = true,
                    "R" | "V" => labels.restricted = true,
                    c if SENSITIVE_CODES.contains(&c) => labels.sensitive = true,
                    _ => {}
                }
            }
            let deceased = match p.deceased {
                Deceased::No => None,
                Deceased::At(t) => Some(t.unix),
                Deceased::Unknown => Some(i64::MIN),
            };
            let staff_match = identity
                .person_key()
                .and_then(|k| person_index.get(&k).copied())
                .or_else(|| {
                    identity
                        .home_key()
                        .and_then(|k| home_index.get(&k).copied())
                });
            let idx = w.patient(&p.id);
            if let Some(slot) = w.patients.get_mut(idx as usize) {
                *slot = PatientInfo {
                    known: true,
                    identity,
                    labels,
                    deceased,
                    staff_match,
                    episodes: (0, 0),
                };
            }
        }
        // Episodes: encounters and care teams, grouped by patient.
        let resolve = |r: &Reference| -> Option<u32> {
            match r.kind.as_str() {
                "Practitioner" => staff_index.get(r.id.as_str()).copied(),
                "PractitionerRole" => role_index.get(r.id.as_str()).copied(),
                _ => None,
            }
        };
        let mut raw: Vec<(u32, Episode)> = Vec::new();
        let mut starts: Vec<i64> = Vec::new();
        for e in &ctx.encounters {
            let patient = w.patient(&e.patient);
            let dept = e
                .service_provider
                .as_deref()
                .map(|d| dept_of(d, &mut w.dept_names));
            let start = e.start.map(|t| t.unix).unwrap_or(i64::MIN);
            if start != i64::MIN {
                starts.push(start);
            }
            raw.push((
                patient,
                Episode {
                    start,
                    end: e.end.map(|t| t.unix).unwrap_or(i64::MAX),
                    dept,
                    emergency: e.class == "EMER",
                    staff: e.participants.iter().filter_map(resolve).collect(),
                    death: false,
                },
            ));
        }
        for c in &ctx.care_teams {
            let patient = w.patient(&c.patient);
            raw.push((
                patient,
                Episode {
                    start: c.start.map(|t| t.unix).unwrap_or(i64::MIN),
                    end: c.end.map(|t| t.unix).unwrap_or(i64::MAX),
                    dept: None,
                    emergency: false,
                    staff: c.members.iter().filter_map(resolve).collect(),
                    death: false,
                },
            ));
        }
        // No one is under care after they died: an encounter or care team the record never closed
        // (a follow-up team, an encounter still "in progress" at export) ends at the death, so
        // opening the record weeks later is not "being treated elsewhere".
        for (p, e) in &mut raw {
            let died = w
                .patients
                .get(*p as usize)
                .and_then(|info| info.deceased)
                .filter(|&d| d != i64::MIN);
            if let Some(d) = died {
                if e.start <= d && e.end > d {
                    e.end = d;
                }
                e.death = e.start <= d && d <= e.end.saturating_add(DAY);
            }
        }
        raw.sort_by_key(|(p, e)| (*p, e.start));
        let mut i = 0;
        while i < raw.len() {
            let p = raw.get(i).map(|r| r.0).unwrap_or(0);
            let from = w.episodes.len();
            while let Some((q, e)) = raw.get(i) {
                if *q != p {
                    break;
                }
                w.episodes.push(e.clone());
                i += 1;
            }
            let range = (
                u32::try_from(from).unwrap_or(u32::MAX),
                u32::try_from(w.episodes.len()).unwrap_or(u32::MAX),
            );
            if let Some(info) = w.patients.get_mut(p as usize) {
                info.episodes = range;
            }
        }
        starts.sort_unstable();
        let q = |f: usize| starts.get(starts.len() * f / 100).copied().unwrap_or(0);
        w.time_span = (q(5), q(95));
        w
    }

    /// The peer group of a role in a department (`role@department`; the role alone without
    /// one), added on first use.
    fn group(&mut self, role: &str, dept: Option<&str>) -> u32 {
        let name = match dept {
            Some(d) => format!("{role}@{d}"),
            None => role.to_owned(),
        };
        if let Some(&g) = self.group_index.get(&name) {
            return g;
        }
        let g = u32::try_from(self.group_names.len()).unwrap_or(u32::MAX);
        let r = match self.role_names.iter().position(|n| n == role) {
            Some(r) => r,
            None => {
                self.role_names.push(role.to_owned());
                self.role_names.len() - 1
            }
        };
        self.group_roles.push(u32::try_from(r).unwrap_or(u32::MAX));
        self.group_names.push(name.clone());
        self.group_index.insert(name, g);
        g
    }

    /// The index of a patient id, adding an unknown patient if the context never mentioned it.
    pub fn patient(&mut self, id: &str) -> u32 {
        if let Some(&p) = self.patient_index.get(id) {
            return p;
        }
        let p = u32::try_from(self.patients.len()).unwrap_or(u32::MAX);
        self.patients.push(PatientInfo {
            known: false,
            identity: Identity::default(),
            labels: Labels::default(),
            deceased: None,
            staff_match: None,
            episodes: (0, 0),
        });
        self.patient_index.insert(id.into(), p);
        p
    }

    /// The index of a patient id, if already known.
    pub fn find_patient(&self, id: &str) -> Option<u32> {
        self.patient_index.get(id).copied()
    }

    /// The index of a login, adding an unknown user (own peer group) if the context lacks it.
    pub fn user(&mut self, login: &str) -> u32 {
        if let Some(&u) = self.login_index.get(login) {
            return u;
        }
        let group = self.group("unknown-login", None);
        let u = u32::try_from(self.users.len()).unwrap_or(u32::MAX);
        self.users.push(User {
            practitioner: None,
            dept: None,
            group,
        });
        self.login_index.insert(login.into(), u);
        u
    }

    /// The peer group (`role@department`) of a login, if the login is known.
    pub fn peer_group(&self, login: &str) -> Option<&str> {
        let u = self.login_index.get(login)?;
        let g = self.users.get(*u as usize)?.group;
        self.group_names.get(g as usize).map(String::as_str)
    }

    /// The episodes of a patient.
    pub fn episodes_of(&self, patient: u32) -> &[Episode] {
        let (a, b) = self
            .patients
            .get(patient as usize)
            .map(|p| p.episodes)
            .unwrap_or((0, 0));
        self.episodes.get(a as usize..b as usize).unwrap_or(&[])
    }

    /// Number of patients known from the context.
    pub fn known_patients(&self) -> usize {
        self.patients.iter().filter(|p| p.known).count()
    }

    /// A department's display name.
    pub fn dept_name(&self, dept: u16) -> &str {
        self.dept_names
            .get(usize::from(dept))
            .map(String::as_str)
            .unwrap_or("another department")
    }
}

/// The department each Organization belongs to, as (id, name) of the department's Organization.
///
/// `partOf` trees are read the way hospitals draw them, whatever their depth. A department is
/// an Organization whose parts are all leaves (wards, clinics, units): it owns them, so a
/// cardiologist assigned to "Cardiology" and a patient admitted to "Cardiology Ward 4B" are in
/// one department, whether Cardiology sits directly under the hospital or under a site and a
/// division of a trust. An Organization that groups others which have parts of their own (a
/// division, a site, a trust), or a top-level one with two or more parts (the hospital), is no
/// department of its leaves: each such leaf is its own department ("Day Surgery Unit" directly
/// under "Division of Surgery"), and the grouping is the department of whoever is assigned to it
/// directly. A top-level Organization with one part owns it; a flat list (no `partOf`) leaves
/// every Organization its own department, and so does a cycle or a reference to an unknown
/// Organization. An Organization typed as a healthcare provider (HL7 organization-type `prov`,
/// not `dept`) is a hospital, a medical group or an agency, never one department of its parts:
/// a health system drawn as system > hospital > wards, or > medical group > clinics, has the
/// wards and the clinics as departments, where the shape alone would make the hospital one. The
/// limit: bays or beds drawn as Organizations under the wards would make each ward a department
/// of its own (FHIR puts them in Location, which the monitor does not read).
fn departments(orgs: &[phiguard_fhir::context::Organization]) -> FxHashMap<&str, (&str, &str)> {
    let by_id: FxHashMap<&str, &phiguard_fhir::context::Organization> =
        orgs.iter().map(|o| (o.id.as_str(), o)).collect();
    let parent = |id: &str| -> Option<&str> {
        by_id
            .get(id)
            .and_then(|o| o.part_of.as_deref())
            .filter(|p| *p != id && by_id.contains_key(p))
    };
    let mut parts: FxHashMap<&str, usize> = FxHashMap::default();
    for o in orgs {
        if let Some(p) = parent(&o.id) {
            *parts.entry(p).or_insert(0) += 1;
        }
    }
    let is_leaf = |id: &str| !parts.contains_key(id);
    // Organizations with a part that has parts of its own: divisions, sites, trusts.
    let mut groups: FxHashSet<&str> = FxHashSet::default();
    for o in orgs {
        if let Some(p) = parent(&o.id).filter(|_| !is_leaf(&o.id)) {
            groups.insert(p);
        }
    }
    let provider = |id: &str| by_id.get(id).is_some_and(|o| o.provider);
    let mut out = FxHashMap::default();
    for o in orgs {
        let id = o.id.as_str();
        let dept = match parent(id) {
            Some(p) if is_leaf(id) && !groups.contains(p) && !provider(p) => {
                let top_with_many = parent(p).is_none() && parts.get(p).copied().unwrap_or(0) >= 2;
                if top_with_many {
                    id
                } else {
                    p
                }
            }
            _ => id,
        };
        let name = by_id.get(dept).map_or(o.name.as_str(), |d| d.name.as_str());
        out.insert(id, (dept, name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use phiguard_fhir::context::{parse_organization, Address, Context, Person};

    fn org(id: &str, part_of: Option<&str>) -> phiguard_fhir::context::Organization {
        typed_org(id, part_of, None)
    }

    fn typed_org(
        id: &str,
        part_of: Option<&str>,
        kind: Option<&str>,
    ) -> phiguard_fhir::context::Organization {
        let p = part_of
            .map(|p| format!(r#","partOf":{{"reference":"Organization/{p}"}}"#))
            .unwrap_or_default();
        let t = kind
            .map(|k| format!(r#","type":[{{"coding":[{{"code":"{k}"}}]}}]"#))
            .unwrap_or_default();
        parse_organization(&format!(
            r#"{{"resourceType":"Organization","id":"{id}","name":"N-{id}"{p}{t}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn departments_follow_the_part_of_tree() {
        // Hospital > Cardiology > Ward 4B, Hospital > ED; a flat clinic; a cycle.
        let orgs = vec![
            org("hosp", None),
            org("card", Some("hosp")),
            org("w4b", Some("card")),
            org("ed", Some("hosp")),
            org("clinic", None),
            org("x", Some("y")),
            org("y", Some("x")),
            org("orphan", Some("missing")),
        ];
        let d = departments(&orgs);
        assert_eq!(d["w4b"], ("card", "N-card"));
        assert_eq!(d["card"].0, "card");
        assert_eq!(d["ed"].0, "ed");
        assert_eq!(d["hosp"].0, "hosp");
        assert_eq!(d["clinic"].0, "clinic");
        assert_eq!(d["orphan"].0, "orphan");
        assert!(d["x"].0 == "x" || d["x"].0 == "y");
        // A department with one ward and no hospital above it owns the ward.
        let small = [org("card", None), org("w4b", Some("card"))];
        let d = departments(&small);
        assert_eq!(d["w4b"].0, "card");
        // A trust drawn deep: trust > two sites > division > specialty > wards and clinics.
        // The specialty owns its ward and clinic (not the site, not the division); a unit
        // directly under the division is its own department; whoever is assigned to the
        // division or a site is in that grouping.
        let trust = [
            org("trust", None),
            org("site1", Some("trust")),
            org("site2", Some("trust")),
            org("med", Some("site1")),
            org("resp", Some("med")),
            org("w10", Some("resp")),
            org("resp-clinic", Some("resp")),
            org("card", Some("med")),
            org("w11", Some("card")),
            org("dsu", Some("med")),
            org("community", Some("site2")),
            org("district", Some("community")),
        ];
        let d = departments(&trust);
        assert_eq!(d["w10"].0, "resp");
        assert_eq!(d["resp-clinic"].0, "resp");
        assert_eq!(d["resp"].0, "resp");
        assert_eq!(d["w11"].0, "card");
        assert_eq!(d["dsu"].0, "dsu");
        assert_eq!(d["med"].0, "med");
        assert_eq!(d["site1"].0, "site1");
        assert_eq!(d["district"].0, "community");
        // A health system with one hospital: the hospital's departments are still departments.
        let system = [
            org("system", None),
            org("hosp", Some("system")),
            org("card", Some("hosp")),
            org("w4b", Some("card")),
            org("ed", Some("hosp")),
        ];
        let d = departments(&system);
        assert_eq!(d["w4b"].0, "card");
        assert_eq!(d["ed"].0, "ed");
        // A health system of a hospital with its units drawn directly under it and a medical
        // group of clinics: by shape alone each would be one department; typed as providers,
        // their units and clinics are departments. A typed department keeps its wards.
        let idn = |kind: Option<&str>| {
            departments(&[
                typed_org("system", None, kind),
                typed_org("hosp", Some("system"), kind),
                typed_org("ed", Some("hosp"), Some("dept")),
                typed_org("w4w", Some("hosp"), Some("dept")),
                typed_org("group", Some("system"), kind),
                typed_org("primary", Some("group"), Some("dept")),
                typed_org("ortho", Some("group"), Some("dept")),
                typed_org("card", Some("system"), Some("dept")),
                typed_org("w4b", Some("card"), Some("dept")),
            ])
            .into_iter()
            .map(|(k, (d, _))| (k.to_owned(), d.to_owned()))
            .collect::<FxHashMap<_, _>>()
        };
        let shape = idn(None);
        assert_eq!(shape["ed"], "hosp");
        assert_eq!(shape["primary"], "group");
        let typed = idn(Some("prov"));
        assert_eq!(typed["ed"], "ed");
        assert_eq!(typed["w4w"], "w4w");
        assert_eq!(typed["primary"], "primary");
        assert_eq!(typed["ortho"], "ortho");
        assert_eq!(typed["w4b"], "card");
        assert_eq!(typed["hosp"], "hosp");
        // In the indexed world, the ward and its department are one department.
        let ctx = Context {
            organizations: orgs,
            ..Context::default()
        };
        let w = World::new(&ctx);
        assert_eq!(w.dept_names.iter().filter(|n| *n == "N-card").count(), 1);
        assert!(!w.dept_names.iter().any(|n| n == "N-w4b"));
    }

    fn person(given: &str, line: &str) -> Identity {
        Identity::from_person(&Person {
            family: Some("García".into()),
            given: vec![given.into()],
            birth_date: Some("1980-02-03".into()),
            gender: None,
            address: Some(Address {
                lines: vec![line.into()],
                city: Some("Springfield".into()),
                postal_code: Some("12345".into()),
            }),
        })
    }

    #[test]
    fn same_person_by_first_name_or_home() {
        let staff = person("Ana Maria", "12 Oak Street");
        assert!(staff.same_person(&person("ana", "99 Elm Rd")));
        // A nickname is the same person only at the same home.
        assert!(staff.same_person(&person("Annie", "12 oak st")));
        assert!(!staff.same_person(&person("Annie", "14 Oak St")));
        // Under a maiden name: the same first name, birth date and home.
        let mut maiden = person("Ana", "12 Oak St");
        maiden.family = 77;
        assert!(staff.same_person(&maiden));
        maiden.home = person("Ana", "14 Oak St").home;
        assert!(!staff.same_person(&maiden));
        let mut unknown = staff;
        unknown.birth = 0;
        assert!(!unknown.same_person(&staff));
    }
}
