//! Relationship evidence: how the user is linked to the patient at the time of access.
//!
//! The links form a ladder from strongest to weakest; an access takes the first rung that holds.
//! Rungs that depend on the context alone (care team, the user's department treating the
//! patient, the patient being treated elsewhere) are computed from the patient's episodes; rungs
//! learned from the stream (this user opened the record before; colleagues from the user's
//! department are working on the patient) are supplied by the engine.

use crate::world::{Episode, World};

/// Seconds in one day.
pub(crate) const DAY: i64 = 86_400;

/// How the user relates to the patient when the access happens, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relation {
    /// On the care team of an encounter (or CareTeam) that is current.
    CareCurrent = 0,
    /// On the care team of an encounter that ended recently or starts soon.
    CareRecent,
    /// The user's department treats the patient now.
    DeptCurrent,
    /// The user's department treated the patient recently or will soon.
    DeptRecent,
    /// On the care team of an older encounter (a former patient).
    CarePast,
    /// The user's department treated the patient before, with the user on none of those
    /// encounters (a clinic's panel: a refill or a portal message months after a visit).
    DeptPast,
    /// The user opened this record before, without raising an alert.
    Prior,
    /// Colleagues of the user's department worked on this patient in the last days.
    Team,
    /// The patient's episode in another department is just starting (registration, admission).
    OtherStarting,
    /// The patient is being treated now, in another department.
    OtherCurrent,
    /// The patient was treated recently (or is scheduled), in another department.
    OtherRecent,
    /// The patient has only older encounters.
    Past,
    /// Nothing links anyone to this patient around this time (or the patient is unknown).
    None,
}

/// Number of rungs.
pub const RELATIONS: usize = 13;

impl Relation {
    /// All rungs, strongest first.
    pub const ALL: [Relation; RELATIONS] = [
        Relation::CareCurrent,
        Relation::CareRecent,
        Relation::DeptCurrent,
        Relation::DeptRecent,
        Relation::CarePast,
        Relation::DeptPast,
        Relation::Prior,
        Relation::Team,
        Relation::OtherStarting,
        Relation::OtherCurrent,
        Relation::OtherRecent,
        Relation::Past,
        Relation::None,
    ];

    /// Index 0..RELATIONS.
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short code for output (`care-current`, `dept-recent`, ..., `none`).
    pub fn code(self) -> &'static str {
        match self {
            Relation::CareCurrent => "care-current",
            Relation::CareRecent => "care-recent",
            Relation::DeptCurrent => "dept-current",
            Relation::DeptRecent => "dept-recent",
            Relation::CarePast => "care-past",
            Relation::DeptPast => "dept-past",
            Relation::Prior => "prior-access",
            Relation::Team => "team",
            Relation::OtherStarting => "other-starting",
            Relation::OtherCurrent => "other-current",
            Relation::OtherRecent => "other-recent",
            Relation::Past => "past",
            Relation::None => "none",
        }
    }

    /// Whether this rung is a direct clinical link of the user: a care team, or the user's
    /// department treating the patient now or recently (not its former patients, `DeptPast`).
    pub fn is_direct(self) -> bool {
        self <= Relation::CarePast
    }

    /// A static rung that means the patient is under care now, recently or soon (whoever
    /// treats them): what an admission-triggered snooper lands on.
    pub fn is_under_care(self) -> bool {
        matches!(
            self,
            Relation::CareCurrent
                | Relation::CareRecent
                | Relation::DeptCurrent
                | Relation::DeptRecent
                | Relation::OtherStarting
                | Relation::OtherCurrent
                | Relation::OtherRecent
        )
    }
}

/// Time windows that define "current", "recent" and "soon" (see `MonitorConfig`).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// Before an episode starts, it counts as current this long (registration, pre-op).
    pub lead_secs: i64,
    /// After an episode ends, it counts as current this long (discharge paperwork).
    pub tail_secs: i64,
    /// After an episode ends, it counts as recent this long (billing, coding, follow-up).
    pub recent_secs: i64,
    /// Before an episode starts, it counts as "soon" this long (scheduling).
    pub soon_secs: i64,
    /// After a patient died in an episode, it counts as recent this long for its care team and
    /// department (mortality review, the death audit).
    pub death_review_secs: i64,
}

impl Default for Windows {
    /// The windows of the default configuration.
    fn default() -> Self {
        let c = crate::config::MonitorConfig::default();
        Windows {
            lead_secs: c.encounter_lead_secs,
            tail_secs: c.encounter_tail_secs,
            recent_secs: c.encounter_recent_secs,
            soon_secs: c.encounter_soon_secs,
            death_review_secs: c.death_review_secs,
        }
    }
}

