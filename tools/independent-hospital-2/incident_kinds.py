"""Target choice for each incident kind, the stolen-login harvest, and the driver."""
import datetime as dt
from common import at
from incidents import Planter, KINDS, FOREIGN_IPS, norm

ONSITE_CLINICAL = ("physician", "resident", "nurse")


def _self(pl):
    def pick(user, day):
        p = user.person
        if p.patient_id and pl.alive(p, day) and p.pid not in pl.used_targets:
            return [p], "own patient record"
        return None
    return pick


def _family(pl):
    def pick(user, day):
        u = user.person
        fam = [m for m in u.hh.members if m is not u and m.patient_id and m.staff is None and pl.alive(m, day)
               and (user.sid, m.pid) not in pl.links and m.pid not in pl.used_targets and not m.vip]
        if not fam:
            return None
        m = pl.rng.choice(fam)
        return [m], "household member (%s) of the user" % m.hh_role
    return pick


def _neighbor(pl):
    def pick(user, day):
        u = user.person
        out = []
        for h in pl.ctx.pop.by_street.get(u.hh.street_key(), []):
            if h is u.hh or h.number == u.hh.number:
                continue
            for m in h.members:
                if m.patient_id and m.staff is None and not m.vip and pl.alive(m, day) and \
                        norm(m.family) != norm(u.family) and (user.sid, m.pid) not in pl.links and \
                        m.pid not in pl.used_targets:
                    out.append(m)
        if not out:
            return None
        m = pl.rng.choice(out)
        return [m], "lives at %s, same street as the user (%s)" % (m.hh.line1(), u.hh.line1())
    return pick


def _coworker(pl):
    def pick(user, day):
        staffpats = [s.person for s in pl.ctx.org.staff if s.person.patient_id and s is not user]
        same = [p for p in staffpats if p.staff.unit.dept is user.unit.dept]
        pool = same if (same and pl.rng.random() < 0.7) else staffpats
        pool = [p for p in pool if pl.unrelated(user, p, day) and pl.alive(p, day)]
        if not pool:
            return None
        p = pl.rng.choice(pool)
        return [p], "colleague %s (%s, %s)" % (p.staff.login, p.staff.role, p.staff.unit.code)
    return pick


def _vip(pl):
    def pick(user, day):
        vs = [v for v in pl.vips if pl.unrelated(user, v, day) and pl.alive(v, day)]
        vs = [v for v in vs if not any(e.patient is v and (e.unit.dept is user.unit.dept) for e in pl.ctx.encs)]
        if not vs:
            return None
        v = pl.rng.choice(vs)
        return [v], "celebrity patient (%s)" % v.vip
    return pick


def _deceased(pl):
    def pick(user, day):
        dead = [e.patient for e in pl.ctx.encs if e.died and
                day - dt.timedelta(days=63) <= e.patient.deceased.date() <= day - dt.timedelta(days=14)]
        dead = [p for p in dead if pl.unrelated(user, p, day) and p.staff is None
                and not any(e.patient is p and e.unit.dept is user.unit.dept for e in pl.ctx.encs)]
        if not dead:
            return None
        p = pl.rng.choice(sorted(dead, key=lambda x: x.pid))
        return [p], "died %s, %d days earlier" % (p.deceased.date(), (day - p.deceased.date()).days)
    return pick


def _stranger_ok(pl, user, p, day):
    return (pl.unrelated(user, p, day) and pl.alive(p, day) and p.staff is None and not p.vip
            and "EMP" not in p.labels and not any(e.patient is p and e.unit.dept is user.unit.dept for e in pl.ctx.encs))


def _snooping(pl):
    def pick(user, day):
        rng = pl.rng
        n = rng.choice([1, 1, 2, 3, 4])
        i = (day - pl.ctx.clock.start).days
        current = [e.patient for e in pl.ctx.inpatients(i)]
        out = []
        for _ in range(60):
            p = rng.choice(current) if (current and rng.random() < 0.5) else rng.choice(pl.ctx.patients)
            if p not in out and _stranger_ok(pl, user, p, day):
                out.append(p)
            if len(out) >= n:
                break
        return (out, "%d stranger(s) without care relationship" % len(out)) if out else None
    return pick


def _break_glass(pl):
    def pick(user, day):
        rng = pl.rng
        i = (day - pl.ctx.clock.start).days
        in_ed = {e.patient.pid for e in pl.ctx.encs if e.cls == "EMER" and
                 e.start.date() <= day <= e.end.date() + dt.timedelta(days=1)}
        restricted = [p for p in pl.ctx.patients if set(p.labels) & {"R", "V", "PSY", "HIV", "SDV", "ETH"}]
        pool = restricted if (restricted and rng.random() < 0.6) else pl.ctx.patients
        for _ in range(80):
            p = rng.choice(pool)
            if p.pid not in in_ed and _stranger_ok(pl, user, p, day):
                return [p], "break-the-glass outside any emergency, no link (%s)" % ",".join(p.labels or ["no label"])
        return None
    return pick


