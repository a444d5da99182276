//! Identity and context flags (self, household, relative elsewhere, neighbour, colleague, VIP,
//! deceased, sensitive record, break-the-glass, unknown ids): what each is worth to a snooper,
//! the rate at which legitimate work meets it (learned per strength of link and peer group,
//! floored at the flag's prevalence among the patients), and the evidence that follows.

use super::{log2, Monitor};
use crate::exposure::{self, Exposures};
use crate::model::Rate;
use crate::reason::Reason;
use crate::relation::Relation;
use crate::world::World;

/// Identity and context flags with their probability under misuse (what snoopers target) and the
/// prior mean of their rate in legitimate work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flag {
    SelfAccess,
    Household,
    /// The user's surname, at another address (a relative living elsewhere, or a namesake).
    Kin,
    Neighbor,
    Coworker,
    /// A staff member of the user's own department: rarer in routine work than any employee.
    DeptColleague,
    Vip,
    /// Deceased beyond the grace period (`MonitorConfig::deceased_grace_secs`).
    Deceased,
    /// Deceased within the grace period: the certificate, the medical examiner, the mortuary
    /// and the bereavement office open these records, not the long dead's, so the two rates
    /// are learned apart.
    RecentlyDeceased,
    Sensitive,
    BreakGlass,
    UnknownUser,
    UnknownPatient,
}

pub(super) const FLAGS: usize = 13;
/// Lowest legitimate rate assumed for any flag (see `flag_bits`).
const FLAG_RATE_FLOOR: f64 = 1e-4;
/// Flag rates are learned per strength of link (direct, stream-learned, weak): a VIP's record is
/// opened legitimately mostly by the care team, so the VIP flag means more without a link.
pub(super) const STRATA: usize = 3;

pub(super) fn stratum(rel: Option<Relation>) -> usize {
    match rel {
        Some(r) if r.is_direct() => 0,
        Some(Relation::Prior) | Some(Relation::Team) => 1,
        _ => 2,
    }
}

impl Flag {
    /// P(flag | misuse): published insider-snooping cases concentrate on family, colleagues,
    /// famous people, neighbours and one's own record.
    pub(super) fn p_misuse(self) -> f64 {
        match self {
            Flag::SelfAccess => 0.05,
            Flag::Household => 0.10,
            // Parents, siblings and grown children who live elsewhere: fewer than the
            // household's, and a namesake is no relative at all.
            Flag::Kin => 0.05,
            Flag::Neighbor => 0.10,
            Flag::Coworker => 0.10,
            Flag::DeptColleague => 0.10,
            Flag::Vip => 0.10,
            Flag::Deceased => 0.03,
            Flag::RecentlyDeceased => 0.01,
            Flag::Sensitive => 0.10,
            Flag::BreakGlass => 0.10,
            Flag::UnknownUser => 0.05,
            Flag::UnknownPatient => 0.02,
        }
    }

    /// The coincidence whose base rate depends on the user (see `exposure.rs`), if any.
    pub(super) fn exposure(self) -> Option<exposure::Kind> {
        match self {
            Flag::Household => Some(exposure::Kind::Home),
            Flag::Kin => Some(exposure::Kind::Surname),
            Flag::Neighbor => Some(exposure::Kind::Street),
            Flag::DeptColleague => Some(exposure::Kind::DeptStaff),
            _ => None,
        }
    }

    pub(super) fn reason(self) -> Reason {
        match self {
            Flag::SelfAccess => Reason::SelfAccess,
            Flag::Household | Flag::Kin => Reason::Family,
            Flag::Neighbor => Reason::Neighbor,
            Flag::Coworker | Flag::DeptColleague => Reason::Coworker,
            Flag::Vip => Reason::Vip,
            Flag::Deceased | Flag::RecentlyDeceased => Reason::Deceased,
            Flag::Sensitive => Reason::Sensitive,
            Flag::BreakGlass => Reason::BreakGlass,
            Flag::UnknownUser => Reason::UnknownUser,
            Flag::UnknownPatient => Reason::UnknownPatient,
        }
    }
}

pub(super) const FLAG_LIST: [Flag; FLAGS] = [
    Flag::SelfAccess,
    Flag::Household,
    Flag::Kin,
    Flag::Neighbor,
    Flag::Coworker,
    Flag::DeptColleague,
    Flag::Vip,
    Flag::Deceased,
    Flag::RecentlyDeceased,
    Flag::Sensitive,
    Flag::BreakGlass,
    Flag::UnknownUser,
    Flag::UnknownPatient,
];

