//! k-nearest-neighbour distance detector (Ramaswamy et al. 2000): the score is the Euclidean
//! distance to the k-th nearest training point in standardised space.
//!
//! The reference set is the training data, subsampled to `max_reference` rows when larger, so
//! scoring cost per event is bounded. Training scores (for calibration) are leave-one-out.
//! The explanation is the per-feature squared difference to the k-th neighbour.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::matrix::Scaler;
use crate::{AnomalyError, Detector, Matrix};

/// Hyperparameters of the kNN detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnConfig {
    /// Neighbour rank used as the score (default 5, as PyOD).
    pub k: usize,
    /// Maximum reference rows kept (default 4096).
    pub max_reference: usize,
    /// Seed of the reference subsample.
    pub seed: u64,
}

impl Default for KnnConfig {
    fn default() -> Self {
        Self {
            k: 5,
            max_reference: 4096,
            seed: 0,
        }
    }
}

/// A fitted kNN detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knn {
    k: usize,
    scaler: Scaler,
    reference: Matrix,
}

impl KnnConfig {
    /// Fits (stores the standardised reference set).
    pub fn fit(&self, x: &Matrix) -> Result<Knn, AnomalyError> {
        if self.k == 0 || self.max_reference == 0 {
            return Err(AnomalyError::Parameter {
                name: "k",
                reason: "k and max_reference must be >= 1".into(),
            });
        }
        x.require_non_empty()?;
        let scaler = Scaler::fit(x);
        let z = scaler.transform(x);
        let reference = if z.rows() > self.max_reference {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            let mut idx =
                rand::seq::index::sample(&mut rng, z.rows(), self.max_reference).into_vec();
            idx.sort_unstable();
            z.select_rows(&idx)
        } else {
            z
        };
        Ok(Knn {
            k: self.k,
            scaler,
            reference,
        })
    }
}

impl Knn {
    /// Index and squared distance of the k-th nearest reference row (skipping `skip`).
    fn kth(&self, z: &[f64], skip: Option<usize>) -> Option<(usize, f64)> {
        let k = self
            .k
            .min(
                self.reference
                    .rows()
                    .saturating_sub(usize::from(skip.is_some())),
            )
            .max(1);
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        for (i, r) in self.reference.iter_rows().enumerate() {
            if Some(i) == skip {
                continue;
            }
            let worst = if best.len() == k {
                best.last().map_or(f64::INFINITY, |b| b.0)
            } else {
                f64::INFINITY
            };
            let mut d = 0.0;
            for (a, b) in r.iter().zip(z) {
                d += (a - b) * (a - b);
                if d >= worst {
                    break;
                }
            }
            if d < worst {
                let pos = best.partition_point(|b| b.0 <= d);
                best.insert(pos, (d, i));
                best.truncate(k);
            }
        }
        best.last().map(|&(d, i)| (i, d))
    }

    /// Leave-one-out scores of the reference rows (used to calibrate ensembles).
    pub fn reference_scores(&self) -> Vec<f64> {
        (0..self.reference.rows())
            .map(|i| {
                self.kth(self.reference.row(i), Some(i))
                    .map_or(0.0, |(_, d)| d.sqrt())
            })
            .collect()
    }
}

impl Detector for Knn {
    fn name(&self) -> &'static str {
        "knn"
    }
    fn n_features(&self) -> usize {
        self.scaler.mean.len()
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        let z = self.scaler.checked_row(row)?;
        Ok(self.kth(&z, None).map_or(0.0, |(_, d)| d.sqrt()))
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        let z = self.scaler.checked_row(row)?;
        Ok(match self.kth(&z, None) {
            Some((i, _)) => self
                .reference
                .row(i)
                .iter()
                .zip(&z)
                .map(|(a, b)| (a - b) * (a - b))
                .collect(),
            None => vec![0.0; z.len()],
        })
    }
}
