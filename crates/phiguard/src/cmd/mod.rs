//! Subcommand implementations, one module per group.

pub mod demo;
pub mod ledger;
pub mod witness;
