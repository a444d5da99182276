"""Population of the catchment area: households on streets, persons, who is a patient.
Staff members are drawn from the same population, so they have neighbours, families and
sometimes their own patient record."""
import datetime as dt
import names
from common import wchoice


class Household:
    __slots__ = ("hid", "town", "postcode", "street", "number", "apt", "members")

    def __init__(self, hid, town, postcode, street, number, apt):
        self.hid, self.town, self.postcode = hid, town, postcode
        self.street, self.number, self.apt = street, number, apt
        self.members = []

    def line1(self):
        return "%s %s" % (self.number, self.street)

    def street_key(self):
        return (names.strip_accents(self.street).lower(), self.postcode)


class Person:
    __slots__ = ("pid", "family", "given", "gender", "birth", "hh", "maiden", "patient_id",
                 "mrn", "nir", "staff", "profile", "labels", "deceased", "vip", "weight", "hh_role")

    def __init__(self, pid, family, given, gender, birth, hh, hh_role):
        self.pid, self.family, self.given, self.gender = pid, family, given, gender
        self.birth, self.hh, self.hh_role = birth, hh, hh_role
        self.maiden = None
        self.patient_id = None
        self.mrn = None
        self.nir = None
        self.staff = None
        self.profile = None
        self.labels = []
        self.deceased = None
        self.vip = None
        self.weight = 1.0

    def age(self, on):
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))

    def display(self):
        return "%s %s" % (" ".join(self.given), self.family)


def _birth(rng, ref, age):
    d = ref - dt.timedelta(days=int(age * 365.25) + rng.randrange(0, 365))
    return d


def _given(rng, gender):
    pool = names.MALE if gender == "male" else names.FEMALE
    g = [rng.choice(pool)]
    if rng.random() < 0.35:
        second = rng.choice(pool)
        if second != g[0]:
            g.append(second)
    return g


