//! `phiguard anomaly`: evaluate the unsupervised detectors on a labelled CSV (ADBench protocol),
//! dump the evaluation splits for peer benchmarks, and measure single-event scoring latency.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use phiguard_anomaly::metrics::{auc_roc, average_precision};
use phiguard_anomaly::split::stratified_split;
use phiguard_anomaly::{load_labelled_csv, Detector, DetectorKind};
use serde_json::{json, Map, Value};

/// Arguments of `phiguard anomaly`.
#[derive(clap::Args, Debug)]
pub struct AnomalyArgs {
    #[command(subcommand)]
    command: AnomalyCommand,
}

#[derive(clap::Subcommand, Debug)]
enum AnomalyCommand {
    /// ADBench protocol: 70/30 stratified split, fit without labels, AUC-ROC/AUC-PR on the test
    /// part, mean over seeds; prints one JSON object.
    Eval(EvalArgs),
    /// Prints the stratified 70/30 splits `eval` uses, as JSON (for peer benchmarks).
    Split(EvalArgs),
    /// Single-event scoring latency and batch throughput of every detector, as a table.
    Bench(BenchArgs),
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// Labelled CSV: numeric feature columns plus a 0/1 label column.
    #[arg(long)]
    csv: PathBuf,
    /// Name of the label column.
    #[arg(long, default_value = "y")]
    label_column: String,
    /// Number of seeds (splits) to average over; seeds are 0..N.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Fraction of each class held out for testing.
    #[arg(long, default_value_t = 0.3)]
    test_fraction: f64,
    /// Comma-separated detectors to run (default: all).
    #[arg(long, value_delimiter = ',')]
    detectors: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// Labelled CSV to fit on (default: synthetic 5000 x 10 uniform data).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Name of the label column (ignored for fitting).
    #[arg(long, default_value = "y")]
    label_column: String,
    /// Single-row scoring calls to time per detector.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
}

/// Runs `phiguard anomaly ...`.
pub fn run(args: AnomalyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AnomalyCommand::Eval(a) => eval(&a),
        AnomalyCommand::Split(a) => split(&a),
        AnomalyCommand::Bench(a) => bench(&a),
    }
}

fn kinds(names: &[String]) -> anyhow::Result<Vec<DetectorKind>> {
    if names.is_empty() {
        return Ok(DetectorKind::all_defaults());
    }
    names
        .iter()
        .map(|n| {
            DetectorKind::by_name(n).with_context(|| {
                format!(
                    "unknown detector `{n}` (known: iforest, hbos, ecod, copod, pca, knn, loda, default)"
                )
            })
        })
        .collect()
}

fn check_fraction(f: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        f > 0.0 && f < 1.0,
        "--test-fraction must be strictly between 0 and 1"
    );
    Ok(())
}

#[derive(Default, Clone, Copy)]
struct Acc {
    roc: f64,
    pr: f64,
    fit_ms: f64,
    score_ms: f64,
    n: f64,
}

