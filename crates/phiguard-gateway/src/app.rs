//! The router and the request pipeline:
//!
//! ```text
//! request ─> body limit ─> authenticate (JWT, revocation) ─> validate path/ids ─> SMART scope
//!         ─> resolve patient ─> (read: fetch, labels) ─> monitor.assess (relation, score)
//!         ─> Cedar decision (allow / step-up / break-the-glass / deny)
//!         ─> ledger append (durable; 503 when overloaded) ─> response
//! ```
//!
//! Every request that reaches a FHIR or ingest route, refused ones included, is appended to the
//! ledger before its response is sent; if that append fails the client gets 503.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use phiguard_fhir::{AccessEvent, AddressKind};
use serde_json::json;

use crate::audit::{Record, Scored};
use crate::authz::{Decision, DecisionContext};
use crate::error::{fhir_response, ApiError};
use crate::metrics::METRICS;
use crate::scope::{self, Compartment, Interaction};
use crate::state::{Backend, GatewayState};
use crate::token::Claims;

/// Builds the gateway router.
pub fn app(state: GatewayState) -> Router {
    let limit = state.inner.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/fhir/metadata", get(capability))
        .route("/fhir/AuditEvent", get(audit_events))
        .route("/fhir/{rtype}", get(search).post(create))
        .route("/fhir/{rtype}/{id}", get(read).put(update).delete(delete))
        .route("/fhir/{rtype}/{id}/_history", get(history))
        .route("/fhir/{rtype}/{id}/_history/{vid}", get(vread))
        .route("/ingest/audit", post(crate::ingest::ingest_http))
        .merge(crate::auth_routes::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn observe(State(s): State<GatewayState>, req: Request, next: Next) -> Response {
    let t = StdInstant::now();
    METRICS.requests.inc();
    // Slow clients (a body trickling in) and stuck backends end here. A response cut off
    // by the timeout was not sent, so nothing is served unaudited.
    let limit = std::time::Duration::from_secs(s.inner.config.request_timeout_secs.max(1));
    let mut r = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let e = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "request took too long",
            );
            refuse(&s, "anonymous", "", "timeout", "-", "-", e).await
        }
    };
    METRICS.observe(t.elapsed().as_secs_f64());
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn unknown_route(State(s): State<GatewayState>) -> Response {
    refuse(
        &s,
        "anonymous",
        "",
        "unknown",
        "-",
        "-",
        ApiError::not_found(),
    )
    .await
}

async fn method_not_allowed(State(s): State<GatewayState>) -> Response {
    let e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "method not supported on this path",
    );
    refuse(&s, "anonymous", "", "unknown", "-", "-", e).await
}

async fn readyz(State(s): State<GatewayState>) -> Response {
    if s.inner.ready.load(std::sync::atomic::Ordering::Relaxed) {
        "ready\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    }
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        METRICS.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::OPENAPI_JSON,
    )
        .into_response()
}

async fn capability(State(s): State<GatewayState>) -> Response {
    let types = json!([
        "Patient",
        "Observation",
        "Condition",
        "Encounter",
        "MedicationRequest",
        "DiagnosticReport",
        "Procedure",
        "AllergyIntolerance",
        "*"
    ]);
    let mode = if matches!(s.inner.backend, Backend::Upstream(_)) {
        "proxy"
    } else {
        "vault"
    };
    let resources: Vec<serde_json::Value> = types
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| json!({
                    "type": t,
                    "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "history-instance"}, {"code": "search-type"}, {"code": "create"}, {"code": "update"}, {"code": "delete"}],
                    "versioning": "versioned",
                    "searchParam": [
                        {"name": "patient", "type": "reference"},
                        {"name": "_id", "type": "token"},
                        {"name": "_lastUpdated", "type": "date"},
                        {"name": "date", "type": "date"},
                        {"name": "code", "type": "token"}
                    ]
                }))
                .collect()
        })
        .unwrap_or_default();
    fhir_response(
        StatusCode::OK,
        &json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-01-01",
            "kind": "instance",
            "software": {"name": "phiguard gateway", "version": env!("CARGO_PKG_VERSION")},
            "implementation": {"description": format!("phiguard access gateway ({mode} mode)")},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "security": {
                    "cors": false,
                    "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                    "description": "Bearer JWT (EdDSA, ES256, RS256) or local session token with SMART v2 scopes; Cedar policies; break-the-glass with purpose BTG/ETREAT and X-Break-Glass-Reason"
                },
                "resource": resources
            }]
        }),
    )
}

/// The network a client address belongs to.
pub fn network_of(addr: Option<SocketAddr>) -> &'static str {
    match addr.map(|a| a.ip()) {
        None => "external",
        Some(ip) if ip.is_loopback() => "loopback",
        Some(std::net::IpAddr::V4(v4)) if v4.is_private() || v4.is_link_local() => "internal",
        Some(std::net::IpAddr::V6(v6)) if (v6.segments()[0] & 0xfe00) == 0xfc00 => "internal",
        Some(_) => "external",
    }
}

