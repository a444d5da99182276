//! Fuzzes every context resource parser (Organization ... CareTeam) on the same input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phiguard_fhir::context::{
    parse_care_team, parse_encounter, parse_organization, parse_patient, parse_practitioner,
    parse_role,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_organization(s);
        let _ = parse_practitioner(s);
        let _ = parse_role(s);
        let _ = parse_patient(s);
        let _ = parse_encounter(s);
        let _ = parse_care_team(s);
    }
});
