#!/usr/bin/env python3
"""Sanity checks for a generated hospital: python3 check.py DIR [--k K]
Verifies formats, references, ordering, labels, and that each planted incident's relation
really holds in the context data (recomputed from the FHIR files, not from generator state)."""
import base64
import collections
import datetime as dt
import json
import os
import re
import sys

from check_incidents import verify_incidents, person_key  # noqa: E402

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ERR = []


def load(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def err(msg):
    ERR.append(msg)
    if len(ERR) < 40:
        print("ERROR:", msg)


def main():
    d = sys.argv[1]
    k = int(sys.argv[sys.argv.index("--k") + 1]) if "--k" in sys.argv else None
    c = os.path.join(d, "context")
    orgs = {o["id"]: o for o in load(os.path.join(c, "Organization.ndjson"))}
    pracs = load(os.path.join(c, "Practitioner.ndjson"))
    roles = load(os.path.join(c, "PractitionerRole.ndjson"))
    pats = {p["id"]: p for p in load(os.path.join(c, "Patient.ndjson"))}
    encs = load(os.path.join(c, "Encounter.ndjson"))
    teams = load(os.path.join(c, "CareTeam.ndjson"))
    login_to_prac, prac_by_id = {}, {}
    for p in pracs:
        prac_by_id[p["id"]] = p
        for i in p["identifier"]:
            if i["value"] in login_to_prac:
                err("duplicate practitioner identifier %s" % i["value"])
            login_to_prac[i["value"]] = p
    for o in orgs.values():
        if "partOf" in o and o["partOf"]["reference"].split("/")[1] not in orgs:
            err("Organization partOf dangling " + o["id"])
    prac_units = collections.defaultdict(list)
    for r in roles:
        pid = r["practitioner"]["reference"].split("/")[1]
        oid = r["organization"]["reference"].split("/")[1]
        if pid not in prac_by_id or oid not in orgs:
            err("PractitionerRole dangling " + r["id"])
        prac_units[pid].append(oid)
    links = set()
    enc_by_pat = collections.defaultdict(list)
    for e in encs:
        pid = e["subject"]["reference"].split("/")[1]
        if pid not in pats:
            err("Encounter subject dangling " + e["id"])
        enc_by_pat[pid].append(e)
        for part in e.get("participant", []):
            ref = part["individual"]["reference"].split("/")[1]
            if ref not in prac_by_id:
                err("Encounter participant dangling " + e["id"])
            links.add((ref, pid))
        if e["serviceProvider"]["reference"].split("/")[1] not in orgs:
            err("Encounter org dangling " + e["id"])
    for t in teams:
        pid = t["subject"]["reference"].split("/")[1]
        for m in t["participant"]:
            links.add((m["member"]["reference"].split("/")[1], pid))
    prac_keys = {}
    for p in pracs:
        prac_keys[person_key(p["name"][0], p["birthDate"])] = p["id"]

    # ---------- events and labels
    labels_path = os.path.join(d, "labels.ndjson")
    n = 0
    prev = None
    ids = set()
    inc_events = collections.defaultdict(list)
    legit_by_user = collections.defaultdict(lambda: {"hours": collections.Counter(), "addr": set(), "n": 0})
    stats = collections.Counter()
    with open(os.path.join(d, "AuditEvent.ndjson"), encoding="utf-8") as fe, open(labels_path, encoding="utf-8") as fl:
        for line in fe:
            ev = json.loads(line)
            lab = json.loads(fl.readline() or "null")
            n += 1
            if lab is None or lab["id"] != ev["id"]:
                err("label/event mismatch at line %d" % n)
                break
            if ev["id"] in ids:
                err("duplicate event id " + ev["id"])
            ids.add(ev["id"])
            rec = ev["recorded"]
            if not RFC3339.match(rec) or rec.endswith("Z"):
                err("recorded not RFC3339 with explicit offset: " + rec)
            inst = dt.datetime.fromisoformat(rec)
            if prev is not None and inst < prev:
                err("events not sorted at line %d" % n)
            prev = inst
            req = [a for a in ev["agent"] if a.get("requestor")]
            if len(req) != 1:
                err("event %s has %d requestors" % (ev["id"], len(req)))
                continue
            a = req[0]
            login = a["who"]["identifier"]["value"]
            if login not in login_to_prac:
                err("unknown login " + login)
            if a["network"]["type"] not in ("1", "2") or not a.get("purposeOfUse"):
                err("network/purpose missing " + ev["id"])
            pe = [x for x in ev["entity"] if x.get("role", {}).get("code") == "1"]
            if len(pe) != 1 or pe[0]["what"]["reference"].split("/")[1] not in pats:
                err("patient entity missing/dangling " + ev["id"])
                continue
            for x in ev["entity"]:
                if "query" in x:
                    base64.b64decode(x["query"])
            pid = pe[0]["what"]["reference"].split("/")[1]
            case = "%s|%s" % (login, rec[:10])
            if lab["case"] != case:
                err("bad case %s vs %s" % (lab["case"], case))
            purpose = a["purposeOfUse"][0]["coding"][0]["code"]
            key = "inc" if "incident" in lab else "legit"
            stats[(key, "type" + a["network"]["type"])] += 1
            stats[(key, purpose)] += 1
            stats[(key, "outcome" + ev["outcome"])] += 1
            stats[(key, "n")] += 1
            if "incident" in lab:
                if not lab.get("kind") or not lab.get("expected_reasons"):
                    err("incident label incomplete " + ev["id"])
                inc_events[lab["incident"]].append((lab, ev, login, pid, inst, purpose, a["network"]))
            else:
                u = legit_by_user[login]
                u["hours"][inst.hour] += 1
                u["addr"].add(a["network"]["address"])
                u["n"] += 1
        if fl.readline():
            err("labels has more lines than events")
    print("events: %d, incidents: %d" % (n, len(inc_events)))
    verify_incidents(err, inc_events, k, login_to_prac, pats, prac_keys, links, enc_by_pat, prac_units, orgs, legit_by_user)
    for key in ("legit", "inc"):
        tot = stats[(key, "n")] or 1
        print("%-5s n=%d ip=%.3f%% BTG=%.3f%% ETREAT=%.3f%% fail=%.3f%%" % (
            key, tot, 100.0 * stats[(key, "type2")] / tot, 100.0 * stats[(key, "BTG")] / tot,
            100.0 * stats[(key, "ETREAT")] / tot, 100.0 * (tot - stats[(key, "outcome0")]) / tot))
    print("OK" if not ERR else "FAILED with %d errors" % len(ERR))
    return 1 if ERR else 0


if __name__ == "__main__":
    sys.exit(main())
