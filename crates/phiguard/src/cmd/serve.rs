//! `phiguard serve` (the access gateway), `phiguard token` (development issuer, revocation)
//! and `phiguard account` (local accounts).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use phiguard_gateway::token::{Claims, DevIssuer, Revocations};
use phiguard_gateway::{Backend, GatewayConfig, GatewayState};

/// `phiguard serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Data directory (vault, ledger, keys, policies, issuer).
    #[arg(long)]
    data_dir: PathBuf,
    /// Configuration file (TOML; see the gateway README for every key).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address (overrides the config file; default 127.0.0.1:8443).
    #[arg(long)]
    listen: Option<String>,
    /// Proxy mode: the upstream FHIR base URL (nothing is stored locally).
    #[arg(long)]
    upstream: Option<String>,
    /// Allow plain HTTP on a non-loopback address (tokens and PHI in clear on the network).
    #[arg(long)]
    dangerous_plain_http: bool,
}

/// `phiguard token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Mint a token from the local development issuer (for tests and demos).
    Issue {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// User login (token subject).
        #[arg(long)]
        user: String,
        /// SMART scopes (repeat or space-separate).
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Default purpose of use (v3-ActReason code).
        #[arg(long, default_value = "TREAT")]
        purpose: String,
        /// Hospital roles (repeatable).
        #[arg(long, default_value = "clinician")]
        role: Vec<String>,
        /// SMART launch patient (binds patient/ scopes).
        #[arg(long)]
        patient: Option<String>,
        /// Tenant claim.
        #[arg(long)]
        tenant: Option<String>,
        /// Mark the token as strongly authenticated (amr mfa): step-up done.
        #[arg(long)]
        mfa: bool,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
        /// Audience.
        #[arg(long, default_value = "phiguard")]
        audience: String,
        /// Print the token id (jti) on stderr.
        #[arg(long)]
        show_jti: bool,
    },
    /// Revoke a token id; running gateways refuse it from the next request on.
    Revoke {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The token's jti.
        #[arg(long)]
        jti: String,
    },
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs `phiguard token ...`.
pub fn run_token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Issue {
            data_dir,
            user,
            scope,
            purpose,
            role,
            patient,
            tenant,
            mfa,
            ttl,
            audience,
            show_jti,
        } => {
            let iss = DevIssuer::open_or_create(&data_dir)?;
            let n = now();
            let claims = Claims {
                iss: iss.issuer.clone(),
                sub: user,
                aud: audience,
                exp: n + ttl,
                iat: n,
                jti: phiguard_gateway::token::new_jti(),
                scope: scope.join(" "),
                purpose_of_use: Some(purpose),
                tenant,
                patient,
                roles: role,
                amr: if mfa {
                    vec!["pwd".into(), "mfa".into()]
                } else {
                    vec!["pwd".into()]
                },
            };
            if show_jti {
                eprintln!("jti {}", claims.jti);
            }
            println!("{}", iss.sign(&claims)?);
        }
        TokenCommand::Revoke { data_dir, jti } => {
            Revocations::new(phiguard_gateway::token::revocations_path(&data_dir)).revoke(&jti)?;
            println!("revoked {jti}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open_or_init_vault(dir: &Path) -> anyhow::Result<phiguard_vault::vault::Vault> {
    if !dir.join("vault.json").exists() {
        // First start: the embedded default (SQLite, local key file sealed by the passphrase).
        let pass = std::env::var("PHIGUARD_PASSPHRASE").ok().filter(|p| !p.is_empty()).with_context(|| {
            "no vault in the data dir yet: set PHIGUARD_PASSPHRASE to create one (or run `phiguard vault init`)"
        })?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
        let provider = phiguard_vault::LocalKeyProvider::create(
            &dir.join("keys.json"),
            pass.as_bytes(),
            phiguard_vault::keys::KdfParams::RECOMMENDED,
        )?;
        let store = phiguard_vault::store::sqlite::SqliteStore::open(&dir.join("vault.db"))?;
        phiguard_vault::vault::Vault::create(
            Box::new(store),
            Box::new(provider),
            phiguard_vault::vault::VaultConfig::default(),
        )?;
        let cfg = serde_json::json!({"format": 1, "provider": "local", "backend": "sqlite", "postgres_schema": null});
        phiguard_vault::keys::write_atomic(
            &dir.join("vault.json"),
            &serde_json::to_vec_pretty(&cfg)?,
        )?;
        eprintln!(
            "phiguard serve: created the embedded vault in {}",
            dir.display()
        );
    }
    crate::cmd::vault::open_vault(dir)
}

/// Runs `phiguard serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut cfg: GatewayConfig = match &args.config {
        Some(p) => {
            let t =
                std::fs::read_to_string(p).with_context(|| format!("reading `{}`", p.display()))?;
            toml::from_str(&t).with_context(|| format!("parsing `{}`", p.display()))?
        }
        None => GatewayConfig::default(),
    };
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if args.upstream.is_some() {
        cfg.upstream = args.upstream;
    }
    let addr: SocketAddr = cfg
        .listen
        .parse()
        .with_context(|| format!("listen address `{}` is not IP:PORT", cfg.listen))?;
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(c), Some(k)) => Some(phiguard_gateway::server::tls_config(c, k)?),
        (None, None) => None,
        _ => bail!("set both tls_cert and tls_key, or neither"),
    };
    phiguard_gateway::server::check_listen(&addr, tls.is_some(), args.dangerous_plain_http)?;
    let (backend, tenant) = match &cfg.upstream {
        Some(u) => (
            Backend::Upstream(Arc::new(phiguard_gateway::proxy::Upstream::new(u)?)),
            "default".to_string(),
        ),
        None => {
            let v = open_or_init_vault(&args.data_dir)?;
            let tenant = v.tenant().to_string();
            let store = phiguard_gateway::store::VaultStore::new(
                v,
                &args.data_dir.join("gateway-index.db"),
            )?;
            if store.migrated() > 0 {
                eprintln!(
                    "phiguard serve: migrated gateway-index.db: {} patient id(s) replaced by keyed pseudonyms (vault patient tokens); the file was vacuumed",
                    store.migrated()
                );
            }
            (Backend::Vault(Arc::new(store)), tenant)
        }
    };
    let syslog_udp = cfg.syslog_udp.clone();
    let syslog_tcp = cfg.syslog_tcp.clone();
    let syslog_tls = cfg.syslog_tls.clone();
    if syslog_tls.is_some() && tls.is_none() {
        bail!("syslog_tls needs tls_cert and tls_key");
    }
    if cfg.syslog_tls_client_ca.is_some() && syslog_tls.is_none() {
        bail!("syslog_tls_client_ca is set but syslog_tls is not");
    }
    let syslog_mtls = cfg.syslog_tls_client_ca.is_some();
    let syslog_tls_cfg = match (&syslog_tls, &cfg.tls_cert, &cfg.tls_key) {
        (Some(_), Some(c), Some(k)) => Some(phiguard_gateway::server::syslog_tls_config(
            c,
            k,
            cfg.syslog_tls_client_ca.as_deref(),
        )?),
        _ => None,
    };
    let state = GatewayState::open(&args.data_dir, cfg, backend, &tenant)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        for (a, kind) in [(&syslog_udp, "udp"), (&syslog_tcp, "tcp")] {
            let Some(a) = a else { continue };
            let sa: SocketAddr = a.parse().with_context(|| format!("syslog address `{a}`"))?;
            if !sa.ip().is_loopback() {
                bail!("plain syslog receivers listen on loopback only; use syslog_tls (RFC 5425) elsewhere");
            }
            if kind == "udp" {
                let sock = tokio::net::UdpSocket::bind(sa).await.with_context(|| format!("binding syslog udp {sa}"))?;
                tokio::spawn(phiguard_gateway::ingest::syslog_udp(state.clone(), sock));
            } else {
                let l = tokio::net::TcpListener::bind(sa).await.with_context(|| format!("binding syslog tcp {sa}"))?;
                tokio::spawn(phiguard_gateway::ingest::syslog_tcp(state.clone(), l));
            }
            eprintln!("phiguard serve: syslog {kind} on {sa}");
        }
        if let (Some(a), Some(t)) = (&syslog_tls, &syslog_tls_cfg) {
            let sa: SocketAddr = a.parse().with_context(|| format!("syslog address `{a}`"))?;
            let l = tokio::net::TcpListener::bind(sa).await.with_context(|| format!("binding syslog tls {sa}"))?;
            tokio::spawn(phiguard_gateway::ingest::syslog_tls(state.clone(), l, t.clone()));
            let mtls = if syslog_mtls { ", client certificates required" } else { "" };
            eprintln!("phiguard serve: syslog tls (RFC 5425) on {sa}{mtls}");
        }
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!("phiguard serve: listening on {scheme}://{}", listener.local_addr()?);
        let st = state.clone();
        let shutdown = async move {
            phiguard_gateway::server::shutdown_signal().await;
            st.set_not_ready();
            eprintln!("phiguard serve: shutting down");
        };
        phiguard_gateway::server::serve(phiguard_gateway::app(state), listener, tls, shutdown).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `phiguard gateway`.
