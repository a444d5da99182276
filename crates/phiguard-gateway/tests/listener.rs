//! Over a real loopback listener: the vault mode end to end, and proxy mode in front of a tiny
//! upstream FHIR server started by the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use common::*;
use phiguard_gateway::Backend;

async fn start(app: Router) -> (String, tokio::sync::oneshot::Sender<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(phiguard_gateway::server::serve(app, l, None, async move {
        let _ = rx.await;
    }));
    (format!("http://{addr}"), tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_listener_vault_mode() {
    let h = harness();
    let (base, stop) = start(phiguard_gateway::app(h.state.clone())).await;
    let c = reqwest::Client::new();
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let t = h.token("alice", "user/*.cruds");
    let r = c
        .post(format!("{base}/fhir/Observation"))
        .bearer_auth(&t)
        .body(observation("o1", "p1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = c
        .get(format!("{base}/fhir/Observation/o1"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{base}/fhir/Observation/o1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let _ = stop.send(());
}

type Db = Arc<Mutex<HashMap<String, serde_json::Value>>>;

fn upstream() -> Router {
    let db: Db = Arc::default();
    Router::new()
        .route(
            "/fhir/{t}",
            axum::routing::post(
                |State(db): State<Db>, Path(t): Path<String>, body: String| async move {
                    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
                    let id = format!("u{}", db.lock().unwrap().len() + 1);
                    v["id"] = id.clone().into();
                    db.lock().unwrap().insert(format!("{t}/{id}"), v.clone());
                    (StatusCode::CREATED, v.to_string())
                },
            )
            .get(|State(db): State<Db>, Path(t): Path<String>| async move {
                let all: Vec<serde_json::Value> = db
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| k.starts_with(&format!("{t}/")))
                    .map(|(_, v)| serde_json::json!({"resource": v}))
                    .collect();
                serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": all})
                    .to_string()
            }),
        )
        .route(
            "/fhir/{t}/{id}",
            get(
                |State(db): State<Db>, Path((t, id)): Path<(String, String)>| async move {
                    match db.lock().unwrap().get(&format!("{t}/{id}")) {
                        Some(v) => (StatusCode::OK, v.to_string()),
                        None => (StatusCode::NOT_FOUND, "{}".into()),
                    }
                },
            ),
        )
        .with_state(db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_mode_same_pipeline() {
    let (up, stop_up) = start(upstream()).await;
    let backend = Backend::Upstream(Arc::new(
        phiguard_gateway::proxy::Upstream::new(&format!("{up}/fhir")).unwrap(),
    ));
    let h = harness_with(config(), Some(backend));
    let alice = h.token("alice", "user/*.cruds");
    let bob = h.token("bob", "user/*.cruds");
    let before = h.ledger_size();
    let (s, _, v) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&alice),
            &[],
            Some(observation("x", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, _, v) = h.get(&format!("/fhir/Observation/{id}"), &alice).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["subject"]["reference"], "Patient/p1");
    let (s, _, v) = h.get("/fhir/Observation?patient=p1", &alice).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, v) = h.get(&format!("/fhir/Observation/{id}"), &bob).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        !v.to_string().contains("heart rate"),
        "denied data must not leak"
    );
    let (s, _, _) = h.get("/fhir/Observation/missing", &alice).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(h.ledger_size(), before + 5);
    let _ = stop_up.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_and_syslog_udp() {
    let h = harness();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let tls =
        phiguard_gateway::server::tls_config(&dir.join("test-cert.pem"), &dir.join("test-key.pem"))
            .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let srv = tokio::spawn(phiguard_gateway::server::serve(
        phiguard_gateway::app(h.state.clone()),
        l,
        Some(tls),
        async move {
            let _ = rx.await;
        },
    ));
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.join("test-ca.pem")).unwrap()).unwrap();
    let c = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = c
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = h.token("alice", "user/*.cruds");
    let r = c
        .post(format!("https://localhost:{port}/fhir/Observation"))
        .bearer_auth(&t)
        .body(observation("o1", "p1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Plain HTTP to the TLS port does not get served.
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true));
    let _ = tx.send(());
    srv.await.unwrap().unwrap();

    // Syslog RFC 5424 over UDP: a BALP AuditEvent in MSG goes through the monitor into the ledger.
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(phiguard_gateway::ingest::syslog_udp(h.state.clone(), sock));
    let before = h.ledger_size();
    let ev = "{\"resourceType\":\"AuditEvent\",\"id\":\"s1\",\"type\":{\"code\":\"rest\"},\"action\":\"R\",\"recorded\":\"2026-03-10T03:00:00Z\",\"outcome\":\"0\",\"agent\":[{\"requestor\":true,\"who\":{\"identifier\":{\"value\":\"bob\"}}}],\"source\":{\"observer\":{\"display\":\"ehr\"}},\"entity\":[{\"what\":{\"reference\":\"Patient/p1\"}}]}";
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .send_to(
            format!("<110>1 2026-03-10T03:00:00Z ehr app - AUDIT - {ev}").as_bytes(),
            addr,
        )
        .unwrap();
    client.send_to(b"not syslog", addr).unwrap();
    for _ in 0..100 {
        if h.ledger_size() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(h.ledger_size(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_issuer_jwks_from_url() {
    // An "external" IdP: its own key, JWKS served over HTTP on loopback.
    let idp_dir = tempfile::tempdir().unwrap();
    let idp = phiguard_gateway::token::DevIssuer::open_or_create(idp_dir.path()).unwrap();
    let jwks = serde_json::to_string(&idp.jwks()).unwrap();
    let (base, stop) = start(Router::new().route(
        "/jwks.json",
        get(move || {
            let j = jwks.clone();
            async move { j }
        }),
    ))
    .await;
    let cfg = phiguard_gateway::GatewayConfig {
        issuers: vec![phiguard_gateway::state::IssuerConfig {
            issuer: "https://idp.hospital.example".into(),
            jwks_file: None,
            jwks_url: Some(format!("{base}/jwks.json")),
            dangerous_allow_http_loopback: true,
            ..Default::default()
        }],
        dev_issuer: false,
        ..config()
    };
    let h = harness_with(cfg, None);
    let mut c = claims("alice", "user/*.cruds");
    c.iss = "https://idp.hospital.example".into();
    let t = idp.sign(&c).unwrap();
    let (s, _, v) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&t),
            &[],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The development issuer is off: its tokens are refused.
    assert_eq!(
        h.get("/fhir/Observation/o1", &h.token("alice", "user/*.cruds"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let _ = stop.send(());
    // Plain http off loopback is refused, and on loopback without the dangerous option.
    assert!(phiguard_gateway::state::fetch_jwks("http://idp.example/jwks.json").is_err());
    assert!(phiguard_gateway::state::fetch_jwks(&format!("{base}/jwks.json")).is_err());
    assert!(
        phiguard_gateway::state::fetch_jwks("http://localhost.evil.example/jwks.json").is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_tls_rfc5425() {
    use tokio::io::AsyncWriteExt as _;
    use tokio_rustls::rustls;
    let h = harness();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let tls =
        phiguard_gateway::server::tls_config(&dir.join("test-cert.pem"), &dir.join("test-key.pem"))
            .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(phiguard_gateway::ingest::syslog_tls(
        h.state.clone(),
        l,
        tls,
    ));
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut std::fs::read(dir.join("test-ca.pem")).unwrap().as_slice())
    {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
        .connect(name, tcp)
        .await
        .unwrap();
    let ev = "{\"resourceType\":\"AuditEvent\",\"id\":\"t1\",\"type\":{\"code\":\"rest\"},\"action\":\"R\",\"recorded\":\"2026-03-10T03:00:00Z\",\"outcome\":\"0\",\"agent\":[{\"requestor\":true,\"who\":{\"identifier\":{\"value\":\"bob\"}}}],\"source\":{\"observer\":{\"display\":\"ehr\"}},\"entity\":[{\"what\":{\"reference\":\"Patient/p1\"}}]}";
    let before = h.ledger_size();
    // Two events (distinct ids: a repeated id is a duplicate and recorded once).
    for id in ["t1", "t2"] {
        let ev = ev.replace("\"id\":\"t1\"", &format!("\"id\":\"{id}\""));
        let msg = format!("<110>1 2026-03-10T03:00:00Z ehr app - AUDIT - {ev}");
        tls.write_all(format!("{} {msg}", msg.len()).as_bytes())
            .await
            .unwrap();
    }
    tls.flush().await.unwrap();
    for _ in 0..100 {
        if h.ledger_size() >= before + 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(h.ledger_size(), before + 2);
}

/// Client certificates in tests/data: `client-cert.pem`/`client-key.pem` signed by
/// `client-ca.pem` (its key was discarded after signing); `rogue-*` self-signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_tls_with_client_certificates() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls;
    let h = harness();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let tls = phiguard_gateway::server::syslog_tls_config(
        &dir.join("test-cert.pem"),
        &dir.join("test-key.pem"),
        Some(&dir.join("client-ca.pem")),
    )
    .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(phiguard_gateway::ingest::syslog_tls(
        h.state.clone(),
        l,
        tls,
    ));
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut std::fs::read(dir.join("test-ca.pem")).unwrap().as_slice())
    {
        roots.add(c.unwrap()).unwrap();
    }
    let roots = std::sync::Arc::new(roots);
    let builder = || {
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots.clone())
    };
    let identity = |name: &str| {
        let certs: Vec<_> = rustls_pemfile::certs(
            &mut std::fs::read(dir.join(format!("{name}-cert.pem")))
                .unwrap()
                .as_slice(),
        )
        .map(|c| c.unwrap())
        .collect();
        let key = rustls_pemfile::private_key(
            &mut std::fs::read(dir.join(format!("{name}-key.pem")))
                .unwrap()
                .as_slice(),
        )
        .unwrap()
        .unwrap();
        (certs, key)
    };
    let ev = "{\"resourceType\":\"AuditEvent\",\"id\":\"m1\",\"type\":{\"code\":\"rest\"},\"action\":\"R\",\"recorded\":\"2026-03-10T03:00:00Z\",\"outcome\":\"0\",\"agent\":[{\"requestor\":true,\"who\":{\"identifier\":{\"value\":\"bob\"}}}],\"source\":{\"observer\":{\"display\":\"ehr\"}},\"entity\":[{\"what\":{\"reference\":\"Patient/p1\"}}]}";
    let msg = format!("<110>1 2026-03-10T03:00:00Z ehr app - AUDIT - {ev}");
    let frame = format!("{} {msg}", msg.len());
    // Sends one frame; true when the server kept the connection (did not reject it).
    let send = |cfg: rustls::ClientConfig| {
        let frame = frame.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let Ok(mut s) = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg))
                .connect(name, tcp)
                .await
            else {
                return false;
            };
            if s.write_all(frame.as_bytes()).await.is_err() || s.flush().await.is_err() {
                return false;
            }
            // A rejected client gets an alert and EOF; an accepted one sees no data (timeout).
            let mut b = [0u8; 16];
            tokio::time::timeout(std::time::Duration::from_millis(300), s.read(&mut b))
                .await
                .is_err()
        }
    };
    let before = h.ledger_size();
    assert!(
        !send(builder().with_no_client_auth()).await,
        "no client cert"
    );
    let (c, k) = identity("rogue");
    assert!(
        !send(builder().with_client_auth_cert(c, k).unwrap()).await,
        "untrusted CA"
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        h.ledger_size(),
        before,
        "nothing from unauthenticated senders"
    );
    let (c, k) = identity("client");
    assert!(send(builder().with_client_auth_cert(c, k).unwrap()).await);
    for _ in 0..100 {
        if h.ledger_size() > before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(h.ledger_size(), before + 1);
    // A CA file without certificates is refused with a message naming it.
    let e = phiguard_gateway::server::syslog_tls_config(
        &dir.join("test-cert.pem"),
        &dir.join("test-key.pem"),
        Some(&dir.join("client-key.pem")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("syslog client CA") && e.contains("client-key.pem"),
        "{e}"
    );
}
