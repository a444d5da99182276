"""Encounters: emergency visits, admissions (elective or through the ED), outpatient
clinics, oncology day hospital; participants are the people actually on duty; deaths."""
import bisect
import datetime as dt
from common import at, wchoice

ALOS = {"ward": 5.5, "icu": 3.5, "GER-H": 9.0, "PSY-H": 15.0, "GYN-M": 4.0, "PED-H": 3.0, "REA-H": 6.0}
DEATH = {"REA-H": 0.13, "GER-H": 0.05, "ONC-H": 0.07, "CAR-U": 0.04, "NEU-V": 0.04, "PNE-H": 0.03,
         "MED-A": 0.025, "MED-B": 0.025, "INF-H": 0.015, "CAR-H": 0.01}
REASONS = {"MED": ["Altération de l'état général", "Pneumopathie", "Décompensation diabétique"],
           "CAR": ["Insuffisance cardiaque décompensée", "Syndrome coronarien aigu", "Fibrillation atriale"],
           "PNE": ["Exacerbation de BPCO", "Embolie pulmonaire", "Bilan de nodule pulmonaire"],
           "GAS": ["Hémorragie digestive", "Pancréatite aiguë", "Coloscopie"],
           "NEU": ["AVC ischémique", "Crise d'épilepsie", "Sclérose en plaques - suivi"],
           "CHI": ["Appendicite aiguë", "Cholécystectomie programmée", "Occlusion intestinale"],
           "ORT": ["Fracture du col du fémur", "Prothèse totale de genou", "Entorse grave de cheville"],
           "GYN": ["Accouchement", "Suivi de grossesse", "Consultation gynécologique"],
           "PED": ["Bronchiolite", "Gastro-entérite avec déshydratation", "Suivi pédiatrique"],
           "GER": ["Chutes à répétition", "Troubles cognitifs", "Confusion aiguë"],
           "ONC": ["Chimiothérapie", "Neutropénie fébrile", "Bilan d'extension"],
           "INF": ["Suivi VIH", "Pyélonéphrite", "Fièvre au retour de voyage"],
           "PSY": ["Épisode dépressif majeur", "Sevrage alcoolique", "Décompensation psychotique"],
           "URG": ["Douleur thoracique", "Traumatisme", "Douleur abdominale", "Malaise", "Dyspnée"],
           "REA": ["Choc septique", "Détresse respiratoire", "Arrêt cardiaque récupéré"]}


class Encounter:
    __slots__ = ("eid", "cls", "patient", "unit", "start", "end", "participants", "labs", "imaging",
                 "died", "source", "reason", "vip")

    def __init__(self, eid, cls, patient, unit, start, end):
        self.eid, self.cls, self.patient, self.unit, self.start, self.end = eid, cls, patient, unit, start, end
        self.participants = []
        self.labs = self.imaging = self.died = False
        self.source = "elective"
        self.reason = ""
        self.vip = False

    def staff(self):
        return [s for s, _ in self.participants]


class Pool:
    """Weighted sampler of eligible patients for one unit."""

    def __init__(self, patients, weight):
        self.items, self.cum = [], []
        tot = 0.0
        for p in patients:
            w = weight(p)
            if w > 0:
                tot += w
                self.items.append(p)
                self.cum.append(tot)
        self.total = tot

    def draw(self, rng, ok, tries=40):
        for _ in range(tries):
            p = self.items[bisect.bisect_left(self.cum, rng.random() * self.total)]
            if ok(p):
                return p
        return None


