//! PCA-based detectors on the standardised training data (Shyu et al.'s principal component
//! classifier, all components).
//!
//! Two scores:
//! - [`PcaScore::WeightedDistance`] (default, the formula PyOD's `PCA` and hence ADBench use):
//!   `sum_j ||z - v_j|| / r_j`, the distances of the standardised point to each unit
//!   eigenvector weighted by the inverse explained-variance ratio `r_j`. It behaves mostly like
//!   the standardised distance from the mean, with more weight on minor components.
//! - [`PcaScore::Mahalanobis`]: `sum_j (z . v_j)^2 / lambda_j`; sharper on correlation-breaking
//!   points, noisier when columns are nearly collinear.
//!
//! Eigenvalues are floored at `eig_floor` times the mean eigenvalue, so collinear and constant
//! columns (variance zero) do not turn rounding noise into huge scores. Explanations: for
//! Mahalanobis `z_i * (S^-1 z)_i` (sums to the score); for the weighted distance `z_i^2`
//! normalised to the score's share (the squared standardised deviation of each feature).

use serde::{Deserialize, Serialize};

use crate::matrix::{check_row, Scaler};
use crate::{AnomalyError, Detector, Matrix};

/// Which PCA score to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PcaScore {
    /// `sum_j ||z - v_j|| / r_j` (PyOD / ADBench).
    WeightedDistance,
    /// `sum_j (z . v_j)^2 / lambda_j`.
    Mahalanobis,
}

/// Hyperparameters of the PCA detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaConfig {
    /// Floor of each eigenvalue relative to the mean eigenvalue (default 0.01).
    pub eig_floor: f64,
    /// Score formula (default weighted distance).
    pub score: PcaScore,
}

impl Default for PcaConfig {
    fn default() -> Self {
        Self {
            eig_floor: 0.01,
            score: PcaScore::WeightedDistance,
        }
    }
}

/// A fitted PCA detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    score: PcaScore,
    scaler: Scaler,
    /// Eigenvectors, row `j` is component `j` (length d each), sorted by decreasing eigenvalue.
    components: Vec<Vec<f64>>,
    /// Floored eigenvalues.
    eigenvalues: Vec<f64>,
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations.
/// Returns (eigenvalues, eigenvectors as rows).
pub(crate) fn symmetric_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let d = a.len();
    let mut v: Vec<Vec<f64>> = (0..d)
        .map(|i| (0..d).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let get = |m: &Vec<Vec<f64>>, i: usize, j: usize| {
        m.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0)
    };
    for _sweep in 0..100 {
        let mut off = 0.0;
        for i in 0..d {
            for j in (i + 1)..d {
                off += get(&a, i, j).powi(2);
            }
        }
        let scale: f64 = (0..d)
            .map(|i| get(&a, i, i).powi(2))
            .sum::<f64>()
            .max(1e-300);
        if off <= 1e-22 * scale {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = get(&a, p, q);
                if apq.abs() < 1e-300 {
                    continue;
                }
                let app = get(&a, p, p);
                let aqq = get(&a, q, q);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let akp = get(&a, k, p);
                    let akq = get(&a, k, q);
                    if let Some(r) = a.get_mut(k) {
                        if let Some(x) = r.get_mut(p) {
                            *x = c * akp - s * akq;
                        }
                        if let Some(x) = r.get_mut(q) {
                            *x = s * akp + c * akq;
                        }
                    }
                }
                for k in 0..d {
                    let apk = get(&a, p, k);
                    let aqk = get(&a, q, k);
                    if let Some(r) = a.get_mut(p) {
                        if let Some(x) = r.get_mut(k) {
                            *x = c * apk - s * aqk;
                        }
                    }
                    if let Some(r) = a.get_mut(q) {
                        if let Some(x) = r.get_mut(k) {
                            *x = s * apk + c * aqk;
                        }
                    }
                }
                for k in 0..d {
                    let vkp = get(&v, p, k);
                    let vkq = get(&v, q, k);
                    if let Some(r) = v.get_mut(p) {
                        if let Some(x) = r.get_mut(k) {
                            *x = c * vkp - s * vkq;
                        }
                    }
                    if let Some(r) = v.get_mut(q) {
                        if let Some(x) = r.get_mut(k) {
                            *x = s * vkp + c * vkq;
                        }
                    }
                }
            }
        }
    }
    let mut pairs: Vec<(f64, Vec<f64>)> = (0..d)
        .map(|i| (get(&a, i, i), v.get(i).cloned().unwrap_or_default()))
        .collect();
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0));
    pairs.into_iter().unzip()
}

