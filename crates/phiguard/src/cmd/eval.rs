//! `phiguard eval`: recall within a daily review budget, precision, AUC, AP, reason accuracy.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `phiguard eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Labels file (from `phiguard simulate hospital`).
    #[arg(long)]
    pub labels: PathBuf,
    /// Scores file (from `phiguard scan`).
    #[arg(long)]
    pub scores: PathBuf,
    /// Cases (user-days) the privacy office reviews per day.
    #[arg(long, default_value_t = 8)]
    pub budget: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `phiguard eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let report = phiguard_eval::evaluate(&args.labels, &args.scores, args.budget)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
