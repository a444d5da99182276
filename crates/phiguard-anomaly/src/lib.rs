//! Unsupervised anomaly detectors for tabular data, benchmarked on ADBench.
//!
//! # Design overview
//! - A [`Matrix`] is a dense row-major `f64` matrix whose values are checked finite at
//!   construction: NaN and infinity are typed errors ([`AnomalyError::NonFinite`]), never imputed.
//! - Each detector has a configuration (`*Config`, with the published defaults) whose `fit`
//!   returns a fitted model implementing [`Detector`]: batch and single-row scoring (higher means
//!   more anomalous) and per-feature contributions for explanations. Labels are never an input.
//! - Detectors: [`IsolationForest`] (and the streaming [`SlidingForest`]), [`Hbos`] (with
//!   incremental histograms), ECOD and COPOD ([`EcdfDetector`]), [`Pca`] (Mahalanobis in the
//!   principal basis), [`Knn`] (k-th neighbour distance), [`Loda`] (histograms of sparse random
//!   projections) and the default [`Ensemble`].
//! - [`DetectorKind`] names a detector and its configuration; [`AnyDetector`] holds any fitted
//!   model; [`SavedModel`] persists it as versioned JSON.
//! - Edge cases: constant columns are handled by every detector (never split on, unit scale,
//!   single bin); data sets smaller than the subsample size use all rows.

mod dataset;
mod ecdf;
mod ensemble;
mod error;
mod hbos;
mod iforest;
mod knn;
mod loda;
mod massvolume;
mod matrix;
pub mod metrics;
mod pca;
pub mod split;

use serde::{Deserialize, Serialize};

pub use dataset::{load_labelled_csv, read_labelled_csv, LabelledData};
pub use ecdf::{EcdfDetector, EcdfVariant};
pub use ensemble::{
    Aggregate, Combine, Ensemble, EnsembleConfig, Member, Weighting, CALIBRATION_ROWS,
    ENSEMBLE_FOREST_TREES,
};
pub use error::{AnomalyError, CsvError};
pub use hbos::{Hbos, HbosConfig};
pub use iforest::{IsolationForest, IsolationForestConfig, SlidingForest, SlidingForestConfig};
pub use knn::{Knn, KnnConfig};
pub use loda::{Loda, LodaConfig};
pub use matrix::{Matrix, Scaler};
pub use pca::{Pca, PcaConfig, PcaScore};

/// A fitted unsupervised detector.
pub trait Detector {
    /// Short stable name (`iforest`, `hbos`, `ecod`, `copod`, `pca`, `knn`, `loda`, `default`).
    fn name(&self) -> &'static str;
    /// Number of features the model was fitted on.
    fn n_features(&self) -> usize;
    /// Anomaly score of one row: higher is more anomalous.
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError>;
    /// Per-feature contributions to the score of `row` (non-negative; larger explains more).
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError>;
    /// Scores every row of `x`.
    fn score(&self, x: &Matrix) -> Result<Vec<f64>, AnomalyError> {
        if x.cols() != self.n_features() {
            return Err(AnomalyError::Dimension {
                expected: self.n_features(),
                got: x.cols(),
            });
        }
        x.iter_rows().map(|r| self.score_row(r)).collect()
    }
}

/// A detector and its hyperparameters, before fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DetectorKind {
    /// Isolation Forest.
    IForest(IsolationForestConfig),
    /// HBOS.
    Hbos(HbosConfig),
    /// ECOD.
    Ecod,
    /// COPOD.
    Copod,
    /// PCA (Mahalanobis in the principal basis).
    Pca(PcaConfig),
    /// k-th nearest neighbour distance.
    Knn(KnnConfig),
    /// LODA (histograms of sparse random projections).
    Loda(LodaConfig),
    /// The default ensemble.
    Default(EnsembleConfig),
}

impl DetectorKind {
    /// Every single detector plus the default ensemble, with default hyperparameters.
    pub fn all_defaults() -> Vec<DetectorKind> {
        vec![
            DetectorKind::IForest(IsolationForestConfig::default()),
            DetectorKind::Hbos(HbosConfig::default()),
            DetectorKind::Ecod,
            DetectorKind::Copod,
            DetectorKind::Pca(PcaConfig::default()),
            DetectorKind::Knn(KnnConfig::default()),
            DetectorKind::Loda(LodaConfig::default()),
            DetectorKind::Default(EnsembleConfig::default()),
        ]
    }

