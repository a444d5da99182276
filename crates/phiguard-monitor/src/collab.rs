//! Collaborators: who works with whom, learned from the access stream.
//!
//! Clinical work is shared. The physician who consults on a ward's patient, the nurse who
//! covers a colleague's bay, the registrar who admits for a department: each opens a record
//! that people they regularly work with have opened in the days before. Explanation-based
//! auditing (Fabbri and LeFevre, VLDB 2011) and relational insider detection (Chen and Malin,
//! CODASPY 2011) use exactly this: an access is explained when the user's collaborators, learned
//! from who opens the same records, have been treating the patient. A snooper's pick of patient
//! ignores who the snooper works with.
//!
//! This module keeps, for each patient, the last few users whose accesses did not alert, and
//! for each pair of users how many patients they both opened within a [`window`] of each other
//! (`window` is `MonitorConfig::collaborator_window_secs`). An access's *collaboration* is the
//! strongest tie (cosine of the two users' shared patients) between the user and anyone who
//! opened the patient's record in the window, in one of [`BUCKETS`] levels. The monitor learns
//! how often legitimate work on each weak rung (another department's patient, colleagues' work,
//! a former patient, none) finds each level, and how often a relationship-blind pick on the
//! same rung does (random patients drawn from the stream as it goes), per peer group smoothed
//! towards the hospital; the evidence is the log-ratio of the two, so it is silent where the
//! hospital's structure makes the signal useless (where everyone works with everyone) and
//! speaks where it separates.
//!
//! [`window`]: Collaborators::new

use rustc_hash::FxHashMap;

/// Levels of the strongest tie: none, weak, moderate, strong.
pub const BUCKETS: usize = 4;
/// Cosine similarity edges between the levels above "none".
const EDGES: [f32; BUCKETS - 2] = [0.03, 0.1];
/// Most recent distinct users remembered per patient.
const MAX_RECENT: usize = 12;
/// Pseudo-observations pulling each learned distribution towards the one below it (a peer
/// group's towards the hospital's, the legitimate towards the blind, the blind towards
/// uniform), so a rung or a group with little history gives little or no evidence.
const PRIOR: f64 = 20.0;
/// Blind samples a rung needs before its evidence counts.
const MIN_NULL: f64 = 40.0;
/// Most evidence either way.
const MAX_BITS: f64 = 4.0;

/// Who works with whom, and what legitimate and blind accesses find (see the module docs).
#[derive(Debug, Default)]
pub struct Collaborators {
    window: i64,
    /// Patient -> recent users (uid, last access), most recent first.
    recent: FxHashMap<u32, Vec<(u32, i64)>>,
    /// Unordered user pair -> patients both opened within the window of each other.
    shared: FxHashMap<u64, f32>,
    /// Per user: patients counted (the squared norm of the user's 0/1 vector of patients, as
    /// the cosine of two users' vectors needs it).
    patients: Vec<f32>,
    /// Per rung class and level: legitimate-weighted accesses.
    legit: Vec<[f64; BUCKETS]>,
    /// Per rung class and level: relationship-blind samples.
    blind: Vec<[f64; BUCKETS]>,
    /// Per peer group and rung class: the same counts for the group's users.
    group_legit: FxHashMap<u64, [f64; BUCKETS]>,
    group_blind: FxHashMap<u64, [f64; BUCKETS]>,
}

/// The key of a peer group's counts on a rung class.
fn group_key(group: usize, class: usize) -> u64 {
    ((group as u64) << 8) | class as u64
}

/// Adds `w` to the hospital's and the peer group's counts of a (group, rung class, level).
fn add(
    hospital: &mut [[f64; BUCKETS]],
    groups: &mut FxHashMap<u64, [f64; BUCKETS]>,
    (group, class, level): (usize, usize, usize),
    w: f64,
) {
    if let Some(c) = hospital.get_mut(class).and_then(|r| r.get_mut(level)) {
        *c += w;
    }
    if let Some(c) = groups
        .entry(group_key(group, class))
        .or_default()
        .get_mut(level)
    {
        *c += w;
    }
}

fn key(a: u32, b: u32) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    (u64::from(hi) << 32) | u64::from(lo)
}

