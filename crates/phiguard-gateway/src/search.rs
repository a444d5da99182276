//! FHIR search over one patient's resources (embedded mode): parameters, filtering, sorting,
//! paging and the searchset Bundle.
//!
//! Supported: `patient` / `subject` (required, except `_id` on Patient), `_id`,
//! `_lastUpdated`, `date` (on the types whose FHIR `date` parameter the stored resource can
//! carry: Observation and DiagnosticReport `effective[x]`, Encounter / CarePlan / CareTeam
//! `period`, Procedure `performed[x]`, Immunization `occurrenceDateTime`, AllergyIntolerance
//! `recordedDate`), `code` (token `[system]|[code]` on Observation, Condition, Procedure,
//! DiagnosticReport, AllergyIntolerance `code` and MedicationRequest
//! `medicationCodeableConcept`), `_sort` (`_lastUpdated`, `date`, `_id`, `-` for descending,
//! comma-separated), `_count` (default 50, at most 1000) and `_offset` (paging; the Bundle
//! carries `self`, `next` and `previous` links). `_format` and `_pretty` are accepted and
//! ignored. Repeating a parameter ANDs the values; commas inside one value OR them.
//!
//! Date prefixes `eq ne gt lt ge le sa eb` follow FHIR's range semantics (R4 3.1.1.5.6).
//!
//! Any other parameter, or a modifier (`code:text`), is refused with 400 `not-supported`
//! naming the parameter (never its value) unless the request says `Prefer: handling=lenient`,
//! in which case it is ignored and left out of the `self` link, as FHIR asks.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::store::Found;

/// Default page size.
pub const DEFAULT_COUNT: usize = 50;
/// Largest page size.
pub const MAX_COUNT: usize = 1000;

/// `Prefer: handling=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Unknown parameters are errors (the default).
    Strict,
    /// Unknown parameters are ignored.
    Lenient,
}

/// The handling a request asks for (strict unless `Prefer: handling=lenient`).
pub fn handling(headers: &HeaderMap) -> Handling {
    let lenient = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=lenient"));
    if lenient {
        Handling::Lenient
    } else {
        Handling::Strict
    }
}

/// A date comparison prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// Equal (range contained).
    Eq,
    /// Not equal.
    Ne,
    /// Greater than.
    Gt,
    /// Less than.
    Lt,
    /// Greater or equal.
    Ge,
    /// Less or equal.
    Le,
    /// Starts after.
    Sa,
    /// Ends before.
    Eb,
}

/// One date condition: prefix and the half-open range `[start, end)` (unix seconds) of the
/// value at its precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateCond {
    /// Prefix.
    pub prefix: Prefix,
    /// Range start.
    pub start: i64,
    /// Range end (exclusive).
    pub end: i64,
}

impl DateCond {
    /// Whether a target range matches.
    pub fn matches(&self, (ts, te): (i64, i64)) -> bool {
        let eq = ts >= self.start && te <= self.end;
        match self.prefix {
            Prefix::Eq => eq,
            Prefix::Ne => !eq,
            Prefix::Gt => te > self.end,
            Prefix::Lt => ts < self.start,
            Prefix::Ge => te > self.end || eq,
            Prefix::Le => ts < self.start || eq,
            Prefix::Sa => ts >= self.end,
            Prefix::Eb => te <= self.start,
        }
    }
}

/// A sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// `meta.lastUpdated`.
    LastUpdated,
    /// The type's `date` element.
    Date,
    /// Resource id.
    Id,
}

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Resource type searched.
    pub rtype: String,
    /// The patient whose resources are searched.
    pub patient: String,
    /// `_id` (each inner list ORed, lists ANDed).
    pub ids: Vec<Vec<String>>,
    /// `_lastUpdated` conditions (ANDed; each inner list ORed).
    pub last_updated: Vec<Vec<DateCond>>,
    /// `date` conditions.
    pub date: Vec<Vec<DateCond>>,
    /// `code` tokens: (system, code), `None` meaning any.
    pub code: Vec<Vec<(Option<String>, Option<String>)>>,
    /// Sort keys, `true` for descending.
    pub sort: Vec<(SortKey, bool)>,
    /// Page size.
    pub count: usize,
    /// Page offset.
    pub offset: usize,
    /// Parameters used (for the `self` and `next` links).
    pub used: Vec<(String, String)>,
}

