//! Evaluation of an access monitor against labelled incidents, the way a privacy office works.
//!
//! A **case** is one user's day. Each day the office reviews up to `budget` alerting cases, the
//! highest-scoring first (a case scores its highest event). An incident is **caught** when one of
//! its cases is reviewed. Reported: recall overall and per incident kind, precision of the
//! reviewed cases, event-level AUC-ROC and average precision, and whether the reasons of each
//! incident's top event name its cause.
//!
//! Inputs: the labels file written by `phiguard simulate` (`{"id", "case": "user|YYYY-MM-DD",
//! "incident"?, "kind"?, "expected_reasons"?}` per event) and the scores file of `phiguard scan`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Errors of an evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A file could not be read.
    #[error("reading `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not what the file should hold.
    #[error("`{path}` line {line}: {problem}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// A labelled event has no score line.
    #[error("{missing} labelled events have no line in the scores file (first: `{first}`)")]
    Missing {
        /// How many.
        missing: usize,
        /// The first missing id.
        first: String,
    },
}

#[derive(Deserialize)]
struct LabelLine {
    id: String,
    case: String,
    #[serde(default)]
    incident: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    expected_reasons: Vec<String>,
}

#[derive(Deserialize)]
struct ScoreLine {
    id: String,
    score: f64,
    alert: bool,
    #[serde(default)]
    reasons: Vec<String>,
}

/// Recall of one incident kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct KindResult {
    /// Incidents of this kind.
    pub incidents: usize,
    /// Caught within the budget.
    pub caught: usize,
    /// Share caught.
    pub recall: f64,
    /// Incidents whose top event names the cause.
    pub reasons_named: usize,
}

/// The evaluation report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    /// Events scored.
    pub events: usize,
    /// Incident events.
    pub incident_events: usize,
    /// Incidents.
    pub incidents: usize,
    /// Days with events.
    pub days: usize,
    /// Cases (user-days).
    pub cases: usize,
    /// Cases with at least one alert.
    pub alerting_cases: usize,
    /// Review budget per day.
    pub budget_per_day: usize,
    /// Cases reviewed (at most budget per day).
    pub reviewed_cases: usize,
    /// Reviewed cases that hold an incident.
    pub reviewed_incident_cases: usize,
    /// Share of incidents caught.
    pub recall: f64,
    /// The most any ranking could catch within the budget, as a share of the incidents: on
    /// days with more incident cases than reviews, even a perfect monitor misses some. An
    /// upper bound (each day counts at most its budget's worth of incident cases).
    pub recall_ceiling: f64,
    /// Share of reviewed cases that hold an incident.
    pub precision: f64,
    /// Event-level AUC-ROC (incident events vs the rest).
    pub auc_roc: f64,
    /// Event-level average precision.
    pub average_precision: f64,
    /// Share of incidents whose top event's reasons name the cause.
    pub reasons_named: f64,
    /// Per incident kind.
    pub kinds: BTreeMap<String, KindResult>,
}

fn open(path: &Path) -> Result<BufReader<File>, EvalError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .map_err(|source| EvalError::Io {
            path: path.to_owned(),
            source,
        })
}

fn lines<T: for<'de> Deserialize<'de>>(path: &Path, mut f: impl FnMut(T)) -> Result<(), EvalError> {
    for (i, line) in open(path)?.lines().enumerate() {
        let line = line.map_err(|source| EvalError::Io {
            path: path.to_owned(),
            source,
        })?;
        // A file written on Windows may start with a byte-order mark, which JSON does not allow.
        let line = phiguard_fhir::without_bom(i + 1, &line);
        if line.trim().is_empty() {
            continue;
        }
        let v: T = serde_json::from_str(line).map_err(|e| EvalError::Line {
            path: path.to_owned(),
            line: i + 1,
            problem: e.to_string(),
        })?;
        f(v);
    }
    Ok(())
}

/// What is known of one incident while reading the labels.
struct IncidentAcc {
    kind: String,
    expected: Vec<String>,
    top_score: f64,
    top_reasons: Vec<String>,
    cases: Vec<String>,
}

#[derive(Default)]
struct Case {
    max: f64,
    alert: bool,
    incidents: Vec<usize>,
}

