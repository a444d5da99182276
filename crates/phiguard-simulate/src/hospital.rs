//! The simulated hospital: departments, staff, patients, encounters, and a day-by-day
//! simulation of who opens which record, when and from where.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::names::{CITIES, GIVEN, STREETS, SUFFIXES, SURNAMES};
use crate::SimConfig;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Kinds of planted incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    /// The user opens their own record.
    SelfAccess,
    /// A household member's record.
    Family,
    /// A neighbour's record.
    Neighbor,
    /// A colleague's record.
    Coworker,
    /// A celebrity's record.
    Vip,
    /// A long-deceased patient's record.
    Deceased,
    /// A random patient with no relationship.
    Snooping,
    /// A stolen login harvesting records at night from outside.
    Compromised,
    /// Break-the-glass without an emergency.
    BreakGlass,
}

impl IncidentKind {
    /// All kinds.
    pub const ALL: [IncidentKind; 9] = [
        IncidentKind::SelfAccess,
        IncidentKind::Family,
        IncidentKind::Neighbor,
        IncidentKind::Coworker,
        IncidentKind::Vip,
        IncidentKind::Deceased,
        IncidentKind::Snooping,
        IncidentKind::Compromised,
        IncidentKind::BreakGlass,
    ];

    /// The label written to labels.ndjson.
    pub fn label(self) -> &'static str {
        match self {
            IncidentKind::SelfAccess => "SELF",
            IncidentKind::Family => "FAMILY",
            IncidentKind::Neighbor => "NEIGHBOR",
            IncidentKind::Coworker => "COWORKER",
            IncidentKind::Vip => "VIP",
            IncidentKind::Deceased => "DECEASED",
            IncidentKind::Snooping => "SNOOPING",
            IncidentKind::Compromised => "COMPROMISED",
            IncidentKind::BreakGlass => "BREAK_GLASS",
        }
    }

    /// Reason codes that name this incident's cause.
    pub fn expected_reasons(self) -> &'static [&'static str] {
        match self {
            IncidentKind::SelfAccess => &["SELF"],
            IncidentKind::Family => &["FAMILY"],
            IncidentKind::Neighbor => &["NEIGHBOR"],
            IncidentKind::Coworker => &["COWORKER"],
            IncidentKind::Vip => &["VIP"],
            IncidentKind::Deceased => &["DECEASED"],
            IncidentKind::Snooping => &["NO_RELATIONSHIP"],
            IncidentKind::Compromised => &["BULK", "UNUSUAL_TIME", "UNUSUAL_LOCATION"],
            IncidentKind::BreakGlass => &["BREAK_GLASS"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeptKind {
    Ward,
    Emergency,
    Lab,
    Radiology,
    Pharmacy,
    Registration,
    Billing,
    Coding,
}

#[derive(Debug, Clone)]
pub(crate) struct Dept {
    pub id: String,
    pub name: &'static str,
    pub code: &'static str,
    pub kind: DeptKind,
    pub workstations: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shift {
    Day,
    Evening,
    Night,
    Office,
}

impl Shift {
    /// (start hour, length in hours) in local time.
    fn hours(self) -> (i64, i64) {
        match self {
            Shift::Day => (7, 8),
            Shift::Evening => (15, 8),
            Shift::Night => (23, 8),
            Shift::Office => (8, 9),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Home {
    pub number: u32,
    pub street: usize,
    pub unit: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub family: &'static str,
    pub given: &'static str,
    pub birth: (i32, u32, u32),
    pub female: bool,
    pub home: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub id: String,
    pub login: String,
    pub person: Person,
    pub dept: usize,
    pub role: &'static str,
    pub shift: Shift,
    pub workstation: u32,
    pub home_ip: Option<String>,
    pub patient: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Patient {
    pub id: String,
    pub person: Person,
    pub deceased: Option<i64>,
    pub labels: Vec<&'static str>,
    pub staff: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Encounter {
    pub id: String,
    pub class: &'static str,
    pub patient: usize,
    pub dept: usize,
    pub start: i64,
    pub end: i64,
    pub team: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct CareTeam {
    pub patient: usize,
    pub members: Vec<usize>,
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Access {
    pub t: i64,
    pub staff: usize,
    pub patient: usize,
    pub address: String,
    pub ip: bool,
    pub purpose: &'static str,
    pub subtype: &'static str,
    pub incident: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Incident {
    pub kind: IncidentKind,
}

/// The whole simulated hospital.
pub(crate) struct Hospital {
    pub depts: Vec<Dept>,
    pub streets: Vec<(&'static str, &'static str, usize)>,
    pub homes: Vec<Home>,
    pub staff: Vec<Staff>,
    pub patients: Vec<Patient>,
    pub encounters: Vec<Encounter>,
    pub care_teams: Vec<CareTeam>,
    pub accesses: Vec<Access>,
    pub incidents: Vec<Incident>,
    pub offset: i64,
}

const WARDS: [(&str, &str); 10] = [
    ("Internal Medicine", "MED"),
    ("Cardiology", "CARD"),
    ("Oncology", "ONC"),
    ("General Surgery", "SURG"),
    ("Orthopedics", "ORTH"),
    ("Pediatrics", "PEDS"),
    ("Obstetrics", "OB"),
    ("Intensive Care", "ICU"),
    ("Psychiatry", "PSY"),
    ("Neurology", "NEURO"),
];

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    // Knuth for small means; normal approximation above.
    if mean > 30.0 {
        let x: f64 = mean + mean.sqrt() * normal(rng);
        return x.round().max(0.0) as u32;
    }
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(1e-12);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn zipf_surname(rng: &mut ChaCha8Rng) -> &'static str {
    // P(rank r) ~ 1 / (r + 3): the top names are shared by many unrelated families.
    let n = SURNAMES.len();
    let weights_total: f64 = (0..n).map(|r| 1.0 / (r as f64 + 3.0)).sum();
    let mut x = rng.gen::<f64>() * weights_total;
    for (r, s) in SURNAMES.iter().enumerate() {
        x -= 1.0 / (r as f64 + 3.0);
        if x <= 0.0 {
            return s;
        }
    }
    SURNAMES.first().copied().unwrap_or("Smith")
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> Option<&'a T> {
    xs.choose(rng)
}

impl Hospital {
    pub(crate) fn build(cfg: &SimConfig) -> Hospital {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut h = Hospital {
            depts: Vec::new(),
            streets: Vec::new(),
            homes: Vec::new(),
            staff: Vec::new(),
            patients: Vec::new(),
            encounters: Vec::new(),
            care_teams: Vec::new(),
            accesses: Vec::new(),
            incidents: Vec::new(),
            offset: i64::from(cfg.utc_offset_hours) * HOUR,
        };
        h.build_depts();
        h.build_streets(&mut rng);
        h.build_staff(cfg, &mut rng);
        h.build_patients(cfg, &mut rng);
        h.build_encounters(cfg, &mut rng);
        h.simulate_days(cfg, &mut rng);
        h.add_unexplained(cfg);
        h.plant_incidents(cfg, &mut rng);
        h.accesses.sort_by_key(|a| a.t);
        h
    }

    fn build_depts(&mut self) {
        let mut add = |name: &'static str, code: &'static str, kind: DeptKind, ws: u32| {
            self.depts.push(Dept {
                id: format!("org-{}", code.to_lowercase()),
                name,
                code,
                kind,
                workstations: ws,
            });
        };
        for (name, code) in WARDS {
            add(name, code, DeptKind::Ward, 6);
        }
        add("Emergency Department", "ED", DeptKind::Emergency, 10);
        add("Laboratory", "LAB", DeptKind::Lab, 6);
        add("Radiology", "RAD", DeptKind::Radiology, 6);
        add("Pharmacy", "PHARM", DeptKind::Pharmacy, 4);
        add("Patient Registration", "REG", DeptKind::Registration, 8);
        add("Patient Financial Services", "BILL", DeptKind::Billing, 8);
        add("Health Information Management", "HIM", DeptKind::Coding, 5);
    }

    fn build_streets(&mut self, rng: &mut ChaCha8Rng) {
        for (ci, _) in CITIES.iter().enumerate() {
            for name in STREETS {
                if rng.gen::<f64>() < 0.85 {
                    let suffix = pick(rng, SUFFIXES).copied().unwrap_or("Street");
                    self.streets.push((name, suffix, ci));
                }
            }
        }
    }

    fn new_home(&mut self, rng: &mut ChaCha8Rng) -> usize {
        let street = rng.gen_range(0..self.streets.len().max(1));
        let unit = (rng.gen::<f64>() < 0.2).then(|| rng.gen_range(1..30));
        self.homes.push(Home {
            number: rng.gen_range(1..400),
            street,
            unit,
        });
        self.homes.len() - 1
    }

    fn new_person(
        &mut self,
        rng: &mut ChaCha8Rng,
        family: &'static str,
        home: usize,
        adult: bool,
    ) -> Person {
        let year = if adult {
            rng.gen_range(1945..2002)
        } else {
            rng.gen_range(1940..2025)
        };
        Person {
            family,
            given: pick(rng, GIVEN).copied().unwrap_or("Alex"),
            birth: (year, rng.gen_range(1..13), rng.gen_range(1..29)),
            female: rng.gen(),
            home,
        }
    }

    fn build_staff(&mut self, cfg: &SimConfig, rng: &mut ChaCha8Rng) {
        let s = |n: f64| ((n * cfg.scale).round() as usize).max(1);
        let mut plan: Vec<(usize, &'static str, Vec<Shift>, usize)> = Vec::new();
        for (d, dept) in self.depts.iter().enumerate() {
            match dept.kind {
                DeptKind::Ward => {
                    plan.push((d, "physician", vec![Shift::Office], s(6.0)));
                    plan.push((
                        d,
                        "nurse",
                        vec![Shift::Day, Shift::Evening, Shift::Night],
                        s(18.0),
                    ));
                }
                DeptKind::Emergency => {
                    plan.push((
                        d,
                        "physician",
                        vec![Shift::Day, Shift::Evening, Shift::Night],
                        s(10.0),
                    ));
                    plan.push((
                        d,
                        "nurse",
                        vec![Shift::Day, Shift::Evening, Shift::Night],
                        s(24.0),
                    ));
                }
                DeptKind::Lab => plan.push((
                    d,
                    "lab-technician",
                    vec![Shift::Day, Shift::Evening, Shift::Night],
                    s(12.0),
                )),
                DeptKind::Radiology => {
                    plan.push((
                        d,
                        "radiology-technician",
                        vec![Shift::Day, Shift::Evening],
                        s(6.0),
                    ));
                    plan.push((
                        d,
                        "radiologist",
                        vec![Shift::Office, Shift::Evening],
                        s(5.0),
                    ));
                }
                DeptKind::Pharmacy => {
                    plan.push((d, "pharmacist", vec![Shift::Day, Shift::Evening], s(8.0)))
                }
                DeptKind::Registration => {
                    plan.push((d, "registrar", vec![Shift::Day, Shift::Evening], s(10.0)))
                }
                DeptKind::Billing => plan.push((d, "billing-clerk", vec![Shift::Office], s(8.0))),
                DeptKind::Coding => plan.push((d, "coder", vec![Shift::Office], s(5.0))),
            }
        }
        for (dept, role, shifts, n) in plan {
            for i in 0..n {
                let home = self.new_home(rng);
                let family = zipf_surname(rng);
                let person = self.new_person(rng, family, home, true);
                let idx = self.staff.len();
                let shift = shifts
                    .get(i % shifts.len())
                    .copied()
                    .unwrap_or(Shift::Office);
                let remote = (role == "radiologist" && i % 3 == 0)
                    || (role == "physician" && rng.gen::<f64>() < 0.15);
                let login = format!(
                    "{}{}{}",
                    person
                        .given
                        .chars()
                        .next()
                        .unwrap_or('x')
                        .to_ascii_lowercase(),
                    crate::write::ascii_lower(family),
                    idx
                );
                let workstations = self.depts.get(dept).map_or(1, |d| d.workstations);
                self.staff.push(Staff {
                    id: format!("prac-{idx:04}"),
                    login,
                    person,
                    dept,
                    role,
                    shift,
                    workstation: rng.gen_range(0..workstations.max(1)),
                    home_ip: remote.then(|| {
                        format!(
                            "73.{}.{}.{}",
                            rng.gen_range(1..255),
                            rng.gen_range(0..255),
                            rng.gen_range(1..255)
                        )
                    }),
                    patient: None,
                });
            }
        }
    }

    fn build_patients(&mut self, cfg: &SimConfig, rng: &mut ChaCha8Rng) {
        let n = cfg.patients as usize;
        let start = cfg.start_day * DAY;
        // Staff who are also patients, with their households.
        for si in 0..self.staff.len() {
            if rng.gen::<f64>() < 0.35 {
                let (person, home) = match self.staff.get(si) {
                    Some(s) => (s.person.clone(), s.person.home),
                    None => continue,
                };
                let pid = self.add_patient(person, vec!["EMP"], Some(si));
                if let Some(s) = self.staff.get_mut(si) {
                    s.patient = Some(pid);
                }
                let _ = home;
            }
            // Relatives living with the staff member (patients, same surname mostly).
            let relatives = match rng.gen_range(0..10) {
                0..=3 => 0,
                4..=6 => 1,
                _ => 2,
            };
            for _ in 0..relatives {
                let Some(s) = self.staff.get(si) else { break };
                let home = s.person.home;
                let family = if rng.gen::<f64>() < 0.85 {
                    s.person.family
                } else {
                    zipf_surname(rng)
                };
                let p = self.new_person(rng, family, home, false);
                self.add_patient(p, vec![], None);
            }
        }
        while self.patients.len() < n {
            let home = self.new_home(rng);
            let family = zipf_surname(rng);
            let size = match rng.gen_range(0..10) {
                0..=3 => 1,
                4..=6 => 2,
                _ => rng.gen_range(3..5),
            };
            for k in 0..size {
                let fam = if k == 0 || rng.gen::<f64>() < 0.85 {
                    family
                } else {
                    zipf_surname(rng)
                };
                let p = self.new_person(rng, fam, home, k == 0);
                self.add_patient(p, vec![], None);
            }
        }
        // Labels: celebrities, sensitive records, deaths (some long ago, some during the period).
        let count = self.patients.len();
        let mut order: Vec<usize> = (0..count).collect();
        order.shuffle(rng);
        let eligible: Vec<usize> = order
            .into_iter()
            .filter(|&p| self.patients.get(p).is_some_and(|pt| pt.staff.is_none()))
            .collect();
        let mut it = eligible.into_iter();
        let celebs = (count / 800).max(4);
        let picks: Vec<usize> = it.by_ref().take(celebs).collect();
        for p in picks {
            if let Some(pt) = self.patients.get_mut(p) {
                pt.labels.push("CEL");
            }
        }
        let sensitive: Vec<usize> = it.by_ref().take(count / 25).collect();
        for p in sensitive {
            if let Some(pt) = self.patients.get_mut(p) {
                pt.labels.push(
                    pick(rng, &["PSY", "HIV", "SDV", "ETH", "R"])
                        .copied()
                        .unwrap_or("R"),
                );
            }
        }
        let dead: Vec<usize> = it.take(count / 40).collect();
        for p in dead {
            let when = start - rng.gen_range(60..900) * DAY + rng.gen_range(0..DAY);
            if let Some(pt) = self.patients.get_mut(p) {
                pt.deceased = Some(when);
            }
        }
    }

    fn add_patient(
        &mut self,
        person: Person,
        labels: Vec<&'static str>,
        staff: Option<usize>,
    ) -> usize {
        let idx = self.patients.len();
        self.patients.push(Patient {
            id: format!("pat-{idx:06}"),
            person,
            deceased: None,
            labels,
            staff,
        });
        idx
    }

    fn staff_of(&self, dept: usize, role: &str) -> Vec<usize> {
        self.staff
            .iter()
            .enumerate()
            .filter(|(_, s)| s.dept == dept && s.role == role)
            .map(|(i, _)| i)
            .collect()
    }

    fn alive_at(&self, p: usize, t: i64) -> bool {
        self.patients
            .get(p)
            .is_some_and(|pt| pt.deceased.is_none_or(|d| d > t))
    }

    /// Repeats a share of the legitimate accesses on random living patients, from a separate
    /// random stream (so a share of 0 leaves the hospital byte-identical).
    fn add_unexplained(&mut self, cfg: &SimConfig) {
        let share = cfg.unexplained_share.clamp(0.0, 1.0);
        if share <= 0.0 {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x756e_6578_706c_6169);
        let mut extra = Vec::new();
        for a in &self.accesses {
            if rng.gen::<f64>() < share {
                let patient = self.random_patient(&mut rng, a.t);
                extra.push(Access {
                    t: a.t + rng.gen_range(1..120),
                    patient,
                    address: a.address.clone(),
                    ..*a
                });
            }
        }
        self.accesses.extend(extra);
    }

    fn random_patient(&self, rng: &mut ChaCha8Rng, t: i64) -> usize {
        for _ in 0..20 {
            let p = rng.gen_range(0..self.patients.len().max(1));
            if self.alive_at(p, t) {
                return p;
            }
        }
        0
    }

    fn build_encounters(&mut self, cfg: &SimConfig, rng: &mut ChaCha8Rng) {
        let first = (cfg.start_day - i64::from(cfg.history_days)) * DAY - self.offset;
        let last = (cfg.start_day + i64::from(cfg.days)) * DAY - self.offset;
        let ed = self
            .depts
            .iter()
            .position(|d| d.kind == DeptKind::Emergency)
            .unwrap_or(0);
        let ed_docs = self.staff_of(ed, "physician");
        let ed_nurses = self.staff_of(ed, "nurse");
        let wards: Vec<usize> = (0..self.depts.len())
            .filter(|&d| self.depts.get(d).is_some_and(|x| x.kind == DeptKind::Ward))
            .collect();
        // Staff-patients treated in their own department, and admitted celebrities.
        let mut forced: Vec<(usize, usize)> = Vec::new();
        for s in &self.staff {
            if let (Some(p), true) = (s.patient, rng.gen::<f64>() < 0.25) {
                let dept = if wards.contains(&s.dept) {
                    s.dept
                } else {
                    *pick(rng, &wards).unwrap_or(&0)
                };
                forced.push((p, dept));
            }
        }
        for (p, pt) in self.patients.iter().enumerate() {
            if pt.labels.contains(&"CEL") && rng.gen::<f64>() < 0.5 {
                forced.push((p, *pick(rng, &wards).unwrap_or(&0)));
            }
        }
        let mut day = first;
        while day < last {
            // Emergency visits, some admitted.
            for _ in 0..poisson(rng, 28.0 * cfg.scale) {
                let start = day + rng.gen_range(0..DAY);
                let end = start + rng.gen_range(2 * HOUR..9 * HOUR);
                let p = self.random_patient(rng, end);
                let mut team = Vec::new();
                let docs = self.on_duty(ed, "physician", start);
                let nurses = self.on_duty(ed, "nurse", start);
                let docs = if docs.is_empty() {
                    ed_docs.clone()
                } else {
                    docs
                };
                let nurses = if nurses.is_empty() {
                    ed_nurses.clone()
                } else {
                    nurses
                };
                team.extend(pick(rng, &docs).copied());
                team.extend(nurses.choose_multiple(rng, 2).copied());
                self.push_encounter("EMER", p, ed, start, end, team);
                if rng.gen::<f64>() < 0.2 {
                    let ward = *pick(rng, &wards).unwrap_or(&0);
                    self.admit(rng, p, ward, end);
                }
            }
            for &ward in &wards {
                for _ in 0..poisson(rng, 2.2 * cfg.scale) {
                    let start = day + rng.gen_range(7 * HOUR..20 * HOUR);
                    let p = self.random_patient(rng, start + 10 * DAY);
                    self.admit(rng, p, ward, start);
                }
                for _ in 0..poisson(rng, 4.0 * cfg.scale) {
                    let start = day + rng.gen_range(13 * HOUR..22 * HOUR); // 08-17 local
                    let p = self.random_patient(rng, start + DAY);
                    let doc = self.staff_of(ward, "physician");
                    let team: Vec<usize> = pick(rng, &doc).copied().into_iter().collect();
                    self.push_encounter(
                        "AMB",
                        p,
                        ward,
                        start,
                        start + rng.gen_range(1200..3600),
                        team,
                    );
                }
            }
            day += DAY;
        }
        for (p, ward) in forced {
            let start = first + rng.gen_range(0..(last - first).max(1));
            if self.alive_at(p, start + 10 * DAY) {
                self.admit(rng, p, ward, start);
            }
        }
        // Long-lived oncology care teams.
        let onc = self.depts.iter().position(|d| d.code == "ONC");
        if let Some(onc) = onc {
            let onc_encounters: Vec<(usize, Vec<usize>, i64)> = self
                .encounters
                .iter()
                .filter(|e| e.dept == onc && e.class == "IMP")
                .map(|e| (e.patient, e.team.clone(), e.start))
                .collect();
            for (p, team, start) in onc_encounters {
                self.care_teams.push(CareTeam {
                    patient: p,
                    members: team.into_iter().take(2).collect(),
                    start,
                    end: start + 180 * DAY,
                });
            }
        }
    }

    fn admit(&mut self, rng: &mut ChaCha8Rng, p: usize, ward: usize, start: i64) {
        let los = 1 + poisson(rng, 3.0) as i64;
        let end = start + los * DAY + rng.gen_range(-4 * HOUR..4 * HOUR);
        let docs = self.staff_of(ward, "physician");
        let nurses = self.staff_of(ward, "nurse");
        let mut team: Vec<usize> = docs.choose_multiple(rng, 2).copied().collect();
        // One assigned nurse per shift.
        for shift in [Shift::Day, Shift::Evening, Shift::Night] {
            let on: Vec<usize> = nurses
                .iter()
                .copied()
                .filter(|&n| self.staff.get(n).is_some_and(|s| s.shift == shift))
                .collect();
            team.extend(pick(rng, &on).copied());
        }
        let dies = self.depts.get(ward).is_some_and(|d| d.code == "ICU") && rng.gen::<f64>() < 0.08;
        self.push_encounter("IMP", p, ward, start, end, team);
        if dies {
            if let Some(pt) = self.patients.get_mut(p) {
                pt.deceased = Some(end);
            }
        }
    }

    fn push_encounter(
        &mut self,
        class: &'static str,
        p: usize,
        dept: usize,
        start: i64,
        end: i64,
        team: Vec<usize>,
    ) {
        let id = format!("enc-{:07}", self.encounters.len());
        self.encounters.push(Encounter {
            id,
            class,
            patient: p,
            dept,
            start,
            end,
            team,
        });
    }

    /// Is `s` working on local day `d` (5 days of 7, staggered)?
    fn works(&self, s: usize, d: i64) -> bool {
        let x = (s as i64).wrapping_mul(7919).wrapping_add(d);
        x.rem_euclid(7) < 5
    }

    fn shift_window(&self, s: usize, local_day: i64) -> (i64, i64) {
        let shift = self.staff.get(s).map_or(Shift::Office, |x| x.shift);
        let (h0, len) = shift.hours();
        let start = local_day * DAY + h0 * HOUR - self.offset;
        (start, start + len * HOUR)
    }

    fn workstation(&self, rng: &mut ChaCha8Rng, s: usize) -> String {
        let Some(st) = self.staff.get(s) else {
            return "WS-UNKNOWN-01".to_owned();
        };
        let dept = self.depts.get(st.dept);
        let n = dept.map_or(1, |d| d.workstations.max(1));
        let code = dept.map_or("X", |d| d.code);
        let ws = if rng.gen::<f64>() < 0.75 {
            st.workstation
        } else {
            rng.gen_range(0..n)
        };
        format!("WS-{code}-{:02}", ws + 1)
    }

    /// Records a legitimate access, unless it is the user's own record: staff do not work on
    /// their own record (they are off duty while admitted, and a roster that lists them on their
    /// own encounter does not make them open it).
    fn push_legit(&mut self, a: Access) {
        if self
            .staff
            .get(a.staff)
            .is_some_and(|x| x.patient == Some(a.patient))
        {
            return;
        }
        self.accesses.push(a);
    }

    fn access(&mut self, rng: &mut ChaCha8Rng, t: i64, s: usize, p: usize, purpose: &'static str) {
        if self.staff.get(s).is_some_and(|x| x.patient == Some(p)) {
            return; // before any draw, so that the rest of the hospital stays as it was
        }
        let subtype =
            *pick(rng, &["read", "read", "read", "search-type", "vread"]).unwrap_or(&"read");
        let address = self.workstation(rng, s);
        self.push_legit(Access {
            t,
            staff: s,
            patient: p,
            address,
            ip: false,
            purpose,
            subtype,
            incident: None,
        });
    }

    fn on_duty(&self, dept: usize, role: &str, t: i64) -> Vec<usize> {
        let local_day = (t + self.offset).div_euclid(DAY);
        self.staff
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                s.dept == dept && s.role == role && {
                    // A night shift that started yesterday is still on duty after midnight.
                    [local_day, local_day - 1].iter().any(|&d| {
                        let (a, b) = self.shift_window(*i, d);
                        self.works(*i, d) && t >= a && t < b
                    })
                }
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn simulate_days(&mut self, cfg: &SimConfig, rng: &mut ChaCha8Rng) {
        for d in 0..i64::from(cfg.days) {
            let local_day = cfg.start_day + d;
            let day_start = local_day * DAY - self.offset;
            let day_end = day_start + DAY;
            let active: Vec<usize> = (0..self.encounters.len())
                .filter(|&e| {
                    self.encounters
                        .get(e)
                        .is_some_and(|x| x.start < day_end && x.end > day_start)
                })
                .collect();
            for e in active {
                let Some(enc) = self.encounters.get(e).cloned() else {
                    continue;
                };
                let lo = enc.start.max(day_start);
                let hi = enc.end.min(day_end);
                if hi <= lo {
                    continue;
                }
                match enc.class {
                    "IMP" => self.inpatient_day(rng, &enc, lo, hi),
                    "EMER" => self.emergency_visit(rng, &enc),
                    _ => self.outpatient_visit(rng, &enc),
                }
            }
            self.census(rng, day_start);
            self.back_office(rng, day_start);
            self.registration_ahead(rng, day_start);
        }
    }

    fn time_in(&self, rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            rng.gen_range(lo..hi)
        }
    }

    fn inpatient_day(&mut self, rng: &mut ChaCha8Rng, enc: &Encounter, lo: i64, hi: i64) {
        let local_day = (lo + self.offset).div_euclid(DAY);
        let dept = enc.dept;
        // Physicians on the team, office hours (some from home in the evening).
        let physicians: Vec<usize> = enc
            .team
            .iter()
            .copied()
            .filter(|&s| self.staff.get(s).is_some_and(|x| x.role == "physician"))
            .collect();
        for s in physicians {
            if !self.works(s, local_day) {
                continue;
            }
            let (a, b) = self.shift_window(s, local_day);
            for _ in 0..rng.gen_range(2..6) {
                let t = self.time_in(rng, a.max(lo), b.min(hi));
                if t >= lo && t < hi {
                    self.access(rng, t, s, enc.patient, "TREAT");
                }
            }
            let home_ip = self.staff.get(s).and_then(|x| x.home_ip.clone());
            if let (Some(ip), true) = (home_ip, rng.gen::<f64>() < 0.3) {
                let t = local_day * DAY + rng.gen_range(19 * HOUR..22 * HOUR) - self.offset;
                if t >= lo && t < hi {
                    self.push_legit(Access {
                        t,
                        staff: s,
                        patient: enc.patient,
                        address: ip,
                        ip: true,
                        purpose: "TREAT",
                        subtype: "read",
                        incident: None,
                    });
                }
            }
        }
        // Nurses on duty in each shift window overlapping the stay.
        // -1: the night shift that began yesterday at 23:00 and runs until 07:00 today.
        for shift_start in [-1, 7, 15, 23] {
            let a = local_day * DAY + shift_start * HOUR - self.offset;
            let b = a + 8 * HOUR;
            let (a, b) = (a.max(lo), b.min(hi));
            if b <= a {
                continue;
            }
            let duty = self.on_duty(dept, "nurse", a + 60);
            let assigned: Vec<usize> = enc
                .team
                .iter()
                .copied()
                .filter(|s| duty.contains(s))
                .collect();
            for _ in 0..rng.gen_range(2..6) {
                let s = if !assigned.is_empty() && rng.gen::<f64>() < 0.7 {
                    pick(rng, &assigned).copied()
                } else {
                    pick(rng, &duty).copied()
                };
                if let Some(s) = s {
                    let t = self.time_in(rng, a, b);
                    self.access(rng, t, s, enc.patient, "TREAT");
                }
            }
        }
        // Services: pharmacy, lab, radiology; consults; float nurses.
        let pharm = self.dept_by_kind(DeptKind::Pharmacy);
        let lab = self.dept_by_kind(DeptKind::Lab);
        let rad = self.dept_by_kind(DeptKind::Radiology);
        if rng.gen::<f64>() < 0.9 {
            self.service_access(rng, pharm, "pharmacist", lo, hi, enc.patient);
        }
        if rng.gen::<f64>() < 0.7 {
            self.service_access(rng, lab, "lab-technician", lo, hi, enc.patient);
        }
        if rng.gen::<f64>() < 0.25 {
            self.service_access(rng, rad, "radiology-technician", lo, hi, enc.patient);
            self.radiologist_read(rng, rad, lo, hi, enc.patient);
        }
        if rng.gen::<f64>() < 0.12 {
            let wards: Vec<usize> = (0..self.depts.len())
                .filter(|&d| {
                    d != dept && self.depts.get(d).is_some_and(|x| x.kind == DeptKind::Ward)
                })
                .collect();
            if let Some(&other) = pick(rng, &wards) {
                let docs = self.staff_of(other, "physician");
                if let Some(&s) = pick(rng, &docs) {
                    let (a, b) = self.shift_window(s, local_day);
                    let t0 = self.time_in(rng, a.max(lo), b.min(hi).max(a.max(lo) + 1));
                    for k in 0..rng.gen_range(1..4) {
                        self.access(rng, t0 + k * 600, s, enc.patient, "TREAT");
                    }
                }
            }
        }
        if rng.gen::<f64>() < 0.03 {
            let wards: Vec<usize> = (0..self.depts.len())
                .filter(|&d| {
                    d != dept && self.depts.get(d).is_some_and(|x| x.kind == DeptKind::Ward)
                })
                .collect();
            if let Some(&other) = pick(rng, &wards) {
                let t = self.time_in(rng, lo, hi);
                let duty = self.on_duty(other, "nurse", t);
                if let Some(&s) = pick(rng, &duty) {
                    self.access(rng, t, s, enc.patient, "TREAT");
                }
            }
        }
    }

    fn dept_by_kind(&self, kind: DeptKind) -> usize {
        self.depts.iter().position(|d| d.kind == kind).unwrap_or(0)
    }

    fn service_access(
        &mut self,
        rng: &mut ChaCha8Rng,
        dept: usize,
        role: &str,
        lo: i64,
        hi: i64,
        p: usize,
    ) {
        let t = self.time_in(rng, lo, hi);
        let duty = self.on_duty(dept, role, t);
        if let Some(&s) = pick(rng, &duty) {
            self.access(rng, t, s, p, "TREAT");
        }
    }

    fn radiologist_read(&mut self, rng: &mut ChaCha8Rng, rad: usize, lo: i64, hi: i64, p: usize) {
        let rads = self.staff_of(rad, "radiologist");
        let Some(&s) = pick(rng, &rads) else { return };
        let t = self.time_in(rng, lo, hi);
        let ip = self.staff.get(s).and_then(|x| x.home_ip.clone());
        match ip {
            Some(ip) => self.push_legit(Access {
                t,
                staff: s,
                patient: p,
                address: ip,
                ip: true,
                purpose: "TREAT",
                subtype: "read",
                incident: None,
            }),
            None => self.access(rng, t, s, p, "TREAT"),
        }
    }

    fn emergency_visit(&mut self, rng: &mut ChaCha8Rng, enc: &Encounter) {
        let (lo, hi) = (enc.start, enc.end);
        for &s in &enc.team {
            for _ in 0..rng.gen_range(2..5) {
                let t = self.time_in(rng, lo, hi);
                let purpose = if rng.gen::<f64>() < 0.5 {
                    "ETREAT"
                } else {
                    "TREAT"
                };
                self.access(rng, t, s, enc.patient, purpose);
            }
        }
        // Another ED physician breaks the glass to help (legitimate, emergency context).
        if rng.gen::<f64>() < 0.2 {
            let t = self.time_in(rng, lo, hi);
            let duty = self.on_duty(enc.dept, "physician", t);
            if let Some(&s) = pick(rng, &duty) {
                self.access(rng, t, s, enc.patient, "BTG");
            }
        }
        let reg = self.dept_by_kind(DeptKind::Registration);
        self.service_access(rng, reg, "registrar", lo, lo + 900, enc.patient);
        let lab = self.dept_by_kind(DeptKind::Lab);
        if rng.gen::<f64>() < 0.7 {
            self.service_access(rng, lab, "lab-technician", lo, hi, enc.patient);
        }
        let rad = self.dept_by_kind(DeptKind::Radiology);
        if rng.gen::<f64>() < 0.4 {
            self.service_access(rng, rad, "radiology-technician", lo, hi, enc.patient);
            self.radiologist_read(rng, rad, lo, hi, enc.patient);
        }
    }

    fn outpatient_visit(&mut self, rng: &mut ChaCha8Rng, enc: &Encounter) {
        let reg = self.dept_by_kind(DeptKind::Registration);
        self.service_access(
            rng,
            reg,
            "registrar",
            enc.start - 1200,
            enc.start,
            enc.patient,
        );
        for &s in &enc.team {
            if rng.gen::<f64>() < 0.3 {
                let t = enc.start - rng.gen_range(HOUR..20 * HOUR);
                self.access(rng, t, s, enc.patient, "TREAT");
            }
            for _ in 0..rng.gen_range(1..4) {
                let t = self.time_in(rng, enc.start, enc.end);
                self.access(rng, t, s, enc.patient, "TREAT");
            }
        }
        let duty = self.on_duty(enc.dept, "nurse", enc.start);
        if let Some(&s) = pick(rng, &duty) {
            self.access(rng, enc.start, s, enc.patient, "TREAT");
        }
    }

    /// Ward census at each shift change: the charge nurse opens every current patient.
    fn census(&mut self, rng: &mut ChaCha8Rng, day_start: i64) {
        for ward in 0..self.depts.len() {
            if self
                .depts
                .get(ward)
                .is_none_or(|d| d.kind != DeptKind::Ward)
            {
                continue;
            }
            for shift_start in [7, 15, 23] {
                let t0 = day_start + shift_start * HOUR + rng.gen_range(0..900);
                let duty = self.on_duty(ward, "nurse", t0);
                let Some(&charge) = pick(rng, &duty) else {
                    continue;
                };
                let patients: Vec<usize> = self
                    .encounters
                    .iter()
                    .filter(|e| e.dept == ward && e.class == "IMP" && e.start <= t0 && e.end > t0)
                    .map(|e| e.patient)
                    .collect();
                let own = self.staff.get(charge).and_then(|x| x.patient);
                for (k, p) in patients.into_iter().filter(|&p| Some(p) != own).enumerate() {
                    let t = t0 + (k as i64) * rng.gen_range(20..60);
                    let address = self.workstation(rng, charge);
                    self.accesses.push(Access {
                        t,
                        staff: charge,
                        patient: p,
                        address,
                        ip: false,
                        purpose: "TREAT",
                        subtype: "search-type",
                        incident: None,
                    });
                }
            }
        }
    }

    /// Billing and coding batches for encounters that ended days ago; follow-up reviews.
    fn back_office(&mut self, rng: &mut ChaCha8Rng, day_start: i64) {
        let local_day = (day_start + self.offset).div_euclid(DAY);
        let bill = self.dept_by_kind(DeptKind::Billing);
        let him = self.dept_by_kind(DeptKind::Coding);
        for (dept, role, min_days, max_days, purpose) in [
            (bill, "billing-clerk", 1, 10, "HPAYMT"),
            (him, "coder", 2, 14, "HOPERAT"),
        ] {
            let mut queue: Vec<usize> = self
                .encounters
                .iter()
                .filter(|e| {
                    (role == "billing-clerk" || e.class == "IMP")
                        && e.end < day_start - min_days * DAY
                        && e.end >= day_start - max_days * DAY
                })
                .map(|e| e.patient)
                .collect();
            queue.shuffle(rng);
            let workers: Vec<usize> = self
                .staff_of(dept, role)
                .into_iter()
                .filter(|&s| self.works(s, local_day))
                .collect();
            if workers.is_empty() {
                continue;
            }
            let share = (queue.len() as f64 / (max_days - min_days) as f64 * 1.2).ceil() as usize;
            let today: Vec<usize> = queue.into_iter().take(share).collect();
            for (k, chunk) in today
                .chunks(share.div_ceil(workers.len()).max(1))
                .enumerate()
            {
                let Some(&s) = workers.get(k % workers.len()) else {
                    continue;
                };
                let (a, _) = self.shift_window(s, local_day);
                let mut t = a + rng.gen_range(0..2 * HOUR);
                for &p in chunk {
                    t += rng.gen_range(60..400);
                    self.access(rng, t, s, p, purpose);
                }
            }
        }
        // Follow-up: physicians review patients discharged in the last weeks.
        let recent: Vec<(usize, Vec<usize>)> = self
            .encounters
            .iter()
            .filter(|e| e.class == "IMP" && e.end < day_start && e.end > day_start - 30 * DAY)
            .map(|e| (e.patient, e.team.clone()))
            .collect();
        for (p, team) in recent {
            if rng.gen::<f64>() < 0.04 {
                if let Some(&s) = team.first() {
                    let (a, b) = self.shift_window(s, local_day);
                    let t = self.time_in(rng, a, b);
                    self.access(rng, t, s, p, "TREAT");
                }
            }
        }
    }

    /// Registrars schedule admissions and visits days ahead.
    fn registration_ahead(&mut self, rng: &mut ChaCha8Rng, day_start: i64) {
        let reg = self.dept_by_kind(DeptKind::Registration);
        let upcoming: Vec<usize> = self
            .encounters
            .iter()
            .filter(|e| {
                e.class != "EMER" && e.start > day_start + DAY && e.start < day_start + 8 * DAY
            })
            .map(|e| e.patient)
            .collect();
        for p in upcoming {
            if rng.gen::<f64>() < 0.05 {
                let t = day_start + rng.gen_range(13 * HOUR..21 * HOUR);
                self.service_access(rng, reg, "registrar", t, t + 1, p);
            }
        }
    }

    fn related(&self, s: usize, p: usize) -> bool {
        let Some(st) = self.staff.get(s) else {
            return true;
        };
        self.encounters
            .iter()
            .any(|e| e.patient == p && (e.team.contains(&s) || e.dept == st.dept))
    }

    fn plant_incidents(&mut self, cfg: &SimConfig, rng: &mut ChaCha8Rng) {
        let first_day = cfg.start_day + i64::from(cfg.days - cfg.incident_days);
        let mut used: Vec<usize> = Vec::new();
        let clinical: Vec<usize> = (0..self.staff.len()).collect();
        for kind in IncidentKind::ALL {
            let mut planted = 0;
            let mut attempts = 0;
            while planted < cfg.incidents_per_kind && attempts < 5000 {
                attempts += 1;
                let day = first_day + rng.gen_range(0..i64::from(cfg.incident_days));
                let Some(&s) = pick(rng, &clinical) else {
                    break;
                };
                if used.contains(&s) || !self.works(s, day) {
                    continue;
                }
                let (a, b) = self.shift_window(s, day);
                let t = self.time_in(rng, a + HOUR, b - HOUR);
                let target = match kind {
                    IncidentKind::SelfAccess => self.staff.get(s).and_then(|x| x.patient),
                    IncidentKind::Family => self.find(rng, |h, _, p| {
                        h.staff
                            .get(s)
                            .is_some_and(|x| p.person.home == x.person.home && p.staff != Some(s))
                    }),
                    IncidentKind::Neighbor => self.find(rng, |h, _, p| {
                        h.staff.get(s).is_some_and(|x| {
                            let mine = h.homes.get(x.person.home);
                            let theirs = h.homes.get(p.person.home);
                            match (mine, theirs) {
                                (Some(m), Some(o)) => {
                                    m.street == o.street && p.person.home != x.person.home
                                }
                                _ => false,
                            }
                        })
                    }),
                    IncidentKind::Coworker => self.find(rng, |h, _, p| {
                        p.staff.is_some_and(|o| {
                            o != s
                                && h.staff.get(o).map(|x| x.dept) == h.staff.get(s).map(|x| x.dept)
                        })
                    }),
                    IncidentKind::Vip => self.find(rng, |_, _, p| p.labels.contains(&"CEL")),
                    IncidentKind::Deceased => {
                        self.find(rng, |_, _, p| p.deceased.is_some_and(|d| d < t - 60 * DAY))
                    }
                    IncidentKind::Snooping
                    | IncidentKind::BreakGlass
                    | IncidentKind::Compromised => self.find(rng, |h, idx, p| {
                        p.deceased.is_none()
                            && p.labels.is_empty()
                            && !h.encounters.iter().any(|e| {
                                e.patient == idx && e.end > t - 60 * DAY && e.start < t + 14 * DAY
                            })
                    }),
                };
                let Some(target) = target else { continue };
                if kind != IncidentKind::Compromised && self.related(s, target) {
                    continue;
                }
                if kind == IncidentKind::BreakGlass
                    && self
                        .staff
                        .get(s)
                        .and_then(|x| self.depts.get(x.dept))
                        .is_some_and(|d| d.kind == DeptKind::Emergency)
                {
                    continue;
                }
                let id = self.incidents.len();
                self.incidents.push(Incident { kind });
                used.push(s);
                planted += 1;
                match kind {
                    IncidentKind::Compromised => {
                        let night = day * DAY + rng.gen_range(HOUR..4 * HOUR) - self.offset;
                        let ip = format!(
                            "185.{}.{}.{}",
                            rng.gen_range(1..255),
                            rng.gen_range(0..255),
                            rng.gen_range(1..255)
                        );
                        let n = rng.gen_range(40..160);
                        let mut t = night;
                        for k in 0..n {
                            let p = if k == 0 {
                                target
                            } else {
                                self.random_patient(rng, t)
                            };
                            t += rng.gen_range(5..40);
                            self.accesses.push(Access {
                                t,
                                staff: s,
                                patient: p,
                                address: ip.clone(),
                                ip: true,
                                purpose: "TREAT",
                                subtype: pick(rng, &["read", "search-type"]).unwrap_or(&"read"),
                                incident: Some(id),
                            });
                        }
                    }
                    _ => {
                        let purpose = if kind == IncidentKind::BreakGlass {
                            "BTG"
                        } else {
                            "TREAT"
                        };
                        for k in 0..rng.gen_range(1..4) {
                            let address = self.workstation(rng, s);
                            self.accesses.push(Access {
                                t: t + k * rng.gen_range(30..300),
                                staff: s,
                                patient: target,
                                address,
                                ip: false,
                                purpose,
                                subtype: "read",
                                incident: Some(id),
                            });
                        }
                    }
                }
            }
        }
    }

    fn find(
        &self,
        rng: &mut ChaCha8Rng,
        f: impl Fn(&Hospital, usize, &Patient) -> bool,
    ) -> Option<usize> {
        let n = self.patients.len();
        if n == 0 {
            return None;
        }
        let start = rng.gen_range(0..n);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&p| self.patients.get(p).is_some_and(|pt| f(self, p, pt)))
    }
}
