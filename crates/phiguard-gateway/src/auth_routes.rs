//! HTTP routes of local accounts (see [`crate::accounts`]):
//!
//! * `POST /auth/login` `{"username": ..., "password": ...}` -> a session bearer token;
//! * `POST /auth/logout` revokes the session that makes the request;
//! * `GET /auth/sessions` lists the caller's live sessions (`admin` role: `?user=LOGIN` or
//!   `?all=true`);
//! * `DELETE /auth/sessions/{id}` revokes one (own, or any for `admin`).
//!
//! Every call is appended to the ledger like any other request, refusals included. Failed
//! logins draw on the per-address budget of failed authentications (429 beyond it) and on
//! the account's lockout (429 with `Retry-After` while locked).

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{LockoutPolicy, LoginError, SESSION_ISSUER};
use crate::app::{client_addr, now_unix, refuse, short_code};
use crate::audit::Record;
use crate::error::ApiError;
use crate::metrics::METRICS;
use crate::state::{Budget, GatewayState};
use crate::token::Claims;

/// Largest login body, bytes.
const MAX_LOGIN_BODY: usize = 8 * 1024;

/// The account routes.
pub fn routes() -> Router<GatewayState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/sessions", get(list_sessions))
        .route("/auth/sessions/{id}", delete(revoke_session))
}

/// The claims a live session stands for (`None` when unknown, revoked, expired or its
/// account is disabled).
pub fn session_claims(s: &GatewayState, token: &str, now: i64) -> Option<Claims> {
    let u = s.inner.accounts.session(token, now)?;
    Some(Claims {
        iss: SESSION_ISSUER.into(),
        sub: u.login,
        aud: s.inner.config.audience.clone(),
        exp: u.expires,
        iat: u.created,
        jti: format!("session-{}", u.id),
        scope: u.scope,
        purpose_of_use: None,
        tenant: None,
        patient: None,
        roles: u.roles,
        amr: vec!["pwd".into()],
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Appends an allowed entry; the error response (503) when the ledger cannot take it.
async fn audit_ok(
    s: &GatewayState,
    actor: &str,
    action: &str,
    purpose: &str,
) -> Result<u64, Response> {
    let purpose = if short_code(purpose) {
        purpose
    } else {
        "UNSPECIFIED"
    };
    let rec = Record {
        actor,
        patient: "",
        action,
        resource: "Session",
        purpose,
        outcome: "allowed",
        detail: None,
    };
    s.inner
        .audit
        .append(&rec)
        .await
        .map_err(IntoResponse::into_response)
}

/// Whether the address has no failed-authentication budget left (read only).
fn over_budget(s: &GatewayState, ip: Option<std::net::IpAddr>) -> bool {
    let rate = s.inner.config.auth_failures_per_sec.max(0.1);
    let burst = rate * 5.0;
    let now = std::time::Instant::now();
    s.inner.auth_failures.lock().is_ok_and(|m| {
        m.get(&ip).is_some_and(|(tokens, last, _)| {
            (tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst) < 1.0
        })
    })
}

async fn throttled(
    s: &GatewayState,
    actor: &str,
    audit: bool,
    retry_after: u64,
    msg: &str,
) -> Response {
    METRICS.rate_limited.inc();
    let e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "throttled", msg);
    let mut r = if audit {
        refuse(s, actor, "", "login", "Session", "rate-limited", e).await
    } else {
        e.into_response()
    };
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

async fn login(State(s): State<GatewayState>, req: Request) -> Response {
    let addr = client_addr(req.extensions());
    let ip = addr.map(|a| a.ip());
    if over_budget(&s, ip) {
        let audit = matches!(s.auth_failure_budget(ip), Budget::Exceeded { audit: true });
        return throttled(
            &s,
            "anonymous",
            audit,
            1,
            "too many failed authentications from this address",
        )
        .await;
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_LOGIN_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-long",
                format!("login body larger than {MAX_LOGIN_BODY} bytes"),
            );
            return refuse(&s, "anonymous", "", "login", "Session", "-", e).await;
        }
    };
    let Ok(b) = serde_json::from_slice::<LoginBody>(&body) else {
        let e = ApiError::invalid(
            "login body must be JSON {\"username\": \"...\", \"password\": \"...\"}",
        );
        return refuse(&s, "anonymous", "", "login", "Session", "-", e).await;
    };
    let accounts_ok = crate::accounts::valid_login(&b.username);
    // The actor is the login only when it names an account (an unknown name could be a
    // mistyped password; it is pseudonymised in the ledger all the same).
    let actor = if accounts_ok && s.inner.accounts.exists(&b.username) {
        b.username.clone()
    } else {
        "anonymous".to_string()
    };
    let Ok(permit) = s.inner.accounts.hashing_permits().acquire_owned().await else {
        return ApiError::internal().into_response();
    };
    let policy = LockoutPolicy {
        max_failures: s.inner.config.login_max_failures.max(1),
        base_secs: s.inner.config.login_lockout_secs.max(1),
        ..LockoutPolicy::default()
    };
    let ttl = s.inner.config.session_ttl_secs;
    let s2 = s.clone();
    let LoginBody { username, password } = b;
    let res = tokio::task::spawn_blocking(move || {
        let r = s2
            .inner
            .accounts
            .login(&username, &password, now_unix(), ttl, &policy);
        drop(permit);
        r
    })
    .await
    .unwrap_or(Err(LoginError::Internal));
    match res {
        Ok(sess) => {
            if let Err(r) = audit_ok(&s, &actor, "login", "-").await {
                // Not audited: the session must not exist.
                let _ = s.inner.accounts.revoke(&sess.id, None);
                return r;
            }
            json_response(
                StatusCode::OK,
                &json!({
                    "token_type": "Bearer",
                    "access_token": sess.token,
                    "session_id": sess.id,
                    "expires_at": sess.expires,
                }),
            )
        }
        Err(LoginError::Locked { retry_after }) => {
            throttled(
                &s,
                &actor,
                true,
                retry_after,
                "account temporarily locked after failed logins; try again later",
            )
            .await
        }
        Err(LoginError::Invalid) => {
            METRICS.unauthenticated.inc();
            tracing::info!("login refused");
            let e = ApiError::unauthorized("invalid credentials");
            match s.auth_failure_budget(ip) {
                Budget::Ok => refuse(&s, &actor, "", "login", "Session", "-", e).await,
                Budget::Exceeded { audit } => {
                    throttled(
                        &s,
                        &actor,
                        audit,
                        1,
                        "too many failed authentications from this address",
                    )
                    .await
                }
            }
        }
        Err(LoginError::Internal) => {
            tracing::error!("account database failure during login");
            refuse(
                &s,
                &actor,
                "",
                "login",
                "Session",
                "-",
                ApiError::internal(),
            )
            .await
        }
    }
}

async fn logout(State(s): State<GatewayState>, req: Request) -> Response {
    let addr = client_addr(req.extensions());
    let caller = match crate::jwks::authenticate(&s, req.headers(), addr).await {
        Ok(c) => c,
        Err(e) => {
            METRICS.unauthenticated.inc();
            return crate::app::refuse_unauthenticated(&s, addr, "logout", "Session", e).await;
        }
    };
    let user = caller.claims.sub.clone();
    let Some(id) = caller.claims.jti.strip_prefix("session-") else {
        let e = ApiError::invalid("logout needs a session token (from /auth/login)");
        return refuse(&s, &user, "", "logout", "Session", &caller.purpose, e).await;
    };
    if let Err(r) = audit_ok(&s, &user, "logout", &caller.purpose).await {
        return r;
    }
    match s.inner.accounts.revoke(id, Some(&user)) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => ApiError::internal().into_response(),
    }
}

