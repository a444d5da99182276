//! `phiguard iomt`: watch device telemetry over MQTT (alerts as NDJSON) and evaluate the IoMT
//! models on WUSTL-EHMS-2020.

use std::io::Write;

use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

use phiguard_iomt::eval::{evaluate, folds, EvalOptions};
use phiguard_iomt::forest::ForestConfig;
use phiguard_iomt::monitor::{DeviceMonitor, MonitorConfig};
use phiguard_iomt::{load_wustl, IomtError};
use serde_json::json;

/// Arguments of `phiguard iomt`.
#[derive(clap::Args, Debug)]
pub struct IomtArgs {
    #[command(subcommand)]
    command: IomtCommand,
}

#[derive(clap::Subcommand, Debug)]
enum IomtCommand {
    /// Subscribe to MQTT topics and print alerts and rejected messages as NDJSON.
    Watch(WatchArgs),
    /// Replay a flow capture (Argus-style CSV, or JSON lines) through the per-device baselines
    /// and print alerts and rejected records as NDJSON.
    Scan(ScanArgs),
    /// Train the supervised model on a labelled WUSTL-EHMS capture and save it as JSON.
    Train(TrainArgs),
    /// Stratified k-fold evaluation on WUSTL-EHMS-2020 (identifier columns removed).
    Eval(EvalArgs),
    /// Print the folds and feature columns `eval` uses, as JSON (for peer benchmarks).
    Folds(EvalArgs),
}

