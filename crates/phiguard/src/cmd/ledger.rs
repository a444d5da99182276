//! `phiguard ledger ...`: the tamper-evident audit ledger (init, append, checkpoint, key,
//! proof, check-proof, verify, add-witness, serve, bench).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use phiguard_ledger::note::VerifierKey;
use phiguard_ledger::proof::TlogProof;
use phiguard_ledger::{Ledger, LedgerReader};

/// Arguments of `phiguard ledger`.
#[derive(clap::Args, Debug)]
pub struct LedgerArgs {
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(clap::Subcommand, Debug)]
enum LedgerCommand {
    /// Create a new ledger: signing key (mode 0600), config, empty signed checkpoint.
    Init {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Checkpoint origin, e.g. `hospital.example/audit`.
        #[arg(long)]
        origin: String,
    },
    /// Append NDJSON entries from stdin (one JSON value per line); prints each index.
    Append {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Do not ask the configured witnesses for cosignatures afterwards.
        #[arg(long)]
        no_cosign: bool,
        /// Append through the group committer's write-ahead journal, in requests of this many
        /// entries: each index is printed once its journal record is durable (as the gateway
        /// does); tiles and the checkpoint follow, and are complete when the command ends.
        #[arg(long, value_name = "ENTRIES_PER_REQUEST")]
        journal: Option<usize>,
    },
    /// Print the current signed checkpoint.
    Checkpoint {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Ask the configured witnesses to cosign it first.
        #[arg(long)]
        cosign: bool,
    },
    /// Print the log's verifier key (`<name>+<id>+<key>`).
    Key {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Print a C2SP tlog-proof of entry N against the current checkpoint.
    Proof {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Entry index.
        #[arg(long)]
        index: u64,
    },
    /// Verify a tlog-proof offline for an entry (no ledger directory needed).
    CheckProof {
        /// The tlog-proof file.
        #[arg(long)]
        proof: PathBuf,
        /// File holding the entry bytes (exactly the NDJSON line, without newline).
        #[arg(long)]
        entry: PathBuf,
        /// The log's verifier key.
        #[arg(long)]
        log_key: String,
        /// Trusted witness cosignature keys.
        #[arg(long)]
        witness_key: Vec<String>,
        /// Minimum number of witness cosignatures required.
        #[arg(long, default_value_t = 0)]
        min_cosigs: usize,
    },
    /// Recompute everything from the entry bundles; non-zero exit on any mismatch.
    Verify {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Configure a witness to collect cosignatures from.
    AddWitness {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Witness submission URL prefix (`/add-checkpoint` is appended).
        #[arg(long)]
        url: String,
        /// Witness verifier key (cosignature/v1, printed by `phiguard witness --print-key`).
        #[arg(long)]
        key: String,
    },
    /// Serve the checkpoint and tiles read-only over HTTP (C2SP tlog-tiles).
    Serve {
        /// Ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7381")]
        listen: std::net::SocketAddr,
        /// TLS certificate chain (PEM), required off loopback unless --dangerous-plain-http.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
        #[arg(long)]
        dangerous_plain_http: bool,
    },
    /// Measure hashing, durable group commit and proof generation; prints a table.
    Bench(BenchArgs),
}

/// Runs `phiguard ledger`.
pub fn run(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match args.command {
        LedgerCommand::Init { dir, origin } => {
            let l = Ledger::init(&dir, &origin)
                .with_context(|| format!("initializing a ledger in `{}`", dir.display()))?;
            writeln!(out, "{}", l.verifier().encode())?;
        }
        LedgerCommand::Append {
            dir,
            no_cosign,
            journal,
        } => {
            let entries = read_ndjson(std::io::stdin().lock())?;
            let mut l = Ledger::open(&dir)
                .with_context(|| format!("opening the ledger in `{}`", dir.display()))?;
            if let Some(per) = journal {
                let (gc, app) = phiguard_ledger::committer::GroupCommitter::start(
                    l,
                    phiguard_ledger::committer::CommitPolicy::default(),
                );
                for chunk in entries.chunks(per.max(1)) {
                    let next = app.append_many(chunk.to_vec()).context("appending")?;
                    for i in 0..chunk.len() as u64 {
                        writeln!(out, "{}", next + i)?;
                    }
                    out.flush()?;
                }
                drop(app);
                l = gc.join().context("publishing the journaled entries")?;
            } else {
                for chunk in entries.chunks(100_000) {
                    let next = l.append_batch(chunk).context("appending")?;
                    for i in 0..chunk.len() as u64 {
                        writeln!(out, "{}", next + i)?;
                    }
                }
            }
            if !no_cosign {
                cosign(&mut l);
            }
        }
        LedgerCommand::Checkpoint { dir, cosign: ask } => {
            if ask {
                let mut l = Ledger::open(&dir)?;
                cosign(&mut l);
            }
            let r = LedgerReader::open(&dir)?;
            let (_, text) = r.checkpoint()?;
            out.write_all(text.as_bytes())?;
        }
        LedgerCommand::Key { dir } => {
            let r = LedgerReader::open(&dir)?;
            writeln!(out, "{}", r.verifier().encode())?;
        }
        LedgerCommand::Proof { dir, index } => {
            let r = LedgerReader::open(&dir)?;
            let (p, _) = r
                .proof(index)
                .with_context(|| format!("proof of entry {index}"))?;
            out.write_all(p.encode().as_bytes())?;
        }
        LedgerCommand::CheckProof {
            proof,
            entry,
            log_key,
            witness_key,
            min_cosigs,
        } => {
            let data =
                std::fs::read(&proof).with_context(|| format!("reading `{}`", proof.display()))?;
            let p = TlogProof::parse(&data).with_context(|| format!("`{}`", proof.display()))?;
            let entry_bytes =
                std::fs::read(&entry).with_context(|| format!("reading `{}`", entry.display()))?;
            let lk = VerifierKey::parse(&log_key).context("--log-key")?;
            let wks = witness_key
                .iter()
                .map(|k| VerifierKey::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .context("--witness-key")?;
            let origin = lk.name.clone();
            match p.verify(&entry_bytes, &origin, &[lk], &wks, min_cosigs) {
                Ok(cp) => writeln!(
                    out,
                    "ok: entry {} is in `{}` at size {}",
                    p.index, cp.origin, cp.size
                )?,
                Err(e) => {
                    eprintln!("phiguard: proof does not verify: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        LedgerCommand::Verify { dir } => {
            let r = LedgerReader::open(&dir)
                .with_context(|| format!("opening the ledger in `{}`", dir.display()))?;
            match r.verify() {
                Ok(rep) => {
                    writeln!(
                        out,
                        "ok: size {}, root {}, {} files checked, cosigned by [{}]",
                        rep.size,
                        hex(&rep.root),
                        rep.files_checked,
                        rep.cosigned_by.join(", ")
                    )?;
                }
                Err(e) => {
                    eprintln!("phiguard: ledger verify failed: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        LedgerCommand::AddWitness { dir, url, key } => {
            let mut l = Ledger::open(&dir)?;
            l.add_witness(&url, &key)?;
            writeln!(out, "witness added: {url}")?;
        }
        LedgerCommand::Serve {
            dir,
            listen,
            tls_cert,
            tls_key,
            dangerous_plain_http,
        } => {
            LedgerReader::open(&dir)
                .with_context(|| format!("opening the ledger in `{}`", dir.display()))?;
            let tls = match (&tls_cert, &tls_key) {
                (Some(c), Some(k)) => Some(crate::cmd::witness::tls_acceptor(c, k)?),
                _ => None,
            };
            if tls.is_none() && !listen.ip().is_loopback() && !dangerous_plain_http {
                bail!(
                    "refusing plain HTTP on non-loopback address {listen}: pass --tls-cert/--tls-key, or --dangerous-plain-http behind a TLS proxy"
                );
            }
            let app = phiguard_ledger::http::tiles_router(dir);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                let addr = listener.local_addr()?;
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                match tls {
                    Some(acceptor) => {
                        eprintln!("phiguard ledger: serving tiles on https://{addr}");
                        let l = crate::cmd::witness::TlsListener { listener, acceptor };
                        axum::serve(l, app).with_graceful_shutdown(shutdown).await
                    }
                    None => {
                        eprintln!("phiguard ledger: serving tiles on http://{addr}");
                        axum::serve(listener, app)
                            .with_graceful_shutdown(shutdown)
                            .await
                    }
                }
                .context("serving")
            })?;
        }
        LedgerCommand::Bench(args) => return bench(args),
    }
    Ok(ExitCode::SUCCESS)
}

fn cosign(l: &mut Ledger) {
    for (w, r) in l.collect_cosignatures() {
        if let Err(e) = r {
            eprintln!("phiguard: warning: no cosignature from `{w}`: {e}");
        }
    }
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads NDJSON: one JSON value per line; blank lines are skipped. Every line is checked
/// before anything is appended.
fn read_ndjson(mut input: impl std::io::BufRead) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut entries = Vec::new();
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .context("reading stdin")?;
        if read == 0 {
            break;
        }
        n += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if line.len() > phiguard_ledger::tile::MAX_ENTRY_LEN {
            bail!(
                "line {n} is {} bytes; a ledger entry is at most 65535 bytes (nothing was appended)",
                line.len()
            );
        }
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&line) {
            bail!("line {n} is not valid JSON: {e} (nothing was appended)");
        }
        entries.push(line.clone());
    }
    Ok(entries)
}

/// Arguments of `phiguard ledger bench`.
#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// Directory for the benchmark logs (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Entries for the hashing and durable-append measurements.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Size of the large log used for proof generation.
    #[arg(long, default_value_t = 10_000_000)]
    big: u64,
    /// Random proofs to generate in the large log.
    #[arg(long, default_value_t = 2_000)]
    proofs: usize,
}

fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let tmp;
    let dir = match args.dir {
        Some(d) => d,
        None => {
            tmp = tempfile_dir()?;
            tmp.clone()
        }
    };
    let opts = phiguard_ledger::bench::BenchOptions {
        dir: dir.clone(),
        entries: args.entries,
        big: args.big,
        proofs: args.proofs,
    };
    let rows = phiguard_ledger::bench::run(&opts, &mut |msg| eprintln!("bench: {msg}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", phiguard_ledger::bench::table(&rows))?;
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!(
            "phiguard: warning: could not remove `{}`: {e}",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir().join(format!("phiguard-ledger-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("creating `{}`", base.display()))?;
    Ok(base)
}
