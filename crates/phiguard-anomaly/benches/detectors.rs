//! Criterion benchmarks: fit and single-row scoring of each detector on synthetic data.
#![allow(missing_docs)]
#![allow(
    clippy::unwrap_used,
    reason = "benchmark setup: a panic aborts the bench"
)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use phiguard_anomaly::{Detector, DetectorKind, Matrix};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data(n: usize, d: usize) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    Matrix::new(n, d, (0..n * d).map(|_| rng.gen_range(0.0..1.0)).collect()).unwrap()
}

fn bench(c: &mut Criterion) {
    let x = data(5000, 10);
    let row: Vec<f64> = x.row(17).to_vec();
    for kind in DetectorKind::all_defaults() {
        let model = kind.fit(&x).unwrap();
        c.bench_function(&format!("score_row/{}", kind.name()), |b| {
            b.iter(|| model.score_row(black_box(&row)).unwrap())
        });
    }
    let mut g = c.benchmark_group("score_batch_5000");
    g.sample_size(10);
    for kind in DetectorKind::all_defaults() {
        let model = kind.fit(&x).unwrap();
        g.bench_function(kind.name(), |b| {
            b.iter(|| model.score(black_box(&x)).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("fit");
    g.sample_size(10);
    for kind in DetectorKind::all_defaults() {
        g.bench_function(kind.name(), |b| b.iter(|| kind.fit(black_box(&x)).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
