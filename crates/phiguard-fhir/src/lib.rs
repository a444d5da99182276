//! phiguard-fhir (skeleton).