/// What the context says about a (user, patient, time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticLink {
    /// The strongest context-only rung (never `Prior` or `Team`).
    pub relation: Relation,
    /// The department of the most relevant current (or recent) episode, for explanations.
    pub dept: Option<u16>,
    /// The patient has a current emergency encounter.
    pub emergency: bool,
    /// Days since the end of the latest finished episode (for explanations).
    pub days_since_last: Option<i64>,
    /// The rung is the link of a stay the patient died in, to its care team or department,
    /// while the death's review window (`death_review_secs`) is open: the time since the death
    /// is then no evidence, and the explanation says so.
    pub death_review: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Starting,
    Current,
    Recent,
    Past,
    Future,
}

fn phase(e: &Episode, t: i64, w: &Windows) -> Phase {
    let start = e.start;
    let end = e.end;
    if start != i64::MIN && t < start.saturating_sub(w.lead_secs) {
        if t >= start.saturating_sub(w.soon_secs) {
            return Phase::Recent;
        }
        return Phase::Future;
    }
    if start != i64::MIN && t <= start.saturating_add(w.lead_secs) {
        Phase::Starting
    } else if t <= end.saturating_add(w.tail_secs) {
        Phase::Current
    } else if t <= end.saturating_add(w.recent_secs) {
        Phase::Recent
    } else {
        Phase::Past
    }
}

