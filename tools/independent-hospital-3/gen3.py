#!/usr/bin/env python3
"""gen3.py - synthetic Lakeshore University Medical Center (Port Adams, Michigan, USA).

Black-box test data for an EHR access monitor, following
/work/shared/spec/access-monitoring.md.  Python 3 standard library only.

    python3 gen3.py --out DIR --seed N [--days 21] [--patients 4000] [--staff 400]
                    [--incidents-per-kind 2] [--start 2025-10-20] [--unexplained 3]
"""
import argparse
import base64
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, date

BASE = "https://lakeshore-umc.example.org/fhir"
LOGIN_SYS = BASE + "/sid/login"
NPI_SYS = "http://hl7.org/fhir/sid/us-npi"
MRN_SYS = BASE + "/sid/mrn"
ROLE_SYS = BASE + "/CodeSystem/staff-role"
ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACTREASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

# ----------------------------------------------------------------------------- time zone
def _nth_sunday(y, m, n):
    d = datetime(y, m, 1)
    d += timedelta(days=(6 - d.weekday()) % 7)
    return d + timedelta(days=7 * (n - 1))


def ny_offset_hours(local):
    """America/Detroit (= New York rules). local: naive wall time. Returns (fixed_local, offset)."""
    y = local.year
    dst_start = _nth_sunday(y, 3, 2).replace(hour=2)
    dst_end = _nth_sunday(y, 11, 1).replace(hour=2)
    if dst_start <= local < dst_start + timedelta(hours=1):
        local = local + timedelta(hours=1)  # non-existent hour
    if dst_start <= local < dst_end:
        return local, -4
    return local, -5


def rfc3339(local, ms):
    local, off = ny_offset_hours(local)
    return "%s.%03d%+03d:00" % (local.strftime("%Y-%m-%dT%H:%M:%S"), ms, off), local - timedelta(hours=off), local


def fhir_dt(local):
    local, off = ny_offset_hours(local)
    return "%s%+03d:00" % (local.strftime("%Y-%m-%dT%H:%M:%S"), off)

# ----------------------------------------------------------------------------- reference data
SURNAMES = [("Smith", 14), ("Johnson", 11), ("Williams", 9), ("Brown", 9), ("Jones", 8), ("Miller", 8),
            ("Davis", 7), ("García", 5), ("Rodríguez", 4), ("Wilson", 6), ("Martínez", 4), ("Anderson", 6),
            ("Taylor", 5), ("Thomas", 5), ("Hernández", 4), ("Moore", 5), ("Martin", 4), ("Jackson", 5),
            ("Thompson", 5), ("White", 5), ("López", 3), ("Lee", 4), ("González", 3), ("Harris", 4),
            ("Clark", 4), ("Lewis", 4), ("Robinson", 3), ("Walker", 4), ("Pérez", 2), ("Hall", 3),
            ("Young", 3), ("Allen", 3), ("Sánchez", 2), ("Wright", 3), ("King", 3), ("Scott", 3),
            ("Green", 3), ("Baker", 3), ("Adams", 3), ("Nelson", 3), ("Hill", 3), ("Ramírez", 2),
            ("Campbell", 2), ("Mitchell", 2), ("Roberts", 2), ("Carter", 2), ("Phillips", 2), ("Evans", 2),
            ("Turner", 2), ("Torres", 2), ("Parker", 2), ("Collins", 2), ("Edwards", 2), ("Stewart", 2),
            ("Morris", 2), ("Nguyen", 3), ("Murphy", 2), ("Rivera", 2), ("Cook", 2), ("Rogers", 2),
            ("O'Brien", 2), ("O'Connor", 1), ("McDonald", 2), ("McAllister", 1), ("VanderMolen", 2),
            ("Vander Wal", 1), ("De Vries", 2), ("DeJong", 2), ("Brouwer", 1), ("Hoekstra", 2),
            ("Kowalski", 2), ("Nowak", 1), ("Wiśniewski", 1), ("Schmidt", 2), ("Müller", 1),
            ("Schneider", 1), ("Kuipers", 1), ("Van Dyke", 2), ("Bos", 1), ("Meyer", 2), ("Núñez", 1),
            ("Ortiz", 1), ("Castillo", 1), ("Peña", 1), ("Jiménez", 1), ("Kim", 2), ("Park", 1),
            ("Patel", 2), ("Shah", 1), ("Chen", 2), ("Wang", 1), ("Tran", 1), ("Pham", 1),
            ("Al-Hassan", 1), ("Haddad", 1), ("Okafor", 1), ("Mensah", 1), ("Bennett", 2), ("Gray", 2),
            ("Hughes", 2), ("Price", 2), ("Sanders", 2), ("Myers", 2), ("Long", 1), ("Ross", 2),
            ("Foster", 2), ("Powell", 1), ("Jenkins", 2), ("Perry", 1), ("Russell", 1), ("Sullivan", 2),
            ("Bell", 1), ("Coleman", 1), ("Butler", 1), ("Henderson", 1), ("Barnes", 1), ("Fisher", 1),
            ("Vasquez", 1), ("Simmons", 1), ("Romero", 1), ("Jordan", 1), ("Reynolds", 1), ("Hamilton", 1),
            ("Graham", 1), ("Wallace", 1), ("Woods", 1), ("Cole", 1), ("West", 1), ("Owens", 1),
            ("Marshall", 1), ("Harrison", 1), ("Gibson", 1), ("Kennedy", 1), ("Wells", 1), ("Lindqvist", 1),
            ("Ostrowski", 1), ("Zielinski", 1), ("Brenner", 1), ("Dekker", 1), ("Visser", 1)]
MALE = ["James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
        "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
        "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Ryan", "Jacob", "Gary", "Nicholas",
        "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "José", "Luis",
        "Carlos", "André", "Minh", "Wei", "Tyler", "Ethan", "Noah", "Liam", "Mason", "Dirk", "Pieter"]
FEMALE = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
          "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna",
          "Michelle", "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon",
          "Laura", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma",
          "Nicole", "Helen", "María", "Sofía", "Renée", "Zoë", "Chloé", "Linh", "Mei", "Olivia", "Ava",
          "Hannah", "Grace", "Anneke"]
MIDDLE = ["Ann", "Marie", "Lee", "Lynn", "James", "Michael", "Rose", "Jean", "Alan", "Ray"]
STREET_NAMES = ["Maple", "Oak", "Elm", "Cedar", "Pine", "Birch", "Walnut", "Chestnut", "Willow", "Spruce",
                "Hickory", "Lakeview", "Harbor", "Lighthouse", "Dune", "Beacon", "Sunset", "Jefferson",
                "Lincoln", "Washington", "Madison", "Monroe", "Franklin", "Grant", "Garfield", "Cherry",
                "Orchard", "Meadow", "Prairie", "Ridge", "Hillcrest", "Riverside", "Mill", "Church", "School",
                "Park", "Division", "Market", "Water", "Bridge", "Depot", "Fulton", "Michigan", "Superior",
                "Huron", "Erie", "Mackinac", "Sheridan", "Wellington", "Kensington", "Brookside", "Fairway",
                "Glenwood", "Hawthorne", "Juniper", "Laurel", "Magnolia", "Aspen", "Sycamore", "Dogwood",
                "Shore", "Bluff", "Tulip", "Windmill", "Holland"]
STREET_TYPES = [("Street", "St", 10), ("Avenue", "Ave", 6), ("Road", "Rd", 3), ("Drive", "Dr", 4),
                ("Lane", "Ln", 2), ("Court", "Ct", 2), ("Boulevard", "Blvd", 1), ("Place", "Pl", 1)]
PREFIXES = [("", ""), ("", ""), ("", ""), ("", ""), ("North", "N"), ("South", "S"), ("East", "E"), ("West", "W")]
TOWNS = [("Port Adams", "49410"), ("Port Adams", "49411"), ("Port Adams", "49412"), ("Cedar Bluff", "49418"),
         ("Linwood Heights", "49424"), ("North Harbor", "49431")]

# departments: code, name, units [(code, name, kind)]   kind: ward | clinic | dept
DEPTS = [
    ("ED", "Emergency Medicine", [("EDM", "Emergency Department - Main", "ed"), ("EDF", "Emergency Department - Fast Track", "ed")]),
    ("MED", "Internal Medicine", [("5W", "5 West General Medicine", "ward"), ("6E", "6 East General Medicine", "ward")]),
    ("CARD", "Cardiology", [("4N", "4 North Cardiac Step-down", "ward"), ("HCL", "Heart & Vascular Clinic", "clinic")]),
    ("ICU", "Critical Care", [("MICU", "Medical ICU", "ward"), ("CVICU", "Cardiovascular ICU", "ward")]),
    ("SURG", "General Surgery", [("7S", "7 South Surgical", "ward"), ("SCL", "Surgery Clinic", "clinic")]),
    ("ORTH", "Orthopaedic Surgery", [("7N", "7 North Orthopaedics", "ward"), ("OCL", "Bone & Joint Clinic", "clinic")]),
    ("OB", "Obstetrics & Gynecology", [("LD", "Labor & Delivery", "ward"), ("MB", "Mother-Baby Unit", "ward"), ("WCL", "Women's Health Clinic", "clinic")]),
    ("PEDS", "Pediatrics", [("3W", "3 West Pediatrics", "ward")]),
    ("ONC", "Hematology/Oncology", [("8E", "8 East Oncology", "ward"), ("INF", "Infusion Center", "clinic")]),
    ("PSY", "Psychiatry", [("2E", "2 East Behavioral Health", "ward"), ("PCL", "Outpatient Psychiatry Clinic", "clinic")]),
    ("NEURO", "Neurology", [("9W", "9 West Neuroscience", "ward"), ("NCL", "Neurology Clinic", "clinic")]),
    ("ID", "Infectious Diseases", [("RWC", "Ryan White HIV Clinic", "clinic")]),
    ("PCC", "Primary Care", [("HFM", "Harbor Family Medicine", "clinic"), ("LIM", "Lakeshore Internal Medicine Associates", "clinic")]),
    ("RAD", "Radiology", []),
    ("LAB", "Pathology & Laboratory Medicine", []),
    ("PHARM", "Pharmacy", []),
    ("ACCESS", "Patient Access & Registration", []),
    ("PFS", "Patient Financial Services", []),
    ("HIM", "Health Information Management", []),
    ("CM", "Care Management & Social Work", []),
    ("RES", "Clinical Research Office", []),
    ("IS", "Information Services", []),
]
ADMIT_W = [("MED", 30), ("CARD", 12), ("SURG", 11), ("ORTH", 8), ("ICU", 6), ("NEURO", 6), ("ONC", 8),
           ("PEDS", 6), ("OB", 9), ("PSY", 4)]
