"""Shared helpers: local time zone (Europe/Paris rules), ids, weighted choice."""
import datetime as dt

ONE_DAY = dt.timedelta(days=1)


def _last_sunday(year, month):
    d = dt.date(year, month, 31)
    while d.weekday() != 6:
        d -= ONE_DAY
    return d


def dst_bounds(year):
    """Local naive datetimes where summer time starts (02:00 -> 03:00) and ends."""
    s = _last_sunday(year, 3)
    e = _last_sunday(year, 10)
    return dt.datetime(s.year, s.month, s.day, 2, 0), dt.datetime(e.year, e.month, e.day, 3, 0)


def normalise_local(t):
    """Shift a naive local time that falls in the spring-forward gap by one hour."""
    s, _ = dst_bounds(t.year)
    if s <= t < s + dt.timedelta(hours=1):
        return t + dt.timedelta(hours=1)
    return t


def offset_hours(t):
    s, e = dst_bounds(t.year)
    return 2 if s <= t < e else 1


def iso_local(t, millis=True):
    """RFC 3339 string with the explicit Europe/Paris offset valid at local time t."""
    t = normalise_local(t)
    off = offset_hours(t)
    if millis:
        base = t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d" % (t.microsecond // 1000)
    else:
        base = t.strftime("%Y-%m-%dT%H:%M:%S")
    return base + "+%02d:00" % off


def utc_key(t):
    """Sortable UTC instant (microseconds since epoch) for a naive local time."""
    t = normalise_local(t)
    u = t - dt.timedelta(hours=offset_hours(t))
    return int((u - dt.datetime(1970, 1, 1)).total_seconds() * 1000000)


def local_date(t):
    return normalise_local(t).date()


def uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) % 4] + h[17:20], h[20:32])


def wchoice(rng, items, weights):
    """Deterministic weighted choice over a list (never over a set)."""
    total = 0.0
    for w in weights:
        total += w
    x = rng.random() * total
    acc = 0.0
    for it, w in zip(items, weights):
        acc += w
        if x < acc:
            return it
    return items[-1]


def at(day, hour, minute=0, second=0):
    """Naive local datetime from a date plus a possibly fractional/overflowing hour."""
    base = dt.datetime(day.year, day.month, day.day)
    return base + dt.timedelta(hours=hour, minutes=minute, seconds=second)


class Clock:
    def __init__(self, start, days, history_days=100):
        self.start = start
        self.days = days
        self.end = start + dt.timedelta(days=days)  # exclusive
        self.history_start = start - dt.timedelta(days=history_days)
        self.day_list = [start + dt.timedelta(days=i) for i in range(days)]
        self.export_time = dt.datetime(self.end.year, self.end.month, self.end.day) - dt.timedelta(seconds=1)

    def first_incident_day_index(self):
        import math
        return max(0, self.days - max(1, int(math.ceil(self.days * 0.30))))
