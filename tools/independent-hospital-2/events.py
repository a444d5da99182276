"""Sessions (a user working in one patient's chart for a moment) and their expansion
into IHE BALP-shaped FHIR R4 AuditEvents."""
import base64
import datetime as dt
from common import iso_local, uuid

PREFIX = {"Observation": "obs", "DocumentReference": "doc", "MedicationRequest": "medrx", "ServiceRequest": "sr",
          "DiagnosticReport": "dr", "ImagingStudy": "img", "Procedure": "proc", "Condition": "cond",
          "Account": "acct", "Claim": "claim", "Coverage": "cov", "Appointment": "appt", "ChargeItem": "chg",
          "MedicationAdministration": "medadm", "CarePlan": "cp", "AllergyIntolerance": "alg", "Encounter": "enc",
          "Consent": "cons", "Composition": "comp"}
# step: (interaction, resource type, min delay s, max delay s, probability, max repeats)
R, S, C, U = "read", "search-type", "create", "update"
PATTERNS = {
    "glance": [(R, "Patient", 0, 0, 1, 1), (R, "Encounter", 2, 8, 0.25, 1)],
    "chart": [(S, "Patient", 0, 0, 0.12, 1), (R, "Patient", 2, 20, 1, 1), (R, "Encounter", 3, 15, 0.4, 1), (S, "Observation", 5, 40, 0.6, 1),
              (R, "Observation", 3, 30, 0.35, 1), (R, "DocumentReference", 10, 90, 0.45, 2)],
    "rounds_note": [(R, "Patient", 0, 0, 1, 1), (S, "Observation", 5, 30, 0.75, 1), (R, "DiagnosticReport", 5, 60, 0.3, 1),
                    (R, "DocumentReference", 10, 60, 0.35, 1), (S, "MedicationRequest", 5, 40, 0.35, 1),
                    (C, "DocumentReference", 60, 400, 0.85, 1), (C, "MedicationRequest", 20, 120, 0.25, 1),
                    (C, "ServiceRequest", 10, 90, 0.2, 1)],
    "order": [(R, "Patient", 0, 0, 1, 1), (S, "MedicationRequest", 4, 30, 0.5, 1), (C, "MedicationRequest", 10, 90, 0.6, 2),
              (C, "ServiceRequest", 10, 60, 0.5, 1)],
    "results": [(R, "Patient", 0, 0, 0.7, 1), (S, "Observation", 2, 20, 1, 1), (R, "DiagnosticReport", 3, 40, 0.6, 2)],
    "nurse_care": [(R, "Patient", 0, 0, 1, 1), (S, "MedicationRequest", 3, 20, 0.6, 1),
                   (C, "MedicationAdministration", 30, 300, 0.7, 1), (C, "Observation", 20, 240, 0.5, 1),
                   (U, "CarePlan", 20, 200, 0.12, 1)],
    "vitals": [(R, "Patient", 0, 0, 1, 1), (C, "Observation", 15, 120, 1, 1)],
    "lab_result": [(S, "ServiceRequest", 0, 0, 1, 1), (R, "Patient", 2, 20, 0.3, 1), (S, "Observation", 5, 60, 0.3, 1),
                   (R, "DiagnosticReport", 3, 30, 0.15, 1), (R, "DocumentReference", 5, 60, 0.08, 1),
                   (C, "Observation", 20, 200, 1, 2), (C, "DiagnosticReport", 10, 60, 0.5, 1)],
    "lab_validate": [(R, "DiagnosticReport", 0, 0, 1, 1), (S, "Observation", 5, 30, 0.7, 1), (U, "DiagnosticReport", 10, 90, 0.9, 1)],
    "imaging_exam": [(R, "ServiceRequest", 0, 0, 1, 1), (R, "Patient", 5, 30, 0.8, 1), (R, "DiagnosticReport", 5, 60, 0.3, 1),
                     (R, "DocumentReference", 5, 60, 0.15, 1), (C, "ImagingStudy", 300, 1500, 1, 1)],
    "imaging_report": [(R, "ImagingStudy", 0, 0, 1, 1), (R, "DocumentReference", 5, 60, 0.5, 1),
                       (R, "DiagnosticReport", 5, 60, 0.3, 1), (C, "DiagnosticReport", 120, 900, 1, 1)],
    "pharm_verify": [(S, "MedicationRequest", 0, 0, 1, 1), (R, "Patient", 2, 20, 0.4, 1), (R, "DocumentReference", 5, 60, 0.1, 1), (R, "MedicationRequest", 3, 30, 0.8, 2),
                     (S, "Observation", 5, 40, 0.6, 1), (U, "MedicationRequest", 10, 120, 0.7, 1)],
    "physio": [(R, "Patient", 0, 0, 1, 1), (R, "ServiceRequest", 3, 30, 0.7, 1), (R, "DocumentReference", 5, 90, 0.3, 1), (C, "Procedure", 600, 2400, 0.8, 1),
               (C, "DocumentReference", 20, 200, 0.5, 1)],
    "social": [(R, "Patient", 0, 0, 1, 1), (R, "DocumentReference", 5, 80, 0.8, 2), (R, "Coverage", 5, 60, 0.5, 1),
               (C, "DocumentReference", 300, 1800, 0.7, 1)],
    "registration": [(S, "Patient", 0, 0, 0.85, 1), (R, "Patient", 3, 25, 1, 1), (R, "Coverage", 5, 40, 0.7, 1),
                     (U, "Patient", 10, 120, 0.35, 1), (C, "Encounter", 10, 90, 0.7, 1), (U, "Coverage", 5, 60, 0.2, 1)],
    "appointment": [(S, "Patient", 0, 0, 0.6, 1), (R, "Patient", 2, 20, 1, 1), (S, "Appointment", 3, 20, 0.7, 1),
                    (U, "Appointment", 5, 60, 0.5, 1)],
    "letter": [(R, "Patient", 0, 0, 1, 1), (R, "DocumentReference", 5, 60, 0.9, 2), (C, "DocumentReference", 120, 900, 0.9, 1)],
    "billing": [(R, "Encounter", 0, 0, 1, 1), (R, "Patient", 2, 20, 0.25, 1), (R, "Account", 3, 30, 0.5, 1), (S, "ChargeItem", 3, 30, 0.4, 1),
                (R, "Coverage", 2, 20, 0.3, 1), (C, "Claim", 10, 120, 0.6, 1)],
    "coding": [(R, "Encounter", 0, 0, 1, 1), (R, "Patient", 2, 20, 0.3, 1), (S, "DocumentReference", 3, 30, 0.9, 1), (R, "DocumentReference", 10, 200, 1, 3),
               (R, "Procedure", 5, 60, 0.5, 1), (C, "Condition", 20, 300, 0.9, 2)],
    "roi": [(S, "DocumentReference", 0, 0, 1, 1), (R, "DocumentReference", 10, 120, 1, 4), (R, "DiagnosticReport", 10, 90, 0.4, 1),
            ("$everything", "Patient", 30, 300, 0.3, 1)],
    "research": [(S, "Condition", 0, 0, 0.8, 1), (R, "Patient", 3, 30, 1, 1), (S, "Observation", 5, 60, 0.6, 1),
                 (R, "DocumentReference", 10, 120, 0.4, 1)],
    "audit": [(R, "Encounter", 0, 0, 1, 1), (R, "DocumentReference", 10, 200, 1, 3), (S, "Observation", 5, 60, 0.5, 1),
              (R, "MedicationAdministration", 5, 60, 0.4, 1)],
    "triage": [(S, "Patient", 0, 0, 0.6, 1), (R, "Patient", 3, 20, 1, 1), (C, "Observation", 30, 240, 1, 2),
               (R, "AllergyIntolerance", 5, 30, 0.5, 1), (R, "DocumentReference", 5, 90, 0.3, 1),
               (S, "Observation", 5, 60, 0.2, 1)],
    "ed_doc": [(R, "Patient", 0, 0, 1, 1), (R, "DocumentReference", 5, 60, 0.6, 2), (S, "Observation", 5, 40, 0.7, 1),
               (C, "ServiceRequest", 30, 300, 0.7, 2), (C, "MedicationRequest", 30, 300, 0.5, 1),
               (C, "DocumentReference", 300, 1800, 0.8, 1)],
    "death": [(R, "Patient", 0, 0, 1, 1), (C, "DocumentReference", 60, 600, 1, 1), (U, "Patient", 20, 200, 0.8, 1),
              (U, "Encounter", 20, 200, 0.6, 1)],
    "harvest": [(S, "Patient", 0, 0, 0.5, 1), (R, "Patient", 1, 6, 1, 1), (R, "DocumentReference", 1, 8, 0.5, 1),
                (S, "Observation", 1, 6, 0.3, 1)],
    "peek_admin": [(S, "Patient", 0, 0, 0.7, 1), (R, "Patient", 2, 20, 1, 1), (R, "Coverage", 3, 30, 0.4, 1),
                   (R, "Encounter", 3, 30, 0.5, 1), (R, "DocumentReference", 5, 90, 0.3, 1)],
    "peek_tech": [(R, "Patient", 0, 0, 1, 1), (S, "Observation", 3, 40, 0.6, 1), (R, "DiagnosticReport", 3, 40, 0.5, 1),
                  (R, "DocumentReference", 5, 90, 0.25, 1)],
    "peek": [(S, "Patient", 0, 0, 0.5, 1), (R, "Patient", 2, 20, 1, 1), (R, "Encounter", 3, 30, 0.5, 1),
             (R, "DocumentReference", 5, 90, 0.6, 2), (S, "Observation", 5, 60, 0.4, 1)],
}
ACTION = {R: "R", "vread": "R", S: "E", C: "C", U: "U", "delete": "D", "$everything": "E"}
PROFILE = {R: "PatientRead", "vread": "PatientRead", S: "PatientQuery", C: "PatientCreate", U: "PatientUpdate",
           "$everything": "PatientQuery"}
