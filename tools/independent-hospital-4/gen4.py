#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""gen4.py -- a deterministic synthetic UK NHS acute trust, its population and
staff, a few weeks of clinical activity, and the FHIR R4 AuditEvent trail that
activity leaves, with insider-misuse incidents planted in the last four days.

Written from /work/shared/spec/access-monitoring.md and the task brief alone.
Python 3 standard library only.  Same --seed => byte-identical output.

    python3 gen4.py --out DIR --seed N [--days 21] [--patients 4000] [--staff 400]
                    [--incidents-per-kind 2] [--start YYYY-MM-DD]
"""
import argparse
import base64
import bisect
import datetime as dt
import json
import math
import os
import random
import sys
import time
import unicodedata

R = random.Random(0)          # replaced in main(); the one RNG used everywhere

BASE = "https://wessexvale.nhs.example"
SYS_ROLE = BASE + "/fhir/CodeSystem/staff-role"
SYS_SDS = "https://fhir.nhs.uk/Id/sds-user-id"
SYS_AD = BASE + "/Id/network-login"
SYS_ESR = BASE + "/Id/esr-assignment-number"
SYS_NHS = "https://fhir.nhs.uk/Id/nhs-number"
SYS_MRN = BASE + "/Id/hospital-number"
SYS_ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
V3_ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
V3_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_PART = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJ_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
KINDS = ["SNOOPING", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "SELF", "DECEASED",
         "BREAK_GLASS", "COMPROMISED"]

# =========================================================== Europe/London time
_BST = {}


def _epoch(d):
    return (d - dt.date(1970, 1, 1)).days * 86400


def _last_sunday(y, m):
    nxt = dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)
    d = nxt - dt.timedelta(days=1)
    return d - dt.timedelta(days=(d.weekday() + 1) % 7)


def offset_at(t):
    """UK offset (seconds) in force at UTC instant t: BST from 01:00 UTC on the
    last Sunday of March to 01:00 UTC on the last Sunday of October."""
    y = time.gmtime(t).tm_year
    b = _BST.get(y)
    if b is None:
        b = _BST[y] = (_epoch(_last_sunday(y, 3)) + 3600, _epoch(_last_sunday(y, 10)) + 3600)
    return 3600 if b[0] <= t < b[1] else 0


def local_to_utc(naive):
    g = naive - 3600
    return g if offset_at(g) else naive


def fmt_ms(ms):
    s = ms // 1000
    off = offset_at(s)
    g = time.gmtime(s + off)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s" % (
        g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, ms % 1000,
        "+01:00" if off else "+00:00")


def fmt_s(t):
    t = int(t)
    off = offset_at(t)
    g = time.gmtime(t + off)
    return "%04d-%02d-%02dT%02d:%02d:%02d%s" % (
        g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec,
        "+01:00" if off else "+00:00")


def local_date(t):
    t = int(t)
    g = time.gmtime(t + offset_at(t))
    return "%04d-%02d-%02d" % (g.tm_year, g.tm_mon, g.tm_mday)


def local_hour(t):
    t = int(t)
    g = time.gmtime(t + offset_at(t))
    return g.tm_hour + g.tm_min / 60.0


# =========================================================== names
def _w(s):
    return s.split()


GIVEN = {
    "GB": (_w("Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Henry Leo "
              "Alfie Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel "
              "Arthur Lucas David Michael Paul Andrew Mark Richard Peter Stephen Christopher Robert "
              "Anthony Kevin Gary Ian Neil Simon Martin Graham Keith Colin Derek Brian Roy Dennis "
              "Ronald Kenneth Trevor Barry Nigel Stuart Craig Lee Dean Wayne Darren Jason Matthew "
              "Luke Adam Ryan Ben Liam Jamie Callum Connor John Geoffrey Malcolm Philip Alan"),
           _w("Olivia Amelia Isla Ava Emily Sophia Grace Mia Poppy Ella Lily Evie Isabella Sophie "
              "Freya Charlotte Chloe Jessica Ruby Daisy Alice Florence Phoebe Sarah Emma Laura "
              "Rebecca Hannah Rachel Claire Lisa Karen Nicola Michelle Joanne Helen Julie Susan "
              "Deborah Tracey Amanda Kerry Donna Jennifer Elizabeth Margaret Patricia Barbara Jean "
              "Doreen Joan Brenda Sheila Maureen Pauline Christine Janet Carol Valerie Gillian "
              "Wendy Angela Katherine Victoria Lucy Zoë Beatrice Eleanor Harriet Gemma Kirsty")),
    "SA": (_w("Mohammed Muhammad Ahmed Ali Hassan Imran Tariq Asif Farhan Adil Bilal Zain Rahul "
              "Amit Sanjay Raj Vikram Arjun Harjit Gurpreet Jaswinder Sukhdev Ravi Anil Deepak "
              "Kamran Shahid Nadeem Yusuf Ibrahim Aryan Rohan Krishna Sunil Ajay"),
           _w("Fatima Aisha Ayesha Zainab Amina Nadia Sana Saima Shabana Nasreen Rubina Priya "
              "Anjali Pooja Neha Sunita Meena Harpreet Manpreet Jaspreet Simran Kiran Anita Rekha "
              "Parveen Samina Yasmin Hina Maryam Noor Aaliyah Shazia")),
    "PL": (_w("Piotr Krzysztof Tomasz Paweł Michał Marcin Łukasz Jakub Kamil Grzegorz Mateusz "
              "Adam Andrzej Marek Wojciech Dawid Szymon Bartosz"),
           _w("Anna Katarzyna Małgorzata Agnieszka Magdalena Joanna Monika Ewa Karolina "
              "Aleksandra Natalia Zofia Justyna Dorota Beata Iwona Kinga Marta")),
    "IE": (_w("Seán Patrick Liam Conor Ciarán Declan Eoin Niall Pádraig Cormac Brendan Kieran "
              "Dermot Colm Fergal Darragh Oisín Ronan Michael John"),
           _w("Siobhán Niamh Aoife Róisín Orla Saoirse Ciara Caoimhe Sinéad Bríd Máire Eimear "
              "Clodagh Gráinne Deirdre Mary Bridget Nora")),
    "CB": (_w("Delroy Winston Leroy Marcus Andre Tyrone Errol Clive Desmond Lloyd Jermaine Nathan "
              "Jerome Devon Carlton Courtney Everton"),
           _w("Marcia Beverley Janice Sharon Paulette Yvonne Sonia Jacqueline Hyacinth Shanice "
              "Tanisha Kerry-Ann Simone Keisha Chantelle Monique Dionne")),
    "WA": (_w("Chukwuemeka Oluwaseun Adebayo Kofi Kwabena Emeka Tunde Femi Chidi Yaw Ikenna "
              "Babatunde"),
           _w("Adaeze Chiamaka Folake Ngozi Abena Ama Funmilayo Yetunde Blessing Chioma Efua "
              "Temitope")),
    "CN": (_w("Wei Jun Hao Ming Jian Tao Kevin Daniel"), _w("Mei Ling Xiu Yan Hui Jing Li Amy")),
    "PH": (_w("Jose Mark Joel Rommel Jerome Ramon Arnel Ronaldo"),
           _w("Maria Grace Rowena Marites Jocelyn Lorna Rosalie Cherry Mary-Ann Liza")),
}
SURN = {
    "GB": _w("Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts "
             "Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke "
             "Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark King Baker Harrison "
             "Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths "
             "Mitchell Cook Carter Richardson Bailey Collins Bell Shaw Cox Richards Marshall "
             "Anderson Simpson Ellis Adams Wilkinson Foster Chapman Powell Webb Rogers Gray Mason "
             "Hunt Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker "
             "Fisher Stevens Jenkins Dixon Fletcher Howard Pearce Whitfield Ashworth Pennington "
             "Hargreaves Fairbrother Greenwood Slater Booth Hammond Lambert Pritchard Rowe Sutton "
             "Yates Vaughan Holloway Dawson Fowler Gibbons Kershaw Brooks Nicholls Hopkins Ridley "
             "Shepherd"),
    "SA": _w("Patel Khan Singh Begum Ali Hussain Ahmed Shah Kaur Rahman Islam Mahmood Iqbal "
             "Akhtar Chaudhry Sharma Gill Sandhu Mistry Parmar Choudhury Bibi Hassan Malik Qureshi "
             "Desai Joshi Rana Uddin Miah Bains Dhillon Kumar Nair Pillai"),
    "PL": [("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
           ("Wójcik", "Wójcik"), ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"),
           ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"),
           ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
           ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Krawczyk", "Krawczyk"),
           ("Piotrowski", "Piotrowska"), ("Grabowski", "Grabowska"), ("Pawłowski", "Pawłowska"),
           ("Michalski", "Michalska"), ("Król", "Król")],
    "IE": _w("Murphy Kelly O'Brien O'Sullivan Walsh Byrne Ryan O'Connor O'Neill Doyle McCarthy "
             "Gallagher Doherty Kennedy Lynch Quinn McLaughlin Brennan Nolan Fitzgerald Daly "
             "Connolly Whelan Keane"),
    "CB": _w("Campbell Francis Grant Reid Henry Samuels Gordon Forbes Beckford Spence McKenzie "
             "Stewart Blake Barrett Brown Williams Clarke Thompson Edwards Lewis Morgan Powell "
             "Richards Bailey"),
    "WA": _w("Okafor Adeyemi Mensah Owusu Boateng Okonkwo Adebayo Eze Nwosu Asante Oyelaran "
             "Balogun"),
    "CN": _w("Chen Wong Li Zhang Liu Wang Lam Cheung"),
    "PH": ["Santos", "Reyes", "Cruz", "Garcia", "Bautista", "Mendoza", "Dela Cruz",
           "Villanueva", "Ramos", "Aquino", "Castillo"],
}
NICK = {"Katherine": "Kate", "Elizabeth": "Liz", "Margaret": "Maggie", "Robert": "Rob",
        "William": "Will", "Christopher": "Chris", "Michael": "Mike", "Jennifer": "Jen",
        "Rebecca": "Becky", "Thomas": "Tom", "Alexander": "Alex", "Samuel": "Sam",
        "Daniel": "Dan", "Matthew": "Matt", "Nicola": "Nicky", "Victoria": "Vicky",
        "Joseph": "Joe", "Deborah": "Debbie", "Patricia": "Pat", "Susan": "Sue",
        "Stephen": "Steve", "Anthony": "Tony", "Andrew": "Andy", "Richard": "Rich",
        "Jacqueline": "Jackie", "Aleksandra": "Ola", "Małgorzata": "Gosia", "Oluwaseun": "Seun"}
POP_ORIGINS = (["GB", "SA", "PL", "IE", "CB", "WA", "CN", "PH"],
               [72, 10, 5, 5, 4, 2, 1, 1])
NURSE_ORIGINS = (["GB", "PH", "SA", "WA", "IE", "CB", "PL", "CN"],
                 [52, 13, 9, 9, 5, 5, 5, 2])
DOC_ORIGINS = (["GB", "SA", "WA", "IE", "CN", "PL", "CB", "PH"],
               [45, 28, 9, 5, 5, 3, 3, 2])
_SURN_CUM = {}


def pick_surname(origin):
    lst = SURN[origin]
    if origin not in _SURN_CUM:
        acc, cum = 0.0, []
        for i in range(len(lst)):
            acc += 1.0 / (i + 1) ** 0.85
            cum.append(acc)
        _SURN_CUM[origin] = cum
    cum = _SURN_CUM[origin]
    x = R.random() * cum[-1]
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    s = lst[lo]
    return s if isinstance(s, tuple) else (s, s)


def fam_for(base, sex):
    return base[1] if sex == "female" else base[0]


def fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def normname(s):
    return "".join(c for c in fold(s).lower() if c.isalpha())


# =========================================================== geography
STREET_BASES = _w("Mill Church Station Victoria Albert Queens Kings Park Manor Elm Oak Beech Ash "
                  "Willow Chestnut Meadow Orchard Brook River Bridge Castle Abbey Priory Chapel "
                  "School Market Hill Vale Cedar Maple Rowan Hawthorn Holly Ivy Laurel Primrose "
                  "Bluebell Foxglove Heather Juniper Larch Poplar Sycamore Alder Hazel Kingfisher "
                  "Heron Swan Mallard Wren Robin Lark Falcon Windsor York Lancaster Stafford Warwick "
                  "Gloucester Cambridge Oxford Richmond Hampton Belmont Fairfield Highfield "
                  "Springfield Westfield Northfield Southgate Eastgate Newport Wellington Nelson "
                  "Raleigh Drake Cromwell Coronation Jubilee Tennyson Shelley Keats Milton Chaucer "
                  "Darwin Brunel Telford Stephenson Nightingale")
STREET_SUFFIX = [("Road", 30), ("Street", 14), ("Lane", 12), ("Avenue", 8), ("Close", 9),
                 ("Drive", 6), ("Crescent", 4), ("Gardens", 4), ("Way", 5), ("Place", 2),
                 ("Terrace", 3), ("Grove", 3), ("Walk", 1), ("Court", 2), ("Rise", 1),
                 ("Mews", 1), ("Square", 1)]
ABBREV = {"Road": "Rd", "Street": "St", "Lane": "Ln", "Avenue": "Ave", "Close": "Cl",
          "Drive": "Dr", "Crescent": "Cres", "Gardens": "Gdns", "Place": "Pl", "Terrace": "Terr",
          "Court": "Ct", "Square": "Sq", "Grove": "Gr"}
HOUSE_NAMES = ["Rose Cottage", "The Old Rectory", "Ivy Cottage", "The Laurels", "Orchard House",
               "The Coach House", "Meadow View", "Willow Barn", "The Old School House",
               "Brook Cottage", "Holly Lodge", "The Granary"]
TOWNS_LOCAL = [("Kingsmead", "KM", [1, 2, 3, 4, 5, 6, 7, 8], 52), ("Ashcombe", "AC", [1, 2, 3], 20),
               ("Little Brampton", "KM", [9], 7), ("Hallow Cross", "AC", [4], 7),
               ("Ferncombe", "KM", [10], 7), ("Oakley Magna", "AC", [5], 7)]
TOWNS_AWAY = [("Harrowfield", "HF", [2, 3, 6], 45), ("Stanbridge", "SB", [4, 7], 35),
              ("Wexcombe", "WX", [1], 20)]
VILLAGES = {"Little Brampton", "Hallow Cross", "Ferncombe", "Oakley Magna"}
INWARD_L = "ABDEFGHJLNPQRSTUWXYZ"


class Street(object):
    __slots__ = ("idx", "name", "town", "outward", "nmax", "blocks", "pcs", "used", "local")


class Addr(object):
    __slots__ = ("st", "num", "flat", "house")

    def __init__(self, st, num, flat, house):
        self.st, self.num, self.flat, self.house = st, num, flat, house

    def home_key(self):
        return (self.st.idx, self.num, self.flat, self.house)


def render_addr(a, style):
    """style: set of tokens: abbrev, upper, split, nospace"""
    st = a.st
    name = st.name
    if "abbrev" in style:
        parts = name.split(" ")
        if parts[-1] in ABBREV:
            parts[-1] = ABBREV[parts[-1]]
        name = " ".join(parts)
    if a.house:
        lines = [a.house, name] if "split" in style or R.random() < 0.5 else [a.house + ", " + name]
    else:
        num = str(a.num)
        if a.flat:
            if "split" in style:
                lines = ["Flat %d" % a.flat, "%s %s" % (num, name)]
            else:
                lines = ["Flat %d, %s %s" % (a.flat, num, name)]
        else:
            lines = ["%s %s" % (num, name)]
    city = st.town
    pc = st.pcs[((a.num or 1) - 1) // 12] if a.num else st.pcs[0]
    if "upper" in style:
        lines = [x.upper() for x in lines]
        city = city.upper()
    if "nospace" in style:
        pc = pc.replace(" ", "")
    return {"use": "home", "line": lines, "city": city, "district": "Valeshire",
            "postalCode": pc, "country": "GB"}


# =========================================================== organisations
DIVS = [("DMED", "Division of Medicine", "KGH"), ("DSUR", "Division of Surgery", "KGH"),
        ("DWCH", "Division of Women's & Children's Services", "KGH"),
        ("DUEC", "Division of Urgent & Emergency Care", "KGH"),
        ("DCSS", "Division of Clinical Support Services", "KGH"),
        ("CORP", "Corporate Services", "TRUST"), ("COM", "Community Services", "ACH")]
# key, name, division, wards[(key, name, beds, los, death, profile)], clinic, (cons, reg, jr, sec), clinic sessions/wk, clinic profile
SPECS = [
    ("ACM", "Acute Medicine", "DMED", [("AMU", "Acute Medical Unit", 26, 1.6, 0.012, "adult")], None, (3, 2, 3, 0), 0, None),
    ("RES", "Respiratory Medicine", "DMED", [("W10", "Ward 10 (Respiratory)", 22, 6.5, 0.045, "old")], "Respiratory Outpatients", (2, 1, 2, 1), 4, "old"),
    ("CAR", "Cardiology", "DMED", [("W11", "Ward 11 (Cardiology & CCU)", 20, 4.0, 0.02, "old")], "Cardiology Outpatients", (3, 1, 2, 1), 6, "old"),
    ("ELD", "Elderly Care", "DMED", [("W12", "Ward 12 (Elderly Care)", 26, 10.0, 0.06, "elderly"), ("W15", "Ward 15 (Stroke Unit)", 16, 11.0, 0.07, "stroke")], "Falls & Frailty Clinic", (3, 1, 3, 1), 3, "elderly"),
    ("GAS", "Gastroenterology", "DMED", [("W14", "Ward 14 (Gastroenterology)", 20, 6.0, 0.03, "adult")], "Gastroenterology Outpatients", (2, 1, 2, 1), 4, "adult"),
    ("DIA", "Diabetes & Endocrinology", "DMED", [], "Diabetes Centre", (2, 1, 0, 1), 5, "adult"),
    ("GSU", "General Surgery", "DSUR", [("W20", "Ward 20 (General Surgery)", 24, 4.5, 0.012, "surg")], "Surgical Outpatients", (3, 2, 3, 2), 5, "surg"),
    ("TRO", "Trauma & Orthopaedics", "DSUR", [("W21", "Ward 21 (Trauma & Orthopaedics)", 26, 7.0, 0.02, "old")], "Fracture Clinic", (3, 2, 3, 1), 6, "any"),
    ("URO", "Urology", "DSUR", [("W22", "Ward 22 (Urology)", 14, 3.0, 0.005, "old")], "Urology Outpatients", (2, 1, 1, 1), 3, "old"),
    ("ICM", "Anaesthetics & Critical Care", "DSUR", [("ICU", "Critical Care Unit", 9, 5.0, 0.14, "adult")], None, (3, 2, 1, 0), 0, None),
    ("OBS", "Obstetrics & Gynaecology", "DWCH", [("W30", "Ward 30 (Maternity)", 20, 2.0, 0.0, "maternity")], "Antenatal Clinic", (2, 1, 2, 1), 5, "maternity"),
    ("PAE", "Paediatrics", "DWCH", [("W31", "Ward 31 (Children's Ward)", 14, 2.0, 0.0, "child")], "Children's Outpatients", (2, 1, 2, 1), 3, "child"),
    ("EME", "Emergency Medicine", "DUEC", [], None, (3, 3, 4, 0), 0, None),
    ("RAD", "Radiology", "DCSS", [], None, (3, 0, 0, 1), 0, None),
]
OTHER_DEPTS = [
    ("ED", "Emergency Department", "EME"), ("DSU", "Day Surgery Unit", "DSUR"),
    ("PHA", "Pharmacy", "DCSS"), ("PATH", "Pathology & Phlebotomy", "DCSS"),
    ("PHLOP", "Phlebotomy Outpatients", "PATH"), ("IMG", "Imaging Department", "RAD"),
    ("THER", "Therapies (Physiotherapy & Occupational Therapy)", "DCSS"),
    ("DIET", "Nutrition & Dietetics", "DCSS"), ("OPD", "Outpatients & Health Records", "DCSS"),
    ("CANC", "Cancer Services & MDT Office", "DCSS"),
    ("ONC", "Clinical Oncology (Wessex Cancer Centre outreach)", "DCSS"),
    ("FLOW", "Patient Flow & Site Management", "CORP"), ("DISCH", "Integrated Discharge Team", "CORP"),
    ("CODE", "Clinical Coding", "CORP"), ("PALS", "Patient Advice & Liaison Service", "CORP"),
    ("IT", "Digital Services - IT Service Desk", "CORP"), ("SAFE", "Safeguarding Team", "CORP"),
    ("BER", "Bereavement Services", "CORP"), ("MORT", "Mortuary", "BER"),
    ("MEO", "Medical Examiner Office", "CORP"), ("OVO", "Overseas Visitors & Private Patients", "CORP"),
    ("GOV", "Clinical Governance & Patient Safety", "CORP"),
    ("DNN", "District Nursing - Kingsmead North", "COM"),
    ("DNS", "District Nursing - Kingsmead South", "COM"),
    ("DNA", "District Nursing - Ashcombe & Villages", "COM"),
    ("ACHR", "Ashcombe Rehabilitation Ward", "COM"),
]
ROLE_DISPLAY = {
    "consultant": "Consultant", "registrar": "Specialty Registrar (ST3+)",
    "core-trainee": "Core Trainee (CT1/CT2)", "fy2": "Foundation Doctor (FY2)",
    "fy1": "Foundation Doctor (FY1)", "ward-sister": "Ward Sister / Charge Nurse",
    "staff-nurse": "Staff Nurse", "hca": "Healthcare Assistant", "midwife": "Midwife",
    "anp": "Advanced Nurse Practitioner", "ward-clerk": "Ward Clerk",
    "ed-receptionist": "A&E Receptionist", "op-receptionist": "Outpatient Receptionist",
    "health-records-clerk": "Health Records Clerk", "pharmacist": "Clinical Pharmacist",
    "pharmacy-technician": "Pharmacy Technician", "phlebotomist": "Phlebotomist",
    "radiographer": "Diagnostic Radiographer", "physiotherapist": "Physiotherapist",
    "occupational-therapist": "Occupational Therapist", "dietitian": "Dietitian",
    "specialist-nurse": "Clinical Nurse Specialist", "outreach-nurse": "Critical Care Outreach Nurse",
    "district-nurse": "District Nurse", "medical-secretary": "Medical Secretary",
    "mdt-coordinator": "MDT Coordinator", "clinical-coder": "Clinical Coder",
    "bed-manager": "Site & Bed Manager", "discharge-coordinator": "Discharge Coordinator",
    "gp-liaison": "GP Liaison Officer", "pals-officer": "PALS Officer",
    "it-support": "IT Service Desk Analyst", "safeguarding-lead": "Safeguarding Nurse Specialist",
    "bereavement-officer": "Bereavement Officer",
    "mortuary-technician": "Anatomical Pathology Technologist",
    "medical-examiner": "Medical Examiner", "me-officer": "Medical Examiner Officer",
    "overseas-visitors-officer": "Overseas Visitors Officer",
    "private-patients-officer": "Private Patients Billing Officer",
    "governance-facilitator": "Clinical Governance & Audit Facilitator",
}
RN_ROLES = ("staff-nurse", "ward-sister", "midwife", "anp")
DOC_ROLES = ("consultant", "registrar", "core-trainee", "fy2", "fy1")
JR_ROLES = ("core-trainee", "fy2", "fy1")
WARD_NURSING = {  # ward: (staff nurses/midwives, hcas, clerk)
    "AMU": (8, 3, 1), "W10": (6, 3, 1), "W11": (6, 2, 1), "W12": (7, 4, 1), "W15": (5, 3, 1),
    "W14": (6, 3, 1), "W20": (6, 3, 1), "W21": (7, 4, 1), "W22": (4, 2, 1), "ICU": (10, 1, 1),
    "W30": (7, 2, 1), "W31": (5, 1, 1), "ACHR": (4, 3, 1), "DSU": (4, 1, 0),
}
MED_WARDS = ["AMU", "W10", "W11", "W12", "W15", "W14"]
SUR_WARDS = ["W20", "W21", "W22"]
ALL_WARDS = MED_WARDS + SUR_WARDS + ["ICU", "W30", "W31", "ACHR"]
ONCALL_DIVS = [("MED", ["ACM", "RES", "CAR", "ELD", "GAS", "DIA"], MED_WARDS, 2),
               ("SUR", ["GSU", "TRO", "URO"], SUR_WARDS, 1),
               ("OBS", ["OBS"], ["W30"], 1), ("PAE", ["PAE"], ["W31"], 1)]
WARD_DIV = {w: "MED" for w in MED_WARDS}
WARD_DIV.update({w: "SUR" for w in SUR_WARDS})
WARD_DIV.update({"W30": "OBS", "W31": "PAE", "ICU": "ICU", "ACHR": "MED"})
MDTS = [("RES", "lung", 1, "Lung cancer MDT"), ("URO", "urology", 2, "Urology cancer MDT"),
        ("GSU", "colorectal", 3, "Colorectal cancer MDT")]
RESTRICTED = ("R", "V")
SENSITIVE = ("PSY", "HIV", "SDV", "ETH")

# steps: (interaction, resource)
T = {
    "list": [("search", "Encounter")],
    "chart": [("read", "Patient"), ("search", "Observation"), ("read", "DiagnosticReport"),
              ("search", "MedicationRequest")],
    "chart_short": [("read", "Patient"), ("search", "Observation")],
    "obs": [("create", "Observation")],
    "obs2": [("search", "Observation"), ("create", "Observation")],
    "meds": [("search", "MedicationRequest"), ("create", "MedicationAdministration")],
    "nnote": [("create", "DocumentReference")],
    "admit_nurse": [("read", "Patient"), ("search", "AllergyIntolerance"), ("create", "Observation"),
                    ("create", "DocumentReference")],
    "discharge_nurse": [("read", "Patient"), ("update", "Encounter")],
    "ward_round": [("read", "Patient"), ("search", "Observation"), ("read", "DiagnosticReport"),
                   ("create", "DocumentReference")],
    "wr_scribe": [("create", "DocumentReference"), ("create", "ServiceRequest")],
    "jobs": [("read", "Patient"), ("create", "ServiceRequest"), ("update", "MedicationRequest")],
    "clerk": [("read", "Patient"), ("search", "Encounter"), ("search", "Condition"),
              ("search", "MedicationStatement"), ("search", "AllergyIntolerance"),
              ("create", "DocumentReference"), ("create", "ServiceRequest"),
              ("create", "MedicationRequest")],
    "dsum": [("read", "Patient"), ("search", "MedicationRequest"), ("create", "DocumentReference"),
             ("update", "Encounter")],
    "register": [("search", "Patient"), ("read", "Patient"), ("create", "Encounter")],
    "checkin": [("read", "Patient"), ("update", "Appointment")],
    "triage": [("read", "Patient"), ("create", "Observation"), ("create", "Condition")],
    "ed_review": [("read", "Patient"), ("search", "Encounter"), ("search", "Observation"),
                  ("create", "DocumentReference"), ("create", "ServiceRequest")],
    "ed_fu": [("read", "DiagnosticReport"), ("search", "Observation")],
    "ed_letter": [("create", "DocumentReference"), ("update", "Encounter")],
    "xray": [("read", "ServiceRequest"), ("create", "ImagingStudy")],
    "report": [("read", "ImagingStudy"), ("create", "DiagnosticReport")],
    "phleb": [("search", "ServiceRequest"), ("create", "Specimen")],
    "medrec": [("read", "Patient"), ("search", "MedicationStatement"), ("create", "MedicationStatement"),
               ("update", "MedicationRequest")],
    "pharm_screen": [("search", "MedicationRequest")],
    "tto": [("read", "MedicationRequest"), ("update", "MedicationRequest")],
    "therapy": [("read", "Patient"), ("search", "DocumentReference"), ("create", "Observation"),
                ("create", "DocumentReference")],
    "code": [("read", "Encounter"), ("search", "DocumentReference"), ("read", "DocumentReference"),
             ("read", "DocumentReference"), ("search", "Procedure"), ("update", "Encounter")],
    "letter_type": [("read", "Patient"), ("search", "DocumentReference"),
                    ("create", "DocumentReference"), ("update", "DocumentReference")],
    "letter_sign": [("read", "DocumentReference"), ("update", "DocumentReference")],
    "results": [("search", "DiagnosticReport"), ("read", "DiagnosticReport")],
    "clinic": [("read", "Patient"), ("search", "DiagnosticReport"), ("search", "MedicationStatement"),
               ("create", "DocumentReference"), ("create", "ServiceRequest")],
    "read_pt": [("read", "Patient")],
    "pals": [("read", "Patient"), ("search", "Encounter"), ("read", "DocumentReference"),
             ("read", "DocumentReference")],
    "it": [("read", "Patient"), ("search", "Encounter"), ("read", "DocumentReference")],
    "safeguard": [("read", "Patient"), ("search", "Encounter"), ("read", "DocumentReference"),
                  ("create", "Flag")],
    "bereave": [("read", "Patient"), ("read", "DocumentReference"), ("create", "DocumentReference")],
    "mortuary": [("read", "Patient"), ("update", "Patient")],
    "me_prep": [("read", "Patient"), ("search", "Encounter"), ("search", "DocumentReference"),
                ("read", "DocumentReference")],
    "me_review": [("read", "Patient"), ("search", "Encounter"), ("search", "DocumentReference"),
                  ("read", "DocumentReference"), ("read", "DocumentReference"), ("search", "Observation"),
                  ("read", "DiagnosticReport"), ("search", "MedicationRequest"),
                  ("create", "DocumentReference")],
    "sjr": [("read", "Patient"), ("search", "Encounter"), ("search", "DocumentReference"),
            ("read", "DocumentReference"), ("read", "DocumentReference"), ("read", "DocumentReference"),
            ("search", "Observation"), ("search", "MedicationAdministration"),
            ("create", "QuestionnaireResponse")],
    "mccd": [("read", "Patient"), ("read", "DocumentReference"), ("create", "DocumentReference")],
    "billing": [("read", "Patient"), ("read", "Encounter"), ("search", "Procedure"), ("create", "ChargeItem")],
    "ovo": [("read", "Patient"), ("update", "Patient"), ("create", "Account")],
    "gpl": [("read", "Patient"), ("search", "DocumentReference"), ("read", "DocumentReference")],
    "dnote": [("read", "Patient"), ("search", "DocumentReference"), ("create", "DocumentReference")],
    "dn_prep": [("read", "Patient"), ("search", "DocumentReference")],
    "dn_visit": [("create", "Observation"), ("create", "DocumentReference")],
    "mdt": [("read", "Patient"), ("search", "DiagnosticReport")],
    "mdt_out": [("create", "DocumentReference")],
    "sar": [("read", "Patient"), ("search", "DocumentReference")] + [("read", "DocumentReference")] * 8,
    "cns": [("read", "Patient"), ("search", "DiagnosticReport"), ("create", "Communication")],
    "op_note": [("create", "Procedure"), ("create", "DocumentReference")],
    "peek": [("read", "Patient"), ("search", "Encounter"), ("read", "DocumentReference")],
    "peek_results": [("search", "Observation"), ("read", "DiagnosticReport")],
    "harvest": [("search", "Patient"), ("read", "Patient")],
}


def poisson(lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(R.gauss(lam, math.sqrt(lam)))))
    lim, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= R.random()
        if p < lim:
            return k
        k += 1


def wchoice(items, weights):
    return R.choices(items, weights)[0]


def rid():
    return "%08x-%04x-4%03x-%04x-%012x" % (R.getrandbits(32), R.getrandbits(16), R.getrandbits(12),
                                           0x8000 | R.getrandbits(14), R.getrandbits(48))


class Person(object):
    __slots__ = ("family", "given", "sex", "birth", "origin", "addr", "hh", "pat", "staff", "age",
                 "base")


class Pat(object):
    __slots__ = ("idx", "id", "person", "nhs", "mrn", "sec", "dead_at", "diab", "cancer", "overseas",
                 "private", "cp", "test", "busy", "fixed", "astyle", "upper", "strip", "given",
                 "family", "addr", "community_death", "celeb", "news")


class Staff(object):
    __slots__ = ("idx", "id", "person", "role", "dept", "roles", "sds", "ad", "esr", "pattern",
                 "shifts", "desk", "home_ip", "remote", "ward", "pat", "prefix", "given", "astyle",
                 "spec", "handheld", "carrier", "bank", "me")


class Enc(object):
    __slots__ = ("id", "p", "cls", "org", "start", "end", "parts", "partof", "ttl", "died",
                 "chain", "private", "ward", "spec", "eend", "ed_admit")

    def __init__(self, p, cls, org, start, end, ttl):
        self.id = rid()
        self.p, self.cls, self.org, self.start, self.end, self.ttl = p, cls, org, start, end, ttl
        self.parts = []
        self.partof = None
        self.died = False
        self.chain = None
        self.private = False
        self.ward = org
        self.spec = None
        self.eend = end
        self.ed_admit = False

    def on(self, t):
        return self.start <= t < self.eend


# =========================================================== the generator
class Gen(object):
    def __init__(self, a):
        self.a = a
        self.D = a.days
        self.start = dt.date.fromisoformat(a.start)
        self.day0 = _epoch(self.start)
        self.scale = a.patients / 4000.0
        self.t0 = self.L(0, 0)
        self.t_end = self.L(self.D, 0)
        self.EV = []
        self.WS = {}
        self.FAV = {}
        self.WSIP = {}
        self._census = {}
        self.encs = []
        self.careteams = []
        self.incidents = []
        self.deaths = []            # (pat idx, time, kind, enc or None)
        self.nhs_used = set()
        self.sds_used = set()
        self.ad_used = {}
        self.redeployed = set()
        self.banked = set()

    # ---------------------------------------------------------- time helpers
    def L(self, d, h):
        return local_to_utc(self.day0 + d * 86400 + h * 3600.0)

    def dow(self, d):
        return (self.start.weekday() + d) % 7

    def dayidx(self, t):
        t = int(t)
        return (t + offset_at(t) - self.day0) // 86400

    def next_workday(self, d, k=1):
        n = 0
        while True:
            d += 1
            if self.dow(d) < 5:
                n += 1
                if n >= k:
                    return d

    # ---------------------------------------------------------- organisations
    def build_orgs(self):
        self.org = {}
        order = []

        def add(key, name, parent, kind):
            if key == "TRUST":
                oid = "R9X"
            elif key == "KGH":
                oid = "R9X01"
            elif key == "ACH":
                oid = "R9X02"
            else:
                site = parent
                while site not in ("KGH", "ACH", "TRUST"):
                    site = self.org[site]["parent"]
                oid = {"KGH": "R9X01", "ACH": "R9X02", "TRUST": "R9X"}[site] + "-" + key
            self.org[key] = {"id": oid, "name": name, "parent": parent, "kind": kind}
            order.append(key)

        add("TRUST", "Wessex Vale Hospitals NHS Foundation Trust", None, "trust")
        add("KGH", "Kingsmead General Hospital", "TRUST", "site")
        add("ACH", "Ashcombe Community Hospital", "TRUST", "site")
        for k, n, p in DIVS:
            add(k, n, p, "division")
        self.spec = {}
        self.ward_spec = {}
        self.ward_info = {}
        self.clinic_of = {}
        for s in SPECS:
            key, name, div, wards, clinic = s[0], s[1], s[2], s[3], s[4]
            add(key, name, div, "specialty")
            self.spec[key] = s
            for w in wards:
                add(w[0], w[1], key, "ward")
                self.ward_spec[w[0]] = key
                self.ward_info[w[0]] = w
            if clinic:
                add("C" + key, clinic, key, "clinic")
                self.clinic_of[key] = "C" + key
        for k, n, p in OTHER_DEPTS:
            add(k, n, p, "ward" if k in ("ACHR", "DSU") else ("ed" if k == "ED" else "dept"))
        self.ward_spec["ACHR"] = "ELD"
        self.ward_info["ACHR"] = ("ACHR", "Ashcombe Rehabilitation Ward", 20, 18.0, 0.02, "elderly")
        self.org_order = order
        self.org_site = {}
        for k in order:
            s = k
            while s not in ("KGH", "ACH", "TRUST"):
                s = self.org[s]["parent"]
            self.org_site[k] = "ACH" if s == "ACH" else "KGH"
        self.org_anc = {}
        for k in order:
            anc, s = [], k
            while s is not None:
                anc.append(s)
                s = self.org[s]["parent"]
            self.org_anc[k] = anc

    def ws_pool(self, key):
        p = self.WS.get(key)
        if p is None:
            site = self.org_site.get(key, "KGH")
            kind = self.org[key]["kind"] if key in self.org else "dept"
            code = key
            if key == "MDT":
                p = ["KGH-MDT-PC%02d" % i for i in range(1, 5)]
            elif kind == "ward":
                p = (["%s-%s-NS%02d" % (site, code, i) for i in (1, 2)] +
                     ["%s-%s-WOW%02d" % (site, code, i) for i in (1, 2, 3)])
            elif kind == "ed":
                p = (["KGH-ED-REC%02d" % i for i in (1, 2)] + ["KGH-ED-TRI01"] +
                     ["KGH-ED-MAJ%02d" % i for i in range(1, 7)] + ["KGH-ED-RESUS01", "KGH-ED-MIN01"])
            elif kind == "clinic":
                p = ["%s-OPD-%s-CR%02d" % (site, code[1:], i) for i in range(1, 5)]
            else:
                p = ["%s-%s-PC%02d" % (site, code, i) for i in range(1, 7)]
            self.WS[key] = p
        return p

    def ws(self, u, key):
        """a workstation at location key for user u: mostly one of two favourites"""
        k = (u, key)
        f = self.FAV.get(k)
        if f is None:
            pool = self.ws_pool(key)
            f = self.FAV[k] = R.sample(pool, min(2, len(pool)))
        r = R.random()
        if r < 0.62 or len(f) == 1:
            return f[0]
        if r < 0.93:
            return f[1]
        return R.choice(self.ws_pool(key))

    def ws_ip(self, name):
        ip = self.WSIP.get(name)
        if ip is None:
            site = 20 if name.startswith("ACH") else 10
            ip = self.WSIP[name] = "10.%d.%d.%d" % (site, R.randint(16, 120), R.randint(10, 250))
        return ip

    # ---------------------------------------------------------- geography
    def make_streets(self, towns, n, local):
        out = []
        names_used = {}
        tw = [t[3] for t in towns]
        for _ in range(n):
            town = wchoice(towns, tw)
            while True:
                if town[0] in VILLAGES and R.random() < 0.25:
                    nm = R.choice(["High Street", "The Green", "Church Lane", "Mill Lane",
                                   "School Lane", "The Street", "Back Lane", "Vicarage Road"])
                else:
                    nm = R.choice(STREET_BASES) + " " + wchoice([s for s, _ in STREET_SUFFIX],
                                                                [w for _, w in STREET_SUFFIX])
                if (town[0], nm) not in names_used:
                    names_used[(town[0], nm)] = 1
                    break
            st = Street()
            st.idx = len(self.streets)
            st.name, st.town, st.local = nm, town[0], local
            st.outward = "%s%d" % (town[1], R.choice(town[2]))
            st.nmax = R.choice([8, 14, 20, 30, 40, 60, 90, 120])
            st.blocks = {}
            if R.random() < 0.22:
                for _ in range(R.randint(1, 3)):
                    st.blocks[R.randint(1, st.nmax)] = R.randint(4, 24)
            st.pcs = ["%s %d%s%s" % (st.outward, R.randint(1, 9), R.choice(INWARD_L), R.choice(INWARD_L))
                      for _ in range((st.nmax - 1) // 12 + 1)]
            st.used = {}
            self.streets.append(st)
            out.append(st)
        return out

    def build_geo(self):
        self.streets = []
        n_local = max(60, int(self.a.patients / 11))
        self.local_streets = self.make_streets(TOWNS_LOCAL, n_local, True)
        self.away_streets = self.make_streets(TOWNS_AWAY, max(20, self.a.staff // 10), False)
        self.local_w = [s.nmax + 10 for s in self.local_streets]

    def new_address(self, local=True, street=None):
        for _ in range(200):
            st = street or (wchoice(self.local_streets, self.local_w) if local else R.choice(self.away_streets))
            if st.town in VILLAGES and R.random() < 0.06 and street is None:
                a = Addr(st, None, None, R.choice(HOUSE_NAMES))
            else:
                num = R.randint(1, st.nmax)
                flat = R.randint(1, st.blocks[num]) if num in st.blocks else None
                a = Addr(st, num, flat, None)
            k = a.home_key()
            if k not in st.used:
                st.used[k] = 1
                return a
        return a

    def addr_style(self, kind):
        s = set()
        if kind == "pas":
            if R.random() < 0.12:
                s.add("abbrev")
            if R.random() < 0.10:
                s.add("upper")
            if R.random() < 0.30:
                s.add("split")
            if R.random() < 0.05:
                s.add("nospace")
        else:  # ESR / HR record
            if R.random() < 0.22:
                s.add("abbrev")
            if R.random() < 0.04:
                s.add("upper")
            if R.random() < 0.6:
                s.add("split")
            if R.random() < 0.08:
                s.add("nospace")
        return tuple(sorted(s))

    # ---------------------------------------------------------- people
    def birth_for(self, age):
        d = self.start - dt.timedelta(days=int(age * 365.25) + R.randint(0, 364))
        return d

    def mk_person(self, origin, sex, age, base, family=None):
        p = Person()
        p.origin, p.sex, p.age, p.base = origin, sex, age, base
        p.family = family or fam_for(base, sex)
        g = GIVEN[origin][0 if sex == "male" else 1]
        p.given = [R.choice(g)]
        if R.random() < 0.4:
            m = R.choice(g)
            if m != p.given[0]:
                p.given.append(m)
        p.birth = self.birth_for(age)
        p.addr = None
        p.hh = None
        p.pat = None
        p.staff = None
        return p

    def household(self, lead=None, origin=None, local=True, kind=None):
        """Return members (lead first) sharing one address."""
        hid = len(self.households)
        addr = self.new_address(local)
        mem = []
        if lead is None:
            origin = origin or wchoice(*POP_ORIGINS)
            base = pick_surname(origin)
            r = R.random()
            kind = kind or ("single" if r < 0.30 else "couple" if r < 0.62 else "family" if r < 0.9 else "multi")
            if kind == "single":
                age = R.choice([R.randint(18, 40), R.randint(40, 65), R.randint(65, 99), R.randint(70, 99)])
                lead = self.mk_person(origin, R.choice(["male", "female"]), age, base)
            elif kind == "couple":
                age = R.choice([R.randint(20, 45), R.randint(45, 70), R.randint(65, 95), R.randint(70, 95)])
                lead = self.mk_person(origin, "male" if R.random() < 0.5 else "female", age, base)
            else:
                age = R.randint(26, 56)
                lead = self.mk_person(origin, "male" if R.random() < 0.5 else "female", age, base)
        else:
            origin = lead.origin
            base = lead.base
            a = lead.age
            if kind is None:
                r = R.random()
                if a < 28:
                    kind = "single" if r < 0.45 else "couple" if r < 0.75 else "parents"
                elif a < 56:
                    kind = "single" if r < 0.22 else "couple" if r < 0.5 else "family"
                else:
                    kind = "single" if r < 0.3 else "couple" if r < 0.85 else "multi"
        mem.append(lead)
        if kind in ("couple", "family", "multi"):
            psex = "female" if lead.sex == "male" else "male"
            if R.random() < 0.05:
                psex = lead.sex
            page = max(18, lead.age + R.randint(-5, 5))
            if R.random() < 0.78 and psex != lead.sex:
                partner = self.mk_person(origin, psex, page, base)
            else:
                po = origin if R.random() < 0.6 else wchoice(*POP_ORIGINS)
                partner = self.mk_person(po, psex, page, pick_surname(po))
            mem.append(partner)
            if kind in ("family", "multi") and lead.age >= 22:
                nk = R.choice([1, 1, 2, 2, 2, 3, 3, 4])
                father_base = lead.base if lead.sex == "male" or partner.sex == lead.sex else partner.base
                for _ in range(nk):
                    ka = R.randint(0, min(24, max(0, min(lead.age, partner.age) - 20)))
                    ks = R.choice(["male", "female"])
                    if partner.base != lead.base and R.random() < 0.3:
                        fam = fam_for(lead.base, ks) + "-" + fam_for(partner.base, ks)
                        kid = self.mk_person(origin, ks, ka, lead.base, family=fam)
                    else:
                        kid = self.mk_person(origin, ks, ka, father_base)
                    mem.append(kid)
            if kind == "multi":
                ga = min(99, lead.age + R.randint(22, 32))
                gb = base if R.random() < 0.55 else pick_surname(origin)
                mem.append(self.mk_person(origin, R.choice(["male", "female"]), ga, gb))
        elif kind == "parents":
            for sx in ("male", "female"):
                mem.append(self.mk_person(origin, sx, lead.age + R.randint(22, 34), base))
        for m in mem:
            m.addr = addr
            m.hh = hid
        self.households.append(mem)
        return mem

    def include_prob(self, p):
        a = p.age
        return 0.42 if a < 16 else 0.36 if a < 50 else 0.55 if a < 65 else 0.8 if a < 80 else 0.92

    # ---------------------------------------------------------- staff
    def staffing_plan(self):
        plan = []   # (role, dept, n, pattern)
        for w in ["AMU", "W10", "W11", "W12", "W15", "W14", "W20", "W21", "W22", "ICU", "W30", "W31", "ACHR", "DSU"]:
            sn, hca, clerk = WARD_NURSING[w]
            plan.append(("ward-sister", w, 1))
            plan.append(("midwife" if w == "W30" else "staff-nurse", w, sn))
            plan.append(("hca", w, hca))
            if clerk:
                plan.append(("ward-clerk", w, clerk))
        plan += [("ward-sister", "ED", 1), ("staff-nurse", "ED", 9), ("anp", "ED", 2), ("hca", "ED", 2),
                 ("ed-receptionist", "ED", 4)]
        for s in SPECS:
            c, r, j, sec = s[5]
            plan.append(("consultant", s[0], c))
            if r:
                plan.append(("registrar", s[0], r))
            if j:
                plan.append(("junior", s[0], j))
            if sec:
                plan.append(("medical-secretary", s[0], sec))
        plan += [("pharmacist", "PHA", 6), ("pharmacy-technician", "PHA", 2), ("phlebotomist", "PATH", 6),
                 ("radiographer", "IMG", 8), ("physiotherapist", "THER", 6), ("occupational-therapist", "THER", 3),
                 ("dietitian", "DIET", 2), ("specialist-nurse", "DIA", 2), ("specialist-nurse", "RES", 1),
                 ("specialist-nurse", "GSU", 1), ("specialist-nurse", "URO", 1), ("outreach-nurse", "ICM", 3),
                 ("op-receptionist", "OPD", 4), ("health-records-clerk", "OPD", 4), ("mdt-coordinator", "CANC", 2),
                 ("consultant", "ONC", 1),
                 ("bed-manager", "FLOW", 4), ("discharge-coordinator", "DISCH", 3), ("gp-liaison", "DISCH", 1),
                 ("clinical-coder", "CODE", 7), ("pals-officer", "PALS", 2), ("it-support", "IT", 3),
                 ("safeguarding-lead", "SAFE", 2), ("bereavement-officer", "BER", 2),
                 ("mortuary-technician", "MORT", 2), ("me-officer", "MEO", 1),
                 ("overseas-visitors-officer", "OVO", 1), ("private-patients-officer", "OVO", 1),
                 ("governance-facilitator", "GOV", 1),
                 ("district-nurse", "DNN", 4), ("district-nurse", "DNS", 4), ("district-nurse", "DNA", 4)]
        total = sum(x[2] for x in plan)
        f = self.a.staff / float(total)
        counts = []
        for role, dept, n in plan:
            mn = 1
            if role in ("staff-nurse", "midwife"):
                mn = 3
            if role == "junior":
                mn = 1 if dept in ("DIA", "URO", "ICM") else 2
            c = max(mn, int(round(n * f))) if n > 0 else 0
            counts.append(c)
        diff = self.a.staff - sum(counts)
        idxs = [i for i, x in enumerate(plan) if x[0] in ("staff-nurse", "hca", "midwife")]
        k = 0
        guard = 0
        while diff != 0 and guard < 10000:
            guard += 1
            i = idxs[k % len(idxs)]
            k += 1
            if diff > 0:
                counts[i] += 1
                diff -= 1
            elif counts[i] > 3:
                counts[i] -= 1
                diff += 1
        out = []
        for (role, dept, n), c in zip(plan, counts):
            for _ in range(c):
                out.append((role, dept))
        return out

    def build_people(self):
        self.households = []
        self.staff = []
        self.people_pat = []   # persons included as patients
        plan = self.staffing_plan()
        jr_cycle = ["fy1", "fy2", "core-trainee", "fy1", "fy2"]
        jc = 0
        for role, dept in plan:
            if role == "junior":
                role = jr_cycle[jc % len(jr_cycle)]
                jc += 1
            if role in DOC_ROLES:
                orig = wchoice(*DOC_ORIGINS)
                female = 0.5
            elif role in RN_ROLES + ("hca", "outreach-nurse", "district-nurse", "specialist-nurse"):
                orig = wchoice(*NURSE_ORIGINS)
                female = 0.99 if role == "midwife" else 0.86
            elif role == "it-support":
                orig, female = wchoice(*POP_ORIGINS), 0.3
            else:
                orig, female = wchoice(*POP_ORIGINS), 0.8
            ages = {"fy1": (23, 27), "fy2": (24, 29), "core-trainee": (26, 33), "registrar": (29, 41),
                    "consultant": (35, 64), "ward-sister": (32, 60)}.get(role, (20, 64))
            age = R.randint(*ages)
            sex = "female" if R.random() < female else "male"
            per = self.mk_person(orig, sex, age, pick_surname(orig))
            st = Staff()
            st.idx = len(self.staff)
            st.person, st.role, st.dept = per, role, dept
            st.roles = [(role, dept)]
            per.staff = st.idx
            self.staff.append(st)
            local = R.random() < 0.82
            mem = self.household(lead=per, local=local)
            for m in mem:
                if m is per:
                    inc = R.random() < (0.4 if local else 0.04)
                else:
                    inc = R.random() < (self.include_prob(m) if local else 0.03)
                if inc:
                    self.people_pat.append(m)
        # celebrities
        ncel = max(2, int(round(3 * self.scale)))
        self.celebs = []
        celeb_types = [("footballer", "male", (22, 31)), ("presenter", "female", (38, 55)),
                       ("mp", "male", (48, 64)), ("musician", "female", (25, 40)), ("actor", "male", (30, 60))]
        for i in range(ncel):
            kind, sex, (a0, a1) = celeb_types[i % len(celeb_types)]
            orig = R.choice(["GB", "GB", "CB", "IE", "SA"])
            per = self.mk_person(orig, sex, R.randint(a0, a1), pick_surname(orig))
            mem = self.household(lead=per, local=True, kind="couple" if R.random() < 0.6 else "single")
            self.people_pat.append(per)
            self.celebs.append((per, kind))
            for m in mem[1:]:
                if R.random() < 0.5:
                    self.people_pat.append(m)
        target = self.a.patients - 3    # three test patients
        while len(self.people_pat) < target:
            mem = self.household()
            for m in mem:
                if len(self.people_pat) < target and R.random() < self.include_prob(m):
                    self.people_pat.append(m)
        self.people_pat = self.people_pat[:target]

    def nhs_number(self, test=False):
        while True:
            if test:
                dg = [9, 9, 9] + [R.randint(0, 9) for _ in range(6)]
            else:
                dg = [R.randint(4, 7)] + [R.randint(0, 9) for _ in range(8)]
            s = sum(d * (10 - i) for i, d in enumerate(dg))
            c = 11 - s % 11
            if c == 11:
                c = 0
            if c == 10:
                continue
            n = "".join(str(x) for x in dg) + str(c)
            if n not in self.nhs_used:
                self.nhs_used.add(n)
                return n

    def build_patients(self):
        self.pats = []
        celeb_people = {id(p): k for p, k in self.celebs}
        for per in self.people_pat:
            pt = Pat()
            pt.idx = len(self.pats)
            pt.id = rid()
            pt.person = per
            per.pat = pt.idx
            pt.nhs = self.nhs_number()
            pt.mrn = "K%07d" % R.randint(1000000, 9999999)
            pt.sec = []
            pt.dead_at = None
            pt.test = False
            pt.busy = -1
            pt.fixed = False
            pt.community_death = False
            pt.celeb = celeb_people.get(id(per))
            pt.news = False
            a = per.age
            pt.diab = a >= 35 and R.random() < 0.11
            pt.cancer = None
            if a >= 45 and R.random() < 0.013:
                pt.cancer = R.choice(["lung", "colorectal", "urology"])
            pt.overseas = a >= 18 and R.random() < 0.015
            pt.private = a >= 18 and R.random() < 0.012
            pt.cp = a < 16 and R.random() < 0.015
            pt.astyle = self.addr_style("pas")
            pt.upper = R.random() < 0.2
            pt.strip = R.random() < 0.35
            pt.given = list(per.given)
            pt.family = per.family
            pt.addr = per.addr
            if per.staff is not None:
                if R.random() < 0.7:
                    pt.sec.append("EMP")
                if R.random() < 0.08:        # moved house; PAS still has the old address
                    pt.addr = self.new_address(True)
            if pt.celeb:
                pt.sec.append("CEL")
                if pt.celeb == "mp":
                    pt.sec.append("R")
            r = R.random()
            if r < 0.025 and a >= 14:
                pt.sec.append("PSY")
            elif r < 0.033 and a >= 16:
                pt.sec.append("SDV")
            elif r < 0.036 and a >= 16:
                pt.sec.append("HIV")
            elif r < 0.048 and a >= 16:
                pt.sec.append("ETH")
            r = R.random()
            if "R" not in pt.sec:
                if r < 0.006:
                    pt.sec.append("R")
                elif r < 0.008:
                    pt.sec.append("V")
            self.pats.append(pt)
        # test patients (IT and trainers use them)
        for i, nm in enumerate(["Alpha", "Bravo", "Charlie"]):
            per = Person()
            per.origin, per.sex, per.age, per.base = "GB", ["male", "female", "male"][i], 45, ("XXTESTPATIENT", "XXTESTPATIENT")
            per.family = "XXTESTPATIENT-KGH"
            per.given = [nm]
            per.birth = dt.date(1980, 1, 1 + i)
            per.addr = None
            per.hh = None
            per.staff = None
            pt = Pat()
            pt.idx = len(self.pats)
            pt.id = rid()
            pt.person = per
            per.pat = pt.idx
            pt.nhs = self.nhs_number(test=True)
            pt.mrn = "K000000%d" % (i + 1)
            pt.sec, pt.dead_at, pt.test, pt.busy, pt.fixed = [], None, True, 10 ** 12, True
            pt.diab = pt.overseas = pt.private = pt.cp = False
            pt.cancer = None
            pt.astyle, pt.upper, pt.strip = (), True, False
            pt.given, pt.family, pt.addr = [nm], per.family, None
            pt.community_death = False
            pt.celeb = None
            pt.news = False
            self.pats.append(pt)
        self.test_pats = [p.idx for p in self.pats if p.test]

    def build_staff_ids(self):
        for st in self.staff:
            st.id = rid()
            while True:
                s = "%012d" % R.randint(100000000000, 999999999999)
                if s not in self.sds_used:
                    self.sds_used.add(s)
                    break
            st.sds = s
            per = st.person
            stem = (normname(per.given[0])[:1] + normname(per.family.split("-")[0]))[:9]
            n = self.ad_used.get(stem, 0) + 1
            self.ad_used[stem] = n
            st.ad = stem if n == 1 else "%s%d" % (stem, n)
            st.esr = "%08d" % R.randint(10000000, 99999999)
            st.given = list(per.given[:1])
            if per.given[0] in NICK and R.random() < 0.12:
                st.given = [NICK[per.given[0]]]
            elif len(per.given) > 1 and R.random() < 0.25:
                st.given = list(per.given)
            st.astyle = self.addr_style("esr")
            if st.role in DOC_ROLES:
                if st.role == "consultant" and st.dept in ("GSU", "TRO", "URO"):
                    st.prefix = "Mr" if per.sex == "male" else R.choice(["Ms", "Miss", "Mrs"])
                else:
                    st.prefix = "Dr"
            else:
                st.prefix = None
            st.pat = per.pat
            st.spec = st.dept if st.dept in self.spec or st.dept == "ONC" else None
            st.ward = None
            st.bank = None
            st.me = False
            st.shifts = {}
            st.handheld = None
            st.carrier = None
            # remote working
            homeish = {"consultant": 0.3, "medical-secretary": 0.6, "clinical-coder": 0.6,
                       "it-support": 0.5, "governance-facilitator": 0.6, "pals-officer": 0.2,
                       "mdt-coordinator": 0.3}
            st.remote = R.random() < homeish.get(st.role, 0.0)
            if st.dept == "RAD" and st.role == "consultant":
                st.remote = True
            if st.dept == "ONC":
                st.remote = True
            st.home_ip = "%s.%d.%d.%d" % (R.choice(["86", "81", "82", "92", "109", "2", "31", "90", "151", "212", "94"]),
                                          R.randint(1, 254), R.randint(1, 254), R.randint(2, 254))
            st.desk = None
        # junior ward attachments
        for key in self.spec:
            wards = [w[0] for w in self.spec[key][3]]
            if key == "ELD":
                wards = wards + ["ACHR"]
            js = [s for s in self.staff if s.dept == key and s.role in JR_ROLES + ("registrar", "consultant")]
            for i, s in enumerate(js):
                s.ward = wards[i % len(wards)] if wards else None
        # medical examiners: consultants with an ME session
        pool = [s for s in self.staff if s.role == "consultant" and s.dept in ("ACM", "ELD", "RES", "CAR", "GAS", "GSU", "DIA", "PAE")]
        nme = max(1, int(round(2 * self.a.staff / 400.0)))
        for s in R.sample(pool, min(nme, len(pool))):
            s.me = True
            s.roles.append(("medical-examiner", "MEO"))
        # bank roles for some nurses
        wards_by_div = {}
        for w in ALL_WARDS:
            wards_by_div.setdefault(WARD_DIV[w], []).append(w)
        for s in self.staff:
            if s.role in ("staff-nurse", "hca") and s.dept in WARD_DIV and R.random() < 0.12:
                alt = [w for w in wards_by_div[WARD_DIV[s.dept]] if w != s.dept] or [w for w in MED_WARDS if w != s.dept]
                s.bank = R.choice(alt)
                s.roles.append((s.role, s.bank))
        for s in self.staff:
            if s.role == "district-nurse":
                s.carrier = R.choice(["82.132", "92.40", "148.252", "85.255", "31.94"])
            if s.role == "phlebotomist":
                s.handheld = "KGH-PHL-HH%02d" % (s.idx % 40 + 1)
            s.desk = self.ws(s.idx, s.dept)
        self.by_role = {}
        for s in self.staff:
            self.by_role.setdefault((s.role, s.dept), []).append(s.idx)
            self.by_role.setdefault((s.role, None), []).append(s.idx)
        self.by_dept = {}
        for s in self.staff:
            self.by_dept.setdefault(s.dept, []).append(s.idx)
        self.hh_pats = {}
        for s in self.staff:
            self.hh_pats[s.idx] = frozenset(m.pat for m in self.households[s.person.hh] if m.pat is not None)

    def staff_of(self, role, dept=None):
        return self.by_role.get((role, dept), [])

    # ---------------------------------------------------------- rota
    def set_shift(self, st, d, kind, h0, h1, loc=None):
        if -1 <= d < self.D:
            st.shifts[d] = (kind, self.L(d, h0), self.L(d, h1), loc or st.dept)

    def build_rota(self):
        D = self.D
        for st in self.staff:
            leave = set()
            if R.random() < 0.12:
                l0 = R.randint(-4, D - 1)
                for k in range(R.randint(5, 9)):
                    leave.add(l0 + k)
            role, dept = st.role, st.dept
            if role in RN_ROLES + ("hca",) and dept not in ("DSU",) or role in ("outreach-nurse", "bed-manager", "radiographer"):
                if role in ("bed-manager", "radiographer"):
                    dh, nh = (8, 20), (20, 32)
                else:
                    dh, nh = (7.5, 20), (19.5, 32)
                pn = 0.03 if role == "ward-sister" else (0.05 if role == "radiographer" else (0.0 if role == "anp" else 0.10))
                if role in ("staff-nurse", "hca", "midwife") and R.random() < 0.2:
                    pn = 0.0          # day-only contract
                self.rota_rot12(st, leave, dh, nh, pn)
            elif role == "ed-receptionist":
                for d in range(-1, D):
                    if d in leave or R.random() > 0.62:
                        continue
                    k = wchoice(["E", "L", "N"], [4, 3.5, 2.5])
                    prev = st.shifts.get(d - 1)
                    if prev and prev[0] == "N" and k == "E":
                        continue
                    h = {"E": (7, 15), "L": (15, 23), "N": (23, 31)}[k]
                    self.set_shift(st, d, k, h[0], h[1])
            elif dept == "EME" and role != "consultant":
                for d in range(-1, D):
                    if d in leave or R.random() > 0.55:
                        continue
                    k = wchoice(["E", "L", "N"], [4, 3.5, 2.5])
                    prev = st.shifts.get(d - 1)
                    if prev and prev[0] == "N" and k != "N":
                        continue
                    h = {"E": (8, 18), "L": (14, 24), "N": (22, 32)}[k]
                    self.set_shift(st, d, k, h[0], h[1])
            elif dept == "ICM" and role in ("registrar",) + JR_ROLES:
                self.rota_rot12(st, leave, (8, 20.5), (20, 32.5), 0.18)
            elif role in DOC_ROLES:
                h1 = 18 if role == "consultant" else 17.5
                for d in range(0, D):
                    if d not in leave and self.dow(d) < 5:
                        self.set_shift(st, d, "D", 8, h1)
            elif role == "phlebotomist":
                sat = R.random() < 0.4
                for d in range(0, D):
                    w = self.dow(d)
                    if d in leave or w == 6 or (w == 5 and not sat) or (w < 5 and R.random() < 0.12):
                        continue
                    self.set_shift(st, d, "D", 7, 15 if w < 5 else 12)
            elif role == "district-nurse":
                for d in range(0, D):
                    w = self.dow(d)
                    if d in leave or R.random() > (0.8 if w < 5 else 0.35):
                        continue
                    self.set_shift(st, d, "D", 8.5, 17)
            elif role == "pharmacist":
                for d in range(0, D):
                    if d not in leave and self.dow(d) < 5:
                        self.set_shift(st, d, "D", 8.75, 17.25)
            elif dept == "DSU":
                for d in range(0, D):
                    if d not in leave and self.dow(d) < 5 and R.random() < 0.85:
                        self.set_shift(st, d, "D", 7, 19)
            else:
                h0, h1 = {"ward-clerk": (8, 16), "clinical-coder": (8, 16), "medical-secretary": (9, 17),
                          "mortuary-technician": (8, 16), "it-support": (8, 18),
                          "op-receptionist": (8, 17)}.get(role, (8.5, 17))
                part = R.random() < 0.22
                offday = R.randint(0, 4)
                homedays = ()
                if st.remote and role in ("medical-secretary", "clinical-coder", "governance-facilitator", "it-support", "pals-officer", "mdt-coordinator"):
                    homedays = (0, 4) if R.random() < 0.5 else (R.randint(0, 4),)
                for d in range(0, D):
                    w = self.dow(d)
                    if d in leave or w >= 5 or (part and w == offday):
                        continue
                    hh0 = h0 + R.choice([0, 0, 0.25, 0.5, -0.25])
                    self.set_shift(st, d, "H" if w in homedays else "D", hh0, h1 + R.choice([0, 0, 0.25, 0.5, -0.5]))
        self.oncall_rota()
        self.fix_cover()
        self.redeploy_and_bank()
        self.roster = {}
        for st in self.staff:
            for d in sorted(st.shifts):
                kind, s, e, loc = st.shifts[d]
                self.roster.setdefault((loc, d), []).append((st.idx, s, e, kind))

    def rota_rot12(self, st, leave, dh, nh, pn):
        d = -1
        while d < self.D:
            if d in leave:
                d += 1
                continue
            r = R.random()
            if r < pn:
                blk = R.choice((2, 3, 3, 4))
                for k in range(blk):
                    if d + k not in leave:
                        self.set_shift(st, d + k, "N", nh[0], nh[1])
                d += blk + 2
            elif r < pn + 0.36:
                self.set_shift(st, d, "D", dh[0], dh[1])
                d += 1
            else:
                d += 1

    def oncall_rota(self):
        D = self.D
        self.oncall = {}
        for div, specs, wards, njr in ONCALL_DIVS:
            regs = [s for s in self.staff if s.dept in specs and s.role == "registrar"]
            jrs = [s for s in self.staff if s.dept in specs and s.role in JR_ROLES]
            cons = [s for s in self.staff if s.dept in specs and s.role == "consultant"]
            if len(regs) < 2:
                regs = regs + [j for j in jrs if j.role == "core-trainee"] or regs + jrs[:1]
            if not regs or not jrs:
                continue
            k = R.randrange(len(regs))
            kj = R.randrange(len(jrs))
            d = -1
            blk = 4
            while d < D:
                reg = regs[k % len(regs)]
                k += 1
                team = [jrs[(kj + x) % len(jrs)] for x in range(min(njr, len(jrs)))]
                kj += njr
                for dd in range(d, min(d + blk, D)):
                    for s in [reg] + team:
                        self.set_shift(s, dd, "N", 20.5, 33)
                    self.oncall[(div, dd, "N")] = (reg.idx, [j.idx for j in team if j is not reg])
                for s in [reg] + team:
                    for dd in (d + blk, d + blk + 1):
                        sh = s.shifts.get(dd)
                        if sh and sh[0] != "N":
                            del s.shifts[dd]
                d += blk
                blk = 3 if blk == 4 else 4
            # weekend day cover and weekday take
            wk = 0
            for d in range(0, D):
                w = self.dow(d)
                if w >= 5:
                    if w == 5:
                        wk += 1
                    c = cons[wk % len(cons)] if cons else None
                    free_regs = [r for r in regs if r.shifts.get(d, ("",))[0] != "N" and r.shifts.get(d - 1, ("",))[0] != "N"]
                    free_jrs = [j for j in jrs if j.shifts.get(d, ("",))[0] != "N" and j.shifts.get(d - 1, ("",))[0] != "N"]
                    reg = free_regs[(d + wk) % len(free_regs)] if free_regs else None
                    team = []
                    if free_jrs:
                        for x in range(njr):
                            j = free_jrs[(d * 3 + wk + x) % len(free_jrs)]
                            if j not in team:
                                team.append(j)
                    for s in ([c] if c else []) + ([reg] if reg else []) + team:
                        self.set_shift(s, d, "W", 8, 20.5)
                    self.oncall[(div, d, "W")] = (c.idx if c else None, reg.idx if reg else None, [j.idx for j in team])
                elif div in ("MED", "SUR"):
                    free_regs = [r for r in regs if r.shifts.get(d, ("",))[0] == "D"]
                    if free_regs:
                        r = free_regs[d % len(free_regs)]
                        self.set_shift(r, d, "T", 8, 21)
                        self.oncall[(div, d, "T")] = r.idx
        # ICU / ED / consultants weekend presence
        for dept in ("ICM", "EME"):
            cons = [s for s in self.staff if s.dept == dept and s.role == "consultant"]
            for d in range(0, D):
                if self.dow(d) >= 5 and cons:
                    c = cons[(d // 7) % len(cons)]
                    self.set_shift(c, d, "W", 8, 20)
        # radiology remote on-call (teleradiology from home)
        rads = [s.idx for s in self.staff if s.dept == "RAD" and s.role == "consultant"]
        self.rad_oncall = {}
        for d in range(-1, D):
            if rads:
                self.rad_oncall[d] = rads[(d // 7 + d) % len(rads)]
        # weekend pharmacist
        ph = [s for s in self.staff if s.role == "pharmacist"]
        for d in range(0, D):
            if self.dow(d) >= 5 and ph:
                self.set_shift(ph[d % len(ph)], d, "W", 9, 14)
        # IT weekend on-call
        it = [s for s in self.staff if s.role == "it-support"]
        for d in range(0, D):
            if self.dow(d) >= 5 and it:
                self.set_shift(it[(d // 7) % len(it)], d, "W", 9, 17)

    def fix_cover(self):
        D = self.D
        groups = {}
        for s in self.staff:
            if s.role in RN_ROLES + ("hca",) and (s.dept in WARD_DIV or s.dept == "ED"):
                groups.setdefault(s.dept, []).append(s)
            elif s.role in ("bed-manager", "radiographer", "outreach-nurse", "ed-receptionist") or (s.dept == "EME" and s.role != "consultant") or (s.dept == "ICM" and s.role in ("registrar",) + JR_ROLES):
                groups.setdefault("G:" + s.role + ("EMEDOC" if s.dept == "EME" else ""), []).append(s)
        for key in sorted(groups):
            members = groups[key]
            if key.startswith("G:"):
                need = {"D": 1, "N": 1}
                if "EMEDOC" in key:
                    need = {"E": 1, "L": 1, "N": 1}
                if "ed-receptionist" in key:
                    need = {"E": 1, "L": 1, "N": 1}
            else:
                rn = [s for s in members if s.role in RN_ROLES]
                need = {"D": max(1, min(4, len(rn) // 3)), "N": max(1, min(3, len(rn) // 4))}
                if key == "ICU":
                    need = {"D": max(2, len(rn) // 3), "N": max(2, len(rn) // 3)}
                members = rn
            hours = {"D": (7.5, 20), "N": (19.5, 32), "E": (7, 15), "L": (15, 23)}
            for d in range(-1, D):
                for kind in sorted(need):
                    have = [s for s in members if s.shifts.get(d, ("",))[0] == kind]
                    cand = [s for s in members if d not in s.shifts and s.shifts.get(d - 1, ("",))[0] != "N"]
                    while len(have) < need[kind] and cand:
                        s = cand.pop(R.randrange(len(cand)))
                        h = hours[kind]
                        if key.startswith("G:"):
                            h = {"D": (8, 20), "N": (20, 32), "E": (8, 18) if "EMEDOC" in key else (7, 15),
                                 "L": (14, 24) if "EMEDOC" in key else (15, 23)}[kind]
                            if "EMEDOC" in key and kind == "N":
                                h = (22, 32)
                            if "ed-receptionist" in key and kind == "N":
                                h = (23, 31)
                        self.set_shift(s, d, kind, h[0], h[1])
                        have.append(s)

    def redeploy_and_bank(self):
        wards_by_div = {}
        for w in ALL_WARDS:
            if w not in ("ICU", "W30", "W31"):
                wards_by_div.setdefault(WARD_DIV[w], []).append(w)
        for s in self.staff:
            if s.role in ("staff-nurse", "hca") and s.dept in WARD_DIV and s.dept not in ("ICU", "W30", "W31"):
                for d in sorted(s.shifts):
                    kind, a, b, loc = s.shifts[d]
                    if kind == "D" and R.random() < 0.03:
                        alt = [w for w in wards_by_div.get(WARD_DIV[s.dept], []) if w != s.dept]
                        if alt:
                            s.shifts[d] = (kind, a, b, R.choice(alt))
                            self.redeployed.add((s.idx, d))
            if s.bank:
                for d in range(0, self.D):
                    if d not in s.shifts and (d - 1) not in s.shifts and R.random() < 0.07:
                        if R.random() < 0.6:
                            self.set_shift(s, d, "D", 7.5, 20, s.bank)
                        else:
                            self.set_shift(s, d, "N", 19.5, 32, s.bank)
                        self.banked.add((s.idx, d))

    def on_shift(self, loc, t, roles=None, kinds=None):
        d = self.dayidx(t)
        out = []
        for dd in (d - 1, d):
            for (u, s, e, k) in self.roster.get((loc, dd), ()):
                if s <= t < e and (roles is None or self.staff[u].role in roles) and (kinds is None or k in kinds):
                    out.append(u)
        return out

    def working(self, u, d, kinds=("D", "T", "W", "H", "E", "L")):
        sh = self.staff[u].shifts.get(d)
        if sh and sh[0] in kinds:
            return sh
        return None

    def avail(self, pool, d, kinds=("D", "T", "W", "H")):
        return [u for u in pool if self.working(u, d, kinds)]

    # ---------------------------------------------------------- encounters
    def prof_weight(self, prof, per):
        a = per.age
        if prof == "any":
            return 1.5 if a < 5 else 0.8 if a < 16 else 1.0 if a < 65 else 1.6 if a < 80 else 2.5
        if prof == "adult":
            return 0 if a < 18 else 0.5 if a < 45 else 1.0 if a < 65 else 2.0 if a < 80 else 2.5
        if prof == "elderly":
            return 0 if a < 68 else 1.0 if a < 80 else 2.5
        if prof == "stroke":
            return 0 if a < 45 else 0.5 if a < 65 else 1.5
        if prof == "old":
            return 0 if a < 18 else 0.15 if a < 50 else 0.7 if a < 65 else 1.5
        if prof == "surg":
            return 0 if a < 18 else 1.0 if a < 85 else 0.4
        if prof == "child":
            return 1.0 if a < 16 else 0
        if prof == "maternity":
            if per.sex != "female" or a < 18 or a > 44:
                return 0
            return 2.0 if 25 <= a <= 38 else 1.0
        return 1.0

    def pick_patient(self, prof, start):
        if not hasattr(self, "_born"):
            self._born = [_epoch(pt.person.birth) + 43200 for pt in self.pats]
        c = self._prof.get(prof)
        if c is None:
            cand, cum, acc = [], [], 0.0
            for pt in self.pats:
                if pt.test or pt.fixed:
                    continue
                w = self.prof_weight(prof, pt.person)
                if w > 0:
                    acc += w
                    cand.append(pt.idx)
                    cum.append(acc)
            c = self._prof[prof] = (cand, cum)
        cand, cum = c
        for _ in range(60):
            x = R.random() * cum[-1]
            lo, hi = 0, len(cum) - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if cum[mid] < x:
                    lo = mid + 1
                else:
                    hi = mid
            pt = self.pats[cand[lo]]
            if pt.dead_at is None and pt.busy <= start and self._born[pt.idx] < start:
                return pt.idx
        return None

    def los_days(self, mean):
        sig = 0.8
        return max(0.2, R.lognormvariate(math.log(mean) - sig * sig / 2, sig))

    def plan_encounters(self):
        D, sc = self.D, self.scale
        self._prof = {}
        slots = []

        def slot(segs, prof, death=False, fixed=None, path="", extra=None):
            slots.append({"t": segs[0][2], "seq": len(slots), "segs": segs, "prof": prof, "death": death,
                          "fixed": fixed, "path": path, "extra": extra})

        ed_hours = [2, 1.5, 1.2, 1, 1, 1, 1.5, 2.5, 4, 5.5, 6, 6, 5.5, 5.5, 5.5, 5.5, 5.5, 5.5, 5, 5, 4.5, 4, 3.5, 2.5]
        hrs = list(range(24))
        # -------- inpatient spells
        for w in ALL_WARDS:
            info = self.ward_info[w]
            beds = max(4, int(round(info[2] * sc * 0.7)))
            los, dr, prof = info[3], info[4], info[5]
            lam = beds * 0.92 / los
            elect = {"W20": 0.45, "W21": 0.35, "W22": 0.5}.get(w, 0.0)
            for d in range(-45, D):
                wd = self.dow(d) < 5
                n_em = poisson(lam * (1 - elect))
                n_el = poisson(lam * elect * 7 / 5.0) if wd else 0
                for k in range(n_em + n_el):
                    elective = k >= n_em
                    if elective:
                        t_arr = self.L(d, 7 + R.uniform(0, 0.75))
                    else:
                        t_arr = self.L(d, R.uniform(10, 26) if w != "W30" else R.uniform(0, 24))
                    L_ = self.los_days(los)
                    died = (not elective) and R.random() < dr
                    end = t_arr + int(L_ * 86400)
                    if not died:
                        dd = self.dayidx(end)
                        end = self.L(dd, R.uniform(10.5, 19))
                        if end < t_arr + 4 * 3600:
                            end = t_arr + int(R.uniform(4, 14) * 3600)
                    segs = []
                    path = "elective" if elective else "emergency"
                    first = t_arr
                    if w == "ACHR":
                        prev_w = R.choice(["W12", "W12", "W15", "W21"])
                        ps = t_arr - int(R.uniform(5, 14) * 86400)
                        segs.append(["IMP", prev_w, ps, t_arr, "Emergency admission"])
                        first = ps
                        path = "rehab-transfer"
                    elif w in ("W10", "W11", "W12", "W14", "W15") and not elective:
                        direct = {"W15": 0.75, "W11": 0.45}.get(w, 0.25)
                        if R.random() > direct:
                            a0 = t_arr - int(R.uniform(0.4, 2.0) * 86400)
                            segs.append(["IMP", "AMU", a0, t_arr, "Emergency admission"])
                            first = a0
                            path = "via-AMU"
                    if not elective and w != "W30" and not (w == "ICU" and R.random() < 0.5) and not (w == "W31" and R.random() < 0.3):
                        ee = first - int(R.uniform(0.1, 0.6) * 3600)
                        es = ee - int(R.uniform(1.5, 6) * 3600)
                        segs.insert(0, ["EMER", "ED", es, ee, "A&E attendance"])
                    segs.append(["IMP", w, t_arr, end, "Elective admission" if elective else
                                 ("Transfer" if segs and segs[-1][0] == "IMP" else "Emergency admission")])
                    slot(segs, "surg" if (elective and w != "W21") else ("old" if elective else prof), died, None, path)
        # -------- A&E attendances not admitted
        for d in range(-14, D):
            n = poisson(55 * sc * (1.12 if self.dow(d) == 0 else 1.0))
            for _ in range(n):
                a = self.L(d, wchoice(hrs, ed_hours) + R.random())
                dur = R.uniform(1.2, 4.0) if R.random() < 0.72 else R.uniform(4.0, 9.0)
                slot([["EMER", "ED", a, a + int(dur * 3600), "A&E attendance"]], "any", path="ed-only")
        # -------- outpatient clinics
        for s in SPECS:
            key, clinic, spw, cprof = s[0], s[4], s[6], s[7]
            if not clinic:
                continue
            pool = [x.idx for x in self.staff if x.dept == key and x.role in ("consultant", "registrar")]
            for d in range(-28, D):
                if self.dow(d) >= 5:
                    continue
                x = spw * sc / 5.0
                nses = int(x) + (1 if R.random() < x - int(x) else 0)
                for _ in range(nses):
                    cand = self.avail(pool, d) if d >= 0 else pool
                    if not cand:
                        cand = pool
                    c = R.choice(cand)
                    h0 = R.choice([9, 13.5])
                    t = self.L(d, h0)
                    for i in range(R.randint(7, 11)):
                        dur = R.choice([15, 20, 20, 30]) * 60
                        slot([["AMB", "C" + key, t, t + dur, "Outpatient appointment"]], cprof, path="outpatient", extra=c)
                        t += dur + R.choice([0, 0, 300])
        for d in range(0, D):
            if self.dow(d) >= 5:
                continue
            for org, lam, ttl in (("PHLOP", 22, "Phlebotomy outpatient"), ("IMG", 14, "Imaging outpatient")):
                for _ in range(poisson(lam * sc)):
                    t = self.L(d, R.uniform(8, 16.5))
                    slot([["AMB", org, t, t + int(R.uniform(5, 30) * 60), ttl]], "adult", path="outpatient-" + org.lower())
        # -------- day surgery
        for d in range(-45, D):
            if self.dow(d) >= 5:
                continue
            for h0 in (7.5, 12.5):
                spec = R.choice(["GSU", "URO", "TRO", "GSU"])
                sp = [x.idx for x in self.staff if x.dept == spec and x.role == "consultant"]
                an = [x.idx for x in self.staff if x.dept == "ICM" and x.role in ("consultant", "registrar")]
                sur = R.choice(self.avail(sp, d) or sp) if sp else None
                ana = R.choice(an) if an else None
                for i in range(max(2, int(round(R.randint(4, 7) * sc)))):
                    t = self.L(d, h0) + i * 1200
                    slot([["SS", "DSU", t, t + int(R.uniform(4, 8) * 3600), "Day case"]], "surg", path="day-case", extra=(spec, sur, ana))
        # -------- fixed: celebrities and a patient in the news
        cel = [pt for pt in self.pats if pt.celeb]
        for pt in cel:
            pt.fixed = True
        for i, pt in enumerate(cel):
            k = pt.celeb
            if k == "footballer":
                d = max(1, D - 7)
                a = self.L(d, 15.2)
                segs = [["EMER", "ED", a, a + int(2.6 * 3600), "A&E attendance"],
                        ["IMP", "W21", a + int(2.9 * 3600), self.L(D + 3, 12), "Emergency admission"]]
                slot(segs, None, False, pt.idx, "celebrity-admission")
            elif k == "presenter":
                d1, d2 = max(0, D - 12), max(1, D - 5)
                while self.dow(d1) >= 5:
                    d1 += 1
                t = self.L(d1, 10.5)
                slot([["AMB", "CCAR", t, t + 1800, "Outpatient appointment"]], None, False, pt.idx, "celebrity-clinic",
                     extra=R.choice([x.idx for x in self.staff if x.dept == "CAR" and x.role == "consultant"]))
                a = self.L(d2, 9.3)
                slot([["EMER", "ED", a, a + 4 * 3600, "A&E attendance"],
                      ["IMP", "W11", a + int(4.3 * 3600), self.L(min(D - 1, d2 + 3), 14), "Emergency admission"]],
                     None, False, pt.idx, "celebrity-admission")
            elif k == "mp":
                d = max(0, D - 10)
                while self.dow(d) >= 5:
                    d += 1
                t = self.L(d, 7.5)
                sp = [x.idx for x in self.staff if x.dept == "URO" and x.role == "consultant"]
                an = [x.idx for x in self.staff if x.dept == "ICM" and x.role == "consultant"]
                slot([["SS", "DSU", t, t + 6 * 3600, "Day case"]], None, False, pt.idx, "celebrity-daycase",
                     extra=("URO", sp[0] if sp else None, an[0] if an else None))
            else:
                d = R.randint(0, max(0, D - 3))
                a = self.L(d, R.uniform(11, 22))
                slot([["EMER", "ED", a, a + 3 * 3600, "A&E attendance"]], None, False, pt.idx, "celebrity-ed")
        news = [pt for pt in self.pats if 20 <= pt.person.age <= 50 and pt.person.staff is None and not pt.sec and not pt.fixed]
        self.news_pats = []
        if news:
            pt = R.choice(news)
            pt.fixed = True
            pt.news = True
            self.news_pats.append(pt.idx)
            a = self.L(max(1, D - 6), 2.2)
            slot([["EMER", "ED", a, a + int(1.6 * 3600), "A&E attendance"],
                  ["IMP", "ICU", a + int(1.8 * 3600), self.L(D + 5, 12), "Emergency admission"]],
                 None, False, pt.idx, "news-admission")
        # -------- deaths long before the window
        for pt in self.pats:
            if not pt.fixed and not pt.test and pt.person.age >= 65 and pt.person.staff is None and R.random() < 0.02:
                pt.dead_at = self.L(-45, 0) - int(R.uniform(1, 330) * 86400) - R.randint(0, 86399)
                self.deaths.append((pt.idx, pt.dead_at, "historic", None))
        # -------- assign patients in time order
        slots.sort(key=lambda s: (s["t"], s["seq"]))
        self.ward_encs = {w: [] for w in ALL_WARDS + ["DSU"]}
        self.ed_encs, self.op_encs, self.ss_encs = [], [], []
        cons_of = {k: [x.idx for x in self.staff if x.dept == k and x.role == "consultant"] for k in self.spec}
        jr_of_ward = {}
        for x in self.staff:
            if x.role in JR_ROLES and x.ward:
                jr_of_ward.setdefault(x.ward, []).append(x.idx)
        reg_of = {k: [x.idx for x in self.staff if x.dept == k and x.role == "registrar"] for k in self.spec}
        for s in slots:
            segs = s["segs"]
            if s["fixed"] is not None:
                p = s["fixed"]
            else:
                p = self.pick_patient(s["prof"], segs[0][2])
                if p is None:
                    continue
            pt = self.pats[p]
            first_imp = None
            chain = []
            for (cls, org, a, b, ttl) in segs:
                end = b if b <= self.t_end else None
                e = Enc(p, cls, org, a, end, ttl)
                e.eend = b
                chain.append(e)
                if cls == "IMP":
                    spec = self.ward_spec[org]
                    e.spec = spec
                    cpool = cons_of.get(spec) or cons_of["ACM"]
                    e.parts.append(("ATND", R.choice(cpool)))
                    if first_imp is None:
                        first_imp = e
                        if s["path"] != "elective" and a < self.t0 and reg_of.get(spec) and R.random() < 0.5:
                            e.parts.append(("ADM", R.choice(reg_of[spec])))
                    else:
                        e.partof = first_imp.id
                    if jr_of_ward.get(org) and R.random() < 0.4:
                        e.parts.append(("PART", R.choice(jr_of_ward[org])))
                    if pt.private and R.random() < 0.7:
                        e.private = True
                    self.ward_encs[org].append(e)
                elif cls == "EMER":
                    self.ed_encs.append(e)
                elif cls == "AMB":
                    if s["extra"] is not None:
                        e.parts.append(("ATND", s["extra"]))
                        e.spec = self.org[org]["parent"]
                    self.op_encs.append(e)
                elif cls == "SS":
                    spec, sur, ana = s["extra"]
                    e.spec = spec
                    if sur is not None:
                        e.parts.append(("ATND", sur))
                    if ana is not None:
                        e.parts.append(("PART", ana))
                    if pt.private and R.random() < 0.7:
                        e.private = True
                    self.ss_encs.append(e)
                    self.ward_encs["DSU"].append(e)
                self.encs.append(e)
            for i, e in enumerate(chain):
                e.chain = chain
                if e.cls == "EMER" and i + 1 < len(chain):
                    e.ed_admit = True
            last = chain[-1]
            if last.cls in ("IMP", "EMER", "SS"):
                pt.busy = max(pt.busy, last.eend)
            if s["death"] and last.eend < self.t_end:
                last.died = True
                pt.dead_at = last.eend
                self.deaths.append((p, last.eend, "hospital", last))
        # community deaths inside the window (medical examiner scrutiny)
        eld = [pt for pt in self.pats if pt.person.age >= 70 and not pt.fixed and not pt.test]
        for d in range(0, self.D):
            for _ in range(poisson(0.35 * sc)):
                t = self.L(d, R.uniform(0, 24))
                for _ in range(30):
                    pt = R.choice(eld)
                    if pt.dead_at is None and pt.busy < t and pt.person.staff is None:
                        pt.dead_at = t
                        pt.busy = 10 ** 12
                        pt.community_death = True
                        self.deaths.append((pt.idx, t, "community", None))
                        break
        self.deaths.sort(key=lambda x: (x[1], x[0]))

    # ---------------------------------------------------------- care teams
    def build_careteams(self):
        self.caseload = []
        self.ct_members = {}   # pat idx -> list of staff
        spec_of_site = {"lung": "RES", "colorectal": "GSU", "urology": "URO"}
        self.mdt_pats = {k: [] for k in ("lung", "colorectal", "urology")}
        before = lambda: self.t0 - int(R.uniform(20, 500) * 86400)
        for pt in self.pats:
            if pt.test:
                continue
            if pt.cancer and (pt.dead_at is None or pt.dead_at > self.t0):
                sp = spec_of_site[pt.cancer]
                cons = self.staff_of("consultant", sp)
                mem = R.sample(cons, min(len(cons), R.randint(1, 2))) + self.staff_of("specialist-nurse", sp)
                self.add_ct(pt.idx, "%s care team" % {"lung": "Lung cancer MDT", "colorectal": "Colorectal cancer MDT", "urology": "Urology cancer MDT"}[pt.cancer],
                            sp, mem, before())
                self.mdt_pats[pt.cancer].append(pt.idx)
            if pt.diab and R.random() < 0.3 and pt.dead_at is None:
                cons = self.staff_of("consultant", "DIA")
                mem = R.sample(cons, min(1, len(cons))) + self.staff_of("specialist-nurse", "DIA")
                self.add_ct(pt.idx, "Diabetes specialist care", "DIA", mem, before())
            if pt.cp:
                mem = self.staff_of("safeguarding-lead", "SAFE") + self.staff_of("consultant", "PAE")[:1]
                self.add_ct(pt.idx, "Child protection plan", "SAFE", mem, before())
        eld = [pt for pt in self.pats if pt.person.age >= 68 and pt.dead_at is None and not pt.fixed and not pt.test
               and pt.addr is not None and pt.addr.st.local]
        n = min(len(eld), int(round(len(self.pats) * 0.028)))
        for pt in R.sample(eld, n):
            self.add_caseload(pt.idx, before())

    def dn_team(self, pt):
        a = pt.addr
        if a is None:
            return "DNN"
        if a.st.outward.startswith("AC"):
            return "DNA"
        num = int(a.st.outward[2:])
        return "DNN" if num % 2 else "DNS"

    def add_caseload(self, p, start):
        pt = self.pats[p]
        team = self.dn_team(pt)
        mem = self.staff_of("district-nurse", team)
        freq = wchoice(["daily", "3pw", "2pw", "weekly"], [15, 25, 25, 35])
        dows = {"daily": (0, 1, 2, 3, 4, 5, 6), "3pw": (0, 2, 4), "2pw": R.choice([(1, 4), (0, 3), (2, 5)]),
                "weekly": (R.randint(0, 4),)}[freq]
        self.caseload.append((p, team, dows, start))
        self.add_ct(p, "District nursing caseload", team, mem, start)

    def add_ct(self, p, name, org, members, start):
        ct = {"id": rid(), "p": p, "name": name, "org": org, "members": list(members), "start": start}
        self.careteams.append(ct)
        self.ct_members.setdefault(p, []).extend(members)

    # ---------------------------------------------------------- event emission
    def emit(self, u, p, t, steps, loc, purpose, scen, expl=1, lab=-1, gap=(6, 75)):
        EV = self.EV
        t0, t1 = self.t0, self.t_end
        if lab < 0 and p in self.hh_pats[u]:
            # staff do not look after themselves or their own household: a colleague does it
            return t + 60
        for st in steps:
            if t0 <= t < t1:
                EV.append((int(t * 1000), len(EV), u, p, st[0], st[1], purpose, loc, scen, expl, lab))
            t += R.uniform(gap[0], gap[1])
        return t

    def var(self, name):
        base = T[name]
        r = R.random()
        if r < 0.18 and len(base) > 1:
            return base[:R.randint(1, len(base) - 1)]
        if r > 0.93:
            return base + [("read", "DocumentReference")]
        return base

    def census(self, w, d):
        key = (w, d)
        c = self._census.get(key)
        if c is None:
            a, b = self.L(d, 0), self.L(d + 1, 9)
            c = [e for e in self.ward_encs.get(w, ()) if e.start < b and e.eend > a]
            self._census[key] = c
        return c

    def sfx(self, u, d):
        if (u, d) in self.redeployed:
            return ":redeployed"
        if (u, d) in self.banked:
            return ":bank-shift"
        return ""

    def restricted(self, p):
        sec = self.pats[p].sec
        return any(c in sec for c in RESTRICTED)

    def sensitive(self, p):
        sec = self.pats[p].sec
        return any(c in sec for c in RESTRICTED + SENSITIVE)

    def rad_report(self, p, t, urgent):
        t2 = t + int(R.uniform(0.2, 1.5) * 3600 if urgent else R.uniform(1, 20) * 3600)
        d = self.dayidx(t2)
        h = local_hour(t2)
        rads = self.staff_of("consultant", "RAD")
        if not rads:
            return
        if self.dow(d) < 5 and 8.5 <= h < 17.5:
            c = self.avail(rads, d)
            if c:
                u = R.choice(c)
                self.emit(u, p, t2, T["report"], self.ws_ip(self.ws(u, "RAD")), "TREAT", "radiology-report")
                return
        if urgent:
            dd = d if h >= 17.5 else d - 1
            u = self.rad_oncall.get(dd)
            if u is not None:
                self.emit(u, p, t2, T["report"], self.staff[u].home_ip, "TREAT", "radiology-report-remote-on-call")
                return
        # routine: reported next working morning
        nd = d if self.dow(d) < 5 and h < 8.5 else self.next_workday(d)
        c = self.avail(rads, nd) or rads
        u = R.choice(c)
        self.emit(u, p, self.L(nd, R.uniform(8.6, 16.5)), T["report"], self.ws_ip(self.ws(u, "RAD")), "TREAT", "radiology-report")

    def xray(self, p, t, ward, scen="radiography"):
        r = self.on_shift("IMG", t, roles=("radiographer",))
        if not r:
            return
        u = R.choice(r)
        self.emit(u, p, t, T["xray"], self.ws_ip(self.ws(u, "IMG")), "TREAT", scen)

    # ---------------------------------------------------------- ward nursing
    def act_ward_nursing(self):
        for w in ALL_WARDS + ["DSU"]:
            icu = w == "ICU"
            for d in range(self.D):
                cen = self.census(w, d)
                if not cen:
                    continue
                shifts = ("D", "N") if w != "DSU" else ("D",)
                for kind in shifts:
                    if w == "DSU":
                        if self.dow(d) >= 5:
                            continue
                        s, e = self.L(d, 7), self.L(d, 19)
                    elif kind == "D":
                        s, e = self.L(d, 7.5), self.L(d, 20)
                    else:
                        s, e = self.L(d, 19.5), self.L(d, 32)
                    on = [x for x in self.roster.get((w, d), ()) if x[3] == kind]
                    rns = [x[0] for x in on if self.staff[x[0]].role in RN_ROLES]
                    hcas = [x[0] for x in on if self.staff[x[0]].role == "hca"]
                    if not rns:
                        rns = hcas[:1] or [u for u in self.by_dept.get(w, []) if self.staff[u].role in RN_ROLES][:1]
                    if not rns:
                        continue
                    act = [x for x in cen if x.start < e and x.eend > s]
                    if not act:
                        continue
                    if w == "DSU":
                        for i, x in enumerate(act):
                            n = rns[i % len(rns)]
                            if s <= x.start < e:
                                self.emit(n, x.p, x.start + R.uniform(600, 2400), self.var("admit_nurse"), self.ws(n, w), "TREAT", "day-surgery-nursing" + self.sfx(n, d))
                                self.emit(n, x.p, x.start + R.uniform(2.5, 4) * 3600, self.var("obs2"), self.ws(n, w), "TREAT", "day-surgery-nursing")
                                if x.end:
                                    self.emit(n, x.p, x.end - R.uniform(300, 1800), T["discharge_nurse"], self.ws(n, w), "TREAT", "day-surgery-nursing")
                        continue
                    sis = [u for u in rns if self.staff[u].role == "ward-sister"]
                    lead = sis[0] if sis else rns[0]
                    t = s + R.uniform(400, 1500)
                    for x in act:
                        if x.on(t):
                            self.emit(lead, x.p, t, T["list"], self.ws(lead, w), "TREAT", "ward-handover-list" + self.sfx(lead, d))
                            t += R.uniform(0.6, 4)
                    if icu:
                        oh = [8, 12, 16, 19] if kind == "D" else [22, 26, 30]
                        mh = [8, 12.5, 17.5] if kind == "D" else [22]
                        pobs, pmed = 0.85, 0.8
                    else:
                        oh = [8, 14, 19] if kind == "D" else [23, 29]
                        mh = [8, 13, 18] if kind == "D" else [22]
                        pobs, pmed = 0.55, 0.45
                    for i, x in enumerate(act):
                        nurse = rns[i % len(rns)]
                        nws = self.ws(nurse, w)
                        for h in oh:
                            if R.random() < pobs:
                                t = self.L(d, h) + R.uniform(-1500, 2400)
                                if x.start < t < min(x.eend, e):
                                    who = hcas[i % len(hcas)] if hcas and R.random() < 0.55 else nurse
                                    self.emit(who, x.p, t, self.var("obs") if R.random() < 0.7 else T["obs2"],
                                              self.ws(who, w), "TREAT", "nursing-observations" + self.sfx(who, d))
                        for h in mh:
                            if R.random() < pmed:
                                t = self.L(d, h) + R.uniform(-900, 2700)
                                if x.start < t < min(x.eend, e):
                                    self.emit(nurse, x.p, t, self.var("meds"), nws, "TREAT", "nursing-medication-round" + self.sfx(nurse, d))
                        t = e - R.uniform(900, 3600)
                        if x.start < t < x.eend and R.random() < 0.55:
                            self.emit(nurse, x.p, t, T["nnote"], nws, "TREAT", "nursing-notes" + self.sfx(nurse, d))
                        if s <= x.start < e:
                            self.emit(nurse, x.p, x.start + R.uniform(900, 3600), self.var("admit_nurse"), nws, "TREAT", "nursing-admission" + self.sfx(nurse, d))
                        if x.end is not None and s <= x.end < e:
                            if x.died:
                                self.emit(nurse, x.p, x.end + R.uniform(600, 2400), [("update", "Encounter"), ("create", "DocumentReference")], nws, "TREAT", "death-nursing-care")
                            else:
                                self.emit(nurse, x.p, x.end - R.uniform(300, 1800), T["discharge_nurse"], nws, "TREAT",
                                          ("nursing-discharge" if x.chain[-1] is x else "nursing-transfer") + self.sfx(nurse, d))
                    # a nurse looks up a patient discharged from this ward in the last few days
                    if R.random() < 0.12:
                        gone = [x for x in self.ward_encs[w] if x.end is not None and s - 3 * 86400 < x.end < s and not x.died]
                        if gone:
                            x = R.choice(gone)
                            u = R.choice(rns)
                            self.emit(u, x.p, s + R.uniform(3600, 10 * 3600), T["chart_short"], self.ws(u, w), "TREAT", "former-patient-follow-up")

    def act_ward_clerks(self):
        for w in ALL_WARDS:
            clerks = self.staff_of("ward-clerk", w)
            for d in range(self.D):
                on = [u for u in clerks if self.working(u, d)]
                if not on:
                    continue
                u = on[0]
                sh = self.staff[u].shifts[d]
                cen = self.census(w, d)
                t = sh[1] + R.uniform(600, 2400)
                for x in cen:
                    if x.on(t):
                        self.emit(u, x.p, t, T["list"], self.ws(u, w), "PATADMIN", "ward-clerk-census")
                        t += R.uniform(0.5, 3)
                for x in cen:
                    if sh[1] <= x.start < sh[2]:
                        self.emit(u, x.p, x.start + R.uniform(300, 3600), [("read", "Patient"), ("update", "Encounter")], self.ws(u, w), "PATADMIN", "ward-clerk-admission")
                    if x.end is not None and sh[1] <= x.end < sh[2] and R.random() < 0.7:
                        self.emit(u, x.p, x.end + R.uniform(300, 3600), [("update", "Encounter")], self.ws(u, w), "PATADMIN", "ward-clerk-discharge")

    # ---------------------------------------------------------- ward doctors
    def act_ward_doctors(self):
        for w in ALL_WARDS:
            spec = self.ward_spec[w]
            div = WARD_DIV[w]
            cons_pool = self.staff_of("consultant", spec)
            reg_pool = self.staff_of("registrar", spec)
            jr_all = [u for r in JR_ROLES for u in self.staff_of(r, spec)]
            jr_pool = [u for u in jr_all if self.staff[u].ward == w] or jr_all
            for d in range(self.D):
                cen = self.census(w, d)
                if not cen:
                    continue
                wd = self.dow(d) < 5
                if w == "ICU":
                    self.icu_doctors(d, cen)
                    continue
                t_round = self.L(d, 7.75 if w in SUR_WARDS else 9.0)
                act = [x for x in cen if x.on(t_round) or (x.start < self.L(d, 12) and x.eend > self.L(d, 12))]
                jrs_today = []
                if wd:
                    jrs = [u for u in jr_pool if self.working(u, d, ("D", "T"))] or [u for u in jr_all if self.working(u, d, ("D", "T"))]
                    cons = [u for u in cons_pool if self.working(u, d)]
                    regs = [u for u in reg_pool if self.working(u, d, ("D", "T"))]
                    if w == "ACHR":
                        jrs = jrs[:1] if R.random() < 0.8 else []
                        cons = cons[:1] if self.dow(d) in (1, 4) else []
                        regs = []
                    jrs_today = jrs
                    t = self.L(d, 7.2 if w in SUR_WARDS else 8.2)
                    if jrs:
                        for i, x in enumerate(act):
                            j = jrs[i % len(jrs)]
                            t = self.emit(j, x.p, t, self.var("chart_short"), self.ws(j, w), "TREAT", "junior-ward-review") + R.uniform(20, 150)
                    full = self.dow(d) in (0, 3) or w in ("AMU", "W15", "W30", "W31")
                    if cons:
                        t = t_round
                        for i, x in enumerate(act):
                            if full or x.start > t_round - 86400 or R.random() < 0.3:
                                at = [u for (r_, u) in x.parts if r_ == "ATND"]
                                c = at[0] if at and at[0] in cons else cons[i % len(cons)]
                                self.emit(c, x.p, t, self.var("ward_round"), self.ws(c, w), "TREAT", "consultant-ward-round")
                                if jrs and R.random() < 0.7:
                                    j = jrs[i % len(jrs)]
                                    self.emit(j, x.p, t + R.uniform(30, 240), self.var("wr_scribe"), self.ws(j, w), "TREAT", "ward-round-scribe")
                                t += R.uniform(240, 660)
                    for x in act:
                        if regs and R.random() < 0.3:
                            r = R.choice(regs)
                            self.emit(r, x.p, self.L(d, R.uniform(12.5, 17)), self.var("chart"), self.ws(r, w), "TREAT", "registrar-review")
                        if jrs and R.random() < 0.4:
                            j = R.choice(jrs)
                            self.emit(j, x.p, self.L(d, R.uniform(11.5, 17.2)), self.var("jobs"), self.ws(j, w), "TREAT", "junior-jobs")
                else:
                    oc = self.oncall.get((div, d, "W"))
                    if oc:
                        c, r, jl = oc
                        jrs_today = jl
                        t = self.L(d, 9.0 + R.uniform(0, 2))
                        for x in act:
                            if x.start > t_round - 86400 or R.random() < 0.2:
                                who = c if c is not None and (R.random() < 0.55 or r is None) else r
                                if who is None:
                                    continue
                                self.emit(who, x.p, t, self.var("ward_round"), self.ws(who, w), "TREAT", "weekend-on-call-review")
                                t += R.uniform(300, 900)
                            if jl and R.random() < 0.15:
                                j = R.choice(jl)
                                self.emit(j, x.p, self.L(d, R.uniform(9, 20)), self.var("jobs"), self.ws(j, w), "TREAT", "weekend-on-call-jobs")
                # discharge summaries
                for x in cen:
                    if x.end is not None and not x.died and x.chain[-1] is x and self.dayidx(x.end) == d:
                        pool = jrs_today or [u for u in jr_all if self.working(u, d, ("D", "T", "W"))]
                        if not pool:
                            oc = self.oncall.get((div, d, "W"))
                            pool = oc[2] if oc and oc[2] else jr_all
                        if not pool:
                            continue
                        j = R.choice(pool)
                        tt = max(self.L(d, 8.6), x.end - R.uniform(1, 3.5) * 3600)
                        self.emit(j, x.p, tt, self.var("dsum"), self.ws(j, w), "TREAT", "discharge-summary")

    def icu_doctors(self, d, cen):
        cons = [u for u in self.staff_of("consultant", "ICM") if self.working(u, d)]
        t = self.L(d, 8.5)
        day_regs = self.on_shift("ICM", self.L(d, 10), roles=("registrar",) + JR_ROLES)
        act = [x for x in cen if x.on(t)]
        for i, x in enumerate(act):
            if cons:
                c = cons[i % len(cons)]
                self.emit(c, x.p, t, self.var("ward_round"), self.ws(c, "ICU"), "TREAT", "consultant-ward-round")
            if day_regs:
                r = day_regs[i % len(day_regs)]
                self.emit(r, x.p, t + R.uniform(60, 300), self.var("wr_scribe"), self.ws(r, "ICU"), "TREAT", "ward-round-scribe")
                self.emit(r, x.p, self.L(d, R.uniform(12, 19)), self.var("chart"), self.ws(r, "ICU"), "TREAT", "registrar-review")
            t += R.uniform(600, 1200)
        tn = self.L(d, 21)
        nregs = self.on_shift("ICM", tn, roles=("registrar",) + JR_ROLES)
        if nregs:
            for x in cen:
                if x.on(tn):
                    r = R.choice(nregs)
                    self.emit(r, x.p, tn + R.uniform(0, 5400), self.var("chart_short"), self.ws(r, "ICU"), "TREAT", "night-review")

    # ---------------------------------------------------------- nights & admissions
    def act_night_cover(self):
        for div, specs, wards, njr in ONCALL_DIVS:
            for d in range(-1, self.D):
                oc = self.oncall.get((div, d, "N"))
                if not oc:
                    continue
                reg, jrs = oc
                t23 = self.L(d, 23)
                pts = [x for w in wards for x in self.census(w, d) if x.on(t23)]
                if not pts:
                    continue
                n = poisson((0.09 if div in ("MED", "SUR") else 0.13) * len(pts))
                for _ in range(n):
                    x = R.choice(pts)
                    t = self.L(d, R.uniform(21, 31.5))
                    if not x.on(t):
                        continue
                    who = R.choice(jrs) if jrs and R.random() < 0.7 else reg
                    btg = self.restricted(x.p)
                    self.emit(who, x.p, t, self.var("chart") + ([("create", "DocumentReference")] if R.random() < 0.5 else []),
                              self.ws(who, x.org), "BTG" if btg else "TREAT", "night-cross-cover-break-glass" if btg else "night-cross-cover")
                # handover list at 21:00 for the night team
                lst = [x for x in pts if R.random() < 0.25]
                t = self.L(d, 21.1)
                for x in lst:
                    self.emit(reg, x.p, t, T["list"], self.ws(reg, x.org), "TREAT", "night-handover-list")
                    t += R.uniform(0.5, 3)

    def clerk_for(self, div, t):
        d = self.dayidx(t)
        h = local_hour(t)
        if div == "ICU":
            c = self.on_shift("ICM", t, roles=("registrar",) + JR_ROLES)
            if not c:
                c = [u for u in self.staff_of("consultant", "ICM") if self.working(u, d)] or self.staff_of("consultant", "ICM")
            return c
        if self.dow(d) >= 5 and 9 <= h < 20.5:
            oc = self.oncall.get((div, d, "W"))
            return ([u for u in (oc[1],) if u is not None] + oc[2]) if oc else []
        if h >= 20.5 or h < 9:
            dn = d if h >= 20.5 else d - 1
            oc = self.oncall.get((div, dn, "N"))
            return ([oc[0]] + oc[1]) if oc else []
        tk = self.oncall.get((div, d, "T"))
        specs = [x[1] for x in ONCALL_DIVS if x[0] == div]
        specs = specs[0] if specs else []
        jr = [s.idx for s in self.staff if s.dept in specs and s.role in JR_ROLES and self.working(s.idx, d, ("D",))]
        return ([tk] if tk is not None else []) + jr[:2]

    def act_admissions(self):
        for e in self.ed_encs:
            if not e.ed_admit:
                continue
            nxt = e.chain[e.chain.index(e) + 1]
            div = WARD_DIV.get(nxt.org, "MED")
            if nxt.org == "W30":
                continue
            t = e.start + R.uniform(0.35, 0.8) * (e.eend - e.start)
            if not (self.t0 <= t < self.t_end):
                continue
            cands = self.clerk_for(div, t)
            if not cands:
                continue
            who = cands[0] if R.random() < 0.55 else R.choice(cands)
            self.emit(who, e.p, t, self.var("clerk"), self.ws(who, "ED"), "TREAT", "admission-clerking")
            role = "ADM" if self.staff[who].role in ("registrar", "consultant") else "PART"
            if (role, who) not in nxt.parts:
                nxt.parts.append((role, who))
        # elective surgery and day cases: anaesthetic pre-op, operation note
        an_pool = [u for u in self.staff_of("consultant", "ICM") + self.staff_of("registrar", "ICM")]
        for x in [y for w in SUR_WARDS for y in self.ward_encs[w] if y.ttl == "Elective admission"] + self.ss_encs:
            if not (self.t0 <= x.start < self.t_end):
                continue
            d = self.dayidx(x.start)
            sur = [u for (r_, u) in x.parts if r_ == "ATND"]
            spec = x.spec
            if not sur or not self.working(sur[0], d):
                c = [u for u in self.staff_of("consultant", spec) if self.working(u, d)]
                sur = c[:1] or sur
            if sur:
                self.emit(sur[0], x.p, x.start + R.uniform(1.5, 5.5) * 3600, self.var("op_note"), self.ws(sur[0], "THR"), "TREAT",
                          "day-surgery-theatre" if x.cls == "SS" else "theatre-operation-note")
            an = [u for (r_, u) in x.parts if r_ == "PART" and self.staff[u].dept == "ICM"]
            if not an:
                an = [u for u in an_pool if self.working(u, d)] or an_pool
            if an:
                a = an[0] if x.cls == "SS" else R.choice(an)
                self.emit(a, x.p, x.start + R.uniform(0.3, 1.2) * 3600, self.var("chart_short"), self.ws(a, "THR"), "TREAT", "anaesthetic-pre-op")

    # ---------------------------------------------------------- A&E
    def act_ed(self):
        self.sg_queue = []
        self.by_family = {}
        for pt in self.pats:
            self.by_family.setdefault(normname(pt.family), []).append(pt.idx)
        for e in self.ed_encs:
            a, b = e.start, e.eend
            if b < self.t0 or a >= self.t_end:
                if e.end is not None and not any(r == "ATND" for r, _ in e.parts):
                    docs = self.staff_of("registrar", "EME") + self.staff_of("fy2", "EME") + self.staff_of("core-trainee", "EME")
                    if docs:
                        e.parts.append(("ATND", R.choice(docs)))
                continue
            p = e.p
            rec = self.on_shift("ED", a, roles=("ed-receptionist",)) or self.on_shift("ED", a, roles=("staff-nurse", "ward-sister"))
            if rec:
                u = R.choice(rec)
                loc = self.ws(u, "ED")
                t = a + R.uniform(30, 240)
                if R.random() < 0.018:
                    fam = self.by_family.get(normname(self.pats[p].family), [])
                    others = [q for q in fam if q != p and not self.pats[q].test]
                    q = R.choice(others) if others else R.randrange(len(self.pats) - 3)
                    t = self.emit(u, q, t, [("search", "Patient"), ("read", "Patient")], loc, "PATADMIN", "ed-registration-wrong-patient-opened", expl=0)
                self.emit(u, p, t, self.var("register"), loc, "PATADMIN", "ed-registration")
            nurses = self.on_shift("ED", a + 900, roles=("staff-nurse", "ward-sister", "anp"))
            if nurses:
                n = R.choice(nurses)
                self.emit(n, p, a + R.uniform(300, 1500), self.var("triage"), self.ws(n, "ED"), "ETREAT", "ed-triage")
            tc = a + R.uniform(0.12, 0.55) * (b - a)
            docs = self.on_shift("EME", tc, roles=DOC_ROLES) + self.on_shift("ED", tc, roles=("anp",))
            if not docs:
                docs = self.staff_of("registrar", "EME") or self.staff_of("consultant", "EME")
            c = R.choice(docs)
            btg = self.sensitive(p) or R.random() < 0.02
            self.emit(c, p, tc, self.var("ed_review"), self.ws(c, "ED"), "BTG" if btg else "ETREAT",
                      "ed-clinician-break-glass" if btg else "ed-clinician")
            if ("ATND", c) not in e.parts:
                e.parts.append(("ATND", c))
            if nurses:
                for _ in range(R.randint(0, 2)):
                    t = a + R.uniform(0.2, 0.95) * (b - a)
                    n2 = self.on_shift("ED", t, roles=("staff-nurse", "ward-sister", "hca")) or nurses
                    n = R.choice(n2)
                    self.emit(n, p, t, self.var("obs") if R.random() < 0.5 else self.var("meds"), self.ws(n, "ED"), "ETREAT", "ed-nursing")
            if R.random() < 0.35:
                tx = tc + R.uniform(600, 3600)
                self.xray(p, tx, "ED", "radiography-ed")
                self.rad_report(p, tx, True)
            tf = max(tc + 600, b - R.uniform(1200, 3600))
            if R.random() < 0.6:
                self.emit(c, p, tf, self.var("ed_fu"), self.ws(c, "ED"), "BTG" if btg and R.random() < 0.5 else "ETREAT", "ed-clinician")
            if not e.ed_admit:
                self.emit(c, p, b - R.uniform(0, 900), T["ed_letter"], self.ws(c, "ED"), "ETREAT", "ed-discharge-letter")
                if R.random() < 0.07:
                    # specialty review in A&E without admission (a consult with no encounter link)
                    ag = self.pats[p].person.age
                    div = "PAE" if ag < 16 else R.choice(["MED", "SUR", "SUR"])
                    cands = self.clerk_for(div, tc + 1800)
                    if cands:
                        r = R.choice(cands)
                        self.emit(r, p, tc + R.uniform(1800, 5400), self.var("chart"), self.ws(r, "ED"), "TREAT", "ed-specialty-referral")
            pt = self.pats[p]
            if pt.person.age < 18 and R.random() < 0.5 or "SDV" in pt.sec or R.random() < 0.02:
                self.sg_queue.append((p, a))

    # ---------------------------------------------------------- outpatients
    def act_outpatients(self):
        sessions = {}
        for e in self.op_encs:
            d = self.dayidx(e.start)
            c = [u for (r_, u) in e.parts if r_ == "ATND"]
            c = c[0] if c else None
            if e.org in ("PHLOP", "IMG"):
                if not (self.t0 <= e.start < self.t_end):
                    continue
                rec = self.on_shift("OPD", e.start, roles=("op-receptionist", "health-records-clerk"))
                if rec:
                    u = R.choice(rec)
                    self.emit(u, e.p, e.start - R.uniform(60, 600), self.var("checkin"), self.ws(u, "OPD"), "PATADMIN", "outpatient-check-in")
                if e.org == "PHLOP":
                    ph = self.on_shift("PATH", e.start, roles=("phlebotomist",))
                    if ph:
                        u = R.choice(ph)
                        self.emit(u, e.p, e.start + R.uniform(60, 900), T["phleb"], self.ws(u, "PHLOP"), "TREAT", "phlebotomy-outpatient")
                else:
                    self.xray(e.p, e.start + R.uniform(60, 900), "IMG", "radiography-outpatient")
                    self.rad_report(e.p, e.start + 900, False)
                continue
            sessions.setdefault((e.org, d, c), []).append(e)
            spec = e.spec
            if self.t0 <= e.start < self.t_end:
                rec = self.on_shift("OPD", e.start, roles=("op-receptionist",)) or self.on_shift("OPD", e.start, roles=("health-records-clerk",))
                if rec:
                    u = R.choice(rec)
                    t = e.start - R.uniform(120, 900)
                    if R.random() < 0.012:
                        fam = self.by_family.get(normname(self.pats[e.p].family), [])
                        others = [q for q in fam if q != e.p and not self.pats[q].test]
                        q = R.choice(others) if others else self.random_patient()
                        t = self.emit(u, q, t, [("search", "Patient"), ("read", "Patient")], self.ws(u, "OPD"), "PATADMIN", "outpatient-wrong-patient-opened", expl=0)
                    self.emit(u, e.p, t, self.var("checkin"), self.ws(u, "OPD"), "PATADMIN", "outpatient-check-in")
                if c is not None:
                    self.emit(c, e.p, e.start + R.uniform(0, 420), self.var("clinic"), self.ws(c, e.org), "TREAT", "outpatient-clinic")
                if R.random() < 0.22:
                    t = e.eend + R.uniform(300, 2400)
                    ph = self.on_shift("PATH", t, roles=("phlebotomist",))
                    if ph:
                        u = R.choice(ph)
                        self.emit(u, e.p, t, T["phleb"], self.ws(u, "PHLOP"), "TREAT", "phlebotomy-outpatient")
                if R.random() < 0.12:
                    t = e.eend + R.uniform(300, 3600)
                    self.xray(e.p, t, "IMG", "radiography-outpatient")
                    self.rad_report(e.p, t, False)
            if c is None:
                continue
            # clinic letter typed by the specialty secretary days later, signed by the consultant
            secs = self.staff_of("medical-secretary", spec)
            if secs:
                sec = secs[c % len(secs)]
                dl = self.next_workday(d, R.randint(2, 8))
                for _ in range(6):
                    if self.working(sec, dl):
                        break
                    dl = self.next_workday(dl)
                sh = self.working(sec, dl)
                if sh and 0 <= dl < self.D:
                    t = sh[1] + R.uniform(0.05, 0.9) * (sh[2] - sh[1])
                    loc = self.staff[sec].home_ip if sh[0] == "H" else self.ws(sec, spec)
                    self.emit(sec, e.p, t, self.var("letter_type"), loc, "TREAT", "clinic-letter-typing")
                    cons = c if self.staff[c].role == "consultant" else (self.staff_of("consultant", spec) or [c])[c % max(1, len(self.staff_of("consultant", spec)))]
                    ds = dl + R.randint(0, 3)
                    st = self.staff[cons]
                    if st.remote and R.random() < 0.45:
                        self.emit(cons, e.p, self.L(ds, R.uniform(19.5, 22.8)), T["letter_sign"], st.home_ip, "TREAT", "clinic-letter-sign-off-remote")
                    elif self.working(cons, ds):
                        self.emit(cons, e.p, self.L(ds, R.uniform(12.5, 17.8)), T["letter_sign"], self.ws(cons, spec), "TREAT", "clinic-letter-sign-off")
            if R.random() < 0.35:
                dr = d + R.randint(3, 10)
                if self.working(c, dr):
                    self.emit(c, e.p, self.L(dr, R.uniform(12.5, 17.5)), self.var("results"), self.ws(c, spec), "TREAT", "results-review")
        # health-records clerks prepare the next day's clinic lists
        clerks = self.staff_of("health-records-clerk", "OPD")
        for key in sorted(sessions, key=lambda k: (k[1], k[0], k[2] if k[2] is not None else -1)):
            org, d, c = key
            pd = d - 1
            while pd >= 0 and self.dow(pd) >= 5:
                pd -= 1
            if pd < 0 or d >= self.D:
                continue
            on = [u for u in clerks if self.working(u, pd)]
            if not on:
                continue
            u = on[d % len(on)]
            t = self.L(pd, R.uniform(10, 15.5))
            for e in sessions[key]:
                t = self.emit(u, e.p, t, T["read_pt"], self.ws(u, "OPD"), "PATADMIN", "clinic-prep-list") + R.uniform(15, 80)

    # ---------------------------------------------------------- pharmacy, phlebotomy, imaging, therapies
    def act_pharmacy(self):
        pharm = self.staff_of("pharmacist", "PHA")
        techs = self.staff_of("pharmacy-technician", "PHA")
        wards = [w for w in ALL_WARDS if w != "ACHR"]
        for d in range(self.D):
            if self.dow(d) < 5:
                on = [u for u in pharm if self.working(u, d, ("D",))]
                if not on:
                    continue
                for i, w in enumerate(wards):
                    u = on[i % len(on)]
                    cen = self.census(w, d)
                    t = self.L(d, 9.2 + (i // len(on)) * 2.2 + R.uniform(0, 0.5))
                    prev = self.L(d - 1 if self.dow(d) != 0 else d - 3, 10)
                    for x in cen:
                        if not x.on(t):
                            continue
                        if x.start > prev:
                            t = self.emit(u, x.p, t, self.var("medrec"), self.ws(u, w), "TREAT", "pharmacy-medicines-reconciliation") + R.uniform(120, 600)
                        elif R.random() < 0.3:
                            t = self.emit(u, x.p, t, T["pharm_screen"], self.ws(u, w), "TREAT", "pharmacy-chart-screen") + R.uniform(60, 240)
                    for x in cen:
                        if x.end is not None and not x.died and x.chain[-1] is x and self.L(d, 9) <= x.end < self.L(d, 18):
                            self.emit(u, x.p, x.end - R.uniform(1, 3) * 3600, T["tto"], self.ws(u, w), "TREAT", "pharmacy-discharge-meds")
                ton = [u for u in techs if self.working(u, d)]
                if ton:
                    for x in self.census("AMU", d):
                        if self.L(d - 1, 10) < x.start < self.L(d, 15) and R.random() < 0.6:
                            u = R.choice(ton)
                            self.emit(u, x.p, max(x.start + 3600, self.L(d, R.uniform(9, 16))), self.var("medrec")[:3], self.ws(u, "AMU"), "TREAT", "pharmacy-drug-history")
            else:
                on = [u for u in pharm if self.working(u, d, ("W",))]
                if not on:
                    continue
                u = on[0]
                for w in wards:
                    for x in self.census(w, d):
                        if x.end is not None and not x.died and x.chain[-1] is x and self.L(d, 9) <= x.end < self.L(d, 17):
                            self.emit(u, x.p, max(self.L(d, 9.2), x.end - R.uniform(1, 3) * 3600), T["tto"], self.ws(u, "PHA"), "TREAT", "pharmacy-weekend-discharge-meds")

    def act_phlebotomy(self):
        phl = self.staff_of("phlebotomist", "PATH")
        wards = [w for w in ALL_WARDS if w not in ("ICU", "ACHR")]
        for d in range(self.D):
            on = [u for u in phl if self.working(u, d)]
            if not on:
                continue
            wl = list(wards)
            R.shuffle(wl)
            pw = 0.35 if self.dow(d) >= 5 else 0.52
            times = {u: self.L(d, 7.1 + R.uniform(0, 0.2)) for u in on}
            for i, w in enumerate(wl):
                u = on[i % len(on)]
                t = times[u]
                for x in self.census(w, d):
                    if x.on(t) and R.random() < (0.8 if w == "AMU" else pw):
                        t = self.emit(u, x.p, t, T["phleb"], self.staff[u].handheld, "TREAT", "phlebotomy-ward-round") + R.uniform(120, 280)
                times[u] = t + R.uniform(120, 400)

    def act_imaging_inpatients(self):
        for w in ALL_WARDS:
            for d in range(self.D):
                for x in self.census(w, d):
                    if R.random() < 0.07:
                        t = self.L(d, R.uniform(9, 19))
                        if x.on(t):
                            self.xray(x.p, t, w, "radiography-inpatient")
                            self.rad_report(x.p, t, R.random() < 0.3)

    def act_therapies(self):
        physio = self.staff_of("physiotherapist", "THER")
        ots = self.staff_of("occupational-therapist", "THER")
        diet = self.staff_of("dietitian", "DIET")
        dsn = self.staff_of("specialist-nurse", "DIA")
        outreach = self.staff_of("outreach-nurse", "ICM")
        pw = ["W21", "W12", "W15", "W10", "ACHR", "AMU", "W20", "ICU", "W21", "W12"]
        ow = ["W12", "W15", "W21", "ACHR"]
        for d in range(self.D):
            wd = self.dow(d) < 5
            if wd:
                for pool, wards, p_see, scen in ((physio, pw, 0.3, "physiotherapy"), (ots, ow, 0.2, "occupational-therapy")):
                    on = [u for u in pool if self.working(u, d)]
                    if not on:
                        continue
                    for i, w in enumerate(wards):
                        u = on[i % len(on)]
                        for x in self.census(w, d):
                            t = self.L(d, R.uniform(9, 16.5))
                            if x.on(t) and R.random() < p_see:
                                self.emit(u, x.p, t, self.var("therapy"), self.ws(u, w), "TREAT", scen)
                don = [u for u in diet if self.working(u, d)]
                if don:
                    for w in ALL_WARDS:
                        for x in self.census(w, d):
                            t = self.L(d, R.uniform(9, 16.5))
                            if x.on(t) and R.random() < 0.05:
                                u = R.choice(don)
                                self.emit(u, x.p, t, self.var("therapy"), self.ws(u, w), "TREAT", "dietetics-referral")
                if self.dow(d) in (0, 3):
                    son = [u for u in dsn if self.working(u, d)]
                    if son:
                        for w in ALL_WARDS:
                            for x in self.census(w, d):
                                t = self.L(d, R.uniform(9, 16.5))
                                if self.pats[x.p].diab and x.on(t) and R.random() < 0.6:
                                    u = R.choice(son)
                                    self.emit(u, x.p, t, self.var("chart") + [("create", "DocumentReference")], self.ws(u, w), "TREAT", "diabetes-nurse-inpatient-review")
            for h in (11, 23):
                t = self.L(d, h)
                on = self.on_shift("ICM", t, roles=("outreach-nurse",))
                if not on:
                    continue
                for w in ALL_WARDS:
                    if w in ("ICU", "ACHR", "W31", "W30"):
                        continue
                    for x in self.census(w, d):
                        tt = t + R.uniform(-3 * 3600, 4 * 3600)
                        if x.on(tt) and R.random() < 0.012:
                            u = R.choice(on)
                            self.emit(u, x.p, tt, self.var("chart"), self.ws(u, w), "TREAT", "critical-care-outreach")

    # ---------------------------------------------------------- patient flow & discharge
    def act_flow(self):
        for d in range(-1, self.D):
            for (u, s, e, kind) in self.roster.get(("FLOW", d), ()):
                offs = [0.4, 6.4] if kind == "D" else [1.0]
                for o in offs:
                    t = s + o * 3600 + R.uniform(-600, 900)
                    lst = []
                    for w in ALL_WARDS:
                        for x in self.census(w, self.dayidx(t)):
                            if x.on(t) and (x.eend - t < 30 * 3600 or t - x.start < 12 * 3600):
                                lst.append(x.p)
                    for x in self.ed_encs:
                        if x.on(t) and t - x.start > 4 * 3600:
                            lst.append(x.p)
                    loc = self.ws(u, "FLOW")
                    for p in lst:
                        self.emit(u, p, t, T["list"], loc, "HOPERAT", "bed-board")
                        t += R.uniform(0.4, 2.5)
                for _ in range(R.randint(2, 6)):
                    t = s + R.uniform(0.1, 0.9) * (e - s)
                    w = R.choice(ALL_WARDS)
                    act = [x for x in self.census(w, self.dayidx(t)) if x.on(t)]
                    if act:
                        x = R.choice(act)
                        self.emit(u, x.p, t, T["chart_short"], self.ws(u, "FLOW"), "HOPERAT", "bed-management-review")
        dcs = self.staff_of("discharge-coordinator", "DISCH")
        gpl = self.staff_of("gp-liaison", "DISCH")
        recent = sorted([x for x in self.encs if x.cls in ("IMP", "EMER") and x.end is not None and x.chain[-1] is x],
                        key=lambda x: x.end)
        for d in range(self.D):
            if self.dow(d) >= 5:
                continue
            on = [u for u in dcs if self.working(u, d)]
            if on:
                for w in ("W12", "W15", "W21", "W10", "W14", "ACHR", "AMU", "W11"):
                    for x in self.census(w, d):
                        t = self.L(d, R.uniform(9, 16.5))
                        if x.on(t) and t - x.chain[0].start > 4 * 86400 and R.random() < 0.3:
                            u = R.choice(on)
                            self.emit(u, x.p, t, self.var("dnote"), self.ws(u, "DISCH"), "TREAT", "discharge-coordination")
            on = [u for u in gpl if self.working(u, d)]
            if on:
                lo, hi = self.L(d - 14, 0), self.L(d, 0)
                pool = [x for x in recent if lo <= x.end < hi]
                for _ in range(poisson(3.5 * self.scale)):
                    u = R.choice(on)
                    t = self.L(d, R.uniform(9, 16.5))
                    if pool and R.random() < 0.85:
                        x = R.choice(pool)
                        self.emit(u, x.p, t, self.var("gpl"), self.ws(u, "DISCH"), "TREAT", "gp-liaison-query")
                    else:
                        p = self.random_patient()
                        self.emit(u, p, t, self.var("gpl"), self.ws(u, "DISCH"), "TREAT", "gp-liaison-query-unexplained", expl=0)

    def random_patient(self, alive=True):
        for _ in range(50):
            pt = R.choice(self.pats)
            if pt.test or pt.fixed:
                continue
            if alive and pt.dead_at is not None:
                continue
            return pt.idx
        return 0

    # ---------------------------------------------------------- clinical coding
    def act_coding(self):
        coders = self.staff_of("clinical-coder", "CODE")
        eps = [x for x in self.encs if x.cls in ("IMP", "SS") and x.end is not None and x.end >= self.L(-14, 0)]
        eps.sort(key=lambda x: (x.end, x.id))
        # most episodes are coded in turn; complex ones wait for a coding query to be answered
        due = {x.id: x.end + (R.uniform(5, 20) * 86400 if R.random() < 0.15 else 0) for x in eps}
        eps.sort(key=lambda x: (due[x.id], x.id))
        n_in = len([x for x in eps if x.end >= self.t0])
        per_day = n_in / max(1.0, self.D * 5 / 7.0)
        qi = 0
        backlog_start = self.L(-12, 0)
        while qi < len(eps) and due[eps[qi].id] < backlog_start:
            qi += 1
        for d in range(self.D):
            if self.dow(d) >= 5:
                continue
            on = [u for u in coders if self.working(u, d)]
            if not on:
                continue
            cap = int(per_day * 0.92 + R.uniform(-2, 2))
            limit = self.L(d - 2, 0)
            todo = []
            while qi < len(eps) and len(todo) < cap and due[eps[qi].id] < limit:
                todo.append(eps[qi])
                qi += 1
            per = {u: self.staff[u].shifts[d][1] + R.uniform(600, 1800) for u in on}
            for i, x in enumerate(todo):
                u = on[i % len(on)]
                sh = self.staff[u].shifts[d]
                loc = self.staff[u].home_ip if sh[0] == "H" else self.ws(u, "CODE")
                t = per[u]
                if t > sh[2]:
                    t = sh[1] + R.uniform(0, sh[2] - sh[1])
                per[u] = self.emit(u, x.p, t, self.var("code"), loc, "HOPERAT", "clinical-coding") + R.uniform(180, 900)

    # ---------------------------------------------------------- corporate services
    def act_corporate(self):
        pals = self.staff_of("pals-officer", "PALS")
        it = self.staff_of("it-support", "IT")
        sg = self.staff_of("safeguarding-lead", "SAFE")
        ovo = self.staff_of("overseas-visitors-officer", "OVO")
        ppo = self.staff_of("private-patients-officer", "OVO")
        hrc = self.staff_of("health-records-clerk", "OPD")
        recent = [x for x in self.encs if x.cls in ("IMP", "EMER", "AMB", "SS")]
        recent.sort(key=lambda x: (x.start, x.id))
        starts = [x.start for x in recent]
        deadrec = [x for x in self.deaths if x[1] < self.t_end]
        for d in range(self.D):
            wd = self.dow(d) < 5
            day_s = self.L(d, 0)
            lo = bisect.bisect_left(starts, day_s - 30 * 86400)
            hi = bisect.bisect_left(starts, day_s)
            pool = recent[lo:hi]
            # PALS
            on = [u for u in pals if self.working(u, d)]
            if on:
                for _ in range(poisson(3.2 * self.scale)):
                    u = R.choice(on)
                    t = self.L(d, R.uniform(9.2, 16.5))
                    r = R.random()
                    loc = self.staff[u].home_ip if self.staff[u].shifts[d][0] == "H" else self.ws(u, "PALS")
                    dead = [x for x in deadrec if day_s - 90 * 86400 < x[1] < day_s]
                    if r < 0.62 and pool:
                        self.emit(u, R.choice(pool).p, t, self.var("pals"), loc, "PATADMIN", "pals-enquiry")
                    elif r < 0.8 and dead:
                        self.emit(u, R.choice(dead)[0], t, self.var("pals"), loc, "PATADMIN", "pals-complaint-deceased-patient")
                    else:
                        self.emit(u, self.random_patient(), t, self.var("pals"), loc, "PATADMIN", "pals-enquiry-no-recent-care", expl=0)
            # IT service desk
            on = [u for u in it if self.working(u, d)]
            if on:
                for _ in range(poisson((2.2 if wd else 0.4) * self.scale)):
                    u = R.choice(on)
                    sh = self.staff[u].shifts[d]
                    t = sh[1] + R.uniform(0.05, 0.95) * (sh[2] - sh[1])
                    loc = self.staff[u].home_ip if sh[0] in ("H", "W") else self.ws(u, "IT")
                    if R.random() < 0.45:
                        self.emit(u, R.choice(self.test_pats), t, self.var("it"), loc, "HSYSADMIN", "it-support-test-patient")
                    elif pool:
                        self.emit(u, R.choice(pool).p, t, self.var("it")[:2], loc, "HSYSADMIN", "it-support-ticket", expl=0)
            if not wd:
                continue
            # safeguarding
            on = [u for u in sg if self.working(u, d)]
            if on:
                due = [q for q in self.sg_queue if day_s - 4 * 86400 < q[1] < day_s]
                for (p, ta) in due:
                    if R.random() < 0.55:
                        u = R.choice(on)
                        self.emit(u, p, self.L(d, R.uniform(9, 16.5)), self.var("safeguard"), self.ws(u, "SAFE"), "TREAT", "safeguarding-review")
                if self.dow(d) == 2:
                    for ct in self.careteams:
                        if ct["name"] == "Child protection plan" and R.random() < 0.3:
                            u = R.choice(on)
                            self.emit(u, ct["p"], self.L(d, R.uniform(9, 16.5)), self.var("safeguard"), self.ws(u, "SAFE"), "TREAT", "safeguarding-case-review")
            # overseas visitors: new admissions of chargeable patients
            on = [u for u in ovo if self.working(u, d)]
            if on:
                for x in pool:
                    if self.pats[x.p].overseas and day_s - 3 * 86400 < x.start and x.cls in ("IMP", "EMER") and R.random() < 0.7:
                        u = R.choice(on)
                        self.emit(u, x.p, self.L(d, R.uniform(9, 16.5)), self.var("ovo"), self.ws(u, "OVO"), "HPAYMT", "overseas-visitor-eligibility")
            on = [u for u in ppo if self.working(u, d)]
            if on:
                for x in self.encs:
                    if x.private and x.end is not None and day_s - 20 * 86400 < x.end < day_s - 3 * 86400 and R.random() < 0.08:
                        u = R.choice(on)
                        self.emit(u, x.p, self.L(d, R.uniform(9, 16.5)), self.var("billing"), self.ws(u, "OVO"), "HPAYMT", "private-patient-billing")
            # health records: subject access requests, coroner / solicitor requests
            on = [u for u in hrc if self.working(u, d)]
            if on:
                if R.random() < 0.45 * self.scale:
                    u = R.choice(on)
                    self.emit(u, self.random_patient(), self.L(d, R.uniform(9.5, 16)), T["sar"], self.ws(u, "OPD"), "PATRQT", "subject-access-request", expl=0, gap=(20, 140))
                if R.random() < 0.2 * self.scale:
                    dead = [x for x in deadrec if x[1] < day_s - 7 * 86400]
                    if dead:
                        u = R.choice(on)
                        self.emit(u, R.choice(dead)[0], self.L(d, R.uniform(9.5, 16)), T["sar"], self.ws(u, "OPD"), "HLEGAL", "coroner-records-request", gap=(20, 140))
                for _ in range(poisson(6 * self.scale)):
                    if pool:
                        u = R.choice(on)
                        x = R.choice(pool)
                        self.emit(u, x.p, self.L(d, R.uniform(9, 16.5)), [("create", "DocumentReference")], self.ws(u, "OPD"), "RECORDMGT", "health-records-scanning")

    # ---------------------------------------------------------- after a death
    def act_deaths(self):
        mort = self.staff_of("mortuary-technician", "MORT")
        ber = self.staff_of("bereavement-officer", "BER")
        meo = self.staff_of("me-officer", "MEO")
        mes = [s.idx for s in self.staff if s.me]
        for (p, t, kind, enc) in self.deaths:
            if kind == "historic" or t >= self.t_end or t < self.t0 - 10 * 86400:
                continue
            d = self.dayidx(t)
            wdn = self.next_workday(d) if (self.dow(d) >= 5 or local_hour(t) > 14) else d
            if kind == "hospital":
                w = enc.org
                pool = [u for u in [s.idx for s in self.staff if s.dept == enc.spec and s.role in JR_ROLES + ("registrar",)] if self.working(u, wdn)]
                if pool:
                    u = R.choice(pool)
                    self.emit(u, p, self.L(wdn, R.uniform(9.5, 13)), self.var("mccd"), self.ws(u, w), "TREAT", "death-certification")
                on = [u for u in mort if self.working(u, wdn)]
                if on:
                    u = R.choice(on)
                    self.emit(u, p, self.L(wdn, R.uniform(8.2, 10.5)), T["mortuary"], self.ws(u, "MORT"), "HDECD", "mortuary-admission")
                    dr = self.next_workday(wdn, R.randint(2, 5))
                    on2 = [v for v in mort if self.working(v, dr)]
                    if on2:
                        v = R.choice(on2)
                        self.emit(v, p, self.L(dr, R.uniform(9, 15)), T["read_pt"], self.ws(v, "MORT"), "HDECD", "mortuary-release")
                db = self.next_workday(d) if kind == "hospital" else d
                on = [u for u in ber if self.working(u, db)]
                if on:
                    u = R.choice(on)
                    self.emit(u, p, self.L(db, R.uniform(9.3, 15.5)), self.var("bereave"), self.ws(u, "BER"), "HDECD", "bereavement-office")
                    d2 = self.next_workday(db, R.randint(1, 3))
                    if self.working(u, d2):
                        self.emit(u, p, self.L(d2, R.uniform(9.3, 15.5)), T["bereave"][1:], self.ws(u, "BER"), "HDECD", "bereavement-office")
            dm = self.next_workday(d, R.randint(1, 2))
            on = [u for u in meo if self.working(u, dm)]
            if on:
                u = on[0]
                self.emit(u, p, self.L(dm, R.uniform(9, 12)), self.var("me_prep"), self.ws(u, "MEO"), "HDECD", "medical-examiner-officer")
            on = [u for u in mes if self.working(u, dm)] or [u for u in mes if self.working(u, self.next_workday(dm))]
            if on:
                u = R.choice(on)
                dd = dm if self.working(u, dm) else self.next_workday(dm)
                self.emit(u, p, self.L(dd, R.uniform(12.5, 16.5)), self.var("me_review"), self.ws(u, "MEO"), "HDECD", "medical-examiner-scrutiny", gap=(15, 120))
        # structured judgement reviews of deaths 2-6 weeks ago
        gov = self.staff_of("governance-facilitator", "GOV")
        cons = self.staff_of("consultant", None)
        done = set()
        for d in range(self.D):
            if self.dow(d) != 2:
                continue
            lo, hi = self.L(d - 42, 0), self.L(d - 14, 0)
            cands = [x for x in self.deaths if x[2] == "hospital" and lo <= x[1] < hi and x[0] not in done]
            for (p, t, kind, enc) in cands:
                if R.random() > 0.3:
                    continue
                done.add(p)
                if gov and self.working(gov[0], d):
                    g = gov[0]
                    sh = self.staff[g].shifts[d]
                    loc = self.staff[g].home_ip if sh[0] == "H" else self.ws(g, "GOV")
                    self.emit(g, p, self.L(d, R.uniform(9.5, 12)), self.var("me_prep"), loc, "HQUALIMP", "mortality-review-triage")
                rv = [u for u in cons if self.staff[u].dept not in ("RAD", "ONC", enc.spec)]
                if rv:
                    u = R.choice(rv)
                    for k in range(0, 6):
                        if self.working(u, d + k):
                            loc = self.staff[u].home_ip if self.staff[u].remote and R.random() < 0.4 else self.ws(u, self.staff[u].dept)
                            self.emit(u, p, self.L(d + k, R.uniform(12.5, 17.5)), T["sjr"], loc, "HQUALIMP", "structured-judgement-review", gap=(20, 150))
                            break

    # ---------------------------------------------------------- cancer MDTs
    def act_mdt(self):
        rads = self.staff_of("consultant", "RAD")
        onc = self.staff_of("consultant", "ONC")
        coord = self.staff_of("mdt-coordinator", "CANC")
        for spec, site, dw, name in MDTS:
            core = self.staff_of("consultant", spec) + self.staff_of("specialist-nurse", spec)
            extras = self.staff_of("registrar", spec) + [u for r in JR_ROLES for u in self.staff_of(r, spec)]
            for d in range(self.D):
                if self.dow(d) != dw:
                    continue
                cases = [p for p in self.mdt_pats[site] if self.pats[p].dead_at is None or self.pats[p].dead_at > self.L(d, 0)]
                cases = R.sample(cases, min(len(cases), R.randint(8, 14)))
                newref = [x.p for x in self.op_encs if x.spec == spec and self.L(d - 14, 0) <= x.start < self.L(d, 0)]
                if newref:
                    cases += R.sample(newref, min(len(newref), R.randint(2, 4)))
                seen = []
                for p in cases:
                    if p not in seen:
                        seen.append(p)
                cases = seen
                if not cases:
                    continue
                pd = d - 1
                while self.dow(pd) >= 5:
                    pd -= 1
                cc = [u for u in coord if self.working(u, pd)] or coord
                if cc:
                    u = cc[0]
                    t = self.L(pd, R.uniform(10, 14))
                    for p in cases:
                        t = self.emit(u, p, t, self.var("mdt"), self.ws(u, "CANC"), "TREAT", "mdt-preparation") + R.uniform(30, 200)
                rr = [u for u in rads if self.working(u, d)]
                rad = R.choice(rr) if rr else None
                if rad is not None:
                    t = self.L(d, R.uniform(8.5, 10.5))
                    for p in cases:
                        t = self.emit(rad, p, t, [("search", "ImagingStudy"), ("read", "ImagingStudy")], self.ws_ip(self.ws(rad, "RAD")), "TREAT", "mdt-radiology-preparation") + R.uniform(60, 400)
                att = [u for u in core if self.working(u, d)] + [u for u in extras if self.working(u, d) and R.random() < 0.4]
                if rad is not None:
                    att.append(rad)
                att += onc
                t = self.L(d, 13.0)
                for p in cases:
                    for u in att:
                        if R.random() < 0.65:
                            st = self.staff[u]
                            loc = st.home_ip if st.dept == "ONC" else self.ws(u, "MDT")
                            self.emit(u, p, t + R.uniform(0, 240), self.var("mdt")[:R.randint(1, 2)], loc, "TREAT", "mdt-meeting")
                    if cc:
                        self.emit(cc[0], p, t + R.uniform(200, 320), T["mdt_out"], self.ws(cc[0], "MDT"), "TREAT", "mdt-meeting-outcome")
                    t += R.uniform(240, 480)
        # cancer nurse specialists: telephone follow-up of their caseload
        for spec, site, dw, name in MDTS:
            cns = self.staff_of("specialist-nurse", spec)
            for d in range(self.D):
                on = [u for u in cns if self.working(u, d)]
                if not on or not self.mdt_pats[site]:
                    continue
                for _ in range(R.randint(2, 5)):
                    p = R.choice(self.mdt_pats[site])
                    if self.pats[p].dead_at is not None and self.pats[p].dead_at < self.L(d, 0):
                        continue
                    u = R.choice(on)
                    self.emit(u, p, self.L(d, R.uniform(9, 16.5)), self.var("cns"), self.ws(u, spec), "TREAT", "cancer-nurse-follow-up")

    # ---------------------------------------------------------- district nursing
    def act_district_nursing(self):
        for w in ("W12", "W15", "W21", "ACHR", "W10"):
            for x in self.ward_encs[w]:
                if x.end is not None and not x.died and x.chain[-1] is x and self.t0 - 20 * 86400 < x.end < self.t_end - 86400 and R.random() < 0.12:
                    if not any(c[0] == x.p for c in self.caseload):
                        self.add_caseload(x.p, x.end + 3600)
        for d in range(self.D):
            dw = self.dow(d)
            visits = {}
            for (p, team, dows, start) in self.caseload:
                pt = self.pats[p]
                t = self.L(d, 10)
                if dw not in dows or start > t or (pt.dead_at is not None and pt.dead_at < self.L(d, 18)) or (pt.busy > t and pt.busy < 10 ** 11 and self.inpatient_at(p, t)):
                    continue
                visits.setdefault(team, []).append(p)
            for team in ("DNN", "DNS", "DNA"):
                vs = visits.get(team, [])
                if not vs:
                    continue
                on = [u for u in self.staff_of("district-nurse", team) if self.working(u, d)]
                if not on:
                    other = [u for tm in ("DNN", "DNS", "DNA") if tm != team for u in self.staff_of("district-nurse", tm) if self.working(u, d)]
                    on = other[:1]
                if not on:
                    continue
                plan = {u: [] for u in on}
                for i, p in enumerate(vs):
                    u = on[i % len(on)]
                    if R.random() < 0.08:
                        other = [v for tm in ("DNN", "DNS", "DNA") if tm != team for v in self.staff_of("district-nurse", tm) if self.working(v, d)]
                        if other:
                            u = R.choice(other)
                            plan.setdefault(u, [])
                    plan[u].append(p)
                for u in sorted(plan):
                    st = self.staff[u]
                    base = self.ws(u, st.dept)
                    t = self.L(d, 8.6 + R.uniform(0, 0.3))
                    for p in plan[u]:
                        t = self.emit(u, p, t, self.var("dn_prep"), base, "TREAT", "district-nursing-caseload-prep") + R.uniform(30, 240)
                    t = self.L(d, 9.5 + R.uniform(0, 0.4))
                    for p in plan[u]:
                        dur = R.uniform(20, 50) * 60
                        e = Enc(p, "HH", st.dept, int(t), int(t + dur), "District nursing visit")
                        e.parts.append(("PPRF", u))
                        e.chain = [e]
                        self.encs.append(e)
                        ip = "%s.%d.%d" % (st.carrier, R.randint(0, 255), R.randint(1, 254))
                        self.emit(u, p, t + dur - R.uniform(60, 600), self.var("dn_visit"), ip, "TREAT", "district-nursing-visit")
                        t += dur + R.uniform(10, 35) * 60

    def pat_recent(self, p, t):
        for x in self._pat_imp.get(p, ()):
            if x.start - 86400 < t < x.eend + 60 * 86400:
                return True
        return False

    def inpatient_at(self, p, t):
        for x in self._pat_imp.get(p, ()):
            if x.start <= t < x.eend:
                return True
        return False

    # ---------------------------------------------------------- remote working, informal advice, secretaries
    def act_misc(self):
        atnd = {}
        for x in self.encs:
            for r_, u in x.parts:
                if r_ in ("ATND", "ADM"):
                    atnd.setdefault(u, []).append(x)
        docs = [s.idx for s in self.staff if s.role in ("consultant", "registrar") and s.dept not in ("RAD", "ONC")]
        for d in range(self.D):
            wd = self.dow(d) < 5
            day_s = self.L(d, 0)
            for u in docs:
                st = self.staff[u]
                if st.remote and st.role == "consultant" and wd and R.random() < 0.3:
                    mine = [x for x in atnd.get(u, []) if day_s - 14 * 86400 < x.start < day_s + 18 * 3600]
                    if mine:
                        t = self.L(d, R.uniform(19, 22.5))
                        for x in R.sample(mine, min(len(mine), R.randint(2, 5))):
                            t = self.emit(u, x.p, t, self.var("results"), st.home_ip, "TREAT", "remote-results-review") + R.uniform(60, 600)
                if wd and self.working(u, d) and R.random() < 0.1:
                    wards = [w for w in ALL_WARDS if self.ward_spec[w] != st.dept]
                    w = R.choice(wards)
                    t = self.L(d, R.uniform(10, 17))
                    act = [x for x in self.census(w, d) if x.on(t)]
                    if act:
                        x = R.choice(act)
                        self.emit(u, x.p, t, T["chart_short"], self.ws(u, st.dept) if R.random() < 0.5 else self.ws(u, w), "TREAT", "informal-advice-other-team", expl=0)
            # consults between specialties for inpatients
            for w in ALL_WARDS:
                for x in self.census(w, d):
                    if R.random() < (0.03 if wd else 0.008):
                        specs = [k for k in ("CAR", "RES", "GAS", "ELD", "GSU", "URO", "TRO", "DIA", "ACM") if k != self.ward_spec[w]]
                        k = R.choice(specs)
                        pool = [v for v in self.staff_of("registrar", k) + self.staff_of("consultant", k) if self.working(v, d)]
                        t = self.L(d, R.uniform(10, 18))
                        if pool and x.on(t):
                            v = R.choice(pool)
                            self.emit(v, x.p, t, self.var("chart") + [("create", "DocumentReference")], self.ws(v, w), "TREAT", "specialty-consult")
            # ward telephone advice lines (open-access wards): callers whose earlier care is not in the export
            for w, prof in (("W31", "child"), ("W22", "old"), ("W11", "old"), ("W30", "maternity")):
                for _ in range(poisson(0.8)):
                    t = self.L(d, R.uniform(8, 23))
                    on = self.on_shift(w, t, roles=RN_ROLES)
                    p = self.pick_patient(prof, t) if on else None
                    if on and p is not None and not self.pat_recent(p, t):
                        u = R.choice(on)
                        self.emit(u, p, t, T["chart_short"], self.ws(u, w), "TREAT", "ward-advice-line-call", expl=0)
            # consultants vetting new GP referrals (e-RS) before a first appointment exists
            if wd:
                for key, sp in self.spec.items():
                    if not sp[4]:
                        continue
                    for u in self.staff_of("consultant", key):
                        if self.dow(d) != u % 5 or not self.working(u, d):
                            continue
                        t = self.L(d, R.uniform(13, 16.5))
                        for _ in range(R.randint(5, 14)):
                            p = self.pick_patient(sp[7] or "adult", t)
                            if p is None or self.pat_recent(p, t):
                                continue
                            t = self.emit(u, p, t, [("read", "Patient"), ("search", "DocumentReference"), ("create", "ServiceRequest")],
                                          self.ws(u, key), "TREAT", "gp-referral-vetting", expl=0) + R.uniform(60, 400)
                # pharmacists answering community-pharmacy and GP medicines queries
                for u in self.staff_of("pharmacist", "PHA"):
                    if self.working(u, d, ("D",)):
                        for _ in range(poisson(0.8)):
                            t = self.L(d, R.uniform(9, 17))
                            p = self.random_patient()
                            self.emit(u, p, t, [("read", "Patient"), ("search", "MedicationRequest")], self.ws(u, "PHA"), "TREAT",
                                      "pharmacy-medicines-query", expl=0 if not self.pat_recent(p, t) else 1)
            # clinical audit of last year's cases (case-note review, HQUALIMP)
            if wd:
                for u in self.staff_of("governance-facilitator", "GOV"):
                    sh = self.working(u, d)
                    if sh and R.random() < 0.5:
                        loc = self.staff[u].home_ip if sh[0] == "H" else self.ws(u, "GOV")
                        t = sh[1] + R.uniform(0.1, 0.5) * (sh[2] - sh[1])
                        for _ in range(R.randint(4, 9)):
                            p = self.random_patient()
                            t = self.emit(u, p, t, self.var("pals"), loc, "HQUALIMP", "clinical-audit-case-note-review", expl=0) + R.uniform(120, 900)
            # medical secretaries answering GP and patient phone queries
            if wd:
                for key in self.spec:
                    for u in self.staff_of("medical-secretary", key):
                        sh = self.working(u, d)
                        if not sh:
                            continue
                        loc = self.staff[u].home_ip if sh[0] == "H" else self.ws(u, key)
                        for _ in range(poisson(1.3)):
                            t = sh[1] + R.uniform(0.05, 0.95) * (sh[2] - sh[1])
                            mine = [x for x in self._spec_encs.get(key, []) if day_s - 60 * 86400 < x.start < day_s]
                            if mine and R.random() < 0.7:
                                self.emit(u, R.choice(mine).p, t, self.var("gpl"), loc, "TREAT", "secretary-phone-query")
                            else:
                                self.emit(u, self.random_patient(), t, self.var("gpl"), loc, "TREAT", "secretary-phone-query-no-recent-care", expl=0)

    # ---------------------------------------------------------- incidents
    MISUSER = ("staff-nurse", "hca", "ward-sister", "midwife", "ward-clerk", "medical-secretary",
               "op-receptionist", "ed-receptionist", "health-records-clerk", "fy1", "fy2", "core-trainee",
               "registrar", "physiotherapist", "occupational-therapist", "radiographer",
               "pharmacy-technician", "dietitian", "consultant", "anp", "district-nurse")

    def build_links(self):
        self.pairs = set()
        self.user_locs = {}
        for ev in self.EV:
            self.pairs.add((ev[2], ev[3]))
            c = self.user_locs.setdefault(ev[2], {})
            c[ev[7]] = c.get(ev[7], 0) + 1
        self.pat_encs = {}
        for x in self.encs:
            self.pat_encs.setdefault(x.p, []).append(x)
        self.street_pats = {}
        for pt in self.pats:
            if pt.addr is not None:
                self.street_pats.setdefault(pt.addr.st.idx, []).append(pt.idx)

    def orgset(self, key):
        out = [key]
        par = self.org[key]["parent"] if key in self.org else None
        if par and self.org[par]["kind"] in ("specialty",):
            out.append(par)
        return out

    def linked(self, u, p):
        if (u, p) in self.pairs:
            return True
        st = self.staff[u]
        uo = []
        for _, dpt in st.roles:
            uo += self.orgset(dpt)
        if st.ward:
            uo += self.orgset(st.ward)
        for x in self.pat_encs.get(p, ()):
            for _, v in x.parts:
                if v == u:
                    return True
            for o in self.orgset(x.org):
                if o in uo:
                    return True
        if u in self.ct_members.get(p, ()):
            return True
        return False

    def surname_tokens(self, s):
        return [normname(x) for x in s.replace("-", " ").split() if normname(x)]

    def related(self, u, p):
        """any name/address/identity relation between user and patient"""
        st = self.staff[u]
        pt = self.pats[p]
        if pt.test:
            return True
        if pt.person is st.person or st.person.pat == p:
            return True
        a = set(self.surname_tokens(st.person.family))
        b = self.surname_tokens(pt.family) + self.surname_tokens(pt.person.family)
        if any(x in a for x in b):
            return True
        if pt.person.hh is not None and pt.person.hh == st.person.hh:
            return True
        ua = st.person.addr
        for pa in (pt.addr, pt.person.addr):
            if ua is not None and pa is not None and (ua.st.idx == pa.st.idx or (ua.st.name == pa.st.name and ua.st.town == pa.st.town)):
                return True
        if pt.person.staff is not None:
            return True
        return False

    def clean(self, u, p, t, allow=()):
        pt = self.pats[p]
        if self.linked(u, p) or self.related(u, p):
            return False
        if "CEL" in pt.sec and "CEL" not in allow:
            return False
        if pt.dead_at is not None and "dead" not in allow:
            return False
        if self.restricted(p) and "restricted" not in allow:
            return False
        if pt.fixed and "fixed" not in allow:
            return False
        if pt.busy >= 10 ** 11 and "dead" not in allow:
            return False
        return True

    def usual_loc(self, u):
        if R.random() < 0.2:
            # another PC in their own department (whichever was free)
            return self.ws(u, self.staff[u].dept) if self.staff[u].role != "radiographer" else self.ws_ip(self.ws(u, "IMG"))
        locs = self.user_locs.get(u)
        if locs:
            items = sorted(locs.items(), key=lambda kv: (-kv[1], kv[0]))
            items = [kv for kv in items if not kv[0][0].isdigit()] or items
            top = items[:2]
            return top[0][0] if len(top) == 1 or R.random() < 0.75 else top[1][0]
        return self.ws(u, self.staff[u].dept)

    def inc_days(self):
        return list(range(max(0, self.D - 4), self.D))

    def pick_user(self, pred, day=None, kinds=("D", "N", "E", "L", "T")):
        days = [day] if day is not None else self.inc_days()
        cand = []
        for d in days:
            for st in self.staff:
                if st.role in self.MISUSER and st.idx not in self.inc_users and self.working(st.idx, d, kinds) and pred(st):
                    cand.append((st.idx, d))
        if not cand:
            return None, None
        return R.choice(cand)

    def shift_time(self, u, d):
        kind, s, e, loc = self.staff[u].shifts[d]
        t = s + R.uniform(0.12, 0.88) * (e - s)
        return max(self.t0 + R.uniform(60, 900), min(self.t_end - R.uniform(900, 5400), t))

    def new_incident(self, kind, u, reasons, why, variant):
        inc = {"id": "INC-%03d" % (len(self.incidents) + 1), "kind": kind, "user": u, "reasons": reasons,
               "why": why, "variant": variant, "targets": []}
        self.incidents.append(inc)
        self.inc_users.add(u)
        return len(self.incidents) - 1

    def inc_emit(self, li, u, p, t, steps, loc, purpose="TREAT", gap=(8, 90)):
        inc = self.incidents[li]
        if p not in inc["targets"]:
            inc["targets"].append(p)
        return self.emit(u, p, t, steps, loc, purpose, "incident:" + inc["kind"], 1, li, gap)

    def steps_peek(self):
        r = R.random()
        if r < 0.2:
            return [("read", "Patient")]
        if r < 0.55:
            return T["peek"]
        if r < 0.8:
            return T["peek"][:2] + T["peek_results"]
        return [("read", "Patient")] + T["peek_results"] + [("read", "DocumentReference")]

    def inc_snooping(self, i):
        v = self.vorder("SNOOPING", ["news", "other-ward", "ex-partner", "browsing"], i)
        why = ""
        if v == "news" and self.news_pats:
            p = self.news_pats[0]
            u, d = self.pick_user(lambda s: s.dept not in ("ICU", "ICM", "ED", "EME", "RAD", "IMG"))
            if u is None:
                return False
            t = self.shift_time(u, d)
            if not self.clean(u, p, t, allow=("fixed",)):
                return False
            li = self.new_incident("SNOOPING", u, ["NO_RELATIONSHIP"], "Looked up the crash victim from the local news, who is in critical care, with no part in their care.", v)
            self.inc_emit(li, u, p, t, self.steps_peek() + [("read", "DocumentReference")], self.usual_loc(u))
            return True
        if v in ("news", "other-ward"):
            u, d = self.pick_user(lambda s: s.dept in WARD_DIV and s.role in ("staff-nurse", "hca", "ward-sister", "ward-clerk"))
            if u is None:
                return False
            t = self.shift_time(u, d)
            mine = self.staff[u].dept
            cands = [x.p for w in ALL_WARDS if w != mine and self.ward_spec[w] != self.ward_spec.get(mine) for x in self.census(w, d) if x.on(t)]
            R.shuffle(cands)
            for p in cands[:40]:
                if self.clean(u, p, t):
                    li = self.new_incident("SNOOPING", u, ["NO_RELATIONSHIP"], "Opened the record of a patient on another ward whom they were not looking after.", "other-ward")
                    loc = self.usual_loc(u)
                    t2 = self.inc_emit(li, u, p, t, self.steps_peek(), loc)
                    if R.random() < 0.5:
                        self.inc_emit(li, u, p, t2 + R.uniform(1800, 3 * 3600), [("read", "DocumentReference")], loc)
                    return True
            return False
        if v == "ex-partner":
            u, d = self.pick_user(lambda s: 22 <= s.person.age <= 60)
            if u is None:
                return False
            per = self.staff[u].person
            cands = [pt.idx for pt in self.pats if not pt.test and pt.person.sex != per.sex and abs(pt.person.age - per.age) <= 7
                     and pt.person.age >= 20]
            R.shuffle(cands)
            for p in cands[:60]:
                t = self.shift_time(u, d)
                if not self.clean(u, p, t):
                    continue
                li = self.new_incident("SNOOPING", u, ["NO_RELATIONSHIP"], "Repeatedly checked the record of a former partner (different surname and address) with no clinical reason.", v)
                loc = self.usual_loc(u)
                days = [dd for dd in self.inc_days() if self.working(u, dd, ("D", "N", "E", "L", "T"))]
                days = sorted(set([d] + R.sample(days, min(len(days), R.randint(0, 2)))))
                for dd in days:
                    self.inc_emit(li, u, p, self.shift_time(u, dd), self.steps_peek(), loc)
                return True
            return False
        # browsing
        u, d = self.pick_user(lambda s: s.role in ("ward-clerk", "medical-secretary", "op-receptionist", "health-records-clerk", "ed-receptionist"))
        if u is None:
            return False
        li = None
        got = 0
        for _ in range(60):
            p = self.random_patient()
            t = self.shift_time(u, d)
            if not self.clean(u, p, t):
                continue
            if li is None:
                li = self.new_incident("SNOOPING", u, ["NO_RELATIONSHIP"], "Browsed several unrelated patients' records out of curiosity during a quiet spell.", v)
                loc = self.usual_loc(u)
            self.inc_emit(li, u, p, t, self.steps_peek()[:2], loc)
            got += 1
            if got >= R.randint(3, 5):
                break
        return li is not None

    def inc_family(self, i):
        opts = []
        for st in self.staff:
            if st.role not in self.MISUSER or st.idx in self.inc_users:
                continue
            hh = self.households[st.person.hh]
            for m in hh:
                if m is st.person or m.pat is None or m.staff is not None:
                    continue
                pt = self.pats[m.pat]
                if pt.dead_at is not None or pt.fixed or pt.addr is not m.addr:
                    continue
                a = set(self.surname_tokens(st.person.family))
                if not any(x in a for x in self.surname_tokens(m.family)):
                    continue
                if self.linked(st.idx, m.pat):
                    continue
                days = [d for d in self.inc_days() if self.working(st.idx, d, ("D", "N", "E", "L", "T"))]
                if days:
                    opts.append((st.idx, m.pat, days))
        if not opts:
            return False
        var = self.vorder("FAMILY", ["same", "double-barrelled", "address-format"], i)
        pref = opts
        if var == "double-barrelled":
            pref = [o for o in opts if "-" in self.pats[o[1]].family] or opts
        recent = [o for o in pref if any(x.start > self.t0 for x in self.pat_encs.get(o[1], ()))]
        u, p, days = R.choice(recent or pref)
        pt = self.pats[p]
        st = self.staff[u]
        if var == "double-barrelled" and "-" not in pt.family:
            other = pick_surname(R.choice(["GB", "GB", "IE", "SA"]))
            pt.family = pt.family + "-" + fam_for(other, pt.person.sex) if R.random() < 0.5 else fam_for(other, pt.person.sex) + "-" + pt.family
        if var == "address-format":
            pt.astyle = tuple(sorted(set(("abbrev", "split" if "split" not in st.astyle else "upper", "nospace"))))
        rel = "spouse/partner" if abs(pt.person.age - st.person.age) < 15 else ("child" if pt.person.age < st.person.age else "parent")
        li = self.new_incident("FAMILY", u, ["FAMILY"], "Opened the record of a relative (%s) who lives at the same address and shares their surname, with no part in their care." % rel, var)
        loc = self.usual_loc(u)
        for d in sorted(R.sample(days, min(len(days), R.randint(1, 2)))):
            self.inc_emit(li, u, p, self.shift_time(u, d), self.steps_peek() if R.random() < 0.5 else T["peek_results"], loc)
        return True

    def inc_neighbor(self, i):
        opts = []
        for st in self.staff:
            if st.role not in self.MISUSER or st.idx in self.inc_users or not st.person.addr.st.local:
                continue
            ua = st.person.addr
            for p in self.street_pats.get(ua.st.idx, ()):
                pt = self.pats[p]
                if pt.addr.home_key() == ua.home_key() or pt.person.hh == st.person.hh:
                    continue
                if pt.dead_at is not None or pt.fixed or pt.person.staff is not None or "CEL" in pt.sec:
                    continue
                a = set(self.surname_tokens(st.person.family))
                if any(x in a for x in self.surname_tokens(pt.family)):
                    continue
                if self.linked(st.idx, p):
                    continue
                days = [d for d in self.inc_days() if self.working(st.idx, d, ("D", "N", "E", "L", "T"))]
                if days:
                    same_bld = pt.addr.num is not None and pt.addr.num == ua.num
                    opts.append((st.idx, p, days, same_bld))
        if not opts:
            return False
        sb_want = self.vorder("NEIGHBOR", [True, False], i)
        pref = [o for o in opts if o[3] == sb_want]
        u, p, days, sb = R.choice(pref or opts)
        li = self.new_incident("NEIGHBOR", u, ["NEIGHBOR"],
                               "Looked up a neighbour (%s) with no involvement in their care." % ("in the same block of flats" if sb else "living on the same street"),
                               "same-building" if sb else "same-street")
        loc = self.usual_loc(u)
        for d in sorted(R.sample(days, min(len(days), R.randint(1, 2)))):
            self.inc_emit(li, u, p, self.shift_time(u, d), self.steps_peek(), loc)
        return True

    def inc_coworker(self, i):
        targets = [s for s in self.staff if s.pat is not None and self.pats[s.pat].dead_at is None]
        want_emp = self.vorder("COWORKER", [True, False], i)
        opts = []
        for v in targets:
            p = v.pat
            has_emp = "EMP" in self.pats[p].sec
            for st in self.staff:
                if st is v or st.role not in self.MISUSER or st.idx in self.inc_users:
                    continue
                if st.dept != v.dept and WARD_DIV.get(st.dept, st.dept) != WARD_DIV.get(v.dept, v.dept):
                    continue
                if self.linked(st.idx, p):
                    continue
                if st.person.hh == v.person.hh:
                    continue
                a = set(self.surname_tokens(st.person.family))
                if any(x in a for x in self.surname_tokens(v.person.family)):
                    continue
                if st.person.addr.st.idx == self.pats[p].addr.st.idx:
                    continue
                days = [d for d in self.inc_days() if self.working(st.idx, d, ("D", "N", "E", "L", "T"))]
                if days:
                    opts.append((st.idx, p, days, has_emp, any(x.start > self.t0 - 14 * 86400 for x in self.pat_encs.get(p, ()))))
        if not opts:
            return False
        pref = [o for o in opts if o[3] == want_emp and o[4]] or [o for o in opts if o[3] == want_emp] or opts
        u, p, days, has_emp, rec = R.choice(pref)
        li = self.new_incident("COWORKER", u, ["COWORKER"],
                               "Opened a colleague's own patient record (a member of staff%s) out of curiosity, with no role in their care." % ("" if has_emp else ", not flagged EMP"),
                               "emp-flag" if has_emp else "name-and-birthdate-only")
        loc = self.usual_loc(u)
        for d in sorted(R.sample(days, min(len(days), R.randint(1, 2)))):
            self.inc_emit(li, u, p, self.shift_time(u, d), self.steps_peek(), loc)
        return True

    def inc_vip(self, i):
        cel = [pt.idx for pt in self.pats if pt.celeb and pt.dead_at is None and not self.restricted(pt.idx)]
        if not cel:
            return False
        p = cel[0] if i % 2 == 0 or len(cel) == 1 else R.choice(cel[1:])
        u, d = self.pick_user(lambda s: not self.linked(s.idx, p) and not self.related(s.idx, p))
        if u is None:
            return False
        li = self.new_incident("VIP", u, ["VIP"], "Opened a celebrity patient's record (%s) without being involved in their care." % self.pats[p].celeb, self.pats[p].celeb)
        loc = self.usual_loc(u)
        t = self.inc_emit(li, u, p, self.shift_time(u, d), self.steps_peek() + ([("read", "DiagnosticReport")] if R.random() < 0.5 else []), loc)
        if i % 2 == 1:
            self.inc_emit(li, u, p, t + R.uniform(1200, 5 * 3600), [("read", "DocumentReference")], loc)
        return True

    def inc_self(self, i):
        opts = []
        for st in self.staff:
            if st.pat is None or st.role not in self.MISUSER or st.idx in self.inc_users:
                continue
            if self.pats[st.pat].dead_at is not None or self.linked(st.idx, st.pat):
                continue
            days = [d for d in self.inc_days() if self.working(st.idx, d, ("D", "N", "E", "L", "T"))]
            if days:
                rec = any(x.start > self.t0 - 30 * 86400 for x in self.pat_encs.get(st.pat, ()))
                opts.append((st.idx, st.pat, days, rec))
        if not opts:
            return False
        pref = [o for o in opts if o[3]] or opts
        u, p, days, rec = R.choice(pref)
        li = self.new_incident("SELF", u, ["SELF"], "Viewed their own health record (results%s) with their work login rather than through the patient route." % (" from a recent appointment" if rec else ""), "results")
        loc = self.usual_loc(u)
        d = R.choice(days)
        steps = [("search", "Observation")] if i % 2 == 1 else T["peek_results"] + ([("read", "DocumentReference")] if R.random() < 0.5 else [])
        self.inc_emit(li, u, p, self.shift_time(u, d), steps, loc)
        return True

    def inc_deceased(self, i):
        recent = self.vorder("DECEASED", [True, False], i)
        u, d = self.pick_user(lambda s: True)
        if u is None:
            return False
        t = self.shift_time(u, d)
        cands = [x[0] for x in self.deaths if x[1] < t - 86400 and ((x[1] > self.t0 - 14 * 86400) == recent)]
        R.shuffle(cands)
        for p in cands[:80]:
            if self.clean(u, p, t, allow=("dead",)):
                pt = self.pats[p]
                li = self.new_incident("DECEASED", u, ["DECEASED"],
                                       "Opened the record of a patient who died %s, with no role in their care, death certification or review." % ("recently" if recent else "months ago"),
                                       "recent-death" if recent else "old-death")
                self.inc_emit(li, u, p, t, self.steps_peek() + ([("read", "DocumentReference")] if R.random() < 0.4 else []), self.usual_loc(u))
                return True
        return False

    def inc_break_glass(self, i):
        u, d = self.pick_user(lambda s: s.dept not in ("ED", "EME"))
        if u is None:
            return False
        t = self.shift_time(u, d)
        cands = [pt.idx for pt in self.pats if self.sensitive(pt.idx) and not pt.test and pt.dead_at is None]
        R.shuffle(cands)
        for p in cands[:80]:
            if any(x.start - 86400 <= t < x.eend + 86400 for x in self.pat_encs.get(p, ()) if x.cls in ("EMER", "IMP", "SS")):
                continue
            if self.clean(u, p, t, allow=("restricted",)):
                li = self.new_incident("BREAK_GLASS", u, ["BREAK_GLASS"],
                                       "Used break-the-glass emergency access on a %s record when no emergency was going on and they had no role in the patient's care." % ("restricted" if self.restricted(p) else "sensitive"),
                                       "restricted" if self.restricted(p) else "sensitive")
                self.inc_emit(li, u, p, t, self.steps_peek()[:3] + T["peek_results"][:1], self.usual_loc(u), purpose="BTG")
                return True
        return False

    def inc_compromised(self, i):
        v = self.vorder("COMPROMISED", ["night-foreign-ip", "daytime-unknown-ip", "evening-other-site"], i)
        cand = [s for s in self.staff if s.idx not in self.inc_users and s.role in self.MISUSER + ("pharmacist", "phlebotomist", "clinical-coder") and s.idx in self.user_locs]
        if not cand:
            return False
        st = R.choice(cand)
        u = st.idx
        days = self.inc_days()
        if v == "daytime-unknown-ip":
            off = [d for d in days if not st.shifts.get(d)]
            d = R.choice(off or days)
            t = self.L(d, R.uniform(10, 15.5))
            loc = "%d.%d.%d.%d" % (R.choice([77, 87, 176, 188, 195]), R.randint(1, 254), R.randint(1, 254), R.randint(2, 254))
        elif v == "night-foreign-ip":
            d = R.choice(days[1:] or days)
            t = self.L(d, R.uniform(1.0, 4.5)) + R.random()
            loc = R.choice(["185.220.%d.%d", "45.134.%d.%d", "91.214.%d.%d", "103.75.%d.%d"]) % (R.randint(1, 254), R.randint(2, 254))
        else:
            d = R.choice(days)
            t = self.L(d, R.uniform(21, 23.3))
            site = "KGH" if self.org_site.get(st.dept) == "ACH" else "ACH"
            loc = "%s-%s-PC%02d" % (site, "COM" if site == "ACH" else "FLOW", R.randint(7, 9))
        used = self.user_locs.get(u, {})
        if loc in used:
            return False
        on = [sh for sh in (st.shifts.get(d), st.shifts.get(d - 1)) if sh and sh[1] <= t < sh[2]]
        h = local_hour(t)
        odd = h < 6.5 or h >= 22.5 or (not on and not (8 <= h < 19))
        reasons = ["BULK", "UNUSUAL_LOCATION"] + (["UNUSUAL_TIME"] if odd else [])
        desc = {"night-foreign-ip": "from an overseas hosting address in the small hours",
                "daytime-unknown-ip": "from an unfamiliar internet address on the user's day off",
                "evening-other-site": "from a workstation at the other site the user never works at, late in the evening"}[v]
        li = self.new_incident("COMPROMISED", u, reasons, "The login was used %s to pull up dozens of unrelated patients in minutes, consistent with stolen credentials harvesting records." % desc, v)
        n = R.randint(35, 90)
        got = 0
        tries = 0
        while got < n and tries < n * 4:
            tries += 1
            p = self.random_patient(alive=False)
            if self.linked(u, p) or self.pats[p].test:
                continue
            steps = T["harvest"] + ([("read", "DocumentReference")] if R.random() < 0.2 else [])
            t = self.inc_emit(li, u, p, t, steps, loc, gap=(1.5, 7)) + R.uniform(3, 20)
            got += 1
        return True

    def vorder(self, kind, variants, i):
        if kind not in self._vord:
            self._vord[kind] = R.sample(variants, len(variants))
        v = self._vord[kind]
        return v[i % len(v)]

    def plant_incidents(self):
        self._vord = {}
        self.build_links()
        self.inc_users = set()
        k = self.a.incidents_per_kind
        for kind in KINDS:
            fn = getattr(self, "inc_" + kind.lower())
            for i in range(k):
                ok = False
                for _ in range(40):
                    if fn(i):
                        ok = True
                        break
                if not ok:
                    sys.stderr.write("warning: could not plant %s incident %d\n" % (kind, i + 1))

    # ---------------------------------------------------------- output
    def index_encs(self):
        self._pat_imp = {}
        self._spec_encs = {}
        for x in self.encs:
            if x.cls in ("IMP", "SS", "EMER"):
                self._pat_imp.setdefault(x.p, []).append(x)
            if x.spec:
                self._spec_encs.setdefault(x.spec, []).append(x)

    def patient_json(self, pt):
        fam = pt.family
        given = list(pt.given)
        if pt.strip:
            fam = fold(fam)
            given = [fold(g) for g in given]
        if pt.upper:
            fam = fam.upper()
        per = pt.person
        name = {"use": "official", "family": fam, "given": given}
        if not pt.test and R.random() < 0.55:
            a = per.age
            if per.sex == "male":
                name["prefix"] = ["Master" if a < 16 else "Mr"]
            else:
                name["prefix"] = ["Miss" if a < 16 else R.choice(["Mrs", "Ms", "Miss", "Mrs"])]
        r = {"resourceType": "Patient", "id": pt.id}
        sec = []
        for c in pt.sec:
            sec.append({"system": V3_CONF if c in ("R", "V") else V3_ACT, "code": c})
        if sec:
            r["meta"] = {"security": sec}
        r["identifier"] = [{"system": SYS_NHS, "value": pt.nhs}, {"system": SYS_MRN, "value": pt.mrn}]
        r["name"] = [name]
        r["gender"] = per.sex
        r["birthDate"] = per.birth.isoformat()
        if pt.addr is not None:
            r["address"] = [render_addr(pt.addr, pt.astyle)]
        else:
            r["address"] = [{"use": "work", "line": ["Digital Services", "Kingsmead General Hospital"], "city": "Kingsmead",
                             "postalCode": "KM1 1AA", "country": "GB"}]
        if pt.dead_at is not None and pt.dead_at < self.t_end:
            r["deceasedDateTime"] = fmt_s(pt.dead_at)
        return r

    def write(self):
        out = self.a.out
        ctx = os.path.join(out, "context")
        os.makedirs(ctx, exist_ok=True)
        dumps = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))
        with open(os.path.join(ctx, "Organization.ndjson"), "w", encoding="utf-8") as f:
            for k in self.org_order:
                o = self.org[k]
                r = {"resourceType": "Organization", "id": o["id"], "identifier": [{"system": SYS_ODS, "value": o["id"]}],
                     "active": True, "type": [{"text": o["kind"]}], "name": o["name"]}
                if o["parent"]:
                    r["partOf"] = {"reference": "Organization/" + self.org[o["parent"]]["id"]}
                f.write(dumps(r) + "\n")
        order = list(self.staff)
        R.shuffle(order)
        with open(os.path.join(ctx, "Practitioner.ndjson"), "w", encoding="utf-8") as f:
            for st in order:
                per = st.person
                name = {"use": "official", "family": per.family, "given": st.given}
                if st.prefix:
                    name["prefix"] = [st.prefix]
                r = {"resourceType": "Practitioner", "id": st.id,
                     "identifier": [{"system": SYS_SDS, "value": st.sds}, {"system": SYS_AD, "value": st.ad},
                                    {"system": SYS_ESR, "value": st.esr}],
                     "active": True, "name": [name], "gender": per.sex, "birthDate": per.birth.isoformat(),
                     "address": [render_addr(per.addr, st.astyle)]}
                f.write(dumps(r) + "\n")
        with open(os.path.join(ctx, "PractitionerRole.ndjson"), "w", encoding="utf-8") as f:
            for st in order:
                for role, dept in st.roles:
                    r = {"resourceType": "PractitionerRole", "id": rid(), "active": True,
                         "practitioner": {"reference": "Practitioner/" + st.id},
                         "organization": {"reference": "Organization/" + self.org[dept]["id"]},
                         "code": [{"coding": [{"system": SYS_ROLE, "code": role, "display": ROLE_DISPLAY[role]}]}]}
                    if role in DOC_ROLES and dept in self.org:
                        r["specialty"] = [{"text": self.org[dept]["name"]}]
                    f.write(dumps(r) + "\n")
        porder = list(self.pats)
        R.shuffle(porder)
        with open(os.path.join(ctx, "Patient.ndjson"), "w", encoding="utf-8") as f:
            for pt in porder:
                f.write(dumps(self.patient_json(pt)) + "\n")
        cls_disp = {"IMP": "inpatient encounter", "EMER": "emergency", "AMB": "ambulatory", "SS": "short stay", "HH": "home health"}
        encs = sorted(self.encs, key=lambda x: (x.start, x.id))
        with open(os.path.join(ctx, "Encounter.ndjson"), "w", encoding="utf-8") as f:
            for x in encs:
                if x.start >= self.t_end:
                    continue
                r = {"resourceType": "Encounter", "id": x.id, "status": "finished" if x.end is not None else "in-progress",
                     "class": {"system": V3_ACT, "code": x.cls, "display": cls_disp[x.cls]},
                     "type": [{"text": x.ttl}], "subject": {"reference": "Patient/" + self.pats[x.p].id}}
                if x.parts:
                    r["participant"] = [{"type": [{"coding": [{"system": V3_PART, "code": ro}]}],
                                         "individual": {"reference": "Practitioner/" + self.staff[u].id}} for ro, u in x.parts]
                per = {"start": fmt_s(x.start)}
                if x.end is not None:
                    per["end"] = fmt_s(x.end)
                r["period"] = per
                r["serviceProvider"] = {"reference": "Organization/" + self.org[x.org]["id"]}
                if x.partof:
                    r["partOf"] = {"reference": "Encounter/" + x.partof}
                if x.died:
                    r["hospitalization"] = {"dischargeDisposition": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "exp", "display": "Expired"}]}}
                f.write(dumps(r) + "\n")
        with open(os.path.join(ctx, "CareTeam.ndjson"), "w", encoding="utf-8") as f:
            for ct in self.careteams:
                r = {"resourceType": "CareTeam", "id": ct["id"], "status": "active", "name": ct["name"],
                     "subject": {"reference": "Patient/" + self.pats[ct["p"]].id},
                     "period": {"start": fmt_s(ct["start"])},
                     "participant": [{"role": [{"text": ROLE_DISPLAY[self.staff[u].role]}],
                                      "member": {"reference": "Practitioner/" + self.staff[u].id}} for u in ct["members"]],
                     "managingOrganization": [{"reference": "Organization/" + self.org[ct["org"]]["id"]}]}
                f.write(dumps(r) + "\n")
        # ---- audit events
        self.EV.sort(key=lambda e: (e[0], e[1]))
        used_ids = set()
        stats = {}
        unexpl = 0
        fa = open(os.path.join(out, "AuditEvent.ndjson"), "w", encoding="utf-8")
        fl = open(os.path.join(out, "labels.ndjson"), "w", encoding="utf-8")
        ft = open(os.path.join(out, "truth.ndjson"), "w", encoding="utf-8")
        server = {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153"}]},
                  "who": {"display": "KGH EPR"}, "requestor": False, "network": {"address": "10.10.1.20", "type": "2"}}
        pacs = {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153"}]},
                "who": {"display": "KGH PACS"}, "requestor": False, "network": {"address": "10.10.4.21", "type": "2"}}
        src_epr = {"observer": {"display": "KGH EPR"}}
        src_pacs = {"observer": {"display": "KGH PACS"}}
        act_map = {"read": "R", "search": "R", "create": "C", "update": "U", "delete": "D"}
        dept_name = {st.idx: self.org[st.dept]["name"] for st in self.staff}
        for ev in self.EV:
            t_ms, seq, u, p, inter, res, purpose, loc, scen, expl, lab = ev
            while True:
                eid = "%016x%016x" % (R.getrandbits(64), R.getrandbits(64))
                if eid not in used_ids:
                    used_ids.add(eid)
                    break
            st = self.staff[u]
            pid = self.pats[p].id
            requestor = {"type": {"coding": [{"system": V3_PART, "code": "IRCP"}]},
                         "who": {"identifier": {"system": SYS_SDS, "value": st.sds}},
                         "requestor": True,
                         "network": {"address": loc, "type": "2" if loc[0].isdigit() else "1"},
                         "purposeOfUse": [{"coding": [{"system": V3_REASON, "code": purpose}]}]}
            is_pacs = res == "ImagingStudy" or (res == "DiagnosticReport" and scen.startswith("radiology"))
            ent = [{"what": {"reference": "Patient/" + pid},
                    "type": {"system": ENT_TYPE, "code": "1"}, "role": {"system": OBJ_ROLE, "code": "1"}}]
            if inter == "search":
                q = "%s?%s" % (res, "patient=" + pid if res != "Patient" else "identifier=%s|%s" % (SYS_NHS, self.pats[p].nhs))
                ent.append({"type": {"system": ENT_TYPE, "code": "2"}, "role": {"system": OBJ_ROLE, "code": "24"},
                            "query": base64.b64encode(q.encode()).decode()})
            elif res != "Patient":
                ent.append({"what": {"reference": "%s/%010x" % (res, R.getrandbits(40))},
                            "type": {"system": ENT_TYPE, "code": "2"}, "role": {"system": OBJ_ROLE, "code": "4"}})
            r = {"resourceType": "AuditEvent", "id": eid,
                 "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
                 "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "search-type" if inter == "search" else inter}],
                 "action": act_map[inter], "recorded": fmt_ms(t_ms),
                 "outcome": "4" if R.random() < 0.003 else "0",
                 "agent": [requestor, pacs if is_pacs else server],
                 "source": src_pacs if is_pacs else src_epr,
                 "entity": ent}
            fa.write(dumps(r) + "\n")
            lab_r = {"id": eid, "case": "%s|%s" % (st.sds, local_date(t_ms // 1000))}
            tr = {"id": eid, "scenario": scen, "role": st.role, "department": dept_name[u], "explained": bool(expl)}
            if lab >= 0:
                inc = self.incidents[lab]
                lab_r["incident"] = inc["id"]
                lab_r["kind"] = inc["kind"]
                lab_r["expected_reasons"] = inc["reasons"]
                tr["incident"] = inc["id"]
                tr["variant"] = inc["variant"]
                tr["why"] = inc["why"]
            fl.write(dumps(lab_r) + "\n")
            ft.write(dumps(tr) + "\n")
            base = scen.split(":")[0] if not scen.startswith("incident") else scen
            stats[base] = stats.get(base, 0) + 1
            if not expl:
                unexpl += 1
        fa.close()
        fl.close()
        ft.close()
        self.stats = stats
        self.unexpl = unexpl


def main():
    ap = argparse.ArgumentParser(description="Synthetic NHS acute trust EHR audit-trail generator")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--incidents-per-kind", type=int, default=2)
    ap.add_argument("--start", default="2025-10-13", help="first local day (default crosses the end of BST)")
    ap.add_argument("--stats", action="store_true", help="print event shares by scenario")
    a = ap.parse_args()
    if a.days < 5:
        ap.error("--days must be at least 5")
    global R
    R.seed(a.seed)
    t_start = time.time()
    g = Gen(a)
    g.build_orgs()
    g.build_geo()
    g.build_people()
    g.build_patients()
    g.build_staff_ids()
    g.build_rota()
    g.plan_encounters()
    g.build_careteams()
    g.index_encs()
    g.act_ward_nursing()
    g.act_ward_clerks()
    g.act_ward_doctors()
    g.act_night_cover()
    g.act_admissions()
    g.act_ed()
    g.act_outpatients()
    g.act_pharmacy()
    g.act_phlebotomy()
    g.act_imaging_inpatients()
    g.act_therapies()
    g.act_flow()
    g.act_coding()
    g.act_corporate()
    g.act_deaths()
    g.act_mdt()
    g.act_district_nursing()
    g.index_encs()
    g.act_misc()
    g.plant_incidents()
    g.write()
    n = len(g.EV)
    ninc = sum(1 for e in g.EV if e[10] >= 0)
    sys.stderr.write("gen4: %d events (%d in %d incidents), %d patients, %d staff, %d encounters, %.1fs\n" % (
        n, ninc, len(g.incidents), len(g.pats), len(g.staff), len(g.encs), time.time() - t_start))
    if a.stats:
        for k, v in sorted(g.stats.items(), key=lambda kv: -kv[1]):
            sys.stderr.write("  %-48s %7d  %5.2f%%\n" % (k, v, 100.0 * v / n))
        sys.stderr.write("  unexplained-by-context legitimate events: %d (%.2f%%)\n" % (g.unexpl, 100.0 * g.unexpl / n))


if __name__ == "__main__":
    main()