/// Whether `s` is a FHIR resource type name (`[A-Z][A-Za-z]{0,63}`).
pub fn valid_type(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphabetic())
}

/// Whether `s` is a FHIR id (`[A-Za-z0-9\-.]{1,64}`, and not `.` / `..`).
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Current unix time, seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Who is asking, from the verified token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Verified claims.
    pub claims: Claims,
    /// Parsed scopes.
    pub scopes: Vec<scope::Scope>,
    /// Purpose of use for this request.
    pub purpose: String,
    /// Break-the-glass was requested with a reason.
    pub btg: Option<String>,
    /// Client address.
    pub addr: Option<SocketAddr>,
}

/// Whether `s` is a short code (`[A-Za-z0-9_-]{1,64}`), safe to put in the ledger.
pub fn short_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Authenticates a request: bearer token, signature, expiry, audience, revocation, tenant.
///
/// # Errors
/// 401 for token problems, 400 for unusable headers, 403 for another tenant's token.
pub fn authenticate(
    s: &GatewayState,
    headers: &HeaderMap,
    addr: Option<SocketAddr>,
) -> Result<Caller, ApiError> {
    let Some(h) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized("missing bearer token"));
    };
    let h = h
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid token"))?;
    let token = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let token = token.trim();
    let claims = if token.starts_with(crate::accounts::SESSION_PREFIX) {
        crate::auth_routes::session_claims(s, token, now_unix())
            .ok_or_else(|| ApiError::unauthorized("session expired or revoked"))?
    } else {
        verify_jwt(s, token)?
    };
    finish_authentication(s, headers, addr, claims)
}

/// Verifies a JWT bearer token (signature, expiry, audience).
///
/// # Errors
/// 401 naming the failed check in general terms.
pub fn verify_jwt(s: &GatewayState, token: &str) -> Result<Claims, ApiError> {
    // A token verified recently is not verified again (see `crate::verified`); revocation
    // is still checked on every request by `finish_authentication`.
    let now = now_unix();
    if let Some(c) = s.inner.token_cache.get(token, now) {
        return Ok(c);
    }
    let c = s.inner.verifier.verify(token, now).map_err(|e| {
        tracing::info!(reason = %e, "token refused");
        ApiError::unauthorized(match e {
            crate::token::TokenError::Expired => "token expired",
            crate::token::TokenError::Audience => "token not issued for this server",
            crate::token::TokenError::Revoked => "token revoked",
            _ => "invalid token",
        })
    })?;
    s.inner.token_cache.put(token, &c, now);
    Ok(c)
}

/// The checks after a token's signature or session: revocation, tenant, purpose of use,
/// break-the-glass reason, scopes.
///
/// # Errors
/// 401 revoked, 403 other tenant, 400 unusable headers.
pub fn finish_authentication(
    s: &GatewayState,
    headers: &HeaderMap,
    addr: Option<SocketAddr>,
    claims: Claims,
) -> Result<Caller, ApiError> {
    let inner = &s.inner;
    if inner.revocations.is_revoked(&claims.jti) {
        return Err(ApiError::unauthorized("token revoked"));
    }
    if claims.tenant.as_deref().is_some_and(|t| t != inner.tenant) {
        return Err(ApiError::forbidden("token belongs to another tenant"));
    }
    let purpose = match headers.get("x-purpose-of-use") {
        Some(v) => v
            .to_str()
            .ok()
            .filter(|p| short_code(p))
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::invalid("header X-Purpose-Of-Use must be a v3-ActReason code")
            })?,
        None => claims
            .purpose_of_use
            .clone()
            .filter(|p| short_code(p))
            .unwrap_or_else(|| "UNSPECIFIED".into()),
    };
    let btg = match headers.get("x-break-glass-reason") {
        None => None,
        Some(v) => {
            let r = v.to_str().map_err(|_| {
                ApiError::invalid("header X-Break-Glass-Reason must be printable ASCII")
            })?;
            if r.trim().is_empty() || r.len() > 500 {
                return Err(ApiError::invalid(
                    "header X-Break-Glass-Reason must hold 1 to 500 characters",
                ));
            }
            Some(r.trim().to_string())
        }
    };
    let scopes = scope::parse_scopes(&claims.scope);
    Ok(Caller {
        claims,
        scopes,
        purpose,
        btg,
        addr,
    })
}

/// The client address from the connection (or axum's `MockConnectInfo` in tests); never from
/// `X-Forwarded-For`, which a client can forge.
pub fn client_addr(ext: &axum::http::Extensions) -> Option<SocketAddr> {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .or_else(|| {
            ext.get::<axum::extract::connect_info::MockConnectInfo<SocketAddr>>()
                .map(|c| c.0)
        })
}

