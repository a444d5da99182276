#!/usr/bin/env python3
"""check.py DIR - validate a gen6.py output directory against the access-monitoring contract.

Checks formats, reference integrity, ordering, the alignment of labels.ndjson and truth.ndjson
with AuditEvent.ndjson, and that every incident kind is present and plausible.
Prints a summary; exits 1 when any error was found (warnings do not fail).
Standard library only.
"""
import base64
import calendar
import datetime
import json
import os
import re
import sys
import time
import unicodedata

KINDS = ["SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "SNOOPING", "BREAK_GLASS", "COMPROMISED"]
REASONS = {"SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "NO_RELATIONSHIP", "BULK",
           "UNUSUAL_TIME", "UNUSUAL_LOCATION", "BREAK_GLASS"}
ACTIONS = {"C", "R", "U", "D", "E"}
INTERACTIONS = {"read", "vread", "search-type", "search-system", "search", "history", "history-instance",
                "create", "update", "patch", "delete", "capabilities", "batch", "transaction"}
OUTCOMES = {"0", "4", "8", "12"}
ACT_REASON = {"TREAT", "ETREAT", "BTG", "HPAYMT", "HOPERAT", "HRESCH", "PATRQT", "HLEGAL", "COC", "POPHLTH",
              "CAREMGT", "HMARKT", "HSYSADMIN", "PUBHLTH", "FAMRQT", "PWATRNY", "SUPNWK", "HQUALIMP", "CLINTRCH"}
SYS_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SYS_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SYS_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONF_CODES = {"U", "L", "M", "N", "R", "V"}
ACT_LABELS = {"CEL", "EMP", "PSY", "HIV", "ETH", "SDV", "SEX", "STD", "TBOO", "SOC", "DEMO", "DIA", "DRGIS",
              "ADOL", "BH", "SUD", "PSYTHPN", "LABEL", "VIP", "TABOO", "MH", "GDIS", "HIVLAB"}
ENC_CLASSES = {"AMB", "IMP", "EMER", "VR", "HH", "OBSENC", "SS", "ACUTE", "NONAC", "PRENC", "FLD"}
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


class Report:
    def __init__(self):
        self.errors, self.warnings = [], []
        self.counts = {}

    def err(self, msg):
        k = msg.split(":")[0]
        self.counts[k] = self.counts.get(k, 0) + 1
        if self.counts[k] <= 5:
            self.errors.append(msg)
        elif self.counts[k] == 6:
            self.errors.append("%s: ... (more of the same)" % k)
        else:
            self.errors.append(None)

    def warn(self, msg):
        self.warnings.append(msg)


# ---------------------------------------------------------------- time helpers
def _dst_bounds(y):
    first = 1 + (6 - datetime.date(y, 3, 1).weekday()) % 7
    s = calendar.timegm((y, 3, first + 7, 10, 0, 0))
    first = 1 + (6 - datetime.date(y, 11, 1).weekday()) % 7
    e = calendar.timegm((y, 11, first, 9, 0, 0))
    return s, e


_B = {}


def pacific_offset_minutes(ts):
    y = time.gmtime(ts).tm_year
    if y not in _B:
        _B[y] = _dst_bounds(y)
    s, e = _B[y]
    return -420 if s <= ts < e else -480


def parse_instant(s):
    """-> (epoch seconds float, offset minutes, local date string) or None."""
    if not isinstance(s, str):
        return None
    m = RFC3339.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.datetime(y, mo, d, h, mi, se)
    except ValueError:
        return None
    frac = float(m.group(7)) if m.group(7) else 0.0
    tz = m.group(8)
    off = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 60 + int(tz[4:6]))
    ts = calendar.timegm((y, mo, d, h, mi, se)) - off * 60 + frac
    return ts, off, "%04d-%02d-%02d" % (y, mo, d), h


def ref_id(ref, rtype):
    if not isinstance(ref, str) or not ref.startswith(rtype + "/"):
        return None
    return ref[len(rtype) + 1:]


