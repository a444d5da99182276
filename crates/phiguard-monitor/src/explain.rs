//! Words for a privacy officer: one sentence per assessment, naming the evidence that carried
//! the score, strongest first. No names, ids or other PHI appear in the sentence: the case
//! already identifies the user and the patient.

use crate::engine::{Assessment, Detail, Evidence};
use crate::reason::Reason;
use crate::relation::Relation;

/// Renders the explanation sentence of an assessment.
pub fn sentence(a: &Assessment) -> String {
    let mut named: Vec<&Evidence> = a
        .evidence
        .iter()
        .filter(|e| e.bits > 0.0 && a.reasons.contains(&e.reason))
        .collect();
    named.sort_by(|x, y| y.bits.total_cmp(&x.bits));
    let parts = distinct_phrases(named);
    // The link's facts beyond its rung (the one relationship component of the access).
    let (at_department, death_review, collaborators) = a
        .evidence
        .iter()
        .find_map(|e| match e.detail {
            Detail::Relation {
                at_department,
                death_review,
                collaborators,
                ..
            } => Some((at_department, death_review, collaborators)),
            _ => None,
        })
        .unwrap_or((false, false, None));
    // A stay the patient died in keeps its team and department linked for the death's review
    // (see `MonitorConfig::death_review_secs`): said whether or not the access alerts, since
    // the deceased flag is named on it either way.
    let death_review = death_review.then_some(match a.relation {
        Some(Relation::CareRecent) => {
            "The patient died during a stay the user cared for, which stays linked to its care team for the death's review."
        }
        _ => {
            "The patient died during a stay with the user's department, which stays linked to the department for the death's review."
        }
    });
    let mut s = if parts.is_empty() {
        // Who the patient is to the user stays a fact worth stating when the access is
        // routine (a nurse meeting herself in her own ward's census, a neighbour on the ward):
        // it is what a privacy officer or the patient asks about.
        let facts = distinct_phrases(a.evidence.iter().filter(|e| e.is_identity_fact()));
        let base = if let Some(review) = death_review {
            format!("Routine. {review}")
        } else if at_department {
            format!(
                "{} Opened from a workstation the patient's treating department uses.",
                routine(a.relation)
            )
        } else {
            routine(a.relation).to_owned()
        };
        let base = if collaborators == Some(true) {
            format!("{base} Someone the user works with opened this record in the past week.")
        } else {
            base
        };
        if facts.is_empty() {
            base
        } else {
            format!("{} Also: {}.", base, facts.join("; "))
        }
    } else {
        let body = parts.join("; ");
        let mut chars = body.chars();
        let mut s = match chars.next() {
            Some(c) => c.to_uppercase().collect::<String>() + chars.as_str() + ".",
            None => String::new(),
        };
        if let Some(review) = death_review {
            s.push(' ');
            s.push_str(review);
        }
        s
    };
    if a.alert {
        s.push_str(&format!(
            " Evidence {:.1} bits: about {} times likelier misuse than routine work.",
            a.score,
            likelihood_ratio(a.score)
        ));
    }
    s
}