/// Computes the context-only link of `staff` (and their department) to `patient` at time `t`.
pub fn static_link(
    world: &World,
    staff: Option<u32>,
    dept: Option<u16>,
    patient: u32,
    t: i64,
    w: &Windows,
) -> StaticLink {
    let me = staff.and_then(|s| world.staff.get(s as usize));
    let mut best = Relation::None;
    let mut best_dept = None;
    let mut emergency = false;
    let mut days_since_last: Option<i64> = None;
    let mut death_review = false;
    for e in world.episodes_of(patient) {
        let ph = phase(e, t, w);
        if ph == Phase::Future {
            continue;
        }
        let current = matches!(ph, Phase::Starting | Phase::Current);
        if current && e.emergency {
            emergency = true;
        }
        if !current && e.end != i64::MAX && e.end <= t {
            let d = (t - e.end) / DAY;
            days_since_last = Some(days_since_last.map_or(d, |x: i64| x.min(d)));
        }
        let on_team = staff.is_some_and(|s| e.staff.contains(&s));
        let same_dept = (dept.is_some() && e.dept == dept)
            || e.dept
                .is_some_and(|d| me.is_some_and(|m| m.other_depts.contains(&d)));
        // The care team and department of the stay in which the patient died keep a reason to
        // open the record for a while after any stay's "recent" window: mortality and morbidity
        // review, the death audit, the coroner's and the family's questions.
        // Within the review window, how long ago the patient died says nothing either (see
        // `death_review` below).
        let review = matches!(ph, Phase::Recent | Phase::Past)
            && e.death
            && (on_team || same_dept)
            && t <= e.end.saturating_add(w.death_review_secs);
        let ph = if review && ph == Phase::Past {
            Phase::Recent
        } else {
            ph
        };
        let rung = match (ph, on_team, same_dept) {
            (Phase::Starting | Phase::Current, true, _) => Relation::CareCurrent,
            (Phase::Recent, true, _) => Relation::CareRecent,
            (Phase::Starting | Phase::Current, false, true) => Relation::DeptCurrent,
            (Phase::Recent, false, true) => Relation::DeptRecent,
            (Phase::Past, true, _) => Relation::CarePast,
            (Phase::Past, false, true) => Relation::DeptPast,
            (Phase::Starting, false, false) => Relation::OtherStarting,
            (Phase::Current, false, false) => Relation::OtherCurrent,
            (Phase::Recent, false, false) => Relation::OtherRecent,
            (Phase::Past, false, false) => Relation::Past,
            (Phase::Future, _, _) => Relation::None,
        };
        // A stay of the same rung with a department names the link's department; the death's
        // review holds if any stay of the best rung gives it.
        if rung < best {
            best = rung;
            best_dept = e.dept;
            death_review = review;
        } else if rung == best {
            if best_dept.is_none() {
                best_dept = e.dept;
            }
            death_review |= review;
        }
    }
    StaticLink {
        relation: best,
        dept: best_dept,
        emergency,
        days_since_last,
        death_review,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use phiguard_fhir::context::{
        parse_care_team, parse_encounter, parse_patient, parse_practitioner, parse_role, Context,
    };

    fn world() -> World {
        let mut ctx = Context::default();
        ctx.practitioners.push(
            parse_practitioner(
                r#"{"resourceType":"Practitioner","id":"d1","identifier":[{"value":"doc"}]}"#,
            )
            .unwrap(),
        );
        ctx.patients
            .push(parse_patient(r#"{"resourceType":"Patient","id":"p1"}"#).unwrap());
        ctx.encounters.push(parse_encounter(r#"{"resourceType":"Encounter","id":"e1","class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},"participant":[{"individual":{"reference":"Practitioner/d1"}}],"period":{"start":"2026-03-01T00:00:00Z","end":"2026-03-05T00:00:00Z"},"serviceProvider":{"reference":"Organization/card"}}"#).unwrap());
        World::new(&ctx)
    }

    #[test]
    fn ladder_follows_time() {
        let w = world();
        let win = Windows::default();
        let t0 = 1_772_323_200; // 2026-03-01
        let at = |days: i64, staff: Option<u32>| {
            static_link(&w, staff, None, 0, t0 + days * DAY, &win).relation
        };
        assert_eq!(at(1, Some(0)), Relation::CareCurrent);
        assert_eq!(at(1, None), Relation::OtherCurrent);
        assert_eq!(
            static_link(&w, None, None, 0, t0 + 3600, &win).relation,
            Relation::OtherStarting
        );
        assert_eq!(at(10, Some(0)), Relation::CareRecent);
        assert_eq!(at(10, None), Relation::OtherRecent);
        assert_eq!(at(100, Some(0)), Relation::CarePast);
        assert_eq!(at(100, None), Relation::Past);
        assert_eq!(at(-45, Some(0)), Relation::None);
        assert_eq!(at(-29, Some(0)), Relation::CareRecent);
        assert_eq!(at(-3, Some(0)), Relation::CareRecent);
    }

    #[test]
    fn the_stay_a_patient_died_in_stays_recent_for_its_team_and_department_longer() {
        // p1 died on 2026-03-05, the last day of a cardiology stay with d1 on its care team
        // (or, in the second world, went home that day). d2 is a cardiologist off the team; d3
        // works in neurology.
        let world = |patient: &str| {
            let mut ctx = Context::default();
            for (id, org) in [("d1", "card"), ("d2", "card"), ("d3", "neuro")] {
                let mut p = parse_practitioner(&format!(
                    r#"{{"resourceType":"Practitioner","id":"{id}","identifier":[{{"value":"{id}"}}]}}"#
                ))
                .unwrap();
                let (_, r) = parse_role(&format!(
                    r#"{{"resourceType":"PractitionerRole","practitioner":{{"reference":"Practitioner/{id}"}},"organization":{{"reference":"Organization/{org}"}}}}"#
                ))
                .unwrap();
                p.roles.push(r);
                ctx.practitioners.push(p);
            }
            ctx.patients.push(parse_patient(patient).unwrap());
            ctx.encounters.push(parse_encounter(r#"{"resourceType":"Encounter","id":"e1","class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},"participant":[{"individual":{"reference":"Practitioner/d1"}}],"period":{"start":"2026-03-01T00:00:00Z","end":"2026-03-05T00:00:00Z"},"serviceProvider":{"reference":"Organization/card"}}"#).unwrap());
            World::new(&ctx)
        };
        let dead = world(
            r#"{"resourceType":"Patient","id":"p1","deceasedDateTime":"2026-03-05T00:00:00Z"}"#,
        );
        let alive = world(r#"{"resourceType":"Patient","id":"p1"}"#);
        let win = Windows::default();
        let end = 1_772_323_200 + 4 * DAY;
        let link = |w: &World, s: u32, days: i64| {
            let dept = w.staff.get(s as usize).and_then(|st| st.dept);
            static_link(w, Some(s), dept, 0, end + days * DAY, &win).relation
        };
        // Within any stay's recent window (45 days) nothing changes.
        assert_eq!(link(&dead, 0, 30), Relation::CareRecent);
        assert_eq!(link(&dead, 1, 30), Relation::DeptRecent);
        assert_eq!(link(&dead, 2, 30), Relation::OtherRecent);
        // After it, the stay's team and department keep their link until the review window
        // (90 days) ends; another department's staff see a former patient.
        assert_eq!(link(&dead, 0, 70), Relation::CareRecent);
        assert_eq!(link(&dead, 1, 70), Relation::DeptRecent);
        let review = |days: i64| {
            static_link(
                &dead,
                Some(1),
                dead.staff[1].dept,
                0,
                end + days * DAY,
                &win,
            )
            .death_review
        };
        assert!(review(70));
        assert!(review(30));
        assert!(!review(100));
        assert!(
            !static_link(
                &alive,
                Some(1),
                alive.staff[1].dept,
                0,
                end + 30 * DAY,
                &win
            )
            .death_review
        );
        assert_eq!(link(&dead, 2, 70), Relation::Past);
        assert_eq!(link(&dead, 0, 100), Relation::CarePast);
        // The department's former patient (a clinic's panel), not a stranger's.
        assert_eq!(link(&dead, 1, 100), Relation::DeptPast);
        // A stay the patient survived gets no such extension.
        assert_eq!(link(&alive, 0, 70), Relation::CarePast);
        assert_eq!(link(&alive, 1, 70), Relation::DeptPast);
        assert_eq!(link(&alive, 2, 70), Relation::Past);
    }

    #[test]
    fn a_death_review_holds_when_another_stay_gives_the_same_rung() {
        // p1 died on 2026-03-05 at the end of a care team's work (no department) with d1 on it;
        // d1 had also treated p1 in cardiology from 02-20 to 02-25, a stay p1 survived. Ten
        // days after the death both are "recent, on the team": the link names cardiology and
        // keeps the death's review, whichever stay comes first.
        let mut ctx = Context::default();
        let mut d1 = parse_practitioner(
            r#"{"resourceType":"Practitioner","id":"d1","identifier":[{"value":"d1"}]}"#,
        )
        .unwrap();
        let (_, role) = parse_role(r#"{"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/d1"},"organization":{"reference":"Organization/card"}}"#).unwrap();
        d1.roles.push(role);
        ctx.practitioners.push(d1);
        ctx.patients.push(
            parse_patient(
                r#"{"resourceType":"Patient","id":"p1","deceasedDateTime":"2026-03-05T00:00:00Z"}"#,
            )
            .unwrap(),
        );
        ctx.care_teams.push(parse_care_team(r#"{"resourceType":"CareTeam","id":"c1","subject":{"reference":"Patient/p1"},"participant":[{"member":{"reference":"Practitioner/d1"}}],"period":{"start":"2026-02-15T00:00:00Z","end":"2026-03-05T00:00:00Z"}}"#).unwrap());
        ctx.encounters.push(parse_encounter(r#"{"resourceType":"Encounter","id":"e1","class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},"participant":[{"individual":{"reference":"Practitioner/d1"}}],"period":{"start":"2026-02-20T00:00:00Z","end":"2026-02-25T00:00:00Z"},"serviceProvider":{"reference":"Organization/card"}}"#).unwrap());
        let w = World::new(&ctx);
        let death = 1_772_323_200 + 4 * DAY; // 2026-03-05
        let dept = w.staff[0].dept;
        let link = static_link(&w, Some(0), dept, 0, death + 10 * DAY, &Windows::default());
        assert_eq!(link.relation, Relation::CareRecent);
        assert_eq!(link.dept, dept);
        assert!(link.death_review);
    }

    #[test]
    fn every_role_department_counts() {
        // A nurse whose first role is in the ICU and second in cardiology: cardiology's patient
        // is her department's patient; a colleague with only the ICU role is not linked.
        let mut ctx = Context::default();
        for (id, roles) in [("n1", vec!["icu", "card"]), ("n2", vec!["icu"])] {
            let mut p = parse_practitioner(&format!(
                r#"{{"resourceType":"Practitioner","id":"{id}","identifier":[{{"value":"{id}"}}]}}"#
            ))
            .unwrap();
            for org in roles {
                let (_, r) = parse_role(&format!(
                    r#"{{"resourceType":"PractitionerRole","practitioner":{{"reference":"Practitioner/{id}"}},"organization":{{"reference":"Organization/{org}"}}}}"#
                ))
                .unwrap();
                p.roles.push(r);
            }
            ctx.practitioners.push(p);
        }
        ctx.patients
            .push(parse_patient(r#"{"resourceType":"Patient","id":"p1"}"#).unwrap());
        ctx.encounters.push(parse_encounter(r#"{"resourceType":"Encounter","id":"e1","class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},"period":{"start":"2026-03-01T00:00:00Z","end":"2026-03-05T00:00:00Z"},"serviceProvider":{"reference":"Organization/card"}}"#).unwrap());
        let w = World::new(&ctx);
        let t = 1_772_323_200 + DAY;
        let link = |s: u32| {
            let dept = w.staff.get(s as usize).and_then(|st| st.dept);
            static_link(&w, Some(s), dept, 0, t, &Windows::default()).relation
        };
        assert_eq!(link(0), Relation::DeptCurrent);
        assert_eq!(link(1), Relation::OtherCurrent);
    }
}
