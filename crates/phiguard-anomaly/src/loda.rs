//! LODA, Lightweight On-line Detector of Anomalies (Pevný, Machine Learning 102, 2016).
//!
//! The standardised data are projected on `n_projections` sparse random directions, each with
//! `floor(sqrt(d))` non-zero N(0, 1) coordinates on randomly chosen features, as in the paper and
//! PyOD (so projections mix features only from four features on). A one-dimensional equal-width
//! histogram of each projection is fitted on the training rows, and the score is the mean over
//! projections of `-ln p`, where `p` is the smoothed mass of the bin the projected point falls in
//! (HBOS's histogram: values beyond the training range by more than half a bin fall in an empty
//! virtual bin). Random projections see combinations of features that per-feature detectors
//! (HBOS, ECOD, COPOD) cannot, at the cost of a histogram per projection. Explanations: each
//! projection's term is shared among its features in proportion to `|w_j z_j|`.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::hbos::FeatureHistogram;
use crate::matrix::Scaler;
use crate::{AnomalyError, Detector, HbosConfig, Matrix};

/// Hyperparameters of LODA (PyOD's defaults: 100 projections, 10 bins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LodaConfig {
    /// Number of random projections (default 100).
    pub n_projections: usize,
    /// Bins of each projection's histogram (default 10).
    pub n_bins: usize,
    /// Seed of the random generator (fitting is deterministic for a seed).
    pub seed: u64,
}

impl Default for LodaConfig {
    fn default() -> Self {
        Self {
            n_projections: 100,
            n_bins: 10,
            seed: 0,
        }
    }
}

/// One sparse projection and the histogram of the training rows along it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Projection {
    features: Vec<usize>,
    weights: Vec<f64>,
    hist: FeatureHistogram,
}

impl Projection {
    fn project(&self, z: &[f64]) -> f64 {
        self.features
            .iter()
            .zip(&self.weights)
            .map(|(&j, w)| w * z.get(j).copied().unwrap_or(0.0))
            .sum()
    }
}

/// A fitted LODA model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loda {
    hist: HbosConfig,
    scaler: Scaler,
    projections: Vec<Projection>,
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl LodaConfig {
    /// Fits the projections and their histograms on `x`.
    pub fn fit(&self, x: &Matrix) -> Result<Loda, AnomalyError> {
        if self.n_projections == 0 || self.n_bins == 0 {
            return Err(AnomalyError::Parameter {
                name: "n_projections",
                reason: "n_projections and n_bins must be >= 1".into(),
            });
        }
        x.require_non_empty()?;
        let d = x.cols();
        let scaler = Scaler::fit(x);
        let z = scaler.transform(x);
        let hist = HbosConfig {
            n_bins: self.n_bins,
            ..HbosConfig::default()
        };
        let nnz = ((d as f64).sqrt().floor() as usize).clamp(1, d.max(1));
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut projections = Vec::with_capacity(self.n_projections);
        let mut values = Vec::with_capacity(z.rows());
        for _ in 0..self.n_projections {
            let mut features = sample(&mut rng, d, nnz).into_vec();
            features.sort_unstable();
            let weights: Vec<f64> = features.iter().map(|_| normal(&mut rng)).collect();
            let mut p = Projection {
                features,
                weights,
                hist: FeatureHistogram::from_values(&[0.0], &hist),
            };
            values.clear();
            values.extend(z.iter_rows().map(|r| p.project(r)));
            p.hist = FeatureHistogram::from_values(&values, &hist);
            projections.push(p);
        }
        Ok(Loda {
            hist,
            scaler,
            projections,
        })
    }
}

impl Loda {
    /// Per-projection `-ln p` terms of a standardised row.
    fn terms<'a>(&'a self, z: &'a [f64]) -> impl Iterator<Item = (&'a Projection, f64)> + 'a {
        self.projections
            .iter()
            .map(move |p| (p, p.hist.term(p.project(z), &self.hist)))
    }
}

