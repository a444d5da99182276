//! The streaming engine: one [`Monitor::assess`] call per access, in stream order.
//!
//! Every component is a log-likelihood ratio in bits: how much more likely the observed detail is
//! if the access is misuse than if it is this user's ordinary work. Legitimate behaviour is
//! learned online from the stream (user -> peer group -> hospital); misuse behaviour is a small
//! explicit model (a snooper picks patients blind to care relationships and favours people they
//! know; a stolen login works at random hours from new places and harvests). The score is the sum,
//! so a score of `s` means "2^s times more likely misuse than routine", and the reasons are the
//! components that carried the score.
//!
//! Causality: an assessment depends only on the context and earlier events, and learning uses
//! only events that did not alert (an ongoing attack does not teach the baseline that it is
//! normal). Determinism: no clocks, no random state at scoring time, fixed hashers.
//!
//! Submodules: `flags` (who the patient is to the user, and what each identity or context flag
//! is worth), `place` (where an access comes from: location levels and the workstations of each
//! department) and `pooling` (how strongly users' and peer groups' own histories are weighed
//! against their priors, re-estimated as the stream goes).

use std::collections::VecDeque;

use phiguard_fhir::{AccessEvent, AddressKind, Context};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::collab::Collaborators;
use crate::config::MonitorConfig;
use crate::explain;
use crate::exposure::Exposures;
use crate::model::{Counts, Rate, Stats};
use crate::reason::Reason;
use crate::relation::{static_link, Relation, StaticLink, Windows, DAY, RELATIONS};
use crate::world::{key, World};

mod flags;
mod place;
mod pooling;

use flags::{flag_prevalence, stratum, Flag, FLAGS, FLAG_LIST, STRATA};

const LOCATION_LEVELS: usize = 4;
const LN2: f64 = std::f64::consts::LN_2;
/// The pooling is re-estimated at the start of every local day and every this many events (so
/// that the first day of a stream does not run on an estimate made from nothing).
const POOLING_EVERY: u64 = 2048;
/// Largest empirical-Bayes prior strength (pseudo-accesses): full pooling in practice.
const POOLING_MAX: f64 = 1e6;

/// Which kind of misuse a component is evidence for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypothesis {
    /// Both: a snooping insider and a stolen login.
    Both,
    /// An insider using their own login at their usual time and place, picking people they know.
    Insider,
    /// A stolen login: unusual hours, new places, patients picked at random.
    Compromised,
}

/// One component of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The reason this component stands for.
    pub reason: Reason,
    /// The misuse type it speaks for.
    pub hypothesis: Hypothesis,
    /// Its contribution in bits.
    pub bits: f64,
    /// Details for the explanation.
    pub detail: Detail,
}

impl Evidence {
    /// Whether this component is a fact about who the patient is to the user (see
    /// [`Reason::is_identity`]) that is named whenever it holds and stated even on routine
    /// accesses. A shared surname alone is not: it is a coincidence as often as a relative (a
    /// common name), so it is named like behaviour, when it carries weight.
    pub fn is_identity_fact(&self) -> bool {
        self.reason.is_identity() && self.detail != Detail::SameSurname
    }
}

/// Facts behind a component, rendered into words by [`crate::explain`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Detail {
    /// No extra facts.
    None,
    /// Same household; `same_surname` tells whether the surname matches too.
    Household {
        /// Surnames equal.
        same_surname: bool,
    },
    /// The patient has the user's surname and lives elsewhere.
    SameSurname,
    /// The patient is staff.
    Colleague {
        /// Matched a staff member of the user's own department.
        same_dept: bool,
        /// Matched a staff record (otherwise only the EMP label).
        staff_record: bool,
    },
    /// Days since death.
    DeceasedDays(i64),
    /// The relationship rung and the department involved.
    Relation {
        /// Rung.
        relation: Relation,
        /// Department of the patient's current or recent care.
        dept: Option<String>,
        /// Days since the patient's last finished episode.
        days_since_last: Option<i64>,
        /// Opened from a workstation used for that department's patients, which the user's
        /// usual ones are not (a night on another ward, a consult at the bedside).
        at_department: bool,
        /// The link is the review window of a stay the patient died in.
        death_review: bool,
        /// Whether someone the user works with opened the record in the collaborator window,
        /// where that counted by at least half a bit (for the access when they had, against it
        /// when nobody had; see `collab.rs`).
        collaborators: Option<bool>,
    },
    /// Local time and the user's share of accesses in that hour.
    Time {
        /// Local "HH:MM".
        clock: String,
        /// Smoothed share of this user's accesses in this hour.
        share: f64,
    },
    /// Location novelty level (1 new to user, 2 new to peers, 3 new to hospital) and kind.
    Location {
        /// Novelty level.
        level: usize,
        /// Workstation or network address.
        ip: bool,
    },
    /// A later item of a look at a patient nothing links the user to.
    Depth {
        /// Items of the record opened in this sitting so far.
        items: u32,
    },
    /// What part of the record was touched, and how often peers and the hospital touch it.
    Activity {
        /// "read DocumentReference", "wrote Observation", "read the record".
        what: String,
        /// Smoothed share of the user's own accesses that do this (towards the peer group's).
        user_share: f64,
        /// Smoothed share of the peer group's accesses that do this.
        group_share: f64,
        /// Share of the hospital's accesses that do this.
        hospital_share: f64,
        /// This item alone is no evidence (the user reads it as often as the hospital does, or
        /// more): what the component carries is what earlier items of the same sitting read.
        earlier_in_look: bool,
    },
    /// Bulk volume.
    Volume {
        /// Distinct patients in the window.
        count: u32,
        /// The window: hour or day.
        hour: bool,
        /// Usual peak.
        usual: f64,
    },
}

/// The result of scoring one access.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Bits of evidence for misuse (log2 likelihood ratio); higher is more suspicious.
    pub score: f64,
    /// Score at or above the alert threshold, after the learning days (see
    /// [`MonitorConfig::learning_days`]).
    pub alert: bool,
    /// The access falls in the stream's learning days: it raises no alert whatever its score.
    pub learning: bool,
    /// Reason codes, strongest first (empty when nothing was suspicious).
    pub reasons: Vec<Reason>,
    /// All components that contributed (positive or negative).
    pub evidence: Vec<Evidence>,
    /// The relationship rung found.
    pub relation: Option<Relation>,
    /// The event's time was earlier than an event already seen.
    pub out_of_order: bool,
}

impl Assessment {
    /// One plain sentence for a privacy officer.
    pub fn explanation(&self) -> String {
        explain::sentence(self)
    }
}

#[derive(Debug, Default, Clone)]
struct Profile {
    hours: Counts<24>,
    relations: Counts<RELATIONS>,
    /// The rungs of off-hours accesses only (see [`MonitorConfig::off_hours_start`]), a
    /// subset of `relations`.
    relations_off: Counts<RELATIONS>,
    locations: Counts<LOCATION_LEVELS>,
    peak_hour: Stats,
    peak_day: Stats,
}

/// The working-hours rung counts of a peer group and of a user (see [`Monitor::on_hours`]).
struct OnHours {
    group: Option<Counts<RELATIONS>>,
    user: Option<Counts<RELATIONS>>,
}

/// A user's hours and location levels of one day, not yet part of their habits.
#[derive(Debug, Clone, Default)]
struct Habits {
    hours: Counts<24>,
    locations: Counts<LOCATION_LEVELS>,
}

#[derive(Debug, Default)]
struct UserState {
    profile: Profile,
    window: VecDeque<(i64, u32)>,
    in_window: FxHashMap<u32, u32>,
    day: i64,
    day_patients: FxHashSet<u32>,
    day_legit_peak_hour: u32,
    day_legit_total: u32,
    day_has_legit: bool,
    distinct_patients: u32,
    /// What alerting accesses of the current day have already taught (see `Monitor::learn`).
    day_alert_learned: FxHashSet<u64>,
    /// Today's hours and location levels: they join the user's habits when the day ends.
    today: Habits,
    /// Legitimate-weighted accesses per activity on earlier days, and their total (see
    /// [`Monitor::activity_evidence`]); at most [`MAX_ACTIVITIES`] + 1 keys.
    activity: FxHashMap<u64, f32>,
    activity_total: f32,
    /// Today's activities: they join `activity` when the day ends, like hours and places.
    activity_today: FxHashMap<u64, f32>,
    /// The places (address keys) this user has worked from today: a place counts in the
    /// habits once a day, on its first access (see [`Monitor::evaluate`]).
    places_today: FxHashSet<u64>,
    /// How much of each hour of today has entered the user's hours (at most one per hour).
    hours_today: [f32; 24],
    /// When the user last opened a record they have a direct link to without alerting: while
    /// that is recent they are demonstrably at work (see [`Monitor::evaluate`]).
    last_linked_work: Option<i64>,
    /// Legitimate-weighted patients of other departments this user has reached, per treating
    /// department (see [`Monitor::reach_bits`]), and their total.
    reach: Vec<(u16, f64)>,
    reach_total: f64,
    /// Legitimate-weighted accesses to another department's patient from a place serving that
    /// department, and all of them (see [`Monitor::place_bits`]).
    place_served: [f64; 2],
    /// Where the user works from: legitimate-weighted accesses per place (address key), at
    /// most [`PLACE_MAX_PER_USER`] places.
    places: Vec<(u64, f32)>,
}

