#!/usr/bin/env python3
"""check.py DIR - validate a gen5.py output directory against the access-monitoring format contract.

Checks: JSON validity of every line, required fields of context resources and AuditEvents, that every
reference resolves, that AuditEvent requestors match a Practitioner identifier, that events are
ordered by `recorded` (as instants), unique ids, correct Europe/Berlin offsets, and that
labels.ndjson / truth.ndjson have exactly one line per event in the same order with consistent
fields.  Exit status 0 when clean, 1 otherwise.
"""
import datetime as dt
import json
import os
import re
import sys

REASONS = {"SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "NO_RELATIONSHIP", "BULK",
           "UNUSUAL_TIME", "UNUSUAL_LOCATION", "BREAK_GLASS"}
KINDS = {"SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "SNOOPING", "BREAK_GLASS", "COMPROMISED"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE_OR_DT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$")

errors = []


def err(msg):
    if len(errors) < 200:
        errors.append(msg)
    elif len(errors) == 200:
        errors.append("... more errors suppressed")


def last_sunday(y, m):
    nd = dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)
    d = nd - dt.timedelta(days=1)
    while d.weekday() != 6:
        d -= dt.timedelta(days=1)
    return dt.datetime(d.year, d.month, d.day, 1, 0, tzinfo=dt.timezone.utc)


def berlin_offset_h(instant):
    y = instant.year
    return 2 if last_sunday(y, 3) <= instant < last_sunday(y, 10) else 1


def parse_instant(s):
    if not isinstance(s, str) or not RFC3339.match(s):
        return None
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def load(path, rtype=None):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err("%s:%d empty line" % (path, n))
                continue
            try:
                o = json.loads(line)
            except ValueError as e:
                err("%s:%d invalid JSON: %s" % (path, n, e))
                continue
            if rtype and o.get("resourceType") != rtype:
                err("%s:%d resourceType %r != %s" % (path, n, o.get("resourceType"), rtype))
            out.append((n, o))
    return out


