//! Test harness: a data dir with a small monitor context, a vault, and the router.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use phiguard_gateway::token::{Claims, DevIssuer};
use phiguard_gateway::{Backend, GatewayConfig, GatewayState};
use phiguard_vault::store::sqlite::SqliteStore;
use phiguard_vault::vault::{Vault, VaultConfig};
use phiguard_vault::EnvKeyProvider;
use tower::ServiceExt as _;

pub struct H {
    pub dir: tempfile::TempDir,
    pub app: Router,
    pub state: GatewayState,
    pub iss: DevIssuer,
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn write_context(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let n = now();
    std::fs::write(dir.join("Organization.ndjson"), "{\"resourceType\":\"Organization\",\"id\":\"card\",\"name\":\"Cardiology\"}\n{\"resourceType\":\"Organization\",\"id\":\"derm\",\"name\":\"Dermatology\"}\n").unwrap();
    std::fs::write(dir.join("Practitioner.ndjson"), "{\"resourceType\":\"Practitioner\",\"id\":\"pr-alice\",\"identifier\":[{\"value\":\"alice\"}],\"name\":[{\"family\":\"Able\",\"given\":[\"Alice\"]}]}\n{\"resourceType\":\"Practitioner\",\"id\":\"pr-bob\",\"identifier\":[{\"value\":\"bob\"}],\"name\":[{\"family\":\"Baker\",\"given\":[\"Bob\"]}]}\n").unwrap();
    std::fs::write(dir.join("PractitionerRole.ndjson"), "{\"resourceType\":\"PractitionerRole\",\"id\":\"r1\",\"practitioner\":{\"reference\":\"Practitioner/pr-alice\"},\"organization\":{\"reference\":\"Organization/card\"}}\n{\"resourceType\":\"PractitionerRole\",\"id\":\"r2\",\"practitioner\":{\"reference\":\"Practitioner/pr-bob\"},\"organization\":{\"reference\":\"Organization/derm\"}}\n").unwrap();
    std::fs::write(dir.join("Patient.ndjson"), "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Doe\",\"given\":[\"Jane\"]}],\"birthDate\":\"1970-01-01\"}\n{\"resourceType\":\"Patient\",\"id\":\"p2\",\"name\":[{\"family\":\"Roe\",\"given\":[\"Rick\"]}],\"birthDate\":\"1980-01-01\"}\n").unwrap();
    std::fs::write(dir.join("Encounter.ndjson"), format!("{{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"class\":{{\"code\":\"IMP\"}},\"subject\":{{\"reference\":\"Patient/p1\"}},\"participant\":[{{\"individual\":{{\"reference\":\"Practitioner/pr-alice\"}}}}],\"period\":{{\"start\":\"{}\",\"end\":\"{}\"}},\"serviceProvider\":{{\"reference\":\"Organization/card\"}}}}\n", rfc3339(n - 86_400), rfc3339(n + 86_400))).unwrap();
}

pub fn config() -> GatewayConfig {
    GatewayConfig {
        dangerous_ledger_no_sync: true,
        ..GatewayConfig::default()
    }
}

pub fn open_vault(data: &Path) -> Vault {
    let store = SqliteStore::open(&data.join("vault.db")).unwrap();
    let provider = EnvKeyProvider::from_bytes(&[7u8; 32]).unwrap();
    Vault::create(
        Box::new(store),
        Box::new(provider),
        VaultConfig {
            tenant: "general".into(),
            ..VaultConfig::default()
        },
    )
    .unwrap()
}

pub fn harness_with(cfg: GatewayConfig, backend: Option<Backend>) -> H {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    write_context(&data.join("context"));
    let backend = backend.unwrap_or_else(|| {
        let v = open_vault(&data);
        Backend::Vault(std::sync::Arc::new(
            phiguard_gateway::store::VaultStore::new(v, &data.join("gateway-index.db")).unwrap(),
        ))
    });
    let state = GatewayState::open(&data, cfg, backend, "general").unwrap();
    let iss = DevIssuer::open_or_create(&data).unwrap();
    let app = phiguard_gateway::app(state.clone())
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    H {
        dir,
        app,
        state,
        iss,
    }
}

pub fn harness() -> H {
    harness_with(config(), None)
}

pub fn claims(user: &str, scope: &str) -> Claims {
    let n = now();
    Claims {
        iss: "phiguard-dev".into(),
        sub: user.into(),
        aud: "phiguard".into(),
        exp: n + 600,
        iat: n,
        jti: phiguard_gateway::token::new_jti(),
        scope: scope.into(),
        purpose_of_use: Some("TREAT".into()),
        tenant: None,
        patient: None,
        roles: vec!["clinician".into()],
        amr: vec![],
    }
}

impl H {
    pub fn data(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn token(&self, user: &str, scope: &str) -> String {
        self.iss.sign(&claims(user, scope)).unwrap()
    }

    pub fn ledger_size(&self) -> u64 {
        // Tiles and checkpoints trail the journal acknowledgements by a few milliseconds.
        self.state.inner.audit.flush_blocking().unwrap();
        phiguard_ledger::LedgerReader::open(&self.data().join("ledger"))
            .unwrap()
            .checkpoint()
            .unwrap()
            .0
            .size
    }

    /// An authenticated GET without extra headers or body.
    pub async fn get(&self, uri: &str, token: &str) -> (StatusCode, HeaderMap, serde_json::Value) {
        self.call("GET", uri, Some(token), &[], None).await
    }

    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if body.is_some() {
            b = b.header("content-type", "application/fhir+json");
        }
        let req = b
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        (status, headers, v)
    }
}

pub fn observation(id: &str, patient: &str) -> String {
    format!("{{\"resourceType\":\"Observation\",\"id\":\"{id}\",\"status\":\"final\",\"code\":{{\"text\":\"heart rate\"}},\"subject\":{{\"reference\":\"Patient/{patient}\"}},\"valueQuantity\":{{\"value\":72,\"unit\":\"/min\"}}}}")
}

pub fn is_outcome(v: &serde_json::Value) -> bool {
    v["resourceType"] == "OperationOutcome" && v["issue"][0]["diagnostics"].is_string()
}
