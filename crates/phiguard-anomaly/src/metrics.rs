//! Evaluation metrics: AUC-ROC (Mann-Whitney with tie-averaged ranks) and average precision
//! (AUC-PR as scikit-learn's `average_precision_score` computes it).

/// Area under the ROC curve; `None` when one class is absent or lengths differ.
/// Ties count one half (average ranks).
pub fn auc_roc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let (p, n) = (pos as f64, neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision (area under the precision-recall curve, step-wise, tied scores grouped);
/// `None` when there is no positive.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let pos = labels.iter().filter(|&&l| l).count();
    if pos == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap, mut prev_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if labels[k] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
        }
        let recall = tp / pos as f64;
        let precision = tp / (tp + fp);
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        i = j + 1;
    }
    Some(ap)
}

/// F1 score and accuracy of hard predictions.
pub fn f1_accuracy(pred: &[bool], labels: &[bool]) -> (f64, f64) {
    let (mut tp, mut fp, mut fneg, mut correct) = (0.0, 0.0, 0.0, 0.0);
    for (&p, &l) in pred.iter().zip(labels) {
        match (p, l) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fneg += 1.0,
            (false, false) => {}
        }
        if p == l {
            correct += 1.0;
        }
    }
    let f1 = if tp > 0.0 {
        2.0 * tp / (2.0 * tp + fp + fneg)
    } else {
        0.0
    };
    (f1, correct / pred.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        assert_eq!(
            auc_roc(&[0.1, 0.2, 0.3, 0.4], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auc_roc(&[0.4, 0.3, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(auc_roc(&[0.5, 0.5], &[false, true]), Some(0.5));
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
        assert_eq!(
            auc_roc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc_roc(&[0.1], &[true]), None);
    }

    #[test]
    fn ap_known_values() {
        // sklearn: average_precision_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.8333...
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((ap - 0.833_333_333).abs() < 1e-6, "{ap}");
    }

    #[test]
    fn f1_known_values() {
        let (f1, acc) = f1_accuracy(&[true, true, false, false], &[true, false, true, false]);
        assert!((f1 - 0.5).abs() < 1e-12 && (acc - 0.5).abs() < 1e-12);
    }
}
