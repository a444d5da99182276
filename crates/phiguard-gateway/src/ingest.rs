//! Ingest of external audit trails: `POST /ingest/audit` with AuditEvent JSON (one object or
//! an array) or NDJSON, and a syslog receiver (RFC 5424 over UDP, or TCP with RFC 6587
//! octet counting / newline framing). Every event is scored by the monitor and appended to the
//! ledger (pseudonymized); rejected lines are reported with their line numbers.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};

use crate::audit::{Record, Scored};
use crate::error::ApiError;
use crate::idempotency::KeyState;
use crate::metrics::METRICS;
use crate::scope::{self, Interaction};
use crate::state::GatewayState;

/// One rejected input line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejected {
    /// 1-based line (or array index + 1).
    pub line: usize,
    /// Why (names the field; no content).
    pub error: String,
}

/// One scored event.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredLine {
    /// 1-based line.
    pub line: usize,
    /// Monitor score (bits).
    pub score: f64,
    /// Alert.
    pub alert: bool,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Ledger index.
    pub ledger_index: u64,
}

/// An event dropped as a duplicate of one already recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Duplicate {
    /// 1-based line.
    pub line: usize,
    /// Ledger index of the first copy (`None` while another request is recording it).
    pub ledger_index: Option<u64>,
}

/// Result of an ingest batch.
#[derive(Debug, Clone, Serialize, Default)]
pub struct IngestReport {
    /// Events accepted.
    pub accepted: usize,
    /// Events already recorded (same submitter and `AuditEvent.id` within the window).
    pub duplicates: Vec<Duplicate>,
    /// Lines rejected.
    pub rejected: Vec<Rejected>,
    /// Events that raised an alert.
    pub alerts: Vec<ScoredLine>,
}

/// Splits a body into lines: a JSON array becomes one line per element; otherwise NDJSON. A
/// leading byte-order mark is ignored.
pub fn split_lines(body: &str) -> Result<Vec<(usize, String)>, Rejected> {
    let body = phiguard_fhir::without_bom(1, body);
    let t = body.trim_start();
    if t.starts_with('[') {
        let v: Vec<serde_json::Value> = serde_json::from_str(t).map_err(|e| Rejected {
            line: e.line(),
            error: format!("not a JSON array of AuditEvents (column {})", e.column()),
        })?;
        return Ok(v
            .iter()
            .enumerate()
            .map(|(i, e)| (i + 1, e.to_string()))
            .collect());
    }
    Ok(body
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect())
}

/// Scores and records lines from the syslog receivers; returns the report.
///
/// # Errors
/// 503 when the ledger cannot take an event (earlier ones are recorded).
pub async fn ingest_lines(
    s: &GatewayState,
    lines: Vec<(usize, String)>,
) -> Result<IngestReport, ApiError> {
    ingest_lines_from(s, "syslog", lines).await
}

