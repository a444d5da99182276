//! How exposed each staff member is to each identity coincidence.
//!
//! Legitimate work opens patients because of their care, not because of where they live or
//! whom they work with, so the chance that a legitimate access by a user lands on a neighbour is
//! proportional to how many of the hospital's patients live on the user's street; on a member of
//! their household, to how many share their home; on a colleague of their own department, to how
//! many of the hospital's patients are staff of that department. A nurse on a street where 40
//! patients live meets neighbours in routine work ten times as often as one on a street where 4
//! do, and the same NEIGHBOR flag is correspondingly weaker evidence for the first.
//!
//! [`Exposures`] counts these from the context once. The monitor learns each flag's legitimate
//! rate per unit of exposure (an access by a user with relative exposure `x` counts `x`
//! opportunities, see [`crate::model::Rate::add_exposed`]) and expects `rate * x` for a user with
//! exposure `x`: a hospital where everyone's exposure is equal behaves exactly as without it.

use rustc_hash::FxHashMap;

use crate::world::World;

/// The identity coincidences whose base rate depends on the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Patients sharing the user's home.
    Home,
    /// Patients on the user's street (not in their home).
    Street,
    /// Patients who are staff of the user's department (not the user).
    DeptStaff,
    /// Patients with the user's surname who do not share their home: a parent or a grown child
    /// living elsewhere, or a namesake (a user named Müller has many, one named Jöckel few).
    Surname,
}

const KINDS: usize = 4;

/// Relative exposure of every staff member (mean 1 over staff with a known value).
#[derive(Debug, Clone, Default)]
pub struct Exposures {
    /// Per staff member, per kind: exposure divided by the staff mean.
    relative: Vec<[f32; KINDS]>,
    /// Per kind: the staff mean (patients), the unit of `relative`.
    mean: [f64; KINDS],
}

