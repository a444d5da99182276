"""Departments, units, staff roles, logins and workstations of the
Centre Hospitalier Universitaire Val-de-Loire (fictional, Tours area, France)."""
import math
import names
from common import wchoice

HOSPITAL = ("org-chu", "Centre Hospitalier Universitaire Val-de-Loire")
# department code, name, kind, units: (code, name, kind, base beds)
# kinds: ward, icu, ed, clinic, dayhosp, or, lab, imaging, pharmacy, rehab, social, admissions,
#        ed_desk, billing, coding, archives, research, pool
DEPARTMENTS = [
    ("MED", "Médecine interne", "clinical", [("MED-A", "Médecine interne - unité A", "ward", 28),
                                             ("MED-B", "Médecine interne - unité B", "ward", 24),
                                             ("MED-C", "Consultations de médecine interne", "clinic", 0)]),
    ("CAR", "Cardiologie", "clinical", [("CAR-H", "Cardiologie - hospitalisation", "ward", 26),
                                        ("CAR-U", "Soins intensifs de cardiologie (USIC)", "icu", 8),
                                        ("CAR-C", "Consultations de cardiologie", "clinic", 0)]),
    ("PNE", "Pneumologie", "clinical", [("PNE-H", "Pneumologie - hospitalisation", "ward", 20),
                                        ("PNE-C", "Consultations de pneumologie", "clinic", 0)]),
    ("GAS", "Hépato-gastro-entérologie", "clinical", [("GAS-H", "Gastro-entérologie - hospitalisation", "ward", 20),
                                                      ("GAS-C", "Consultations et endoscopies digestives", "clinic", 0)]),
    ("NEU", "Neurologie", "clinical", [("NEU-H", "Neurologie - hospitalisation", "ward", 18),
                                       ("NEU-V", "Unité neuro-vasculaire", "icu", 8),
                                       ("NEU-C", "Consultations de neurologie", "clinic", 0)]),
    ("CHI", "Chirurgie viscérale et digestive", "clinical", [("CHI-H", "Chirurgie viscérale - hospitalisation", "ward", 24),
                                                             ("CHI-B", "Bloc opératoire central", "or", 0),
                                                             ("CHI-C", "Consultations de chirurgie", "clinic", 0)]),
    ("ORT", "Orthopédie-traumatologie", "clinical", [("ORT-H", "Orthopédie - hospitalisation", "ward", 26),
                                                     ("ORT-C", "Consultations d'orthopédie", "clinic", 0)]),
    ("GYN", "Gynécologie-obstétrique", "clinical", [("GYN-M", "Maternité", "ward", 24),
                                                    ("GYN-C", "Consultations de gynécologie-obstétrique", "clinic", 0)]),
    ("PED", "Pédiatrie", "clinical", [("PED-H", "Pédiatrie - hospitalisation", "ward", 18),
                                      ("PED-C", "Consultations de pédiatrie", "clinic", 0)]),
    ("GER", "Gériatrie", "clinical", [("GER-H", "Court séjour gériatrique", "ward", 30),
                                      ("GER-C", "Consultations mémoire et gériatrie", "clinic", 0)]),
    ("ONC", "Oncologie médicale", "clinical", [("ONC-H", "Oncologie - hospitalisation", "ward", 18),
                                               ("ONC-J", "Hôpital de jour d'oncologie", "dayhosp", 0),
                                               ("ONC-C", "Consultations d'oncologie", "clinic", 0)]),
    ("INF", "Maladies infectieuses et tropicales", "clinical", [("INF-H", "Maladies infectieuses - hospitalisation", "ward", 12),
                                                                ("INF-C", "Consultations VIH et infectiologie", "clinic", 0)]),
    ("PSY", "Psychiatrie et addictologie", "clinical", [("PSY-H", "Psychiatrie adulte - hospitalisation", "ward", 20),
                                                        ("PSY-A", "Consultations d'addictologie", "clinic", 0),
                                                        ("PSY-C", "Centre médico-psychologique", "clinic", 0)]),
    ("URG", "Urgences", "clinical", [("URG-A", "Service d'accueil des urgences", "ed", 0)]),
    ("REA", "Réanimation polyvalente", "clinical", [("REA-H", "Réanimation", "icu", 12)]),
    ("LAB", "Laboratoire de biologie médicale", "support", [("LAB-B", "Biochimie", "lab", 0),
                                                            ("LAB-H", "Hématologie biologique", "lab", 0),
                                                            ("LAB-M", "Microbiologie", "lab", 0)]),
    ("IMG", "Imagerie médicale", "support", [("IMG-R", "Radiologie conventionnelle", "imaging", 0),
                                             ("IMG-S", "Scanner et IRM", "imaging", 0)]),
    ("PHA", "Pharmacie à usage intérieur", "support", [("PHA-P", "Pharmacie", "pharmacy", 0)]),
    ("REE", "Médecine physique et réadaptation", "support", [("REE-K", "Kinésithérapie", "rehab", 0)]),
    ("SOC", "Service social hospitalier", "support", [("SOC-S", "Service social", "social", 0)]),
    ("ADM", "Admissions et accueil", "admin", [("ADM-E", "Bureau des entrées", "admissions", 0),
                                               ("ADM-U", "Accueil administratif des urgences", "ed_desk", 0)]),
    ("FAC", "Facturation et recouvrement", "admin", [("FAC-F", "Facturation", "billing", 0)]),
    ("DIM", "Département d'information médicale", "admin", [("DIM-D", "Codage PMSI", "coding", 0)]),
    ("ARC", "Archives médicales", "admin", [("ARC-A", "Archives et communication du dossier", "archives", 0)]),
    ("REC", "Recherche clinique (DRCI)", "admin", [("REC-R", "Unité de recherche clinique", "research", 0)]),
    ("POOL", "Direction des soins", "admin", [("POOL-S", "Pool de suppléance infirmier", "pool", 0)]),
]
ROLE_DISPLAY = {
    "physician": "Médecin", "resident": "Interne", "nurse": "Infirmier(e)", "nurse-assistant": "Aide-soignant(e)",
    "pharmacist": "Pharmacien", "lab-technician": "Technicien de laboratoire", "radiographer": "Manipulateur radio",
    "physiotherapist": "Masseur-kinésithérapeute", "social-worker": "Assistant(e) social(e)",
    "registrar": "Agent des admissions", "billing-clerk": "Agent de facturation", "medical-coder": "Technicien d'information médicale",
    "roi-clerk": "Agent des archives médicales", "research-coordinator": "Attaché de recherche clinique",
    "medical-secretary": "Secrétaire médicale",
}
ROLE_SHARE = [("physician", 14), ("resident", 7), ("nurse", 35), ("nurse-assistant", 13), ("pharmacist", 1.5),
              ("lab-technician", 5), ("radiographer", 3.5), ("physiotherapist", 2.5), ("social-worker", 1.25),
              ("registrar", 5), ("billing-clerk", 2), ("medical-coder", 1.5), ("roi-clerk", 0.75),
              ("research-coordinator", 1), ("medical-secretary", 5)]