# ---------------------------------------------------------------- name / address normalisation (checks only)
def norm(s):
    s = "".join(c for c in unicodedata.normalize("NFD", s or "") if unicodedata.category(c) != "Mn")
    return re.sub(r"[^a-z0-9 ]", " ", s.lower())


ADDR_MAP = {"street": "st", "avenue": "ave", "boulevard": "blvd", "drive": "dr", "court": "ct", "place": "pl",
            "lane": "ln", "road": "rd", "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
            "north": "n", "south": "s", "east": "e", "west": "w", "rural": "rr", "route": "", "r": "", "apt": "",
            "unit": "", "box": "", "p": "", "o": "", "po": ""}


def addr_tokens(a):
    if not isinstance(a, dict):
        return []
    toks = norm(" ".join(a.get("line") or [])).split()
    out = []
    for t in toks:
        t = ADDR_MAP.get(t, t)
        if t:
            out.append(t)
    return out


def addr_key(a):
    return " ".join(addr_tokens(a)) + "|" + norm(a.get("city", "") if isinstance(a, dict) else "").strip()


def street_key(a):
    toks = addr_tokens(a)
    words = [t for t in toks if not t.isdigit() and not re.match(r"^\d+[a-z]?$", t)]
    return " ".join(words[:4]) + "|" + norm(a.get("city", "") if isinstance(a, dict) else "").strip()


def fam_tokens(name):
    if not isinstance(name, dict):
        return set()
    toks = set()
    for t in norm(name.get("family", "")).replace("-", " ").split():
        if len(t) > 4 and t[-3:] in ("ova", "eva"):
            t = t[:-1]
        toks.add(t)
    return toks


# ---------------------------------------------------------------- context
def load_ndjson(path, rep, rtype):
    out = []
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                rep.err("%s: line %d is not JSON (%s)" % (os.path.basename(path), n, e))
                continue
            if obj.get("resourceType") != rtype:
                rep.err("%s: line %d resourceType %r" % (os.path.basename(path), n, obj.get("resourceType")))
                continue
            if not isinstance(obj.get("id"), str) or not obj["id"]:
                rep.err("%s: line %d has no id" % (os.path.basename(path), n))
                continue
            out.append(obj)
    ids = [o["id"] for o in out]
    if len(ids) != len(set(ids)):
        rep.err("%s: duplicate ids" % rtype)
    return out


