"""Legitimate administrative and after-care work: admissions, pre-registration calls,
billing and coding batches after discharge, release of information, research screening,
care-team follow-up, death close-out and later mortality review, VIP care, OR nursing."""
import datetime as dt
from common import at
from events import PATTERNS, R, S, C

PATTERNS["or_case"] = [(R, "Patient", 0, 0, 1, 1), (R, "Consent", 5, 60, 0.7, 1), (S, "AllergyIntolerance", 5, 40, 0.6, 1),
                       (C, "Procedure", 900, 5400, 0.9, 1), (C, "Observation", 60, 900, 0.6, 2)]


def _next_weekday(d):
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


def plan_backoffice(ctx):
    """Billing/coding/letter dates for every finished encounter (from before or inside the window)."""
    rng = ctx.rng
    ctx.bill_on, ctx.code_on, ctx.letter_on = {}, {}, {}
    for e in ctx.encs:
        end = e.end.date()
        dead = e.died
        if e.cls in ("IMP", "SS"):
            dd = _next_weekday(end + dt.timedelta(days=rng.randint(1, 5) if dead else rng.randint(2, 21)))
            ctx.code_on.setdefault(dd, []).append(e)
            if e.cls == "IMP":
                ld = _next_weekday(end + dt.timedelta(days=rng.randint(0, 4)))
                ctx.letter_on.setdefault(ld, []).append(e)
        delay = rng.randint(1, 6) if dead else (rng.randint(4, 30) if e.cls == "IMP" else rng.randint(2, 16))
        ctx.bill_on.setdefault(_next_weekday(end + dt.timedelta(days=delay)), []).append(e)


def _batch(ctx, i, role, items, pattern, purpose, scenario, gap, unit_code=None, telework=0.0):
    rng = ctx.rng
    crew = ctx.shifts(i, lambda s, sh: s.role == role and (unit_code is None or s.unit.dept.code == unit_code))
    if not crew or not items:
        return
    items = sorted(items, key=lambda e: e.eid)
    rng.shuffle(items)
    per = [[] for _ in crew]
    for k, e in enumerate(items):
        per[k % len(crew)].append(e)
    for (s, sh), mine in zip(crew, per):
        home = s.home_ip is not None and rng.random() < telework
        t = sh.start + dt.timedelta(minutes=rng.uniform(10, 40))
        for e in mine:
            ws = ctx.home(s) if home else ctx.ws(s, s.unit)
            ctx.add(t, s, e.patient, pattern, ws, purpose, scenario, e, "home" if home else s.unit.code)
            t += dt.timedelta(seconds=rng.uniform(*gap))
            if t.hour == 12 and rng.random() < 0.1:
                t += dt.timedelta(minutes=45)
            if t > sh.end:
                t = sh.start + dt.timedelta(minutes=rng.uniform(30, 200))


def backoffice(ctx, i):
    day = ctx.clock.day_list[i]
    _batch(ctx, i, "billing-clerk", ctx.bill_on.get(day, []), "billing", "HPAYMT", "billing-batch", (120, 1000),
           telework=0.2)
    _batch(ctx, i, "medical-coder", ctx.code_on.get(day, []), "coding", "HOPERAT", "coding-batch", (700, 2700),
           telework=0.45)
    for d in ctx.org.clinical:
        items = [e for e in ctx.letter_on.get(day, []) if e.unit.dept is d]
        _batch(ctx, i, "medical-secretary", items, "letter", "TREAT", "discharge-letter", (300, 1500), unit_code=d.code)