#[derive(clap::Args, Debug)]
struct WatchArgs {
    /// Broker URL, e.g. mqtt://127.0.0.1:1883.
    #[arg(long)]
    mqtt: String,
    /// Topic filter to subscribe to (repeatable; MQTT wildcards allowed).
    #[arg(long = "topic", required = true)]
    topics: Vec<String>,
    /// Readings per device before alerts are raised.
    #[arg(long, default_value_t = 30)]
    warmup: u64,
    /// Deviation (standard deviations) that raises an alert.
    #[arg(long, default_value_t = 6.0)]
    threshold: f64,
    /// Stop after this many messages (default: run until the connection ends).
    #[arg(long)]
    max_messages: Option<u64>,
    /// Supervised model from `phiguard iomt train` to apply to complete readings.
    #[arg(long)]
    model: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// Labelled capture in the WUSTL-EHMS-2020 layout.
    #[arg(long)]
    wustl: PathBuf,
    /// Where to write the model (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Trees per forest.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args, Debug)]
struct ScanArgs {
    /// Flow file: `.csv` (header with `SrcAddr` or `device`) or JSON lines.
    #[arg(long)]
    flows: PathBuf,
    /// Records per device before alerts are raised.
    #[arg(long, default_value_t = 30)]
    warmup: u64,
    /// Deviation (standard deviations) that raises an alert.
    #[arg(long, default_value_t = 6.0)]
    threshold: f64,
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// WUSTL-EHMS-2020 CSV.
    #[arg(long)]
    wustl: PathBuf,
    /// Number of folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the folds and models.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Trees in the random forest.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    /// Features tried per split (0 = sqrt of the number of features).
    #[arg(long, default_value_t = 0)]
    max_features: usize,
}

/// Runs `phiguard iomt ...`.
pub fn run(args: IomtArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        IomtCommand::Watch(a) => watch(&a),
        IomtCommand::Scan(a) => scan(&a),
        IomtCommand::Train(a) => {
            let data = load_wustl(&a.wustl)?;
            let cfg = ForestConfig {
                n_trees: a.trees,
                seed: a.seed,
                ..ForestConfig::default()
            };
            let model = phiguard_iomt::supervised::SupervisedModel::train(&data, &cfg)?;
            std::fs::write(&a.out, model.to_json()?)
                .with_context(|| format!("{}: cannot write", a.out.display()))?;
            eprintln!(
                "phiguard: trained on {} rows ({} attacks), wrote {}",
                data.y.len(),
                data.y.iter().filter(|&&l| l).count(),
                a.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        IomtCommand::Eval(a) => {
            let data = load_wustl(&a.wustl)?;
            let report = evaluate(&data, &options(&a))?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }
        IomtCommand::Folds(a) => {
            let data = load_wustl(&a.wustl)?;
            let f = folds(&data, &options(&a));
            println!(
                "{}",
                json!({"rows": data.y.len(), "network": data.network_names, "biometric": data.biometric_names, "folds": f})
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn options(a: &EvalArgs) -> EvalOptions {
    EvalOptions {
        folds: a.folds,
        seed: a.seed,
        forest: ForestConfig {
            n_trees: a.trees,
            max_features: a.max_features,
            ..ForestConfig::default()
        },
    }
}

fn watch(a: &WatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.threshold > 0.0 && a.threshold.is_finite(),
        "--threshold must be a positive number"
    );
    let mut monitor = DeviceMonitor::new(MonitorConfig {
        warmup: a.warmup,
        threshold: a.threshold,
        ..MonitorConfig::default()
    });
    if let Some(path) = &a.model {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let model = phiguard_iomt::supervised::SupervisedModel::from_json(&text)
            .with_context(|| path.display().to_string())?;
        monitor = monitor.with_supervised(model);
    }
    let stdout = std::io::stdout();
    let result = phiguard_iomt::mqtt::watch(
        &a.mqtt,
        &a.topics,
        &mut monitor,
        a.max_messages,
        |ev| {
            let mut out = stdout.lock();
            let line = serde_json::to_string(ev).map_err(|e| IomtError::Payload(e.to_string()))?;
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(|e| IomtError::Mqtt(format!("stdout: {e}")))
        },
        || eprintln!("phiguard: subscribed to {}", a.topics.join(", ")),
    );
    eprintln!("phiguard: {}", serde_json::to_string(monitor.stats())?);
    result?;
    Ok(ExitCode::SUCCESS)
}

fn scan(a: &ScanArgs) -> anyhow::Result<ExitCode> {
    use phiguard_iomt::telemetry::{parse_flow_csv, parse_flow_json, FlowRecord, Reading};
    anyhow::ensure!(
        a.threshold > 0.0 && a.threshold.is_finite(),
        "--threshold must be a positive number"
    );
    let bytes =
        std::fs::read(&a.flows).with_context(|| format!("{}: cannot read", a.flows.display()))?;
    let mut monitor = DeviceMonitor::new(MonitorConfig {
        warmup: a.warmup,
        threshold: a.threshold,
        ..MonitorConfig::default()
    });
    let mut out = std::io::stdout().lock();
    let emit = |monitor: &mut DeviceMonitor,
                line: u64,
                rec: FlowRecord,
                out: &mut dyn Write|
     -> anyhow::Result<()> {
        let reading = Reading {
            device: rec.device,
            ts: None,
            vitals: Default::default(),
            flow: rec.features,
        };
        for alert in monitor.observe(&reading) {
            let mut v = serde_json::to_value(&alert)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("type".into(), json!("alert"));
                o.insert("record".into(), json!(line));
            }
            writeln!(out, "{v}")?;
        }
        Ok(())
    };
    let is_csv = a
        .flows
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let records = parse_flow_csv(&bytes).with_context(|| a.flows.display().to_string())?;
        for (i, rec) in records.into_iter().enumerate() {
            emit(&mut monitor, i as u64 + 1, rec, &mut out)?;
        }
    } else {
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_flow_json(line) {
                Ok(rec) => emit(&mut monitor, i as u64 + 1, rec, &mut out)?,
                Err(e) => {
                    monitor.record_rejection(matches!(e, IomtError::NonFinite { .. }));
                    writeln!(
                        out,
                        "{}",
                        json!({"type": "rejected", "record": i + 1, "reason": e.to_string()})
                    )?;
                }
            }
        }
    }
    eprintln!("phiguard: {}", serde_json::to_string(monitor.stats())?);
    Ok(ExitCode::SUCCESS)
}