class Unit:
    def __init__(self, code, name, kind, beds, dept):
        self.code, self.name, self.kind, self.beds, self.dept = code, name, kind, beds, dept
        self.oid = "org-" + code.lower()
        self.staff = []
        self.workstations = []


class Dept:
    def __init__(self, code, name, kind):
        self.code, self.name, self.kind = code, name, kind
        self.oid = "org-" + code.lower()
        self.units = []

    def unit_of(self, kind):
        for u in self.units:
            if u.kind == kind:
                return u
        return None


class Staff:
    def __init__(self, sid, person, role, unit):
        self.sid, self.person, self.role, self.unit = sid, person, role, unit
        self.login = None
        self.rpps = None
        self.emp_no = None
        self.fte = 1.0
        self.pref = "D"
        self.fav_ws = []
        self.home_ip = None
        self.remote_habit = 0.0
        self.shifts = {}   # day index -> list of Shift
        self.leave = set()
        self.off_weekday = None


class Org:
    def __init__(self, rng, n_staff, staff_people, ref_date):
        self.rng = rng
        self._ref = ref_date
        self.depts, self.units, self.unit_by_code = [], [], {}
        scale = n_staff / 950.0
        for code, name, kind, units in DEPARTMENTS:
            d = Dept(code, name, kind)
            self.depts.append(d)
            for ucode, uname, ukind, beds in units:
                b = max(6, int(round(beds * scale))) if beds else 0
                u = Unit(ucode, uname, ukind, b, d)
                d.units.append(u)
                self.units.append(u)
                self.unit_by_code[ucode] = u
        self.dept_by_code = {d.code: d for d in self.depts}
        self.clinical = [d for d in self.depts if d.kind == "clinical" and d.code not in ("URG", "REA")]
        self.wards = [u for u in self.units if u.kind in ("ward", "icu")]
        self.staff = []
        self._make_staff(staff_people)
        self._logins()
        self._workstations()

    def _role_counts(self, n):
        total = sum(w for _, w in ROLE_SHARE)
        counts = [(r, max(1, int(math.floor(n * w / total)))) for r, w in ROLE_SHARE]
        missing = n - sum(c for _, c in counts)
        i = 0
        while missing > 0:
            r, c = counts[[2, 3, 0, 9][i % 4]]
            counts[[2, 3, 0, 9][i % 4]] = (r, c + 1)
            missing -= 1
            i += 1
        return counts

    def _targets(self, role):
        U = self.unit_by_code
        wards = [(u, u.beds * (2 if u.kind == "icu" else 1)) for u in self.wards]
        clinics = [(u, 1.0) for u in self.units if u.kind in ("clinic", "dayhosp")]
        if role == "nurse":
            return wards + [(U["URG-A"], 28), (U["POOL-S"], 14), (U["CHI-B"], 10), (U["ONC-J"], 4)] + \
                [(u, 1.4) for u, _ in clinics]
        if role == "nurse-assistant":
            return wards + [(U["URG-A"], 14), (U["POOL-S"], 4), (U["CHI-B"], 3)]
        if role == "physician":
            return [(d.unit_of("ward") or d.unit_of("icu") or d.units[0], 4.0) for d in self.clinical] + \
                [(U["URG-A"], 7), (U["REA-H"], 4), (U["CAR-U"], 1), (U["IMG-S"], 2), (U["IMG-R"], 1.5),
                 (U["LAB-B"], 1), (U["LAB-M"], 0.6)]
        if role == "resident":
            return [(d.unit_of("ward") or d.units[0], 2.0) for d in self.clinical] + [(U["URG-A"], 5), (U["REA-H"], 2)]
        if role == "medical-secretary":
            return [(d.unit_of("clinic") or d.units[0], 1.0) for d in self.clinical] + [(U["IMG-R"], 1)]
        single = {"pharmacist": "PHA-P", "physiotherapist": "REE-K", "social-worker": "SOC-S",
                  "billing-clerk": "FAC-F", "medical-coder": "DIM-D", "roi-clerk": "ARC-A",
                  "research-coordinator": "REC-R"}
        if role in single:
            return [(U[single[role]], 1.0)]
        if role == "lab-technician":
            return [(U["LAB-B"], 3), (U["LAB-H"], 2), (U["LAB-M"], 2)]
        if role == "radiographer":
            return [(U["IMG-R"], 3), (U["IMG-S"], 2)]
        if role == "registrar":
            return [(U["ADM-E"], 3), (U["ADM-U"], 2)]
        raise ValueError(role)

    def _make_staff(self, people):
        rng = self.rng
        pool = list(people)
        k = 0
        for role, cnt in self._role_counts(len(pool)):
            targets = self._targets(role)
            tot = sum(w for _, w in targets)
            alloc = [int(cnt * w / tot) for _, w in targets]
            rema = sorted(range(len(targets)), key=lambda i: (-(cnt * targets[i][1] / tot - alloc[i]), i))
            for i in rema[:cnt - sum(alloc)]:
                alloc[i] += 1
            for (u, _), n in zip(targets, alloc):
                for _ in range(n):
                    p = self._pick_person(pool, role)
                    s = Staff("prac-%04d" % (k + 1), p, role, u)
                    k += 1
                    p.staff = s
                    u.staff.append(s)
                    self.staff.append(s)
                    self._traits(s)

    def _pick_person(self, pool, role):
        lo, hi = {"resident": (24, 33), "physician": (29, 66)}.get(role, (20, 66))
        for i, p in enumerate(pool):
            if lo <= p.age(self._ref) <= hi:
                return pool.pop(i)
        return pool.pop(0)

    def _traits(self, s):
        rng = self.rng
        s.fte = wchoice(rng, [1.0, 0.8, 0.5], [74, 20, 6])
        if s.fte < 1.0:
            s.off_weekday = rng.choice([2, 2, 2, 0, 4])   # Wednesday off is the French classic
        if s.role in ("nurse", "nurse-assistant"):
            s.pref = wchoice(rng, ["D", "N", "DN"], [66, 20, 14])
        if s.role in ("physician", "resident", "medical-coder", "billing-clerk", "research-coordinator"):
            share = {"physician": 0.45, "resident": 0.15, "medical-coder": 0.5, "billing-clerk": 0.2,
                     "research-coordinator": 0.3}[s.role]
            if rng.random() < share:
                isp = rng.choice(["90.%d.%d.%d", "86.%d.%d.%d", "82.64.%d.%d", "109.%d.%d.%d", "176.%d.%d.%d", "78.%d.%d.%d"])
                parts = tuple(rng.randrange(1, 255) for _ in range(isp.count("%d")))
                s.home_ip = isp % parts
                s.remote_habit = rng.uniform(0.15, 0.6)
        s.emp_no = "E%06d" % rng.randrange(100000, 999999)
        if s.role in ("physician", "resident", "pharmacist", "nurse", "physiotherapist"):
            s.rpps = "10%09d" % rng.randrange(0, 999999999)

    def _logins(self):
        """Login = first initial + surname (ASCII), numbered on collision, e.g. 'mdupont2'."""
        used = {}
        for s in self.staff:
            p = s.person
            base = (names.ascii_login_part(p.given[0])[:1] + names.ascii_login_part(p.family))[:10]
            n = used.get(base, 0) + 1
            used[base] = n
            s.login = base if n == 1 else "%s%d" % (base, n)

    def _workstations(self):
        rng = self.rng
        for u in self.units:
            n = 2 + len(u.staff) // 4 + u.beds // 8
            u.workstations = ["VDL-%s-PC%02d" % (u.code, i + 1) for i in range(n)]
            if u.kind in ("ward", "icu", "ed"):
                u.workstations += ["VDL-%s-COW%02d" % (u.code, i + 1) for i in range(1 + u.beds // 10)]
        for d in self.depts:
            offices = 0
            for u in d.units:
                for s in u.staff:
                    if s.role in ("physician", "pharmacist", "social-worker", "research-coordinator",
                                  "medical-coder", "billing-clerk", "roi-clerk", "medical-secretary"):
                        offices += 1
                        s.fav_ws = ["VDL-%s-BUR%02d" % (d.code, offices)]
        for s in self.staff:
            ws = s.unit.workstations
            picks = [rng.choice(ws) for _ in range(3)]
            for w in picks:
                if w not in s.fav_ws:
                    s.fav_ws.append(w)

    def staff_by_role(self, role, unit=None):
        return [s for s in self.staff if s.role == role and (unit is None or s.unit is unit)]
