//! Load benchmark (`phiguard gateway bench`): added latency of the full pipeline (token check,
//! Cedar decision, durable ledger append, monitor scoring) against the same vault read
//! without authorization and audit, at a fixed open-loop request rate on loopback; and proxy
//! throughput against hitting the upstream directly, for two upstreams: a trivial static one
//! (the raw limit: the gateway's own per-request work against almost none) and phiguard's
//! vault-backed FHIR read without authorization or audit (an upstream doing real work).
//! Everything runs in one process, side by side, in one run.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::error::SetupError;
use crate::state::{Backend, GatewayConfig, GatewayState};
use crate::store::VaultStore;
use crate::token::{Claims, DevIssuer};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Target request rate (open loop), per second.
    pub rate: u32,
    /// Seconds per latency run.
    pub secs: u64,
    /// Concurrent clients for the throughput runs.
    pub concurrency: usize,
    /// Ledger fsync on (the production setting).
    pub ledger_sync: bool,
}

/// One row of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// Requests completed per second.
    pub rps: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Non-2xx responses or errors.
    pub errors: u64,
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

async fn start(app: Router) -> Result<(SocketAddr, tokio::sync::oneshot::Sender<()>), SetupError> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| SetupError::Config(format!("bind: {e}")))?;
    let addr = l
        .local_addr()
        .map_err(|e| SetupError::Config(e.to_string()))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(crate::server::serve(app, l, None, async move {
        let _ = rx.await;
    }));
    Ok((addr, tx))
}

/// Open loop: one request every 1/rate s, latency measured from the scheduled time (no
/// coordinated omission).
async fn open_loop(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    rate: u32,
    secs: u64,
) -> Row {
    let n = u64::from(rate) * secs;
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(n as usize);
    for i in 0..n {
        let due = t0 + period * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let c = client.clone();
        let url = url.to_string();
        let token = token.map(str::to_string);
        handles.push(tokio::spawn(async move {
            let mut req = c.get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let ok = match req.send().await {
                Ok(r) => {
                    let s = r.status().is_success();
                    let _ = r.bytes().await;
                    s
                }
                Err(_) => false,
            };
            (due.elapsed().as_secs_f64() * 1e6, ok)
        }));
    }
    let mut lat = Vec::with_capacity(handles.len());
    let mut errors = 0;
    for h in handles {
        if let Ok((us, ok)) = h.await {
            lat.push(us);
            if !ok {
                errors += 1;
            }
        }
    }
    let el = t0.elapsed().as_secs_f64();
    Row {
        name: String::new(),
        rps: lat.len() as f64 / el,
        p50_us: pct(&mut lat, 0.5),
        p99_us: pct(&mut lat, 0.99),
        errors,
    }
}

