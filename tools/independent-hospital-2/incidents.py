"""Planted misuse, in the last ~30% of the days: K incidents of each kind. An incident is
one user's misuse on one day; the snooper mostly acts during a normal shift, from the
usual workstation, with the default purpose, mixed into ordinary work."""
import datetime as dt
import names
from common import at, wchoice
from events import Session

KINDS = [("SELF", ["SELF"]), ("FAMILY", ["FAMILY"]), ("NEIGHBOR", ["NEIGHBOR"]), ("COWORKER", ["COWORKER"]),
         ("VIP", ["VIP"]), ("DECEASED", ["DECEASED"]), ("SNOOPING", ["NO_RELATIONSHIP"]),
         ("COMPROMISED", None), ("BREAK_GLASS", ["BREAK_GLASS"])]
FOREIGN_IPS = ["185.220.101.%d", "45.155.205.%d", "103.251.167.%d", "91.243.44.%d", "194.26.29.%d"]


def norm(s):
    return " ".join(names.strip_accents(s).lower().replace("-", " ").split())


class Planter:
    def __init__(self, ctx, vips):
        self.ctx, self.rng, self.vips = ctx, ctx.rng, vips
        self.first = ctx.clock.first_incident_day_index()
        self.used_users = set()
        self.used_targets = set()
        self.links = set()
        for e in ctx.encs:
            for s, _ in e.participants:
                self.links.add((s.sid, e.patient.pid))
        for ct in ctx.teams:
            for s in ct.members:
                self.links.add((s.sid, ct.patient.pid))
        self.ws_count = {}
        self.purpose_count = {}
        for s in ctx.sessions:
            pc = self.purpose_count.setdefault(s.user.sid, {})
            pc[s.purpose] = pc.get(s.purpose, 0) + 1
            self.links.add((s.user.sid, s.patient.pid))
            if s.ws[1] == "1":
                c = self.ws_count.setdefault(s.user.sid, {})
                c[s.ws[0]] = c.get(s.ws[0], 0) + 1
        self.planted = []

    # ---------- relations
    def unrelated(self, user, p, day):
        """No care link, no prior legitimate access, not the user, no household/street/surname tie,
        not lying on the user's own ward that day."""
        u = user.person
        if p is u or (user.sid, p.pid) in self.links or (p.pid in self.used_targets and not p.vip):
            return False
        if p.hh is u.hh or p.hh.street_key() == u.hh.street_key() or norm(p.family) == norm(u.family):
            return False
        if p.maiden and norm(p.maiden) == norm(u.family):
            return False
        i = (day - self.ctx.clock.start).days
        for e in self.ctx.inpatients(i):
            if e.patient is p and (e.unit is user.unit or e.unit.dept is user.unit.dept):
                return False
        return True

    def alive(self, p, day):
        return p.deceased is None or p.deceased.date() > day + dt.timedelta(days=1)

    # ---------- users and time
    def onsite_shift(self, user, i):
        for sh in user.shifts.get(i, []):
            if sh.kind not in ("RD",) and sh.hours() >= 6:
                return sh
        return None

    def usual_ws(self, user, unit, first):
        """A workstation this user already works from (weighted by habit); sometimes any PC of the unit."""
        c = self.ws_count.get(user.sid)
        if c and (first or self.rng.random() < 0.85):
            here = set(unit.workstations) | set(user.fav_ws)
            items = sorted((a, n) for a, n in c.items() if a in here) or sorted(c.items())
            return (wchoice(self.rng, [a for a, _ in items], [n for _, n in items]), "1")
        return self.ctx.ws(user, unit, 0.5)

    def habit_purpose(self, user):
        pc = self.purpose_count.get(user.sid)
        if not pc:
            return "TREAT"
        return sorted(pc.items(), key=lambda x: (-x[1], x[0]))[0][0]

    def snoop_pattern(self, user, default):
        if user.role in ("registrar", "billing-clerk", "medical-coder", "roi-clerk", "research-coordinator"):
            return "peek_admin"
        if user.role in ("lab-technician", "radiographer", "pharmacist", "physiotherapist"):
            return "peek_tech"
        if default != "peek":
            return default
        return self.rng.choice(["peek", "peek", "chart", "glance", "results"])

    def candidates(self, i, pred):
        out = []
        for s in self.ctx.org.staff:
            if s.sid in self.used_users or s.sid not in self.ws_count:
                continue
            sh = self.onsite_shift(s, i)
            if sh is not None and pred(s):
                out.append((s, sh))
        return out

    def t_on_day(self, sh, day):
        d0 = at(day, 0) + dt.timedelta(minutes=2)
        d1 = at(day, 24) - dt.timedelta(minutes=30)
        a, b = max(sh.start + dt.timedelta(minutes=40), d0), min(sh.end - dt.timedelta(minutes=30), d1)
        return self.ctx.t_between(a, b) if b > a else None

    def days(self):
        ds = list(range(self.first, self.ctx.clock.days))
        self.rng.shuffle(ds)
        return ds

    # ---------- emit
    def emit(self, kind, reasons, user, day, sessions_spec, why, target_desc):
        inc = {"id": "inc-%s-%d" % (kind.lower().replace("_", ""), sum(1 for x in self.planted if x["kind"] == kind) + 1),
               "kind": kind, "expected_reasons": reasons, "why": why}
        for t, p, pattern, ws, purpose, fail in sessions_spec:
            s = Session(t, user, p, pattern, ws, purpose, "incident-" + kind.lower(), None, inc, target_desc)
            s.fail = fail
            self.ctx.sessions.append(s)
            self.used_targets.add(p.pid)
        self.used_users.add(user.sid)
        inc.update({"user": user.login, "date": day.isoformat(), "targets": sorted({x[1].patient_id for x in sessions_spec})})
        self.planted.append(inc)
        return inc

    def snoop(self, kind, reasons, pick_target, user_pred=lambda s: True, visits=(1, 2), pattern="peek",
              purpose="TREAT", why=""):
        rng = self.rng
        for i in self.days():
            day = self.ctx.clock.day_list[i]
            cands = self.candidates(i, user_pred)
            rng.shuffle(cands)
            for user, sh in cands[:60]:
                found = pick_target(user, day)
                if not found:
                    continue
                targets, desc = found
                spec = []
                for p in targets:
                    for _ in range(rng.randint(*visits)):
                        t = self.t_on_day(sh, day)
                        if t is None:
                            break
                        ws = self.usual_ws(user, sh.unit, not spec)
                        fail = None
                        if purpose == "BTG" and "V" in p.labels and not spec:
                            spec.append((t, p, "glance", ws, "TREAT", "4"))
                            t += dt.timedelta(seconds=rng.uniform(15, 80))
                        pp = purpose if purpose == "BTG" else self.habit_purpose(user)
                        spec.append((t, p, self.snoop_pattern(user, pattern), ws, pp, fail))
                if spec:
                    return self.emit(kind, reasons, user, day, spec, why, desc)
        return None
