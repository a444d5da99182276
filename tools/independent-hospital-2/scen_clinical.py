"""Legitimate clinical work: ward nursing and census views, physician rounds, night cover,
home on-call, evening remote reading, consults from other departments."""
import datetime as dt
from common import at

CONSULT_DEPTS = ["CAR", "NEU", "INF", "GER", "PSY", "GAS", "PNE", "MED", "CHI", "ORT", "ONC"]


def _overlap(e, sh):
    return e.start < sh.end and e.end > sh.start


def _t_stay(ctx, e, sh, lo=0.0, hi=1.0):
    a = max(sh.start + (sh.end - sh.start) * lo, e.start + dt.timedelta(minutes=5))
    b = min(sh.start + (sh.end - sh.start) * hi, e.end - dt.timedelta(minutes=5))
    return ctx.t_between(a, b) if b > a else None


def ward_nursing(ctx, i):
    rng = ctx.rng
    for u in ctx.org.wards:
        for kind in ("D", "N"):
            crew = ctx.shifts(i, lambda s, sh: sh.unit is u and sh.kind == kind and s.role in ("nurse", "nurse-assistant"))
            if not crew:
                continue
            sh0 = crew[0][1]
            present = [e for e in ctx.inpatients(i, u) if _overlap(e, sh0)]
            if not present:
                continue
            nurses = [c for c in crew if c[0].role == "nurse"] or crew
            rng.shuffle(present)
            for s, sh in crew:
                if rng.random() < (0.38 if s.role == "nurse" else 0.15):
                    t = sh.start + dt.timedelta(minutes=rng.uniform(4, 35))
                    ws = ctx.ws(s, u)
                    for e in sorted(present, key=lambda e: e.eid):
                        if e.start <= t < e.end:
                            ctx.add(t, s, e.patient, "glance", ws, "TREAT", "ward-census", e, u.code)
                            t += dt.timedelta(seconds=rng.uniform(3, 22))
            for k, e in enumerate(present):
                s, sh = nurses[k % len(nurses)]
                n = rng.choice([1, 1, 2, 2, 3]) if kind == "D" else rng.choice([0, 1, 1, 1, 2])
                for _ in range(n):
                    t = _t_stay(ctx, e, sh)
                    if t is not None:
                        pat = rng.choice(["nurse_care", "nurse_care", "vitals", "chart"])
                        ctx.add(t, s, e.patient, pat, ctx.ws(s, u), "TREAT", "ward-nursing", e, u.code)
                for a, ash in crew:
                    if a.role == "nurse-assistant" and rng.random() < 0.3:
                        t = _t_stay(ctx, e, ash)
                        if t is not None:
                            ctx.add(t, a, e.patient, "vitals", ctx.ws(a, u), "TREAT", "ward-nursing", e, u.code)
            for s, sh in nurses:
                if rng.random() < 0.5:
                    e = rng.choice(present)
                    t = _t_stay(ctx, e, sh)
                    if t is not None:
                        ctx.add(t, s, e.patient, "chart", ctx.ws(s, u), "TREAT", "ward-cover-colleague", e, u.code)


