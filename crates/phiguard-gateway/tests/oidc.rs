//! External issuers over a real loopback IdP started by the test: OIDC discovery, ES256 and
//! RS256 tokens, JWKS refresh on an unknown `kid` (rate limited) and periodic refresh.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use common::*;
use phiguard_gateway::state::IssuerConfig;
use phiguard_gateway::token::{sign_generic, Claims, Jwk, Jwks};

struct Idp {
    base: String,
    jwks: Arc<Mutex<Jwks>>,
    fetches: Arc<AtomicUsize>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// An IdP on loopback; `issuer_override` makes its discovery document lie about its name.
async fn start_idp(issuer_override: Option<&str>) -> Idp {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let jwks = Arc::new(Mutex::new(Jwks::default()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let iss = issuer_override.map_or(base.clone(), str::to_string);
    let doc = serde_json::json!({"issuer": iss, "jwks_uri": format!("{base}/keys")}).to_string();
    let (j, f) = (jwks.clone(), fetches.clone());
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let d = doc.clone();
                async move { d }
            }),
        )
        .route(
            "/keys",
            get(move || {
                let j = j.clone();
                let f = f.clone();
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    serde_json::to_string(&*j.lock().unwrap()).unwrap()
                }
            }),
        );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(phiguard_gateway::server::serve(app, l, None, async move {
        let _ = rx.await;
    }));
    Idp {
        base,
        jwks,
        fetches,
        _stop: tx,
    }
}

fn ec_key(kid: &str) -> (EcdsaKeyPair, Jwk) {
    let k = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let pt = k.public_key().as_ref().to_vec();
    let jwk = Jwk {
        kty: "EC".into(),
        crv: Some("P-256".into()),
        x: Some(B64URL.encode(&pt[1..33])),
        y: Some(B64URL.encode(&pt[33..65])),
        kid: kid.into(),
        alg: Some("ES256".into()),
        use_: Some("sig".into()),
        ..Jwk::default()
    };
    (k, jwk)
}

fn es_token(k: &EcdsaKeyPair, kid: &str, c: &Claims) -> String {
    let rng = SystemRandom::new();
    sign_generic("ES256", Some(kid), c, &|m| {
        k.sign(&rng, m).ok().map(|s| s.as_ref().to_vec())
    })
    .unwrap()
}

