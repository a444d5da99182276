"""Long-term conditions, sensitivity labels, celebrities and CareTeams."""
import datetime as dt
from common import wchoice

PROFILE_RULES = [  # dept code, base probability, age range, gender
    ("CAR", 0.09, (45, 110), None), ("ONC", 0.06, (30, 110), None), ("PNE", 0.04, (20, 110), None),
    ("GAS", 0.04, (20, 110), None), ("NEU", 0.035, (25, 110), None), ("INF", 0.012, (18, 80), None),
    ("PSY", 0.045, (16, 85), None), ("PSY-A", 0.02, (18, 75), None), ("GER", 0.55, (78, 110), None),
    ("PED", 0.12, (0, 15), None), ("GYN", 0.06, (18, 43), "female"), ("MED", 0.05, (18, 110), None),
]
CELEBRITIES = ["chanteuse populaire (émission TV)", "attaquant du Tours FC", "député de la circonscription"]


def assign_profiles(rng, patients, ref):
    for p in patients:
        a = p.age(ref)
        for code, prob, (lo, hi), g in PROFILE_RULES:
            if lo <= a <= hi and (g is None or g == p.gender) and rng.random() < prob:
                p.profile = code
                break
        w = 1.0 + (2.5 if p.profile else 0.0) + (1.5 if a >= 70 else 0.0)
        p.weight = w * rng.uniform(0.3, 1.7)


def assign_labels(rng, patients, ref):
    """meta.security codes. Staff-patients are mostly (not always) flagged EMP."""
    for p in patients:
        labs = []
        if p.staff is not None and rng.random() < 0.88:
            labs.append("EMP")
        if p.profile == "PSY":
            labs.append("PSY")
        if p.profile == "PSY-A":
            labs.append("ETH")
        if p.profile == "INF" and rng.random() < 0.8:
            labs.append("HIV")
        if p.gender == "female" and 16 <= p.age(ref) <= 60 and rng.random() < 0.008:
            labs.append("SDV")
        r = rng.random()
        if "PSY" in labs or "HIV" in labs or "SDV" in labs:
            if r < 0.35:
                labs.append("R")
            elif r < 0.45:
                labs.append("V")
        elif r < 0.01:
            labs.append("R")
        elif r < 0.013:
            labs.append("V")
        p.labels = labs


def pick_celebrities(rng, patients, ref, n=2):
    cands = [p for p in patients if p.staff is None and 24 <= p.age(ref) <= 70 and not p.labels
             and p.profile is None]
    chosen = []
    for k in range(n):
        p = cands.pop(rng.randrange(len(cands)))
        p.vip = CELEBRITIES[k % len(CELEBRITIES)]
        p.labels = ["CEL", "R"] if k % 2 == 0 else ["CEL"]
        chosen.append(p)
    return chosen


class CareTeam:
    __slots__ = ("ctid", "patient", "members", "start", "end", "unit", "category")

    def __init__(self, ctid, patient, members, start, end, unit, category):
        self.ctid, self.patient, self.members = ctid, patient, members
        self.start, self.end, self.unit, self.category = start, end, unit, category


def build_careteams(rng, org, patients, clock):
    """Long-lived multidisciplinary teams for oncology, HIV, psychiatry, heart failure, geriatrics."""
    teams = []
    dept_for = {"ONC": "ONC", "INF": "INF", "PSY": "PSY", "PSY-A": "PSY", "CAR": "CAR", "GER": "GER"}
    share = {"ONC": 0.8, "INF": 0.9, "PSY": 0.6, "PSY-A": 0.5, "CAR": 0.25, "GER": 0.2}
    for p in patients:
        if p.profile not in dept_for or rng.random() > share[p.profile]:
            continue
        d = org.dept_by_code[dept_for[p.profile]]
        docs = [s for u in d.units for s in u.staff if s.role == "physician"]
        nurses = [s for u in d.units for s in u.staff if s.role == "nurse" and u.kind in ("clinic", "dayhosp")]
        if not nurses:
            nurses = [s for u in d.units for s in u.staff if s.role == "nurse"]
        members = [rng.choice(docs)]
        if len(docs) > 1 and rng.random() < 0.4:
            other = rng.choice(docs)
            if other is not members[0]:
                members.append(other)
        if nurses:
            members.append(rng.choice(nurses))
        if p.profile in ("PSY", "PSY-A", "GER", "ONC") and rng.random() < 0.5:
            members.append(rng.choice(org.staff_by_role("social-worker")))
        start = clock.start - dt.timedelta(days=rng.randrange(30, 900))
        end = None
        if rng.random() < 0.12:
            end = clock.start + dt.timedelta(days=rng.randrange(-20, clock.days))
        clinic = d.unit_of("clinic") or d.units[0]
        if p.profile == "PSY-A":
            clinic = org.unit_by_code["PSY-A"]
        teams.append(CareTeam("ct-%05d" % (len(teams) + 1), p, members, start, end, clinic, p.profile))
    return teams


def vip_careteam(rng, org, vip, unit, start, teams):
    d = unit.dept
    docs = [s for u in d.units for s in u.staff if s.role == "physician"]
    nurses = [s for s in unit.staff if s.role == "nurse"]
    members = docs[:2] + nurses[:2]
    res = [s for s in unit.staff if s.role == "resident"]
    if res:
        members.append(res[0])
    ct = CareTeam("ct-%05d" % (len(teams) + 1), vip, members, start, None, unit, "VIP")
    teams.append(ct)
    return ct


def pick_weighted(rng, cands):
    return wchoice(rng, cands, [c.weight for c in cands])
