//! Choosing an ensemble member without labels by its Mass-Volume curve (Goix, "How to Evaluate
//! the Quality of Unsupervised Anomaly Detection Algorithms?", ICML 2016 anomaly-detection
//! workshop).
//!
//! A scoring function is good when its level sets hold much of the data in little volume: for a
//! mass `alpha` (0.9 to 0.999), the set of points at least as normal as the `alpha`-quantile of
//! the training rows should be small. The volume is estimated by uniform points in the training
//! rows' bounding box, and the area under `alpha -> volume` is the criterion (lower is better).
//! Above [`MV_MAX_DIRECT_FEATURES`] features a uniform sample no longer says anything about
//! volume (almost all of the box is empty), so, as in the paper, the criterion is averaged over
//! random [`MV_SUBSET_FEATURES`]-feature subsets, each member refitted on the subset.
//!
//! Used by [`crate::Weighting::MassVolume`]: the member with the smallest criterion gets all the
//! weight. Round 4 of `BENCHMARKS.md` measured it; it is not the default.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{AnomalyError, Detector, DetectorKind, Matrix};

/// Up to this many features the criterion is computed in the full space.
pub const MV_MAX_DIRECT_FEATURES: usize = 8;
/// Features per random subset above [`MV_MAX_DIRECT_FEATURES`].
pub const MV_SUBSET_FEATURES: usize = 5;
/// Random feature subsets averaged above [`MV_MAX_DIRECT_FEATURES`].
pub const MV_SUBSETS: usize = 20;
/// Uniform points per volume estimate.
pub const MV_UNIFORM_POINTS: usize = 20_000;
/// Seed of the uniform points and the feature subsets (the criterion is deterministic).
const MV_SEED: u64 = 0x4d56;

/// Area under the Mass-Volume curve for masses 0.9 to 0.999 (step 0.001). `normal_x`: the
/// normality (negated anomaly score) of the training rows; `normal_u`: of the uniform points;
/// `volume`: the box's volume.
pub(crate) fn mv_area(normal_x: &[f64], normal_u: &[f64], volume: f64) -> f64 {
    let mut xs: Vec<f64> = normal_x.to_vec();
    xs.sort_by(|a, b| b.total_cmp(a));
    let mut us: Vec<f64> = normal_u.to_vec();
    us.sort_by(f64::total_cmp);
    let n = xs.len();
    let nu = us.len().max(1) as f64;
    let mut prev: Option<(f64, f64)> = None;
    let mut area = 0.0;
    for step in 0..100 {
        let alpha = 0.9 + 0.001 * f64::from(step);
        let k = ((alpha * n as f64).ceil() as usize).clamp(1, n.max(1));
        let Some(&u) = xs.get(k - 1) else {
            return f64::INFINITY;
        };
        // Share of uniform points at least as normal as u.
        let below = us.partition_point(|&v| v < u);
        let vol = (us.len() - below) as f64 / nu * volume;
        if let Some((a0, v0)) = prev {
            area += (alpha - a0) * (vol + v0) / 2.0;
        }
        prev = Some((alpha, vol));
    }
    area
}

/// The volume estimate shared by every member on one set of rows: the rows' bounding box and
/// uniform points in it (features constant in the rows are held at their value).
struct Probe {
    volume: f64,
    uniform: Matrix,
}

impl Probe {
    fn new(rows: &Matrix, rng: &mut ChaCha8Rng) -> Result<Probe, AnomalyError> {
        let d = rows.cols();
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for i in 0..rows.rows() {
            for (j, v) in rows.row(i).iter().enumerate() {
                if let (Some(l), Some(h)) = (lo.get_mut(j), hi.get_mut(j)) {
                    *l = l.min(*v);
                    *h = h.max(*v);
                }
            }
        }
        let volume: f64 = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| h - l)
            .filter(|w| *w > 0.0)
            .product();
        let mut data = Vec::with_capacity(MV_UNIFORM_POINTS * d);
        for _ in 0..MV_UNIFORM_POINTS {
            for (l, h) in lo.iter().zip(&hi) {
                data.push(if h > l { rng.gen_range(*l..*h) } else { *l });
            }
        }
        Ok(Probe {
            volume,
            uniform: Matrix::new(MV_UNIFORM_POINTS, d, data)?,
        })
    }

    /// The Mass-Volume criterion of a detector fitted on `rows` (scored for the mass).
    fn criterion(&self, model: &dyn Detector, rows: &Matrix) -> Result<f64, AnomalyError> {
        let normal_x: Vec<f64> = model.score(rows)?.into_iter().map(|s| -s).collect();
        let normal_u: Vec<f64> = model
            .score(&self.uniform)?
            .into_iter()
            .map(|s| -s)
            .collect();
        Ok(mv_area(&normal_x, &normal_u, self.volume))
    }
}

