#!/usr/bin/env python3
"""gen6.py - independent test-data generator for the access-monitoring contract.

Simulates "Cascadia Health", a fictional US integrated delivery network (Pacific time),
and writes FHIR R4 context (Bulk Data NDJSON), IHE BALP-shaped AuditEvents, labels and
ground truth.  Standard library only; one random.Random(seed) drives everything.

    PYTHONHASHSEED=0 python3 gen6.py --out DIR --seed N [--days 21] [--patients 4000]
        [--staff 400] [--incidents-per-kind 2] [--start 2025-10-27] [--stats]
"""
import argparse
import base64
import bisect
import calendar
import datetime
import json
import os
import random
import sys
import time
import re
import unicodedata

DAY = 86400
HOUR = 3600
MIN = 60
WARM = 14            # days simulated before the window (hospital census warm-up)
FUT = 30             # days after the window for which booked appointments are exported

BASE = "https://fhir.cascadiahealth.example.org"
SYS_LOGIN = BASE + "/sid/login"
SYS_EMP = BASE + "/sid/employee-id"
SYS_MRN = BASE + "/sid/mrn"
SYS_MRN_CRH = BASE + "/sid/crh-legacy-mrn"
SYS_NPI = "http://hl7.org/fhir/sid/us-npi"
SYS_ROLE = BASE + "/CodeSystem/staff-role"
SYS_HL7ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
SYS_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SYS_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SYS_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
SYS_PTYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SYS_ORGTYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
SYS_REST = "http://hl7.org/fhir/restful-interaction"
SYS_OP = BASE + "/CodeSystem/operation"
SYS_AETYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
SYS_ENTTYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
SYS_OROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SYS_DCM = "http://dicom.nema.org/resources/ontology/DCM"
SYS_SRCTYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
SERVER = "ehr-fhir.cascadiahealth.example.org"

# ---------------------------------------------------------------- time (America/Los_Angeles)
_DST = {}


def _dst(y):
    b = _DST.get(y)
    if b is None:
        first = 1 + (6 - datetime.date(y, 3, 1).weekday()) % 7
        s = calendar.timegm((y, 3, first + 7, 10, 0, 0))       # 02:00 PST -> PDT
        first = 1 + (6 - datetime.date(y, 11, 1).weekday()) % 7
        e = calendar.timegm((y, 11, first, 9, 0, 0))           # 02:00 PDT -> PST
        b = _DST[y] = (s, e)
    return b


def utc_off(ts):
    s, e = _dst(time.gmtime(ts).tm_year)
    return -7 if s <= ts < e else -8


def local_ts(date, h, m=0, s=0):
    """Epoch seconds of a Pacific wall-clock time (h may exceed 23; first occurrence when ambiguous)."""
    naive = calendar.timegm((date.year, date.month, date.day, h, m, s))
    t = naive + 7 * HOUR
    if utc_off(t) == -7:
        return t
    return naive + 8 * HOUR


def iso(ts, ms=None):
    off = utc_off(ts)
    t = time.gmtime(ts + off * HOUR)
    s = "%04d-%02d-%02dT%02d:%02d:%02d" % t[:6]
    if ms is not None:
        s += ".%03d" % ms
    return s + ("-07:00" if off == -7 else "-08:00")


def local_date(ts):
    t = time.gmtime(ts + utc_off(ts) * HOUR)
    return "%04d-%02d-%02d" % t[:3]


def local_hour(ts):
    t = time.gmtime(ts + utc_off(ts) * HOUR)
    return t.tm_hour + t.tm_min / 60.0