#[derive(Args, Debug)]
pub struct GatewayArgs {
    #[command(subcommand)]
    command: GatewayCommand,
}

#[derive(Subcommand, Debug)]
enum GatewayCommand {
    /// Added latency of authz + audit + scoring at a fixed request rate, and proxy throughput
    /// vs direct upstream, on loopback (one table, side by side).
    Bench {
        /// Target request rate (open loop).
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Seconds per run.
        #[arg(long, default_value_t = 5)]
        secs: u64,
        /// Concurrent clients for the throughput runs.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Skip ledger fsync (shows the pipeline cost without the disk).
        #[arg(long)]
        dangerous_no_fsync: bool,
        /// Run only one part: `latency` (vault read vs gateway read, ledger alone, the raw
        /// `fdatasync` floor of the disk, decision path) or `proxy` (throughput through the
        /// proxy vs direct).
        #[arg(long, value_parser = ["latency", "proxy"])]
        only: Option<String>,
    },
    /// Load generator against a running server (e.g. `phiguard serve`) from a separate
    /// process: open loop at `--rate`, or `--concurrency` closed-loop connections.
    Load {
        /// URL to GET (plain http, IP:port), e.g. http://127.0.0.1:8443/fhir/Observation/o1.
        #[arg(long)]
        url: String,
        /// Bearer token.
        #[arg(long)]
        token: Option<String>,
        /// Open-loop request rate (per second).
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Closed loop with this many connections instead of the open loop.
        #[arg(long)]
        concurrency: Option<usize>,
        /// Seconds.
        #[arg(long, default_value_t = 5)]
        secs: u64,
    },
}

