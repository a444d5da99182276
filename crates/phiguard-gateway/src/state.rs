//! Gateway state: configuration, keys, verifier, policies, monitor, ledger and backend, all
//! set up from a data directory.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phiguard_fhir::AccessEvent;
use phiguard_ledger::committer::{CommitPolicy, GroupCommitter};
use phiguard_ledger::entry::Pseudonymizer;
use phiguard_ledger::{Ledger, SyncMode};
use phiguard_monitor::relation::{static_link, Relation, Windows};
use phiguard_monitor::world::World;
use phiguard_monitor::{Assessment, Monitor, MonitorConfig};
use serde::Deserialize;

use crate::audit::AuditSink;
use crate::authz::Authorizer;
use crate::error::SetupError;
use crate::proxy::Upstream;
use crate::store::VaultStore;
use crate::token::{DevIssuer, Revocations, Verifier};

/// `phiguard serve --config FILE` (TOML). Every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Listen address (default `127.0.0.1:8443`).
    pub listen: String,
    /// TLS certificate chain (PEM). With `tls_key`, the server speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM, PKCS#8 / SEC1 / PKCS#1).
    pub tls_key: Option<PathBuf>,
    /// Token audience the gateway accepts (`aud`).
    pub audience: String,
    /// Trusted issuers besides the local development issuer.
    pub issuers: Vec<IssuerConfig>,
    /// Trust the local development issuer (`phiguard token issue`). Default true.
    pub dev_issuer: bool,
    /// FHIR context directory for the monitor (default `DATA-DIR/context`).
    pub context_dir: Option<PathBuf>,
    /// Largest request body, bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// Ledger appends in flight before requests get 503 (default 4096).
    pub audit_queue: usize,
    /// Longest wait for a durable ledger append before 503, milliseconds (default 2000).
    pub audit_timeout_ms: u64,
    /// Group-commit window, milliseconds (default 0: no lingering; requests that arrive while
    /// the ledger journal syncs form the next batch).
    pub commit_max_wait_ms: u64,
    /// Shortest time between two publications of the ledger's tiles and signed checkpoint,
    /// milliseconds (default 1000). Requests wait only for the journal; publishing writes and
    /// syncs tiles, so publishing less often leaves the journal's syncs fewer collisions.
    pub ledger_publish_interval_ms: u64,
    /// Skip fsync in the ledger (benchmarks only; entries may be lost on power failure).
    pub dangerous_ledger_no_sync: bool,
    /// Upstream FHIR base URL (proxy mode; no local storage).
    pub upstream: Option<String>,
    /// Syslog RFC 5424 UDP receiver address (loopback only unless TLS), e.g. `127.0.0.1:5514`.
    pub syslog_udp: Option<String>,
    /// Syslog RFC 5424 TCP receiver address (octet-counted or newline framed), loopback only.
    pub syslog_tcp: Option<String>,
    /// Syslog over TLS (RFC 5425) receiver address; uses `tls_cert`/`tls_key`.
    pub syslog_tls: Option<String>,
    /// CA certificates (PEM) that syslog TLS senders' client certificates must chain to
    /// (mutual TLS). Without it, any TLS client may submit events.
    pub syslog_tls_client_ca: Option<PathBuf>,
    /// Seconds of history for a user's current risk (default 3600).
    pub risk_window_secs: i64,
    /// Longest time for a whole request, body upload included (default 30 s); then 408.
    pub request_timeout_secs: u64,
    /// Failed authentications per second and client address before 429 (burst 5x; default 20).
    pub auth_failures_per_sec: f64,
    /// Local account sessions: lifetime in seconds (default 8 h).
    pub session_ttl_secs: i64,
    /// Consecutive failed logins before an account locks (default 5).
    pub login_max_failures: u32,
    /// First lock, seconds; doubles with each further failure up to 15 minutes (default 30).
    pub login_lockout_secs: u64,
    /// Reload every issuer's JWKS this often, seconds (default 3600).
    pub jwks_refresh_secs: u64,
    /// At most one JWKS refresh per issuer this often when a token names an unknown `kid`
    /// (default 60).
    pub jwks_min_refresh_secs: u64,
    /// Requests per second per client address (0: off; default 1000).
    pub rate_limit_ip_per_sec: f64,
    /// Burst per client address (default 2000).
    pub rate_limit_ip_burst: f64,
    /// Requests per second per authenticated user (0: off; default 100).
    pub rate_limit_user_per_sec: f64,
    /// Burst per user (default 200).
    pub rate_limit_user_burst: f64,
    /// Ingested AuditEvent ids remembered per submitter to drop retried duplicates
    /// (default 100000).
    pub ingest_dedupe_window: usize,
    /// How long an `Idempotency-Key` response is replayable, seconds (default 86400).
    pub idempotency_key_ttl_secs: u64,
}

