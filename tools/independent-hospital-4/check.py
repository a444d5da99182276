#!/usr/bin/env python3
"""check.py DIR -- validate a gen4.py output directory.

Checks formats (FHIR R4 shapes the access-monitoring spec relies on), references (every
login, patient, practitioner, organization and encounter reference resolves), ordering of
AuditEvents by `recorded`, Europe/London offsets, one label and one truth line per event,
and that every planted incident is present and really is what its kind says.
Exit status 0 when clean, 1 on any error.  Standard library only.
"""
import base64
import collections
import datetime as dt
import json
import os
import re
import sys
import unicodedata

KINDS = ["SNOOPING", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "SELF", "DECEASED", "BREAK_GLASS", "COMPROMISED"]
REASONS = {"SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "NO_RELATIONSHIP", "BULK",
           "UNUSUAL_TIME", "UNUSUAL_LOCATION", "BREAK_GLASS"}
PURPOSES = {"TREAT", "ETREAT", "BTG", "HPAYMT", "HOPERAT", "HRESCH", "PATADMIN", "HSYSADMIN", "HQUALIMP",
            "HDECD", "HLEGAL", "PATRQT", "RECORDMGT", "PUBHLTH", "CAREMGT"}
SUBTYPES = {"read": "R", "vread": "R", "search-type": "R", "search": "R", "create": "C", "update": "U",
            "delete": "D"}
ENC_CLASSES = {"IMP", "AMB", "EMER", "SS", "HH", "VR", "OBSENC", "ACUTE", "NONAC", "PRENC"}
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
ABBR = {"rd": "road", "st": "street", "ln": "lane", "ave": "avenue", "cl": "close", "dr": "drive",
        "cres": "crescent", "gdns": "gardens", "pl": "place", "terr": "terrace", "ct": "court",
        "sq": "square", "gr": "grove"}
PC_RE = re.compile(r"^[A-Z]{1,2}\d{1,2}[A-Z]? ?\d[A-Z]{2}$")

errors = []


def err(msg):
    errors.append(msg)


def fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def nname(s):
    return "".join(c for c in fold(s or "").lower() if c.isalpha())


def tokens(s):
    return [nname(x) for x in re.split(r"[-\s]+", s or "") if nname(x)]


def parse_ts(s):
    m = TS_RE.match(s or "")
    if not m:
        return None, None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    frac = float(m.group(7) or 0)
    tz = m.group(8)
    off = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    try:
        base = dt.datetime(y, mo, d, h, mi, se)
    except ValueError:
        return None, None
    epoch = (base - dt.datetime(1970, 1, 1)).total_seconds() + frac - off
    return epoch, off


def last_sunday(y, m):
    nxt = dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)
    d = nxt - dt.timedelta(days=1)
    return d - dt.timedelta(days=(d.weekday() + 1) % 7)


def uk_offset(epoch):
    y = dt.datetime.utcfromtimestamp(int(epoch)).year
    a = (last_sunday(y, 3) - dt.date(1970, 1, 1)).days * 86400 + 3600
    b = (last_sunday(y, 10) - dt.date(1970, 1, 1)).days * 86400 + 3600
    return 3600 if a <= epoch < b else 0


def local_date(s):
    return s[:10]


def nhs_ok(n):
    if not re.match(r"^\d{10}$", n or ""):
        return False
    s = sum(int(n[i]) * (10 - i) for i in range(9))
    c = 11 - s % 11
    c = 0 if c == 11 else c
    return c != 10 and c == int(n[9])


def parse_addr(a):
    if not a:
        return None
    segs = []
    for ln in a.get("line", []):
        for part in ln.split(","):
            part = " ".join(ABBR.get(w, w) for w in re.sub(r"[^a-z0-9 ]", " ", fold(part).lower()).split())
            if part:
                segs.append(part)
    flat = num = street = None
    house = []
    for sg in segs:
        m = re.match(r"^flat (\d+)$", sg)
        if m:
            flat = m.group(1)
            continue
        m = re.match(r"^(\d+[a-z]?) (.+)$", sg)
        if m:
            num, street = m.group(1), m.group(2)
            continue
        house.append(sg)
    if street is None and house:
        street = house.pop()
    town = nname(a.get("city", ""))
    pc = (a.get("postalCode") or "").replace(" ", "").upper()
    return {"flat": flat, "num": num, "street": street, "house": " ".join(house), "town": town, "pc": pc}


