//! `phiguard witness`: a C2SP tlog-witness serving `POST /add-checkpoint`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use phiguard_ledger::note::VerifierKey;
use phiguard_ledger::witness::{witness_router, Witness};

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
    if args.tls_cert.is_some() {
        bail!("built-in TLS is not available yet: terminate TLS in a proxy and use --dangerous-plain-http, or listen on loopback");
    }
    if !args.listen.ip().is_loopback() && !args.dangerous_plain_http {
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
        eprintln!(
            "phiguard witness: listening on http://{}",
            listener.local_addr()?
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")
    })?;
    Ok(ExitCode::SUCCESS)
}