def compromised(pl, variant):
    """A stolen login harvests many records: at night from a foreign IP (variant 0), or during the
    day from a foreign IP while the real user is at work (variant 1)."""
    rng, ctx = pl.rng, pl.ctx
    office = ("registrar", "billing-clerk", "medical-secretary", "medical-coder", "physician", "pharmacist",
              "social-worker", "physiotherapist", "research-coordinator", "roi-clerk")
    night_kinds = ("N", "NL", "G")
    hours = {}
    for s in ctx.sessions:
        h = hours.setdefault(s.user.sid, set())
        for d in (-1, 0, 1):
            h.add((s.t.hour + d) % 24)
    for strict in (True, False):
        for i in pl.days():
            day = ctx.clock.day_list[i]
            users = [s for s in ctx.org.staff if s.sid not in pl.used_users and s.sid in pl.ws_count
                     and (s.role in office or not strict)
                     and not any(x.kind in night_kinds for k in s.shifts for x in s.shifts[k])]
            rng.shuffle(users)
            for user in users[:40]:
                if variant % 2 == 0:
                    if user.home_ip is not None and strict:
                        continue
                    free = [h for h in range(0, 5) if h not in hours.get(user.sid, set())
                            and h + 1 not in hours.get(user.sid, set()) and h + 2 not in hours.get(user.sid, set())]
                    if not free:
                        continue
                    t = at(day, rng.choice(free) + rng.uniform(0.05, 0.5))
                    reasons = ["BULK", "UNUSUAL_TIME", "UNUSUAL_LOCATION"]
                    n = rng.randint(60, 200)
                    gap = (4, 30)
                else:
                    mine = sorted(s.t for s in ctx.sessions if s.user is user and s.t.date() == day
                                  and 8 <= s.t.hour <= 14)
                    if not mine:
                        continue
                    t = mine[rng.randrange(len(mine))]
                    reasons = ["BULK", "UNUSUAL_LOCATION"]
                    n = rng.randint(60, 220)
                    gap = (4, 45)
                ip = rng.choice(FOREIGN_IPS) % rng.randrange(2, 250)
                spec, seen = [], set()
                while len(spec) < n:
                    p = rng.choice(ctx.patients)
                    if p.pid in seen or p.pid in pl.used_targets:
                        continue
                    seen.add(p.pid)
                    spec.append((t, p, "harvest", (ip, "2"), pl.habit_purpose(user), None))
                    t += dt.timedelta(seconds=rng.uniform(*gap))
                why = "stolen credentials used from %s to harvest %d records" % (ip, n)
                return pl.emit("COMPROMISED", reasons, user, day, spec, why, "bulk harvest from foreign IP")
    return None


def plant(ctx, k, vips):
    pl = Planter(ctx, vips)
    clinical_user = lambda s: s.role in ONSITE_CLINICAL and s.unit.dept.code != "URG"
    anyone = lambda s: s.unit.kind != "pool" or True
    pickers = {"SELF": (_self, anyone, (1, 2), "peek"), "FAMILY": (_family, anyone, (1, 3), "peek"),
               "NEIGHBOR": (_neighbor, anyone, (1, 2), "peek"), "COWORKER": (_coworker, anyone, (1, 2), "peek"),
               "VIP": (_vip, anyone, (1, 3), "peek"), "DECEASED": (_deceased, anyone, (1, 1), "peek"),
               "SNOOPING": (_snooping, anyone, (1, 1), "peek"),
               "BREAK_GLASS": (_break_glass, clinical_user, (1, 1), "chart")}
    whys = {"SELF": "user opened their own record", "FAMILY": "user opened a relative's record (same household)",
            "NEIGHBOR": "user opened a neighbour's record", "COWORKER": "user opened a colleague's record",
            "VIP": "user opened a celebrity's record without being on the care team",
            "DECEASED": "user opened the record of a patient who died weeks ago, no reason",
            "SNOOPING": "user browsed strangers' records with no care relationship",
            "BREAK_GLASS": "user broke the glass outside any emergency on a record they have no link to"}
    for rep in range(k):
        for kind, reasons in KINDS:
            if kind == "COMPROMISED":
                inc = compromised(pl, rep)
            else:
                mk, pred, visits, pattern = pickers[kind]
                inc = pl.snoop(kind, reasons, mk(pl), pred, visits, pattern,
                               "BTG" if kind == "BREAK_GLASS" else "TREAT", whys[kind])
            if inc is None:
                raise SystemExit("could not plant a %s incident" % kind)
    return pl.planted