/// The access monitor: world (context) + learned state.
#[derive(Debug)]
pub struct Monitor {
    config: MonitorConfig,
    windows: Windows,
    world: World,
    users: Vec<UserState>,
    groups: Vec<Profile>,
    hospital: Profile,
    /// Today's location levels of each peer group and of the hospital: they join `groups` and
    /// `hospital` when the hospital's day ends, as a user's join their own habits (one user's
    /// first evening at home, or a stolen login's new address, does not make the next access
    /// from a new place look routine for the peers the same day).
    group_places_today: Vec<Counts<LOCATION_LEVELS>>,
    hospital_places_today: Counts<LOCATION_LEVELS>,
    flags_legit: [[Rate; FLAGS]; STRATA],
    flags_group: FxHashMap<(u32, u8), [Rate; FLAGS]>,
    /// Today's flag observations: they join `flags_legit` and `flags_group` when the day
    /// ends, so that one sitting at a VIP's or a colleague's record cannot teach its own later
    /// items that such access is routine (as hours, places and activities).
    flags_legit_today: [[Rate; FLAGS]; STRATA],
    flags_group_today: FxHashMap<(u32, u8), [Rate; FLAGS]>,
    /// Each staff member's exposure to identity coincidences (street, home, department).
    exposure: Exposures,
    /// Per flag: the share of the hospital's patients an identity-blind pick lands on (per
    /// unit of exposure for the coincidences); see [`flag_prevalence`].
    prevalence: [f64; FLAGS],
    null_relation: [f64; RELATIONS],
    /// Share of relationship-blind picks that land on a patient under care now or recently.
    null_under_care: f64,
    null_dept: Vec<f64>,
    /// Per department: how many patients it treats at once on average (see [`census`]).
    census: Vec<f64>,
    reach: FxHashMap<u64, f64>,
    reach_total: FxHashMap<u32, f64>,
    /// Per peer group: how many pseudo-accesses of the group's departments reached a user's
    /// own are weighed against (empirical Bayes, see [`Monitor::estimate_reach_pooling`]).
    reach_pooling: Vec<f64>,
    /// Legitimate-weighted accesses per (peer group, activity); the hospital is group
    /// [`HOSPITAL`]. See [`Monitor::activity_evidence`].
    activity: FxHashMap<(u32, u64), f64>,
    /// Legitimate-weighted accesses per peer group (and [`HOSPITAL`]).
    activity_total: FxHashMap<u32, f64>,
    /// Distinct activities the hospital has shown (at most [`MAX_ACTIVITIES`] are told apart).
    activity_kinds: usize,
    prior_access: FxHashMap<u64, i64>,
    team_access: FxHashMap<u64, i64>,
    dept_touched: FxHashMap<u16, u32>,
    /// Address keys: accumulated legitimate weight, and the day it reached one half (known).
    seen_addresses: FxHashMap<u64, (f32, i64)>,
    clock: i64,
    first_day: Option<i64>,
    known_patients: f64,
    /// Per peer group and rung: how many pseudo-accesses of the group's rate a user's own
    /// history is weighed against (empirical Bayes, see [`Monitor::estimate_pooling`]).
    pooling: Vec<[f64; RELATIONS]>,
    /// The local day on which `pooling` was last estimated.
    pooling_day: Option<i64>,
    /// Per rung: the same for peer groups within the hospital.
    group_pooling: [f64; RELATIONS],
    /// Hours of the hospital's accesses from network addresses (remote work), legitimate-weighted.
    remote_hours: Counts<24>,
    /// Per peer group and rung: how much likelier its off-hours work lands on the rung than
    /// its work in working hours (see [`Monitor::estimate_night_ratios`]).
    night_ratio: Vec<[f64; RELATIONS]>,
    /// Events assessed so far.
    events_seen: u64,
    /// Open looks at patients that nothing explained, by (user, patient).
    looks: FxHashMap<u64, Look>,
    /// The local day on which stale looks were last dropped.
    looks_pruned_day: Option<i64>,
    /// Per rung of the look's first item: legitimate-weighted number of unexplained looks
    /// that reached each depth (index 0: every look; index k: looks that went on to k + 1
    /// items or more, up to [`LOOK_DEPTHS`]).
    look_depths: [[f64; LOOK_DEPTHS]; RELATIONS],
    /// Per place (address key): legitimate-weighted accesses to patients of each treating
    /// department on earlier days, and today's (they join when the hospital's day ends, like
    /// habits). See [`Monitor::place_bits`].
    place_depts: FxHashMap<u64, Vec<(u16, f32)>>,
    place_depts_today: FxHashMap<u64, Vec<(u16, f32)>>,
    /// Per peer group, and for the hospital: legitimate-weighted accesses to another
    /// department's patient (one the user's usual places do not serve) made from a place that
    /// serves that department, and all of them.
    place_served: Vec<[f64; 2]>,
    place_served_hospital: [f64; 2],
    /// Who works with whom, and what legitimate and blind accesses find (see `collab.rs`).
    collab: Collaborators,
    /// Draws the relationship-blind samples of the collaborator evidence.
    collab_rng: SplitMix,
    /// Patients known from the context (the blind samples' pool).
    known_list: Vec<u32>,
}

/// The peer-group key under which the whole hospital's activity is counted.
const HOSPITAL: u32 = u32::MAX;
/// Legitimate accesses the hospital must have shown before activity counts as evidence.
const ACTIVITY_MIN_HISTORY: f64 = 200.0;
/// Legitimate accesses with an activity, hospital-wide, before it counts as evidence.
const ACTIVITY_MIN_COUNT: f64 = 20.0;
/// Pseudo-accesses of the hospital's activity mix in a peer group's prior.
const ACTIVITY_PRIOR: f64 = 10.0;
/// Distinct activities (resource type, read or written) told apart; later new ones share one.
const MAX_ACTIVITIES: usize = 512;
/// Most evidence one access's activity can add (like the reach of departments).
const ACTIVITY_MAX_BITS: f64 = 4.0;

/// The key under which a peer group's activity is counted (never [`HOSPITAL`]).
fn activity_unit(group: usize) -> u32 {
    u32::try_from(group)
        .unwrap_or(HOSPITAL - 1)
        .min(HOSPITAL - 1)
}

/// Most evidence the activities of one look's items add up to.
const LOOK_ACTIVITY_MAX_BITS: f64 = 8.0;

/// Shape of the Gamma prior (mean 1) on how much likelier a peer group's off-hours work lands on
/// a rung than its work in working hours (and the hospital's remote work falls in an hour than its
/// work overall): worth this many expected accesses, the strength of the other peer-group priors
/// ([`MonitorConfig::group_prior_strength`]'s default).
const NIGHT_RATIO_PRIOR: f64 = 20.0;

/// Places remembered per user (the least used is forgotten first).
const PLACE_MAX_PER_USER: usize = 32;
/// Places whose departments are learned (addresses come from the input: past this bound, new
/// ones are not learned, so that memory does not grow with what a client writes).
const MAX_PLACES: usize = 1 << 16;

/// Adds `w` to `key`'s weight in a short list of (key, weight) pairs, or appends the pair.
fn add_weight<K: PartialEq, W: std::ops::AddAssign>(list: &mut Vec<(K, W)>, key: K, w: W) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, c)) => *c += w,
        None => list.push((key, w)),
    }
}

/// Depths of a look told apart; deeper looks count as this deep.
const LOOK_DEPTHS: usize = 6;
/// Pseudo-looks of the neutral prior on how deep unexplained looks go.
const LOOK_PRIOR: f64 = 20.0;

/// The evidence of an access's link to the patient.
#[derive(Debug, Clone, Copy)]
struct LinkEvidence {
    /// The rung.
    relation: Relation,
    /// Bits under insider misuse.
    bits: f64,
    /// Bits under a relationship-blind pick (what a stolen login does).
    blind_bits: f64,
    /// Whether the access's place serves the patient's department, where the place evidence
    /// applies (see [`Monitor::place_observation`]).
    place_serves: Option<bool>,
    /// The access came from a place that serves the patient's department, which the user's
    /// usual places do not, and that spoke for it (see [`Monitor::place_bits`]).
    at_department: bool,
    /// The rung class and collaboration level, where the collaborator evidence applies.
    collab: Option<(usize, usize)>,
    /// The collaborator evidence's bits (in `bits`).
    collab_bits: f64,
}

/// One user's look at one patient nothing links them to: the accesses of one sitting.
#[derive(Debug, Clone, Copy)]
struct Look {
    /// When the latest item was opened.
    last: i64,
    /// Items opened so far.
    depth: u32,
    /// The first item's link evidence.
    first: LinkEvidence,
    /// Activity evidence of the items so far (see [`Monitor::activity_evidence`]).
    activity_bits: f64,
}