/// Evaluates a scores file against a labels file with a daily review budget.
///
/// # Errors
/// [`EvalError`] when a file cannot be read, a line is malformed, or labelled events lack scores.
pub fn evaluate(labels: &Path, scores: &Path, budget_per_day: usize) -> Result<Report, EvalError> {
    let mut by_id: FxHashMap<String, (f64, bool, Vec<String>)> = FxHashMap::default();
    lines(scores, |s: ScoreLine| {
        by_id.insert(s.id, (s.score, s.alert, s.reasons));
    })?;

    let mut cases: FxHashMap<String, Case> = FxHashMap::default();
    let mut incident_index: FxHashMap<String, usize> = FxHashMap::default();
    let mut incidents: Vec<IncidentAcc> = Vec::new();
    let mut event_scores: Vec<(f64, bool)> = Vec::new();
    let mut missing = 0usize;
    let mut first_missing = String::new();
    lines(labels, |l: LabelLine| {
        let Some((score, alert, reasons)) = by_id.get(&l.id) else {
            if missing == 0 {
                first_missing = l.id.clone();
            }
            missing += 1;
            return;
        };
        let case = cases.entry(l.case.clone()).or_insert(Case {
            max: f64::NEG_INFINITY,
            ..Case::default()
        });
        case.max = case.max.max(*score);
        case.alert |= *alert;
        let positive = l.incident.is_some();
        event_scores.push((*score, positive));
        if let Some(inc) = l.incident {
            let next = incidents.len();
            let idx = *incident_index.entry(inc).or_insert(next);
            if idx == next {
                incidents.push(IncidentAcc {
                    kind: l.kind.unwrap_or_else(|| "UNKNOWN".to_owned()),
                    expected: l.expected_reasons,
                    top_score: f64::NEG_INFINITY,
                    top_reasons: Vec::new(),
                    cases: Vec::new(),
                });
            }
            if let Some(entry) = incidents.get_mut(idx) {
                if *score > entry.top_score {
                    entry.top_score = *score;
                    entry.top_reasons = reasons.clone();
                }
                if !entry.cases.contains(&l.case) {
                    entry.cases.push(l.case.clone());
                }
            }
            if !case.incidents.contains(&idx) {
                case.incidents.push(idx);
            }
        }
    })?;
    if missing > 0 {
        return Err(EvalError::Missing {
            missing,
            first: first_missing,
        });
    }

    // Daily review: top alerting cases by score, up to the budget.
    let mut per_day: BTreeMap<String, Vec<(&String, &Case)>> = BTreeMap::new();
    for (key, case) in &cases {
        let day = key.rsplit('|').next().unwrap_or("").to_owned();
        per_day.entry(day).or_default().push((key, case));
    }
    let mut reviewed: FxHashMap<&String, bool> = FxHashMap::default();
    let mut report = Report {
        budget_per_day,
        days: per_day.len(),
        cases: cases.len(),
        ..Report::default()
    };
    for day_cases in per_day.values_mut() {
        day_cases.sort_by(|a, b| b.1.max.total_cmp(&a.1.max).then(a.0.cmp(b.0)));
        for (key, case) in day_cases
            .iter()
            .filter(|(_, c)| c.alert)
            .take(budget_per_day)
        {
            reviewed.insert(key, true);
            report.reviewed_cases += 1;
            report.reviewed_incident_cases += usize::from(!case.incidents.is_empty());
        }
        report.alerting_cases += day_cases.iter().filter(|(_, c)| c.alert).count();
    }
    let reachable = reachable_incidents(&per_day, budget_per_day).min(incidents.len());
    for inc in &incidents {
        let caught = inc.cases.iter().any(|c| reviewed.contains_key(c));
        let named = inc.top_reasons.iter().any(|r| inc.expected.contains(r));
        let k = report.kinds.entry(inc.kind.clone()).or_default();
        k.incidents += 1;
        k.caught += usize::from(caught);
        k.reasons_named += usize::from(named);
    }
    for k in report.kinds.values_mut() {
        k.recall = ratio(k.caught, k.incidents);
    }
    report.incidents = incidents.len();
    report.events = event_scores.len();
    report.incident_events = event_scores.iter().filter(|(_, p)| *p).count();
    let caught: usize = report.kinds.values().map(|k| k.caught).sum();
    let named: usize = report.kinds.values().map(|k| k.reasons_named).sum();
    report.recall = ratio(caught, report.incidents);
    report.recall_ceiling = ratio(reachable, report.incidents);
    report.reasons_named = ratio(named, report.incidents);
    report.precision = ratio(report.reviewed_incident_cases, report.reviewed_cases);
    report.auc_roc = auc_roc(&mut event_scores);
    report.average_precision = average_precision(&event_scores);
    Ok(report)
}

