//! Read-only HTTP serving of a ledger directory per C2SP tlog-tiles: `GET /checkpoint`
//! (`text/plain; charset=utf-8`, `Cache-Control: no-cache`) and `GET /tile/...` (octet-stream;
//! full tiles and bundles immutable for a year, partial ones one minute). Only paths that
//! parse as tile paths are served, so nothing else in the directory (the key!) is reachable.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path as AxPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::tile::TileId;

/// Cache-Control of full tiles and bundles.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache-Control of partial tiles and bundles.
pub const PARTIAL: &str = "public, max-age=60";
/// Cache-Control of the checkpoint.
pub const CHECKPOINT: &str = "no-cache";

/// A router serving `dir`'s checkpoint and tiles; mount it under the log's prefix.
pub fn tiles_router(dir: impl Into<PathBuf>) -> Router {
    let dir = Arc::new(dir.into());
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*rest}", get(tile))
        .with_state(dir)
}

async fn checkpoint(State(dir): State<Arc<PathBuf>>) -> Response {
    match tokio::fs::read(dir.join("checkpoint")).await {
        Ok(data) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, CHECKPOINT),
            ],
            data,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no checkpoint\n").into_response(),
    }
}

async fn tile(State(dir): State<Arc<PathBuf>>, AxPath(rest): AxPath<String>) -> Response {
    let rel = format!("tile/{rest}");
    let Ok(id) = TileId::parse(&rel) else {
        return (StatusCode::NOT_FOUND, "not a tile path\n").into_response();
    };
    // Re-encode from the parsed id: the file path never contains user-controlled text.
    match tokio::fs::read(dir.join(id.path())).await {
        Ok(data) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CACHE_CONTROL,
                    if id.is_full() { IMMUTABLE } else { PARTIAL },
                ),
            ],
            data,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such tile\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Ledger, SyncMode};
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    async fn get_path(app: &Router, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
        let resp = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let cc = resp
            .headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, cc, body.to_vec())
    }

    #[tokio::test]
    async fn serves_tiles_with_cache_headers_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/http").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let e: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        l.append_batch(&e).unwrap();
        let app = tiles_router(dir.path());
        let (s, cc, body) = get_path(&app, "/checkpoint").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(cc.as_deref(), Some(CHECKPOINT));
        assert_eq!(body, l.checkpoint().as_bytes());
        let (s, cc, body) = get_path(&app, "/tile/0/000").await;
        assert_eq!(
            (s, cc.as_deref(), body.len()),
            (StatusCode::OK, Some(IMMUTABLE), 8192)
        );
        let (s, cc, body) = get_path(&app, "/tile/0/001.p/44").await;
        assert_eq!(
            (s, cc.as_deref(), body.len()),
            (StatusCode::OK, Some(PARTIAL), 44 * 32)
        );
        let (s, _, _) = get_path(&app, "/tile/entries/000").await;
        assert_eq!(s, StatusCode::OK);
        for bad in [
            "/tile/../log-key",
            "/tile/0/../../log-key",
            "/log-key",
            "/tile/0/001.p/45",
            "/tile/0/%2e%2e/x",
        ] {
            let (s, _, _) = get_path(&app, bad).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        }
    }
}
