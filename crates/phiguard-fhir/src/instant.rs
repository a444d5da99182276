//! FHIR `instant`, `dateTime` and `date` values as a compact point in time that remembers its
//! UTC offset, so that "3 a.m." means 3 a.m. where the event happened.

use time::format_description::well_known::Rfc3339;

/// Seconds in one day.
pub const DAY_SECS: i64 = 86_400;

/// A point in time: seconds since the Unix epoch (UTC) plus the offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// The UTC offset of the original text, in seconds (local = unix + offset).
    pub offset: i32,
}

impl Instant {
    /// Parses an RFC 3339 timestamp (`2026-03-01T03:12:00-05:00`, fractional seconds allowed).
    pub fn parse_instant(text: &str) -> Option<Instant> {
        let dt = time::OffsetDateTime::parse(text, &Rfc3339).ok()?;
        Some(Instant {
            unix: dt.unix_timestamp(),
            offset: dt.offset().whole_seconds(),
        })
    }

    /// Parses a FHIR `dateTime`: a full RFC 3339 timestamp, or a date (`YYYY`, `YYYY-MM`,
    /// `YYYY-MM-DD`) taken as the start of that period in UTC.
    pub fn parse_date_time(text: &str) -> Option<Instant> {
        if text.len() > 10 {
            return Instant::parse_instant(text);
        }
        let (y, m, d) = parse_partial_date(text)?;
        let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
        Some(Instant {
            unix: date.midnight().assume_utc().unix_timestamp(),
            offset: 0,
        })
    }

    /// Seconds since the epoch on the local wall clock.
    pub fn local_secs(&self) -> i64 {
        self.unix + i64::from(self.offset)
    }

    /// Local hour of day, 0..=23.
    pub fn local_hour(&self) -> u8 {
        // rem_euclid keeps the result in 0..DAY_SECS, so the division fits in u8.
        (self.local_secs().rem_euclid(DAY_SECS) / 3600) as u8
    }

    /// Local calendar day as days since 1970-01-01.
    pub fn local_day(&self) -> i64 {
        self.local_secs().div_euclid(DAY_SECS)
    }

    /// Local wall-clock time as `HH:MM`.
    pub fn local_clock(&self) -> String {
        let s = self.local_secs().rem_euclid(DAY_SECS);
        format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
    }

    /// Local calendar day as `YYYY-MM-DD`.
    pub fn local_date_string(&self) -> String {
        day_to_string(self.local_day())
    }
}

/// Formats days since 1970-01-01 as `YYYY-MM-DD`.
pub fn day_to_string(day: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(DAY_SECS)) {
        Ok(dt) => format!(
            "{:04}-{:02}-{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day()
        ),
        Err(_) => format!("day{day}"),
    }
}

/// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; missing parts default to the first.
pub fn parse_partial_date(text: &str) -> Option<(i32, u8, u8)> {
    let mut parts = text.split('-');
    let y: i32 = parse_digits(parts.next()?, 4)?;
    let m: u8 = match parts.next() {
        Some(p) => parse_digits(p, 2)?,
        None => 1,
    };
    let d: u8 = match parts.next() {
        Some(p) => parse_digits(p, 2)?,
        None => 1,
    };
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some((y, m, d))
}

fn parse_digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instant_keeps_local_hour() {
        let t = Instant::parse_instant("2026-03-01T03:12:00-05:00").unwrap();
        assert_eq!(t.local_hour(), 3);
        assert_eq!(t.offset, -5 * 3600);
        assert_eq!(t.local_date_string(), "2026-03-01");
        assert_eq!(t.local_clock(), "03:12");
        let utc = Instant::parse_instant("2026-03-01T08:12:00Z").unwrap();
        assert_eq!(utc.unix, t.unix);
    }

    #[test]
    fn fractional_seconds_and_dates() {
        assert!(Instant::parse_instant("2026-03-01T03:12:00.123+01:00").is_some());
        let d = Instant::parse_date_time("2020-02-29").unwrap();
        assert_eq!(d.local_date_string(), "2020-02-29");
        assert_eq!(
            Instant::parse_date_time("2020")
                .unwrap()
                .local_date_string(),
            "2020-01-01"
        );
        assert!(Instant::parse_date_time("2020-13-01").is_none());
        assert!(Instant::parse_date_time("not a date").is_none());
        assert!(Instant::parse_instant("2026-03-01 03:12:00").is_none());
    }

    #[test]
    fn negative_days_are_euclidean() {
        let t = Instant::parse_instant("1969-12-31T23:00:00Z").unwrap();
        assert_eq!(t.local_hour(), 23);
        assert_eq!(t.local_day(), -1);
    }
}