/// Failed-authentication token buckets per client address: (tokens, last refill, last audit).
pub type AuthFailures =
    HashMap<Option<std::net::IpAddr>, (f64, std::time::Instant, Option<std::time::Instant>)>;

/// Result of [`GatewayState::auth_failure_budget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Within budget: audit and refuse as usual.
    Ok,
    /// Over budget: 429; `audit` is true once per second per address.
    Exceeded {
        /// Write one summary entry now.
        audit: bool,
    },
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            tls_cert: None,
            tls_key: None,
            audience: "phiguard".into(),
            issuers: vec![],
            dev_issuer: true,
            context_dir: None,
            max_body_bytes: 1 << 20,
            audit_queue: 4096,
            audit_timeout_ms: 2000,
            commit_max_wait_ms: 0,
            ledger_publish_interval_ms: 1000,
            dangerous_ledger_no_sync: false,
            upstream: None,
            syslog_udp: None,
            syslog_tcp: None,
            syslog_tls: None,
            syslog_tls_client_ca: None,
            risk_window_secs: 3600,
            request_timeout_secs: 30,
            auth_failures_per_sec: 20.0,
            session_ttl_secs: 8 * 3600,
            login_max_failures: 5,
            login_lockout_secs: 30,
            jwks_refresh_secs: 3600,
            jwks_min_refresh_secs: 60,
            rate_limit_ip_per_sec: 1000.0,
            rate_limit_ip_burst: 2000.0,
            rate_limit_user_per_sec: 100.0,
            rate_limit_user_burst: 200.0,
            ingest_dedupe_window: 100_000,
            idempotency_key_ttl_secs: 86_400,
        }
    }
}

/// A trusted token issuer: its JWKS from a file, a URL, or OpenID Connect discovery
/// (see [`crate::jwks`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// `iss` value (for discovery, the issuer URL).
    pub issuer: String,
    /// JWKS file (Ed25519, P-256 and RSA keys).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL (`https`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Find the JWKS by OIDC discovery: `issuer` + `/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery: bool,
    /// Allow plain `http` to a loopback address (tests only: keys in clear could be swapped).
    #[serde(default)]
    pub dangerous_allow_http_loopback: bool,
}

/// Fetches a JWKS document over `https` (see [`crate::jwks::fetch_jwks`]).
///
/// # Errors
/// [`SetupError::Config`] naming the URL when it is not allowed, unreachable or not a JWKS.
pub fn fetch_jwks(url: &str) -> Result<crate::token::Jwks, SetupError> {
    crate::jwks::fetch_jwks(url, false)
}

/// Where resources come from.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The encrypted vault (embedded mode).
    Vault(Arc<VaultStore>),
    /// An upstream FHIR server (proxy mode).
    Upstream(Arc<Upstream>),
}

/// Shared state (cheap to clone).
#[derive(Debug, Clone)]
pub struct GatewayState {
    /// Everything.
    pub inner: Arc<Inner>,
}

/// The state behind [`GatewayState`].
#[derive(Debug)]
pub struct Inner {
    /// Configuration.
    pub config: GatewayConfig,
    /// Token verifier.
    pub verifier: Verifier,
    /// Where configured issuers' keys come from (refresh).
    pub key_sources: crate::jwks::KeySources,
    /// Revoked token ids.
    pub revocations: Revocations,
    /// Recently verified tokens (clear it when an issuer's keys change).
    pub token_cache: crate::verified::TokenCache,
    /// Cedar policies.
    pub authz: Authorizer,
    /// Storage or upstream.
    pub backend: Backend,
    /// The access monitor (same engine as `phiguard scan`); fed with served accesses only.
    pub monitor: Mutex<Monitor>,
    /// The indexed context, for relationship lookups before a decision (no learning).
    pub world: Mutex<World>,
    /// Ledger sink.
    pub audit: AuditSink,
    /// Recent scores per user: (time, score).
    pub risk: Mutex<HashMap<String, VecDeque<(i64, f64)>>>,
    /// Failed-authentication token buckets per client address: (tokens, last refill, last audit).
    pub auth_failures: Mutex<AuthFailures>,
    /// Ingest idempotency windows (events by id, requests by Idempotency-Key).
    pub dedupe: crate::idempotency::Dedupe,
    /// Request rate limits per address and per user.
    pub limits: crate::ratelimit::Limits,
    /// Local accounts and their sessions (`DATA-DIR/accounts.db`).
    pub accounts: crate::accounts::Accounts,
    /// Ready to serve (false while shutting down).
    pub ready: AtomicBool,
    /// Tenant served.
    pub tenant: String,
    /// Ledger directory.
    pub ledger_dir: PathBuf,
    committer: Mutex<Option<GroupCommitter>>,
}

