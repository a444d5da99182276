"""FHIR R4 context resources (Bulk Data NDJSON layout) and the event/label/truth writers."""
import datetime as dt
import json
import os
import names
from common import iso_local, utc_key, local_date
from events import audit_event, Expander, SYS_LOGIN, ROLE_SYS
from org import HOSPITAL, ROLE_DISPLAY

SEC_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SEC_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SEC_DISPLAY = {"CEL": "celebrity", "EMP": "employee", "R": "restricted", "V": "very restricted",
               "PSY": "psychiatry disorder information sensitivity", "HIV": "HIV/AIDS information sensitivity",
               "ETH": "substance abuse information sensitivity", "SDV": "sexual assault, abuse, or domestic violence information sensitivity"}


def _dump(f, obj):
    f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def _address(hh, rng=None, variant=False):
    line1 = hh.line1()
    city = hh.town
    if variant:
        line1 = names.variant_line(rng, line1)
        city = names.variant_city(rng, city)
    lines = [line1] + ([hh.apt] if hh.apt else [])
    return {"use": "home", "line": lines, "city": city, "postalCode": hh.postcode, "country": "FR"}


def write_context(outdir, rng, org, patients, encounters, teams, clock):
    ctxdir = os.path.join(outdir, "context")
    os.makedirs(ctxdir, exist_ok=True)
    with open(os.path.join(ctxdir, "Organization.ndjson"), "w", encoding="utf-8") as f:
        _dump(f, {"resourceType": "Organization", "id": HOSPITAL[0], "active": True, "name": HOSPITAL[1],
                  "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "370000481"}],
                  "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}],
                  "address": [{"line": ["2 boulevard Tonnellé"], "city": "Tours", "postalCode": "37044", "country": "FR"}]})
        for d in org.depts:
            _dump(f, {"resourceType": "Organization", "id": d.oid, "active": True, "name": d.name,
                      "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "dept"}]}],
                      "partOf": {"reference": "Organization/" + HOSPITAL[0]}})
            for u in d.units:
                _dump(f, {"resourceType": "Organization", "id": u.oid, "active": True, "name": u.name,
                          "alias": [u.code],
                          "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "dept"}],
                                    "text": u.kind}],
                          "partOf": {"reference": "Organization/" + d.oid}})
    with open(os.path.join(ctxdir, "Practitioner.ndjson"), "w", encoding="utf-8") as f, \
            open(os.path.join(ctxdir, "PractitionerRole.ndjson"), "w", encoding="utf-8") as g:
        k = 0
        for s in org.staff:
            p = s.person
            ids = [{"use": "usual", "system": SYS_LOGIN, "value": s.login},
                   {"system": "https://chu-valdeloire.fr/fhir/sid/employee", "value": s.emp_no}]
            if s.rpps:
                ids.append({"system": "urn:oid:1.2.250.1.71.4.2.1", "value": s.rpps})
            _dump(f, {"resourceType": "Practitioner", "id": s.sid, "active": True, "identifier": ids,
                      "name": [{"use": "official", "family": p.family, "given": p.given}],
                      "telecom": [{"system": "email", "value": s.login + "@chu-valdeloire.fr", "use": "work"}],
                      "gender": p.gender, "birthDate": p.birth.isoformat(), "address": [_address(p.hh)]})
            units = [s.unit]
            if s.role == "physician":
                clinic = s.unit.dept.unit_of("clinic")
                if clinic is not None and clinic is not s.unit:
                    units.append(clinic)
            for u in units:
                k += 1
                role = {"resourceType": "PractitionerRole", "id": "prole-%05d" % k, "active": True,
                        "practitioner": {"reference": "Practitioner/" + s.sid},
                        "organization": {"reference": "Organization/" + u.oid},
                        "code": [{"coding": [{"system": ROLE_SYS, "code": s.role, "display": ROLE_DISPLAY[s.role]}]}]}
                if s.role in ("physician", "resident"):
                    role["specialty"] = [{"text": s.unit.dept.name}]
                if s.fte < 1.0:
                    role["extension"] = [{"url": "https://chu-valdeloire.fr/fhir/StructureDefinition/fte",
                                          "valueDecimal": s.fte}]
                _dump(g, role)
    with open(os.path.join(ctxdir, "Patient.ndjson"), "w", encoding="utf-8") as f:
        for p in patients:
            ids = [{"use": "usual", "system": "https://chu-valdeloire.fr/fhir/sid/ipp", "value": p.mrn}]
            if p.nir:
                ids.append({"use": "official", "system": "urn:oid:1.2.250.1.213.1.4.8", "value": p.nir})
            nm = [{"use": "official", "family": names.variant_family(rng, p.family),
                   "given": [names.variant_given(rng, g) for g in p.given]}]
            if p.maiden:
                nm.append({"use": "maiden", "family": names.variant_family(rng, p.maiden), "given": nm[0]["given"]})
            res = {"resourceType": "Patient", "id": p.patient_id, "identifier": ids, "active": True, "name": nm,
                   "telecom": [{"system": "phone", "value": "0%d %02d %02d %02d %02d" % (
                       rng.choice([2, 6, 7]), rng.randrange(100), rng.randrange(100), rng.randrange(100), rng.randrange(100))}],
                   "gender": p.gender, "birthDate": p.birth.isoformat(), "address": [_address(p.hh, rng, True)]}
            if p.labels:
                res["meta"] = {"security": [{"system": SEC_CONF if c in ("R", "V") else SEC_ACT, "code": c,
                                             "display": SEC_DISPLAY.get(c, c)} for c in p.labels]}
            if p.deceased is not None and p.deceased <= clock.export_time:
                res["deceasedDateTime"] = iso_local(p.deceased, millis=False)
            _dump(f, res)
    with open(os.path.join(ctxdir, "Encounter.ndjson"), "w", encoding="utf-8") as f:
        for e in encounters:
            done = e.end <= clock.export_time
            period = {"start": iso_local(e.start, millis=False)}
            if done:
                period["end"] = iso_local(e.end, millis=False)
            res = {"resourceType": "Encounter", "id": e.eid, "status": "finished" if done else "in-progress",
                   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": e.cls},
                   "subject": {"reference": "Patient/" + e.patient.patient_id},
                   "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                                          "code": c}]}],
                                    "individual": {"reference": "Practitioner/" + s.sid}} for s, c in e.participants],
                   "period": period, "reasonCode": [{"text": e.reason}],
                   "serviceProvider": {"reference": "Organization/" + e.unit.oid}}
            if e.cls == "IMP":
                res["hospitalization"] = {"admitSource": {"text": "urgences" if e.source == "ed" else "programmé"}}
                if e.died and done:
                    res["hospitalization"]["dischargeDisposition"] = {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "exp"}]}
            _dump(f, res)
    with open(os.path.join(ctxdir, "CareTeam.ndjson"), "w", encoding="utf-8") as f:
        for ct in teams:
            period = {"start": iso_local(ct.start, False) if isinstance(ct.start, dt.datetime) else ct.start.isoformat()}
            if ct.end is not None:
                period["end"] = ct.end.isoformat()
            active = ct.end is None or ct.end > clock.end
            _dump(f, {"resourceType": "CareTeam", "id": ct.ctid, "status": "active" if active else "inactive",
                      "name": "Équipe de suivi - " + ct.unit.name,
                      "subject": {"reference": "Patient/" + ct.patient.patient_id}, "period": period,
                      "participant": [{"role": [{"coding": [{"system": ROLE_SYS, "code": s.role}]}],
                                       "member": {"reference": "Practitioner/" + s.sid}} for s in ct.members],
                      "managingOrganization": [{"reference": "Organization/" + ct.unit.oid}]})


