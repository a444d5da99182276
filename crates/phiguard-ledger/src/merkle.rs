//! RFC 9162 Merkle tree algorithms: subtree hashes, inclusion and consistency proofs
//! (generation over any [`NodeSource`], and verification), plus an in-memory tree.
//!
//! Proof generation follows the recursive definitions of RFC 9162 2.1.3.1 and 2.1.4.1;
//! verification follows the iterative algorithms of RFC 9162 2.1.3.2 and 2.1.4.2.

use crate::error::{Error, Result};
use crate::hash::{empty_root, leaf_hash, node_hash, split_point, Hash};

/// Something that can return the hash of a perfect subtree: the `index`-th subtree of
/// `2^level` leaves, covering leaves `[index << level, (index + 1) << level)`.
pub trait NodeSource {
    /// Returns the hash of that perfect subtree; callers only ask for subtrees inside the tree.
    fn node(&mut self, level: u32, index: u64) -> Result<Hash>;
}

/// The Merkle Tree Hash of leaves `[lo, hi)`, from perfect subtree hashes.
pub fn subtree_hash<S: NodeSource + ?Sized>(src: &mut S, lo: u64, hi: u64) -> Result<Hash> {
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo % n == 0 {
        let level = n.trailing_zeros();
        return src.node(level, lo >> level);
    }
    let k = if n.is_power_of_two() {
        n / 2
    } else {
        split_point(n)
    };
    let left = subtree_hash(src, lo, lo + k)?;
    let right = subtree_hash(src, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// The root hash of the tree of `size` leaves.
pub fn root<S: NodeSource + ?Sized>(src: &mut S, size: u64) -> Result<Hash> {
    subtree_hash(src, 0, size)
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `size` leaves,
/// leaf sibling first (RFC 9162 2.1.3.1).
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(64);
    path(src, index, 0, size, &mut proof)?;
    Ok(proof)
}

fn path<S: NodeSource + ?Sized>(
    src: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    out: &mut Vec<Hash>,
) -> Result<()> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < lo + k {
        path(src, m, lo, lo + k, out)?;
        out.push(subtree_hash(src, lo + k, hi)?);
    } else {
        path(src, m, lo + k, hi, out)?;
        out.push(subtree_hash(src, lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves
/// (RFC 9162 2.1.4.1). Empty when `old` is 0 or equal to `new`.
pub fn consistency_proof<S: NodeSource + ?Sized>(
    src: &mut S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>> {
    if old > new {
        return Err(Error::InvalidSizes { old, new });
    }
    let mut proof = Vec::with_capacity(64);
    if old == 0 || old == new {
        return Ok(proof);
    }
    subproof(src, old, 0, new, true, &mut proof)?;
    Ok(proof)
}

fn subproof<S: NodeSource + ?Sized>(
    src: &mut S,
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<()> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(subtree_hash(src, lo, hi)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(src, m, lo, lo + k, complete, out)?;
        out.push(subtree_hash(src, lo + k, hi)?);
    } else {
        subproof(src, m - k, lo + k, hi, false, out)?;
        out.push(subtree_hash(src, lo, lo + k)?);
    }
    Ok(())
}

fn bad(kind: &'static str, reason: &'static str) -> Error {
    Error::ProofInvalid { kind, reason }
}

/// Recomputes the root from a leaf hash and its inclusion proof (RFC 9162 2.1.3.2).
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash> {
    const K: &str = "inclusion";
    if index >= size {
        return Err(bad(K, "leaf index is not below the tree size"));
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(bad(K, "proof is longer than the tree is deep"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad(K, "proof is shorter than the tree is deep"));
    }
    Ok(r)
}

/// Verifies an inclusion proof of `leaf` (a leaf hash) at `index` in a tree of `size` with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    let r = root_from_inclusion_proof(index, size, leaf, proof)?;
    if &r != root {
        return Err(bad(
            "inclusion",
            "recomputed root differs from the expected root",
        ));
    }
    Ok(())
}

/// Verifies a consistency proof between (`old`, `old_root`) and (`new`, `new_root`)
/// (RFC 9162 2.1.4.2, with the usual conventions for equal sizes and the empty tree).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    const K: &str = "consistency";
    if old > new {
        return Err(bad(K, "old size is larger than new size"));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(bad(K, "proof between equal sizes must be empty"));
        }
        if old_root != new_root {
            return Err(bad(K, "roots differ for the same tree size"));
        }
        return Ok(());
    }
    if old == 0 {
        if !proof.is_empty() {
            return Err(bad(K, "proof from the empty tree must be empty"));
        }
        return Ok(());
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(bad(K, "proof is empty"));
    };
    // Step 2: if old is a power of two, old_root is the first node of the path.
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
        path.push(first);
    } else {
        path.push(first);
    }
    path.extend(rest.iter());
    let mut fnode = old - 1;
    let mut snode = new - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *path[0];
    let mut sr = *path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(bad(K, "proof is longer than expected"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(bad(K, "proof is shorter than expected"));
    }
    if &fr != old_root {
        return Err(bad(K, "recomputed old root differs"));
    }
    if &sr != new_root {
        return Err(bad(K, "recomputed new root differs"));
    }
    Ok(())
}

/// An in-memory Merkle tree keeping every perfect subtree hash (level by level).
///
/// Appending costs one leaf hash plus, on average, one node hash.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends an entry (hashed as a leaf) and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends an already computed leaf hash and returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let index = self.levels[0].len() as u64;
        let mut h = leaf;
        let mut level = 0;
        loop {
            let row = &mut self.levels[level];
            row.push(h);
            let n = row.len();
            if n % 2 == 1 {
                break;
            }
            h = node_hash(&row[n - 2], &row[n - 1]);
            level += 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
        }
        index
    }

    /// Root hash at the current size.
    pub fn root(&mut self) -> Hash {
        let size = self.size();
        self.root_at(size).unwrap_or_else(|_| empty_root())
    }

    /// Root hash at an earlier size.
    pub fn root_at(&mut self, size: u64) -> Result<Hash> {
        if size > self.size() {
            return Err(Error::IndexOutOfRange {
                index: size,
                size: self.size(),
            });
        }
        root(self, size)
    }
}

impl NodeSource for MemoryTree {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        self.levels
            .get(level as usize)
            .and_then(|row| row.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(Error::IndexOutOfRange {
                index: index << level,
                size: self.size(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::mth;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    fn h(s: &str) -> Hash {
        unhex(s).try_into().unwrap()
    }
    fn hx(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    // RFC 6962 reference data (transparency-dev/merkle testonly/constants.go).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference_tree() -> MemoryTree {
        let mut t = MemoryTree::new();
        for l in LEAVES {
            t.append(&unhex(l));
        }
        t
    }

    #[test]
    fn roots_match_rfc6962_vectors() {
        let mut t = reference_tree();
        for (size, want) in ROOTS.iter().enumerate() {
            assert_eq!(hx(&t.root_at(size as u64).unwrap()), *want, "size {size}");
        }
    }

    #[test]
    fn inclusion_proofs_match_reference_vectors() {
        // (index, size, proof) from transparency-dev/merkle proof tests.
        let cases: &[(u64, u64, &[&str])] = &[
            (0, 1, &[]),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let mut t = reference_tree();
        for (index, size, want) in cases {
            let got = inclusion_proof(&mut t, *index, *size).unwrap();
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "index {index} size {size}");
            let leaf = leaf_hash(&unhex(LEAVES[*index as usize]));
            let root = h(ROOTS[*size as usize]);
            verify_inclusion(*index, *size, &leaf, &got, &root).unwrap();
        }
    }

    #[test]
    fn consistency_proofs_match_reference_vectors() {
        let cases: &[(u64, u64, &[&str])] = &[
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                2,
                8,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
        ];
        let mut t = reference_tree();
        for (old, new, want) in cases {
            let got = consistency_proof(&mut t, *old, *new).unwrap();
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(got, want, "{old} -> {new}");
            let (r1, r2) = (h(ROOTS[*old as usize]), h(ROOTS[*new as usize]));
            verify_consistency(*old, *new, &r1, &r2, &got).unwrap();
        }
    }

    // A naive model: RFC 6962 definitions applied literally to the list of leaf hashes.
    fn naive_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = naive_path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }
    fn naive_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = naive_subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    #[test]
    fn all_pairs_in_small_trees_match_the_naive_model() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut t = MemoryTree::new();
        for l in &leaves {
            t.append_leaf_hash(*l);
        }
        for n in 1..=leaves.len() {
            let d = &leaves[..n];
            let root_n = mth(d);
            assert_eq!(t.root_at(n as u64).unwrap(), root_n);
            for m in 0..n {
                let p = inclusion_proof(&mut t, m as u64, n as u64).unwrap();
                assert_eq!(p, naive_path(m, d), "inclusion {m} in {n}");
                verify_inclusion(m as u64, n as u64, &d[m], &p, &root_n).unwrap();
                // A wrong index or wrong size must not verify.
                if n > 1 {
                    let other = (m + 1) % n;
                    assert!(verify_inclusion(other as u64, n as u64, &d[m], &p, &root_n).is_err());
                }
            }
            for m in 1..=n {
                let p = consistency_proof(&mut t, m as u64, n as u64).unwrap();
                if m < n {
                    assert_eq!(p, naive_subproof(m, d, true), "consistency {m} -> {n}");
                }
                let root_m = mth(&leaves[..m]);
                verify_consistency(m as u64, n as u64, &root_m, &root_n, &p).unwrap();
                // Tampering with any hash of the proof must be caught.
                for i in 0..p.len() {
                    let mut q = p.clone();
                    q[i][0] ^= 1;
                    assert!(verify_consistency(m as u64, n as u64, &root_m, &root_n, &q).is_err());
                }
                if m < n {
                    let wrong = mth(&leaves[1..=m]);
                    assert!(verify_consistency(m as u64, n as u64, &wrong, &root_n, &p).is_err());
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn random_sizes_agree_with_the_naive_model(n in 1usize..2000, seed in any::<u64>()) {
            let leaves: Vec<Hash> = (0..n as u64).map(|i| leaf_hash(&(i ^ seed).to_le_bytes())).collect();
            let mut t = MemoryTree::new();
            for l in &leaves { t.append_leaf_hash(*l); }
            let root = mth(&leaves);
            prop_assert_eq!(t.root(), root);
            let m = (seed % n as u64) as usize;
            let p = inclusion_proof(&mut t, m as u64, n as u64).unwrap();
            prop_assert_eq!(&p, &naive_path(m, &leaves));
            prop_assert!(verify_inclusion(m as u64, n as u64, &leaves[m], &p, &root).is_ok());
            let old = 1 + (seed >> 20) as usize % n;
            let c = consistency_proof(&mut t, old as u64, n as u64).unwrap();
            if old < n { prop_assert_eq!(&c, &naive_subproof(old, &leaves, true)); }
            let old_root = mth(&leaves[..old]);
            prop_assert!(verify_consistency(old as u64, n as u64, &old_root, &root, &c).is_ok());
        }

        #[test]
        fn verifiers_never_panic(index in any::<u64>(), size in any::<u64>(), old in any::<u64>(),
                                 proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70)) {
            let z = [0u8; 32];
            let _ = verify_inclusion(index, size, &z, &proof, &z);
            let _ = verify_consistency(old, size, &z, &z, &proof);
        }
    }
}
