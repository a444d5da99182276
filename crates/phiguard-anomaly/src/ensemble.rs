//! The default detector: an ensemble of diverse detectors whose scores are standardised on the
//! training data and averaged.
//!
//! Why this shape: ADBench finds no single unsupervised detector best across data sets; averaging
//! standardised scores of detectors with different inductive biases (random partitions, per-feature
//! tail probabilities, linear correlation structure, local density) is the classic way to get a
//! detector whose worst case is close to the best member's (Aggarwal & Sathe, "Outlier
//! Ensembles", 2017). Each member's score is turned into a z-score using the mean and standard
//! deviation of its scores on the training rows (leave-one-out for kNN), so no member dominates by
//! its scale; members are weighted equally. Nothing in it is tuned per data set.
//!
//! Members: Isolation Forest (random partitions), ECOD and COPOD (per-feature tail
//! probabilities, two aggregations), PCA (distance in the standardised principal basis): the
//! detectors that rank best on average across ADBench's 57 sets and that need no
//! hyperparameter search. HBOS is left out because it is a binned (coarser, bin-count
//! dependent) version of the same per-feature tail idea as ECOD; kNN because its distances depend
//! on feature scaling and its cost per event grows with the training set. Z-score combination was
//! preferred over rank averaging because ranks saturate in the tail (every point beyond the
//! training maximum gets the same rank), which is exactly where anomalies live.

use serde::{Deserialize, Serialize};

use crate::matrix::check_row;
use crate::{AnomalyError, AnyDetector, Detector, DetectorKind, Matrix};

/// How member scores are made comparable before averaging.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Combine {
    /// `(s - mean_train) / sd_train`, averaged.
    ZScore,
    /// Fraction of training scores below `s` (empirical CDF), averaged.
    Rank,
}

/// Configuration of an ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleConfig {
    /// Member detectors (must not themselves be ensembles).
    pub members: Vec<DetectorKind>,
    /// Score normalisation.
    pub combine: Combine,
}

impl Default for EnsembleConfig {
    fn default() -> Self {
        Self {
            members: vec![
                DetectorKind::IForest(crate::IsolationForestConfig::default()),
                DetectorKind::Ecod,
                DetectorKind::Copod,
                DetectorKind::Pca(crate::PcaConfig::default()),
            ],
            combine: Combine::ZScore,
        }
    }
}

/// One calibrated member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The fitted detector.
    pub model: AnyDetector,
    /// Mean of its training scores.
    pub mean: f64,
    /// Standard deviation of its training scores (> 0).
    pub sd: f64,
    /// Sorted training scores (kept for rank combination; empty for z-score).
    pub sorted_train: Vec<f64>,
}

/// A fitted ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    combine: Combine,
    n_features: usize,
    members: Vec<Member>,
}