/// Appends the audit entry for a refused request and returns the refusal (or 503).
pub(crate) async fn refuse(
    s: &GatewayState,
    actor: &str,
    patient: &str,
    action: &str,
    rtype: &str,
    purpose: &str,
    err: ApiError,
) -> Response {
    let purpose = if short_code(purpose) {
        purpose
    } else {
        "UNSPECIFIED"
    };
    let rtype = if short_code(rtype) { rtype } else { "-" };
    let rec = Record {
        actor,
        patient,
        action,
        resource: rtype,
        purpose,
        outcome: "denied",
        detail: None,
    };
    match s.inner.audit.append(&rec).await {
        Ok(_) => err.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Refuses an unauthenticated request. Each is audited, except beyond the per-address budget
/// of failed authentications (`auth_failures_per_sec`, burst 5x): then 429, with one audit
/// entry (`purpose` `rate-limited`) per address per second, so a flood of bad tokens cannot
/// exhaust the ledger for everyone.
pub async fn refuse_unauthenticated(
    s: &GatewayState,
    addr: Option<SocketAddr>,
    action: &str,
    rtype: &str,
    err: ApiError,
) -> Response {
    match s.auth_failure_budget(addr.map(|a| a.ip())) {
        crate::state::Budget::Ok => refuse(s, "anonymous", "", action, rtype, "-", err).await,
        crate::state::Budget::Exceeded { audit } => {
            METRICS.rate_limited.inc();
            let e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many failed authentications from this address",
            );
            if audit {
                refuse(s, "anonymous", "", "auth", "-", "rate-limited", e).await
            } else {
                e.into_response()
            }
        }
    }
}

/// A FHIR interaction request after routing.
#[derive(Debug, Clone)]
pub struct Op {
    /// Interaction.
    pub interaction: Interaction,
    /// Ledger action code.
    pub action: &'static str,
    /// Resource type.
    pub rtype: String,
    /// Resource id.
    pub id: Option<String>,
    /// Version id (vread).
    pub vid: Option<u64>,
    /// Query string (search).
    pub query: Vec<(String, String)>,
    /// Body (create/update).
    pub body: Option<Bytes>,
}

impl Op {
    /// An interaction on one resource by id, without version, query or body.
    fn by_id(interaction: Interaction, action: &'static str, rtype: String, id: String) -> Op {
        Op {
            interaction,
            action,
            rtype,
            id: Some(id),
            vid: None,
            query: vec![],
            body: None,
        }
    }
}

async fn read(
    State(s): State<GatewayState>,
    Path((rtype, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let op = Op::by_id(Interaction::Read, "read", rtype, id);
    pipeline(s, op, req.headers().clone(), client_addr(req.extensions())).await
}

async fn delete(
    State(s): State<GatewayState>,
    Path((rtype, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let op = Op::by_id(Interaction::Delete, "delete", rtype, id);
    pipeline(s, op, req.headers().clone(), client_addr(req.extensions())).await
}

async fn history(
    State(s): State<GatewayState>,
    Path((rtype, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let op = Op::by_id(Interaction::Read, "history", rtype, id);
    pipeline(s, op, req.headers().clone(), client_addr(req.extensions())).await
}

async fn vread(
    State(s): State<GatewayState>,
    Path((rtype, id, vid)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let addr = client_addr(req.extensions());
    let Ok(v) = vid.parse::<u64>() else {
        let op = Op {
            interaction: Interaction::Read,
            action: "vread",
            rtype,
            id: Some(id),
            vid: Some(0),
            query: vec![],
            body: None,
        };
        return pipeline(s, op, req.headers().clone(), addr).await;
    };
    let op = Op {
        interaction: Interaction::Read,
        action: "vread",
        rtype,
        id: Some(id),
        vid: Some(v),
        query: vec![],
        body: None,
    };
    pipeline(s, op, req.headers().clone(), addr).await
}

async fn search(
    State(s): State<GatewayState>,
    Path(rtype): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let op = Op {
        interaction: Interaction::Search,
        action: "search",
        rtype,
        id: None,
        vid: None,
        query: q,
        body: None,
    };
    pipeline(s, op, req.headers().clone(), client_addr(req.extensions())).await
}

async fn body_of(
    req: Request,
    limit: usize,
) -> Result<(HeaderMap, Option<SocketAddr>, axum::http::Uri, Bytes), ApiError> {
    let headers = req.headers().clone();
    let addr = client_addr(req.extensions());
    let uri = req.uri().clone();
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-long",
                format!("body larger than {limit} bytes"),
            )
        })?;
    Ok((headers, addr, uri, body))
}

async fn create(
    State(s): State<GatewayState>,
    Path(rtype): Path<String>,
    req: Request,
) -> Response {
    let limit = s.inner.config.max_body_bytes;
    match body_of(req, limit).await {
        Ok((h, a, _u, b)) => {
            let op = Op {
                interaction: Interaction::Create,
                action: "create",
                rtype,
                id: None,
                vid: None,
                query: vec![],
                body: Some(b),
            };
            pipeline(s, op, h, a).await
        }
        Err(e) => refuse(&s, "anonymous", "", "create", &rtype, "-", e).await,
    }
}

async fn update(
    State(s): State<GatewayState>,
    Path((rtype, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let limit = s.inner.config.max_body_bytes;
    match body_of(req, limit).await {
        Ok((h, a, _u, b)) => {
            let op = Op {
                interaction: Interaction::Update,
                action: "update",
                rtype,
                id: Some(id),
                vid: None,
                query: vec![],
                body: Some(b),
            };
            pipeline(s, op, h, a).await
        }
        Err(e) => refuse(&s, "anonymous", "", "update", &rtype, "-", e).await,
    }
}

/// Extracts `Patient/<id>` (relative reference only) from a reference string.
pub fn patient_ref(r: &str) -> Option<&str> {
    let id = r.strip_prefix("Patient/")?;
    valid_id(id).then_some(id)
}

/// The patient a resource is about: its own id for Patient, else `subject` or `patient`.
pub fn patient_of_resource(v: &serde_json::Value) -> Option<String> {
    if v.get("resourceType").and_then(|t| t.as_str()) == Some("Patient") {
        return v
            .get("id")
            .and_then(|i| i.as_str())
            .filter(|i| valid_id(i))
            .map(str::to_string);
    }
    ["subject", "patient", "beneficiary"]
        .iter()
        .find_map(|f| {
            v.pointer(&format!("/{f}/reference"))
                .and_then(|r| r.as_str())
                .and_then(patient_ref)
        })
        .map(str::to_string)
}

/// What the read side fetched before the decision.
enum Fetched {
    None,
    One(crate::store::Found),
    Many(Vec<crate::store::Found>),
    Page(usize, Vec<crate::store::Found>),
    Upstream(crate::proxy::UpstreamResponse),
}

#[allow(clippy::too_many_lines)]
async fn pipeline(
    s: GatewayState,
    op: Op,
    headers: HeaderMap,
    addr: Option<SocketAddr>,
) -> Response {
    let t_start = StdInstant::now();
    // 1. Authentication.
    let caller = match crate::jwks::authenticate(&s, &headers, addr).await {
        Ok(c) => c,
        Err(e) => {
            METRICS.unauthenticated.inc();
            return refuse_unauthenticated(&s, addr, op.action, &op.rtype, e).await;
        }
    };
    let auth_time = t_start.elapsed();
    let user = caller.claims.sub.clone();
    let purpose = caller.purpose.clone();
    let deny = |e: ApiError, patient: String| {
        let s = s.clone();
        let user = user.clone();
        let purpose = purpose.clone();
        let rtype = op.rtype.clone();
        async move { refuse(&s, &user, &patient, op.action, &rtype, &purpose, e).await }
    };
    // 2. Input validation (no id ever reaches storage or upstream unless it is a FHIR id).
    if !valid_type(&op.rtype) {
        return deny(
            ApiError::invalid("resource type is not a FHIR type name"),
            String::new(),
        )
        .await;
    }
    if op.id.as_deref().is_some_and(|i| !valid_id(i)) {
        return deny(
            ApiError::invalid("id is not a FHIR id ([A-Za-z0-9-.]{1,64})"),
            String::new(),
        )
        .await;
    }
    if op.vid == Some(0) {
        return deny(
            ApiError::invalid("version id must be a positive integer"),
            String::new(),
        )
        .await;
    }
    // 3. SMART scope.
    let Some(compartment) = scope::check(&caller.scopes, &op.rtype, op.interaction) else {
        return deny(
            ApiError::forbidden("token scopes do not cover this interaction"),
            String::new(),
        )
        .await;
    };
    // 4. Patient and body.
    let mut body_json: Option<serde_json::Value> = None;
    let mut fetched = Fetched::None;
    let mut prefetched: Option<Result<crate::store::Found, ApiError>> = None;
    let mut search_q: Option<crate::search::SearchQuery> = None;
    if (op.interaction == Interaction::Delete || op.action == "history")
        && matches!(s.inner.backend, Backend::Upstream(_))
    {
        let e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "not-supported",
            "delete and history are not supported in proxy mode",
        );
        return deny(e, String::new()).await;
    }
    let mut upstream_labels: Option<Vec<String>> = None;
    let step_up = caller.claims.amr.iter().any(|m| m == "mfa" || m == "hwk");
    let patient: String = match op.interaction {
        Interaction::Search => {
            // Proxy mode forwards the query: only the patient is needed here.
            let handling = match &s.inner.backend {
                Backend::Vault(_) => crate::search::handling(&headers),
                Backend::Upstream(_) => crate::search::Handling::Lenient,
            };
            match crate::search::parse(&op.rtype, &op.query, handling) {
                Ok(q) => {
                    let p = q.patient.clone();
                    search_q = Some(q);
                    p
                }
                Err(e) => return deny(e, String::new()).await,
            }
        }
        Interaction::Create | Interaction::Update => {
            let body = op.body.clone().unwrap_or_default();
            let v: serde_json::Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => {
                    return deny(
                        ApiError::invalid(format!(
                            "body is not JSON (line {} column {})",
                            e.line(),
                            e.column()
                        )),
                        String::new(),
                    )
                    .await
                }
            };
            if v.get("resourceType").and_then(|t| t.as_str()) != Some(op.rtype.as_str()) {
                return deny(
                    ApiError::invalid("resourceType does not match the URL"),
                    String::new(),
                )
                .await;
            }
            if let (Some(id), Interaction::Update) = (&op.id, op.interaction) {
                if v.get("id").and_then(|i| i.as_str()) != Some(id.as_str()) {
                    return deny(
                        ApiError::invalid("id in the body does not match the URL"),
                        String::new(),
                    )
                    .await;
                }
            }
            let Some(p) = patient_of_resource(&v) else {
                return deny(ApiError::invalid("resource names no patient (relative subject/patient reference Patient/<id>)"), String::new()).await;
            };
            body_json = Some(v);
            p
        }
        Interaction::Read | Interaction::Delete => {
            let id = op.id.clone().unwrap_or_default();
            match &s.inner.backend {
                Backend::Vault(store) => {
                    // One blocking hop: find the owner and fetch (held back until decided).
                    let store2 = store.clone();
                    let rt = op.rtype.clone();
                    let id2 = id.clone();
                    let vid = op.vid;
                    let job = move || {
                        store2.patient_of(&rt, &id2).map(|owner| {
                            owner.map(|p| {
                                let f = store2.read(&p, &rt, &id2, vid, step_up);
                                (p, f)
                            })
                        })
                    };
                    match tokio::task::spawn_blocking(job).await {
                        Ok(Ok(Some((p, f)))) => {
                            prefetched = Some(f);
                            p
                        }
                        Ok(Ok(None)) => return deny(ApiError::not_found(), String::new()).await,
                        Ok(Err(e)) => return deny(e, String::new()).await,
                        Err(_) => return deny(ApiError::internal(), String::new()).await,
                    }
                }
                Backend::Upstream(up) => match up.fetch(&op.rtype, &id, op.vid).await {
                    Ok(r) => {
                        // Parsed once: for the patient and the security labels.
                        let v = serde_json::from_slice::<serde_json::Value>(&r.body).ok();
                        let p = v.as_ref().and_then(patient_of_resource);
                        upstream_labels = v.as_ref().map(crate::proxy::labels_of_value);
                        let Some(p) = p else {
                            let e = if r.status == StatusCode::NOT_FOUND {
                                ApiError::not_found()
                            } else {
                                ApiError::forbidden(
                                    "upstream resource names no patient; not released",
                                )
                            };
                            return deny(e, String::new()).await;
                        };
                        fetched = Fetched::Upstream(r);
                        p
                    }
                    Err(e) => return deny(e, String::new()).await,
                },
            }
        }
    };
    if compartment == Compartment::Patient
        && caller.claims.patient.as_deref() != Some(patient.as_str())
    {
        return deny(
            ApiError::forbidden("patient-scoped token does not cover this patient"),
            patient,
        )
        .await;
    }
    // 5. Fetch before deciding (labels), never released before the decision.
    if let Backend::Vault(store) = &s.inner.backend {
        let store2 = store.clone();
        let p = patient.clone();
        let rt = op.rtype.clone();
        let id = op.id.clone();
        let vid = op.vid;
        let history = op.action == "history";
        let q = search_q.clone();
        let r = match op.interaction {
            Interaction::Read if history => {
                tokio::task::spawn_blocking(move || {
                    store2
                        .history(&p, &rt, &id.unwrap_or_default(), step_up)
                        .map(Fetched::Many)
                })
                .await
            }
            // Deleting a deleted resource is allowed (no effect); its labels are gone.
            Interaction::Delete => match prefetched.take() {
                Some(Err(e)) if e.status == StatusCode::GONE => Ok(Ok(Fetched::None)),
                Some(f) => Ok(f.map(Fetched::One)),
                None => Ok(Ok(Fetched::None)),
            },
            Interaction::Read => match prefetched.take() {
                Some(f) => Ok(f.map(Fetched::One)),
                None => {
                    tokio::task::spawn_blocking(move || {
                        store2
                            .read(&p, &rt, &id.unwrap_or_default(), vid, step_up)
                            .map(Fetched::One)
                    })
                    .await
                }
            },
            Interaction::Search => {
                tokio::task::spawn_blocking(move || {
                    let t = if rt == "Patient" {
                        Some("Patient")
                    } else {
                        Some(rt.as_str())
                    };
                    store2.search(&p, t, step_up).map(|all| match q {
                        Some(q) => {
                            let (total, page) = crate::search::apply(&q, all);
                            Fetched::Page(total, page)
                        }
                        None => Fetched::Many(all),
                    })
                })
                .await
            }
            _ => Ok(Ok(Fetched::None)),
        };
        match r {
            Ok(Ok(f)) => fetched = f,
            Ok(Err(e)) => return deny(e, patient).await,
            Err(_) => return deny(ApiError::internal(), patient).await,
        }
    } else if let (Backend::Upstream(up), Interaction::Search) = (&s.inner.backend, op.interaction)
    {
        match up.search(&op.rtype, &op.query).await {
            Ok(r) => fetched = Fetched::Upstream(r),
            Err(e) => return deny(e, patient).await,
        }
    }
    let labels: Vec<String> = match &fetched {
        Fetched::One(f) => f.labels.clone(),
        Fetched::Many(v) | Fetched::Page(_, v) => {
            v.iter().flat_map(|f| f.labels.iter().cloned()).collect()
        }
        Fetched::Upstream(r) => upstream_labels
            .take()
            .unwrap_or_else(|| crate::proxy::labels_of(&r.body)),
        Fetched::None => body_json
            .as_ref()
            .map(phiguard_vault::level::labels)
            .unwrap_or_default(),
    };
    let sensitive = phiguard_vault::level::is_sensitive(&labels);
    // From here to the ledger entry is the pipeline's own work again (with authentication:
    // what `phiguard_gateway_pipeline_seconds` measures); the fetch above is not.
    let t_decide = StdInstant::now();
    // 6. Relationship evidence from the monitor's context index (nothing learned yet).
    let now = now_unix();
    let address = caller.addr.map(|a| a.ip().to_string());
    let ev = AccessEvent {
        id: Cow::Borrowed("gateway"),
        recorded: phiguard_fhir::Instant {
            unix: now,
            offset: 0,
        },
        action: Cow::Borrowed(match op.interaction {
            Interaction::Create => "C",
            Interaction::Update => "U",
            Interaction::Delete => "D",
            _ => "R",
        }),
        subtype: Cow::Borrowed(match op.interaction {
            Interaction::Search => "search-type",
            _ => op.action,
        }),
        success: true,
        user: Cow::Borrowed(user.as_str()),
        address: address.as_deref().map(Cow::Borrowed),
        address_kind: if address.is_some() {
            AddressKind::Ip
        } else {
            AddressKind::Other
        },
        purposes: vec![Cow::Borrowed(purpose.as_str())],
        patient: Some(Cow::Borrowed(patient.as_str())),
        data_entities: 1,
        data_type: Some(Cow::Borrowed(op.rtype.as_str())),
    };
    let rel = s.relation(&user, &patient, now);
    let relation = rel.code();
    let direct = rel.is_direct();
    let risk = s.risk(&user, now);
    // 7. Policy decision.
    let ctx = DecisionContext {
        purpose: purpose.clone(),
        relation: relation.to_string(),
        direct_relation: direct,
        labels: labels.clone(),
        sensitive,
        hour: (now.rem_euclid(86_400) / 3600),
        network: network_of(caller.addr).to_string(),
        risk,
        protection_level: s.protection_level().to_string(),
        step_up,
        break_glass: false,
        resource_type: op.rtype.clone(),
    };
    let btg_requested = caller.btg.is_some() && (purpose == "BTG" || purpose == "ETREAT");
    let authz_action = match op.interaction {
        Interaction::Search => "search",
        Interaction::Create => "create",
        Interaction::Update => "update",
        Interaction::Delete => "delete",
        _ => "read",
    };
    let decision = s.inner.authz.decide(
        &user,
        &caller.claims.roles,
        authz_action,
        ("Patient", &patient),
        &ctx,
        btg_requested,
    );
    let served = matches!(decision, Decision::Allow | Decision::BreakGlass);
    // Served requests teach the monitor; refused ones are scored (they show up for auditors
    // and raise the user's risk) without becoming routine.
    let assessment = if served {
        Some(s.assess(&ev, now).0)
    } else {
        Some(s.assess_refused(&ev, now).0)
    };
    let alert = assessment.as_ref().is_some_and(|a| a.alert);
    let (outcome, err) = match &decision {
        Decision::Allow if alert => ("flagged", None),
        Decision::Allow => ("allowed", None),
        Decision::BreakGlass => ("flagged", None),
        Decision::StepUp => (
            "denied",
            Some(ApiError {
                www_authenticate: Some(
                    "Bearer error=\"insufficient_user_authentication\", acr_values=\"mfa\"",
                ),
                ..ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "security",
                    "step-up authentication required (token with amr=mfa)",
                )
            }),
        ),
        Decision::Deny(ids) => {
            tracing::info!(policies = ?ids, "request denied by policy");
            ("denied", Some(ApiError::new(StatusCode::FORBIDDEN, "forbidden",
                "access denied by policy: no treatment relationship found for this request. In an emergency, repeat it with header X-Purpose-Of-Use: BTG (or ETREAT) and X-Break-Glass-Reason: <why>; break-the-glass access is recorded and reviewed.")))
        }
    };
    match &decision {
        Decision::Allow => METRICS.allowed.inc(),
        Decision::BreakGlass => METRICS.break_glass.inc(),
        Decision::StepUp => METRICS.step_up.inc(),
        Decision::Deny(_) => METRICS.denied.inc(),
    }
    if alert {
        METRICS.alerts.inc();
    }
    let ledger_purpose = if matches!(decision, Decision::BreakGlass) {
        "break-glass"
    } else if short_code(&purpose) {
        purpose.as_str()
    } else {
        "UNSPECIFIED"
    };
    // 8. Audit before anything leaves.
    let detail = format!(
        "{}/{}{}",
        op.rtype,
        op.id.as_deref().unwrap_or(""),
        caller
            .btg
            .as_deref()
            .map(|r| format!(" btg:{r}"))
            .unwrap_or_default()
    );
    let rec = Record {
        actor: &user,
        patient: &patient,
        action: op.action,
        resource: &op.rtype,
        purpose: ledger_purpose,
        outcome,
        detail: Some(detail.as_bytes()),
    };
    let ta = StdInstant::now();
    let index = match s.inner.audit.append(&rec).await {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    METRICS.observe_pipeline((auth_time + t_decide.elapsed()).as_secs_f64());
    tracing::debug!(
        pre_audit_us = ta.duration_since(t_start).as_micros() as u64,
        audit_us = ta.elapsed().as_micros() as u64,
        "request stages"
    );
    s.inner.audit.remember(Scored {
        index,
        score: assessment.as_ref().map_or(0.0, |a| a.score),
        alert,
        reasons: assessment
            .as_ref()
            .map(|a| a.reasons.iter().map(|r| r.code().to_string()).collect())
            .unwrap_or_default(),
        relation: Some(
            assessment
                .as_ref()
                .and_then(|a| a.relation)
                .unwrap_or(rel)
                .code()
                .to_string(),
        ),
        break_glass: matches!(decision, Decision::BreakGlass),
    });
    if let Some(e) = err {
        return e.into_response();
    }
    // 9. Serve.
    let mut resp = match (fetched, op.interaction) {
        (_, Interaction::Delete) => {
            let Backend::Vault(store) = &s.inner.backend else {
                return ApiError::internal().into_response();
            };
            let store2 = store.clone();
            let (p, rt, id) = (
                patient.clone(),
                op.rtype.clone(),
                op.id.clone().unwrap_or_default(),
            );
            match tokio::task::spawn_blocking(move || store2.delete(&p, &rt, &id, now_unix())).await
            {
                Ok(Ok(d)) => {
                    let mut r = StatusCode::NO_CONTENT.into_response();
                    if let crate::store::Deleted::Version(v) = d {
                        if let Ok(h) = HeaderValue::from_str(&format!("W/\"{v}\"")) {
                            r.headers_mut().insert(header::ETAG, h);
                        }
                    }
                    r
                }
                Ok(Err(e)) => e.into_response(),
                Err(_) => ApiError::internal().into_response(),
            }
        }
        (Fetched::Page(total, page), _) => match &search_q {
            Some(q) => fhir_response(StatusCode::OK, &crate::search::bundle(q, total, page)),
            None => ApiError::internal().into_response(),
        },
        (Fetched::Many(v), Interaction::Read) => fhir_response(
            StatusCode::OK,
            &crate::search::history_bundle(&op.rtype, op.id.as_deref().unwrap_or_default(), v),
        ),
        (Fetched::One(f), _) => {
            let mut r = fhir_response(StatusCode::OK, &f.json);
            if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", f.version)) {
                r.headers_mut().insert(header::ETAG, v);
            }
            r
        }
        (Fetched::Many(v), _) => {
            let entries: Vec<serde_json::Value> = v
                .into_iter()
                .map(|f| json!({"resource": f.json, "search": {"mode": "match"}}))
                .collect();
            fhir_response(
                StatusCode::OK,
                &json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries}),
            )
        }
        (Fetched::Upstream(r), _) => r.into_response(),
        (Fetched::None, Interaction::Create | Interaction::Update) => {
            let mut v = body_json.unwrap_or_default();
            match &s.inner.backend {
                Backend::Vault(store) => {
                    let id = match (&op.id, v.get("id").and_then(|i| i.as_str())) {
                        (Some(id), _) => id.clone(),
                        (None, Some(id)) if valid_id(id) => id.to_string(),
                        (None, Some(_)) => {
                            return ApiError::invalid("id is not a FHIR id").into_response()
                        }
                        (None, None) => crate::token::new_jti(),
                    };
                    if let Some(o) = v.as_object_mut() {
                        o.insert("id".into(), json!(id));
                    }
                    let store2 = store.clone();
                    let rt = op.rtype.clone();
                    let p = patient.clone();
                    let id2 = id.clone();
                    let put = move || store2.put_stamped(&p, &rt, &id2, v, now_unix());
                    match tokio::task::spawn_blocking(put).await {
                        Ok(Ok((ver, v))) => {
                            let status = if op.interaction == Interaction::Create {
                                StatusCode::CREATED
                            } else {
                                StatusCode::OK
                            };
                            let mut r = fhir_response(status, &v);
                            if let Ok(h) = HeaderValue::from_str(&format!(
                                "/fhir/{}/{}/_history/{}",
                                op.rtype, id, ver
                            )) {
                                r.headers_mut().insert(header::LOCATION, h);
                            }
                            if let Ok(h) = HeaderValue::from_str(&format!("W/\"{ver}\"")) {
                                r.headers_mut().insert(header::ETAG, h);
                            }
                            r
                        }
                        Ok(Err(e)) => e.into_response(),
                        Err(_) => ApiError::internal().into_response(),
                    }
                }
                Backend::Upstream(up) => {
                    let method = if op.interaction == Interaction::Create {
                        Method::POST
                    } else {
                        Method::PUT
                    };
                    match up
                        .write(
                            method,
                            &op.rtype,
                            op.id.as_deref(),
                            v.to_string().into_bytes(),
                        )
                        .await
                    {
                        Ok(r) => r.into_response(),
                        Err(e) => e.into_response(),
                    }
                }
            }
        }
        (Fetched::None, _) => ApiError::internal().into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&index.to_string()) {
        resp.headers_mut().insert("x-phiguard-audit-index", v);
    }
    if matches!(decision, Decision::BreakGlass) {
        resp.headers_mut().insert(
            "x-phiguard-break-glass",
            HeaderValue::from_static("recorded; this access will be reviewed"),
        );
    }
    resp
}

async fn audit_events(
    State(s): State<GatewayState>,
    Query(q): Query<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let addr = client_addr(req.extensions());
    let caller = match crate::jwks::authenticate(&s, req.headers(), addr).await {
        Ok(c) => c,
        Err(e) => {
            METRICS.unauthenticated.inc();
            return refuse_unauthenticated(&s, addr, "search", "AuditEvent", e).await;
        }
    };
    let user = caller.claims.sub.clone();
    if scope::check(&caller.scopes, "AuditEvent", Interaction::Search).is_none() {
        return refuse(
            &s,
            &user,
            "",
            "search",
            "AuditEvent",
            &caller.purpose,
            ApiError::forbidden("token scopes do not cover AuditEvent search"),
        )
        .await;
    }
    let ctx = DecisionContext {
        purpose: caller.purpose.clone(),
        relation: "none".into(),
        direct_relation: false,
        labels: vec![],
        sensitive: false,
        hour: now_unix().rem_euclid(86_400) / 3600,
        network: network_of(addr).into(),
        risk: 0,
        protection_level: s.protection_level().to_string(),
        step_up: caller.claims.amr.iter().any(|m| m == "mfa" || m == "hwk"),
        break_glass: false,
        resource_type: "AuditEvent".into(),
    };
    let d = s.inner.authz.decide(
        &user,
        &caller.claims.roles,
        "audit",
        ("AuditTrail", "ledger"),
        &ctx,
        false,
    );
    if d != Decision::Allow {
        return refuse(
            &s,
            &user,
            "",
            "search",
            "AuditEvent",
            &caller.purpose,
            ApiError::forbidden("only auditors may read the audit trail"),
        )
        .await;
    }
    let alerts_only = q.iter().any(|(k, v)| k == "alert" && v == "true");
    let count = q
        .iter()
        .find(|(k, _)| k == "_count")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(50)
        .min(500);
    let purpose = if short_code(&caller.purpose) {
        caller.purpose.clone()
    } else {
        "UNSPECIFIED".into()
    };
    let rec = Record {
        actor: &user,
        patient: "",
        action: "search",
        resource: "AuditEvent",
        purpose: &purpose,
        outcome: "allowed",
        detail: None,
    };
    if let Err(e) = s.inner.audit.append(&rec).await {
        return e.into_response();
    }
    // Read under a checkpoint that covers every entry acknowledged so far.
    if let Err(e) = s.inner.audit.flush().await {
        return e.into_response();
    }
    let dir = s.inner.ledger_dir.clone();
    let audit = s.clone();
    let events = tokio::task::spawn_blocking(move || -> Vec<serde_json::Value> {
        let Ok(reader) = phiguard_ledger::LedgerReader::open(&dir) else {
            return vec![];
        };
        let size = reader.checkpoint().map(|(c, _)| c.size).unwrap_or(0);
        let mut out = Vec::new();
        if alerts_only {
            for sc in audit.inner.audit.recent(true, count) {
                if let Some(e) = reader
                    .entry(sc.index)
                    .ok()
                    .and_then(|b| phiguard_ledger::entry::AccessEntry::from_bytes(&b).ok())
                {
                    out.push(crate::audit::to_audit_event(sc.index, &e, Some(&sc)));
                }
            }
        } else {
            let mut i = size;
            while i > 0 && out.len() < count {
                i -= 1;
                if let Some(e) = reader
                    .entry(i)
                    .ok()
                    .and_then(|b| phiguard_ledger::entry::AccessEntry::from_bytes(&b).ok())
                {
                    out.push(crate::audit::to_audit_event(
                        i,
                        &e,
                        audit.inner.audit.scored(i).as_ref(),
                    ));
                }
            }
        }
        out
    })
    .await
    .unwrap_or_default();
    let entries: Vec<serde_json::Value> =
        events.into_iter().map(|e| json!({"resource": e})).collect();
    fhir_response(
        StatusCode::OK,
        &json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries}),
    )
}

/// An empty body.
pub fn empty() -> Body {
    Body::empty()
}
