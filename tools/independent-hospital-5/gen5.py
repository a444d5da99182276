#!/usr/bin/env python3
"""gen5.py - independent test-data generator #5.

A fictional German university hospital ("Universitätsklinikum Mittelhessen", UKMH) and
a few weeks of its KIS (electronic patient record) audit trail, exported as FHIR R4 NDJSON
following /work/shared/spec/access-monitoring.md, plus labels and truth.

Python 3 standard library only; one random.Random(seed) drives every choice.
"""
import argparse
import datetime as _dt
import json
import os
import sys
import time
import unicodedata

# ----------------------------------------------------------------------------- time (Europe/Berlin)
EPOCH = _dt.datetime(1970, 1, 1)
D0 = _dt.date(1970, 1, 1)
_DST = {}


def _last_sunday_0100utc(y, m):
    nd = _dt.date(y + 1, 1, 1) if m == 12 else _dt.date(y, m + 1, 1)
    d = nd - _dt.timedelta(days=1)
    while d.weekday() != 6:
        d -= _dt.timedelta(days=1)
    return ((d - D0).days * 86400 + 3600) * 1000


def offset_ms(ts):
    """UTC offset of Europe/Berlin at UTC instant ts (ms)."""
    y = (EPOCH + _dt.timedelta(milliseconds=ts)).year
    b = _DST.get(y)
    if b is None:
        b = _DST[y] = (_last_sunday_0100utc(y, 3), _last_sunday_0100utc(y, 10))
    return 7200000 if b[0] <= ts < b[1] else 3600000


def local_to_utc(date, minutes):
    """Local wall time (date + minutes after local midnight, may exceed 1440) -> UTC ms.
    Ambiguous wall times take the first (CEST) reading."""
    naive = ((date - D0).days * 86400 + int(minutes * 60)) * 1000
    if offset_ms(naive - 7200000) == 7200000:
        return naive - 7200000
    return naive - 3600000


def fmt_ts(ts):
    off = offset_ms(ts)
    t = EPOCH + _dt.timedelta(milliseconds=ts + off)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03d+%02d:00" % (
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 1000, off // 3600000)


def local_date(ts):
    t = EPOCH + _dt.timedelta(milliseconds=ts + offset_ms(ts))
    return "%04d-%02d-%02d" % (t.year, t.month, t.day)


def local_hour(ts):
    t = EPOCH + _dt.timedelta(milliseconds=ts + offset_ms(ts))
    return t.hour + t.minute / 60.0


# ----------------------------------------------------------------------------- name & address data
GER_FAM = ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
           "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt "
           "Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber "
           "Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank "
           "Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus "
           "Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf "
           "Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Voigt Sauer Arnold Wolff Pfeiffer "
           "Heß Strauß Nußbaum Rößler Lüdecke Jüngst Weißmüller Bäcker Döring Göbel Görlich Müller-Lüdenscheidt "
           "Hölzer Käfer Späth Füller Löffler Grün Schüßler Rühl Jöckel Lotz Schwalm Wißner Dörr Häuser").split()
TUR_FAM = "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Kara Koç Kurt Özkan Şimşek".split()
POL_FAM = "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Krawczyk".split()
RUS_FAM = "Friesen Penner Wiebe Klassen Neufeld Dyck Janzen Ens Wall Reimer Schellenberg Giesbrecht Rempel Hildebrandt Iwanow Petrow Kusnezow Smirnow Popow Wolkow".split()
ARA_FAM = "Al-Hassan Haddad Khalil Nasser Ibrahim Mahmoud Saleh Abdullah Al-Khatib Hamdan Al-Ahmad Darwish Youssef Hussein Al-Masri Othman Kassem".split()
NOB_FAM = ["von Bülow", "von Arnim", "von der Schulenburg", "zu Solms-Lich", "von Trotha", "Riedesel zu Eisenbach",
           "von Stein", "von Weizsäcker", "von der Heydt", "zu Ysenburg", "von Gemmingen", "von Hessen"]
GER_GIV = {
    ("m", 0): "Hans Günter Karl Heinz Werner Gerhard Helmut Walter Manfred Horst Jürgen Dieter Klaus Rolf Wolfgang Siegfried Ernst Rüdiger".split(),
    ("m", 1): "Thomas Michael Andreas Stefan Frank Markus Jörg Uwe Matthias Christian Sven Dirk Torsten Björn Ralf Oliver Jens".split(),
    ("m", 2): "Lukas Jonas Leon Finn Paul Jan Tim Niklas Felix Maximilian Moritz Elias Noah Ben Luca Tobias Jannik Sören".split(),
    ("f", 0): "Ursula Helga Gisela Ingrid Renate Hildegard Gertrud Erika Elfriede Christa Brigitte Irmgard Käthe Liselotte Hannelore Jutta".split(),
    ("f", 1): "Sabine Petra Claudia Andrea Susanne Birgit Katrin Nicole Stefanie Anja Tanja Kerstin Silke Jessica Julia Bärbel Daniela".split(),
    ("f", 2): "Anna Lea Lena Hannah Emma Sophie Marie Laura Lara Mia Jana Leonie Charlotte Johanna Zoë Chiara Jülide".split(),
}
TUR_GIV = {"m": "Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim Murat Emre Can Burak Yusuf Eren Deniz Oğuz".split(),
           "f": "Fatma Ayşe Emine Hatice Zeynep Elif Meryem Özlem Derya Esra Merve Büşra Selin Gül Çiğdem".split()}
POL_GIV = {"m": "Piotr Krzysztof Tomasz Paweł Marek Andrzej Łukasz Michał Grzegorz Wojciech".split(),
           "f": "Agnieszka Małgorzata Katarzyna Magdalena Joanna Ewa Monika Dorota Aleksandra Beata".split()}
RUS_GIV = {"m": "Waldemar Viktor Alexander Eduard Dmitri Sergej Juri Wladimir Artur Andrej Witali Eugen".split(),
           "f": "Olga Natalia Jelena Swetlana Tatjana Irina Ljudmila Galina Walentina Anastasia Oxana Lilli".split()}
ARA_GIV = {"m": "Mohammad Ahmad Omar Khaled Mahmoud Yousef Hamza Ali Bilal Karim Rami Tarek".split(),
           "f": "Fatima Aisha Rana Layla Noor Hiba Yasmin Amal Mariam Lina Rasha Samira".split()}
NOB_GIV = {"m": "Friedrich Konstantin Maximilian Ferdinand Philipp Carl-Eduard Leopold".split(),
           "f": "Viktoria Augusta Sophie-Charlotte Luise Henriette Amelie Cosima".split()}
ORIGINS = [("de", 0.72), ("tr", 0.09), ("pl", 0.05), ("ru", 0.07), ("ar", 0.05), ("nob", 0.02)]

CITIES = [  # name, [PLZ...], weight, big
    ("Gießen", ["35390", "35392", "35394", "35396", "35398"], 0.33, True),
    ("Wetzlar", ["35576", "35578", "35579"], 0.09, True),
    ("Marburg", ["35037", "35039", "35041", "35043"], 0.07, True),
    ("Lich", ["35423"], 0.03, False), ("Pohlheim", ["35415"], 0.04, False), ("Linden", ["35440"], 0.04, False),
    ("Buseck", ["35418"], 0.03, False), ("Lollar", ["35457"], 0.03, False), ("Heuchelheim", ["35452"], 0.02, False),
    ("Wettenberg", ["35435"], 0.03, False), ("Grünberg", ["35305"], 0.03, False), ("Hungen", ["35410"], 0.03, False),
    ("Laubach", ["35321"], 0.02, False), ("Butzbach", ["35510"], 0.04, False), ("Staufenberg", ["35460"], 0.02, False),
    ("Fernwald", ["35463"], 0.02, False), ("Langgöns", ["35428"], 0.03, False), ("Biebertal", ["35444"], 0.02, False),
    ("Reiskirchen", ["35447"], 0.02, False), ("Rabenau", ["35466"], 0.01, False),
    ("Allendorf (Lumda)", ["35469"], 0.01, False), ("Friedberg (Hessen)", ["61169"], 0.02, False),
    ("Bad Nauheim", ["61231"], 0.02, False), ("Alsfeld", ["36304"], 0.02, False),
]
STREET_LIST = [
    "Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Kirchstraße", "Lindenstraße", "Bergstraße",
    "Waldstraße", "Ringstraße", "Wiesenweg", "Rosenweg", "Birkenweg", "Am Sportplatz", "Goethestraße",
    "Schillerstraße", "Friedrich-Ebert-Straße", "Mühlweg", "Am Anger", "Steinweg", "Grabenstraße", "Feldstraße",
    "Talstraße", "Burgstraße", "Am Wingert", "Im Wiesengrund", "Raiffeisenstraße", "Frankfurter Straße",
    "Marburger Straße", "Gießener Straße", "Ludwigstraße", "Liebigstraße", "Licher Straße", "Rödgener Straße",
    "Grünberger Straße", "Schiffenberger Weg", "Ostanlage", "Westanlage", "Am Nahrungsberg", "Wilhelmstraße",
    "Bismarckstraße", "Kaiserallee", "Hessenstraße", "Eichendorffring", "Heinrich-Heine-Straße", "Tannenweg",
    "Ahornweg", "Kastanienallee", "Weiherstraße", "Große Straße", "Kleine Gasse", "Löberstraße", "Südanlage",
    "Nordanlage", "Alter Steinbacher Weg", "Sonnenstraße", "Lahnstraße", "Schützenstraße", "Weißdornweg",
    "Fröbelstraße", "Über der Bitz",
]

FLOORS = ["EG links", "EG rechts", "1. OG links", "1. OG rechts", "2. OG links", "2. OG rechts", "3. OG links",
          "3. OG rechts", "2. OG Mitte", "DG", "Hinterhaus", "Souterrain", "4. OG links", "Whg. 12", "Whg. 7"]

_TR = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ı": "i", "İ": "I", "ł": "l", "Ł": "L"}


def translit(s):
    out = []
    for ch in s:
        r = _TR.get(ch)
        if r is not None:
            out.append(r)
        else:
            n = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in n if not unicodedata.combining(c)))
    return "".join(out)


def ascii_login_part(s):
    t = translit(s).lower()
    return "".join(c for c in t if "a" <= c <= "z")


def female_form(fam, origin):
    if origin == "pl":
        if fam.endswith("ski"):
            return fam[:-3] + "ska"
        if fam.endswith("cki"):
            return fam[:-3] + "cka"
    if origin == "ru" and (fam.endswith("ow") or fam.endswith("ew") or fam.endswith("in")):
        return fam + "a"
    return fam


# ----------------------------------------------------------------------------- organisation
# key, name, parent key, type, extras
ROOT = "UKMH"
ZENTREN = [("ZIM", "Zentrum für Innere Medizin"), ("ZCH", "Zentrum für Chirurgie"),
           ("ZNF", "Zentrum für Neurologie und Psychiatrie"), ("ZFK", "Zentrum für Frauen- und Kindermedizin"),
           ("ZDI", "Zentrum für Diagnostik"), ("KD", "Kaufmännische Direktion")]
