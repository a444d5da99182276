//! Stratified k-fold evaluation on a labelled capture: supervised random forest and the
//! unsupervised default detector, on network features, biometrics, and both.
//!
//! The unsupervised detector is fitted on each training fold without labels; its decision
//! threshold is the 90th percentile of its training scores (a 10% contamination prior, PyOD's
//! default), which is what F1 and accuracy use. The supervised forest predicts an attack when
//! its probability is at least 0.5. AUC-ROC uses the continuous scores.

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
        Self { folds: 5, seed: 0, forest: ForestConfig::default() }
    }
}

fn complement(n: usize, test: &[usize]) -> Vec<usize> {
    let mut mark = vec![false; n];
    for &i in test {
        if let Some(m) = mark.get_mut(i) {
            *m = true;
        }
    }
    (0..n).filter(|&i| !mark.get(i).copied().unwrap_or(true)).collect()
}

fn evaluate_group(x: &Matrix, y: &[bool], folds: &[Vec<usize>], opt: &EvalOptions) -> Result<(Metrics, Metrics), IomtError> {
    let (mut sup, mut uns) = (Metrics::default(), Metrics::default());
    for (k, test) in folds.iter().enumerate() {
        let train = complement(x.rows(), test);
        let (xtr, xte) = (x.select_rows(&train), x.select_rows(test));
        let ytr: Vec<bool> = train.iter().map(|&i| y.get(i).copied().unwrap_or(false)).collect();
        let yte: Vec<bool> = test.iter().map(|&i| y.get(i).copied().unwrap_or(false)).collect();
        // supervised
        let cfg = ForestConfig { seed: opt.seed.wrapping_add(k as u64), ..opt.forest.clone() };
        let rf = cfg.fit(&xtr, &ytr)?;
        let p: Vec<f64> = xte.iter_rows().map(|r| rf.predict_proba(r)).collect();
        let pred: Vec<bool> = p.iter().map(|&v| v >= 0.5).collect();
        let (f1, acc) = f1_accuracy(&pred, &yte);
        sup.auc_roc += auc_roc(&p, &yte).unwrap_or(0.5);
        sup.f1 += f1;
        sup.accuracy += acc;
        // unsupervised
        let det = DetectorKind::by_name("default")
            .ok_or(IomtError::Parameter { name: "detector", reason: "default detector missing".into() })?
            .with_seed(opt.seed.wrapping_add(k as u64))
            .fit(&xtr)?;
        let mut train_scores = det.score(&xtr)?;
        train_scores.sort_by(f64::total_cmp);
        let thr = train_scores.get((train_scores.len() as f64 * 0.9) as usize).copied().unwrap_or(f64::INFINITY);
        let s = det.score(&xte)?;
        let pred: Vec<bool> = s.iter().map(|&v| v > thr).collect();
        let (f1, acc) = f1_accuracy(&pred, &yte);
        uns.auc_roc += auc_roc(&s, &yte).unwrap_or(0.5);
        uns.f1 += f1;
        uns.accuracy += acc;
    }
    let n = folds.len().max(1) as f64;
    for m in [&mut sup, &mut uns] {
        m.auc_roc /= n;
        m.f1 /= n;
        m.accuracy /= n;
    }
    Ok((sup, uns))
}

/// The stratified folds used by [`evaluate`] (sorted test indices per fold).
pub fn folds(data: &WustlData, opt: &EvalOptions) -> Vec<Vec<usize>> {
    stratified_kfold(&data.y, opt.folds, opt.seed)
}

/// Runs the evaluation on the three feature groups.
pub fn evaluate(data: &WustlData, opt: &EvalOptions) -> Result<EvalReport, IomtError> {
    if opt.folds < 2 {
        return Err(IomtError::Parameter { name: "folds", reason: "need at least 2 folds".into() });
    }
    let folds = folds(data, opt);
    let combined = data.combined()?;
    let (sn, un) = evaluate_group(&data.network, &data.y, &folds, opt)?;
    let (sb, ub) = evaluate_group(&data.biometric, &data.y, &folds, opt)?;
    let (sc, uc) = evaluate_group(&combined, &data.y, &folds, opt)?;
    Ok(EvalReport {
        supervised: GroupMetrics { network: sn, biometric: sb, combined: sc },
        unsupervised: GroupMetrics { network: un, biometric: ub, combined: uc },
    })
}