fn is_admin(c: &crate::app::Caller) -> bool {
    c.claims.roles.iter().any(|r| r == "admin")
}

async fn list_sessions(
    State(s): State<GatewayState>,
    Query(q): Query<Vec<(String, String)>>,
    req: Request,
) -> Response {
    let addr = client_addr(req.extensions());
    let caller = match crate::jwks::authenticate(&s, req.headers(), addr).await {
        Ok(c) => c,
        Err(e) => {
            METRICS.unauthenticated.inc();
            return crate::app::refuse_unauthenticated(&s, addr, "search", "Session", e).await;
        }
    };
    let user = caller.claims.sub.clone();
    let mut target = Some(user.clone());
    for (k, v) in &q {
        match k.as_str() {
            "user" | "all" if !is_admin(&caller) => {
                let e = ApiError::forbidden("only admins may list other users' sessions");
                return refuse(&s, &user, "", "search", "Session", &caller.purpose, e).await;
            }
            "user" if crate::accounts::valid_login(v) => target = Some(v.clone()),
            "all" if v == "true" => target = None,
            _ => {
                let e = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "not-supported",
                    "unsupported parameter (supported: user=LOGIN, all=true)",
                );
                return refuse(&s, &user, "", "search", "Session", &caller.purpose, e).await;
            }
        }
    }
    if let Err(r) = audit_ok(&s, &user, "search", &caller.purpose).await {
        return r;
    }
    let current = caller.claims.jti.strip_prefix("session-");
    match s.inner.accounts.sessions(target.as_deref(), now_unix()) {
        Ok(list) => {
            let items: Vec<serde_json::Value> = list
                .into_iter()
                .map(|x| {
                    json!({
                        "id": x.id,
                        "user": x.login,
                        "created": x.created,
                        "expires": x.expires,
                        "current": Some(x.id.as_str()) == current,
                    })
                })
                .collect();
            json_response(StatusCode::OK, &json!({ "sessions": items }))
        }
        Err(_) => ApiError::internal().into_response(),
    }
}

async fn revoke_session(
    State(s): State<GatewayState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let addr = client_addr(req.extensions());
    let caller = match crate::jwks::authenticate(&s, req.headers(), addr).await {
        Ok(c) => c,
        Err(e) => {
            METRICS.unauthenticated.inc();
            return crate::app::refuse_unauthenticated(&s, addr, "delete", "Session", e).await;
        }
    };
    let user = caller.claims.sub.clone();
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let e = ApiError::invalid("session id must be 32 hex digits");
        return refuse(&s, &user, "", "delete", "Session", &caller.purpose, e).await;
    }
    let owner = (!is_admin(&caller)).then_some(user.as_str());
    match s.inner.accounts.revoke(&id, owner) {
        Ok(true) => match audit_ok(&s, &user, "delete", &caller.purpose).await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(r) => r,
        },
        Ok(false) => {
            refuse(
                &s,
                &user,
                "",
                "delete",
                "Session",
                &caller.purpose,
                ApiError::not_found(),
            )
            .await
        }
        Err(_) => ApiError::internal().into_response(),
    }
}
