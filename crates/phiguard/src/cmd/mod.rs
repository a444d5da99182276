//! Subcommand implementations, one module per group.

pub mod anomaly;
pub mod demo;
pub mod iomt;
