"""Legitimate work around emergency visits, outpatient clinics, day hospital, and the
support services that reach patients through orders: laboratory, imaging, pharmacy,
physiotherapy, social work."""
import datetime as dt
from common import at
from scen_clinical import consult_call

ED_KINDS = ("D", "N")


def _ed_purpose(rng, p):
    if "V" in p.labels or ("R" in p.labels and rng.random() < 0.5):
        return "BTG"
    r = rng.random()
    return "TREAT" if r < 0.66 else ("ETREAT" if r < 0.96 else "BTG")


def ed_care(ctx, i):
    rng = ctx.rng
    ed = ctx.org.unit_by_code["URG-A"]
    desk = ctx.org.unit_by_code["ADM-U"]
    for e in ctx.started(i, ("EMER",)):
        p = e.patient
        a = e.start
        reg = ctx.on_duty(a, lambda s, sh: sh.unit is desk)
        if reg:
            s = rng.choice(reg)[0]
            ctx.add(a + dt.timedelta(minutes=rng.uniform(1, 8)), s, p, "registration", ctx.ws(s, desk),
                    "HOPERAT", "ed-registration", e, desk.code)
        crew = [x[0] for x in ctx.on_duty(a + dt.timedelta(minutes=15), lambda s, sh: sh.unit is ed)]
        team = e.staff() + [c for c in crew if c.role == "nurse" and rng.random() < 0.15][:2]
        purpose = _ed_purpose(rng, p)
        for s in team:
            t0 = a + dt.timedelta(minutes=rng.uniform(5, 25))
            if purpose == "BTG" and "V" in p.labels and rng.random() < 0.7:
                ctx.add(t0, s, p, "glance", ctx.ws(s, ed), "TREAT", "ed-denied-restricted", e, ed.code).fail = "4"
                t0 += dt.timedelta(seconds=rng.uniform(10, 60))
            if s.role == "nurse":
                ctx.add(t0, s, p, "triage", ctx.ws(s, ed), purpose, "ed-care", e, ed.code)
                for _ in range(rng.randint(0, 1)):
                    ctx.add(ctx.t_between(t0, e.end), s, p, rng.choice(["nurse_care", "vitals"]), ctx.ws(s, ed),
                            purpose, "ed-care", e, ed.code)
            else:
                t1 = t0 + dt.timedelta(minutes=rng.uniform(10, 80))
                ctx.add(min(t1, e.end), s, p, "ed_doc", ctx.ws(s, ed), purpose, "ed-care", e, ed.code)
                ctx.add(ctx.t_between(t1, e.end + dt.timedelta(minutes=30)), s, p, "results", ctx.ws(s, ed),
                        purpose, "ed-care", e, ed.code)
    # tracking board: ED staff glance over the current patients
    for s, sh in ctx.shifts(i, lambda s, sh: sh.unit is ed):
        for _ in range(rng.randint(1, 3)):
            t = ctx.t_in(sh)
            here = [e for e in ctx.encs_active_ed(t)] if hasattr(ctx, "encs_active_ed") else []
            if not here:
                continue
            ws = ctx.ws(s, ed)
            for e in here[:rng.randint(3, 9)]:
                ctx.add(t, s, e.patient, "glance", ws, "TREAT", "ed-board", e, ed.code)
                t += dt.timedelta(seconds=rng.uniform(2, 15))


def ed_admission_review(ctx, i):
    """The ward physician who admits a patient reads the record while the patient is still in the ED."""
    rng = ctx.rng
    for e in ctx.started(i, ("IMP",)):
        if e.source != "ed":
            continue
        docs = [s for s, c in e.participants if s.role in ("physician", "resident")]
        on = [x[0] for x in ctx.on_duty(e.start - dt.timedelta(minutes=30),
                                        lambda s, sh: s.role in ("physician", "resident") and s.unit.dept is e.unit.dept
                                        or sh.kind == "G")]
        cands = [s for s in docs if s in on] or on
        if cands:
            s = rng.choice(cands)
            consult_call(ctx, e.start - dt.timedelta(minutes=rng.uniform(20, 70)), s, e, ctx.org.unit_by_code["URG-A"])