impl EnsembleConfig {
    /// Fits every member on `x` and calibrates it on its training scores.
    pub fn fit(&self, x: &Matrix) -> Result<Ensemble, AnomalyError> {
        x.require_non_empty()?;
        if self.members.is_empty() {
            return Err(AnomalyError::Parameter {
                name: "members",
                reason: "at least one member needed".into(),
            });
        }
        // Calibrate on at most CALIBRATION_ROWS evenly spaced training rows: mean and standard
        // deviation are estimated precisely from a few thousand scores, and scoring every
        // training row would dominate the fit time on large sets.
        let stride = x.rows().div_ceil(CALIBRATION_ROWS).max(1);
        let calib_idx: Vec<usize> = (0..x.rows()).step_by(stride).collect();
        let calib = x.select_rows(&calib_idx);
        if self
            .members
            .iter()
            .any(|k| matches!(k, DetectorKind::Default(_)))
        {
            return Err(AnomalyError::Parameter {
                name: "members",
                reason: "ensembles cannot be nested".into(),
            });
        }
        // Members are independent: fit them on their own threads (scoped, so nothing outlives
        // the call). Each member itself stays single-threaded.
        let calib = &calib;
        let results: Vec<Result<Member, AnomalyError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .members
                .iter()
                .map(|kind| scope.spawn(move || self.fit_member(kind, x, calib)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(AnomalyError::Parameter {
                            name: "members",
                            reason: "a member's fit thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        let members = results.into_iter().collect::<Result<Vec<Member>, _>>()?;
        Ok(Ensemble {
            combine: self.combine,
            n_features: x.cols(),
            members,
        })
    }

    fn fit_member(
        &self,
        kind: &DetectorKind,
        x: &Matrix,
        calib: &Matrix,
    ) -> Result<Member, AnomalyError> {
        let model = kind.fit(x)?;
        let train = match &model {
            AnyDetector::Knn(k) => k.reference_scores(),
            other => other.score(calib)?,
        };
        let n = train.len().max(1) as f64;
        let mean = train.iter().sum::<f64>() / n;
        let var = train.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
        let sd = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
        let sorted_train = if self.combine == Combine::Rank {
            let mut t = train;
            t.sort_by(f64::total_cmp);
            t
        } else {
            Vec::new()
        };
        Ok(Member {
            model,
            mean,
            sd,
            sorted_train,
        })
    }
}

/// Most training rows used to calibrate member scores.
pub const CALIBRATION_ROWS: usize = 1024;

impl Ensemble {
    fn normalised(&self, m: &Member, s: f64) -> f64 {
        match self.combine {
            Combine::ZScore => (s - m.mean) / m.sd,
            Combine::Rank => {
                let n = m.sorted_train.len().max(1) as f64;
                m.sorted_train.partition_point(|&t| t <= s) as f64 / n
            }
        }
    }

    /// Normalised score of each member for one row (member name, value), for explanations.
    pub fn member_scores(&self, row: &[f64]) -> Result<Vec<(&'static str, f64)>, AnomalyError> {
        check_row(row, self.n_features)?;
        self.members
            .iter()
            .map(|m| Ok((m.model.name(), self.normalised(m, m.model.score_row(row)?))))
            .collect()
    }

    /// The members.
    pub fn members(&self) -> &[Member] {
        &self.members
    }
}

impl Detector for Ensemble {
    fn name(&self) -> &'static str {
        "default"
    }
    fn n_features(&self) -> usize {
        self.n_features
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        check_row(row, self.n_features)?;
        let mut total = 0.0;
        for m in &self.members {
            total += self.normalised(m, m.model.score_row(row)?);
        }
        Ok(total / self.members.len().max(1) as f64)
    }
    fn score(&self, x: &Matrix) -> Result<Vec<f64>, AnomalyError> {
        if x.cols() != self.n_features {
            return Err(AnomalyError::Dimension {
                expected: self.n_features,
                got: x.cols(),
            });
        }
        // Members score on their own threads; the sum is taken in member order, so the result
        // is identical to a sequential run.
        let scored: Vec<Result<Vec<f64>, AnomalyError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .members
                .iter()
                .map(|m| scope.spawn(move || m.model.score(x)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(AnomalyError::Parameter {
                            name: "members",
                            reason: "a member's scoring thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        let mut total = vec![0.0; x.rows()];
        for (m, scores) in self.members.iter().zip(scored) {
            for (t, s) in total.iter_mut().zip(scores?) {
                *t += self.normalised(m, s);
            }
        }
        let k = self.members.len().max(1) as f64;
        total.iter_mut().for_each(|t| *t /= k);
        Ok(total)
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        check_row(row, self.n_features)?;
        let mut out = vec![0.0; self.n_features];
        for m in &self.members {
            let w = self.normalised(m, m.model.score_row(row)?).max(0.0);
            let c = m.model.contributions(row)?;
            let total: f64 = c.iter().map(|v| v.abs()).sum();
            if total > 0.0 {
                for (o, v) in out.iter_mut().zip(&c) {
                    *o += w * v.abs() / total;
                }
            }
        }
        let s: f64 = out.iter().sum();
        if s > 0.0 {
            out.iter_mut().for_each(|v| *v /= s);
        }
        Ok(out)
    }
}
