//! The ledger benchmark behind `phiguard ledger bench`: each measurement side by side with
//! its physical limit, in one run.
//!
//! 1. In-memory append + hashing vs raw SHA-256 over the same number and sizes of inputs.
//! 2. Durable appends of 200-byte entries (group commit: one sync + one signed checkpoint per
//!    batch), via the batch API and via the multi-producer [`GroupCommitter`]; and the latency
//!    of one acknowledged append at small batch sizes: write-ahead journal (one `fdatasync`)
//!    vs publishing the batch to the tiles with a signed checkpoint.
//! 3. Inclusion proofs for random indexes of a large (10M) log: time and tiles read.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;

use crate::committer::{CommitPolicy, GroupCommitter};
use crate::error::Result;
use crate::hash::{hash_calls, leaf_hash};
use crate::log::{Ledger, LedgerReader, SyncMode, TileReader};
use crate::merkle::{self, MemoryTree};

/// Benchmark parameters.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Scratch directory (created; logs are made below it).
    pub dir: PathBuf,
    /// Entries for the hashing and durable-append measurements.
    pub entries: u64,
    /// Size of the large log for proofs.
    pub big: u64,
    /// Number of random proofs.
    pub proofs: usize,
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub what: String,
    /// The measured value.
    pub value: String,
    /// The reference it is compared with, and the ratio.
    pub reference: String,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn entry(i: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{{\"i\":{i},\"pad\":\"").into_bytes();
    while v.len() + 2 < len {
        v.push(b'a' + (i % 26) as u8);
    }
    v.extend_from_slice(b"\"}");
    v
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Runs all measurements; `progress` receives short status messages.
pub fn run(opts: &BenchOptions, progress: &mut dyn FnMut(&str)) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    std::fs::create_dir_all(&opts.dir).map_err(|e| crate::Error::io("create", &opts.dir, e))?;
    let n = opts.entries.max(1);
    let entries: Vec<Vec<u8>> = (0..n).map(|i| entry(i, 200)).collect();

    // 1. Hashing.
    progress("in-memory append + hashing");
    let before = hash_calls();
    let t = Instant::now();
    let mut tree = MemoryTree::new();
    for e in &entries {
        tree.append(e);
    }
    let root = tree.root();
    let append_time = t.elapsed();
    let calls = hash_calls() - before;
    let nodes = calls.saturating_sub(n);
    let t = Instant::now();
    let mut acc = 0u8;
    for e in &entries {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&[0]);
        ctx.update(e);
        acc ^= ctx.finish().as_ref()[0];
    }
    let node_input = [acc; 65];
    for _ in 0..nodes {
        acc ^= digest::digest(&digest::SHA256, &node_input).as_ref()[0];
    }
    let raw_time = t.elapsed();
    std::hint::black_box((acc, root));
    rows.push(Row {
        what: format!("in-memory append+hash, {n} x 200 B ({calls} hash calls)"),
        value: format!("{:.0} entries/s", rate(n, append_time)),
        reference: format!(
            "raw SHA-256, same {calls} calls: {:.0} entries/s equiv.; ratio {:.0}% (target >= 50%)",
            rate(n, raw_time),
            100.0 * raw_time.as_secs_f64() / append_time.as_secs_f64().max(1e-9)
        ),
    });

    // 2. Durable appends. The physical limit: the same entry bytes plus their 32-byte leaf
    // hashes written sequentially to one file and fsynced.
    {
        progress("raw sequential write + fsync of the same bytes");
        let path = opts.dir.join("raw-write");
        let mut buf = Vec::with_capacity(entries.len() * 236);
        for e in &entries {
            buf.extend_from_slice(&(e.len() as u16).to_be_bytes());
            buf.extend_from_slice(e);
            buf.extend_from_slice(&[0u8; 32]);
        }
        let t = Instant::now();
        {
            use std::io::Write as _;
            let mut f =
                std::fs::File::create(&path).map_err(|e| crate::Error::io("create", &path, e))?;
            f.write_all(&buf)
                .map_err(|e| crate::Error::io("write", &path, e))?;
            f.sync_all()
                .map_err(|e| crate::Error::io("fsync", &path, e))?;
        }
        let d = t.elapsed();
        let _ = std::fs::remove_file(&path);
        rows.push(Row {
            what: format!(
                "raw limit: one sequential write + fsync of {} MB (same bytes)",
                buf.len() >> 20
            ),
            value: format!("{:.0} entries/s equiv.", rate(n, d)),
            reference: format!(
                "{:.0} MB/s",
                buf.len() as f64 / 1e6 / d.as_secs_f64().max(1e-9)
            ),
        });
    }
    for (batch, mode) in [
        (10_000usize, SyncMode::Auto),
        (100_000, SyncMode::Auto),
        (10_000, SyncMode::Syncfs),
        (100_000, SyncMode::Syncfs),
        (10_000, SyncMode::PerFile),
    ] {
        progress(&format!("durable appends, batches of {batch}, {mode:?}"));
        let dir = opts.dir.join(format!("durable-{batch}-{mode:?}"));
        let mut l = Ledger::init(&dir, "bench.example/durable")?;
        l.set_sync_mode(mode);
        let t = Instant::now();
        let mut commits = 0;
        for chunk in entries.chunks(batch) {
            l.append_batch(chunk)?;
            commits += 1;
        }
        let d = t.elapsed();
        rows.push(Row {
            what: format!(
                "durable append, {} + signed checkpoint per batch, batch {batch}",
                match mode {
                    SyncMode::Auto => "parallel fdatasync of each file",
                    SyncMode::Syncfs => "one syncfs",
                    _ => "sequential fsync of each file",
                }
            ),
            value: format!("{:.0} entries/s", rate(n, d)),
            reference: format!(
                "{commits} commits, {:.1} ms/commit; target >= 100000 entries/s",
                d.as_secs_f64() * 1000.0 / f64::from(commits)
            ),
        });
        drop(l);
        let _ = std::fs::remove_dir_all(&dir);
    }
    for (producers, per_request) in [(8usize, 1000usize), (64, 100)] {
        progress(&format!(
            "group commit, {producers} producers x {per_request}-entry requests"
        ));
        let dir = opts.dir.join("group");
        let l = Ledger::init(&dir, "bench.example/group")?;
        let (gc, app) = GroupCommitter::start(
            l,
            CommitPolicy {
                max_entries: 100_000,
                max_wait: Duration::from_millis(20),
                journal: false,
                ..CommitPolicy::default()
            },
        );
        let t = Instant::now();
        let per = entries.len().div_ceil(producers);
        let mut handles = Vec::new();
        for part in entries.chunks(per) {
            let app = app.clone();
            let part: Vec<Vec<u8>> = part.to_vec();
            handles.push(std::thread::spawn(move || -> Result<()> {
                for c in part.chunks(per_request) {
                    app.append_many(c.to_vec())?;
                }
                Ok(())
            }));
        }
        drop(app);
        for h in handles {
            h.join().map_err(|_| crate::Error::WriterStopped)??;
        }
        let d = t.elapsed();
        let l = gc.join()?;
        rows.push(Row {
            what: format!(
                "group commit, {producers} producer threads, {per_request}-entry requests"
            ),
            value: format!("{:.0} entries/s", rate(l.size(), d)),
            reference: "acknowledged only when durable; target >= 100000 entries/s".into(),
        });
        drop(l);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // 2b. Latency of one acknowledged append at the gateway's batch sizes (a few entries per
    // group commit at 2,000 requests/s): journal record + one fdatasync (what the committer
    // waits for before acknowledging) vs publishing the same batch to the tiles with a signed
    // checkpoint (what it waited for before the journal).
    for batch in [1usize, 2, 4, 16] {
        progress(&format!("acknowledged append latency, batches of {batch}"));
        let dir = opts.dir.join(format!("latency-{batch}"));
        let mut l = Ledger::init(&dir, "bench.example/latency")?;
        let rounds = 1000usize;
        let mut j = crate::journal::JournalWriter::create(&dir, 0, true)?;
        let mut jt = Vec::with_capacity(rounds);
        let mut pt = Vec::with_capacity(rounds);
        for r in 0..rounds {
            let b: Vec<&[u8]> = (0..batch)
                .map(|k| entries[(r * batch + k) % entries.len()].as_slice())
                .collect();
            let t = Instant::now();
            j.append(&b)?;
            jt.push(t.elapsed());
        }
        for r in 0..rounds {
            let b: Vec<&[u8]> = (0..batch)
                .map(|k| entries[(r * batch + k) % entries.len()].as_slice())
                .collect();
            let t = Instant::now();
            l.append_batch(&b)?;
            pt.push(t.elapsed());
        }
        let q = |v: &mut Vec<Duration>, p: usize| {
            v.sort();
            v.get((v.len().saturating_sub(1)) * p / 100)
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e6
        };
        rows.push(Row {
            what: format!(
                "acknowledged append, {batch}-entry batches x {rounds}: journal record + one fdatasync"
            ),
            value: format!("p50 {:.0} us, p99 {:.0} us", q(&mut jt, 50), q(&mut jt, 99)),
            reference: format!(
                "publishing the same batches to tiles + signed checkpoint: p50 {:.0} us, p99 {:.0} us",
                q(&mut pt, 50),
                q(&mut pt, 99)
            ),
        });
        drop(j);
        drop(l);
        let _ = std::fs::remove_dir_all(&dir);
    }

    // 3. Proofs in a big log.
    progress(&format!("building a {}-entry log", opts.big));
    let dir = opts.dir.join("big");
    let mut l = Ledger::init(&dir, "bench.example/big")?;
    l.set_sync_mode(SyncMode::DangerousNone);
    let t = Instant::now();
    let chunk = 1_000_000u64;
    let mut done = 0u64;
    while done < opts.big {
        let k = chunk.min(opts.big - done);
        let es: Vec<[u8; 16]> = (done..done + k)
            .map(|i| {
                let mut e = [0u8; 16];
                e[..8].copy_from_slice(&i.to_be_bytes());
                e
            })
            .collect();
        l.append_batch(&es)?;
        done += k;
    }
    let build = t.elapsed();
    let size = l.size();
    let root = l.root();
    drop(l);
    progress("random proofs");
    let reader = LedgerReader::open(&dir)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let indexes: Vec<u64> = (0..opts.proofs).map(|_| rng.next() % size).collect();
    let mut max_tiles = 0usize;
    let mut passes = Vec::new();
    // Pass 1 touches tiles for the first time since the build (maybe not in the page cache);
    // pass 2 repeats the same indexes warm.
    for _pass in 0..2 {
        let mut times = Vec::with_capacity(indexes.len());
        for &idx in &indexes {
            let t = Instant::now();
            let mut r = TileReader::new(&dir, size);
            let p = merkle::inclusion_proof(&mut r, idx, size)?;
            times.push(t.elapsed());
            max_tiles = max_tiles.max(r.tiles_read);
            let mut e = [0u8; 16];
            e[..8].copy_from_slice(&idx.to_be_bytes());
            merkle::verify_inclusion(idx, size, &leaf_hash(&e), &p, &root)?;
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / (times.len().max(1) as u32);
        let p50 = times.get(times.len() / 2).copied().unwrap_or_default();
        let p99 = times
            .get(times.len() * 99 / 100)
            .copied()
            .unwrap_or_default();
        passes.push((mean, p50, p99));
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (cold, warm) = (passes[0], passes[1]);
    let t = Instant::now();
    let k = opts.proofs.min(500);
    for _ in 0..k {
        let idx = rng.next() % size;
        std::hint::black_box(reader.proof(idx)?);
    }
    let full = t.elapsed() / (k.max(1) as u32);
    rows.push(Row {
        what: format!(
            "inclusion proof, random index, {size}-entry log (built in {:.1} s)",
            build.as_secs_f64()
        ),
        value: format!(
            "warm: mean {:.0} us, p50 {:.0} us, p99 {:.0} us; first touch: mean {:.0} us, p99 {:.0} us; max {max_tiles} tiles read",
            us(warm.0), us(warm.1), us(warm.2), us(cold.0), us(cold.2)
        ),
        reference: format!(
            "target < 1000 us and <= 5 tiles; full tlog-proof incl. reading + verifying the checkpoint: {:.0} us",
            us(full)
        ),
    });
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}

/// Formats rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from("| measurement | result | reference |\n|---|---|---|\n");
    for r in rows {
        s.push_str(&format!("| {} | {} | {} |\n", r.what, r.value, r.reference));
    }
    s
}
