//! IHE BALP-shaped FHIR R4 `AuditEvent`s, parsed one NDJSON line at a time.
//!
//! Strings borrow from the input line whenever JSON escapes allow it, so the hot path of
//! `phiguard scan` allocates almost nothing per event. Required: `id`, a valid `recorded`, and an
//! agent with `requestor: true` carrying `who.identifier.value`. Everything else is optional: an
//! event without a patient entity (a population search, `$export`) is still an access to monitor.

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::RecordError;
use crate::instant::Instant;

/// What kind of network address the requestor used (`agent.network.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// "1": a machine (workstation) name.
    Machine,
    /// "2": an IP address.
    Ip,
    /// Any other or absent type.
    Other,
}

/// One access, as the monitor sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessEvent<'a> {
    /// `AuditEvent.id`.
    pub id: Cow<'a, str>,
    /// `recorded`.
    pub recorded: Instant,
    /// `action` (C, R, U, D, E); empty when absent.
    pub action: Cow<'a, str>,
    /// `subtype[0].code` (read, search-type, `$export`, ...); empty when absent.
    pub subtype: Cow<'a, str>,
    /// `outcome` is "0" (or absent).
    pub success: bool,
    /// The requestor's login (`who.identifier.value`).
    pub user: Cow<'a, str>,
    /// `network.address` of the requestor, if any.
    pub address: Option<Cow<'a, str>>,
    /// `network.type`.
    pub address_kind: AddressKind,
    /// `purposeOfUse[].coding[].code` of the requestor.
    pub purposes: Vec<Cow<'a, str>>,
    /// The patient id (from `Patient/<id>`), when the event names one.
    pub patient: Option<Cow<'a, str>>,
    /// How many non-patient entities (data touched) the event lists.
    pub data_entities: u32,
    /// The resource type of the first data entity (`Observation` in `Observation/o1` or
    /// `https://ehr/fhir/Observation/o1/_history/2`): which part of the record was touched.
    pub data_type: Option<Cow<'a, str>>,
}

impl AccessEvent<'_> {
    /// Whether a purpose of use is present (exact code match).
    pub fn has_purpose(&self, code: &str) -> bool {
        self.purposes.iter().any(|p| p == code)
    }
}

/// A string that borrows from the input when it has no escapes. (serde's own `Cow<str>` only
/// borrows when it is not wrapped in `Option`.)
struct CowStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

fn cow(v: Option<CowStr<'_>>) -> Option<Cow<'_, str>> {
    v.map(|c| c.0)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(borrow, default)]
    resource_type: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    id: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    recorded: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    action: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    subtype: Vec<RawCoding<'a>>,
    #[serde(borrow, default)]
    outcome: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    agent: Vec<RawAgent<'a>>,
    #[serde(borrow, default)]
    entity: Vec<RawEntity<'a>>,
}

#[derive(Deserialize, Default)]
struct RawCoding<'a> {
    #[serde(borrow, default)]
    code: Option<CowStr<'a>>,
}

#[derive(Deserialize, Default)]
struct RawConcept<'a> {
    #[serde(borrow, default)]
    coding: Vec<RawCoding<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAgent<'a> {
    #[serde(default)]
    requestor: bool,
    #[serde(borrow, default)]
    who: Option<RawWho<'a>>,
    #[serde(borrow, default)]
    network: Option<RawNetwork<'a>>,
    #[serde(borrow, default)]
    purpose_of_use: Vec<RawConcept<'a>>,
}

#[derive(Deserialize)]
struct RawWho<'a> {
    #[serde(borrow, default)]
    identifier: Option<RawIdentifier<'a>>,
}

#[derive(Deserialize)]
struct RawIdentifier<'a> {
    #[serde(borrow, default)]
    value: Option<CowStr<'a>>,
}

#[derive(Deserialize)]
struct RawNetwork<'a> {
    #[serde(borrow, default)]
    address: Option<CowStr<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<CowStr<'a>>,
}

#[derive(Deserialize)]
struct RawEntity<'a> {
    #[serde(borrow, default)]
    what: Option<RawReference<'a>>,
    #[serde(borrow, default)]
    role: Option<RawCoding<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<RawCoding<'a>>,
}

#[derive(Deserialize)]
struct RawReference<'a> {
    #[serde(borrow, default)]
    reference: Option<CowStr<'a>>,
}

fn non_empty<'a>(
    v: Option<Cow<'a, str>>,
    field: &'static str,
) -> Result<Cow<'a, str>, RecordError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(RecordError::Missing(field)),
    }
}

/// The byte range of `<id>` in a `[...]Patient/<id>[/_history/<v>]` reference.
fn patient_id_range(reference: &str) -> Option<std::ops::Range<usize>> {
    let end = reference.find("/_history/").unwrap_or(reference.len());
    let head = reference.get(..end)?;
    let start = head.rfind("Patient/")? + "Patient/".len();
    let id = head.get(start..)?;
    (!id.is_empty() && !id.contains('/')).then_some(start..end)
}

