//! Ingest idempotency: retried batches do not duplicate events (per-event window and
//! `Idempotency-Key` replay).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use axum::http::StatusCode;
use common::*;

fn ev(id: &str) -> String {
    format!("{{\"resourceType\":\"AuditEvent\",\"id\":\"{id}\",\"type\":{{\"code\":\"rest\"}},\"subtype\":[{{\"code\":\"read\"}}],\"action\":\"R\",\"recorded\":\"2026-03-10T03:00:00Z\",\"outcome\":\"0\",\"agent\":[{{\"requestor\":true,\"who\":{{\"identifier\":{{\"value\":\"bob\"}}}}}}],\"source\":{{\"observer\":{{\"display\":\"ehr\"}}}},\"entity\":[{{\"what\":{{\"reference\":\"Patient/p1\"}}}}]}}")
}

fn feed(h: &H, who: &str) -> String {
    let mut c = claims(who, "system/AuditEvent.c");
    c.roles = vec![];
    h.iss.sign(&c).unwrap()
}

#[tokio::test]
async fn retried_batch_does_not_duplicate_events() {
    let h = harness();
    let t = feed(&h, "ehr-feed");
    let before = h.ledger_size();
    // A first batch of two events; the retry carries them plus a third.
    let (s, _, v) = h
        .call(
            "POST",
            "/ingest/audit",
            Some(&t),
            &[],
            Some(format!("{}\n{}\n", ev("e1"), ev("e2"))),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 2);
    assert_eq!(h.ledger_size(), before + 2);
    let (s, _, v) = h
        .call(
            "POST",
            "/ingest/audit",
            Some(&t),
            &[],
            Some(format!(
                "{}\n{}\n{}\n{}\n",
                ev("e1"),
                ev("e2"),
                ev("e3"),
                ev("e3")
            )),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"], 1);
    let d = v["duplicates"].as_array().unwrap();
    assert_eq!(d.len(), 3, "{v}");
    assert_eq!(d[0]["line"], 1);
    assert_eq!(d[0]["ledger_index"].as_u64().unwrap(), before);
    assert_eq!(
        d[2]["line"], 4,
        "a repeat inside one batch is a duplicate too"
    );
    assert_eq!(h.ledger_size(), before + 3);
    // Another submitter's e1 is another event.
    let (_, _, v) = h
        .call(
            "POST",
            "/ingest/audit",
            Some(&feed(&h, "lab-feed")),
            &[],
            Some(ev("e1")),
        )
        .await;
    assert_eq!(v["accepted"], 1);
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response() {
    let h = harness();
    let t = feed(&h, "ehr-feed");
    let body = format!("{}\n{}\n", ev("k1"), ev("k2"));
    let key = [("idempotency-key", "batch-2026-03-10-0001")];
    let (s, hd, first) = h
        .call("POST", "/ingest/audit", Some(&t), &key, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!hd.contains_key("idempotent-replayed"));
    let size = h.ledger_size();
    let (s, hd, again) = h
        .call("POST", "/ingest/audit", Some(&t), &key, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hd["idempotent-replayed"], "true");
    assert_eq!(again, first, "the same report, not a list of duplicates");
    assert_eq!(
        h.ledger_size(),
        size + 1,
        "the replay itself is audited, nothing re-ingested"
    );
    // Same key, different body: 422 OperationOutcome.
    let (s, _, v) = h
        .call("POST", "/ingest/audit", Some(&t), &key, Some(ev("k3")))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(is_outcome(&v));
    // Malformed key: 400.
    let (s, _, v) = h
        .call(
            "POST",
            "/ingest/audit",
            Some(&t),
            &[("idempotency-key", "has space")],
            Some(ev("k4")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(is_outcome(&v));
}
