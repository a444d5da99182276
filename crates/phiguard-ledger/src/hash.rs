//! RFC 6962 / RFC 9162 hashing: SHA-256 with domain separation (leaf `0x00`, node `0x01`).
//!
//! Every hash call in the crate goes through this module so the benchmark can count them.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The size of a [`Hash`](type@Hash) in bytes.
pub const HASH_SIZE: usize = 32;

static HASH_CALLS: AtomicU64 = AtomicU64::new(0);

/// Number of leaf and node hash calls made by this process (for benchmarks).
pub fn hash_calls() -> u64 {
    HASH_CALLS.load(Ordering::Relaxed)
}

/// SHA-256 of the empty string: the root of the empty tree (RFC 9162, 2.1.1).
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// Plain SHA-256.
pub fn sha256(data: &[u8]) -> Hash {
    to_hash(digest::digest(&digest::SHA256, data))
}

/// The leaf hash `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    HASH_CALLS.fetch_add(1, Ordering::Relaxed);
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    to_hash(ctx.finish())
}

/// The interior node hash `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    HASH_CALLS.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    to_hash(digest::digest(&digest::SHA256, &buf))
}

fn to_hash(d: digest::Digest) -> Hash {
    let mut out = [0u8; HASH_SIZE];
    out.copy_from_slice(d.as_ref());
    out
}

/// Merkle Tree Hash of a list of leaf (or subtree) hashes, per RFC 9162 2.1.1:
/// split at the largest power of two smaller than the length.
pub fn mth(hashes: &[Hash]) -> Hash {
    match hashes {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split_point(hashes.len() as u64) as usize;
            let (l, r) = hashes.split_at(k);
            node_hash(&mth(l), &mth(r))
        }
    }
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_rfc_6962s() {
        for (n, k) in [
            (2u64, 1u64),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1000, 512),
        ] {
            assert_eq!(split_point(n), k, "n={n}");
        }
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }
}