impl Collaborators {
    /// An empty model over `classes` rung classes, ties counted within `window` seconds.
    pub fn new(window: i64, classes: usize) -> Self {
        Collaborators {
            window,
            legit: vec![[0.0; BUCKETS]; classes],
            blind: vec![[0.0; BUCKETS]; classes],
            ..Collaborators::default()
        }
    }

    /// The level of the strongest tie between `uid` and anyone who opened `patient`'s record
    /// in the window before `t`: 0 when nobody the user has shared a patient with did.
    pub fn level(&self, uid: u32, patient: u32, t: i64) -> usize {
        let Some(recent) = self.recent.get(&patient) else {
            return 0;
        };
        let mine = self.patients.get(uid as usize).copied().unwrap_or(0.0);
        if mine <= 0.0 {
            return 0;
        }
        let best = recent
            .iter()
            .filter(|&&(v, tv)| v != uid && t - tv <= self.window)
            .filter_map(|&(v, _)| {
                let shared = self.shared.get(&key(uid, v)).copied()?;
                let theirs = self.patients.get(v as usize).copied().unwrap_or(0.0);
                Some(shared / (mine * theirs).sqrt().max(1.0))
            })
            .fold(0.0f32, f32::max);
        if best <= 0.0 {
            0
        } else {
            1 + EDGES.iter().filter(|&&e| best >= e).count()
        }
    }

    /// Records an access that did not alert: the user joins the patient's recent users, and
    /// if this is the user's first access to the patient in the window, every recent user of
    /// it gains a shared patient with them.
    pub fn observe(&mut self, uid: u32, patient: u32, t: i64) {
        let window = self.window;
        let recent = self.recent.entry(patient).or_default();
        let mut fresh = true;
        if let Some(i) = recent.iter().position(|&(v, _)| v == uid) {
            let (_, last) = recent.remove(i);
            fresh = t - last > window;
        }
        if fresh {
            for &(v, tv) in recent.iter() {
                if t - tv <= window {
                    *self.shared.entry(key(uid, v)).or_insert(0.0) += 1.0;
                }
            }
            let i = uid as usize;
            if self.patients.len() <= i {
                self.patients.resize(i + 1, 0.0);
            }
            if let Some(n) = self.patients.get_mut(i) {
                *n += 1.0;
            }
        }
        recent.insert(0, (uid, t));
        recent.truncate(MAX_RECENT);
    }

    /// Forgets the recent users of patients nobody has opened for the window and a day
    /// (a day's margin for events that arrive out of order): they can no longer be anyone's
    /// collaborator on the record, so memory follows the patients in active care.
    pub fn prune(&mut self, t: i64) {
        let keep = self.window.saturating_add(86_400);
        self.recent
            .retain(|_, r| r.first().is_some_and(|&(_, last)| t - last <= keep));
    }

    /// Pairs of users with a shared patient (and patients with recent users): the state this
    /// model keeps, which grows with the hospital's working relationships, not with events.
    pub fn pairs(&self) -> usize {
        self.shared.len() + self.recent.len()
    }

    /// Counts a legitimate-weighted access by a user of peer group `group` on rung class
    /// `class` at `level`.
    pub fn learn_legit(&mut self, group: usize, class: usize, level: usize, weight: f64) {
        add(
            &mut self.legit,
            &mut self.group_legit,
            (group, class, level),
            weight,
        );
    }

    /// Counts a relationship-blind sample for a user of peer group `group` on rung class
    /// `class` at `level`.
    pub fn learn_blind(&mut self, group: usize, class: usize, level: usize) {
        add(
            &mut self.blind,
            &mut self.group_blind,
            (group, class, level),
            1.0,
        );
    }

