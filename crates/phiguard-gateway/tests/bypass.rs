//! Bypass attempts: each must get the right 4xx with an OperationOutcome, leak nothing, and
//! leave exactly one ledger entry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

mod common;
use aws_lc_rs::signature::Ed25519KeyPair;
use axum::http::StatusCode;
use common::*;
use phiguard_gateway::token::sign_with;

#[tokio::test]
async fn bypass_attempts_all_fail_and_are_audited() {
    let h = harness();
    let alice = h.token("alice", "user/*.cruds");
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
    let n = now();
    let mut expired = claims("alice", "user/*.cruds");
    expired.exp = n - 3600;
    expired.iat = n - 7200;
    let mut wrong_aud = claims("alice", "user/*.cruds");
    wrong_aud.aud = "https://other.example".into();
    let forged = sign_with(
        &Ed25519KeyPair::generate().unwrap(),
        None,
        &claims("alice", "user/*.cruds"),
    )
    .unwrap();
    let mut other_tenant = claims("alice", "user/*.cruds");
    other_tenant.tenant = Some("other-hospital".into());
    let mut patient_scoped = claims("alice", "patient/Observation.rs");
    patient_scoped.patient = Some("p2".into());
    let revoked_claims = claims("alice", "user/*.cruds");
    let revoked = h.iss.sign(&revoked_claims).unwrap();
    phiguard_gateway::token::Revocations::new(phiguard_gateway::token::revocations_path(&h.data()))
        .revoke(&revoked_claims.jti)
        .unwrap();
    let narrow = h.token("alice", "user/Condition.rs");
    let big = format!("{{\"resourceType\":\"Observation\",\"subject\":{{\"reference\":\"Patient/p1\"}},\"note\":\"{}\"}}", "x".repeat(2 << 20));
    let parts: Vec<&str> = alice.split('.').collect();
    let none_alg = format!("eyJhbGciOiJub25lIn0.{}.", parts[1]);

    let cases: Vec<(&str, &str, &str, Option<String>, Vec<(&str, &str)>, Option<String>, StatusCode)> = vec![
        ("missing token", "GET", "/fhir/Observation/o1", None, vec![], None, StatusCode::UNAUTHORIZED),
        ("not bearer", "GET", "/fhir/Observation/o1", None, vec![("authorization", "Basic YWxpY2U6eA==")], None, StatusCode::UNAUTHORIZED),
        ("expired", "GET", "/fhir/Observation/o1", Some(h.iss.sign(&expired).unwrap()), vec![], None, StatusCode::UNAUTHORIZED),
        ("wrong audience", "GET", "/fhir/Observation/o1", Some(h.iss.sign(&wrong_aud).unwrap()), vec![], None, StatusCode::UNAUTHORIZED),
        ("forged signature", "GET", "/fhir/Observation/o1", Some(forged), vec![], None, StatusCode::UNAUTHORIZED),
        ("alg none", "GET", "/fhir/Observation/o1", Some(none_alg), vec![], None, StatusCode::UNAUTHORIZED),
        ("garbage token", "GET", "/fhir/Observation/o1", Some("a.b.c".into()), vec![], None, StatusCode::UNAUTHORIZED),
        ("revoked", "GET", "/fhir/Observation/o1", Some(revoked), vec![], None, StatusCode::UNAUTHORIZED),
        ("another tenant", "GET", "/fhir/Observation/o1", Some(h.iss.sign(&other_tenant).unwrap()), vec![], None, StatusCode::FORBIDDEN),
        ("scope mismatch", "GET", "/fhir/Observation/o1", Some(narrow.clone()), vec![], None, StatusCode::FORBIDDEN),
        ("scope mismatch write", "POST", "/fhir/Condition", Some(narrow), vec![], Some("{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/p1\"}}".into()), StatusCode::FORBIDDEN),
        ("patient token, other patient", "GET", "/fhir/Observation/o1", Some(h.iss.sign(&patient_scoped).unwrap()), vec![], None, StatusCode::FORBIDDEN),
        ("no relationship", "GET", "/fhir/Observation/o1", Some(h.token("bob", "user/*.cruds")), vec![], None, StatusCode::FORBIDDEN),
        ("traversal encoded", "GET", "/fhir/Observation/..%2F..%2Fetc", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("traversal dotdot", "GET", "/fhir/Observation/..", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("nul in id", "GET", "/fhir/Observation/o1%00", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("lowercase type", "GET", "/fhir/observation/o1", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("sql in type", "GET", "/fhir/Observation'%20OR%201=1/o1", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("id too long", "GET", &*Box::leak(format!("/fhir/Observation/{}", "a".repeat(65)).into_boxed_str()), Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("bad version", "GET", "/fhir/Observation/o1/_history/-1", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("malformed json", "POST", "/fhir/Observation", Some(alice.clone()), vec![], Some("{\"resourceType\":".into()), StatusCode::BAD_REQUEST),
        ("type mismatch", "POST", "/fhir/Observation", Some(alice.clone()), vec![], Some("{\"resourceType\":\"Patient\",\"id\":\"p9\"}".into()), StatusCode::BAD_REQUEST),
        ("absolute patient ref", "POST", "/fhir/Observation", Some(alice.clone()), vec![], Some("{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"https://evil/Patient/p1\"}}".into()), StatusCode::BAD_REQUEST),
        ("update id mismatch", "PUT", "/fhir/Observation/o1", Some(alice.clone()), vec![], Some(observation("o2", "p1")), StatusCode::BAD_REQUEST),
        ("steal id of other patient", "PUT", "/fhir/Observation/o1", Some(alice.clone()), vec![], Some(observation("o1", "p2")), StatusCode::FORBIDDEN),
        ("oversized body", "POST", "/fhir/Observation", Some(alice.clone()), vec![], Some(big), StatusCode::PAYLOAD_TOO_LARGE),
        ("purpose header injection", "GET", "/fhir/Observation/o1", Some(alice.clone()), vec![("x-purpose-of-use", "TREAT; outcome=allowed")], None, StatusCode::BAD_REQUEST),
        ("break glass without role", "GET", "/fhir/Observation/o1", Some({ let mut c = claims("bob", "user/*.cruds"); c.roles = vec![]; h.iss.sign(&c).unwrap() }), vec![("x-purpose-of-use", "BTG"), ("x-break-glass-reason", "curious")], None, StatusCode::FORBIDDEN),
        ("search without patient", "GET", "/fhir/Observation", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("search two patients", "GET", "/fhir/Observation?patient=p1&subject=Patient/p2", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("search unknown param", "GET", "/fhir/Observation?patient=p1&_include=*", Some(alice.clone()), vec![], None, StatusCode::BAD_REQUEST),
        ("audit trail as clinician", "GET", "/fhir/AuditEvent", Some(h.token("alice", "user/*.cruds")), vec![], None, StatusCode::FORBIDDEN),
    ];
    let mut failures = Vec::new();
    for (name, method, uri, token, headers, body, want) in cases {
        let before = h.ledger_size();
        let (got, hd, v) = h.call(method, uri, token.as_deref(), &headers, body).await;
        let after = h.ledger_size();
        let text = v.to_string();
        let ok = got == want
            && is_outcome(&v)
            && after == before + 1
            && !text.contains("Doe")
            && !text.contains("\"p1\"")
            && hd
                .get("content-type")
                .is_some_and(|c| c == "application/fhir+json");
        if !ok {
            failures.push(format!(
                "{name}: got {got} want {want}, ledger +{}, body {text}",
                after - before
            ));
        }
        if got == StatusCode::UNAUTHORIZED {
            assert!(hd.contains_key("www-authenticate"), "{name}");
        }
    }
    assert!(
        failures.is_empty(),
        "bypass attempts not handled:\n{}",
        failures.join("\n")
    );
    // The record is untouched by the attempts.
    let (s, _, v) = h.get("/fhir/Observation/o1", &alice).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["subject"]["reference"], "Patient/p1");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
    /// Random paths, methods, headers and bodies: never a 5xx, never data without a valid
    /// token, always a FHIR OperationOutcome on errors, always one ledger entry per FHIR request.
    #[test]
    fn random_requests_never_bypass(
        seg in proptest::sample::select(vec!["Observation", "Patient", "observation", "..", "%2e%2e", "A", "Observation%00", "AuditEvent"]),
        id in "[ -~]{0,20}",
        method in proptest::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        body in proptest::option::of("[ -~]{0,200}"),
        purpose in proptest::option::of("[ -~]{0,12}"),
        with_token in proptest::bool::ANY,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = harness();
            let bob = h.token("bob", "user/*.cruds");
            let enc: String = id.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
            let uri = format!("/fhir/{seg}/{enc}");
            let mut headers = vec![];
            if let Some(p) = &purpose {
                if axum::http::HeaderValue::from_str(p).is_ok() {
                    headers.push(("x-purpose-of-use", p.as_str()));
                }
            }
            let before = h.ledger_size();
            let (s, _, v) = h.call(method, &uri, with_token.then_some(bob.as_str()), &headers, body.clone()).await;
            assert!(!s.is_server_error(), "{uri} -> {s}");
            if !with_token {
                assert!(s.is_client_error(), "{uri} without token -> {s}");
            }
            // bob has no relationship and nothing exists: nothing is ever served.
            assert!(!s.is_success(), "{method} {uri} -> {s} {v}");
            assert!(is_outcome(&v), "{method} {uri} -> {s} {v}");
            assert_eq!(h.ledger_size(), before + 1, "{method} {uri} -> {s}");
        });
    }
}

#[tokio::test]
async fn flood_of_bad_tokens_is_throttled_not_a_ledger_dos() {
    let cfg = phiguard_gateway::GatewayConfig {
        auth_failures_per_sec: 1.0,
        ..config()
    };
    let h = harness_with(cfg, None);
    let before = h.ledger_size();
    let (mut unauth, mut throttled) = (0, 0);
    for _ in 0..40 {
        let (s, _, v) = h.get("/fhir/Observation/o1", "bad.token.here").await;
        assert!(is_outcome(&v));
        match s {
            StatusCode::UNAUTHORIZED => unauth += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!((5..=8).contains(&unauth), "{unauth}");
    assert_eq!(unauth + throttled, 40);
    let grown = h.ledger_size() - before;
    assert!(
        grown > unauth && grown <= unauth + 4,
        "ledger grew by {grown} for {unauth} audited refusals"
    );
    // Authenticated users are not affected by someone else's flood from the same address.
    let t = h.token("alice", "user/*.cruds");
    assert_eq!(
        h.call(
            "POST",
            "/fhir/Observation",
            Some(&t),
            &[],
            Some(observation("o1", "p1"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
}