impl Detector for Loda {
    fn name(&self) -> &'static str {
        "loda"
    }
    fn n_features(&self) -> usize {
        self.scaler.mean.len()
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        let z = self.scaler.checked_row(row)?;
        let total: f64 = self.terms(&z).map(|(_, t)| t).sum();
        Ok(total / self.projections.len().max(1) as f64)
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        let z = self.scaler.checked_row(row)?;
        let mut out = vec![0.0; row.len()];
        for (p, t) in self.terms(&z) {
            let parts: Vec<f64> = p
                .features
                .iter()
                .zip(&p.weights)
                .map(|(&j, w)| (w * z.get(j).copied().unwrap_or(0.0)).abs())
                .collect();
            let sum: f64 = parts.iter().sum();
            for (&j, part) in p.features.iter().zip(&parts) {
                if let Some(o) = out.get_mut(j) {
                    *o += if sum > 0.0 {
                        t * part / sum
                    } else {
                        t / parts.len() as f64
                    };
                }
            }
        }
        let n = self.projections.len().max(1) as f64;
        out.iter_mut().for_each(|v| *v /= n);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auc_roc;

    fn gaussian(n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let a = normal(&mut rng);
                vec![a, a + 0.1 * normal(&mut rng), normal(&mut rng)]
            })
            .collect()
    }

    #[test]
    fn box_muller_draws_are_standard_normal() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let v: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn projections_are_sparse_and_histograms_count_every_row() {
        let x = Matrix::from_rows(&(0..50).map(|i| vec![f64::from(i); 9]).collect::<Vec<_>>())
            .unwrap_or_else(|e| panic!("{e}"));
        let m = LodaConfig::default()
            .fit(&x)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.projections.len(), 100);
        for p in &m.projections {
            assert_eq!(p.features.len(), 3, "floor(sqrt(9)) non-zero coordinates");
            assert!(
                p.features.windows(2).all(|w| w[0] < w[1]),
                "distinct features"
            );
        }
        // a training row scores exactly the mean of its bins' -ln p
        let row = x.row(7);
        let z = m.scaler.transform_row(row);
        let expect: f64 = m
            .projections
            .iter()
            .map(|p| p.hist.term(p.project(&z), &m.hist))
            .sum::<f64>()
            / 100.0;
        let got = m.score_row(row).unwrap_or_else(|e| panic!("{e}"));
        assert!((got - expect).abs() < 1e-12);
    }

    #[test]
    fn far_rows_rank_first_and_are_explained_by_their_feature() {
        let mut rows = gaussian(480, 2);
        let x = Matrix::from_rows(&rows).unwrap_or_else(|e| panic!("{e}"));
        let m = LodaConfig::default()
            .fit(&x)
            .unwrap_or_else(|e| panic!("{e}"));
        let far = [0.0, 0.0, 6.0];
        let s_far = m.score_row(&far).unwrap_or_else(|e| panic!("{e}"));
        let s_mid = m
            .score_row(&[0.0, 0.0, 0.0])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s_far > s_mid, "{s_far} <= {s_mid}");
        let c = m.contributions(&far).unwrap_or_else(|e| panic!("{e}"));
        assert!(c[2] > c[0] && c[2] > c[1], "{c:?}");
        // ranking: 20 rows far out in one feature each among 480 ordinary ones
        let mut labels = vec![false; 480];
        for i in 0..20_u32 {
            let mut r = vec![0.0; 3];
            r[(i % 3) as usize] = if i % 2 == 0 { 1.0 } else { -1.0 } * (5.0 + 0.2 * f64::from(i));
            rows.push(r);
            labels.push(true);
        }
        let y = Matrix::from_rows(&rows).unwrap_or_else(|e| panic!("{e}"));
        let m = LodaConfig::default()
            .fit(&y)
            .unwrap_or_else(|e| panic!("{e}"));
        let auc = auc_roc(&m.score(&y).unwrap_or_else(|e| panic!("{e}")), &labels)
            .unwrap_or_else(|| panic!("both classes present"));
        assert!(auc > 0.95, "{auc}");
    }

    #[test]
    fn bad_parameters_and_widths_are_errors_and_fitting_is_deterministic() {
        let x = Matrix::from_rows(&gaussian(40, 3)).unwrap_or_else(|e| panic!("{e}"));
        assert!(LodaConfig {
            n_projections: 0,
            ..Default::default()
        }
        .fit(&x)
        .is_err());
        let a = LodaConfig::default()
            .fit(&x)
            .unwrap_or_else(|e| panic!("{e}"));
        let b = LodaConfig::default()
            .fit(&x)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
        assert!(a.score_row(&[1.0, 2.0]).is_err());
        assert!(a.score_row(&[f64::NAN, 0.0, 0.0]).is_err());
    }
}