/// Scores and records lines of `submitter`, dropping events it already sent (see
/// [`crate::idempotency`]); returns the report.
///
/// # Errors
/// 503 when the ledger cannot take an event (earlier ones are recorded, and recognised as
/// duplicates when the batch is retried).
pub async fn ingest_lines_from(
    s: &GatewayState,
    submitter: &str,
    lines: Vec<(usize, String)>,
) -> Result<IngestReport, ApiError> {
    use crate::idempotency::Seen;
    let mut rep = IngestReport::default();
    for (n, line) in lines {
        let ev = match phiguard_fhir::parse_audit_event(&line) {
            Ok(ev) => ev,
            Err(e) => {
                METRICS.ingest_rejected.inc();
                rep.rejected.push(Rejected {
                    line: n,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let (seen, key) = s.inner.dedupe.check_event(submitter, &ev.id);
        match seen {
            Seen::New => {}
            Seen::Recorded(i) => {
                rep.duplicates.push(Duplicate {
                    line: n,
                    ledger_index: Some(i),
                });
                continue;
            }
            Seen::InFlight => {
                rep.duplicates.push(Duplicate {
                    line: n,
                    ledger_index: None,
                });
                continue;
            }
        }
        let (a, _) = s.assess(&ev, ev.recorded.unix);
        let purpose = ev
            .purposes
            .first()
            .map(|p| p.to_string())
            .filter(|p| {
                !p.is_empty()
                    && p.len() <= 64
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .unwrap_or_else(|| "UNSPECIFIED".into());
        let action = match ev.action.as_ref() {
            "C" => "create",
            "U" => "update",
            "D" => "delete",
            "R" => "read",
            _ => "execute",
        };
        let outcome = if a.alert {
            "flagged"
        } else if ev.success {
            "allowed"
        } else {
            "denied"
        };
        let rec = Record {
            actor: &ev.user,
            patient: ev.patient.as_deref().unwrap_or(""),
            action,
            resource: "AuditEvent",
            purpose: &purpose,
            outcome,
            detail: Some(ev.id.as_bytes()),
        };
        let index = match s.inner.audit.append(&rec).await {
            Ok(i) => i,
            Err(e) => {
                if let Some(k) = key {
                    s.inner.dedupe.release(k);
                }
                return Err(e);
            }
        };
        if let Some(k) = key {
            s.inner.dedupe.commit(k, index);
        }
        METRICS.ingested.inc();
        if a.alert {
            METRICS.alerts.inc();
        }
        let reasons: Vec<String> = a.reasons.iter().map(|r| r.code().to_string()).collect();
        s.inner.audit.remember(Scored {
            index,
            score: a.score,
            alert: a.alert,
            reasons: reasons.clone(),
            relation: a.relation.map(|r| r.code().to_string()),
            break_glass: false,
        });
        rep.accepted += 1;
        if a.alert {
            rep.alerts.push(ScoredLine {
                line: n,
                score: (a.score * 100.0).round() / 100.0,
                alert: true,
                reasons,
                ledger_index: index,
            });
        }
    }
    Ok(rep)
}

/// `POST /ingest/audit` (scope `system/AuditEvent.c` or `user/AuditEvent.c`).
pub async fn ingest_http(State(s): State<GatewayState>, req: Request) -> Response {
    let addr = crate::app::client_addr(req.extensions());
    let caller = match crate::jwks::authenticate(&s, req.headers(), addr).await {
        Ok(c) => c,
        Err(e) => {
            METRICS.unauthenticated.inc();
            return crate::app::refuse_unauthenticated(&s, addr, "ingest", "AuditEvent", e).await;
        }
    };
    let user = caller.claims.sub.clone();
    if scope::check(&caller.scopes, "AuditEvent", Interaction::Create).is_none() {
        return refuse(
            &s,
            &user,
            ApiError::forbidden("token scopes do not cover AuditEvent create"),
        )
        .await;
    }
    let idem_key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().ok().filter(|k| crate::idempotency::valid_key(k)) {
            Some(k) => Some(k.to_string()),
            None => {
                let e = ApiError::invalid(
                    "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
                );
                return refuse(&s, &user, e).await;
            }
        },
    };
    let limit = s.inner.config.max_body_bytes;
    let body = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                &s,
                &user,
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-long",
                    format!("body larger than {limit} bytes"),
                ),
            )
            .await
        }
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(&s, &user, ApiError::invalid("body is not UTF-8")).await;
    };
    let lines = match split_lines(text) {
        Ok(l) => l,
        Err(r) => {
            return refuse(
                &s,
                &user,
                ApiError::invalid(format!("line {}: {}", r.line, r.error)),
            )
            .await
        }
    };
    let idem_key = match idem_key {
        None => None,
        Some(k) => match s.inner.dedupe.begin_key(&user, &k, &body) {
            KeyState::Run => Some(k),
            KeyState::Replay(status, text) => {
                let rec = Record {
                    actor: &user,
                    patient: "",
                    action: "ingest",
                    resource: "AuditEvent",
                    purpose: "idempotent-replay",
                    outcome: "allowed",
                    detail: None,
                };
                if let Err(e) = s.inner.audit.append(&rec).await {
                    return e.into_response();
                }
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let mut r = (status, text).into_response();
                r.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                );
                r.headers_mut().insert(
                    "idempotent-replayed",
                    axum::http::HeaderValue::from_static("true"),
                );
                return r;
            }
            KeyState::Mismatch => {
                let e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "conflict",
                    "Idempotency-Key was already used with a different body",
                );
                return refuse(&s, &user, e).await;
            }
            KeyState::Running => {
                let e = ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "a request with this Idempotency-Key is still being processed",
                );
                return refuse(&s, &user, e).await;
            }
        },
    };
    match ingest_lines_from(&s, &user, lines).await {
        Ok(rep) => {
            let status = if rep.accepted == 0 && !rep.rejected.is_empty() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            let text = serde_json::to_string(&rep).unwrap_or_default();
            if let Some(k) = &idem_key {
                s.inner
                    .dedupe
                    .finish_key(&user, k, Some((status.as_u16(), text.clone())));
            }
            let mut r = (status, text).into_response();
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => {
            if let Some(k) = &idem_key {
                s.inner.dedupe.finish_key(&user, k, None);
            }
            e.into_response()
        }
    }
}