    /// log2 P(level | blind pick on this rung) / P(level | legitimate work on it) for a user
    /// of peer group `group`, within ±`MAX_BITS` (4); 0 until the rung has `MIN_NULL` (40) blind
    /// samples hospital-wide. The group's rates are smoothed towards the hospital's, the
    /// legitimate towards the blind, the blind towards uniform.
    pub fn bits(&self, group: usize, class: usize, level: usize) -> f64 {
        let (Some(blind), Some(legit)) = (self.blind.get(class), self.legit.get(class)) else {
            return 0.0;
        };
        let nb: f64 = blind.iter().sum();
        if nb < MIN_NULL {
            return 0.0;
        }
        let smooth = |counts: Option<&[f64; BUCKETS]>, prior: f64| {
            counts.map_or(prior, |c| {
                let n: f64 = c.iter().sum();
                (c.get(level).copied().unwrap_or(0.0) + PRIOR * prior) / (n + PRIOR)
            })
        };
        let uniform = 1.0 / BUCKETS as f64;
        let p_blind = smooth(Some(blind), uniform);
        let p_legit = smooth(Some(legit), p_blind);
        let k = group_key(group, class);
        let g_blind = smooth(self.group_blind.get(&k), p_blind);
        let g_legit = smooth(self.group_legit.get(&k), p_legit);
        (g_blind / g_legit).log2().clamp(-MAX_BITS, MAX_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn users_who_share_patients_are_collaborators() {
        let mut c = Collaborators::new(7 * DAY, 1);
        // Users 1 and 2 both open patients 10..20; user 3 opens 30..40 alone.
        for p in 10..20 {
            c.observe(1, p, p as i64 * 100);
            c.observe(2, p, p as i64 * 100 + 50);
        }
        for p in 30..40 {
            c.observe(3, p, p as i64 * 100);
        }
        // Patient 50 was opened by user 2: a strong tie for user 1, none for user 3.
        c.observe(2, 50, 5_000);
        assert_eq!(c.level(1, 50, 6_000), BUCKETS - 1);
        assert_eq!(c.level(3, 50, 6_000), 0);
        // Outside the window the tie no longer speaks for the access.
        assert_eq!(c.level(1, 50, 5_000 + 8 * DAY), 0);
        // A user's own earlier access is not a collaborator's.
        assert_eq!(c.level(2, 50, 6_000), 0);
    }

    #[test]
    fn a_repeat_access_in_the_window_adds_no_shared_patient() {
        let mut c = Collaborators::new(7 * DAY, 1);
        c.observe(1, 10, 0);
        c.observe(2, 10, 10);
        c.observe(2, 10, 20);
        c.observe(1, 10, 30);
        assert_eq!(c.shared.get(&key(1, 2)).copied(), Some(1.0));
        assert_eq!(c.patients.get(2).copied(), Some(1.0));
        // Each patient remembers at most MAX_RECENT users.
        for u in 0..40 {
            c.observe(u, 11, 100 + i64::from(u));
        }
        assert_eq!(c.recent.get(&11).map(Vec::len), Some(MAX_RECENT));
        // Records nobody opened for the window and a day are forgotten, the others kept.
        c.prune(100 + 8 * DAY - 1);
        assert!(c.recent.contains_key(&11));
        c.prune(200 + 8 * DAY);
        assert!(c.recent.is_empty());
    }

    #[test]
    fn evidence_is_the_learned_ratio_and_silent_without_history() {
        let mut c = Collaborators::new(7 * DAY, 2);
        assert_eq!(c.bits(0, 0, 0), 0.0);
        // Rung 0: blind picks find no collaborator 80% of the time, legitimate work 10%.
        for i in 0..1000 {
            c.learn_blind(0, 0, usize::from(i % 10 >= 8) * 3);
            c.learn_legit(0, 0, usize::from(i % 10 >= 1) * 3, 1.0);
        }
        // (The prior of PRIOR pseudo-observations pulls each estimate a little: 2.8 and -2.1.)
        let none = c.bits(0, 0, 0);
        let strong = c.bits(0, 0, 3);
        assert!((none - (0.8f64 / 0.1).log2()).abs() < 0.3, "{none}");
        assert!((strong - (0.2f64 / 0.9).log2()).abs() < 0.3, "{strong}");
        // Rung 1: both find the same: no evidence.
        for i in 0..1000 {
            c.learn_blind(0, 1, i % BUCKETS);
            c.learn_legit(0, 1, i % BUCKETS, 1.0);
        }
        assert!(c.bits(0, 1, 0).abs() < 0.05);
        assert!(c.bits(0, 1, 3).abs() < 0.05);
    }
}
