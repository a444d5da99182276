//! `phiguard witness`: a C2SP tlog-witness serving `POST /add-checkpoint`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use phiguard_ledger::note::VerifierKey;
use phiguard_ledger::witness::{witness_router, Witness};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Arguments of `phiguard witness`.
#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// Witness state directory (key, last cosigned size per log).
    #[arg(long)]
    dir: PathBuf,
    /// Address to listen on, e.g. `127.0.0.1:7380`.
    #[arg(long, default_value = "127.0.0.1:7380")]
    listen: SocketAddr,
    /// Verifier key of a log this witness follows (repeat for several logs).
    #[arg(long = "log-key")]
    log_keys: Vec<String>,
    /// Witness key name, used when the key is first created.
    #[arg(long, default_value = "localhost/phiguard-witness")]
    name: String,
    /// Print the witness' verifier key and exit.
    #[arg(long)]
    print_key: bool,
    /// TLS certificate chain (PEM) for listening on a non-loopback address.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).
    #[arg(long)]
    dangerous_plain_http: bool,
}

/// Runs the witness until interrupted.
pub fn run(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    let logs = args
        .log_keys
        .iter()
        .map(|k| VerifierKey::parse(k).with_context(|| format!("--log-key `{k}`")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let w = Witness::open(&args.dir, &args.name, logs)
        .with_context(|| format!("opening witness state in `{}`", args.dir.display()))?;
    println!("{}", w.verifier().encode());
    if args.print_key {
        return Ok(ExitCode::SUCCESS);
    }
    if args.log_keys.is_empty() {
        bail!("no --log-key given: the witness would refuse every checkpoint");
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(tls_acceptor(c, k)?),
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() && !args.dangerous_plain_http {
        bail!(
            "refusing plain HTTP on non-loopback address {}: pass --tls-cert/--tls-key, or --dangerous-plain-http behind a TLS proxy",
            args.listen
        );
    }
    let app = witness_router(Arc::new(w));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match tls {
            Some(acceptor) => {
                eprintln!("phiguard witness: listening on https://{addr}");
                axum::serve(TlsListener { listener, acceptor }, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .context("serving")
            }
            None => {
                eprintln!("phiguard witness: listening on http://{addr}");
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .context("serving")
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Loads a PEM certificate chain and private key into a TLS acceptor (aws-lc-rs provider).
pub(crate) fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading `{}`", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing certificates in `{}`", cert.display()))?;
    if certs.is_empty() {
        bail!("`{}` holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key `{}`", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("TLS certificate and key do not match")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A TCP listener that completes a TLS handshake (10 s limit) before handing over a stream.
pub(crate) struct TlsListener {
    pub(crate) listener: tokio::net::TcpListener,
    pub(crate) acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let hs = tokio::time::timeout(Duration::from_secs(10), self.acceptor.accept(tcp));
            if let Ok(Ok(tls)) = hs.await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