/// How many incidents a perfect ranking could catch at most: per day, no more than the
/// distinct incidents with a case that day, nor than the incidents held by that day's `budget`
/// fullest cases (an incident spanning days is counted on each, so the sum is an upper bound).
fn reachable_incidents(per_day: &BTreeMap<String, Vec<(&String, &Case)>>, budget: usize) -> usize {
    per_day
        .values()
        .map(|cases| {
            let mut held: Vec<usize> = cases.iter().map(|(_, c)| c.incidents.len()).collect();
            held.sort_unstable_by(|a, b| b.cmp(a));
            let fullest: usize = held.iter().take(budget).sum();
            let mut distinct: Vec<usize> = cases
                .iter()
                .flat_map(|(_, c)| c.incidents.iter().copied())
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            fullest.min(distinct.len())
        })
        .sum()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// AUC-ROC with ties counted as one half (Mann-Whitney U). Sorts `scores` ascending.
pub fn auc_roc(scores: &mut [(f64, bool)]) -> f64 {
    scores.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = scores.iter().filter(|s| s.1).count() as f64;
    let neg = scores.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.0;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < scores.len() {
        let mut j = i;
        while j < scores.len() && scores.get(j).map(|s| s.0) == scores.get(i).map(|s| s.0) {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        let positives = scores
            .get(i..j)
            .map_or(0, |g| g.iter().filter(|s| s.1).count());
        rank_sum += avg_rank * positives as f64;
        i = j;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Average precision (area under the precision-recall step curve), ties grouped.
/// Expects `scores` sorted ascending (as [`auc_roc`] leaves them).
pub fn average_precision(scores: &[(f64, bool)]) -> f64 {
    let pos = scores.iter().filter(|s| s.1).count() as f64;
    if pos == 0.0 {
        return 0.0;
    }
    let mut ap = 0.0;
    let mut tp = 0.0;
    let mut seen = 0.0;
    let mut j = scores.len();
    while j > 0 {
        let mut i = j - 1;
        let s = scores.get(i).map(|x| x.0);
        while i > 0 && scores.get(i - 1).map(|x| x.0) == s {
            i -= 1;
        }
        let group = scores.get(i..j).unwrap_or(&[]);
        let gp = group.iter().filter(|x| x.1).count() as f64;
        tp += gp;
        seen += group.len() as f64;
        ap += (gp / pos) * (tp / seen);
        j = i;
    }
    ap
}

impl Report {
    /// A plain-text table for humans.
    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "events {}  incidents {} ({} events)  days {}  cases {}  alerting cases {}\n",
            self.events,
            self.incidents,
            self.incident_events,
            self.days,
            self.cases,
            self.alerting_cases
        ));
        s.push_str(&format!(
            "review budget {} cases/day: reviewed {}, of which {} hold an incident\n\n",
            self.budget_per_day, self.reviewed_cases, self.reviewed_incident_cases
        ));
        s.push_str(&format!(
            "{:<16} {:>9} {:>7} {:>8} {:>14}\n",
            "incident kind", "incidents", "caught", "recall", "reasons named"
        ));
        for (k, r) in &self.kinds {
            s.push_str(&format!(
                "{:<16} {:>9} {:>7} {:>8.3} {:>14}\n",
                k, r.incidents, r.caught, r.recall, r.reasons_named
            ));
        }
        s.push_str(&format!(
            "\nrecall within budget {:.3} (at most {:.3} with this budget)   precision of reviewed cases {:.3}   reasons name the cause {:.3}\n",
            self.recall, self.recall_ceiling, self.precision, self.reasons_named
        ));
        s.push_str(&format!(
            "event-level AUC-ROC {:.4}   average precision {:.4}\n",
            self.auc_roc, self.average_precision
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_ap_known_values() {
        let mut perfect = vec![(0.1, false), (0.9, true), (0.2, false), (0.8, true)];
        assert!((auc_roc(&mut perfect) - 1.0).abs() < 1e-12);
        assert!((average_precision(&perfect) - 1.0).abs() < 1e-12);
        let mut ties = vec![(1.0, true), (1.0, false)];
        assert!((auc_roc(&mut ties) - 0.5).abs() < 1e-12);
        assert!((average_precision(&ties) - 0.5).abs() < 1e-12);
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75, AP = 0.8333
        let mut s = vec![(0.1, false), (0.4, false), (0.35, true), (0.8, true)];
        assert!((auc_roc(&mut s) - 0.75).abs() < 1e-12);
        assert!((average_precision(&s) - 0.833_333_333).abs() < 1e-6);
    }

    #[test]
    fn the_ceiling_counts_what_the_budget_can_hold() {
        let dir = tempfile::tempdir().unwrap();
        let labels = dir.path().join("labels.ndjson");
        let scores = dir.path().join("scores.ndjson");
        // Day 1: three incident cases ("a" holds two incidents) and budget 1; day 2: the
        // incident of "a" again, and one more. Five incidents; at most 2 + 1 can be caught.
        let events = [
            ("a|d1", "i1"),
            ("a|d1", "i2"),
            ("b|d1", "i3"),
            ("c|d1", "i4"),
            ("a|d2", "i1"),
            ("f|d2", "i5"),
        ];
        let mut l = String::new();
        let mut s = String::new();
        for (i, (case, inc)) in events.iter().enumerate() {
            l.push_str(&format!(
                r#"{{"id":"{i}","case":"{case}","incident":"{inc}","kind":"SNOOPING"}}"#
            ));
            l.push('\n');
            s.push_str(&format!(
                r#"{{"id":"{i}","score":1.0,"alert":false,"reasons":[],"explanation":""}}"#
            ));
            s.push('\n');
        }
        std::fs::write(&labels, &l).unwrap();
        std::fs::write(&scores, &s).unwrap();
        let r = evaluate(&labels, &scores, 1).unwrap();
        assert_eq!(r.incidents, 5);
        assert!(
            (r.recall_ceiling - 0.6).abs() < 1e-12,
            "{}",
            r.recall_ceiling
        );
        let r = evaluate(&labels, &scores, 8).unwrap();
        assert!(
            (r.recall_ceiling - 1.0).abs() < 1e-12,
            "{}",
            r.recall_ceiling
        );
        assert!(r.table().contains("at most 1.000 with this budget"));
        // The same files as a Windows program would write them: the same report.
        std::fs::write(&labels, format!("\u{feff}{}", l.replace('\n', "\r\n"))).unwrap();
        std::fs::write(&scores, format!("\u{feff}{s}")).unwrap();
        let windows = evaluate(&labels, &scores, 8).unwrap();
        assert_eq!(windows.table(), r.table());
    }

    proptest::proptest! {
        #[test]
        fn auc_matches_pairwise_count(v in proptest::collection::vec((0u8..20, proptest::bool::ANY), 2..60)) {
            let mut s: Vec<(f64, bool)> = v.iter().map(|&(x, p)| (f64::from(x), p)).collect();
            let pos: Vec<f64> = s.iter().filter(|x| x.1).map(|x| x.0).collect();
            let neg: Vec<f64> = s.iter().filter(|x| !x.1).map(|x| x.0).collect();
            let naive = if pos.is_empty() || neg.is_empty() { 0.0 } else {
                let mut w = 0.0;
                for p in &pos { for n in &neg { w += if p > n { 1.0 } else if p == n { 0.5 } else { 0.0 }; } }
                w / (pos.len() * neg.len()) as f64
            };
            proptest::prop_assert!((auc_roc(&mut s) - naive).abs() < 1e-9);
        }
    }

    #[test]
    fn budget_and_recall() {
        let dir = tempfile::tempdir().unwrap();
        let labels = dir.path().join("labels.ndjson");
        let scores = dir.path().join("scores.ndjson");
        let mut l = String::new();
        let mut s = String::new();
        // Day 1: 3 alerting cases, one holds an incident; budget 2 catches it (highest score).
        for (i, (case, score, alert, inc)) in [
            ("a|d1", 20.0, true, Some("FAMILY")),
            ("b|d1", 15.0, true, None),
            ("c|d1", 13.0, true, None),
            ("d|d1", 1.0, false, None),
            ("e|d2", 5.0, false, Some("VIP")),
        ]
        .iter()
        .enumerate()
        {
            match inc {
                Some(k) => l.push_str(&format!(r#"{{"id":"{i}","case":"{case}","incident":"i{i}","kind":"{k}","expected_reasons":["{k}"]}}"#)),
                None => l.push_str(&format!(r#"{{"id":"{i}","case":"{case}"}}"#)),
            }
            l.push('\n');
            let reasons = if inc.is_some() {
                format!(r#"["{}"]"#, inc.unwrap())
            } else {
                "[]".to_owned()
            };
            s.push_str(&format!(r#"{{"id":"{i}","score":{score},"alert":{alert},"reasons":{reasons},"explanation":""}}"#));
            s.push('\n');
        }
        std::fs::write(&labels, l).unwrap();
        std::fs::write(&scores, s).unwrap();
        let r = evaluate(&labels, &scores, 2).unwrap();
        assert_eq!(r.incidents, 2);
        assert_eq!(r.reviewed_cases, 2);
        assert_eq!(r.reviewed_incident_cases, 1);
        assert!((r.recall - 0.5).abs() < 1e-12);
        assert!((r.precision - 0.5).abs() < 1e-12);
        assert_eq!(r.kinds["FAMILY"].caught, 1);
        assert_eq!(r.kinds["VIP"].caught, 0);
        assert!((r.reasons_named - 1.0).abs() < 1e-12);
        std::fs::write(&scores, "").unwrap();
        assert!(matches!(
            evaluate(&labels, &scores, 2),
            Err(EvalError::Missing { .. })
        ));
    }
}