def outpatient(ctx, i):
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    adm = ctx.org.unit_by_code["ADM-E"]
    for e in ctx.started(i, ("AMB", "SS")):
        p, u, t = e.patient, e.unit, e.start
        secs = [x[0] for x in ctx.on_duty(t, lambda s, sh: s.role == "medical-secretary" and s.unit.dept is u.dept)]
        regs = [x[0] for x in ctx.on_duty(t, lambda s, sh: sh.unit is adm)]
        if secs and (rng.random() < 0.55 or not regs):
            s = rng.choice(secs)
            ctx.add(t - dt.timedelta(minutes=rng.uniform(3, 20)), s, p, "appointment", ctx.ws(s, s.unit),
                    "TREAT", "clinic-checkin", e, u.code)
        elif regs:
            s = rng.choice(regs)
            ctx.add(t - dt.timedelta(minutes=rng.uniform(5, 30)), s, p, "registration", ctx.ws(s, adm),
                    "HOPERAT", "clinic-registration", e, adm.code)
        for s, c in e.participants:
            if s.role == "physician":
                ctx.add(t - dt.timedelta(minutes=rng.uniform(0, 6)), s, p, "chart", ctx.ws(s, u, 0.8), "TREAT",
                        "clinic-visit", e, u.code)
                ctx.add(t + (e.end - t) * rng.uniform(0.5, 1.2), s, p, "rounds_note", ctx.ws(s, u, 0.8), "TREAT",
                        "clinic-visit", e, u.code)
                if i > 0 and rng.random() < 0.15:
                    ctx.add(at(day - dt.timedelta(days=1), rng.uniform(16, 18.5)), s, p, "chart", ctx.ws(s, u, 0.9),
                            "TREAT", "clinic-previsit", e, u.code)
            else:
                n = 3 if e.cls == "SS" else 1
                for _ in range(n):
                    ctx.add(ctx.t_between(t, e.end), s, p, "nurse_care" if e.cls == "SS" else "vitals",
                            ctx.ws(s, u), "TREAT", "clinic-visit", e, u.code)
        if e.cls == "SS":
            ph = ctx.on_duty(t, lambda s, sh: s.role == "pharmacist")
            if ph:
                s = rng.choice(ph)[0]
                ctx.add(t - dt.timedelta(minutes=rng.uniform(20, 90)), s, p, "pharm_verify", ctx.ws(s, s.unit),
                        "TREAT", "pharmacy-chemo", e, "PHA-P")
        # letter typed by the secretary one to four days later
        if secs and rng.random() < 0.7:
            later = day + dt.timedelta(days=rng.randint(1, 4))
            k = (later - ctx.clock.start).days
            if k < ctx.clock.days and later.weekday() < 5:
                s = rng.choice(secs)
                ctx.add(at(later, rng.uniform(8.5, 16.5)), s, p, "letter", ctx.ws(s, s.unit), "TREAT",
                        "clinic-letter", e, u.code)


def _tech(ctx, t, codes):
    cands = ctx.on_duty(t, lambda s, sh: sh.unit.code in codes and s.role in ("lab-technician", "radiographer"))
    return ctx.rng.choice(cands)[0] if cands else None


