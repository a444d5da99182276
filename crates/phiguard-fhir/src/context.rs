//! The hospital context: FHIR R4 resources from a Bulk Data `$export` directory.
//!
//! Each `<ResourceType>.ndjson` file is read line by line. A line that is not a usable resource is
//! kept in [`Context::rejects`] with its file, line number, reason and raw text, and loading goes
//! on. Absent files mean "none of that type" and are listed in [`Context::absent_files`] so that
//! the caller can say what evidence will be missing. Unknown fields and unknown files are ignored.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{FhirError, RecordError};
use crate::instant::Instant;

/// A department (FHIR Organization).
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Resource id.
    pub id: String,
    /// Display name (e.g. "Cardiology").
    pub name: String,
    /// Parent organization id, if any.
    pub part_of: Option<String>,
    /// Typed as a healthcare provider and not as a department (`type[].coding[].code` holds
    /// `prov` and not `dept`, HL7 organization-type): a hospital, a medical group, an agency.
    /// Not a field of the spec's table; read when present (extension).
    pub provider: bool,
}

/// A postal address, as given (normalisation is the monitor's job).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    /// Street lines.
    pub lines: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

/// A person's demographics shared by Practitioner and Patient.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Person {
    /// `name[0].family`.
    pub family: Option<String>,
    /// `name[0].given`.
    pub given: Vec<String>,
    /// `birthDate` as given (`YYYY-MM-DD`).
    pub birth_date: Option<String>,
    /// `gender`.
    pub gender: Option<String>,
    /// `address[0]`.
    pub address: Option<Address>,
}

/// A staff member, with the logins that audit events carry and the roles found for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Practitioner {
    /// Resource id.
    pub id: String,
    /// `identifier[].value`: the logins.
    pub logins: Vec<String>,
    /// Demographics.
    pub person: Person,
    /// (organization id, role codes) from PractitionerRole resources.
    pub roles: Vec<PractitionerRole>,
}

/// A staff member's department and role codes (FHIR PractitionerRole).
#[derive(Debug, Clone, PartialEq)]
pub struct PractitionerRole {
    /// Resource id, if given (encounters may reference the role instead of the practitioner).
    pub id: Option<String>,
    /// The department (Organization id).
    pub organization: Option<String>,
    /// `code[].coding[].code`.
    pub codes: Vec<String>,
}

/// Whether and when a patient died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deceased {
    /// Not known to be deceased.
    No,
    /// Died at this time (`deceasedDateTime`).
    At(Instant),
    /// `deceasedBoolean: true` without a date.
    Unknown,
}

/// A patient.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// Resource id.
    pub id: String,
    /// Demographics.
    pub person: Person,
    /// Deceased status.
    pub deceased: Deceased,
    /// `meta.security[].code` (CEL, EMP, R, V, PSY, ...).
    pub security: Vec<String>,
}

/// A visit or stay with its care team and department.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    /// Resource id.
    pub id: String,
    /// `class.code` (IMP, AMB, EMER, ...).
    pub class: String,
    /// The patient id.
    pub patient: String,
    /// Practitioner ids (PractitionerRole references are resolved by the monitor).
    pub participants: Vec<Reference>,
    /// `period.start`.
    pub start: Option<Instant>,
    /// `period.end` (absent while ongoing).
    pub end: Option<Instant>,
    /// The department (Organization id).
    pub service_provider: Option<String>,
}

/// A longer-lived care relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct CareTeam {
    /// The patient id.
    pub patient: String,
    /// Member references.
    pub members: Vec<Reference>,
    /// `period.start`.
    pub start: Option<Instant>,
    /// `period.end`.
    pub end: Option<Instant>,
}

/// A typed reference `Type/id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Resource type (e.g. `Practitioner`).
    pub kind: String,
    /// Resource id.
    pub id: String,
}

