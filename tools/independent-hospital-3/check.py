#!/usr/bin/env python3
"""check.py DIR - validate the output of gen3.py (standard library only).

Checks: context references resolve; every AuditEvent has the fields of the contract, a requestor
whose login is a Practitioner identifier, exactly one patient entity that resolves; events are
sorted by `recorded` (as instants); ids are unique; labels.ndjson lines up with the events and its
case is "<login>|<local date of recorded>"; each incident is one user on one local day, lies in
the last 4 days of the stream, and carries the expected reasons of its kind.
Also prints diagnostics (events/day, incidents, legit events that look like SELF/FAMILY).
Exit status 1 on any error.
"""
import json
import os
import re
import sys
import unicodedata
from datetime import datetime, timedelta, timezone

REASONS = {"SNOOPING": ["NO_RELATIONSHIP"], "FAMILY": ["FAMILY"], "NEIGHBOR": ["NEIGHBOR"],
           "COWORKER": ["COWORKER"], "VIP": ["VIP"], "SELF": ["SELF"], "DECEASED": ["DECEASED"],
           "BREAK_GLASS": ["BREAK_GLASS"], "COMPROMISED": ["UNUSUAL_TIME", "UNUSUAL_LOCATION", "BULK"]}
RFC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")
errors = []


def err(msg):
    if len(errors) < 50:
        print("ERROR:", msg)
    errors.append(msg)