def ref_id(ref, rtype):
    if not isinstance(ref, str) or not ref.startswith(rtype + "/"):
        return None
    return ref[len(rtype) + 1:]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    d = sys.argv[1]
    c = os.path.join(d, "context")
    orgs = load(os.path.join(c, "Organization.ndjson"), "Organization")
    pracs = load(os.path.join(c, "Practitioner.ndjson"), "Practitioner")
    roles = load(os.path.join(c, "PractitionerRole.ndjson"), "PractitionerRole")
    pats = load(os.path.join(c, "Patient.ndjson"), "Patient")
    encs = load(os.path.join(c, "Encounter.ndjson"), "Encounter")
    cts = load(os.path.join(c, "CareTeam.ndjson"), "CareTeam")

    def ids_of(rows, name):
        s = set()
        for n, o in rows:
            i = o.get("id")
            if not isinstance(i, str) or not i:
                err("%s:%d missing id" % (name, n))
            elif i in s:
                err("%s:%d duplicate id %s" % (name, n, i))
            s.add(i)
        return s

    org_ids = ids_of(orgs, "Organization")
    prac_ids = ids_of(pracs, "Practitioner")
    ids_of(roles, "PractitionerRole")
    pat_ids = ids_of(pats, "Patient")
    ids_of(encs, "Encounter")
    ids_of(cts, "CareTeam")
    if not orgs or not pracs or not pats or not encs:
        err("context is missing Organization, Practitioner, Patient or Encounter resources")

    for n, o in orgs:
        if not o.get("name"):
            err("Organization:%d no name" % n)
        if "partOf" in o and ref_id(o["partOf"].get("reference"), "Organization") not in org_ids:
            err("Organization:%d partOf does not resolve" % n)
    logins = {}
    for n, o in pracs:
        idents = o.get("identifier") or []
        vals = [x.get("value") for x in idents if isinstance(x, dict) and x.get("value")]
        if not vals:
            err("Practitioner:%d no identifier value" % n)
        for v in vals:
            if v in logins and logins[v] != o.get("id"):
                err("Practitioner:%d identifier value %s shared with %s" % (n, v, logins[v]))
            logins[v] = o.get("id")
        nm = (o.get("name") or [{}])[0]
        if not nm.get("family") or not nm.get("given"):
            err("Practitioner:%d name[0].family/given missing" % n)
        if not o.get("birthDate") or o.get("gender") not in ("male", "female", "other", "unknown"):
            err("Practitioner:%d birthDate/gender" % n)
        ad = (o.get("address") or [{}])[0]
        if not ad.get("line") or not ad.get("city") or not ad.get("postalCode"):
            err("Practitioner:%d address[0] incomplete" % n)
    roled = set()
    for n, o in roles:
        p = ref_id((o.get("practitioner") or {}).get("reference"), "Practitioner")
        g = ref_id((o.get("organization") or {}).get("reference"), "Organization")
        if p not in prac_ids:
            err("PractitionerRole:%d practitioner does not resolve" % n)
        roled.add(p)
        if g not in org_ids:
            err("PractitionerRole:%d organization does not resolve" % n)
        codes = [cd.get("code") for cc in o.get("code") or [] for cd in cc.get("coding") or []]
        if not codes or not all(codes):
            err("PractitionerRole:%d no code" % n)
    for pid in sorted(prac_ids - roled):
        err("Practitioner %s has no PractitionerRole" % pid)
    sec_ok = {"CEL", "EMP", "R", "V", "N", "PSY", "HIV", "ETH", "SDV"}
    for n, o in pats:
        nm = (o.get("name") or [{}])[0]
        if not nm.get("family"):
            err("Patient:%d name[0].family missing" % n)
        if not o.get("identifier"):
            err("Patient:%d identifier missing" % n)
        if not o.get("birthDate") or not o.get("gender"):
            err("Patient:%d birthDate/gender missing" % n)
        ad = (o.get("address") or [{}])[0]
        if not ad.get("line") or not ad.get("city") or not ad.get("postalCode"):
            err("Patient:%d address[0] incomplete" % n)
        if "deceasedDateTime" in o and not DATE_OR_DT.match(o["deceasedDateTime"]):
            err("Patient:%d bad deceasedDateTime" % n)
        for s in (o.get("meta") or {}).get("security") or []:
            if s.get("code") not in sec_ok:
                err("Patient:%d unexpected security code %r" % (n, s.get("code")))
    for n, o in encs:
        if not (o.get("class") or {}).get("code"):
            err("Encounter:%d class.code missing" % n)
        if ref_id((o.get("subject") or {}).get("reference"), "Patient") not in pat_ids:
            err("Encounter:%d subject does not resolve" % n)
        for p in o.get("participant") or []:
            if ref_id((p.get("individual") or {}).get("reference"), "Practitioner") not in prac_ids:
                err("Encounter:%d participant does not resolve" % n)
        per = o.get("period") or {}
        a = parse_instant(per.get("start"))
        if a is None:
            err("Encounter:%d period.start invalid" % n)
        if "end" in per:
            b = parse_instant(per["end"])
            if b is None or (a is not None and b < a):
                err("Encounter:%d period.end invalid" % n)
        if ref_id((o.get("serviceProvider") or {}).get("reference"), "Organization") not in org_ids:
            err("Encounter:%d serviceProvider does not resolve" % n)
    for n, o in cts:
        if ref_id((o.get("subject") or {}).get("reference"), "Patient") not in pat_ids:
            err("CareTeam:%d subject does not resolve" % n)
        for p in o.get("participant") or []:
            if ref_id((p.get("member") or {}).get("reference"), "Practitioner") not in prac_ids:
                err("CareTeam:%d member does not resolve" % n)

    # ---- events
    evs = load(os.path.join(d, "AuditEvent.ndjson"), "AuditEvent")
    if not evs:
        err("no AuditEvents")
    ev_ids = []
    seen = set()
    prev = None
    cases = []
    for n, o in evs:
        i = o.get("id")
        if not isinstance(i, str) or not i:
            err("AuditEvent:%d missing id" % n)
        elif i in seen:
            err("AuditEvent:%d duplicate id %s" % (n, i))
        seen.add(i)
        ev_ids.append(i)
        t = parse_instant(o.get("recorded"))
        if t is None:
            err("AuditEvent:%d recorded not RFC 3339: %r" % (n, o.get("recorded")))
            cases.append(None)
            continue
        off = t.utcoffset().total_seconds() / 3600
        if off != berlin_offset_h(t.astimezone(dt.timezone.utc)):
            err("AuditEvent:%d offset %+g is not Europe/Berlin for that instant" % (n, off))
        if prev is not None and t < prev:
            err("AuditEvent:%d not ordered by recorded" % n)
        prev = t
        if o.get("action") not in ("C", "R", "U", "D", "E"):
            err("AuditEvent:%d bad action" % n)
        if not [s.get("code") for s in o.get("subtype") or [] if s.get("code")]:
            err("AuditEvent:%d no subtype code" % n)
        if not isinstance(o.get("outcome"), str):
            err("AuditEvent:%d outcome missing" % n)
        req = [a for a in o.get("agent") or [] if a.get("requestor") is True]
        login = None
        if len(req) != 1:
            err("AuditEvent:%d has %d requestor agents" % (n, len(req)))
        else:
            login = ((req[0].get("who") or {}).get("identifier") or {}).get("value")
            if login not in logins:
                err("AuditEvent:%d requestor %r matches no Practitioner identifier" % (n, login))
            net = req[0].get("network") or {}
            if not net.get("address") or net.get("type") not in ("1", "2"):
                err("AuditEvent:%d requestor network address/type" % n)
            elif net["type"] == "2" and not re.match(r"^\d+\.\d+\.\d+\.\d+$", net["address"]):
                err("AuditEvent:%d network type 2 but not an IP address" % n)
            for pu in req[0].get("purposeOfUse") or []:
                for cd in pu.get("coding") or []:
                    if not cd.get("code"):
                        err("AuditEvent:%d empty purposeOfUse code" % n)
        pe = [e for e in o.get("entity") or []
              if (e.get("role") or {}).get("code") == "1" or (e.get("type") or {}).get("code") == "1"]
        if len(pe) != 1:
            err("AuditEvent:%d has %d patient entities" % (n, len(pe)))
        else:
            pid = ref_id((pe[0].get("what") or {}).get("reference"), "Patient")
            if pid not in pat_ids:
                err("AuditEvent:%d patient entity does not resolve" % n)
        local = t.strftime("%Y-%m-%d")
        cases.append("%s|%s" % (login, local))

    # ---- labels / truth
    labs = load(os.path.join(d, "labels.ndjson"))
    truth = load(os.path.join(d, "truth.ndjson"))
    if len(labs) != len(evs):
        err("labels.ndjson has %d lines, AuditEvent.ndjson %d" % (len(labs), len(evs)))
    if len(truth) != len(evs):
        err("truth.ndjson has %d lines, AuditEvent.ndjson %d" % (len(truth), len(evs)))
    incidents = {}
    for k, ((n, lo), (m, tr)) in enumerate(zip(labs, truth)):
        eid = ev_ids[k] if k < len(ev_ids) else None
        if lo.get("id") != eid:
            err("labels:%d id %r does not match event line %d" % (n, lo.get("id"), k + 1))
        if tr.get("id") != eid:
            err("truth:%d id %r does not match event line %d" % (m, tr.get("id"), k + 1))
        if k < len(cases) and cases[k] is not None and lo.get("case") != cases[k]:
            err("labels:%d case %r != %r" % (n, lo.get("case"), cases[k]))
        for f in ("scenario", "role", "department"):
            if not isinstance(tr.get(f), str) or not tr.get(f):
                err("truth:%d %s missing" % (m, f))
        if not isinstance(tr.get("explained"), bool):
            err("truth:%d explained not bool" % m)
        if "incident" in lo:
            if lo.get("kind") not in KINDS:
                err("labels:%d bad kind %r" % (n, lo.get("kind")))
            er = lo.get("expected_reasons")
            if not isinstance(er, list) or not er or not set(er) <= REASONS:
                err("labels:%d bad expected_reasons %r" % (n, er))
            if tr.get("incident") != lo["incident"] or not tr.get("variant") or not tr.get("why"):
                err("truth:%d incident fields inconsistent with labels" % m)
            if tr.get("explained") is not False:
                err("truth:%d incident event marked explained" % m)
            prevk = incidents.setdefault(lo["incident"], (lo.get("kind"), lo.get("case")))
            if prevk[0] != lo.get("kind"):
                err("labels:%d incident %s has two kinds" % (n, lo["incident"]))
        elif "incident" in tr or "kind" in lo or "expected_reasons" in lo:
            err("labels/truth:%d incident fields on a non-incident line" % n)
    kinds = {}
    for iid, (kd, cs) in incidents.items():
        kinds[kd] = kinds.get(kd, 0) + 1
    missing = sorted(KINDS - set(kinds))
    if missing:
        err("no incidents of kind(s): %s" % ", ".join(missing))

    print("checked %s: %d orgs, %d practitioners, %d roles, %d patients, %d encounters, %d careteams, "
          "%d events, %d incidents (%s)" % (d, len(orgs), len(pracs), len(roles), len(pats), len(encs), len(cts),
                                            len(evs), len(incidents),
                                            ", ".join("%s=%d" % (k, kinds[k]) for k in sorted(kinds))))
    if errors:
        for e in errors:
            print("ERROR", e)
        print("FAILED with %d error(s)" % len(errors))
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