# clinical Kliniken with wards: key, name, zentrum, wards[(suffix, name)], ambulanz name, patient weight
KLINIKEN = [
    ("MED1", "Medizinische Klinik I – Kardiologie und Angiologie", "ZIM",
     [("2A", "Station 2A Kardiologie"), ("2B", "Station 2B Kardiologie/Angiologie"), ("CPU", "Chest Pain Unit")],
     "Kardiologische Ambulanz", 0.13),
    ("MED2", "Medizinische Klinik II – Gastroenterologie, Hepatologie, Infektiologie", "ZIM",
     [("3A", "Station 3A Gastroenterologie"), ("3B", "Station 3B Infektiologie")], "Endoskopie und Gastro-Ambulanz", 0.12),
    ("MED3", "Medizinische Klinik III – Hämatologie und Onkologie", "ZIM",
     [("4A", "Station 4A Onkologie"), ("4B", "Station 4B Stammzelltransplantation")], "Onkologische Tagesklinik", 0.10),
    ("CHIR", "Klinik für Allgemein-, Viszeral- und Thoraxchirurgie", "ZCH",
     [("5A", "Station 5A Viszeralchirurgie"), ("5B", "Station 5B Thoraxchirurgie")], "Chirurgische Ambulanz", 0.13),
    ("UCH", "Klinik für Unfallchirurgie und Orthopädie", "ZCH",
     [("6A", "Station 6A Unfallchirurgie"), ("6B", "Station 6B Orthopädie")], "BG-Ambulanz / D-Arzt-Sprechstunde", 0.11),
    ("NEURO", "Klinik für Neurologie", "ZNF",
     [("7A", "Station 7A Neurologie"), ("SU", "Stroke Unit")], "Neurologische Hochschulambulanz", 0.09),
    ("PSY", "Klinik für Psychiatrie und Psychotherapie", "ZNF",
     [("P1", "Station P1 (geschützt)"), ("P2", "Station P2 Psychotherapie")], "Psychiatrische Institutsambulanz", 0.05),
    ("FRAU", "Frauenklinik (Gynäkologie und Geburtshilfe)", "ZFK",
     [("F1", "Station F1 Gynäkologie"), ("MK", "Mutter-Kind-Station"), ("KS", "Kreißsaal")], "Gynäkologische Ambulanz", 0.09),
    ("KIND", "Zentrum für Kinderheilkunde (Kinderklinik)", "ZFK",
     [("K1", "Kinderstation K1"), ("NEO", "Neonatologie")], "Kinderambulanz", 0.08),
]
# special units: key, name, parent, kind
SPECIAL = [
    ("ZNA", "Zentrale Notaufnahme", ROOT, "Klinik"),
    ("ZNA-ST", "ZNA Behandlungsbereich und Schockraum", "ZNA", "Station"),
    ("ANAE", "Klinik für Anästhesiologie, operative Intensivmedizin und Schmerztherapie", ROOT, "Klinik"),
    ("ANAE-IOI", "Operative Intensivstation IOI", "ANAE", "Station"),
    ("ANAE-IMI", "Interdisziplinäre Intensivstation IMI", "ANAE", "Station"),
    ("PRIV", "Wahlleistungsstation Ebene 9 (Privatstation)", ROOT, "Station"),
    ("RAD", "Institut für Diagnostische und Interventionelle Radiologie", "ZDI", "Institut"),
    ("LAB", "Institut für Laboratoriumsmedizin und Pathobiochemie", "ZDI", "Institut"),
    ("PATH", "Institut für Pathologie", "ZDI", "Institut"),
    ("APO", "Apotheke des Universitätsklinikums", ROOT, "Institut"),
    ("THZ", "Therapiezentrum (Physiotherapie, Ergotherapie)", ROOT, "Abteilung"),
    ("SOZ", "Sozialdienst und Case Management", ROOT, "Abteilung"),
    ("PM", "Patientenmanagement / Patientenaufnahme", "KD", "Verwaltung"),
    ("MC", "Medizincontrolling und Kodierung", "KD", "Verwaltung"),
    ("DS", "Datenschutz", "KD", "Stabsstelle"),
    ("IT", "Zentrale IT / Servicedesk", "KD", "Verwaltung"),
]

ROLE_INFO = {  # code: (display, hl7 practitioner-role code or None)
    "CA": ("Chefärztin/Chefarzt", "doctor"), "OA": ("Oberärztin/Oberarzt", "doctor"),
    "AA": ("Assistenzärztin/Assistenzarzt", "doctor"), "PFK": ("Gesundheits- und Krankenpflege", "nurse"),
    "STL": ("Stationsleitung", "nurse"), "SEK": ("Stationssekretariat", None), "MTL": ("MTA Labor (MTLA)", None),
    "MTR": ("MTRA Radiologie", None), "APO": ("Apothekerin/Apotheker", "pharmacist"),
    "PHY": ("Physiotherapie", None), "SOZ": ("Sozialdienst", None), "PAU": ("Patientenaufnahme", None),
    "KOD": ("Kodierfachkraft / Medizincontrolling", None), "DSB": ("Datenschutz", None), "IT": ("IT-Support", "ict"),
}
PHYS = ("CA", "OA", "AA")

ROLE_SYS = "https://fhir.ukmh.example.de/CodeSystem/funktion"
LOGIN_SYS = "https://fhir.ukmh.example.de/sid/benutzerkennung"
PERS_SYS = "https://fhir.ukmh.example.de/sid/personalnummer"
PID_SYS = "https://fhir.ukmh.example.de/sid/patientennummer"
FALL_SYS = "https://fhir.ukmh.example.de/sid/fallnummer"
ORG_SYS = "https://fhir.ukmh.example.de/sid/kostenstelle"
ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PTYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"

REASON_CODES = ["SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "NO_RELATIONSHIP", "BULK",
                "UNUSUAL_TIME", "UNUSUAL_LOCATION", "BREAK_GLASS"]
KINDS = ["SELF", "FAMILY", "NEIGHBOR", "COWORKER", "VIP", "DECEASED", "SNOOPING", "BREAK_GLASS", "COMPROMISED"]


# ----------------------------------------------------------------------------- model objects
class Person:
    __slots__ = ("given", "family", "gender", "birth", "hh", "origin", "prefix", "staff", "patient", "idx")


class Household:
    __slots__ = ("city", "plz", "street", "no", "extra", "members", "origin", "family")


class Staff:
    __slots__ = ("i", "p", "login", "persno", "role", "org", "klinik", "station", "ws", "id", "blocks", "oncall",
                 "parts", "pat")


class Pat:
    __slots__ = ("i", "id", "p", "flags", "deceased", "privat", "vip", "encs", "nameform", "unknown", "staff")


class Enc:
    __slots__ = ("i", "id", "pat", "cls", "org", "klinik", "start", "end", "parts", "died", "onco", "fallnr")