def strip_accents(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


# ---------------------------------------------------------------- names
def _w(spec):
    out = []
    for part in spec.split(","):
        part = part.strip()
        if ":" in part:
            n, w = part.rsplit(":", 1)
            out.append((n.strip(), int(w)))
        else:
            out.append((part, 1))
    return out


SURN = {
    "anglo": _w("Smith:30,Johnson:22,Williams:15,Brown:14,Jones:12,Miller:11,Davis:10,Wilson:8,"
                "Anderson:8,Taylor:7,Thomas:6,Moore:6,Martin:6,Jackson:5,Thompson:5,White:5,Harris:5,"
                "Clark:5,Lewis:4,Robinson:4,Walker:4,Young:4,Allen:4,King:4,Wright:4,Scott:4,Hill:4,"
                "Green:4,Adams:4,Baker:4,Nelson:4,Carter:3,Mitchell:3,Roberts:3,Turner:3,Phillips:3,"
                "Campbell:3,Parker:3,Evans:3,Edwards:3,Collins:3,Stewart:3,Morris:3,Murphy:3,Cook:3,"
                "Rogers:3,Peterson:4,Olson:4,Larson:3,Hansen:3,Johansen:2,Lindqvist:1,O'Brien:2,"
                "McDonald:2,MacLeod:1,O'Neill:2,Sullivan:2,Schmidt:2,Mueller:1,Bergstrom:1,"
                "Fitzgerald:1,Van der Berg:1,St. John:1,Gustafson:2,Swanson:2,Nilsen:1"),
    "hisp": _w("García:20,Hernández:12,Martínez:12,López:12,González:10,Rodríguez:10,Pérez:8,"
               "Sánchez:8,Ramírez:7,Torres:6,Flores:6,Rivera:5,Gómez:5,Díaz:5,Cruz:4,Morales:4,"
               "Reyes:4,Gutiérrez:3,Ortiz:3,Chávez:3,Ramos:3,Ruiz:3,Mendoza:3,Álvarez:3,Castillo:2,"
               "Jiménez:2,Vásquez:2,Domínguez:1,Núñez:2,Peña:2,Ibáñez:1,Muñoz:2,Ochoa:1,Zúñiga:1,"
               "Villaseñor:1"),
    "viet": _w("Nguyễn:40,Trần:12,Lê:10,Phạm:8,Huỳnh:5,Hoàng:4,Phan:4,Vũ:3,Võ:3,Đặng:3,Bùi:3,"
               "Đỗ:3,Hồ:2,Ngô:2,Dương:2,Lý:2"),
    "chin": _w("Chen:10,Wang:8,Li:8,Zhang:6,Liu:6,Huang:5,Lin:5,Wu:4,Yang:4,Zhou:3,Wong:5,Chan:4,"
               "Lee:6,Chang:3,Lam:3,Ho:2,Cheung:2"),
    "fil": _w("Santos:6,Reyes:6,Cruz:5,Bautista:4,Ocampo:3,Garcia:5,Mendoza:3,Dela Cruz:4,"
              "De Leon:3,Villanueva:3,Aquino:3,Ramos:3,Castro:2,Manalo:2,Pascual:2,Soriano:2,"
              "Tolentino:2,Macaraeg:1"),
    "rus": _w("Ivanov:4,Petrov:3,Sokolov:3,Kuznetsov:3,Popov:2,Volkov:2,Morozov:2,Smirnov:3,"
              "Kovalenko:3,Shevchenko:3,Bondarenko:2,Tkachenko:2,Kravchenko:2,Melnyk:2,Boyko:2,"
              "Savchuk:1,Tkachuk:1,Lysenko:1,Moroz:1"),
    "som": _w("Mohamed:10,Ali:8,Hassan:7,Abdi:7,Ahmed:7,Omar:5,Farah:5,Hussein:4,Osman:4,"
              "Warsame:3,Jama:3,Abdullahi:4,Ibrahim:4,Yusuf:3,Nur:3,Aden:3,Dahir:2,Egal:1"),
    "nat": _w("Jim:3,George:3,Sampson:3,Tom:2,Charley:2,Joe:2,Sohappy:2,Wallahee:2,Yallup:2,"
              "Whitefoot:2,Spencer:2,Thompson:2,Jack:2,Moses:2,Peone:1,Sam:2,Williams:3,"
              "Tonasket:1,Andrews:2,Pakootas:1,Seymour:2"),
}
GIVEN = {
    ("anglo", "male"): ("James John Robert Michael William David Richard Joseph Thomas Christopher "
                        "Daniel Matthew Anthony Mark Steven Andrew Joshua Kevin Brian Ryan Tyler "
                        "Brandon Ethan Noah Liam Mason Logan Owen Gary Dennis Wayne Dale Cody").split(),
    ("anglo", "female"): ("Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen "
                          "Nancy Lisa Betty Sandra Ashley Emily Michelle Amanda Melissa Stephanie "
                          "Rebecca Laura Emma Olivia Ava Sophia Madison Hannah Kayla Brittany Shirley "
                          "Donna Katherine Margaret").split(),
    ("hisp", "male"): ("José Juan Luis Carlos Jesús Miguel Jorge Francisco Alejandro Ricardo Héctor "
                       "Raúl Andrés Diego Mateo Santiago Sebastián Óscar Rubén Efraín").split() +
                      ["Juan Carlos", "José Luis"],
    ("hisp", "female"): ("María Guadalupe Ana Rosa Sofía Valentina Camila Lucía Ximena Daniela "
                         "Fernanda Mónica Patricia Verónica Leticia Araceli Yesenia Itzel Jimena "
                         "Maribel").split() + ["María José", "Ana Lucía"],
    ("viet", "male"): "Minh Tuấn Hùng Dũng Long Huy Khoa Nam Quang Thanh Bảo Phúc".split(),
    ("viet", "female"): "Lan Linh Hương Mai Thảo Trang Ngọc Hoa Thủy Vy Anh Hạnh".split(),
    ("chin", "male"): "Wei Jun Hao Ming Jian Lei Kevin Eric David Jason Peter Michael".split(),
    ("chin", "female"): ("Mei Xiu Ying Hui Jing Amy Grace Linda Jennifer Helen Li Na").split(),
    ("fil", "male"): ("Jose Mark Rodel Jerome Ramon Carlo Angelo Ferdinand Rommel Arnel").split() +
                     ["John Paul"],
    ("fil", "female"): "Maria Grace Joy Rowena Maricel Jocelyn Cristina Analyn Liza Rhea".split(),
    ("rus", "male"): ("Alexander Dmitri Sergei Andrei Vladimir Oleksandr Mykola Yuri Ivan Pavel "
                      "Artem Maksym").split(),
    ("rus", "female"): ("Natalia Olga Svetlana Tatiana Irina Oksana Yulia Anastasia Kateryna Elena "
                        "Lyudmila Viktoria").split(),
    ("som", "male"): "Abdirahman Mohamed Ahmed Ali Hassan Abdullahi Yusuf Ismail Mahad Liban".split(),
    ("som", "female"): "Fadumo Amina Hodan Ayaan Halima Sahra Ifrah Hawa Nasra Khadra".split(),
    ("nat", "male"): "Thomas Joseph Wesley Dale Lewis Marvin Randall Cody Elias Jonah".split(),
    ("nat", "female"): "Rose Darlene Marcella Tala Kaya Alice Leona Winona Cheryl Faith".split(),
}
GENDERED = {"Ivanov": "Ivanova", "Petrov": "Petrova", "Sokolov": "Sokolova", "Kuznetsov": "Kuznetsova",
            "Popov": "Popova", "Volkov": "Volkova", "Morozov": "Morozova", "Smirnov": "Smirnova"}
NICK = {"William": "Bill", "Robert": "Bob", "Richard": "Rick", "Katherine": "Kathy", "Elizabeth": "Liz",
        "Jennifer": "Jenny", "Michael": "Mike", "James": "Jim", "Joseph": "Joe", "Thomas": "Tom",
        "Margaret": "Peggy", "Christopher": "Chris", "Daniel": "Dan", "Rebecca": "Becky",
        "Patricia": "Patty", "Susan": "Sue", "Anthony": "Tony", "Steven": "Steve", "Andrew": "Andy",
        "Sergei": "Sergey", "Natalia": "Natalya", "Yulia": "Julia", "Oleksandr": "Alexander",
        "Mohamed": "Mohammed", "Fadumo": "Fatuma", "Dmitri": "Dmitry", "Tatiana": "Tatyana",
        "Kateryna": "Katerina"}
MASC = {v: k for k, v in GENDERED.items()}
MIDDLE = "A B C D E F G H J K L M N P R S T W".split()
ETH_MIX = [("anglo", 55), ("hisp", 16), ("viet", 6), ("chin", 5), ("fil", 5), ("rus", 5),
           ("som", 3), ("nat", 3)]
ETH_MIX_RURAL = [("anglo", 60), ("hisp", 24), ("nat", 10), ("rus", 4), ("fil", 2)]

# ---------------------------------------------------------------- places
STREETS = ("Alder Maple Cedar Fir Hemlock Madrona Pacific Yakima Columbia Rainier Olympic Puget "
           "Chinook Cascade Spruce Willow Birch Juniper Orchard Harbor Summit Meridian Lincoln "
           "Jefferson Union Division Lakeview Grant Garfield Mercer Holly Laurel Vine Myrtle").split()
STYPES = [("St", "Street"), ("Ave", "Avenue"), ("Blvd", "Boulevard"), ("Dr", "Drive"), ("Ct", "Court"),
          ("Way", "Way"), ("Pl", "Place"), ("Ln", "Lane")]
DIRS = [("NE", "Northeast"), ("NW", "Northwest"), ("SE", "Southeast"), ("SW", "Southwest"),
        ("N", "North"), ("S", "South"), ("E", "East"), ("", "")]
RURAL_ROADS = ["Old Mill Rd", "Sinlahekin Rd", "Pine Creek Rd", "Bench Rd", "Orchard Grade Rd",
               "Chesaw Rd", "Cold Creek Rd", "Elk Hollow Rd", "Whitestone Loop", "Aeneas Valley Rd"]
# city, zip, area, home clinic (adult), home clinic (child)
CITIES = [("Riverton", "98402", "cmc", "org-amb-pcn", "org-amb-pedn"),
          ("Riverton", "98405", "cmc", "org-amb-pcs", "org-amb-peds"),
          ("Northgate", "98407", "cmc", "org-amb-pcn", "org-amb-pedn"),
          ("Southshore", "98409", "cmc", "org-amb-pcs", "org-amb-peds"),
          ("Eastgate", "98445", "cmc", "org-amb-pce", "org-amb-pedn"),
          ("Millbrook", "98444", "cmc", "org-amb-pce", "org-amb-peds"),
          ("Lakeview", "98499", "cmc", "org-amb-pcl", "org-amb-peds"),
          ("Pine Ridge", "98855", "crh", "org-amb-rfm", "org-amb-rfm"),
          ("Cold Creek", "98857", "crh", "org-amb-rfm", "org-amb-rfm"),
          ("Elk Hollow", "98859", "crh", "org-amb-rfm", "org-amb-rfm")]
CITY_W = [16, 14, 12, 12, 11, 9, 10, 9, 4, 3]

# ---------------------------------------------------------------- organisation
# id, name, partOf, kind, hospital, workstation prefix
ORGS = [
    ("org-cascadia", "Cascadia Health", None, "system", None, None),
    ("org-cmc", "Cascadia Medical Center", "org-cascadia", "hospital", "cmc", None),
    ("org-cmc-ed", "CMC Emergency Department", "org-cmc", "ed", "cmc", "CMCED"),
    ("org-cmc-icu", "CMC Intensive Care Unit", "org-cmc", "unit", "cmc", "CMCICU"),
    ("org-cmc-3e", "CMC 3 East Medicine (teaching)", "org-cmc", "unit", "cmc", "CMC3E"),
    ("org-cmc-4w", "CMC 4 West Surgical & Orthopedic", "org-cmc", "unit", "cmc", "CMC4W"),
    ("org-cmc-5n", "CMC 5 North Cardiac Telemetry", "org-cmc", "unit", "cmc", "CMC5N"),
    ("org-cmc-6s", "CMC 6 South Oncology", "org-cmc", "unit", "cmc", "CMC6S"),
    ("org-cmc-ld", "CMC Labor & Delivery / Mother-Baby", "org-cmc", "unit", "cmc", "CMCLD"),
    ("org-cmc-peds", "CMC Pediatric Unit", "org-cmc", "unit", "cmc", "CMCPED"),
    ("org-cmc-bhu", "CMC Inpatient Behavioral Health", "org-cmc", "unit", "cmc", "CMCBHU"),
    ("org-cmc-surg", "CMC Perioperative Services", "org-cmc", "periop", "cmc", "CMCOR"),
    ("org-cmc-hm", "CMC Hospital Medicine", "org-cmc", "service", "cmc", "CMCHM"),
    ("org-cmc-float", "CMC Nursing Resource Pool", "org-cmc", "pool", "cmc", None),
    ("org-cmc-pharm", "CMC Pharmacy", "org-cmc", "ancillary", "cmc", "CMCRX"),
    ("org-cmc-lab", "CMC Laboratory", "org-cmc", "ancillary", "cmc", "CMCLAB"),
    ("org-cmc-rad", "CMC Imaging", "org-cmc", "ancillary", "cmc", "CMCRAD"),
    ("org-cmc-cm", "CMC Case Management & Social Work", "org-cmc", "service", "cmc", "CMCCM"),
    ("org-crh", "Cascadia Ridge Community Hospital (Critical Access)", "org-cascadia", "hospital", "crh", None),
    ("org-crh-ed", "CRH Emergency Department", "org-crh", "ed", "crh", "CRHED"),
    ("org-crh-ms", "CRH Inpatient & Swing Beds", "org-crh", "unit", "crh", "CRHMS"),
    ("org-crh-anc", "CRH Lab, Imaging & Pharmacy", "org-crh", "ancillary", "crh", "CRHANC"),
    ("org-cmg", "Cascadia Medical Group", "org-cascadia", "group", None, None),
    ("org-amb-pcn", "Northgate Primary Care", "org-cmg", "clinic", None, "NGPC"),
    ("org-amb-pcs", "Southshore Primary Care", "org-cmg", "clinic", None, "SSPC"),
    ("org-amb-pce", "Eastgate Primary Care", "org-cmg", "clinic", None, "EGPC"),
    ("org-amb-pcl", "Lakeview Primary Care", "org-cmg", "clinic", None, "LVPC"),
    ("org-amb-rfm", "Ridge Family Medicine", "org-cmg", "clinic", None, "RFM"),
    ("org-amb-card", "Cascadia Heart & Vascular Clinic", "org-cmg", "clinic", None, "HVC"),
    ("org-amb-onc", "Cascadia Cancer & Infusion Center", "org-cmg", "clinic", None, "CIC"),
    ("org-amb-ortho", "Orthopedics & Sports Medicine", "org-cmg", "clinic", None, "OSM"),
    ("org-amb-pedn", "Northgate Pediatrics", "org-cmg", "clinic", None, "NGPED"),
    ("org-amb-peds", "Southshore Pediatrics", "org-cmg", "clinic", None, "SSPED"),
    ("org-amb-wh", "Women's Health Center", "org-cmg", "clinic", None, "WHC"),
    ("org-amb-bh", "Behavioral Health Clinic", "org-cmg", "clinic", None, "BHC"),
    ("org-cc", "Cascadia Contact Center", "org-cascadia", "cc", None, "CC-AGT"),
    ("org-hh", "Cascadia Home Health", "org-cascadia", "hh", None, "HHLT"),
    ("org-ss", "Cascadia Shared Services", "org-cascadia", "ss", None, None),
    ("org-ss-him", "HIM - Release of Information", "org-ss", "ss", None, "SSB"),
    ("org-ss-coding", "Coding & Clinical Documentation", "org-ss", "ss", None, "SSB"),
    ("org-ss-pfs", "Patient Financial Services", "org-ss", "ss", None, "SSB"),
    ("org-ss-auth", "Prior Authorization", "org-ss", "ss", None, "SSB"),
    ("org-ss-ref", "Referral Management", "org-ss", "ss", None, "SSB"),
    ("org-ss-qual", "Quality & Clinical Abstraction", "org-ss", "ss", None, "SSB"),
    ("org-ss-pop", "Population Health", "org-ss", "ss", None, "SSB"),
    ("org-ss-scribe", "Remote Scribe Services", "org-ss", "ss", None, None),
]
CMC_UNITS = ["org-cmc-3e", "org-cmc-4w", "org-cmc-5n", "org-cmc-6s", "org-cmc-icu", "org-cmc-ld",
             "org-cmc-peds", "org-cmc-bhu"]
MED_UNITS = ["org-cmc-3e", "org-cmc-4w", "org-cmc-5n", "org-cmc-6s", "org-cmc-icu"]
PC_CLINICS = ["org-amb-pcn", "org-amb-pcs", "org-amb-pce", "org-amb-pcl"]
SPEC_CLINIC = {"ortho": "org-amb-ortho", "card": "org-amb-card", "onc": "org-amb-onc", "wh": "org-amb-wh",
               "pedn": "org-amb-pedn", "peds": "org-amb-peds", "bh": "org-amb-bh"}
ROLE_DISPLAY = {
    "physician": "Physician", "resident": "Resident physician", "nurse-practitioner": "Nurse practitioner",
    "physician-assistant": "Physician assistant", "nurse": "Registered nurse",
    "medical-assistant": "Medical assistant", "registrar": "Patient access / registrar",
    "scheduler": "Scheduler (contact center)", "triage-nurse": "Telephone triage nurse",
    "pharmacist": "Pharmacist", "lab-technologist": "Laboratory technologist",
    "radiology-technologist": "Radiology technologist", "case-manager": "Case manager",
    "social-worker": "Social worker", "therapist": "Behavioral health therapist", "scribe": "Medical scribe",
    "home-health-nurse": "Home health nurse", "physical-therapist": "Physical therapist",
    "intake-coordinator": "Home health intake coordinator", "him-clerk": "HIM release-of-information clerk",
    "coder": "Medical coder", "billing-clerk": "Billing clerk", "prior-auth-specialist": "Prior authorization specialist",
    "referral-coordinator": "Referral coordinator", "quality-abstractor": "Quality abstractor",
    "population-health-nurse": "Population health nurse"}
HL7ROLE = {"physician": "doctor", "resident": "doctor", "nurse": "nurse", "nurse-practitioner": "nurse",
           "triage-nurse": "nurse", "home-health-nurse": "nurse", "population-health-nurse": "nurse",
           "pharmacist": "pharmacist"}
BROAD = {"scheduler", "triage-nurse", "him-clerk", "coder", "billing-clerk", "quality-abstractor",
         "prior-auth-specialist", "referral-coordinator", "intake-coordinator", "pharmacist",
         "lab-technologist", "radiology-technologist", "population-health-nurse"}
POST_DEATH_OK = {"incident", "post_death_documentation", "coding", "billing_follow_up", "release_of_information",
                 "quality_abstraction", "pophealth_stale"}
PROVIDER_ROLES = {"physician", "nurse-practitioner", "physician-assistant", "resident"}

# ---------------------------------------------------------------- staff roster (base = 340 staff)
def base_roster():
    R = []

    def add(group, n, role, orgs, sched, **kw):
        R.append((group, n, role, orgs, sched, kw))
    add("ed_md", 6, "physician", ["org-cmc-ed"], "ed_md")
    add("ed_md", 1, "physician", ["org-cmc-ed", "org-crh-ed"], "ed_md", dual=True)
    add("ed_rn", 16, "nurse", ["org-cmc-ed"], "rn12")
    add("ed_reg", 4, "registrar", ["org-cmc-ed"], "reg8")
    add("hosp", 6, "physician", ["org-cmc-hm"], "block_day")
    add("hosp", 1, "physician", ["org-cmc-hm", "org-crh-ms"], "block_day", dual=True)
    add("noct", 3, "physician", ["org-cmc-hm"], "block_night")
    add("resident", 10, "resident", None, "resident")
    for unit, n in [("3e", 11), ("4w", 11), ("5n", 9), ("6s", 9), ("icu", 11), ("ld", 7), ("peds", 5), ("bhu", 5)]:
        add("unit_rn", n, "nurse", ["org-cmc-" + unit], "rn12")
    add("float_rn", 7, "nurse", ["org-cmc-float"], "rn12")
    add("travel_rn", 5, "nurse", None, "rn12", travel=True)
    add("periop_rn", 5, "nurse", ["org-cmc-surg"], "periop")
    add("anes", 2, "physician", ["org-cmc-surg"], "periop")
    add("surgeon", 2, "physician", ["org-cmc-surg", "org-crh-ms"], "surgeon", dual=True)
    add("spec", 3, "physician", ["org-amb-ortho", "org-cmc-surg"], "clinic", spec="ortho")
    add("spec", 3, "physician", ["org-amb-card", "org-cmc-5n"], "clinic", spec="card")
    add("spec", 3, "physician", ["org-amb-onc", "org-cmc-6s"], "clinic", spec="onc")
    add("spec", 3, "physician", ["org-amb-wh", "org-cmc-ld"], "clinic", spec="wh")
    add("spec", 2, "physician", ["org-amb-pedn", "org-cmc-peds"], "clinic", spec="pedn")
    add("spec", 2, "physician", ["org-amb-peds", "org-cmc-peds"], "clinic", spec="peds")
    add("spec", 2, "physician", ["org-amb-bh", "org-cmc-bhu"], "clinic", spec="bh")
    add("pharm", 5, "pharmacist", ["org-cmc-pharm"], "anc")
    add("lab", 4, "lab-technologist", ["org-cmc-lab"], "anc")
    add("rad", 4, "radiology-technologist", ["org-cmc-rad"], "anc")
    add("cm", 4, "case-manager", ["org-cmc-cm"], "office")
    add("sw", 2, "social-worker", ["org-cmc-cm"], "office")
    add("crh_md", 2, "physician", ["org-crh-ed", "org-crh-ms"], "crh_md")
    add("crh_rn", 6, "nurse", ["org-crh-ms"], "rn12")
    add("crh_rn", 5, "nurse", ["org-crh-ed"], "rn12")
    add("crh_reg", 2, "registrar", ["org-crh-ed"], "reg8")
    add("crh_anc", 1, "lab-technologist", ["org-crh-anc"], "anc")
    add("crh_anc", 1, "radiology-technologist", ["org-crh-anc"], "anc")
    add("crh_anc", 1, "pharmacist", ["org-crh-anc"], "office")
    for c in PC_CLINICS:
        add("pcp", 3, "physician", [c], "clinic")
        add("pcp", 1, "nurse-practitioner", [c], "clinic")
        add("ma", 3, "medical-assistant", [c], "clinic_staff")
        add("clinic_rn", 1, "nurse", [c], "clinic_staff")
        add("fd", 2, "registrar", [c], "clinic_staff")
    add("pcp", 2, "physician", ["org-amb-rfm", "org-crh-ms"], "clinic", dual=True)
    add("pcp", 1, "physician-assistant", ["org-amb-rfm"], "clinic")
    add("ma", 2, "medical-assistant", ["org-amb-rfm"], "clinic_staff")
    add("clinic_rn", 1, "nurse", ["org-amb-rfm"], "clinic_staff")
    add("fd", 1, "registrar", ["org-amb-rfm"], "clinic_staff")
    add("ma", 2, "medical-assistant", ["org-amb-card"], "clinic_staff")
    add("clinic_rn", 1, "nurse", ["org-amb-card"], "clinic_staff")
    add("fd", 1, "registrar", ["org-amb-card"], "clinic_staff")
    add("infusion_rn", 4, "nurse", ["org-amb-onc"], "clinic_staff")
    add("ma", 1, "medical-assistant", ["org-amb-onc"], "clinic_staff")
    add("fd", 1, "registrar", ["org-amb-onc"], "clinic_staff")
    add("pcp", 1, "physician-assistant", ["org-amb-ortho"], "clinic", spec="ortho")
    add("ma", 2, "medical-assistant", ["org-amb-ortho"], "clinic_staff")
    add("fd", 1, "registrar", ["org-amb-ortho"], "clinic_staff")
    for c in ["org-amb-pedn", "org-amb-peds"]:
        add("pcp", 1, "nurse-practitioner", [c], "clinic", spec=c[8:])
        add("ma", 2, "medical-assistant", [c], "clinic_staff")
        add("fd", 1, "registrar", [c], "clinic_staff")
    add("pcp", 1, "nurse-practitioner", ["org-amb-wh"], "clinic", spec="wh")
    add("ma", 2, "medical-assistant", ["org-amb-wh"], "clinic_staff")
    add("fd", 1, "registrar", ["org-amb-wh"], "clinic_staff")
    add("therapist", 5, "therapist", ["org-amb-bh"], "clinic", spec="bh")
    add("fd", 1, "registrar", ["org-amb-bh"], "clinic_staff")
    add("scribe", 7, "scribe", ["org-ss-scribe"], "scribe")
    add("sched", 14, "scheduler", ["org-cc"], "cc")
    add("triage", 3, "triage-nurse", ["org-cc"], "cc")
    add("hh_rn", 8, "home-health-nurse", ["org-hh"], "hh")
    add("hh_rn", 1, "physical-therapist", ["org-hh"], "hh")
    add("hh_coord", 2, "intake-coordinator", ["org-hh"], "office")
    add("roi", 4, "him-clerk", ["org-ss-him"], "office")
    add("coder", 7, "coder", ["org-ss-coding"], "office", remote_p=0.5)
    add("biller", 8, "billing-clerk", ["org-ss-pfs"], "office", remote_p=0.3)
    add("pauth", 4, "prior-auth-specialist", ["org-ss-auth"], "office")
    add("referral", 4, "referral-coordinator", ["org-ss-ref"], "office")
    add("quality", 3, "quality-abstractor", ["org-ss-qual"], "office", remote_p=0.3)
    add("pop", 5, "population-health-nurse", ["org-ss-pop"], "office")
    return R


RESIDENT_SERVICES = ["org-cmc-3e", "org-cmc-5n", "org-cmc-icu", "org-cmc-ed", "org-amb-pcn", "org-cmc-peds"]
TRAVEL_UNITS = ["org-cmc-icu", "org-cmc-4w", "org-cmc-3e", "org-cmc-5n", "org-cmc-6s"]


# ================================================================ generator
class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.D = a.days
        self.date0 = datetime.date.fromisoformat(a.start)
        self.W0 = local_ts(self.date0, 0)
        self.WEND = local_ts(self.date0 + datetime.timedelta(days=self.D), 0)
        self._ds = {}
        self.orgs = {o[0]: {"id": o[0], "name": o[1], "partOf": o[2], "kind": o[3], "hosp": o[4], "ws": o[5]}
                     for o in ORGS}
        self.persons, self.hhs, self.addrs = [], [], []
        self.staff, self.pats, self.encs, self.cts = [], [], [], []
        self.tasks = []
        self.forb_org, self.forb_staff = {}, {}
        self.incidents = []
        self.used_ids = set()
        self.buildings, self.streets, self.routes = {}, {}, {}

    # ------------------------------------------------------------ helpers
    def day_date(self, d):
        return self.date0 + datetime.timedelta(days=d)

    def ds(self, d):
        v = self._ds.get(d)
        if v is None:
            v = self._ds[d] = local_ts(self.day_date(d), 0)
        return v

    def at(self, d, hours):
        return local_ts(self.day_date(d), 0, int(round(hours * 60)))

    def day_of(self, ts):
        d = (ts - self.W0) // DAY
        while self.ds(d) > ts:
            d -= 1
        while self.ds(d + 1) <= ts:
            d += 1
        return d

    def weekday(self, d):
        return self.day_date(d).weekday()

    def newid(self, prefix, bits=40):
        while True:
            v = "%s%0*x" % (prefix, bits // 4, self.rng.getrandbits(bits))
            if v not in self.used_ids:
                self.used_ids.add(v)
                return v

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def wpick(self, pairs):
        r = self.rng.random() * sum(w for _, w in pairs)
        for v, w in pairs:
            r -= w
            if r < 0:
                return v
        return pairs[-1][0]

    # ------------------------------------------------------------ addresses
    def new_address(self, area, kind=None, city=None):
        r = self.rng
        if city is None:
            cand = [(c, w) for c, w in zip(CITIES, CITY_W) if c[2] == area]
            city = self.wpick(cand)
        cname, zipc, carea, clinic_a, clinic_c = city
        if kind is None:
            if carea == "crh":
                kind = self.wpick([("rr", 30), ("pobox", 20), ("house", 30), ("road", 20)])
            else:
                kind = self.wpick([("apt", 36), ("house", 64)])
        a = {"kind": kind, "city": cname, "zip": zipc, "area": carea, "clinic_a": clinic_a,
             "clinic_c": clinic_c, "bkey": None, "skey": None, "rkey": None, "unit": None}
        if kind == "apt":
            blds = self.buildings.setdefault(zipc, [])
            nb = max(4, self.a.patients // 220)
            if len(blds) < nb and (not blds or r.random() < 0.5):
                blds.append({"num": str(r.randrange(100, 4000)), "dir": self.pick(DIRS),
                             "street": self.pick(STREETS), "stype": self.pick(STYPES), "used": [],
                             "floors": r.randint(2, 5), "key": "B%s-%d" % (zipc, len(blds))})
            b = self.pick(blds)
            while True:
                u = "%d%s" % (r.randint(1, b["floors"]), self.pick("ABCDEFGH")) if r.random() < 0.5 else \
                    "%d%02d" % (r.randint(1, b["floors"]), r.randint(1, 24))
                if u not in b["used"]:
                    b["used"].append(u)
                    break
            a.update(num=b["num"], dir=b["dir"], street=b["street"], stype=b["stype"], unit=u, bkey=b["key"],
                     skey="S%s-%s-%s-%s" % (zipc, b["dir"][0], b["street"], b["stype"][0]))
        elif kind == "house":
            sts = self.streets.setdefault(zipc, [])
            ns = max(6, self.a.patients // 90)
            if len(sts) < ns and (not sts or r.random() < 0.4):
                sts.append({"base": r.randrange(1, 60) * 100, "dir": self.pick(DIRS), "street": self.pick(STREETS),
                            "stype": self.pick(STYPES), "used": []})
            st = self.pick(sts)
            while True:
                n = st["base"] + r.randrange(0, 80)
                if n not in st["used"]:
                    st["used"].append(n)
                    break
            a.update(num=str(n), dir=st["dir"], street=st["street"], stype=st["stype"],
                     skey="S%s-%s-%s-%s" % (zipc, st["dir"][0], st["street"], st["stype"][0]))
        elif kind == "rr":
            rt = r.randint(1, 4)
            a.update(route=rt, box=r.randint(1, 320), rkey="R%s-%d" % (zipc, rt))
        elif kind == "pobox":
            a.update(box=r.randint(10, 2400))
        elif kind == "road":
            road = self.pick(RURAL_ROADS)
            a.update(num=str(r.randint(100, 48000)), road=road, skey="S%s-%s" % (zipc, road))
        self.addrs.append(a)
        return len(self.addrs) - 1

    def neighbour_address(self, ai, how):
        """A different dwelling in the same building / street / rural route."""
        src = self.addrs[ai]
        r = self.rng
        a = dict(src)
        if how == "building":
            b = [x for x in self.buildings[src["zip"]] if x["key"] == src["bkey"]][0]
            while True:
                u = "%d%02d" % (r.randint(1, b["floors"]), r.randint(1, 24))
                if u not in b["used"]:
                    b["used"].append(u)
                    break
            a["unit"] = u
        elif how == "street":
            n = int(src["num"]) + r.choice([-1, 1]) * r.randint(3, 40)
            a["num"] = str(max(1, n))
        elif how == "route":
            a["box"] = src["box"] + r.choice([-1, 1]) * r.randint(2, 60)
            if a["box"] < 1:
                a["box"] += 80
        self.addrs.append(a)
        return len(self.addrs) - 1

    def render_addr(self, ai, style=None):
        a = self.addrs[ai]
        r = self.rng
        if style is None:
            style = self.wpick([("std", 70), ("joined", 12), ("hash", 8), ("upper", 6), ("long", 4)])
        k = a["kind"]
        if k in ("apt", "house"):
            d = a["dir"][1] if style == "long" else a["dir"][0]
            st = a["stype"][1] if style == "long" else a["stype"][0]
            street = " ".join(x for x in [a["num"], d, a["street"], st] if x)
            if k == "apt":
                unit = {"std": "Apt %s", "joined": "Apt %s", "hash": "#%s", "upper": "APT %s",
                        "long": "Unit %s"}[style] % a["unit"]
                lines = [street, unit] if style in ("std", "long") else [street + " " + unit]
            else:
                lines = [street]
        elif k == "rr":
            lines = [{"std": "RR %d Box %d", "joined": "Rural Route %d, Box %d", "hash": "RR %d Box %d",
                      "upper": "RR %d BOX %d", "long": "Rural Route %d Box %d"}[style] % (a["route"], a["box"])]
        elif k == "pobox":
            lines = [("P.O. Box %d" if style in ("joined", "long") else "PO Box %d") % a["box"]]
        else:
            lines = ["%s %s" % (a["num"], a["road"])]
        city = a["city"]
        if style == "upper":
            lines = [x.upper() for x in lines]
            city = city.upper()
        pc = a["zip"] if r.random() < 0.85 else "%s-%04d" % (a["zip"], r.randrange(1, 9999))
        return {"use": "home", "line": lines, "city": city, "state": "WA", "postalCode": pc, "country": "US"}

    # ------------------------------------------------------------ persons
    def new_person(self, eth, gender, age_lo, age_hi, family=None, given=None, ai=None, hh=None):
        r = self.rng
        if family is None:
            fam = self.wpick(SURN[eth])
            family = [fam]
            if eth == "hisp" and r.random() < 0.55:
                second = self.wpick(SURN["hisp"])
                if second != fam:
                    family = [fam, second]
        if gender == "female":
            family = [GENDERED.get(x, x) for x in family]
        else:
            family = [MASC.get(x, x) for x in family]
        if given is None:
            g = self.pick(GIVEN[(eth, gender)])
            given = g.split(" ") if " " in g else [g]
            if eth in ("anglo", "nat") and r.random() < 0.35:
                given = given + [self.pick(MIDDLE)]
            elif eth == "viet" and r.random() < 0.5:
                given = given + ["Văn" if gender == "male" else "Thị"]
            elif eth == "fil" and r.random() < 0.5:
                given = given + [self.wpick(SURN["fil"])]
        age_lo, age_hi = max(0, min(age_lo, age_hi)), max(0, max(age_lo, age_hi))
        days = r.randint(int(age_lo * 365.25), int((age_hi + 1) * 365.25) - 1)
        dob = self.date0 - datetime.timedelta(days=days)
        p = {"i": len(self.persons), "given": given, "family": family, "gender": gender, "dob": dob,
             "eth": eth, "addr": ai, "hh": hh, "rel": [], "staff": None, "pat": None, "maiden": None}
        self.persons.append(p)
        return p

    def relate(self, a, b, ab, ba):
        a["rel"].append((ab, b["i"]))
        b["rel"].append((ba, a["i"]))

    def spouse_family(self, husband, wife_eth, kind):
        """Surname of a female partner: took the partner's name, kept her own, or hyphenated."""
        r = self.rng
        own = None
        if kind == "married":
            if husband["eth"] in ("anglo", "nat", "fil", "rus") and r.random() < 0.75:
                return [GENDERED.get(x, x) for x in husband["family"]], own
            if husband["eth"] == "anglo" and r.random() < 0.2:
                return ["%s-%s" % (self.wpick(SURN[wife_eth]), husband["family"][0])], own
        return None, own

    def new_household(self, area, kind=None, eth=None, head=None, ai=None, city=None):
        r = self.rng
        if eth is None:
            eth = self.wpick(ETH_MIX if area == "cmc" else ETH_MIX_RURAL)
        if kind is None:
            kind = self.wpick([("single", 28), ("couple", 22), ("family", 30), ("single_parent", 8),
                               ("blended", 5), ("multigen", 4), ("roommates", 3)])
        if ai is None:
            ai = self.new_address(area, "apt" if kind == "roommates" and area == "cmc" else None, city=city)
        hh = {"i": len(self.hhs), "addr": ai, "members": [], "kind": kind, "area": self.addrs[ai]["area"]}
        self.hhs.append(hh)

        def add(p):
            p["addr"], p["hh"] = ai, hh["i"]
            hh["members"].append(p["i"])
            return p
        if head is None:
            g = "female" if r.random() < 0.52 else "male"
            lo, hi = {"single": (18, 92), "couple": (22, 88), "family": (25, 55), "single_parent": (22, 50),
                      "blended": (26, 55), "multigen": (30, 60), "roommates": (19, 40)}[kind]
            head = self.new_person(eth, g, lo, hi)
        add(head)
        age = (self.date0 - head["dob"]).days / 365.25
        partner = None
        if kind in ("couple", "family", "blended", "multigen"):
            peth = eth if r.random() < 0.88 else self.wpick(ETH_MIX)
            pg = "female" if head["gender"] == "male" else "male"
            if r.random() < 0.06:
                pg = head["gender"]
            married = "married" if r.random() < 0.72 else "partner"
            pa = max(18, age + r.randint(-6, 6))
            fam = None
            if married == "married":
                if pg == "female" and head["gender"] == "male":
                    fam, _ = self.spouse_family(head, peth, "married")
                elif pg == "male" and head["gender"] == "female" and r.random() < 0.7 and \
                        head["eth"] in ("anglo", "nat", "fil", "rus"):
                    # head took the husband's name: give the husband's surname to the head afterwards
                    pass
            partner = self.new_person(peth, pg, pa, pa, family=fam)
            if married == "married" and pg == "male" and head["gender"] == "female" and \
                    head["eth"] in ("anglo", "nat", "fil", "rus") and r.random() < 0.7:
                head["maiden"] = head["family"]
                head["family"] = [GENDERED.get(x, x) for x in partner["family"]]
            elif fam is not None:
                partner["maiden"] = [self.wpick(SURN[peth])]
            add(partner)
            self.relate(head, partner, "spouse" if married == "married" else "partner",
                        "spouse" if married == "married" else "partner")
        if kind in ("family", "single_parent", "blended"):
            father = head if head["gender"] == "male" else (partner if partner and partner["gender"] == "male" else None)
            mother = head if head["gender"] == "female" else (partner if partner and partner["gender"] == "female" else None)
            for _ in range(r.randint(1, 3) if kind != "blended" else r.randint(1, 2)):
                cg = "female" if r.random() < 0.49 else "male"
                ca = r.randint(0, min(20, max(0, int(age) - 18)))
                if eth == "som" and father is not None:
                    fam = [father["given"][0]]
                elif eth == "hisp" and father is not None and mother is not None:
                    fam = [strip_accents(father["family"][0]) if r.random() < 0.1 else father["family"][0],
                           (mother["maiden"] or mother["family"])[0]]
                elif father is not None:
                    fam = [x.replace("ova", "ov") if x in GENDERED.values() else x for x in father["family"]]
                else:
                    fam = list(head["family"])
                c = add(self.new_person(eth, cg, ca, ca, family=fam))
                self.relate(head, c, "child", "parent")
                if partner is not None:
                    self.relate(partner, c, "child", "parent")
            if kind == "blended":
                # stepchild: child of the partner from an earlier relationship, with the other parent's surname
                cg = "female" if r.random() < 0.5 else "male"
                ca = r.randint(3, 17)
                c = add(self.new_person(eth, cg, ca, ca, family=[self.wpick(SURN[eth])]))
                bio = partner if partner is not None else head
                step = head if bio is partner else partner
                self.relate(bio, c, "child", "parent")
                if step is not None:
                    self.relate(step, c, "stepchild", "stepparent")
        if kind == "multigen":
            ga = min(96, age + r.randint(22, 32))
            gg = "female" if r.random() < 0.65 else "male"
            src = head if r.random() < 0.6 else partner
            fam = (src.get("maiden") or src["family"]) if src else None
            gp = add(self.new_person(src["eth"] if src else eth, gg, ga, ga, family=list(fam) if fam else None))
            self.relate(src or head, gp, "parent", "child")
        if kind == "roommates":
            for _ in range(r.randint(1, 2)):
                m = add(self.new_person(self.wpick(ETH_MIX), "female" if r.random() < 0.5 else "male", 19, 40))
                self.relate(head, m, "roommate", "roommate")
        return hh

    def relative_household(self, person, rel):
        """Parent or sibling of `person`, same surname, at another address (sometimes another area)."""
        r = self.rng
        area = person_area = self.addrs[person["addr"]]["area"] if person["addr"] is not None else "cmc"
        if r.random() < 0.25:
            area = "crh" if person_area == "cmc" else "cmc"
        if area not in ("cmc", "crh"):
            area = "cmc"
        fam = list(person["maiden"] or person["family"])
        fam = [x.replace("ova", "ov") if x in GENDERED.values() else x for x in fam]
        age = (self.date0 - person["dob"]).days / 365.25
        if rel == "parent":
            a = min(95, age + r.randint(22, 35))
            head = self.new_person(person["eth"], "male" if r.random() < 0.5 else "female", a, a, family=fam)
            if person["eth"] == "som":
                head["family"] = [self.wpick(SURN["som"])]
            hh = self.new_household(area, "couple" if r.random() < 0.55 else "single", eth=person["eth"],
                                    head=head)
            self.relate(head, person, "child", "parent")
            for m in hh["members"]:
                mp = self.persons[m]
                if mp is not head and any(x[0] == "spouse" for x in mp["rel"]):
                    self.relate(mp, person, "child", "parent")
        else:
            a = max(18, age + r.randint(-9, 9))
            g = "male" if r.random() < 0.55 else "female"
            head = self.new_person(person["eth"], g, a, a, family=list(fam))
            hh = self.new_household(area, "single" if r.random() < 0.5 else "couple", eth=person["eth"],
                                    head=head)
            self.relate(head, person, "sibling", "sibling")
        return hh

    # ------------------------------------------------------------ staff
    def build_staff(self):
        r = self.rng
        R = base_roster()
        total = sum(e[1] for e in R)
        N = self.a.staff
        raw = [e[1] * N / total for e in R]
        cnt = [max(1, int(x)) for x in raw]
        order = sorted(range(len(R)), key=lambda i: (-(raw[i] - int(raw[i])), i))
        k = 0
        while sum(cnt) < N:
            cnt[order[k % len(order)]] += 1
            k += 1
        k = 0
        while sum(cnt) > N and k < 10 * len(order):
            i = order[-1 - (k % len(order))]
            if cnt[i] > 1:
                cnt[i] -= 1
            k += 1
        logins = set()
        singles = []
        res_i = 0
        trav_i = 0
        hist_start = self.W0 - 500 * DAY
        for (group, _, role, orgs, sched, kw), n in zip(R, cnt):
            for j in range(n):
                s = {"i": len(self.staff), "group": group, "sched": sched, "kw": kw, "spec": kw.get("spec"),
                     "roles": [], "sh": {}, "remote": r.random() < kw.get("remote_p", 0.0),
                     "start_day": -WARM - 1}
                if group == "resident":
                    a_org = RESIDENT_SERVICES[res_i % len(RESIDENT_SERVICES)]
                    b_org = RESIDENT_SERVICES[(res_i + 2 + res_i // 6) % len(RESIDENT_SERVICES)]
                    if b_org == a_org:
                        b_org = RESIDENT_SERVICES[(res_i + 1) % len(RESIDENT_SERVICES)]
                    sw = max(3, min(self.D - 3, self.D // 2 + r.randint(-3, 3)))
                    swts = self.ds(sw)
                    mode = "change" if res_i % 2 == 0 else "second"
                    s["roles"].append({"code": role, "org": a_org, "start": self.W0 - 40 * DAY,
                                       "end": swts - 1 if mode == "change" else None})
                    s["roles"].append({"code": role, "org": b_org, "start": swts, "end": None})
                    s["rot"] = (sw, a_org, b_org, mode)
                    # earlier rotation (explains older encounters)
                    s["roles"].insert(0, {"code": role, "org": RESIDENT_SERVICES[(res_i + 3) % len(RESIDENT_SERVICES)],
                                          "start": self.W0 - 120 * DAY, "end": self.W0 - 40 * DAY - 1})
                    res_i += 1
                elif kw.get("travel"):
                    unit = TRAVEL_UNITS[trav_i % len(TRAVEL_UNITS)]
                    sd = max(2, min(self.D - 6, r.randint(self.D // 5, (2 * self.D) // 3)))
                    s["start_day"] = sd
                    s["roles"].append({"code": role, "org": unit, "start": self.ds(sd), "end": None})
                    trav_i += 1
                else:
                    hs = hist_start - r.randint(0, 2000) * DAY
                    for o in orgs:
                        s["roles"].append({"code": role, "org": o, "start": hs, "end": None})
                s["org"] = s["roles"][-1]["org"] if group == "resident" else s["roles"][0]["org"]
                # the person
                orgs_all = [x["org"] for x in s["roles"]]
                area = "crh" if any(o.startswith("org-crh") or o == "org-amb-rfm" for o in orgs_all) else "cmc"
                if kw.get("dual") and group in ("ed_md", "hosp", "surgeon"):
                    area = "cmc"
                eth = self.wpick(ETH_MIX if area == "cmc" else ETH_MIX_RURAL)
                g = "female" if r.random() < (0.8 if role in ("nurse", "medical-assistant", "registrar",
                                                                "scheduler", "coder", "billing-clerk") else 0.5) else "male"
                lo, hi = (27, 34) if role == "resident" else (23, 66)
                person = self.new_person(eth, g, lo, hi)
                person["staff"] = s["i"]
                s["person"] = person["i"]
                if group == "scribe" and r.random() < 0.35:
                    ai = self.new_address("far", "house", city=("Spokane", "99203", "far", None, None))
                    self.new_household("far", "single", head=person, ai=ai)
                elif singles and r.random() < 0.05:
                    # married / partnered co-workers share a household
                    hhi = singles.pop(r.randrange(len(singles)))
                    hh = self.hhs[hhi]
                    other = self.persons[hh["members"][0]]
                    person["addr"], person["hh"] = hh["addr"], hhi
                    hh["members"].append(person["i"])
                    self.relate(other, person, "spouse", "spouse")
                    if g == "female" and other["gender"] == "male" and r.random() < 0.6:
                        person["maiden"] = person["family"]
                        person["family"] = [GENDERED.get(x, x) for x in other["family"]]
                else:
                    kind = self.wpick([("single", 30), ("couple", 25), ("family", 33), ("blended", 7),
                                       ("multigen", 5)])
                    hh = self.new_household(area, kind, eth=eth, head=person)
                    if kind == "single" and area == "cmc":
                        singles.append(hh["i"])
                # login and identifiers
                base = re.sub(r"[^a-z]", "", strip_accents(person["given"][0][0] + person["family"][0]).lower())
                if r.random() < 0.15:
                    lg = "c%06d" % r.randrange(100000, 999999)
                else:
                    lg, k2 = base, 1
                    while lg in logins:
                        k2 += 1
                        lg = "%s%d" % (base, k2)
                while lg in logins:
                    lg = "c%06d" % r.randrange(100000, 999999)
                logins.add(lg)
                s["login"] = lg
                while True:
                    s["empid"] = "E%06d" % r.randrange(100000, 999999)
                    s["npi"] = ("1%09d" % r.randrange(10 ** 9)) if role in PROVIDER_ROLES | {"pharmacist"} else None
                    if s["empid"] not in logins and s["npi"] not in logins:
                        break
                logins.add(s["empid"])
                if s["npi"]:
                    logins.add(s["npi"])
                s["id"] = self.newid("prac-", 32)
                fam = person["family"]
                hr = self.wpick([("canon", 85), ("hyphen", 8), ("first", 7)]) if len(fam) > 1 else "canon"
                s["fam_txt"] = {"canon": " ".join(fam), "hyphen": "-".join(fam), "first": fam[0]}[hr]
                self.staff.append(s)
        # pair MAs and scribes with providers
        prov_by_org = {}
        for s in self.staff:
            if s["group"] in ("pcp", "spec") and s["roles"][0]["code"] != "therapist":
                prov_by_org.setdefault(s["roles"][0]["org"], []).append(s["i"])
        for org, lst in prov_by_org.items():
            mas = [s["i"] for s in self.staff if s["group"] == "ma" and s["org"] == org]
            for k2, pi in enumerate(lst):
                self.staff[pi]["ma"] = mas[k2 % len(mas)] if mas else None
        scribes = [s["i"] for s in self.staff if s["group"] == "scribe"]
        docs = [s["i"] for s in self.staff if s["group"] in ("pcp", "spec") and
                self.staff[s["i"]]["roles"][0]["code"] == "physician"]
        r.shuffle(docs)
        for k2, sc in enumerate(scribes):
            self.staff[sc]["pairs"] = docs[k2 * 2: k2 * 2 + 2] or docs[:1]
            for d in self.staff[sc]["pairs"]:
                self.staff[d]["scribe"] = sc
        self.by_group = {}
        for s in self.staff:
            self.by_group.setdefault(s["group"], []).append(s["i"])
        self.login_of = {s["i"]: s["login"] for s in self.staff}

    # ------------------------------------------------------------ workstations
    def build_workstations(self):
        r = self.rng
        self.ws_pool = {}
        for o in self.orgs.values():
            p = o["ws"]
            if not p:
                continue
            if o["kind"] == "unit":
                pool = ["%s-WS%02d" % (p, i) for i in range(1, 7)] + ["%s-WOW%02d" % (p, i) for i in range(1, 5)]
            elif o["kind"] == "ed":
                pool = ["%s-WS%02d" % (p, i) for i in range(1, 13)] + ["%s-TRIAGE%d" % (p, i) for i in (1, 2)] + \
                       ["%s-REG%d" % (p, i) for i in (1, 2, 3)]
            elif o["kind"] == "clinic":
                pool = ["%s-EX%02d" % (p, i) for i in range(1, 9)] + ["%s-FD%02d" % (p, i) for i in (1, 2, 3)] + \
                       ["%s-MD%02d" % (p, i) for i in range(1, 7)]
            elif o["kind"] == "cc":
                pool = ["%s-%03d" % (p, i) for i in range(1, 61)]
            elif o["kind"] == "ss":
                pool = ["SSB-2F-D%03d" % i for i in range(101, 181)]
            elif o["kind"] == "hh":
                pool = ["HHLT-%04d" % r.randrange(1000, 9999) for _ in range(30)]
            else:
                pool = ["%s-WS%02d" % (p, i) for i in range(1, 9)]
            self.ws_pool[o["id"]] = pool
        for s in self.staff:
            org = s["org"]
            pool = self.ws_pool.get(org, [])
            if s["group"] in ("fd", "ed_reg", "crh_reg"):
                pool = [w for w in pool if "FD" in w or "REG" in w] or pool
            elif s["group"] in ("pcp", "spec") and pool:
                pool = [w for w in pool if "-MD" in w] or pool
            s["ws"] = r.sample(pool, min(len(pool), r.randint(1, 3))) if pool else []
            if s["group"] == "float_rn":
                s["ws"] = []

    def vpn_ip(self):
        r = self.rng
        return "10.250.%d.%d" % (r.randint(8, 63), r.randint(2, 254))

    # ------------------------------------------------------------ schedules
    def build_schedules(self):
        r = self.rng
        D0, D1 = -WARM, self.D
        for s in self.staff:
            kind = s["sched"]
            pref = self.wpick([("day", 60), ("night", 40)])
            s["shift_pref"] = pref
            perdiem = kind == "rn12" and s["group"] in ("unit_rn", "ed_rn", "crh_rn") and r.random() < 0.1
            s["perdiem"] = perdiem
            ptype = self.pick(["day", "day", "swing", "night"])
            off = r.sample(range(7), 2)
            start_h = r.choice([7.0, 7.5, 8.0, 8.0, 8.5])
            clinic_off = r.randrange(5) if r.random() < 0.5 else None
            phase = (s["i"] % 2) * 7 + r.randint(0, 1)
            eve_p = 0.25 if s["roles"][0]["code"] == "physician" and kind == "clinic" else 0.0
            cc_type = self.pick(["early", "early", "late"])
            week_days = {}
            for d in range(D0, D1):
                if d < s["start_day"]:
                    continue
                wd = self.weekday(d)
                sh = []
                absent = r.random() < 0.03
                if kind == "office":
                    if wd < 5 and not absent:
                        a = start_h + r.uniform(-0.25, 0.25)
                        sh.append((a, a + 8.5 + r.uniform(-0.3, 0.6), "office"))
                elif kind == "clinic":
                    if wd < 5 and wd != clinic_off and not absent:
                        sh.append((7.25 + r.uniform(0, 0.5), 17.25 + r.uniform(0, 1.0), "clinic"))
                        if r.random() < eve_p:
                            sh.append((20.0 + r.uniform(0, 1), 21.5 + r.uniform(0, 1), "remote"))
                elif kind == "clinic_staff":
                    if wd < 5 and not absent:
                        sh.append((7.25 + r.uniform(0, 0.75), 16.5 + r.uniform(0, 0.75), "clinic"))
                elif kind == "rn12":
                    wk = (d - D0) // 7
                    if wk not in week_days:
                        week_days[wk] = r.sample(range(7), 3)
                    on = (r.random() < 0.16) if perdiem else ((d - D0) % 7 in week_days[wk])
                    if on and not absent:
                        sh.append((6.75, 19.25, "day") if pref == "day" else (18.75, 31.25, "night"))
                elif kind == "ed_md":
                    if r.random() < 0.48 and not absent:
                        sh.append({"day": (7, 17, "day"), "swing": (14, 24, "day"), "night": (22, 32, "night")}[ptype])
                elif kind == "reg8":
                    if wd not in off and not absent:
                        sh.append({"day": (7, 15.5, "day"), "swing": (15, 23.5, "day"),
                                   "night": (23, 31.5, "night")}[ptype])
                elif kind == "anc":
                    if wd not in off and not absent:
                        sh.append({"day": (7, 15.5, "day"), "swing": (15, 23.5, "day"),
                                   "night": (23, 31.5, "night")}[ptype])
                elif kind == "block_day":
                    if ((d - D0 + phase) // 7) % 2 == 0:
                        sh.append((7, 19, "day"))
                elif kind == "block_night":
                    if ((d - D0 + phase + (s["i"] % 3)) // 7) % 2 == 0:
                        sh.append((19, 31, "night"))
                elif kind == "resident":
                    if wd != s["i"] % 7 and not absent:
                        sh.append((6, 18 + r.uniform(0, 1.5), "day"))
                elif kind == "periop":
                    if wd < 5 and not absent:
                        sh.append((6, 16 + r.uniform(0, 1), "day"))
                elif kind == "surgeon":
                    if wd < 5 and not absent:
                        sh.append((6.5, 17 + r.uniform(0, 1), "crh" if wd == (s["i"] % 5) else "day"))
                elif kind == "crh_md":
                    if (d + s["i"]) % 2 == 0:
                        sh.append((7, 31, "call"))
                elif kind == "cc":
                    if wd < 5 and not absent:
                        sh.append((7, 15.5, "cc") if cc_type == "early" else (9.5, 18, "cc"))
                    elif wd == 5 and r.random() < 0.3:
                        sh.append((8, 12.5, "cc"))
                elif kind == "hh":
                    if wd < 5 and not absent:
                        sh.append((8, 16.5 + r.uniform(0, 0.5), "hh"))
                        if r.random() < 0.4:
                            sh.append((19 + r.uniform(0, 1), 20.5 + r.uniform(0, 1), "remote"))
                if sh:
                    s["sh"][d] = [(self.at(d, a), self.at(d, b), t) for a, b, t in sh]
        # scribes follow their physicians; specialists take weekend call in turn
        for s in self.staff:
            if s["group"] == "scribe":
                for d in range(D0, D1):
                    out = []
                    for doc in s["pairs"]:
                        for a, b, t in self.staff[doc]["sh"].get(d, []):
                            if t == "clinic" and not out:
                                out.append((a - 15 * MIN, b, "remote"))
                    if out and r.random() > 0.03:
                        s["sh"][d] = out
        for spec in ["ortho", "card", "onc", "wh", "pedn", "peds", "bh"]:
            docs = [s["i"] for s in self.staff if s["group"] == "spec" and s["spec"] == spec]
            if not docs:
                continue
            for d in range(D0, D1):
                if self.weekday(d) >= 5:
                    wk = (d - D0) // 7
                    doc = docs[wk % len(docs)]
                    self.staff[doc]["sh"].setdefault(d, []).append((self.at(d, 8), self.at(d, 21), "oncall"))
        # travel nurses and residents: nothing before their role starts
        for s in self.staff:
            s["work_days"] = sorted(s["sh"])

    def shifts(self, si, d):
        return self.staff[si]["sh"].get(d, [])

    def on_shift(self, si, ts, tags=None):
        d = self.day_of(ts)
        for dd in (d, d - 1):
            for a, b, t in self.staff[si]["sh"].get(dd, []):
                if a <= ts < b and (tags is None or t in tags):
                    return (a, b, t)
        return None

    def roles_at(self, si, ts):
        return [x for x in self.staff[si]["roles"] if x["start"] <= ts and (x["end"] is None or ts <= x["end"])]

    def orgs_at(self, si, ts):
        return [x["org"] for x in self.roles_at(si, ts)]

    def all_orgs(self, si):
        return [x["org"] for x in self.staff[si]["roles"]]

    # ------------------------------------------------------------ population
    def make_patient(self, person, emp=False):
        if person["pat"] is not None:
            return person["pat"]
        a = self.addrs[person["addr"]]
        if a["area"] not in ("cmc", "crh"):
            return None
        age = (self.date0 - person["dob"]).days / 365.25
        p = {"person": person["i"], "labels": [], "dec": None, "age": age, "area": a["area"],
             "home": a["clinic_c"] if age < 18 else a["clinic_a"], "flags": {}, "forb_org": [],
             "forb_staff": [], "reserved": None, "name_style": None, "addr_style": None, "drop": False}
        if emp:
            p["labels"].append("EMP")
        person["pat"] = p
        self.pats.append(p)
        return p

    def build_population(self):
        r = self.rng
        N = self.a.patients
        # staff as patients, their households and relatives
        for s in self.staff:
            person = self.persons[s["person"]]
            area = self.addrs[person["addr"]]["area"]
            if area in ("cmc", "crh") and r.random() < (0.42 if area == "cmc" else 0.75):
                self.make_patient(person, emp=r.random() < 0.6)
            hh = self.hhs[person["hh"]]
            for m in hh["members"]:
                mp = self.persons[m]
                if mp["staff"] is None and r.random() < 0.65:
                    self.make_patient(mp)
            if area in ("cmc", "crh"):
                for rel, p_rel in (("parent", 0.4), ("sibling", 0.25)):
                    if r.random() < p_rel:
                        rh = self.relative_household(person, rel)
                        for m in rh["members"]:
                            if r.random() < 0.85:
                                self.make_patient(self.persons[m])
        # VIPs (CEL): sports star, state politician, plus a few more public figures
        nvip = max(2, self.a.incidents_per_kind) + 1
        vip_specs = [("athlete", "anglo", "male", 26, "Tyrell", "Jamison", "point guard, Riverton Rapids"),
                     ("politician", "anglo", "female", 54, "Catherine", "Lindqvist", "state senator, 27th district"),
                     ("anchor", "hisp", "female", 41, "Daniela", "Ochoa", "KRVT evening news anchor"),
                     ("musician", "nat", "male", 35, "Jonah", "Whitefoot", "touring musician"),
                     ("coach", "rus", "male", 48, "Andrei", "Volkov", "university football coach"),
                     ("mayor", "viet", "female", 50, "Lan", "Trần", "mayor of Riverton")]
        self.vips = []
        for k in range(nvip):
            tag, eth, g, age, gv, fm, desc = vip_specs[k % len(vip_specs)]
            if k >= len(vip_specs):
                gv, fm = self.pick(GIVEN[(eth, g)]), self.wpick(SURN[eth])
            person = self.new_person(eth, g, age, age, family=[fm], given=[gv])
            self.new_household("cmc", "couple" if k % 2 == 0 else "single", eth=eth, head=person)
            p = self.make_patient(person)
            p["labels"].append("CEL")
            p["vip"] = (tag, desc)
            p["reserved"] = "vip"
            self.vips.append(p)
            for m in self.hhs[person["hh"]]["members"]:
                if m != person["i"]:
                    self.make_patient(self.persons[m])
        # general population
        while len(self.pats) < N + 40:
            area = "cmc" if r.random() < 0.82 else "crh"
            hh = self.new_household(area)
            for m in hh["members"]:
                if r.random() < 0.88:
                    self.make_patient(self.persons[m])
        # clinical flags and sensitivity labels
        for p in self.pats:
            person = self.persons[p["person"]]
            age, g, f = p["age"], person["gender"], p["flags"]
            if p["reserved"] == "vip":
                continue
            if age >= 45 and r.random() < 0.14:
                f["card"] = 1
            if age >= 35 and r.random() < 0.05:
                f["onc"] = 1
            if age >= 12 and r.random() < 0.09:
                f["ortho"] = 1
            if g == "female" and 16 <= age <= 70 and r.random() < 0.3:
                f["wh"] = 1
            if g == "female" and 19 <= age <= 41 and r.random() < 0.06:
                f["preg"] = 1
            if age >= 12 and r.random() < 0.08:
                f["bh"] = 1
                p["labels"].append("PSY")
                if r.random() < 0.4:
                    p["labels"].append("R")
            if age >= 16 and r.random() < 0.03:
                f["sud"] = 1
                p["labels"].append("ETH")
                if "R" not in p["labels"] and r.random() < 0.7:
                    p["labels"].append("R")
            if age >= 18 and r.random() < 0.007:
                p["labels"].append("HIV")
                if "R" not in p["labels"]:
                    p["labels"].append("R" if r.random() < 0.5 else "V")
            if g == "female" and age >= 16 and r.random() < 0.003:
                p["labels"] += ["SDV", "V"]
            if age >= 40 and r.random() < 0.2:
                f["registry"] = self.pick(["diabetes", "diabetes", "colorectal-screening", "hypertension"])
            if age >= 18 and "EMP" not in p["labels"] and person["staff"] is None and r.random() < 0.01:
                p["labels"].append("EMP")      # employee without an EHR login (facilities, dietary ...)
            if age >= 70 and r.random() < 0.012:
                p["dec"] = self.W0 - r.randint(20, 480) * DAY - r.randint(0, DAY)
        # pools of staff-persons and relatives used by the incident planner
        self.person_pat = {}

    def pat_name(self, p, style=None):
        person = self.persons[p["person"]]
        r = self.rng
        fam = person["family"]
        style = style or p["name_style"]
        if style is None:
            if len(fam) > 1:
                style = self.wpick([("canon", 45), ("noacc", 25), ("hyphen", 15), ("first", 15)])
            elif person["eth"] == "viet":
                style = "noacc" if r.random() < 0.75 else "canon"
            else:
                style = self.wpick([("canon", 88), ("noacc", 6), ("upper", 6)])
        given = list(person["given"])
        if style == "nick" and given[0] in NICK:
            given[0] = NICK[given[0]]
        if style == "maiden" and person["maiden"]:
            fam = person["maiden"]
        txt = " ".join(fam)
        if style == "hyphen":
            txt = "-".join(fam)
        elif style == "first":
            txt = fam[0]
        if style in ("noacc", "hyphen", "first", "upper", "nick", "spacing"):
            if r.random() < 0.7 or style == "noacc":
                txt = strip_accents(txt)
                given = [strip_accents(x) for x in given]
        if style == "upper":
            txt = txt.upper()
            given = [x.upper() for x in given]
        if style == "spacing":
            txt = txt.replace(" ", "") if " " in txt else txt.replace("'", "")
            txt = txt.lower().title() if txt.isupper() else txt
        if len(given) > 1 and len(given[1]) == 1 and r.random() < 0.3:
            given = given[:1]
        return {"use": "official", "family": txt, "given": given}

    # ------------------------------------------------------------ incident planning
    def norm(self, s):
        return re.sub(r"[^a-z]", "", strip_accents(s).lower())

    def related(self, pa, pb):
        if pa["hh"] == pb["hh"]:
            return True
        for _, o in pa["rel"]:
            if o == pb["i"]:
                return True
        a, b = self.addrs[pa["addr"]], self.addrs[pb["addr"]]
        for k in ("bkey", "skey", "rkey"):
            if a[k] and a[k] == b[k]:
                return True
        return False

    def nonbroad(self, si):
        return all(x["code"] not in BROAD for x in self.staff[si]["roles"])

    def main_shifts(self, si, days):
        out = []
        for d in days:
            for a, b, t in self.staff[si]["sh"].get(d, []):
                if t not in ("remote", "oncall") and b - a >= 4 * HOUR:
                    out.append((d, a, b, t))
        return out

    def pick_insider(self, pred, days=None, window=None):
        """window: (lo, hi) timestamps the incident must fall in."""
        days = days or list(range(self.D - 5, self.D))
        cands = []
        for s in self.staff:
            si = s["i"]
            if si in self.used_insiders or s["start_day"] >= 0 or not pred(s):
                continue
            if s["group"] in ("sw", "hh_coord", "crh_reg", "anes") or (s["group"] == "crh_rn" and s["org"] == "org-crh-ed"):
                continue        # low-volume jobs: an incident would be almost the whole case
            sh = self.main_shifts(si, days)
            if window:
                sh = [x for x in sh if x[1] < window[1] - HOUR and x[2] > window[0] + HOUR]
            if sh:
                cands.append((si, sh))
        if not cands:
            return None
        si, sh = self.pick(cands)
        d, a, b, t = self.pick(sh)
        lo, hi = a + 40 * MIN, min(b, self.WEND) - 40 * MIN
        if window:
            lo, hi = max(lo, window[0] + 45 * MIN), min(hi, window[1] - 20 * MIN)
        if hi <= lo:
            hi = lo + 10 * MIN
        ts = self.rng.randint(lo, hi)
        self.used_insiders.append(si)
        self._pick_window = window
        return si, self.day_of(ts), ts

    def forbid(self, p, si):
        for o in self.all_orgs(si):
            if o not in p["forb_org"]:
                p["forb_org"].append(o)
        if si not in p["forb_staff"]:
            p["forb_staff"].append(si)
        # the patient's home clinic must not give the insider a departmental link
        if p["home"] in p["forb_org"]:
            alt = [c for c in PC_CLINICS + ["org-amb-rfm"] if c not in p["forb_org"]]
            if p["age"] < 18:
                alt = [c for c in ["org-amb-pedn", "org-amb-peds", "org-amb-rfm"] if c not in p["forb_org"]] or alt
            p["home"] = self.pick(alt)
        for fl, org in (("card", "org-amb-card"), ("onc", "org-amb-onc"), ("ortho", "org-amb-ortho"),
                        ("wh", "org-amb-wh"), ("bh", "org-amb-bh")):
            if org in p["forb_org"]:
                p["flags"].pop(fl, None)
        if "org-cmc-ld" in p["forb_org"]:
            p["flags"].pop("preg", None)

    def new_incident(self, kind, variant, si, ts, targets, expected, why, **extra):
        inc = {"id": "INC-%s-%02d" % (kind, sum(1 for x in self.incidents if x["kind"] == kind) + 1),
               "kind": kind, "variant": variant, "si": si, "ts": ts, "targets": targets,
               "expected": expected, "why": why}
        inc.update(extra)
        inc["window"] = self._pick_window
        self._pick_window = None
        self.incidents.append(inc)
        for p in targets:
            if kind != "COMPROMISED":
                self.forbid(p, si)
            p.setdefault("inc", []).append(inc["id"])
        return inc

    def staff_desc(self, si):
        s = self.staff[si]
        return "%s (%s)" % (ROLE_DISPLAY[s["roles"][-1]["code"]].lower(), self.orgs[s["org"]]["name"])

    def plan_incidents(self):
        r = self.rng
        n = self.a.incidents_per_kind
        self.used_insiders = []
        self.scripted = []
        self._pick_window = None
        if n <= 0:
            return
        V = {
            "SELF": ["emp_label_exact", "no_emp_spelling", "nickname_or_maiden", "own_lab_results"],
            "FAMILY": ["partner_same_address_other_surname", "parent_same_surname_other_address",
                       "stepchild_same_address", "sibling_same_surname_other_address", "spouse_same_surname"],
            "NEIGHBOR": ["same_apartment_building", "same_rural_route", "same_street"],
            "COWORKER": ["same_department_emp_label", "other_site_no_emp", "colleague_in_ed"],
            "VIP": ["athlete_inpatient", "politician_ed_admit", "public_figure_clinic"],
            "DECEASED": ["ed_death_hours", "icu_death_days", "home_hospice_week", "oncology_death"],
            "SNOOPING": ["name_search_browse", "single_look", "few_patients"],
            "BREAK_GLASS": ["clinic_staff_bh_record", "nurse_other_unit_sud", "front_desk_hiv_or_sdv_record"],
            "COMPROMISED": ["external_ip_day_worker", "night_worker_external_ip", "unfamiliar_workstation_night",
                            "remote_worker_foreign_ip"],
        }
        self.variants = V
        for kind in ["VIP", "DECEASED", "COMPROMISED", "BREAK_GLASS", "NEIGHBOR", "FAMILY", "SELF",
                     "COWORKER", "SNOOPING"]:
            vs = V[kind]
            off = r.randrange(len(vs))
            for k in range(n):
                variant = vs[(off + k) % len(vs)]
                ok = getattr(self, "plan_" + kind.lower())(variant, k)
                if not ok:
                    for alt in vs:
                        if alt != variant and getattr(self, "plan_" + kind.lower())(alt, k):
                            break
                    else:
                        sys.stderr.write("warning: could not plan a %s incident\n" % kind)

    # -- helpers for target choice
    def general_patients(self, pred):
        return [p for p in self.pats if p["reserved"] is None and not p["drop"] and p["dec"] is None and
                not p.get("inc") and self.persons[p["person"]]["staff"] is None and pred(p)]

    def plan_self(self, variant, k):
        r = self.rng
        def pred(s):
            person = self.persons[s["person"]]
            if self.addrs[person["addr"]]["area"] not in ("cmc", "crh"):
                return False
            if not self.nonbroad(s["i"]):
                return False
            if variant == "nickname_or_maiden":
                return bool(person["maiden"]) or person["given"][0] in NICK
            return True
        got = self.pick_insider(pred)
        if not got:
            return False
        si, d, ts = got
        person = self.persons[self.staff[si]["person"]]
        p = self.make_patient(person)
        if variant == "emp_label_exact":
            if "EMP" not in p["labels"]:
                p["labels"].append("EMP")
            p["name_style"], p["addr_style"] = "canon", "std"
            why = "opens own chart; EMP label present, name and address identical to the staff record"
        elif variant == "no_emp_spelling":
            p["labels"] = [x for x in p["labels"] if x != "EMP"]
            fam = person["family"]
            if len(fam) > 1:
                p["name_style"] = self.pick(["hyphen", "noacc"])
            elif strip_accents(fam[0]) != fam[0]:
                p["name_style"] = "noacc"
            elif " " in fam[0] or "'" in fam[0]:
                p["name_style"] = "spacing"
            else:
                p["name_style"] = "upper"
            p["addr_style"] = self.pick(["joined", "hash", "long", "upper"])
            why = "opens own chart; no EMP label, name spelled '%s' style and address formatted differently" % \
                  p["name_style"]
        elif variant == "nickname_or_maiden":
            p["name_style"] = "maiden" if person["maiden"] else "nick"
            if r.random() < 0.5:
                p["labels"] = [x for x in p["labels"] if x != "EMP"]
            why = "opens own chart registered under %s; matched by birth date and address" % (
                "maiden name" if person["maiden"] else "a nickname")
        else:
            if self.rng.random() < 0.5 and "EMP" not in p["labels"]:
                p["labels"].append("EMP")
            why = "reviews own laboratory results and notes in own chart"
        self.new_incident("SELF", variant, si, ts, [p], ["SELF"], why, tmpl="self_look")
        return True

    def plan_family(self, variant, k):
        r = self.rng
        tries = 0
        while tries < 60:
            tries += 1
            got = self.pick_insider(lambda s: self.nonbroad(s["i"]) and
                                    self.addrs[self.persons[s["person"]]["addr"]]["area"] in ("cmc", "crh") and
                                    self.persons[s["person"]]["eth"] != "som")
            if not got:
                return False
            si, d, ts = got
            me = self.persons[self.staff[si]["person"]]
            hh = self.hhs[me["hh"]]
            rel = None
            if variant in ("partner_same_address_other_surname", "spouse_same_surname"):
                sp = [self.persons[o] for t, o in me["rel"] if t in ("spouse", "partner")]
                sp = [x for x in sp if x["staff"] is None and x["hh"] == me["hh"]]
                if sp:
                    rel = sp[0]
                    same = self.norm(rel["family"][0]) == self.norm(me["family"][0])
                    if variant == "spouse_same_surname" and not same:
                        rel["maiden"] = rel["maiden"] or rel["family"]
                        rel["family"] = [GENDERED.get(x, x) if rel["gender"] == "female" else MASC.get(x, x)
                                         for x in me["family"]]
                    elif variant == "partner_same_address_other_surname" and same:
                        rel["family"] = rel["maiden"] or [self.wpick(SURN[rel["eth"]])]
                        if self.norm(rel["family"][0]) == self.norm(me["family"][0]):
                            rel["family"] = [self.wpick(SURN["anglo"])]
                elif len(hh["members"]) == 1:
                    g = "female" if me["gender"] == "male" else "male"
                    age = (self.date0 - me["dob"]).days / 365.25
                    fam = None if variant == "partner_same_address_other_surname" else list(me["family"])
                    rel = self.new_person(me["eth"] if r.random() < 0.8 else self.wpick(ETH_MIX), g,
                                          age + r.randint(-5, 5), age + r.randint(-5, 5) + 1, family=fam)
                    rel["addr"], rel["hh"] = me["addr"], me["hh"]
                    hh["members"].append(rel["i"])
                    self.relate(me, rel, "partner" if fam is None else "spouse", "partner" if fam is None else "spouse")
                    if fam is None and self.norm(rel["family"][0]) == self.norm(me["family"][0]):
                        rel["family"] = [self.wpick(SURN["anglo"])]
                if rel is not None:
                    label = "unmarried partner / spouse with a different surname at the same address" \
                        if variant == "partner_same_address_other_surname" else "spouse with the same surname and address"
            elif variant in ("parent_same_surname_other_address", "sibling_same_surname_other_address"):
                want = "parent" if variant.startswith("parent") else "sibling"
                if me["maiden"]:            # married name: the parents carry the maiden name
                    self.used_insiders.remove(si)
                    continue
                cands = [self.persons[o] for t, o in me["rel"] if t == want and self.persons[o]["hh"] != me["hh"] and
                         self.persons[o]["staff"] is None and
                         self.norm(self.persons[o]["family"][0]) == self.norm((me["maiden"] or me["family"])[0]) and
                         self.addrs[self.persons[o]["addr"]]["area"] in ("cmc", "crh")]
                if not cands:
                    age = (self.date0 - me["dob"]).days / 365.25
                    if want == "parent" and age > 62:
                        self.used_insiders.remove(si)
                        continue
                    self.relative_household(me, want)
                    cands = [self.persons[o] for t, o in me["rel"] if t == want and self.persons[o]["hh"] != me["hh"]]
                    cands = cands[-1:]
                    if cands:
                        cands[0]["family"] = [GENDERED.get(x, x) if cands[0]["gender"] == "female" else MASC.get(x, x)
                                              for x in (me["maiden"] or me["family"])]
                rel = cands[0] if cands else None
                label = "%s with the same surname at another address" % want
            else:  # stepchild
                age = (self.date0 - me["dob"]).days / 365.25
                if age < 30:
                    self.used_insiders.remove(si)
                    continue
                cands = [self.persons[o] for t, o in me["rel"] if t == "stepchild"]
                if cands:
                    rel = cands[0]
                else:
                    ca = r.randint(6, 17)
                    rel = self.new_person(me["eth"], "female" if r.random() < 0.5 else "male", ca, ca,
                                          family=[self.wpick(SURN[me["eth"]])])
                    if self.norm(rel["family"][0]) == self.norm(me["family"][0]):
                        rel["family"] = [self.wpick(SURN["anglo"])]
                    rel["addr"], rel["hh"] = me["addr"], me["hh"]
                    hh["members"].append(rel["i"])
                    self.relate(me, rel, "stepchild", "stepparent")
                label = "stepchild with a different surname living at the same address"
            if rel is None:
                self.used_insiders.remove(si)
                continue
            p = self.make_patient(rel)
            if p is None or p["reserved"] or p.get("inc"):
                self.used_insiders.remove(si)
                continue
            p["dec"] = None
            self.new_incident("FAMILY", variant, si, ts, [p], ["FAMILY"], "opens the chart of own " + label,
                              tmpl="snoop_look")
            return True
        return False

    def plan_neighbor(self, variant, k):
        r = self.rng
        how = {"same_apartment_building": "building", "same_street": "street", "same_rural_route": "route"}[variant]

        def pred(s):
            a = self.addrs[self.persons[s["person"]]["addr"]]
            if how == "building":
                return a["kind"] == "apt"
            if how == "street":
                return a["kind"] == "house"
            return a["area"] == "crh"
        got = self.pick_insider(lambda s: pred(s) and self.nonbroad(s["i"]))
        if not got:
            return False
        si, d, ts = got
        me = self.persons[self.staff[si]["person"]]
        if how == "route" and self.addrs[me["addr"]]["kind"] != "rr":
            ai = self.new_address("crh", "rr", city=[c for c in CITIES if c[1] == self.addrs[me["addr"]]["zip"]][0])
            for m in self.hhs[me["hh"]]["members"]:
                self.persons[m]["addr"] = ai
            self.hhs[me["hh"]]["addr"] = ai
        a = self.addrs[me["addr"]]
        key = {"building": "bkey", "street": "skey", "route": "rkey"}[how]
        cands = self.general_patients(lambda p: self.addrs[self.persons[p["person"]]["addr"]][key] == a[key] and
                                      self.persons[p["person"]]["hh"] != me["hh"] and
                                      not any(o == p["person"] for _, o in me["rel"]))
        cands = [p for p in cands if self.norm(self.persons[p["person"]]["family"][0]) != self.norm(me["family"][0])]
        if cands:
            p = self.pick(cands)
        else:
            ai = self.neighbour_address(me["addr"], how)
            hh = self.new_household(a["area"], self.pick(["single", "couple"]), ai=ai)
            person = self.persons[hh["members"][0]]
            if self.norm(person["family"][0]) == self.norm(me["family"][0]):
                person["family"] = [self.wpick(SURN["anglo"])]
            p = self.make_patient(person)
        what = {"building": "lives in the same apartment building (different unit)",
                "street": "lives a few doors away on the same street",
                "route": "lives on the same rural route"}[how]
        self.new_incident("NEIGHBOR", variant, si, ts, [p], ["NEIGHBOR"], "opens the chart of a neighbour who " + what,
                          tmpl="snoop_look")
        return True

    def plan_coworker(self, variant, k):
        r = self.rng
        got = self.pick_insider(lambda s: self.nonbroad(s["i"]))
        if not got:
            return False
        si, d, ts = got
        me = self.persons[self.staff[si]["person"]]
        my_org = self.staff[si]["org"]
        my_site = self.orgs[my_org]["partOf"]
        cands = []
        for s in self.staff:
            if s["i"] == si or s["start_day"] >= 0:
                continue
            person = self.persons[s["person"]]
            if self.addrs[person["addr"]]["area"] not in ("cmc", "crh") or self.related(me, person):
                continue
            if (person["pat"] or {}).get("inc") or (person["pat"] or {}).get("reserved"):
                continue
            same_dept = s["org"] == my_org or self.orgs[s["org"]]["partOf"] == my_site
            if variant == "other_site_no_emp" and same_dept:
                continue
            if variant != "other_site_no_emp" and not same_dept:
                continue
            cands.append(s["i"])
        if not cands:
            self.used_insiders.remove(si)
            return False
        ti = self.pick(cands)
        person = self.persons[self.staff[ti]["person"]]
        p = self.make_patient(person)
        p["dec"] = None
        if variant == "same_department_emp_label":
            if "EMP" not in p["labels"]:
                p["labels"].append("EMP")
            p["flags"][self.pick(["wh", "bh", "ortho", "card"])] = 1
            why = "opens the chart of a colleague from the same department (%s); EMP label" % \
                  self.orgs[self.staff[ti]["org"]]["name"]
        elif variant == "other_site_no_emp":
            p["labels"] = [x for x in p["labels"] if x != "EMP"]
            why = "opens the chart of a staff member from another site (%s); no EMP label" % \
                  self.orgs[self.staff[ti]["org"]]["name"]
        else:
            why = "opens the chart of a colleague who was seen in the emergency department the day before"
            ed = "org-cmc-ed" if "org-cmc-ed" not in self.all_orgs(si) else "org-crh-ed"
            t0 = ts - r.randint(16, 30) * HOUR
            t1 = t0 + r.randint(2, 5) * HOUR
            self.scripted.append({"cls": "EMER", "p": p, "org": ed, "start": t0, "end": t1,
                                  "death": False, "tag": "coworker_ed"})
            for dd in list(self.staff[ti]["sh"]):
                self.staff[ti]["sh"][dd] = [x for x in self.staff[ti]["sh"][dd] if x[1] < t0 - HOUR or x[0] > t1 + 12 * HOUR]
            p["reserved"] = "coworker_ed"
        self.new_incident("COWORKER", variant, si, ts, [p], ["COWORKER"], why, tmpl="snoop_look",
                          coworker=ti)
        return True

    def plan_vip(self, variant, k):
        r = self.rng
        vip = self.vips[k % len(self.vips)]
        D = self.D
        if variant == "athlete_inpatient":
            a = self.at(D - 4, 7.5 + r.random())
            b = self.at(D - 2, 11 + r.random() * 2)
            eps = [{"cls": "IMP", "org": "org-cmc-4w", "start": a, "end": b, "surgery": True}]
            orgs = ["org-cmc-4w", "org-cmc-surg", "org-amb-ortho"]
            what = "admitted to 4 West after surgery"
        elif variant == "politician_ed_admit":
            a = self.at(D - 3, 14 + r.random() * 2)
            m = a + r.randint(3, 6) * HOUR
            b = self.at(D - 1, 10 + r.random() * 3)
            eps = [{"cls": "EMER", "org": "org-cmc-ed", "start": a, "end": m},
                   {"cls": "IMP", "org": "org-cmc-5n", "start": m, "end": b}]
            orgs = ["org-cmc-ed", "org-cmc-5n", "org-cmc-hm", "org-amb-card"]
            what = "in the emergency department and then on 5 North"
        else:
            clinic = self.pick(["org-amb-wh", "org-amb-card", "org-amb-ortho", "org-amb-pcs"])
            a = self.at(D - 2, 9 + r.random() * 5)
            b = a + 40 * MIN
            eps = [{"cls": "AMB", "org": clinic, "start": a, "end": b}]
            orgs = [clinic]
            what = "seen at %s that day" % self.orgs[clinic]["name"]
            b = self.at(D - 2, 23)
        lo, hi = eps[0]["start"], eps[-1]["end"]
        got = self.pick_insider(lambda s: self.nonbroad(s["i"]) and not (set(self.all_orgs(s["i"])) & set(orgs)) and
                                not any(self.orgs[o]["kind"] == "service" for o in self.all_orgs(s["i"])),
                                window=(lo, hi))
        if not got:
            return False
        si, d, ts = got
        for e in eps:
            e.update(p=vip, death=False, tag="vip")
            self.scripted.append(e)
        self.new_incident("VIP", variant, si, ts, [vip], ["VIP"],
                          "opens the chart of %s (%s) while the patient is %s" % (vip["vip"][1], vip["vip"][0], what),
                          tmpl="snoop_look")
        return True

    def plan_deceased(self, variant, k):
        r = self.rng
        D = self.D
        di = r.randint(D - 5, D - 1)
        if variant == "ed_death_hours":
            t_death = self.at(di, 5.5 + r.random() * 4)
            eps = [{"cls": "EMER", "org": "org-cmc-ed", "start": t_death - r.randint(40, 120) * MIN, "end": t_death}]
            orgs = ["org-cmc-ed"]
            window = (t_death + 2 * HOUR, t_death + 14 * HOUR)
            where = "died in the emergency department a few hours earlier"
            pred = lambda p: p["age"] >= 25
        elif variant == "icu_death_days":
            t_death = self.at(di - r.randint(2, 5), 3 + r.random() * 18)
            eps = [{"cls": "IMP", "org": "org-cmc-icu", "start": t_death - r.randint(2, 5) * DAY, "end": t_death}]
            orgs = ["org-cmc-icu", "org-cmc-hm"]
            window = (self.ds(di), self.ds(di + 1))
            where = "died in the ICU %d days earlier" % round((self.ds(di) - t_death) / DAY + 0.5)
            pred = lambda p: p["age"] >= 45
        elif variant == "home_hospice_week":
            t_death = self.at(di - r.randint(6, 13), 2 + r.random() * 20)
            eps = [{"cls": "HH", "org": "org-hh", "start": t_death - r.randint(1, 3) * DAY, "end": None}]
            orgs = ["org-hh"]
            window = (self.ds(di), self.ds(di + 1))
            where = "died at home under home-health hospice care about a week earlier"
            pred = lambda p: p["age"] >= 65
        else:
            t_death = self.at(di - r.randint(3, 9), 1 + r.random() * 22)
            eps = [{"cls": "IMP", "org": "org-cmc-6s", "start": t_death - r.randint(3, 8) * DAY, "end": t_death}]
            orgs = ["org-cmc-6s", "org-amb-onc", "org-cmc-hm"]
            window = (self.ds(di), self.ds(di + 1))
            where = "died on the oncology unit several days earlier"
            pred = lambda p: p["age"] >= 40
        cands = self.general_patients(lambda p: pred(p) and p["area"] == "cmc" and
                                      not (set(p["labels"]) & {"R", "V", "CEL"}))
        if not cands:
            return False
        p = self.pick(cands)
        got = self.pick_insider(lambda s: self.nonbroad(s["i"]) and not (set(self.all_orgs(s["i"])) & set(orgs)) and
                                not self.related(self.persons[s["person"]], self.persons[p["person"]]),
                                days=[di], window=window)
        if not got:
            return False
        si, d, ts = got
        p["reserved"] = "death"
        p["dec_plan"] = t_death
        if variant == "oncology_death":
            p["flags"]["onc"] = 1
        for e in eps:
            e.update(p=p, death=(e["cls"] != "HH"), tag="death")
            self.scripted.append(e)
        if variant == "home_hospice_week":
            p["hospice_death"] = t_death
        self.new_incident("DECEASED", variant, si, ts, [p], ["DECEASED"],
                          "opens the chart of a patient who %s; no role in care or post-death work" % where,
                          tmpl="snoop_look", death=t_death)
        return True

    def plan_snooping(self, variant, k):
        r = self.rng
        clin = lambda s: self.nonbroad(s["i"]) and s["group"] not in ("scribe",)
        got = self.pick_insider(clin)
        if not got:
            return False
        si, d, ts = got
        me = self.persons[self.staff[si]["person"]]
        base = lambda p: not self.related(me, self.persons[p["person"]]) and \
            not (set(p["labels"]) & {"R", "V", "CEL", "EMP"})
        if variant == "name_search_browse":
            fams = {}
            for p in self.general_patients(base):
                fams.setdefault(self.norm(self.persons[p["person"]]["family"][0]), []).append(p)
            common = sorted(((len(v), f) for f, v in fams.items() if len(v) >= 10), reverse=True)[:5]
            if not common:
                self.used_insiders.remove(si)
                return False
            f = self.pick(common)[1]
            m = min(len(fams[f]), r.randint(10, 25))
            targets = r.sample(fams[f], m)
            why = "searches patients by the surname '%s' and browses %d charts with no relationship" % (f, m)
            exp = ["NO_RELATIONSHIP", "BULK"]
            extra = {"query": f}
        else:
            m = 1 if variant == "single_look" else r.randint(3, 5)
            pool = self.general_patients(base)
            targets = r.sample(pool, m)
            why = "looks up %s with no treatment, department or care-team relationship" % (
                "one patient by name" if m == 1 else "%d unrelated patients" % m)
            exp = ["NO_RELATIONSHIP"]
            extra = {"query": None}
        self.new_incident("SNOOPING", variant, si, ts, targets, exp, why, tmpl="snoop_look", **extra)
        return True

    def plan_break_glass(self, variant, k):
        if variant == "clinic_staff_bh_record":
            spred = lambda s: s["group"] in ("ma", "clinic_rn", "pcp") and s["org"] != "org-amb-bh"
            tpred = lambda p: "PSY" in p["labels"] and ("R" in p["labels"] or "V" in p["labels"])
            what = "behavioral-health"
        elif variant == "nurse_other_unit_sud":
            spred = lambda s: s["group"] in ("unit_rn", "periop_rn", "crh_rn") and s["org"] != "org-cmc-bhu"
            tpred = lambda p: ("ETH" in p["labels"] or "PSY" in p["labels"]) and ("R" in p["labels"] or "V" in p["labels"])
            what = "substance-use / behavioral-health"
        else:
            spred = lambda s: s["group"] in ("fd", "ed_reg", "crh_reg", "ma")
            tpred = lambda p: ("HIV" in p["labels"] or "SDV" in p["labels"])
            what = "HIV / very restricted"
        got = self.pick_insider(lambda s: spred(s) and self.nonbroad(s["i"]))
        if not got:
            return False
        si, d, ts = got
        me = self.persons[self.staff[si]["person"]]
        cands = self.general_patients(lambda p: tpred(p) and not self.related(me, self.persons[p["person"]]))
        if not cands:
            self.used_insiders.remove(si)
            return False
        p = self.pick(cands)
        p["no_acute"] = (self.ds(self.D - 8), self.WEND)
        self.new_incident("BREAK_GLASS", variant, si, ts, [p], ["BREAK_GLASS"],
                          "breaks the glass on a restricted %s record with no emergency encounter" % what,
                          tmpl="btg_open")
        return True

    def plan_compromised(self, variant, k):
        r = self.rng
        D = self.D
        days = list(range(D - 5, D))
        if variant == "night_worker_external_ip":
            pred = lambda s: s["sched"] in ("block_night",) or (s["sched"] in ("rn12", "reg8") and
                                                                 s["shift_pref"] == "night" and not s["perdiem"])
        elif variant == "remote_worker_foreign_ip":
            pred = lambda s: s["remote"] or s["group"] == "scribe"
        else:
            pred = lambda s: s["sched"] in ("office", "clinic", "clinic_staff", "cc")
        cands = [s["i"] for s in self.staff if s["i"] not in self.used_insiders and s["start_day"] < 0 and pred(s)]
        if not cands:
            return False
        si = self.pick(cands)
        self.used_insiders.append(si)
        s = self.staff[si]
        if variant == "night_worker_external_ip":
            nights = [x for x in self.main_shifts(si, days) if x[3] == "night"]
            if nights:
                d, a, b, t = self.pick(nights)
                start = a + r.randint(2 * HOUR, 6 * HOUR)
            else:
                d = self.pick(days)
                start = self.at(d, 23 + r.random() * 3)
            exp = ["UNUSUAL_LOCATION", "BULK"]
        else:
            d = self.pick(days)
            start = self.at(d, 0.5 + r.random() * 3.5) if r.random() < 0.7 else self.at(d, 22.5 + r.random())
            exp = ["UNUSUAL_LOCATION", "UNUSUAL_TIME", "BULK"]
        if start >= self.WEND - 3 * HOUR:
            start = self.WEND - 3 * HOUR
        if variant == "unfamiliar_workstation_night":
            if r.random() < 0.5:
                net = ("DESKTOP-%s" % "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)), "1")
            else:
                other = [w for o, pool in self.ws_pool.items() for w in pool
                         if o not in self.all_orgs(si) and o.startswith("org-crh")]
                net = (self.pick(other or ["CRHED-WS11"]), "1")
        else:
            net = ("%s.%d" % (self.pick(["203.0.113", "198.51.100", "192.0.2"]), r.randint(2, 254))
                   if r.random() < 0.4 else
                   "%d.%d.%d.%d" % (self.pick([45, 91, 103, 146, 176, 185, 194]), r.randint(0, 255),
                                    r.randint(0, 255), r.randint(2, 254)), "2")
        m = r.randint(30, 100)
        pool = self.general_patients(lambda p: True)
        targets = r.sample(pool, min(m, len(pool)))
        why = "stolen credentials of %s used at %s from %s %s; harvests %d charts (reads, searches, exports)" % (
            self.staff_desc(si), local_date(start) + " " + "%02d:%02d" % (int(local_hour(start)), int(local_hour(start) % 1 * 60)),
            "workstation" if net[1] == "1" else "external address", net[0], len(targets))
        self.new_incident("COMPROMISED", variant, si, start, targets, exp, why, tmpl="harvest", net=net)
        return True

    # ------------------------------------------------------------ finalise patients, care teams, history
    def finalize_patients(self):
        r = self.rng
        N = self.a.patients
        extra = len(self.pats) - N
        for p in reversed(self.pats):
            if extra <= 0:
                break
            person = self.persons[p["person"]]
            if p["reserved"] is None and not p.get("inc") and person["staff"] is None and not p["forb_staff"]:
                p["drop"] = True
                person["pat"] = None
                extra -= 1
        self.pats = [p for p in self.pats if not p["drop"]]
        mrns = set()
        for i, p in enumerate(self.pats):
            p["i"] = i
            p["id"] = self.newid("", 64)
            while True:
                m = "CH%08d" % r.randrange(10 ** 7, 10 ** 8)
                if m not in mrns:
                    mrns.add(m)
                    break
            p["mrn"] = m
            p["legacy"] = ("R%06d" % r.randrange(10 ** 5, 10 ** 6)) if p["area"] == "crh" and r.random() < 0.4 else None
            if p.get("dec_plan"):
                p["dec"] = p["dec_plan"]
        self.pid = {p["id"]: p["i"] for p in self.pats}
        # staff never take care of themselves or their household / close relatives
        for st in self.staff:
            me = self.persons[st["person"]]
            fam = [me["i"]] + list(self.hhs[me["hh"]]["members"]) + [o for _, o in me["rel"]]
            for pi_ in fam:
                p = self.persons[pi_]["pat"]
                if p is not None and not p["drop"] and st["i"] not in p["forb_staff"]:
                    p["forb_staff"].append(st["i"])
        # providers per clinic
        self.providers = {}
        for s in self.staff:
            code = s["roles"][0]["code"]
            if s["group"] == "pcp" or (s["group"] == "spec" and code == "physician"):
                self.providers.setdefault(s["roles"][0]["org"], []).append(s["i"])
        self.therapists = self.by_group.get("therapist", [])
        self.enc_by_pat = [[] for _ in self.pats]
        self.ct_by_pat = [[] for _ in self.pats]
        pops = self.by_group.get("pop", [])
        self.registry = {si: [] for si in pops}
        for p in self.pats:
            fs = p["forb_staff"]
            provs = [x for x in self.providers.get(p["home"], []) if x not in fs]
            if p["home"] in ("org-amb-pedn", "org-amb-peds"):
                provs = [x for x in provs if self.staff[x]["spec"] in ("pedn", "peds") or
                         self.staff[x]["roles"][0]["code"] != "physician"] or provs
            p["pcp"] = self.pick(provs) if provs and p["home"] not in p["forb_org"] else None
            if p["pcp"] is not None and r.random() < 0.85:
                self.add_ct(p, "Primary care team", [p["pcp"]], [], p["home"],
                            self.W0 - r.randint(30, 2500) * DAY)
            if p["flags"].get("registry") and pops and "org-ss-pop" not in p["forb_org"]:
                nurse = self.pick([x for x in pops if x not in fs] or pops)
                if nurse not in fs:
                    self.registry[nurse].append(p["i"])
                    self.add_ct(p, "Population health registry: %s" % p["flags"]["registry"], [nurse],
                                ["org-ss-pop"], "org-ss-pop", self.W0 - r.randint(20, 700) * DAY)
            if p["flags"].get("bh") and "org-amb-bh" not in p["forb_org"]:
                th = [x for x in self.therapists if x not in fs]
                ps = [x for x in self.providers.get("org-amb-bh", []) if x not in fs]
                mem = ([self.pick(th)] if th else []) + ([self.pick(ps)] if ps and r.random() < 0.6 else [])
                if mem:
                    p["bh_team"] = mem
                    self.add_ct(p, "Behavioral health care team", mem, [], "org-amb-bh",
                                self.W0 - r.randint(30, 900) * DAY)
            if p["flags"].get("onc") and "org-amb-onc" not in p["forb_org"]:
                on = [x for x in self.providers.get("org-amb-onc", []) if x not in fs]
                if on:
                    p["onc_doc"] = self.pick(on)
                    self.add_ct(p, "Oncology care team", [p["onc_doc"]], [], "org-amb-onc",
                                self.W0 - r.randint(30, 700) * DAY)
        # pools
        P = self.pool = {}
        for p in self.pats:
            if p["reserved"] is not None:
                continue
            age = p["age"]
            key = p["area"]
            P.setdefault(key + ("_kid" if age < 18 else "_adult"), []).append(p["i"])
            if age >= 65:
                P.setdefault(key + "_old", []).append(p["i"])
            for fl in ("card", "onc", "ortho", "wh", "bh", "preg", "sud"):
                if p["flags"].get(fl):
                    P.setdefault(fl, []).append(p["i"])
            P.setdefault("clinic:" + p["home"], []).append(p["i"])
            if p["pcp"] is not None:
                P.setdefault("panel:%d" % p["pcp"], []).append(p["i"])
            P.setdefault("all", []).append(p["i"])

    def add_ct(self, p, name, members, org_members, managing, start, end=None):
        ct = {"id": self.newid("ct-", 48), "p": p["i"], "name": name, "members": list(members),
              "orgs": list(org_members), "managing": managing, "start": start, "end": end}
        self.cts.append(ct)
        self.ct_by_pat[p["i"]].append(ct)
        return ct

    def ok(self, pi, org=None, staff=()):
        p = self.pats[pi]
        if org is not None and org in p["forb_org"]:
            return False
        for s in staff:
            if s in p["forb_staff"]:
                return False
        return True

    def alive(self, pi, ts):
        dec = self.pats[pi]["dec"]
        return dec is None or ts < dec

    def add_enc(self, pi, cls, org, start, end, parts=(), status=None, death=False, typ=None, **kw):
        e = {"id": self.newid("enc-", 48), "cls": cls, "p": pi, "org": org, "start": start, "end": end,
             "parts": [], "ptypes": [], "status": status, "death": death, "type": typ}
        e.update(kw)
        for s, t in parts:
            self.add_part(e, s, t)
        self.encs.append(e)
        self.enc_by_pat[pi].append(e)
        return e

    def add_part(self, e, s, t="PART"):
        if s is None or s in e["parts"] or s in self.pats[e["p"]]["forb_staff"]:
            return False
        e["parts"].append(s)
        e["ptypes"].append(t)
        return True

    def staff_in_org(self, org, ts, groups=None):
        out = []
        for si in self.org_staff.get(org, []):
            s = self.staff[si]
            if groups and s["group"] not in groups:
                continue
            for x in s["roles"]:
                if x["org"] == org and x["start"] <= ts and (x["end"] is None or ts <= x["end"]):
                    out.append(si)
                    break
        return out

    def build_history(self):
        r = self.rng
        self.org_staff = {}
        for s in self.staff:
            for x in s["roles"]:
                self.org_staff.setdefault(x["org"], [])
                if s["i"] not in self.org_staff[x["org"]]:
                    self.org_staff[x["org"]].append(s["i"])
        lo = self.W0 - 540 * DAY
        units_for = lambda p: (["org-cmc-3e", "org-cmc-4w", "org-cmc-5n", "org-cmc-icu"] + (["org-cmc-6s"] if p["flags"].get("onc") else [])
                               + (["org-cmc-ld"] if p["flags"].get("preg") else [])) if p["age"] >= 18 else ["org-cmc-peds"]
        for p in self.pats:
            pi = p["i"]
            hi = min(self.W0 - 2 * HOUR, (p["dec"] - DAY) if p["dec"] else self.W0)
            if p["reserved"] == "vip" and p.get("vip"):
                pass
            if hi <= lo + 30 * DAY:
                continue
            fs = p["forb_staff"]

            def when(recent=False):
                if recent:
                    return r.randint(max(lo, hi - 60 * DAY), hi)
                return r.randint(lo, hi)
            # primary care (at least one visit when a PCP is assigned)
            nv = self.pick([1, 1, 2, 2, 2, 3, 4]) if p["pcp"] is not None else self.pick([0, 0, 1])
            for k in range(nv):
                t = when(recent=(k == 0 and r.random() < 0.3))
                self.hist_visit(p, p["home"], t, prefer=p["pcp"])
            for fl, org in (("card", "org-amb-card"), ("onc", "org-amb-onc"), ("ortho", "org-amb-ortho"),
                            ("wh", "org-amb-wh"), ("bh", "org-amb-bh")):
                if p["flags"].get(fl) and org not in p["forb_org"]:
                    for k in range(r.randint(1, 4)):
                        prefer = (p.get("bh_team") or [None])[0] if fl == "bh" else p.get("onc_doc")
                        self.hist_visit(p, org, when(recent=(k == 0 and r.random() < 0.3)), prefer=prefer)
            # emergency visits and admissions
            hosp = "cmc" if p["area"] == "cmc" or r.random() < 0.2 else "crh"
            ed = "org-%s-ed" % hosp
            if r.random() < 0.12 and ed not in p["forb_org"]:
                t = when(recent=r.random() < 0.2)
                e = self.add_enc(pi, "EMER", ed, t, t + r.randint(2, 6) * HOUR, status="finished",
                                 typ="Emergency visit")
                self.hist_parts(e, ed, ["ed_md", "crh_md"], 1, "ATND")
                self.hist_parts(e, ed, ["ed_rn", "crh_rn"], r.randint(1, 2), "PART")
            if r.random() < (0.05 if p["age"] < 65 else 0.1):
                unit = self.pick(units_for(p)) if hosp == "cmc" else "org-crh-ms"
                if unit not in p["forb_org"]:
                    t = when(recent=r.random() < 0.35)
                    t = min(t, hi - 6 * DAY)
                    los = r.randint(1, 6)
                    e = self.add_enc(pi, "IMP", unit, t, t + los * DAY + r.randint(0, 8) * HOUR, status="finished",
                                     typ="Inpatient admission")
                    att = "org-cmc-hm" if unit in MED_UNITS else unit
                    self.hist_parts(e, att if hosp == "cmc" else "org-crh-ms",
                                    ["hosp", "crh_md", "pcp", "spec", "surgeon"], 1, "ATND")
                    self.hist_parts(e, unit, ["unit_rn", "crh_rn", "float_rn"], r.randint(2, 4), "PART")
                    self.hist_parts(e, unit, ["resident"], 1 if r.random() < 0.5 else 0, "PART")

    def hist_parts(self, e, org, groups, n, ptype):
        if n <= 0:
            return
        cands = [s for s in self.staff_in_org(org, e["start"], groups) if s not in self.pats[e["p"]]["forb_staff"]]
        for s in self.rng.sample(cands, min(n, len(cands))):
            self.add_part(e, s, ptype)

    def hist_visit(self, p, org, t, prefer=None):
        r = self.rng
        if org in p["forb_org"]:
            return None
        fs = p["forb_staff"]
        provs = [x for x in self.staff_in_org(org, t) if x not in fs and
                 self.staff[x]["roles"][0]["code"] in ("physician", "nurse-practitioner", "physician-assistant",
                                                       "therapist", "resident")]
        if not provs:
            return None
        prov = prefer if (prefer in provs and r.random() < 0.8) else self.pick(provs)
        vr = r.random() < (0.45 if org == "org-amb-bh" else 0.15)
        t = self.at(self.day_of(t), 8 + r.random() * 8.5)
        e = self.add_enc(p["i"], "VR" if vr else "AMB", org, t, t + r.randint(15, 50) * MIN, status="finished",
                         typ="Telehealth visit" if vr else "Office visit")
        self.add_part(e, prov, "PPRF")
        ma = self.staff[prov].get("ma")
        if ma is not None and not vr:
            self.add_part(e, ma, "PART")
        return e

    # ------------------------------------------------------------ tasks and networks
    def net(self, si, org, ts, remote=False):
        s = self.staff[si]
        d = self.day_of(ts)
        if remote or s["remote"] or s["group"] == "scribe":
            key = (si, d)
            ip = self.vpn_cache.get(key)
            if ip is None:
                ip = self.vpn_cache[key] = self.vpn_ip()
            return ip, "2"
        if s["group"] in ("hh_rn",) and s["ws"]:
            return s["ws"][0], "1"
        if s["ws"] and (org is None or org == s["org"]) and self.rng.random() < 0.8:
            return self.pick(s["ws"]), "1"
        pool = self.ws_pool.get(org) or self.ws_pool.get(s["org"]) or s["ws"] or ["CH-WS-%03d" % (si % 500)]
        return self.pick(pool), "1"

    def task(self, ts, si, pi, tmpl, scen, org=None, remote=False, purpose=None, extra=None, expl=True):
        if not (self.W0 <= ts < self.WEND):
            return
        if pi is not None and scen not in POST_DEATH_OK and not self.alive(pi, ts):
            return
        if extra and extra.get("net"):
            addr, nt = extra["net"]
        else:
            addr, nt = self.net(si, org, ts, remote)
        self.tasks.append([ts, si, pi, tmpl, scen, expl, addr, nt, purpose, extra, org])

    def duty(self, ts, groups, org=None, tags=None):
        d = self.day_of(ts)
        out = []
        for g in groups:
            for si in self.by_group.get(g, []):
                for dd in (d, d - 1):
                    hit = False
                    for a, b, t in self.staff[si]["sh"].get(dd, []):
                        if a <= ts < b and t not in ("remote",) and (tags is None or t in tags):
                            hit = True
                            break
                    if hit:
                        if org is None or org in self.orgs_at(si, ts):
                            out.append(si)
                        break
        return out

    def choose(self, key, check, tries=40):
        pool = self.pool.get(key) if isinstance(key, str) else key
        if not pool:
            return None
        for _ in range(tries):
            pi = pool[self.rng.randrange(len(pool))]
            if check(pi):
                return pi
        return None

    def free(self, pi, a, b):
        """Not an inpatient / ED patient between a and b."""
        for e in self.enc_by_pat[pi]:
            if e["cls"] in ("IMP", "EMER") and e["start"] < b and (e["end"] or 1 << 40) > a:
                return False
        na = self.pats[pi].get("no_acute")
        if na and a < na[1] and b > na[0]:
            return False
        return True

    # ------------------------------------------------------------ hospital simulation
    UNIT = {
        "org-cmc-3e": dict(ratio=4.5, los=(2, 7), ed=0.85, death=0.015, pool="cmc_adult", att="hm"),
        "org-cmc-4w": dict(ratio=4.5, los=(1, 4), ed=0.45, death=0.004, pool="cmc_adult", att="surg"),
        "org-cmc-5n": dict(ratio=4.5, los=(1, 4), ed=0.85, death=0.01, pool="card", att="hm"),
        "org-cmc-6s": dict(ratio=4.0, los=(3, 9), ed=0.5, death=0.04, pool="onc", att="hm"),
        "org-cmc-icu": dict(ratio=1.8, los=(1, 5), ed=0.75, death=0.07, pool="cmc_adult", att="hm"),
        "org-cmc-ld": dict(ratio=2.5, los=(1, 3), ed=0.05, death=0.0, pool="preg", att="wh"),
        "org-cmc-peds": dict(ratio=4.0, los=(1, 4), ed=0.6, death=0.0, pool="cmc_kid", att="peds"),
        "org-cmc-bhu": dict(ratio=5.0, los=(4, 12), ed=0.7, death=0.0, pool="bh", att="bh"),
        "org-crh-ms": dict(ratio=4.5, los=(2, 12), ed=0.75, death=0.03, pool="crh_adult", att="crh"),
    }
    ED_W = [2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4, 5, 5.5, 5.5, 5.5, 5, 5, 5, 5, 5, 5, 4.5, 4, 3.5, 3, 2.5]

    def ed_hour(self):
        return self.wpick(list(enumerate(self.ED_W))) + self.rng.random()

    def attendings(self, kind, ts, hosp="cmc"):
        if kind == "hm":
            return self.duty(ts, ["hosp"], tags=("day",)) or self.duty(ts, ["noct"])
        if kind == "surg":
            return [s for s in self.by_group.get("surgeon", []) + self.by_group.get("spec", [])
                    if self.staff[s]["spec"] in (None, "ortho") and self.staff[s]["group"] in ("surgeon", "spec")
                    and (self.staff[s]["group"] == "surgeon" or self.staff[s]["spec"] == "ortho")]
        if kind in ("wh", "bh"):
            return [s for s in self.by_group.get("spec", []) if self.staff[s]["spec"] == kind]
        if kind == "peds":
            return [s for s in self.by_group.get("spec", []) if self.staff[s]["spec"] in ("pedn", "peds")]
        if kind == "crh":
            return [s for s in self.by_group.get("crh_md", [])] + \
                   [s for s in self.by_group.get("pcp", []) if "org-crh-ms" in self.all_orgs(s)]
        return []

    def ed_staff(self, ed, ts, kind):
        d = self.day_of(ts)
        if ed == "org-cmc-ed":
            if kind == "md":
                return [s for s in self.duty(ts, ["ed_md"]) if not (self.staff[s]["kw"].get("dual") and d % 4 == 0)]
            if kind == "rn":
                return self.duty(ts, ["ed_rn"])
            if kind == "reg":
                return self.duty(ts, ["ed_reg"])
            if kind == "res":
                return self.duty(ts, ["resident"], org="org-cmc-ed")
        else:
            if kind == "md":
                return self.duty(ts, ["crh_md"]) + [s for s in self.duty(ts, ["ed_md"])
                                                    if self.staff[s]["kw"].get("dual") and d % 4 == 0]
            if kind == "rn":
                return self.duty(ts, ["crh_rn"], org="org-crh-ed")
            if kind == "reg":
                return self.duty(ts, ["crh_reg"])
        return []

    def ed_visit(self, pi, ed, arr, end, admitted=False, death=False, tag=None):
        r = self.rng
        e = self.add_enc(pi, "EMER", ed, arr, end, status="finished", death=death, typ="Emergency visit")
        mds = [s for s in self.ed_staff(ed, arr, "md") if self.ok(pi, None, [s])]
        rns = [s for s in self.ed_staff(ed, arr, "rn") if self.ok(pi, None, [s])]
        res = [s for s in self.ed_staff(ed, arr, "res") if self.ok(pi, None, [s])]
        regs = self.ed_staff(ed, arr, "reg")
        if not mds:
            mds = [s for s in self.staff_in_org(ed, arr, ["ed_md", "crh_md"]) if self.ok(pi, None, [s])][:1]
        md = self.pick(mds) if mds else None
        rn = self.pick(rns) if rns else None
        self.add_part(e, md, "ATND")
        self.add_part(e, rn, "PART")
        rs = self.pick(res) if res and r.random() < 0.5 else None
        self.add_part(e, rs, "PART")
        restricted = bool(set(self.pats[pi]["labels"]) & {"R", "V"})
        dur = end - arr
        if regs:
            self.task(arr + r.randint(2, 8) * MIN, self.pick(regs), pi, "checkin", "ed_registration", ed)
        if rn is not None:
            self.task(arr + r.randint(5, 20) * MIN, rn, pi, "nurse_round", "ed_nursing", ed,
                      extra={"btg": True} if restricted else None, purpose="ETREAT" if restricted else None)
            for _ in range(r.randint(1, 3)):
                self.task(arr + int(dur * r.uniform(0.2, 0.95)), rn, pi, "nurse_doc", "ed_nursing", ed)
        if md is not None:
            self.task(arr + min(dur - 5 * MIN, r.randint(15, 75) * MIN), md, pi, "ed_care", "ed_physician", ed,
                      extra={"btg": True} if restricted else None, purpose="ETREAT" if restricted else None)
            if r.random() < 0.7:
                self.task(arr + int(dur * r.uniform(0.5, 0.95)), md, pi, "open_chart", "ed_physician", ed)
        if rs is not None:
            self.task(arr + r.randint(10, 60) * MIN, rs, pi, "ed_care", "resident_ed", ed,
                      extra={"btg": True} if restricted else None)
        if death and md is not None:
            self.task(end + r.randint(20, 90) * MIN, md, pi, "sign_note", "post_death_documentation", ed)
        return e

    def admit(self, unit, pi, start, end, death, via_ed, tag=None, surgery=False):
        r = self.rng
        U = self.UNIT[unit]
        hosp = "crh" if unit == "org-crh-ms" else "cmc"
        if via_ed:
            ed = "org-%s-ed" % hosp
            arr = start - r.randint(150, 400) * MIN
            if ed in self.pats[pi]["forb_org"]:
                via_ed = False
            else:
                self.ed_visit(pi, ed, arr, start)
        e = self.add_enc(pi, "IMP", unit, start, end, status="finished", death=death,
                         typ="Inpatient admission" + (" (surgical)" if surgery else ""), att_kind=U["att"],
                         surgery=surgery)
        # admitting physician
        h = local_hour(start)
        adm = None
        if U["att"] == "hm":
            cands = self.duty(start, ["noct"]) if (h >= 19 or h < 7) else self.duty(start, ["hosp"], tags=("day",))
            cands = [s for s in cands if self.ok(pi, None, [s])]
            adm = self.pick(cands) if cands else None
            if adm is not None:
                self.add_part(e, adm, "ADM")
                e["att"] = adm if self.staff[adm]["group"] == "hosp" else None
                self.task(start + r.randint(10, 50) * MIN, adm, pi, "admit", "admission", unit)
        else:
            cands = [s for s in self.attendings(U["att"], start, hosp) if self.ok(pi, None, [s])]
            if cands:
                on = [s for s in cands if self.on_shift(s, start)]
                adm = self.pick(on or cands)
                self.add_part(e, adm, "ATND")
                e["att"] = adm
                if on:
                    self.task(start + r.randint(10, 90) * MIN, adm, pi, "admit", "admission", unit)
        if surgery:
            for g, tm in (("periop_rn", "nurse_round"), ("anes", "md_round")):
                c = [s for s in self.duty(start + HOUR, [g]) if self.ok(pi, None, [s])]
                if c:
                    s = self.pick(c)
                    self.add_part(e, s, "PART")
                    self.task(start - r.randint(20, 70) * MIN, s, pi, tm, "perioperative", "org-cmc-surg")
                    self.task(start + r.randint(60, 180) * MIN, s, pi, "nurse_doc", "perioperative", "org-cmc-surg")
        self.census[unit].append(e)
        return e

    def pick_unit_patient(self, unit, start, end, area):
        U = self.UNIT[unit]

        def check(pi):
            p = self.pats[pi]
            if p["reserved"] is not None or not self.alive(pi, end + DAY) or not self.ok(pi, unit):
                return False
            if unit != "org-crh-ms" and p["area"] != "cmc" and self.rng.random() < 0.85:
                return False
            if unit == "org-crh-ms" and p["area"] != "crh":
                return False
            if unit in ("org-cmc-3e", "org-cmc-icu") and p["age"] < 30:
                return False
            return self.free(pi, start - 8 * HOUR, end + HOUR)
        return self.choose(U["pool"], check, 60)

    def simulate_hospitals(self):
        r = self.rng
        self.census = {u: [] for u in self.UNIT}
        nurses = {}
        for s in self.staff:
            if s["group"] in ("unit_rn", "crh_rn", "travel_rn"):
                nurses[s["org"]] = nurses.get(s["org"], 0) + (0.5 if s["kw"].get("travel") else 1)
        target = {u: max(2, int(round(nurses.get(u, 1) * 3 / 7 / 2 * self.UNIT[u]["ratio"] * 1.05))) for u in self.UNIT}
        self.target_census = target
        scripted = sorted(self.scripted, key=lambda x: x["start"])
        n_ed = {"org-cmc-ed": max(4, int(round(len(self.by_group.get("ed_rn", [])) * 1.15))),
                "org-crh-ed": max(3, int(round(self.a.staff / 60.0)))}
        for d in range(-WARM, self.D):
            day0, day1 = self.ds(d), self.ds(d + 1)
            # scripted episodes (VIPs, planned deaths, a colleague's ED visit)
            for sc in scripted:
                if not (day0 <= sc["start"] < day1):
                    continue
                pi = sc["p"]["i"]
                if sc["cls"] == "EMER":
                    nxt = [x for x in scripted if x["p"] is sc["p"] and x["cls"] == "IMP" and x["start"] == sc["end"]]
                    if not nxt:
                        self.ed_visit(pi, sc["org"], sc["start"], sc["end"], death=sc["death"], tag=sc["tag"])
                elif sc["cls"] == "IMP":
                    via = any(x["p"] is sc["p"] and x["cls"] == "EMER" and x["end"] == sc["start"] for x in scripted)
                    if via:
                        prev = [x for x in scripted if x["p"] is sc["p"] and x["cls"] == "EMER" and x["end"] == sc["start"]][0]
                        self.ed_visit(pi, prev["org"], prev["start"], prev["end"])
                    self.admit(sc["org"], pi, sc["start"], sc["end"], sc["death"], False, tag=sc["tag"],
                               surgery=sc.get("surgery", False))
                elif sc["cls"] == "AMB":
                    self.scripted_visit(sc)
            # admissions to keep each unit near its target census
            for unit, U in self.UNIT.items():
                noon = self.at(d, 12)
                cur = sum(1 for e in self.census[unit] if e["start"] <= noon < e["end"])
                need = target[unit] - cur + int(round(r.gauss(0, 0.8)))
                need = max(0, min(need, max(2, target[unit] // 2)))
                for _ in range(need):
                    via_ed = r.random() < U["ed"]
                    if via_ed:
                        start = self.at(d, self.ed_hour()) + r.randint(3, 6) * HOUR
                    else:
                        start = self.at(d, 7 + r.random() * 6)
                    los = r.randint(*U["los"])
                    end = self.at(self.day_of(start) + los, 10 + r.random() * 5)
                    if end <= start + 6 * HOUR:
                        end = start + 20 * HOUR
                    pi = self.pick_unit_patient(unit, start, end, None)
                    if pi is None:
                        continue
                    death = r.random() < U["death"]
                    if death:
                        end = start + int((end - start) * r.uniform(0.3, 1.0))
                        self.pats[pi]["dec"] = end
                    surgery = unit == "org-cmc-4w" and not via_ed
                    self.admit(unit, pi, start, end, death, via_ed, surgery=surgery)
            # emergency visits that go home
            for ed, n in n_ed.items():
                mean = n * (1.1 if self.weekday(d) in (0, 6) else 1.0)
                k = max(0, int(round(r.gauss(mean, mean ** 0.5))))
                for _ in range(k):
                    arr = self.at(d, self.ed_hour())
                    end = arr + r.randint(100, 330) * MIN
                    area = "cmc" if ed == "org-cmc-ed" else "crh"
                    kid = r.random() < 0.18
                    key = area + ("_kid" if kid else "_adult")
                    pi = self.choose(key, lambda x: self.pats[x]["reserved"] is None and self.alive(x, end) and
                                     self.ok(x, ed) and self.free(x, arr - HOUR, end + HOUR))
                    if pi is not None:
                        self.ed_visit(pi, ed, arr, end)
            # inpatient work on window days
            if d >= 0:
                self.inpatient_day(d)
            for unit in self.census:
                self.census[unit] = [e for e in self.census[unit] if e["end"] > day0]

    def scripted_visit(self, sc):
        pi = sc["p"]["i"]
        org = sc["org"]
        provs = [s for s in self.providers.get(org, []) if self.ok(pi, None, [s])]
        on = [s for s in provs if self.on_shift(s, sc["start"])]
        prov = self.pick(on or provs)
        e = self.add_enc(pi, "AMB", org, sc["start"], sc["end"], status="finished", typ="Office visit")
        self.add_part(e, prov, "PPRF")
        ma = self.staff[prov].get("ma")
        if ma is not None and self.ok(pi, None, [ma]):
            self.add_part(e, ma, "PART")
            self.task(sc["start"] - 8 * MIN, ma, pi, "ma_room", "clinic_rooming", org)
        self.task(sc["start"] + 3 * MIN, prov, pi, "visit_md", "clinic_visit", org)
        self.task(sc["end"] + 25 * MIN, prov, pi, "sign_note", "clinic_visit", org)
        fds = [s for s in self.duty(sc["start"], ["fd"], org=org) if self.ok(pi, None, [s])]
        if fds:
            self.task(sc["start"] - 12 * MIN, self.pick(fds), pi, "checkin", "clinic_checkin", org)
        self.visited.add((pi, self.day_of(sc["start"])))

    def inpatient_day(self, d):
        r = self.rng
        # nursing: day and night shifts per unit
        for shift_tag, a_h, b_h in (("day", 7, 19), ("night", 19, 31)):
            a, b = self.at(d, a_h), self.at(d, b_h)
            mid = a + (b - a) // 2
            floats = [s for s in self.by_group.get("float_rn", []) if any(
                t == shift_tag and x <= mid < y for x, y, t in self.staff[s]["sh"].get(d, []))]
            staffing = {}
            for unit in self.census:
                staffing[unit] = [s for s in self.by_group.get("unit_rn", []) + self.by_group.get("crh_rn", []) +
                                  self.by_group.get("travel_rn", [])
                                  if self.staff[s]["org"] == unit and any(
                                      t == shift_tag and x <= mid < y for x, y, t in self.staff[s]["sh"].get(d, []))]
            pts = {u: [e for e in self.census[u] if e["start"] < b and e["end"] > a] for u in self.census}
            for f in floats:
                u = max((u for u in self.census if u != "org-crh-ms"),
                        key=lambda u: (len(pts[u]) / (1 + len(staffing[u])), u))
                staffing[u].append(f)
                self.float_assign[(f, d, shift_tag)] = u
            for unit, es in pts.items():
                ns = staffing[unit]
                if not ns:
                    continue
                r.shuffle(es)
                for k, e in enumerate(sorted(es, key=lambda e: (e["id"]))):
                    pi = e["p"]
                    prev = e.get("last_rn")
                    cand = [prev] if prev in ns and self.ok(pi, None, [prev]) else []
                    if not cand:
                        cand = [x for x in ns if self.ok(pi, None, [x])]
                    if not cand:
                        continue
                    rn = cand[0] if cand[0] == prev else cand[k % len(cand)]
                    e["last_rn"] = rn
                    self.add_part(e, rn, "PART")
                    t0 = max(a, e["start"]) + r.randint(10, 50) * MIN
                    t1 = min(b, e["end"]) - 10 * MIN
                    if t1 <= t0:
                        continue
                    self.task(t0, rn, pi, "nurse_round", "inpatient_nursing", unit)
                    icu = unit == "org-cmc-icu"
                    nd = (r.randint(3, 5) if icu else r.randint(1, 3)) if shift_tag == "day" else \
                        (r.randint(2, 4) if icu else r.randint(1, 2))
                    for _ in range(nd):
                        self.task(r.randint(t0, t1), rn, pi, "nurse_doc", "inpatient_nursing", unit)
                # a colleague's patient on the same unit (explained by department)
                for rn in ns:
                    if r.random() < 0.25 and es:
                        e = self.pick(es)
                        t = r.randint(a + HOUR, b - HOUR)
                        if e["start"] < t < e["end"] and self.ok(e["p"], unit, [rn]) and unit in self.orgs_at(rn, t):
                            self.task(t, rn, e["p"], "open_chart", "unit_colleague_patient", unit)
        # physicians
        day_a = self.at(d, 7)
        hm_on = [s for s in self.by_group.get("hosp", []) if any(t == "day" for _, _, t in self.staff[s]["sh"].get(d, []))]
        load = {s: 0 for s in hm_on}
        active = {u: [e for e in self.census[u] if e["start"] < self.at(d, 12) < e["end"] or
                      (e["start"] < self.at(d, 18) and e["end"] > self.at(d, 8))] for u in self.census}
        for unit in MED_UNITS:
            for e in active[unit]:
                if e.get("att_kind") != "hm":
                    continue
                if e.get("att") in load:
                    load[e["att"]] += 1
        for unit in MED_UNITS:
            for e in sorted(active[unit], key=lambda e: e["id"]):
                if e.get("att_kind") != "hm":
                    continue
                pi = e["p"]
                att = e.get("att")
                if att not in load:
                    dual_crh = [s for s in hm_on if self.staff[s]["kw"].get("dual") and d % 3 == 0]
                    c = sorted((x for x in hm_on if x not in dual_crh and self.ok(pi, None, [x])),
                               key=lambda x: (load[x], x))
                    if not c:
                        continue
                    att = c[0]
                    e["att"] = att
                    load[att] += 1
                    self.add_part(e, att, "ATND")
                t = max(e["start"] + 30 * MIN, self.at(d, 7.5 + r.random() * 4))
                if t < e["end"]:
                    self.task(t, att, pi, "md_round", "hospitalist_rounds", "org-cmc-hm")
                    if r.random() < 0.5:
                        t2 = self.at(d, 13 + r.random() * 5)
                        if t2 < e["end"]:
                            self.task(t2, att, pi, "open_chart", "hospitalist_rounds", "org-cmc-hm")
                if e["death"] and self.day_of(e["end"]) == d:
                    self.task(e["end"] + r.randint(30, 180) * MIN, att, pi, "sign_note", "post_death_documentation",
                              "org-cmc-hm")
        # non-hospitalist attendings and consultants round once a day
        for unit in ["org-cmc-4w", "org-cmc-ld", "org-cmc-peds", "org-cmc-bhu", "org-crh-ms", "org-cmc-5n", "org-cmc-6s"]:
            for e in active[unit]:
                pi = e["p"]
                if e.get("att_kind") == "hm":
                    spec = {"org-cmc-5n": "card", "org-cmc-6s": "onc"}.get(unit)
                    if spec is None or r.random() < 0.5:
                        continue
                    docs = [s for s in self.by_group.get("spec", []) if self.staff[s]["spec"] == spec]
                    ptype = "CON"
                else:
                    docs = self.attendings(e["att_kind"], day_a, "crh" if unit == "org-crh-ms" else "cmc")
                    ptype = "ATND"
                    if unit == "org-crh-ms" and d % 3 == 0:
                        docs = docs + [s for s in self.by_group.get("hosp", []) if self.staff[s]["kw"].get("dual")]
                on = [s for s in docs if self.staff[s]["sh"].get(d) and self.ok(pi, None, [s]) and
                      any(t not in ("remote",) for _, _, t in self.staff[s]["sh"][d])]
                if not on:
                    continue
                doc = e.get("att") if e.get("att") in on else self.pick(on)
                a0 = min(x for x, _, t in self.staff[doc]["sh"][d] if t != "remote")
                t = max(e["start"] + 20 * MIN, a0 + r.randint(5, 70) * MIN)
                if t < e["end"]:
                    self.add_part(e, doc, ptype)
                    self.task(t, doc, pi, "md_round", "attending_rounds" if ptype == "ATND" else "consult",
                              unit if unit == "org-crh-ms" else None)
        # residents on inpatient services
        for s in self.by_group.get("resident", []):
            sh = [x for x in self.staff[s]["sh"].get(d, [])]
            if not sh:
                continue
            a, b, _ = sh[0]
            orgs = self.orgs_at(s, a + HOUR)
            for unit in orgs:
                if unit not in self.census:
                    continue
                es = [e for e in active[unit] if self.ok(e["p"], None, [s])]
                for e in r.sample(es, min(len(es), r.randint(3, 6))):
                    self.add_part(e, s, "PART")
                    t = max(e["start"] + 20 * MIN, a + r.randint(20, 180) * MIN)
                    if t < min(b, e["end"]):
                        self.task(t, s, e["p"], "md_round", "resident_service", unit)
                        self.task(r.randint(t, max(t + 1, min(b, e["end"]) - 5 * MIN)), s, e["p"], "nurse_doc"
                                  if r.random() < 0.3 else "open_chart", "resident_service", unit)
        # nocturnist cross-cover
        for s in self.by_group.get("noct", []):
            for a, b, t in self.staff[s]["sh"].get(d, []):
                if t != "night":
                    continue
                pool = [e for u in MED_UNITS for e in self.census[u] if e["start"] < b and e["end"] > a]
                pool = [e for e in pool if self.ok(e["p"], None, [s])]
                for e in r.sample(pool, min(len(pool), r.randint(3, 6))):
                    tt = r.randint(max(a, e["start"]) + 10 * MIN, max(max(a, e["start"]) + 11 * MIN,
                                                                       min(b, e["end"]) - 10 * MIN))
                    self.add_part(e, s, "PART")
                    self.task(tt, s, e["p"], "open_chart", "night_cross_cover", "org-cmc-hm")
        # case management and social work (weekdays)
        if self.weekday(d) < 5:
            cms = self.by_group.get("cm", []) + self.by_group.get("sw", [])
            units = [u for u in CMC_UNITS]
            for k, s in enumerate(cms):
                sh = [x for x in self.staff[s]["sh"].get(d, [])]
                if not sh:
                    continue
                a, b, _ = sh[0]
                mine = units[k % len(units)::max(1, len(cms))] or [units[k % len(units)]]
                pool = [e for u in mine for e in active[u] if self.ok(e["p"], None, [s])]
                if len(pool) < 4:
                    pool += [e for u in units for e in active[u] if self.ok(e["p"], None, [s])][:10]
                n = r.randint(6, 10) if self.staff[s]["group"] == "cm" else r.randint(3, 6)
                for e in r.sample(pool, min(n, len(pool))):
                    t = r.randint(a + 20 * MIN, b - 30 * MIN)
                    if e["start"] < t < e["end"]:
                        self.add_part(e, s, "PART")
                        self.task(t, s, e["p"], "cm_review", "case_management", "org-cmc-cm")

    # ------------------------------------------------------------ ambulatory simulation
    def visit_pool(self, prov, org):
        s = self.staff[prov]
        if s["group"] == "therapist" or (s["spec"] == "bh"):
            return "bh"
        if s["spec"] in ("card", "onc", "ortho", "wh"):
            return s["spec"]
        if s["group"] == "resident":
            return "clinic:" + org
        return "panel:%d" % prov if self.rng.random() < 0.65 and ("panel:%d" % prov) in self.pool else "clinic:" + org

    def lead_time(self):
        r = self.rng
        x = r.random()
        if x < 0.15:
            return r.randint(1, 4) * HOUR
        if x < 0.4:
            return r.randint(1, 3) * DAY + r.randint(0, 8) * HOUR
        return r.randint(4, 45) * DAY + r.randint(0, 8) * HOUR

    def simulate_clinics(self):
        r = self.rng
        vol = self.vol
        provs = [s["i"] for s in self.staff if s["group"] in ("pcp", "spec", "therapist", "infusion_rn")]
        provs += [s for s in self.by_group.get("resident", [])]
        for d in range(0, self.D + FUT):
            if self.weekday(d) >= 5:
                continue
            future = d >= self.D
            for prov in provs:
                s = self.staff[prov]
                if future:
                    if r.random() < 0.12:
                        continue
                    org = s["org"] if s["group"] != "resident" else None
                    if s["group"] == "resident":
                        continue
                    a, b = self.at(d, 7.5), self.at(d, 17)
                else:
                    sh = [x for x in s["sh"].get(d, []) if x[2] in ("clinic", "day")]
                    if not sh:
                        continue
                    a, b, tag = sh[0]
                    if s["group"] == "resident":
                        orgs = [o for o in self.orgs_at(prov, a + HOUR) if self.orgs[o]["kind"] == "clinic"]
                        if not orgs:
                            continue
                        org = orgs[0]
                    elif tag != "clinic":
                        continue
                    else:
                        org = s["roles"][0]["org"]
                if s["group"] == "infusion_rn":
                    org = "org-amb-onc"
                code = s["roles"][0]["code"]
                n = {"therapist": 5, "nurse-practitioner": 7, "physician-assistant": 7, "resident": 5}.get(code, 8)
                if s["group"] == "spec":
                    n = 8 if s["spec"] == "ortho" else 6
                if s["group"] == "infusion_rn":
                    n = 4
                n = max(1, int(round(n * vol * r.uniform(0.8, 1.15))))
                slot = (b - a - 90 * MIN) // max(1, n)
                for k in range(n):
                    st = a + 45 * MIN + k * slot + r.randint(0, 5) * MIN
                    if s["group"] == "infusion_rn":
                        dur = r.randint(90, 240) * MIN
                        key = "onc"
                    else:
                        dur = (50 if code == "therapist" else r.choice([15, 20, 20, 30, 40])) * MIN
                        key = self.visit_pool(prov, org)
                    booked = st - self.lead_time()
                    if future and booked >= self.WEND:
                        continue
                    pi = self.choose(key, lambda x: (x, d) not in self.visited and
                                     self.alive(x, min(st, self.WEND)) and self.ok(x, org, [prov]) and
                                     (future or self.free(x, st - HOUR, st + dur)), 25)
                    if pi is None:
                        continue
                    self.visited.add((pi, d))
                    vr = s["group"] != "infusion_rn" and r.random() < (0.5 if org == "org-amb-bh" else 0.18)
                    cls = "VR" if vr else "AMB"
                    typ = "Infusion" if s["group"] == "infusion_rn" else ("Telehealth visit" if vr else "Office visit")
                    e = self.add_enc(pi, cls, org, st, st + dur, status="planned" if future else "finished", typ=typ,
                                     booked=booked, by="cc" if r.random() < 0.65 else "fd",
                                     referral=(org in PC_CLINICS + ["org-amb-rfm"] and r.random() < 0.08),
                                     auth=(s["group"] == "infusion_rn" or (s["spec"] in ("ortho", "card") and
                                                                           r.random() < 0.25)))
                    self.add_part(e, prov, "PPRF")
                    if s["group"] == "infusion_rn":
                        doc = self.pats[pi].get("onc_doc")
                        if doc is not None:
                            self.add_part(e, doc, "REF")
                    if future:
                        continue
                    ma = s.get("ma")
                    if ma is not None and not vr and self.staff[ma]["sh"].get(d) and self.ok(pi, None, [ma]):
                        self.add_part(e, ma, "PART")
                        self.task(st - r.randint(4, 12) * MIN, ma, pi, "ma_room", "clinic_rooming", org)
                    sc = s.get("scribe")
                    if sc is not None and self.staff[sc]["sh"].get(d) and self.ok(pi, None, [sc]):
                        self.add_part(e, sc, "PART")
                        self.task(st + r.randint(1, 4) * MIN, sc, pi, "scribe_doc", "remote_scribe", org, remote=True)
                    if s["group"] == "infusion_rn":
                        self.task(st + r.randint(3, 10) * MIN, prov, pi, "infusion", "infusion", org)
                        self.task(st + dur - r.randint(5, 20) * MIN, prov, pi, "nurse_doc", "infusion", org)
                    elif code == "therapist":
                        self.task(st + r.randint(0, 3) * MIN, prov, pi, "therapy", "behavioral_health_session", org)
                    else:
                        if r.random() < 0.5:
                            self.task(a + r.randint(0, 40) * MIN, prov, pi, "open_chart", "previsit_review", org)
                        self.task(st + r.randint(1, 5) * MIN, prov, pi, "visit_md", "clinic_visit", org)
                        eve = [x for x in s["sh"].get(d, []) if x[2] == "remote"]
                        if eve and r.random() < 0.6:
                            self.task(r.randint(eve[0][0], eve[0][1] - 5 * MIN), prov, pi, "sign_note",
                                      "evening_charting", org, remote=True)
                        else:
                            self.task(st + dur + r.randint(5, 150) * MIN, prov, pi, "sign_note", "clinic_visit", org)
                    if cls == "AMB":
                        fds = [x for x in self.by_group.get("fd", []) if self.staff[x]["org"] == org and
                               self.staff[x]["sh"].get(d) and self.ok(pi, None, [x])]
                        if fds:
                            self.task(st - r.randint(8, 20) * MIN, self.pick(fds), pi, "checkin", "clinic_checkin", org)
        # scripted future/other clinic visits for the spare VIPs (legitimate care, hard negatives)
        for p in self.vips:
            if not any(p is inc["targets"][0] for inc in self.incidents if inc["kind"] == "VIP"):
                org = self.pick(["org-amb-card", "org-amb-ortho", "org-amb-pcs"])
                d = self.D - 3
                while self.weekday(d) >= 5:
                    d -= 1
                st = self.at(d, 10 + r.random() * 4)
                self.scripted_visit({"p": p, "org": org, "start": st, "end": st + 30 * MIN})

    def simulate_periop(self):
        """Outpatient surgery at CMC Perioperative Services (booked ahead, prior-authorised)."""
        r = self.rng
        org = "org-cmc-surg"
        surgeons = [s["i"] for s in self.staff if s["group"] == "surgeon" or (s["group"] == "spec" and s["spec"] == "ortho")]
        rns = self.by_group.get("periop_rn", [])
        anes = self.by_group.get("anes", [])
        if not surgeons or not rns:
            return
        for d in range(0, self.D + FUT):
            if self.weekday(d) >= 5:
                continue
            future = d >= self.D
            n = max(1, int(round(len(rns) * 1.2 * self.vol)))
            for k in range(n):
                st = self.at(d, 7.25 + k * (8.5 / n) + r.random() * 0.25)
                dur = r.randint(45, 150) * MIN
                work = [x for x in surgeons if future or self.staff[x]["sh"].get(d)]
                if not work:
                    continue
                sg = self.pick(work)
                key = "ortho" if self.staff[sg]["spec"] == "ortho" else self.pick(["cmc_adult", "onc", "wh"])
                booked = st - r.randint(7, 40) * DAY - r.randint(0, 8) * HOUR
                if future and booked >= self.WEND:
                    continue
                pi = self.choose(key, lambda x: (x, d) not in self.visited and self.alive(x, min(st, self.WEND)) and
                                 self.pats[x]["reserved"] is None and self.ok(x, org, [sg]) and
                                 (future or self.free(x, st - 2 * HOUR, st + dur + 4 * HOUR)), 25)
                if pi is None:
                    continue
                self.visited.add((pi, d))
                e = self.add_enc(pi, "AMB", org, st, st + dur + 2 * HOUR, status="planned" if future else "finished",
                                 typ="Outpatient surgery", booked=booked, by="cc", auth=True)
                self.add_part(e, sg, "PPRF")
                if future:
                    continue
                self.task(st - r.randint(40, 90) * MIN, sg, pi, "open_chart", "perioperative", org)
                self.task(st + dur + r.randint(5, 30) * MIN, sg, pi, "sign_note", "perioperative", org)
                for grp, tm in ((rns, "nurse_round"), (anes, "md_round")):
                    c = [x for x in grp if self.staff[x]["sh"].get(d) and self.ok(pi, None, [x])]
                    if not c:
                        continue
                    x = self.pick(c)
                    self.add_part(e, x, "PART")
                    self.task(st - r.randint(20, 50) * MIN, x, pi, tm, "perioperative", org)
                    for _ in range(r.randint(1, 2)):
                        self.task(st + r.randint(5, dur // MIN + 90) * MIN, x, pi, "nurse_doc", "perioperative", org)

    def clinic_worklists(self):
        """In-basket, pre-visit preparation, weekend call and remote charting."""
        r = self.rng
        vol = self.vol
        nextday = {}
        for e in self.encs:
            if e["cls"] in ("AMB", "VR") and self.W0 <= e["start"] < self.WEND + 4 * DAY:
                nextday.setdefault((e["org"], self.day_of(e["start"])), []).append(e)
        for s in self.staff:
            si = s["i"]
            g = s["group"]
            if g not in ("pcp", "spec", "therapist", "clinic_rn", "ma", "fd"):
                continue
            for d in range(0, self.D):
                for a, b, tag in s["sh"].get(d, []):
                    if tag == "clinic":
                        org = s["roles"][0]["org"]
                        if g in ("pcp", "spec", "therapist"):
                            n = int(round(r.randint(4, 8) * vol))
                            key = self.visit_pool(si, org)
                            if g == "therapist":
                                key = [p for p in self.pool.get("bh", []) if si in (self.pats[p].get("bh_team") or [])] \
                                    or "bh"
                            for _ in range(n):
                                t = r.randint(a + 30 * MIN, b - 10 * MIN)
                                pi = self.choose(key, lambda x: self.alive(x, t) and self.ok(x, None, [si]) and
                                                self.linked(si, x, t) is not None, 15)
                                if pi is not None:
                                    self.task(t, si, pi, "inbasket", "in_basket", org)
                        elif g == "clinic_rn":
                            key = "clinic:" + org if org in PC_CLINICS + ["org-amb-rfm"] else \
                                {"org-amb-card": "card", "org-amb-onc": "onc"}.get(org, "clinic:" + org)
                            for _ in range(int(round(r.randint(9, 15) * vol))):
                                t = r.randint(a + 20 * MIN, b - 10 * MIN)
                                pi = self.choose(key, lambda x: self.alive(x, t) and self.ok(x, None, [si]) and
                                                self.linked(si, x, t) is not None, 15)
                                if pi is not None:
                                    self.task(t, si, pi, "inbasket", "nurse_in_basket", org)
                        elif g == "ma":
                            nd = d + (3 if self.weekday(d) == 4 else 1)
                            es = [e for e in nextday.get((org, nd), []) if s["i"] == self.staff[e["parts"][0]].get("ma")]
                            for e in r.sample(es, min(len(es), int(round(r.randint(2, 5) * vol)))):
                                t = r.randint(b - 3 * HOUR, b - 10 * MIN)
                                if self.ok(e["p"], None, [si]):
                                    self.task(t, si, e["p"], "open_chart", "previsit_prep", org)
                    elif tag == "oncall":
                        spec = s["spec"]
                        org = SPEC_CLINIC.get(spec, s["roles"][0]["org"])
                        key = {"pedn": "clinic:org-amb-pedn", "peds": "clinic:org-amb-peds"}.get(spec, spec)
                        for _ in range(int(round(r.randint(4, 9) * vol))):
                            t = r.randint(a, b - 10 * MIN)
                            pi = self.choose(key, lambda x: self.alive(x, t) and self.ok(x, None, [si]) and
                                            self.linked(si, x, t) is not None, 20)
                            if pi is not None:
                                self.task(t, si, pi, "oncall", "weekend_on_call", org, remote=r.random() < 0.6)

    # ------------------------------------------------------------ home health
    def simulate_home_health(self):
        r = self.rng
        vol = self.vol
        team = self.by_group.get("hh_rn", [])
        if not team:
            return
        caseload = {s: [] for s in team}
        n0 = int(len(team) * 14)
        cands = [pi for pi in self.pool.get("cmc_old", []) + self.pool.get("crh_old", [])]
        r.shuffle(cands)
        k = 0
        for pi in cands:
            if k >= n0:
                break
            if not self.alive(pi, self.W0) or not self.ok(pi, "org-hh"):
                continue
            nurse = team[k % len(team)]
            if not self.ok(pi, None, [nurse]):
                continue
            ct = self.add_ct(self.pats[pi], "Home health episode", [nurse], ["org-hh"], "org-hh",
                             self.W0 - r.randint(5, 55) * DAY)
            caseload[nurse].append((pi, ct))
            k += 1
        # new referrals after discharge
        coords = self.by_group.get("hh_coord", [])
        for e in list(self.encs):
            if e["cls"] != "IMP" or e["death"] or not (self.W0 - DAY <= e["end"] < self.WEND):
                continue
            p = self.pats[e["p"]]
            if p["age"] < 65 or p["reserved"] is not None or r.random() > 0.3 or not self.ok(e["p"], "org-hh"):
                continue
            nurse = self.pick(team)
            if not self.ok(e["p"], None, [nurse]):
                continue
            ct = self.add_ct(p, "Home health episode", [nurse], ["org-hh"], "org-hh", e["end"])
            caseload[nurse].append((e["p"], ct))
            if coords:
                t = e["end"] + r.randint(2, 20) * HOUR
                on = [c for c in coords if self.on_shift(c, t)]
                c = self.pick(on or coords)
                if not on:
                    dd = self.day_of(t) + 1
                    while dd < self.D and not self.staff[c]["sh"].get(dd):
                        dd += 1
                    if dd >= self.D:
                        continue
                    a, b, _ = self.staff[c]["sh"][dd][0]
                    t = r.randint(a + 15 * MIN, b - 15 * MIN)
                self.task(t, c, e["p"], "referral", "home_health_intake", "org-hh", purpose="COC")
        # scripted hospice deaths at home
        for sc in self.scripted:
            if sc["cls"] != "HH":
                continue
            pi = sc["p"]["i"]
            td = sc["p"]["hospice_death"]
            nurses = [x for x in team if self.ok(pi, None, [x])]
            nurse = self.pick(nurses)
            ct = self.add_ct(sc["p"], "Home health hospice episode", [nurse], ["org-hh"], "org-hh", td - 24 * DAY,
                             end=td + DAY)
            for back in (8, 5, 3, 1):
                st = self.at(self.day_of(td - back * DAY), 9 + r.random() * 6)
                e = self.add_enc(pi, "HH", "org-hh", st, st + r.randint(40, 75) * MIN, status="finished",
                                 typ="Home health hospice visit")
                self.add_part(e, nurse, "PPRF")
                self.task(st + 5 * MIN, nurse, pi, "hh_visit", "home_health_visit", "org-hh")
            st = td + r.randint(40, 120) * MIN
            e = self.add_enc(pi, "HH", "org-hh", st, st + 50 * MIN, status="finished", death=True,
                             typ="Home health hospice visit (death at home)")
            self.add_part(e, nurse, "PPRF")
            self.task(st + 10 * MIN, nurse, pi, "sign_note", "post_death_documentation", "org-hh")
        # visits
        last = {}
        for d in range(0, self.D):
            for nurse in team:
                sh = self.staff[nurse]["sh"].get(d, [])
                main = [x for x in sh if x[2] == "hh"]
                if not main:
                    continue
                a, b, _ = main[0]
                eve = [x for x in sh if x[2] == "remote"]
                cl = [(pi, ct) for pi, ct in caseload[nurse] if ct["start"] <= a and self.alive(pi, b) and
                      last.get(pi, -9) <= d - 2 and self.free(pi, a, b)]
                n = min(len(cl), int(round(r.randint(4, 6) * vol)))
                for k2, (pi, ct) in enumerate(r.sample(cl, n)):
                    st = a + 30 * MIN + k2 * ((b - a - 90 * MIN) // max(1, n))
                    e = self.add_enc(pi, "HH", "org-hh", st, st + r.randint(40, 70) * MIN, status="finished",
                                     typ="Home health visit")
                    self.add_part(e, nurse, "PPRF")
                    last[pi] = d
                    self.task(st + r.randint(2, 8) * MIN, nurse, pi, "hh_visit", "home_health_visit", "org-hh")
                    if eve and r.random() < 0.7:
                        self.task(r.randint(eve[0][0], eve[0][1] - 5 * MIN), nurse, pi, "sign_note",
                                  "home_health_evening_charting", "org-hh", remote=True)

    # ------------------------------------------------------------ back office, contact center, ancillaries
    def office_shifts(self, group):
        for si in self.by_group.get(group, []):
            for d in range(0, self.D):
                for a, b, t in self.staff[si]["sh"].get(d, []):
                    if t in ("office", "cc", "day", "night", "hh"):
                        yield si, d, a, b

    def range_pick(self, lst, keys, lo, hi, accept, tries=30):
        i0 = bisect.bisect_left(keys, lo)
        i1 = bisect.bisect_right(keys, hi)
        if i1 <= i0:
            return None
        for _ in range(tries):
            e = lst[self.rng.randrange(i0, i1)]
            if accept(e):
                return e
        return None

    def back_office(self):
        r = self.rng
        vol = self.vol
        fin = sorted((e for e in self.encs if e["end"] is not None and e["status"] == "finished" and e["end"] < self.WEND),
                     key=lambda e: (e["end"], e["id"]))
        fin_keys = [e["end"] for e in fin]
        fut = sorted((e for e in self.encs if e.get("auth") or e.get("surgery")), key=lambda e: (e["start"], e["id"]))
        fut_keys = [e["start"] for e in fut]
        cw = {"IMP": 1.0, "EMER": 0.7, "AMB": 0.25, "VR": 0.25, "HH": 0.2}
        done_auth, done_ref = set(), set()
        for si, d, a, b in self.office_shifts("coder"):
            for _ in range(int(round(r.randint(16, 24) * vol))):
                t = r.randint(a + 10 * MIN, b - 10 * MIN)
                e = self.range_pick(fin, fin_keys, t - 14 * DAY, t - 20 * HOUR, lambda e: r.random() < cw[e["cls"]])
                if e is not None and self.ok(e["p"], None, [si]):
                    self.task(t, si, e["p"], "coding", "coding", "org-ss-coding", purpose="HOPERAT")
        for si, d, a, b in self.office_shifts("biller"):
            for _ in range(int(round(r.randint(12, 18) * vol))):
                t = r.randint(a + 10 * MIN, b - 10 * MIN)
                e = self.range_pick(fin, fin_keys, t - 60 * DAY, t - 5 * DAY, lambda e: True)
                if e is not None and self.ok(e["p"], None, [si]):
                    self.task(t, si, e["p"], "billing", "billing_follow_up", "org-ss-pfs", purpose="HPAYMT")
        for si, d, a, b in self.office_shifts("quality"):
            for _ in range(int(round(r.randint(4, 6) * vol))):
                t = r.randint(a + 10 * MIN, b - 60 * MIN)
                e = self.range_pick(fin, fin_keys, t - 75 * DAY, t - 14 * DAY,
                                    lambda e: e["cls"] in ("IMP", "EMER") and (e["death"] or r.random() < 0.5))
                if e is not None and self.ok(e["p"], None, [si]):
                    for k in range(r.randint(2, 3)):
                        self.task(t + k * r.randint(8, 25) * MIN, si, e["p"], "quality", "quality_abstraction",
                                  "org-ss-qual", purpose="HOPERAT")
        for si, d, a, b in self.office_shifts("roi"):
            for _ in range(int(round(r.randint(9, 14) * vol))):
                t = r.randint(a + 10 * MIN, b - 10 * MIN)
                if r.random() < 0.15:
                    e = self.range_pick(fin, fin_keys, t - 12 * DAY, t - 1 * DAY, lambda e: e["death"])
                else:
                    e = self.range_pick(fin, fin_keys, t - 540 * DAY, t - DAY, lambda e: True)
                if e is not None and self.ok(e["p"], None, [si]):
                    self.task(t, si, e["p"], "roi", "release_of_information", "org-ss-him",
                              purpose=self.pick(["PATRQT", "HLEGAL", "HPAYMT", "COC"]),
                              extra={"export": r.random() < 0.25})
        for si, d, a, b in self.office_shifts("pauth"):
            for _ in range(int(round(r.randint(10, 15) * vol))):
                t = r.randint(a + 10 * MIN, b - 10 * MIN)
                e = self.range_pick(fut, fut_keys, t + 2 * DAY, t + 30 * DAY, lambda e: e["id"] not in done_auth)
                if e is not None and self.ok(e["p"], None, [si]):
                    done_auth.add(e["id"])
                    self.task(t, si, e["p"], "priorauth", "prior_authorization", "org-ss-auth", purpose="HPAYMT")
        for si, d, a, b in self.office_shifts("referral"):
            for _ in range(int(round(r.randint(9, 13) * vol))):
                t = r.randint(a + 10 * MIN, b - 10 * MIN)
                e = self.range_pick(fin, fin_keys, t - 6 * DAY, t - 12 * HOUR,
                                    lambda e: (e.get("referral") or (e["cls"] in ("AMB", "VR") and r.random() < 0.1))
                                    and e["id"] not in done_ref)
                if e is not None and self.ok(e["p"], None, [si]):
                    done_ref.add(e["id"])
                    self.task(t, si, e["p"], "referral", "referral_processing", "org-ss-ref", purpose="COC")
        for si, d, a, b in self.office_shifts("pop"):
            mine = self.registry.get(si, [])
            others = [x for k, v in self.registry.items() if k != si for x in v]
            for _ in range(int(round(r.randint(24, 36) * vol))):
                t = r.randint(a + 10 * MIN, b - 10 * MIN)
                src = mine if (r.random() < 0.9 or not others) else others
                if not src:
                    continue
                pi = self.pick(src)
                if not self.alive(pi, t):
                    if r.random() < 0.3:     # the registry list still carries a patient who has died
                        self.task(t, si, pi, "pophealth", "pophealth_stale", "org-ss-pop", purpose="POPHLTH")
                    continue
                self.task(t, si, pi, "pophealth", "registry_outreach" if src is mine else "registry_outreach_cover",
                          "org-ss-pop", purpose="POPHLTH")

    def contact_center(self):
        r = self.rng
        vol = self.vol
        scheds = self.by_group.get("sched", [])
        calls = {}
        for e in self.encs:
            bk = e.get("booked")
            if bk is None or not (self.W0 <= bk < self.WEND):
                continue
            if e["by"] == "cc" and scheds:
                on = [s for s in scheds if self.on_shift(s, bk)]
                if not on:
                    d = self.day_of(bk)
                    opts = [(s, a, b) for s in scheds for a, b, t in self.staff[s]["sh"].get(d, [])
                            if t == "cc" and b > bk] or \
                           [(s, a, b) for s in scheds for a, b, t in self.staff[s]["sh"].get(d + 1, []) if t == "cc"]
                    if not opts:
                        continue
                    s, a, b = self.pick(opts)
                    bk = r.randint(max(a, bk) + 5 * MIN, b - 5 * MIN) if b - max(a, bk) > 10 * MIN else a + 10 * MIN
                    if bk >= e["start"]:
                        continue
                else:
                    s = self.pick(on)
                if self.ok(e["p"], None, [s]):
                    self.sched_call(s, bk, e["p"], "appointment_booking")
                    calls[(s, self.day_of(bk))] = calls.get((s, self.day_of(bk)), 0) + 1
            elif e["by"] == "fd":
                d = self.day_of(bk)
                fds = [x for x in self.by_group.get("fd", []) if self.staff[x]["org"] == e["org"] and
                       self.staff[x]["sh"].get(d) and self.ok(e["p"], None, [x])]
                if fds:
                    s = self.pick(fds)
                    a, b, _ = self.staff[s]["sh"][d][0]
                    if a < e["start"]:
                        t = r.randint(a + 5 * MIN, min(b, e["start"]) - 2 * MIN) if min(b, e["start"]) - a > 8 * MIN else a + 3 * MIN
                        self.task(t, s, e["p"], "sched_call", "front_desk_scheduling", e["org"])
        upcoming = [e for e in self.encs if e["start"] >= self.W0 and e["cls"] in ("AMB", "VR")]
        upcoming.sort(key=lambda e: (e["start"], e["id"]))
        up_keys = [e["start"] for e in upcoming]
        for si, d, a, b in self.office_shifts("sched"):
            have = calls.get((si, d), 0)
            for _ in range(max(0, int(round(r.randint(18, 26) * vol)) - have)):
                t = r.randint(a + 5 * MIN, b - 5 * MIN)
                if r.random() < 0.6:
                    e = self.range_pick(upcoming, up_keys, t + HOUR, t + 40 * DAY, lambda e: True)
                    pi = e["p"] if e is not None else None
                    scen = "appointment_change"
                else:
                    pi = self.choose("all", lambda x: self.alive(x, t) and self.linked(si, x, t) is not None, 10)
                    scen = "patient_question_call"
                if pi is not None and self.ok(pi, None, [si]):
                    self.sched_call(si, t, pi, scen)
        for si, d, a, b in self.office_shifts("triage"):
            for _ in range(int(round(r.randint(14, 22) * vol))):
                t = r.randint(a + 5 * MIN, b - 5 * MIN)
                pi = self.choose("all", lambda x: self.alive(x, t) and self.ok(x, None, [si]) and
                                 self.linked(si, x, t) is not None, 10)
                if pi is not None:
                    self.task(t, si, pi, "triage_call", "nurse_triage_line", "org-cc")

    def sched_call(self, si, t, pi, scen):
        r = self.rng
        if r.random() < 0.1:
            fam = self.norm(self.persons[self.pats[pi]["person"]]["family"][0])
            same = self.by_surname.get(fam, [])
            if len(same) > 1:
                other = self.pick(same)
                if other != pi and self.alive(other, t) and self.ok(other, None, [si]) and \
                        self.linked(si, other, t) is not None:
                    self.task(t - r.randint(20, 60), si, other, "quick_look", "search_wrong_patient", "org-cc",
                              purpose="HOPERAT")
        self.task(t, si, pi, "sched_call", scen, "org-cc", purpose="HOPERAT")

    def ancillaries(self):
        r = self.rng
        vol = self.vol
        act = {"cmc": [], "crh": []}
        for e in self.encs:
            if e["cls"] in ("IMP", "EMER") and e["end"] is not None and e["end"] > self.W0 and e["start"] < self.WEND:
                act[self.orgs[e["org"]]["hosp"]].append(e)
        for hosp in act:
            act[hosp].sort(key=lambda e: (e["start"], e["id"]))
        spec = {"pharm": (16, "pharm_verify", "pharmacy_verification"), "lab": (14, "lab_result", "lab_resulting"),
                "rad": (9, "lab_result", "imaging"), "crh_anc": (10, "lab_result", "crh_ancillary")}
        for g, (n, tm, scen) in spec.items():
            for si in self.by_group.get(g, []):
                code = self.staff[si]["roles"][0]["code"]
                hosp = self.orgs[self.staff[si]["org"]]["hosp"]
                if code == "pharmacist":
                    tm, scen = "pharm_verify", "pharmacy_verification"
                for d in range(0, self.D):
                    for a, b, t in self.staff[si]["sh"].get(d, []):
                        k = int(round(n * vol * r.uniform(0.7, 1.2) * (0.6 if hosp == "crh" else 1.0)))
                        for _ in range(k):
                            ts = r.randint(a + 10 * MIN, b - 10 * MIN)
                            cands = [e for e in act[hosp] if e["start"] - 2 * HOUR <= ts <= e["end"]]
                            if not cands:
                                continue
                            e = self.pick(cands)
                            if self.ok(e["p"], None, [si]):
                                self.task(ts, si, e["p"], tm, scen, self.staff[si]["org"])

    # ------------------------------------------------------------ explanation model
    def linked(self, si, pi, ts):
        rs = self.roles_at(si, ts)
        orgs = [x["org"] for x in rs]
        for e in self.enc_by_pat[pi]:
            st = e["start"]
            en = e["end"] if e["end"] is not None else self.WEND
            if st > ts + 60 * DAY or en < ts - 548 * DAY:
                continue
            if si in e["parts"]:
                return "participant"
            if e["org"] in orgs:
                return "department"
        for ct in self.ct_by_pat[pi]:
            if ct["start"] <= ts and (ct["end"] is None or ts <= ct["end"]):
                if si in ct["members"] or any(o in orgs for o in ct["orgs"]):
                    return "care_team"
        for x in rs:
            c = x["code"]
            if c not in BROAD:
                continue
            hosp = self.orgs[x["org"]]["hosp"]
            for e in self.enc_by_pat[pi]:
                st = e["start"]
                en = e["end"] if e["end"] is not None else self.WEND
                if c in ("scheduler", "triage-nurse"):
                    if en >= ts - 548 * DAY:
                        return "role"
                elif c == "him-clerk":
                    if st < ts:
                        return "role"
                elif c == "coder":
                    if ts - 45 * DAY <= en <= ts:
                        return "role"
                elif c == "billing-clerk":
                    if ts - 120 * DAY <= en <= ts or ts <= st <= ts + 60 * DAY:
                        return "role"
                elif c == "quality-abstractor":
                    if e["cls"] in ("IMP", "EMER") and ts - 120 * DAY <= en <= ts:
                        return "role"
                elif c == "prior-auth-specialist":
                    if ts - DAY <= st <= ts + 45 * DAY:
                        return "role"
                elif c == "referral-coordinator":
                    if ts - 30 * DAY <= en <= ts or ts <= st <= ts + 60 * DAY:
                        return "role"
                elif c == "intake-coordinator":
                    if (e["cls"] == "IMP" and ts - 30 * DAY <= en <= ts) or e["cls"] == "HH":
                        return "role"
                elif c in ("pharmacist", "lab-technologist", "radiology-technologist"):
                    if e["cls"] in ("IMP", "EMER") and self.orgs[e["org"]]["hosp"] == hosp and \
                            st - 2 * HOUR <= ts <= en + 6 * HOUR:
                        return "role"
        return None

    # ------------------------------------------------------------ unexplained legitimate work
    UNEXPLAINED = {
        "clinic_rn": [("phone_question_other_clinic", "quick_look"), ("covering_colleague_in_basket", "inbasket")],
        "ma": [("phone_question_other_clinic", "quick_look"), ("helping_other_clinic_refill", "inbasket")],
        "fd": [("front_desk_family_member_request", "quick_look"), ("lookup_for_walk_in_at_wrong_site", "quick_look")],
        "ed_reg": [("front_desk_family_member_request", "quick_look")],
        "crh_reg": [("front_desk_family_member_request", "quick_look")],
        "pcp": [("covering_colleague_in_basket", "inbasket"), ("curbside_question_from_colleague", "open_chart")],
        "spec": [("curbside_question_from_colleague", "open_chart"), ("covering_colleague_in_basket", "inbasket")],
        "hosp": [("curbside_question_from_colleague", "open_chart")],
        "ed_md": [("outside_call_about_prior_patient", "open_chart")],
        "unit_rn": [("answering_family_call_for_other_unit", "quick_look")],
        "pharm": [("outpatient_pharmacy_phone_question", "pharm_verify")],
        "therapist": [("covering_colleague_in_basket", "inbasket")],
    }

    def add_unexplained(self):
        r = self.rng
        legit = sum(TEMPLATE_MEAN[t[3]] for t in self.tasks)
        goal = legit * self.a.unexplained / (1 - self.a.unexplained)
        got = 0.0
        pool = []
        for g, opts in self.UNEXPLAINED.items():
            for si in self.by_group.get(g, []):
                for d in range(0, self.D):
                    for a, b, t in self.staff[si]["sh"].get(d, []):
                        if t in ("remote", "oncall") or b - a < 3 * HOUR:
                            continue
                        pool.append((si, d, a, b, opts))
        if not pool:
            return
        targets = [p["i"] for p in self.pats if p["reserved"] is None and not p.get("inc")]
        guard = 0
        while got < goal and guard < 20000:
            guard += 1
            si, d, a, b, opts = self.pick(pool)
            scen, tm = self.pick(opts)
            t = r.randint(a + 30 * MIN, b - 30 * MIN)
            me = self.persons[self.staff[si]["person"]]
            pi = None
            for _ in range(30):
                x = self.pick(targets)
                if self.alive(x, t) and self.ok(x, None, [si]) and self.linked(si, x, t) is None and \
                        not self.related(me, self.persons[self.pats[x]["person"]]) and \
                        not (set(self.pats[x]["labels"]) & {"R", "V", "CEL"}):
                    pi = x
                    break
            if pi is None:
                continue
            self.task(t, si, pi, tm, scen, None, expl=False)
            got += TEMPLATE_MEAN[tm]

    # ------------------------------------------------------------ incident tasks
    def retime_incidents(self):
        """Move an incident into the insider's busiest shift of the last days (never into an empty case)."""
        r = self.rng
        per = {}
        for t in self.tasks:
            per.setdefault(t[1], []).append(t[0])
        for lst in per.values():
            lst.sort()
        days = list(range(self.D - 5, self.D))
        for inc in self.incidents:
            if inc["kind"] == "COMPROMISED":
                continue
            si = inc["si"]
            times = per.get(si, [])
            lo_w, hi_w = inc["window"] or (self.ds(self.D - 5), self.WEND)
            lo_w, hi_w = max(lo_w, self.ds(self.D - 5)), min(hi_w, self.WEND)
            best = None
            for d, a, b, tag in self.main_shifts(si, days):
                a2, b2 = max(a + 40 * MIN, lo_w + 45 * MIN), min(b, hi_w) - 40 * MIN
                if b2 <= a2:
                    continue
                n = bisect.bisect_left(times, b) - bisect.bisect_left(times, a)
                if best is None or n > best[0]:
                    best = (n, a2, b2)
            cur = inc["ts"]
            sh = self.on_shift(si, cur)
            n_cur = (bisect.bisect_left(times, sh[1]) - bisect.bisect_left(times, sh[0])) if sh else 0
            if best is not None and n_cur < 8 and best[0] > n_cur:
                inc["ts"] = r.randint(best[1], best[2])

    def usual_net(self, si, a, b):
        """The workstation (or VPN address) the insider used most in that shift, else overall."""
        cnt, order = {}, []
        for t in self.tasks:
            if t[1] == si and t[9] is None:
                k = (t[6], t[7])
                if k not in cnt:
                    cnt[k] = [0, 0]
                    order.append(k)
                cnt[k][1] += 1
                if a <= t[0] < b:
                    cnt[k][0] += 1
        if not order:
            return None
        ranked = sorted(order, key=lambda k: (-cnt[k][0], -cnt[k][1], order.index(k)))
        return ranked[0] if (len(ranked) == 1 or self.rng.random() < 0.75) else ranked[1]

    def incident_tasks(self):
        r = self.rng
        for inc in self.incidents:
            si = inc["si"]
            t = inc["ts"]
            sh = self.on_shift(si, t)
            net = None
            if inc["kind"] != "COMPROMISED":
                net = self.usual_net(si, sh[0] if sh else t - 8 * HOUR, sh[1] if sh else t + 4 * HOUR)
            info = {"inc": inc, "net": net} if net else {"inc": inc}
            org = self.org_at_time(si, t)
            end = sh[1] - 10 * MIN if sh else t + 3 * HOUR
            kind = inc["kind"]
            if kind == "COMPROMISED":
                self.harvest(inc)
                continue
            if kind == "SNOOPING":
                tg = inc["targets"]
                if inc["variant"] == "name_search_browse":
                    self.task(t, si, None, "name_search", "incident", org, extra=dict(info, query=inc["query"]), expl=False)
                    tt = t + r.randint(20, 60)
                    for p in tg:
                        self.task(tt, si, p["i"], "browse_look", "incident", org, extra=info, expl=False)
                        tt += r.randint(15, 150)
                else:
                    tt = t
                    for p in tg:
                        if r.random() < 0.7:
                            self.task(tt, si, None, "name_search", "incident", org,
                                      extra=dict(info, query=self.norm(self.persons[p["person"]]["family"][0]),
                                                 qpi=p["i"]), expl=False)
                        self.task(tt + r.randint(15, 50), si, p["i"], "snoop_look", "incident", org, extra=info,
                                  expl=False)
                        tt = min(end, tt + r.randint(10, 90) * MIN) if len(tg) > 1 else tt
                continue
            p = inc["targets"][0]
            if kind == "BREAK_GLASS":
                if r.random() < 0.5:
                    self.task(t - r.randint(20, 50), si, None, "name_search", "incident", org,
                              extra=dict(info, query=self.norm(self.persons[p["person"]]["family"][0]), qpi=p["i"]),
                              expl=False)
                self.task(t, si, p["i"], "btg_open", "incident", org, extra=dict(info, btg=True), expl=False)
                continue
            if r.random() < 0.55:
                self.task(t - r.randint(20, 60), si, None, "name_search", "incident", org,
                          extra=dict(info, query=self.norm(self.persons[p["person"]]["family"][0]), qpi=p["i"]),
                          expl=False)
            self.task(t, si, p["i"], inc.get("tmpl", "snoop_look"), "incident", org, extra=info, expl=False)
            if r.random() < 0.35 and end - t > 40 * MIN:
                self.task(r.randint(t + 30 * MIN, end), si, p["i"], "snoop_look", "incident", org, extra=info,
                          expl=False)

    def harvest(self, inc):
        r = self.rng
        si = inc["si"]
        t = inc["ts"]
        net = inc["net"]
        info = {"inc": inc, "net": net}
        tg = inc["targets"]
        for q in range(r.randint(2, 5)):
            self.task(t, si, None, "name_search", "incident", None,
                      extra=dict(info, query=self.pick(["a", "m", "s", "ng", "gar", "smi", "joh"]), harvest=True),
                      expl=False)
            t += r.randint(10, 60)
        for k, p in enumerate(tg):
            tm = "harvest_read" if r.random() < 0.7 else "harvest_everything"
            self.task(t, si, p["i"], tm, "incident", None, extra=info, expl=False)
            t += r.randint(8, 70)
        self.task(t + r.randint(30, 120), si, None, "group_export", "incident", None, extra=info, expl=False)

    def org_at_time(self, si, t):
        s = self.staff[si]
        if s["group"] == "float_rn":
            d = self.day_of(t)
            for (f, dd, tag), u in self.float_assign.items():
                if f == si and dd in (d, d - 1):
                    return u
        orgs = self.orgs_at(si, t)
        return orgs[-1] if s["group"] == "resident" and orgs else (orgs[0] if orgs else s["org"])

    # ------------------------------------------------------------ events
    def expand(self):
        r = self.rng
        evs = []
        seq = 0
        role_purpose = {"billing-clerk": "HPAYMT", "prior-auth-specialist": "HPAYMT", "coder": "HOPERAT",
                        "quality-abstractor": "HOPERAT", "population-health-nurse": "POPHLTH",
                        "referral-coordinator": "COC", "intake-coordinator": "COC", "scheduler": "HOPERAT"}
        self.tasks.sort(key=lambda t: (t[0], t[1], -1 if t[2] is None else t[2], t[3]))
        for ti, t in enumerate(self.tasks):
            ts, si, pi, tmpl, scen, expl, addr, nt, purpose, extra, org = t
            if purpose is None:
                code = self.staff[si]["roles"][0]["code"]
                purpose = role_purpose.get(code, "TREAT")
                if code == "him-clerk":
                    purpose = "PATRQT"
            cur = ts * 1000 + r.randrange(60000)
            if tmpl == "group_export":
                evs.append((cur, seq, ti, None, "E", "$export", "Group", (purpose,), "0", "export"))
                seq += 1
                continue
            steps = TEMPLATES[tmpl]
            btg = bool(extra and extra.get("btg"))
            purp = (purpose,)
            if btg:
                evs.append((cur, seq, ti, pi, "R", "read", "Patient", ("TREAT",), "4", None))
                seq += 1
                cur += r.randint(4000, 25000)
                purp = (purpose, "BTG") if purpose == "ETREAT" else ("BTG",)
                evs.append((cur, seq, ti, pi, "R", "read", "Patient", purp, "0", None))
                seq += 1
                cur += r.randint(3000, 40000)
            for act, sub, rt, lo, hi, fl in steps:
                n = lo if lo == hi else r.randint(lo, hi)
                for _ in range(n):
                    if btg and sub == "read" and rt == "Patient":
                        continue
                    q = None
                    p = pi
                    if fl == "q":
                        p = None
                        q = self.patient_query(pi, extra)
                    elif sub == "search-type":
                        q = "%s?patient=%s" % (rt, self.pats[pi]["id"])
                    elif sub == "$everything":
                        q = "Patient/%s/$everything" % self.pats[pi]["id"]
                    outcome = "0" if r.random() > 0.003 else "4"
                    if cur < self.WEND * 1000:
                        evs.append((cur, seq, ti, p, act, sub, rt, purp, outcome, q))
                        seq += 1
                    cur += r.randint(3000, 70000)
        evs.sort(key=lambda e: (e[0], e[1]))
        return evs

    def patient_query(self, pi, extra):
        r = self.rng
        if extra and extra.get("harvest"):
            return self.pick(["Patient?name=%s&_count=200" % extra["query"],
                              "Patient?birthdate=ge%d-01-01&_count=500" % r.randint(1930, 1990),
                              "Patient?address-postalcode=%s&_count=500" % self.pick([c[1] for c in CITIES]),
                              "Patient?_lastUpdated=ge2025-01-01&_count=1000"])
        if extra and extra.get("query") is not None:
            fam = extra["query"]
            qpi = extra.get("qpi")
            x = r.random()
            if qpi is not None and x < 0.35:
                person = self.persons[self.pats[qpi]["person"]]
                return "Patient?family=%s&given=%s" % (fam, self.norm(person["given"][0]))
            if x < 0.75:
                return "Patient?name=%s" % fam
            return "Patient?family=%s" % fam
        if pi is None:
            return "Patient?name=%s" % self.pick(["a", "m", "s"])
        person = self.persons[self.pats[pi]["person"]]
        fam, giv, dob = self.norm(person["family"][0]), self.norm(person["given"][0]), person["dob"].isoformat()
        x = r.random()
        if x < 0.45:
            return "Patient?family=%s&given=%s&birthdate=%s" % (fam, giv, dob)
        if x < 0.7:
            return "Patient?name=%s" % (fam if r.random() < 0.5 else "%s%%20%s" % (giv, fam))
        if x < 0.85:
            return "Patient?identifier=%s|%s" % (SYS_MRN, self.pats[pi]["mrn"])
        return "Patient?family=%s&birthdate=%s" % (fam, dob)

    def resource_ref(self, rt):
        return "%s/%012x" % (rt, self.rng.getrandbits(48))

    def write_all(self, out):
        r = self.rng
        ctx = os.path.join(out, "context")
        os.makedirs(ctx, exist_ok=True)

        def dump(obj):
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        # Organization
        with open(os.path.join(ctx, "Organization.ndjson"), "w", encoding="utf-8") as f:
            for o in self.orgs.values():
                typ = {"system": "prov", "hospital": "prov", "group": "prov", "cc": "dept", "hh": "prov",
                       "ss": "dept"}.get(o["kind"], "dept")
                res = {"resourceType": "Organization", "id": o["id"], "active": True,
                       "type": [{"coding": [{"system": SYS_ORGTYPE, "code": typ}]}], "name": o["name"]}
                if o["partOf"]:
                    res["partOf"] = {"reference": "Organization/" + o["partOf"]}
                f.write(dump(res) + "\n")
        # Practitioner and PractitionerRole
        with open(os.path.join(ctx, "Practitioner.ndjson"), "w", encoding="utf-8") as f, \
                open(os.path.join(ctx, "PractitionerRole.ndjson"), "w", encoding="utf-8") as g:
            for s in self.staff:
                person = self.persons[s["person"]]
                ids = [{"system": SYS_EMP, "value": s["empid"]},
                       {"use": "official", "system": SYS_LOGIN, "value": s["login"]}]
                if s["npi"]:
                    ids.append({"system": SYS_NPI, "value": s["npi"]})
                res = {"resourceType": "Practitioner", "id": s["id"], "active": True, "identifier": ids,
                       "name": [{"use": "official", "family": s["fam_txt"], "given": list(person["given"])}],
                       "gender": person["gender"], "birthDate": person["dob"].isoformat(),
                       "address": [self.render_addr(person["addr"], "std" if r.random() < 0.8 else None)]}
                f.write(dump(res) + "\n")
                for x in s["roles"]:
                    coding = [{"system": SYS_ROLE, "code": x["code"], "display": ROLE_DISPLAY[x["code"]]}]
                    if x["code"] in HL7ROLE:
                        coding.append({"system": SYS_HL7ROLE, "code": HL7ROLE[x["code"]]})
                    per = {"start": iso(x["start"])}
                    if x["end"] is not None:
                        per["end"] = iso(x["end"])
                    rr = {"resourceType": "PractitionerRole", "id": self.newid("role-", 40),
                          "active": x["end"] is None or x["end"] >= self.WEND, "period": per,
                          "practitioner": {"reference": "Practitioner/" + s["id"]},
                          "organization": {"reference": "Organization/" + x["org"]}, "code": [{"coding": coding}]}
                    if s["group"] == "float_rn":
                        rr["specialty"] = [{"text": "Float pool - any inpatient unit"}]
                    if s["kw"].get("travel"):
                        rr["specialty"] = [{"text": "Travel (contract) nurse"}]
                    if s.get("perdiem"):
                        rr["specialty"] = [{"text": "Per diem"}]
                    g.write(dump(rr) + "\n")
        # Patient
        with open(os.path.join(ctx, "Patient.ndjson"), "w", encoding="utf-8") as f:
            for p in self.pats:
                person = self.persons[p["person"]]
                ids = [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                              "code": "MR"}]}, "system": SYS_MRN, "value": p["mrn"]}]
                if p["legacy"]:
                    ids.append({"use": "old", "system": SYS_MRN_CRH, "value": p["legacy"]})
                res = {"resourceType": "Patient", "id": p["id"]}
                if p["labels"]:
                    sec = []
                    for c in p["labels"]:
                        sec.append({"system": SYS_CONF if c in ("R", "V", "N") else SYS_ACT, "code": c})
                    res["meta"] = {"security": sec}
                res.update({"identifier": ids, "active": True, "name": [self.pat_name(p)],
                            "gender": person["gender"], "birthDate": person["dob"].isoformat(),
                            "address": [self.render_addr(person["addr"], p["addr_style"])]})
                if p["dec"] is not None and p["dec"] < self.WEND:
                    res["deceasedDateTime"] = iso(p["dec"])
                f.write(dump(res) + "\n")
        # Encounter
        cls_disp = {"AMB": "ambulatory", "IMP": "inpatient encounter", "EMER": "emergency", "VR": "virtual",
                    "HH": "home health"}
        with open(os.path.join(ctx, "Encounter.ndjson"), "w", encoding="utf-8") as f:
            for e in sorted(self.encs, key=lambda e: (e["start"], e["id"])):
                if e["start"] >= self.WEND and e["status"] != "planned":
                    continue
                st = e["status"]
                per = {"start": iso(e["start"])}
                if st == "planned":
                    per["end"] = iso(e["end"])
                elif e["end"] is None or e["end"] > self.WEND:
                    st = "in-progress"
                else:
                    per["end"] = iso(e["end"])
                res = {"resourceType": "Encounter", "id": e["id"], "status": st,
                       "class": {"system": SYS_ACT, "code": e["cls"], "display": cls_disp[e["cls"]]},
                       "type": [{"text": e["type"] or cls_disp[e["cls"]]}],
                       "subject": {"reference": "Patient/" + self.pats[e["p"]]["id"]},
                       "participant": [{"type": [{"coding": [{"system": SYS_PTYPE, "code": t}]}],
                                        "individual": {"reference": "Practitioner/" + self.staff[s]["id"]}}
                                       for s, t in zip(e["parts"], e["ptypes"])],
                       "period": per, "serviceProvider": {"reference": "Organization/" + e["org"]}}
                if e["death"] and st == "finished":
                    res["hospitalization"] = {"dischargeDisposition": {"coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "exp",
                         "display": "Expired"}]}}
                f.write(dump(res) + "\n")
        # CareTeam
        with open(os.path.join(ctx, "CareTeam.ndjson"), "w", encoding="utf-8") as f:
            for ct in self.cts:
                per = {"start": iso(ct["start"])}
                active = ct["end"] is None or ct["end"] >= self.WEND
                if ct["end"] is not None:
                    per["end"] = iso(ct["end"])
                res = {"resourceType": "CareTeam", "id": ct["id"], "status": "active" if active else "inactive",
                       "name": ct["name"], "subject": {"reference": "Patient/" + self.pats[ct["p"]]["id"]},
                       "period": per,
                       "participant": [{"member": {"reference": "Practitioner/" + self.staff[s]["id"]}}
                                       for s in ct["members"]] +
                                      [{"member": {"reference": "Organization/" + o}} for o in ct["orgs"]],
                       "managingOrganization": [{"reference": "Organization/" + ct["managing"]}]}
                f.write(dump(res) + "\n")
        # AuditEvent, labels, truth
        evs = self.expand()
        stats = {"events": 0, "legit": 0, "unexplained": 0, "incident_events": 0, "by_scen": {}, "mismatch": 0}
        link_cache = {}
        with open(os.path.join(out, "AuditEvent.ndjson"), "w", encoding="utf-8") as fa, \
                open(os.path.join(out, "labels.ndjson"), "w", encoding="utf-8") as fl, \
                open(os.path.join(out, "truth.ndjson"), "w", encoding="utf-8") as ft:
            for ev in evs:
                ms, _, ti, pi, act, sub, rt, purp, outcome, q = ev
                ts, si, tpi, tmpl, scen, expl, addr, nt, _, extra, org = self.tasks[ti]
                s = self.staff[si]
                eid = "%08x-%04x-4%03x-%04x-%012x" % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(12),
                                                     0x8000 | r.getrandbits(14), r.getrandbits(48))
                person = self.persons[s["person"]]
                user = {"type": {"coding": [{"system": SYS_PTYPE, "code": "IRCP", "display": "information recipient"}]},
                        "who": {"identifier": {"system": SYS_LOGIN, "value": s["login"]},
                                "display": "%s, %s" % (s["fam_txt"], person["given"][0])},
                        "requestor": True, "network": {"address": addr, "type": nt},
                        "purposeOfUse": [{"coding": [{"system": SYS_REASON, "code": c}]} for c in purp]}
                server = {"type": {"coding": [{"system": SYS_DCM, "code": "110152", "display": "Destination Role ID"}]},
                          "who": {"display": "Cascade EHR FHIR API"}, "requestor": False,
                          "network": {"address": SERVER, "type": "1"}}
                ents = []
                if q == "export":
                    ents.append({"what": {"reference": "Group/all-active-patients"},
                                 "type": {"system": SYS_ENTTYPE, "code": "2", "display": "System Object"},
                                 "role": {"system": SYS_OROLE, "code": "24", "display": "Query"},
                                 "query": base64.b64encode(b"Group/all-active-patients/$export?_type=Patient,"
                                                           b"Observation,Condition,DocumentReference").decode()})
                elif q is not None:
                    ents.append({"type": {"system": SYS_ENTTYPE, "code": "2", "display": "System Object"},
                                 "role": {"system": SYS_OROLE, "code": "24", "display": "Query"},
                                 "query": base64.b64encode(q.encode("utf-8")).decode()})
                elif rt == "Patient" and pi is not None:
                    ents.append({"what": {"reference": "Patient/" + self.pats[pi]["id"]},
                                 "type": {"system": SYS_ENTTYPE, "code": "2", "display": "System Object"},
                                 "role": {"system": SYS_OROLE, "code": "4", "display": "Domain Resource"}})
                else:
                    ents.append({"what": {"reference": self.resource_ref(rt)},
                                 "type": {"system": SYS_ENTTYPE, "code": "2", "display": "System Object"},
                                 "role": {"system": SYS_OROLE, "code": "4", "display": "Domain Resource"}})
                if pi is not None:
                    ents.append({"what": {"reference": "Patient/" + self.pats[pi]["id"]},
                                 "type": {"system": SYS_ENTTYPE, "code": "1", "display": "Person"},
                                 "role": {"system": SYS_OROLE, "code": "1", "display": "Patient"}})
                sysv = SYS_OP if sub.startswith("$") else SYS_REST
                ae = {"resourceType": "AuditEvent", "id": eid,
                      "type": {"system": SYS_AETYPE, "code": "rest", "display": "Restful Operation"},
                      "subtype": [{"system": sysv, "code": sub}], "action": act,
                      "recorded": iso(ms // 1000, ms % 1000), "outcome": outcome}
                if outcome != "0":
                    ae["outcomeDesc"] = "403 access to restricted record denied" if rt == "Patient" and \
                        tmpl in ("btg_open",) or (extra and extra.get("btg")) else "404 resource not found"
                ae["agent"] = [server, user]
                ae["source"] = {"observer": {"display": "Cascade EHR"},
                                "type": [{"system": SYS_SRCTYPE, "code": "4", "display": "Application Server"}]}
                ae["entity"] = ents
                fa.write(dump(ae) + "\n")
                sec = ms // 1000
                lab = {"id": eid, "case": "%s|%s" % (s["login"], local_date(sec))}
                inc = extra.get("inc") if extra else None
                role, dept = self.role_dept(si, sec, org)
                tr = {"id": eid, "scenario": scen, "role": role, "department": dept}
                if inc is not None:
                    lab.update(incident=inc["id"], kind=inc["kind"], expected_reasons=inc["expected"])
                    tr.update(explained=False, incident=inc["id"], variant=inc["variant"], why=inc["why"])
                    stats["incident_events"] += 1
                else:
                    e_ok = expl
                    if expl and tpi is not None:
                        key = (si, tpi, ts // 3600)
                        lk = link_cache.get(key)
                        if lk is None:
                            lk = link_cache[key] = self.linked(si, tpi, ts) or ""
                        if not lk:
                            stats["mismatch"] += 1
                            e_ok = False
                    tr["explained"] = bool(e_ok)
                    stats["legit"] += 1
                    if not e_ok:
                        stats["unexplained"] += 1
                stats["by_scen"][scen] = stats["by_scen"].get(scen, 0) + 1
                fl.write(dump(lab) + "\n")
                ft.write(dump(tr) + "\n")
                stats["events"] += 1
        return stats

    def role_dept(self, si, ts, org):
        rs = self.roles_at(si, ts) or self.staff[si]["roles"][-1:]
        for x in rs:
            if x["org"] == org:
                return x["code"], x["org"]
        x = rs[-1] if self.staff[si]["group"] == "resident" else rs[0]
        return x["code"], x["org"]

    # ------------------------------------------------------------ orchestration
    def run(self, out):
        t0 = time.time()
        self.vol = self.a.volume
        self.visited = set()
        self.float_assign = {}
        self.vpn_cache = {}
        self.build_staff()
        self.build_workstations()
        self.build_schedules()
        self.build_population()
        self.plan_incidents()
        self.finalize_patients()
        self.by_surname = {}
        for p in self.pats:
            self.by_surname.setdefault(self.norm(self.persons[p["person"]]["family"][0]), []).append(p["i"])
        self.build_history()
        self.simulate_hospitals()
        self.simulate_clinics()
        self.simulate_periop()
        self.simulate_home_health()
        self.clinic_worklists()
        self.back_office()
        self.contact_center()
        self.ancillaries()
        self.add_unexplained()
        self.retime_incidents()
        self.incident_tasks()
        # incidents must not be explainable by the exported context
        self.inc_links = []
        for inc in self.incidents:
            if inc["kind"] == "COMPROMISED":
                continue
            for p in inc["targets"]:
                lk = self.linked(inc["si"], p["i"], inc["ts"])
                if lk:
                    self.inc_links.append((inc["id"], lk))
        stats = self.write_all(out)
        stats["seconds"] = time.time() - t0
        return stats


def T(*steps):
    return [s if len(s) == 6 else s + ("p",) for s in steps]


TEMPLATES = {
    "open_chart": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Encounter", 0, 1),
                    ("R", "read", "DocumentReference", 0, 2), ("R", "search-type", "Observation", 0, 1)),
    "quick_look": T(("R", "read", "Patient", 1, 1), ("R", "read", "DocumentReference", 0, 1),
                    ("R", "search-type", "Observation", 0, 1)),
    "nurse_round": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Observation", 1, 1),
                     ("C", "create", "Observation", 1, 2), ("C", "create", "MedicationAdministration", 0, 2)),
    "nurse_doc": T(("C", "create", "Observation", 1, 2), ("U", "update", "CarePlan", 0, 1)),
    "md_round": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Observation", 1, 1),
                  ("R", "read", "DiagnosticReport", 0, 2), ("R", "read", "DocumentReference", 0, 1),
                  ("C", "create", "DocumentReference", 0, 1), ("C", "create", "MedicationRequest", 0, 2),
                  ("C", "create", "ServiceRequest", 0, 1)),
    "admit": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Encounter", 1, 1),
               ("R", "search-type", "Condition", 1, 1), ("R", "search-type", "MedicationStatement", 1, 1),
               ("C", "create", "ServiceRequest", 1, 2), ("C", "create", "MedicationRequest", 1, 2),
               ("C", "create", "DocumentReference", 1, 1)),
    "ed_care": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Encounter", 0, 1),
                 ("R", "search-type", "Observation", 1, 1), ("C", "create", "ServiceRequest", 1, 2),
                 ("R", "read", "DiagnosticReport", 0, 1), ("C", "create", "DocumentReference", 0, 1)),
    "checkin": T(("R", "search-type", "Patient", 1, 1, "q"), ("R", "read", "Patient", 1, 1),
                 ("U", "update", "Patient", 0, 1), ("U", "update", "Coverage", 0, 1), ("U", "update", "Encounter", 1, 1)),
    "ma_room": T(("R", "read", "Patient", 1, 1), ("C", "create", "Observation", 1, 2),
                 ("U", "update", "AllergyIntolerance", 0, 1)),
    "visit_md": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Condition", 0, 1),
                  ("R", "search-type", "MedicationRequest", 1, 1), ("R", "read", "DiagnosticReport", 0, 1),
                  ("C", "create", "DocumentReference", 1, 1), ("C", "create", "MedicationRequest", 0, 1),
                  ("C", "create", "ServiceRequest", 0, 1)),
    "sign_note": T(("R", "read", "DocumentReference", 0, 1), ("U", "update", "DocumentReference", 1, 1)),
    "scribe_doc": T(("R", "read", "Patient", 1, 1), ("U", "update", "DocumentReference", 1, 2)),
    "inbasket": T(("R", "read", "Patient", 1, 1), ("R", "read", "Communication", 0, 1),
                  ("R", "read", "DiagnosticReport", 0, 1), ("C", "create", "Communication", 0, 1),
                  ("C", "create", "MedicationRequest", 0, 1)),
    "sched_call": T(("R", "search-type", "Patient", 1, 1, "q"), ("R", "read", "Patient", 1, 1),
                    ("R", "search-type", "Appointment", 1, 1), ("C", "create", "Appointment", 0, 1)),
    "triage_call": T(("R", "search-type", "Patient", 1, 1, "q"), ("R", "read", "Patient", 1, 1),
                     ("R", "search-type", "Encounter", 0, 1), ("C", "create", "DocumentReference", 1, 1)),
    "coding": T(("R", "read", "Encounter", 1, 1), ("R", "search-type", "DocumentReference", 1, 1),
                ("R", "read", "DocumentReference", 1, 2), ("C", "create", "Claim", 0, 1)),
    "billing": T(("R", "read", "Patient", 1, 1), ("R", "read", "Coverage", 1, 1), ("R", "search-type", "Claim", 0, 1),
                 ("R", "read", "ExplanationOfBenefit", 0, 1), ("U", "update", "Account", 0, 1)),
    "roi": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "DocumentReference", 1, 1),
             ("R", "read", "DocumentReference", 1, 3)),
    "quality": T(("R", "read", "Encounter", 1, 1), ("R", "search-type", "Observation", 1, 1),
                 ("R", "search-type", "MedicationAdministration", 0, 1), ("R", "read", "DocumentReference", 1, 3)),
    "pophealth": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Observation", 1, 1),
                   ("R", "search-type", "Immunization", 0, 1), ("C", "create", "Communication", 0, 1)),
    "priorauth": T(("R", "read", "Patient", 1, 1), ("R", "read", "Coverage", 1, 1), ("R", "read", "ServiceRequest", 1, 1),
                   ("R", "read", "DocumentReference", 0, 2), ("C", "create", "Claim", 1, 1)),
    "referral": T(("R", "read", "Patient", 1, 1), ("R", "read", "ServiceRequest", 1, 1),
                  ("R", "search-type", "Encounter", 0, 1), ("C", "create", "Communication", 0, 1)),
    "pharm_verify": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "MedicationRequest", 1, 1),
                      ("U", "update", "MedicationRequest", 1, 2)),
    "lab_result": T(("R", "read", "ServiceRequest", 1, 1), ("C", "create", "Observation", 1, 2),
                    ("C", "create", "DiagnosticReport", 0, 1)),
    "hh_visit": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "CarePlan", 0, 1),
                  ("C", "create", "Observation", 1, 2), ("C", "create", "DocumentReference", 1, 1)),
    "cm_review": T(("R", "read", "Patient", 1, 1), ("R", "read", "DocumentReference", 1, 2),
                   ("U", "update", "CarePlan", 0, 1), ("C", "create", "Communication", 0, 1)),
    "therapy": T(("R", "read", "Patient", 1, 1), ("R", "read", "DocumentReference", 0, 1),
                 ("C", "create", "DocumentReference", 1, 1)),
    "infusion": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "MedicationRequest", 1, 1),
                  ("C", "create", "MedicationAdministration", 1, 2), ("C", "create", "Observation", 1, 2)),
    "oncall": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Observation", 1, 1),
                ("R", "read", "DocumentReference", 0, 1), ("C", "create", "Communication", 0, 1)),
    # incident behaviour
    "name_search": T(("R", "search-type", "Patient", 1, 1, "q")),
    "snoop_look": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Encounter", 0, 1),
                    ("R", "read", "DocumentReference", 0, 2), ("R", "search-type", "Observation", 0, 1)),
    "self_look": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Observation", 1, 1),
                   ("R", "read", "DiagnosticReport", 0, 2), ("R", "read", "DocumentReference", 0, 2)),
    "browse_look": T(("R", "read", "Patient", 1, 1), ("R", "read", "DocumentReference", 0, 1)),
    "btg_open": T(("R", "read", "DocumentReference", 1, 3), ("R", "search-type", "Observation", 0, 1)),
    "harvest_read": T(("R", "read", "Patient", 1, 1), ("R", "search-type", "Observation", 0, 1),
                      ("R", "search-type", "DocumentReference", 0, 1)),
    "harvest_everything": T(("R", "read", "Patient", 1, 1), ("E", "$everything", "Patient", 1, 1)),
    "group_export": T(),
}
TEMPLATE_MEAN = {k: sum((s[3] + s[4]) / 2.0 for s in v) for k, v in TEMPLATES.items()}
TEMPLATE_MEAN["group_export"] = 1.0