fn unsupported(name: &str) -> ApiError {
    // Parameter names are the client's syntax, not data; values are never echoed.
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
        .take(64)
        .collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "not-supported",
        format!("unsupported search parameter `{name}` (supported: patient, subject, _id, _lastUpdated, date, code, _sort, _count, _offset; send Prefer: handling=lenient to ignore unknown parameters)"),
    )
}

/// The date elements of a type's `date` search parameter, if it has one.
fn date_paths(rtype: &str) -> Option<&'static [&'static str]> {
    Some(match rtype {
        "Observation" | "DiagnosticReport" => {
            &["effectiveDateTime", "effectivePeriod", "effectiveInstant"]
        }
        "Encounter" | "CarePlan" | "CareTeam" => &["period"],
        "Procedure" => &["performedDateTime", "performedPeriod"],
        "Immunization" => &["occurrenceDateTime"],
        "AllergyIntolerance" => &["recordedDate"],
        _ => return None,
    })
}

/// The CodeableConcept of a type's `code` search parameter, if it has one.
fn code_path(rtype: &str) -> Option<&'static str> {
    Some(match rtype {
        "Observation" | "Condition" | "Procedure" | "DiagnosticReport" | "AllergyIntolerance" => {
            "code"
        }
        "MedicationRequest" => "medicationCodeableConcept",
        _ => return None,
    })
}

/// The range `[start, end)` of a FHIR date, dateTime or instant at its precision (UTC for
/// dates without a zone).
pub fn date_range(s: &str) -> Option<(i64, i64)> {
    use time::{Date, Month, OffsetDateTime};
    let ymd = |y: i32, m: u8, d: u8| -> Option<i64> {
        let date = Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?;
        Some(date.midnight().assume_utc().unix_timestamp())
    };
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    match s.len() {
        4 => {
            let y = i32::try_from(num(s)?).ok()?;
            Some((ymd(y, 1, 1)?, ymd(y + 1, 1, 1)?))
        }
        7 if s.as_bytes().get(4) == Some(&b'-') => {
            let y = i32::try_from(num(s.get(..4)?)?).ok()?;
            let m = u8::try_from(num(s.get(5..)?)?).ok()?;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((ymd(y, m, 1)?, ymd(ny, nm, 1)?))
        }
        10 if s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(7) == Some(&b'-') => {
            let y = i32::try_from(num(s.get(..4)?)?).ok()?;
            let m = u8::try_from(num(s.get(5..7)?)?).ok()?;
            let d = u8::try_from(num(s.get(8..)?)?).ok()?;
            let start = ymd(y, m, d)?;
            Some((start, start + 86_400))
        }
        _ => {
            let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .ok()?
                .unix_timestamp();
            Some((t, t + 1))
        }
    }
}

fn parse_date_cond(v: &str) -> Option<DateCond> {
    let (prefix, rest) = match v.get(..2) {
        Some("eq") => (Prefix::Eq, &v[2..]),
        Some("ne") => (Prefix::Ne, &v[2..]),
        Some("gt") => (Prefix::Gt, &v[2..]),
        Some("lt") => (Prefix::Lt, &v[2..]),
        Some("ge") => (Prefix::Ge, &v[2..]),
        Some("le") => (Prefix::Le, &v[2..]),
        Some("sa") => (Prefix::Sa, &v[2..]),
        Some("eb") => (Prefix::Eb, &v[2..]),
        _ => (Prefix::Eq, v),
    };
    let (start, end) = date_range(rest)?;
    Some(DateCond { prefix, start, end })
}

