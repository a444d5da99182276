//! Endpoint tests over `tower::ServiceExt::oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use axum::http::StatusCode;
use common::*;

const CLIN: &str = "user/*.cruds";

#[tokio::test]
async fn health_ready_metrics_openapi_metadata() {
    let h = harness();
    assert_eq!(
        h.call("GET", "/healthz", None, &[], None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.call("GET", "/readyz", None, &[], None).await.0,
        StatusCode::OK
    );
    let (s, _, m) = h.call("GET", "/metrics", None, &[], None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(m
        .as_str()
        .unwrap()
        .contains("phiguard_gateway_requests_total"));
    let (s, _, o) = h.call("GET", "/openapi.json", None, &[], None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(o["openapi"], "3.1.0");
    assert!(o["paths"]["/fhir/{rtype}/{id}"]["get"].is_object());
    let (s, _, c) = h.call("GET", "/fhir/metadata", None, &[], None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["resourceType"], "CapabilityStatement");
    assert_eq!(c["fhirVersion"], "4.0.1");
    h.state.set_not_ready();
    assert_eq!(
        h.call("GET", "/readyz", None, &[], None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn create_read_vread_search_update_with_relationship() {
    let h = harness();
    let t = h.token("alice", CLIN);
    let before = h.ledger_size();
    let (s, hd, v) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&t),
            &[],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(hd["location"], "/fhir/Observation/o1/_history/1");
    assert!(hd.contains_key("x-phiguard-audit-index"));
    let (s, _, v) = h.get("/fhir/Observation/o1", &t).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["valueQuantity"]["value"], 72);
    let mut upd: serde_json::Value = serde_json::from_str(&observation("o1", "p1")).unwrap();
    upd["valueQuantity"]["value"] = 80.into();
    let (s, hd, _) = h
        .call(
            "PUT",
            "/fhir/Observation/o1",
            Some(&t),
            &[],
            Some(upd.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hd["etag"], "W/\"2\"");
    let (s, _, v) = h.get("/fhir/Observation/o1/_history/1", &t).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["valueQuantity"]["value"], 72);
    let (s, _, v) = h.get("/fhir/Observation/o1", &t).await;
    assert_eq!(
        (s, v["valueQuantity"]["value"].as_i64()),
        (StatusCode::OK, Some(80))
    );
    let (s, _, v) = h.get("/fhir/Observation?patient=p1", &t).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["resourceType"], "Bundle");
    assert_eq!(v["total"], 1);
    let (s, _, v) = h.get("/fhir/Observation/nope", &t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(is_outcome(&v));
    // Every request above is in the ledger: 7 requests, 7 entries.
    assert_eq!(h.ledger_size(), before + 7);
}

#[tokio::test]
async fn denied_without_relationship_then_break_the_glass_raises_alert() {
    let h = harness();
    let alice = h.token("alice", CLIN);
    assert_eq!(
        h.call(
            "POST",
            "/fhir/Observation",
            Some(&alice),
            &[],
            Some(observation("o1", "p1"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let bob = h.token("bob", CLIN);
    let (s, _, v) = h.get("/fhir/Observation/o1", &bob).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(is_outcome(&v));
    let msg = v["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(msg.contains("X-Break-Glass-Reason"), "{msg}");
    assert!(!msg.contains("p1") && !msg.contains("Doe"));
    // A reason without an emergency purpose does not break the glass.
    let (s, _, _) = h
        .call(
            "GET",
            "/fhir/Observation/o1",
            Some(&bob),
            &[("x-break-glass-reason", "unconscious patient in ED")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, hd, v) = h
        .call(
            "GET",
            "/fhir/Observation/o1",
            Some(&bob),
            &[
                ("x-purpose-of-use", "BTG"),
                ("x-break-glass-reason", "unconscious patient in ED"),
            ],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(hd.contains_key("x-phiguard-break-glass"));
    // The auditor sees the break-the-glass access flagged, pseudonymous.
    let mut c = claims("carol", "user/AuditEvent.rs");
    c.roles = vec!["auditor".into()];
    let aud = h.iss.sign(&c).unwrap();
    let (s, _, v) = h.get("/fhir/AuditEvent?alert=true", &aud).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v.to_string();
    assert!(text.contains("urn:phiguard:break-glass"), "{text}");
    assert!(text.contains("break-glass"));
    assert!(
        !text.contains("bob") && !text.contains("\"p1\""),
        "no clear ids in the audit trail: {text}"
    );
    let ev = &v["entry"][0]["resource"];
    assert_eq!(ev["resourceType"], "AuditEvent");
    let ext = ev["extension"].as_array().unwrap();
    let has = |url: &str, key: &str, val: serde_json::Value| {
        ext.iter().any(|e| e["url"] == url && e[key] == val)
    };
    assert!(
        has("urn:phiguard:alert", "valueBoolean", true.into()),
        "the monitor raised an alert: {ev}"
    );
    assert!(
        has("urn:phiguard:reason", "valueCode", "BREAK_GLASS".into()),
        "{ev}"
    );
    assert!(
        has("urn:phiguard:outcome", "valueCode", "flagged".into()),
        "{ev}"
    );
    // Clinicians may not read the audit trail.
    assert_eq!(
        h.get("/fhir/AuditEvent", &alice).await.0,
        StatusCode::FORBIDDEN
    );
    // After breaking the glass, bob's risk is high: his next access needs step-up.
    let (s, hd, _) = h
        .call(
            "GET",
            "/fhir/Observation/o1",
            Some(&bob),
            &[
                ("x-purpose-of-use", "BTG"),
                ("x-break-glass-reason", "again"),
            ],
            None,
        )
        .await;
    if s == StatusCode::UNAUTHORIZED {
        assert!(hd["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_user_authentication"));
    } else {
        assert_eq!(s, StatusCode::OK);
    }
}

#[tokio::test]
async fn sensitive_records_need_step_up() {
    let h = harness();
    let psy = "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"meta\":{\"security\":[{\"code\":\"PSY\"}]},\"subject\":{\"reference\":\"Patient/p1\"}}".to_string();
    let t = h.token("alice", CLIN);
    let (s, hd, v) = h
        .call("POST", "/fhir/Condition", Some(&t), &[], Some(psy.clone()))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(hd["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_user_authentication"));
    let mut c = claims("alice", CLIN);
    c.amr = vec!["pwd".into(), "mfa".into()];
    let strong = h.iss.sign(&c).unwrap();
    assert_eq!(
        h.call("POST", "/fhir/Condition", Some(&strong), &[], Some(psy))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        h.get("/fhir/Condition/c1", &t).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.get("/fhir/Condition/c1", &strong).await.0, StatusCode::OK);
}

#[tokio::test]
async fn ingest_ndjson_reports_rejects_with_line_numbers() {
    let h = harness();
    let mut c = claims("ehr-feed", "system/AuditEvent.c");
    c.roles = vec![];
    let t = h.iss.sign(&c).unwrap();
    let good = "{\"resourceType\":\"AuditEvent\",\"id\":\"a1\",\"type\":{\"code\":\"rest\"},\"subtype\":[{\"code\":\"read\"}],\"action\":\"R\",\"recorded\":\"2026-03-10T03:00:00Z\",\"outcome\":\"0\",\"agent\":[{\"requestor\":true,\"who\":{\"identifier\":{\"value\":\"bob\"}}}],\"source\":{\"observer\":{\"display\":\"ehr\"}},\"entity\":[{\"what\":{\"reference\":\"Patient/p1\"}}]}";
    let body = format!("{good}\n{{\"resourceType\":\"AuditEvent\"}}\nnot json\n");
    let before = h.ledger_size();
    let (s, _, v) = h
        .call("POST", "/ingest/audit", Some(&t), &[], Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 1);
    let lines: Vec<i64> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3]);
    assert_eq!(h.ledger_size(), before + 1);
    // A user token without the scope is refused (and audited).
    let u = h.token("alice", "user/Observation.rs");
    assert_eq!(
        h.call("POST", "/ingest/audit", Some(&u), &[], Some("{}".into()))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(h.ledger_size(), before + 2);
}

#[tokio::test]
async fn overload_gives_503_never_unaudited() {
    let cfg = phiguard_gateway::GatewayConfig {
        audit_timeout_ms: 0,
        commit_max_wait_ms: 200,
        ..config()
    };
    let h = harness_with(cfg, None);
    let t = h.token("alice", CLIN);
    let (s, _, v) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&t),
            &[],
            Some(observation("o9", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(is_outcome(&v));
    let cfg = phiguard_gateway::GatewayConfig {
        audit_queue: 1,
        commit_max_wait_ms: 300,
        ..config()
    };
    let h = harness_with(cfg, None);
    let t = h.token("alice", CLIN);
    // One append in flight at a time: of 16 concurrent requests, some find the queue full
    // (an append waits at least the 1 ms linger gap for its batch).
    let before = h.ledger_size();
    let calls = (0..16).map(|i| {
        let uri = format!("/fhir/Observation/x{i}");
        let h = &h;
        let t = &t;
        async move { h.get(&uri, t).await.0 }
    });
    let codes = futures_util::future::join_all(calls).await;
    assert!(
        codes.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "{codes:?}"
    );
    // Every answered request (404 here) has its entry; refused ones may or may not.
    let answered = codes
        .iter()
        .filter(|c| **c == StatusCode::NOT_FOUND)
        .count() as u64;
    assert!(h.ledger_size() >= before + answered, "{codes:?}");
}

#[tokio::test]
async fn slow_body_gets_408_outcome() {
    let cfg = phiguard_gateway::GatewayConfig {
        request_timeout_secs: 1,
        ..config()
    };
    let h = harness_with(cfg, None);
    let t = h.token("alice", CLIN);
    // A body that never finishes.
    let (tx, body) = {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
        (tx, axum::body::Body::from_stream(tokio_stream_from(rx)))
    };
    tx.send(Ok(axum::body::Bytes::from_static(b"{\"resourceType\":")))
        .await
        .unwrap();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/fhir/Observation")
        .header("authorization", format!("Bearer {t}"))
        .body(body)
        .unwrap();
    use tower::ServiceExt as _;
    let before = h.ledger_size();
    let resp = h.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        h.ledger_size(),
        before + 1,
        "the timed-out request is audited"
    );
    drop(tx);
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
