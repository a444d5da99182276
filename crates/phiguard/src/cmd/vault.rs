//! `phiguard vault ...`, `phiguard backup` and `phiguard restore`: the encrypted PHI vault.
//!
//! A data directory holds `vault.json` (which provider and backend), `vault.db` (SQLite
//! backend), `keys.json` (local key provider) and `erasures.jsonl` (the erasure ledger, kept
//! out of backups so a restore re-applies later erasures). The passphrase of the local
//! provider comes from `PHIGUARD_PASSPHRASE`; the env provider reads `PHIGUARD_KEK`.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use phiguard_vault::keys::{EnvKeyProvider, KdfParams, KeyProvider, LocalKeyProvider, KEK_ENV};
use phiguard_vault::store::sqlite::SqliteStore;
use phiguard_vault::store::Storage;
use phiguard_vault::token::IdentifierKind;
use phiguard_vault::vault::{append_ledger, read_ledger};
use phiguard_vault::{ProtectionLevel, Vault, VaultConfig};
use serde::{Deserialize, Serialize};

const PASS_ENV: &str = "PHIGUARD_PASSPHRASE";
const PG_URL_ENV: &str = "PHIGUARD_VAULT_POSTGRES_URL";

/// `phiguard vault`.
#[derive(Args, Debug)]
pub struct VaultArgs {
    #[command(subcommand)]
    command: VaultCommand,
}

#[derive(Args, Debug, Clone)]
struct DirArg {
    /// Vault data directory.
    #[arg(long)]
    data_dir: PathBuf,
}

#[derive(Subcommand, Debug)]
enum VaultCommand {
    /// Create a new vault (keys, database) in a data directory.
    Init(InitArgs),
    /// Store a FHIR resource read from stdin; prints type/id/version.
    Put(PutArgs),
    /// Print a stored FHIR resource.
    Get(GetArgs),
    /// List a patient's records, or all patient tokens.
    List(ListArgs),
    /// Find patients by identifier (mrn, ssn, phone or a system URI) without decrypting.
    Find(FindArgs),
    /// Crypto-shred a patient: destroy every version of their keys.
    Erase(EraseArgs),
    /// Rotate keys: KEK (rewrap), data keys, re-encrypt, retire old versions.
    Rotate(RotateArgs),
    /// Key ages, invocation counts, protection level, job progress.
    Status(StatusArgs),
    /// Set the protection level (normal, elevated, lockdown).
    Level(LevelArgs),
    /// Open every record and report the ones that fail.
    Verify(DirArg),
    /// Benchmark sealing, opening and SQLite put/get; prints a table.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct InitArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Key provider: `local` (passphrase key file) or `env` (KEK in PHIGUARD_KEK).
    #[arg(long, default_value = "local")]
    provider: String,
    /// Storage backend: `sqlite` or `postgres` (URL from PHIGUARD_VAULT_POSTGRES_URL).
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// PostgreSQL schema for the postgres backend.
    #[arg(long, default_value = "phiguard_vault")]
    postgres_schema: String,
    /// Tenant name bound into every ciphertext and token.
    #[arg(long, default_value = "default")]
    tenant: String,
    /// Rotate a data key after this many AES-GCM invocations (at most 2^32; default 2^30).
    #[arg(long, default_value_t = phiguard_vault::vault::DEFAULT_MAX_INVOCATIONS)]
    max_invocations: u64,
    /// Use a trivially cheap Argon2id cost. Only for tests: makes passphrase guessing fast.
    #[arg(long)]
    dangerous_weak_kdf: bool,
}

#[derive(Args, Debug)]
struct PutArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Patient id.
    #[arg(long)]
    patient: String,
    /// Read one resource per line (NDJSON); each line is acknowledged after it is durable.
    #[arg(long)]
    ndjson: bool,
}

#[derive(Args, Debug)]
struct GetArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Patient id.
    #[arg(long)]
    patient: String,
    /// Resource type.
    #[arg(long = "type")]
    resource_type: String,
    /// Resource id.
    #[arg(long)]
    id: String,
    /// Version (default: latest).
    #[arg(long)]
    version: Option<u64>,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Patient id (omit to list patient tokens).
    #[arg(long)]
    patient: Option<String>,
}