    /// The stable name of the detector.
    pub fn name(&self) -> &'static str {
        match self {
            DetectorKind::IForest(_) => "iforest",
            DetectorKind::Hbos(_) => "hbos",
            DetectorKind::Ecod => "ecod",
            DetectorKind::Copod => "copod",
            DetectorKind::Pca(_) => "pca",
            DetectorKind::Knn(_) => "knn",
            DetectorKind::Loda(_) => "loda",
            DetectorKind::Default(_) => "default",
        }
    }

    /// Looks a detector up by name, with default hyperparameters.
    pub fn by_name(name: &str) -> Option<DetectorKind> {
        Self::all_defaults().into_iter().find(|k| k.name() == name)
    }

    /// Sets the random seed of seeded detectors (Isolation Forest, kNN subsample, ensembles).
    pub fn with_seed(mut self, seed: u64) -> Self {
        match &mut self {
            DetectorKind::IForest(c) => c.seed = seed,
            DetectorKind::Knn(c) => c.seed = seed,
            DetectorKind::Loda(c) => c.seed = seed,
            DetectorKind::Default(e) => {
                e.members = std::mem::take(&mut e.members)
                    .into_iter()
                    .map(|m| m.with_seed(seed))
                    .collect();
            }
            _ => {}
        }
        self
    }

    /// Fits the detector on `x` (unlabelled).
    pub fn fit(&self, x: &Matrix) -> Result<AnyDetector, AnomalyError> {
        Ok(match self {
            DetectorKind::IForest(c) => AnyDetector::IForest(c.fit(x)?),
            DetectorKind::Hbos(c) => AnyDetector::Hbos(c.fit(x)?),
            DetectorKind::Ecod => AnyDetector::Ecdf(EcdfDetector::fit(EcdfVariant::Ecod, x)?),
            DetectorKind::Copod => AnyDetector::Ecdf(EcdfDetector::fit(EcdfVariant::Copod, x)?),
            DetectorKind::Pca(c) => AnyDetector::Pca(c.fit(x)?),
            DetectorKind::Knn(c) => AnyDetector::Knn(c.fit(x)?),
            DetectorKind::Loda(c) => AnyDetector::Loda(c.fit(x)?),
            DetectorKind::Default(c) => AnyDetector::Ensemble(c.fit(x)?),
        })
    }
}

/// Any fitted detector (the unit of persistence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnyDetector {
    /// Isolation Forest.
    IForest(IsolationForest),
    /// HBOS.
    Hbos(Hbos),
    /// ECOD or COPOD.
    Ecdf(EcdfDetector),
    /// PCA.
    Pca(Pca),
    /// kNN.
    Knn(Knn),
    /// LODA.
    Loda(Loda),
    /// Ensemble.
    Ensemble(Ensemble),
}

impl AnyDetector {
    fn inner(&self) -> &dyn Detector {
        match self {
            AnyDetector::IForest(d) => d,
            AnyDetector::Hbos(d) => d,
            AnyDetector::Ecdf(d) => d,
            AnyDetector::Pca(d) => d,
            AnyDetector::Knn(d) => d,
            AnyDetector::Loda(d) => d,
            AnyDetector::Ensemble(d) => d,
        }
    }
}

impl Detector for AnyDetector {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn n_features(&self) -> usize {
        self.inner().n_features()
    }
    fn score_row(&self, row: &[f64]) -> Result<f64, AnomalyError> {
        self.inner().score_row(row)
    }
    fn contributions(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        self.inner().contributions(row)
    }
    fn score(&self, x: &Matrix) -> Result<Vec<f64>, AnomalyError> {
        self.inner().score(x)
    }
}

/// Format version written by [`SavedModel::to_json`]; readers reject other versions.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// A persisted model: `{"format": "phiguard-anomaly", "version": 1, "detector": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    /// Always `phiguard-anomaly`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The model.
    pub detector: AnyDetector,
}

impl SavedModel {
    /// Wraps a fitted detector.
    pub fn new(detector: AnyDetector) -> Self {
        Self {
            format: "phiguard-anomaly".into(),
            version: MODEL_FORMAT_VERSION,
            detector,
        }
    }

    /// Serialises to JSON.
    pub fn to_json(&self) -> Result<String, AnomalyError> {
        Ok(serde_json::to_string(self)?)
    }

    /// Parses JSON, checking the format version first.
    pub fn from_json(s: &str) -> Result<Self, AnomalyError> {
        #[derive(Deserialize)]
        struct Header {
            version: u32,
        }
        let h: Header = serde_json::from_str(s)?;
        if h.version != MODEL_FORMAT_VERSION {
            return Err(AnomalyError::Version {
                found: h.version,
                supported: MODEL_FORMAT_VERSION,
            });
        }
        Ok(serde_json::from_str(s)?)
    }
}

#[cfg(test)]
mod tests;
