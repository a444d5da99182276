//! `phiguard iomt`: IoMT device monitoring (being built).

use std::process::ExitCode;

/// Arguments of `phiguard iomt`.
#[derive(clap::Args, Debug)]
pub struct IomtArgs {}

/// Runs `phiguard iomt ...`.
pub fn run(_args: IomtArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