#[derive(Args, Debug)]
struct FindArgs {
    #[command(flatten)]
    dir: DirArg,
    /// mrn, ssn, phone, or an identifier system URI.
    #[arg(long)]
    kind: String,
    /// Identifier value.
    #[arg(long)]
    value: String,
}

#[derive(Args, Debug)]
struct EraseArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Patient id.
    #[arg(long)]
    patient: String,
}

#[derive(Args, Debug)]
struct RotateArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Create a new KEK version and rewrap every data key under it.
    #[arg(long)]
    kek: bool,
    /// Rewrap data keys still under an old KEK (resumes an interrupted --kek).
    #[arg(long)]
    rewrap: bool,
    /// Destroy KEK versions below the current one (old backups become unreadable).
    #[arg(long)]
    retire_kek: bool,
    /// Create a new data-key version for every patient.
    #[arg(long)]
    data_keys: bool,
    /// Re-encrypt records under old data keys (resumable background job).
    #[arg(long)]
    reencrypt: bool,
    /// Destroy data-key versions no record uses any more.
    #[arg(long)]
    retire_data_keys: bool,
    /// Records per re-encryption batch (one transaction each).
    #[arg(long, default_value_t = 200)]
    batch: usize,
}

#[derive(Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct LevelArgs {
    #[command(flatten)]
    dir: DirArg,
    /// normal, elevated or lockdown.
    level: String,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Records for the SQLite put/get latency run.
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 1.0)]
    secs: f64,
    /// Directory for the benchmark database (default: a temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// `phiguard backup`.
#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Output file (must not exist). Contains only ciphertext and wrapped keys.
    #[arg(long)]
    out: PathBuf,
}

/// `phiguard restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Backup file written by `phiguard backup`.
    #[arg(long)]
    from: PathBuf,
    /// Replace an existing vault database.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize, Deserialize, Debug)]
struct DirConfig {
    format: u32,
    provider: String,
    backend: String,
    postgres_schema: Option<String>,
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("vault.json")
}
fn db_path(dir: &Path) -> PathBuf {
    dir.join("vault.db")
}
fn keys_path(dir: &Path) -> PathBuf {
    dir.join("keys.json")
}
fn ledger_path(dir: &Path) -> PathBuf {
    dir.join("erasures.jsonl")
}

fn passphrase() -> anyhow::Result<zeroize::Zeroizing<String>> {
    match std::env::var(PASS_ENV) {
        Ok(p) if !p.is_empty() => Ok(zeroize::Zeroizing::new(p)),
        _ => {
            bail!("set {PASS_ENV} to the vault passphrase (interactive prompts are not supported)")
        }
    }
}

fn read_config(dir: &Path) -> anyhow::Result<DirConfig> {
    let p = config_path(dir);
    let text = std::fs::read_to_string(&p).with_context(|| {
        format!(
            "no vault in `{}` (missing {}); run `phiguard vault init` first",
            dir.display(),
            p.display()
        )
    })?;
    let c: DirConfig =
        serde_json::from_str(&text).with_context(|| format!("parsing `{}`", p.display()))?;
    Ok(c)
}

fn open_provider(dir: &Path, cfg: &DirConfig) -> anyhow::Result<Box<dyn KeyProvider>> {
    Ok(match cfg.provider.as_str() {
        "local" => {
            let pass = passphrase()?;
            Box::new(LocalKeyProvider::open(&keys_path(dir), pass.as_bytes())?)
        }
        "env" => Box::new(EnvKeyProvider::from_env(KEK_ENV)?),
        other => bail!("unknown key provider `{other}` in vault.json"),
    })
}

fn open_store(dir: &Path, cfg: &DirConfig) -> anyhow::Result<Box<dyn Storage>> {
    Ok(match cfg.backend.as_str() {
        "sqlite" => Box::new(SqliteStore::open(&db_path(dir))?),
        "postgres" => {
            let url = std::env::var(PG_URL_ENV)
                .with_context(|| format!("postgres backend: set {PG_URL_ENV}"))?;
            let schema = cfg.postgres_schema.as_deref().unwrap_or("phiguard_vault");
            Box::new(phiguard_vault::store::postgres::PgStore::connect(
                &url, schema,
            )?)
        }
        other => bail!("unknown backend `{other}` in vault.json"),
    })
}

