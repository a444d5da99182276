//! Random forest classifier (Breiman 2001) grown on quantile-binned features.
//!
//! Features are binned once into at most 256 quantile bins (thresholds are kept as real values,
//! so prediction works on raw rows); each tree is a CART tree with Gini impurity grown on a
//! bootstrap sample, trying `sqrt(d)` random features per node, without depth limit (as
//! scikit-learn's defaults). The positive-class probability is the mean of the leaf frequencies.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use phiguard_anomaly::Matrix;

use crate::IomtError;

/// Hyperparameters of the random forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestConfig {
    /// Number of trees (default 100).
    pub n_trees: usize,
    /// Maximum depth (default 64, effectively unlimited).
    pub max_depth: usize,
    /// Minimum samples in a node to split it (default 2).
    pub min_samples_split: usize,
    /// Features tried per node (default 0 = `sqrt(d)`).
    pub max_features: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self {
            n_trees: 100,
            max_depth: 64,
            min_samples_split: 2,
            max_features: 0,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TreeNode {
    /// Split feature or `u32::MAX` for a leaf.
    feature: u32,
    /// Go left when `x <= threshold`; for a leaf, the positive fraction.
    value: f64,
    left: u32,
    right: u32,
}

/// A fitted random forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomForest {
    n_features: usize,
    trees: Vec<Vec<TreeNode>>,
}

struct Binned {
    /// Column-major bin codes.
    codes: Vec<Vec<u8>>,
    /// Upper edge (real threshold) of each bin per feature.
    edges: Vec<Vec<f64>>,
}

fn bin_features(x: &Matrix) -> Binned {
    let mut codes = Vec::with_capacity(x.cols());
    let mut edges = Vec::with_capacity(x.cols());
    for j in 0..x.cols() {
        let col = x.column(j);
        let mut sorted = col.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        let e: Vec<f64> = if sorted.len() <= 256 {
            sorted
        } else {
            let mut e: Vec<f64> = (1..=256)
                .map(|q| {
                    let i = (q * (sorted.len() - 1)) / 256;
                    sorted.get(i).copied().unwrap_or(0.0)
                })
                .collect();
            e.dedup();
            e
        };
        let c = col
            .iter()
            .map(|v| e.partition_point(|edge| edge < v).min(255) as u8)
            .collect();
        codes.push(c);
        edges.push(e);
    }
    Binned { codes, edges }
}

fn gini(pos: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    let p = pos / n;
    2.0 * p * (1.0 - p)
}

struct Grower<'a> {
    b: &'a Binned,
    y: &'a [bool],
    cfg: &'a ForestConfig,
    mtry: usize,
    nodes: Vec<TreeNode>,
}

impl Grower<'_> {
    fn grow(&mut self, idx: &mut [usize], depth: usize, rng: &mut ChaCha8Rng) -> u32 {
        let me = self.nodes.len() as u32;
        let n = idx.len() as f64;
        let pos = idx
            .iter()
            .filter(|&&i| self.y.get(i).copied().unwrap_or(false))
            .count() as f64;
        let leaf = TreeNode {
            feature: u32::MAX,
            value: if n > 0.0 { pos / n } else { 0.0 },
            left: 0,
            right: 0,
        };
        if pos == 0.0
            || pos == n
            || idx.len() < self.cfg.min_samples_split
            || depth >= self.cfg.max_depth
        {
            self.nodes.push(leaf);
            return me;
        }
        let d = self.b.codes.len();
        let parent = gini(pos, n);
        let mut best: Option<(f64, usize, u8)> = None;
        let mut cnt = [0f64; 256];
        let mut cpos = [0f64; 256];
        // Try mtry random features; like scikit-learn, keep drawing past constant ones.
        let order = sample(rng, d, d).into_vec();
        let mut tried = 0;
        for &f in &order {
            if tried >= self.mtry && best.is_some() {
                break;
            }
            let Some(codes) = self.b.codes.get(f) else {
                continue;
            };
            cnt.iter_mut().for_each(|c| *c = 0.0);
            cpos.iter_mut().for_each(|c| *c = 0.0);
            let (mut lo, mut hi) = (255u8, 0u8);
            for &i in idx.iter() {
                let c = codes.get(i).copied().unwrap_or(0);
                cnt[c as usize] += 1.0;
                if self.y.get(i).copied().unwrap_or(false) {
                    cpos[c as usize] += 1.0;
                }
                lo = lo.min(c);
                hi = hi.max(c);
            }
            if lo == hi {
                continue;
            }
            tried += 1;
            let (mut ln, mut lp) = (0.0, 0.0);
            for c in lo..hi {
                ln += cnt[c as usize];
                lp += cpos[c as usize];
                if cnt[c as usize] == 0.0 {
                    continue;
                }
                let rn = n - ln;
                let rp = pos - lp;
                let gain = parent - (ln / n) * gini(lp, ln) - (rn / n) * gini(rp, rn);
                if best.is_none_or(|b| gain > b.0) {
                    best = Some((gain, f, c));
                }
            }
        }
        let Some((_, f, c)) = best else {
            self.nodes.push(leaf);
            return me;
        };
        let threshold = self
            .b
            .edges
            .get(f)
            .and_then(|e| e.get(c as usize))
            .copied()
            .unwrap_or(0.0);
        let codes = self.b.codes.get(f).map(Vec::as_slice).unwrap_or(&[]);
        let mut split = 0;
        for k in 0..idx.len() {
            if codes.get(idx[k]).copied().unwrap_or(0) <= c {
                idx.swap(k, split);
                split += 1;
            }
        }
        self.nodes.push(TreeNode {
            feature: f as u32,
            value: threshold,
            left: 0,
            right: 0,
        });
        let (l, r) = idx.split_at_mut(split);
        let li = self.grow(l, depth + 1, rng);
        let ri = self.grow(r, depth + 1, rng);
        if let Some(node) = self.nodes.get_mut(me as usize) {
            node.left = li;
            node.right = ri;
        }
        me
    }
}

