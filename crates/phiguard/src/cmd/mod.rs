//! Subcommand implementations, one module per group.

pub mod bench;
pub mod demo;
pub mod eval;
pub mod scan;
pub mod simulate;
pub mod ledger;
pub mod witness;
pub mod vault;
pub mod anomaly;
pub mod iomt;