def write_events(outdir, rng, sessions, clock, encounters):
    """Expand sessions, order by instant, write AuditEvent, labels and truth files. Returns count."""
    pidx = {}
    by_pat = {}
    for e in encounters:
        by_pat.setdefault(e.patient.pid, []).append((e.start, e.eid))
    for v in by_pat.values():
        v.sort()

    def latest(p, t):
        best = None
        for s, eid in by_pat.get(p.pid, []):
            if s <= t:
                best = eid
        return best
    exp = Expander(rng, lambda p: pidx.setdefault(p.pid, p.patient_id[4:]), latest)
    rows = []
    seq = 0
    for k, s in enumerate(sessions):
        for st in exp.steps(s):
            t = st[0]
            if not (clock.start <= local_date(t) < clock.end):
                continue
            seq += 1
            rows.append((utc_key(t), seq, k, st))
    rows.sort(key=lambda r: (r[0], r[1]))
    n = 0
    with open(os.path.join(outdir, "AuditEvent.ndjson"), "w", encoding="utf-8") as fe, \
            open(os.path.join(outdir, "labels.ndjson"), "w", encoding="utf-8") as fl, \
            open(os.path.join(outdir, "truth.ndjson"), "w", encoding="utf-8") as ft:
        for _, _, k, (t, inter, rtype, ref, query) in rows:
            s = sessions[k]
            outcome = s.fail or ("0" if rng.random() > 0.004 else rng.choice(["4", "8"]))
            ev = audit_event(rng, t, s, inter, rtype, ref, query, outcome)
            _dump(fe, ev)
            case = "%s|%s" % (s.user.login, local_date(t).isoformat())
            lab = {"id": ev["id"], "case": case}
            tr = {"id": ev["id"], "case": case, "scenario": s.scenario, "user_role": s.user.role,
                  "patient": s.patient.patient_id, "detail": s.detail}
            if s.enc is not None:
                tr["encounter"] = s.enc.eid
            if s.incident is not None:
                lab["incident"] = s.incident["id"]
                lab["kind"] = s.incident["kind"]
                lab["expected_reasons"] = s.incident["expected_reasons"]
                tr["incident"] = s.incident["id"]
                tr["kind"] = s.incident["kind"]
                tr["why"] = s.incident["why"]
                tr["legitimate"] = False
            else:
                tr["legitimate"] = True
            _dump(fl, lab)
            _dump(ft, tr)
            n += 1
    return n