def physician_rounds(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    for d in ctx.org.depts:
        units = [u for u in d.units if u.kind in ("ward", "icu")]
        if not units:
            continue
        pats = [e for u in units for e in ctx.inpatients(i, u)]
        if not pats:
            continue
        docs = ctx.shifts(i, lambda s, sh: s.unit.dept is d and s.role in ("physician", "resident")
                          and sh.kind in ("W", "RD", "D"))
        if not docs:
            continue
        seniors = [x for x in docs if x[0].role == "physician"] or docs
        working = {x[0].sid: x for x in docs}
        for s, sh in docs:
            if rng.random() < 0.25:
                t = sh.start + dt.timedelta(minutes=rng.uniform(5, 40))
                ws = ctx.ws(s, s.unit, 0.6)
                for e in pats:
                    if e.start <= t < e.end:
                        ctx.add(t, s, e.patient, "glance", ws, "TREAT", "physician-census", e, d.code)
                        t += dt.timedelta(seconds=rng.uniform(3, 25))
        weekend = day.weekday() >= 5
        for e in pats:
            if weekend and rng.random() < 0.55:
                continue
            att = [s for s, c in e.participants if c == "ATND" and s.sid in working]
            s, sh = working[att[0].sid] if att else rng.choice(seniors)
            t = _t_stay(ctx, e, sh, 0.02, 0.45)
            if t is None:
                t = _t_stay(ctx, e, sh)
            if t is None:
                continue
            ctx.add(t, s, e.patient, "rounds_note", ctx.ws(s, e.unit, 0.4), "TREAT", "physician-rounds", e, d.code)
            for r, c in e.participants:
                if r.role == "resident" and r.sid in working and rng.random() < 0.5:
                    t2 = _t_stay(ctx, e, working[r.sid][1], 0.0, 0.9)
                    if t2:
                        ctx.add(t2, r, e.patient, rng.choice(["order", "chart", "rounds_note"]), ctx.ws(r, e.unit),
                                "TREAT", "physician-rounds", e, d.code)
            if rng.random() < 0.35:
                t3 = _t_stay(ctx, e, sh, 0.5, 1.0)
                if t3:
                    ctx.add(t3, s, e.patient, rng.choice(["results", "results", "order"]), ctx.ws(s, e.unit, 0.6),
                            "TREAT", "physician-followup", e, d.code)


def night_cover(ctx, i):
    """Residents on night duty cover every ward; seniors on home call answer from home."""
    rng = ctx.rng
    allpats = ctx.inpatients(i)
    for s, sh in ctx.shifts(i, lambda s, sh: sh.kind == "G"):
        for _ in range(rng.randint(4, 12)):
            t = ctx.t_in(sh)
            here = [e for e in allpats if e.start <= t < e.end and e.unit.dept.code not in ("PSY", "URG")]
            if here:
                e = rng.choice(here)
                ctx.add(t, s, e.patient, rng.choice(["chart", "order", "results", "rounds_note"]),
                        ctx.ws(s, e.unit), "TREAT", "night-cover", e, e.unit.code)
    for d in ctx.org.clinical:
        if rng.random() > 0.35:
            continue
        doc = ctx.roster.home_call(i, d)
        if doc is None or doc.home_ip is None:
            continue
        t0 = at(ctx.clock.day_list[i], rng.uniform(20.5, 26.0))
        pats = [e for e in allpats if e.unit.dept is d and e.start <= t0 < e.end]
        for k in range(min(len(pats), rng.randint(1, 3))):
            e = pats[k]
            ctx.add(t0 + dt.timedelta(minutes=4 * k), doc, e.patient, rng.choice(["results", "chart"]),
                    ctx.home(doc), "TREAT", "home-on-call", e, d.code)


def remote_evening(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    for s, sh in ctx.shifts(i, lambda s, sh: s.home_ip is not None and s.role in ("physician", "resident") and sh.kind == "W"):
        if rng.random() > s.remote_habit:
            continue
        mine = [e for e in ctx.inpatients(i) if s in e.staff()]
        if len(mine) < 2:
            mine += [e for e in ctx.inpatients(i) if e.unit.dept is s.unit.dept][:6]
        nxt = ctx.by_start_day.get(day + dt.timedelta(days=1), [])
        mine += [e for e in nxt if e.cls == "AMB" and s in e.staff()]
        if not mine:
            continue
        t = at(day, rng.uniform(19.5, 22.5))
        for _ in range(rng.randint(2, 6)):
            e = rng.choice(mine)
            ctx.add(t, s, e.patient, rng.choice(["results", "chart", "chart"]), ctx.home(s), "TREAT",
                    "remote-evening", e, "home")
            t += dt.timedelta(minutes=rng.uniform(1, 12))


def consults(ctx, i):
    rng = ctx.rng
    if ctx.clock.day_list[i].weekday() >= 5:
        return
    for e in ctx.inpatients(i):
        if rng.random() > 0.07:
            continue
        dcode = rng.choice([c for c in CONSULT_DEPTS if c != e.unit.dept.code])
        d = ctx.org.dept_by_code[dcode]
        docs = ctx.shifts(i, lambda s, sh: s.unit.dept is d and s.role == "physician" and sh.kind == "W")
        if not docs:
            continue
        s, sh = rng.choice(docs)
        t = _t_stay(ctx, e, sh, 0.1, 0.9)
        if t is None or s in e.staff():
            continue
        consult_call(ctx, t, s, e, e.unit)


def consult_call(ctx, t, s, e, unit):
    rng = ctx.rng
    ws = ctx.ws(s, unit, 0.5)
    purpose = "TREAT"
    if "V" in e.patient.labels:
        sess = ctx.add(t, s, e.patient, "glance", ws, "TREAT", "consult-denied-restricted", e, unit.code)
        sess.fail = "4"
        t += dt.timedelta(seconds=rng.uniform(20, 90))
        purpose = "BTG"
    ctx.add(t, s, e.patient, "chart", ws, purpose, "consult", e, unit.code)
    ctx.add(t + dt.timedelta(minutes=rng.uniform(15, 50)), s, e.patient, "rounds_note", ctx.ws(s, unit, 0.7),
            purpose, "consult", e, unit.code)