FAIL_DESC = {"4": "403 Forbidden: access to this record is restricted", "8": "500 Internal Server Error: timeout",
             "404": "404 Not Found"}


class Session:
    __slots__ = ("t", "user", "patient", "pattern", "ws", "purpose", "scenario", "enc", "incident", "fail", "detail")

    def __init__(self, t, user, patient, pattern, ws, purpose, scenario, enc=None, incident=None, detail=""):
        self.t, self.user, self.patient, self.pattern, self.ws = t, user, patient, pattern, ws
        self.purpose, self.scenario, self.enc, self.incident = purpose, scenario, enc, incident
        self.fail = None
        self.detail = detail


class Expander:
    def __init__(self, rng, pnum, enc_lookup=None):
        self.rng = rng
        self.pnum = pnum
        self.enc_lookup = enc_lookup
        self.counter = {}

    def _rid(self, rtype, patient, create, enc, t=None):
        if rtype == "Patient":
            return "Patient/" + patient.patient_id
        if rtype == "Encounter" and not create:
            if enc is not None:
                return "Encounter/" + enc.eid
            eid = self.enc_lookup(patient, t) if self.enc_lookup else None
            if eid:
                return "Encounter/" + eid
            rtype = "DocumentReference"
        pre = PREFIX.get(rtype, rtype.lower())
        if create:
            n = self.counter.get(pre, 0) + 1
            self.counter[pre] = n
            return "%s/%s-n%07d" % (rtype, pre, n)
        return "%s/%s-%s-%d" % (rtype, pre, self.pnum(patient), self.rng.randrange(1, 40))

    def steps(self, sess):
        """[(time, interaction, resource type, reference, query or None)]"""
        rng = self.rng
        out = []
        t = sess.t
        for inter, rtype, lo, hi, prob, rep in PATTERNS[sess.pattern]:
            if rng.random() >= prob:
                continue
            for _ in range(1 if rep == 1 else rng.randint(1, rep)):
                t = t + dt.timedelta(seconds=rng.uniform(lo, hi) + (0.3 if out else 0), microseconds=rng.randrange(0, 999) * 1000)
                query = None
                if inter == S:
                    if rtype == "Patient":
                        query = "Patient?family=%s&birthdate=%s" % (sess.patient.family.strip().lower()[:4],
                                                                  sess.patient.birth.isoformat()) \
                            if rng.random() < 0.6 else "Patient?identifier=%s" % sess.patient.mrn
                    else:
                        query = "%s?patient=Patient/%s&_sort=-date" % (rtype, sess.patient.patient_id)
                ref = self._rid(rtype, sess.patient, inter == C, sess.enc, t)
                out.append((t, inter, rtype, ref, query))
        if not out:
            out.append((sess.t, R, "Patient", "Patient/" + sess.patient.patient_id, None))
        return out