/// Parses a search of `rtype`.
///
/// # Errors
/// 400 for unsupported parameters (strict handling), malformed values, a missing or
/// ambiguous patient.
pub fn parse(
    rtype: &str,
    query: &[(String, String)],
    handling: Handling,
) -> Result<SearchQuery, ApiError> {
    let mut q = SearchQuery {
        rtype: rtype.to_string(),
        patient: String::new(),
        ids: vec![],
        last_updated: vec![],
        date: vec![],
        code: vec![],
        sort: vec![],
        count: DEFAULT_COUNT,
        offset: 0,
        used: vec![],
    };
    let mut patient: Option<String> = None;
    let mut set_patient = |p: &str| -> Result<(), ApiError> {
        if !crate::app::valid_id(p) {
            return Err(ApiError::invalid("search parameter is not a FHIR id"));
        }
        if patient.as_deref().is_some_and(|f| f != p) {
            return Err(ApiError::invalid("search names more than one patient"));
        }
        patient = Some(p.to_string());
        Ok(())
    };
    for (k, v) in query {
        let mut used = true;
        match k.as_str() {
            "patient" | "subject" => set_patient(v.strip_prefix("Patient/").unwrap_or(v))?,
            "_id" => {
                let ids: Vec<String> = v.split(',').map(str::to_string).collect();
                if ids.iter().any(|i| !crate::app::valid_id(i)) {
                    return Err(ApiError::invalid("_id is not a FHIR id"));
                }
                if rtype == "Patient" {
                    if let [one] = ids.as_slice() {
                        set_patient(one)?;
                    } else {
                        return Err(ApiError::invalid(
                            "_id on Patient names exactly one patient",
                        ));
                    }
                }
                q.ids.push(ids);
            }
            "_lastUpdated" | "date" => {
                if k == "date" && date_paths(rtype).is_none() {
                    if handling == Handling::Strict {
                        return Err(unsupported(k));
                    }
                    continue;
                }
                let conds = v
                    .split(',')
                    .map(parse_date_cond)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "{k} must be [eq|ne|gt|lt|ge|le|sa|eb]YYYY[-MM[-DD[Thh:mm:ss[.sss]Z|+hh:mm]]]"
                        ))
                    })?;
                if k == "date" {
                    q.date.push(conds);
                } else {
                    q.last_updated.push(conds);
                }
            }
            "code" => {
                if code_path(rtype).is_none() {
                    if handling == Handling::Strict {
                        return Err(unsupported(k));
                    }
                    continue;
                }
                let toks: Vec<(Option<String>, Option<String>)> = v
                    .split(',')
                    .map(|t| match t.split_once('|') {
                        Some((s, c)) => {
                            (Some(s.to_string()), (!c.is_empty()).then(|| c.to_string()))
                        }
                        None => (None, Some(t.to_string())),
                    })
                    .collect();
                if toks.iter().any(|(s, c)| {
                    c.as_ref().is_some_and(|c| c.is_empty() || c.len() > 256)
                        || s.as_ref().is_some_and(|s| s.len() > 256)
                        || (c.is_none() && s.as_deref().is_none_or(str::is_empty))
                }) {
                    return Err(ApiError::invalid("code must be [system]|code or code"));
                }
                q.code.push(toks);
            }
            "_sort" => {
                for key in v.split(',') {
                    let (desc, name) = match key.strip_prefix('-') {
                        Some(n) => (true, n),
                        None => (false, key),
                    };
                    let k = match name {
                        "_lastUpdated" => SortKey::LastUpdated,
                        "_id" => SortKey::Id,
                        "date" if date_paths(rtype).is_some() => SortKey::Date,
                        _ => {
                            return Err(ApiError::new(
                                StatusCode::BAD_REQUEST,
                                "not-supported",
                                "unsupported _sort key (supported: _lastUpdated, _id, and date on types that have it)",
                            ))
                        }
                    };
                    q.sort.push((k, desc));
                }
            }
            "_count" => {
                q.count = v
                    .parse::<usize>()
                    .ok()
                    .filter(|c| *c <= MAX_COUNT)
                    .ok_or_else(|| {
                        ApiError::invalid(format!("_count must be an integer 0..={MAX_COUNT}"))
                    })?;
            }
            "_offset" => {
                q.offset = v
                    .parse::<usize>()
                    .ok()
                    .filter(|c| *c <= 1_000_000)
                    .ok_or_else(|| ApiError::invalid("_offset must be an integer 0..=1000000"))?;
            }
            "_format" | "_pretty" => used = false,
            _ if handling == Handling::Lenient => used = false,
            _ => return Err(unsupported(k)),
        }
        if used && k != "_count" && k != "_offset" {
            q.used.push((k.clone(), v.clone()));
        }
    }
    q.patient = patient.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "required",
            "search requires a patient parameter",
        )
    })?;
    Ok(q)
}

