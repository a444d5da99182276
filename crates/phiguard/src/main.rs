//! `phiguard`: the one binary. Each subcommand lives in its own module under `cmd/`;
//! this file only parses arguments, dispatches, and turns errors into messages and exit codes.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Protects patient data: monitors access, encrypts records, proves who saw what.
#[derive(Parser, Debug)]
#[command(name = "phiguard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    // One variant per subcommand group; keep them in this order:
    // monitor (scan/simulate/eval/demo/bench), ledger, witness, vault, anomaly, iomt.
    /// Simulate a hospital, scan it and print the privacy officer's queue.
    Demo(cmd::demo::DemoArgs),
    /// Unsupervised anomaly detectors: evaluate on labelled CSVs, dump splits, benchmark.
    Anomaly(cmd::anomaly::AnomalyArgs),
    /// IoMT device monitoring: MQTT watch, WUSTL-EHMS evaluation.
    Iomt(cmd::iomt::IomtArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Anomaly(args) => cmd::anomaly::run(args),
        Command::Iomt(args) => cmd::iomt::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Prints an error chain the way ripgrep does (`phiguard: outer: inner`) and picks the exit code.
/// A broken pipe (`phiguard scan ... | head`) is not an error.
fn report(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
        }
    }
    eprintln!("phiguard: {err:#}");
    ExitCode::from(2)
}