fn issuer(base: &str) -> IssuerConfig {
    IssuerConfig {
        issuer: base.into(),
        discovery: true,
        dangerous_allow_http_loopback: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_es256_rs256_and_refresh_on_unknown_kid() {
    let idp = start_idp(None).await;
    let (k1, j1) = ec_key("k1");
    let rsa = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_jwk = Jwk {
        kty: "RSA".into(),
        n: Some(B64URL.encode(rsa.public_key().modulus().big_endian_without_leading_zero())),
        e: Some(
            B64URL.encode(
                rsa.public_key()
                    .exponent()
                    .big_endian_without_leading_zero(),
            ),
        ),
        kid: "r1".into(),
        alg: Some("RS256".into()),
        ..Jwk::default()
    };
    *idp.jwks.lock().unwrap() = Jwks {
        keys: vec![j1.clone(), rsa_jwk.clone()],
    };
    let cfg = phiguard_gateway::GatewayConfig {
        issuers: vec![issuer(&idp.base)],
        ..config()
    };
    let h = tokio::task::spawn_blocking(move || harness_with(cfg, None))
        .await
        .unwrap();
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);
    let mut c = claims("alice", "user/*.cruds");
    c.iss = idp.base.clone();
    let t = es_token(&k1, "k1", &c);
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
    let rng = SystemRandom::new();
    let rt = sign_generic("RS256", Some("r1"), &c, &|m| {
        let mut sig = vec![0u8; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, m, &mut sig)
            .ok()?;
        Some(sig)
    })
    .unwrap();
    let (s, _, v) = h.get("/fhir/Observation/o1", &rt).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // HS256 over the RSA JWK as secret: refused.
    let secret = serde_json::to_vec(&rsa_jwk).unwrap();
    let hs = sign_generic("HS256", Some("r1"), &c, &|m| {
        let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        Some(aws_lc_rs::hmac::sign(&k, m).as_ref().to_vec())
    })
    .unwrap();
    let (s, _, v) = h.get("/fhir/Observation/o1", &hs).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(is_outcome(&v));
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        1,
        "a bad alg triggers no fetch"
    );

    // The IdP rotates to k2: the first token with kid k2 triggers one refresh and passes.
    let (k2, j2) = ec_key("k2");
    *idp.jwks.lock().unwrap() = Jwks { keys: vec![j2] };
    let t2 = es_token(&k2, "k2", &c);
    let (s, _, v) = h.get("/fhir/Observation/o1", &t2).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    // Rotated-out k1 no longer verifies (and cannot refresh again within the minimum interval).
    let (s, _, _) = h.get("/fhir/Observation/o1", &t).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Made-up kids: at most one refresh per jwks_min_refresh_secs.
    for i in 0..5 {
        let t = es_token(&k2, &format!("bogus{i}"), &c);
        let (s, _, _) = h.get("/fhir/Observation/o1", &t).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        2,
        "refresh is rate limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_refresh_picks_up_new_keys() {
    let idp = start_idp(None).await;
    let (_k1, j1) = ec_key("k1");
    *idp.jwks.lock().unwrap() = Jwks { keys: vec![j1] };
    let cfg = phiguard_gateway::GatewayConfig {
        issuers: vec![issuer(&idp.base)],
        jwks_refresh_secs: 1,
        jwks_min_refresh_secs: 3600,
        ..config()
    };
    let h = tokio::task::spawn_blocking(move || harness_with(cfg, None))
        .await
        .unwrap();
    let (k2, j2) = ec_key("k2");
    *idp.jwks.lock().unwrap() = Jwks { keys: vec![j2] };
    for _ in 0..100 {
        if h.state.inner.verifier.has_key(&idp.base, "k2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut c = claims("alice", "user/*.cruds");
    c.iss = idp.base.clone();
    let (s, _, v) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&es_token(&k2, "k2", &c)),
            &[],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_refuses_plain_http_and_a_lying_issuer() {
    let idp = start_idp(None).await;
    let (_k, j) = ec_key("k1");
    *idp.jwks.lock().unwrap() = Jwks {
        keys: vec![j.clone()],
    };
    let base = idp.base.clone();
    let e = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let mut i = issuer(&base);
        i.dangerous_allow_http_loopback = false;
        let cfg = phiguard_gateway::GatewayConfig {
            issuers: vec![i],
            ..config()
        };
        let v = open_vault(dir.path());
        let b = phiguard_gateway::Backend::Vault(Arc::new(
            phiguard_gateway::store::VaultStore::new(v, &dir.path().join("i.db")).unwrap(),
        ));
        phiguard_gateway::GatewayState::open(dir.path(), cfg, b, "general")
            .err()
            .unwrap()
            .to_string()
    })
    .await
    .unwrap();
    assert!(e.contains("dangerous_allow_http_loopback"), "{e}");
    let liar = start_idp(Some("https://someone-else.example")).await;
    *liar.jwks.lock().unwrap() = Jwks { keys: vec![j] };
    let base = liar.base.clone();
    let e = tokio::task::spawn_blocking(move || {
        phiguard_gateway::jwks::discover(&base, true)
            .unwrap_err()
            .to_string()
    })
    .await
    .unwrap();
    assert!(e.contains("differs from the configured issuer"), "{e}");
    assert_eq!(liar.fetches.load(Ordering::SeqCst), 0);
    // Not https, not loopback: refused before any connection.
    assert!(phiguard_gateway::jwks::check_url("http://idp.example", true, "issuer").is_err());
    assert!(phiguard_gateway::jwks::check_url("ftp://127.0.0.1/x", true, "issuer").is_err());
    assert!(phiguard_gateway::jwks::check_url("https://idp.example", false, "issuer").is_ok());
}
