//! Detector tests on synthetic data with planted outliers.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::metrics::auc_roc;

/// Correlated Gaussian inliers plus `n_out` outliers that break the correlation or sit far out.
fn synthetic(n_in: usize, n_out: usize, seed: u64) -> (Matrix, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 {
        let u1: f64 = rng.gen_range(1e-12..1.0);
        let u2: f64 = rng.gen_range(0.0..1.0);
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut rows = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n_in {
        let a = normal();
        rows.push(vec![a, a + 0.1 * normal(), normal(), 5.0, normal() * 2.0]);
        y.push(false);
    }
    for i in 0..n_out {
        let a = normal();
        let far = 6.0 + (i as f64);
        rows.push(vec![
            a + far,
            a - far,
            normal() + far,
            5.0,
            normal() * 2.0 - far,
        ]);
        y.push(true);
    }
    (Matrix::from_rows(&rows).unwrap(), y)
}

#[test]
fn every_detector_finds_planted_outliers() {
    let (x, y) = synthetic(400, 12, 1);
    for kind in DetectorKind::all_defaults() {
        let model = kind.fit(&x).unwrap();
        let scores = model.score(&x).unwrap();
        let auc = auc_roc(&scores, &y).unwrap();
        assert!(auc > 0.97, "{} auc {auc}", kind.name());
        // a fresh inlier scores below a fresh far outlier
        let lo = model.score_row(&[0.0, 0.0, 0.0, 5.0, 0.0]).unwrap();
        let hi = model.score_row(&[9.0, -9.0, 9.0, 5.0, -9.0]).unwrap();
        assert!(hi > lo, "{}: {hi} <= {lo}", kind.name());
    }
}

#[test]
fn correlation_breaking_outlier_is_found_by_pca() {
    let (x, _) = synthetic(500, 0, 2);
    let model = PcaConfig {
        score: PcaScore::Mahalanobis,
        ..Default::default()
    }
    .fit(&x)
    .unwrap();
    // each value is ordinary on its own, but x0 and x1 disagree
    let broken = model.score_row(&[1.5, -1.5, 0.0, 5.0, 0.0]).unwrap();
    let fine = model.score_row(&[1.5, 1.5, 0.0, 5.0, 0.0]).unwrap();
    assert!(broken > 10.0 * fine, "{broken} vs {fine}");
    let c = model.contributions(&[1.5, -1.5, 0.0, 5.0, 0.0]).unwrap();
    let top = c
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert!(top == 0 || top == 1, "{c:?}");
}

#[test]
fn contributions_point_at_the_odd_feature() {
    let (x, _) = synthetic(400, 0, 3);
    let odd = [0.0, 0.0, 25.0, 5.0, 0.0];
    for kind in DetectorKind::all_defaults() {
        let model = kind.fit(&x).unwrap();
        let c = model.contributions(&odd).unwrap();
        assert_eq!(c.len(), 5);
        let top = c
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(top, 2, "{}: {c:?}", kind.name());
    }
}

#[test]
fn tiny_and_constant_data_fit_and_score() {
    let x = Matrix::from_rows(&[vec![1.0, 7.0], vec![1.0, 7.0], vec![1.0, 7.0]]).unwrap();
    for kind in DetectorKind::all_defaults() {
        let m = kind.fit(&x).unwrap();
        let s = m.score_row(&[1.0, 7.0]).unwrap();
        assert!(s.is_finite(), "{}", kind.name());
        let far = m.score_row(&[100.0, 7.0]).unwrap();
        assert!(far.is_finite() && far >= s, "{}: {far} < {s}", kind.name());
    }
    let one = Matrix::from_rows(&[vec![1.0, 2.0]]).unwrap();
    for kind in DetectorKind::all_defaults() {
        assert!(
            kind.fit(&one)
                .unwrap()
                .score_row(&[3.0, 4.0])
                .unwrap()
                .is_finite(),
            "{}",
            kind.name()
        );
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        Matrix::new(1, 2, vec![1.0, f64::NAN]),
        Err(AnomalyError::NonFinite { row: 0, col: 1 })
    ));
    assert!(matches!(
        Matrix::new(2, 2, vec![1.0, 2.0, 3.0, f64::INFINITY]),
        Err(AnomalyError::NonFinite { row: 1, col: 1 })
    ));
    assert!(matches!(
        Matrix::new(2, 2, vec![1.0]),
        Err(AnomalyError::Shape { .. })
    ));
    let empty = Matrix::new(0, 3, vec![]).unwrap();
    for kind in DetectorKind::all_defaults() {
        assert!(
            matches!(kind.fit(&empty), Err(AnomalyError::Empty { .. })),
            "{}",
            kind.name()
        );
    }
    let (x, _) = synthetic(50, 0, 4);
    let m = DetectorKind::by_name("default").unwrap().fit(&x).unwrap();
    assert!(matches!(
        m.score_row(&[1.0]),
        Err(AnomalyError::Dimension {
            expected: 5,
            got: 1
        })
    ));
    assert!(matches!(
        m.score_row(&[1.0, f64::NAN, 0.0, 0.0, 0.0]),
        Err(AnomalyError::NonFinite { col: 1, .. })
    ));
    let bad = IsolationForestConfig {
        n_trees: 0,
        ..Default::default()
    };
    assert!(matches!(
        bad.fit(&x),
        Err(AnomalyError::Parameter {
            name: "n_trees",
            ..
        })
    ));
}

