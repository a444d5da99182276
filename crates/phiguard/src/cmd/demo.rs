//! `phiguard demo`: simulate a hospital, scan it, print the queue and the evaluation.

use std::process::ExitCode;

/// Arguments of `phiguard demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

/// Runs the demo.
pub fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the demo is being built (skeleton commit)")
}
