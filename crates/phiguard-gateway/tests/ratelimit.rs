//! Rate limits per client address and per user: 429 + Retry-After + OperationOutcome, one
//! audit entry per key per second, forged tokens cannot spend another user's budget.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use axum::http::StatusCode;
use common::*;

const CLIN: &str = "user/*.cruds";

#[tokio::test]
async fn per_user_budget_with_retry_after_and_summary_audit() {
    let mut cfg = config();
    cfg.rate_limit_user_per_sec = 0.5;
    cfg.rate_limit_user_burst = 3.0;
    let h = harness_with(cfg, None);
    let alice = h.token("alice", CLIN);
    for _ in 0..3 {
        let (s, _, _) = h.get("/fhir/Observation?patient=p1", &alice).await;
        assert_eq!(s, StatusCode::OK);
    }
    let before = h.ledger_size();
    let (s, hd, v) = h.get("/fhir/Observation?patient=p1", &alice).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(is_outcome(&v));
    assert_eq!(v["issue"][0]["code"], "throttled");
    assert_eq!(hd["retry-after"], "2");
    assert_eq!(h.ledger_size(), before + 1, "the first refusal is audited");
    // Within the same second: refused, not audited again.
    let (s, _, _) = h.get("/fhir/Observation?patient=p1", &alice).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h.ledger_size(), before + 1);
    // A fresh token of the same user shares the budget; another user does not.
    let alice2 = h.token("alice", CLIN);
    assert_eq!(
        h.get("/fhir/Observation?patient=p1", &alice2).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let bob = h.token("bob", CLIN);
    assert_eq!(h.get("/fhir/metadata", &bob).await.0, StatusCode::OK);
    // A forged token naming alice (other key) is not charged to her: it gets 401, not 429.
    let other = tempfile::tempdir().unwrap();
    let forger = phiguard_gateway::token::DevIssuer::open_or_create(other.path()).unwrap();
    let forged = forger.sign(&claims("alice", CLIN)).unwrap();
    let (s, _, _) = h.get("/fhir/Observation?patient=p1", &forged).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Health probes are never limited.
    assert_eq!(h.get("/healthz", &alice).await.0, StatusCode::OK);
}

#[tokio::test]
async fn per_address_budget_covers_every_route() {
    let mut cfg = config();
    cfg.rate_limit_ip_per_sec = 0.2;
    cfg.rate_limit_ip_burst = 2.0;
    let h = harness_with(cfg, None);
    assert_eq!(
        h.call("GET", "/fhir/metadata", None, &[], None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.call("GET", "/openapi.json", None, &[], None).await.0,
        StatusCode::OK
    );
    let before = h.ledger_size();
    for path in ["/fhir/metadata", "/metrics", "/auth/login", "/nowhere"] {
        let (s, hd, v) = h.call("GET", path, None, &[], None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(is_outcome(&v));
        assert_eq!(hd["retry-after"], "5");
    }
    assert_eq!(
        h.ledger_size(),
        before + 1,
        "one summary entry per address per second"
    );
    assert_eq!(
        h.call("GET", "/readyz", None, &[], None).await.0,
        StatusCode::OK
    );
}
