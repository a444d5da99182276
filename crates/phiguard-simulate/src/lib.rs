//! phiguard-simulate (skeleton).
