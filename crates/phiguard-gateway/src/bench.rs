//! Load benchmark (see `run`).
