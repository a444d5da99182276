//! Criterion benchmarks: in-memory append + hashing side by side with raw SHA-256 of the
//! same inputs, and proof generation. The full table (durable group commit, 10M-entry
//! proofs) is `phiguard ledger bench`.

use aws_lc_rs::digest;
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use phiguard_ledger::merkle::{self, MemoryTree};

fn entries(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{}\"}}", "a".repeat(180)).into_bytes())
        .collect()
}

fn hashing(c: &mut Criterion) {
    let es = entries(10_000);
    let mut g = c.benchmark_group("append_10k_x_200B");
    g.throughput(Throughput::Elements(es.len() as u64));
    g.bench_function("memory_tree_append", |b| {
        b.iter(|| {
            let mut t = MemoryTree::new();
            for e in &es {
                t.append(e);
            }
            t.size()
        })
    });
    // The same hash calls without the tree: one leaf hash per entry plus size-1 node hashes.
    g.bench_function("raw_sha256_same_calls", |b| {
        let node = [7u8; 65];
        b.iter(|| {
            let mut acc = 0u8;
            for e in &es {
                let mut ctx = digest::Context::new(&digest::SHA256);
                ctx.update(&[0]);
                ctx.update(e);
                acc ^= ctx.finish().as_ref()[0];
            }
            for _ in 1..es.len() {
                acc ^= digest::digest(&digest::SHA256, &node).as_ref()[0];
            }
            acc
        })
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let mut t = MemoryTree::new();
    for i in 0u32..1_000_000 {
        t.append(&i.to_be_bytes());
    }
    let mut g = c.benchmark_group("proofs_1M_memory");
    for idx in [0u64, 123_457, 999_999] {
        g.bench_with_input(BenchmarkId::new("inclusion", idx), &idx, |b, &idx| {
            b.iter(|| merkle::inclusion_proof(&mut t, idx, 1_000_000))
        });
    }
    g.finish();
}

// criterion_group! generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::hashing, super::proofs);
}
criterion_main!(group::benches);