SYS_LOGIN = "https://chu-valdeloire.fr/fhir/sid/login"
ROLE_SYS = "https://chu-valdeloire.fr/fhir/CodeSystem/staff-role"


def audit_event(rng, t, sess, inter, rtype, ref, query, outcome):
    user = sess.user
    addr, ntype = sess.ws
    p = sess.patient
    ents = [{"what": {"reference": "Patient/" + p.patient_id},
             "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
             "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}}]
    if query is not None:
        ents.append({"type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2",
                              "display": "System Object"},
                     "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24", "display": "Query"},
                     "query": base64.b64encode(query.encode("utf-8")).decode("ascii")})
    else:
        ents.append({"what": {"reference": ref},
                     "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2",
                              "display": "System Object"},
                     "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4",
                              "display": "Domain Resource"}})
    ptype = "AUT" if inter in (C, U) else "IRCP"
    ev = {
        "resourceType": "AuditEvent", "id": uuid(rng),
        "meta": {"profile": ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit." + PROFILE[inter]]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
                 "display": "Restful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": inter, "display": inter}],
        "action": ACTION[inter], "recorded": iso_local(t), "outcome": outcome,
        "agent": [
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": ptype}]},
             "who": {"identifier": {"system": SYS_LOGIN, "value": user.login}, "display": user.person.display()},
             "requestor": True,
             "role": [{"coding": [{"system": ROLE_SYS, "code": user.role}]}],
             "network": {"address": addr, "type": ntype},
             "purposeOfUse": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                                           "code": sess.purpose}]}]},
            {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153",
                                  "display": "Source Role ID"}]},
             "who": {"display": "DxCare Web 8.2"}, "requestor": False},
            {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110152",
                                  "display": "Destination Role ID"}]},
             "who": {"identifier": {"value": "https://fhir.chu-valdeloire.fr/r4"}}, "requestor": False,
             "network": {"address": "fhir01.chu-valdeloire.local", "type": "1"}}],
        "source": {"site": "CHU Val-de-Loire", "observer": {"display": "fhir01.chu-valdeloire.local"},
                   "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4",
                             "display": "Application Server"}]},
        "entity": ents,
    }
    if outcome != "0":
        ev["outcomeDesc"] = FAIL_DESC.get(outcome, "failure")
    return ev