CLINIC_W = [("PCC", 34), ("CARD", 12), ("ONC", 10), ("ORTH", 10), ("OB", 10), ("NEURO", 6), ("ID", 5),
            ("PSY", 6), ("SURG", 6)]
# role, share of staff
ROLE_MIX = [("physician", 48), ("resident", 36), ("hospitalist", 12), ("nurse", 146), ("nurse-assistant", 40),
            ("pharmacist", 12), ("lab-tech", 20), ("radiology-tech", 16), ("registrar", 22),
            ("billing-clerk", 12), ("coder", 8), ("roi-clerk", 4), ("social-worker", 10),
            ("research-coordinator", 6), ("it-support", 8)]
PHYS_DEPT_W = [("ED", 7), ("MED", 6), ("CARD", 5), ("ICU", 4), ("SURG", 5), ("ORTH", 3), ("OB", 4),
               ("PEDS", 3), ("ONC", 4), ("PSY", 3), ("NEURO", 3), ("ID", 2), ("PCC", 7), ("RAD", 2)]
RES_DEPT_W = [("MED", 10), ("ED", 5), ("SURG", 5), ("PEDS", 3), ("OB", 3), ("PSY", 2), ("NEURO", 2), ("CARD", 2)]

TEMPLATES = {
    "nurse": [("read", "Patient")], "nurse_body": [("read", "Observation", 5), ("create", "Observation", 4),
              ("read", "MedicationAdministration", 3), ("create", "MedicationAdministration", 3),
              ("search", "Observation", 2), ("read", "DocumentReference", 2), ("create", "DocumentReference", 1),
              ("read", "CarePlan", 1)],
    "physician": [("read", "Patient")], "physician_body": [("search", "Observation", 3), ("read", "DiagnosticReport", 3),
              ("read", "DocumentReference", 3), ("create", "DocumentReference", 2), ("create", "ServiceRequest", 2),
              ("create", "MedicationRequest", 2), ("read", "MedicationRequest", 1), ("update", "DocumentReference", 1),
              ("read", "ImagingStudy", 1)],
    "pharmacist": [("search", "MedicationRequest")], "pharmacist_body": [("read", "MedicationRequest", 4),
              ("update", "MedicationRequest", 3), ("read", "AllergyIntolerance", 2), ("search", "Observation", 2)],
    "lab": [("read", "ServiceRequest")], "lab_body": [("create", "Specimen", 3), ("create", "Observation", 4),
              ("update", "DiagnosticReport", 2)],
    "rad": [("read", "ServiceRequest")], "rad_body": [("create", "ImagingStudy", 2), ("read", "ImagingStudy", 2),
              ("create", "DiagnosticReport", 2)],
    "registrar": [("search", "Patient")], "registrar_body": [("read", "Patient", 3), ("update", "Patient", 2),
              ("read", "Coverage", 3), ("update", "Coverage", 2), ("create", "Appointment", 2), ("read", "Encounter", 2)],
    "billing": [("read", "Encounter")], "billing_body": [("read", "Coverage", 2), ("read", "Claim", 3),
              ("create", "Claim", 2), ("update", "Account", 2), ("read", "Patient", 1)],
    "coder": [("read", "Encounter")], "coder_body": [("read", "DocumentReference", 5), ("create", "Condition", 2),
              ("create", "Procedure", 2), ("update", "Claim", 1)],
    "roi": [("search", "DocumentReference")], "roi_body": [("read", "DocumentReference", 5),
              ("read", "DiagnosticReport", 2), ("read", "Patient", 1), ("read", "Consent", 1)],
    "sw": [("read", "Patient")], "sw_body": [("read", "DocumentReference", 3), ("create", "DocumentReference", 2),
              ("read", "Encounter", 2), ("read", "Coverage", 1)],
    "research": [("read", "ResearchSubject")], "research_body": [("read", "Patient", 1), ("search", "Observation", 3),
              ("read", "DiagnosticReport", 2), ("read", "Consent", 1), ("read", "MedicationRequest", 1)],
    "it": [("read", "Patient")], "it_body": [("read", "Encounter", 2), ("read", "DocumentReference", 1)],
    "census": [("read", "Encounter")], "census_body": [("read", "Patient", 1)],
    "harvest": [("search", "Patient")], "harvest_body": [("read", "Patient", 3), ("search", "DocumentReference", 1),
              ("read", "DocumentReference", 2), ("search", "Observation", 1)],
}
ROLE_TPL = {"physician": "physician", "resident": "physician", "hospitalist": "physician", "nurse": "nurse",
            "nurse-assistant": "nurse", "pharmacist": "pharmacist", "lab-tech": "lab", "radiology-tech": "rad",
            "registrar": "registrar", "billing-clerk": "billing", "coder": "coder", "roi-clerk": "roi",
            "social-worker": "sw", "research-coordinator": "research", "it-support": "it"}
ACTIONS = {"read": ("R", "read"), "search": ("E", "search-type"), "create": ("C", "create"),
           "update": ("U", "update")}


def strip_accents(s):
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