fn element_range(v: &Value) -> Option<(i64, i64)> {
    match v {
        Value::String(s) => date_range(s),
        Value::Object(o) => {
            let start = o
                .get("start")
                .and_then(Value::as_str)
                .and_then(date_range)
                .map_or(i64::MIN, |r| r.0);
            let end = o
                .get("end")
                .and_then(Value::as_str)
                .and_then(date_range)
                .map_or(i64::MAX, |r| r.1);
            (start != i64::MIN || end != i64::MAX).then_some((start, end))
        }
        _ => None,
    }
}

/// The range of a resource's `date` element.
pub fn resource_date(rtype: &str, v: &Value) -> Option<(i64, i64)> {
    date_paths(rtype)?
        .iter()
        .find_map(|p| v.get(*p).and_then(element_range))
}

/// The range of `meta.lastUpdated`.
pub fn last_updated(v: &Value) -> Option<(i64, i64)> {
    v.pointer("/meta/lastUpdated")
        .and_then(Value::as_str)
        .and_then(date_range)
}

fn code_matches(rtype: &str, v: &Value, toks: &[(Option<String>, Option<String>)]) -> bool {
    let Some(codings) = code_path(rtype)
        .and_then(|p| v.get(p))
        .and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
    else {
        return false;
    };
    codings.iter().any(|c| {
        let sys = c.get("system").and_then(Value::as_str);
        let code = c.get("code").and_then(Value::as_str);
        toks.iter().any(|(ts, tc)| {
            let sys_ok = match ts.as_deref() {
                None => true,
                Some("") => sys.is_none(),
                Some(s) => sys == Some(s),
            };
            sys_ok && tc.as_deref().is_none_or(|t| code == Some(t))
        })
    })
}

