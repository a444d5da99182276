//! Writing the simulated hospital as FHIR NDJSON, AuditEvents and labels.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::hospital::{Hospital, Person};
use crate::names::CITIES;
use crate::{SimConfig, SimError, Summary};

/// Lowercase ASCII letters of a name (for logins).
pub(crate) fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

struct Out {
    w: BufWriter<File>,
    path: std::path::PathBuf,
}

impl Out {
    fn create(path: &Path) -> Result<Out, SimError> {
        let f = File::create(path).map_err(|source| SimError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Out {
            w: BufWriter::with_capacity(1 << 20, f),
            path: path.to_owned(),
        })
    }

    fn line(&mut self, v: &Value) -> Result<(), SimError> {
        serde_json::to_writer(&mut self.w, v)
            .map_err(std::io::Error::from)
            .and_then(|()| self.w.write_all(b"\n"))
            .map_err(|source| SimError::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn finish(mut self) -> Result<(), SimError> {
        self.w.flush().map_err(|source| SimError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

fn instant(unix: i64, offset: i64) -> String {
    let local = unix + offset;
    let date = phiguard_fhir::instant::day_to_string(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.abs();
    format!(
        "{date}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        s / 3600,
        (s % 3600) / 60,
        s % 60,
        o / 3600,
        (o % 3600) / 60
    )
}

fn person_json(h: &Hospital, p: &Person, rng: &mut ChaCha8Rng) -> (Value, Value, String, String) {
    // The same person is written with small variations (case, suffix spelling) in different
    // resources, as real registration systems do.
    let home = h.homes.get(p.home);
    let (line, city, postal) = match home.and_then(|hm| h.streets.get(hm.street).map(|s| (hm, s))) {
        Some((hm, (name, suffix, city))) => {
            let suffix = match (*suffix, rng.gen::<f64>() < 0.3) {
                ("Street", true) => "St.",
                ("Avenue", true) => "Ave",
                ("Road", true) => "Rd.",
                (s, _) => s,
            };
            let mut line = vec![format!("{} {} {}", hm.number, name, suffix)];
            if let Some(u) = hm.unit {
                line.push(format!("Apt {u}"));
            }
            let (c, z) = CITIES
                .get(*city)
                .copied()
                .unwrap_or(("Springfield", "01101"));
            (line, c, z)
        }
        None => (vec![], "Springfield", "01101"),
    };
    let family = if rng.gen::<f64>() < 0.1 {
        p.family.to_uppercase()
    } else {
        p.family.to_owned()
    };
    let name = json!([{"family": family, "given": [p.given]}]);
    let address = json!([{"line": line, "city": city, "postalCode": postal}]);
    let (y, m, d) = p.birth;
    (
        name,
        address,
        format!("{y:04}-{m:02}-{d:02}"),
        if p.female { "female" } else { "male" }.to_owned(),
    )
}

pub(crate) fn write_all(h: &Hospital, cfg: &SimConfig, out: &Path) -> Result<Summary, SimError> {
    let ctx = out.join("context");
    std::fs::create_dir_all(&ctx).map_err(|source| SimError::Io {
        path: ctx.clone(),
        source,
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5752_4954_4553);
    let off = h.offset;

    let mut o = Out::create(&ctx.join("Organization.ndjson"))?;
    o.line(&json!({"resourceType": "Organization", "id": "org-hospital", "name": "St. Example General Hospital"}))?;
    for d in &h.depts {
        o.line(
            &json!({"resourceType": "Organization", "id": d.id, "name": d.name,
            "partOf": {"reference": "Organization/org-hospital"}}),
        )?;
    }
    o.finish()?;

    let mut pr = Out::create(&ctx.join("Practitioner.ndjson"))?;
    let mut roles = Out::create(&ctx.join("PractitionerRole.ndjson"))?;
    for s in &h.staff {
        let (name, address, birth, gender) = person_json(h, &s.person, &mut rng);
        pr.line(&json!({"resourceType": "Practitioner", "id": s.id,
            "identifier": [{"system": "urn:example:hospital:login", "value": s.login}],
            "name": name, "birthDate": birth, "gender": gender, "address": address}))?;
        let dept = h
            .depts
            .get(s.dept)
            .map(|d| d.id.as_str())
            .unwrap_or("org-hospital");
        roles.line(
            &json!({"resourceType": "PractitionerRole", "id": format!("role-{}", s.id),
            "practitioner": {"reference": format!("Practitioner/{}", s.id)},
            "organization": {"reference": format!("Organization/{dept}")},
            "code": [{"coding": [{"system": "urn:example:hospital:role", "code": s.role}]}]}),
        )?;
    }
    pr.finish()?;
    roles.finish()?;

    let mut pats = Out::create(&ctx.join("Patient.ndjson"))?;
    for p in &h.patients {
        let (name, address, birth, gender) = person_json(h, &p.person, &mut rng);
        let mut v = json!({"resourceType": "Patient", "id": p.id,
            "identifier": [{"system": "urn:example:hospital:mrn", "value": format!("MRN{}", p.id.get(4..).unwrap_or("0"))}],
            "name": name, "birthDate": birth, "gender": gender, "address": address});
        if let Some(d) = p.deceased {
            v["deceasedDateTime"] = json!(instant(d, off));
        }
        if !p.labels.is_empty() {
            let codes: Vec<Value> = p
                .labels
                .iter()
                .map(|c| json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": c}))
                .collect();
            v["meta"] = json!({"security": codes});
        }
        pats.line(&v)?;
    }
    pats.finish()?;

    let mut encs = Out::create(&ctx.join("Encounter.ndjson"))?;
    for e in &h.encounters {
        let team: Vec<Value> = e
            .team
            .iter()
            .filter_map(|&s| h.staff.get(s))
            .map(|s| json!({"individual": {"reference": format!("Practitioner/{}", s.id)}}))
            .collect();
        let patient = h
            .patients
            .get(e.patient)
            .map(|p| p.id.as_str())
            .unwrap_or("pat-000000");
        let dept = h
            .depts
            .get(e.dept)
            .map(|d| d.id.as_str())
            .unwrap_or("org-hospital");
        encs.line(&json!({"resourceType": "Encounter", "id": e.id, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": e.class},
            "subject": {"reference": format!("Patient/{patient}")},
            "participant": team,
            "period": {"start": instant(e.start, off), "end": instant(e.end, off)},
            "serviceProvider": {"reference": format!("Organization/{dept}")}}))?;
    }
    encs.finish()?;

    let mut cts = Out::create(&ctx.join("CareTeam.ndjson"))?;
    for (i, c) in h.care_teams.iter().enumerate() {
        let members: Vec<Value> = c
            .members
            .iter()
            .filter_map(|&s| h.staff.get(s))
            .map(|s| json!({"member": {"reference": format!("Practitioner/{}", s.id)}}))
            .collect();
        let patient = h
            .patients
            .get(c.patient)
            .map(|p| p.id.as_str())
            .unwrap_or("pat-000000");
        cts.line(
            &json!({"resourceType": "CareTeam", "id": format!("ct-{i:06}"),
            "subject": {"reference": format!("Patient/{patient}")},
            "participant": members,
            "period": {"start": instant(c.start, off), "end": instant(c.end, off)}}),
        )?;
    }
    cts.finish()?;

    let events_file = out.join("AuditEvent.ndjson");
    let labels_file = out.join("labels.ndjson");
    let mut ev = Out::create(&events_file)?;
    let mut lab = Out::create(&labels_file)?;
    for (i, a) in h.accesses.iter().enumerate() {
        let id = format!("ae-{i:08}");
        let Some(s) = h.staff.get(a.staff) else {
            continue;
        };
        let patient = h
            .patients
            .get(a.patient)
            .map(|p| p.id.as_str())
            .unwrap_or("pat-000000");
        let recorded = instant(a.t, off);
        let resource = match a.subtype {
            "search-type" => "Observation?patient",
            _ => "Observation/obs",
        };
        ev.line(&json!({"resourceType": "AuditEvent", "id": id,
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
            "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": a.subtype}],
            "action": if a.subtype == "search-type" { "E" } else { "R" },
            "recorded": recorded,
            "outcome": "0",
            "agent": [
                {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110150"}]},
                 "who": {"identifier": {"value": "ehr-app"}}, "requestor": false},
                {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                 "who": {"identifier": {"system": "urn:example:hospital:login", "value": s.login}},
                 "requestor": true,
                 "network": {"address": a.address, "type": if a.ip { "2" } else { "1" }},
                 "purposeOfUse": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": a.purpose}]}]}
            ],
            "source": {"observer": {"display": "EHR"}},
            "entity": [
                {"what": {"reference": format!("Patient/{patient}")},
                 "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                 "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}},
                {"what": {"reference": format!("{resource}-{i}")},
                 "type": {"code": "2"}, "role": {"code": "4"}}
            ]}))?;
        let day = phiguard_fhir::instant::day_to_string((a.t + off).div_euclid(86_400));
        let mut l = json!({"id": id, "case": format!("{}|{day}", s.login)});
        if let Some(inc) = a.incident.and_then(|k| h.incidents.get(k).map(|x| (k, x))) {
            l["incident"] = json!(format!("inc-{:03}", inc.0));
            l["kind"] = json!(inc.1.kind.label());
            l["expected_reasons"] = json!(inc.1.kind.expected_reasons());
        }
        lab.line(&l)?;
    }
    ev.finish()?;
    lab.finish()?;
    Ok(Summary {
        patients: h.patients.len(),
        staff: h.staff.len(),
        encounters: h.encounters.len(),
        events: h.accesses.len(),
        incidents: h.incidents.len(),
        context_dir: ctx,
        events_file,
        labels_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_carry_offset() {
        assert_eq!(instant(0, -5 * 3600), "1969-12-31T19:00:00-05:00");
        assert_eq!(instant(3600, 0), "1970-01-01T01:00:00+00:00");
    }
}
