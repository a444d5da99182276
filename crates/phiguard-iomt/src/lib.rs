//! IoMT monitoring (being built).