class Gen:
    def __init__(self, rng, args):
        self.rng = rng
        self.a = args
        self.start_date = _dt.date.fromisoformat(args.start)
        self.D = args.days
        self.t0 = local_to_utc(self.start_date, 0)
        self.t_end = local_to_utc(self.start_date + _dt.timedelta(days=self.D), 0)
        self.events = []

    # ------------------------------------------------------------------ helpers
    def wchoice(self, items, weights):
        r = self.rng.random() * sum(weights)
        acc = 0.0
        for it, w in zip(items, weights):
            acc += w
            if r < acc:
                return it
        return items[-1]

    def day_date(self, d):
        return self.start_date + _dt.timedelta(days=d)

    def lt(self, d, minutes):
        return local_to_utc(self.day_date(d), minutes)

    # ------------------------------------------------------------------ organisation
    def build_orgs(self):
        orgs = []  # (key, name, parent, type)
        orgs.append((ROOT, "Universitätsklinikum Mittelhessen (UKMH)", None, "Klinikum"))
        for k, n in ZENTREN:
            orgs.append((k, n, ROOT, "Zentrum"))
        self.wards = {}      # klinik -> [ward keys]
        self.amb = {}        # klinik -> amb key
        self.org_klinik = {}
        for k, n, z, wards, ambname, w in KLINIKEN:
            orgs.append((k, n, z, "Klinik"))
            self.wards[k] = []
            for suf, wn in wards:
                key = k + "-" + suf
                orgs.append((key, wn, k, "Station"))
                self.wards[k].append(key)
                self.org_klinik[key] = k
            ak = k + "-AMB"
            orgs.append((ak, ambname, k, "Ambulanz"))
            self.amb[k] = ak
            self.org_klinik[ak] = k
            self.org_klinik[k] = k
        for k, n, par, t in SPECIAL:
            orgs.append((k, n, par, t))
            self.org_klinik[k] = k if t != "Station" else (par if par != ROOT else k)
        self.org_klinik["ANAE-IOI"] = "ANAE"
        self.org_klinik["ANAE-IMI"] = "ANAE"
        self.org_klinik["ZNA-ST"] = "ZNA"
        self.orgs = orgs
        self.org_name = {o[0]: o[1] for o in orgs}

    @staticmethod
    def org_id(key):
        return "org-" + key.lower().replace("_", "-")

    # ------------------------------------------------------------------ population
    def new_person(self, hh, gender, age, family, origin, given=None):
        rng = self.rng
        p = Person()
        p.hh = hh
        p.gender = gender
        p.origin = origin
        y = self.start_date.year - age
        p.birth = _dt.date(y, 1, 1) + _dt.timedelta(days=rng.randrange(365))
        if given is None:
            if origin == "de":
                era = 0 if y < 1962 else (1 if y < 1987 else 2)
                pool = GER_GIV[(gender, era)]
            else:
                pool = {"tr": TUR_GIV, "pl": POL_GIV, "ru": RUS_GIV, "ar": ARA_GIV, "nob": NOB_GIV}[origin][gender]
            given = [rng.choice(pool)]
            if origin in ("de", "nob") and rng.random() < 0.18:
                g2 = rng.choice(GER_GIV[(gender, 1)])
                if g2 != given[0]:
                    given.append(g2)
        p.given = given
        p.family = female_form(family, origin) if gender == "f" else family
        p.prefix = None
        p.staff = None
        p.patient = None
        p.idx = len(self.persons)
        self.persons.append(p)
        hh.members.append(p)
        return p

    def surname(self, origin):
        rng = self.rng
        return rng.choice({"de": GER_FAM, "tr": TUR_FAM, "pl": POL_FAM, "ru": RUS_FAM, "ar": ARA_FAM,
                           "nob": NOB_FAM}[origin])

    def new_household(self, city_i=None, building=None, street=None):
        rng = self.rng
        if city_i is None:
            city_i = self.wchoice(list(range(len(CITIES))), [c[2] for c in CITIES])
        city, plzs, w, big = CITIES[city_i]
        hh = Household()
        hh.city = city
        hh.members = []
        if building is None and street is None and self.buildings[city_i] and rng.random() < (0.45 if big else 0.12):
            building = rng.choice(self.buildings[city_i])
        if building is not None:
            hh.street, hh.no, hh.plz = building
            used = self.building_floors.setdefault((city_i,) + building, [])
            cand = [f for f in FLOORS if f not in used]
            hh.extra = rng.choice(cand) if cand else ""
            used.append(hh.extra)
        else:
            if street is None:
                street = rng.choice(self.city_streets[city_i])
            hh.street = street
            no = str(rng.randint(1, 160 if big else 60))
            if rng.random() < 0.08:
                no += rng.choice("abc")
            hh.no = no
            hh.plz = self.street_plz[(city_i, street)]
            hh.extra = ""
            b = (hh.street, hh.no, hh.plz)
            self.buildings[city_i].append(b)
            if big and rng.random() < 0.5:
                hh.extra = rng.choice(FLOORS[:9])
                self.building_floors.setdefault((city_i,) + b, []).append(hh.extra)
        hh.origin = self.wchoice([o for o, _ in ORIGINS], [w for _, w in ORIGINS])
        hh.family = self.surname(hh.origin)
        self.households.append(hh)
        hh_city_i = city_i
        self.hh_city[id(hh)] = hh_city_i
        return hh

    def fill_household(self, hh, typ=None):
        rng = self.rng
        o, fam = hh.origin, hh.family
        if typ is None:
            typ = self.wchoice(["single", "couple", "family", "singleparent", "multigen"], [0.33, 0.27, 0.30, 0.05, 0.05])
        if typ == "single":
            g = rng.choice("mf")
            self.new_person(hh, g, rng.randint(19, 92), fam, o)
        elif typ in ("couple", "family", "multigen"):
            age = rng.randint(24, 86) if typ == "couple" else rng.randint(28, 56)
            m = self.new_person(hh, "m", age, fam, o)
            r = rng.random()
            if r < 0.80:
                wf = fam
            elif r < 0.88 and o in ("de", "nob", "tr"):
                wf = fam + "-" + self.surname(o).split(" ")[-1]
            else:
                wf = self.surname(o)
            self.new_person(hh, "f", max(19, age + rng.randint(-5, 3)), wf, o)
            if typ in ("family", "multigen"):
                for _ in range(rng.randint(1, 3)):
                    ka = rng.randint(0, min(26, age - 20))
                    self.new_person(hh, rng.choice("mf"), ka, fam, o)
            if typ == "multigen":
                self.new_person(hh, rng.choice("mf"), age + rng.randint(24, 32), fam, o)
        else:
            age = rng.randint(26, 50)
            self.new_person(hh, "f", age, fam, o)
            for _ in range(rng.randint(1, 2)):
                self.new_person(hh, rng.choice("mf"), rng.randint(0, min(24, age - 19)), fam, o)

    def build_population(self):
        rng = self.rng
        self.persons = []
        self.households = []
        self.hh_city = {}
        self.buildings = [[] for _ in CITIES]
        self.building_floors = {}
        self.city_streets = []
        self.street_plz = {}
        for ci, (city, plzs, w, big) in enumerate(CITIES):
            n = 28 if big else rng.randint(7, 12)
            sts = rng.sample(STREET_LIST, min(n, len(STREET_LIST)))
            self.city_streets.append(sts)
            for s in sts:
                self.street_plz[(ci, s)] = rng.choice(plzs)
        target = int((self.a.patients + self.a.staff) * 2.3)
        while len(self.persons) < target:
            hh = self.new_household()
            self.fill_household(hh)

    def age(self, p):
        return (self.start_date - p.birth).days // 365

    # ------------------------------------------------------------------ staff
    def build_staff(self):
        rng = self.rng
        slots = []  # (role, org, klinik, station)
        for k, n, z, wards, ambname, w in KLINIKEN:
            slots.append(("CA", k, k, None))
            for _ in range(2 + len(wards)):
                slots.append(("OA", k, k, None))
            for wi in range(2 * len(wards) + 1):
                slots.append(("AA", k, k, self.wards[k][wi % len(wards)]))
            slots.append(("SEK", k, k, None))
            for wk in self.wards[k]:
                slots.append(("STL", wk, k, wk))
                for _ in range(5):
                    slots.append(("PFK", wk, k, wk))
        for role, org, n in [("CA", "ZNA", 1), ("OA", "ZNA", 2), ("AA", "ZNA", 5), ("PFK", "ZNA-ST", 10),
                             ("CA", "ANAE", 1), ("OA", "ANAE", 3), ("AA", "ANAE", 5), ("STL", "ANAE-IOI", 1),
                             ("PFK", "ANAE-IOI", 8), ("STL", "ANAE-IMI", 1), ("PFK", "ANAE-IMI", 7),
                             ("STL", "PRIV", 1), ("PFK", "PRIV", 6),
                             ("CA", "RAD", 1), ("OA", "RAD", 2), ("AA", "RAD", 4), ("MTR", "RAD", 8),
                             ("CA", "LAB", 1), ("MTL", "LAB", 10), ("CA", "PATH", 1), ("OA", "PATH", 2),
                             ("APO", "APO", 4), ("PHY", "THZ", 8), ("SOZ", "SOZ", 4), ("PAU", "PM", 9),
                             ("KOD", "MC", 7), ("DSB", "DS", 2), ("IT", "IT", 5)]:
            for _ in range(n):
                st = org if org in ("ZNA-ST", "ANAE-IOI", "ANAE-IMI", "PRIV") else None
                kl = self.org_klinik.get(org, org)
                slots.append((role, org, kl, st))
        base = len(slots)
        S = self.a.staff
        fixed = {"CA", "STL", "DSB", "SEK"}
        f = S / base
        # scale by dropping / duplicating scalable slots deterministically
        scal = [i for i, s in enumerate(slots) if s[0] not in fixed]
        if S < base:
            drop = base - S
            # drop evenly spaced scalable slots, keep at least one per (role, org)
            keep = list(slots)
            order = rng.sample(scal, len(scal))
            counts = {}
            for s in slots:
                counts[(s[0], s[1])] = counts.get((s[0], s[1]), 0) + 1
            dropped = set()
            for i in order:
                if drop == 0:
                    break
                key = (slots[i][0], slots[i][1])
                if counts[key] > 1:
                    counts[key] -= 1
                    dropped.add(i)
                    drop -= 1
            slots = [s for i, s in enumerate(slots) if i not in dropped]
        else:
            extra = S - base
            order = rng.sample(scal, len(scal))
            j = 0
            while extra > 0:
                slots.append(slots[order[j % len(order)]])
                j += 1
                extra -= 1
        self.staff = []
        cand = [p for p in self.persons if 19 <= self.age(p) <= 65]
        rng.shuffle(cand)
        used = [False] * len(cand)
        logins = {}
        persnos = set()
        for si, (role, org, kl, st) in enumerate(slots):
            lo, hi = {"CA": (46, 65), "OA": (35, 62), "AA": (26, 39), "STL": (30, 62)}.get(role, (19, 64))
            pf = {"PFK": 0.8, "STL": 0.7, "SEK": 0.95, "MTL": 0.85, "MTR": 0.7, "PAU": 0.8, "KOD": 0.85,
                  "SOZ": 0.85, "IT": 0.2, "CA": 0.3}.get(role, 0.5)
            want_g = "f" if rng.random() < pf else "m"
            pick = None
            for j, p in enumerate(cand):
                if used[j]:
                    continue
                a = self.age(p)
                if lo <= a <= hi and p.gender == want_g:
                    pick = j
                    break
            if pick is None:
                for j, p in enumerate(cand):
                    if not used[j] and 19 <= self.age(p) <= 65:
                        pick = j
                        break
            used[pick] = True
            p = cand[pick]
            s = Staff()
            s.i = si
            s.p = p
            p.staff = s
            s.role, s.org, s.klinik, s.station = role, org, kl, st
            if role in PHYS:
                p.prefix = "Prof. Dr. med." if role == "CA" else ("Dr. med." if role == "OA" or rng.random() < 0.3 else None)
            base_l = ascii_login_part(p.given[0])[:1] + ascii_login_part(
                p.family.replace("von der ", "").replace("von ", "").replace("zu ", "").split("-")[0].split(" ")[0])[:4]
            logins[base_l] = logins.get(base_l, 0) + 1
            s.login = "%s%d" % (base_l, logins[base_l])
            while True:
                pn = "%06d" % rng.randint(100000, 799999)
                if pn not in persnos:
                    persnos.add(pn)
                    break
            s.persno = pn
            s.id = "pers-" + pn
            s.parts = []
            s.pat = None
            # workstations
            wsbase = (st or org).replace("-", "").upper()
            if role in ("PFK", "STL", "AA") and st:
                s.ws = ["%s-PC%02d" % (wsbase, rng.randint(1, 6)), "%s-VW%d" % (wsbase, rng.randint(1, 3)),
                        "%s-PC%02d" % (wsbase, rng.randint(1, 6))]
            elif role == "IT":
                s.ws = ["10.20.%d.%d" % (rng.randint(1, 30), rng.randint(2, 250))]
            elif role == "KOD":
                s.ws = ["MC-PC%02d" % rng.randint(1, 20), "172.31.%d.%d" % (rng.randint(1, 254), rng.randint(2, 254))]
            else:
                s.ws = ["%s-PC%02d" % (wsbase, rng.randint(1, 20)), "%s-PC%02d" % (wsbase, rng.randint(1, 20))]
            self.staff.append(s)
        self.by_role = {}
        for s in self.staff:
            self.by_role.setdefault(s.role, []).append(s)
        self.phys_of = {}
        for s in self.staff:
            if s.role in PHYS:
                self.phys_of.setdefault(s.klinik, []).append(s)
        self.nurses_of = {}
        for s in self.staff:
            if s.role in ("PFK", "STL") and s.station:
                self.nurses_of.setdefault(s.station, []).append(s)
        self.login_of = {s.login: s for s in self.staff}

    # ------------------------------------------------------------------ rota
    def build_rota(self):
        rng = self.rng
        D = self.D
        for s in self.staff:
            s.blocks = [[] for _ in range(D)]
            s.oncall = [False] * D
        # Bereitschaftsdienst per Klinik (+ ANAE, RAD)
        oc_kl = [k[0] for k in KLINIKEN] + ["ANAE", "RAD"]
        self.oncall_of = {}
        for kl in oc_kl:
            pool = [s for s in self.phys_of.get(kl, []) if s.role in ("OA", "AA")]
            if not pool:
                continue
            prev = None
            lst = []
            for d in range(D):
                c = rng.choice(pool)
                if c is prev and len(pool) > 1:
                    c = rng.choice(pool)
                prev = c
                lst.append(c)
                wd = self.day_date(d).weekday()
                a = self.lt(d, 960 if wd < 5 else 480)
                b = self.lt(d + 1, 480)
                c.blocks[d].append((a, b, "BD"))
                c.oncall[d] = True
            self.oncall_of[kl] = lst
        for s in self.staff:
            # the night shift that started before the window (only its part after midnight is exported)
            if s.role == "PFK" and rng.random() < 0.3 and s.station:
                s.blocks[0].append((self.lt(-1, 1260 + rng.randint(-5, 5)), self.lt(0, 390 + rng.randint(0, 25)), "N"))
            elif s.role in ("OA", "AA") and s.klinik in ("ZNA", "ANAE") and rng.random() < 0.3:
                s.blocks[0].append((self.lt(-1, 1170), self.lt(0, 465 + rng.randint(0, 30)), "N12"))
        for s in self.staff:
            r = s.role
            off3 = rng.randrange(3)
            three = rng.random() < 0.8
            for d in range(D):
                wd = self.day_date(d).weekday()
                we = wd >= 5
                after_oc = d > 0 and s.oncall[d - 1]
                if d == 0 and any(blk[0] < self.t0 for blk in s.blocks[0]):
                    continue  # coming off the night shift that began before the window
                if r in ("PFK",) or (r in ("MTL", "MTR")) or (r == "PAU" and s.i % 3 == 0):
                    p = (0.55 if we else 0.76) if r == "PFK" else (0.5 if we else 0.8)
                    if rng.random() >= p:
                        continue
                    k = ((d // 7) + off3) % 3 if three else ((d // 7) + off3) % 2
                    if rng.random() < 0.2:
                        k = rng.randrange(3 if three else 2)
                    if r in ("MTL", "MTR", "PAU") and k == 2 and rng.random() < 0.5:
                        k = 0
                    if k == 0:
                        s.blocks[d].append((self.lt(d, 360 + rng.randint(-5, 5)), self.lt(d, 840 + rng.randint(0, 25)), "F"))
                    elif k == 1:
                        s.blocks[d].append((self.lt(d, 810 + rng.randint(-5, 5)), self.lt(d, 1290 + rng.randint(0, 25)), "S"))
                    else:
                        s.blocks[d].append((self.lt(d, 1260 + rng.randint(-5, 5)), self.lt(d + 1, 390 + rng.randint(0, 25)), "N"))
                elif r in ("OA", "AA") and s.klinik in ("ZNA", "ANAE"):
                    if rng.random() >= 0.55 or after_oc:
                        continue
                    if rng.random() < 0.62:
                        s.blocks[d].append((self.lt(d, 450 + rng.randint(-10, 10)), self.lt(d, 1200 + rng.randint(0, 40)), "D12"))
                    else:
                        s.blocks[d].append((self.lt(d, 1170 + rng.randint(-10, 10)), self.lt(d + 1, 465 + rng.randint(0, 30)), "N12"))
                elif r in ("CA", "OA", "AA"):
                    if we or after_oc or rng.random() >= 0.9:
                        continue
                    st = 450 + rng.randint(-20, 20) if r != "CA" else 480 + rng.randint(-15, 30)
                    en = st + rng.randint(510, 660)
                    if s.oncall[d]:
                        en = min(en, 960)
                    s.blocks[d].append((self.lt(d, st), self.lt(d, en), "D"))
                elif r == "STL":
                    if we or rng.random() >= 0.9:
                        continue
                    s.blocks[d].append((self.lt(d, 400 + rng.randint(0, 40)), self.lt(d, 930 + rng.randint(0, 40)), "D"))
                elif r == "APO":
                    if wd == 5 and (d // 7 + s.i) % len(self.by_role["APO"]) == 0:
                        s.blocks[d].append((self.lt(d, 480), self.lt(d, 720), "D"))
                    elif not we and rng.random() < 0.9:
                        s.blocks[d].append((self.lt(d, 470 + rng.randint(0, 30)), self.lt(d, 960 + rng.randint(0, 40)), "D"))
                else:  # office roles
                    if we or rng.random() >= 0.88:
                        continue
                    st = rng.randint(420, 540)
                    if r == "PAU":
                        st = rng.choice([390, 600])
                    s.blocks[d].append((self.lt(d, st), self.lt(d, st + rng.randint(450, 540)), "D"))

    def on_duty(self, staff_list, t):
        out = []
        for s in staff_list:
            d = self.day_of(t)
            for dd in (d, d - 1):
                if 0 <= dd < self.D:
                    for a, b, k in s.blocks[dd]:
                        if a <= t < b:
                            out.append(s)
                            break
                    else:
                        continue
                    break
        return out

    def day_of(self, t):
        return (t - self.t0) // 86400000  # approximate (DST): fine for lookup window

    # ------------------------------------------------------------------ patients & encounters
    def build_patients(self):
        rng = self.rng
        N = self.a.patients
        staff_set = [p for p in self.persons if p.staff is not None]
        non_staff = [p for p in self.persons if p.staff is None]

        def w(p):
            a = self.age(p)
            return 0.7 if a < 18 else (0.6 if a < 40 else (1.0 if a < 65 else 2.3))
        keyed = sorted(((rng.random() ** (1.0 / w(p)), p.idx) for p in non_staff), reverse=True)
        n_staffpat = max(4, int(len(staff_set) * 0.06))
        chosen_staff = rng.sample(staff_set, n_staffpat)
        chosen = [self.persons[i] for _, i in keyed[:N - n_staffpat - 40]]
        chosen += chosen_staff
        rng.shuffle(chosen)
        self.patients = []
        self.pidnos = set()
        for p in chosen:
            self.add_patient(p)
        # a few unidentified emergency patients (Schockraum alias names)
        self.unknown_pats = []
        for k in range(3):
            hh = self.new_household()
            p = self.new_person(hh, rng.choice("mf"), 40, "Unbekannt", "de", given=["Schockraum%d" % (k + 1)])
            pt = self.add_patient(p)
            pt.unknown = True
            self.unknown_pats.append(pt)

    def add_patient(self, p, flags=None):
        rng = self.rng
        pt = Pat()
        pt.i = len(self.patients)
        while True:
            n = rng.randint(10000000, 49999999)
            if n not in self.pidnos:
                self.pidnos.add(n)
                break
        pt.id = "pid-%d" % n
        pt.p = p
        p.patient = pt
        pt.flags = list(flags or [])
        pt.deceased = None
        pt.privat = rng.random() < 0.11
        pt.vip = False
        pt.encs = []
        pt.unknown = False
        pt.staff = p.staff
        if p.staff is not None and rng.random() < 0.7 and "EMP" not in pt.flags:
            pt.flags.append("EMP")
        # how the admission office spelled this person
        pt.nameform = (rng.random() < 0.15, rng.random() < 0.35, rng.random() < 0.04)  # translit, abbrev, upper
        self.patients.append(pt)
        return pt

    def pick_participant(self, kl, station=None, roles=("AA",)):
        rng = self.rng
        pool = [s for s in self.phys_of.get(kl, []) if s.role in roles]
        if station:
            pool2 = [s for s in pool if s.station == station]
            if pool2:
                pool = pool2
        return rng.choice(pool) if pool else None

    def new_enc(self, pt, cls, org, start, end, parts):
        e = Enc()
        e.i = len(self.encs)
        e.fallnr = 60000000 + e.i * 7 + self.rng.randint(0, 6)
        e.id = "fall-%d" % e.fallnr
        e.pat = pt
        e.cls = cls
        e.org = org
        e.klinik = self.org_klinik.get(org, org)
        e.start = start
        e.end = end
        e.parts = []
        for s, typ in parts:
            if s is not None and all(s is not x for x, _ in e.parts):
                e.parts.append((s, typ))
                s.parts.append(e)
        e.died = False
        e.onco = False
        self.encs.append(e)
        pt.encs.append(e)
        return e

    def rand_time(self, d, lo_min, hi_min):
        return self.lt(d, self.rng.randint(lo_min, hi_min))

    def emer_hour(self):
        # diurnal pattern of ZNA arrivals (local minutes)
        rng = self.rng
        h = self.wchoice(list(range(24)), [1, .8, .6, .5, .5, .6, .9, 1.4, 2, 2.3, 2.4, 2.3, 2.1, 2, 2, 2, 2, 2,
                                           1.9, 1.8, 1.6, 1.4, 1.2, 1.0])
        return h * 60 + rng.randint(0, 59)

    def build_encounters(self):
        rng = self.rng
        self.encs = []
        D = self.D
        kl_keys = [k[0] for k in KLINIKEN]
        kl_w = [k[5] for k in KLINIKEN]
        zna_phys = [s for s in self.phys_of.get("ZNA", [])]
        zna_nurse = self.nurses_of.get("ZNA-ST", [])
        icu_phys = [s for s in self.phys_of.get("ANAE", []) if s.role != "CA"]
        vip_n = max(3, len(self.patients) // 700)
        cand_vip = [pt for pt in self.patients if 25 <= self.age(pt.p) <= 80 and pt.staff is None and not pt.unknown]
        for pt in rng.sample(cand_vip, vip_n):
            pt.vip = True
            pt.privat = True
            pt.flags.append("CEL")
        for pt in self.patients:
            a = self.age(pt.p)
            if pt.unknown:
                kind = "EMER"
            elif pt.vip:
                kind = "IMP"
            else:
                kind = self.wchoice(["IMP", "AMB", "EMER", "SS", "HIST"], [0.42, 0.36, 0.13, 0.03, 0.06])
            # Klinik
            if a < 16:
                kl = "KIND"
            else:
                ws = [w if not (k == "FRAU" and pt.p.gender == "m") and k != "KIND" else 0 for k, w in zip(kl_keys, kl_w)]
                kl = self.wchoice(kl_keys, ws)
            if kl == "PSY":
                pt.flags.append("PSY")
                if rng.random() < 0.5:
                    pt.flags.append("R")
            elif kl == "MED2" and rng.random() < 0.12:
                pt.flags.append("HIV")
                pt.flags.append("V")
            if kind == "SS":
                kl = "MED3"
            # historic encounter (before window)
            if kind == "HIST" or rng.random() < 0.3:
                hd = -rng.randint(15, 300)
                st = self.rand_time(hd, 420, 900)
                if rng.random() < 0.5:
                    los = rng.randint(1, 12)
                    ward = rng.choice(self.wards[kl])
                    e = self.new_enc(pt, "IMP", ward, st, st + los * 86400000 + rng.randint(0, 6) * 3600000,
                                     [(self.pick_participant(kl, ward), "ATND"), (self.pick_participant(kl, None, ("OA",)), "ATND")])
                else:
                    e = self.new_enc(pt, "AMB", self.amb[kl], st, st + rng.randint(30, 180) * 60000,
                                     [(self.pick_participant(kl, None, ("OA", "AA")), "ATND")])
                if kind == "HIST" and a > 70 and rng.random() < 0.08 and hd > -25:
                    pt.deceased = e.end
                    e.died = True
            if kind == "HIST":
                continue
            if kind == "AMB":
                d = rng.randrange(D)
                while self.day_date(d).weekday() >= 5:
                    d = rng.randrange(D)
                st = self.rand_time(d, 450, 960)
                self.new_enc(pt, "AMB", self.amb[kl], st, st + rng.randint(25, 200) * 60000,
                             [(self.pick_participant(kl, None, ("OA", "AA")), "ATND")])
                continue
            if kind == "SS":
                for _ in range(rng.randint(1, 3)):
                    d = rng.randrange(D)
                    if self.day_date(d).weekday() >= 5:
                        continue
                    st = self.rand_time(d, 450, 600)
                    e = self.new_enc(pt, "SS", self.amb["MED3"], st, st + rng.randint(180, 420) * 60000,
                                     [(self.pick_participant("MED3", None, ("OA", "AA")), "ATND")])
                    e.onco = True
                continue
            # EMER / IMP
            d = rng.randint(-10, D - 1)
            via_zna = kind == "EMER" or rng.random() < 0.35
            if via_zna:
                st = self.lt(d, self.emer_hour())
                dur = rng.randint(60, 420) * 60000
                ph = self.on_duty(zna_phys, st) or zna_phys
                nu = self.on_duty(zna_nurse, st) or zna_nurse
                parts = [(rng.choice(ph), "ATND"), (rng.choice(nu), "PART")]
                if kind == "IMP":
                    oc = self.oncall_of.get(kl)
                    hh = local_hour(st)
                    if oc and (hh < 8 or hh >= 16 or self.day_date(d).weekday() >= 5) and 0 <= d < D:
                        parts.append((oc[d], "CON"))
                    else:
                        parts.append((self.pick_participant(kl, None, ("OA", "AA")), "CON"))
                e = self.new_enc(pt, "EMER", "ZNA-ST", st, st + dur, parts)
                if kind == "EMER":
                    continue
                st = st + dur
            else:
                while 0 <= d < D and self.day_date(d).weekday() >= 5 and rng.random() < 0.8:
                    d -= 1
                st = self.rand_time(d, 420, 690)
            los_days = min(35, 1 + int(rng.expovariate(1 / 5.0)))
            if kl == "KIND" and a == 0:
                los_days = min(los_days, 5)
            start = st
            # ICU first?
            if kl in ("CHIR", "MED1", "NEURO", "UCH") and rng.random() < 0.12:
                icu = "ANAE-IOI" if kl in ("CHIR", "UCH") else "ANAE-IMI"
                iend = start + rng.randint(20, 96) * 3600000
                parts = [(rng.choice(icu_phys), "ATND"), (rng.choice(icu_phys), "ATND"),
                         (self.pick_participant(kl, None, ("OA",)), "CON")]
                ie = self.new_enc(pt, "IMP", icu, start, iend, parts)
                if a > 60 and rng.random() < 0.12:
                    ie.died = True
                    pt.deceased = iend
                    continue
                start = iend
            if pt.vip or (pt.privat and kl not in ("PSY", "KIND") and rng.random() < 0.5):
                ward = "PRIV"
            else:
                ward = rng.choice(self.wards[kl])
            end = start + los_days * 86400000 + rng.randint(-4, 4) * 3600000
            end = max(end, start + 4 * 3600000)
            parts = [(self.pick_participant(kl, ward if ward != "PRIV" else None), "ATND"),
                     (self.pick_participant(kl, None, ("OA",)), "ATND")]
            if ward == "PRIV" or (pt.privat and rng.random() < 0.6):
                parts.append((self.pick_participant(kl, None, ("CA",)), "PPRF"))
            nur = self.nurses_of.get(ward, [])
            if nur and rng.random() < 0.4:
                parts.append((rng.choice(nur), "PART"))
            if rng.random() < 0.12:
                ck = rng.choice(["NEURO", "MED1", "PSY", "MED2", "CHIR", "MED3"])
                if ck != kl:
                    parts.append((self.pick_participant(ck, None, ("OA", "AA")), "CON"))
            e = self.new_enc(pt, "IMP", ward, start, end, parts)
            if kl in ("MED3", "CHIR", "MED2", "FRAU") and rng.random() < (0.45 if kl == "MED3" else 0.15):
                e.onco = True
            pdie = 0.0 if a < 50 else (0.03 if a < 75 else 0.08)
            if kl in ("MED3", "MED1", "NEURO") and rng.random() < pdie:
                e.died = True
                pt.deceased = end
            # newborn for Mutter-Kind-Station
            if ward == "FRAU-MK" and pt.p.gender == "f" and 18 <= a <= 45 and rng.random() < 0.8:
                baby = self.new_person(pt.p.hh, rng.choice("mf"), 0, pt.p.family, pt.p.origin)
                bst = start + rng.randint(1, 20) * 3600000
                baby.birth = _dt.date.fromisoformat(local_date(bst))
                bp = self.add_patient(baby)
                bward = "KIND-NEO" if rng.random() < 0.2 else "FRAU-MK"
                bk = "KIND" if bward == "KIND-NEO" else "FRAU"
                self.new_enc(bp, "IMP", bward, bst, end, [(self.pick_participant(bk, None, ("AA", "OA")), "ATND")])
        # index encounters
        self.station_encs = {}
        for e in self.encs:
            self.station_encs.setdefault(e.org, []).append(e)
        self.day_encs = [[] for _ in range(self.D)]
        for e in self.encs:
            if e.end <= self.t0 or e.start >= self.t_end:
                continue
            d0 = max(0, self.day_of(e.start) - 1)
            d1 = min(self.D - 1, self.day_of(e.end) + 1)
            for d in range(d0, d1 + 1):
                self.day_encs[d].append(e)
        # CareTeams: Tumorkonferenz for oncology encounters
        self.careteams = []
        rad = [s for s in self.phys_of.get("RAD", []) if s.role in ("OA", "CA")]
        path = [s for s in self.phys_of.get("PATH", [])]
        for e in self.encs:
            if not e.onco or e.end < self.t0 - 20 * 86400000:
                continue
            members = [self.pick_participant("MED3", None, ("OA",)), rng.choice(rad) if rad else None,
                       rng.choice(path) if path else None]
            if e.klinik in ("CHIR", "MED2", "FRAU"):
                members.append(self.pick_participant(e.klinik, None, ("OA", "CA")))
            members = [m for i, m in enumerate(members) if m is not None and all(m is not x for x in members[:i])]
            ct = ("ct-%d" % (len(self.careteams) + 1), e.pat, members, e.start - 14 * 86400000, e.start + 180 * 86400000)
            self.careteams.append(ct)
        self.ct_of_pat = {}
        for ct in self.careteams:
            self.ct_of_pat.setdefault(ct[1].i, []).append(ct)

    # ------------------------------------------------------------------ events
    RES = {
        "nurse": (["Observation", "MedicationAdministration", "Encounter", "CarePlan", "Observation", "Flag"], 0.35),
        "phys": (["Observation", "DiagnosticReport", "MedicationRequest", "Condition", "DocumentReference", "Procedure", "ImagingStudy"], 0.25),
        "sek": (["Encounter", "DocumentReference", "Appointment", "Coverage"], 0.4),
        "lab": (["Observation", "Specimen", "ServiceRequest"], 0.6),
        "rad": (["ImagingStudy", "DiagnosticReport", "ServiceRequest"], 0.45),
        "path": (["DiagnosticReport", "Specimen", "Condition"], 0.4),
        "apo": (["MedicationRequest", "MedicationStatement", "AllergyIntolerance"], 0.3),
        "phy": (["ServiceRequest", "Procedure", "Observation"], 0.45),
        "soz": (["Encounter", "DocumentReference", "RelatedPerson", "Coverage"], 0.35),
        "adm": (["Encounter", "Coverage", "RelatedPerson"], 0.5),
        "kod": (["DocumentReference", "Condition", "Procedure", "Encounter", "Claim"], 0.35),
        "admin": (["Encounter", "DocumentReference", "Observation"], 0.0),
    }

    def ev(self, t, s, pt, sub, act, ref, ws, purpose, scen, expl, inc=None, outcome="0"):
        if t < self.t0 or t >= self.t_end:
            return
        self.events.append((t, len(self.events), s, pt, sub, act, ref, ws, purpose, outcome, scen, expl, inc))

    def session(self, t, s, pt, scen, n, style, purpose="TREAT", ws=None, expl=True, inc=None, gap=(6, 80), first="read"):
        rng = self.rng
        res, wp = self.RES[style]
        if pt.staff is s and inc is None:
            return t  # staff never document their own stay as part of routine work
        if ws is None:
            ws = rng.choice(s.ws)
        t += rng.randint(0, 999)
        if purpose is not None and rng.random() < 0.07:
            purpose = None
        for k in range(n):
            out = "0" if rng.random() > 0.004 else rng.choice(["4", "8"])
            if k == 0:
                if first == "search":
                    self.ev(t, s, pt, "search-type", "E", None, ws, purpose, scen, expl, inc, out)
                else:
                    self.ev(t, s, pt, "read", "R", None, ws, purpose, scen, expl, inc, out)
            else:
                rt = rng.choice(res)
                r = rng.random()
                if r < wp:
                    sub, act = ("create", "C") if rng.random() < 0.6 else ("update", "U")
                elif r < wp + 0.22:
                    sub, act = "search-type", "E"
                elif r < wp + 0.25:
                    sub, act = "vread", "R"
                else:
                    sub, act = "read", "R"
                self.ev(t, s, pt, sub, act, "%s/%x" % (rt, rng.getrandbits(40)), ws, purpose, scen, expl, inc, out)
            t += rng.randint(gap[0], gap[1]) * 1000 + rng.randint(0, 999)
        return t

    def active(self, encs, a, b):
        return [e for e in encs if e.start < b and e.end > a]

    def in_block(self, e, a, b, pad=0):
        lo = max(a, e.start - pad)
        hi = min(b, e.end)
        if hi <= lo:
            return None
        return lo + self.rng.randint(0, max(0, (hi - lo) // 1000 - 60)) * 1000

    def gen_legit(self):
        rng = self.rng
        D = self.D
        for d in range(D):
            date = self.day_date(d)
            wd = date.weekday()
            dayencs = self.day_encs[d]
            for s in self.staff:
                for (a, b, kind) in s.blocks[d]:
                    self.gen_block(s, d, wd, a, b, kind, dayencs)
            self.gen_day_special(d, wd, dayencs)
        self.gen_admissions()
        self.gen_coding()
        self.gen_postcare()

    def gen_block(self, s, d, wd, a, b, kind, dayencs):
        rng = self.rng
        r = s.role
        ri = rng.randint
        if kind == "BD":  # Bereitschaftsdienst: whole Klinik
            pool = []
            for w in self.wards.get(s.klinik, []) + ([s.org] if s.klinik in ("ANAE",) else []):
                pool += self.active(self.station_encs.get(w, []), a, b)
            if s.klinik == "ANAE":
                pool = self.active(self.station_encs.get("ANAE-IOI", []) + self.station_encs.get("ANAE-IMI", []), a, b)
            if s.klinik == "RAD":
                pool = [e for e in self.active(dayencs, a, b) if e.cls in ("EMER", "IMP")]
                scen, style = "radiology_oncall", "rad"
            else:
                scen, style = "oncall_bereitschaft", "phys"
            for e in rng.sample(pool, min(len(pool), ri(4, 12))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, scen, ri(2, 6), style, purpose=self.btg_purpose(s, e))
            for e in s.parts:
                if e.cls == "EMER" and e.start < b and e.end > a:
                    t = self.in_block(e, a, b)
                    if t is not None:
                        self.session(t, s, e.pat, "zna_consult", ri(3, 7), "phys", purpose=self.btg_purpose(s, e))
            return
        if r in ("PFK", "STL") and s.station:
            pool = self.active(self.station_encs.get(s.station, []), a, b)
            icu = s.station.startswith("ANAE")
            if s.station == "ZNA-ST":
                n = min(len(pool), ri(3, 9) if kind != "N" else ri(2, 6))
                scen = "zna_nursing"
            elif icu:
                n = min(len(pool), ri(2, 4))
                scen = "icu_nursing"
            else:
                n = min(len(pool), {"F": ri(4, 8), "S": ri(3, 7), "N": ri(2, 5)}.get(kind, ri(3, 7)))
                scen = "ward_nursing" if s.station != "PRIV" else "privatstation_care"
            for e in rng.sample(pool, n):
                reps = ri(3, 6) if icu else ri(1, 2)
                for _ in range(reps):
                    t = self.in_block(e, a, b)
                    if t is not None:
                        p = "ETREAT" if scen == "zna_nursing" and rng.random() < 0.3 else "TREAT"
                        self.session(t, s, e.pat, scen, ri(2, 4), "nurse", purpose=p)
            if r == "STL":
                for e in rng.sample(pool, min(len(pool), ri(2, 5))):
                    t = self.in_block(e, a, b)
                    if t is not None:
                        self.session(t, s, e.pat, "ward_management", ri(1, 3), "sek")
            return
        if r in PHYS and s.klinik in self.wards:
            mine = [e for e in s.parts if e.start < b and e.end > a]
            if r == "AA":
                pool = self.active(self.station_encs.get(s.station, []), a, b) if s.station else []
                sel = pool + [e for e in mine if e not in pool]
                if len(sel) > 9:
                    sel = rng.sample(sel, 9)
                for e in sel:
                    for _ in range(1 if rng.random() < 0.7 else 2):
                        t = self.in_block(e, a, b)
                        if t is not None:
                            self.session(t, s, e.pat, "ward_rounds" if e.org != "PRIV" else "privatstation_care",
                                         ri(3, 6), "phys", purpose=self.btg_purpose(s, e))
            elif r == "OA":
                pool = []
                for w in self.wards[s.klinik]:
                    pool += self.active(self.station_encs.get(w, []), a, b)
                sel = rng.sample(pool, min(len(pool), ri(3, 8))) + [e for e in mine if e.cls != "EMER"]
                for e in sel:
                    t = self.in_block(e, a, b)
                    if t is not None:
                        sc = "ambulanz" if e.cls in ("AMB", "SS") else ("consult" if self.is_con(s, e) else "senior_review")
                        self.session(t, s, e.pat, sc, ri(2, 5), "phys", purpose=self.btg_purpose(s, e))
            else:  # CA
                for e in mine:
                    t = self.in_block(e, a, b)
                    if t is not None:
                        self.session(t, s, e.pat, "chefarzt_privat" if e.org == "PRIV" else "chefarzt",
                                     ri(2, 5), "phys")
                if wd == 1 and self.wards[s.klinik]:  # Chefarztvisite
                    w = rng.choice(self.wards[s.klinik])
                    t = self.lt(d, 600 + ri(0, 60))
                    for e in self.active(self.station_encs.get(w, []), t, t + 3600000)[:12]:
                        t = self.session(t, s, e.pat, "chefarztvisite", ri(1, 3), "phys", gap=(10, 50)) + ri(60, 300) * 1000
            # consults elsewhere (participant CON) are included in mine; ambulance for AA too
            if r == "AA":
                for e in mine:
                    if e.cls in ("AMB", "SS") and e.start < b and e.end > a:
                        t = self.in_block(e, a, b)
                        if t is not None:
                            self.session(t, s, e.pat, "ambulanz", ri(3, 6), "phys")
            return
        if r in PHYS and s.klinik in ("ZNA", "ANAE"):
            if s.klinik == "ZNA":
                pool = [e for e in s.parts if e.start < b and e.end > a]
                pool += [e for e in rng.sample(self.active(self.station_encs.get("ZNA-ST", []), a, b),
                                               0) if e not in pool]
                for e in pool:
                    for _ in range(ri(2, 3)):
                        t = self.in_block(e, a, b)
                        if t is not None:
                            sr = e.pat.unknown or rng.random() < 0.08
                            pur = "BTG" if ("R" in e.pat.flags or "V" in e.pat.flags) else ("ETREAT" if sr or rng.random() < 0.4 else "TREAT")
                            ws = "ZNA-SCHOCKRAUM%d" % ri(1, 2) if sr else None
                            self.session(t, s, e.pat, "schockraum" if sr else "zna_treatment", ri(3, 6), "phys",
                                         purpose=pur, ws=ws)
            else:
                pool = self.active(self.station_encs.get("ANAE-IOI", []) + self.station_encs.get("ANAE-IMI", []), a, b)
                for e in pool:
                    for _ in range(ri(1, 2)):
                        t = self.in_block(e, a, b)
                        if t is not None:
                            self.session(t, s, e.pat, "icu_rounds", ri(3, 6), "phys", purpose=self.btg_purpose(s, e))
            return
        if r in PHYS and s.klinik == "RAD" or r == "MTR":
            pool = [e for e in self.active(dayencs, a, b) if e.cls != "SS"]
            n = ri(10, 20) if r != "MTR" else ri(8, 14)
            if kind == "N":
                n //= 3
            for e in rng.sample(pool, min(len(pool), n)):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "radiology", ri(2, 4), "rad")
            return
        if r in PHYS and s.klinik == "PATH":
            pool = [e for e in self.day_encs[max(0, d - 3)] + dayencs
                    if e.klinik in ("CHIR", "MED2", "FRAU", "UCH", "MED3") and e.cls in ("IMP", "AMB")]
            seen = []
            for e in rng.sample(pool, min(len(pool), ri(5, 10))):
                if e in seen:
                    continue
                seen.append(e)
                t = a + ri(0, (b - a) // 1000 - 600) * 1000
                self.session(t, s, e.pat, "pathology", ri(2, 4), "path")
            return
        if r in PHYS and s.klinik == "LAB" or r == "MTL":
            pool = self.active(dayencs, a, b)
            n = {"F": ri(18, 32), "S": ri(12, 22), "N": ri(5, 10)}.get(kind, ri(8, 15))
            for e in rng.sample(pool, min(len(pool), n)):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "laboratory", ri(1, 3), "lab", gap=(2, 20))
            return
        if r == "APO":
            pool = [e for e in self.active(dayencs, a, b) if e.cls == "IMP"]
            for e in rng.sample(pool, min(len(pool), ri(12, 25))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "pharmacy", ri(1, 3), "apo")
            return
        if r == "PHY":
            pool = [e for e in self.active(dayencs, a, b) if e.cls == "IMP" and
                    e.klinik in ("CHIR", "UCH", "NEURO", "ANAE", "MED1", "PRIV")]
            for e in rng.sample(pool, min(len(pool), ri(6, 11))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "physiotherapy", ri(1, 3), "phy")
            return
        if r == "SOZ":
            pool = [e for e in self.active(dayencs, a, b) if e.cls == "IMP" and self.age(e.pat.p) > 60]
            for e in rng.sample(pool, min(len(pool), ri(4, 8))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "social_service", ri(2, 5), "soz")
            return
        if r == "SEK":
            pool = []
            for w in self.wards.get(s.klinik, []):
                pool += self.active(self.station_encs.get(w, []), a, b)
            pool += self.active(self.station_encs.get(self.amb.get(s.klinik, ""), []), a, b)
            for e in rng.sample(pool, min(len(pool), ri(8, 16))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "secretariat", ri(1, 4), "sek", purpose="HOPERAT" if rng.random() < 0.3 else "TREAT")
            return
        if r == "PAU":
            pool = [e for e in self.active(dayencs, a, b)]
            for e in rng.sample(pool, min(len(pool), ri(3, 8))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "admission_office", ri(1, 3), "adm", purpose="HOPERAT", first="search")
            return
        if r == "DSB":
            pool = [e for e in dayencs if e.pat.flags]
            for e in rng.sample(pool, min(len(pool), ri(0, 3))):
                t = a + ri(0, (b - a) // 1000 - 600) * 1000
                self.session(t, s, e.pat, "privacy_review", ri(1, 3), "admin", purpose="HOPERAT")
            return
        if r == "IT":
            pool = self.active(dayencs, a, b)
            for e in rng.sample(pool, min(len(pool), ri(0, 4))):
                t = self.in_block(e, a, b)
                if t is not None:
                    self.session(t, s, e.pat, "it_support", ri(1, 3), "admin", purpose="HOPERAT")
            return
        # KOD handled in gen_coding; others nothing

    def is_con(self, s, e):
        return any(x is s and typ == "CON" for x, typ in e.parts)

    def btg_purpose(self, s, e):
        """Restricted patients outside the user's own Klinik need a Notfallzugriff (BTG)."""
        fl = e.pat.flags
        if ("R" in fl or "V" in fl) and s.klinik != e.klinik and not any(x is s for x, _ in e.parts):
            return "BTG"
        return "TREAT"

    def gen_day_special(self, d, wd, dayencs):
        rng = self.rng
        ri = rng.randint
        # Tumorkonferenz Wednesdays 15:30
        if wd == 2:
            t0 = self.lt(d, 930)
            cases = [ct for ct in self.careteams if ct[3] <= t0 <= ct[4] and
                     any(e.start < t0 + 3 * 86400000 and e.end > t0 - 14 * 86400000 for e in ct[1].encs)]
            cases = cases[:25]
            for ct in cases:
                for m in ct[2]:
                    t = t0 + ri(0, 5400) * 1000
                    self.session(t, m, ct[1], "tumorboard", ri(2, 4), "phys", ws="KONFRAUM-TK-01")
        # Lehrvisite (teaching rounds) Thursdays
        if wd == 3:
            for kl in [k[0] for k in KLINIKEN]:
                tea = [s for s in self.phys_of.get(kl, []) if s.role in ("OA", "CA") and s.blocks[d]]
                if not tea or rng.random() < 0.4:
                    continue
                s = rng.choice(tea)
                w = rng.choice(self.wards[kl])
                t = self.lt(d, 615 + ri(0, 30))
                for e in self.active(self.station_encs.get(w, []), t, t + 3600000)[:8]:
                    t = self.session(t, s, e.pat, "teaching_rounds", ri(2, 3), "phys",
                                     ws="HS-%s-BEAMER" % kl, gap=(20, 90)) + ri(120, 420) * 1000

    def gen_admissions(self):
        rng = self.rng
        pau = self.by_role.get("PAU", [])
        zna_n = self.nurses_of.get("ZNA-ST", [])
        seen_pat = set()
        for e in self.encs:
            first = e.pat.i not in seen_pat
            seen_pat.add(e.pat.i)
            if e.start < self.t0 or e.start >= self.t_end:
                continue
            if e.org in ("ANAE-IOI", "ANAE-IMI", "KIND-NEO") or (e.cls == "IMP" and any(
                    x.cls == "EMER" and abs(x.end - e.start) < 60000 for x in e.pat.encs)):
                continue  # internal transfer, no new admission at the desk
            t = e.start - rng.randint(2, 20) * 60000
            who = self.on_duty(pau, t)
            scen = "admission_office"
            if not who:
                if e.cls == "EMER":
                    who = self.on_duty(zna_n, t)
                    scen = "zna_registration"
                elif e.cls == "IMP":
                    who = self.on_duty(self.nurses_of.get(e.org, []), t)
                    scen = "ward_admission"
            if not who:
                continue
            s = rng.choice(who)
            ws = "ZNA-ANMELDUNG-%d" % rng.randint(1, 2) if scen == "zna_registration" else s.ws[0]
            self.ev(t, s, e.pat, "search-type", "E", None, ws, "HOPERAT", scen, True)
            t += rng.randint(10, 60) * 1000
            if first and rng.random() < 0.5:
                self.ev(t, s, e.pat, "create", "C", None, ws, "HOPERAT", scen, True)
            else:
                self.ev(t, s, e.pat, "read", "R", None, ws, "HOPERAT", scen, True)
                t += rng.randint(10, 90) * 1000
                if rng.random() < 0.4:
                    self.ev(t, s, e.pat, "update", "U", None, ws, "HOPERAT", scen, True)
            t += rng.randint(20, 120) * 1000
            self.ev(t, s, e.pat, "create", "C", "Encounter/" + e.id, ws, "HOPERAT", scen, True)
            if rng.random() < 0.5:
                t += rng.randint(20, 120) * 1000
                self.ev(t, s, e.pat, "create", "C", "Coverage/%x" % rng.getrandbits(40), ws, "HOPERAT", scen, True)

    def gen_coding(self):
        rng = self.rng
        kod = self.by_role.get("KOD", [])
        if not kod:
            return
        queue = []
        for e in self.encs:
            if e.cls not in ("IMP", "SS", "EMER"):
                continue
            if e.cls == "EMER" and rng.random() < 0.7:
                continue
            if e.end >= self.t_end:
                continue
            due = e.end + rng.randint(1, 12) * 86400000
            if due < self.t0:
                if rng.random() < 0.03:   # MD-Prüfung / insurer query on an old case
                    due = self.t0 + rng.randint(0, self.D - 1) * 86400000
                else:
                    continue
            if due >= self.t_end:
                continue
            queue.append((due, e))
        queue.sort(key=lambda x: (x[0], x[1].i))
        for due, e in queue:
            d = self.day_of(due)
            s = None
            for dd in range(d, self.D):
                working = [k for k in kod if k.blocks[dd]]
                if working:
                    s = rng.choice(working)
                    a, b, _ = s.blocks[dd][0]
                    break
            if s is None:
                continue
            t = a + rng.randint(0, max(1, (b - a) // 1000 - 1800)) * 1000
            scen = "coding_after_death" if e.pat.deceased is not None else "coding_billing"
            ws = None
            if (dd + s.i) % 5 in (1, 3):  # two Homeoffice days a week via the hospital VPN
                ws = s.ws[-1]
                scen += "_homeoffice"
            self.session(t, s, e.pat, scen, rng.randint(5, 14), "kod", purpose="HPAYMT", gap=(15, 150), ws=ws)

    def gen_postcare(self):
        """Discharge letters after discharge, death documentation (Leichenschau, Totenschein), autopsy."""
        rng = self.rng
        for e in self.encs:
            if e.cls != "IMP" or e.end >= self.t_end or e.end < self.t0 - 3 * 86400000:
                continue
            aa = [s for s, typ in e.parts if s.role == "AA"]
            if e.died:
                # Leichenschau by the on-call / attending physician within hours
                d = self.day_of(e.end)
                oc = self.oncall_of.get(e.klinik if e.klinik in self.oncall_of else "ANAE")
                cands = aa + ([oc[d]] if oc and 0 <= d < self.D else [])
                if cands:
                    s = rng.choice(cands)
                    t = e.end + rng.randint(20, 300) * 60000
                    self.session(t, s, e.pat, "death_documentation", rng.randint(3, 7), "phys")
                path = self.phys_of.get("PATH", [])
                if path and rng.random() < 0.35:
                    t = e.end + rng.randint(26, 70) * 3600000
                    tt = _dt.date.fromisoformat(local_date(t))
                    if tt.weekday() < 5:
                        self.session(t, rng.choice(path), e.pat, "autopsy", rng.randint(3, 6), "path")
                if aa:
                    t = e.end + rng.randint(1, 4) * 86400000
                    self.session(self.daytime(t), aa[0], e.pat, "discharge_letter", rng.randint(2, 5), "phys")
            elif aa and rng.random() < 0.5:
                t = e.end + rng.randint(1, 5) * 86400000
                self.session(self.daytime(t), aa[0], e.pat, "discharge_letter", rng.randint(2, 4), "phys")

    def daytime(self, t):
        dd = _dt.date.fromisoformat(local_date(t))
        while dd.weekday() >= 5:
            dd += _dt.timedelta(days=1)
        return local_to_utc(dd, self.rng.randint(480, 960))

    # ------------------------------------------------------------------ unexplained legit (0.5 %)
    def related(self, s, pt, t):
        """Is there anything in the context that explains access by s to pt around t?"""
        for e in pt.encs:
            if any(x is s for x, _ in e.parts):
                return True
            if e.org == s.org or e.klinik == s.klinik or (s.station and e.org == s.station):
                return True
        for ct in self.ct_of_pat.get(pt.i, []):
            if any(m is s for m in ct[2]):
                return True
        return False

    def personal_link(self, s, pt):
        p, q = s.p, pt.p
        if p is q:
            return True
        if p.hh is q.hh:
            return True
        if p.hh.street == q.hh.street and p.hh.city == q.hh.city:
            return True
        if translit(p.family).lower().split("-")[0] == translit(q.family).lower().split("-")[0]:
            return True
        if pt.staff is not None and (pt.staff.org == s.org or pt.staff.klinik == s.klinik):
            return True
        return False

    def gen_unexplained(self):
        rng = self.rng
        legit = len(self.events)
        target = int(legit * 0.005)
        clinical = [s for s in self.staff if s.role in ("PFK", "STL", "AA", "OA", "SEK")]
        made = 0
        guard = 0
        while made < target and guard < 20000:
            guard += 1
            s = rng.choice(clinical)
            d = rng.randrange(self.D)
            if not s.blocks[d]:
                continue
            a, b, k = s.blocks[d][0]
            pool = self.active(self.day_encs[d], a, b)
            pool = [e for e in pool if e.cls in ("IMP", "EMER") and not e.pat.flags and not e.pat.deceased]
            if not pool:
                continue
            e = rng.choice(pool)
            if self.related(s, e.pat, a) or self.personal_link(s, e.pat):
                continue
            t = self.in_block(e, a, b)
            if t is None:
                continue
            if s.role in ("PFK", "STL"):
                scen = rng.choice(["phone_enquiry", "transfer_prep"])
            elif s.role == "SEK":
                scen = "covering_colleague"
            else:
                scen = "curbside_consult"
            n = rng.randint(1, 3) if scen != "curbside_consult" else rng.randint(2, 4)
            before = len(self.events)
            self.session(t, s, e.pat, scen, n, "nurse" if s.role in ("PFK", "STL") else "phys", expl=False)
            made += len(self.events) - before

    # ------------------------------------------------------------------ incidents
    def incident_days(self):
        return list(range(max(0, self.D - 4), self.D))

    def work_slot(self, s, days):
        opts = [(d, blk) for d in days for blk in s.blocks[d] if blk[2] != "BD" or True]
        if not opts:
            return None
        d, (a, b, k) = self.rng.choice(opts)
        lo = a + 30 * 60000
        hi = min(b, self.t_end) - 45 * 60000
        if hi <= lo:
            return None
        return d, lo + self.rng.randint(0, (hi - lo) // 1000) * 1000

    def person_address_city_i(self, hh):
        return self.hh_city[id(hh)]

    def make_target_enc(self, pt, avoid_klinik, t_ref, cls=None):
        """Give an incident target patient a plausible encounter in some other Klinik."""
        rng = self.rng
        kls = [k[0] for k in KLINIKEN if k[0] != avoid_klinik and k[0] not in ("KIND", "PSY", "FRAU")]
        kl = rng.choice(kls)
        if cls == "AMB" or (cls is None and rng.random() < 0.5):
            st = t_ref - rng.randint(1, 8) * 86400000 - rng.randint(0, 6) * 3600000
            st = self.daytime(st)
            if st >= t_ref:
                st = t_ref - 2 * 86400000
            return self.new_enc(pt, "AMB", self.amb[kl], st, st + rng.randint(40, 150) * 60000,
                                [(self.pick_participant(kl, None, ("OA", "AA")), "ATND")])
        ward = rng.choice(self.wards[kl])
        st = t_ref - rng.randint(1, 5) * 86400000
        return self.new_enc(pt, "IMP", ward, st, st + rng.randint(3, 9) * 86400000,
                            [(self.pick_participant(kl, ward), "ATND"), (self.pick_participant(kl, None, ("OA",)), "ATND")])

    def plan_incidents(self):
        """Choose insiders and targets (creating target patients where needed) before legit events are drawn,
        so that targets also receive their ordinary care-team accesses."""
        rng = self.rng
        k = self.a.incidents_per_kind
        days = self.incident_days()
        self.incidents = []
        used_users = []
        all_users = [s for s in self.staff if s.role not in ("DSB",)]

        def pick_user(roles=None, need_work=True):
            for _ in range(500):
                s = rng.choice(all_users)
                if roles and s.role not in roles:
                    continue
                if s in used_users:
                    continue
                if need_work:
                    slot = self.work_slot(s, days)
                    if slot is None:
                        continue
                else:
                    slot = (rng.choice(days), None)
                used_users.append(s)
                return s, slot
            return None, None

        n_inc = 0
        for kind in KINDS:
            for j in range(k):
                n_inc += 1
                iid = "INC-%03d" % n_inc
                variant = None
                if kind == "SELF":
                    s, slot = pick_user()
                    if s is None:
                        continue
                    pt = s.p.patient or self.add_patient(s.p)
                    t = slot[1]
                    if not [e for e in pt.encs if e.start < t and e.klinik != s.klinik]:
                        self.make_target_enc(pt, s.klinik, t)
                    variant = rng.choice(["glance", "lab_results", "own_letters"])
                    why = "%s (%s) opens own patient record %s" % (s.login, s.role, pt.id)
                    targets = [pt]
                elif kind == "FAMILY":
                    s, slot = pick_user()
                    if s is None:
                        continue
                    t = slot[1]
                    variant = rng.choice(["spouse_same_address", "child_same_address", "parent_same_surname", "double_name_in_law"])
                    hh = s.p.hh
                    rel = [m for m in hh.members if m is not s.p and m.staff is None]
                    if variant == "parent_same_surname" or not rel:
                        # parent living elsewhere, same surname
                        h2 = self.new_household()
                        h2.family = s.p.family.split("-")[0]
                        h2.origin = s.p.origin
                        g = rng.choice("mf")
                        rp = self.new_person(h2, g, min(95, self.age(s.p) + rng.randint(24, 34)), h2.family, h2.origin)
                        rp.family = s.p.family.split("-")[0] if g == "m" or s.p.origin not in ("pl", "ru") else rp.family
                        variant = "parent_same_surname"
                    elif variant == "double_name_in_law":
                        rp = self.new_person(hh, rng.choice("mf"), max(19, self.age(s.p) + rng.randint(-8, 30)),
                                             s.p.family.split("-")[0] + "-" + self.surname(s.p.origin).split(" ")[-1], s.p.origin)
                    else:
                        rp = rng.choice(rel)
                        variant = "spouse_same_address" if abs(self.age(rp) - self.age(s.p)) < 15 else "child_or_parent_same_address"
                    pt = rp.patient or self.add_patient(rp)
                    if not [e for e in pt.encs if e.start < t and e.end > t - 10 * 86400000]:
                        self.make_target_enc(pt, s.klinik, t)
                    why = "%s looks up relative %s %s (%s)" % (s.login, rp.given[0], rp.family, variant)
                    targets = [pt]
                elif kind == "NEIGHBOR":
                    s, slot = pick_user()
                    if s is None:
                        continue
                    t = slot[1]
                    hh = s.p.hh
                    ci = self.hh_city[id(hh)]
                    variant = rng.choice(["same_building", "same_street", "same_street"])
                    if variant == "same_building":
                        nh = self.new_household(ci, building=(hh.street, hh.no, hh.plz))
                    else:
                        nh = self.new_household(ci, street=hh.street)
                    while nh.family.split("-")[0] == s.p.family.split("-")[0]:
                        nh.family = self.surname(nh.origin)
                    self.fill_household(nh, "couple")
                    rp = rng.choice(nh.members)
                    pt = self.add_patient(rp)
                    self.make_target_enc(pt, s.klinik, t)
                    why = "%s looks at neighbour %s %s, %s %s" % (s.login, rp.given[0], rp.family, nh.street, nh.no)
                    targets = [pt]
                elif kind == "COWORKER":
                    s, slot = pick_user()
                    if s is None:
                        continue
                    t = slot[1]
                    cols = [c for c in self.staff if c is not s and (c.org == s.org or (c.klinik == s.klinik and c.station == s.station))]
                    if not cols:
                        cols = [c for c in self.staff if c is not s and c.klinik == s.klinik]
                    if not cols:
                        used_users.remove(s)
                        continue
                    c = rng.choice(cols)
                    pt = c.p.patient or self.add_patient(c.p)
                    if not [e for e in pt.encs if e.start < t and e.end > t - 10 * 86400000 and e.klinik != s.klinik]:
                        self.make_target_enc(pt, s.klinik, t)
                    variant = rng.choice(["glance", "items", "repeated"])
                    why = "%s looks at colleague %s (%s, same department) treated elsewhere" % (s.login, c.login, c.role)
                    targets = [pt]
                elif kind == "VIP":
                    s, slot = pick_user()
                    if s is None:
                        continue
                    t = slot[1]
                    vips = [p for p in self.patients if p.vip and any(e.org == "PRIV" and e.start < t for e in p.encs)
                            and not self.related(s, p, t)]
                    if not vips:
                        used_users.remove(s)
                        continue
                    pt = rng.choice(vips)
                    variant = rng.choice(["glance", "items", "session"])
                    why = "%s (%s) views celebrity patient %s on the Privatstation" % (s.login, s.klinik, pt.id)
                    targets = [pt]
                elif kind == "DECEASED":
                    s, slot = pick_user(roles=("PFK", "STL", "AA", "OA", "SEK", "MTL", "MTR", "PHY", "PAU", "IT", "APO"))
                    if s is None:
                        continue
                    t = slot[1]
                    dead = [p for p in self.patients if p.deceased and t - 6 * 86400000 < p.deceased < t - 3600000
                            and not self.related(s, p, t) and not self.personal_link(s, p)]
                    if dead:
                        pt = rng.choice(dead)
                    else:
                        hh = self.new_household()
                        self.fill_household(hh, "single")
                        pt = self.add_patient(hh.members[0])
                        e = self.make_target_enc(pt, s.klinik, t, cls="IMP")
                        e.end = t - rng.randint(10, 60) * 3600000
                        e.start = min(e.start, e.end - rng.randint(2, 6) * 86400000)
                        e.died = True
                        pt.deceased = e.end
                    variant = rng.choice(["glance", "items"])
                    why = "%s opens record of deceased patient %s without involvement" % (s.login, pt.id)
                    targets = [pt]
                elif kind == "SNOOPING":
                    s, slot = pick_user()
                    if s is None:
                        continue
                    t = slot[1]
                    variant = rng.choice(["glance", "items", "browse", "name_search"])
                    cand = [e.pat for e in self.day_encs[min(self.D - 1, max(0, self.day_of(t)))]
                            if e.start < t and not e.pat.flags and not self.related(s, e.pat, t)
                            and not self.personal_link(s, e.pat) and not e.pat.deceased]
                    uniq = []
                    for p in cand:
                        if p not in uniq:
                            uniq.append(p)
                    if not uniq:
                        used_users.remove(s)
                        continue
                    n = rng.randint(10, 22) if variant == "browse" else 1
                    targets = rng.sample(uniq, min(n, len(uniq)))
                    why = "%s browses %d unrelated patient record(s) (%s)" % (s.login, len(targets), variant)
                elif kind == "BREAK_GLASS":
                    s, slot = pick_user(roles=("PFK", "AA", "OA", "STL", "SEK", "MTL", "PHY"))
                    if s is None:
                        continue
                    t = slot[1]
                    rs = [p for p in self.patients if ("R" in p.flags or "V" in p.flags) and
                          any(e.start < t for e in p.encs) and not self.related(s, p, t) and not p.deceased]
                    if not rs:
                        used_users.remove(s)
                        continue
                    pt = rng.choice(rs)
                    variant = rng.choice(["single", "repeated"])
                    why = "%s invokes Notfallzugriff on restricted patient %s without emergency" % (s.login, pt.id)
                    targets = [pt]
                else:  # COMPROMISED
                    s, slot = pick_user(need_work=False)
                    if s is None:
                        continue
                    d = slot[0]
                    for _ in range(10):
                        if not any(blk[2] in ("N", "N12", "BD") for blk in s.blocks[d]) and not (
                                d > 0 and any(blk[2] in ("N", "N12", "BD") for blk in s.blocks[d - 1])):
                            break
                        d = rng.choice(days)
                    variant = rng.choice(["night_external_ip", "export_external_ip", "vpn_daytime_bulk"])
                    if variant == "vpn_daytime_bulk":
                        t = self.lt(d, rng.randint(600, 900))
                    else:
                        t = self.lt(d, rng.randint(75, 250))  # 01:15 - 04:10
                    # avoid the user's own shift
                    slot = (d, t)
                    pool = []
                    for e in self.day_encs[d]:
                        if e.pat not in pool and not e.pat.deceased:
                            pool.append(e.pat)
                    targets = rng.sample(pool, min(len(pool), rng.randint(35, 90)))
                    why = "account %s used from %s (%s), reading %d records" % (s.login, "external IP", variant, len(targets))
                if kind == "SNOOPING":
                    exp = ["NO_RELATIONSHIP"] + (["BULK"] if variant == "browse" else [])
                elif kind == "COMPROMISED":
                    exp = {"night_external_ip": ["UNUSUAL_LOCATION", "UNUSUAL_TIME", "BULK"],
                           "export_external_ip": ["UNUSUAL_LOCATION", "UNUSUAL_TIME", "BULK"],
                           "vpn_daytime_bulk": ["UNUSUAL_LOCATION", "BULK"]}[variant]
                else:
                    exp = [kind]
                self.incidents.append(dict(id=iid, kind=kind, variant=variant, user=s, t=slot[1], day=slot[0],
                                           targets=targets, why=why, exp=exp))

    def gen_incidents(self):
        rng = self.rng
        ri = rng.randint
        for inc in self.incidents:
            s, t, kind, v = inc["user"], inc["t"], inc["kind"], inc["variant"]
            info = (inc["id"], kind, v, inc["exp"], inc["why"])
            sc = "incident_" + kind.lower()
            style = "phys" if s.role in PHYS else "nurse"
            if kind == "COMPROMISED":
                ip = "%d.%d.%d.%d" % (rng.choice([185, 91, 45, 193, 141]), ri(1, 254), ri(1, 254), ri(2, 254))
                if v == "vpn_daytime_bulk":
                    ip = "172.31.%d.%d" % (ri(1, 254), ri(2, 254))
                pur = rng.choice(["TREAT", None])
                if v == "export_external_ip":
                    for pt in inc["targets"][:6]:
                        t += ri(0, 999)
                        self.ev(t, s, pt, "$everything", "E", None, ip, pur, sc, False, info)
                        t += ri(2, 9) * 1000
                    for pt in inc["targets"][6:]:
                        self.ev(t, s, pt, "$export", "E", None, ip, pur, sc, False, info)
                        t += ri(1, 4) * 1000 + ri(0, 999)
                else:
                    for pt in inc["targets"]:
                        t = self.session(t, s, pt, sc, ri(1, 3), style, purpose=pur, ws=ip, expl=False, inc=info,
                                         gap=(1, 6)) + ri(3, 25) * 1000
                continue
            pur = "TREAT"
            if kind == "BREAK_GLASS":
                pur = "BTG"
            ws = rng.choice(s.ws)
            if kind == "SNOOPING" and v == "browse":
                for pt in inc["targets"]:
                    t = self.session(t, s, pt, sc, ri(1, 3), style, purpose=pur, ws=ws, expl=False, inc=info,
                                     gap=(4, 30)) + ri(10, 90) * 1000
                continue
            pt = inc["targets"][0]
            if v in ("glance", "single"):
                n, reps = ri(1, 2), 1
            elif v in ("repeated",):
                n, reps = ri(2, 3), ri(2, 3)
            elif v == "session":
                n, reps = ri(8, 15), 1
            else:
                n, reps = ri(3, 7), 1
            for r_ in range(reps):
                self.session(t, s, pt, sc, n, style, purpose=pur, ws=ws, expl=False, inc=info,
                             first="search" if v == "name_search" else "read")
                t += ri(40, 180) * 60000

    # ------------------------------------------------------------------ output
    def render_name(self, p, translit_, upper_, pat):
        fam = p.family
        giv = list(p.given)
        if translit_:
            fam = translit(fam)
            giv = [translit(g) for g in giv]
        if upper_:
            fam = fam.upper()
        n = {"use": "official", "family": fam, "given": giv}
        if p.prefix:
            n["prefix"] = [p.prefix]
        if fam.startswith("von ") or fam.startswith("zu ") or " zu " in fam:
            n["text"] = " ".join(giv) + " " + fam
        return n

    def render_addr(self, hh, translit_, abbrev, care_of=None):
        street = hh.street
        if abbrev:
            street = street.replace("straße", "str.").replace("Straße", "Str.")
        line1 = "%s %s" % (street, hh.no)
        city = hh.city
        if translit_:
            line1 = translit(line1)
            city = translit(city)
        lines = []
        if care_of:
            lines.append(care_of)
        lines.append(line1)
        if hh.extra:
            lines.append(hh.extra)
        return {"use": "home", "type": "both", "line": lines, "city": city, "postalCode": hh.plz, "country": "DE"}

    def write_context(self, out):
        rng = self.rng
        cdir = os.path.join(out, "context")
        os.makedirs(cdir, exist_ok=True)
        J = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))
        with open(os.path.join(cdir, "Organization.ndjson"), "w", encoding="utf-8") as f:
            for i, (k, n, par, typ) in enumerate(self.orgs):
                o = {"resourceType": "Organization", "id": self.org_id(k),
                     "identifier": [{"system": ORG_SYS, "value": "KST-%04d" % (1000 + i * 13)}], "active": True,
                     "type": [{"coding": [{"system": "https://fhir.ukmh.example.de/CodeSystem/org-typ", "code": typ}]}],
                     "name": n}
                if par:
                    o["partOf"] = {"reference": "Organization/" + self.org_id(par)}
                f.write(J(o) + "\n")
        with open(os.path.join(cdir, "Practitioner.ndjson"), "w", encoding="utf-8") as f, \
                open(os.path.join(cdir, "PractitionerRole.ndjson"), "w", encoding="utf-8") as g:
            for s in self.staff:
                p = s.p
                tr = rng.random() < 0.25  # HR system (SAP) sometimes stores without umlauts
                ident = [{"system": PERS_SYS, "value": s.persno}, {"use": "usual", "system": LOGIN_SYS, "value": s.login}]
                if s.role in PHYS:
                    ident.append({"system": "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR", "value": "%09d" % rng.randint(100000000, 999999999)})
                o = {"resourceType": "Practitioner", "id": s.id, "identifier": ident, "active": True,
                     "name": [self.render_name(p, tr, False, False)],
                     "telecom": [{"system": "phone", "value": "0641 985-%05d" % rng.randint(10000, 99999), "use": "work"}],
                     "address": [self.render_addr(p.hh, tr, rng.random() < 0.3)],
                     "gender": "female" if p.gender == "f" else "male", "birthDate": p.birth.isoformat()}
                f.write(J(o) + "\n")
                disp, hl7 = ROLE_INFO[s.role]
                codings = [{"system": ROLE_SYS, "code": s.role, "display": disp}]
                if hl7:
                    codings.append({"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": hl7})
                pr = {"resourceType": "PractitionerRole", "id": "rolle-%s-1" % s.persno, "active": True,
                      "practitioner": {"reference": "Practitioner/" + s.id},
                      "organization": {"reference": "Organization/" + self.org_id(s.org)},
                      "code": [{"coding": codings}]}
                g.write(J(pr) + "\n")
                if s.role == "AA" and s.station:
                    pr2 = {"resourceType": "PractitionerRole", "id": "rolle-%s-2" % s.persno, "active": True,
                           "practitioner": {"reference": "Practitioner/" + s.id},
                           "organization": {"reference": "Organization/" + self.org_id(s.station)},
                           "code": [{"coding": codings}]}
                    g.write(J(pr2) + "\n")
        with open(os.path.join(cdir, "Patient.ndjson"), "w", encoding="utf-8") as f:
            for pt in self.patients:
                p = pt.p
                tr, ab, up = pt.nameform
                ident = [{"use": "usual", "system": PID_SYS, "value": pt.id[4:]}]
                if not pt.unknown:
                    kv = "%s%09d" % (chr(65 + rng.randrange(26)), rng.randint(0, 999999999))
                    ident.append({"system": "http://fhir.de/sid/pkv/kvid-10" if pt.privat else "http://fhir.de/sid/gkv/kvid-10",
                                  "value": kv})
                o = {"resourceType": "Patient", "id": pt.id}
                sec = []
                for fl in pt.flags:
                    sec.append({"system": CONF if fl in ("R", "V", "N") else ACTCODE, "code": fl})
                if sec:
                    o["meta"] = {"security": sec}
                o["identifier"] = ident
                o["active"] = True
                o["name"] = [self.render_name(p, tr, up, True)]
                o["gender"] = "female" if p.gender == "f" else "male"
                if pt.unknown:
                    o["gender"] = "unknown"
                    o["birthDate"] = "1900-01-01"
                else:
                    o["birthDate"] = p.birth.isoformat()
                if pt.deceased is not None and pt.deceased < self.t_end:
                    o["deceasedDateTime"] = fmt_ts(pt.deceased)[:19] + fmt_ts(pt.deceased)[23:]
                if not pt.unknown:
                    co = None
                    if rng.random() < 0.02:
                        co = "c/o " + self.surname("de")
                    o["address"] = [self.render_addr(p.hh, tr, ab, co)]
                else:
                    o["address"] = [{"use": "temp", "line": ["unbekannt"], "city": "unbekannt", "postalCode": "00000"}]
                f.write(J(o) + "\n")
        with open(os.path.join(cdir, "Encounter.ndjson"), "w", encoding="utf-8") as f:
            for e in self.encs:
                if e.start >= self.t_end:
                    continue
                done = e.end <= self.t_end
                o = {"resourceType": "Encounter", "id": e.id,
                     "identifier": [{"system": FALL_SYS, "value": str(e.fallnr)}],
                     "status": "finished" if done else "in-progress",
                     "class": {"system": ACTCODE, "code": e.cls},
                     "subject": {"reference": "Patient/" + e.pat.id},
                     "participant": [{"type": [{"coding": [{"system": PTYPE, "code": typ}]}],
                                      "individual": {"reference": "Practitioner/" + s.id}} for s, typ in e.parts],
                     "period": {"start": fmt_ts(e.start)[:19] + fmt_ts(e.start)[23:]},
                     "serviceProvider": {"reference": "Organization/" + self.org_id(e.org)}}
                if done:
                    o["period"]["end"] = fmt_ts(e.end)[:19] + fmt_ts(e.end)[23:]
                if e.died and done:
                    o["hospitalization"] = {"dischargeDisposition": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "exp"}]}}
                f.write(J(o) + "\n")
        with open(os.path.join(cdir, "CareTeam.ndjson"), "w", encoding="utf-8") as f:
            for cid, pt, members, a, b in self.careteams:
                o = {"resourceType": "CareTeam", "id": cid, "status": "active", "name": "Interdisziplinäre Tumorkonferenz",
                     "subject": {"reference": "Patient/" + pt.id},
                     "participant": [{"member": {"reference": "Practitioner/" + m.id}} for m in members],
                     "period": {"start": fmt_ts(a)[:10], "end": fmt_ts(b)[:10]}}
                f.write(J(o) + "\n")

    def write_events(self, out):
        rng = self.rng
        self.events.sort(key=lambda x: (x[0], x[1]))
        J = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))
        ids = set()
        fa = open(os.path.join(out, "AuditEvent.ndjson"), "w", encoding="utf-8")
        fl = open(os.path.join(out, "labels.ndjson"), "w", encoding="utf-8")
        ft = open(os.path.join(out, "truth.ndjson"), "w", encoding="utf-8")
        bufa, bufl, buft = [], [], []
        org_disp = {}
        for (t, seq, s, pt, sub, act, ref, ws, pur, outc, scen, expl, inc) in self.events:
            while True:
                h = "%032x" % rng.getrandbits(128)
                eid = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
                if eid not in ids:
                    ids.add(eid)
                    break
            agent = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                     "who": {"identifier": {"system": LOGIN_SYS, "value": s.login}},
                     "requestor": True,
                     "network": {"address": ws, "type": "2" if ws[0].isdigit() else "1"}}
            if pur:
                agent["purposeOfUse"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": pur}]}]
            ent = [{"what": {"reference": "Patient/" + pt.id},
                    "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                    "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}}]
            if ref:
                ent.append({"what": {"reference": ref},
                            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"},
                            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4"}})
            if pur == "BTG":
                ent[0]["detail"] = [{"type": "Notfallzugriff-Begruendung", "valueString": "Notfall"}]
            o = {"resourceType": "AuditEvent", "id": eid,
                 "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
                 "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": sub}],
                 "action": act, "recorded": fmt_ts(t), "outcome": outc,
                 "agent": [agent, {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153"}]},
                                   "who": {"display": "KIS UKMH"}, "requestor": False,
                                   "network": {"address": "kis-app01.ukmh.local", "type": "1"}}],
                 "source": {"site": "UKMH", "observer": {"display": "KIS UKMH"}},
                 "entity": ent}
            bufa.append(J(o))
            lab = {"id": eid, "case": "%s|%s" % (s.login, local_date(t))}
            tr = {"id": eid, "scenario": scen, "role": s.role, "department": s.org, "explained": expl}
            if inc:
                lab["incident"] = inc[0]
                lab["kind"] = inc[1]
                lab["expected_reasons"] = inc[3]
                tr["incident"] = inc[0]
                tr["variant"] = inc[2]
                tr["why"] = inc[4]
            bufl.append(J(lab))
            buft.append(J(tr))
            if len(bufa) >= 20000:
                fa.write("\n".join(bufa) + "\n")
                fl.write("\n".join(bufl) + "\n")
                ft.write("\n".join(buft) + "\n")
                bufa, bufl, buft = [], [], []
        if bufa:
            fa.write("\n".join(bufa) + "\n")
            fl.write("\n".join(bufl) + "\n")
            ft.write("\n".join(buft) + "\n")
        fa.close()
        fl.close()
        ft.close()

    def stats(self):
        cnt = {}
        expl = {}
        for e in self.events:
            cnt[e[10]] = cnt.get(e[10], 0) + 1
            if not e[11]:
                expl[e[10]] = expl.get(e[10], 0) + 1
        tot = len(self.events)
        lines = ["| scenario | events | share | explained=false |", "|---|---:|---:|---:|"]
        for k in sorted(cnt, key=lambda x: (-cnt[x], x)):
            lines.append("| %s | %d | %.2f%% | %d |" % (k, cnt[k], 100.0 * cnt[k] / tot, expl.get(k, 0)))
        lines.append("| **total** | %d | 100%% | %d |" % (tot, sum(expl.values())))
        inc_ev = {}
        for e in self.events:
            if e[12]:
                inc_ev[e[12][0]] = inc_ev.get(e[12][0], 0) + 1
        lines.append("")
        lines.append("| incident | kind | variant | user role | events | expected_reasons |")
        lines.append("|---|---|---|---|---:|---|")
        for inc in self.incidents:
            lines.append("| %s | %s | %s | %s | %d | %s |" % (inc["id"], inc["kind"], inc["variant"], inc["user"].role,
                                                       inc_ev.get(inc["id"], 0), ",".join(inc["exp"])))
        lines.append("")
        lines.append("patients=%d practitioners=%d encounters=%d careteams=%d" % (
            len(self.patients), len(self.staff), len(self.encs), len(self.careteams)))
        return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--staff", type=int, default=400)
    ap.add_argument("--incidents-per-kind", type=int, default=2)
    ap.add_argument("--start", default="2025-10-13")
    ap.add_argument("--stats", action="store_true")
    args = ap.parse_args()
    t_start = time.time()
    rng = __import__("random").Random(args.seed)
    g = Gen(rng, args)
    g.build_orgs()
    g.build_population()
    g.build_staff()
    g.build_rota()
    g.build_patients()
    g.build_encounters()
    g.plan_incidents()
    # re-index encounters created for incident targets
    g.station_encs = {}
    for e in g.encs:
        g.station_encs.setdefault(e.org, []).append(e)
    g.day_encs = [[] for _ in range(g.D)]
    for e in g.encs:
        if e.end <= g.t0 or e.start >= g.t_end:
            continue
        for d in range(max(0, g.day_of(e.start) - 1), min(g.D - 1, g.day_of(e.end) + 1) + 1):
            g.day_encs[d].append(e)
    g.gen_legit()
    g.gen_unexplained()
    g.gen_incidents()
    os.makedirs(args.out, exist_ok=True)
    g.write_context(args.out)
    g.write_events(args.out)
    if args.stats:
        print(g.stats())
    print("wrote %d events to %s in %.1f s" % (len(g.events), args.out, time.time() - t_start), file=sys.stderr)


if __name__ == "__main__":
    main()
