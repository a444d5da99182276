//! Subcommand implementations, one module per group.

pub mod demo;
pub mod vault;