def registration(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    adm, desk = ctx.org.unit_by_code["ADM-E"], ctx.org.unit_by_code["ADM-U"]
    for e in ctx.started(i, ("IMP",)):
        unit = adm if e.source == "elective" else desk
        t = e.start - dt.timedelta(minutes=rng.uniform(5, 40))
        reg = ctx.on_duty(t, lambda s, sh: sh.unit is unit) or ctx.on_duty(t, lambda s, sh: s.role == "registrar")
        if reg:
            s = rng.choice(reg)[0]
            ctx.add(t, s, e.patient, "registration", ctx.ws(s, s.unit), "HOPERAT", "admission-registration", e, unit.code)
    upcoming = []
    for k in range(1, 15):
        upcoming += [e for e in ctx.by_start_day.get(day + dt.timedelta(days=k), [])
                     if e.cls in ("AMB", "SS") or (e.cls == "IMP" and e.source == "elective")]
    recent = [e for k in range(1, 4) for e in ctx.by_end_day.get(day - dt.timedelta(days=k), [])]
    for s, sh in ctx.shifts(i, lambda s, sh: sh.unit is adm):
        for _ in range(rng.randint(5, 14)):
            pool = upcoming if (rng.random() < 0.7 or not recent) else recent
            if not pool:
                break
            e = rng.choice(pool)
            ctx.add(ctx.t_in(sh), s, e.patient, rng.choice(["appointment", "registration"]), ctx.ws(s, adm),
                    "HOPERAT", "preadmission-call" if pool is upcoming else "insurance-followup", e, adm.code)


def roi(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    done = [e for e in ctx.encs if e.end.date() < day and (day - e.end.date()).days < 120]
    dead = [e for e in done if e.died]
    for s, sh in ctx.shifts(i, lambda s, sh: s.role == "roi-clerk"):
        for _ in range(rng.randint(2, 6)):
            pool = dead if (dead and rng.random() < 0.25) else done
            e = rng.choice(pool)
            purpose = "PATRQT" if rng.random() < 0.75 else "HLEGAL"
            ctx.add(ctx.t_in(sh), s, e.patient, "roi", ctx.ws(s, s.unit), purpose,
                    "release-of-information" + ("-deceased" if e.died else ""), e, s.unit.code)


def research(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    cands = [e for k in range(-20, 8) for e in ctx.by_start_day.get(day + dt.timedelta(days=k), [])
             if e.unit.dept.code in ("ONC", "CAR", "NEU", "INF") and e.cls != "EMER"]
    dead = [e for e in ctx.encs if e.died and e.unit.dept.code in ("ONC", "CAR", "REA", "NEU")
            and e.end.date() < day - dt.timedelta(days=20)]
    for s, sh in ctx.shifts(i, lambda s, sh: s.role == "research-coordinator"):
        home = s.home_ip is not None and rng.random() < 0.3
        for _ in range(rng.randint(6, 18)):
            if dead and rng.random() < 0.08:
                e, tag = rng.choice(dead), "research-followup-deceased"
            elif cands:
                e, tag = rng.choice(cands), "research-screening"
            else:
                break
            ctx.add(ctx.t_in(sh), s, e.patient, "research", ctx.home(s) if home else ctx.ws(s, s.unit), "HRESCH",
                    tag, e, "home" if home else s.unit.code)


def careteam_followup(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    for s, sh in ctx.shifts(i, lambda s, sh: sh.kind == "W" and s.sid in ctx.teams_by_member):
        for ct in ctx.teams_by_member[s.sid]:
            if ct.end is not None and ct.end < day:
                continue
            if ct.patient.deceased is not None and ct.patient.deceased.date() < day:
                continue
            if rng.random() < (0.6 if ct.category == "VIP" else 0.035):
                ctx.add(ctx.t_in(sh), s, ct.patient, rng.choice(["results", "chart", "letter"]), ctx.ws(s, ct.unit, 0.7),
                        "TREAT", "careteam-followup", None, ct.ctid)


def deaths(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    for e in ctx.by_end_day.get(day, []) + ctx.by_end_day.get(day + dt.timedelta(days=1), []):
        if not e.died or e.patient.deceased.date() != day:
            continue
        t = e.patient.deceased + dt.timedelta(minutes=rng.uniform(15, 90))
        docs = ctx.on_duty(t, lambda s, sh: s.role in ("physician", "resident") and
                           (s.unit.dept is e.unit.dept or sh.kind in ("G", "D", "N") and sh.unit is e.unit))
        docs = [x for x in docs if x[0] in e.staff()] or docs or \
            ctx.on_duty(t, lambda s, sh: sh.kind == "G" or (s.role == "physician" and s.unit.code == "URG-A"))
        if docs:
            s = rng.choice(docs)[0]
            ctx.add(t, s, e.patient, "death", ctx.ws(s, e.unit), "TREAT", "death-certificate", e, e.unit.code)
        for s, sh in ctx.on_duty(t, lambda s, sh: sh.unit is e.unit and s.role == "nurse")[:2]:
            ctx.add(t + dt.timedelta(minutes=rng.uniform(5, 120)), s, e.patient, "chart", ctx.ws(s, e.unit), "TREAT",
                    "death-nursing", e, e.unit.code)
    if day.weekday() < 5:
        for e in ctx.encs:
            if e.died and 10 <= (day - e.patient.deceased.date()).days <= 70 and rng.random() < 0.006:
                docs = ctx.shifts(i, lambda s, sh: s.role == "physician" and s.unit.dept is e.unit.dept and sh.kind == "W")
                if docs:
                    s, sh = rng.choice(docs)
                    ctx.add(ctx.t_in(sh), s, e.patient, "audit", ctx.ws(s, s.unit), "HOPERAT", "mortality-review",
                            e, e.unit.code)


def vip_care(ctx, i, stories):
    rng = ctx.rng
    for v, e, ct in stories:
        for s, sh in ctx.shifts(i, lambda s, sh: s in ct.members):
            a, b = max(sh.start, e.start), min(sh.end, e.end + dt.timedelta(hours=6))
            if b <= a:
                continue
            for _ in range(rng.randint(3, 8)):
                ctx.add(ctx.t_between(a, b), s, v, rng.choice(["chart", "results", "rounds_note", "nurse_care"]
                                                          if s.role == "nurse" else ["chart", "results", "rounds_note"]),
                        ctx.ws(s, e.unit), "TREAT", "vip-care", e, e.unit.code)


def operating_room(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    if day.weekday() >= 5:
        return
    for e in ctx.started(i, ("IMP",)) + ctx.started(i - 1, ("IMP",)) if i > 0 else ctx.started(i, ("IMP",)):
        if e.unit.code not in ("CHI-H", "ORT-H", "GYN-M") or rng.random() > 0.6:
            continue
        t = at(day, rng.uniform(8, 16))
        if not (e.start <= t < e.end):
            continue
        crew = ctx.on_duty(t, lambda s, sh: s.unit.code == "CHI-B")
        for s, sh in crew[:rng.randint(1, 2)]:
            ctx.add(t + dt.timedelta(minutes=rng.uniform(0, 20)), s, e.patient, "or_case", ctx.ws(s, s.unit),
                    "TREAT", "operating-room", e, "CHI-B")