def orders(ctx, i):
    """Lab, imaging, pharmacy, physiotherapy and social work reach patients through orders."""
    rng = ctx.rng
    day = ctx.clock.day_list[i]
    weekday = day.weekday() < 5
    work = []
    for e in ctx.inpatients(i):
        if rng.random() < (0.9 if e.unit.kind == "icu" else 0.5):
            work.append((e, at(day, rng.uniform(7.6, 11.5)), "lab"))
        if e.imaging and e.start.date() <= day <= e.start.date() + dt.timedelta(days=2) and rng.random() < 0.45:
            work.append((e, at(day, rng.uniform(8, 19)), "img"))
        if e.start.date() == day or rng.random() < 0.25:
            work.append((e, at(day, rng.uniform(9, 17.5)), "pha"))
        if weekday and e.unit.code in ("ORT-H", "NEU-H", "NEU-V", "GER-H", "REA-H", "PNE-H", "CHI-H") and rng.random() < 0.5:
            work.append((e, at(day, rng.uniform(9, 16.5)), "physio"))
        if weekday and e.unit.dept.code in ("GER", "PSY", "ONC") and rng.random() < 0.1:
            work.append((e, at(day, rng.uniform(9.5, 16.5)), "social"))
    for e in ctx.started(i, ("EMER", "AMB", "SS")):
        if e.labs:
            work.append((e, e.start + dt.timedelta(minutes=rng.uniform(30, 100)), "lab"))
        if e.imaging:
            work.append((e, e.start + dt.timedelta(minutes=rng.uniform(20, 120)), "img"))
        if "SDV" in e.patient.labels and weekday:
            work.append((e, at(day, rng.uniform(10, 16)), "social"))
    for e, t, kind in work:
        p = e.patient
        if e.cls == "IMP" and not (e.start <= t < e.end):
            continue
        if kind == "lab":
            lab = rng.choice(["LAB-B", "LAB-B", "LAB-H", "LAB-M"] if t.hour >= 7 and t.hour < 21 else ["LAB-B", "LAB-H"])
            s = _tech(ctx, t, (lab,)) or _tech(ctx, t, ("LAB-B", "LAB-H", "LAB-M"))
            if s:
                ctx.add(t, s, p, "lab_result", ctx.ws(s, s.unit), "TREAT", "lab-order", e, s.unit.code)
                bio = ctx.on_duty(t + dt.timedelta(hours=2), lambda x, sh: x.role == "physician" and x.unit.dept.code == "LAB")
                if bio and rng.random() < 0.35:
                    b = rng.choice(bio)[0]
                    ctx.add(t + dt.timedelta(minutes=rng.uniform(40, 200)), b, p, "lab_validate", ctx.ws(b, b.unit),
                            "TREAT", "lab-validation", e, b.unit.code)
        elif kind == "img":
            s = _tech(ctx, t, ("IMG-R",) if rng.random() < 0.6 else ("IMG-S",)) or _tech(ctx, t, ("IMG-R", "IMG-S"))
            if not s:
                continue
            ctx.add(t, s, p, "imaging_exam", ctx.ws(s, s.unit), "TREAT", "imaging-order", e, s.unit.code)
            t2 = t + dt.timedelta(minutes=rng.uniform(30, 240))
            rad = ctx.on_duty(t2, lambda x, sh: x.role == "physician" and x.unit.dept.code == "IMG")
            if rad:
                r = rng.choice(rad)[0]
                ctx.add(t2, r, p, "imaging_report", ctx.ws(r, r.unit), "TREAT", "imaging-report", e, r.unit.code)
            else:
                tele = [x for x in ctx.org.staff if x.role == "physician" and x.unit.dept.code == "IMG" and x.home_ip]
                if tele:
                    r = tele[i % len(tele)]
                    ctx.add(t2, r, p, "imaging_report", ctx.home(r), "TREAT", "imaging-teleradiology", e, "home")
        elif kind == "pha":
            ph = ctx.on_duty(t, lambda x, sh: x.role == "pharmacist")
            if ph:
                s = rng.choice(ph)[0]
                ctx.add(t, s, p, "pharm_verify", ctx.ws(s, s.unit), "TREAT", "pharmacy-validation", e, "PHA-P")
        elif kind == "physio":
            pt = ctx.on_duty(t, lambda x, sh: x.role == "physiotherapist")
            if pt:
                s = rng.choice(pt)[0]
                ctx.add(t, s, p, "physio", ctx.ws(s, e.unit if rng.random() < 0.5 else s.unit), "TREAT",
                        "physiotherapy", e, e.unit.code)
        elif kind == "social":
            sw = ctx.on_duty(t, lambda x, sh: x.role == "social-worker")
            if sw:
                s = rng.choice(sw)[0]
                ctx.add(t, s, p, "social", ctx.ws(s, s.unit), "TREAT", "social-work", e, "SOC-S")