impl Exposures {
    /// Counts the exposures of every staff member among the context's patients.
    pub fn new(world: &World) -> Exposures {
        let mut homes: FxHashMap<u64, u32> = FxHashMap::default();
        let mut streets: FxHashMap<u64, u32> = FxHashMap::default();
        let mut dept_staff: FxHashMap<u16, u32> = FxHashMap::default();
        let mut surnames: FxHashMap<u64, u32> = FxHashMap::default();
        let mut home_surnames: FxHashMap<(u64, u64), u32> = FxHashMap::default();
        let mut matched = vec![false; world.staff.len()];
        for p in world.patients.iter().filter(|p| p.known) {
            if p.identity.home != 0 {
                *homes.entry(p.identity.home).or_insert(0) += 1;
            }
            if p.identity.street != 0 {
                *streets.entry(p.identity.street).or_insert(0) += 1;
            }
            if p.identity.family != 0 {
                *surnames.entry(p.identity.family).or_insert(0) += 1;
                if p.identity.home != 0 {
                    *home_surnames
                        .entry((p.identity.home, p.identity.family))
                        .or_insert(0) += 1;
                }
            }
            if let Some(s) = p.staff_match {
                if let Some(m) = matched.get_mut(s as usize) {
                    *m = true;
                }
                if let Some(d) = world.staff.get(s as usize).and_then(|st| st.dept) {
                    *dept_staff.entry(d).or_insert(0) += 1;
                }
            }
        }
        let raw: Vec<[f64; KINDS]> = world
            .staff
            .iter()
            .zip(&matched)
            .map(|(s, &own)| {
                let own = u32::from(own);
                let id = &s.identity;
                // Unknown names and addresses (key 0) are never counted, so they find nothing.
                let home = homes.get(&id.home).copied().unwrap_or(0);
                let street = streets.get(&id.street).copied().unwrap_or(0);
                let dept = s
                    .dept
                    .and_then(|d| dept_staff.get(&d).copied())
                    .unwrap_or(0);
                let at_home = home_surnames
                    .get(&(id.home, id.family))
                    .copied()
                    .unwrap_or(0);
                let surname = surnames
                    .get(&id.family)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(at_home.max(own));
                // The user's own record (same home, a staff match in their department) is SELF,
                // not a coincidence with someone else.
                [
                    f64::from(home.saturating_sub(own)),
                    f64::from(street.saturating_sub(home)),
                    f64::from(dept.saturating_sub(own)),
                    f64::from(surname),
                ]
            })
            .collect();
        let mut mean = [0.0f64; KINDS];
        for r in &raw {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v;
            }
        }
        let n = raw.len().max(1) as f64;
        let mean_out = mean.map(|m| m / n);
        let relative = raw
            .iter()
            .map(|r| {
                let mut out = [1.0f32; KINDS];
                for ((o, v), m) in out.iter_mut().zip(r).zip(&mean) {
                    if *m > 0.0 {
                        *o = (v / (m / n)) as f32;
                    }
                }
                out
            })
            .collect();
        Exposures {
            relative,
            mean: mean_out,
        }
    }

    /// The staff mean of an exposure, in patients: a staff member with relative exposure `x`
    /// has `x * mean` patients of this kind among the hospital's.
    pub fn mean(&self, kind: Kind) -> f64 {
        self.mean.get(kind as usize).copied().unwrap_or(0.0)
    }

    /// Relative exposure of a staff member to a coincidence (1 for logins the context does not
    /// know, or when nobody in the hospital has any exposure of this kind).
    pub fn relative(&self, staff: Option<u32>, kind: Kind) -> f64 {
        let i = match kind {
            Kind::Home => 0,
            Kind::Street => 1,
            Kind::DeptStaff => 2,
            Kind::Surname => 3,
        };
        staff
            .and_then(|s| self.relative.get(s as usize))
            .and_then(|r| r.get(i))
            .map_or(1.0, |&x| f64::from(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phiguard_fhir::context::{parse_patient, parse_practitioner, parse_role, Context};

    fn world() -> World {
        let mut ctx = Context::default();
        ctx.organizations.push(
            phiguard_fhir::context::parse_organization(
                r#"{"resourceType":"Organization","id":"d","name":"Dept"}"#,
            )
            .unwrap(),
        );
        // Staff: a on a busy street, b on a quiet one, c with no address.
        for (id, line) in [("a", "1 Busy St"), ("b", "1 Quiet St"), ("c", "")] {
            let addr = if line.is_empty() {
                String::new()
            } else {
                format!(r#","address":[{{"line":["{line}"],"city":"X"}}]"#)
            };
            let mut p = parse_practitioner(&format!(
                r#"{{"resourceType":"Practitioner","id":"{id}","identifier":[{{"value":"{id}"}}],"name":[{{"family":"F{id}","given":["G"]}}],"birthDate":"1980-01-01"{addr}}}"#
            ))
            .unwrap();
            let (_, r) = parse_role(&format!(
                r#"{{"resourceType":"PractitionerRole","practitioner":{{"reference":"Practitioner/{id}"}},"organization":{{"reference":"Organization/d"}}}}"#
            ))
            .unwrap();
            p.roles.push(r);
            ctx.practitioners.push(p);
        }
        // Nine patients on Busy St (one at a's home), one on Quiet St; c is also a patient.
        let mut patients: Vec<String> = (2..10)
            .map(|i| format!("{i} Busy St"))
            .chain(["1 Busy St".to_owned(), "5 Quiet St".to_owned()])
            .collect();
        patients.sort();
        for (i, line) in patients.iter().enumerate() {
            ctx.patients.push(parse_patient(&format!(
                r#"{{"resourceType":"Patient","id":"p{i}","name":[{{"family":"P{i}"}}],"address":[{{"line":["{line}"],"city":"X"}}]}}"#
            )).unwrap());
        }
        ctx.patients.push(
            parse_patient(
                r#"{"resourceType":"Patient","id":"pc","name":[{"family":"Fc","given":["G"]}],"birthDate":"1980-01-01"}"#,
            )
            .unwrap(),
        );
        World::new(&ctx)
    }

    #[test]
    fn street_home_and_department_exposure() {
        let mut w = world();
        let e = Exposures::new(&w);
        let mut staff = |login: &str| {
            let u = w.user(login);
            w.users.get(u as usize).and_then(|u| u.practitioner)
        };
        let (a, b, c) = (staff("a"), staff("b"), staff("c"));
        // Street mates (excluding the home): a has 8, b has 1, c none: mean 3.
        assert!((e.relative(a, Kind::Street) - 8.0 / 3.0).abs() < 1e-6);
        assert!((e.relative(b, Kind::Street) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(e.relative(c, Kind::Street), 0.0);
        // Only a shares a home with a patient.
        assert!((e.relative(a, Kind::Home) - 3.0).abs() < 1e-6);
        // c's own patient record is the only staff match: nobody else is exposed to a
        // department colleague, c is not exposed to themself.
        assert_eq!(e.relative(c, Kind::DeptStaff), 0.0);
        assert!((e.relative(a, Kind::DeptStaff) - 1.5).abs() < 1e-6);
        // Unknown logins: neutral.
        assert_eq!(e.relative(None, Kind::Street), 1.0);
    }
}