impl ForestConfig {
    /// Fits on `x` with labels `y` (true = attack).
    pub fn fit(&self, x: &Matrix, y: &[bool]) -> Result<RandomForest, IomtError> {
        if self.n_trees == 0 {
            return Err(IomtError::Parameter {
                name: "n_trees",
                reason: "must be >= 1".into(),
            });
        }
        if x.rows() == 0 || x.cols() == 0 || y.len() != x.rows() {
            return Err(IomtError::Parameter {
                name: "x",
                reason: format!(
                    "need a non-empty matrix and one label per row ({} rows, {} labels)",
                    x.rows(),
                    y.len()
                ),
            });
        }
        let b = bin_features(x);
        let d = x.cols();
        let mtry = if self.max_features == 0 {
            ((d as f64).sqrt().round() as usize).max(1)
        } else {
            self.max_features.min(d)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let n = x.rows();
        let mut trees = Vec::with_capacity(self.n_trees);
        for _ in 0..self.n_trees {
            let mut idx: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
            let mut g = Grower {
                b: &b,
                y,
                cfg: self,
                mtry,
                nodes: Vec::new(),
            };
            g.grow(&mut idx, 0, &mut rng);
            trees.push(g.nodes);
        }
        Ok(RandomForest {
            n_features: d,
            trees,
        })
    }
}

impl RandomForest {
    /// Probability that `row` is an attack (mean leaf frequency over trees).
    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        let mut total = 0.0;
        for t in &self.trees {
            let mut at = 0usize;
            // at most one step per node: a corrupt (cyclic) model file cannot loop forever
            for _ in 0..t.len() {
                let Some(node) = t.get(at) else { break };
                if node.feature == u32::MAX {
                    total += node.value;
                    break;
                }
                let v = row.get(node.feature as usize).copied().unwrap_or(0.0);
                at = if v <= node.value {
                    node.left as usize
                } else {
                    node.right as usize
                };
            }
        }
        total / self.trees.len().max(1) as f64
    }

    /// Features the model expects.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phiguard_anomaly::metrics::auc_roc;

    #[test]
    fn learns_an_interaction() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..600 {
            let a: f64 = rng.gen_range(0.0..1.0);
            let b: f64 = rng.gen_range(0.0..1.0);
            let noise: f64 = rng.gen_range(0.0..1.0);
            rows.push(vec![a, b, noise]);
            y.push((a > 0.5) != (b > 0.5));
        }
        let x = Matrix::from_rows(&rows).unwrap();
        let (train, test): (Vec<usize>, Vec<usize>) = (0..600).partition(|i| i % 3 != 0);
        let f = ForestConfig {
            n_trees: 30,
            ..Default::default()
        }
        .fit(
            &x.select_rows(&train),
            &train.iter().map(|&i| y[i]).collect::<Vec<_>>(),
        )
        .unwrap();
        let scores: Vec<f64> = test.iter().map(|&i| f.predict_proba(x.row(i))).collect();
        let auc = auc_roc(&scores, &test.iter().map(|&i| y[i]).collect::<Vec<_>>()).unwrap();
        assert!(auc > 0.95, "{auc}");
    }

    #[test]
    fn rejects_bad_shapes() {
        let x = Matrix::from_rows(&[vec![1.0], vec![2.0]]).unwrap();
        assert!(ForestConfig::default().fit(&x, &[true]).is_err());
        assert!(ForestConfig {
            n_trees: 0,
            ..Default::default()
        }
        .fit(&x, &[true, false])
        .is_err());
    }
}