def check_context(d, rep):
    ctx = os.path.join(d, "context")
    R = {}
    for rt in ["Organization", "Practitioner", "PractitionerRole", "Patient", "Encounter", "CareTeam"]:
        R[rt] = load_ndjson(os.path.join(ctx, rt + ".ndjson"), rep, rt)
        if R[rt] is None:
            if rt == "CareTeam":
                rep.warn("context/CareTeam.ndjson absent (optional)")
                R[rt] = []
            else:
                rep.err("context: %s.ndjson missing" % rt)
                R[rt] = []
    orgs = {o["id"]: o for o in R["Organization"]}
    for o in R["Organization"]:
        if not o.get("name"):
            rep.err("Organization: %s without name" % o["id"])
        if "partOf" in o and ref_id(o["partOf"].get("reference"), "Organization") not in orgs:
            rep.err("Organization: %s partOf does not resolve" % o["id"])
    pracs = {p["id"]: p for p in R["Practitioner"]}
    login = {}
    for p in R["Practitioner"]:
        ids = p.get("identifier") or []
        if not ids:
            rep.err("Practitioner: %s without identifier" % p["id"])
        for i in ids:
            v = i.get("value")
            if not v:
                rep.err("Practitioner: %s identifier without value" % p["id"])
            elif v in login and login[v] != p["id"]:
                rep.err("Practitioner: identifier value %s used by two practitioners" % v)
            else:
                login[v] = p["id"]
        nm = (p.get("name") or [{}])[0]
        if not nm.get("family") or not nm.get("given"):
            rep.err("Practitioner: %s name[0] lacks family/given" % p["id"])
        if not DATE.match(p.get("birthDate", "")):
            rep.err("Practitioner: %s birthDate" % p["id"])
        if p.get("gender") not in ("male", "female", "other", "unknown"):
            rep.err("Practitioner: %s gender" % p["id"])
        a = (p.get("address") or [{}])[0]
        if not a.get("line") or not a.get("city") or not a.get("postalCode"):
            rep.err("Practitioner: %s address[0] incomplete" % p["id"])
    roles_by_prac = {}
    for r in R["PractitionerRole"]:
        pid = ref_id((r.get("practitioner") or {}).get("reference"), "Practitioner")
        oid = ref_id((r.get("organization") or {}).get("reference"), "Organization")
        if pid not in pracs:
            rep.err("PractitionerRole: %s practitioner does not resolve" % r["id"])
        if oid not in orgs:
            rep.err("PractitionerRole: %s organization does not resolve" % r["id"])
        codes = [c.get("code") for cc in r.get("code") or [] for c in cc.get("coding") or []]
        if not codes or not all(codes):
            rep.err("PractitionerRole: %s without code" % r["id"])
        per = r.get("period") or {}
        for k in ("start", "end"):
            if k in per and parse_instant(per[k]) is None:
                rep.err("PractitionerRole: %s period.%s not an instant" % (r["id"], k))
        roles_by_prac.setdefault(pid, []).append(r)
    for pid in pracs:
        if pid not in roles_by_prac:
            rep.err("Practitioner: %s has no PractitionerRole" % pid)
    pats = {p["id"]: p for p in R["Patient"]}
    for p in R["Patient"]:
        if not p.get("identifier"):
            rep.err("Patient: %s without identifier" % p["id"])
        nm = (p.get("name") or [{}])[0]
        if not nm.get("family") or not nm.get("given"):
            rep.err("Patient: %s name[0] lacks family/given" % p["id"])
        if not DATE.match(p.get("birthDate", "")):
            rep.err("Patient: %s birthDate" % p["id"])
        if p.get("gender") not in ("male", "female", "other", "unknown"):
            rep.err("Patient: %s gender" % p["id"])
        a = (p.get("address") or [{}])[0]
        if not a.get("line") or not a.get("city") or not a.get("postalCode"):
            rep.err("Patient: %s address[0] incomplete" % p["id"])
        if "deceasedDateTime" in p and parse_instant(p["deceasedDateTime"]) is None:
            rep.err("Patient: %s deceasedDateTime not an instant" % p["id"])
        for s in (p.get("meta") or {}).get("security") or []:
            c, sy = s.get("code"), s.get("system")
            if sy == SYS_CONF:
                if c not in CONF_CODES:
                    rep.err("Patient: %s unknown confidentiality code %s" % (p["id"], c))
            elif sy == SYS_ACT:
                if c not in ACT_LABELS:
                    rep.warn("Patient %s: uncommon ActCode label %s" % (p["id"], c))
            else:
                rep.err("Patient: %s security label %s with system %s" % (p["id"], c, sy))
    encs_by_pat = {}
    for e in R["Encounter"]:
        cl = (e.get("class") or {}).get("code")
        if cl not in ENC_CLASSES:
            rep.err("Encounter: %s class %r" % (e["id"], cl))
        pid = ref_id((e.get("subject") or {}).get("reference"), "Patient")
        if pid not in pats:
            rep.err("Encounter: %s subject does not resolve" % e["id"])
        for part in e.get("participant") or []:
            if ref_id((part.get("individual") or {}).get("reference"), "Practitioner") not in pracs:
                rep.err("Encounter: %s participant does not resolve" % e["id"])
        if ref_id((e.get("serviceProvider") or {}).get("reference"), "Organization") not in orgs:
            rep.err("Encounter: %s serviceProvider does not resolve" % e["id"])
        per = e.get("period") or {}
        st = parse_instant(per.get("start"))
        en = parse_instant(per["end"]) if "end" in per else None
        if st is None:
            rep.err("Encounter: %s period.start" % e["id"])
        if "end" in per and en is None:
            rep.err("Encounter: %s period.end" % e["id"])
        if st and en and en[0] < st[0]:
            rep.err("Encounter: %s ends before it starts" % e["id"])
        encs_by_pat.setdefault(pid, []).append((st[0] if st else 0, en[0] if en else None, e))
    for c in R["CareTeam"]:
        if ref_id((c.get("subject") or {}).get("reference"), "Patient") not in pats:
            rep.err("CareTeam: %s subject does not resolve" % c["id"])
        for part in c.get("participant") or []:
            ref = (part.get("member") or {}).get("reference", "")
            if not (ref_id(ref, "Practitioner") in pracs or ref_id(ref, "Organization") in orgs):
                rep.err("CareTeam: %s member %s does not resolve" % (c["id"], ref))
        if "period" in c and parse_instant((c["period"] or {}).get("start")) is None:
            rep.err("CareTeam: %s period.start" % c["id"])
    return {"R": R, "orgs": orgs, "pracs": pracs, "login": login, "pats": pats, "encs_by_pat": encs_by_pat,
            "roles": roles_by_prac}