pub(crate) fn open_vault(dir: &Path) -> anyhow::Result<Vault> {
    let cfg = read_config(dir)?;
    let provider = open_provider(dir, &cfg)?;
    let store = open_store(dir, &cfg)?;
    Ok(Vault::open(store, provider)?)
}

fn fmt_age(created: i64) -> String {
    let s = (phiguard_vault::vault::now() - created).max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m", s / 60)
    } else if s < 2 * 86400 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86400)
    }
}

/// Runs `phiguard vault ...`.
pub fn run(args: VaultArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match args.command {
        VaultCommand::Init(a) => {
            let dir = &a.dir.data_dir;
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating `{}`", dir.display()))?;
            if config_path(dir).exists() {
                bail!("`{}` already holds a vault", dir.display());
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .with_context(|| format!("restricting `{}` to its owner", dir.display()))?;
            }
            let provider: Box<dyn KeyProvider> = match a.provider.as_str() {
                "local" => {
                    let pass = passphrase()?;
                    let params = if a.dangerous_weak_kdf {
                        KdfParams::DANGEROUS_WEAK
                    } else {
                        KdfParams::RECOMMENDED
                    };
                    Box::new(LocalKeyProvider::create(
                        &keys_path(dir),
                        pass.as_bytes(),
                        params,
                    )?)
                }
                "env" => Box::new(EnvKeyProvider::from_env(KEK_ENV)?),
                other => bail!("unknown --provider `{other}` (expected local or env)"),
            };
            let cfg = DirConfig {
                format: 1,
                provider: a.provider.clone(),
                backend: a.backend.clone(),
                postgres_schema: (a.backend == "postgres").then(|| a.postgres_schema.clone()),
            };
            let store = open_store(dir, &cfg)?;
            Vault::create(
                store,
                provider,
                VaultConfig {
                    tenant: a.tenant.clone(),
                    max_invocations_per_key: a.max_invocations,
                },
            )?;
            phiguard_vault::keys::write_atomic(
                &config_path(dir),
                &serde_json::to_vec_pretty(&cfg)?,
            )?;
            writeln!(
                out,
                "initialised vault in {} (provider {}, backend {}, tenant {})",
                dir.display(),
                a.provider,
                a.backend,
                a.tenant
            )?;
        }
        VaultCommand::Put(a) => {
            let mut v = open_vault(&a.dir.data_dir)?;
            if a.ndjson {
                let stdin = std::io::stdin().lock();
                for (i, line) in stdin.lines().enumerate() {
                    let line = line.context("reading stdin")?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    let r = v
                        .put(&a.patient, line.as_bytes())
                        .with_context(|| format!("stdin line {}", i + 1))?;
                    writeln!(out, "{}/{}/{}", r.resource_type, r.id, r.version)?;
                    out.flush()?;
                }
            } else {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("reading resource from stdin")?;
                let r = v.put(&a.patient, &buf)?;
                writeln!(out, "{}/{}/{}", r.resource_type, r.id, r.version)?;
            }
        }
        VaultCommand::Get(a) => {
            let mut v = open_vault(&a.dir.data_dir)?;
            let body = v.get(&a.patient, &a.resource_type, &a.id, a.version)?;
            out.write_all(&body)?;
            if !body.ends_with(b"\n") {
                writeln!(out)?;
            }
        }
        VaultCommand::List(a) => {
            let mut v = open_vault(&a.dir.data_dir)?;
            match a.patient {
                Some(p) => {
                    for (k, dk) in v.list(&p)? {
                        writeln!(out, "{}/{}/{}\tkey v{dk}", k.resource_type, k.id, k.version)?;
                    }
                }
                None => {
                    for p in v.store_mut().patients()? {
                        let state = match p.erased_at {
                            Some(t) => format!("erased at {t}"),
                            None => format!("key v{}", p.current_dk),
                        };
                        writeln!(out, "{}\t{state}", p.patient.to_hex())?;
                    }
                }
            }
        }
        VaultCommand::Find(a) => {
            let mut v = open_vault(&a.dir.data_dir)?;
            for p in v.find_by_identifier(&IdentifierKind::parse(&a.kind), &a.value)? {
                writeln!(out, "{}", p.to_hex())?;
            }
        }
        VaultCommand::Erase(a) => {
            let dir = &a.dir.data_dir;
            let mut v = open_vault(dir)?;
            let row = v.erase(&a.patient)?;
            append_ledger(&ledger_path(dir), &row)?;
            writeln!(
                out,
                "erased patient#{}: {} key version(s) destroyed, {} record(s) now unreadable (erasure #{})",
                &row.patient[..8.min(row.patient.len())],
                row.keys_destroyed,
                row.records,
                row.seq
            )?;
        }
        VaultCommand::Rotate(a) => {
            let mut v = open_vault(&a.dir.data_dir)?;
            let nothing = !(a.kek
                || a.rewrap
                || a.retire_kek
                || a.data_keys
                || a.reencrypt
                || a.retire_data_keys);
            if nothing {
                bail!("say what to rotate: --kek, --rewrap, --retire-kek, --data-keys, --reencrypt, --retire-data-keys");
            }
            if a.kek {
                let (ver, n) = v.rotate_kek()?;
                writeln!(out, "kek rotated to v{ver}; {n} data key(s) rewrapped")?;
            } else if a.rewrap {
                let n = v.rewrap_all()?;
                writeln!(out, "{n} data key(s) rewrapped")?;
            }
            if a.retire_kek {
                let min = v.retire_old_keks()?;
                writeln!(out, "kek versions below v{min} destroyed")?;
            }
            if a.data_keys {
                let n = v.rotate_data_keys()?;
                writeln!(out, "new data-key version for {n} patient(s)")?;
            }
            if a.reencrypt {
                let mut err = std::io::stderr();
                let job = v.reencrypt(a.batch, None, &mut |j| {
                    let _ = writeln!(
                        err,
                        "reencrypt: {} examined, {} re-encrypted of {}, {} unreadable ({})",
                        j.processed, j.changed, j.total, j.failed, j.state
                    );
                })?;
                writeln!(
                    out,
                    "re-encryption {}: {} record(s) re-encrypted",
                    job.state, job.changed
                )?;
                if job.failed > 0 {
                    writeln!(
                        out,
                        "{} record(s) could not be opened and keep their old key; run `phiguard vault verify`",
                        job.failed
                    )?;
                }
            }
            if a.retire_data_keys {
                let (n, held) = v.retire_data_keys()?;
                writeln!(
                    out,
                    "{n} data-key version(s) destroyed; {held} patient(s) keep old versions still used by records"
                )?;
            }
        }
        VaultCommand::Status(a) => {
            let mut v = open_vault(&a.dir.data_dir)?;
            let s = v.status()?;
            if a.json {
                serde_json::to_writer_pretty(&mut out, &s)?;
                writeln!(out)?;
            } else {
                writeln!(out, "backend            {}", s.backend)?;
                writeln!(out, "key provider       {}", s.provider)?;
                writeln!(out, "tenant             {}", s.tenant)?;
                writeln!(
                    out,
                    "protection level   {} (key cache ttl {}s)",
                    s.level.as_str(),
                    s.level.key_cache_ttl().as_secs()
                )?;
                writeln!(out, "kek current        v{}", s.kek_current)?;
                for k in &s.keks {
                    writeln!(out, "  kek v{:<4} age {}", k.version, fmt_age(k.created_at))?;
                }
                for (kv, n) in &s.stats.keys_by_kek {
                    writeln!(out, "  {n} data key(s) wrapped by kek v{kv}")?;
                }
                writeln!(
                    out,
                    "patients           {} ({} erased)",
                    s.stats.patients, s.stats.erased
                )?;
                writeln!(
                    out,
                    "records            {} ({} on old data keys)",
                    s.stats.records, s.stats.records_on_old_keys
                )?;
                writeln!(out, "data keys          {}", s.stats.data_keys)?;
                writeln!(
                    out,
                    "oldest data key    {}",
                    s.stats
                        .oldest_key_created_at
                        .map(fmt_age)
                        .unwrap_or_else(|| "-".into())
                )?;
                writeln!(
                    out,
                    "invocations        max {} per key (rotate at {}), total {}",
                    s.stats.max_invocations, s.max_invocations_per_key, s.stats.total_invocations
                )?;
                if let Some(j) = &s.reencrypt {
                    writeln!(
                        out,
                        "reencrypt job      {}: {} examined, {} re-encrypted of {}, {} unreadable",
                        j.state, j.processed, j.changed, j.total, j.failed
                    )?;
                }
            }
        }
        VaultCommand::Level(a) => {
            let level = ProtectionLevel::parse(&a.level).with_context(|| {
                format!("unknown level `{}` (normal, elevated, lockdown)", a.level)
            })?;
            let mut v = open_vault(&a.dir.data_dir)?;
            v.set_level(level)?;
            writeln!(out, "protection level {}", level.as_str())?;
        }
        VaultCommand::Verify(a) => {
            let mut v = open_vault(&a.data_dir)?;
            let rep = v.verify()?;
            for f in &rep.failures {
                writeln!(out, "FAIL {f}")?;
            }
            writeln!(
                out,
                "{} record(s) ok, {} erased, {} failed",
                rep.ok,
                rep.erased,
                rep.failures.len()
            )?;
            if !rep.failures.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        VaultCommand::Bench(a) => {
            let tmp;
            let dir = match a.dir {
                Some(d) => d,
                None => {
                    tmp = tempfile::tempdir()?;
                    tmp.path().to_path_buf()
                }
            };
            let report = phiguard_vault::bench::run(&dir, a.records, a.secs, &mut |m| {
                eprintln!("bench: {m}");
            })?;
            write!(out, "{report}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `phiguard backup`: a consistent snapshot, still encrypted.
pub fn run_backup(a: BackupArgs) -> anyhow::Result<ExitCode> {
    if a.out.exists() {
        bail!(
            "`{}` exists; refusing to overwrite a backup",
            a.out.display()
        );
    }
    let mut v = open_vault(&a.dir.data_dir)?;
    v.backup(&a.out)?;
    let s = v.status()?;
    println!(
        "backup written to {} ({} records, {} data keys; ciphertext and wrapped keys only, key file not included)",
        a.out.display(),
        s.stats.records,
        s.stats.data_keys
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `phiguard restore`: installs a backup and re-applies the erasure ledger.
pub fn run_restore(a: RestoreArgs) -> anyhow::Result<ExitCode> {
    let dir = &a.dir.data_dir;
    let cfg = read_config(dir)?;
    if cfg.backend != "sqlite" {
        bail!("restore targets the sqlite backend; for postgres load the backup with `phiguard vault` tooling or pg_restore");
    }
    let db = db_path(dir);
    if db.exists() && !a.force {
        bail!("`{}` exists; pass --force to replace it", db.display());
    }
    // Check the backup is a vault before touching anything.
    {
        let mut probe = SqliteStore::open(&a.from)
            .with_context(|| format!("opening backup `{}`", a.from.display()))?;
        if probe.meta_get("format")?.is_none() {
            bail!("`{}` is not a phiguard vault backup", a.from.display());
        }
    }
    let tmp = dir.join("vault.db.restore");
    std::fs::copy(&a.from, &tmp).with_context(|| format!("copying `{}`", a.from.display()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    // Open the copy with this directory's keys before replacing anything.
    let check = SqliteStore::open(&tmp)
        .map_err(anyhow::Error::from)
        .and_then(|st| Ok(Vault::open(Box::new(st), open_provider(dir, &cfg)?)?));
    if let Err(err) = check {
        let _ = std::fs::remove_file(&tmp);
        return Err(err.context(format!(
            "backup `{}` cannot be opened with the keys of `{}`",
            a.from.display(),
            dir.display()
        )));
    }
    for ext in ["db-wal", "db-shm"] {
        let p = db.with_extension(ext);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing `{}`", p.display()))?;
        }
    }
    std::fs::rename(&tmp, &db)?;
    let mut v = open_vault(dir)?;
    let ledger = read_ledger(&ledger_path(dir))?;
    let n = v.apply_ledger(&ledger)?;
    let s = v.status()?;
    println!(
        "restored {} records from {}; re-applied {n} later erasure(s) from the ledger",
        s.stats.records,
        a.from.display()
    );
    Ok(ExitCode::SUCCESS)
}
