//! Local accounts over HTTP: login, session use, listing, revocation, lockout, audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use axum::http::StatusCode;
use common::*;
use phiguard_gateway::accounts::HashCost;

const PW: &str = "correct horse battery staple";

fn add(h: &H, login: &str, roles: &[&str], scope: &str) {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    h.state
        .inner
        .accounts
        .add(login, PW, &roles, scope, HashCost::DANGEROUS_WEAK, now())
        .unwrap();
}

async fn login(
    h: &H,
    user: &str,
    pw: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let body = serde_json::json!({"username": user, "password": pw}).to_string();
    h.call("POST", "/auth/login", None, &[], Some(body)).await
}

#[tokio::test]
async fn login_then_use_list_and_revoke_sessions() {
    let h = harness();
    add(&h, "alice", &["clinician"], "user/*.cruds");
    let before = h.ledger_size();
    let (s, hd, v) = login(&h, "alice", PW).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(hd["cache-control"], "no-store");
    assert_eq!(h.ledger_size(), before + 1, "login is audited");
    let tok = v["access_token"].as_str().unwrap().to_string();
    assert!(tok.starts_with("pgs_"));
    assert_eq!(v["token_type"], "Bearer");
    // The session token works like a bearer JWT.
    let (s, _, v2) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&tok),
            &[("x-purpose-of-use", "TREAT")],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v2}");
    // A second session; list shows both, the current one marked.
    let (_, _, v3) = login(&h, "alice", PW).await;
    let tok2 = v3["access_token"].as_str().unwrap().to_string();
    let (s, _, list) = h.get("/auth/sessions", &tok).await;
    assert_eq!(s, StatusCode::OK);
    let items = list["sessions"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|i| i["current"] == true).count(), 1);
    assert!(!list.to_string().contains(&tok2[20..]), "no secrets listed");
    // Revoke the second from the first: refused on its very next request.
    let id2 = v3["session_id"].as_str().unwrap();
    let (s, _, _) = h
        .call(
            "DELETE",
            &format!("/auth/sessions/{id2}"),
            Some(&tok),
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, v) = h.get("/fhir/Observation/o1", &tok2).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(is_outcome(&v));
    // Revoking again: 404 OperationOutcome; a malformed id: 400.
    let (s, _, v) = h
        .call(
            "DELETE",
            &format!("/auth/sessions/{id2}"),
            Some(&tok),
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(is_outcome(&v));
    let (s, _, _) = h
        .call("DELETE", "/auth/sessions/..%2f..", Some(&tok), &[], None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Logout ends the current session.
    let (s, _, _) = h.call("POST", "/auth/logout", Some(&tok), &[], None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = h.get("/auth/sessions", &tok).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn other_users_sessions_only_for_admins_and_disable_is_immediate() {
    let h = harness();
    add(&h, "alice", &["clinician"], "user/*.rs");
    add(&h, "root", &["admin"], "user/*.rs");
    let (_, _, a) = login(&h, "alice", PW).await;
    let alice = a["access_token"].as_str().unwrap().to_string();
    let (_, _, r) = login(&h, "root", PW).await;
    let root = r["access_token"].as_str().unwrap().to_string();
    let (s, _, v) = h.get("/auth/sessions?all=true", &alice).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(is_outcome(&v));
    let (s, _, v) = h.get("/auth/sessions?bogus=1", &root).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, v) = h.get("/auth/sessions?all=true", &root).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["sessions"].as_array().unwrap().len(), 2);
    // Alice cannot revoke root's session (looks like a missing one); root can revoke hers.
    let rid = r["session_id"].as_str().unwrap();
    let (s, _, _) = h
        .call(
            "DELETE",
            &format!("/auth/sessions/{rid}"),
            Some(&alice),
            &[],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Disabling the account (what `phiguard account disable` does) ends her session now.
    h.state.inner.accounts.set_disabled("alice", true).unwrap();
    let (s, _, _) = h.get("/auth/sessions", &alice).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, v) = login(&h, "alice", PW).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["issue"][0]["diagnostics"], "invalid credentials");
}

#[tokio::test]
async fn failed_logins_lock_the_account_with_retry_after_and_are_audited() {
    let mut cfg = config();
    cfg.login_max_failures = 3;
    cfg.login_lockout_secs = 60;
    let h = harness_with(cfg, None);
    add(&h, "alice", &["clinician"], "user/*.rs");
    let before = h.ledger_size();
    for _ in 0..3 {
        let (s, hd, v) = login(&h, "alice", "not the password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(hd.contains_key("www-authenticate"));
        assert_eq!(v["issue"][0]["diagnostics"], "invalid credentials");
        assert!(!v.to_string().contains("not the password"));
    }
    let (s, hd, v) = login(&h, "alice", PW).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    assert!(is_outcome(&v));
    let ra: u64 = hd["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&ra), "{ra}");
    assert_eq!(h.ledger_size(), before + 4, "every attempt is audited");
    // Unknown users get the same answer as wrong passwords.
    let (s, _, v) = login(&h, "nobody", PW).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["issue"][0]["diagnostics"], "invalid credentials");
    // Malformed bodies: 400 OperationOutcome, audited.
    let (s, _, v) = h
        .call(
            "POST",
            "/auth/login",
            None,
            &[],
            Some("{\"username\":1}".into()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(is_outcome(&v));
    assert_eq!(h.ledger_size(), before + 6);
}

#[tokio::test]
async fn address_budget_throttles_password_guessing() {
    let mut cfg = config();
    cfg.auth_failures_per_sec = 0.2; // burst 1
    cfg.login_max_failures = 100;
    let h = harness_with(cfg, None);
    add(&h, "alice", &["clinician"], "user/*.rs");
    let (s, _, _) = login(&h, "alice", "guess number one").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, hd, v) = login(&h, "alice", "guess number two").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(hd.contains_key("retry-after"));
    assert!(is_outcome(&v));
    // While over budget, even the right password is not tried.
    let (s, _, _) = login(&h, "alice", PW).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}