/// Runs `phiguard gateway ...`.
pub fn run_gateway(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        GatewayCommand::Bench {
            rate,
            secs,
            concurrency,
            dangerous_no_fsync,
            only,
        } => {
            let dir = tempfile::tempdir()?;
            let store =
                phiguard_vault::store::sqlite::SqliteStore::open(&dir.path().join("vault.db"))?;
            let kek = phiguard_vault::crypto::random_key()?;
            let provider = phiguard_vault::EnvKeyProvider::from_bytes(&kek)?;
            let vault = phiguard_vault::vault::Vault::create(
                Box::new(store),
                Box::new(provider),
                phiguard_vault::vault::VaultConfig::default(),
            )?;
            let opts = phiguard_gateway::bench::BenchOptions {
                rate,
                secs,
                concurrency,
                ledger_sync: !dangerous_no_fsync,
                latency: only.as_deref() != Some("proxy"),
                proxy: only.as_deref() != Some("latency"),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let rows = rt.block_on(phiguard_gateway::bench::run(
                &opts,
                dir.path(),
                vault,
                &mut |m: &str| eprintln!("{m}"),
            ))?;
            print!("{}", phiguard_gateway::bench::table(&rows));
        }
        GatewayCommand::Load {
            url,
            token,
            rate,
            concurrency,
            secs,
        } => {
            let target = phiguard_gateway::load::Target::parse(&url, token)
                .map_err(|e| anyhow::anyhow!("--url: {e}"))?;
            let (sample, what) = match concurrency {
                Some(c) => (
                    phiguard_gateway::load::closed_loop(&target, c, secs),
                    format!("closed loop, {c} connections"),
                ),
                None => (
                    phiguard_gateway::load::open_loop(&target, rate, secs),
                    format!("open loop at {rate} req/s"),
                ),
            };
            let mut row = phiguard_gateway::bench::row(sample);
            row.name = what;
            print!("{}", phiguard_gateway::bench::table(&[row]));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `phiguard account`.
#[derive(Args, Debug)]
pub struct AccountArgs {
    #[command(subcommand)]
    command: AccountCommand,
}

/// Environment variable read for the password when stdin is a terminal or empty.
const PASSWORD_ENV: &str = "PHIGUARD_ACCOUNT_PASSWORD";

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Create an account. The password is read from the first line of stdin, or from
    /// PHIGUARD_ACCOUNT_PASSWORD when stdin is a terminal; never from the command line.
    Add {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Login.
        #[arg(long)]
        user: String,
        /// Hospital roles (repeatable).
        #[arg(long, default_value = "clinician")]
        role: Vec<String>,
        /// SMART scopes its sessions get (repeat or space-separate).
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Low Argon2id cost (64 KiB, 1 pass): tests only, the hash is easy to crack.
        #[arg(long)]
        dangerous_weak_kdf: bool,
    },
    /// Disable an account; its sessions end on their next request.
    Disable {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Login.
        #[arg(long)]
        user: String,
    },
    /// Enable a disabled account (also clears a lockout).
    Enable {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Login.
        #[arg(long)]
        user: String,
    },
    /// List accounts (no hashes).
    List {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if !pw.is_empty() {
            return Ok(pw);
        }
    }
    match std::env::var(PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => bail!("no password: pipe it on stdin (first line) or set {PASSWORD_ENV}"),
    }
}

fn open_accounts(data_dir: &Path) -> anyhow::Result<phiguard_gateway::accounts::Accounts> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating `{}`", data_dir.display()))?;
    Ok(phiguard_gateway::accounts::Accounts::open(
        &phiguard_gateway::accounts::accounts_path(data_dir),
    )?)
}

/// Runs `phiguard account ...`.
pub fn run_account(args: AccountArgs) -> anyhow::Result<ExitCode> {
    use phiguard_gateway::accounts::HashCost;
    match args.command {
        AccountCommand::Add {
            data_dir,
            user,
            role,
            scope,
            dangerous_weak_kdf,
        } => {
            let a = open_accounts(&data_dir)?;
            let pw = read_password()?;
            let cost = if dangerous_weak_kdf {
                HashCost::DANGEROUS_WEAK
            } else {
                HashCost::RECOMMENDED
            };
            a.add(&user, &pw, &role, &scope.join(" "), cost, now())?;
            println!("added account {user}");
        }
        AccountCommand::Disable { data_dir, user } => {
            open_accounts(&data_dir)?.set_disabled(&user, true)?;
            println!("disabled account {user}; its sessions are revoked");
        }
        AccountCommand::Enable { data_dir, user } => {
            open_accounts(&data_dir)?.set_disabled(&user, false)?;
            println!("enabled account {user}");
        }
        AccountCommand::List { data_dir, json } => {
            let list = open_accounts(&data_dir)?.list(now())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!("login\troles\tstatus\tsessions\tscope");
                for a in list {
                    let status = if a.disabled {
                        "disabled"
                    } else if a.locked_until.is_some() {
                        "locked"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        a.login,
                        a.roles.join(","),
                        status,
                        a.active_sessions,
                        a.scope
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
