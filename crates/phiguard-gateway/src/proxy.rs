//! Proxy mode: the same pipeline in front of an upstream FHIR server (reqwest, rustls).
//! Responses are fetched first, decided on, audited, and only then released.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The upstream FHIR server.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    base: String,
}

/// A response from the upstream, held until the decision.
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    /// Status.
    pub status: StatusCode,
    /// Body.
    pub body: Bytes,
    /// Content type.
    pub content_type: Option<String>,
    /// Location header (create).
    pub location: Option<String>,
}

impl IntoResponse for UpstreamResponse {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body).into_response();
        let ct = self
            .content_type
            .as_deref()
            .unwrap_or(crate::error::FHIR_JSON);
        if let Ok(v) = HeaderValue::from_str(ct) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        if let Some(l) = self
            .location
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            r.headers_mut().insert(header::LOCATION, l);
        }
        r
    }
}

fn upstream_err(_e: reqwest::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "transient",
        "upstream FHIR server unavailable",
    )
}

impl Upstream {
    /// An upstream at `base` (e.g. `http://127.0.0.1:8080/fhir`).
    ///
    /// # Errors
    /// Invalid URL scheme.
    pub fn new(base: &str) -> Result<Self, crate::error::SetupError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(crate::error::SetupError::Config(
                "upstream must be an http(s) URL".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| crate::error::SetupError::Config(format!("http client: {e}")))?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    async fn finish(r: reqwest::Response) -> Result<UpstreamResponse, ApiError> {
        let status = StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let content_type = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r.bytes().await.map_err(upstream_err)?;
        Ok(UpstreamResponse {
            status,
            body,
            content_type,
            location,
        })
    }

    /// GET `[base]/Type/id[/_history/vid]` (ids are validated FHIR ids before this).
    ///
    /// # Errors
    /// 502 when the upstream cannot be reached.
    pub async fn fetch(
        &self,
        rtype: &str,
        id: &str,
        vid: Option<u64>,
    ) -> Result<UpstreamResponse, ApiError> {
        let url = match vid {
            Some(v) => format!("{}/{rtype}/{id}/_history/{v}", self.base),
            None => format!("{}/{rtype}/{id}", self.base),
        };
        let r = self
            .client
            .get(url)
            .header("accept", crate::error::FHIR_JSON)
            .send()
            .await
            .map_err(upstream_err)?;
        Self::finish(r).await
    }

    /// GET `[base]/Type?query` with the validated query pairs.
    ///
    /// # Errors
    /// 502 when the upstream cannot be reached.
    pub async fn search(
        &self,
        rtype: &str,
        query: &[(String, String)],
    ) -> Result<UpstreamResponse, ApiError> {
        let r = self
            .client
            .get(format!("{}/{rtype}", self.base))
            .query(query)
            .header("accept", crate::error::FHIR_JSON)
            .send()
            .await
            .map_err(upstream_err)?;
        Self::finish(r).await
    }

    /// POST (create) or PUT (update) a resource.
    ///
    /// # Errors
    /// 502 when the upstream cannot be reached.
    pub async fn write(
        &self,
        method: Method,
        rtype: &str,
        id: Option<&str>,
        body: Vec<u8>,
    ) -> Result<UpstreamResponse, ApiError> {
        let url = match id {
            Some(id) => format!("{}/{rtype}/{id}", self.base),
            None => format!("{}/{rtype}", self.base),
        };
        let m = if method == Method::PUT {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let r = self
            .client
            .request(m, url)
            .header("content-type", crate::error::FHIR_JSON)
            .body(body)
            .send()
            .await
            .map_err(upstream_err)?;
        Self::finish(r).await
    }
}

/// Security labels of a resource or of every resource in a Bundle.
pub fn labels_of(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => labels_of_value(&v),
        Err(_) => vec![],
    }
}

/// [`labels_of`] for a body already parsed.
pub fn labels_of_value(v: &serde_json::Value) -> Vec<String> {
    let mut out = phiguard_vault::level::labels(v);
    if let Some(entries) = v.get("entry").and_then(|e| e.as_array()) {
        for e in entries {
            if let Some(r) = e.get("resource") {
                out.extend(phiguard_vault::level::labels(r));
            }
        }
    }
    out
}