impl Reference {
    /// Parses `Type/id`, also the tail of an absolute URL (`https://x/fhir/Type/id`).
    pub fn parse(text: &str) -> Option<Reference> {
        let text = text.trim_end_matches('/');
        let text = text.split("/_history/").next().unwrap_or(text);
        let (head, id) = text.rsplit_once('/')?;
        let kind = head.rsplit('/').next().unwrap_or(head);
        if kind.is_empty() || id.is_empty() {
            return None;
        }
        Some(Reference {
            kind: kind.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// One context line that could not be used.
#[derive(Debug, Clone)]
pub struct ContextReject {
    /// The file it came from.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why.
    pub error: RecordError,
    /// The raw line, kept so nothing is lost.
    pub raw: String,
}

/// Everything loaded from a context directory.
#[derive(Debug, Default)]
pub struct Context {
    /// Departments.
    pub organizations: Vec<Organization>,
    /// Staff (with their PractitionerRoles attached).
    pub practitioners: Vec<Practitioner>,
    /// PractitionerRoles whose practitioner is not in Practitioner.ndjson (kept, not dropped).
    pub orphan_roles: Vec<(String, PractitionerRole)>,
    /// Patients.
    pub patients: Vec<Patient>,
    /// Encounters.
    pub encounters: Vec<Encounter>,
    /// Care teams.
    pub care_teams: Vec<CareTeam>,
    /// Lines that could not be used.
    pub rejects: Vec<ContextReject>,
    /// Files the monitor reads that were not present.
    pub absent_files: Vec<&'static str>,
}

/// The files [`load_dir`] reads, in the order it reads them.
pub const CONTEXT_FILES: [&str; 6] = [
    "Organization.ndjson",
    "Practitioner.ndjson",
    "PractitionerRole.ndjson",
    "Patient.ndjson",
    "Encounter.ndjson",
    "CareTeam.ndjson",
];

/// Loads a Bulk Data context directory.
///
/// # Errors
/// [`FhirError::Dir`] when the directory cannot be read, [`FhirError::Read`] on an I/O failure
/// inside a file, [`FhirError::Empty`] when neither Practitioner.ndjson nor Patient.ndjson exists.
/// Bad lines are not errors: they land in [`Context::rejects`].
pub fn load_dir(dir: &Path) -> Result<Context, FhirError> {
    let meta = std::fs::metadata(dir).map_err(|source| FhirError::Dir {
        path: dir.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(FhirError::Dir {
            path: dir.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let mut ctx = Context::default();
    let mut roles: Vec<(String, PractitionerRole)> = Vec::new();
    for name in CONTEXT_FILES {
        let path = dir.join(name);
        if !path.exists() {
            ctx.absent_files.push(name);
            continue;
        }
        let mut rejects = Vec::new();
        for_each_line(&path, |line_no, line| {
            let parsed = match name {
                "Organization.ndjson" => {
                    parse_organization(line).map(|o| ctx.organizations.push(o))
                }
                "Practitioner.ndjson" => {
                    parse_practitioner(line).map(|p| ctx.practitioners.push(p))
                }
                "PractitionerRole.ndjson" => parse_role(line).map(|r| roles.push(r)),
                "Patient.ndjson" => parse_patient(line).map(|p| ctx.patients.push(p)),
                "Encounter.ndjson" => parse_encounter(line).map(|e| ctx.encounters.push(e)),
                _ => parse_care_team(line).map(|c| ctx.care_teams.push(c)),
            };
            if let Err(error) = parsed {
                rejects.push(ContextReject {
                    file: path.clone(),
                    line: line_no,
                    error,
                    raw: line.to_owned(),
                });
            }
        })?;
        ctx.rejects.extend(rejects);
    }
    if ctx.absent_files.contains(&"Practitioner.ndjson")
        && ctx.absent_files.contains(&"Patient.ndjson")
    {
        return Err(FhirError::Empty(dir.to_owned()));
    }
    attach_roles(&mut ctx, roles);
    Ok(ctx)
}

fn attach_roles(ctx: &mut Context, roles: Vec<(String, PractitionerRole)>) {
    let index: std::collections::HashMap<String, usize> = ctx
        .practitioners
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    for (practitioner, role) in roles {
        match index
            .get(&practitioner)
            .and_then(|&i| ctx.practitioners.get_mut(i))
        {
            Some(p) => p.roles.push(role),
            None => ctx.orphan_roles.push((practitioner, role)),
        }
    }
}

/// Calls `f(line_number, line)` for every non-blank line of an NDJSON file (a byte-order mark
/// before the first line is ignored).
fn for_each_line(path: &Path, mut f: impl FnMut(usize, &str)) -> Result<(), FhirError> {
    let file = File::open(path).map_err(|source| FhirError::Read {
        path: path.to_owned(),
        line: 0,
        source,
    })?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        line_no += 1;
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| FhirError::Read {
                path: path.to_owned(),
                line: line_no,
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&buf);
        let text = crate::without_bom(line_no, &text).trim();
        if !text.is_empty() {
            f(line_no, text);
        }
    }
}

// ---- raw serde shapes (only the fields the spec uses; everything optional) ----

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawResource {
    resource_type: Option<String>,
    id: Option<String>,
    name: Option<serde_json::Value>,
    part_of: Option<RawRef>,
    identifier: Vec<RawIdentifier>,
    birth_date: Option<String>,
    gender: Option<String>,
    address: Vec<RawAddress>,
    deceased_date_time: Option<String>,
    deceased_boolean: Option<bool>,
    meta: Option<RawMeta>,
    practitioner: Option<RawRef>,
    organization: Option<RawRef>,
    code: Vec<RawConcept>,
    r#type: Vec<RawConcept>,
    class: Option<RawCoding>,
    subject: Option<RawRef>,
    participant: Vec<RawParticipant>,
    period: Option<RawPeriod>,
    service_provider: Option<RawRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRef {
    reference: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawIdentifier {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawAddress {
    line: Vec<String>,
    city: Option<String>,
    postal_code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHumanName {
    family: Option<String>,
    given: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMeta {
    security: Vec<RawCoding>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCoding {
    code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConcept {
    coding: Vec<RawCoding>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawParticipant {
    individual: Option<RawRef>,
    member: Option<RawRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPeriod {
    start: Option<String>,
    end: Option<String>,
}

fn parse_raw(line: &str, expected: &'static str) -> Result<RawResource, RecordError> {
    let raw: RawResource =
        serde_json::from_str(line).map_err(|e| RecordError::Json(e.to_string()))?;
    match raw.resource_type.as_deref() {
        Some(t) if t == expected => Ok(raw),
        Some(t) => Err(RecordError::WrongType {
            expected,
            found: t.to_owned(),
        }),
        None => Err(RecordError::Missing("resourceType")),
    }
}

fn required_id(raw: &RawResource) -> Result<String, RecordError> {
    match raw.id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(RecordError::Missing("id")),
    }
}

fn reference_id(
    r: Option<&RawRef>,
    field: &'static str,
    kind: &str,
) -> Result<Option<String>, RecordError> {
    let Some(text) = r.and_then(|r| r.reference.as_deref()) else {
        return Ok(None);
    };
    match Reference::parse(text) {
        Some(r) if r.kind == kind => Ok(Some(r.id)),
        Some(r) => Err(RecordError::Invalid {
            field,
            problem: format!("expected a {kind} reference, found a {} reference", r.kind),
        }),
        None => Err(RecordError::Invalid {
            field,
            problem: "not a `Type/id` reference".to_owned(),
        }),
    }
}

fn person(raw: &RawResource) -> Person {
    let name: Option<RawHumanName> = match &raw.name {
        Some(serde_json::Value::Array(names)) => names
            .first()
            .and_then(|n| serde_json::from_value(n.clone()).ok()),
        _ => None,
    };
    let (family, given) = match name {
        Some(n) => (n.family, n.given),
        None => (None, Vec::new()),
    };
    Person {
        family,
        given,
        birth_date: raw.birth_date.clone(),
        gender: raw.gender.clone(),
        address: raw.address.first().map(|a| Address {
            lines: a.line.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
        }),
    }
}

fn period(
    p: Option<&RawPeriod>,
    start_field: &'static str,
    end_field: &'static str,
) -> Result<(Option<Instant>, Option<Instant>), RecordError> {
    let parse = |v: Option<&String>, field: &'static str| -> Result<Option<Instant>, RecordError> {
        match v {
            None => Ok(None),
            Some(t) => Instant::parse_date_time(t)
                .map(Some)
                .ok_or_else(|| RecordError::Invalid {
                    field,
                    problem: "not a FHIR dateTime".to_owned(),
                }),
        }
    };
    match p {
        None => Ok((None, None)),
        Some(p) => Ok((
            parse(p.start.as_ref(), start_field)?,
            parse(p.end.as_ref(), end_field)?,
        )),
    }
}

/// Parses one Organization line.
pub fn parse_organization(line: &str) -> Result<Organization, RecordError> {
    let raw = parse_raw(line, "Organization")?;
    let id = required_id(&raw)?;
    let name = match &raw.name {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => id.clone(),
    };
    let typed = |code: &str| {
        raw.r#type
            .iter()
            .flat_map(|c| &c.coding)
            .any(|c| c.code.as_deref() == Some(code))
    };
    Ok(Organization {
        part_of: reference_id(raw.part_of.as_ref(), "partOf", "Organization")?,
        provider: typed("prov") && !typed("dept"),
        id,
        name,
    })
}

/// Parses one Practitioner line.
pub fn parse_practitioner(line: &str) -> Result<Practitioner, RecordError> {
    let raw = parse_raw(line, "Practitioner")?;
    let id = required_id(&raw)?;
    let logins: Vec<String> = raw
        .identifier
        .iter()
        .filter_map(|i| i.value.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    if logins.is_empty() {
        return Err(RecordError::Missing("identifier[].value"));
    }
    Ok(Practitioner {
        id,
        logins,
        person: person(&raw),
        roles: Vec::new(),
    })
}

/// Parses one PractitionerRole line into (practitioner id, role).
pub fn parse_role(line: &str) -> Result<(String, PractitionerRole), RecordError> {
    let raw = parse_raw(line, "PractitionerRole")?;
    let practitioner = reference_id(
        raw.practitioner.as_ref(),
        "practitioner.reference",
        "Practitioner",
    )?
    .ok_or(RecordError::Missing("practitioner.reference"))?;
    let codes = raw
        .code
        .iter()
        .flat_map(|c| c.coding.iter())
        .filter_map(|c| c.code.clone())
        .collect();
    Ok((
        practitioner,
        PractitionerRole {
            id: raw.id.clone(),
            organization: reference_id(
                raw.organization.as_ref(),
                "organization.reference",
                "Organization",
            )?,
            codes,
        },
    ))
}

/// Parses one Patient line.
pub fn parse_patient(line: &str) -> Result<Patient, RecordError> {
    let raw = parse_raw(line, "Patient")?;
    let id = required_id(&raw)?;
    let deceased = match (&raw.deceased_date_time, raw.deceased_boolean) {
        (Some(t), _) => {
            Deceased::At(
                Instant::parse_date_time(t).ok_or_else(|| RecordError::Invalid {
                    field: "deceasedDateTime",
                    problem: "not a FHIR dateTime".to_owned(),
                })?,
            )
        }
        (None, Some(true)) => Deceased::Unknown,
        _ => Deceased::No,
    };
    let security = raw
        .meta
        .as_ref()
        .map(|m| m.security.iter().filter_map(|c| c.code.clone()).collect())
        .unwrap_or_default();
    Ok(Patient {
        person: person(&raw),
        id,
        deceased,
        security,
    })
}

fn refs<'a>(it: impl Iterator<Item = Option<&'a RawRef>>) -> Vec<Reference> {
    it.flatten()
        .filter_map(|r| r.reference.as_deref())
        .filter_map(Reference::parse)
        .collect()
}

/// Parses one Encounter line.
pub fn parse_encounter(line: &str) -> Result<Encounter, RecordError> {
    let raw = parse_raw(line, "Encounter")?;
    let id = required_id(&raw)?;
    let patient = reference_id(raw.subject.as_ref(), "subject.reference", "Patient")?
        .ok_or(RecordError::Missing("subject.reference"))?;
    let (start, end) = period(raw.period.as_ref(), "period.start", "period.end")?;
    Ok(Encounter {
        id,
        class: raw
            .class
            .as_ref()
            .and_then(|c| c.code.clone())
            .unwrap_or_default(),
        patient,
        participants: refs(raw.participant.iter().map(|p| p.individual.as_ref())),
        start,
        end,
        service_provider: reference_id(
            raw.service_provider.as_ref(),
            "serviceProvider.reference",
            "Organization",
        )?,
    })
}

/// Parses one CareTeam line.
pub fn parse_care_team(line: &str) -> Result<CareTeam, RecordError> {
    let raw = parse_raw(line, "CareTeam")?;
    let patient = reference_id(raw.subject.as_ref(), "subject.reference", "Patient")?
        .ok_or(RecordError::Missing("subject.reference"))?;
    let (start, end) = period(raw.period.as_ref(), "period.start", "period.end")?;
    Ok(CareTeam {
        patient,
        members: refs(raw.participant.iter().map(|p| p.member.as_ref())),
        start,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("Practitioner/abc").unwrap();
        assert_eq!((r.kind.as_str(), r.id.as_str()), ("Practitioner", "abc"));
        let r = Reference::parse("https://ehr.example/fhir/Patient/7/_history/2").unwrap();
        assert_eq!((r.kind.as_str(), r.id.as_str()), ("Patient", "7"));
        assert!(Reference::parse("nope").is_none());
        assert!(Reference::parse("Patient/").is_none());
    }

    #[test]
    fn patient_fields() {
        let p = parse_patient(r#"{"resourceType":"Patient","id":"p1","name":[{"family":"Núñez","given":["Ana"]}],"birthDate":"1980-02-03","address":[{"line":["12 Oak St"],"city":"Springfield","postalCode":"12345"}],"deceasedDateTime":"2026-01-02T10:00:00Z","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"CEL"}]},"extra":1}"#).unwrap();
        assert_eq!(p.person.family.as_deref(), Some("Núñez"));
        assert_eq!(p.security, vec!["CEL"]);
        assert!(matches!(p.deceased, Deceased::At(_)));
        assert_eq!(p.person.address.unwrap().lines, vec!["12 Oak St"]);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_patient(r#"{"resourceType":"Patient"}"#).unwrap_err();
        assert_eq!(e.field(), Some("id"));
        let e = parse_encounter(r#"{"resourceType":"Encounter","id":"e","subject":{"reference":"Patient/1"},"period":{"start":"yesterday"}}"#).unwrap_err();
        assert_eq!(e.field(), Some("period.start"));
        let e = parse_encounter(
            r#"{"resourceType":"Encounter","id":"e","subject":{"reference":"Group/1"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("subject.reference"));
        let e = parse_patient(r#"{"resourceType":"Encounter","id":"x"}"#).unwrap_err();
        assert!(matches!(e, RecordError::WrongType { .. }));
        assert!(matches!(
            parse_patient("{not json"),
            Err(RecordError::Json(_))
        ));
    }

    #[test]
    fn load_dir_keeps_rejects_and_notes_absent_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Patient.ndjson"),
            "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n\n{broken\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("Practitioner.ndjson"),
            "{\"resourceType\":\"Practitioner\",\"id\":\"d1\",\"identifier\":[{\"value\":\"jdoe\"}]}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("PractitionerRole.ndjson"),
            "{\"resourceType\":\"PractitionerRole\",\"practitioner\":{\"reference\":\"Practitioner/d1\"},\"organization\":{\"reference\":\"Organization/o1\"},\"code\":[{\"coding\":[{\"code\":\"nurse\"}]}]}\n",
        )
        .unwrap();
        let ctx = load_dir(dir.path()).unwrap();
        assert_eq!(ctx.patients.len(), 1);
        assert_eq!(ctx.rejects.len(), 1);
        assert_eq!(ctx.rejects[0].line, 3);
        assert!(ctx.absent_files.contains(&"Encounter.ndjson"));
        assert_eq!(ctx.practitioners[0].roles[0].codes, vec!["nurse"]);
    }

    #[test]
    fn an_organization_typed_as_a_provider() {
        let typed = |t: &str| {
            parse_organization(&format!(
                r#"{{"resourceType":"Organization","id":"o","type":[{t}]}}"#
            ))
            .unwrap()
            .provider
        };
        assert!(typed(r#"{"coding":[{"system":"x","code":"prov"}]}"#));
        assert!(!typed(r#"{"coding":[{"code":"dept"}]}"#));
        assert!(!typed(r#"{"coding":[{"code":"prov"},{"code":"dept"}]}"#));
        assert!(!typed(""));
    }

    #[test]
    fn a_windows_export_loads_like_any_other() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Patient.ndjson"),
            "\u{feff}{\"resourceType\":\"Patient\",\"id\":\"p1\"}\r\n{\"resourceType\":\"Patient\",\"id\":\"p2\"}\r\n",
        )
        .unwrap();
        let ctx = load_dir(dir.path()).unwrap();
        assert_eq!(ctx.patients.len(), 2);
        assert!(ctx.rejects.is_empty());
    }

    #[test]
    fn empty_or_missing_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load_dir(dir.path()), Err(FhirError::Empty(_))));
        assert!(matches!(
            load_dir(&dir.path().join("nope")),
            Err(FhirError::Dir { .. })
        ));
    }
}
