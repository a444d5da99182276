//! Empirical-Bayes pooling: how many pseudo-observations of the peer group's rates a user's
//! own history is weighed against (per rung, and for the departments a user reaches), and how
//! the night changes each peer group's rungs. Re-estimated by the engine at the start of each
//! local day and every few thousand events, from earlier events only.

use rustc_hash::FxHashMap;

use super::{Monitor, UserState, NIGHT_RATIO_PRIOR, POOLING_MAX};
use crate::model::Counts;
use crate::relation::RELATIONS;

/// A user's relationship profile counts towards the peer group's spread from this many accesses.
const POOLING_MIN_HISTORY: f64 = 30.0;
/// Populations of fewer units than this keep the configured pooling.
const POOLING_MIN_USERS: f64 = 3.0;

impl Monitor {
    /// Empirical-Bayes strength of the peer-group prior on each user's relationship rates.
    ///
    /// Users of one peer group may differ in how often their legitimate work lands on a rung
    /// (one physician consults, another never does), or not at all (a hospital where every
    /// nurse opens an unlinked record now and then, at random). Under a beta-binomial model a
    /// user's count of rung `r` among `n_u` accesses has variance `n_u p (1 - p) (1 + (n_u - 1)
    /// rho)`; the method of moments estimates the within-group correlation `rho` from the spread
    /// of the users' counts, and the prior strength is `1 / rho - 1`. A homogeneous group pools
    /// fully (a user who has not yet opened an unlinked record is lucky, not different); a
    /// heterogeneous one lets each user's own history speak. Estimated at the start of each local
    /// day and every [`super::POOLING_EVERY`] events, from earlier events only (causal and
    /// deterministic).
    pub(super) fn estimate_pooling(&mut self) {
        let groups = self.world.group_names.len();
        let mut members: Vec<Vec<&Counts<RELATIONS>>> = vec![Vec::new(); groups];
        for (uid, u) in self.users.iter().enumerate() {
            if let Some(m) = self
                .world
                .users
                .get(uid)
                .and_then(|w| members.get_mut(w.group as usize))
            {
                m.push(&u.profile.relations);
            }
        }
        self.pooling = members.iter().map(|m| pooled_strength(m)).collect();
        let groups: Vec<&Counts<RELATIONS>> = self.groups.iter().map(|g| &g.relations).collect();
        self.group_pooling = pooled_strength(&groups);
        self.estimate_night_ratios();
        self.estimate_reach_pooling();
    }

    /// How alike a peer group's members are in the departments they reach outside their own
    /// patients: the Dirichlet-multinomial analogue of [`pooled_strength`]. Under that model a
    /// user's Pearson statistic over the `D` departments the group reaches has expectation
    /// `(D - 1)(1 + (n_u - 1) rho)`; the method of moments on the group's users (pooled rates,
    /// `k - 1` degrees of freedom taken) estimates `rho`, and the prior strength is
    /// `1 / rho - 1`. Residents who all take the same on-call nights pool fully; social workers
    /// each covering their own wards do not. Groups with too few users of enough history keep
    /// [`POOLING_MAX`] (the group's rate alone). Estimated with the pooling, from earlier
    /// events only.
    fn estimate_reach_pooling(&mut self) {
        let groups = self.world.group_names.len();
        let mut members: Vec<Vec<&UserState>> = vec![Vec::new(); groups];
        for (uid, u) in self.users.iter().enumerate() {
            if u.reach_total < POOLING_MIN_HISTORY {
                continue;
            }
            if let Some(m) = self
                .world
                .users
                .get(uid)
                .and_then(|w| members.get_mut(w.group as usize))
            {
                m.push(u);
            }
        }
        self.reach_pooling = members.iter().map(|m| reach_strength(m)).collect();
    }

