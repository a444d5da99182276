//! The learned parts of the monitor: small, mergeable statistics with principled smoothing.
//!
//! * [`Counts`]: a categorical distribution learned by counting, smoothed towards a parent
//!   distribution (user -> peer group -> hospital -> uniform) as a Dirichlet prior. A user with
//!   little history behaves like their peers; a peer group with little history like the hospital.
//! * [`Stats`]: running mean and variance (Welford) of log-volumes, shrunk the same way.
//! * [`Rate`]: how often a flag is seen in legitimate work, with a Beta prior.

/// Counts over `K` categories.
#[derive(Debug, Clone)]
pub struct Counts<const K: usize> {
    c: [f32; K],
    n: f32,
}

impl<const K: usize> Default for Counts<K> {
    fn default() -> Self {
        Counts {
            c: [0.0; K],
            n: 0.0,
        }
    }
}

impl<const K: usize> Counts<K> {
    /// Adds one observation of category `i`.
    pub fn add(&mut self, i: usize) {
        self.add_weighted(i, 1.0);
    }

    /// Adds an observation of category `i` that counts `w` (0..=1): an observation that is only
    /// probably what is being learned counts by that probability.
    pub fn add_weighted(&mut self, i: usize, w: f32) {
        let w = if w.is_finite() {
            w.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if let Some(c) = self.c.get_mut(i) {
            *c += w;
            self.n += w;
        }
    }

    /// Adds every observation of `other` (and empties it).
    pub fn absorb(&mut self, other: &mut Counts<K>) {
        for (c, o) in self.c.iter_mut().zip(other.c.iter_mut()) {
            *c += *o;
            *o = 0.0;
        }
        self.n += other.n;
        other.n = 0.0;
    }

    /// Observations so far.
    pub fn total(&self) -> f64 {
        f64::from(self.n)
    }

    /// The observations of `self` that are not in `part` (a subset of them, such as the
    /// off-hours accesses among all accesses).
    pub fn without(&self, part: &Counts<K>) -> Counts<K> {
        let mut out = self.clone();
        for (c, p) in out.c.iter_mut().zip(part.c.iter()) {
            *c = (*c - *p).max(0.0);
        }
        out.n = (out.n - part.n).max(0.0);
        out
    }

    /// Raw count of category `i`.
    pub fn count(&self, i: usize) -> f64 {
        self.c.get(i).copied().map(f64::from).unwrap_or(0.0)
    }

    /// Posterior mean of category `i` under a Dirichlet prior `alpha * parent`.
    pub fn smoothed(&self, i: usize, parent: f64, alpha: f64) -> f64 {
        (self.count(i) + alpha * parent) / (self.total() + alpha)
    }

    /// Like [`Counts::smoothed`] with counts spread over circular neighbours (for hours of day):
    /// weight `1 - 2*spread` on the category and `spread` on each neighbour.
    pub fn smoothed_circular(&self, i: usize, parent: f64, alpha: f64, spread: f64) -> f64 {
        let prev = (i + K - 1) % K;
        let next = (i + 1) % K;
        let c =
            (1.0 - 2.0 * spread) * self.count(i) + spread * (self.count(prev) + self.count(next));
        (c + alpha * parent) / (self.total() + alpha)
    }
}

/// Running mean and variance (Welford).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Stats {
    /// Adds an observation.
    pub fn add(&mut self, x: f64) {
        self.n += 1.0;
        let d = x - self.mean;
        self.mean += d / self.n;
        self.m2 += d * (x - self.mean);
    }

    /// Number of observations.
    pub fn n(&self) -> f64 {
        self.n
    }

    /// Mean (0 when empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample variance (0 with fewer than two observations).
    pub fn var(&self) -> f64 {
        if self.n > 1.0 {
            self.m2 / (self.n - 1.0)
        } else {
            0.0
        }
    }

    /// Mean and variance shrunk towards a parent `(mean, var)` with `kappa` pseudo-observations.
    pub fn shrunk(&self, parent: (f64, f64), kappa: f64) -> (f64, f64) {
        let w = self.n / (self.n + kappa);
        let mean = w * self.mean + (1.0 - w) * parent.0;
        let var = w * self.var() + (1.0 - w) * parent.1;
        (mean, var)
    }
}

/// How often a flag occurs, with a Beta(`a`, `b`) prior.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    hits: f64,
    n: f64,
}

impl Rate {
    /// Records one observation.
    pub fn add(&mut self, hit: bool) {
        self.add_weighted(hit, 1.0);
    }

    /// Adds another rate's observations to this one (and leaves `other` empty).
    pub fn absorb(&mut self, other: &mut Rate) {
        self.hits += other.hits;
        self.n += other.n;
        *other = Rate::default();
    }

    /// Records an observation that counts `w` (0..=1).
    pub fn add_weighted(&mut self, hit: bool, w: f64) {
        self.add_exposed(hit, w, 1.0);
    }

    /// Records an observation that counts `w` (0..=1) made with relative exposure `x` (how many
    /// average opportunities for a hit it was, see `exposure.rs`): the rate becomes a rate per
    /// unit of exposure, and `p(..) * x` the rate for an exposure `x`.
    pub fn add_exposed(&mut self, hit: bool, w: f64, x: f64) {
        let w = if w.is_finite() {
            w.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let x = if x.is_finite() { x.max(0.0) } else { 1.0 };
        self.n += w * x;
        if hit {
            self.hits += w;
        }
    }

    /// Posterior mean with prior mean `prior` and strength `strength` pseudo-observations.
    pub fn p(&self, prior: f64, strength: f64) -> f64 {
        (self.hits + prior * strength) / (self.n + strength)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_smooth_towards_parent() {
        let mut c = Counts::<3>::default();
        assert!((c.smoothed(0, 0.2, 10.0) - 0.2).abs() < 1e-12);
        for _ in 0..90 {
            c.add(0);
        }
        for _ in 0..10 {
            c.add(1);
        }
        let p0 = c.smoothed(0, 0.2, 10.0);
        assert!((p0 - (90.0 + 2.0) / 110.0).abs() < 1e-9);
        let total: f64 = (0..3).map(|i| c.smoothed(i, 1.0 / 3.0, 10.0)).sum();
        let mut later = Counts::<3>::default();
        later.add(2);
        let mut both = c.clone();
        both.absorb(&mut later);
        assert_eq!(
            (both.count(2), both.total(), later.total()),
            (1.0, 101.0, 0.0)
        );
        assert!((total - 1.0).abs() < 1e-9);
        let circ: f64 = (0..3)
            .map(|i| c.smoothed_circular(i, 1.0 / 3.0, 5.0, 0.2))
            .sum();
        assert!((circ - 1.0).abs() < 1e-9);
    }

    #[test]
    fn stats_match_naive() {
        let xs = [1.0, 2.0, 4.0, 8.0];
        let mut s = Stats::default();
        xs.iter().for_each(|&x| s.add(x));
        let mean = xs.iter().sum::<f64>() / 4.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
        assert!((s.mean() - mean).abs() < 1e-12 && (s.var() - var).abs() < 1e-12);
        let (m, _) = Stats::default().shrunk((5.0, 1.0), 3.0);
        assert!((m - 5.0).abs() < 1e-12);
    }

    #[test]
    fn rate_prior() {
        let mut r = Rate::default();
        assert!((r.p(0.01, 100.0) - 0.01).abs() < 1e-12);
        for _ in 0..900 {
            r.add(false);
        }
        assert!(r.p(0.01, 100.0) < 0.002);
    }
}