/// The byte range of `<Type>` in a `[...]<Type>/<id>[/_history/<v>]` reference (`None` for a
/// bare id, a contained `#ref` or a type that is not an ASCII capital followed by letters and
/// digits).
fn resource_type_range(reference: &str) -> Option<std::ops::Range<usize>> {
    let end = reference.find("/_history/").unwrap_or(reference.len());
    let head = reference.get(..end)?;
    let type_end = head.rfind('/')?;
    let type_start = head.get(..type_end)?.rfind('/').map_or(0, |i| i + 1);
    let t = head.get(type_start..type_end)?;
    let well_formed = t.starts_with(|c: char| c.is_ascii_uppercase())
        && t.chars().all(|c| c.is_ascii_alphanumeric());
    well_formed.then_some(type_start..type_end)
}

/// The resource type of a data entity's reference, borrowed from the input when it was.
fn resource_type<'a>(reference: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    let range = resource_type_range(reference)?;
    match reference {
        Cow::Borrowed(b) => b.get(range).map(Cow::Borrowed),
        Cow::Owned(o) => o.get(range).map(|s| Cow::Owned(s.to_owned())),
    }
}

/// The patient id inside a reference, borrowed from the input when the reference was.
fn patient_id<'a>(reference: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    let range = patient_id_range(reference)?;
    match reference {
        Cow::Borrowed(b) => b.get(range).map(Cow::Borrowed),
        Cow::Owned(o) => o.get(range).map(|s| Cow::Owned(s.to_owned())),
    }
}