/// Columns `cols` of `x`.
fn columns(x: &Matrix, cols: &[usize]) -> Result<Matrix, AnomalyError> {
    let mut data = Vec::with_capacity(x.rows() * cols.len());
    for i in 0..x.rows() {
        let row = x.row(i);
        data.extend(cols.iter().map(|&c| row.get(c).copied().unwrap_or(0.0)));
    }
    Matrix::new(x.rows(), cols.len(), data)
}

/// One-hot weights on the member with the smallest Mass-Volume criterion. `fitted` are the
/// members fitted on `x` (used directly up to [`MV_MAX_DIRECT_FEATURES`] features); every
/// training row counts for the mass, as in the paper.
pub(crate) fn mass_volume_weights(
    kinds: &[DetectorKind],
    fitted: &[&dyn Detector],
    x: &Matrix,
) -> Result<Vec<f64>, AnomalyError> {
    let mut rng = ChaCha8Rng::seed_from_u64(MV_SEED);
    let d = x.cols();
    let mut crit = vec![0.0; kinds.len()];
    if d <= MV_MAX_DIRECT_FEATURES {
        let probe = Probe::new(x, &mut rng)?;
        for (c, m) in crit.iter_mut().zip(fitted) {
            *c = probe.criterion(*m, x)?;
        }
    } else {
        for _ in 0..MV_SUBSETS {
            let mut cols: Vec<usize> = sample(&mut rng, d, MV_SUBSET_FEATURES).into_vec();
            cols.sort_unstable();
            let sub_x = columns(x, &cols)?;
            // The points come from a copy of the stream, which then moves on by one draw: the
            // next subset's columns do not depend on how many points were drawn.
            let probe = Probe::new(&sub_x, &mut rng.clone())?;
            let _: u64 = rng.gen();
            for (c, kind) in crit.iter_mut().zip(kinds) {
                let model = kind.fit(&sub_x)?;
                *c += probe.criterion(&model, &sub_x)? / MV_SUBSETS as f64;
            }
        }
    }
    let best = crit
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    Ok(match best {
        Some(b) => (0..kinds.len())
            .map(|i| if i == b { 1.0 } else { 0.0 })
            .collect(),
        None => vec![1.0 / kinds.len().max(1) as f64; kinds.len()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_is_the_trapezoid_of_the_volumes() {
        // Data normality 0..1000 (evenly), uniform normality the same: the alpha-quantile level
        // set {normality >= u_alpha} holds a share 1 - (u_alpha) of the uniform points, close to
        // alpha; area over [0.9, 0.999] of ~alpha = (0.999^2 - 0.9^2) / 2.
        let x: Vec<f64> = (0..1000).map(f64::from).collect();
        let a = mv_area(&x, &x, 1.0);
        let expect = (0.999f64.powi(2) - 0.81) / 2.0;
        assert!((a - expect).abs() < 2e-3, "{a} vs {expect}");
        // A scoring function whose level sets hold the mass in half the volume halves the area.
        let u: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { -1.0 } else { f64::from(i) })
            .collect();
        let b = mv_area(&x, &u, 1.0);
        assert!(b < a * 0.6, "{b} vs {a}");
        // Volume scales the area.
        assert!((mv_area(&x, &x, 2.0) - 2.0 * a).abs() < 1e-12);
    }

    #[test]
    fn picks_the_member_that_fits_a_cluster_shape() {
        // Two tight clusters on the diagonal of a 2-d box: a per-feature detector (ECOD) sees
        // uniform marginals and calls the empty corners normal; the forest isolates them.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut data = Vec::new();
        for i in 0..600 {
            let c = if i % 2 == 0 { 0.0 } else { 10.0 };
            data.push(c + rng.gen_range(-0.5..0.5));
            data.push(c + rng.gen_range(-0.5..0.5));
        }
        let x = Matrix::new(600, 2, data).unwrap();
        let kinds = vec![
            DetectorKind::Ecod,
            DetectorKind::IForest(crate::IsolationForestConfig::default()),
        ];
        let fitted: Vec<crate::AnyDetector> = kinds.iter().map(|k| k.fit(&x).unwrap()).collect();
        let refs: Vec<&dyn Detector> = fitted.iter().map(|f| f as &dyn Detector).collect();
        let w = mass_volume_weights(&kinds, &refs, &x).unwrap();
        assert_eq!(w, vec![0.0, 1.0]);
    }
}
