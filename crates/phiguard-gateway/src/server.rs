//! Listening: plain HTTP on loopback only (or with the `dangerous` flag), HTTPS with rustls
//! (aws-lc-rs provider) when a certificate and key are configured; graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use crate::error::SetupError;

/// Refuses a non-loopback plain-HTTP listen address unless explicitly allowed.
///
/// # Errors
/// [`SetupError::Config`] explaining the rule.
pub fn check_listen(
    addr: &SocketAddr,
    tls: bool,
    dangerous_plain_http: bool,
) -> Result<(), SetupError> {
    if tls || addr.ip().is_loopback() || dangerous_plain_http {
        Ok(())
    } else {
        Err(SetupError::Config(format!(
            "refusing plain HTTP on non-loopback address {addr}: configure tls_cert and tls_key, or pass --dangerous-plain-http"
        )))
    }
}

type CertKey = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

fn load_cert_key(cert: &Path, key: &Path) -> Result<CertKey, SetupError> {
    let read = |p: &Path, what: &'static str| {
        std::fs::read(p).map_err(|source| SetupError::Io {
            what,
            path: p.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert, "tls certificate")?;
    let key_pem = read(key, "tls key")?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| SetupError::Invalid {
            what: "tls certificate",
            path: cert.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(SetupError::Invalid {
            what: "tls certificate",
            path: cert.to_owned(),
            reason: "no CERTIFICATE block".into(),
        });
    }
    let key_der = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| SetupError::Invalid {
            what: "tls key",
            path: key.to_owned(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| SetupError::Invalid {
            what: "tls key",
            path: key.to_owned(),
            reason: "no private key block".into(),
        })?;
    Ok((certs, key_der))
}

/// Loads a rustls server config (TLS 1.2/1.3, aws-lc-rs) from PEM files.
///
/// # Errors
/// File or key errors naming the file.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, SetupError> {
    let (certs, key_der) = load_cert_key(cert, key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Config(format!("tls: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| SetupError::Invalid {
            what: "tls key",
            path: key.to_owned(),
            reason: e.to_string(),
        })?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The TLS config of the RFC 5425 syslog receiver. With `client_ca` (PEM, one or more CA
/// certificates), senders must present a certificate that chains to one of them (mutual
/// TLS, RFC 5425 section 5.2 certificate-based authentication); connections without one,
/// or with another CA's, fail in the handshake.
///
/// # Errors
/// File, key or CA errors naming the file.
pub fn syslog_tls_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, SetupError> {
    let (certs, key_der) = load_cert_key(cert, key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::Config(format!("tls: {e}")))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let bad = |reason: String| SetupError::Invalid {
                what: "syslog client CA",
                path: ca.to_owned(),
                reason,
            };
            let pem = std::fs::read(ca).map_err(|source| SetupError::Io {
                what: "syslog client CA",
                path: ca.to_owned(),
                source,
            })?;
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls_pemfile::certs(&mut pem.as_slice()) {
                roots
                    .add(c.map_err(|e| bad(e.to_string()))?)
                    .map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("no CERTIFICATE block".into()));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| bad(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let cfg = builder
        .with_single_cert(certs, key_der)
        .map_err(|e| SetupError::Invalid {
            what: "tls key",
            path: key.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(Arc::new(cfg))
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains open connections.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Some(tls) = tls else {
        // TCP_NODELAY: a response written in more than one piece (headers, then a body) must
        // not wait for the client's delayed ACK (Nagle); axum leaves it off.
        let listener =
            axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
                let _ = tcp.set_nodelay(true);
            });
        return axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
    };
    let acceptor = TlsAcceptor::from(tls);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            conn = listener.accept() => {
                let Ok((tcp, addr)) = conn else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let router = router.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    // A client that does not finish the handshake in 10 s is dropped.
                    let Ok(Ok(stream)) = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await else {
                        return;
                    };
                    let svc = tower::ServiceExt::map_request(router, move |mut r: axum::http::Request<hyper::body::Incoming>| {
                        r.extensions_mut().insert(ConnectInfo(addr));
                        r
                    });
                    let mut builder = Builder::new(TokioExecutor::new());
                    // Slowloris: headers must arrive within 10 s.
                    builder
                        .http1()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(std::time::Duration::from_secs(10));
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(svc));
                    let _ = watcher.watch(conn.into_owned()).await;
                });
            }
        }
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
