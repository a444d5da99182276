//! Monitor configuration. Every key has a default that needs no tuning per hospital: the
//! baselines are learned from the hospital's own stream; these numbers only say how fast to trust
//! what was learned, what counts as "recent", and what misuse looks like.

use serde::{Deserialize, Serialize};

/// Configuration of the access monitor (`[monitor]` in the config file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorConfig {
    /// Score (bits of evidence) at or above which an access raises an alert.
    pub alert_threshold_bits: f64,
    /// A link or behaviour component must contribute at least this many bits to be named as a
    /// reason; who the patient is to the user (self, family, neighbour, colleague, VIP,
    /// deceased) is named whenever it holds, even where it adds no evidence.
    pub reason_min_bits: f64,
    /// Reasons are only listed when the whole access scores at least this many bits.
    pub reason_floor_bits: f64,
    /// Dirichlet strength of the peer-group prior on a user's distributions (pseudo-accesses).
    pub user_prior_strength: f64,
    /// Smallest weight of the peer group in a user's relationship profile (0..1): users of one
    /// role and department share most of their work, however long their own history.
    pub relation_pooling: f64,
    /// Dirichlet strength of the hospital prior on a peer group's distributions.
    pub group_prior_strength: f64,
    /// Before an encounter starts it counts as current this long (registration, pre-op).
    pub encounter_lead_secs: i64,
    /// After an encounter ends it counts as current this long (discharge work).
    pub encounter_tail_secs: i64,
    /// After an encounter ends it counts as recent this long (billing, coding, follow-up).
    pub encounter_recent_secs: i64,
    /// Before an encounter starts it counts as scheduled this long. Default 30 days: the
    /// pre-admission work of a planned stay or procedure (the history and physical, insurance
    /// pre-authorisation, pre-operative tests and the calls that arrange them) falls in the 30
    /// days before it, the window in which the admission history and physical must be done.
    pub encounter_soon_secs: i64,
    /// An earlier access by the same user counts as a relationship for this long.
    pub prior_access_secs: i64,
    /// Accesses by colleagues of the same department count as team context for this long.
    pub team_access_secs: i64,
    /// The sliding window for bulk access.
    pub bulk_window_secs: i64,
    /// Fewer distinct patients than this in a window are never called bulk.
    pub bulk_min_patients: u32,
    /// Prior share of misuse that comes from a compromised login (unusual time and place,
    /// random patients) rather than from the account owner (usual time and place, people
    /// they know). The score is the log of the mixture likelihood ratio. Default 0.2: most
    /// misuse found in EHR access logs is insiders using their own login (the premise of
    /// patient-privacy monitoring); a stolen login's evidence (hour, place, volume) is usually
    /// strong enough not to need the prior's help.
    pub compromised_share: f64,
    /// Beyond this long after death, opening a deceased patient's record grows stranger: the
    /// deceased flag's evidence gains a bit per doubling of the time since the death. Within it
    /// the flag counts for its learned legitimate rate alone.
    pub deceased_grace_secs: i64,
    /// The care team and the department of the stay in which a patient died keep a reason to
    /// open the record this long after the death, longer than any stay's "recent" window:
    /// mortality and morbidity review, the death audit, the coroner's and the family's
    /// questions come weeks to months later. Default 90 days (a quarter: hospitals review
    /// their deaths and report the reviews quarterly); within it, how long ago the patient died
    /// is no evidence for that team and department. Other staff are judged as after any stay.
    pub death_review_secs: i64,
    /// Random (user, patient, time) samples used to learn what a relationship-blind access
    /// looks like in this hospital.
    pub null_samples: u32,
    /// What the monitor learns as "legitimate work" from an access (rates, hours, places) is
    /// weighted by the probability that it was legitimate, `1 / (1 + 2^(score - this))`: prior
    /// odds of misuse of 2^-this per access (1 in 16,000 by default, the order of confirmed
    /// privacy violations per access in published audits). An access at this many bits counts
    /// half, one 4 bits above it a seventeenth: a stolen login harvesting hundreds of unlinked
    /// records teaches almost nothing, while legitimate work that alerts at first (a physician
    /// reading from home, work the context does not explain) is learned within days. Separate
    /// from the alert threshold, which is a decision about review cost, not a prior.
    pub legit_weight_midpoint_bits: f64,
    /// Share of insider snooping triggered by the patient being in hospital (a neighbour, a
    /// colleague, a celebrity or a stranger in the news who was just admitted): under insider
    /// misuse the patient's rung is "under care now or recently" for this share, and
    /// relationship-blind for the rest. A patient being treated elsewhere is then weaker
    /// evidence of routine work, and one with no current care weaker evidence of snooping.
    pub triggered_share: f64,
    /// Share of insider snooping done outside the user's usual hours (the quiet night shift,
    /// a late evening): under insider misuse the hour is the user's own habit for the rest.
    pub insider_off_hours: f64,
    /// Share of insider snooping done from a place the user does not usually work from
    /// (another ward's computer, a terminal nobody watches): under insider misuse the place is
    /// the user's own habit for the rest. Only counts for misuse: a usual place says nothing
    /// (see the engine). Default 0.1; 0.2, the off-hours share, caught no incident more on the
    /// fourteen evaluation sets and cost precision (docs/monitor-results.md, session 18).
    pub insider_elsewhere: f64,
    /// How deep a snooper reads: having opened an item of a patient's record they have no
    /// reason to see, the probability that they open one more (a geometric depth; 0.5 means
    /// half stop after one item, a quarter read three or more). Compared with how deep this
    /// hospital's own unexplained looks go, learned from the stream.
    pub snoop_continue: f64,
    /// Accesses by one user to one patient at most this far apart form one look (one sitting);
    /// a user who opened a linked record without alerting at most this long ago is at work, so
    /// the hour of their next access is no evidence of insider misuse.
    pub look_gap_secs: i64,
    /// Local days at the start of a stream during which no access raises an alert (each is
    /// still scored, explained and learned from; `learning` is set on its output line). Until
    /// the hospital's first day has ended, every rate the monitor compares against is its prior,
    /// not this hospital's routine: research coordinators opening the deceased, release of
    /// information, remote reading would all alert on day one; on the second, a role's rates
    /// rest on one day of its work (a release-of-information clerk's first day held two or three
    /// deceased patients). Default 2; 0 alerts from the first event (for a stream that continues
    /// an earlier one's history).
    pub learning_days: u32,
    /// Off hours (local): from this hour of the evening ...
    pub off_hours_start: u8,
    /// ... to this hour of the morning, and all of Saturday and Sunday when
    /// `off_hours_weekends`. Who opens which patients differs at night: the resident on call
    /// covers every ward, the senior answers from home, the day's teams are gone. How often a
    /// user's legitimate work lands on each rung (own care team, another department's
    /// patient, ...) is learned for off hours apart from all hours, and an off-hours access is
    /// compared with the off-hours rates (falling back on the all-hours ones while the user
    /// and their peers have little night history). Default 18:00-08:00 and weekends, the
    /// usual definition of after-hours care.
    pub off_hours_end: u8,
    /// Whether Saturday and Sunday count as off hours all day.
    pub off_hours_weekends: bool,
    /// Whether the workstation an access comes from counts as evidence about a patient of
    /// another department: whether this place is one the hospital's legitimate work uses for
    /// that department's patients (see the engine's `place_bits`). Default on.
    pub place_evidence: bool,
    /// Whether who opened the patient's record recently counts as evidence about an access
    /// on a weak rung (another department's patient, colleagues' work, a former patient, no
    /// link): legitimate work follows the people the user works with, a snooper's pick does
    /// not (see `collab.rs`). Default on.
    pub collaborator_evidence: bool,
    /// How close in time two users' accesses to a patient must be to count as working on it
    /// together, and how far back the patient's recent users are looked at. Default 7 days.
    pub collaborator_window_secs: i64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            alert_threshold_bits: 10.0,
            reason_min_bits: 2.0,
            reason_floor_bits: 4.0,
            user_prior_strength: 20.0,
            relation_pooling: 0.2,
            group_prior_strength: 20.0,
            encounter_lead_secs: 12 * 3600,
            encounter_tail_secs: 24 * 3600,
            encounter_recent_secs: 45 * 86_400,
            encounter_soon_secs: 30 * 86_400,
            prior_access_secs: 180 * 86_400,
            team_access_secs: 7 * 86_400,
            bulk_window_secs: 3600,
            bulk_min_patients: 12,
            compromised_share: 0.2,
            deceased_grace_secs: 14 * 86_400,
            death_review_secs: 90 * 86_400,
            null_samples: 20_000,
            legit_weight_midpoint_bits: 14.0,
            triggered_share: 0.5,
            insider_off_hours: 0.2,
            insider_elsewhere: 0.1,
            snoop_continue: 0.5,
            look_gap_secs: 2 * 3600,
            learning_days: 2,
            off_hours_start: 18,
            off_hours_end: 8,
            off_hours_weekends: true,
            place_evidence: true,
            collaborator_evidence: true,
            collaborator_window_secs: 7 * 86_400,
        }
    }
}
