"""Incident relation checks for check.py, recomputed from the context files."""
import collections
import datetime as dt
import re
import unicodedata

EMER_ORG_PREFIX = "org-urg"


def norm(s):
    s = "".join(c for c in unicodedata.normalize("NFD", s or "") if unicodedata.category(c) != "Mn").lower()
    s = re.sub(r"[,'\-.]", " ", s)
    return " ".join(s.split())


def person_key(name, birth):
    return (norm(name.get("family")), norm((name.get("given") or [""])[0]), birth)


def addr_parts(a):
    lines = a.get("line", [])
    l0 = norm(lines[0]) if lines else ""
    m = re.match(r"^(\d+\s*(?:bis|ter)?)\s+(.*)$", l0)
    num, street = (m.group(1).replace(" ", ""), m.group(2)) if m else ("", l0)
    return {"num": num, "street": street, "apt": norm(" ".join(lines[1:])), "pc": a.get("postalCode", "")}


def _instant(s):
    return dt.datetime.fromisoformat(s)


def verify_incidents(err, inc_events, k, login_to_prac, pats, prac_keys, links, enc_by_pat, prac_units, orgs,
                     legit_by_user):
    per_kind = collections.Counter()
    for inc_id, rows in sorted(inc_events.items()):
        lab0 = rows[0][0]
        kind, reasons = lab0["kind"], lab0["expected_reasons"]
        per_kind[kind] += 1
        cases = {r[0]["case"] for r in rows}
        if len(cases) != 1:
            err("%s spans several cases %s" % (inc_id, sorted(cases)))
        login = rows[0][2]
        prac = login_to_prac[login]
        pa = addr_parts(prac["address"][0])
        pkey = person_key(prac["name"][0], prac["birthDate"])
        targets = sorted({r[3] for r in rows})
        t0 = min(r[4] for r in rows)
        for pid in targets:
            pat = pats[pid]
            ta = addr_parts(pat["address"][0])
            tkey = person_key(pat["name"][0], pat["birthDate"])
            same_house = (ta["num"], ta["street"], ta["apt"], ta["pc"]) == (pa["num"], pa["street"], pa["apt"], pa["pc"])
            same_street = (ta["street"], ta["pc"]) == (pa["street"], pa["pc"])
            linked = (prac["id"], pid) in links
            labels = {s["code"] for s in pat.get("meta", {}).get("security", [])}
            if kind not in ("SELF", "COMPROMISED") and linked:
                err("%s: user %s has a care link to %s" % (inc_id, login, pid))
            if kind == "SELF" and tkey != pkey:
                err("%s: SELF target %s does not match user %s" % (inc_id, pid, login))
            if kind == "FAMILY" and (not same_house or tkey == pkey):
                err("%s: FAMILY target %s not in the user's household" % (inc_id, pid))
            if kind == "NEIGHBOR" and (not same_street or ta["num"] == pa["num"]):
                err("%s: NEIGHBOR target %s not on the same street / different house" % (inc_id, pid))
            if kind == "COWORKER" and (tkey not in prac_keys or prac_keys[tkey] == prac["id"]):
                err("%s: COWORKER target %s is not another staff member" % (inc_id, pid))
            if kind == "VIP" and "CEL" not in labels:
                err("%s: VIP target %s lacks CEL" % (inc_id, pid))
            if kind == "DECEASED":
                if "deceasedDateTime" not in pat or _instant(pat["deceasedDateTime"]) > t0 - dt.timedelta(days=14):
                    err("%s: DECEASED target %s did not die weeks before" % (inc_id, pid))
            if kind in ("SNOOPING", "BREAK_GLASS", "VIP", "DECEASED", "COWORKER"):
                if same_street or norm(pat["name"][0].get("family")) == pkey[0]:
                    err("%s: %s target %s shares street/surname with the user" % (inc_id, kind, pid))
            if kind in ("SNOOPING", "BREAK_GLASS") and (tkey in prac_keys or "CEL" in labels or "deceasedDateTime" in pat):
                err("%s: stranger target %s is staff/VIP/deceased" % (inc_id, pid))
            if kind == "BREAK_GLASS":
                for e in enc_by_pat.get(pid, []):
                    if e["class"]["code"] == "EMER":
                        s = _instant(e["period"]["start"])
                        en = _instant(e["period"].get("end", "2999-01-01T00:00:00+00:00"))
                        if s - dt.timedelta(hours=12) <= t0 <= en + dt.timedelta(hours=24):
                            err("%s: BREAK_GLASS target %s is an emergency patient" % (inc_id, pid))
        purposes = {r[5] for r in rows}
        if kind == "BREAK_GLASS":
            if "BTG" not in purposes:
                err("%s: no BTG purpose" % inc_id)
            if any(u.startswith(EMER_ORG_PREFIX) for u in prac_units[prac["id"]]):
                err("%s: BREAK_GLASS user belongs to the ED" % inc_id)
        elif "BTG" in purposes:
            err("%s: unexpected BTG" % inc_id)
        if kind == "COMPROMISED":
            if len(targets) < 50:
                err("%s: only %d records" % (inc_id, len(targets)))
            base = legit_by_user[login]
            ips = {r[6]["address"] for r in rows}
            new_loc = not (ips & base["addr"])
            hours = {r[4].hour for r in rows}
            usual = sum(base["hours"][h] for h in hours)
            if ("UNUSUAL_LOCATION" in reasons) != new_loc:
                err("%s: UNUSUAL_LOCATION expectation inconsistent" % inc_id)
            if ("UNUSUAL_TIME" in reasons) != (usual == 0):
                err("%s: UNUSUAL_TIME expectation inconsistent (usual=%d)" % (inc_id, usual))
        else:
            exp = {"SELF": ["SELF"], "FAMILY": ["FAMILY"], "NEIGHBOR": ["NEIGHBOR"], "COWORKER": ["COWORKER"],
                   "VIP": ["VIP"], "DECEASED": ["DECEASED"], "SNOOPING": ["NO_RELATIONSHIP"],
                   "BREAK_GLASS": ["BREAK_GLASS"]}[kind]
            if reasons != exp:
                err("%s: expected_reasons %s" % (inc_id, reasons))
            if any(r[6]["type"] != "1" for r in rows):
                err("%s: snooper not on a workstation" % inc_id)
            if rows[0][6]["address"] not in legit_by_user[login]["addr"]:
                err("%s: snooper workstation never used legitimately" % inc_id)
    if k is not None:
        for kind in ("SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "SNOOPING", "COMPROMISED", "BREAK_GLASS"):
            if per_kind[kind] != k:
                err("kind %s has %d incidents, expected %d" % (kind, per_kind[kind], k))
    print("incidents per kind:", dict(sorted(per_kind.items())))