fn eval(a: &EvalArgs) -> anyhow::Result<ExitCode> {
    check_fraction(a.test_fraction)?;
    anyhow::ensure!(a.seeds >= 1, "--seeds must be at least 1");
    let data = load_labelled_csv(&a.csv, &a.label_column)?;
    let kinds = kinds(&a.detectors)?;
    let positives = data.y.iter().filter(|&&l| l).count();
    anyhow::ensure!(
        positives >= 2 && positives + 2 <= data.y.len(),
        "{}: need at least two rows of each class to evaluate (found {positives} anomalies in {} rows)",
        a.csv.display(),
        data.y.len()
    );
    let mut acc = vec![Acc::default(); kinds.len()];
    for seed in 0..a.seeds {
        let (train, test) = stratified_split(&data.y, a.test_fraction, seed);
        let xtr = data.x.select_rows(&train);
        let xte = data.x.select_rows(&test);
        let yte: Vec<bool> = test.iter().map(|&i| data.y[i]).collect();
        for (kind, acc) in kinds.iter().zip(acc.iter_mut()) {
            let kind = kind.clone().with_seed(seed);
            let t0 = Instant::now();
            let model = kind
                .fit(&xtr)
                .with_context(|| format!("fitting {}", kind.name()))?;
            let t1 = Instant::now();
            let scores = model
                .score(&xte)
                .with_context(|| format!("scoring {}", kind.name()))?;
            let t2 = Instant::now();
            let roc = auc_roc(&scores, &yte).context("test part lacks one of the classes")?;
            let pr = average_precision(&scores, &yte).context("test part has no anomaly")?;
            acc.roc += roc;
            acc.pr += pr;
            acc.fit_ms += (t1 - t0).as_secs_f64() * 1e3;
            acc.score_ms += (t2 - t1).as_secs_f64() * 1e3;
            acc.n += 1.0;
        }
    }
    let mut detectors = Map::new();
    let mut default = None;
    for (kind, acc) in kinds.iter().zip(&acc) {
        let n = acc.n.max(1.0);
        let aucs = json!({"auc_roc": acc.roc / n, "auc_pr": acc.pr / n});
        if kind.name() == "default" {
            default = Some(aucs);
        }
        detectors.insert(
            kind.name().to_string(),
            json!({"auc_roc": acc.roc / n, "auc_pr": acc.pr / n, "fit_ms": acc.fit_ms / n, "score_ms": acc.score_ms / n}),
        );
    }
    let out = json!({
        "dataset": data.name,
        "rows": data.x.rows(),
        "features": data.x.cols(),
        "default": default.unwrap_or(Value::Null),
        "detectors": detectors,
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn split(a: &EvalArgs) -> anyhow::Result<ExitCode> {
    check_fraction(a.test_fraction)?;
    let data = load_labelled_csv(&a.csv, &a.label_column)?;
    let splits: Vec<Value> = (0..a.seeds)
        .map(|seed| {
            let (train, test) = stratified_split(&data.y, a.test_fraction, seed);
            json!({"seed": seed, "train": train, "test": test})
        })
        .collect();
    println!(
        "{}",
        json!({"dataset": data.name, "rows": data.x.rows(), "features": data.x.cols(), "splits": splits})
    );
    Ok(ExitCode::SUCCESS)
}

fn bench(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    let x = match &a.csv {
        Some(p) => load_labelled_csv(p, &a.label_column)?.x,
        None => {
            let mut state = 0x2545_f491_4f6c_dd1du64;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            phiguard_anomaly::Matrix::new(5000, 10, (0..50_000).map(|_| next()).collect())?
        }
    };
    let calls = a.calls.max(1);
    println!(
        "fitted on {} rows x {} features; {} single-row calls per detector",
        x.rows(),
        x.cols(),
        calls
    );
    println!(
        "{:<10} {:>10} {:>16} {:>16} {:>18}",
        "detector", "fit_ms", "score_row_us_p50", "score_row_us_p99", "batch_rows_per_s"
    );
    for kind in DetectorKind::all_defaults() {
        let t0 = Instant::now();
        let model = kind.fit(&x)?;
        let fit_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut lat = Vec::with_capacity(calls);
        let mut sink = 0.0;
        for i in 0..calls {
            let row = x.row(i % x.rows());
            let t = Instant::now();
            sink += model.score_row(std::hint::black_box(row))?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        std::hint::black_box(sink);
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            lat.get(((lat.len() - 1) as f64 * p) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        let t = Instant::now();
        let scores = model.score(&x)?;
        let rate = scores.len() as f64 / t.elapsed().as_secs_f64().max(1e-9);
        println!(
            "{:<10} {:>10.2} {:>16.2} {:>16.2} {:>18.0}",
            kind.name(),
            fit_ms,
            pct(0.5),
            pct(0.99),
            rate
        );
    }
    Ok(ExitCode::SUCCESS)
}
