//! Where an access comes from: the location level of its workstation or address (known to the
//! user, to their peers, to the hospital, or new), the evidence of that level for a stolen login
//! and an insider, and which departments' patients legitimate work opens at each place (a
//! workstation of the patient's treating department speaks for an access to another
//! department's patient).

use phiguard_fhir::AddressKind;

use super::{add_weight, log2, Monitor, LOCATION_LEVELS};
use crate::relation::Relation;
use crate::world::key;

/// P(location level | compromised account): mostly places never seen before.
const COMPROMISED_LOCATION: [f64; LOCATION_LEVELS] = [0.05, 0.05, 0.2, 0.7];
/// Legitimate-weighted accesses a place needs before it says which departments it serves
/// (and the hospital's accesses to other departments' patients before the place evidence counts).
const PLACE_MIN_HISTORY: f64 = 20.0;
/// A place serves a department once this many of its legitimate-weighted accesses were to the
/// department's patients ...
const PLACE_SERVED_MIN: f32 = 2.0;
/// ... and at least this share of them.
const PLACE_SERVED_SHARE: f32 = 0.02;
/// Most evidence the place takes off an access.
const PLACE_MAX_BITS: f64 = 4.0;

impl Monitor {
    /// Whether the place evidence applies to an access on this rung: a patient another
    /// department treats now, recently or soon, or one the user's colleagues work on.
    fn place_rung(rel: Relation) -> bool {
        matches!(
            rel,
            Relation::Team
                | Relation::OtherStarting
                | Relation::OtherCurrent
                | Relation::OtherRecent
        )
    }

    /// Whether a place is one this hospital's legitimate work uses for patients of department
    /// `d` (on earlier days): at least [`PLACE_SERVED_MIN`] legitimate-weighted accesses and
    /// [`PLACE_SERVED_SHARE`] of the place's. `None` while the place has too little history to
    /// say ([`PLACE_MIN_HISTORY`]).
    fn place_serves(&self, place: u64, d: u16) -> Option<bool> {
        let depts = self.place_depts.get(&place)?;
        let total: f32 = depts.iter().map(|(_, w)| w).sum();
        if f64::from(total) < PLACE_MIN_HISTORY {
            return None;
        }
        let w = depts.iter().find(|(k, _)| *k == d).map_or(0.0, |(_, w)| *w);
        Some(served(w, total))
    }

    /// Where this user usually works from serves department `d` for this share of their
    /// work (their places weighted by their legitimate accesses there; a place without enough
    /// history serves nothing yet). `None` until the user has [`PLACE_MIN_HISTORY`] such
    /// accesses.
    fn habitual_share(&self, uid: u32, d: u16) -> Option<f64> {
        let places = &self.users.get(uid as usize)?.places;
        let total: f64 = places.iter().map(|(_, w)| f64::from(*w)).sum();
        if total < PLACE_MIN_HISTORY {
            return None;
        }
        let hit: f64 = places
            .iter()
            .filter(|(p, _)| self.place_serves(*p, d) == Some(true))
            .map(|(_, w)| f64::from(*w))
            .sum();
        Some(hit / total)
    }

    /// The place observation of an access to another department's patient (see
    /// [`Monitor::place_bits`]): whether its place serves the patient's department, and how
    /// often the user's usual places do. `None` where it does not apply: another rung, no
    /// place or department, too little history, or usual places that mostly serve the
    /// department already (then where the user sits says nothing a department's reach does
    /// not: see [`Monitor::reach_bits`]).
    pub(super) fn place_observation(
        &self,
        uid: u32,
        rel: Relation,
        target: Option<u16>,
        place: Option<u64>,
    ) -> Option<(bool, f64)> {
        if !self.config.place_evidence || !Self::place_rung(rel) {
            return None;
        }
        let (d, place) = target.zip(place)?;
        let serves = self.place_serves(place, d)?;
        let habitual = self.habitual_share(uid, d)?;
        (habitual < 0.5).then_some((serves, habitual))
    }

