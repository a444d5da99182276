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
    let (s, _, v) = h
        .call(
            "GET",
            &format!("/fhir/Observation/{id}"),
            Some(&alice),
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["subject"]["reference"], "Patient/p1");
    let (s, _, v) = h
        .call(
            "GET",
            "/fhir/Observation?patient=p1",
            Some(&alice),
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, v) = h
        .call(
            "GET",
            &format!("/fhir/Observation/{id}"),
            Some(&bob),
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        !v.to_string().contains("heart rate"),
        "denied data must not leak"
    );
    let (s, _, _) = h
        .call("GET", "/fhir/Observation/missing", Some(&alice), &[], None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(h.ledger_size(), before + 5);
    let _ = stop_up.send(());
}
