#!/usr/bin/env python3
"""indgen: independent synthetic-hospital generator for black-box testing of EHR access monitoring.

Writes DIR/context/*.ndjson (FHIR R4 Bulk-Data layout), DIR/AuditEvent.ndjson (IHE BALP-shaped,
ordered by `recorded`, fixed local offset -06:00) and DIR/labels.ndjson.
Stdlib only.  Usage:
  python3 indgen.py --out DIR --seed N [--days D] [--patients P] [--staff S] [--incidents-per-kind K]
"""
import argparse, base64, datetime as dt, json, math, os, random, sys

OFFSET_H = -6
TZ = dt.timezone(dt.timedelta(hours=OFFSET_H))
DAY = 86400
HOUR = 3600

GIVEN_M = ["James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
           "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven", "Andrew", "Joshua", "Kevin", "Brian",
           "George", "Edward", "Ronald", "Timothy", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas",
           "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Frank",
           "José", "Luis", "Carlos", "Jesús", "Andrés", "Ángel", "Minh", "Duc", "Ahmed", "Omar", "Raj", "Arjun",
           "Björn", "François", "Łukasz", "Tomás", "Dmitri", "Kwame", "Hiroshi", "Wei", "Liam", "Noah", "Ethan",
           "Mason", "Logan", "Lucas", "Elijah", "Aiden", "Caleb", "Owen", "Wyatt", "Hunter", "Dylan"]
GIVEN_F = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
           "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
           "Dorothy", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Laura", "Sharon", "Cynthia",
           "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Nicole", "Emma", "Olivia",
           "María", "Lucía", "Sofía", "Inés", "Renée", "Zoë", "Chloé", "Linh", "Thu", "Fatima", "Aisha", "Priya",
           "Ana", "Mónica", "Beatriz", "Søren", "Agnieszka", "Yuki", "Mei", "Ava", "Isabella", "Mia", "Harper",
           "Evelyn", "Abigail", "Ella", "Madison", "Scarlett", "Grace", "Mary Ann", "Anne Marie", "Jo Ellen"]
SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia", "Rodriguez", "Wilson",
            "Martinez", "Anderson", "Taylor", "Thomas", "Hernandez", "Moore", "Martin", "Jackson", "Thompson",
            "White", "Lopez", "Lee", "Gonzalez", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Perez", "Hall",
            "Young", "Allen", "Sanchez", "Wright", "King", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
            "Ramirez", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Torres",
            "Parker", "Collins", "Edwards", "Stewart", "Flores", "Morris", "Nguyen", "Murphy", "Rivera", "Cook",
            "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Gomez", "Kelly", "Howard", "Ward",
            "Cox", "Diaz", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James", "Reyes", "Cruz",
            "Hughes", "Price", "Myers", "Long", "Foster", "Sanders", "Ross", "Morales", "Powell", "Sullivan",
            "Russell", "Ortiz", "Jenkins", "Gutierrez", "Perry", "Butler", "Barnes", "Fisher", "Henderson",
            "Coleman", "Simmons", "Patterson", "Jordan", "Reynolds", "Hamilton", "Graham", "Kim", "Gonzales",
            "Alexander", "Ramos", "Wallace", "Griffin", "West", "Cole", "Hayes", "Chavez", "Gibson", "Bryant",
            "Ellis", "Stevens", "Murray", "Ford", "Marshall", "Owens", "McDonald", "Harrison", "Ruiz", "Kennedy",
            "Núñez", "Peña", "Muñoz", "Ibáñez", "Müller", "Schröder", "Kowalczyk", "O'Brien", "O'Neil", "Dubois",
            "Lefèvre", "Trần", "Phạm", "Van der Berg", "De La Cruz", "McAllister", "Haugen", "Lindqvist", "Okafor",
            "Mensah", "Patel", "Shah", "Singh", "Tanaka", "Sato", "Chen", "Wang", "Zhang", "Abboud", "Haddad",
            "Svoboda", "Novák", "Castellanos", "Villalobos", "Whitfield", "Thornbury", "Ashcombe", "Pennington"]
STREET_A = ["Oak", "Maple", "Cedar", "Elm", "Pine", "Walnut", "Hickory", "Lincoln", "Washington", "Jefferson",
            "Mill", "River", "Lake", "Hill", "Church", "Main", "Park", "Spring", "Meadow", "Sunset", "Prairie",
            "Willow", "Birch", "Chestnut", "Highland", "Ridge", "Forest", "Valley", "Orchard", "Franklin",
            "Jackson", "Madison", "Adams", "Monroe", "Grant", "Sherman", "Cherry", "Dogwood", "Magnolia",
            "Sycamore", "Aspen", "Cottonwood", "Bluebonnet", "Mesquite", "Pecan", "Railroad", "Depot", "Quarry",
            "Harvest", "Wheatfield", "Juniper", "Hawthorn", "Lakeview", "Fairview", "Bellevue", "Kingsley",
            "Abbott", "Carver", "Dalton", "Emerson", "Garfield", "Hollis", "Irving", "Kendall", "Langley",
            "Marlow", "Norwood", "Prescott", "Quincy", "Ramsey", "Stanton", "Tilden", "Vernon", "Whitman"]
STREET_B = ["Street", "Avenue", "Road", "Lane", "Drive", "Court", "Way", "Place", "Boulevard", "Circle", "Trail",
            "Terrace"]
# (town, postal code, number of streets, population weight)
TOWNS = [("Riverbend", "75840", 150, 10), ("Ashgrove", "75842", 60, 4), ("Kettle Creek", "75846", 45, 3),
         ("Dunmore", "75851", 35, 2), ("Willow Bend", "75853", 30, 2), ("Pine Hollow", "75861", 20, 1)]

# Organization tree: code, name, kind, wards [(code, name)]
DEPTS = [
    ("ED", "Emergency Department", "clin", [("EDFT", "ED Fast Track")]),
    ("IM", "Internal Medicine", "clin", [("4N", "4 North Medical"), ("4S", "4 South Medical")]),
    ("SURG", "General Surgery", "clin", [("5W", "5 West Surgical"), ("6W", "6 West Surgical")]),
    ("CARD", "Cardiology", "clin", [("CCU", "Coronary Care Unit"), ("3E", "3 East Telemetry")]),
    ("ICU", "Critical Care", "clin", [("MICU", "Medical ICU"), ("SICU", "Surgical ICU")]),
    ("OB", "Obstetrics", "clin", [("LD", "Labor and Delivery"), ("MB", "Mother-Baby Unit")]),
    ("PED", "Pediatrics", "clin", [("2P", "2 Pediatrics")]),
    ("ONC", "Oncology", "clin", [("7N", "7 North Oncology")]),
    ("ORTH", "Orthopedics", "clin", [("5E", "5 East Ortho")]),
    ("NEURO", "Neurology", "clin", [("3W", "3 West Neuro")]),
    ("PSY", "Behavioral Health", "clin", [("1B", "1B Behavioral Unit")]),
    ("FAM", "Family Medicine Clinic", "clin", []),
    ("RAD", "Radiology", "svc", []),
    ("LAB", "Laboratory Medicine", "svc", []),
    ("PHARM", "Pharmacy", "svc", []),
    ("REG", "Patient Access", "svc", [("EDREG", "ED Registration")]),
    ("BILL", "Patient Financial Services", "svc", []),
    ("HIM", "Health Information Management", "svc", []),
]
IMP_DEPTS = [("IM", 30), ("SURG", 15), ("CARD", 12), ("ICU", 6), ("OB", 8), ("PED", 5), ("ONC", 8),
             ("ORTH", 8), ("NEURO", 5), ("PSY", 3)]
AMB_DEPTS = [("FAM", 35), ("CARD", 12), ("ONC", 10), ("ORTH", 10), ("SURG", 8), ("NEURO", 6), ("OB", 8),
             ("PED", 6), ("PSY", 5)]
ACTREASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        r = self.rng
        self.D = a.days
        self.start = dt.datetime(2026, 1, 5) + dt.timedelta(days=7 * (a.seed % 9))  # a Monday
        self.orgs = {}         # id -> dict(name, parent, code)
        self.people = []       # persons (households)
        self.staff = []
        self.patients = []
        self.encounters = []
        self.careteams = []
        self.events = []       # (t, seq, dict)
        self.seq = 0
        self.why = "?"
        self.hex = lambda n: "%0*x" % (n, r.getrandbits(4 * n))

    # ---------------------------------------------------------------- time helpers
    def iso(self, t):
        return (self.start + dt.timedelta(seconds=t)).replace(tzinfo=TZ).isoformat()

    def weekday(self, d):
        return (self.start + dt.timedelta(days=d)).weekday()

    # ---------------------------------------------------------------- organisations
    def build_orgs(self):
        self.root = "org-rrmc"
        self.orgs[self.root] = dict(name="Riverbend Regional Medical Center", parent=None, code="RRMC")
        self.dept_id = {}
        self.units_of = {}     # dept code -> list of org ids (dept + wards)
        self.ward_ids = {}
        for code, name, kind, wards in DEPTS:
            oid = "org-" + code.lower()
            self.orgs[oid] = dict(name=name, parent=self.root, code=code)
            self.dept_id[code] = oid
            self.units_of[code] = [oid]
            self.ward_ids[code] = []
            for wc, wn in wards:
                wid = "org-" + code.lower() + "-" + wc.lower()
                self.orgs[wid] = dict(name=wn, parent=oid, code=wc)
                self.units_of[code].append(wid)
                self.ward_ids[code].append(wid)

    def related_units(self, oid):
        """org itself, its parent department (unless root) and its children."""
        s = {oid}
        p = self.orgs[oid]["parent"]
        if p and p != self.root:
            s.add(p)
        for k, v in self.orgs.items():
            if v["parent"] == oid:
                s.add(k)
        return s

    # ---------------------------------------------------------------- people / households
    def build_people(self):
        r = self.rng
        self.streets = []  # dict(town, postal, name, weight, used numbers)
        for town, postal, n, _w in TOWNS:
            names = set()
            while len(names) < n:
                names.add(r.choice(STREET_A) + " " + r.choice(STREET_B))
            names = sorted(names)
            r.shuffle(names)
            for rank, nm in enumerate(names):
                # Zipf-like: a few long streets, many short ones
                self.streets.append(dict(town=town, postal=postal, name=nm,
                                         weight=1.0 / (rank + 1) ** 0.85, used=set()))
        tw = {t[0]: t[3] for t in TOWNS}
        tot = {}
        for s in self.streets:
            tot[s["town"]] = tot.get(s["town"], 0) + s["weight"]
        sweights = [s["weight"] / tot[s["town"]] * tw[s["town"]] for s in self.streets]
        surn_w = [1.0 / (i + 1) ** 0.6 for i in range(len(SURNAMES))]
        P, S = self.a.patients, self.a.staff
        target = int(P + S * 0.6) + 50
        self.households = []
        while len(self.people) < target:
            st = r.choices(self.streets, sweights)[0]
            while True:
                num = r.randint(100, 9999) if r.random() < 0.8 else r.randint(1, 99)
                if num not in st["used"]:
                    st["used"].add(num)
                    break
            sur = r.choices(SURNAMES, surn_w)[0]
            hh = dict(street=st, num=num, members=[])
            self.households.append(hh)
            typ = r.choices(["single", "couple", "family", "elderly"], [30, 27, 33, 10])[0]
            if typ == "single":
                ages = [r.randint(19, 90)]
            elif typ == "couple":
                a0 = r.randint(22, 70)
                ages = [a0, max(19, a0 + r.randint(-6, 6))]
            elif typ == "family":
                a0 = r.randint(27, 55)
                ages = [a0, max(22, a0 + r.randint(-5, 5))] + [r.randint(0, min(20, a0 - 20)) for _ in range(r.randint(1, 3))]
                if r.random() < 0.25:
                    ages = ages[:1] + ages[2:]  # single parent
            else:
                a0 = r.randint(68, 92)
                ages = [a0, max(60, a0 + r.randint(-5, 5))]
            g0 = r.choice("mf")
            for i, age in enumerate(ages):
                if i == 0:
                    g = g0
                elif i == 1 and typ != "family" or (i == 1 and typ == "family" and age >= 22):
                    g = ("f" if g0 == "m" else "m") if r.random() < 0.93 else g0
                else:
                    g = r.choice("mf")
                fam = sur
                if i == 1 and age >= 19 and r.random() < 0.15:
                    fam = r.choices(SURNAMES, surn_w)[0]  # spouse kept own name
                given = r.choice(GIVEN_M if g == "m" else GIVEN_F)
                bd = self.start - dt.timedelta(days=int(age * 365.25 + r.randint(0, 364)))
                p = dict(idx=len(self.people), given=given, family=fam, gender="male" if g == "m" else "female",
                         birth=bd.date().isoformat(), age=age, hh=hh, staff=None, patient=None)
                hh["members"].append(p)
                self.people.append(p)

    # ---------------------------------------------------------------- staff
    def build_staff(self):
        r = self.rng
        S = self.a.staff
        spec = []  # (role, dept code, weight)
        clin_w = {"ED": 8, "IM": 12, "SURG": 7, "CARD": 6, "ICU": 6, "OB": 5, "PED": 4, "ONC": 4, "ORTH": 4,
                  "NEURO": 3, "PSY": 3, "FAM": 5}
        n_phys = int(S * 0.18)
        n_nurse = int(S * 0.46)
        n_other = S - n_phys - n_nurse
        roles = []
        cw = list(clin_w.items())
        for _ in range(n_phys):
            roles.append(("physician", r.choices([c for c, _ in cw], [w for _, w in cw])[0]))
        for _ in range(n_nurse):
            roles.append(("nurse", r.choices([c for c, _ in cw], [w for _, w in cw])[0]))
        other = [("registrar", "REG", 8), ("billing-clerk", "BILL", 6), ("coder", "HIM", 4),
                 ("lab-technician", "LAB", 11), ("pharmacist", "PHARM", 5), ("radiologist", "RAD", 4)]
        for _ in range(n_other):
            roles.append(tuple(r.choices([(a, b) for a, b, _ in other], [w for _, _, w in other])[0]))
        # make sure each dept has enough of each essential role
        need = [("physician", c) for c in clin_w] + [("nurse", c) for c in clin_w for _ in range(2)] + \
               [("registrar", "REG")] * 4 + [("billing-clerk", "BILL")] * 3 + [("coder", "HIM")] * 2 + \
               [("lab-technician", "LAB")] * 5 + [("pharmacist", "PHARM")] * 3 + [("radiologist", "RAD")] * 3
        for i, nd in enumerate(need):
            if nd not in roles:
                roles[i * 7 % len(roles)] = nd
        for nd in need:
            if roles.count(nd) == 0:
                roles.append(nd)
        # pick adults 23..66 as staff (at most 2 per household)
        cand = [p for p in self.people if 23 <= p["age"] <= 66]
        r.shuffle(cand)
        per_hh = {}
        chosen = []
        for p in cand:
            k = id(p["hh"])
            if per_hh.get(k, 0) >= (2 if r.random() < 0.3 else 1):
                continue
            per_hh[k] = per_hh.get(k, 0) + 1
            chosen.append(p)
            if len(chosen) == len(roles):
                break
        used_logins = set()
        for i, (role, dept) in enumerate(roles):
            p = chosen[i]
            base = (strip(p["given"])[0] + strip(p["family"])).lower().replace(" ", "").replace("'", "")
            login = base
            k = 2
            while login in used_logins:
                login = base + str(k)
                k += 1
            used_logins.add(login)
            st = dict(idx=i, id="prac-%05d" % (1000 + i * 7 + r.randint(0, 6)), login=login, person=p,
                      roles=[], empno="E%06d" % r.randint(100000, 999999))
            p["staff"] = st
            unit = self.pick_unit(role, dept)
            st["roles"].append((role, dept, unit))
            self.staff.append(st)
        # a few staff with two roles in two departments
        pairs = [("physician", "IM", "physician", "ICU"), ("nurse", "ED", "nurse", "ICU"),
                 ("nurse", "IM", "nurse", "CARD"), ("registrar", "REG", "billing-clerk", "BILL"),
                 ("physician", "FAM", "physician", "ED"), ("pharmacist", "PHARM", "pharmacist", "ONC")]
        n2 = max(3, S // 60)
        for j in range(n2):
            r1, d1, r2, d2 = pairs[j % len(pairs)]
            c = [s for s in self.staff if len(s["roles"]) == 1 and s["roles"][0][:2] == (r1, d1)]
            if c:
                s = r.choice(c)
                s["roles"].append((r2, d2, self.pick_unit(r2, d2)))
        # indexes
        self.by_login = {s["login"]: s for s in self.staff}
        for s in self.staff:
            s["units"] = set()
            for _, d, u in s["roles"]:
                s["units"] |= self.related_units(u)
            s["depts"] = {d for _, d, _ in s["roles"]}
            s["role_set"] = {rl for rl, _, _ in s["roles"]}
            # workstations
            ws = []
            s["ws_by_role"] = {}
            for rl, d, u in s["roles"]:
                code = self.orgs[u]["code"]
                pre = {"BILL": "PFS-PC", "HIM": "HIM-PC", "PHARM": "RX-WS", "LAB": "LAB-WS", "RAD": "RAD-RD",
                       "REG": "PA-WS"}.get(d, code + "-WS")
                if code == "EDREG":
                    pre = "EDREG-WS"
                for _ in range(r.randint(1, 3)):
                    ws.append("%s%02d" % (pre, r.randint(1, 18)))
                    s["ws_by_role"].setdefault(rl, []).append(ws[-1])
            s["ws"] = ws
            s["home_ip"] = None
            if "physician" in s["role_set"] and r.random() < 0.35:
                s["home_ip"] = r.choice(["73.%d.%d.%d", "98.%d.%d.%d", "24.%d.%d.%d", "71.%d.%d.%d"]) % (
                    r.randint(1, 254), r.randint(1, 254), r.randint(2, 254))

    def pick_unit(self, role, dept):
        r = self.rng
        w = self.ward_ids.get(dept) or []
        if role == "nurse" and w and dept != "ED" and r.random() < 0.88:
            return r.choice(w)
        if role == "registrar" and dept == "REG" and r.random() < 0.45:
            return self.ward_ids["REG"][0]
        if role == "nurse" and dept == "ED" and r.random() < 0.2:
            return w[0]
        return self.dept_id[dept]

    # ---------------------------------------------------------------- schedules
    def build_schedules(self):
        r = self.rng
        D = self.D
        self.duty = [dict() for _ in range(D + 1)]   # day -> staff idx -> (start, end) abs seconds
        for s in self.staff:
            role, dept, _ = s["roles"][0]
            if role == "nurse" or (role == "physician" and dept in ("ED", "ICU")):
                night = r.random() < 0.3
                phase = r.randint(0, 6)
                pat = [1, 1, 0, 1, 0, 0, 0] if r.random() < 0.5 else [1, 0, 1, 1, 0, 0, 0]
                for d in range(D + 1):
                    if pat[(d + phase) % 7] and r.random() < 0.95:
                        st = d * DAY + (19 if night else 7) * HOUR
                        self.duty[d][s["idx"]] = (st, st + 12 * HOUR + 1800)
            elif role == "registrar" and "EDREG" in s["ws"][0]:
                sh = r.choice([7, 15, 23])
                phase = r.randint(0, 6)
                for d in range(D + 1):
                    if (d + phase) % 7 < 5:
                        st = d * DAY + sh * HOUR
                        self.duty[d][s["idx"]] = (st, st + 8 * HOUR + 900)
            elif role in ("lab-technician", "pharmacist"):
                sh = r.choice([6, 6, 14, 22]) if role == "lab-technician" else r.choice([7, 7, 15])
                phase = r.randint(0, 6)
                for d in range(D + 1):
                    if (d + phase) % 7 < 5:
                        st = d * DAY + sh * HOUR
                        self.duty[d][s["idx"]] = (st, st + 8 * HOUR + 1800)
            elif role == "physician":
                oncall = r.randint(0, 3)
                for d in range(D + 1):
                    wd = self.weekday(d)
                    if wd < 5 and r.random() < 0.93 or wd >= 5 and (d // 7) % 4 == oncall:
                        st = d * DAY + r.choice([6, 7, 7, 7, 8]) * HOUR + r.randint(0, 45) * 60
                        self.duty[d][s["idx"]] = (st, st + r.randint(9, 11) * HOUR)
            else:  # registrar (main), billing-clerk, coder, radiologist: office hours
                sh = {"registrar": 6, "radiologist": 8}.get(role, 8)
                for d in range(D + 1):
                    if self.weekday(d) < 5 and r.random() < 0.92:
                        st = d * DAY + sh * HOUR + r.randint(-20, 30) * 60
                        self.duty[d][s["idx"]] = (st, st + int(8.5 * HOUR))
        # previous night's shifts (day -1) spill into day 0: ignore (stream starts at day 0 00:00)

    def on_duty(self, t, role, units=None, depts=None):
        """staff of `role` whose shift covers absolute time t, optionally restricted to org units / depts."""
        d = int(t // DAY)
        out = []
        for dd in (d, d - 1):
            if dd < 0 or dd > self.D:
                continue
            for i, (a, b) in self.duty[dd].items():
                if a <= t < b:
                    s = self.staff[i]
                    for rl, dp, u in s["roles"]:
                        if rl == role and (units is None or u in units) and (depts is None or dp in depts):
                            out.append(s)
                            break
        return out

    def shift_of(self, s, d):
        return self.duty[d].get(s["idx"]) if 0 <= d <= self.D else None

    # ---------------------------------------------------------------- patients
    def build_patients(self):
        r = self.rng
        P = self.a.patients
        staff_people = [s["person"] for s in self.staff]
        n_emp = int(P * r.uniform(0.035, 0.045))
        n_emp = min(n_emp, len(staff_people))
        emp = r.sample(staff_people, n_emp)
        nonstaff = [p for p in self.people if p["staff"] is None]
        # keep households of staff complete (family candidates), drop random others to reach P
        keep_first = [p for p in nonstaff if any(m["staff"] for m in p["hh"]["members"])]
        rest = [p for p in nonstaff if not any(m["staff"] for m in p["hh"]["members"])]
        r.shuffle(rest)
        pats = emp + keep_first + rest
        pats = pats[:P]
        r.shuffle(pats)
        self.emp_people = set(id(p) for p in emp)
        for i, p in enumerate(pats):
            pid = "pat-%s" % self.hex(10)
            p["patient"] = dict(id=pid, mrn="MRN%07d" % (1000000 + i * 3 + r.randint(0, 2)), person=p,
                                labels=[], deceased=None, encs=[], ct=set())
            pt = p["patient"]
            if id(p) in self.emp_people and r.random() < 0.92:
                pt["labels"].append("EMP")
            self.patients.append(pt)
        self.pat_by_id = {pt["id"]: pt for pt in self.patients}
        # VIPs
        adults = [pt for pt in self.patients if pt["person"]["age"] >= 25 and pt["person"]["staff"] is None]
        self.vips = r.sample(adults, r.randint(5, 8))
        for pt in self.vips:
            pt["labels"].append("CEL")
        # sensitivity labels
        for pt in self.patients:
            x = r.random()
            if x < 0.006:
                pt["labels"].append("HIV")
            elif x < 0.016:
                pt["labels"].append("R")
            elif x < 0.019:
                pt["labels"].append("V")
            elif x < 0.024:
                pt["labels"].append("SDV")
            elif x < 0.027:
                pt["labels"].append("ETH")
        # deceased before the window (weeks to months)
        old = [pt for pt in self.patients if pt["person"]["age"] >= 55 and pt["person"]["staff"] is None
               and "CEL" not in pt["labels"]]
        self.dead_before = r.sample(old, max(6, int(len(self.patients) * 0.012)))
        for pt in self.dead_before:
            pt["deceased"] = -r.randint(10, 400) * DAY + r.randint(0, DAY - 1)

    # ---------------------------------------------------------------- encounters
    def new_enc(self, pt, cls, start, end, org, parts):
        e = dict(id="enc-%s" % self.hex(12), cls=cls, pt=pt, start=start, end=end, org=org,
                 parts=dedup(parts), dept=self.dept_of(org))
        pt["encs"].append(e)
        self.encounters.append(e)
        return e

    def dept_of(self, org):
        p = self.orgs[org]["parent"]
        return self.orgs[org]["code"] if p == self.root else self.orgs[p]["code"]

    def pick_patient(self, t, cls, dept=None):
        r = self.rng
        for _ in range(50):
            pt = r.choice(self.patients)
            p = pt["person"]
            if pt["deceased"] is not None and pt["deceased"] < t:
                continue
            if "CEL" in pt["labels"]:
                continue
            if dept == "PED" and p["age"] > 17 or dept in ("OB",) and (p["gender"] != "female" or not 17 <= p["age"] <= 45):
                continue
            if dept not in ("PED", None, "FAM", "ED") and p["age"] < 14:
                continue
            if cls == "IMP" and p["age"] < 50 and r.random() < 0.4 and dept not in ("OB", "PED"):
                continue
            busy = any(e["start"] - DAY < t < e["end"] + DAY and e["cls"] == "IMP" for e in pt["encs"])
            if busy:
                continue
            return pt
        return None

    def phys_for(self, dept, t, any_ok=True):
        c = self.on_duty(t, "physician", depts={dept})
        if c:
            return self.rng.choice(c)
        c = [s for s in self.staff if any(rl == "physician" and dp == dept for rl, dp, _ in s["roles"])]
        return self.rng.choice(c) if c and any_ok else None

    def nurses_for(self, units, t):
        return self.on_duty(t, "nurse", units=units)

    def build_encounters(self):
        r = self.rng
        D = self.D
        P = self.a.patients
        scale = P / 4000.0
        # historical encounters (context only, before the window) incl. for those who died
        for pt in self.patients:
            if r.random() < 0.45:
                for _ in range(r.randint(1, 3)):
                    st = -r.randint(20, 720) * DAY + r.randint(8, 17) * HOUR
                    if pt["deceased"] is not None and st > pt["deceased"]:
                        st = pt["deceased"] - r.randint(1, 30) * DAY
                    cls = r.choices(["AMB", "IMP", "EMER"], [6, 2, 2])[0]
                    dep = r.choices([d for d, _ in AMB_DEPTS], [w for _, w in AMB_DEPTS])[0] if cls == "AMB" else \
                        ("ED" if cls == "EMER" else r.choices([d for d, _ in IMP_DEPTS], [w for _, w in IMP_DEPTS])[0])
                    org = self.dept_id[dep] if cls != "IMP" or not self.ward_ids[dep] else r.choice(self.ward_ids[dep])
                    dur = {"AMB": 1800, "EMER": 5 * HOUR, "IMP": r.randint(1, 8) * DAY}[cls]
                    doc = r.choice([s for s in self.staff if any(rl == "physician" and dp == dep for rl, dp, _ in s["roles"])])
                    self.new_enc(pt, cls, st, st + dur, org, [doc])
            if pt["deceased"] is not None and r.random() < 0.6:
                st = pt["deceased"] - r.randint(2, 9) * DAY
                dep = r.choice(["IM", "ICU", "ONC", "CARD"])
                org = r.choice(self.ward_ids[dep])
                doc = r.choice([s for s in self.staff if any(rl == "physician" and dp == dep for rl, dp, _ in s["roles"])])
                self.new_enc(pt, "IMP", st, pt["deceased"], org, [doc])
        # in-window
        for d in range(-10, D):
            wd = self.weekday(d) if d >= 0 else (self.start.weekday() + d) % 7
            # emergency visits
            for _ in range(self.poisson(20 * scale * (1.15 if wd >= 5 else 1.0))):
                t = d * DAY + int(r.choices(range(24), [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 3, 2, 2])[0] * HOUR + r.randint(0, 3599))
                pt = self.pick_patient(t, "EMER", "ED")
                if pt:
                    self.make_emer(pt, t, d)
            # direct/elective admissions
            for _ in range(self.poisson(13 * scale * (0.5 if wd >= 5 else 1.0))):
                t = d * DAY + r.randint(8, 17) * HOUR + r.randint(0, 3599)
                dep = r.choices([x for x, _ in IMP_DEPTS], [w for _, w in IMP_DEPTS])[0]
                pt = self.pick_patient(t, "IMP", dep)
                if pt:
                    self.make_imp(pt, t, dep)
            # clinic visits
            if wd < 5:
                for _ in range(self.poisson(60 * scale)):
                    t = d * DAY + r.randint(8, 16) * HOUR + r.choice([0, 20, 40]) * 60
                    dep = r.choices([x for x, _ in AMB_DEPTS], [w for _, w in AMB_DEPTS])[0]
                    pt = self.pick_patient(t, "AMB", dep)
                    if pt:
                        self.make_amb(pt, t, dep)
        # staff treated by their own colleagues
        emp_pts = [p["patient"] for p in self.people if p["staff"] and p["patient"]]
        for pt in r.sample(emp_pts, min(len(emp_pts), max(4, len(emp_pts) // 6))):
            s = pt["person"]["staff"]
            dep = next((dp for rl, dp, _ in s["roles"] if dp in dict(AMB_DEPTS) or dp == "ED"), None)
            t = r.randint(1, max(2, D - 2)) * DAY + r.randint(8, 16) * HOUR
            if dep == "ED":
                self.make_emer(pt, t, int(t // DAY), no_admit=True)
            elif dep in dict(IMP_DEPTS) and r.random() < 0.4 and dep not in ("PED", "OB", "PSY"):
                self.make_imp(pt, t, dep, los=r.randint(1, 3))
            else:
                self.make_amb(pt, t, dep or "FAM")
        # VIP admissions with a big care team
        for pt in self.vips[:2]:
            t = r.randint(2, max(3, int(D * 0.6))) * DAY + r.randint(9, 15) * HOUR
            dep = r.choice(["CARD", "SURG", "IM", "ORTH"])
            e = self.make_imp(pt, t, dep, los=r.randint(3, 7))
            team = e["parts"][:]
            team += [s for s in self.staff if dep in s["depts"] and "physician" in s["role_set"]][:2]
            team += [s for s in self.staff if "nurse" in s["role_set"] and s["units"] & {e["org"]}][:4]
            team = dedup(team)
            self.careteams.append(dict(id="ct-%s" % self.hex(10), pt=pt, members=team, start=e["start"] - DAY,
                                       end=e["end"] + 30 * DAY, vip=True, enc=e))
            for m in team:
                pt["ct"].add(m["login"])
        # chronic care teams (oncology, cardiology, psych)
        for dep, n in (("ONC", 30), ("CARD", 15), ("PSY", 10)):
            docs = [s for s in self.staff if dep in s["depts"] and "physician" in s["role_set"]]
            nurses = [s for s in self.staff if dep in s["depts"] and "nurse" in s["role_set"]]
            for _ in range(int(n * scale) + 1):
                pt = self.pick_patient(0, "AMB", dep)
                if not pt or not docs:
                    continue
                mem = [r.choice(docs)] + ([r.choice(nurses)] if nurses else [])
                if dep == "ONC" and r.random() < 0.5:
                    ph = [s for s in self.staff if "pharmacist" in s["role_set"]]
                    mem.append(r.choice(ph))
                self.careteams.append(dict(id="ct-%s" % self.hex(10), pt=pt, members=mem,
                                           start=-r.randint(30, 300) * DAY, end=(D + r.randint(30, 200)) * DAY,
                                           vip=False, enc=None))
                for m in mem:
                    pt["ct"].add(m["login"])
                if dep == "PSY" and "PSY" not in pt["labels"]:
                    pt["labels"].append("PSY")

    def poisson(self, lam):
        r = self.rng
        if lam <= 0:
            return 0
        L, k, p = math.exp(-lam), 0, 1.0
        if lam > 30:
            return max(0, int(round(r.gauss(lam, math.sqrt(lam)))))
        while True:
            p *= r.random()
            if p < L:
                return k
            k += 1

    def make_emer(self, pt, t, d, no_admit=False):
        r = self.rng
        end = t + r.randint(2 * HOUR, 8 * HOUR)
        doc = self.phys_for("ED", t)
        nn = self.nurses_for(set(self.units_of["ED"]), t)
        parts = [doc] + r.sample(nn, min(len(nn), r.randint(1, 2)))
        org = self.dept_id["ED"] if r.random() < 0.8 else self.ward_ids["ED"][0]
        e = self.new_enc(pt, "EMER", t, end, org, parts)
        if not no_admit and r.random() < 0.22 and pt["person"]["age"] >= 14:
            dep = r.choices([x for x, _ in IMP_DEPTS if x not in ("OB", "PED")], [w for x, w in IMP_DEPTS if x not in ("OB", "PED")])[0]
            self.make_imp(pt, end, dep, via_ed=True)
        return e

    def make_imp(self, pt, t, dep, los=None, via_ed=False):
        r = self.rng
        los = los or max(1, int(r.expovariate(1 / 3.5)) + 1)
        los = min(los, 20)
        end = t + los * DAY + r.randint(-4, 6) * HOUR
        wards = self.ward_ids[dep]
        org = r.choice(wards) if wards and r.random() < 0.7 else self.dept_id[dep]
        doc = self.phys_for(dep, t)
        parts = [doc]
        if r.random() < 0.4:
            d2 = self.phys_for(dep, t)
            parts.append(d2)
        nn = self.nurses_for(set(self.related_units(org)) if org in sum(self.ward_ids.values(), []) else set(self.units_of[dep]), t)
        if nn:
            parts += r.sample(nn, min(len(nn), r.randint(1, 2)))
        e = self.new_enc(pt, "IMP", t, end, org, parts)
        e["via_ed"] = via_ed
        # in-hospital deaths (context: deceasedDateTime = end of stay)
        if pt["person"]["age"] >= 65 and r.random() < 0.04 and pt["deceased"] is None and pt["person"]["staff"] is None \
                and "CEL" not in pt["labels"]:
            pt["deceased"] = end
            e["death"] = True
        return e

    def make_amb(self, pt, t, dep):
        r = self.rng
        doc = self.phys_for(dep, t)
        nn = self.nurses_for(set(self.units_of[dep]), t)
        parts = [doc] + ([r.choice(nn)] if nn else [])
        return self.new_enc(pt, "AMB", t, t + r.choice([20, 30, 40, 60]) * 60, self.dept_id[dep], parts)

    # ---------------------------------------------------------------- events
    def emit(self, t, s, pt, purpose="TREAT", sub="read", res=None, net=None, inc=None, outcome="0"):
        if t < 0 or t >= self.D * DAY:
            return
        r = self.rng
        if net is None:
            net = (r.choice(s["ws"]) if r.random() < 0.25 else s["ws"][0], "1")
        res = res or r.choice(["Patient", "Observation", "Observation", "DocumentReference", "MedicationRequest",
                               "Condition", "Encounter", "DiagnosticReport", "AllergyIntolerance"])
        self.seq += 1
        if inc is None and outcome == "0" and r.random() < 0.004:
            outcome = r.choice(["4", "4", "8"])  # occasional failed request (still monitored)
        if inc is None and pt["person"]["staff"] is s:
            # Nobody's legitimate work is opening their own chart (every hospital policy forbids
            # it): an employee who is a patient is treated and viewed by colleagues, never by
            # themselves. Checked after the random draws so the rest of the hospital is unchanged.
            return
        self.events.append((int(t), self.seq, s, pt, purpose, sub, res, net, inc, outcome, self.why))
        self.pairs.add((s["login"], pt["id"]))

    def rand_in(self, a, b):
        if b <= a:
            return a
        return self.rng.randint(int(a), int(b))

    def burst(self, s, pt, t, n, **kw):
        for _ in range(n):
            self.emit(t, s, pt, **kw)
            t += self.rng.randint(5, 240)
        return t

    def build_events(self):
        r = self.rng
        D = self.D
        self.pairs = set()
        for e in self.encounters:
            if e["end"] < -12 * DAY or e["start"] >= D * DAY:
                continue
            if e["start"] >= -1 * DAY:
                self.enc_events(e)
        self.billing_events()
        self.careteam_events()
        n = len(self.events)
        self.unexplained(int(round(n * self.a.unexplained_share)))

    def enc_events(self, e):
        r = self.rng
        pt, cls = e["pt"], e["cls"]
        doc = e["parts"][0]
        # registration
        if cls == "EMER":
            regs = self.on_duty(e["start"], "registrar", units={self.ward_ids["REG"][0]}) or \
                [s for s in self.staff if "registrar" in s["role_set"]]
            rg = r.choice(regs)
            t = e["start"] + r.randint(60, 900)
            self.why = "registration-ED"
            self.emit(t, rg, pt, sub="search-type", res="Patient")
            self.burst(rg, pt, t + 30, r.randint(1, 3), sub=r.choice(["update", "create"]), res="Encounter")
        elif cls == "IMP" and not e.get("via_ed") or cls == "AMB":
            regs = self.on_duty(e["start"], "registrar", units={self.dept_id["REG"]}) or \
                self.on_duty(e["start"], "registrar")
            if regs:
                rg = r.choice(regs)
                t = e["start"] - r.randint(60, 1200)
                self.why = "registration"
                self.emit(t, rg, pt, sub="search-type", res="Patient")
                self.burst(rg, pt, t + 40, r.randint(1, 3), sub=r.choice(["update", "create"]), res="Encounter")
        if cls == "EMER":
            edunits = set(self.units_of["ED"])
            for s in e["parts"]:
                sh = self.shift_of(s, int(e["start"] // DAY))
                t = self.rand_in(e["start"] + 300, e["start"] + 2400)
                btg = "ED" in s["depts"] and r.random() < 0.12
                self.why = "ED-participant"
                self.emit(t, s, pt, purpose="BTG" if btg else "TREAT", res="Patient")
                k = r.randint(3, 7) if s is doc else r.randint(3, 8)
                for _ in range(k):
                    self.emit(self.rand_in(t, e["end"]), s, pt)
            # other ED staff on the board (department relation)
            for _ in range(r.randint(0, 2)):
                c = self.on_duty(e["start"] + 1800, "nurse", units=edunits) + self.on_duty(e["start"] + 1800, "physician", depts={"ED"})
                if c:
                    s = r.choice(c)
                    self.why = "ED-dept-colleague"
                    self.emit(self.rand_in(e["start"], e["end"]), s, pt, purpose="BTG" if r.random() < 0.08 else "TREAT")
            self.ancillary(e, e["start"], e["end"], lab=r.randint(1, 3), rad=0.5, rx=0.3)
            return
        if cls == "AMB":
            for s in e["parts"]:
                for _ in range(r.randint(2, 4) if s is doc else r.randint(1, 3)):
                    self.why = "AMB-participant"
                    self.emit(self.rand_in(e["start"] - 600, e["end"] + 900), s, pt)
            if r.random() < 0.4:
                lab = self.ancillary(e, e["start"] + 1800, e["start"] + 6 * HOUR, lab=1, rad=0.15, rx=0.0)
                # physician reviews results next working day
                nd = int(e["start"] // DAY) + 1
                sh = self.shift_of(doc, nd) or self.shift_of(doc, nd + 1) or self.shift_of(doc, nd + 2)
                if sh:
                    self.why = "AMB-results-review"
                    self.emit(self.rand_in(sh[0] + 600, sh[1] - 600), doc, pt, res="Observation")
            return
        # IMP
        d0, d1 = int(max(0, e["start"]) // DAY), int(min(self.D * DAY - 1, e["end"]) // DAY)
        dep = e["dept"]
        punits = self.related_units(e["org"]) if e["org"] not in self.dept_id.values() else set(self.units_of[dep])
        if d1 < d0:
            return
        consult_day = r.randint(d0, d1) if r.random() < 0.3 else None
        vip = "CEL" in pt["labels"]
        for d in range(d0, d1 + 1):
            a, b = max(e["start"], d * DAY), min(e["end"], (d + 1) * DAY)
            if b <= a:
                continue
            # physicians
            for s in e["parts"]:
                if "physician" not in s["role_set"]:
                    continue
                sh = self.shift_of(s, d)
                if sh:
                    rs = max(a, sh[0] + 900)
                    n = r.randint(2, 6) * (3 if vip else 1)
                    for _ in range(n):
                        self.why = "IMP-physician"
                        self.emit(self.rand_in(rs, min(b, sh[1])), s, pt)
                if s["home_ip"] and r.random() < 0.3 and b > d * DAY + 20 * HOUR:
                    t = d * DAY + r.randint(19 * 60, 22 * 60 + 30) * 60
                    if a <= t <= b:
                        self.why = "remote-home-evening"
                        self.burst(s, pt, t, r.randint(1, 3), net=(s["home_ip"], "2"))
            if not any(self.shift_of(s, d) for s in e["parts"] if "physician" in s["role_set"]):
                cov = self.phys_for(dep, max(a, d * DAY + 9 * HOUR), any_ok=False)
                if cov:
                    self.why = "weekend-coverage-physician"
                    self.burst(cov, pt, self.rand_in(max(a, d * DAY + 8 * HOUR), max(a, d * DAY + 12 * HOUR)), r.randint(1, 3))
            # nurses: day and night shift
            for hh in (10, 22):
                t0 = d * DAY + hh * HOUR
                if not a <= t0 <= b:
                    t0 = self.rand_in(a, b)
                nn = self.nurses_for(punits, t0)
                if not nn:
                    continue
                prim = [s for s in nn if s in e["parts"]]
                s = prim[0] if prim else r.choice(nn)
                sh = self.shift_of(s, d) or self.shift_of(s, d - 1)
                lo, hi = (max(a, sh[0]), min(b if hh == 10 else e["end"], sh[1])) if sh else (a, b)
                for _ in range(r.randint(5, 11) * (2 if vip else 1)):
                    self.why = "IMP-nurse"
                    self.emit(self.rand_in(lo, hi), s, pt, res=r.choice(["Observation", "MedicationAdministration", "Patient", "CarePlan"]),
                              sub=r.choice(["read", "read", "create", "update"]))
                for o in r.sample(nn, min(len(nn), r.randint(0, 2))):
                    if o is not s:
                        self.why = "ward-census-nurse"
                        self.emit(self.rand_in(lo, hi), o, pt, res="Patient")
            self.ancillary(e, a, b, lab=r.randint(0, 2), rad=0.25, rx=0.6)
            if d == consult_day:
                od = r.choice([x for x, _ in IMP_DEPTS if x not in (dep, "PED", "OB", "PSY")] + ["NEURO", "CARD"])
                if od != dep:
                    c = self.on_duty(self.rand_in(a, b), "physician", depts={od})
                    if c:
                        s = r.choice(c)
                        sh = self.shift_of(s, d)
                        if sh and min(b, sh[1]) > max(a, sh[0]):
                            self.why = "consult-other-dept"
                            self.burst(s, pt, self.rand_in(max(a, sh[0]), min(b, sh[1]) - 600), r.randint(1, 3))
        if e.get("death"):
            t = e["end"] + r.randint(1, 20) * HOUR
            self.why = "post-death-doc"
            self.emit(t, doc, pt, sub="create", res="DocumentReference")

    def ancillary(self, e, a, b, lab=1, rad=0.2, rx=0.3):
        r = self.rng
        pt = e["pt"]
        for _ in range(lab):
            t = self.rand_in(a, b)
            c = self.on_duty(t, "lab-technician")
            if c:
                s = r.choice(c)
                self.why = "lab"
                self.emit(t, s, pt, res="Specimen", sub="read")
                self.emit(t + r.randint(600, 5400), s, pt, res="Observation", sub="create")
        if r.random() < rad:
            t = self.rand_in(a, b)
            c = self.on_duty(t, "radiologist")
            if c:
                self.why = "radiology"
                self.burst(r.choice(c), pt, t + r.randint(900, 3 * HOUR), r.randint(1, 2), res="ImagingStudy")
        if r.random() < rx:
            t = self.rand_in(a, b)
            c = self.on_duty(t, "pharmacist")
            if c:
                self.why = "pharmacy"
                self.burst(r.choice(c), pt, t, r.randint(1, 2), res="MedicationRequest")

    def billing_events(self):
        r = self.rng
        work = {}  # (role, day) -> list of patients
        for e in self.encounters:
            if e["end"] < -15 * DAY or e["end"] >= self.D * DAY:
                continue
            for role, lo, hi in (("billing-clerk", 2, 8), ("coder", 1, 5)):
                if role == "coder" and e["cls"] == "AMB" and r.random() < 0.7:
                    continue
                d = int(e["end"] // DAY) + r.randint(lo, hi)
                while d < self.D and self.weekday(d) >= 5:
                    d += 1
                if 0 <= d < self.D:
                    work.setdefault((role, d), []).append(e["pt"])
        for (role, d), pts in sorted(work.items()):
            clerks = [self.staff[i] for i in self.duty[d] if role in self.staff[i]["role_set"]
                      and 5 * HOUR <= self.duty[d][i][0] - d * DAY <= 11 * HOUR]
            if not clerks:
                continue
            r.shuffle(pts)
            per = {}
            for i, pt in enumerate(pts):
                per.setdefault(clerks[i % len(clerks)]["idx"], []).append(pt)
            for si, lst in per.items():
                s = self.staff[si]
                sh = self.duty[d][si]
                t = sh[0] + r.randint(600, 3600)
                purpose = "HPAYMT" if role == "billing-clerk" else "HOPERAT"
                net = (r.choice(s["ws_by_role"][role]), "1")
                for pt in lst:
                    for k in range(r.randint(1, 3)):
                        self.why = role + "-batch"
                        self.emit(t, s, pt, purpose=purpose, net=net, res=r.choice(["Claim", "Encounter", "Account", "Procedure", "Condition"]) if k else "Encounter")
                        t += r.randint(20, 200)
                    t += r.randint(30, 400)
                    if t > sh[1]:
                        t = sh[1] - 600

    def careteam_events(self):
        r = self.rng
        for ct in self.careteams:
            if ct["vip"]:
                e = ct["enc"]
                for d in range(max(0, int(e["start"] // DAY)), min(self.D, int(e["end"] // DAY) + 4)):
                    for m in ct["members"]:
                        sh = self.shift_of(m, d)
                        if sh:
                            for _ in range(r.randint(3, 10)):
                                self.why = "VIP-careteam"
                                self.emit(self.rand_in(sh[0] + 600, sh[1] - 600), m, ct["pt"])
                continue
            for d in range(self.D):
                for m in ct["members"]:
                    if r.random() < 0.12:
                        sh = self.shift_of(m, d)
                        if sh:
                            self.why = "chronic-careteam"
                            self.burst(m, ct["pt"], self.rand_in(sh[0] + 600, sh[1] - 1800), r.randint(1, 3))

    def unexplained(self, n):
        r = self.rng
        for _ in range(n):
            d = r.randrange(self.D)
            if not self.duty[d]:
                continue
            si = r.choice(list(self.duty[d].keys()))
            s = self.staff[si]
            sh = self.duty[d][si]
            pt = r.choice(self.patients)
            self.why = "unexplained-0.2%"
            self.emit(self.rand_in(sh[0] + 600, sh[1] - 600), s, pt)

    # ---------------------------------------------------------------- incidents
    def linked(self, s, pt):
        if s["login"] in pt["ct"]:
            return True
        for e in pt["encs"]:
            if s in e["parts"] or e["org"] in s["units"]:
                return True
        if (s["login"], pt["id"]) in self.pairs:
            return True
        return False

    def addr(self, p):
        return (p["hh"]["street"]["name"], p["hh"]["street"]["town"])

    def plain(self, s, pt, allow_emp=False):
        """no relation of any kind between staff s and patient pt (for stranger-type incidents)."""
        p, me = pt["person"], s["person"]
        if p is me or p["hh"] is me["hh"] or self.addr(p) == self.addr(me):
            return False
        if strip(p["family"]).lower() == strip(me["family"]).lower():
            return False
        if not allow_emp and (p["staff"] or "EMP" in pt["labels"]):
            return False
        if "CEL" in pt["labels"] or self.linked(s, pt):
            return False
        return True

    def recent_enc(self, pt, t):
        return any(e["start"] - 7 * DAY <= t <= e["end"] + 7 * DAY for e in pt["encs"])

    def build_incidents(self):
        r = self.rng
        K = self.a.incidents_per_kind
        D = self.D
        first = int(math.ceil(D * 0.7))
        days = list(range(first, D))
        used = set()
        self.incidents = []
        kinds = ["SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "SNOOPING", "COMPROMISED", "BREAK_GLASS"]
        nid = 0
        for kind in kinds:
            made = 0
            tries = 0
            while made < K and tries < 4000:
                tries += 1
                s = r.choice(self.staff)
                if s["login"] in used:
                    continue
                me = s["person"]
                d = r.choice(days)
                sh = self.shift_of(s, d)
                if kind == "COMPROMISED":
                    if sh and sh[0] < d * DAY + 6 * HOUR or self.shift_of(s, d - 1) and self.shift_of(s, d - 1)[1] > d * DAY:
                        continue
                    if "nurse" in s["role_set"] and r.random() < 0.5:
                        continue
                elif not sh or sh[0] < d * DAY + 4 * HOUR and sh[1] > (d + 1) * DAY:
                    continue
                elif sh and sh[0] >= d * DAY + 17 * HOUR:
                    continue  # keep the incident inside one local date: day-time workers only
                tm = None
                if sh:
                    lo, hi = sh[0] + 1800, min(sh[1] - 1800, (d + 1) * DAY - 1800)
                    if hi <= lo:
                        continue
                    tm = self.rand_in(lo, hi)
                target = None
                if kind == "SELF":
                    pt = me["patient"]
                    if pt and not self.linked(s, pt):
                        target = pt
                elif kind == "FAMILY":
                    c = [m["patient"] for m in me["hh"]["members"] if m is not me and m["patient"] and m["staff"] is None
                         and strip(m["family"]).lower() == strip(me["family"]).lower() and m["patient"]["deceased"] is None
                         and not self.linked(s, m["patient"]) and "CEL" not in m["patient"]["labels"]]
                    if c:
                        target = r.choice(c)
                elif kind == "NEIGHBOR":
                    c = [m["patient"] for hh in self.households if hh["street"] is me["hh"]["street"] and hh is not me["hh"]
                         for m in hh["members"] if m["patient"] and m["staff"] is None and m["patient"]["deceased"] is None
                         and strip(m["family"]).lower() != strip(me["family"]).lower()
                         and not self.linked(s, m["patient"]) and not m["patient"]["labels"]]
                    if c:
                        rec = [pt for pt in c if self.recent_enc(pt, tm)]
                        target = r.choice(rec if rec and r.random() < 0.7 else c)
                elif kind == "COWORKER":
                    c = [o["person"]["patient"] for o in self.staff if o is not s and o["person"]["patient"]
                         and o["person"]["patient"]["deceased"] is None and self.plain(s, o["person"]["patient"], allow_emp=True)]
                    if c:
                        same = [pt for pt in c if pt["person"]["staff"]["depts"] & s["depts"]]
                        target = r.choice(same if same and r.random() < 0.8 else c)
                elif kind == "VIP":
                    c = [pt for pt in self.vips if not self.linked(s, pt) and self.addr(pt["person"]) != self.addr(me)
                         and pt["deceased"] is None]
                    if c:
                        adm = [pt for pt in c if self.recent_enc(pt, tm)]
                        target = r.choice(adm if adm and r.random() < 0.7 else c)
                elif kind == "DECEASED":
                    c = [pt for pt in self.patients if pt["deceased"] is not None and pt["deceased"] < tm - 21 * DAY
                         and self.plain(s, pt)]
                    if c:
                        target = r.choice(c)
                elif kind in ("SNOOPING", "BREAK_GLASS"):
                    for _ in range(200):
                        pt = r.choice(self.patients)
                        if pt["deceased"] is None and not pt["labels"] and self.plain(s, pt):
                            if kind == "BREAK_GLASS" and ("ED" in s["depts"] or any(
                                    e["cls"] == "EMER" and e["start"] - DAY < tm < e["end"] + DAY for e in pt["encs"])):
                                continue
                            if kind == "SNOOPING" and r.random() < 0.6 and not self.recent_enc(pt, tm):
                                continue
                            target = pt
                            break
                elif kind == "COMPROMISED":
                    target = "many"
                if target is None:
                    continue
                if kind == "BREAK_GLASS" and "ED" in s["depts"]:
                    continue
                nid += 1
                iid = "inc-%s-%02d" % (kind.lower(), nid)
                exp = {"SNOOPING": ["NO_RELATIONSHIP"],
                       "COMPROMISED": ["BULK", "UNUSUAL_TIME", "UNUSUAL_LOCATION"]}.get(kind, [kind])
                inc = (iid, kind, exp)
                used.add(s["login"])
                if kind == "COMPROMISED":
                    ip = r.choice(["185.%d.%d.%d", "45.%d.%d.%d", "193.%d.%d.%d", "103.%d.%d.%d"]) % (
                        r.randint(1, 254), r.randint(1, 254), r.randint(2, 254))
                    t = d * DAY + r.randint(60, 240) * 60
                    n = r.randint(30, 70)
                    pool = [pt for pt in self.patients if not self.linked(s, pt)]
                    for pt in r.sample(pool, n):
                        if r.random() < 0.3:
                            self.why = "incident"
                            self.emit(t, s, pt, sub="search-type", res="Patient", net=(ip, "2"), inc=inc)
                            t += r.randint(3, 20)
                        self.emit(t, s, pt, net=(ip, "2"), inc=inc, res=r.choice(["Patient", "DocumentReference", "Observation"]))
                        t += r.randint(10, 120)
                else:
                    n = r.randint(1, 4)
                    net = None
                    purpose = "BTG" if kind == "BREAK_GLASS" else "TREAT"
                    t = tm
                    for k in range(n):
                        res = "Patient" if k == 0 else r.choice(["Observation", "DiagnosticReport", "DocumentReference", "Encounter", "MedicationRequest"])
                        self.why = "incident"
                        self.emit(t, s, target, purpose=purpose, res=res, net=net, inc=inc)
                        t += r.randint(8, 400)
                self.incidents.append(dict(id=iid, kind=kind, login=s["login"], day=d,
                                           target=None if target == "many" else target["id"]))
                made += 1
            if made < K:
                print("warning: only %d/%d %s incidents" % (made, K, kind), file=sys.stderr)

    # ---------------------------------------------------------------- output
    def write(self):
        out = self.a.out
        os.makedirs(os.path.join(out, "context"), exist_ok=True)
        W = lambda name: open(os.path.join(out, "context", name + ".ndjson"), "w", encoding="utf-8")
        J = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n"
        with W("Organization") as f:
            for oid, o in self.orgs.items():
                res = {"resourceType": "Organization", "id": oid, "active": True, "name": o["name"],
                       "identifier": [{"system": "urn:rrmc:org", "value": o["code"]}],
                       "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                             "code": "prov" if o["parent"] is None else "dept"}]}]}
                if o["parent"]:
                    res["partOf"] = {"reference": "Organization/" + o["parent"]}
                f.write(J(res))
        rng = random.Random(self.a.seed * 7 + 1)
        with W("Practitioner") as f, W("PractitionerRole") as g:
            for s in self.staff:
                p = s["person"]
                f.write(J({"resourceType": "Practitioner", "id": s["id"], "active": True,
                           "identifier": [{"system": "urn:rrmc:employee", "value": s["empno"]},
                                          {"system": "urn:rrmc:login", "value": s["login"]}],
                           "name": [{"family": p["family"], "given": p["given"].split(" ")}],
                           "gender": p["gender"], "birthDate": p["birth"],
                           "address": [self.address(p)]}))
                for k, (rl, dp, u) in enumerate(s["roles"]):
                    g.write(J({"resourceType": "PractitionerRole", "id": "%s-r%d" % (s["id"], k), "active": True,
                               "practitioner": {"reference": "Practitioner/" + s["id"]},
                               "organization": {"reference": "Organization/" + u},
                               "code": [{"coding": [{"system": "urn:rrmc:role", "code": rl}]}]}))
        with W("Patient") as f:
            for pt in self.patients:
                p = pt["person"]
                fam, giv = p["family"], p["given"]
                addr = self.address(p)
                if p["staff"]:  # registration typed it differently: case / accents / spacing only
                    v = rng.random()
                    if v < 0.25:
                        fam, giv = fam.upper(), giv.upper()
                    elif v < 0.45:
                        fam, giv = strip(fam), strip(giv)
                    elif v < 0.55:
                        addr = dict(addr, line=[addr["line"][0].upper().replace(" ", "  ", 1)], city=addr["city"].upper())
                res = {"resourceType": "Patient", "id": pt["id"],
                       "identifier": [{"system": "urn:rrmc:mrn", "value": pt["mrn"]}],
                       "name": [{"family": fam, "given": giv.split(" ") if rng.random() < 0.9 else [giv]}],
                       "gender": p["gender"], "birthDate": p["birth"], "address": [addr]}
                if pt["deceased"] is not None:
                    res["deceasedDateTime"] = self.iso(pt["deceased"])
                if pt["labels"]:
                    sec = []
                    for c in pt["labels"]:
                        sysn = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality" if c in ("R", "V") else \
                            "http://terminology.hl7.org/CodeSystem/v3-ActCode"
                        sec.append({"system": sysn, "code": c})
                    res["meta"] = {"security": sec}
                f.write(J(res))
        with W("Encounter") as f:
            for e in self.encounters:
                res = {"resourceType": "Encounter", "id": e["id"],
                       "status": "finished" if e["end"] < self.D * DAY else "in-progress",
                       "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": e["cls"]},
                       "subject": {"reference": "Patient/" + e["pt"]["id"]},
                       "participant": [{"individual": {"reference": "Practitioner/" + s["id"]}} for s in e["parts"] if s],
                       "period": {"start": self.iso(e["start"])},
                       "serviceProvider": {"reference": "Organization/" + e["org"]}}
                # the context is a snapshot at the end of the window
                if e["end"] < self.D * DAY:
                    res["period"]["end"] = self.iso(e["end"])
                f.write(J(res))
        with W("CareTeam") as f:
            for ct in self.careteams:
                f.write(J({"resourceType": "CareTeam", "id": ct["id"], "status": "active",
                           "subject": {"reference": "Patient/" + ct["pt"]["id"]},
                           "participant": [{"member": {"reference": "Practitioner/" + m["id"]}} for m in ct["members"]],
                           "period": {"start": self.iso(ct["start"]), "end": self.iso(ct["end"])}}))
        self.events.sort(key=lambda x: (x[0], x[1]))
        erng = random.Random(self.a.seed * 13 + 5)
        with open(os.path.join(out, "AuditEvent.ndjson"), "w", encoding="utf-8") as f, \
                open(os.path.join(out, "labels.ndjson"), "w", encoding="utf-8") as g, \
                open(os.path.join(out, "provenance.ndjson"), "w", encoding="utf-8") as pv:
            for (t, seq, s, pt, purpose, sub, res, net, inc, outcome, why) in self.events:
                eid = "%08x-%04x-4%03x-%04x-%012x" % (erng.getrandbits(32), erng.getrandbits(16), erng.getrandbits(12),
                                                      0x8000 | erng.getrandbits(14), erng.getrandbits(48))
                action = {"read": "R", "vread": "R", "search-type": "E", "create": "C", "update": "U"}[sub]
                ents = [{"what": {"reference": "Patient/" + pt["id"]},
                         "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                         "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}}]
                if sub == "search-type":
                    q = "%s?patient=%s" % (res, pt["id"]) if res != "Patient" else "Patient?identifier=%s" % pt["mrn"]
                    ents.append({"type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"},
                                 "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24"},
                                 "query": base64.b64encode(q.encode()).decode()})
                elif res != "Patient":
                    ents.append({"what": {"reference": "%s/%s" % (res, "%x" % erng.getrandbits(40))},
                                 "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"},
                                 "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4"}})
                ev = {"resourceType": "AuditEvent", "id": eid,
                      "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
                      "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": sub}],
                      "action": action, "recorded": self.iso(t), "outcome": outcome,
                      "agent": [{"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153"}]},
                                 "who": {"identifier": {"system": "urn:rrmc:login", "value": "rrmc-ehr"}},
                                 "requestor": False,
                                 "network": {"address": "ehr-app01.rrmc.local", "type": "1"}},
                                {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                                 "who": {"identifier": {"system": "urn:rrmc:login", "value": s["login"]}},
                                 "requestor": True,
                                 "network": {"address": net[0], "type": net[1]},
                                 "purposeOfUse": [{"coding": [{"system": ACTREASON, "code": purpose}]}]}],
                      "source": {"observer": {"display": "RRMC EHR"},
                                 "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}]},
                      "entity": ents}
                f.write(J(ev))
                day = (self.start + dt.timedelta(seconds=t)).date().isoformat()
                lab = {"id": eid, "case": "%s|%s" % (s["login"], day)}
                if inc:
                    lab.update(incident=inc[0], kind=inc[1], expected_reasons=inc[2])
                g.write(J(lab))
                pv.write(J({"id": eid, "why": why, "login": s["login"], "patient": pt["id"], "purpose": purpose,
                            "net": net[0]}))
        with open(os.path.join(out, "incidents.json"), "w") as f:
            json.dump(self.incidents, f, indent=1)

    def address(self, p):
        st = p["hh"]["street"]
        return {"use": "home", "line": ["%d %s" % (p["hh"]["num"], st["name"])], "city": st["town"], "state": "TX",
                "postalCode": st["postal"], "country": "US"}

    def run(self):
        self.build_orgs()
        self.build_people()
        self.build_staff()
        self.build_schedules()
        self.build_patients()
        self.build_encounters()
        self.build_events()
        self.build_incidents()
        self.write()
        print("%s: %d staff, %d patients, %d encounters, %d care teams, %d events, %d incidents" % (
            self.a.out, len(self.staff), len(self.patients), len(self.encounters), len(self.careteams),
            len(self.events), len(self.incidents)), file=sys.stderr)


def dedup(xs):
    seen, out = set(), []
    for x in xs:
        if x is not None and id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


def strip(s):
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).replace("đ", "d")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--incidents-per-kind", type=int, default=2)
    ap.add_argument("--unexplained-share", type=float, default=0.002,
                    help="share of legitimate accesses repeated as a random on-duty user on a random patient")
    a = ap.parse_args()
    Gen(a).run()


if __name__ == "__main__":
    main()
