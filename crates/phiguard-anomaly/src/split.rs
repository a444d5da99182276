//! Deterministic stratified splits (ADBench's 70/30 hold-out and k-fold), reproducible from a
//! seed so that peers (scikit-learn, PyOD) can be run on exactly the same rows via the dumped
//! indices.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Stratified hold-out: returns sorted `(train, test)` row indices with `test_fraction` of each
/// class (rounded) in the test part.
pub fn stratified_split(
    labels: &[bool],
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        let n_test = ((idx.len() as f64) * test_fraction.clamp(0.0, 1.0)).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Stratified k-fold: returns `k` sorted test folds partitioning `0..labels.len()`.
pub fn stratified_kfold(labels: &[bool], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let k = k.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0usize;
    for class in [false, true] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        for i in idx {
            if let Some(f) = folds.get_mut(next % k) {
                f.push(i);
            }
            next += 1;
        }
    }
    folds.iter_mut().for_each(|f| f.sort_unstable());
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_and_partitions() {
        let labels: Vec<bool> = (0..100).map(|i| i % 10 == 0).collect();
        let (train, test) = stratified_split(&labels, 0.3, 7);
        assert_eq!(train.len() + test.len(), 100);
        assert_eq!(test.iter().filter(|&&i| labels[i]).count(), 3);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_ne!(stratified_split(&labels, 0.3, 8).1, test);
    }

    #[test]
    fn kfold_partitions_with_balanced_positives() {
        let labels: Vec<bool> = (0..103).map(|i| i % 5 == 0).collect();
        let folds = stratified_kfold(&labels, 5, 1);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        for f in &folds {
            let p = f.iter().filter(|&&i| labels[i]).count();
            assert!((4..=5).contains(&p), "{p}");
        }
    }
}
