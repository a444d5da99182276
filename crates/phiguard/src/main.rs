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
    /// Score every access in an AuditEvent file (causal; one output line per event).
    Scan(cmd::scan::ScanArgs),
    /// Generate a synthetic hospital with planted incidents.
    Simulate(cmd::simulate::SimulateArgs),
    /// Evaluate scores against labelled incidents within a daily review budget.
    Eval(cmd::eval::EvalArgs),
    /// Simulate a hospital, scan it and print the privacy officer's queue and the evaluation.
    Demo(cmd::demo::DemoArgs),
    /// Benchmarks that print a table (speed and memory side by side with the raw limit).
    Bench(cmd::bench::BenchArgs),
    /// Tamper-evident audit ledger: append, checkpoints, proofs, verification.
    Ledger(cmd::ledger::LedgerArgs),
    /// Run a transparency-log witness (C2SP tlog-witness add-checkpoint).
    Witness(cmd::witness::WitnessArgs),
    /// Encrypted PHI vault: per-patient keys, rotation, crypto-shredding.
    Vault(cmd::vault::VaultArgs),
    /// Write a consistent, still-encrypted snapshot of the vault.
    Backup(cmd::vault::BackupArgs),
    /// Restore a vault snapshot and re-apply later erasures.
    Restore(cmd::vault::RestoreArgs),
    /// Unsupervised anomaly detectors: evaluate on labelled CSVs, dump splits, benchmark.
    Anomaly(cmd::anomaly::AnomalyArgs),
    /// IoMT device monitoring: MQTT watch, WUSTL-EHMS evaluation.
    Iomt(cmd::iomt::IomtArgs),
    /// The access gateway: FHIR API with tokens, Cedar policies, break-the-glass, audit.
    Serve(cmd::serve::ServeArgs),
    /// Development token issuer and token revocation.
    Token(cmd::serve::TokenArgs),
    /// Gateway benchmarks.
    Gateway(cmd::serve::GatewayArgs),
    /// Local gateway accounts (Argon2id passwords): add, disable, enable, list.
    Account(cmd::serve::AccountArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Ledger(args) => cmd::ledger::run(args),
        Command::Witness(args) => cmd::witness::run(args),
        Command::Vault(args) => cmd::vault::run(args),
        Command::Backup(args) => cmd::vault::run_backup(args),
        Command::Restore(args) => cmd::vault::run_restore(args),
        Command::Anomaly(args) => cmd::anomaly::run(args),
        Command::Iomt(args) => cmd::iomt::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Token(args) => cmd::serve::run_token(args),
        Command::Gateway(args) => cmd::serve::run_gateway(args),
        Command::Account(args) => cmd::serve::run_account(args),
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