/// Parses one AuditEvent NDJSON line.
///
/// # Errors
/// [`RecordError`] naming the field: invalid JSON, a resource that is not an AuditEvent, a
/// missing `id`, a missing or invalid `recorded`, no `requestor` agent, or a requestor without a
/// login.
pub fn parse_audit_event(line: &str) -> Result<AccessEvent<'_>, RecordError> {
    let raw: Raw<'_> = serde_json::from_str(line).map_err(|e| RecordError::Json(e.to_string()))?;
    if let Some(CowStr(t)) = &raw.resource_type {
        if t != "AuditEvent" {
            return Err(RecordError::WrongType {
                expected: "AuditEvent",
                found: t.to_string(),
            });
        }
    }
    let id = non_empty(cow(raw.id), "id")?;
    let recorded_text = non_empty(cow(raw.recorded), "recorded")?;
    let recorded = Instant::parse_instant(&recorded_text).ok_or_else(|| RecordError::Invalid {
        field: "recorded",
        problem: "not an RFC 3339 instant".to_owned(),
    })?;
    let mut agents = raw.agent.into_iter();
    let requestor = agents
        .find(|a| a.requestor)
        .ok_or(RecordError::Missing("agent.requestor"))?;
    let user = non_empty(
        requestor
            .who
            .and_then(|w| w.identifier)
            .and_then(|i| cow(i.value)),
        "agent.who.identifier.value",
    )?;
    let (address, address_kind) = match requestor.network {
        Some(n) => {
            let kind = match n.kind.as_ref().map(|k| k.0.as_ref()) {
                Some("1") => AddressKind::Machine,
                Some("2") => AddressKind::Ip,
                _ => AddressKind::Other,
            };
            (cow(n.address).filter(|a| !a.is_empty()), kind)
        }
        None => (None, AddressKind::Other),
    };
    let purposes = requestor
        .purpose_of_use
        .into_iter()
        .flat_map(|c| c.coding.into_iter())
        .filter_map(|c| cow(c.code))
        .collect();

    let mut patient: Option<Cow<'_, str>> = None;
    let mut fallback: Option<Cow<'_, str>> = None;
    let mut data_entities = 0u32;
    let mut data_type: Option<Cow<'_, str>> = None;
    for e in raw.entity {
        let is_patient_role = e
            .role
            .as_ref()
            .and_then(|r| r.code.as_ref())
            .is_some_and(|c| c.0 == "1")
            || e.kind
                .as_ref()
                .and_then(|r| r.code.as_ref())
                .is_some_and(|c| c.0 == "1");
        let reference = e.what.and_then(|w| cow(w.reference));
        let pid = reference.as_ref().and_then(patient_id);
        match (is_patient_role, pid) {
            (true, Some(id)) if patient.is_none() => patient = Some(id),
            (true, None) if reference.is_some() => {
                return Err(RecordError::Invalid {
                    field: "entity.what.reference",
                    problem: "the patient entity does not reference `Patient/<id>`".to_owned(),
                })
            }
            (false, Some(id)) => {
                if fallback.is_none() {
                    fallback = Some(id);
                }
            }
            _ => {
                data_entities = data_entities.saturating_add(1);
                if data_type.is_none() {
                    data_type = reference.as_ref().and_then(resource_type);
                }
            }
        }
    }
    let subtype = raw
        .subtype
        .into_iter()
        .find_map(|c| cow(c.code))
        .unwrap_or(Cow::Borrowed(""));
    Ok(AccessEvent {
        id,
        recorded,
        action: cow(raw.action).unwrap_or(Cow::Borrowed("")),
        subtype,
        success: raw.outcome.as_ref().is_none_or(|o| o.0 == "0"),
        user,
        address,
        address_kind,
        purposes,
        patient: patient.or(fallback),
        data_entities,
        data_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"resourceType":"AuditEvent","id":"ev-1","type":{"code":"rest"},"subtype":[{"code":"read"}],"action":"R","recorded":"2026-03-01T03:12:00-05:00","outcome":"0","agent":[{"type":{"coding":[{"code":"110153"}]},"requestor":false,"who":{"identifier":{"value":"app"}}},{"requestor":true,"who":{"identifier":{"value":"jdoe"}},"network":{"address":"WS-ICU-3","type":"1"},"purposeOfUse":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}]}]}],"entity":[{"what":{"reference":"Patient/p42"},"role":{"code":"1"}},{"what":{"reference":"Observation/o1"}}]}"#;

    #[test]
    fn parses_balp_event() {
        let e = parse_audit_event(EVENT).unwrap();
        assert_eq!(e.id, "ev-1");
        assert_eq!(e.user, "jdoe");
        assert_eq!(e.patient.as_deref(), Some("p42"));
        assert_eq!(e.address.as_deref(), Some("WS-ICU-3"));
        assert_eq!(e.address_kind, AddressKind::Machine);
        assert!(e.has_purpose("TREAT"));
        assert_eq!(e.recorded.local_hour(), 3);
        assert_eq!(e.data_entities, 1);
        assert_eq!(e.data_type.as_deref(), Some("Observation"));
        assert!(e.success);
        assert!(matches!(e.id, Cow::Borrowed(_)));
    }

    #[test]
    fn errors_name_fields() {
        let cases = [
            (r#"{"resourceType":"AuditEvent"}"#, Some("id")),
            (r#"{"id":"x"}"#, Some("recorded")),
            (r#"{"id":"x","recorded":"yesterday"}"#, Some("recorded")),
            (
                r#"{"id":"x","recorded":"2026-03-01T03:12:00Z","agent":[{"requestor":false}]}"#,
                Some("agent.requestor"),
            ),
            (
                r#"{"id":"x","recorded":"2026-03-01T03:12:00Z","agent":[{"requestor":true,"who":{}}]}"#,
                Some("agent.who.identifier.value"),
            ),
        ];
        for (line, field) in cases {
            assert_eq!(
                parse_audit_event(line).unwrap_err().field(),
                field,
                "{line}"
            );
        }
        assert!(matches!(parse_audit_event("{"), Err(RecordError::Json(_))));
        assert!(matches!(
            parse_audit_event(r#"{"resourceType":"Patient","id":"x"}"#),
            Err(RecordError::WrongType { .. })
        ));
    }

    #[test]
    fn patient_by_type_code_or_reference() {
        let line = r#"{"id":"x","recorded":"2026-03-01T03:12:00Z","agent":[{"requestor":true,"who":{"identifier":{"value":"u"}}}],"entity":[{"what":{"reference":"https://h/fhir/Patient/9"},"type":{"code":"1"}}],"outcome":"4"}"#;
        let e = parse_audit_event(line).unwrap();
        assert_eq!(e.patient.as_deref(), Some("9"));
        assert!(!e.success);
        let no_patient = r#"{"id":"x","recorded":"2026-03-01T03:12:00Z","agent":[{"requestor":true,"who":{"identifier":{"value":"u"}}}],"subtype":[{"code":"$export"}]}"#;
        let e = parse_audit_event(no_patient).unwrap();
        assert_eq!(e.patient, None);
        assert_eq!(e.subtype, "$export");
    }

    #[test]
    fn data_type_is_the_resource_type_of_the_first_data_entity() {
        for (reference, want) in [
            ("Observation/o1", Some("Observation")),
            (
                "https://ehr.example/fhir/DocumentReference/d7",
                Some("DocumentReference"),
            ),
            ("DiagnosticReport/r1/_history/3", Some("DiagnosticReport")),
            ("o1", None),
            ("#contained", None),
            ("observation/o1", None),
            ("Obs-ervation/o1", None),
            ("/o1", None),
        ] {
            assert_eq!(
                resource_type_range(reference).and_then(|r| reference.get(r)),
                want,
                "{reference}"
            );
        }
        let two = EVENT.replace(
            r#"{"what":{"reference":"Observation/o1"}}"#,
            r#"{"what":{"reference":"Specimen/s1"}},{"what":{"reference":"Observation/o1"}}"#,
        );
        let e = parse_audit_event(&two).unwrap();
        assert_eq!(e.data_type.as_deref(), Some("Specimen"));
        assert_eq!(e.data_entities, 2);
        let none = EVENT.replace(r#",{"what":{"reference":"Observation/o1"}}"#, "");
        let e = parse_audit_event(&none).unwrap();
        assert_eq!((e.data_type, e.data_entities), (None, 0));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in ".{0,300}") {
            let _ = parse_audit_event(&s);
        }

        #[test]
        fn mutated_events_never_panic(pos in 0usize..900, byte in proptest::num::u8::ANY) {
            let mut bytes = EVENT.as_bytes().to_vec();
            if let Some(b) = bytes.get_mut(pos % EVENT.len()) { *b = byte; }
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_audit_event(&s);
        }
    }
}
