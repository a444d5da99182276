//! phiguard-eval (skeleton).
