//! FHIR interactions beyond read/create/update: history and vread consistency, delete
//! (deletion versions and crypto-shredding a patient), search parameters and paging.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use axum::http::StatusCode;
use common::*;

const CLIN: &str = "user/*.cruds";

fn token_with(h: &H, user: &str, roles: &[&str], mfa: bool) -> String {
    let mut c = claims(user, CLIN);
    c.roles = roles.iter().map(|r| r.to_string()).collect();
    if mfa {
        c.amr = vec!["pwd".into(), "mfa".into()];
    }
    h.iss.sign(&c).unwrap()
}

fn obs(id: &str, when: &str, code: &str) -> String {
    format!("{{\"resourceType\":\"Observation\",\"id\":\"{id}\",\"status\":\"final\",\"code\":{{\"coding\":[{{\"system\":\"http://loinc.org\",\"code\":\"{code}\"}}]}},\"effectiveDateTime\":\"{when}\",\"subject\":{{\"reference\":\"Patient/p1\"}}}}")
}

#[tokio::test]
async fn history_vread_and_meta_agree() {
    let h = harness();
    let t = h.token("alice", CLIN);
    let (s, hd, v) = h
        .call(
            "POST",
            "/fhir/Observation",
            Some(&t),
            &[],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["meta"]["versionId"], "1");
    assert_eq!(hd["etag"], "W/\"1\"");
    assert!(v["meta"]["lastUpdated"].as_str().unwrap().ends_with('Z'));
    let (s, hd, v) = h
        .call(
            "PUT",
            "/fhir/Observation/o1",
            Some(&t),
            &[],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["versionId"], "2");
    assert_eq!(hd["location"], "/fhir/Observation/o1/_history/2");
    let (_, hd, v) = h.get("/fhir/Observation/o1", &t).await;
    assert_eq!(v["meta"]["versionId"], "2");
    assert_eq!(hd["etag"], "W/\"2\"");
    let (_, _, v1) = h.get("/fhir/Observation/o1/_history/1", &t).await;
    assert_eq!(v1["meta"]["versionId"], "1");
    let before = h.ledger_size();
    let (s, _, b) = h.get("/fhir/Observation/o1/_history", &t).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(h.ledger_size(), before + 1, "history is audited");
    assert_eq!(b["type"], "history");
    assert_eq!(b["total"], 2);
    assert_eq!(b["entry"][0]["resource"]["meta"]["versionId"], "2");
    assert_eq!(b["entry"][0]["request"]["method"], "PUT");
    assert_eq!(b["entry"][1]["request"]["method"], "POST");
    assert_eq!(b["entry"][1]["fullUrl"], "/fhir/Observation/o1/_history/1");
    // Bob, no relationship: history refused like a read.
    let (s, _, v) = h
        .get("/fhir/Observation/o1/_history", &h.token("bob", CLIN))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(is_outcome(&v));
    let (s, _, _) = h.get("/fhir/Observation/nope/_history", &t).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_needs_step_up_keeps_history_and_is_idempotent() {
    let h = harness();
    let t = h.token("alice", CLIN);
    h.call(
        "POST",
        "/fhir/Observation",
        Some(&t),
        &[],
        Some(observation("o1", "p1")),
    )
    .await;
    // Without a strong authentication: step-up (401), nothing deleted.
    let (s, hd, v) = h
        .call("DELETE", "/fhir/Observation/o1", Some(&t), &[], None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert!(hd["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_user_authentication"));
    assert_eq!(h.get("/fhir/Observation/o1", &t).await.0, StatusCode::OK);
    // Bob cannot delete even with MFA; nor by breaking the glass.
    let bob = token_with(&h, "bob", &["clinician"], true);
    let (s, _, _) = h
        .call(
            "DELETE",
            "/fhir/Observation/o1",
            Some(&bob),
            &[("x-purpose-of-use", "BTG"), ("x-break-glass-reason", "x")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let strong = token_with(&h, "alice", &["clinician"], true);
    let before = h.ledger_size();
    let (s, hd, _) = h
        .call("DELETE", "/fhir/Observation/o1", Some(&strong), &[], None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(hd["etag"], "W/\"2\"");
    assert_eq!(h.ledger_size(), before + 1);
    let (s, _, v) = h.get("/fhir/Observation/o1", &t).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(is_outcome(&v));
    // The deletion version itself reads 410; earlier versions stay readable.
    assert_eq!(
        h.get("/fhir/Observation/o1/_history/2", &t).await.0,
        StatusCode::GONE
    );
    assert_eq!(
        h.get("/fhir/Observation/o1/_history/1", &t).await.0,
        StatusCode::OK
    );
    let (_, _, b) = h.get("/fhir/Observation/o1/_history", &t).await;
    assert_eq!(b["entry"][0]["request"]["method"], "DELETE");
    assert!(b["entry"][0].get("resource").is_none());
    let (_, _, b) = h.get("/fhir/Observation?patient=p1", &t).await;
    assert_eq!(b["total"], 0);
    // Deleting again has no effect; deleting what never existed is 404.
    assert_eq!(
        h.call("DELETE", "/fhir/Observation/o1", Some(&strong), &[], None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call("DELETE", "/fhir/Observation/zz", Some(&strong), &[], None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    // Re-creating resurrects it with the next version.
    let (s, _, v) = h
        .call(
            "PUT",
            "/fhir/Observation/o1",
            Some(&t),
            &[],
            Some(observation("o1", "p1")),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["versionId"], "3");
}

#[tokio::test]
async fn deleting_a_patient_crypto_shreds_every_record() {
    let h = harness();
    let t = h.token("alice", CLIN);
    let pat = "{\"resourceType\":\"Patient\",\"id\":\"p1\"}";
    assert_eq!(
        h.call("POST", "/fhir/Patient", Some(&t), &[], Some(pat.into()))
            .await
            .0,
        StatusCode::CREATED
    );
    h.call(
        "POST",
        "/fhir/Observation",
        Some(&t),
        &[],
        Some(observation("o1", "p1")),
    )
    .await;
    // Read once before the erasure, so the gateway has already resolved its owner.
    assert_eq!(h.get("/fhir/Observation/o1", &t).await.0, StatusCode::OK);
    // A clinician may not erase a patient, even with MFA.
    let strong = token_with(&h, "alice", &["clinician"], true);
    assert_eq!(
        h.call("DELETE", "/fhir/Patient/p1", Some(&strong), &[], None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let po = token_with(&h, "carol", &["privacy-officer"], true);
    let (s, _, v) = h
        .call("DELETE", "/fhir/Patient/p1", Some(&po), &[], None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _, v) = h.get("/fhir/Observation/o1", &t).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(is_outcome(&v));
    assert_eq!(h.get("/fhir/Patient/p1", &t).await.0, StatusCode::GONE);
    let ledger = std::fs::read_to_string(h.data().join("erasures.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 1);
    assert!(
        !ledger.contains("p1"),
        "the erasure ledger holds tokens only"
    );
    assert_eq!(
        h.call("DELETE", "/fhir/Patient/p1", Some(&po), &[], None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn search_by_date_code_last_updated_sort_and_paging() {
    let h = harness();
    let t = h.token("alice", CLIN);
    for (id, when, code) in [
        ("a", "2024-01-10", "8867-4"),
        ("b", "2024-02-10T08:00:00Z", "8310-5"),
        ("c", "2024-03-10", "8867-4"),
        ("d", "2023-12-31", "8867-4"),
    ] {
        let (s, _, v) = h
            .call(
                "POST",
                "/fhir/Observation",
                Some(&t),
                &[],
                Some(obs(id, when, code)),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, _, b) = h
        .get("/fhir/Observation?patient=p1&code=http://loinc.org|8867-4&date=ge2024-01&_sort=-date&_count=1", &t)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["total"], 2);
    assert_eq!(b["entry"][0]["resource"]["id"], "c");
    assert_eq!(b["entry"][0]["fullUrl"], "/fhir/Observation/c");
    let next = b["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, b2) = h.get(&next, &t).await;
    assert_eq!(s, StatusCode::OK, "{b2}");
    assert_eq!(b2["entry"][0]["resource"]["id"], "a");
    assert!(b2["link"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["relation"] != "next"));
    // _lastUpdated: everything was written just now.
    let (_, _, b) = h
        .get("/fhir/Observation?patient=p1&_lastUpdated=gt2020-01-01", &t)
        .await;
    assert_eq!(b["total"], 4);
    let (_, _, b) = h
        .get("/fhir/Observation?patient=p1&_lastUpdated=lt2020-01-01", &t)
        .await;
    assert_eq!(b["total"], 0);
    let (_, _, b) = h.get("/fhir/Observation?patient=p1&_sort=date", &t).await;
    let ids: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d", "a", "b", "c"]);
    // Unsupported parameter: 400 naming it (never the value), unless lenient.
    let (s, _, v) = h
        .get("/fhir/Observation?patient=p1&value-quantity=72", &t)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["issue"][0]["code"], "not-supported");
    assert!(v["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("value-quantity"));
    let (s, _, v) = h
        .call(
            "GET",
            "/fhir/Observation?patient=p1&value-quantity=72",
            Some(&t),
            &[("prefer", "handling=lenient")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 4);
    assert!(!v["link"][0]["url"]
        .as_str()
        .unwrap()
        .contains("value-quantity"));
    let (s, _, v) = h
        .get("/fhir/Observation?patient=p1&date=last-tuesday", &t)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(is_outcome(&v));
    // Paging does not let a search escape the patient: still decided per patient.
    let (s, _, _) = h.get(&next, &h.token("bob", CLIN)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
