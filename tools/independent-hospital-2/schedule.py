"""Rosters: who works when and where. 12-hour nursing shifts (days/nights), 8-hour
lab/imaging shifts, office hours for administrative staff, physician week days with
weekend rounds and home on-call, resident night duty, part-timers, leave and a float pool."""
import datetime as dt
from common import at, wchoice


class Shift:
    __slots__ = ("start", "end", "unit", "kind")

    def __init__(self, start, end, unit, kind):
        self.start, self.end, self.unit, self.kind = start, end, unit, kind

    def hours(self):
        return (self.end - self.start).total_seconds() / 3600.0


SHIFT_TIMES = {  # kind -> (start hour, duration hours)
    "D": (7.0, 12.0), "N": (19.0, 12.0), "M": (6.75, 8.0), "A": (13.75, 8.0), "NL": (21.5, 9.75),
    "ED_D": (8.5, 12.0), "ED_N": (20.5, 12.0), "G": (18.5, 14.0), "RD": (9.0, 4.0),
}


def _jitter(rng, t, minutes):
    return t + dt.timedelta(minutes=rng.uniform(-minutes, minutes))


class Roster:
    def __init__(self, rng, org, clock):
        self.rng, self.org, self.clock = rng, org, clock
        self._leave()
        self.count = {s.sid: 0 for s in org.staff}
        for i, day in enumerate(clock.day_list):
            self._day(i, day)
        self._assign_pool()
        self.on_call = {}  # (day index, dept code) -> physician on home call

    def _leave(self):
        rng = self.rng
        for s in self.org.staff:
            if rng.random() < 0.22:
                length = rng.randrange(5, 10)
                first = rng.randrange(-4, self.clock.days)
                s.leave = set(range(first, first + length))

    def _free(self, s, i):
        return i not in s.leave and i not in s.shifts

    def _add(self, s, i, start, hours, unit, kind):
        sh = Shift(start, start + dt.timedelta(hours=hours), unit, kind)
        s.shifts.setdefault(i, []).append(sh)
        self.count[s.sid] += 1
        return sh

    def _rotate(self, group, i, day, kinds, rate):
        """Fill shift kinds [(kind, share, pref letter)] from group using fairness ordering."""
        rng = self.rng
        cap = sum(s.fte for s in group) * rate
        for kind, share, letter in kinds:
            need = int(cap * share + rng.random())
            if need == 0 and kind in ("D", "ED_D", "M") and group:
                need = 1
            cands = []
            for s in group:
                if not self._free(s, i):
                    continue
                if letter not in s.pref and not (letter == "N" and s.pref == "D" and rng.random() < 0.05):
                    continue
                prev = s.shifts.get(i - 1, [])
                if kind in ("D", "ED_D", "M") and any(p.kind in ("N", "ED_N", "NL", "G") for p in prev):
                    continue
                if s.off_weekday is not None and day.weekday() == s.off_weekday and rng.random() < 0.7:
                    continue
                cands.append((self.count[s.sid] / s.fte + rng.random() * 0.9, s.sid, s))
            cands.sort(key=lambda c: (c[0], c[1]))
            h0, dur = SHIFT_TIMES[kind]
            for _, _, s in cands[:need]:
                self._add(s, i, _jitter(rng, at(day, h0), 12), dur + rng.uniform(-0.2, 0.5), s.unit, kind[-1] if kind.startswith("ED_") else kind)

    def _office(self, s, i, day, h0, dur):
        rng = self.rng
        if not self._free(s, i) or day.weekday() >= 5:
            return
        if s.off_weekday is not None and day.weekday() == s.off_weekday:
            return
        if s.fte == 0.5 and day.weekday() in (3, 4):
            return
        self._add(s, i, _jitter(rng, at(day, h0), 30), dur + rng.uniform(-0.7, 0.9), s.unit, "W")

    def _day(self, i, day):
        org, rng = self.org, self.rng
        weekend = day.weekday() >= 5
        for u in org.units:
            nursing = [s for s in u.staff if s.role in ("nurse", "nurse-assistant")]
            if u.kind in ("ward", "icu", "ed", "pool") and nursing:
                self._rotate(nursing, i, day, [("D", 0.58, "D"), ("N", 0.42, "N")], 0.47)
            elif nursing:
                for s in nursing:
                    self._office(s, i, day, 8.0, 8.5)
            techs = [s for s in u.staff if s.role in ("lab-technician", "radiographer")]
            if techs:
                rate = 0.45 if weekend else 0.7
                self._rotate(techs, i, day, [("M", 0.5, "D"), ("A", 0.32, "D"), ("NL", 0.18, "D")], rate)
            ed_desk = [s for s in u.staff if s.role == "registrar" and u.kind == "ed_desk"]
            if ed_desk:
                self._rotate(ed_desk, i, day, [("M", 0.42, "D"), ("A", 0.36, "D"), ("NL", 0.22, "D")], 0.68)
            if u.kind == "ed":
                docs = [s for s in u.staff if s.role in ("physician", "resident")]
                self._rotate(docs, i, day, [("ED_D", 0.6, "D"), ("ED_N", 0.4, "D")], 0.42)
        # residents on in-house night duty for the medical/surgical wards
        res = [s for s in org.staff if s.role == "resident" and s.unit.kind != "ed"]
        self._rotate(res, i, day, [("G", 2.0 / max(1, sum(r.fte for r in res)) / 0.5, "D")], 0.5)
        for d in org.depts:
            docs = [s for u in d.units for s in u.staff if s.role == "physician"]
            if d.code == "URG" or not docs:
                continue
            if weekend and d.kind == "clinical":
                self._rotate(docs, i, day, [("RD", 1.0 / max(1, sum(s.fte for s in docs)), "D")], 1.0)
        for s in org.staff:
            r = s.role
            if r in ("physician", "resident") and s.unit.kind != "ed":
                self._office(s, i, day, 8.6, 10.0)
            elif r in ("pharmacist", "physiotherapist", "social-worker", "billing-clerk", "medical-coder",
                       "roi-clerk", "research-coordinator", "medical-secretary"):
                self._office(s, i, day, 8.4 if r != "medical-secretary" else 8.1, 8.0)
            elif r == "registrar" and s.unit.kind == "admissions":
                self._office(s, i, day, 7.5 + rng.choice([0, 0, 1.5]), 8.0)
        if weekend:  # one pharmacist on duty in the morning
            ph = [s for s in org.staff if s.role == "pharmacist" and self._free(s, i)]
            if ph:
                s = ph[(i * 7) % len(ph)]
                self._add(s, i, at(day, 9.0), 5.0, s.unit, "RD")

    def _assign_pool(self):
        """Float-pool nurses go, shift by shift, to the ward that is the most short-staffed."""
        rng = self.rng
        wards = [u for u in self.org.units if u.kind in ("ward", "icu")]
        for i in range(self.clock.days):
            for kind in ("D", "N"):
                load = {}
                for u in wards:
                    n = sum(1 for s in u.staff if s.role == "nurse"
                            for sh in s.shifts.get(i, []) if sh.kind == kind)
                    load[u.code] = (n + rng.random() * 0.3) / (u.beds * (2.0 if u.kind == "icu" else 1.0))
                for s in self.org.staff:
                    if s.unit.kind != "pool":
                        continue
                    for sh in s.shifts.get(i, []):
                        if sh.kind == kind:
                            u = min(wards, key=lambda w: (load[w.code], w.code))
                            sh.unit = u
                            load[u.code] += 1.0 / (u.beds * (2.0 if u.kind == "icu" else 1.0))

    def working(self, i, pred=None):
        out = []
        for s in self.org.staff:
            for sh in s.shifts.get(i, []):
                if pred is None or pred(s, sh):
                    out.append((s, sh))
        return out

    def home_call(self, i, dept):
        """Physician of the department on home call the night of day i (rotation)."""
        docs = [s for u in dept.units for s in u.staff if s.role == "physician" and i not in s.leave]
        if not docs:
            return None
        return docs[(i * 3 + len(dept.code)) % len(docs)]