    /// The workstation: is it one the hospital's legitimate work uses for the patient's
    /// department, when the user's usual places are not?
    ///
    /// Workstations stand somewhere. A resident covering another ward at night, a consultant
    /// at the bedside, a ward clerk booking a transfer open another department's patient on
    /// that department's computers; a snooper opens the neighbour's chart where they happen
    /// to sit, at their own desk or ward. The monitor learns which departments' patients each
    /// place serves (from the legitimately weighted accesses made there) and where each user
    /// usually works from. For an access to a patient of a department the user's usual places
    /// do not serve, under misuse the patient is picked without regard to where the user sits,
    /// so the place serves the department as often as the user's usual places do (`m`); under
    /// routine work, as often as this user's such work has come from a place serving the
    /// department (`r`: smoothed towards the peer group's, itself towards the hospital's). The
    /// evidence is `log2(m / r)`, at most 0, when the place serves: the user went to where
    /// the department's patients are. An insider who walks to the patient's ward to read the
    /// chart there takes at most [`PLACE_MAX_BITS`] off the link evidence; who the patient is
    /// to them (a VIP, a colleague, a neighbour) still counts in full.
    ///
    /// A place that does not serve the department counts for nothing either way, although
    /// `log2((1 - m) / (1 - r))` would count against the access: a consultant answering from
    /// their office desk sits where a snooper sits, and how often a user's legitimate work on
    /// other departments' patients is done away from their desk differs between users more
    /// than a few such accesses can show (measured, counted that side caught one incident more
    /// on one generator and cost precision on three: docs/monitor-results.md, session 15). A
    /// hospital whose workstations stand in departments rather than wards, or
    /// whose staff stay at their own desks, gets no place evidence at all; nor does an access
    /// from a place with too little history, or without one.
    pub(super) fn place_bits(&self, uid: u32, group: usize, obs: Option<(bool, f64)>) -> f64 {
        let Some((true, habitual)) = obs else {
            return 0.0;
        };
        let [hs, hn] = self.place_served_hospital;
        if hn < PLACE_MIN_HISTORY {
            return 0.0;
        }
        let r_h = (hs + 1.0) / (hn + 2.0);
        let [gs, gn] = self.place_served.get(group).copied().unwrap_or([0.0; 2]);
        let alpha = self.config.group_prior_strength;
        let r_g = (gs + alpha * r_h) / (gn + alpha);
        let [us, un] = self
            .users
            .get(uid as usize)
            .map_or([0.0; 2], |u| u.place_served);
        let beta = self.config.user_prior_strength;
        let r = ((us + beta * r_g) / (un + beta)).clamp(1e-3, 1.0 - 1e-3);
        let m = habitual.clamp(1e-3, 1.0 - 1e-3);
        log2(m / r).clamp(-PLACE_MAX_BITS, 0.0)
    }

    pub(super) fn absorb_todays_place_depts(&mut self) {
        for (place, today) in self.place_depts_today.drain() {
            let learned = self.place_depts.entry(place).or_default();
            for (d, w) in today {
                add_weight(learned, d, w);
            }
        }
    }

    pub(super) fn location_level(
        &self,
        uid: u32,
        group: usize,
        address: &str,
        kind: AddressKind,
        day: i64,
    ) -> (usize, [u64; 4]) {
        let a = key(address);
        let k_user = key(&(0u8, uid, a));
        let k_group = key(&(1u8, group, a));
        let k_host = key(&(2u8, a));
        let prefix = if kind == AddressKind::Ip {
            ip_prefix(address).map(|p| key(&(3u8, p)))
        } else {
            None
        };
        let known = |k: u64| self.seen_addresses.get(&k).is_some_and(|&(_, d)| d < day);
        let level = if known(k_user) {
            0
        } else if known(k_group) {
            1
        } else if known(k_host) || prefix.is_some_and(known) {
            2
        } else {
            3
        };
        (level, [k_user, k_group, k_host, prefix.unwrap_or(0)])
    }

    pub(super) fn location_bits(&self, uid: u32, group: usize, level: usize) -> f64 {
        let uniform = 1.0 / LOCATION_LEVELS as f64;
        let h = self
            .hospital
            .locations
            .smoothed(level, uniform, LOCATION_LEVELS as f64);
        let g = self.groups.get(group).map_or(h, |g| {
            g.locations
                .smoothed(level, h, self.config.group_prior_strength)
        });
        let p = self.users.get(uid as usize).map_or(g, |u| {
            u.profile
                .locations
                .smoothed(level, g, self.config.user_prior_strength)
        });
        let q = COMPROMISED_LOCATION.get(level).copied().unwrap_or(0.25);
        log2(q / p.max(1e-9)).clamp(-4.0, 8.0)
    }

    /// The day's location levels of the peer groups and the hospital join their habits (at the
    /// end of the hospital's day, like its flag rates).
    pub(super) fn absorb_todays_places(&mut self) {
        for (learned, today) in self
            .groups
            .iter_mut()
            .zip(self.group_places_today.iter_mut())
        {
            learned.locations.absorb(today);
        }
        self.hospital
            .locations
            .absorb(&mut self.hospital_places_today);
    }
}

/// Whether `w` of a place's `total` legitimate-weighted accesses make it serve a department.
fn served(w: f32, total: f32) -> bool {
    w >= PLACE_SERVED_MIN && w >= PLACE_SERVED_SHARE * total
}

/// The /24 (IPv4) or /48 (IPv6) prefix of an address.
fn ip_prefix(address: &str) -> Option<&str> {
    if address.contains(':') {
        let mut n = 0;
        for (i, c) in address.char_indices() {
            if c == ':' {
                n += 1;
                if n == 3 {
                    return address.get(..i);
                }
            }
        }
        None
    } else {
        address.rfind('.').and_then(|i| address.get(..i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(ip_prefix("10.1.2.3"), Some("10.1.2"));
        assert_eq!(ip_prefix("2001:db8:1:2::5"), Some("2001:db8:1"));
    }
}
