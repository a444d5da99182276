//! Stratified k-fold evaluation on a labelled capture: supervised random forest and the
//! unsupervised default detector, on network features, biometrics, and both.
//!
//! The unsupervised detector is fitted on each training fold without labels; its decision
//! threshold is the 90th percentile of its training scores (a 10% contamination prior, PyOD's
//! default), which is what F1 and accuracy use. The supervised forest predicts an attack when
//! its probability is at least 0.5. AUC-ROC uses the continuous scores. The supervised
//! "combined" model averages the probabilities of the network-only, biometric-only and
//! all-feature forests (see [`evaluate`]).

use phiguard_anomaly::metrics::{auc_roc, f1_accuracy};
use phiguard_anomaly::split::stratified_kfold;
use phiguard_anomaly::{Detector, DetectorKind, Matrix};
use serde::Serialize;

use crate::forest::ForestConfig;
use crate::{IomtError, WustlData};

/// Metrics of one model on one feature group (means over folds).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Metrics {
    /// AUC-ROC.
    pub auc_roc: f64,
    /// F1 of the attack class.
    pub f1: f64,
    /// Accuracy.
    pub accuracy: f64,
}

/// Metrics per feature group.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct GroupMetrics {
    /// Network flow features only.
    pub network: Metrics,
    /// Biometric features only.
    pub biometric: Metrics,
    /// Both.
    pub combined: Metrics,
}

/// The full evaluation result.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct EvalReport {
    /// Random forest.
    pub supervised: GroupMetrics,
    /// Default unsupervised ensemble.
    pub unsupervised: GroupMetrics,
}

/// Options of the evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Number of folds (default 5).
    pub folds: usize,
    /// Seed of the folds and models.
    pub seed: u64,
    /// Forest settings.
    pub forest: ForestConfig,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            folds: 5,
            seed: 0,
            forest: ForestConfig::default(),
        }
    }
}

fn complement(n: usize, test: &[usize]) -> Vec<usize> {
    let mut mark = vec![false; n];
    for &i in test {
        if let Some(m) = mark.get_mut(i) {
            *m = true;
        }
    }
    (0..n)
        .filter(|&i| !mark.get(i).copied().unwrap_or(true))
        .collect()
}

/// Sums of metrics over folds.
#[derive(Default)]
struct Acc {
    m: Metrics,
    n: f64,
}

impl Acc {
    fn add(&mut self, scores: &[f64], pred: &[bool], y: &[bool]) {
        let (f1, acc) = f1_accuracy(pred, y);
        self.m.auc_roc += auc_roc(scores, y).unwrap_or(0.5);
        self.m.f1 += f1;
        self.m.accuracy += acc;
        self.n += 1.0;
    }
    fn mean(&self) -> Metrics {
        let n = self.n.max(1.0);
        Metrics {
            auc_roc: self.m.auc_roc / n,
            f1: self.m.f1 / n,
            accuracy: self.m.accuracy / n,
        }
    }
}

/// Forest probabilities on the test rows.
fn forest_scores(
    xtr: &Matrix,
    ytr: &[bool],
    xte: &Matrix,
    cfg: &ForestConfig,
) -> Result<Vec<f64>, IomtError> {
    let rf = cfg.fit(xtr, ytr)?;
    Ok(xte.iter_rows().map(|r| rf.predict_proba(r)).collect())
}

/// Unsupervised scores on the test rows and the threshold (90th percentile of training scores).
fn detector_scores(xtr: &Matrix, xte: &Matrix, seed: u64) -> Result<(Vec<f64>, f64), IomtError> {
    let det = DetectorKind::by_name("default")
        .ok_or(IomtError::Parameter {
            name: "detector",
            reason: "default detector missing".into(),
        })?
        .with_seed(seed)
        .fit(xtr)?;
    let mut train_scores = det.score(xtr)?;
    train_scores.sort_by(f64::total_cmp);
    let thr = train_scores
        .get((train_scores.len() as f64 * 0.9) as usize)
        .copied()
        .unwrap_or(f64::INFINITY);
    Ok((det.score(xte)?, thr))
}

/// The stratified folds used by [`evaluate`] (sorted test indices per fold).
pub fn folds(data: &WustlData, opt: &EvalOptions) -> Vec<Vec<usize>> {
    stratified_kfold(&data.y, opt.folds, opt.seed)
}

/// Runs the evaluation on the three feature groups.
pub fn evaluate(data: &WustlData, opt: &EvalOptions) -> Result<EvalReport, IomtError> {
    if opt.folds < 2 {
        return Err(IomtError::Parameter {
            name: "folds",
            reason: "need at least 2 folds".into(),
        });
    }
    let folds = folds(data, opt);
    let combined = data.combined()?;
    let groups = [&data.network, &data.biometric, &combined];
    let mut sup: [Acc; 3] = Default::default();
    let mut uns: [Acc; 3] = Default::default();
    for (k, test) in folds.iter().enumerate() {
        let train = complement(data.y.len(), test);
        let ytr: Vec<bool> = train
            .iter()
            .map(|&i| data.y.get(i).copied().unwrap_or(false))
            .collect();
        let yte: Vec<bool> = test
            .iter()
            .map(|&i| data.y.get(i).copied().unwrap_or(false))
            .collect();
        let seed = opt.seed.wrapping_add(k as u64);
        let cfg = ForestConfig {
            seed,
            ..opt.forest.clone()
        };
        let mut probs = Vec::with_capacity(3);
        let mut raw = Vec::with_capacity(3);
        for x in groups {
            let (xtr, xte) = (x.select_rows(&train), x.select_rows(test));
            probs.push(forest_scores(&xtr, &ytr, &xte, &cfg)?);
            raw.push(detector_scores(&xtr, &xte, seed)?);
        }
        // Supervised: network and biometric forests as they are; "combined" fuses the
        // network-only, biometric-only and all-feature forests by averaging their probabilities
        // (late + early fusion: each modality keeps a model that is not drowned by the other's
        // noisier features).
        let fused: Vec<f64> = (0..yte.len())
            .map(|i| {
                probs
                    .iter()
                    .map(|p| p.get(i).copied().unwrap_or(0.0))
                    .sum::<f64>()
                    / probs.len() as f64
            })
            .collect();
        for (g, p) in [probs.first(), probs.get(1), Some(&fused)]
            .into_iter()
            .enumerate()
        {
            if let (Some(p), Some(acc)) = (p, sup.get_mut(g)) {
                let pred: Vec<bool> = p.iter().map(|&v| v >= 0.5).collect();
                acc.add(p, &pred, &yte);
            }
        }
        for (g, (s, thr)) in raw.iter().enumerate() {
            if let Some(acc) = uns.get_mut(g) {
                let pred: Vec<bool> = s.iter().map(|v| v > thr).collect();
                acc.add(s, &pred, &yte);
            }
        }
    }
    let [sn, sb, sc] = sup.map(|a| a.mean());
    let [un, ub, uc] = uns.map(|a| a.mean());
    Ok(EvalReport {
        supervised: GroupMetrics {
            network: sn,
            biometric: sb,
            combined: sc,
        },
        unsupervised: GroupMetrics {
            network: un,
            biometric: ub,
            combined: uc,
        },
    })
}