async fn refuse(s: &GatewayState, actor: &str, e: ApiError) -> Response {
    let rec = Record {
        actor,
        patient: "",
        action: "ingest",
        resource: "AuditEvent",
        purpose: "UNSPECIFIED",
        outcome: "denied",
        detail: None,
    };
    match s.inner.audit.append(&rec).await {
        Ok(_) => e.into_response(),
        Err(e2) => e2.into_response(),
    }
}

/// Syslog parse errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyslogError {
    /// Bad or missing `<PRI>`.
    #[error("syslog: bad PRI at byte 0")]
    Pri,
    /// Version is not 1.
    #[error("syslog: version is not 1")]
    Version,
    /// A header field is missing.
    #[error("syslog: header field `{0}` missing")]
    Field(&'static str),
    /// Structured data is malformed.
    #[error("syslog: malformed structured data")]
    StructuredData,
    /// No message.
    #[error("syslog: empty message")]
    Empty,
}

/// Parses an RFC 5424 message and returns its MSG part (BOM stripped).
///
/// # Errors
/// A [`SyslogError`] naming the part that is wrong.
pub fn parse_rfc5424(msg: &str) -> Result<&str, SyslogError> {
    let rest = msg.strip_prefix('<').ok_or(SyslogError::Pri)?;
    let close = rest.find('>').ok_or(SyslogError::Pri)?;
    let pri = &rest[..close];
    if pri.is_empty()
        || pri.len() > 3
        || !pri.bytes().all(|b| b.is_ascii_digit())
        || pri.parse::<u16>().map_or(true, |p| p > 191)
    {
        return Err(SyslogError::Pri);
    }
    let rest = &rest[close + 1..];
    let rest = rest.strip_prefix("1 ").ok_or(SyslogError::Version)?;
    let mut rest = rest;
    for name in ["timestamp", "hostname", "app-name", "procid", "msgid"] {
        let sp = rest.find(' ').ok_or(SyslogError::Field(name))?;
        if sp == 0 {
            return Err(SyslogError::Field(name));
        }
        rest = &rest[sp + 1..];
    }
    // Structured data.
    let rest = if let Some(r) = rest.strip_prefix('-') {
        r
    } else if rest.starts_with('[') {
        let b = rest.as_bytes();
        let mut i = 0;
        while i < b.len() && b[i] == b'[' {
            i += 1;
            let mut in_quote = false;
            loop {
                let Some(&c) = b.get(i) else {
                    return Err(SyslogError::StructuredData);
                };
                match c {
                    b'\\' if in_quote => i += 1,
                    b'"' => in_quote = !in_quote,
                    b']' if !in_quote => break,
                    _ => {}
                }
                i += 1;
            }
            i += 1;
        }
        rest.get(i..).ok_or(SyslogError::StructuredData)?
    } else {
        return Err(SyslogError::StructuredData);
    };
    let m = rest.strip_prefix(' ').unwrap_or(rest);
    let m = m
        .strip_prefix('\u{feff}')
        .unwrap_or(m)
        .trim_end_matches(['\r', '\n']);
    if m.trim().is_empty() {
        return Err(SyslogError::Empty);
    }
    Ok(m)
}

async fn ingest_syslog(s: &GatewayState, msg: &str, counter: &mut usize) {
    *counter += 1;
    match parse_rfc5424(msg) {
        Ok(m) => {
            if let Err(e) = ingest_lines(s, vec![(*counter, m.to_string())]).await {
                // Ledger overloaded: syslog has no back-pressure, the event is dropped and
                // counted (the sender's own audit store still holds it).
                METRICS.ingest_rejected.inc();
                tracing::warn!(status = %e.status, "syslog event not recorded");
            }
        }
        Err(e) => {
            METRICS.ingest_rejected.inc();
            tracing::info!(message = *counter, error = %e, "syslog message rejected");
        }
    }
}