class Clinic:
    def __init__(self, rng, org, roster, clock, patients, ref):
        self.rng, self.org, self.roster, self.clock, self.ref = rng, org, roster, clock, ref
        self.encounters = []
        self.busy = {}
        self.scale = sum(u.beds for u in org.units) / 185.0
        self.pools = {}
        for u in org.units:
            if u.kind in ("ward", "icu", "clinic", "dayhosp", "ed"):
                self.pools[u.code] = Pool(patients, self._weight_fn(u))
        self._build()

    def _weight_fn(self, u):
        code, dept = u.code, u.dept.code
        ref = self.ref

        def w(p):
            a = p.age(ref)
            if code == "GYN-M" and not (p.gender == "female" and 17 <= a <= 45):
                return 0
            if dept == "GYN" and p.gender != "female":
                return 0
            if dept == "PED" and a >= 16:
                return 0
            if dept not in ("PED", "URG") and a < 16:
                return 0
            if dept == "GER" and a < 72:
                return 0
            m = 1.0
            if p.profile == dept or p.profile == code:
                m = 25.0 if u.kind in ("clinic", "dayhosp") else 10.0
            elif dept == "PSY" and p.profile == "PSY-A":
                m = 6.0
            if code == "PSY-A":
                m = 40.0 if p.profile == "PSY-A" else 0.3
            if code == "ONC-J" and p.profile != "ONC":
                return 0
            return p.weight * m
        return w

    # ----- staffing helpers
    def on_duty(self, unit_pred, role_set, t):
        i = (t.date() - self.clock.start).days
        out = []
        for j in (i - 1, i):
            for s, sh in self.roster_day(j):
                if sh.start <= t < sh.end and s.role in role_set and unit_pred(sh.unit):
                    out.append(s)
        return out

    def roster_day(self, i):
        if not hasattr(self, "_rd"):
            self._rd = {}
        if i not in self._rd:
            self._rd[i] = self.roster.working(i) if 0 <= i < self.clock.days else []
        return self._rd[i]

    def pick_staff(self, unit_pred, roles, t, fallback):
        rng = self.rng
        cands = self.on_duty(unit_pred, roles, t)
        if cands:
            return rng.choice(cands)
        fb = [s for s in fallback if s.role in roles]
        return rng.choice(fb) if fb else None

    def _ok(self, t):
        def ok(p):
            if p.deceased is not None and p.deceased <= t:
                return False
            if p.vip:
                return False
            return self.busy.get(p.pid, t) <= t
        return ok

    def _new(self, cls, p, unit, start, end):
        e = Encounter("enc-%06d" % (len(self.encounters) + 1), cls, p, unit, start, end)
        e.reason = self.rng.choice(REASONS.get(unit.dept.code, REASONS["MED"]))
        self.encounters.append(e)
        return e

    # ----- main loop
    def _build(self):
        rng, org = self.rng, self.org
        day = self.clock.history_start
        while day < self.clock.end:
            weekday = day.weekday() < 5
            ed_admissions = 0
            for u in org.wards:
                mean = u.beds * 0.85 / ALOS.get(u.code, ALOS[u.kind])
                n = int(mean) + (1 if rng.random() < mean - int(mean) else 0)
                for _ in range(n):
                    via_ed = rng.random() < (0.85 if u.kind == "icu" else (0.65 if weekday else 0.9))
                    ed_admissions += via_ed
                    self._admission(u, day, via_ed)
            ed_total = int(34 * self.scale * rng.uniform(0.85, 1.15))
            for _ in range(max(int(ed_total * 0.55), ed_total - ed_admissions)):
                self._ed_visit(day, None)
            if weekday:
                for u in org.units:
                    if u.kind in ("clinic", "dayhosp"):
                        n = int((3 + 0.85 * len(u.staff)) * self.scale ** 0.5 * rng.uniform(0.7, 1.2))
                        for _ in range(n):
                            self._outpatient(u, day)
            day += dt.timedelta(days=1)

    def _ed_visit(self, day, patient, arrival=None, admit=False):
        rng = self.rng
        ed = self.org.unit_by_code["URG-A"]
        if arrival is None:
            arrival = at(day, wchoice(rng, list(range(24)), [2, 1.5, 1, 1, 1, 1.5, 2, 4, 6, 7, 8, 8, 7, 7,
                                                             7, 7, 7, 7, 7, 6, 5, 4, 3, 2.5]) + rng.random())
        p = patient or self.pools["URG-A"].draw(rng, self._ok(arrival))
        if p is None:
            return None
        end = arrival + dt.timedelta(hours=rng.uniform(1.5, 9.0))
        e = self._new("EMER", p, ed, arrival, end)
        e.source = "ed"
        e.labs = rng.random() < 0.7
        e.imaging = rng.random() < 0.5
        in_ed = lambda u: u is ed
        for roles, code in ((("physician", "resident"), "ATND"), (("nurse",), "PART")):
            s = self.pick_staff(in_ed, roles, arrival + dt.timedelta(minutes=20), ed.staff)
            if s:
                e.participants.append((s, code))
        if not admit and p.deceased is None and p.staff is None and not p.vip and rng.random() < 0.002:
            e.died = True
            p.deceased = end - dt.timedelta(minutes=rng.randrange(5, 60))
            e.end = p.deceased + dt.timedelta(minutes=rng.randrange(10, 60))
        self.busy[p.pid] = e.end
        return e

    def _admission(self, u, day, via_ed, patient=None, los=None):
        rng = self.rng
        if via_ed:
            probe = at(day, rng.uniform(0, 23.5))
        else:
            probe = at(day, rng.uniform(9.5, 15.5))
        p = patient or self.pools[u.code].draw(rng, self._ok(probe))
        if p is None:
            return None
        start = probe
        if via_ed:
            ed = self._ed_visit(day, p, arrival=probe, admit=True)
            start = ed.end - dt.timedelta(minutes=rng.randrange(10, 60))
        alos = los or ALOS.get(u.code, ALOS[u.kind])
        days = max(0, int(rng.lognormvariate(0, 0.6) * alos))
        end = at(start.date() + dt.timedelta(days=days), rng.uniform(10.0, 17.0))
        if end <= start:
            end = start + dt.timedelta(hours=rng.uniform(4, 20))
        e = self._new("IMP", p, u, start, end)
        e.source = "ed" if via_ed else "elective"
        e.labs = True
        e.imaging = rng.random() < 0.45
        dept_units = u.dept.units
        docs = [s for x in dept_units for s in x.staff if s.role == "physician"]
        if u.code == "CAR-U":
            docs = [s for x in u.dept.units for s in x.staff if s.role == "physician"]
        e.participants.append((rng.choice(docs), "ATND"))
        res = [s for x in dept_units for s in x.staff if s.role == "resident"]
        if res and rng.random() < 0.75:
            e.participants.append((rng.choice(res), "PART"))
        here = lambda x: x is u
        for k in range(rng.choice([1, 1, 2])):
            s = self.pick_staff(here, ("nurse",), start + dt.timedelta(minutes=30 + 600 * k), u.staff)
            if s and s not in e.staff():
                e.participants.append((s, "PART"))
        if rng.random() < 0.3:
            s = self.pick_staff(here, ("nurse-assistant",), start + dt.timedelta(minutes=40), u.staff)
            if s:
                e.participants.append((s, "PART"))
        if patient is None and p.deceased is None and p.staff is None and rng.random() < DEATH.get(u.code, 0.004):
            e.died = True
            p.deceased = start + (end - start) * rng.uniform(0.3, 1.0)
            e.end = p.deceased + dt.timedelta(minutes=rng.randrange(20, 120))
        self.busy[p.pid] = e.end
        return e

    def _outpatient(self, u, day, patient=None, doc=None):
        rng = self.rng
        t = at(day, rng.choice([8.5, 9, 9.5, 10, 10.5, 11, 11.5, 14, 14.5, 15, 15.5, 16, 16.5]) + rng.uniform(0, 0.4))
        p = patient or self.pools[u.code].draw(rng, self._ok(t))
        if p is None:
            return None
        dur = rng.uniform(5.0, 7.0) if u.kind == "dayhosp" else rng.uniform(0.25, 0.7)
        e = self._new("SS" if u.kind == "dayhosp" else "AMB", p, u, t, t + dt.timedelta(hours=dur))
        e.labs = rng.random() < (0.9 if u.kind == "dayhosp" else 0.15)
        e.imaging = rng.random() < 0.08
        docs = [s for x in u.dept.units for s in x.staff if s.role == "physician"]
        in_dept = lambda x: x.dept is u.dept
        d = doc or self.pick_staff(in_dept, ("physician",), t, docs)
        if d:
            e.participants.append((d, "ATND"))
        if rng.random() < (0.9 if u.kind == "dayhosp" else 0.35):
            s = self.pick_staff(lambda x: x is u, ("nurse",), t, u.staff)
            if s:
                e.participants.append((s, "PART"))
        self.busy[p.pid] = e.end
        return e
