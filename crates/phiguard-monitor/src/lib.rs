//! phiguard-monitor (skeleton).