def same_home(a, b):
    return a and b and a["street"] == b["street"] and a["town"] == b["town"] and a["num"] == b["num"] \
        and a["flat"] == b["flat"] and a["house"] == b["house"]


def same_street(a, b):
    return a and b and a["street"] and a["street"] == b["street"] and a["town"] == b["town"]


def load(path, rtype, required=True):
    out = []
    if not os.path.exists(path):
        if required:
            err("missing file %s" % path)
        return out
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                err("%s:%d empty line" % (path, i))
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                err("%s:%d not JSON: %s" % (path, i, e))
                continue
            if rtype and r.get("resourceType") != rtype:
                err("%s:%d resourceType %r != %s" % (path, i, r.get("resourceType"), rtype))
            out.append(r)
    return out


def ref_id(ref, rtype):
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return None
    s = ref["reference"]
    if not s.startswith(rtype + "/"):
        return None
    return s[len(rtype) + 1:]


def main():
    if len(sys.argv) != 2:
        print("usage: check.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    ctx = os.path.join(d, "context")
    orgs = load(os.path.join(ctx, "Organization.ndjson"), "Organization")
    pracs = load(os.path.join(ctx, "Practitioner.ndjson"), "Practitioner")
    roles = load(os.path.join(ctx, "PractitionerRole.ndjson"), "PractitionerRole")
    pats = load(os.path.join(ctx, "Patient.ndjson"), "Patient")
    encs = load(os.path.join(ctx, "Encounter.ndjson"), "Encounter")
    cts = load(os.path.join(ctx, "CareTeam.ndjson"), "CareTeam", required=False)

    def uniq(rs, what):
        ids = {}
        for r in rs:
            i = r.get("id")
            if not isinstance(i, str) or not i:
                err("%s without id" % what)
            elif i in ids:
                err("duplicate %s id %s" % (what, i))
            ids[i] = r
        return ids

    org_by = uniq(orgs, "Organization")
    prac_by = uniq(pracs, "Practitioner")
    pat_by = uniq(pats, "Patient")
    enc_by = uniq(encs, "Encounter")
    uniq(roles, "PractitionerRole")
    uniq(cts, "CareTeam")
    for o in orgs:
        if not o.get("name"):
            err("Organization %s without name" % o.get("id"))
        if "partOf" in o and ref_id(o["partOf"], "Organization") not in org_by:
            err("Organization %s partOf does not resolve" % o.get("id"))
    # loop-free partOf
    for o in orgs:
        seen, k = set(), o["id"]
        while k in org_by and "partOf" in org_by[k]:
            if k in seen:
                err("Organization partOf cycle at %s" % o["id"])
                break
            seen.add(k)
            k = ref_id(org_by[k]["partOf"], "Organization")
    login_to_prac = {}
    for p in pracs:
        ids = p.get("identifier") or []
        if not ids:
            err("Practitioner %s without identifier" % p.get("id"))
        for ident in ids:
            v = ident.get("value")
            if not v:
                err("Practitioner %s identifier without value" % p.get("id"))
            elif v in login_to_prac and login_to_prac[v] != p["id"]:
                err("identifier value %s shared by two practitioners" % v)
            else:
                login_to_prac[v] = p["id"]
        n = (p.get("name") or [{}])[0]
        if not n.get("family") or not n.get("given"):
            err("Practitioner %s name incomplete" % p.get("id"))
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", p.get("birthDate", "")):
            err("Practitioner %s birthDate" % p.get("id"))
        if p.get("gender") not in ("male", "female", "other", "unknown"):
            err("Practitioner %s gender" % p.get("id"))
        a = (p.get("address") or [None])[0]
        if not a or not a.get("line") or not a.get("postalCode"):
            err("Practitioner %s address[0] incomplete" % p.get("id"))
    prac_orgs = collections.defaultdict(set)
    for r in roles:
        pid = ref_id(r.get("practitioner"), "Practitioner")
        oid = ref_id(r.get("organization"), "Organization")
        if pid not in prac_by:
            err("PractitionerRole %s practitioner does not resolve" % r.get("id"))
        if oid not in org_by:
            err("PractitionerRole %s organization does not resolve" % r.get("id"))
        codes = [c.get("code") for cc in r.get("code", []) for c in cc.get("coding", [])]
        if not codes or not all(codes):
            err("PractitionerRole %s without role code" % r.get("id"))
        prac_orgs[pid].add(oid)
    for p in pracs:
        if p["id"] not in prac_orgs:
            err("Practitioner %s has no PractitionerRole" % p["id"])
    nhs_seen = set()
    for p in pats:
        ids = {i.get("system"): i.get("value") for i in p.get("identifier", [])}
        n = ids.get("https://fhir.nhs.uk/Id/nhs-number")
        if not nhs_ok(n):
            err("Patient %s NHS number %r invalid" % (p.get("id"), n))
        elif n in nhs_seen:
            err("duplicate NHS number %s" % n)
        nhs_seen.add(n)
        nm = (p.get("name") or [{}])[0]
        if not nm.get("family") or not nm.get("given"):
            err("Patient %s name incomplete" % p.get("id"))
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", p.get("birthDate", "")):
            err("Patient %s birthDate" % p.get("id"))
        if p.get("gender") not in ("male", "female", "other", "unknown"):
            err("Patient %s gender" % p.get("id"))
        a = (p.get("address") or [None])[0]
        if not a or not a.get("line") or not a.get("city") or not a.get("postalCode"):
            err("Patient %s address[0] incomplete" % p.get("id"))
        elif not PC_RE.match(a["postalCode"].upper()):
            err("Patient %s postcode %r" % (p.get("id"), a["postalCode"]))
        if "deceasedDateTime" in p and parse_ts(p["deceasedDateTime"])[0] is None:
            err("Patient %s deceasedDateTime" % p.get("id"))
        for s in p.get("meta", {}).get("security", []):
            if not s.get("code") or not s.get("system"):
                err("Patient %s security label incomplete" % p.get("id"))
    pat_team = collections.defaultdict(set)
    for e in encs:
        cls = (e.get("class") or {}).get("code")
        if cls not in ENC_CLASSES:
            err("Encounter %s class %r" % (e.get("id"), cls))
        sid = ref_id(e.get("subject"), "Patient")
        if sid not in pat_by:
            err("Encounter %s subject does not resolve" % e.get("id"))
        if ref_id(e.get("serviceProvider"), "Organization") not in org_by:
            err("Encounter %s serviceProvider does not resolve" % e.get("id"))
        for pa in e.get("participant", []):
            pr = ref_id(pa.get("individual"), "Practitioner")
            if pr not in prac_by:
                err("Encounter %s participant does not resolve" % e.get("id"))
            pat_team[sid].add(pr)
        per = e.get("period") or {}
        s0 = parse_ts(per.get("start"))[0]
        if s0 is None:
            err("Encounter %s period.start" % e.get("id"))
        if "end" in per:
            s1 = parse_ts(per["end"])[0]
            if s1 is None or (s0 is not None and s1 < s0):
                err("Encounter %s period.end" % e.get("id"))
        elif e.get("status") == "finished":
            err("Encounter %s finished without end" % e.get("id"))
        if "partOf" in e and ref_id(e["partOf"], "Encounter") not in enc_by:
            err("Encounter %s partOf does not resolve" % e.get("id"))
    for c in cts:
        sid = ref_id(c.get("subject"), "Patient")
        if sid not in pat_by:
            err("CareTeam %s subject does not resolve" % c.get("id"))
        for pa in c.get("participant", []):
            pr = ref_id(pa.get("member"), "Practitioner")
            if pr not in prac_by:
                err("CareTeam %s member does not resolve" % c.get("id"))
            pat_team[sid].add(pr)
        for mo in c.get("managingOrganization", []):
            if ref_id(mo, "Organization") not in org_by:
                err("CareTeam %s managingOrganization does not resolve" % c.get("id"))

    # ------------------------------------------------------------ audit events + labels + truth
    fa = open(os.path.join(d, "AuditEvent.ndjson"), encoding="utf-8")
    fl = open(os.path.join(d, "labels.ndjson"), encoding="utf-8")
    ft = open(os.path.join(d, "truth.ndjson"), encoding="utf-8")
    ev_ids = set()
    prev_t = None
    n = 0
    dates = set()
    inc = {}
    user_addrs = collections.defaultdict(set)     # addresses used outside incidents
    inc_events = collections.defaultdict(list)
    for line_a in fa:
        n += 1
        line_l = fl.readline()
        line_t = ft.readline()
        try:
            e = json.loads(line_a)
        except ValueError:
            err("AuditEvent line %d not JSON" % n)
            continue
        try:
            lab = json.loads(line_l)
        except ValueError:
            err("labels line %d missing or not JSON" % n)
            lab = {}
        try:
            tru = json.loads(line_t)
        except ValueError:
            err("truth line %d missing or not JSON" % n)
            tru = {}
        if e.get("resourceType") != "AuditEvent":
            err("line %d resourceType" % n)
        eid = e.get("id")
        if not eid or eid in ev_ids:
            err("line %d id missing or duplicate" % n)
        ev_ids.add(eid)
        t, off = parse_ts(e.get("recorded"))
        if t is None:
            err("line %d recorded %r not RFC 3339" % (n, e.get("recorded")))
            continue
        if off != uk_offset(t):
            err("line %d recorded %s has offset %d, Europe/London needs %d" % (n, e["recorded"], off, uk_offset(t)))
        if prev_t is not None and t < prev_t - 1e-6:
            err("line %d out of order" % n)
        prev_t = t
        dates.add(local_date(e["recorded"]))
        if e.get("action") not in ("C", "R", "U", "D", "E"):
            err("line %d action %r" % (n, e.get("action")))
        st = [s.get("code") for s in e.get("subtype", [])]
        if not st or st[0] not in SUBTYPES and not str(st[0]).startswith("$"):
            err("line %d subtype %r" % (n, st))
        elif st[0] in SUBTYPES and SUBTYPES[st[0]] != e.get("action"):
            err("line %d subtype %s vs action %s" % (n, st[0], e.get("action")))
        if not isinstance(e.get("outcome"), str):
            err("line %d outcome" % n)
        reqs = [a for a in e.get("agent", []) if a.get("requestor") is True]
        if len(reqs) != 1:
            err("line %d has %d requestor agents" % (n, len(reqs)))
            continue
        ag = reqs[0]
        login = ((ag.get("who") or {}).get("identifier") or {}).get("value")
        if login not in login_to_prac:
            err("line %d login %r is no Practitioner identifier" % (n, login))
        net = ag.get("network") or {}
        addr, ntype = net.get("address"), net.get("type")
        if not addr or ntype not in ("1", "2"):
            err("line %d network %r" % (n, net))
        elif (ntype == "2") != bool(re.match(r"^\d{1,3}(\.\d{1,3}){3}$", addr)):
            err("line %d network type %s does not fit address %s" % (n, ntype, addr))
        pou = [c.get("code") for p in ag.get("purposeOfUse", []) for c in p.get("coding", [])]
        if not pou or any(c not in PURPOSES for c in pou):
            err("line %d purposeOfUse %r" % (n, pou))
        pents = [x for x in e.get("entity", []) if (x.get("role") or {}).get("code") == "1" or (x.get("type") or {}).get("code") == "1"]
        if len(pents) != 1:
            err("line %d has %d patient entities" % (n, len(pents)))
            continue
        pid = ref_id(pents[0].get("what"), "Patient")
        if pid not in pat_by:
            err("line %d patient reference does not resolve" % n)
        for x in e.get("entity", []):
            if x is pents[0]:
                continue
            if "query" in x:
                try:
                    base64.b64decode(x["query"], validate=True)
                except Exception:
                    err("line %d entity query not base64" % n)
            elif not ((x.get("what") or {}).get("reference") or "").count("/") == 1:
                err("line %d data entity without reference" % n)
        # label
        if lab.get("id") != eid:
            err("labels line %d id mismatch" % n)
        if lab.get("case") != "%s|%s" % (login, local_date(e["recorded"])):
            err("labels line %d case %r" % (n, lab.get("case")))
        if tru.get("id") != eid or not tru.get("scenario") or not tru.get("role") or not tru.get("department"):
            err("truth line %d incomplete" % n)
        if "incident" in lab:
            iid = lab["incident"]
            k = lab.get("kind")
            rs = lab.get("expected_reasons")
            if k not in KINDS:
                err("labels line %d kind %r" % (n, k))
            if not rs or any(r not in REASONS for r in rs):
                err("labels line %d expected_reasons %r" % (n, rs))
            if iid in inc and (inc[iid]["kind"] != k or inc[iid]["reasons"] != rs or inc[iid]["login"] != login):
                err("incident %s inconsistent across its events" % iid)
            inc.setdefault(iid, {"kind": k, "reasons": rs, "login": login})
            if tru.get("scenario") != "incident:%s" % k or not tru.get("why") or tru.get("incident") != iid:
                err("truth line %d does not describe incident %s" % (n, iid))
            inc_events[iid].append((t, login, pid, addr, pou, e["recorded"]))
        else:
            if any(k in lab for k in ("kind", "expected_reasons")):
                err("labels line %d has incident fields without incident" % n)
            if str(tru.get("scenario", "")).startswith("incident"):
                err("truth line %d says incident but label does not" % n)
            user_addrs[login].add(addr)
    if fl.readline():
        err("labels.ndjson has more lines than AuditEvent.ndjson")
    if ft.readline():
        err("truth.ndjson has more lines than AuditEvent.ndjson")
    if n == 0:
        err("no AuditEvents")

    # ------------------------------------------------------------ incidents
    by_kind = collections.Counter(v["kind"] for v in inc.values())
    for k in KINDS:
        if by_kind[k] == 0:
            err("no %s incident present" % k)
    if len(set(by_kind[k] for k in KINDS)) > 1:
        err("incidents per kind differ: %s" % dict(by_kind))
    last = sorted(dates)[-1] if dates else None
    if last:
        cutoff = (dt.date.fromisoformat(last) - dt.timedelta(days=3)).isoformat()
    prac_key = collections.defaultdict(list)
    for p in pracs:
        nm = p["name"][0]
        prac_key[(nname(nm["family"]), p.get("birthDate"))].append(p["id"])
    for iid in sorted(inc):
        v = inc[iid]
        evs = inc_events[iid]
        k = v["kind"]
        prac = prac_by.get(login_to_prac.get(v["login"]))
        if prac is None:
            continue
        pr_addr = parse_addr((prac.get("address") or [None])[0])
        pr_fam = set(tokens(prac["name"][0]["family"]))
        for (t, login, pid, addr, pou, rec) in evs:
            if last and local_date(rec) < cutoff:
                err("incident %s event %s outside the last four days" % (iid, rec))
            if k != "SELF" and prac["id"] in pat_team.get(pid, ()):
                err("incident %s: user is on the patient's encounter/care team" % iid)
        pids = sorted(set(x[2] for x in evs))
        for pid in pids:
            p = pat_by.get(pid)
            if p is None:
                continue
            pn = p["name"][0]
            pa = parse_addr((p.get("address") or [None])[0])
            sec = set(s.get("code") for s in p.get("meta", {}).get("security", []))
            if k == "SELF":
                if nname(pn["family"]) != nname(prac["name"][0]["family"]) or p.get("birthDate") != prac.get("birthDate"):
                    err("SELF incident %s: patient is not the user" % iid)
            elif k == "FAMILY":
                if not (pr_fam & set(tokens(pn["family"]))) or not same_home(pr_addr, pa):
                    err("FAMILY incident %s: patient does not share surname and home with the user" % iid)
            elif k == "NEIGHBOR":
                if not same_street(pr_addr, pa) or same_home(pr_addr, pa):
                    err("NEIGHBOR incident %s: patient is not a neighbour (same street, other home)" % iid)
            elif k == "COWORKER":
                others = [x for x in prac_key.get((nname(pn["family"]), p.get("birthDate")), []) if x != prac["id"]]
                if "EMP" not in sec and not others:
                    err("COWORKER incident %s: patient is neither EMP nor a member of staff" % iid)
            elif k == "VIP":
                if "CEL" not in sec:
                    err("VIP incident %s: patient not CEL" % iid)
            elif k == "DECEASED":
                dd = parse_ts(p.get("deceasedDateTime"))[0]
                if dd is None or any(x[0] < dd for x in evs if x[2] == pid):
                    err("DECEASED incident %s: patient not dead at access" % iid)
        if k == "BREAK_GLASS" and not all("BTG" in x[4] for x in evs):
            err("BREAK_GLASS incident %s: not all events use BTG" % iid)
        if k == "COMPROMISED":
            if len(pids) < 20:
                err("COMPROMISED incident %s touches only %d patients" % (iid, len(pids)))
            if any(x[3] in user_addrs.get(v["login"], ()) for x in evs):
                err("COMPROMISED incident %s uses an address the user also uses normally" % iid)
    print("check: %d AuditEvents, %d days (%s .. %s), %d patients, %d practitioners, %d encounters, %d care teams, "
          "%d incidents %s" % (n, len(dates), min(dates) if dates else "-", last or "-", len(pats), len(pracs), len(encs),
                               len(cts), len(inc), dict(sorted(by_kind.items()))))
    if errors:
        for m in errors[:50]:
            print("ERROR:", m)
        if len(errors) > 50:
            print("... and %d more errors" % (len(errors) - 50))
        return 1
    print("check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