# ---------------------------------------------------------------- events, labels, truth
def check_events(d, ctx, rep):
    path = os.path.join(d, "AuditEvent.ndjson")
    evs = []
    if not os.path.exists(path):
        rep.err("AuditEvent.ndjson: missing")
        return evs
    seen = set()
    last = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                a = json.loads(line)
            except ValueError:
                rep.err("AuditEvent: line %d not JSON" % n)
                continue
            if a.get("resourceType") != "AuditEvent":
                rep.err("AuditEvent: line %d resourceType" % n)
            eid = a.get("id")
            if not isinstance(eid, str) or not eid:
                rep.err("AuditEvent: line %d without id" % n)
            elif eid in seen:
                rep.err("AuditEvent: duplicate id %s" % eid)
            seen.add(eid)
            rec = parse_instant(a.get("recorded"))
            if rec is None:
                rep.err("AuditEvent: line %d recorded %r not RFC 3339" % (n, a.get("recorded")))
                continue
            ts, off, ldate, lh = rec
            if off != pacific_offset_minutes(int(ts)):
                rep.err("AuditEvent: line %d offset %d is not America/Los_Angeles at that instant" % (n, off))
            if last is not None and ts < last:
                rep.err("AuditEvent: line %d out of order (recorded earlier than the previous line)" % n)
            last = ts
            if a.get("action") not in ACTIONS:
                rep.err("AuditEvent: line %d action %r" % (n, a.get("action")))
            subs = [s.get("code") for s in a.get("subtype") or []]
            if not subs or not all(s in INTERACTIONS or (isinstance(s, str) and s.startswith("$")) for s in subs):
                rep.err("AuditEvent: line %d subtype %r" % (n, subs))
            if a.get("outcome") not in OUTCOMES:
                rep.err("AuditEvent: line %d outcome %r" % (n, a.get("outcome")))
            req = [g for g in a.get("agent") or [] if g.get("requestor") is True]
            if len(req) != 1:
                rep.err("AuditEvent: line %d has %d requestor agents" % (n, len(req)))
                continue
            g = req[0]
            lg = ((g.get("who") or {}).get("identifier") or {}).get("value")
            if lg not in ctx["login"]:
                rep.err("AuditEvent: line %d user %r is not a Practitioner identifier" % (n, lg))
            net = g.get("network") or {}
            addr, nt = net.get("address"), net.get("type")
            if not addr or nt not in ("1", "2"):
                rep.err("AuditEvent: line %d network %r" % (n, net))
            elif nt == "2":
                m = IPV4.match(addr)
                if not m or any(int(x) > 255 for x in m.groups()):
                    rep.err("AuditEvent: line %d network type 2 but %r is not an IP address" % (n, addr))
            purp = []
            for pu in g.get("purposeOfUse") or []:
                for c in pu.get("coding") or []:
                    if c.get("system") != SYS_REASON or c.get("code") not in ACT_REASON:
                        rep.err("AuditEvent: line %d purposeOfUse %r" % (n, c))
                    purp.append(c.get("code"))
            pats = []
            for e in a.get("entity") or []:
                if (e.get("role") or {}).get("code") == "1" or (e.get("type") or {}).get("code") == "1":
                    pid = ref_id((e.get("what") or {}).get("reference"), "Patient")
                    if pid not in ctx["pats"]:
                        rep.err("AuditEvent: line %d patient entity does not resolve" % n)
                    pats.append(pid)
                if "query" in e:
                    try:
                        base64.b64decode(e["query"], validate=True).decode("utf-8")
                    except Exception:
                        rep.err("AuditEvent: line %d query entity is not base64" % n)
            if len(pats) > 1:
                rep.err("AuditEvent: line %d has %d patient entities" % (n, len(pats)))
            evs.append((eid, ts, ldate, lh, lg, pats[0] if pats else None, addr, nt, tuple(purp), a.get("action"),
                        subs[0] if subs else None))
    return evs