impl Monitor {
    /// Builds a monitor for a hospital context.
    pub fn new(ctx: &Context, config: MonitorConfig) -> Monitor {
        let world = World::new(ctx);
        let windows = Windows {
            lead_secs: config.encounter_lead_secs,
            tail_secs: config.encounter_tail_secs,
            recent_secs: config.encounter_recent_secs,
            soon_secs: config.encounter_soon_secs,
            death_review_secs: config.death_review_secs,
        };
        let known_patients = world.known_patients().max(1) as f64;
        let known_list: Vec<u32> = world
            .patients
            .iter()
            .enumerate()
            .filter(|(_, p)| p.known)
            .filter_map(|(i, _)| u32::try_from(i).ok())
            .collect();
        let (null_relation, null_dept) = null_model(
            &world,
            &windows,
            &known_list,
            config.null_samples,
            known_patients,
        );
        let exposure = Exposures::new(&world);
        let prevalence = flag_prevalence(&world, &exposure, known_patients);
        Monitor {
            prevalence,
            users: Vec::new(),
            groups: vec![Profile::default(); world.group_names.len()],
            hospital: Profile::default(),
            group_places_today: vec![Counts::default(); world.group_names.len()],
            hospital_places_today: Counts::default(),
            flags_legit: [[Rate::default(); FLAGS]; STRATA],
            flags_group: FxHashMap::default(),
            flags_legit_today: [[Rate::default(); FLAGS]; STRATA],
            flags_group_today: FxHashMap::default(),
            exposure,
            null_under_care: Relation::ALL
                .iter()
                .filter(|r| r.is_under_care())
                .map(|r| null_relation.get(r.index()).copied().unwrap_or(0.0))
                .sum(),
            null_relation,
            null_dept,
            census: census(&world, &windows),
            reach: FxHashMap::default(),
            reach_total: FxHashMap::default(),
            reach_pooling: Vec::new(),
            activity: FxHashMap::default(),
            activity_total: FxHashMap::default(),
            activity_kinds: 0,
            prior_access: FxHashMap::default(),
            team_access: FxHashMap::default(),
            dept_touched: FxHashMap::default(),
            seen_addresses: FxHashMap::default(),
            clock: i64::MIN,
            first_day: None,
            known_patients,
            pooling: Vec::new(),
            pooling_day: None,
            group_pooling: [0.0; RELATIONS],
            night_ratio: Vec::new(),
            remote_hours: Counts::default(),
            events_seen: 0,
            looks: FxHashMap::default(),
            looks_pruned_day: None,
            look_depths: [[0.0; LOOK_DEPTHS]; RELATIONS],
            place_depts: FxHashMap::default(),
            place_depts_today: FxHashMap::default(),
            place_served: Vec::new(),
            place_served_hospital: [0.0; 2],
            collab: Collaborators::new(config.collaborator_window_secs, COLLAB_CLASSES),
            collab_rng: SplitMix(0x00c0_11ab_0a7e),
            known_list,
            windows,
            world,
            config,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// The indexed context.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Sizes of the learned state (users, patients, relationship pairs), for memory reports.
    pub fn state_sizes(&self) -> (usize, usize, usize) {
        (
            self.users.len(),
            self.world.patients.len(),
            self.prior_access.len() + self.team_access.len() + self.collab.pairs(),
        )
    }

    /// Scores one access and learns from it. Call in stream order.
    pub fn assess(&mut self, ev: &AccessEvent<'_>) -> Assessment {
        self.evaluate(ev, true)
    }

    /// Scores an access attempt that was refused (by policy, a gateway...) without learning from
    /// it: it still counts towards the user's volume windows, but it neither shapes baselines
    /// nor creates an "earlier access" link that would make the next attempt look routine.
    pub fn score_only(&mut self, ev: &AccessEvent<'_>) -> Assessment {
        self.evaluate(ev, false)
    }

    fn evaluate(&mut self, ev: &AccessEvent<'_>, learn: bool) -> Assessment {
        let t = ev.recorded.unix;
        let out_of_order = t < self.clock;
        self.clock = self.clock.max(t);
        let day = ev.recorded.local_day();
        let hour = usize::from(ev.recorded.local_hour());
        let off_hours = self.off_hours(hour, day);
        let first_day = *self.first_day.get_or_insert(day);
        self.events_seen += 1;
        let new_day = self.pooling_day.is_some_and(|d| day > d);
        if new_day {
            self.absorb_todays_flags();
            self.absorb_todays_places();
            self.absorb_todays_place_depts();
        }
        if new_day || self.pooling_day.is_none() || self.events_seen % POOLING_EVERY == 0 {
            self.estimate_pooling();
            self.pooling_day = Some(day);
        }

        let uid = self.world.user(&ev.user);
        let user = self.world.users.get(uid as usize).cloned();
        let (staff, dept, group) = user
            .map(|u| (u.practitioner, u.dept, u.group as usize))
            .unwrap_or((None, None, 0));
        while self.users.len() <= uid as usize {
            self.users.push(UserState::default());
        }
        while self.groups.len() < self.world.group_names.len() {
            self.groups.push(Profile::default());
            self.group_places_today.push(Counts::default());
        }
        let patient = ev.patient.as_deref().map(|id| self.world.patient(id));
        let place = ev.address.as_deref().map(|a| key(&(4u8, a)));

        self.roll_day(uid, group, day);
        let (hour_count, day_count) = self.track_volume(uid, patient, t);
        if learn && self.looks_pruned_day.is_none_or(|d| day > d) {
            let gap = self.config.look_gap_secs;
            self.looks.retain(|_, l| t - l.last <= gap);
            self.collab.prune(t);
            self.looks_pruned_day = Some(day);
        }

        let mut evidence: Vec<Evidence> = Vec::with_capacity(6);
        let mut flags: [bool; FLAGS] = [false; FLAGS];
        let mut relation = None;
        // The link's evidence under a relationship-blind pick (what a stolen login does).
        let mut blind_bits = 0.0;
        // Whether the place serves the patient's department, where that applies (learned with
        // the rates; a look's later items teach no rates, so they keep the first item's).
        let mut place_serves = None;
        // This access's place in an unexplained look (1 for the first item), for learning.
        let mut look_items: Option<u32> = None;
        // The (user, patient) key, the look this access continues and its link evidence.
        let mut look: Option<(u64, Option<Look>, LinkEvidence)> = None;

        // --- relationship -------------------------------------------------------------
        let mut link = StaticLink {
            relation: Relation::None,
            dept: None,
            emergency: false,
            days_since_last: None,
            death_review: false,
        };
        if let Some(p) = patient {
            link = static_link(&self.world, staff, dept, p, t, &self.windows);
            // Opening more of a record the user had no reason to open is not explained by
            // having opened it a minute ago: within an unexplained look the earlier items are
            // no alibi (the look is one draw of a rung: its later items carry the first item's
            // link evidence as assessed then); how deep the look goes is evidence of its own.
            let continued = self
                .looks
                .get(&pair(uid, p))
                .filter(|l| t - l.last <= self.config.look_gap_secs && !link.relation.is_direct())
                .copied();
            let evidence_of_link = match continued {
                Some(look) => look.first,
                None => self.link_evidence(uid, dept, group, p, t, off_hours, &link, place),
            };
            let LinkEvidence {
                relation: rel,
                bits,
                ..
            } = evidence_of_link;
            blind_bits = evidence_of_link.blind_bits;
            place_serves = evidence_of_link.place_serves;
            relation = Some(rel);
            evidence.push(Evidence {
                reason: Reason::NoRelationship,
                hypothesis: Hypothesis::Insider,
                bits,
                detail: Detail::Relation {
                    relation: rel,
                    dept: link.dept.map(|d| self.world.dept_name(d).to_owned()),
                    days_since_last: link.days_since_last,
                    at_department: evidence_of_link.at_department,
                    death_review: link.death_review,
                    collaborators: match evidence_of_link.collab_bits {
                        b if b <= -COLLAB_NAMED_BITS => Some(true),
                        b if b >= COLLAB_NAMED_BITS => Some(false),
                        _ => None,
                    },
                },
            });
            if let Some(look) = continued {
                let items = look.depth.saturating_add(1);
                evidence.push(Evidence {
                    reason: Reason::NoRelationship,
                    hypothesis: Hypothesis::Insider,
                    bits: self.depth_bits(rel, items),
                    detail: Detail::Depth { items },
                });
            }
            look = Some((pair(uid, p), continued, evidence_of_link));
            self.identity_flags(
                relation,
                group,
                staff,
                dept,
                p,
                t,
                link.death_review,
                &mut flags,
                &mut evidence,
            );
        }
        flags[Flag::UnknownUser as usize] = staff.is_none();
        flags[Flag::UnknownPatient as usize] = patient
            .and_then(|p| self.world.patients.get(p as usize))
            .is_some_and(|info| !info.known);
        // The emergency is the patient's (an emergency encounter current or just starting), not
        // the reader's department: an emergency physician breaking the glass on a clinic
        // patient with no emergency visit is not doing emergency care.
        flags[Flag::BreakGlass as usize] =
            (ev.has_purpose("BTG") || ev.has_purpose("ETREAT")) && !link.emergency;
        // Policy violations whatever the user's role: opening one's own record without being
        // listed on one's own care team; opening a household member's, or breaking the glass,
        // without a direct link. Work that is routine for the role (billing a discharge,
        // reading an image, the department's census) does not excuse them, so such a link
        // cannot count against misuse here.
        let direct = relation.is_some_and(|r| r.is_direct());
        let on_team = matches!(
            relation,
            Some(Relation::CareCurrent | Relation::CareRecent | Relation::CarePast)
        );
        if (flags[Flag::SelfAccess as usize] && !on_team)
            || (!direct && (flags[Flag::Household as usize] || flags[Flag::BreakGlass as usize]))
        {
            for e in evidence
                .iter_mut()
                .filter(|e| e.reason == Reason::NoRelationship)
            {
                e.bits = e.bits.max(0.0);
            }
        }

        for (i, f) in FLAG_LIST.iter().enumerate() {
            if flags[i]
                && !matches!(
                    f,
                    Flag::Household
                        | Flag::Coworker
                        | Flag::DeptColleague
                        | Flag::Deceased
                        | Flag::RecentlyDeceased
                )
            {
                let bits = self.flag_bits(*f, relation, group, staff);
                let hypothesis = match f {
                    Flag::UnknownUser | Flag::UnknownPatient => Hypothesis::Both,
                    _ => Hypothesis::Insider,
                };
                evidence.push(Evidence {
                    reason: f.reason(),
                    hypothesis,
                    bits,
                    detail: if *f == Flag::Kin {
                        Detail::SameSurname
                    } else {
                        Detail::None
                    },
                });
            }
        }

        // --- behaviour ----------------------------------------------------------------
        let remote = ev.address.is_some() && ev.address_kind == AddressKind::Ip;
        let time_bits = self.time_bits(uid, group, hour, remote);
        if let Some((bits, share)) = time_bits {
            let detail = Detail::Time {
                clock: ev.recorded.local_clock(),
                share,
            };
            // A stolen login keeps any hours; an insider mostly their own, sometimes not. But a
            // user who is at work right now (they opened a record of their own patients without
            // alerting within the last sitting: a night they cover, a shift swapped) is at this
            // hour whether what they open next is routine or snooping, so for an insider the
            // hour says nothing more; for a stolen login it still does (a thief browsing the
            // account's own lists at 3 a.m. is at work too).
            let at_work = self
                .users
                .get(uid as usize)
                .and_then(|u| u.last_linked_work)
                .is_some_and(|w| t - w <= self.config.look_gap_secs);
            let e = self.config.insider_off_hours.clamp(0.0, 1.0);
            evidence.push(Evidence {
                reason: Reason::UnusualTime,
                hypothesis: Hypothesis::Insider,
                bits: if at_work {
                    0.0
                } else {
                    log2((1.0 - e) + e * bits.exp2())
                },
                detail: detail.clone(),
            });
            evidence.push(Evidence {
                reason: Reason::UnusualTime,
                hypothesis: Hypothesis::Compromised,
                bits,
                detail,
            });
        }
        // Where a user works from is a habit of days, not of accesses: a place enters the
        // habits once a day, on its first access. Counted per access, a user who opens 400
        // records a week at the same workstation would hold 400 observations of "known place"
        // against one of "new place" on the evening they first read from home, and their
        // peers' rate of new places would be diluted the same way; counted per place and day,
        // how often this user and their peers start working somewhere new is what a new
        // place is compared with (every access from it is still scored against that).
        let location = ev
            .address
            .as_deref()
            .map(|a| self.location_level(uid, group, a, ev.address_kind, day));
        let place_first = location.is_some_and(|(_, keys)| {
            self.users
                .get_mut(uid as usize)
                .is_some_and(|u| u.places_today.insert(keys[0]))
        });
        if let Some((level, _)) = location {
            let bits = self.location_bits(uid, group, level);
            let detail = Detail::Location {
                level,
                ip: ev.address_kind == AddressKind::Ip,
            };
            // An insider mostly reads where they sit, sometimes elsewhere (another ward's
            // computer, a terminal nobody watches): for that share the place is as unusual as
            // a stolen login's. Only the side that counts for misuse is kept: at a usual place
            // the mixture would take 0.1-0.15 bits off every insider score, which is the
            // place saying nothing, not a reason to trust the access.
            let e = self.config.insider_elsewhere.clamp(0.0, 1.0);
            let insider = log2((1.0 - e) + e * bits.exp2());
            evidence.push(Evidence {
                reason: Reason::UnusualLocation,
                hypothesis: Hypothesis::Compromised,
                bits,
                detail: detail.clone(),
            });
            if insider > 0.0 {
                evidence.push(Evidence {
                    reason: Reason::UnusualLocation,
                    hypothesis: Hypothesis::Insider,
                    bits: insider,
                    detail,
                });
            }
        }
        if let Some(e) = self.bulk_evidence(uid, group, hour_count, day_count) {
            evidence.push(e);
        }
        let writes = matches!(ev.action.as_ref(), "C" | "U" | "D");
        let mut activity = key(&(writes, ev.data_type.as_deref().unwrap_or("")));
        if self.activity_kinds >= MAX_ACTIVITIES
            && !self.activity.contains_key(&(HOSPITAL, activity))
        {
            // Resource types come from the input: past a bound, new ones share one bucket so
            // that memory does not grow with what a client writes into its references.
            activity = key(&(writes, "\u{0}other"));
        }
        // This item's activity evidence; within a look, the items' evidence adds up (each item
        // is another choice of what to read in one sitting): the sum so far is what the look
        // keeps.
        let mut look_activity_bits = match &look {
            Some((_, Some(l), _)) => l.activity_bits,
            _ => 0.0,
        };
        if patient.is_some() {
            if let Some(mut e) = self.activity_evidence(uid, group, activity, writes, ev) {
                let own = e.bits;
                e.bits = (e.bits + look_activity_bits)
                    .clamp(-LOOK_ACTIVITY_MAX_BITS, LOOK_ACTIVITY_MAX_BITS);
                if let Detail::Activity {
                    earlier_in_look, ..
                } = &mut e.detail
                {
                    *earlier_in_look = own <= 0.0 && e.bits > 0.0;
                }
                look_activity_bits = e.bits;
                evidence.push(e);
            }
        }

        // --- combine --------------------------------------------------------------------
        // P(x | misuse) is a mixture of the two misuse types, so the likelihood ratio is
        // share * LR_insider + (1 - share) * LR_compromised, computed in log space.
        let sum = |h: Hypothesis| -> f64 {
            evidence
                .iter()
                .filter(|e| e.hypothesis == h)
                .map(|e| e.bits)
                .sum()
        };
        // A stolen login browses either random records or the account's usual lists (the ward
        // census), so under that hypothesis the patient's link counts half: P(rung | stolen) =
        // (P_null + P_legit) / 2, i.e. LR = (2^rel + 1) / 2.
        let (both, insider, compromised) = (
            sum(Hypothesis::Both),
            sum(Hypothesis::Insider),
            sum(Hypothesis::Compromised) + log2(0.5 * blind_bits.exp2() + 0.5),
        );
        let c = self.config.compromised_share.clamp(0.0, 1.0);
        let combine = |both: f64, insider: f64| {
            let top = insider.max(compromised);
            let mix =
                ((1.0 - c) * (insider - top).exp2() + c * (compromised - top).exp2()).max(1e-300);
            (both + top + mix.log2()).clamp(-30.0, 60.0)
        };
        let score = (combine(both, insider) * 100.0).round() / 100.0;
        // What the monitor learns is gated by whether the access would alert (an attack on the
        // first day teaches no more than on any other); only the raised alert waits for the
        // learning days to pass.
        let suspicious = score >= self.config.alert_threshold_bits;
        let learning = day - first_day < i64::from(self.config.learning_days);
        let alert = suspicious && !learning;
        // Name the components of the misuse type(s) that carry the score.
        // Identity facts are always named; hour and place only when a stolen login is a
        // serious explanation of the access.
        let named = |h: Hypothesis| match h {
            Hypothesis::Both | Hypothesis::Insider => true,
            Hypothesis::Compromised => compromised >= insider - 2.0,
        };
        let mut reasons: Vec<(f64, Reason)> = Vec::new();
        if score >= self.config.reason_floor_bits {
            for e in &evidence {
                // Who the patient is to the user (themself, family, a neighbour, a colleague,
                // a VIP, a deceased person) is the fact a privacy officer investigates, so it is
                // named whenever it holds, even where such coincidences are common enough in
                // this hospital to add little or nothing (a staff clinic where a third of the
                // patients are employees); behaviour needs real weight.
                let min_bits = if e.is_identity_fact() {
                    0.0
                } else {
                    self.config.reason_min_bits
                };
                if e.bits >= min_bits
                    && named(e.hypothesis)
                    && !reasons.iter().any(|(_, r)| *r == e.reason)
                {
                    reasons.push((e.bits, e.reason));
                }
            }
            reasons.sort_by(|a, b| b.0.total_cmp(&a.0));
        }

        if learn && direct && !suspicious {
            if let Some(u) = self.users.get_mut(uid as usize) {
                u.last_linked_work = Some(t);
            }
        }
        if learn {
            let legit_weight = self.legit_weight(score);
            let collab = look.as_ref().and_then(|(_, _, e)| e.collab);
            if self.config.collaborator_evidence {
                self.sample_blind_collab(uid, group, staff, dept, t);
            }
            if let Some((k, continued, link_evidence)) = look {
                // A sitting that began on an access with anything suspicious about it (an
                // unexplained link, or who the patient is, or what was read) is one look: its
                // later items are no alibi for each other.
                let opens = !direct && (link_evidence.bits > 0.0 || score > 0.0);
                look_items =
                    self.track_look(k, t, continued, link_evidence, opens, look_activity_bits);
            }
            self.learn(
                suspicious,
                Learned {
                    uid,
                    staff,
                    group,
                    dept,
                    patient,
                    t,
                    hour,
                    off_hours,
                    remote,
                    relation,
                    location,
                    place_first,
                    flags,
                    day,
                    first_day: day == first_day,
                    target_dept: link.dept,
                    place,
                    place_serves,
                    look_items,
                    collab,
                    activity: patient.map(|_| activity),
                    legit_weight,
                    // A flag's own legitimate rate is learned from its accesses as judged
                    // without the flag's own evidence (the rest of the score: the link, the
                    // hour, the place, the other flags): judged with it, a flag at its prior
                    // scores every access that carries it near or above the midpoint, so those
                    // accesses would teach almost nothing and the rate could never rise,
                    // however ordinary they otherwise are (consults that must break the glass
                    // on restricted records, intensive-care physicians answering ward calls).
                    // The score is recombined without the flag's evidence (under whichever
                    // hypothesis it counts), so a flag on a stolen login's access is judged by
                    // the login's own evidence. Flags the access does not carry keep the plain
                    // weight (only the flags it carries need the recombination).
                    flag_weight: std::array::from_fn(|i| {
                        let Some(f) = FLAG_LIST.get(i).filter(|_| flags[i]) else {
                            return legit_weight;
                        };
                        let own = |h: Hypothesis| -> f64 {
                            evidence
                                .iter()
                                .filter(|e| e.reason == f.reason() && e.hypothesis == h)
                                .map(|e| e.bits.max(0.0))
                                .sum()
                        };
                        self.legit_weight(combine(
                            both - own(Hypothesis::Both),
                            insider - own(Hypothesis::Insider),
                        ))
                    }),
                },
            );
        }
        Assessment {
            score,
            alert,
            learning,
            reasons: reasons.into_iter().map(|(_, r)| r).collect(),
            evidence,
            relation,
            out_of_order,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn identity_flags(
        &self,
        rel: Option<Relation>,
        group: usize,
        staff: Option<u32>,
        dept: Option<u16>,
        p: u32,
        t: i64,
        death_review: bool,
        flags: &mut [bool; FLAGS],
        evidence: &mut Vec<Evidence>,
    ) {
        let Some(info) = self.world.patients.get(p as usize) else {
            return;
        };
        let me = staff.and_then(|s| self.world.staff.get(s as usize));
        let is_self = match (me, staff) {
            (Some(m), Some(s)) => {
                m.identity.same_person(&info.identity) || info.staff_match == Some(s)
            }
            _ => false,
        };
        if is_self {
            flags[Flag::SelfAccess as usize] = true;
        } else if let Some(m) = me {
            let same_home = m.identity.home != 0 && m.identity.home == info.identity.home;
            let same_street = m.identity.street != 0 && m.identity.street == info.identity.street;
            if same_home {
                flags[Flag::Household as usize] = true;
                let same_surname =
                    m.identity.family != 0 && m.identity.family == info.identity.family;
                let bits = self.flag_bits(Flag::Household, rel, group, staff)
                    - if same_surname { 0.0 } else { 1.0 };
                evidence.push(Evidence {
                    reason: Reason::Family,
                    hypothesis: Hypothesis::Insider,
                    bits,
                    detail: Detail::Household { same_surname },
                });
            } else {
                flags[Flag::Neighbor as usize] = same_street;
                // Elsewhere, the user's surname: how often routine work meets it is learned per
                // patient of that surname in the hospital (see `exposure.rs`).
                flags[Flag::Kin as usize] =
                    m.identity.family != 0 && m.identity.family == info.identity.family;
            }
        }
        let colleague = info.staff_match.filter(|&s| Some(s) != staff);
        if !is_self && (info.labels.employee || colleague.is_some()) {
            flags[Flag::Coworker as usize] = true;
            let same_dept = colleague
                .and_then(|s| self.world.staff.get(s as usize))
                .is_some_and(|c| c.dept.is_some() && c.dept == dept);
            // A colleague of the user's own department is someone the user knows, and rarer in
            // routine work than any employee: its legitimate rate is learned on its own.
            flags[Flag::DeptColleague as usize] = same_dept;
            let flag = if same_dept {
                Flag::DeptColleague
            } else {
                Flag::Coworker
            };
            let bits = self.flag_bits(flag, rel, group, staff);
            evidence.push(Evidence {
                reason: Reason::Coworker,
                hypothesis: Hypothesis::Insider,
                bits,
                detail: Detail::Colleague {
                    same_dept,
                    staff_record: colleague.is_some(),
                },
            });
        }
        flags[Flag::Vip as usize] = info.labels.vip;
        flags[Flag::Sensitive as usize] = info.labels.restricted || info.labels.sensitive;
        if let Some(died) = info.deceased {
            // From the death on, the patient being dead is a fact the access carries; what it
            // is worth is its legitimate rate, learned like any flag's, apart for the weeks
            // right after the death (the death certificate, the medical examiner, the
            // bereavement office are routine where they are) and for the long dead.
            if t > died {
                let recent = t <= died.saturating_add(self.config.deceased_grace_secs);
                let flag = if recent {
                    Flag::RecentlyDeceased
                } else {
                    Flag::Deceased
                };
                flags[flag as usize] = true;
                let days = if died == i64::MIN {
                    -1
                } else {
                    (t - died) / DAY
                };
                // Longer after death is stranger: +1 bit per doubling beyond the grace period,
                // except to the team and department of the stay the patient died in while the
                // death's review is open (its reviews come at any time in that window). A death
                // without a date counts as two doublings.
                let grace_days = (self.config.deceased_grace_secs / DAY).max(1) as f64;
                let extra = if death_review {
                    0.0
                } else if days >= 0 {
                    (days as f64 / grace_days).log2().clamp(0.0, 4.0)
                } else {
                    2.0
                };
                evidence.push(Evidence {
                    reason: Reason::Deceased,
                    hypothesis: Hypothesis::Insider,
                    bits: self.flag_bits(flag, rel, group, staff) + extra,
                    detail: Detail::DeceasedDays(days),
                });
            }
        }
    }

    /// Probability that an access scoring `bits` was legitimate, its weight in what is learned
    /// (see [`MonitorConfig::legit_weight_midpoint_bits`]).
    fn legit_weight(&self, bits: f64) -> f64 {
        1.0 / (1.0 + (bits - self.config.legit_weight_midpoint_bits).exp2())
    }

    fn stream_relation(
        &self,
        uid: u32,
        dept: Option<u16>,
        p: u32,
        t: i64,
        static_rel: Relation,
    ) -> Relation {
        if static_rel.is_direct() {
            return static_rel;
        }
        let recent = |m: &FxHashMap<u64, i64>, k: u64, span: i64| {
            m.get(&k).is_some_and(|&last| t - last <= span)
        };
        if recent(
            &self.prior_access,
            pair(uid, p),
            self.config.prior_access_secs,
        ) {
            return Relation::Prior;
        }
        if let Some(d) = dept {
            if recent(
                &self.team_access,
                pair(u32::from(d), p),
                self.config.team_access_secs,
            ) {
                return Relation::Team;
            }
        }
        static_rel
    }

    /// The link evidence of an access that does not continue an unexplained look.
    #[allow(clippy::too_many_arguments)]
    fn link_evidence(
        &self,
        uid: u32,
        dept: Option<u16>,
        group: usize,
        p: u32,
        t: i64,
        off_hours: bool,
        link: &StaticLink,
        place: Option<u64>,
    ) -> LinkEvidence {
        let rel = self.stream_relation(uid, dept, p, t, link.relation);
        let p_null = self.null_probability(uid, dept, rel);
        let p_legit = self.relation_probability(uid, group, rel, off_hours);
        // Insider misuse lands on a rung relationship-blind, or (a share of it) on a
        // patient who is in hospital now or was recently: snooping triggered by an admission.
        let s = self.config.triggered_share.clamp(0.0, 1.0);
        let p_trig = if rel.is_under_care() {
            p_null / self.null_under_care.max(p_null).max(1e-9)
        } else {
            0.0
        };
        let p_insider = s * p_trig + (1.0 - s) * p_null;
        // A genuine link (care team, department, earlier access, colleagues) can make an
        // access look routine but never suspicious: a snooper is no likelier than this
        // user's own work to land on a patient they are linked to.
        let ceiling = if rel <= Relation::Team { 0.0 } else { 12.0 };
        let reach = if matches!(
            rel,
            Relation::OtherStarting | Relation::OtherCurrent | Relation::OtherRecent
        ) {
            self.reach_bits(uid, group, link.dept)
        } else {
            0.0
        };
        let observation = self.place_observation(uid, rel, link.dept, place);
        let place_bits = self.place_bits(uid, group, observation);
        let serves = observation.map(|(serves, _)| serves);
        let collab = self.collab_observation(uid, p, t, rel);
        let collab_bits = collab.map_or(0.0, |(c, l)| self.collab.bits(group, c, l));
        // The rung's ratio, under misuse as modelled and for a relationship-blind pick, plus
        // what the departments reached, the place and the collaborators add to either.
        let with_context = |p_misuse: f64| {
            log2(p_misuse / p_legit).clamp(-8.0, ceiling) + reach + place_bits + collab_bits
        };
        LinkEvidence {
            relation: rel,
            bits: with_context(p_insider),
            blind_bits: with_context(p_null),
            place_serves: serves,
            at_department: serves == Some(true) && place_bits < 0.0,
            collab,
            collab_bits,
        }
    }

    /// The rung class and collaboration level of an access by `uid` to `p` at `t` on rung
    /// `rel`, where the collaborator evidence applies (see `collab.rs`).
    fn collab_observation(
        &self,
        uid: u32,
        p: u32,
        t: i64,
        rel: Relation,
    ) -> Option<(usize, usize)> {
        if !self.config.collaborator_evidence {
            return None;
        }
        let class = collab_class(rel)?;
        Some((class, self.collab.level(uid, p, t)))
    }

    /// Draws one relationship-blind sample for the collaborator evidence: a random patient,
    /// its rung for this user now, and the collaboration the user would find there.
    fn sample_blind_collab(
        &mut self,
        uid: u32,
        group: usize,
        staff: Option<u32>,
        dept: Option<u16>,
        t: i64,
    ) {
        if self.known_list.is_empty() {
            return;
        }
        let i = usize::try_from(self.collab_rng.next() % self.known_list.len() as u64).unwrap_or(0);
        let Some(&p) = self.known_list.get(i) else {
            return;
        };
        let link = static_link(&self.world, staff, dept, p, t, &self.windows);
        let rel = self.stream_relation(uid, dept, p, t, link.relation);
        if let Some((class, level)) = self.collab_observation(uid, p, t, rel) {
            self.collab.learn_blind(group, class, level);
        }
    }

    /// Evidence of a look at an unexplained patient reaching `items` items: how much likelier
    /// a snooper reads this deep ([`MonitorConfig::snoop_continue`], geometric) than this
    /// hospital's own unexplained looks that began on the same rung do (learned, with a
    /// neutral prior of [`LOOK_PRIOR`] looks), `log2(S_misuse(items) / S_legit(items))` with
    /// `S(k) = P(depth >= k)`.
    fn depth_bits(&self, rel: Relation, items: u32) -> f64 {
        let k = (items as usize).clamp(1, LOOK_DEPTHS);
        let q = self.config.snoop_continue.clamp(0.01, 0.99);
        let s_mis = q.powi(i32::try_from(k - 1).unwrap_or(0));
        let Some(depths) = self.look_depths.get(rel.index()) else {
            return 0.0;
        };
        let started = depths.first().copied().unwrap_or(0.0);
        let reached = depths.get(k - 1).copied().unwrap_or(0.0);
        let s_legit = (reached + LOOK_PRIOR * s_mis) / (started + LOOK_PRIOR);
        log2(s_mis / s_legit).clamp(-4.0, 8.0)
    }

    /// Opens (when `opens`), continues or closes the user's look at a patient, which keeps
    /// `activity_bits`, its items' activity evidence up to and including this access; returns
    /// the access's place in an unexplained look (1 when it opens one).
    fn track_look(
        &mut self,
        key: u64,
        t: i64,
        continued: Option<Look>,
        link: LinkEvidence,
        opens: bool,
        activity_bits: f64,
    ) -> Option<u32> {
        match continued {
            Some(look) => {
                let items = look.depth.saturating_add(1);
                self.looks.insert(
                    key,
                    Look {
                        last: t,
                        depth: items,
                        activity_bits,
                        ..look
                    },
                );
                Some(items)
            }
            None if opens => {
                self.looks.insert(
                    key,
                    Look {
                        last: t,
                        depth: 1,
                        first: link,
                        activity_bits,
                    },
                );
                Some(1)
            }
            None => {
                self.looks.remove(&key);
                None
            }
        }
    }

    /// Departments reached: how unusual the department treating the patient is for this user's
    /// work outside their own patients, against its share of patients under treatment.
    ///
    /// The user's own history of departments reached is smoothed towards their peer group's
    /// (as many pseudo-accesses as [`Monitor::estimate_reach_pooling`] finds the group's members
    /// alike, at least `user_prior_strength`), itself smoothed towards the departments' shares
    /// of patients. A social worker who covers three wards, or a resident whose on-call nights
    /// cover the same two, is judged by where they go; a group whose members all go everywhere
    /// by where the group goes.
    fn reach_bits(&self, uid: u32, group: usize, dept: Option<u16>) -> f64 {
        let Some(d) = dept else { return 0.0 };
        let p_null = self
            .null_dept
            .get(usize::from(d))
            .copied()
            .unwrap_or(0.0)
            .max(1e-3);
        let g = u32::try_from(group).unwrap_or(u32::MAX);
        let n = self.reach_total.get(&g).copied().unwrap_or(0.0);
        let c = self
            .reach
            .get(&pair(g, u32::from(d)))
            .copied()
            .unwrap_or(0.0);
        let alpha = 10.0;
        let p_group = (c + alpha * p_null) / (n + alpha);
        let p_legit = match self.users.get(uid as usize) {
            Some(u) if u.reach_total > 0.0 => {
                let own = u
                    .reach
                    .iter()
                    .find(|(k, _)| *k == d)
                    .map_or(0.0, |(_, w)| *w);
                let strength = self
                    .reach_pooling
                    .get(group)
                    .copied()
                    .unwrap_or(POOLING_MAX)
                    .max(self.config.user_prior_strength);
                (own + strength * p_group) / (u.reach_total + strength)
            }
            _ => p_group,
        };
        log2(p_null / p_legit).clamp(-3.0, 4.0)
    }

    /// Which part of the record the access touches (its data entity's resource type, read or
    /// written), against what the user and their peer group do.
    ///
    /// Roles work with their own parts of a record: a laboratory technician reads specimens and
    /// writes results, a pharmacist reads medication orders, a coder reads encounters and
    /// claims. Someone browsing a record out of curiosity (or a stolen login harvesting it)
    /// reads it the way the hospital as a whole reads records, or keeps to their role's usual
    /// screens: P(activity | misuse) is an even mixture of the hospital's activity mix and the
    /// user's, P(activity | routine) the user's own mix on earlier days smoothed towards the peer
    /// group's (`user_prior_strength` pseudo-accesses), itself smoothed towards the hospital's
    /// ([`ACTIVITY_PRIOR`] pseudo-accesses), all learned from the stream. So the
    /// likelihood ratio is `(p_hospital / p_user + 1) / 2`: at most one bit against misuse, and
    /// real evidence only where the user (and, early on, their group) almost never does what
    /// the hospital often does. A
    /// group that touches everything (physicians) gets little evidence either way; events that
    /// do not say what they touched all share one activity and add nothing. Bounded by
    /// [`ACTIVITY_MAX_BITS`]; silent until the hospital has [`ACTIVITY_MIN_HISTORY`] accesses,
    /// and for activities it has shown fewer than [`ACTIVITY_MIN_COUNT`] times (a group that
    /// has never done what the hospital has hardly done is not unusual).
    fn activity_evidence(
        &self,
        uid: u32,
        group: usize,
        activity: u64,
        writes: bool,
        ev: &AccessEvent<'_>,
    ) -> Option<Evidence> {
        let n_h = self.activity_total.get(&HOSPITAL).copied().unwrap_or(0.0);
        if n_h < ACTIVITY_MIN_HISTORY {
            return None;
        }
        let c_h = self
            .activity
            .get(&(HOSPITAL, activity))
            .copied()
            .unwrap_or(0.0);
        if c_h < ACTIVITY_MIN_COUNT {
            // Not yet a way the hospital reads records (a new resource type, say): that a
            // group has not done it either says nothing.
            return None;
        }
        let p_h = c_h / n_h;
        let g = activity_unit(group);
        let n_g = self.activity_total.get(&g).copied().unwrap_or(0.0);
        let c_g = self.activity.get(&(g, activity)).copied().unwrap_or(0.0);
        let p_g = (c_g + ACTIVITY_PRIOR * p_h) / (n_g + ACTIVITY_PRIOR);
        // The user's own mix on earlier days, smoothed towards the group's: someone whose job
        // differs from their peers' (the clerk who also handles the department's notes) shows
        // it day after day, and it becomes their routine.
        let (c_u, n_u) = self.users.get(uid as usize).map_or((0.0, 0.0), |u| {
            (
                f64::from(u.activity.get(&activity).copied().unwrap_or(0.0)),
                f64::from(u.activity_total),
            )
        });
        let k = self.config.user_prior_strength.max(1.0);
        let p_u = (c_u + k * p_g) / (n_u + k);
        // A snooper may also keep to their usual screens: half of misuse is read the
        // hospital's way, half the user's own (so small differences in mix mean little).
        let bits = log2(0.5 * p_h / p_u + 0.5).min(ACTIVITY_MAX_BITS);
        let what = match (writes, ev.data_type.as_deref()) {
            (false, Some(t)) => format!("read {t}"),
            (true, Some(t)) => format!("wrote {t}"),
            (false, None) => "read the record".to_owned(),
            (true, None) => "wrote to the record".to_owned(),
        };
        Some(Evidence {
            reason: Reason::UnusualActivity,
            hypothesis: Hypothesis::Both,
            bits,
            detail: Detail::Activity {
                what,
                user_share: p_u,
                group_share: p_g,
                hospital_share: p_h,
                earlier_in_look: false,
            },
        })
    }

    /// P(rung | relationship-blind access by this user).
    fn null_probability(&self, uid: u32, dept: Option<u16>, rel: Relation) -> f64 {
        let floor = 0.5 / self.known_patients;
        let p = match rel {
            Relation::Prior => {
                f64::from(
                    self.users
                        .get(uid as usize)
                        .map(|u| u.distinct_patients)
                        .unwrap_or(0),
                ) / self.known_patients
            }
            Relation::Team => {
                f64::from(
                    dept.and_then(|d| self.dept_touched.get(&d).copied())
                        .unwrap_or(0),
                ) / self.known_patients
            }
            r => self.null_relation.get(r.index()).copied().unwrap_or(floor),
        };
        p.clamp(floor, 1.0)
    }

    /// P(rung | this user's legitimate work at this time of day).
    ///
    /// In working hours, the user's working-hours rates smoothed towards the peer group's,
    /// the group's towards the hospital's ([`Monitor::relation_on_hours`]). Off hours, the
    /// user's own off-hours accesses smoothed towards a prior that is their working-hours rate
    /// of each rung scaled by the night's effect on their peer group, renormalised over the
    /// rungs ([`Monitor::estimate_night_ratios`]): a log-linear model in which the user keeps
    /// their own habits (one physician consults, another never does) and the night changes
    /// everyone's of a group alike (the residents' on-call nights cover every ward; the
    /// nurses' nights stay on their own), until the user's own nights speak for themselves.
    fn relation_probability(&self, uid: u32, group: usize, rel: Relation, off_hours: bool) -> f64 {
        let i = rel.index();
        let days = self.on_hours(uid, group);
        let Some(ratios) = self.night_ratio.get(group).filter(|_| off_hours) else {
            return self.relation_on_hours(&days, group, i);
        };
        let mut prior = [0.0; RELATIONS];
        let mut total = 0.0;
        for ((r, ratio), q) in ratios.iter().enumerate().zip(prior.iter_mut()) {
            *q = self.relation_on_hours(&days, group, r) * ratio;
            total += *q;
        }
        let prior = prior.get(i).copied().unwrap_or(0.0) / total.max(1e-300);
        match self.users.get(uid as usize) {
            Some(u) => {
                let own = &u.profile.relations_off;
                let alpha = self.user_strength(group, i, own.total());
                own.smoothed(i, prior, alpha)
            }
            None => prior,
        }
    }

    /// How many pseudo-accesses of the peer group's rate of rung `i` a user's own `n`
    /// accesses are weighed against: the empirical-Bayes pooling of the group (see
    /// [`Monitor::estimate_pooling`]), at least `user_prior_strength`, and never less than
    /// `relation_pooling` of the total weight.
    fn user_strength(&self, group: usize, i: usize, n: f64) -> f64 {
        let pooled = self
            .pooling
            .get(group)
            .and_then(|p| p.get(i))
            .copied()
            .unwrap_or(0.0);
        self.config
            .user_prior_strength
            .max(pooled)
            .max(self.config.relation_pooling * n / (1.0 - self.config.relation_pooling).max(1e-6))
    }

    /// The working-hours rung counts (all accesses less the off-hours ones) of a peer group
    /// and of a user, taken apart once per access rather than once per rung.
    fn on_hours(&self, uid: u32, group: usize) -> OnHours {
        OnHours {
            group: self
                .groups
                .get(group)
                .map(|g| g.relations.without(&g.relations_off)),
            user: self
                .users
                .get(uid as usize)
                .map(|u| u.profile.relations.without(&u.profile.relations_off)),
        }
    }

    /// P(rung | the peer group's legitimate work in working hours), smoothed towards the
    /// hospital's (all hours) and the uniform.
    fn group_relation(&self, days: &OnHours, i: usize) -> f64 {
        let uniform = 1.0 / RELATIONS as f64;
        let h = self
            .hospital
            .relations
            .smoothed(i, uniform, RELATIONS as f64);
        days.group
            .as_ref()
            .map(|g| {
                let pooled = self.group_pooling.get(i).copied().unwrap_or(0.0);
                g.smoothed(i, h, self.config.group_prior_strength.max(pooled))
            })
            .unwrap_or(h)
    }

    /// P(rung | this user's legitimate work in working hours), smoothed user -> group ->
    /// hospital -> uniform. Partial pooling with a bound: a user's own history never weighs
    /// more than 1 - relation_pooling against the peer group, so a few hundred accesses
    /// without an unlinked one cannot make unlinked work look 100 times rarer than for peers.
    fn relation_on_hours(&self, days: &OnHours, group: usize, i: usize) -> f64 {
        let g = self.group_relation(days, i);
        days.user
            .as_ref()
            .map(|own| own.smoothed(i, g, self.user_strength(group, i, own.total())))
            .unwrap_or(g)
    }

    /// Whether a local hour of a local day is off hours (evenings, nights and, when so
    /// configured, weekends; see [`MonitorConfig::off_hours_start`]).
    fn off_hours(&self, hour: usize, day: i64) -> bool {
        let (start, end) = (
            usize::from(self.config.off_hours_start),
            usize::from(self.config.off_hours_end),
        );
        let night = if start <= end {
            hour >= start && hour < end
        } else {
            hour >= start || hour < end
        };
        // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays, 5 and 6 on weekends.
        night || (self.config.off_hours_weekends && (day + 3).rem_euclid(7) >= 5)
    }

    /// Evidence of the hour under a stolen login (uniform hours) against the user's hours,
    /// smoothed user -> group -> hospital, and the user's share of activity at that hour.
    ///
    /// From a network address (not a named workstation) the user's hours are scaled by how
    /// much likelier the hospital's remote work falls in this hour than its work overall
    /// (renormalised over the day; the same standardised ratio as the night's effect on the
    /// rungs, see [`Monitor::estimate_night_ratios`]): reading results from home is evening
    /// and night work, so a physician's first evening at home is compared with when remote
    /// work happens, not with their daytime workstation hours.
    fn time_bits(&self, uid: u32, group: usize, hour: usize, remote: bool) -> Option<(f64, f64)> {
        let uniform = 1.0 / 24.0;
        let share_at = |h: usize| {
            let spread = 0.2;
            let hosp = self
                .hospital
                .hours
                .smoothed_circular(h, uniform, 24.0, spread);
            let g = self.groups.get(group).map_or(hosp, |g| {
                g.hours
                    .smoothed_circular(h, hosp, self.config.group_prior_strength, spread)
            });
            let user = self.users.get(uid as usize).map_or(g, |u| {
                u.profile
                    .hours
                    .smoothed_circular(h, g, self.config.user_prior_strength, spread)
            });
            (user, hosp)
        };
        let share = if remote {
            let n = self.remote_hours.total();
            let mut target = 0.0;
            let mut total = 0.0;
            for h in 0..24 {
                let (user, hosp) = share_at(h);
                let ratio = (NIGHT_RATIO_PRIOR + self.remote_hours.count(h))
                    / (NIGHT_RATIO_PRIOR + n * hosp);
                let q = user * ratio;
                total += q;
                if h == hour {
                    target = q;
                }
            }
            target / total.max(1e-300)
        } else {
            share_at(hour).0
        };
        // A stolen login is used at any hour: P(hour | compromised) is uniform.
        let bits = log2(uniform / share.max(1e-9)).clamp(-4.0, 8.0);
        Some((bits, share))
    }

    fn bulk_evidence(
        &self,
        uid: u32,
        group: usize,
        hour_count: u32,
        day_count: u32,
    ) -> Option<Evidence> {
        let user = self.users.get(uid as usize)?;
        let grp = self.groups.get(group);
        let hospital_hour = shrink_default(&self.hospital.peak_hour, (20f64.ln_1p(), 1.0));
        let hospital_day = shrink_default(&self.hospital.peak_day, (40f64.ln_1p(), 1.0));
        let group_hour = grp.map_or(hospital_hour, |g| g.peak_hour.shrunk(hospital_hour, 3.0));
        let group_day = grp.map_or(hospital_day, |g| g.peak_day.shrunk(hospital_day, 3.0));
        let (mh, vh) = user.profile.peak_hour.shrunk(group_hour, 3.0);
        let (md, vd) = user.profile.peak_day.shrunk(group_day, 3.0);
        let min = self.config.bulk_min_patients;
        // Laplace tail in log space: -log2 P(X >= x) = 1 + z / ln 2 for z > 0.
        let tail = |count: u32, mean: f64, var: f64| -> f64 {
            if count < min {
                return 0.0;
            }
            let sd = var.sqrt().max(0.4);
            let z = (f64::from(count).ln_1p() - mean) / sd;
            ((z - 1.0) / LN2).clamp(0.0, 20.0)
        };
        let bh = tail(hour_count, mh, vh);
        let bd = tail(day_count, md, vd);
        let (bits, count, hour, usual) = if bh >= bd {
            (bh, hour_count, true, mh.exp_m1())
        } else {
            (bd, day_count, false, md.exp_m1())
        };
        (bits > 0.0).then_some(Evidence {
            reason: Reason::Bulk,
            hypothesis: Hypothesis::Both,
            bits,
            detail: Detail::Volume { count, hour, usual },
        })
    }

    /// Learns the relationship and flag rates of legitimate work from this access, weighted
    /// by its probability of being legitimate (`MonitorConfig::legit_weight_midpoint_bits`).
    fn learn_rates(&mut self, l: &Learned) {
        let w = l.legit_weight;
        let wf = w as f32;
        if let Some(r) = l.relation {
            let i = r.index();
            if let Some(u) = self.users.get_mut(l.uid as usize) {
                u.profile.relations.add_weighted(i, wf);
                if l.off_hours {
                    u.profile.relations_off.add_weighted(i, wf);
                }
            }
            if let Some(g) = self.groups.get_mut(l.group) {
                g.relations.add_weighted(i, wf);
                if l.off_hours {
                    g.relations_off.add_weighted(i, wf);
                }
            }
            self.hospital.relations.add_weighted(i, wf);
        }
        let exposure: [f64; FLAGS] = FLAG_LIST.map(|f| {
            f.exposure()
                .map_or(1.0, |k| self.exposure.relative(l.staff, k))
        });
        // An access carrying a flag teaches that flag's rates with its flag weight.
        let flagged = l.flags.iter().zip(l.flag_weight).zip(exposure);
        if let Some(rates) = self.flags_legit_today.get_mut(stratum(l.relation)) {
            for (rate, ((&hit, wf), x)) in rates.iter_mut().zip(flagged.clone()) {
                rate.add_exposed(hit, wf, x);
            }
        }
        let key = (
            u32::try_from(l.group).unwrap_or(u32::MAX),
            stratum(l.relation) as u8,
        );
        let rates = self
            .flags_group_today
            .entry(key)
            .or_insert([Rate::default(); FLAGS]);
        for (rate, ((&hit, wf), x)) in rates.iter_mut().zip(flagged) {
            rate.add_exposed(hit, wf, x);
        }
        if let Some(hit) = l.place_serves {
            if self.place_served.len() <= l.group {
                self.place_served.resize(l.group + 1, [0.0; 2]);
            }
            let user = self
                .users
                .get_mut(l.uid as usize)
                .map(|u| &mut u.place_served);
            let group = self.place_served.get_mut(l.group);
            for c in [Some(&mut self.place_served_hospital), group, user]
                .into_iter()
                .flatten()
            {
                c[0] += if hit { w } else { 0.0 };
                c[1] += w;
            }
        }
        if let (Some(r), Some(d)) = (l.relation, l.target_dept) {
            if matches!(
                r,
                Relation::OtherStarting | Relation::OtherCurrent | Relation::OtherRecent
            ) {
                *self
                    .reach
                    .entry(pair(l.group as u32, u32::from(d)))
                    .or_insert(0.0) += w;
                *self.reach_total.entry(l.group as u32).or_insert(0.0) += w;
                if let Some(u) = self.users.get_mut(l.uid as usize) {
                    add_weight(&mut u.reach, d, w);
                    u.reach_total += w;
                }
            }
        }
    }

    /// Closes the user's previous day: its legitimate peaks become history.
    fn roll_day(&mut self, uid: u32, group: usize, day: i64) {
        let Some(u) = self.users.get_mut(uid as usize) else {
            return;
        };
        if day <= u.day {
            return;
        }
        if u.day_has_legit {
            let ph = f64::from(u.day_legit_peak_hour).ln_1p();
            let pd = f64::from(u.day_legit_total).ln_1p();
            u.profile.peak_hour.add(ph);
            u.profile.peak_day.add(pd);
            if let Some(g) = self.groups.get_mut(group) {
                g.peak_hour.add(ph);
                g.peak_day.add(pd);
            }
            self.hospital.peak_hour.add(ph);
            self.hospital.peak_day.add(pd);
        }
        u.day = day;
        u.day_patients.clear();
        u.day_legit_peak_hour = 0;
        u.day_legit_total = 0;
        u.day_has_legit = false;
        u.day_alert_learned.clear();
        u.places_today.clear();
        u.hours_today = [0.0; 24];
        // A habit is what recurs on several days: today's hours and places count for the
        // user from tomorrow on, so a burst (a stolen login harvesting at night from a new
        // address) is judged in full against the habits it broke, not against itself.
        u.profile.hours.absorb(&mut u.today.hours);
        u.profile.locations.absorb(&mut u.today.locations);
        for (a, w) in u.activity_today.drain() {
            *u.activity.entry(a).or_insert(0.0) += w;
            u.activity_total += w;
        }
    }

    /// Slides the user's window; returns distinct patients in the window and today.
    fn track_volume(&mut self, uid: u32, patient: Option<u32>, t: i64) -> (u32, u32) {
        let span = self.config.bulk_window_secs;
        let Some(u) = self.users.get_mut(uid as usize) else {
            return (0, 0);
        };
        while let Some(&(old_t, old_p)) = u.window.front() {
            if t - old_t < span {
                break;
            }
            u.window.pop_front();
            if let Some(c) = u.in_window.get_mut(&old_p) {
                *c -= 1;
                if *c == 0 {
                    u.in_window.remove(&old_p);
                }
            }
        }
        if let Some(p) = patient {
            u.window.push_back((t, p));
            *u.in_window.entry(p).or_insert(0) += 1;
            u.day_patients.insert(p);
        }
        (
            u32::try_from(u.in_window.len()).unwrap_or(u32::MAX),
            u32::try_from(u.day_patients.len()).unwrap_or(u32::MAX),
        )
    }

    /// Learns from one access. How often each rung and flag occurs is learned from every
    /// access (a snooper's few accesses barely move a peer group's rates, and a hospital where
    /// some legitimate work has no recorded link must be able to learn that). Behaviour
    /// baselines and the links that legitimise later accesses learn only from accesses that did
    /// not alert, so an ongoing attack neither becomes "usual" nor creates its own alibi.
    /// Learns from an assessed access. Rates, hours and places learn from every access weighted
    /// by its probability of being legitimate (so a habit that first looked odd, a physician
    /// reading from home every evening, becomes usual after a few days, while an attack
    /// scoring far above the threshold teaches almost nothing); daily volumes and the links
    /// that legitimise later accesses (earlier access, team) learn only from accesses that did
    /// not alert, so an attack can never create its own alibi.
    fn learn(&mut self, alert: bool, l: Learned) {
        // An alerting access teaches each thing (its rung and flags, its hour, its place) at
        // most once per user and day: a burst (a harvest, a snooping session) is one piece of
        // evidence about what is routine, however many records it opens.
        let fresh = |u: &mut UserState, what: u64| !alert || u.day_alert_learned.insert(what);
        let Some(u) = self.users.get_mut(l.uid as usize) else {
            return;
        };
        let flag_bits = l
            .flags
            .iter()
            .enumerate()
            .fold(0u64, |m, (i, &f)| m | (u64::from(f) << i));
        let rung = l.relation.map_or(u64::MAX, |r| r.index() as u64);
        let learn_rates = fresh(u, key(&(0u8, rung, flag_bits)));
        let learn_hour = fresh(u, key(&(1u8, l.hour)));
        let learn_place = l
            .location
            .is_some_and(|(level, keys)| fresh(u, key(&(2u8, level, keys[0]))));
        // A look is one draw of a rung: its later items teach how deep looks go, not rates.
        let continuation = l.look_items.is_some_and(|k| k > 1);
        if learn_rates && !continuation {
            self.learn_rates(&l);
        }
        let w = l.legit_weight;
        if let (Some(items), Some(r)) = (
            l.look_items.filter(|&k| k as usize <= LOOK_DEPTHS),
            l.relation,
        ) {
            if let Some(n) = self
                .look_depths
                .get_mut(r.index())
                .and_then(|d| d.get_mut(items as usize - 1))
            {
                *n += w;
            }
        }
        if let (Some(place), Some(u)) = (l.place, self.users.get_mut(l.uid as usize)) {
            let known = u.places.iter().any(|(k, _)| *k == place);
            if !known && u.places.len() >= PLACE_MAX_PER_USER {
                if let Some(i) = u
                    .places
                    .iter()
                    .enumerate()
                    .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
                    .map(|(i, _)| i)
                {
                    u.places.swap_remove(i);
                }
            }
            add_weight(&mut u.places, place, w as f32);
        }
        let room = |m: &Self, p: u64| {
            m.place_depts.len() + m.place_depts_today.len() < MAX_PLACES
                || m.place_depts.contains_key(&p)
                || m.place_depts_today.contains_key(&p)
        };
        if let (Some(place), Some(d)) = (l.place.filter(|&p| room(self, p)), l.target_dept) {
            add_weight(
                self.place_depts_today.entry(place).or_default(),
                d,
                w as f32,
            );
        }
        if let Some(a) = l.activity {
            let g = activity_unit(l.group);
            if !self.activity.contains_key(&(HOSPITAL, a)) {
                self.activity_kinds += 1;
            }
            for unit in [g, HOSPITAL] {
                *self.activity.entry((unit, a)).or_insert(0.0) += w;
                *self.activity_total.entry(unit).or_insert(0.0) += w;
            }
            if let Some(u) = self.users.get_mut(l.uid as usize) {
                *u.activity_today.entry(a).or_insert(0.0) += w as f32;
            }
        }
        let wf = w as f32;
        let Some(u) = self.users.get_mut(l.uid as usize) else {
            return;
        };
        // An hour of the day is a habit of days, like a place: each hour a user works in
        // counts at most once a day (its accesses' legitimate weights add up to one), so a
        // shift of 400 accesses is not 400 observations that the user never works at night,
        // and a role whose members take a night now and then shows it in its hours.
        let hour_weight = if learn_hour {
            u.hours_today.get_mut(l.hour).map_or(0.0, |today| {
                let add = wf.min(1.0 - *today).max(0.0);
                *today += add;
                add
            })
        } else {
            0.0
        };
        if hour_weight > 0.0 {
            let wf = hour_weight;
            u.today.hours.add_weighted(l.hour, wf);
            if let Some(g) = self.groups.get_mut(l.group) {
                g.hours.add_weighted(l.hour, wf);
            }
            self.hospital.hours.add_weighted(l.hour, wf);
            if l.remote {
                self.remote_hours.add_weighted(l.hour, wf);
            }
        }
        if let Some((level, keys)) = l.location.filter(|_| learn_place) {
            // On the stream's first day every address is new to everyone: record the
            // addresses, but do not learn that "new" is normal.
            if !l.first_day && l.place_first {
                u.today.locations.add_weighted(level, wf);
                if let Some(g) = self.group_places_today.get_mut(l.group) {
                    g.add_weighted(level, wf);
                }
                self.hospital_places_today.add_weighted(level, wf);
            }
            // An address is known once accesses from it add up to half a legitimate one.
            for k in keys.into_iter().filter(|&k| k != 0) {
                let e = self.seen_addresses.entry(k).or_insert((0.0, i64::MAX));
                e.0 += wf;
                if e.0 >= 0.5 && e.1 == i64::MAX {
                    e.1 = l.day;
                }
            }
        }
        if let Some((class, level)) = l.collab {
            self.collab
                .learn_legit(l.group, class, level, l.legit_weight);
        }
        if alert {
            return;
        }
        u.day_has_legit = true;
        u.day_legit_peak_hour = u
            .day_legit_peak_hour
            .max(u32::try_from(u.in_window.len()).unwrap_or(u32::MAX));
        u.day_legit_total = u32::try_from(u.day_patients.len()).unwrap_or(u32::MAX);
        if let Some(p) = l.patient {
            if self.config.collaborator_evidence {
                self.collab.observe(l.uid, p, l.t);
            }
            if self.prior_access.insert(pair(l.uid, p), l.t).is_none() {
                u.distinct_patients = u.distinct_patients.saturating_add(1);
            }
            if let Some(d) = l.dept {
                if self
                    .team_access
                    .insert(pair(u32::from(d), p), l.t)
                    .is_none()
                {
                    *self.dept_touched.entry(d).or_insert(0) += 1;
                }
            }
        }
    }
}

struct Learned {
    uid: u32,
    staff: Option<u32>,
    group: usize,
    dept: Option<u16>,
    patient: Option<u32>,
    t: i64,
    hour: usize,
    /// The access was made off hours (its rung also counts in the off-hours rates).
    off_hours: bool,
    /// The access came from a network address (its hour also counts in the remote hours).
    remote: bool,
    relation: Option<Relation>,
    location: Option<(usize, [u64; 4])>,
    /// The access is the user's first from this place today (its level counts once a day).
    place_first: bool,
    flags: [bool; FLAGS],
    day: i64,
    first_day: bool,
    target_dept: Option<u16>,
    /// The place (address key) it came from.
    place: Option<u64>,
    /// For an access to another department's patient: whether its place serves that
    /// department (see [`Monitor::place_bits`]).
    place_serves: Option<bool>,
    /// The access's place in an unexplained look (1: it opened the look), if any.
    look_items: Option<u32>,
    /// The rung class and collaboration level the access found (see `collab.rs`).
    collab: Option<(usize, usize)>,
    /// What part of a patient's record it touched (see [`Monitor::activity_evidence`]).
    activity: Option<u64>,
    /// Probability that the access was legitimate: its weight in the learned rates.
    legit_weight: f64,
    /// Per flag, its weight in that flag's rates: for a flag the access carries, the same
    /// probability judged without the flag's own evidence; otherwise `legit_weight`.
    flag_weight: [f64; FLAGS],
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

fn log2(x: f64) -> f64 {
    x.max(1e-300).log2()
}

fn shrink_default(s: &Stats, default: (f64, f64)) -> (f64, f64) {
    s.shrunk(default, 10.0)
}

/// Rung classes the collaborator evidence learns apart.
const COLLAB_CLASSES: usize = 6;
/// Collaborator evidence the explanation mentions (either way).
const COLLAB_NAMED_BITS: f64 = 0.5;

/// The collaborator evidence's class of a rung: the weak rungs, where nothing in the context
/// explains the access (see `collab.rs`).
fn collab_class(rel: Relation) -> Option<usize> {
    match rel {
        Relation::Team => Some(0),
        Relation::OtherStarting => Some(1),
        Relation::OtherCurrent => Some(2),
        Relation::OtherRecent => Some(3),
        Relation::Past => Some(4),
        Relation::None => Some(5),
        _ => None,
    }
}

/// What a relationship-blind access looks like here: sample random (staff, patient, time)
/// triples from the context and count the rungs they land on.
fn null_model(
    world: &World,
    w: &Windows,
    known: &[u32],
    samples: u32,
    patients: f64,
) -> ([f64; RELATIONS], Vec<f64>) {
    let mut counts = [0.5f64; RELATIONS];
    let mut depts = vec![0.5f64; world.dept_names.len()];
    let staff_n = world.staff.len() as u64;
    let (t0, t1) = world.time_span;
    if staff_n > 0 && !known.is_empty() && t1 > t0 {
        let mut rng = SplitMix(0x005e_ed0f_ca5e);
        for _ in 0..samples {
            let s = u32::try_from(rng.next() % staff_n).unwrap_or(0);
            let idx = usize::try_from(rng.next() % known.len() as u64).unwrap_or(0);
            let p = known.get(idx).copied().unwrap_or(0);
            let span = u64::try_from(t1 - t0).unwrap_or(1).max(1);
            let t = t0 + i64::try_from(rng.next() % span).unwrap_or(0);
            let dept = world.staff.get(s as usize).and_then(|st| st.dept);
            let link = static_link(world, Some(s), dept, p, t, w);
            if let Some(c) = counts.get_mut(link.relation.index()) {
                *c += 1.0;
            }
            if matches!(
                link.relation,
                Relation::OtherStarting | Relation::OtherCurrent | Relation::OtherRecent
            ) {
                if let Some(c) = link.dept.and_then(|d| depts.get_mut(usize::from(d))) {
                    *c += 1.0;
                }
            }
        }
    } else {
        counts[Relation::None.index()] += f64::from(samples);
    }
    let total: f64 = counts.iter().sum();
    let floor = 0.5 / patients;
    let dept_total: f64 = depts.iter().sum();
    let depts = depts.iter().map(|c| c / dept_total.max(1.0)).collect();
    (counts.map(|c| (c / total).max(floor)), depts)
}

/// Per department: the average number of patients it treats at once over the context's span,
/// counting each episode as current from `lead_secs` before it starts to `tail_secs` after it
/// ends (as the "department treats the patient now" rung does).
fn census(world: &World, w: &Windows) -> Vec<f64> {
    let mut busy = vec![0.0f64; world.dept_names.len()];
    let (t0, t1) = world.time_span;
    let span = (t1 - t0).max(DAY) as f64;
    for e in &world.episodes {
        let Some(slot) = e.dept.and_then(|d| busy.get_mut(usize::from(d))) else {
            continue;
        };
        let from = e.start.saturating_sub(w.lead_secs).max(t0);
        let to = e.end.saturating_add(w.tail_secs).min(t1.max(t0 + DAY));
        if to > from {
            *slot += (to - from) as f64;
        }
    }
    busy.iter().map(|b| b / span).collect()
}

/// A tiny deterministic generator for the null model and the collaborator evidence's blind
/// samples (no dependency needed for uniform draws).
#[derive(Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