class Gen:
    def __init__(self, a):
        self.a = a
        self.r = random.Random(a.seed)
        self.start = datetime.strptime(a.start, "%Y-%m-%d")
        self.days = a.days
        self.hist = 120          # days of encounter history before the audit window
        self.future = 14         # days of planned visits after it
        self.scale = a.patients / 4000.0
        self.seq = 0
        self.events = []         # (utc, seq, event, label)
        self.stats = {}
        self.idc = {}

    # ------------------------------------------------------------------ helpers
    def wchoice(self, items):
        tot = sum(w for _, w in items)
        x = self.r.random() * tot
        for v, w in items:
            x -= w
            if x < 0:
                return v
        return items[-1][0]

    def nid(self, kind, width=6):
        n = self.idc.get(kind, 0) + 1
        self.idc[kind] = n
        return n

    def day(self, i):
        return self.start + timedelta(days=i)

    # ------------------------------------------------------------------ organizations
    def build_orgs(self):
        self.orgs = []  # (id, name, partOf)
        self.org_dept = {}
        self.units = {}  # dept -> list of (orgid, code, kind)
        root = "org-lumc"
        self.orgs.append((root, "Lakeshore University Medical Center", None))
        for code, name, units in DEPTS:
            oid = "org-" + code.lower()
            self.orgs.append((oid, name, root))
            self.org_dept[oid] = code
            self.units[code] = []
            for ucode, uname, kind in units:
                uid = "org-" + code.lower() + "-" + ucode.lower()
                self.orgs.append((uid, uname, oid))
                self.org_dept[uid] = code
                self.units[code].append((uid, ucode, kind))
        self.org_code = {}
        for code, name, units in DEPTS:
            self.org_code["org-" + code.lower()] = code
            for ucode, _, _ in units:
                self.org_code["org-" + code.lower() + "-" + ucode.lower()] = ucode

    def wards(self, dept):
        return [u for u in self.units[dept] if u[2] in ("ward", "ed")]

    def clinics(self, dept):
        return [u for u in self.units[dept] if u[2] == "clinic"]

    # ------------------------------------------------------------------ geography & people
    def build_streets(self):
        self.streets = []
        used = set()
        while len(self.streets) < 110:
            nm = self.r.choice(STREET_NAMES)
            st = self.wchoice([((f, ab), w) for f, ab, w in STREET_TYPES])
            pre = self.r.choice(PREFIXES)
            key = (pre[0], nm, st[0])
            if key in used:
                continue
            used.add(key)
            town = self.r.choice(TOWNS)
            self.streets.append({"pre": pre, "name": nm, "type": st, "town": town, "numbers": set()})

    def new_address(self):
        si = self.r.randrange(len(self.streets))
        s = self.streets[si]
        while True:
            n = self.r.randrange(100, 4000)
            if n not in s["numbers"]:
                s["numbers"].add(n)
                return (si, n)

    def render_addr(self, addr, style):
        si, n = addr
        s = self.streets[si]
        if style == "hr":
            parts = [str(n)] + ([s["pre"][0]] if s["pre"][0] else []) + [s["name"], s["type"][0]]
            line = " ".join(parts)
            city = s["town"][0]
        else:
            r = self.r.random()
            pre = s["pre"][1] if r < 0.7 else s["pre"][0]
            typ = s["type"][1] if r < 0.6 else s["type"][0]
            if r < 0.15:
                typ += "."
            parts = [str(n)] + ([pre] if pre else []) + [s["name"], typ]
            line = " ".join(parts)
            city = s["town"][0]
            if self.r.random() < 0.3:
                line = line.upper()
                city = city.upper()
            elif self.r.random() < 0.05:
                line = line.replace(" ", "  ", 1)
        return {"use": "home", "line": [line], "city": city, "state": "MI", "postalCode": s["town"][1],
                "country": "US"}

    def person_name(self, gender, fam=None):
        if fam is None:
            fam = self.wchoice(SURNAMES)
        given = self.r.choice(MALE if gender == "male" else FEMALE)
        return fam, given

    def birth(self, amin, amax):
        days = self.r.randrange(int(amin * 365.25), int(amax * 365.25))
        return (self.start - timedelta(days=days)).date()

    def build_staff(self):
        total = self.a.staff
        mixsum = sum(w for _, w in ROLE_MIX)
        roles = []
        for role, w in ROLE_MIX:
            roles += [role] * max(1, round(total * w / mixsum))
        self.staff = []
        logins = set()
        ward_units = []
        for d, _ in ADMIT_W:
            ward_units += [u[0] for u in self.wards(d)]
        clinic_units = []
        for d, _ in CLINIC_W:
            clinic_units += [u[0] for u in self.clinics(d)]
        for idx, role in enumerate(roles):
            g = self.r.choice(["male", "female"]) if role not in ("nurse", "nurse-assistant") else \
                ("female" if self.r.random() < 0.85 else "male")
            fam, given = self.person_name(g)
            age = (26, 35) if role == "resident" else (22, 66)
            s = {"idx": idx, "id": "prac-%05d" % (1000 + idx * 7 + self.r.randrange(7)), "role": role,
                 "gender": g, "fam": fam, "given": given, "birth": self.birth(*age),
                 "middle": self.r.choice(MIDDLE) if self.r.random() < 0.35 else None,
                 "orgs": [], "addr": None, "pid": None, "home_ip": None}
            base = strip_accents(given)[0].lower() + "".join(c for c in strip_accents(fam).lower() if c.isalpha())[:7]
            lg = base
            k = 2
            while lg in logins:
                lg = base + str(k)
                k += 1
            logins.add(lg)
            s["login"] = lg
            if role == "physician":
                d = self.wchoice(PHYS_DEPT_W)
                s["orgs"] = ["org-" + d.lower()]
                s["home_ip"] = "%d.%d.%d.%d" % (self.r.choice([68, 73, 98, 24, 107]), self.r.randrange(1, 255),
                                                self.r.randrange(1, 255), self.r.randrange(2, 254))
            elif role == "resident":
                d = self.wchoice(RES_DEPT_W)
                s["orgs"] = ["org-" + d.lower()]
            elif role == "hospitalist":
                s["orgs"] = ["org-med", "org-card", "org-neuro"]
                s["home_ip"] = "%d.%d.%d.%d" % (self.r.choice([68, 73, 98]), self.r.randrange(1, 255),
                                                self.r.randrange(1, 255), self.r.randrange(2, 254))
            elif role in ("nurse", "nurse-assistant"):
                r = self.r.random()
                if r < 0.17:
                    s["orgs"] = [self.r.choice([u[0] for u in self.units["ED"]])]
                elif r < 0.27 and role == "nurse":
                    s["orgs"] = [self.r.choice(clinic_units)]
                else:
                    s["orgs"] = [self.r.choice(ward_units)]
            else:
                d = {"pharmacist": "PHARM", "lab-tech": "LAB", "radiology-tech": "RAD", "registrar": "ACCESS",
                     "billing-clerk": "PFS", "coder": "HIM", "roi-clerk": "HIM", "social-worker": "CM",
                     "research-coordinator": "RES", "it-support": "IS"}[role]
                s["orgs"] = ["org-" + d.lower()]
                if role == "registrar" and self.r.random() < 0.3:
                    s["orgs"] = ["org-ed"]  # ED registration desk
            s["dept"] = self.org_dept[s["orgs"][0]]
            s["depts"] = sorted(set(self.org_dept[o] for o in s["orgs"]))
            self.staff.append(s)
        # every department that admits or sees patients needs an attending: a small draw can leave
        # one without; move the last-hired physician of the best-staffed department there (no
        # random draw, so seeds that already had one are unchanged)
        for d, _ in PHYS_DEPT_W:
            count = {}
            for s in self.staff:
                if s["role"] == "physician":
                    count[s["dept"]] = count.get(s["dept"], 0) + 1
            if count.get(d, 0) == 0:
                donor = max(count, key=lambda k: (count[k], k))
                s = [x for x in self.staff if x["role"] == "physician" and x["dept"] == donor][-1]
                s["orgs"] = ["org-" + d.lower()]
                s["dept"] = d
                s["depts"] = [d]
        self.by_login = {s["login"]: s for s in self.staff}
        self.shift_kinds()

    def shift_kinds(self):
        for s in self.staff:
            role = s["role"]
            if role in ("nurse", "nurse-assistant"):
                kind = "clinic" if self.org_dept[s["orgs"][0]] and any(
                    u[0] == s["orgs"][0] and u[2] == "clinic" for u in self.units[s["dept"]]) else \
                    ("d12" if self.r.random() < 0.6 else "n12")
            elif role == "physician":
                kind = "ed" if s["dept"] == "ED" else "md"
            elif role == "resident":
                kind = "res_n" if self.r.random() < 0.15 else "res_d"
            elif role == "hospitalist":
                kind = "hosp_n" if self.r.random() < 0.3 else "hosp_d"
                s["week_par"] = self.r.randrange(2)
            elif role in ("pharmacist", "lab-tech", "radiology-tech"):
                kind = self.wchoice([("8d", 5), ("8e", 3), ("8n", 2)])
            elif role == "registrar":
                kind = self.wchoice([("8d", 5), ("8e", 3), ("8n", 2)]) if s["dept"] == "ED" else \
                    self.wchoice([("reg_d", 3), ("reg_e", 1)])
            else:
                kind = "office"
            s["shift"] = kind

    def build_schedule(self):
        """self.sched[i][sid_idx] = (start, end) local naive, for i in [-hist, days+future)."""
        self.sched = {}
        self.working = {}
        for i in range(-self.hist - 1, self.days + self.future + 1):
            d = self.day(i)
            wd = d.weekday()
            wk = wd >= 5
            row = {}
            for s in self.staff:
                k = s["shift"]
                p, st, dur = 0.0, 7.0, 8.0
                if k in ("d12", "n12"):
                    p, st, dur = 3 / 7, (7 if k == "d12" else 19), 12
                elif k == "clinic":
                    p, st, dur = (0 if wk else 0.85), 7.75, 8.75
                elif k == "md":
                    p, st, dur = (0.22 if wk else 0.92), (8 if wk else 7.5), (5 if wk else 10)
                elif k == "ed":
                    p = 0.5
                    st, dur = self.r.choice([(7, 10), (7, 10), (15, 10), (23, 10)])
                elif k == "res_d":
                    p, st, dur = (0.35 if wk else 0.9), 6, 12
                elif k == "res_n":
                    p, st, dur = (0.7), 18, 13
                elif k in ("hosp_d", "hosp_n"):
                    on = ((i + 700) // 7 + s["week_par"]) % 2 == 0
                    p, st, dur = (1.0 if on else 0.0), (7 if k == "hosp_d" else 19), 12
                elif k in ("8d", "8e", "8n"):
                    p, st, dur = 0.7, {"8d": 7, "8e": 15, "8n": 23}[k], 8.5
                elif k in ("reg_d", "reg_e"):
                    p, st, dur = (0.25 if wk else 0.85), (6.5 if k == "reg_d" else 13.5), 8.5
                elif k == "office":
                    p, st, dur = (0.0 if wk else 0.92), 8, 8.5
                    if s["role"] == "it-support" and wk:
                        p = 0.2
                if self.r.random() < p:
                    jitter = self.r.randrange(-15, 16)
                    a = d + timedelta(minutes=int(st * 60) + jitter)
                    row[s["idx"]] = (a, a + timedelta(minutes=int(dur * 60)))
            self.sched[i] = row
            self.working[i] = sorted(row.keys())

    def on_shift(self, sidx, t):
        i = (t.date() - self.start.date()).days
        for j in (i, i - 1):
            sh = self.sched.get(j, {}).get(sidx)
            if sh and sh[0] <= t < sh[1]:
                return sh
        return None

    def pick_on(self, t, pred, fallback_pred=None):
        i = (t.date() - self.start.date()).days
        c = []
        for j in (i, i - 1):
            for sidx in self.working.get(j, []):
                sh = self.sched[j][sidx]
                if sh[0] <= t < sh[1] and pred(self.staff[sidx]):
                    c.append(sidx)
        if c:
            return self.r.choice(c)
        if fallback_pred:
            c = [s["idx"] for s in self.staff if fallback_pred(s)]
            if c:
                return self.r.choice(c)
        return None

    # ------------------------------------------------------------------ patients
    def add_patient(self, fam, given, gender, birth, addr, hh, staff=None, middle=None):
        pid = "%d" % (100000 + len(self.patients) * 3 + self.r.randrange(3))
        p = {"id": pid, "fam": fam, "given": given, "gender": gender, "birth": birth, "addr": addr, "hh": hh,
             "dead": None, "sec": [], "staff": staff, "middle": middle, "busy": None}
        self.patients.append(p)
        return p

    def build_patients(self):
        self.patients = []
        self.households = []
        target = self.a.patients
        # staff households first: staff live in the catchment area
        for s in self.staff:
            addr = self.new_address()
            s["addr"] = addr
            hh = len(self.households)
            members = []
            if self.r.random() < 0.32:
                p = self.add_patient(s["fam"], s["given"], s["gender"], s["birth"], addr, hh, staff=s["idx"],
                                     middle=s["middle"])
                p["sec"].append("EMP")
                s["pid"] = p["id"]
                members.append(p)
            if self.r.random() < 0.6:  # spouse / partner
                g = "female" if s["gender"] == "male" else "male"
                fam = s["fam"] if self.r.random() < 0.8 else None
                fam, given = self.person_name(g, fam)
                if self.r.random() < 0.7:
                    members.append(self.add_patient(fam, given, g, self.birth(25, 68), addr, hh))
            for _ in range(self.r.choice([0, 0, 1, 2, 3])):
                g = self.r.choice(["male", "female"])
                fam, given = self.person_name(g, s["fam"])
                if self.r.random() < 0.65:
                    members.append(self.add_patient(fam, given, g, self.birth(1, 24), addr, hh))
            self.households.append(members)
        while len(self.patients) < target:
            addr = self.new_address()
            hh = len(self.households)
            n = self.wchoice([(1, 30), (2, 32), (3, 14), (4, 14), (5, 10)])
            fam = self.wchoice(SURNAMES)
            members = []
            for k in range(n):
                g = self.r.choice(["male", "female"])
                f = fam if (k == 0 or self.r.random() < 0.85) else None
                f, given = self.person_name(g, f)
                b = self.birth(18, 95) if k < 2 else self.birth(0, 30)
                members.append(self.add_patient(f, given, g, b, addr, hh))
                if len(self.patients) >= target:
                    break
            self.households.append(members)
        self.pat_by_id = {p["id"]: p for p in self.patients}
        # sensitivity labels
        plain = [p for p in self.patients if p["staff"] is None and self.age(p) >= 25]
        self.r.shuffle(plain)
        n_cel = max(3, round(7 * self.scale))
        for p in plain[:n_cel]:
            p["sec"].append("CEL")
        for p in self.patients:
            x = self.r.random()
            if x < 0.03:
                p["sec"].append("PSY")
            elif x < 0.04:
                p["sec"].append("HIV")
            elif x < 0.05:
                p["sec"].append("ETH")
            elif x < 0.058:
                p["sec"] += ["SDV", "R"]
            elif x < 0.061:
                p["sec"].append("V")
        # deaths before the window (2.5%)
        for p in self.patients:
            if p["staff"] is None and "CEL" not in p["sec"] and self.age(p) > 50 and self.r.random() < 0.05:
                p["dead"] = self.start - timedelta(days=self.r.randrange(3, 400), minutes=self.r.randrange(1440))

    def age(self, p, at=None):
        at = (at or self.start).date()
        return (at - p["birth"]).days / 365.25

    def alive(self, p, t):
        return p["dead"] is None or p["dead"] > t

    # ------------------------------------------------------------------ encounters
    def new_enc(self, cls, p, start, end, org, parts, status=None):
        self.enc_n += 1
        e = {"id": "enc-%07d" % (3000000 + self.enc_n * 5 + self.r.randrange(5)), "cls": cls, "pid": p["id"],
             "start": start, "end": end, "org": org, "dept": self.org_dept[org], "parts": parts,
             "status": status, "billed": False, "coded": False}
        self.encs.append(e)
        p.setdefault("encs", []).append(e)
        return e

    def pick_patient(self, t, pred, busy_until=None, prefer=None):
        for _ in range(60):
            if prefer and self.r.random() < 0.5:
                p = self.r.choice(prefer)
            else:
                p = self.r.choice(self.patients)
            if not self.alive(p, t + timedelta(days=1)):
                continue
            if p["busy"] and p["busy"] > t:
                continue
            if not pred(p):
                continue
            if busy_until:
                p["busy"] = busy_until
            return p
        return None

    def staff_in(self, dept, roles, unit=None):
        return lambda s: s["role"] in roles and (dept in s["depts"]) and (unit is None or s["orgs"][0] == unit)

    def exclude_self(self, p, sidx):
        # staff do not treat themselves or their own household (hospital policy)
        return sidx is not None and (self.staff[sidx]["pid"] == p["id"] or self.staff[sidx]["addr"] == p["addr"])

    def part(self, parts, sidx, code, p):
        if sidx is None or self.exclude_self(p, sidx):
            return
        if all(x[0] != sidx for x in parts):
            parts.append((sidx, code))

    def admit(self, p, start, dept, from_ed=False):
        unit = self.r.choice(self.wards(dept))[0]
        los = {"OB": [1, 2, 2, 3], "PSY": [3, 5, 7, 9], "ICU": [1, 2, 3, 4, 6]}.get(dept, [1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 11])
        n = self.r.choice(los)
        end = (start + timedelta(days=n)).replace(hour=0, minute=0) + timedelta(minutes=self.r.randrange(600, 1000))
        if end <= start:
            end = start + timedelta(hours=20)
        parts = []
        attending = self.r.choice([s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == dept]
                                  or [s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == "MED"])
        self.part(parts, attending, "ATND", p)
        if dept in ("MED", "CARD", "NEURO") and self.r.random() < 0.6:
            h = self.pick_on(start + timedelta(hours=2), lambda s: s["role"] == "hospitalist",
                             lambda s: s["role"] == "hospitalist")
            self.part(parts, h, "ATND", p)
        rdept = dept if any(s["role"] == "resident" and s["dept"] == dept for s in self.staff) else "MED"
        if dept not in ("PSY", "OB") or self.r.random() < 0.5:
            for _ in range(self.r.choice([1, 1, 2])):
                rr = self.pick_on(start + timedelta(hours=3), self.staff_in(rdept, ("resident",)),
                                  self.staff_in(rdept, ("resident",)))
                self.part(parts, rr, "SPRF", p)
        # nurses per day from the unit schedule
        t = start
        while t < end:
            for hh in (10, 22):
                tt = t.replace(hour=hh, minute=0)
                if start <= tt < end:
                    nn = self.pick_on(tt, lambda s: s["role"] == "nurse" and s["orgs"][0] == unit,
                                      lambda s: s["role"] == "nurse" and s["orgs"][0] == unit)
                    self.part(parts, nn, "PPRF", p)
                    if self.r.random() < 0.5:
                        na = self.pick_on(tt, lambda s: s["role"] == "nurse-assistant" and s["orgs"][0] == unit)
                        self.part(parts, na, "SPRF", p)
            t = (t + timedelta(days=1)).replace(hour=0)
        if self.r.random() < 0.25:
            cd = self.r.choice(["CARD", "ID", "NEURO", "SURG", "PSY", "ONC", "ICU"])
            if cd != dept:
                c = self.r.choice([s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == cd] or [None])
                self.part(parts, c, "CON", p)
        if self.r.random() < 0.25:
            sw = self.r.choice([s["idx"] for s in self.staff if s["role"] == "social-worker"] or [None])
            self.part(parts, sw, "PART", p)
        p["busy"] = end
        e = self.new_enc("IMP", p, start, end, unit, parts)
        mort = 0.09 if dept == "ICU" else (0.0 if dept in ("OB", "PEDS", "PSY") else 0.02)
        if p["staff"] is None and "CEL" not in p["sec"] and self.r.random() < mort and self.age(p) > 40:
            p["dead"] = end
        if dept == "PSY" and "PSY" not in p["sec"]:
            p["sec"].append("PSY")
        return e

    def build_encounters(self):
        self.encs = []
        self.enc_n = 0
        sc = self.scale
        adults = lambda p: self.age(p) >= 18
        self.hiv_pool = [p for p in self.patients if "HIV" in p["sec"]]
        self.psy_pool = [p for p in self.patients if "PSY" in p["sec"]]
        for i in range(-self.hist, self.days + self.future):
            d = self.day(i)
            wk = d.weekday() >= 5
            future = i >= self.days
            if not future:
                # emergency department
                for _ in range(int(round(self.r.gauss(38 * sc, 4)))):
                    t = d + timedelta(minutes=int(self.wchoice([(h, w) for h, w in enumerate(
                        [3, 2, 2, 1, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 5, 4, 4])]) * 60 + self.r.randrange(60)))
                    dur = timedelta(minutes=self.r.randrange(90, 540))
                    p = self.pick_patient(t, lambda p: True, t + dur)
                    if not p:
                        continue
                    unit = self.r.choice(self.units["ED"])[0]
                    parts = []
                    self.part(parts, self.pick_on(t + timedelta(minutes=20), self.staff_in("ED", ("physician",)),
                                                  self.staff_in("ED", ("physician",))), "ATND", p)
                    self.part(parts, self.pick_on(t + timedelta(minutes=5), lambda s: s["role"] == "nurse" and s["dept"] == "ED",
                                                  lambda s: s["role"] == "nurse" and s["dept"] == "ED"), "PPRF", p)
                    if self.r.random() < 0.4:
                        self.part(parts, self.pick_on(t + timedelta(minutes=30), self.staff_in("ED", ("resident",))), "SPRF", p)
                    e = self.new_enc("EMER", p, t, t + dur, unit, parts)
                    if self.r.random() < 0.22:
                        dept = self.wchoice(ADMIT_W)
                        if dept == "PEDS" and self.age(p) >= 18:
                            dept = "MED"
                        if dept == "OB" and (p["gender"] != "female" or not 17 < self.age(p) < 46):
                            dept = "SURG"
                        self.admit(p, t + dur, dept, True)
                # elective admissions
                for _ in range(int(round(self.r.gauss((3 if wk else 8) * sc, 1.5)))):
                    dept = self.wchoice([("SURG", 5), ("ORTH", 4), ("OB", 3), ("ONC", 3), ("CARD", 2)])
                    t = d + timedelta(minutes=self.r.randrange(330, 600))
                    if dept == "OB":
                        pred = lambda p: p["gender"] == "female" and 17 < self.age(p) < 46
                    else:
                        pred = adults
                    p = self.pick_patient(t, pred)
                    if p:
                        self.admit(p, t, dept)
            # ambulatory clinics (future ones are planned)
            for _ in range(int(round(self.r.gauss((6 if wk else 88) * sc, 5)))):
                dept = self.wchoice(CLINIC_W)
                unit = self.r.choice(self.clinics(dept))[0]
                t = d + timedelta(minutes=self.r.randrange(480, 990))
                dur = timedelta(minutes=self.r.choice([20, 30, 30, 40, 60]))
                prefer = None
                if dept == "ID":
                    prefer = self.hiv_pool or None
                elif dept == "PSY":
                    prefer = self.psy_pool or None
                p = self.pick_patient(t, lambda p: dept != "OB" or p["gender"] == "female", t + dur, prefer)
                if not p:
                    continue
                parts = []
                if dept == "PCC" and p.get("pcp") is not None and self.r.random() < 0.8:
                    doc = p["pcp"]
                else:
                    doc = self.r.choice([s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == dept])
                self.part(parts, doc, "ATND", p)
                cn = [s["idx"] for s in self.staff if s["role"] == "nurse" and s["orgs"][0] == unit]
                if cn:
                    self.part(parts, self.r.choice(cn), "PPRF", p)
                self.new_enc("AMB", p, t, t + dur, unit, parts, "planned" if future else None)
        # a celebrity is admitted during the window and another one seen in clinic
        cels = [p for p in self.patients if "CEL" in p["sec"] and p["dead"] is None]
        if cels:
            t = self.day(min(3, self.days - 1)) + timedelta(hours=16, minutes=12)
            p = cels[0]
            p["busy"] = None
            e = self.admit(p, t, "CARD")
            e["end"] = max(e["end"], t + timedelta(days=min(9, self.days + 2)))
            p["dead"] = None
            self.cel_enc = e
        if len(cels) > 1:
            p = cels[1]
            t = self.day(min(6, self.days - 1)) + timedelta(hours=10)
            parts = []
            self.part(parts, self.r.choice([s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == "ORTH"]), "ATND", p)
            self.new_enc("AMB", p, t, t + timedelta(minutes=45), self.clinics("ORTH")[0][0], parts)
        end_all = self.day(self.days)
        for e in self.encs:
            if e["status"] is None:
                e["status"] = "finished" if e["end"] <= end_all else ("in-progress" if e["start"] < end_all else "planned")
        self.encs.sort(key=lambda e: (e["start"], e["id"]))
        # index
        self.enc_by_day = {}
        for e in self.encs:
            i0 = (e["start"].date() - self.start.date()).days
            i1 = (e["end"].date() - self.start.date()).days
            for i in range(max(i0, 0), min(i1, self.days - 1) + 1):
                self.enc_by_day.setdefault(i, []).append(e)
        # link sets
        self.pt_parts = {}
        self.pt_depts = {}
        for e in self.encs:
            self.pt_parts.setdefault(e["pid"], set()).update(x[0] for x in e["parts"])
            self.pt_depts.setdefault(e["pid"], set()).add(e["dept"])

    def build_pcp(self):
        self.careteams = []
        pcps = [s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == "PCC"]
        self.pcp_panel = {k: [] for k in pcps}
        for p in self.patients:
            if pcps and self.r.random() < 0.35:
                doc = self.r.choice(pcps)
                if self.staff[doc]["pid"] == p["id"]:
                    continue
                p["pcp"] = doc
                self.pcp_panel[doc].append(p)
                self.careteams.append({"id": "ct-%06d" % (len(self.careteams) + 1), "cat": "pcp", "pid": p["id"],
                                       "members": [doc], "start": self.start - timedelta(days=self.r.randrange(60, 3000)),
                                       "end": None})

    def build_careteams(self):
        # research studies
        coords = [s["idx"] for s in self.staff if s["role"] == "research-coordinator"]
        self.research = {c: [] for c in coords}
        for dept in ("ONC", "CARD", "NEURO"):
            pis = [s["idx"] for s in self.staff if s["role"] == "physician" and s["dept"] == dept]
            cands = [p for p in self.patients if dept in self.pt_depts.get(p["id"], ()) and p["dead"] is None
                     and p["staff"] is None]
            self.r.shuffle(cands)
            for p in cands[:max(5, int(25 * self.scale))]:
                c = self.r.choice(coords)
                pi = self.r.choice(pis)
                self.research[c].append(p)
                self.careteams.append({"id": "ct-%06d" % (len(self.careteams) + 1), "cat": "research", "pid": p["id"],
                                       "members": [c, pi], "start": self.start - timedelta(days=self.r.randrange(10, 500)),
                                       "end": self.start + timedelta(days=self.days + 200)})
        self.pt_ct = {}
        for ct in self.careteams:
            self.pt_ct.setdefault(ct["pid"], set()).update(ct["members"])
        # PCP auto-assignment happened after encounters, so backfill participants-based preference not needed

    # ------------------------------------------------------------------ audit events
    def ws(self, orgid, sidx=None, mobile=False):
        code = self.org_code.get(orgid, "X")
        if mobile:
            return "10.42.%d.%d" % (self.r.randrange(8, 40), self.r.randrange(2, 250)), "2"
        pre = "WOW" if self.r.random() < 0.3 and self.org_dept.get(orgid) not in ("PFS", "HIM", "ACCESS", "IS", "RES") else "WS"
        return "LUMC-%s-%s%02d" % (code, pre, self.r.randrange(1, 16)), "1"

    def data_ref(self, rtype):
        n = self.idc.get(rtype, 0)
        if n == 0:
            n = self.r.randrange(100000, 900000)
        n += 1
        self.idc[rtype] = n
        return n

    def session(self, sidx, p, t, tpl, scen, purpose=("TREAT",), net=None, n=None, enc=None, label=None,
                gap=(15, 120), orgid=None):
        s = self.staff[sidx]
        if net is None:
            net = self.ws(orgid or s["orgs"][0])
        if n is None:
            n = self.r.choice([2, 3, 3, 4, 5])
        acts = list(TEMPLATES[tpl])
        body = [((a, rt), w) for a, rt, w in TEMPLATES[tpl + "_body"]]
        while len(acts) < n:
            acts.append(self.wchoice(body))
        for a, rt in acts[:n]:
            self.emit(s, p, t, a, rt, purpose, net, enc, label, scen)
            t = t + timedelta(seconds=self.r.randrange(*gap))
        return t

    def emit(self, s, p, t, act, rtype, purpose, net, enc, label, scen):
        code, sub = ACTIONS[act]
        ms = self.r.randrange(1000)
        rec, utc, _loc = rfc3339(t, ms)
        eid = "%08x-%04x-4%03x-%04x-%012x" % (self.r.getrandbits(32), self.r.getrandbits(16), self.r.getrandbits(12),
                                              0x8000 | self.r.getrandbits(14), self.r.getrandbits(48))
        ents = [{"what": {"reference": "Patient/" + p["id"]},
                 "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
                 "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}}]
        if act == "search":
            q = "%s?patient=%s" % (rtype, p["id"]) if rtype != "Patient" else \
                "Patient?family=%s&birthdate=%s" % (strip_accents(p["fam"]).lower().replace(" ", "%20"), p["birth"].isoformat())
            ents.append({"type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
                         "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24", "display": "Query"},
                         "query": base64.b64encode(q.encode()).decode()})
        elif rtype != "Patient":
            if rtype == "Encounter" and enc is not None:
                ref = "Encounter/" + enc["id"]
            else:
                ref = "%s/%d" % (rtype, self.data_ref(rtype) if act == "create" else self.r.randrange(100000, 900000))
            ents.append({"what": {"reference": ref},
                         "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
                         "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"}})
        outcome = "0"
        if self.r.random() < 0.004:
            outcome = self.r.choice(["4", "8"])
        ev = {"resourceType": "AuditEvent", "id": eid,
              "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
              "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": sub}],
              "action": code, "recorded": rec, "outcome": outcome,
              "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
                         "who": {"identifier": {"system": LOGIN_SYS, "value": s["login"]}},
                         "requestor": True,
                         "network": {"address": net[0], "type": net[1]},
                         "purposeOfUse": [{"coding": [{"system": ACTREASON, "code": c}]} for c in purpose]},
                        {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID"}]},
                         "who": {"display": "Lakeshore EHR FHIR API"}, "requestor": False,
                         "network": {"address": "ehr-fhir01.lakeshore-umc.example.org", "type": "1"}}],
              "source": {"site": "LUMC", "observer": {"display": "Lakeshore EHR"},
                         "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]},
              "entity": ents}
        self.seq += 1
        if t >= self.day(self.days) or t < self.day(0):
            return  # outside the audit window
        self.events.append((utc + timedelta(milliseconds=ms), self.seq, ev, label, s["login"], _loc.date().isoformat()))
        self.stats[scen] = self.stats.get(scen, 0) + 1

    def rand_in(self, a, b):
        if b <= a:
            return a
        return a + timedelta(seconds=self.r.randrange(int((b - a).total_seconds())))

    def clin_ok(self, sidx, p):
        """legit generators avoid staff opening their own or their household's record."""
        return not self.exclude_self(p, sidx)

    def simulate(self):
        for i in range(self.days):
            self.sim_day(i)

    def sim_day(self, i):
        d = self.day(i)
        d1 = d + timedelta(days=1)
        wk = d.weekday() >= 5
        act = self.enc_by_day.get(i, [])
        work = self.working[i]
        sh = self.sched[i]
        # ---------------- care team work on encounters
        for e in act:
            p = self.pat_by_id[e["pid"]]
            es, ee = max(e["start"], d), min(e["end"], d1)
            if ee <= es:
                continue
            for sidx, code in e["parts"]:
                s = self.staff[sidx]
                role = s["role"]
                tpl = ROLE_TPL[role]
                # on shift during (part of) the encounter today?
                shifts = [x for x in (sh.get(sidx), self.sched[i - 1].get(sidx)) if x]
                win = None
                for a, b in shifts:
                    lo, hi = max(a, es), min(b, ee)
                    if hi > lo:
                        win = (lo, hi)
                        break
                if e["cls"] == "IMP":
                    k = {"nurse": 3, "nurse-assistant": 1, "resident": 2, "hospitalist": 2, "physician": 1,
                         "social-worker": 1}.get(role, 1)
                    if code == "CON":
                        k = 1 if self.r.random() < 0.5 else 0
                    if role == "social-worker" and self.r.random() < 0.6:
                        k = 0
                elif e["cls"] == "EMER":
                    k = {"physician": 3, "nurse": 3, "resident": 2}.get(role, 1)
                else:
                    k = 2 if role == "physician" else 1
                if win is None:
                    # attendings of record read from home / round on weekends
                    if role in ("physician", "hospitalist") and e["cls"] == "IMP" and s["home_ip"] and self.r.random() < 0.12:
                        t = d + timedelta(minutes=self.r.randrange(19 * 60, 23 * 60))
                        if es <= t < ee + timedelta(hours=12):
                            self.session(sidx, p, t, tpl, "home_reading", net=(s["home_ip"], "2"), enc=e)
                    continue
                ed = e["cls"] == "EMER"
                restricted = bool({"R", "V"} & set(p["sec"]))
                for _ in range(k):
                    t = self.rand_in(*win)
                    purpose = ("TREAT",)
                    scen = "care_team_" + e["cls"].lower()
                    if ed:
                        if restricted and role in ("physician", "resident"):
                            purpose, scen = ("ETREAT", "BTG"), "ed_break_glass"
                        elif self.r.random() < 0.3:
                            purpose = ("ETREAT",)
                    if code == "CON":
                        scen = "consult"
                    if "CEL" in p["sec"]:
                        scen = "celebrity_care_team"
                    if p["staff"] is not None:
                        scen = "staff_patient_by_colleague"
                    mobile = role == "nurse" and self.r.random() < 0.08
                    net = self.ws(e["org"], mobile=mobile)
                    self.session(sidx, p, t, tpl, scen, purpose=purpose, net=net, enc=e)
                # home reading in the evening
                if role in ("physician", "hospitalist") and e["cls"] == "IMP" and s["home_ip"] and self.r.random() < 0.2:
                    t = d + timedelta(minutes=self.r.randrange(19 * 60, 23 * 60 + 30))
                    self.session(sidx, p, t, tpl, "home_reading", net=(s["home_ip"], "2"), enc=e)
            # discharge summary / death documentation after the stay by the attending
            if e["cls"] == "IMP" and d <= e["end"] < d1:
                atnd = [x[0] for x in e["parts"] if x[1] == "ATND"]
                if atnd and self.r.random() < 0.7:
                    t = e["end"] + timedelta(hours=self.r.randrange(2, 30))
                    if t < self.day(self.days) and self.on_shift(atnd[0], t):
                        self.session(atnd[0], p, t, "physician", "post_discharge_documentation", enc=e)
            # ---------------- ancillary services reach patients through orders
            if e["cls"] in ("IMP", "EMER"):
                n_lab = 2 if e["cls"] == "IMP" else 1
                for _ in range(n_lab):
                    t = self.rand_in(es, ee)
                    if e["cls"] == "IMP" and self.r.random() < 0.5:
                        t = d + timedelta(minutes=self.r.randrange(240, 400))
                        if not (es <= t < ee):
                            t = self.rand_in(es, ee)
                    lt = self.pick_on(t, lambda s: s["role"] == "lab-tech")
                    if lt is not None and self.clin_ok(lt, p):
                        self.session(lt, p, t, "lab", "lab_orders", n=self.r.choice([2, 3]), orgid="org-lab")
                for _ in range(2 if e["cls"] == "IMP" else (1 if self.r.random() < 0.4 else 0)):
                    t = self.rand_in(es, ee)
                    ph = self.pick_on(t, lambda s: s["role"] == "pharmacist")
                    if ph is not None and self.clin_ok(ph, p):
                        self.session(ph, p, t, "pharmacist", "pharmacy_verification", n=self.r.choice([2, 3, 4]), orgid="org-pharm")
                if self.r.random() < (0.3 if e["cls"] == "IMP" else 0.5):
                    t = self.rand_in(es, ee)
                    rt = self.pick_on(t, lambda s: s["role"] == "radiology-tech")
                    if rt is not None and self.clin_ok(rt, p):
                        self.session(rt, p, t, "rad", "radiology_orders", n=3, orgid="org-rad")
                    if self.r.random() < 0.5:  # radiologist reads the study
                        rd = self.pick_on(t + timedelta(minutes=40), lambda s: s["role"] == "physician" and s["dept"] == "RAD")
                        if rd is not None and self.clin_ok(rd, p):
                            self.session(rd, p, t + timedelta(minutes=40), "physician", "radiology_orders", n=3, orgid="org-rad")
                if e["cls"] == "EMER" and e["start"] >= d:
                    # ED registration at arrival
                    rg = self.pick_on(e["start"], lambda s: s["role"] == "registrar" and s["dept"] == "ED",
                                      lambda s: s["role"] == "registrar" and s["dept"] == "ED")
                    if rg is not None and self.clin_ok(rg, p):
                        self.session(rg, p, e["start"] + timedelta(minutes=2), "registrar", "ed_registration",
                                     purpose=("HOPERAT",), orgid="org-ed")
                    # PCP notified of ED visit / admission
                    if p.get("pcp") is not None and self.r.random() < 0.3:
                        pc = p["pcp"]
                        t = e["start"] + timedelta(hours=self.r.randrange(3, 20))
                        if self.on_shift(pc, t):
                            self.session(pc, p, t, "physician", "pcp_follow_up")
            # ward census views by unit nurses (department link only)
            if e["cls"] == "IMP":
                for sidx in work:
                    s = self.staff[sidx]
                    if s["role"] == "nurse" and s["orgs"][0] == e["org"] and self.r.random() < 0.5:
                        a, b = sh[sidx]
                        t = a + timedelta(minutes=self.r.randrange(5, 40))
                        if es <= t < ee and all(x[0] != sidx for x in e["parts"]) and self.clin_ok(sidx, p):
                            self.session(sidx, p, t, "census", "ward_census", n=1, enc=e, orgid=e["org"])
            # ambulatory: check-in at the clinic desk
            if e["cls"] == "AMB" and e["start"] >= d:
                rg = self.pick_on(e["start"], lambda s: s["role"] == "registrar" and s["dept"] == "ACCESS")
                if rg is not None and self.clin_ok(rg, p):
                    self.session(rg, p, e["start"] - timedelta(minutes=self.r.randrange(5, 25)), "registrar",
                                 "clinic_check_in", purpose=("HOPERAT",), orgid=e["org"], n=2)
                # pre-charting the evening before / morning of
                atnd = [x[0] for x in e["parts"] if x[1] == "ATND"]
                if atnd and self.r.random() < 0.4:
                    t = e["start"] - timedelta(minutes=self.r.randrange(20, 120))
                    if self.on_shift(atnd[0], t):
                        self.session(atnd[0], p, t, "physician", "care_team_amb", n=2, orgid=e["org"])
        # ---------------- night cross-cover by hospitalists / night-float residents
        for sidx in work:
            s = self.staff[sidx]
            if s["shift"] not in ("hosp_n", "res_n"):
                continue
            a, b = sh[sidx]
            pool = [e for e in act if e["cls"] == "IMP" and e["dept"] in (["MED", "CARD", "NEURO"] if s["role"] == "hospitalist" else [s["dept"]])
                    and all(x[0] != sidx for x in e["parts"]) and e["start"] < b and e["end"] > a]
            self.r.shuffle(pool)
            for e in pool[:self.r.randrange(2, 8)]:
                p = self.pat_by_id[e["pid"]]
                t = self.rand_in(max(a, e["start"]), min(b, e["end"]))
                if self.clin_ok(sidx, p):
                    self.session(sidx, p, t, "physician", "night_cross_cover", enc=e, orgid=e["org"])
        # ---------------- rapid response: ICU physician, break-the-glass on a ward patient
        if self.r.random() < 0.25:
            imp = [e for e in act if e["cls"] == "IMP" and e["dept"] != "ICU"]
            if imp:
                e = self.r.choice(imp)
                p = self.pat_by_id[e["pid"]]
                t = self.rand_in(max(d, e["start"]), min(d1, e["end"]))
                icu = self.pick_on(t, lambda s: s["dept"] == "ICU" and s["role"] in ("physician",))
                if icu is not None and self.clin_ok(icu, p):
                    self.session(icu, p, t, "physician", "rapid_response_btg", purpose=("ETREAT", "BTG"), n=4,
                                 orgid=e["org"])
        # ---------------- registration and scheduling ahead of visits
        upcoming = []
        for j in range(i + 1, i + 12):
            d2 = self.day(j)
            upcoming += [e for e in self.enc_by_day_future(j) if e["cls"] == "AMB"]
        if not wk:
            self.r.shuffle(upcoming)
            n_pre = int(len(upcoming) / 8)
            for e in upcoming[:n_pre]:
                p = self.pat_by_id[e["pid"]]
                t = d + timedelta(minutes=self.r.randrange(8 * 60, 17 * 60))
                rg = self.pick_on(t, lambda s: s["role"] == "registrar" and s["dept"] == "ACCESS")
                if rg is not None and self.clin_ok(rg, p):
                    self.session(rg, p, t, "registrar", "pre_registration", purpose=("HOPERAT",), enc=e)
        # ---------------- billing and coding batches on discharged encounters
        if not wk:
            for sidx in work:
                s = self.staff[sidx]
                if s["role"] not in ("billing-clerk", "coder"):
                    continue
                a, b = sh[sidx]
                lo, hi = (d - timedelta(days=12), d - timedelta(days=2)) if s["role"] == "billing-clerk" else \
                    (d - timedelta(days=6), d - timedelta(days=1))
                q = [e for e in self.encs if lo <= e["end"] < hi and e["status"] == "finished"
                     and not e["billed" if s["role"] == "billing-clerk" else "coded"]
                     and (e["cls"] == "IMP" or s["role"] == "billing-clerk")]
                nmax = self.r.randrange(25, 50) if s["role"] == "billing-clerk" else self.r.randrange(8, 18)
                t = a + timedelta(minutes=self.r.randrange(10, 40))
                for e in q[:nmax]:
                    if t > b:
                        break
                    p = self.pat_by_id[e["pid"]]
                    if not self.clin_ok(sidx, p):
                        continue
                    e["billed" if s["role"] == "billing-clerk" else "coded"] = True
                    if s["role"] == "billing-clerk":
                        t = self.session(sidx, p, t, "billing", "billing_batch", purpose=("HPAYMT",), enc=e,
                                         n=self.r.choice([2, 3, 4]), gap=(10, 60))
                        t += timedelta(seconds=self.r.randrange(60, 400))
                    else:
                        t = self.session(sidx, p, t, "coder", "coding_batch", purpose=("HOPERAT",), enc=e,
                                         n=self.r.choice([4, 5, 6, 7]), gap=(30, 180))
                        t += timedelta(seconds=self.r.randrange(120, 900))
            # ---------------- release of information
            for sidx in work:
                s = self.staff[sidx]
                if s["role"] != "roi-clerk":
                    continue
                a, b = sh[sidx]
                hist_p = [e for e in self.encs if e["end"] < d - timedelta(days=3)]
                for _ in range(self.r.randrange(4, 11)):
                    e = self.r.choice(hist_p)
                    p = self.pat_by_id[e["pid"]]
                    if not self.clin_ok(sidx, p):
                        continue
                    t = self.rand_in(a, b - timedelta(minutes=30))
                    scen = "release_of_information_deceased" if p["dead"] and p["dead"] < t else "release_of_information"
                    self.session(sidx, p, t, "roi", scen, purpose=(self.r.choice(["PATRQT", "HLEGAL", "COVERAGE"]),),
                                 n=self.r.randrange(3, 9), enc=e)
            # ---------------- research coordinators
            for sidx in work:
                s = self.staff[sidx]
                if s["role"] != "research-coordinator" or not self.research.get(sidx):
                    continue
                a, b = sh[sidx]
                subj = [p for p in self.research[sidx] if self.alive(p, d)]
                self.r.shuffle(subj)
                for p in subj[:self.r.randrange(3, 9)]:
                    self.session(sidx, p, self.rand_in(a, b), "research", "research_coordinator", purpose=("HRESCH",))
            # ---------------- PCP in-basket: results for panel patients
            for sidx in work:
                s = self.staff[sidx]
                if sidx not in self.pcp_panel:
                    continue
                a, b = sh[sidx]
                panel = [p for p in self.pcp_panel[sidx] if self.alive(p, d)]
                self.r.shuffle(panel)
                for p in panel[:self.r.randrange(3, 9)]:
                    self.session(sidx, p, self.rand_in(a, b), "physician", "pcp_in_basket", n=2)
        # ---------------- social workers on ED patients (not on the care team)
        for e in act:
            if e["cls"] == "EMER" and self.r.random() < 0.06:
                p = self.pat_by_id[e["pid"]]
                t = self.rand_in(max(d, e["start"]), min(d1, e["end"]))
                sw = self.pick_on(t, lambda s: s["role"] == "social-worker")
                if sw is not None and self.clin_ok(sw, p):
                    self.session(sw, p, t, "sw", "social_work_ed", orgid="org-cm")
        # ---------------- small amount of legitimate work not explained by the context
        inpatients = [e for e in act if e["cls"] == "IMP"]
        for _ in range(int(round(self.a.unexplained * self.scale))):
            if not inpatients:
                break
            e = self.r.choice(inpatients)
            p = self.pat_by_id[e["pid"]]
            t = self.rand_in(max(d, e["start"]), min(d1, e["end"]))
            u = self.pick_on(t, lambda s: s["role"] in ("nurse", "physician", "it-support", "social-worker"))
            if u is not None and self.clin_ok(u, p) and u not in self.pt_parts.get(p["id"], ()):
                s = self.staff[u]
                self.session(u, p, t, ROLE_TPL[s["role"]], "unexplained_legitimate", n=self.r.choice([1, 2, 3]),
                             purpose=("HOPERAT",) if s["role"] == "it-support" else ("TREAT",))

    def enc_by_day_future(self, j):
        if not hasattr(self, "_fut"):
            self._fut = {}
            for e in self.encs:
                k = (e["start"].date() - self.start.date()).days
                self._fut.setdefault(k, []).append(e)
        return self._fut.get(j, [])

    # ------------------------------------------------------------------ incidents
    def related(self, s, p):
        """relationship between staff s and patient p other than care links."""
        if s["pid"] == p["id"]:
            return "SELF"
        if p["addr"] == s["addr"]:
            return "FAMILY"
        if p["addr"][0] == s["addr"][0]:
            return "NEIGHBOR"
        if p["staff"] is not None:
            return "COWORKER"
        if strip_accents(p["fam"]).lower() == strip_accents(s["fam"]).lower():
            return "SURNAME"
        return None

    def linked(self, s, p):
        if s["idx"] in self.pt_parts.get(p["id"], ()) or s["idx"] in self.pt_ct.get(p["id"], ()):
            return True
        if set(s["depts"]) & self.pt_depts.get(p["id"], set()):
            return True
        return False

    def plant(self):
        k = self.a.incidents_per_kind
        days = list(range(max(0, self.days - 4), self.days))
        used = set()
        self.incidents = []
        kinds = ["SNOOPING", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "SELF", "DECEASED", "BREAK_GLASS", "COMPROMISED"]
        reasons = {"SNOOPING": ["NO_RELATIONSHIP"], "FAMILY": ["FAMILY"], "NEIGHBOR": ["NEIGHBOR"],
                   "COWORKER": ["COWORKER"], "VIP": ["VIP"], "SELF": ["SELF"], "DECEASED": ["DECEASED"],
                   "BREAK_GLASS": ["BREAK_GLASS"], "COMPROMISED": ["UNUSUAL_TIME", "UNUSUAL_LOCATION", "BULK"]}
        n_inc = 0
        for kind in kinds:
            for _ in range(k):
                for attempt in range(400):
                    i = self.r.choice(days)
                    d = self.day(i)
                    cands = [x for x in self.working[i] if x not in used]
                    if kind != "COMPROMISED":
                        cands = [x for x in cands if self.sched[i][x][0].date() == d.date()
                                 and self.sched[i][x][1].date() == d.date()]
                    else:
                        cands = [x for x in cands if self.staff[x]["shift"] in ("d12", "office", "reg_d", "clinic", "8d", "md")]
                    if not cands:
                        continue
                    sidx = self.r.choice(cands)
                    s = self.staff[sidx]
                    targets = self.incident_targets(kind, s, d)
                    if not targets:
                        continue
                    used.add(sidx)
                    n_inc += 1
                    iid = "INC-%03d" % n_inc
                    lab = {"incident": iid, "kind": kind, "expected_reasons": reasons[kind]}
                    self.incidents.append((iid, kind, s["login"], d.date().isoformat(), [p["id"] for p in targets]))
                    r = self.r
                    if kind == "COMPROMISED":
                        t = d + timedelta(minutes=self.r.randrange(60, 200))
                        ip = ("%d.%d.%d.%d" % (self.r.choice([185, 45, 193, 91, 103]), self.r.randrange(1, 255),
                                               self.r.randrange(1, 255), self.r.randrange(2, 254)), "2")
                        for p in targets:
                            t = self.session(sidx, p, t, "harvest", "INCIDENT_" + kind, net=ip,
                                             n=self.r.choice([1, 2, 2, 3]), label=lab, gap=(3, 25))
                    else:
                        a, b = self.sched[i][sidx]
                        t = self.rand_in(a + timedelta(minutes=30), b - timedelta(minutes=60))
                        purpose = (r.choice([("BTG",), ("TREAT", "BTG"), ("ETREAT", "BTG")])) if kind == "BREAK_GLASS" else (("TREAT",) if s["role"] not in ("billing-clerk", "coder", "roi-clerk", "registrar") else ("HOPERAT",))
                        tpl = "physician" if s["role"] in ("physician", "resident", "hospitalist") else "nurse" \
                            if s["role"] in ("nurse", "nurse-assistant") else ("registrar" if s["role"] in ("registrar",) else "sw")
                        for p in targets:
                            t = self.session(sidx, p, t, tpl, "INCIDENT_" + kind, purpose=purpose,
                                             n=self.r.choice([2, 3, 4, 5]), label=lab)
                            t += timedelta(minutes=self.r.randrange(2, 50))
                            if t > b:
                                t = b - timedelta(minutes=5)
                    break
                else:
                    print("warning: could not plant %s" % kind, file=sys.stderr)

    def incident_targets(self, kind, s, d):
        r = self.r
        def clean(p, allow=None):
            if self.linked(s, p):
                return False
            rel = self.related(s, p)
            if rel is not None and rel != allow:
                return False
            if kind != "DECEASED" and not self.alive(p, d + timedelta(days=1)):
                return False
            if kind != "VIP" and "CEL" in p["sec"]:
                return False
            if kind not in ("COWORKER", "SELF") and p["staff"] is not None:
                return False
            if kind == "BREAK_GLASS":
                # no emergency going on for this patient
                for e in p.get("encs", []):
                    if e["cls"] in ("EMER", "IMP") and e["start"] - timedelta(days=2) < d + timedelta(days=1) and e["end"] > d - timedelta(days=2):
                        return False
            return True
        n = r.choice([1, 1, 2, 3, 4])
        if kind in ("SNOOPING", "BREAK_GLASS"):
            out = []
            for _ in range(300):
                p = r.choice(self.patients)
                if p not in out and clean(p):
                    out.append(p)
                if len(out) >= n:
                    break
            return out if len(out) == n else None
        if kind == "COMPROMISED":
            n = r.randrange(30, 70)
            out, seen = [], set()
            for _ in range(2000):
                p = r.choice(self.patients)
                if p["id"] not in seen and clean(p):
                    seen.add(p["id"])
                    out.append(p)
                if len(out) >= n:
                    break
            return out
        if kind == "SELF":
            p = self.pat_by_id.get(s["pid"]) if s["pid"] else None
            return [p] if p and clean(p, "SELF") else None
        if kind == "FAMILY":
            fam = [p for p in self.patients if p["addr"] == s["addr"] and p["id"] != s["pid"]
                   and strip_accents(p["fam"]).lower() == strip_accents(s["fam"]).lower() and clean(p, "FAMILY")]
            return fam[:r.choice([1, 2])] if fam else None
        if kind == "NEIGHBOR":
            nb = [p for p in self.patients if p["addr"][0] == s["addr"][0] and p["addr"] != s["addr"]
                  and strip_accents(p["fam"]).lower() != strip_accents(s["fam"]).lower() and clean(p, "NEIGHBOR")]
            if not nb:
                return None
            r.shuffle(nb)
            return nb[:r.choice([1, 1, 2])]
        if kind == "COWORKER":
            cw = [self.pat_by_id[o["pid"]] for o in self.staff if o["pid"] and o["idx"] != s["idx"]]
            cw = [p for p in cw if clean(p, "COWORKER")]
            same = [p for p in cw if set(self.staff[p["staff"]]["depts"]) & set(s["depts"])]
            pool = same or cw
            if not pool:
                return None
            r.shuffle(pool)
            return pool[:r.choice([1, 1, 2])]
        if kind == "VIP":
            v = [p for p in self.patients if "CEL" in p["sec"] and clean(p, None)]
            if not v:
                return None
            v.sort(key=lambda p: 0 if p.get("encs") and p["encs"][-1]["end"] > d - timedelta(days=3) else 1)
            return v[:1]
        if kind == "DECEASED":
            dd = [p for p in self.patients if p["dead"] and p["dead"] < d - timedelta(days=14) and clean(p)]
            if not dd:
                return None
            r.shuffle(dd)
            return dd[:r.choice([1, 1, 2])]
        return None

    # ------------------------------------------------------------------ output
    def write(self, out):
        ctx = os.path.join(out, "context")
        os.makedirs(ctx, exist_ok=True)
        def dump(path, rows):
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        dump(os.path.join(ctx, "Organization.ndjson"), [
            dict([("resourceType", "Organization"), ("id", oid), ("active", True), ("name", name)] +
                 ([("partOf", {"reference": "Organization/" + parent})] if parent else []) +
                 [("type", [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                         "code": "prov" if parent is None else "dept"}]}])])
            for oid, name, parent in self.orgs])
        pr, roles = [], []
        for s in self.staff:
            ids = [{"use": "official", "system": LOGIN_SYS, "value": s["login"]}]
            if s["role"] in ("physician", "resident", "hospitalist"):
                ids.append({"system": NPI_SYS, "value": "1%09d" % (self.r.randrange(10 ** 9))})
            given = [s["given"]] + ([s["middle"]] if s["middle"] else [])
            pr.append({"resourceType": "Practitioner", "id": s["id"], "identifier": ids, "active": True,
                       "name": [{"use": "official", "family": s["fam"], "given": given}],
                       "gender": s["gender"], "birthDate": s["birth"].isoformat(),
                       "address": [self.render_addr(s["addr"], "hr")]})
            for k, o in enumerate(s["orgs"]):
                roles.append({"resourceType": "PractitionerRole", "id": "%s-r%d" % (s["id"], k + 1), "active": True,
                              "practitioner": {"reference": "Practitioner/" + s["id"]},
                              "organization": {"reference": "Organization/" + o},
                              "code": [{"coding": [{"system": ROLE_SYS, "code": s["role"]}]}]})
        dump(os.path.join(ctx, "Practitioner.ndjson"), pr)
        dump(os.path.join(ctx, "PractitionerRole.ndjson"), roles)
        pts = []
        for p in self.patients:
            fam = p["fam"]
            given = p["given"]
            x = self.r.random()
            if x < 0.25:
                fam, given = strip_accents(fam).upper(), strip_accents(given).upper()
            elif x < 0.4:
                fam = strip_accents(fam)
                given = strip_accents(given)
            if "'" in fam and self.r.random() < 0.5:
                fam = fam.replace("'", "")
            if " " in fam and self.r.random() < 0.5:
                fam = fam.replace(" ", "")
            gl = [given] + ([p["middle"][0]] if p["middle"] and self.r.random() < 0.5 else [])
            res = {"resourceType": "Patient", "id": p["id"]}
            if p["sec"]:
                sec = []
                for c in p["sec"]:
                    sec.append({"system": CONF if c in ("R", "V") else ACTCODE, "code": c})
                res["meta"] = {"security": sec}
            res["identifier"] = [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                                  "system": MRN_SYS, "value": "LU%07d" % (int(p["id"]) * 7 % 9999991)}]
            res["active"] = True
            res["name"] = [{"use": "official", "family": fam, "given": gl}]
            res["gender"] = p["gender"]
            res["birthDate"] = p["birth"].isoformat()
            if p["dead"]:
                res["deceasedDateTime"] = fhir_dt(p["dead"])
            res["address"] = [self.render_addr(p["addr"], "reg")]
            pts.append(res)
        dump(os.path.join(ctx, "Patient.ndjson"), pts)
        cls_disp = {"IMP": "inpatient encounter", "EMER": "emergency", "AMB": "ambulatory"}
        ptype = {"ATND": "attender", "PPRF": "primary performer", "SPRF": "secondary performer", "CON": "consultant",
                 "PART": "Participation"}
        encs = []
        for e in self.encs:
            res = {"resourceType": "Encounter", "id": e["id"], "status": e["status"],
                   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": e["cls"], "display": cls_disp[e["cls"]]},
                   "subject": {"reference": "Patient/" + e["pid"]},
                   "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": c, "display": ptype[c]}]}],
                                    "individual": {"reference": "Practitioner/" + self.staff[x]["id"]}} for x, c in e["parts"]],
                   "period": {"start": fhir_dt(e["start"])},
                   "serviceProvider": {"reference": "Organization/" + e["org"]}}
            if e["status"] == "finished":
                res["period"]["end"] = fhir_dt(e["end"])
            elif e["status"] == "planned":
                res["period"]["end"] = fhir_dt(e["end"])
            encs.append(res)
        dump(os.path.join(ctx, "Encounter.ndjson"), encs)
        cts = []
        for ct in self.careteams:
            per = {"start": ct["start"].date().isoformat()}
            if ct["end"]:
                per["end"] = ct["end"].date().isoformat()
            cts.append({"resourceType": "CareTeam", "id": ct["id"], "status": "active",
                        "category": [{"text": "primary care" if ct["cat"] == "pcp" else "research study team"}],
                        "subject": {"reference": "Patient/" + ct["pid"]},
                        "period": per,
                        "participant": [{"member": {"reference": "Practitioner/" + self.staff[m]["id"]}} for m in ct["members"]]})
        dump(os.path.join(ctx, "CareTeam.ndjson"), cts)
        self.events.sort(key=lambda x: (x[0], x[1]))
        with open(os.path.join(out, "AuditEvent.ndjson"), "w", encoding="utf-8", newline="\n") as fe, \
                open(os.path.join(out, "labels.ndjson"), "w", encoding="utf-8", newline="\n") as fl:
            for utc, seq, ev, lab, login, ld in self.events:
                fe.write(json.dumps(ev, separators=(",", ":")) + "\n")
                row = {"id": ev["id"], "case": "%s|%s" % (login, ld)}
                if lab:
                    row.update(lab)
                fl.write(json.dumps(row, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--incidents-per-kind", type=int, default=2)
    ap.add_argument("--unexplained", type=float, default=3.0,
                    help="sessions a day (per 4000 patients) of legitimate work nothing in the context explains (default 3; 0 leaves them out)")
    ap.add_argument("--start", default="2025-10-20", help="first local date of the audit window (default spans the DST change)")
    a = ap.parse_args()
    if a.days < 5:
        ap.error("--days must be at least 5")
    t0 = time.time()
    g = Gen(a)
    g.build_orgs()
    g.build_streets()
    g.build_staff()
    g.build_schedule()
    g.build_patients()
    g.build_pcp()  # before encounters: primary-care visits go to the patient's own doctor
    g.build_encounters()
    g.build_careteams()
    g.simulate()
    g.plant()
    g.write(a.out)
    n = len(g.events)
    print("wrote %d events (%.0f/day), %d patients, %d staff, %d encounters, %d incidents in %.1fs"
          % (n, n / a.days, len(g.patients), len(g.staff), len(g.encs), len(g.incidents), time.time() - t0))
    tot = sum(v for k, v in g.stats.items())
    for k in sorted(g.stats, key=lambda k: -g.stats[k]):
        print("  %-34s %7d  %5.1f%%" % (k, g.stats[k], 100.0 * g.stats[k] / tot))
    for inc in g.incidents:
        print("  %s %-12s %s %s %d patients" % (inc[0], inc[1], inc[2], inc[3], len(inc[4])))


if __name__ == "__main__":
    main()