def load_lines(path, rep, name):
    out = []
    if not os.path.exists(path):
        rep.err("%s: missing" % name)
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                out.append(json.loads(line))
            except ValueError:
                rep.err("%s: line %d not JSON" % (name, n))
                out.append({})
    return out


def check_labels(d, evs, ctx, rep):
    labels = load_lines(os.path.join(d, "labels.ndjson"), rep, "labels.ndjson")
    truth = load_lines(os.path.join(d, "truth.ndjson"), rep, "truth.ndjson")
    if len(labels) != len(evs):
        rep.err("labels.ndjson: %d lines for %d events" % (len(labels), len(evs)))
    if len(truth) != len(evs):
        rep.err("truth.ndjson: %d lines for %d events" % (len(truth), len(evs)))
    incs = {}
    legit = unexpl = 0
    for i, ev in enumerate(evs):
        eid, ts, ldate, lh, lg, pid = ev[:6]
        lab = labels[i] if i < len(labels) else {}
        tr = truth[i] if i < len(truth) else {}
        if lab.get("id") != eid:
            rep.err("labels.ndjson: line %d id does not match the event" % (i + 1))
        if lab.get("case") != "%s|%s" % (lg, ldate):
            rep.err("labels.ndjson: line %d case %r, expected %s|%s" % (i + 1, lab.get("case"), lg, ldate))
        if tr.get("id") != eid:
            rep.err("truth.ndjson: line %d id does not match the event" % (i + 1))
        for k in ("scenario", "role", "department"):
            if not isinstance(tr.get(k), str):
                rep.err("truth.ndjson: line %d lacks %s" % (i + 1, k))
        if not isinstance(tr.get("explained"), bool):
            rep.err("truth.ndjson: line %d explained is not a bool" % (i + 1))
        if tr.get("department") and tr["department"] not in ctx["orgs"]:
            rep.err("truth.ndjson: line %d department %s is not an Organization" % (i + 1, tr["department"]))
        li = lab.get("incident")
        if li is None:
            if any(k in lab for k in ("kind", "expected_reasons")):
                rep.err("labels.ndjson: line %d has incident fields without incident" % (i + 1))
            if "incident" in tr:
                rep.err("truth.ndjson: line %d incident %s not in labels" % (i + 1, tr["incident"]))
            legit += 1
            if tr.get("explained") is False:
                unexpl += 1
            continue
        if tr.get("incident") != li:
            rep.err("truth.ndjson: line %d incident differs from labels" % (i + 1))
        if not tr.get("variant") or not tr.get("why"):
            rep.err("truth.ndjson: line %d incident without variant/why" % (i + 1))
        kind, exp = lab.get("kind"), lab.get("expected_reasons")
        if kind not in KINDS:
            rep.err("labels.ndjson: line %d kind %r" % (i + 1, kind))
        if not isinstance(exp, list) or not exp or not all(x in REASONS for x in exp):
            rep.err("labels.ndjson: line %d expected_reasons %r" % (i + 1, exp))
        inc = incs.setdefault(li, {"kind": kind, "exp": exp, "events": [], "variant": tr.get("variant"),
                                   "why": tr.get("why")})
        if inc["kind"] != kind or inc["exp"] != exp:
            rep.err("labels.ndjson: incident %s has inconsistent kind/expected_reasons" % li)
        inc["events"].append(ev)
    return incs, legit, unexpl


