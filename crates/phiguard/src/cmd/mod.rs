//! Subcommand implementations, one module per group.

pub mod anomaly;
pub mod bench;
pub mod demo;
pub mod eval;
pub mod iomt;
pub mod ledger;
pub mod scan;
pub mod serve;
pub mod simulate;
pub mod vault;
pub mod witness;