/// The phrases of `evidence` in order, each once (two components can say the same thing).
fn distinct_phrases<'e>(evidence: impl IntoIterator<Item = &'e Evidence>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in evidence {
        let text = phrase(e);
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

fn likelihood_ratio(bits: f64) -> String {
    let x = bits.clamp(0.0, 60.0).exp2();
    if x >= 1e12 {
        "more than a trillion".to_owned()
    } else if x >= 1e9 {
        format!("{:.0} billion", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.0} million", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.0} thousand", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn routine(rel: Option<Relation>) -> &'static str {
    match rel {
        Some(Relation::CareCurrent) => "Routine: the user is on the patient's current care team.",
        Some(Relation::CareRecent) => "Routine: the user cared for the patient recently.",
        Some(Relation::DeptCurrent) => "Routine: the user's department is treating the patient.",
        Some(Relation::DeptRecent) => {
            "Routine: the user's department treated the patient recently."
        }
        Some(Relation::CarePast) => "Routine: the user cared for the patient before.",
        Some(Relation::DeptPast) => "Routine: the user's department treated the patient before.",
        Some(Relation::Prior) => "Routine: continues the user's earlier work on this record.",
        Some(Relation::Team) => {
            "Routine: colleagues of the user's department are working on this patient."
        }
        Some(Relation::OtherStarting) | Some(Relation::OtherCurrent) => {
            "Consistent with this user's usual work on patients treated by other departments."
        }
        Some(Relation::OtherRecent) => {
            "Consistent with this user's usual work on recently discharged or scheduled patients."
        }
        Some(Relation::Past) | Some(Relation::None) => {
            "Consistent with this user's usual work on records without a current encounter."
        }
        None => "Access without a patient; consistent with this user's usual volume.",
    }
}

fn phrase(e: &Evidence) -> String {
    match (&e.reason, &e.detail) {
        (Reason::SelfAccess, _) => {
            "the user appears to be the patient (same name and birth date)".to_owned()
        }
        (Reason::Family, Detail::Household { same_surname: true }) => {
            "the user shares surname and home address with the patient".to_owned()
        }
        (Reason::Family, Detail::SameSurname) => {
            "the patient has the user's surname, at another address".to_owned()
        }
        (Reason::Family, _) => "the user lives at the patient's home address".to_owned(),
        (Reason::Neighbor, _) => "the user lives on the patient's street".to_owned(),
        (
            Reason::Coworker,
            Detail::Colleague {
                same_dept: true, ..
            },
        ) => "the patient is a colleague from the user's own department".to_owned(),
        (
            Reason::Coworker,
            Detail::Colleague {
                staff_record: true, ..
            },
        ) => "the patient is a member of staff".to_owned(),
        (Reason::Coworker, _) => "the patient is flagged as a hospital employee".to_owned(),
        (Reason::Vip, _) => "the patient is flagged as a VIP".to_owned(),
        (Reason::Deceased, Detail::DeceasedDays(d)) if *d >= 0 => {
            format!("the patient died {d} days before this access")
        }
        (Reason::Deceased, _) => "the patient is recorded as deceased".to_owned(),
        (
            Reason::NoRelationship,
            Detail::Relation {
                relation,
                dept,
                days_since_last,
                collaborators,
                ..
            },
        ) => {
            let link = relation_phrase(*relation, dept.as_deref(), *days_since_last);
            if *collaborators == Some(false) {
                format!("{link}; no one the user works with has opened this record in the past week")
            } else {
                link
            }
        }
        (Reason::NoRelationship, Detail::Depth { items }) => {
            format!("{items} items of this record opened in one sitting")
        }
        (Reason::NoRelationship, _) => {
            "no care relationship explains the access for this user".to_owned()
        }
        (Reason::UnusualTime, Detail::Time { clock, share }) => format!(
            "access at {clock}, an hour with {:.1}% of this user's usual activity",
            share * 100.0
        ),
        (Reason::UnusualTime, _) => "an hour this user rarely works".to_owned(),
        (Reason::UnusualLocation, Detail::Location { level, ip }) => {
            let what = if *ip {
                "a network address"
            } else {
                "a workstation"
            };
            match level {
                3 => format!("from {what} never seen in this hospital before today"),
                2 => format!("from {what} that neither this user nor their peers use"),
                _ => format!("from {what} this user has not used before"),
            }
        }
        (Reason::UnusualLocation, _) => "from an unusual location".to_owned(),
        (Reason::Bulk, Detail::Volume { count, hour, usual }) => format!(
            "{count} distinct patients in the last {}, against a usual peak of about {:.0}",
            if *hour { "hour" } else { "day" },
            usual
        ),
        (Reason::Bulk, _) => "an unusual number of patients in a short time".to_owned(),
        (Reason::BreakGlass, _) => {
            "break-the-glass used on a patient without an emergency encounter".to_owned()
        }
        (Reason::UnknownUser, _) => "the login is not a known staff member".to_owned(),
        (Reason::UnknownPatient, _) => "the patient id is not in the patient index".to_owned(),
        (Reason::Sensitive, _) => {
            "the record carries restricted or sensitive-information labels".to_owned()
        }
        // The item itself is ordinary for the user: its shares would contradict "rarely".
        (
            Reason::UnusualActivity,
            Detail::Activity {
                earlier_in_look: true,
                ..
            },
        ) => "earlier in this sitting the user read parts of the record that they and their peers rarely touch"
            .to_owned(),
        (
            Reason::UnusualActivity,
            Detail::Activity {
                what,
                user_share,
                group_share,
                hospital_share,
                ..
            },
        ) => format!(
            "{what}, which the user and their peers rarely do ({:.1}% of the user's accesses, {:.1}% of the peers', {:.1}% hospital-wide)",
            user_share * 100.0,
            group_share * 100.0,
            hospital_share * 100.0
        ),
        (Reason::UnusualActivity, _) => {
            "a part of the record the user's peers rarely touch".to_owned()
        }
    }
}

fn relation_phrase(rel: Relation, dept: Option<&str>, days: Option<i64>) -> String {
    match (rel, dept) {
        (Relation::OtherStarting, Some(d)) => format!(
            "the patient's episode with {d} is just starting, and the user is neither on that care team nor in that department"
        ),
        (Relation::OtherCurrent, Some(d)) => format!(
            "the patient is being treated by {d}, and the user is neither on that care team nor in that department"
        ),
        (Relation::OtherCurrent, None) => {
            "the patient is being treated elsewhere, with no care-team link to the user".to_owned()
        }
        (Relation::OtherRecent, Some(d)) => format!(
            "the patient was recently treated by {d}, with no care-team or department link to the user"
        ),
        (Relation::DeptPast, _) => match days {
            Some(d) => format!(
                "the user's department treated the patient before (the last encounter ended {d} days ago), with no care-team link to the user"
            ),
            None => "the user's department treated the patient before, with no care-team link to the user"
                .to_owned(),
        },
        (Relation::Past, _) => match days {
            Some(d) => format!(
                "no current encounter (the last one ended {d} days ago) and no link to the user"
            ),
            None => "no current encounter and no link to the user".to_owned(),
        },
        (Relation::None, _) => {
            "no encounter, care-team, department or earlier-access link to the patient".to_owned()
        }
        _ => "this kind of link to the patient is unusual for this user's role".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Hypothesis;

    fn routine_review(relation: Relation, death_review: bool, named: bool) -> String {
        let a = Assessment {
            score: 1.0,
            alert: false,
            learning: false,
            reasons: if named {
                vec![Reason::Deceased]
            } else {
                Vec::new()
            },
            evidence: vec![
                Evidence {
                    reason: Reason::NoRelationship,
                    hypothesis: Hypothesis::Insider,
                    bits: -3.0,
                    detail: Detail::Relation {
                        relation,
                        dept: Some("Cardiology".into()),
                        days_since_last: Some(60),
                        at_department: false,
                        death_review,
                        collaborators: None,
                    },
                },
                Evidence {
                    reason: Reason::Deceased,
                    hypothesis: Hypothesis::Insider,
                    bits: 3.0,
                    detail: Detail::DeceasedDays(60),
                },
            ],
            relation: Some(relation),
            out_of_order: false,
        };
        a.explanation()
    }

    #[test]
    fn a_death_review_says_so() {
        // Routine (nothing named): the review is the explanation.
        assert_eq!(
            routine_review(Relation::DeptRecent, true, false),
            "Routine. The patient died during a stay with the user's department, which stays linked to the department for the death's review. Also: the patient died 60 days before this access."
        );
        assert!(
            routine_review(Relation::CareRecent, true, false).contains("a stay the user cared for")
        );
        assert!(routine_review(Relation::DeptRecent, false, false)
            .starts_with("Routine: the user's department treated the patient recently."));
        // The deceased flag named (the usual case): the review follows it.
        assert_eq!(
            routine_review(Relation::DeptRecent, true, true),
            "The patient died 60 days before this access. The patient died during a stay with the user's department, which stays linked to the department for the death's review."
        );
        assert_eq!(
            routine_review(Relation::DeptRecent, false, true),
            "The patient died 60 days before this access."
        );
    }

    #[test]
    fn who_else_opened_the_record_is_said_where_it_counted() {
        let access = |collaborators: Option<bool>, bits: f64, alert: bool| {
            Assessment {
                score: bits,
                alert,
                learning: false,
                reasons: if alert {
                    vec![Reason::NoRelationship]
                } else {
                    Vec::new()
                },
                evidence: vec![Evidence {
                    reason: Reason::NoRelationship,
                    hypothesis: Hypothesis::Insider,
                    bits,
                    detail: Detail::Relation {
                        relation: Relation::OtherCurrent,
                        dept: Some("Oncology".into()),
                        days_since_last: None,
                        at_department: false,
                        death_review: false,
                        collaborators,
                    },
                }],
                relation: Some(Relation::OtherCurrent),
                out_of_order: false,
            }
            .explanation()
        };
        assert_eq!(
            access(Some(true), -2.0, false),
            "Consistent with this user's usual work on patients treated by other departments. Someone the user works with opened this record in the past week."
        );
        assert!(access(Some(false), 11.0, true).starts_with(
            "The patient is being treated by Oncology, and the user is neither on that care team nor in that department; no one the user works with has opened this record in the past week. Evidence 11.0 bits"
        ));
        assert!(!access(None, 11.0, true).contains("works with"));
        assert!(!access(None, -2.0, false).contains("works with"));
    }
}
