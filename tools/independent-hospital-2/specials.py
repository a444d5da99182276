"""Hand-placed clinical stories: celebrity patients with genuine care teams, and staff
members treated by their own colleagues."""
import datetime as dt
import chronic
from common import at


def add_vips(rng, clinic, org, clock, vips, teams):
    """VIP 0: admitted through the ED in the middle of the window; VIP 1: ED visit then follow-up."""
    stories = []
    if not vips:
        return stories
    v0 = vips[0]
    unit = org.unit_by_code[rng.choice(["ORT-H", "CAR-H", "NEU-H"])]
    day = clock.day_list[int(clock.days * 0.45)]
    e = clinic._admission(unit, day, True, patient=v0, los=8)
    e.end = at(day + dt.timedelta(days=rng.randrange(7, 10)), 11.0)
    e.vip = True
    clinic.busy[v0.pid] = e.end
    ct = chronic.vip_careteam(rng, org, v0, unit, e.start, teams)
    for s in ct.members:
        if s not in e.staff():
            e.participants.append((s, "PART"))
    stories.append((v0, e, ct))
    if len(vips) > 1:
        v1 = vips[1]
        d1 = clock.day_list[int(clock.days * 0.25)]
        e1 = clinic._ed_visit(d1, v1, arrival=at(d1, 21.3))
        e1.vip = True
        u2 = org.unit_by_code[rng.choice(["ORT-C", "CAR-C", "NEU-C"])]
        d2 = clock.day_list[min(clock.days - 1, int(clock.days * 0.6))]
        while d2.weekday() >= 5:
            d2 -= dt.timedelta(days=1)
        e2 = clinic._outpatient(u2, d2, patient=v1)
        e2.vip = True
        ct1 = chronic.vip_careteam(rng, org, v1, u2, e1.start, teams)
        ct1.members = e1.staff() + e2.staff()
        stories.append((v1, e1, ct1))
        stories.append((v1, e2, ct1))
    return stories


def staff_treated_by_colleagues(rng, clinic, org, clock, patients):
    """Some employees have visits or stays in the window, often in their own department."""
    staff_pats = [p for p in patients if p.staff is not None and p.deceased is None]
    rng.shuffle(staff_pats)
    n = max(4, len(org.staff) // 40)
    made = []
    for p in staff_pats[:n]:
        s = p.staff
        own = [u for u in s.unit.dept.units if u.kind == "clinic"]
        if own and rng.random() < 0.45:
            u = own[0]
        else:
            u = rng.choice([u for u in org.units if u.kind == "clinic" and
                            (u.dept.code != "GYN" or p.gender == "female") and u.dept.code != "PED"])
        day = clock.day_list[rng.randrange(clock.days)]
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        if day < clock.start:
            day += dt.timedelta(days=3)
        e = clinic._outpatient(u, day, patient=p)
        if e is not None:
            made.append(e)
    for p in staff_pats[n:n + max(1, n // 4)]:
        wards = [u for u in org.wards if u.dept.code not in ("PED", "GYN", "PSY")]
        u = rng.choice(wards)
        day = clock.day_list[rng.randrange(max(1, clock.days - 3))]
        e = clinic._admission(u, day, rng.random() < 0.5, patient=p, los=4)
        if e is not None:
            made.append(e)
    return made
