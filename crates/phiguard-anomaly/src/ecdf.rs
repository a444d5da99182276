//! ECOD (Li et al. 2022) and COPOD (Li et al. 2020): tail probabilities from per-feature
//! empirical CDFs of the training data.
//!
//! For each feature the model keeps the sorted training values and the sample skewness. Tail
//! probabilities are `(count + 1) / (n + 1)`; beyond the training range they decay exponentially
//! with the distance in units of the feature's spread, so points further out keep ranking
//! higher instead of tying. Constant columns contribute a constant. Per-feature terms
//! (`-ln` tail probabilities) are the explanation.

use serde::{Deserialize, Serialize};

use crate::matrix::check_row;
use crate::{AnomalyError, Detector, Matrix};

/// Sorted sample of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FeatureEcdf {
    sorted: Vec<f64>,
    spread: f64,
    skew: f64,
}

impl FeatureEcdf {
    fn fit(mut col: Vec<f64>) -> Self {
        col.sort_by(f64::total_cmp);
        let n = col.len().max(1) as f64;
        let mean = col.iter().sum::<f64>() / n;
        let m2 = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let m3 = col.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / n;
        let skew = if m2 > 1e-300 { m3 / m2.powf(1.5) } else { 0.0 };
        let spread = if m2.sqrt() > 0.0 { m2.sqrt() } else { 1.0 };
        Self {
            sorted: col,
            spread,
            skew,
        }
    }

    /// `-ln P(X <= v)` and `-ln P(X >= v)` with smoothing and exponential tails.
    fn neg_log_tails(&self, v: f64) -> (f64, f64) {
        let n = self.sorted.len() as f64;
        // One binary search for the values below `v`; a second one (for the values equal to
        // `v`) only when `v` occurs in the training sample.
        let lt = self.sorted.partition_point(|&s| s < v);
        let le = if self.sorted.get(lt) == Some(&v) {
            self.sorted.partition_point(|&s| s <= v)
        } else {
            lt
        } as f64;
        let ge = n - lt as f64;
        let base = (n + 1.0).ln();
        let mut left = base - (le + 1.0).ln();
        let mut right = base - (ge + 1.0).ln();
        if let (Some(&min), Some(&max)) = (self.sorted.first(), self.sorted.last()) {
            if v < min {
                left += (min - v) / self.spread;
            }
            if v > max {
                right += (v - max) / self.spread;
            }
        }
        (left, right)
    }
}

/// Which ECDF-based aggregation to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EcdfVariant {
    /// ECOD: per feature the larger of the left-tail and right-tail scores, summed over features.
    Ecod,
    /// COPOD: per feature the larger of the skewness-chosen tail and the mean of both tails,
    /// summed over features.
    Copod,
}

/// A fitted ECOD or COPOD model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EcdfDetector {
    variant: EcdfVariant,
    features: Vec<FeatureEcdf>,
}

impl EcdfDetector {
    /// Fits the per-feature ECDFs on `x` (no hyperparameters).
    pub fn fit(variant: EcdfVariant, x: &Matrix) -> Result<Self, AnomalyError> {
        x.require_non_empty()?;
        let features = (0..x.cols())
            .map(|j| FeatureEcdf::fit(x.column(j)))
            .collect();
        Ok(Self { variant, features })
    }

    fn terms(&self, row: &[f64]) -> (Vec<f64>, f64) {
        let tails: Vec<(f64, f64, f64)> = self
            .features
            .iter()
            .zip(row)
            .map(|(f, &v)| {
                let (l, r) = f.neg_log_tails(v);
                let s = if f.skew < 0.0 { l } else { r };
                (l, r, s)
            })
            .collect();
        match self.variant {
            EcdfVariant::Ecod => {
                // Per feature the smaller tail probability (two-sided), summed over features.
                let terms: Vec<f64> = tails.iter().map(|t| t.0.max(t.1).max(t.2)).collect();
                let score = terms.iter().sum();
                (terms, score)
            }
            EcdfVariant::Copod => {
                let terms: Vec<f64> = tails.iter().map(|t| t.2.max((t.0 + t.1) / 2.0)).collect();
                let score = terms.iter().sum();
                (terms, score)
            }
        }
    }
}

impl Detector for EcdfDetector {
    fn name(&self) -> &'static str {
        match self.variant {
            EcdfVariant::Ecod => "ecod",
            EcdfVariant::Copod => "copod",
        }
    }
    fn n_features(&self) -> usize {
        self.features.len()
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        check_row(row, self.features.len())?;
        Ok(self.terms(row).1)
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        check_row(row, self.features.len())?;
        Ok(self.terms(row).0)
    }
}

#[cfg(test)]
mod tail_tests {
    use super::*;

    #[test]
    fn tails_count_ties_on_both_sides() {
        let f = FeatureEcdf::fit(vec![1.0, 2.0, 2.0, 2.0, 3.0]);
        let base = 6f64.ln();
        // P(X <= 2) = 4 of 5, P(X >= 2) = 4 of 5 (smoothed: (4 + 1) / 6)
        let (l, r) = f.neg_log_tails(2.0);
        assert!((l - (base - 5f64.ln())).abs() < 1e-12 && (r - (base - 5f64.ln())).abs() < 1e-12);
        // a value between training values: 1 below, 4 above
        let (l, r) = f.neg_log_tails(1.5);
        assert!((l - (base - 2f64.ln())).abs() < 1e-12, "{l}");
        assert!((r - (base - 5f64.ln())).abs() < 1e-12, "{r}");
        // beyond the range the tail keeps growing
        assert!(f.neg_log_tails(10.0).1 > f.neg_log_tails(4.0).1);
    }
}