/// Pseudonym key file names inside `DATA-DIR/gateway-keys/`.
const KEY_DIR: &str = "gateway-keys";

impl GatewayState {
    /// Sets everything up from `data_dir`: ledger (`ledger/`, created on first start), keys,
    /// development issuer, policies (defaults copied on first start), monitor context.
    ///
    /// # Errors
    /// Any [`SetupError`].
    pub fn open(
        data_dir: &Path,
        config: GatewayConfig,
        backend: Backend,
        tenant: &str,
    ) -> Result<Self, SetupError> {
        let io = |what: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| SetupError::Io { what, path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io("data dir", data_dir))?;
        let ledger_dir = data_dir.join("ledger");
        let mut ledger = if ledger_dir.join("checkpoint").exists() {
            Ledger::open(&ledger_dir)?
        } else {
            std::fs::create_dir_all(&ledger_dir).map_err(io("ledger dir", &ledger_dir))?;
            Ledger::init(&ledger_dir, "phiguard.local/gateway-audit")?
        };
        if config.dangerous_ledger_no_sync {
            ledger.set_sync_mode(SyncMode::DangerousNone);
        }
        let (committer, appender) = GroupCommitter::start(
            ledger,
            CommitPolicy {
                max_entries: 10_000,
                max_wait: Duration::from_millis(config.commit_max_wait_ms),
                publish_interval: Duration::from_millis(config.ledger_publish_interval_ms),
                ..CommitPolicy::default()
            },
        );
        let kd = data_dir.join(KEY_DIR);
        std::fs::create_dir_all(&kd).map_err(io("key dir", &kd))?;
        let pk = crate::files::secret_bytes(&kd.join("pseudonym.key"), 32)?;
        let ck = crate::files::secret_bytes(&kd.join("commitment.key"), 32)?;
        let pseudo = Pseudonymizer::new(&pk, &ck)?;
        let audit = AuditSink::new(
            appender,
            pseudo,
            config.audit_queue,
            Duration::from_millis(config.audit_timeout_ms),
        );
        let mut verifier = Verifier::new(&config.audience);
        if config.dev_issuer {
            let dev = DevIssuer::open_or_create(data_dir)?;
            verifier.add_issuer(
                &dev.issuer,
                &dev.jwks(),
                &crate::token::dev_jwks_path(data_dir),
            )?;
        }
        let key_sources = crate::jwks::setup(
            &mut verifier,
            &config.issuers,
            Duration::from_secs(config.jwks_min_refresh_secs),
        )?;
        let authz = Authorizer::load_or_install(&crate::authz::policy_dir(data_dir))?;
        let ctx_dir = config
            .context_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("context"));
        let ctx = if ctx_dir.is_dir() {
            phiguard_fhir::load_dir(&ctx_dir).map_err(|e| SetupError::Invalid {
                what: "monitor context",
                path: ctx_dir.clone(),
                reason: e.to_string(),
            })?
        } else {
            phiguard_fhir::Context::default()
        };
        let accounts = crate::accounts::Accounts::open(&crate::accounts::accounts_path(data_dir))
            .map_err(|e| SetupError::Config(e.to_string()))?;
        // The server alerts from its first request: its monitor starts afresh at every restart,
        // and a learning day after each one would leave it blind (`scan`'s default holds the
        // first day of a stream instead).
        let monitor = Monitor::new(
            &ctx,
            MonitorConfig {
                learning_days: 0,
                ..MonitorConfig::default()
            },
        );
        let world = World::new(&ctx);
        let limits = crate::ratelimit::Limits::new(&config);
        let dedupe = crate::idempotency::Dedupe::new(
            config.ingest_dedupe_window,
            Duration::from_secs(config.idempotency_key_ttl_secs),
        );
        let me = Self {
            inner: Arc::new(Inner {
                revocations: Revocations::new(crate::token::revocations_path(data_dir)),
                token_cache: crate::verified::TokenCache::default(),
                config,
                verifier,
                key_sources,
                authz,
                backend,
                monitor: Mutex::new(monitor),
                world: Mutex::new(world),
                audit,
                risk: Mutex::new(HashMap::new()),
                auth_failures: Mutex::new(HashMap::new()),
                accounts,
                limits,
                dedupe,
                ready: AtomicBool::new(true),
                tenant: tenant.to_string(),
                ledger_dir,
                committer: Mutex::new(Some(committer)),
            }),
        };
        if !me.inner.key_sources.is_empty() {
            crate::jwks::spawn_refresher(
                Arc::downgrade(&me.inner),
                Duration::from_secs(me.inner.config.jwks_refresh_secs),
            );
        }
        Ok(me)
    }

    /// The context-only relationship of `login` to `patient` at `now` (care team, department,
    /// other department, past; never `prior-access` or `team`, which need history). Nothing
    /// is learned, so a refused attempt cannot create a relationship.
    pub fn relation(&self, login: &str, patient: &str, now: i64) -> Relation {
        let Ok(mut w) = self.inner.world.lock() else {
            return Relation::None;
        };
        let uid = w.user(login);
        let (staff, dept) = w
            .users
            .get(uid as usize)
            .map(|u| (u.practitioner, u.dept))
            .unwrap_or((None, None));
        match w.find_patient(patient) {
            Some(p) => static_link(&w, staff, dept, p, now, &Windows::default()).relation,
            None => Relation::None,
        }
    }

    /// The user's current risk: the highest monitor score (bits, rounded) of their served
    /// accesses in the risk window.
    pub fn risk(&self, login: &str, now: i64) -> i64 {
        let window = self.inner.config.risk_window_secs;
        self.inner
            .risk
            .lock()
            .ok()
            .and_then(|r| {
                r.get(login).map(|q| {
                    q.iter()
                        .filter(|(t, _)| *t >= now - window)
                        .map(|(_, s)| *s)
                        .fold(0.0, f64::max)
                })
            })
            .unwrap_or(0.0)
            .round() as i64
    }

    /// Scores an access with the monitor; returns the assessment and the user's risk before
    /// it (highest score in the risk window, rounded to whole bits).
    pub fn assess(&self, ev: &AccessEvent<'_>, now: i64) -> (Assessment, i64) {
        self.score(ev, now, true)
    }

    /// Scores a refused attempt without letting the monitor learn from it (see
    /// `Monitor::score_only`); it still counts towards the user's risk.
    pub fn assess_refused(&self, ev: &AccessEvent<'_>, now: i64) -> (Assessment, i64) {
        self.score(ev, now, false)
    }

    fn score(&self, ev: &AccessEvent<'_>, now: i64, learn: bool) -> (Assessment, i64) {
        let run = |m: &mut phiguard_monitor::Monitor| {
            if learn {
                m.assess(ev)
            } else {
                m.score_only(ev)
            }
        };
        let a = match self.inner.monitor.lock() {
            Ok(mut m) => run(&mut m),
            Err(p) => run(&mut p.into_inner()),
        };
        let window = self.inner.config.risk_window_secs;
        let mut risk = 0.0f64;
        if let Ok(mut r) = self.inner.risk.lock() {
            let q = r.entry(ev.user.to_string()).or_default();
            while q.front().is_some_and(|(t, _)| *t < now - window) || q.len() > 50 {
                q.pop_front();
            }
            risk = q.iter().map(|(_, s)| *s).fold(0.0, f64::max);
            q.push_back((now, a.score));
        }
        (a, risk.round() as i64)
    }

    /// Takes one failed authentication from the address's budget.
    pub fn auth_failure_budget(&self, ip: Option<std::net::IpAddr>) -> Budget {
        let rate = self.inner.config.auth_failures_per_sec.max(0.1);
        let burst = rate * 5.0;
        let now = std::time::Instant::now();
        let Ok(mut m) = self.inner.auth_failures.lock() else {
            return Budget::Ok;
        };
        if m.len() > 100_000 {
            m.retain(|_, (_, last, _)| now.duration_since(*last).as_secs() < 60);
        }
        let e = m.entry(ip).or_insert((burst, now, None));
        e.0 = (e.0 + now.duration_since(e.1).as_secs_f64() * rate).min(burst);
        e.1 = now;
        if e.0 >= 1.0 {
            e.0 -= 1.0;
            return Budget::Ok;
        }
        let audit =
            e.2.is_none_or(|t| now.duration_since(t).as_secs_f64() >= 1.0);
        if audit {
            e.2 = Some(now);
        }
        Budget::Exceeded { audit }
    }

    /// The protection level of the vault (`normal` in proxy mode).
    pub fn protection_level(&self) -> &'static str {
        match &self.inner.backend {
            Backend::Vault(v) => v.level(),
            Backend::Upstream(_) => "normal",
        }
    }

    /// Marks the gateway not ready (shutdown started).
    pub fn set_not_ready(&self) {
        self.inner
            .ready
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The committer thread ends once the last appender (inside `audit`) is gone; it is
        // detached here rather than joined to keep drop non-blocking.
        if let Ok(mut c) = self.committer.lock() {
            c.take();
        }
    }
}