/// Receives RFC 5424 datagrams until the socket fails.
pub async fn syslog_udp(s: GatewayState, sock: tokio::net::UdpSocket) {
    let mut buf = vec![0u8; 65_536];
    let mut n = 0usize;
    while let Ok((len, _)) = sock.recv_from(&mut buf).await {
        if let Ok(text) = std::str::from_utf8(&buf[..len]) {
            ingest_syslog(&s, text, &mut n).await;
        } else {
            METRICS.ingest_rejected.inc();
        }
    }
}

/// Reads RFC 6587 framed syslog messages (octet counting `LEN SP MSG`, or newline framing)
/// from one connection until it ends or misbehaves.
pub async fn syslog_stream<S: tokio::io::AsyncRead + Unpin>(s: GatewayState, conn: S) {
    let mut r = BufReader::new(conn);
    let mut n = 0usize;
    loop {
        let mut first = [0u8; 1];
        if r.read_exact(&mut first).await.is_err() {
            break;
        }
        if first[0].is_ascii_digit() {
            let mut len = u64::from(first[0] - b'0');
            loop {
                let mut c = [0u8; 1];
                if r.read_exact(&mut c).await.is_err() {
                    return;
                }
                match c[0] {
                    b' ' => break,
                    d @ b'0'..=b'9' if len < 1_000_000 => len = len * 10 + u64::from(d - b'0'),
                    _ => return,
                }
            }
            let mut msg = vec![0u8; usize::try_from(len).unwrap_or(0)];
            if r.read_exact(&mut msg).await.is_err() {
                return;
            }
            match String::from_utf8(msg) {
                Ok(t) => ingest_syslog(&s, &t, &mut n).await,
                Err(_) => METRICS.ingest_rejected.inc(),
            }
        } else {
            let mut line = vec![first[0]];
            let mut limited = (&mut r).take(1_000_000);
            if limited.read_until(b'\n', &mut line).await.is_err() {
                return;
            }
            match String::from_utf8(line) {
                Ok(t) => ingest_syslog(&s, &t, &mut n).await,
                Err(_) => METRICS.ingest_rejected.inc(),
            }
        }
    }
}

/// Accepts TCP syslog connections (loopback: the caller binds it).
pub async fn syslog_tcp(s: GatewayState, listener: tokio::net::TcpListener) {
    while let Ok((conn, _)) = listener.accept().await {
        tokio::spawn(syslog_stream(s.clone(), conn));
    }
}

/// Accepts syslog over TLS (RFC 5425: TLS, then octet-counted messages).
pub async fn syslog_tls(
    s: GatewayState,
    listener: tokio::net::TcpListener,
    tls: std::sync::Arc<tokio_rustls::rustls::ServerConfig>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    while let Ok((conn, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let s = s.clone();
        tokio::spawn(async move {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(conn))
                    .await
            {
                syslog_stream(s, stream).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_examples() {
        // RFC 5424 section 6.5 example 1 and 3 shapes.
        assert_eq!(parse_rfc5424("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed").unwrap(), "'su root' failed");
        assert_eq!(
            parse_rfc5424("<165>1 2003-10-11T22:14:15.003Z host app - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]\"][x@1 a=\"b\"] {\"a\":1}").unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(parse_rfc5424("<34>2 x"), Err(SyslogError::Version));
        assert_eq!(parse_rfc5424("<999>1 a b c d e - m"), Err(SyslogError::Pri));
        assert_eq!(parse_rfc5424("<34>1 a b c d e - "), Err(SyslogError::Empty));
        assert_eq!(
            parse_rfc5424("<34>1 a b c d e [x m"),
            Err(SyslogError::StructuredData)
        );
    }

    #[test]
    fn split_json_array_and_ndjson() {
        assert_eq!(split_lines("[{\"a\":1},{\"b\":2}]").unwrap().len(), 2);
        let l = split_lines("{}\n\n{}\n").unwrap();
        assert_eq!(l.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![1, 3]);
        assert!(split_lines("[{").is_err());
        assert_eq!(split_lines("\u{feff}{}\r\n{}").unwrap().len(), 2);
        assert_eq!(split_lines("\u{feff}[{}]").unwrap().len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_syslog_never_panics(s in ".{0,200}") {
            let _ = parse_rfc5424(&s);
        }
    }
}