def check_incidents(incs, evs, ctx, rep):
    if not evs:
        return
    last_date = max(e[2] for e in evs)
    ld = datetime.date.fromisoformat(last_date)
    first_ok = (ld - datetime.timedelta(days=4)).isoformat()
    by_kind = {}
    insiders = {}
    # how each user normally works (outside incidents): hours and network addresses
    inc_ids = set(e[0] for inc in incs.values() for e in inc["events"])
    normal_addr, normal_hours = {}, {}
    for e in evs:
        if e[0] in inc_ids:
            continue
        normal_addr.setdefault(e[4], set()).add(e[6])
        normal_hours.setdefault(e[4], set()).add(e[3])
    pat = ctx["pats"]
    prac_by_login = {k: ctx["pracs"][v] for k, v in ctx["login"].items()}
    for iid, inc in sorted(incs.items()):
        kind = inc["kind"]
        by_kind[kind] = by_kind.get(kind, 0) + 1
        users = set(e[4] for e in inc["events"])
        if len(users) != 1:
            rep.err("incident: %s has %d different users" % (iid, len(users)))
            continue
        user = users.pop()
        if user in insiders:
            rep.err("incident: %s shares its insider with %s" % (iid, insiders[user]))
        insiders[user] = iid
        if min(e[2] for e in inc["events"]) < first_ok:
            rep.err("incident: %s has events before the last 5 days (%s)" % (iid, first_ok))
        tpats = [e[5] for e in inc["events"] if e[5]]
        if not tpats:
            rep.err("incident: %s touches no patient" % iid)
            continue
        uniq = sorted(set(tpats))
        prac = prac_by_login.get(user, {})
        tgt = pat.get(uniq[0], {})
        labels = set(s.get("code") for s in (tgt.get("meta") or {}).get("security") or [])
        t0 = min(e[1] for e in inc["events"])
        if kind == "SELF":
            if tgt.get("birthDate") != prac.get("birthDate"):
                rep.err("incident: %s SELF target birth date differs from the user's" % iid)
        elif kind == "FAMILY":
            same_addr = addr_key((tgt.get("address") or [{}])[0]) == addr_key((prac.get("address") or [{}])[0])
            same_name = bool(fam_tokens((tgt.get("name") or [{}])[0]) & fam_tokens((prac.get("name") or [{}])[0]))
            if not (same_addr or same_name):
                rep.warn("incident %s FAMILY: no shared surname or normalised address found by check.py" % iid)
        elif kind == "NEIGHBOR":
            ta, ua = (tgt.get("address") or [{}])[0], (prac.get("address") or [{}])[0]
            if street_key(ta) != street_key(ua):
                rep.warn("incident %s NEIGHBOR: street/route keys differ (%s vs %s)" % (iid, street_key(ta),
                                                                                         street_key(ua)))
        elif kind == "COWORKER":
            nm = (tgt.get("name") or [{}])[0]
            staff_match = any(p.get("birthDate") == tgt.get("birthDate") and
                              fam_tokens((p.get("name") or [{}])[0]) & fam_tokens(nm)
                              for p in ctx["pracs"].values() if p is not prac)
            if not staff_match and "EMP" not in labels:
                rep.err("incident: %s COWORKER target neither matches a staff member nor has EMP" % iid)
        elif kind == "VIP":
            if "CEL" not in labels:
                rep.err("incident: %s VIP target has no CEL label" % iid)
            active = any(s <= t0 + 3600 and (en is None or en >= t0 - 86400)
                         for s, en, e in ctx["encs_by_pat"].get(uniq[0], []))
            if not active:
                rep.warn("incident %s VIP: no encounter around the access" % iid)
        elif kind == "DECEASED":
            dd = parse_instant(tgt.get("deceasedDateTime"))
            if dd is None or not (t0 - 15 * 86400 <= dd[0] <= t0):
                rep.err("incident: %s DECEASED target did not die within 15 days before the access" % iid)
        elif kind == "BREAK_GLASS":
            if not any("BTG" in e[8] for e in inc["events"]):
                rep.err("incident: %s BREAK_GLASS without a BTG purposeOfUse" % iid)
            if not labels & {"R", "V"}:
                rep.err("incident: %s BREAK_GLASS target is not restricted" % iid)
        elif kind == "SNOOPING":
            if "NO_RELATIONSHIP" not in inc["exp"]:
                rep.err("incident: %s SNOOPING without NO_RELATIONSHIP" % iid)
            if len(uniq) >= 10 and "BULK" not in inc["exp"]:
                rep.err("incident: %s browses %d patients without BULK" % (iid, len(uniq)))
        elif kind == "COMPROMISED":
            if len(uniq) < 30:
                rep.err("incident: %s COMPROMISED harvests only %d patients" % (iid, len(uniq)))
            addrs = set(e[6] for e in inc["events"])
            if addrs & normal_addr.get(user, set()):
                rep.err("incident: %s COMPROMISED uses an address the user also uses legitimately" % iid)
            if "UNUSUAL_TIME" in inc["exp"]:
                hrs = [e[3] for e in inc["events"]]
                if not all(h >= 21 or h < 6 for h in hrs):
                    rep.warn("incident %s COMPROMISED: UNUSUAL_TIME expected but some events in daytime" % iid)
        else:
            pass
        if kind != "COMPROMISED":
            addrs = set(e[6] for e in inc["events"])
            if not addrs & normal_addr.get(user, set()) and not any(e[7] == "2" for e in inc["events"]):
                rep.warn("incident %s: insider's workstation not seen in their legitimate work" % iid)
    for k in KINDS:
        if k not in by_kind:
            rep.err("incident: no %s incident present" % k)
    if len(set(by_kind.values())) > 1:
        rep.warn("incident counts differ between kinds: %s" % by_kind)
    return by_kind


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: check.py DIR\n")
        return 2
    d = argv[1]
    rep = Report()
    t0 = time.time()
    ctx = check_context(d, rep)
    evs = check_events(d, ctx, rep)
    incs, legit, unexpl = check_labels(d, evs, ctx, rep)
    by_kind = check_incidents(incs, evs, ctx, rep) or {}
    n_err = len(rep.errors)
    print("%s: %d events, %d patients, %d practitioners, %d encounters, %d care teams" % (
        d, len(evs), len(ctx["pats"]), len(ctx["pracs"]), len(ctx["R"]["Encounter"]), len(ctx["R"]["CareTeam"])))
    if evs:
        print("window %s .. %s (local), %d cases (user|day)" % (
            min(e[2] for e in evs), max(e[2] for e in evs), len(set((e[4], e[2]) for e in evs))))
    print("legitimate events %d, unexplained %d (%.3f%%)" % (legit, unexpl, 100.0 * unexpl / max(1, legit)))
    print("incidents %d: %s" % (len(incs), ", ".join("%s=%d" % (k, by_kind.get(k, 0)) for k in KINDS)))
    for w in rep.warnings[:20]:
        print("warning:", w)
    if len(rep.warnings) > 20:
        print("warning: ... %d more" % (len(rep.warnings) - 20))
    shown = [e for e in rep.errors if e is not None]
    for e in shown:
        print("ERROR:", e)
    print("%s (%d errors, %d warnings, %.1fs)" % ("FAIL" if n_err else "OK", n_err, len(rep.warnings), time.time() - t0))
    return 1 if n_err else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