def main(argv=None):
    ap = argparse.ArgumentParser(description="Cascadia Health access-log generator (independent test data)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--incidents-per-kind", type=int, default=2)
    ap.add_argument("--start", default="2025-10-27", help="first local day (default crosses the 2 Nov 2025 DST change)")
    ap.add_argument("--unexplained", type=float, default=0.007, help="share of legitimate events with no explanation")
    ap.add_argument("--volume", type=float, default=1.0, help="scale of per-person work volumes")
    ap.add_argument("--stats", action="store_true")
    a = ap.parse_args(argv)
    if a.days < 7:
        ap.error("--days must be at least 7")
    if a.staff < 150:
        ap.error("--staff must be at least 150")
    if a.patients < 800:
        ap.error("--patients must be at least 800")
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a)
    st = g.run(a.out)
    if a.stats:
        out = sys.stderr
        out.write("events            %d\n" % st["events"])
        out.write("legitimate        %d (unexplained %d = %.3f%%)\n" % (
            st["legit"], st["unexplained"], 100.0 * st["unexplained"] / max(1, st["legit"])))
        out.write("  of which explained by scenario but no context link: %d\n" % st["mismatch"])
        out.write("incident events   %d in %d incidents\n" % (st["incident_events"], len(g.incidents)))
        out.write("patients %d, staff %d, encounters %d, care teams %d\n" % (
            len(g.pats), len(g.staff), sum(1 for e in g.encs if e["start"] < g.WEND or e["status"] == "planned"),
            len(g.cts)))
        for inc in g.incidents:
            out.write("  %-22s %-36s %-9s %3d target(s) %s\n" % (
                inc["id"], inc["variant"], g.staff[inc["si"]]["login"], len(inc["targets"]), iso(inc["ts"])))
        if g.inc_links:
            out.write("WARNING incident targets with a context link: %s\n" % g.inc_links)
        top = sorted(st["by_scen"].items(), key=lambda kv: -kv[1])
        out.write("scenarios: %s\n" % ", ".join("%s=%d" % kv for kv in top))
        out.write("seconds           %.1f\n" % st["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