class Population:
    def __init__(self, rng, ref_date, n_patients, n_staff):
        self.rng = rng
        self.ref = ref_date
        self.households = []
        self.persons = []
        self.buildings = {}
        target = int(n_patients * 1.35 + n_staff * 2.2)
        while len(self.persons) < target:
            self._household()
        self.by_street = {}
        for h in self.households:
            self.by_street.setdefault(h.street_key(), []).append(h)

    def _address(self):
        rng = self.rng
        town = wchoice(rng, names.TOWNS, [t[2] for t in names.TOWNS])
        street = rng.choice(town[3]) if rng.random() < 0.72 else rng.choice(names.COMMON_STREETS)
        key = (town[1], street)
        apt = None
        if rng.random() < town[4]:
            blds = self.buildings.setdefault(key, [])
            if not blds or (len(blds) < 4 and rng.random() < 0.3):
                blds.append([str(rng.randrange(1, 120)), 0])
            b = rng.choice(blds)
            b[1] += 1
            number = b[0]
            apt = rng.choice(["Appt %d", "Apt %d", "Bât. %s - Appt %%d" % rng.choice("ABC"),
                              "%de étage, porte %%d" % rng.randrange(1, 8)])
            apt = apt % rng.randrange(1, 60)
        else:
            number = str(min(int(rng.paretovariate(0.9)) + rng.randrange(0, 6), 240))
            if rng.random() < 0.05:
                number += rng.choice(["bis", "ter"])
        return town[0], town[1], street, number, apt

    def _household(self):
        rng = self.rng
        hid = "H%05d" % len(self.households)
        h = Household(hid, *self._address())
        self.households.append(h)
        kind = wchoice(rng, ["single", "couple", "family", "single_parent", "elderly"],
                       [30, 22, 26, 10, 12])
        fam_a = wchoice(rng, names.SURNAMES, names.SURNAME_W)
        if kind == "single":
            g = rng.choice(["male", "female"])
            self._add(h, fam_a, g, rng.randrange(19, 92), "head")
            return
        if kind == "single_parent":
            g = "female" if rng.random() < 0.8 else "male"
            a = rng.randrange(26, 55)
            self._add(h, fam_a, g, a, "head")
            for _ in range(rng.randrange(1, 4)):
                self._add(h, fam_a, rng.choice(["male", "female"]), rng.randrange(0, min(a - 18, 25)), "child")
            return
        base_age = rng.randrange(68, 90) if kind == "elderly" else rng.randrange(22, 62)
        married = rng.random() < (0.85 if kind == "elderly" else 0.58)
        man = self._add(h, fam_a, "male", base_age + rng.randrange(-2, 6), "head")
        fam_b = wchoice(rng, names.SURNAMES, names.SURNAME_W)
        if married:
            woman = self._add(h, fam_a, "female", base_age + rng.randrange(-5, 3), "partner")
            woman.maiden = fam_b
        else:
            woman = self._add(h, fam_b, "female", base_age + rng.randrange(-5, 3), "partner")
        if kind == "family":
            youngest = min(man.age(self.ref), woman.age(self.ref))
            for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 4])):
                r = rng.random()
                fam = fam_a if (married or r < 0.7) else (fam_a + "-" + fam_b if r < 0.85 else fam_b)
                self._add(h, fam, rng.choice(["male", "female"]),
                          rng.randrange(0, max(1, min(youngest - 19, 26))), "child")

    def _add(self, h, family, gender, age, role):
        p = Person(len(self.persons), family, _given(self.rng, gender), gender,
                   _birth(self.rng, self.ref, max(age, 0)), h, role)
        h.members.append(p)
        self.persons.append(p)
        return p

    def pick_staff_people(self, n):
        """Working-age adults; about 4% of staff live with another staff member."""
        rng = self.rng
        adults = [p for p in self.persons if 21 <= p.age(self.ref) <= 64]
        rng.shuffle(adults)
        chosen, used_hh = [], {}
        for p in adults:
            if len(chosen) >= n:
                break
            if p.hh.hid in used_hh and rng.random() > 0.08:
                continue
            used_hh[p.hh.hid] = 1
            chosen.append(p)
        return chosen

    def choose_patients(self, n, staff_people):
        rng = self.rng
        chosen = {}
        order = []

        def take(p):
            if p.pid not in chosen:
                chosen[p.pid] = 1
                order.append(p)
        for p in staff_people:
            if rng.random() < 0.24:
                take(p)
        for p in staff_people:
            for m in p.hh.members:
                if m is not p and m.staff is None and rng.random() < 0.38:
                    take(m)
        rest = [p for p in self.persons if p.pid not in chosen]
        weights = []
        for p in rest:
            a = p.age(self.ref)
            w = 1.6 if a < 2 else (0.5 if a < 18 else (0.7 if a < 45 else (1.2 if a < 65 else 2.2)))
            if p.staff is not None:
                w = 1e-9  # staff records come only from the 24% draw above
            weights.append(w)
        # weighted sampling without replacement (Efraimidis-Spirakis keys)
        keyed = sorted(range(len(rest)), key=lambda i: rng.random() ** (1.0 / weights[i]), reverse=True)
        for i in keyed:
            if len(order) >= n:
                break
            take(rest[i])
        order = order[:n]
        order.sort(key=lambda p: p.pid)
        for k, p in enumerate(order):
            p.patient_id = "pat-%05d" % (k + 1)
            p.mrn = "%09d" % (370000000 + rng.randrange(1, 9999999))
            if rng.random() < 0.82:
                p.nir = _nir(rng, p)
        return order


def _nir(rng, p):
    sex = "1" if p.gender == "male" else "2"
    born37 = rng.random() < 0.5
    dep = "37" if born37 else "%02d" % rng.choice([75, 41, 36, 49, 72, 86, 44, 99, 69, 33])
    body = "%s%02d%02d%s%03d%03d" % (sex, p.birth.year % 100, p.birth.month, dep,
                                     rng.randrange(1, 990), rng.randrange(1, 999))
    return body + "%02d" % (97 - int(body) % 97)