/// Per flag, the share of the hospital's known patients that carry it: the rate at which
/// legitimate work that is blind to who the patient is (a billing or coding worklist, a ward
/// census, a care team treating whoever is admitted) lands on such a patient. Its own legitimate
/// rate can never be learned below this: flagged accesses are weighted down as they are
/// learned (they score high), so a rate learned from them alone would keep itself low; where
/// employees are a twentieth of the patients, a clerk's batch meets them a twentieth of the time.
/// For the coincidences that depend on the user (home, street, department), the share per unit
/// of exposure (the staff mean), so that `prevalence * x` is this user's own share. Flags that
/// are never a coincidence of routine work (self, deceased, break-the-glass, unknown ids) have
/// none.
pub(super) fn flag_prevalence(
    world: &World,
    exposure: &Exposures,
    known_patients: f64,
) -> [f64; FLAGS] {
    let mut counts = [0.0f64; FLAGS];
    for p in world.patients.iter().filter(|p| p.known) {
        counts[Flag::Vip as usize] += f64::from(u8::from(p.labels.vip));
        counts[Flag::Coworker as usize] +=
            f64::from(u8::from(p.labels.employee || p.staff_match.is_some()));
        counts[Flag::Sensitive as usize] +=
            f64::from(u8::from(p.labels.restricted || p.labels.sensitive));
    }
    counts[Flag::Household as usize] = exposure.mean(exposure::Kind::Home);
    counts[Flag::Neighbor as usize] = exposure.mean(exposure::Kind::Street);
    counts[Flag::Kin as usize] = exposure.mean(exposure::Kind::Surname);
    counts[Flag::DeptColleague as usize] = exposure.mean(exposure::Kind::DeptStaff);
    counts.map(|c| c / known_patients.max(1.0))
}

impl Monitor {
    pub(super) fn flag_bits(
        &self,
        f: Flag,
        rel: Option<Relation>,
        group: usize,
        staff: Option<u32>,
    ) -> f64 {
        // Opening one's own record through the clinical system is a policy violation in every
        // hospital policy we know of: its legitimate rate is a fixed prior, never learned (so a
        // habit of doing it cannot become "normal").
        //
        // The one exception is the user's own department's routine while it treats the user:
        // a ward census, the rounds or the clinic's day list show every patient of the
        // department, and the user is one of them. Work that is blind to who the patient is
        // lands on any one of them at one over the department's census, as it lands on a VIP
        // at the VIPs' share (see `flag_prevalence`); a look the user chose to take still
        // shows in what it reads and how deep it goes.
        if f == Flag::SelfAccess {
            let blind = match rel {
                Some(Relation::CareCurrent | Relation::DeptCurrent) => staff
                    .and_then(|s| self.world.staff.get(s as usize))
                    .and_then(|st| st.dept)
                    .and_then(|d| self.census.get(usize::from(d)))
                    .map_or(0.0, |n| 1.0 / n.max(1.0)),
                _ => 0.0,
            };
            // Like every identity fact it is evidence for misuse or none, never against it
            // (a department whose census is smaller than one in `p_misuse` meets its own
            // staff more often than misuse would pick them).
            return log2(f.p_misuse() / blind.max(1e-5)).max(0.0);
        }
        // Hospital rate for this strength of link, then this peer group's rate around it.
        let hospital = self
            .flags_legit
            .get(stratum(rel))
            .and_then(|r| r.get(f as usize))
            .map(|r| r.p(1e-4, 1000.0))
            .unwrap_or(1e-4);
        let key = (u32::try_from(group).unwrap_or(u32::MAX), stratum(rel) as u8);
        // The group's rate can show that a flag is routine for this role (registrars meet
        // colleagues, billing meets the deceased) but not push it below the hospital rate: a
        // role that has not met a VIP yet is not evidence that meeting one is misuse.
        let p_legit = self
            .flags_group
            .get(&key)
            .and_then(|r| r.get(f as usize))
            .map_or(hospital, |r| r.p(hospital, 200.0).max(hospital));
        // Coincidences whose base rate depends on the user: the rate is per unit of exposure.
        let x = f
            .exposure()
            .map_or(1.0, |k| self.exposure.relative(staff, k));
        // Not having seen a legitimate VIP access in 40,000 events does not make its rate
        // 1 in 400,000: the estimate is floored at 1 in 10,000 (at most ~10 bits per flag),
        // and at the flag's prevalence among the patients (see `flag_prevalence`).
        let floor =
            (self.prevalence.get(f as usize).copied().unwrap_or(0.0) * x).max(FLAG_RATE_FLOOR);
        log2(f.p_misuse() / (p_legit * x).max(floor)).clamp(0.0, 14.0)
    }

    /// Today's flag observations join the learned rates (at the first event of a new day).
    pub(super) fn absorb_todays_flags(&mut self) {
        fn absorb(learned: &mut [Rate; FLAGS], today: &mut [Rate; FLAGS]) {
            for (l, t) in learned.iter_mut().zip(today.iter_mut()) {
                l.absorb(t);
            }
        }
        for (learned, today) in self
            .flags_legit
            .iter_mut()
            .zip(self.flags_legit_today.iter_mut())
        {
            absorb(learned, today);
        }
        for (key, mut today) in self.flags_group_today.drain() {
            let learned = self
                .flags_group
                .entry(key)
                .or_insert([Rate::default(); FLAGS]);
            absorb(learned, &mut today);
        }
    }
}
