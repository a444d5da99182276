"""Context shared by the scenario generators: indexes over encounters and rosters,
workstation choice, time helpers."""
import datetime as dt
from common import at
from events import Session


class Ctx:
    def __init__(self, rng, org, roster, clock, clinic, teams, patients):
        self.rng, self.org, self.roster, self.clock = rng, org, roster, clock
        self.clinic, self.teams, self.patients = clinic, teams, patients
        self.sessions = []
        self.encs = clinic.encounters
        self.day_start = [at(d, 0) for d in clock.day_list]
        self._inpat = {}
        self.by_start_day = {}
        self.by_end_day = {}
        for e in self.encs:
            self.by_start_day.setdefault(e.start.date(), []).append(e)
            self.by_end_day.setdefault(e.end.date(), []).append(e)
        self.unit_index = {u.code: k for k, u in enumerate(org.units)}
        self.work = [roster.working(i) for i in range(clock.days)]
        self.teams_by_member = {}
        for ct in teams:
            for s in ct.members:
                self.teams_by_member.setdefault(s.sid, []).append(ct)

    def add(self, t, user, patient, pattern, ws, purpose, scenario, enc=None, detail=""):
        s = Session(t, user, patient, pattern, ws, purpose, scenario, enc, None, detail)
        self.sessions.append(s)
        return s

    def inpatients(self, i, unit=None, at_time=None):
        """IMP encounters present during day i (or at a given instant)."""
        if i not in self._inpat:
            d0 = self.day_start[i]
            d1 = d0 + dt.timedelta(days=1)
            self._inpat[i] = [e for e in self.encs if e.cls == "IMP" and e.start < d1 and e.end > d0]
        out = self._inpat[i]
        if unit is not None:
            out = [e for e in out if e.unit is unit]
        if at_time is not None:
            out = [e for e in out if e.start <= at_time < e.end]
        return out

    def started(self, i, cls=None, unit_kind=None):
        d = self.clock.day_list[i]
        out = self.by_start_day.get(d, [])
        if cls:
            out = [e for e in out if e.cls in cls]
        if unit_kind:
            out = [e for e in out if e.unit.kind in unit_kind]
        return out

    def shifts(self, i, pred):
        return [(s, sh) for s, sh in self.work[i] if pred(s, sh)]

    def on_duty(self, t, pred):
        i = (t.date() - self.clock.start).days
        out = []
        for j in (i - 1, i):
            if 0 <= j < self.clock.days:
                for s, sh in self.work[j]:
                    if sh.start <= t < sh.end and pred(s, sh):
                        out.append((s, sh))
        return out

    def ws(self, user, unit, office_bias=0.5):
        rng = self.rng
        if user.role in ("physician", "pharmacist", "social-worker", "medical-secretary", "research-coordinator",
                         "billing-clerk", "medical-coder", "roi-clerk") and user.fav_ws and \
                (unit is user.unit or rng.random() < office_bias):
            if rng.random() < 0.8:
                return (user.fav_ws[0], "1")
        if unit is user.unit and rng.random() < 0.75:
            return (rng.choice(user.fav_ws), "1")
        if unit.kind in ("ward", "icu") and rng.random() < 0.04:
            return ("10.40.%d.%d" % (self.unit_index[unit.code], 20 + rng.randrange(0, 6)), "2")
        return (rng.choice(unit.workstations), "1")

    def home(self, user):
        return (user.home_ip, "2")

    def t_in(self, sh, lo_frac=0.0, hi_frac=1.0):
        a = sh.start + (sh.end - sh.start) * lo_frac + dt.timedelta(minutes=8)
        b = sh.start + (sh.end - sh.start) * hi_frac - dt.timedelta(minutes=12)
        if b <= a:
            b = a + dt.timedelta(minutes=5)
        return a + (b - a) * self.rng.random()

    def t_between(self, a, b):
        if b <= a:
            return a
        return a + (b - a) * self.rng.random()

    def purpose_clinical(self):
        return "TREAT"

    def encs_active_ed(self, t):
        if not hasattr(self, "_ed_by_day"):
            self._ed_by_day = {}
            for e in self.encs:
                if e.cls == "EMER":
                    self._ed_by_day.setdefault(e.start.date(), []).append(e)
        d = t.date()
        out = []
        for dd in (d - dt.timedelta(days=1), d):
            for e in self._ed_by_day.get(dd, []):
                if e.start <= t < e.end:
                    out.append(e)
        return out