    /// The night's effect on each peer group's rungs: off-hours accesses observed on a rung
    /// against those expected at the group's working-hours rate, as a standardised ratio is
    /// estimated (Poisson counts, Gamma prior of mean 1 worth [`NIGHT_RATIO_PRIOR`] expected
    /// accesses). Hierarchical: a role's groups share their night (the residents of every
    /// department take the on-call nights that cover every ward; nurses' nights stay on their
    /// own wards), so each group's ratio is shrunk towards its role's, and a group's first
    /// night on call is judged by its role's. A rare rung not yet seen at night is not taken
    /// to be a hundred times rarer. Estimated with the pooling, from earlier events only.
    fn estimate_night_ratios(&mut self) {
        let uniform = 1.0 / RELATIONS as f64;
        let strength = self.config.group_prior_strength;
        let hospital: [f64; RELATIONS] = std::array::from_fn(|r| {
            self.hospital
                .relations
                .smoothed(r, uniform, RELATIONS as f64)
        });
        // Per group: (observed, expected) off-hours accesses on each rung.
        let per_group: Vec<[(f64, f64); RELATIONS]> = self
            .groups
            .iter()
            .map(|g| {
                let nights = g.relations_off.total();
                let days = g.relations.without(&g.relations_off);
                std::array::from_fn(|r| {
                    let day =
                        days.smoothed(r, hospital.get(r).copied().unwrap_or(uniform), strength);
                    (g.relations_off.count(r), nights * day)
                })
            })
            .collect();
        let roles = self.world.role_names.len();
        let mut by_role = vec![[(0.0, 0.0); RELATIONS]; roles];
        let role_of = |g: usize| self.world.group_roles.get(g).map(|&r| r as usize);
        for (g, counts) in per_group.iter().enumerate() {
            if let Some(acc) = role_of(g).and_then(|r| by_role.get_mut(r)) {
                for (a, c) in acc.iter_mut().zip(counts) {
                    a.0 += c.0;
                    a.1 += c.1;
                }
            }
        }
        let a = NIGHT_RATIO_PRIOR;
        self.night_ratio = per_group
            .iter()
            .enumerate()
            .map(|(g, counts)| {
                let role = role_of(g).and_then(|r| by_role.get(r));
                std::array::from_fn(|r| {
                    let (c_role, e_role) =
                        role.and_then(|x| x.get(r)).copied().unwrap_or((0.0, 0.0));
                    let prior = (a + c_role) / (a + e_role);
                    let (c, e) = counts.get(r).copied().unwrap_or((0.0, 0.0));
                    (a * prior + c) / (a + e)
                })
            })
            .collect();
    }
}

/// Empirical-Bayes prior strength per category for units (users of a group, groups of the
/// hospital) drawn from one population: the method-of-moments beta-binomial estimate
/// `1 / rho - 1` of how many pseudo-observations of the population rate a unit's own counts are
/// weighed against (0 when there are too few units to tell; [`POOLING_MAX`] when the units'
/// counts spread no more than chance).
fn pooled_strength<const K: usize>(units: &[&Counts<K>]) -> [f64; K] {
    let units: Vec<&&Counts<K>> = units
        .iter()
        .filter(|u| u.total() >= POOLING_MIN_HISTORY)
        .collect();
    let mut out = [0.0f64; K];
    let k = units.len() as f64;
    if k < POOLING_MIN_USERS {
        return out;
    }
    let (n, effective) = effective_size(units.iter().map(|u| u.total()));
    for (r, o) in out.iter_mut().enumerate() {
        let p = units.iter().map(|u| u.count(r)).sum::<f64>() / n;
        *o = if p <= 0.0 || p >= 1.0 || effective <= 0.0 {
            // Nobody (or everybody) lands here: no sign that units differ.
            POOLING_MAX
        } else {
            let spread: f64 = units
                .iter()
                .map(|u| {
                    let d = u.count(r) - u.total() * p;
                    d * d / u.total()
                })
                .sum();
            moment_strength(spread / (p * (1.0 - p)), k, effective)
        };
    }
    out
}

/// The total `n` of the units' totals and the effective number of observations behind their
/// spread, `n - sum(n_u^2) / n` (the denominator of the intra-class correlation's moment
/// estimate).
fn effective_size(totals: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n: f64 = totals.clone().sum();
    let n2: f64 = totals.map(|t| t * t).sum();
    (n, n - n2 / n)
}

/// The empirical-Bayes prior strength `1 / rho - 1` from `k` units' Pearson statistic per
/// degree of freedom of the categories (`k - 1` taken for the pooled rates): the method-of-
/// moments intra-class correlation `rho`, [`POOLING_MAX`] when the spread is no more than
/// chance.
fn moment_strength(chi_per_category: f64, k: f64, effective: f64) -> f64 {
    let rho = ((chi_per_category - (k - 1.0)) / effective).clamp(0.0, 1.0);
    if rho <= 1.0 / POOLING_MAX {
        POOLING_MAX
    } else {
        (1.0 / rho - 1.0).min(POOLING_MAX)
    }
}