/// Filters, sorts and pages; returns the total number of matches and the page.
pub fn apply(q: &SearchQuery, all: Vec<Found>) -> (usize, Vec<Found>) {
    let id_of = |f: &Found| {
        f.json
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut hits: Vec<Found> = all
        .into_iter()
        .filter(|f| {
            let id = id_of(f);
            q.ids.iter().all(|ids| ids.contains(&id))
                && q.last_updated.iter().all(|conds| {
                    last_updated(&f.json).is_some_and(|r| conds.iter().any(|c| c.matches(r)))
                })
                && q.date.iter().all(|conds| {
                    resource_date(&q.rtype, &f.json)
                        .is_some_and(|r| conds.iter().any(|c| c.matches(r)))
                })
                && q.code
                    .iter()
                    .all(|toks| code_matches(&q.rtype, &f.json, toks))
        })
        .collect();
    if q.sort.is_empty() {
        hits.sort_by_key(id_of);
    } else {
        hits.sort_by(|a, b| {
            for (k, desc) in &q.sort {
                let ord = match k {
                    SortKey::Id => id_of(a).cmp(&id_of(b)),
                    SortKey::LastUpdated => {
                        cmp_missing_last(last_updated(&a.json), last_updated(&b.json), *desc)
                    }
                    SortKey::Date => cmp_missing_last(
                        resource_date(&q.rtype, &a.json),
                        resource_date(&q.rtype, &b.json),
                        *desc,
                    ),
                };
                let ord = if *desc && *k == SortKey::Id {
                    ord.reverse()
                } else {
                    ord
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            id_of(a).cmp(&id_of(b))
        });
    }
    let total = hits.len();
    let page = hits.into_iter().skip(q.offset).take(q.count).collect();
    (total, page)
}

/// Orders by range start, resources without the value last in either direction.
fn cmp_missing_last(
    a: Option<(i64, i64)>,
    b: Option<(i64, i64)>,
    desc: bool,
) -> std::cmp::Ordering {
    use std::cmp::Ordering::{Greater, Less};
    match (a, b) {
        (Some(x), Some(y)) if desc => y.0.cmp(&x.0),
        (Some(x), Some(y)) => x.0.cmp(&y.0),
        (Some(_), None) => Less,
        (None, Some(_)) => Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

fn pct(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn link(q: &SearchQuery, offset: usize) -> String {
    let mut parts: Vec<String> = q
        .used
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect();
    parts.push(format!("_count={}", q.count));
    parts.push(format!("_offset={offset}"));
    format!("/fhir/{}?{}", q.rtype, parts.join("&"))
}

/// The searchset Bundle of a page.
pub fn bundle(q: &SearchQuery, total: usize, page: Vec<Found>) -> Value {
    let mut links = vec![json!({"relation": "self", "url": link(q, q.offset)})];
    if q.count > 0 && q.offset + q.count < total {
        links.push(json!({"relation": "next", "url": link(q, q.offset + q.count)}));
    }
    if q.offset > 0 && q.count > 0 {
        links.push(
            json!({"relation": "previous", "url": link(q, q.offset.saturating_sub(q.count))}),
        );
    }
    let entries: Vec<Value> = page
        .into_iter()
        .map(|f| {
            let full = format!(
                "/fhir/{}/{}",
                f.json
                    .get("resourceType")
                    .and_then(Value::as_str)
                    .unwrap_or(&q.rtype),
                f.json.get("id").and_then(Value::as_str).unwrap_or_default()
            );
            json!({"fullUrl": full, "resource": f.json, "search": {"mode": "match"}})
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    })
}

/// The history Bundle of one resource (versions newest first; deletions as `DELETE`
/// entries without a resource).
pub fn history_bundle(rtype: &str, id: &str, versions: Vec<Found>) -> Value {
    let n = versions.len();
    let entries: Vec<Value> = versions
        .into_iter()
        .map(|f| {
            let url = format!("/fhir/{rtype}/{id}/_history/{}", f.version);
            let when = f
                .json
                .pointer("/meta/lastUpdated")
                .cloned()
                .unwrap_or(Value::Null);
            if crate::store::is_tombstone(&f.json) {
                json!({"fullUrl": url, "request": {"method": "DELETE", "url": format!("{rtype}/{id}")},
                       "response": {"status": "204", "lastModified": when}})
            } else {
                let (method, status, req_url) = if f.version == 1 {
                    ("POST", "201", rtype.to_string())
                } else {
                    ("PUT", "200", format!("{rtype}/{id}"))
                };
                json!({"fullUrl": url, "resource": f.json,
                       "request": {"method": method, "url": req_url},
                       "response": {"status": status, "etag": format!("W/\"{}\"", f.version), "lastModified": when}})
            }
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "history", "total": n, "entry": entries})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn qs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn obs(id: &str, when: &str, code: &str, updated: &str) -> Found {
        Found {
            json: json!({"resourceType": "Observation", "id": id, "effectiveDateTime": when,
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "meta": {"lastUpdated": updated}}),
            version: 1,
            labels: vec![],
        }
    }

    #[test]
    fn date_ranges_follow_precision() {
        assert_eq!(
            date_range("2024").unwrap().1 - date_range("2024").unwrap().0,
            366 * 86_400
        );
        assert_eq!(
            date_range("2023-02").unwrap().1 - date_range("2023-02").unwrap().0,
            28 * 86_400
        );
        assert_eq!(
            date_range("2023-12").unwrap().1,
            date_range("2024").unwrap().0
        );
        let (s, e) = date_range("2024-03-01T10:00:00+01:00").unwrap();
        assert_eq!(e - s, 1);
        assert_eq!(s, date_range("2024-03-01").unwrap().0 + 9 * 3600);
        for bad in [
            "2024-13",
            "2024-02-30",
            "24",
            "2024-1-1",
            "yesterday",
            "2024-03-01T10:00",
        ] {
            assert!(date_range(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn prefixes_use_range_semantics() {
        let day = date_range("2024-03-01").unwrap();
        let c = |p: &str| parse_date_cond(p).unwrap();
        assert!(c("2024-03").matches(day));
        assert!(!c("ne2024-03").matches(day));
        assert!(c("gt2024-02").matches(day));
        assert!(!c("gt2024-03").matches(day));
        assert!(c("lt2024-04").matches(day));
        assert!(c("ge2024-03-01").matches(day));
        assert!(c("le2024-03-01").matches(day));
        assert!(c("sa2024-02-29").matches(day));
        assert!(!c("sa2024-03-01").matches(day));
        assert!(c("eb2024-03-02").matches(day));
        assert!(parse_date_cond("xx2024").is_none());
    }

    #[test]
    fn parse_refuses_unknown_unless_lenient_and_never_echoes_values() {
        let e = parse(
            "Observation",
            &qs(&[("patient", "p1"), ("name", "Jane Doe")]),
            Handling::Strict,
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.code, "not-supported");
        assert!(e.message.contains("`name`") && !e.message.contains("Jane"));
        let q = parse(
            "Observation",
            &qs(&[("patient", "p1"), ("name", "x"), ("code:text", "y")]),
            Handling::Lenient,
        )
        .unwrap();
        assert_eq!(q.used, qs(&[("patient", "p1")]));
        // date / code on a type that has no such element.
        assert!(parse(
            "Patient",
            &qs(&[("_id", "p1"), ("code", "x")]),
            Handling::Strict
        )
        .is_err());
        assert!(parse(
            "Condition",
            &qs(&[("patient", "p1"), ("date", "2024")]),
            Handling::Strict
        )
        .is_err());
        // Malformed values are errors even when lenient.
        for (k, v) in [
            ("date", "yesterday"),
            ("_count", "-1"),
            ("_count", "5000"),
            ("_offset", "x"),
            ("_sort", "name"),
            ("code", "|"),
            ("_id", "../x"),
        ] {
            assert!(
                parse(
                    "Observation",
                    &qs(&[("patient", "p1"), (k, v)]),
                    Handling::Lenient
                )
                .is_err(),
                "{k}={v}"
            );
        }
        assert_eq!(
            parse("Observation", &qs(&[("code", "x")]), Handling::Strict)
                .unwrap_err()
                .code,
            "required"
        );
        assert!(parse(
            "Observation",
            &qs(&[("patient", "p1"), ("subject", "Patient/p2")]),
            Handling::Strict
        )
        .is_err());
    }

    #[test]
    fn filter_sort_page_and_links() {
        let all = vec![
            obs("a", "2024-01-10", "8867-4", "2024-05-01T00:00:00Z"),
            obs("b", "2024-02-10", "8310-5", "2024-05-02T00:00:00Z"),
            obs("c", "2024-03-10", "8867-4", "2024-05-03T00:00:00Z"),
            obs("d", "2023-12-31", "8867-4", "2024-05-04T00:00:00Z"),
        ];
        let q = parse(
            "Observation",
            &qs(&[
                ("patient", "p1"),
                ("code", "http://loinc.org|8867-4"),
                ("date", "ge2024-01"),
                ("_sort", "-date"),
                ("_count", "1"),
            ]),
            Handling::Strict,
        )
        .unwrap();
        let (total, page) = apply(&q, all.clone());
        assert_eq!(total, 2);
        assert_eq!(page[0].json["id"], "c");
        let b = bundle(&q, total, page);
        assert_eq!(b["total"], 2);
        let next = b["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .unwrap();
        assert_eq!(
            next["url"],
            "/fhir/Observation?patient=p1&code=http%3A%2F%2Floinc.org%7C8867-4&date=ge2024-01&_sort=-date&_count=1&_offset=1"
        );
        // Second page via the link's parameters.
        let q2 = SearchQuery {
            offset: 1,
            ..q.clone()
        };
        let (_, page2) = apply(&q2, all.clone());
        assert_eq!(page2[0].json["id"], "a");
        let b2 = bundle(&q2, 2, page2);
        assert!(b2["link"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["relation"] != "next"));
        // _lastUpdated and code without system; OR inside a value.
        let q = parse(
            "Observation",
            &qs(&[
                ("patient", "p1"),
                ("_lastUpdated", "gt2024-05-02"),
                ("code", "8310-5,8867-4"),
            ]),
            Handling::Strict,
        )
        .unwrap();
        let (total, page) = apply(&q, all.clone());
        assert_eq!(total, 2);
        assert_eq!(
            page.iter()
                .map(|f| f.json["id"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["c", "d"]
        );
        let q = parse(
            "Observation",
            &qs(&[
                ("patient", "p1"),
                ("_sort", "-_lastUpdated"),
                ("_id", "a,b"),
            ]),
            Handling::Strict,
        )
        .unwrap();
        let (_, page) = apply(&q, all);
        assert_eq!(
            page.iter()
                .map(|f| f.json["id"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["b", "a"]
        );
    }
}