impl PcaConfig {
    /// Fits the scaler and the principal components on `x`.
    pub fn fit(&self, x: &Matrix) -> Result<Pca, AnomalyError> {
        if !(self.eig_floor > 0.0 && self.eig_floor.is_finite()) {
            return Err(AnomalyError::Parameter {
                name: "eig_floor",
                reason: "must be > 0".into(),
            });
        }
        x.require_non_empty()?;
        let scaler = Scaler::fit(x);
        let z = scaler.transform(x);
        let d = x.cols();
        let n = x.rows().max(1) as f64;
        let mut cov = vec![vec![0.0; d]; d];
        for r in z.iter_rows() {
            for (i, ci) in cov.iter_mut().enumerate() {
                let ri = r.get(i).copied().unwrap_or(0.0);
                for (cij, rj) in ci.iter_mut().zip(r).skip(i) {
                    *cij += ri * rj;
                }
            }
        }
        for i in 0..d {
            for j in i..d {
                let v = cov.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0) / n;
                if let Some(x) = cov.get_mut(i).and_then(|r| r.get_mut(j)) {
                    *x = v;
                }
                if let Some(x) = cov.get_mut(j).and_then(|r| r.get_mut(i)) {
                    *x = v;
                }
            }
        }
        let (vals, components) = symmetric_eigen(cov);
        let mean_eig = (vals.iter().map(|v| v.max(0.0)).sum::<f64>() / d as f64).max(1e-12);
        let floor = self.eig_floor * mean_eig;
        let eigenvalues = vals.iter().map(|v| v.max(floor)).collect();
        Ok(Pca {
            score: self.score,
            scaler,
            components,
            eigenvalues,
        })
    }
}

impl Pca {
    fn whitened(&self, row: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let z = self.scaler.transform_row(row);
        let proj: Vec<f64> = self
            .components
            .iter()
            .zip(&self.eigenvalues)
            .map(|(v, l)| v.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>() / l.sqrt())
            .collect();
        (z, proj)
    }
}

impl Detector for Pca {
    fn name(&self) -> &'static str {
        "pca"
    }
    fn n_features(&self) -> usize {
        self.scaler.mean.len()
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        check_row(row, self.n_features())?;
        match self.score {
            PcaScore::Mahalanobis => Ok(self.whitened(row).1.iter().map(|p| p * p).sum()),
            PcaScore::WeightedDistance => {
                let z = self.scaler.transform_row(row);
                let norm2: f64 = z.iter().map(|v| v * v).sum();
                let total: f64 = self.eigenvalues.iter().sum::<f64>().max(1e-300);
                Ok(self
                    .components
                    .iter()
                    .zip(&self.eigenvalues)
                    .map(|(v, l)| {
                        let dot: f64 = v.iter().zip(&z).map(|(a, b)| a * b).sum();
                        let vn: f64 = v.iter().map(|a| a * a).sum();
                        (norm2 - 2.0 * dot + vn).max(0.0).sqrt() * total / l
                    })
                    .sum())
            }
        }
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        check_row(row, self.n_features())?;
        if self.score == PcaScore::WeightedDistance {
            let z = self.scaler.transform_row(row);
            return Ok(z.iter().map(|v| v * v).collect());
        }
        let (z, proj) = self.whitened(row);
        // S^-1 z = sum_j v_j (v_j . z) / lambda_j = sum_j v_j proj_j / sqrt(lambda_j)
        let mut sinv_z = vec![0.0; z.len()];
        for ((v, p), l) in self.components.iter().zip(&proj).zip(&self.eigenvalues) {
            let w = p / l.sqrt();
            for (s, vi) in sinv_z.iter_mut().zip(v) {
                *s += vi * w;
            }
        }
        Ok(z.iter().zip(&sinv_z).map(|(a, b)| a * b).collect())
    }
}
