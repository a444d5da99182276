//! Histogram-Based Outlier Score (Goldstein & Dengel 2012) and its streaming form.
//!
//! One equal-width histogram per feature over the training range; the score is the sum over
//! features of `-ln p`, where `p` is the Laplace-smoothed probability mass of the value's bin.
//! Values outside the training range (beyond a tolerance of half a bin) fall into an empty
//! virtual bin. Constant columns get a single bin: equal values score 0 extra, others the
//! empty-bin penalty. Per-feature terms are the explanation.

use serde::{Deserialize, Serialize};

use crate::matrix::check_row;
use crate::{AnomalyError, Detector, Matrix};

/// Hyperparameters of HBOS (PyOD's defaults: 10 bins, alpha 0.1, tolerance 0.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HbosConfig {
    /// Bins per feature (default 10).
    pub n_bins: usize,
    /// Pseudo-count added to every bin (default 0.1).
    pub alpha: f64,
    /// Values up to `tol` bin widths outside the range count in the edge bin (default 0.5).
    pub tol: f64,
}

impl Default for HbosConfig {
    fn default() -> Self {
        Self {
            n_bins: 10,
            alpha: 0.1,
            tol: 0.5,
        }
    }
}

/// The histogram of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureHistogram {
    lo: f64,
    width: f64,
    counts: Vec<f64>,
    total: f64,
}

impl FeatureHistogram {
    /// Equal-width histogram of `col` over its range with `cfg.n_bins` bins (one bin when the
    /// values are all equal). `col` must not be empty.
    pub(crate) fn from_values(col: &[f64], cfg: &HbosConfig) -> Self {
        let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (nb, width) = if hi > lo {
            (cfg.n_bins.max(1), (hi - lo) / cfg.n_bins.max(1) as f64)
        } else {
            (1, 0.0)
        };
        let mut h = FeatureHistogram {
            lo,
            width,
            counts: vec![0.0; nb],
            total: 0.0,
        };
        for &v in col {
            if let Some(b) = h.bin(v, cfg.tol) {
                if let Some(c) = h.counts.get_mut(b) {
                    *c += 1.0;
                    h.total += 1.0;
                }
            }
        }
        h
    }

    fn bin(&self, v: f64, tol: f64) -> Option<usize> {
        let nb = self.counts.len();
        if self.width <= 0.0 {
            return (v == self.lo).then_some(0);
        }
        let pos = (v - self.lo) / self.width;
        if pos < -tol || pos > nb as f64 + tol {
            return None;
        }
        Some((pos.floor().max(0.0) as usize).min(nb.saturating_sub(1)))
    }

    pub(crate) fn term(&self, v: f64, cfg: &HbosConfig) -> f64 {
        let nb = self.counts.len() as f64;
        let count = self
            .bin(v, cfg.tol)
            .and_then(|b| self.counts.get(b))
            .copied()
            .unwrap_or(0.0);
        let p = (count + cfg.alpha) / (self.total + cfg.alpha * (nb + 1.0));
        -p.ln()
    }
}

/// A fitted HBOS model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hbos {
    config: HbosConfig,
    hists: Vec<FeatureHistogram>,
}

impl HbosConfig {
    /// Fits one histogram per column of `x`.
    pub fn fit(&self, x: &Matrix) -> Result<Hbos, AnomalyError> {
        if self.n_bins == 0 {
            return Err(AnomalyError::Parameter {
                name: "n_bins",
                reason: "must be >= 1".into(),
            });
        }
        if !(self.alpha > 0.0 && self.alpha.is_finite() && self.tol >= 0.0 && self.tol.is_finite())
        {
            return Err(AnomalyError::Parameter {
                name: "alpha",
                reason: "alpha must be > 0 and tol >= 0, both finite".into(),
            });
        }
        x.require_non_empty()?;
        let hists = (0..x.cols())
            .map(|j| FeatureHistogram::from_values(&x.column(j), self))
            .collect();
        Ok(Hbos {
            config: self.clone(),
            hists,
        })
    }
}

impl Hbos {
    /// Streaming update: counts `row` into the histograms (ranges stay fixed, so values outside
    /// the fitted range keep scoring as rare; refit to move the ranges).
    pub fn update(&mut self, row: &[f64]) -> Result<(), AnomalyError> {
        check_row(row, self.hists.len())?;
        for (h, &v) in self.hists.iter_mut().zip(row) {
            if let Some(b) = h.bin(v, self.config.tol) {
                if let Some(c) = h.counts.get_mut(b) {
                    *c += 1.0;
                }
            }
            h.total += 1.0;
        }
        Ok(())
    }

    /// Exponential forgetting for streams: multiplies every count by `factor` in (0, 1].
    pub fn decay(&mut self, factor: f64) -> Result<(), AnomalyError> {
        if !(factor > 0.0 && factor <= 1.0) {
            return Err(AnomalyError::Parameter {
                name: "factor",
                reason: "must be in (0, 1]".into(),
            });
        }
        for h in &mut self.hists {
            h.counts.iter_mut().for_each(|c| *c *= factor);
            h.total *= factor;
        }
        Ok(())
    }
}

impl Detector for Hbos {
    fn name(&self) -> &'static str {
        "hbos"
    }
    fn n_features(&self) -> usize {
        self.hists.len()
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        check_row(row, self.hists.len())?;
        Ok(self
            .hists
            .iter()
            .zip(row)
            .map(|(h, &v)| h.term(v, &self.config))
            .sum())
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        check_row(row, self.hists.len())?;
        Ok(self
            .hists
            .iter()
            .zip(row)
            .map(|(h, &v)| h.term(v, &self.config))
            .collect())
    }
}