/// Empirical-Bayes prior strength of one peer group's departments reached (see
/// [`Monitor::estimate_reach_pooling`]).
fn reach_strength(users: &[&UserState]) -> f64 {
    let k = users.len() as f64;
    if k < POOLING_MIN_USERS {
        return POOLING_MAX;
    }
    let mut depts: FxHashMap<u16, f64> = FxHashMap::default();
    for u in users {
        for &(d, w) in &u.reach {
            *depts.entry(d).or_insert(0.0) += w;
        }
    }
    let (n, effective) = effective_size(users.iter().map(|u| u.reach_total));
    let reached = depts.values().filter(|&&c| c > 0.0).count() as f64;
    if reached < 2.0 || effective <= 0.0 {
        return POOLING_MAX;
    }
    // Pearson's statistic of each user against the pooled shares: over the departments the
    // user reached, plus the expected counts of those they did not (which sum to n_u less
    // the expected counts of those they did).
    let mut chi = 0.0;
    for u in users {
        let nu = u.reach_total;
        let mut inside = 0.0;
        for &(d, c) in &u.reach {
            let p = depts.get(&d).copied().unwrap_or(0.0) / n;
            if p > 0.0 {
                let e = nu * p;
                chi += (c - e) * (c - e) / e;
                inside += e;
            }
        }
        chi += (nu - inside).max(0.0);
    }
    moment_strength(chi / (reached - 1.0), k, effective)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` units of `size` observations each; unit `u` lands on category 0 `hits(u)` times.
    fn units(n: usize, size: usize, hits: impl Fn(usize) -> usize) -> Vec<Counts<2>> {
        (0..n)
            .map(|u| {
                let mut c = Counts::<2>::default();
                for i in 0..size {
                    c.add(usize::from(i >= hits(u)));
                }
                c
            })
            .collect()
    }

    #[test]
    fn pooling_follows_the_spread_between_units() {
        // Every unit at 1%, exactly: no spread beyond chance -> pool fully.
        let same = units(20, 1000, |_| 10);
        let refs: Vec<&Counts<2>> = same.iter().collect();
        assert_eq!(pooled_strength(&refs)[0], POOLING_MAX);
        // Half the units at 0%, half at 10%: a unit's own history carries the information.
        let split = units(20, 1000, |u| if u % 2 == 0 { 0 } else { 100 });
        let refs: Vec<&Counts<2>> = split.iter().collect();
        let m = pooled_strength(&refs)[0];
        assert!(m > 0.0 && m < 100.0, "{m}");
        // A unit with no hits then sits near its own zero, not at the 5% average.
        let own = split.first().map(|c| c.smoothed(0, 0.05, m)).unwrap_or(1.0);
        assert!(own < 0.01, "{own}");
        // Nobody hits the category: pool fully; too few units: no estimate.
        let none = units(5, 1000, |_| 0);
        let refs: Vec<&Counts<2>> = none.iter().collect();
        assert_eq!(pooled_strength(&refs)[0], POOLING_MAX);
        let refs: Vec<&Counts<2>> = same.iter().take(2).collect();
        assert_eq!(pooled_strength(&refs)[0], 0.0);
    }

    /// A user who reached `per_dept[d]` patients of department `d`.
    fn reacher(per_dept: &[(u16, f64)]) -> UserState {
        UserState {
            reach: per_dept.to_vec(),
            reach_total: per_dept.iter().map(|(_, w)| w).sum(),
            ..UserState::default()
        }
    }

    #[test]
    fn reach_pooling_follows_how_alike_users_reach() {
        // Twelve residents who spread their on-call patients over the same four wards in the
        // same proportions: their own histories say nothing the group's does not -> pool fully.
        let alike: Vec<UserState> = (0..12)
            .map(|_| reacher(&[(1, 40.0), (2, 30.0), (3, 20.0), (4, 10.0)]))
            .collect();
        let refs: Vec<&UserState> = alike.iter().collect();
        assert_eq!(reach_strength(&refs), POOLING_MAX);
        // Twelve social workers, each covering two wards of eight: a user's own history is the
        // information (a handful of pseudo-accesses of the group's spread).
        let own: Vec<UserState> = (0..12u16)
            .map(|i| reacher(&[(i % 8, 50.0), ((i + 1) % 8, 50.0)]))
            .collect();
        let refs: Vec<&UserState> = own.iter().collect();
        let m = reach_strength(&refs);
        assert!(m > 0.0 && m < 5.0, "{m}");
        // Too few users, or a single department reached: no estimate (the group alone).
        let refs: Vec<&UserState> = own.iter().take(2).collect();
        assert_eq!(reach_strength(&refs), POOLING_MAX);
        let one: Vec<UserState> = (0..5).map(|_| reacher(&[(3, 40.0)])).collect();
        let refs: Vec<&UserState> = one.iter().collect();
        assert_eq!(reach_strength(&refs), POOLING_MAX);
    }
}