/// Closed loop: `conc` clients as fast as they can for `secs`.
async fn closed_loop(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    conc: usize,
    secs: u64,
) -> Row {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let mut hs = Vec::new();
    for _ in 0..conc {
        let c = client.clone();
        let url = url.to_string();
        let token = token.map(str::to_string);
        hs.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < end {
                let t = Instant::now();
                let mut req = c.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                lat.push(t.elapsed().as_secs_f64() * 1e6);
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for h in hs {
        if let Ok((l, e)) = h.await {
            lat.extend(l);
            errors += e;
        }
    }
    let el = t0.elapsed().as_secs_f64();
    Row {
        name: String::new(),
        rps: lat.len() as f64 / el,
        p50_us: pct(&mut lat, 0.5),
        p99_us: pct(&mut lat, 0.99),
        errors,
    }
}

/// The decision path alone, in process (no HTTP, no ledger): token verification, revocation
/// check, scope, relationship lookup, Cedar decision, monitor scoring.
fn decision_path(state: &GatewayState, token: &str, n: usize) -> Row {
    use crate::authz::DecisionContext;
    let mut headers = axum::http::HeaderMap::new();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(axum::http::header::AUTHORIZATION, v);
    }
    let addr = Some(SocketAddr::from(([127, 0, 0, 1], 1)));
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    let t0 = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let ok = match crate::app::authenticate(state, &headers, addr) {
            Ok(c) => {
                let scoped =
                    crate::scope::check(&c.scopes, "Observation", crate::scope::Interaction::Read)
                        .is_some();
                let rel = state.relation(&c.claims.sub, "p1", now);
                let ctx = DecisionContext {
                    purpose: c.purpose.clone(),
                    relation: rel.code().into(),
                    direct_relation: rel.is_direct(),
                    labels: vec![],
                    sensitive: false,
                    hour: now.rem_euclid(86_400) / 3600,
                    network: "loopback".into(),
                    risk: state.risk(&c.claims.sub, now),
                    protection_level: "normal".into(),
                    step_up: false,
                    break_glass: false,
                    resource_type: "Observation".into(),
                };
                let d = state.inner.authz.decide(
                    &c.claims.sub,
                    &c.claims.roles,
                    "read",
                    ("Patient", "p1"),
                    &ctx,
                    false,
                );
                let ev = phiguard_fhir::AccessEvent {
                    id: "bench".into(),
                    recorded: phiguard_fhir::Instant {
                        unix: now,
                        offset: 0,
                    },
                    action: "R".into(),
                    subtype: "read".into(),
                    success: true,
                    user: c.claims.sub.as_str().into(),
                    address: Some("127.0.0.1".into()),
                    address_kind: phiguard_fhir::AddressKind::Ip,
                    purposes: vec![c.purpose.as_str().into()],
                    patient: Some("p1".into()),
                    data_entities: 1,
                };
                let _ = state.assess(&ev, now);
                scoped && d == crate::authz::Decision::Allow
            }
            Err(_) => false,
        };
        if !ok {
            errors += 1;
        }
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let el = t0.elapsed().as_secs_f64();
    Row {
        name: String::new(),
        rps: n as f64 / el,
        p50_us: pct(&mut lat, 0.5),
        p99_us: pct(&mut lat, 0.99),
        errors,
    }
}

/// The ledger alone: open-loop appends of a typical entry through the group committer.
async fn ledger_only(dir: &Path, rate: u32, secs: u64, sync: bool) -> Result<Row, SetupError> {
    std::fs::create_dir_all(dir).map_err(|source| SetupError::Io {
        what: "bench ledger",
        path: dir.to_owned(),
        source,
    })?;
    let mut l = phiguard_ledger::Ledger::init(dir, "bench.local/ledger")?;
    if !sync {
        l.set_sync_mode(phiguard_ledger::SyncMode::DangerousNone);
    }
    let (_gc, app) = phiguard_ledger::committer::GroupCommitter::start(
        l,
        phiguard_ledger::committer::CommitPolicy {
            max_entries: 10_000,
            max_wait: Duration::from_millis(1),
            ..Default::default()
        },
    );
    let entry = br#"{"v":1,"t":1700000000,"actor":"ps1:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","patient":"ps1:Zk3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","action":"read","resource":"Observation","purpose":"TREAT","outcome":"allowed","detail":"cm1:Qm9AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#.to_vec();
    let n = u64::from(rate) * secs;
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let t0 = Instant::now();
    let mut hs = Vec::new();
    for i in 0..n {
        let due = t0 + period * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let app = app.clone();
        let e = entry.clone();
        hs.push(tokio::spawn(async move {
            let ok = app.append_many_async(vec![e]).await.is_ok();
            (due.elapsed().as_secs_f64() * 1e6, ok)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for h in hs {
        if let Ok((us, ok)) = h.await {
            lat.push(us);
            errors += u64::from(!ok);
        }
    }
    let el = t0.elapsed().as_secs_f64();
    Ok(Row {
        name: String::new(),
        rps: lat.len() as f64 / el,
        p50_us: pct(&mut lat, 0.5),
        p99_us: pct(&mut lat, 0.99),
        errors,
    })
}

/// Writes a small context: user `alice` on the care team of patient `p1`.
///
/// # Errors
/// I/O errors.
pub fn write_demo_context(dir: &Path) -> Result<(), SetupError> {
    let io = |source| SetupError::Io {
        what: "context",
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("Practitioner.ndjson"), "{\"resourceType\":\"Practitioner\",\"id\":\"pr-alice\",\"identifier\":[{\"value\":\"alice\"}],\"name\":[{\"family\":\"Able\"}]}\n").map_err(io)?;
    std::fs::write(
        dir.join("Patient.ndjson"),
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Doe\"}]}\n",
    )
    .map_err(io)?;
    std::fs::write(dir.join("CareTeam.ndjson"), "{\"resourceType\":\"CareTeam\",\"subject\":{\"reference\":\"Patient/p1\"},\"participant\":[{\"member\":{\"reference\":\"Practitioner/pr-alice\"}}],\"period\":{\"start\":\"2020-01-01T00:00:00Z\"}}\n").map_err(io)?;
    Ok(())
}

const OBS: &str = "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{\"text\":\"heart rate\"},\"subject\":{\"reference\":\"Patient/p1\"},\"valueQuantity\":{\"value\":72,\"unit\":\"/min\"}}";

async fn bare_read(
    State(store): State<Arc<VaultStore>>,
    UrlPath((t, id)): UrlPath<(String, String)>,
) -> axum::response::Response {
    let r = tokio::task::spawn_blocking(move || {
        let p = store.patient_of(&t, &id)?.unwrap_or_default();
        store.read(&p, &t, &id, None, false)
    })
    .await;
    match r {
        Ok(Ok(f)) => crate::error::fhir_response(StatusCode::OK, &f.json),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn static_upstream() -> axum::response::Response {
    (
        [(axum::http::header::CONTENT_TYPE, crate::error::FHIR_JSON)],
        OBS,
    )
        .into_response()
}

/// Runs every measurement; `vault` opens a fresh vault in the given directory.
///
/// # Errors
/// Setup errors.
pub async fn run(
    opts: &BenchOptions,
    data_dir: &Path,
    vault: phiguard_vault::vault::Vault,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Vec<Row>, SetupError> {
    write_demo_context(&data_dir.join("context"))?;
    let store = Arc::new(VaultStore::new(vault, &data_dir.join("gateway-index.db"))?);
    store
        .put("p1", "Observation", "o1", OBS.as_bytes())
        .map_err(|e| SetupError::Config(e.message))?;
    let cfg = GatewayConfig {
        dangerous_ledger_no_sync: !opts.ledger_sync,
        // One user at 2,000 requests/s: the per-user and per-address limits would throttle it.
        rate_limit_ip_per_sec: 0.0,
        rate_limit_user_per_sec: 0.0,
        ..GatewayConfig::default()
    };
    let state = GatewayState::open(data_dir, cfg, Backend::Vault(store.clone()), "default")?;
    let iss = DevIssuer::open_or_create(data_dir)?;
    let token = iss.sign(&bench_claims(&iss.issuer))?;
    let mut dp = decision_path(&state, &token, 20_000);
    dp.name = "decision path alone (JWT+scope+relation+Cedar+monitor)".into();
    let (full, _s1) = start(crate::app(state)).await?;
    let (bare, _s2) = start(
        Router::new()
            .route("/fhir/{t}/{id}", get(bare_read))
            .with_state(store),
    )
    .await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| SetupError::Config(e.to_string()))?;
    let full_url = format!("http://{full}/fhir/Observation/o1");
    let bare_url = format!("http://{bare}/fhir/Observation/o1");
    // Warm up both (connections, caches).
    let _ = open_loop(&client, &full_url, Some(&token), 200, 1).await;
    let _ = open_loop(&client, &bare_url, None, 200, 1).await;
    let mut rows = Vec::new();
    let sync = if opts.ledger_sync {
        "fsync"
    } else {
        "no fsync"
    };
    progress(&format!(
        "latency at {} req/s, {} s each ...",
        opts.rate, opts.secs
    ));
    let mut r = open_loop(&client, &bare_url, None, opts.rate, opts.secs).await;
    r.name = "vault read, no authz/audit".into();
    rows.push(r);
    let mut r = open_loop(&client, &full_url, Some(&token), opts.rate, opts.secs).await;
    r.name = format!("gateway read (JWT+Cedar+ledger {sync}+monitor)");
    rows.push(r);
    let mut r = ledger_only(
        &data_dir.join("ledger-only"),
        opts.rate,
        opts.secs,
        opts.ledger_sync,
    )
    .await?;
    r.name = format!("ledger append alone (group commit, {sync})");
    rows.push(r);
    rows.push(dp);
    // Proxy throughput: gateway in proxy mode in front of a static upstream vs direct.
    progress("proxy throughput ...");
    let (up, _s3) =
        start(Router::new().route("/fhir/Observation/{id}", get(static_upstream))).await?;
    let pdir = data_dir.join("proxy");
    write_demo_context(&pdir.join("context"))?;
    let pcfg = GatewayConfig {
        dangerous_ledger_no_sync: !opts.ledger_sync,
        // One user at 2,000 requests/s: the per-user and per-address limits would throttle it.
        rate_limit_ip_per_sec: 0.0,
        rate_limit_user_per_sec: 0.0,
        ..GatewayConfig::default()
    };
    let upstream = crate::proxy::Upstream::new(&format!("http://{up}/fhir"))?;
    let pstate = GatewayState::open(
        &pdir,
        pcfg,
        Backend::Upstream(Arc::new(upstream)),
        "default",
    )?;
    let piss = DevIssuer::open_or_create(&pdir)?;
    let ptoken = piss.sign(&bench_claims(&piss.issuer))?;
    let (proxy, _s4) = start(crate::app(pstate)).await?;
    let mut r = closed_loop(
        &client,
        &format!("http://{up}/fhir/Observation/o1"),
        None,
        opts.concurrency,
        opts.secs,
    )
    .await;
    r.name = format!("upstream direct, {} clients", opts.concurrency);
    rows.push(r);
    let mut r = closed_loop(
        &client,
        &format!("http://{proxy}/fhir/Observation/o1"),
        Some(&ptoken),
        opts.concurrency,
        opts.secs,
    )
    .await;
    r.name = format!("through gateway proxy, {} clients", opts.concurrency);
    rows.push(r);
    // The same with a realistic upstream: phiguard's own vault-backed FHIR read (index
    // lookup, decryption, JSON) without authorization or audit, i.e. the bare server above.
    progress("proxy throughput, vault-backed upstream ...");
    let vdir = data_dir.join("proxy-vault");
    write_demo_context(&vdir.join("context"))?;
    let vcfg = GatewayConfig {
        dangerous_ledger_no_sync: !opts.ledger_sync,
        // One user at 2,000 requests/s: the per-user and per-address limits would throttle it.
        rate_limit_ip_per_sec: 0.0,
        rate_limit_user_per_sec: 0.0,
        ..GatewayConfig::default()
    };
    let vup = crate::proxy::Upstream::new(&format!("http://{bare}/fhir"))?;
    let vstate = GatewayState::open(&vdir, vcfg, Backend::Upstream(Arc::new(vup)), "default")?;
    let viss = DevIssuer::open_or_create(&vdir)?;
    let vtoken = viss.sign(&bench_claims(&viss.issuer))?;
    let (vproxy, _s5) = start(crate::app(vstate)).await?;
    let mut r = closed_loop(&client, &bare_url, None, opts.concurrency, opts.secs).await;
    r.name = format!("vault FHIR upstream direct, {} clients", opts.concurrency);
    rows.push(r);
    let mut r = closed_loop(
        &client,
        &format!("http://{vproxy}/fhir/Observation/o1"),
        Some(&vtoken),
        opts.concurrency,
        opts.secs,
    )
    .await;
    r.name = format!("through gateway proxy to it, {} clients", opts.concurrency);
    rows.push(r);
    Ok(rows)
}

fn bench_claims(issuer: &str) -> Claims {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Claims {
        iss: issuer.to_string(),
        sub: "alice".into(),
        aud: "phiguard".into(),
        exp: now + 3600,
        iat: now,
        jti: crate::token::new_jti(),
        scope: "user/*.cruds".into(),
        purpose_of_use: Some("TREAT".into()),
        tenant: None,
        patient: None,
        roles: vec!["clinician".into()],
        amr: vec![],
    }
}

/// Renders the table with the derived rows (added latency, proxy ratio).
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<52} {:>9} {:>10} {:>10} {:>7}",
        "run", "req/s", "p50 us", "p99 us", "errors"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<52} {:>9.0} {:>10.0} {:>10.0} {:>7}",
            r.name, r.rps, r.p50_us, r.p99_us, r.errors
        );
    }
    if rows.len() >= 2 {
        let _ = writeln!(
            s,
            "added by the pipeline: p50 {:+.0} us, p99 {:+.0} us",
            rows[1].p50_us - rows[0].p50_us,
            rows[1].p99_us - rows[0].p99_us
        );
    }
    if rows.len() >= 3 {
        let _ = writeln!(
            s,
            "of which the ledger append alone: p50 {:.0} us, p99 {:.0} us",
            rows[2].p50_us, rows[2].p99_us
        );
    }
    if rows.len() >= 4 {
        let _ = writeln!(
            s,
            "of which the decision path alone: p50 {:.0} us, p99 {:.0} us",
            rows[3].p50_us, rows[3].p99_us
        );
    }
    if rows.len() >= 6 && rows[4].rps > 0.0 {
        let _ = writeln!(
            s,
            "proxy throughput, trivial static upstream (raw limit): {:.0}% of direct",
            100.0 * rows[5].rps / rows[4].rps
        );
    }
    if rows.len() >= 8 && rows[6].rps > 0.0 {
        let _ = writeln!(
            s,
            "proxy throughput, vault-backed FHIR upstream (realistic): {:.0}% of direct (target >= 90%)",
            100.0 * rows[7].rps / rows[6].rps
        );
    }
    s
}