#[test]
fn serde_round_trip_preserves_scores() {
    let (x, _) = synthetic(200, 5, 5);
    for kind in DetectorKind::all_defaults() {
        let m = kind.fit(&x).unwrap();
        let json = SavedModel::new(m.clone()).to_json().unwrap();
        let back = SavedModel::from_json(&json).unwrap().detector;
        assert_eq!(
            m.score(&x).unwrap(),
            back.score(&x).unwrap(),
            "{}",
            kind.name()
        );
    }
    let json = SavedModel::new(DetectorKind::Ecod.fit(&x).unwrap())
        .to_json()
        .unwrap();
    let v2 = json.replacen("\"version\":1", "\"version\":2", 1);
    assert!(matches!(
        SavedModel::from_json(&v2),
        Err(AnomalyError::Version {
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn fitting_is_deterministic_per_seed() {
    let (x, _) = synthetic(300, 5, 6);
    let a = DetectorKind::by_name("iforest")
        .unwrap()
        .with_seed(3)
        .fit(&x)
        .unwrap();
    let b = DetectorKind::by_name("iforest")
        .unwrap()
        .with_seed(3)
        .fit(&x)
        .unwrap();
    let c = DetectorKind::by_name("iforest")
        .unwrap()
        .with_seed(4)
        .fit(&x)
        .unwrap();
    assert_eq!(a.score(&x).unwrap(), b.score(&x).unwrap());
    assert_ne!(a.score(&x).unwrap(), c.score(&x).unwrap());
}

#[test]
fn streaming_hbos_learns_new_mode() {
    let x = Matrix::from_rows(
        &(0..200)
            .map(|i| vec![f64::from(i % 10)])
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut h = HbosConfig::default().fit(&x).unwrap();
    let before = h.score_row(&[9.0]).unwrap();
    for _ in 0..2000 {
        h.update(&[9.0]).unwrap();
    }
    let after = h.score_row(&[9.0]).unwrap();
    assert!(after < before, "{after} >= {before}");
    h.decay(0.5).unwrap();
    assert!(h.decay(0.0).is_err());
    assert!(h.update(&[f64::NAN]).is_err());
}

#[test]
fn sliding_forest_follows_drift() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let initial: Vec<Vec<f64>> = (0..300)
        .map(|_| vec![rng.gen_range(0.0..1.0), rng.gen_range(0.0..1.0)])
        .collect();
    let cfg = SlidingForestConfig {
        window: 256,
        refresh_every: 8,
        ..Default::default()
    };
    let mut f = SlidingForest::new(cfg, &Matrix::from_rows(&initial).unwrap()).unwrap();
    let before = f.score_row(&[10.5, 10.5]).unwrap();
    for _ in 0..900 {
        f.update(&[rng.gen_range(10.0..11.0), rng.gen_range(10.0..11.0)])
            .unwrap();
    }
    assert_eq!(f.window_len(), 256);
    let after = f.score_row(&[10.5, 10.5]).unwrap();
    let old = f.score_row(&[0.5, 0.5]).unwrap();
    assert!(after < before, "{after} >= {before}");
    assert!(old > after, "{old} <= {after}");
}

#[test]
fn ensemble_rank_combination_works() {
    let (x, y) = synthetic(300, 8, 10);
    let cfg = EnsembleConfig {
        combine: Combine::Rank,
        ..Default::default()
    };
    let m = cfg.fit(&x).unwrap();
    let auc = auc_roc(&m.score(&x).unwrap(), &y).unwrap();
    assert!(auc > 0.97, "{auc}");
    assert_eq!(m.member_scores(x.row(0)).unwrap().len(), 4);
}

#[test]
fn f32_input_is_accepted() {
    let m = Matrix::from_f32(2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(m.row(1), &[3.0, 4.0]);
    assert!(Matrix::from_f32(1, 1, &[f32::NAN]).is_err());
}

#[test]
fn batch_scores_equal_row_scores() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 9000;
    let x = Matrix::new(n, 2, (0..2 * n).map(|_| rng.gen_range(0.0..1.0)).collect()).unwrap();
    let f = IsolationForestConfig {
        n_trees: 10,
        ..Default::default()
    }
    .fit(&x)
    .unwrap();
    let batch = f.score(&x).unwrap();
    assert_eq!(batch.len(), n);
    for i in [0, 1, 4095, 4096, 4500, n - 1] {
        assert_eq!(batch[i], f.score_row(x.row(i)).unwrap(), "row {i}");
    }
    let small = x.select_rows(&(0..300).collect::<Vec<_>>());
    let e = EnsembleConfig::default().fit(&small).unwrap();
    let b = e.score(&small).unwrap();
    for i in [0, 17, 299] {
        assert!((b[i] - e.score_row(small.row(i)).unwrap()).abs() < 1e-12);
    }
}

#[test]
fn corrupt_model_files_do_not_hang_or_panic() {
    let (x, _) = synthetic(100, 2, 12);
    let json = SavedModel::new(DetectorKind::by_name("iforest").unwrap().fit(&x).unwrap())
        .to_json()
        .unwrap();
    // point every right child back to the root: a cycle
    let re = json.replace("\"right\":", "\"right\":0,\"_r\":");
    let m = SavedModel::from_json(&re).unwrap();
    assert!(m.detector.score_row(x.row(0)).unwrap().is_finite());
    assert_eq!(m.detector.contributions(x.row(0)).unwrap().len(), 5);
}

proptest::proptest! {
    #[test]
    fn arbitrary_model_json_never_panics(s in "\\PC{0,200}") {
        let _ = SavedModel::from_json(&s);
    }
}