def load(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                out.append(json.loads(line))
            except ValueError as e:
                err("%s:%d: bad JSON (%s)" % (path, n, e))
    return out


def norm(s):
    s = "".join(c for c in unicodedata.normalize("NFKD", s or "") if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]", "", s)


ABBR = {"street": "st", "avenue": "ave", "road": "rd", "drive": "dr", "lane": "ln", "court": "ct",
        "boulevard": "blvd", "place": "pl", "north": "n", "south": "s", "east": "e", "west": "w"}


def norm_line(s):
    words = re.sub(r"[^a-z0-9 ]", " ", "".join(
        c for c in unicodedata.normalize("NFKD", s or "") if not unicodedata.combining(c)).lower()).split()
    return " ".join(ABBR.get(w, w) for w in words)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    d = sys.argv[1]
    ctx = os.path.join(d, "context")
    res = {}
    for rt in ("Organization", "Practitioner", "PractitionerRole", "Patient", "Encounter", "CareTeam"):
        rows = load(os.path.join(ctx, rt + ".ndjson"))
        ids = {}
        for r in rows:
            if r.get("resourceType") != rt:
                err("%s: wrong resourceType %r" % (rt, r.get("resourceType")))
            if r.get("id") in ids:
                err("%s: duplicate id %s" % (rt, r.get("id")))
            ids[r.get("id")] = r
        res[rt] = ids
        if rt != "CareTeam" and not rows:
            err("context/%s.ndjson missing or empty" % rt)

    def resolve(ref, where):
        if not isinstance(ref, str) or "/" not in ref:
            err("%s: bad reference %r" % (where, ref))
            return None
        t, i = ref.split("/", 1)
        if i not in res.get(t, {}):
            err("%s: unresolved reference %s" % (where, ref))
            return None
        return res[t][i]

    for o in res["Organization"].values():
        if "partOf" in o:
            resolve(o["partOf"]["reference"], "Organization/" + o["id"])
    for r in res["PractitionerRole"].values():
        resolve(r["practitioner"]["reference"], "PractitionerRole/" + r["id"])
        resolve(r["organization"]["reference"], "PractitionerRole/" + r["id"])
        if not r.get("code", [{}])[0].get("coding", [{}])[0].get("code"):
            err("PractitionerRole/%s without role code" % r["id"])
    for e in res["Encounter"].values():
        w = "Encounter/" + e["id"]
        resolve(e["subject"]["reference"], w)
        resolve(e["serviceProvider"]["reference"], w)
        for p in e.get("participant", []):
            resolve(p["individual"]["reference"], w)
        if e["class"]["code"] not in ("IMP", "AMB", "EMER", "OBSENC", "SS", "HH", "VR"):
            err(w + ": class " + e["class"]["code"])
        if "start" not in e.get("period", {}):
            err(w + ": no period.start")
    for c in res["CareTeam"].values():
        resolve(c["subject"]["reference"], "CareTeam/" + c["id"])
        for p in c.get("participant", []):
            resolve(p["member"]["reference"], "CareTeam/" + c["id"])
    login = {}
    for p in res["Practitioner"].values():
        for i in p.get("identifier", []):
            if i.get("system", "").endswith("/sid/login"):
                if i["value"] in login:
                    err("duplicate login " + i["value"])
                login[i["value"]] = p
    # ---------------------------------------------------------------- events
    evs = load(os.path.join(d, "AuditEvent.ndjson"))
    labs = load(os.path.join(d, "labels.ndjson"))
    if len(evs) != len(labs):
        err("events %d != labels %d" % (len(evs), len(labs)))
    seen = set()
    prev = None
    per_day = {}
    incidents = {}
    self_legit = fam_legit = 0
    pat_key = {}
    for pid, p in res["Patient"].items():
        n = p.get("name", [{}])[0]
        a = p.get("address", [{}])[0]
        pat_key[pid] = (norm(n.get("family")), norm((n.get("given") or [""])[0]), p.get("birthDate"),
                        norm_line((a.get("line") or [""])[0]), a.get("postalCode"))
    pr_key = {}
    for lg, p in login.items():
        n = p.get("name", [{}])[0]
        a = p.get("address", [{}])[0]
        pr_key[lg] = (norm(n.get("family")), norm((n.get("given") or [""])[0]), p.get("birthDate"),
                      norm_line((a.get("line") or [""])[0]), a.get("postalCode"))
    for k, ev in enumerate(evs):
        w = "event line %d" % (k + 1)
        for f in ("id", "recorded", "action", "outcome", "agent", "entity"):
            if f not in ev:
                err("%s: missing %s" % (w, f))
        if ev.get("id") in seen:
            err("%s: duplicate id" % w)
        seen.add(ev.get("id"))
        rec = ev.get("recorded", "")
        if not RFC.match(rec) or rec.endswith("Z"):
            err("%s: recorded %r is not RFC 3339 with a local offset" % (w, rec))
            continue
        t = datetime.fromisoformat(rec)
        if prev and t < prev:
            err("%s: not sorted by recorded" % w)
        prev = t
        req = [a for a in ev["agent"] if a.get("requestor")]
        if len(req) != 1:
            err("%s: %d requestor agents" % (w, len(req)))
            continue
        lg = req[0].get("who", {}).get("identifier", {}).get("value")
        if lg not in login:
            err("%s: unknown login %r" % (w, lg))
        net = req[0].get("network", {})
        if net.get("type") not in ("1", "2") or not net.get("address"):
            err("%s: bad network %r" % (w, net))
        if not req[0].get("purposeOfUse"):
            err("%s: no purposeOfUse" % w)
        pats = [e for e in ev["entity"] if e.get("role", {}).get("code") == "1"]
        if len(pats) != 1:
            err("%s: %d patient entities" % (w, len(pats)))
            continue
        pref = pats[0].get("what", {}).get("reference", "")
        if not pref.startswith("Patient/") or not resolve(pref, w):
            continue
        if action_ok(ev) is False:
            err("%s: action/subtype mismatch" % w)
        day = rec[:10]
        per_day[day] = per_day.get(day, 0) + 1
        if k < len(labs):
            lb = labs[k]
            if lb.get("id") != ev["id"]:
                err("label line %d: id %r != event id %r" % (k + 1, lb.get("id"), ev["id"]))
            if lb.get("case") != "%s|%s" % (lg, day):
                err("label line %d: case %r != %s|%s" % (k + 1, lb.get("case"), lg, day))
            if "incident" in lb:
                if lb.get("kind") not in REASONS or lb.get("expected_reasons") != REASONS[lb["kind"]]:
                    err("label line %d: bad kind/expected_reasons" % (k + 1))
                incidents.setdefault(lb["incident"], []).append((lb["kind"], lb["case"], day))
            else:
                pk, uk = pat_key[pref[8:]], pr_key.get(lg)
                if uk and pk[0] == uk[0] and pk[2] == uk[2] and pk[1][:3] == uk[1][:3]:
                    self_legit += 1
                elif uk and pk[0] == uk[0] and pk[3] == uk[3] and pk[4] == uk[4]:
                    fam_legit += 1
    days = sorted(per_day)
    last4 = set(days[-4:])
    kinds = {}
    for iid, rows in sorted(incidents.items()):
        ks = set(r[0] for r in rows)
        cs = set(r[1] for r in rows)
        if len(ks) != 1 or len(cs) != 1:
            err("incident %s spans several kinds/cases: %s" % (iid, sorted(cs)))
        if not set(r[2] for r in rows) <= last4:
            err("incident %s outside the last 4 days" % iid)
        k = rows[0][0]
        kinds[k] = kinds.get(k, 0) + 1
    for k in REASONS:
        if k not in kinds:
            err("no incident of kind %s" % k)
    print("context: %s" % ", ".join("%s=%d" % (k, len(v)) for k, v in res.items()))
    print("events: %d over %d days (%.0f/day, min %d, max %d)" % (
        len(evs), len(days), len(evs) / max(1, len(days)), min(per_day.values() or [0]), max(per_day.values() or [0])))
    print("incidents: %d  %s" % (len(incidents), ", ".join("%s=%d" % kv for kv in sorted(kinds.items()))))
    print("legit events that look like SELF: %d, like FAMILY (surname+address): %d" % (self_legit, fam_legit))
    print("OK" if not errors else "%d ERRORS" % len(errors))
    sys.exit(1 if errors else 0)


def action_ok(ev):
    sub = (ev.get("subtype") or [{}])[0].get("code")
    exp = {"read": "R", "vread": "R", "search-type": "E", "create": "C", "update": "U", "delete": "D"}.get(sub)
    if exp is None:
        return None
    return ev.get("action") == exp


if __name__ == "__main__":
    main()
