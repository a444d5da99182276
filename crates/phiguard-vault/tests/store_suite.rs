//! The same behaviour and fault suite, run against every storage backend: SQLite always,
//! PostgreSQL when `PHIGUARD_TEST_POSTGRES_URL` is set (one throwaway schema per test).

// Test helpers outside #[test] fns: a panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use phiguard_vault::keys::{KdfParams, LocalKeyProvider};
use phiguard_vault::level::Approved;
use phiguard_vault::store::sqlite::SqliteStore;
use phiguard_vault::token::IdentifierKind;
use phiguard_vault::{
    EnvKeyProvider, KeyProvider, ProtectionLevel, Storage, Vault, VaultConfig, VaultError,
};

struct Backend {
    name: &'static str,
    make: Box<dyn FnMut() -> Box<dyn Storage>>,
    _guard: Option<PgGuard>,
    _dir: tempfile::TempDir,
}

struct PgGuard {
    url: String,
    schema: String,
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        #[cfg(feature = "postgres")]
        let _ = phiguard_vault::store::postgres::PgStore::drop_schema(&self.url, &self.schema);
        #[cfg(not(feature = "postgres"))]
        let _ = (&self.url, &self.schema);
    }
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    Backend {
        name: "sqlite",
        make: Box::new(move || Box::new(SqliteStore::open(&path).unwrap())),
        _guard: None,
        _dir: dir,
    }
}

#[cfg(not(feature = "postgres"))]
fn postgres() -> Option<Backend> {
    eprintln!("skipped: built without the `postgres` feature");
    None
}

#[cfg(feature = "postgres")]
fn postgres() -> Option<Backend> {
    let url = match std::env::var("PHIGUARD_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("skipped: PHIGUARD_TEST_POSTGRES_URL not set");
            return None;
        }
    };
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!(
        "phiguard_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let u2 = url.clone();
    let s2 = schema.clone();
    Some(Backend {
        name: "postgres",
        make: Box::new(move || {
            Box::new(phiguard_vault::store::postgres::PgStore::connect(&u2, &s2).unwrap())
        }),
        _guard: Some(PgGuard { url, schema }),
        _dir: tempfile::tempdir().unwrap(),
    })
}

const KEK: [u8; 32] = [0x42; 32];

fn provider() -> Box<dyn KeyProvider> {
    Box::new(EnvKeyProvider::from_bytes(&KEK).unwrap())
}

fn create(b: &mut Backend, cfg: VaultConfig) -> Vault {
    Vault::create((b.make)(), provider(), cfg).unwrap()
}

fn reopen(b: &mut Backend) -> Vault {
    Vault::open((b.make)(), provider()).unwrap()
}

fn obs(id: &str, value: &str) -> Vec<u8> {
    format!(r#"{{"resourceType":"Observation","id":"{id}","valueString":"{value}"}}"#).into_bytes()
}

fn patient_res(id: &str, mrn: &str, ssn: &str, phone: &str) -> Vec<u8> {
    format!(
        r#"{{"resourceType":"Patient","id":"{id}","name":[{{"family":"Zebulon"}}],
        "identifier":[{{"type":{{"coding":[{{"code":"MR"}}]}},"system":"urn:mrn","value":"{mrn}"}},
                      {{"system":"http://hl7.org/fhir/sid/us-ssn","value":"{ssn}"}}],
        "telecom":[{{"system":"phone","value":"{phone}"}}]}}"#
    )
    .into_bytes()
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[test] fn $name() { super::$name(&mut super::sqlite()) } )*
        }
        mod postgres_backend {
            $( #[test] fn $name() { if let Some(mut b) = super::postgres() { super::$name(&mut b) } } )*
        }
    };
}

suite!(
    roundtrip_versions_list,
    reopen_persists,
    flipped_ciphertext_byte_names_record,
    record_moved_between_patients_fails,
    record_moved_between_versions_fails,
    flipped_wrapped_key_names_record,
    erased_patient_is_unreadable,
    invocation_limit_rotates_data_key,
    data_key_rotation_reencrypt_resume_retire,
    kek_rotation_rewrap_retire,
    identifier_search,
    protection_levels_gate_sensitive_records,
    wrong_kek_is_typed_error,
    backup_is_consistent_and_restorable,
    bad_input_is_rejected,
    reencrypt_skips_tampered_record,
);

fn roundtrip_versions_list(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    let r1 = v.put("pat-1", &obs("o1", "first")).unwrap();
    let r2 = v.put("pat-1", &obs("o1", "second")).unwrap();
    let r3 = v.put("pat-1", &obs("o2", "other")).unwrap();
    assert_eq!((r1.version, r2.version, r3.version), (1, 2, 1));
    assert_eq!(r1.resource_type, "Observation");
    assert_eq!(
        v.get("pat-1", "Observation", "o1", None).unwrap(),
        obs("o1", "second")
    );
    assert_eq!(
        v.get("pat-1", "Observation", "o1", Some(1)).unwrap(),
        obs("o1", "first")
    );
    let list = v.list("pat-1").unwrap();
    assert_eq!(list.len(), 3, "{}", b.name);
    // The version read comes with the parsed record, latest or as asked.
    let (ver, json) = v.get_versioned("pat-1", "Observation", "o1", None).unwrap();
    assert_eq!(ver, 2);
    let parsed = |b: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&b).unwrap();
    assert_eq!(json, parsed(obs("o1", "second")));
    let (ver, json) = v
        .get_versioned("pat-1", "Observation", "o1", Some(1))
        .unwrap();
    assert_eq!(ver, 1);
    assert_eq!(json, parsed(obs("o1", "first")));
    assert!(matches!(
        v.get_versioned("pat-1", "Observation", "o1", Some(3)),
        Err(VaultError::NotFound { .. })
    ));
    assert!(matches!(
        v.get("pat-1", "Observation", "o9", None),
        Err(VaultError::NotFound { .. })
    ));
    assert!(matches!(
        v.get("pat-1", "Observation", "o1", Some(3)),
        Err(VaultError::NotFound { .. })
    ));
    assert!(matches!(
        v.get("nobody", "Observation", "o1", None),
        Err(VaultError::NotFound { .. })
    ));
    assert!(matches!(
        v.list("nobody"),
        Err(VaultError::UnknownPatient { .. })
    ));
}

fn reopen_persists(b: &mut Backend) {
    {
        let mut v = create(b, VaultConfig::default());
        v.put("p", &obs("o", "x")).unwrap();
    }
    let mut v = reopen(b);
    assert_eq!(v.get("p", "Observation", "o", None).unwrap(), obs("o", "x"));
    assert!(Vault::create((b.make)(), provider(), VaultConfig::default()).is_err());
}

fn flipped_ciphertext_byte_names_record(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put("p", &obs("o1", "secret")).unwrap();
    let p = v.patient_token("p");
    let row = v
        .store_mut()
        .record(&p, "Observation", "o1", None)
        .unwrap()
        .unwrap();
    for pos in [0usize, 2, 6, 15, 25, row.envelope.len() - 1] {
        let mut env = row.envelope.clone();
        env[pos] ^= 0x20;
        v.store_mut()
            .replace_envelope(&row.key, row.dk_version, row.dk_version, &env)
            .unwrap();
        let err = v.get("p", "Observation", "o1", None).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                VaultError::RecordAuth { .. } | VaultError::RecordFormat { .. }
            ),
            "{pos}: {msg}"
        );
        assert!(msg.contains("Observation/o1/_history/1"), "{msg}");
        assert!(!msg.contains("secret"));
        v.store_mut()
            .replace_envelope(&row.key, row.dk_version, row.dk_version, &row.envelope)
            .unwrap();
    }
    assert_eq!(v.verify().unwrap().ok, 1);
}

fn record_moved_between_patients_fails(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put("alice", &obs("o1", "alice-data")).unwrap();
    v.put("bob", &obs("o1", "bob-data")).unwrap();
    let a = v.patient_token("alice");
    let bt = v.patient_token("bob");
    let ra = v
        .store_mut()
        .record(&a, "Observation", "o1", None)
        .unwrap()
        .unwrap();
    let rb = v
        .store_mut()
        .record(&bt, "Observation", "o1", None)
        .unwrap()
        .unwrap();
    v.store_mut()
        .replace_envelope(&rb.key, 1, 1, &ra.envelope)
        .unwrap();
    let err = v.get("bob", "Observation", "o1", None).unwrap_err();
    assert!(matches!(err, VaultError::RecordAuth { .. }), "{err}");
    let rep = v.verify().unwrap();
    assert_eq!((rep.ok, rep.failures.len()), (1, 1));
}

fn record_moved_between_versions_fails(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put("p", &obs("o1", "v1")).unwrap();
    v.put("p", &obs("o1", "v2")).unwrap();
    let p = v.patient_token("p");
    let r1 = v
        .store_mut()
        .record(&p, "Observation", "o1", Some(1))
        .unwrap()
        .unwrap();
    let r2 = v
        .store_mut()
        .record(&p, "Observation", "o1", Some(2))
        .unwrap()
        .unwrap();
    v.store_mut()
        .replace_envelope(&r2.key, 1, 1, &r1.envelope)
        .unwrap();
    assert!(matches!(
        v.get("p", "Observation", "o1", None),
        Err(VaultError::RecordAuth { .. })
    ));
}

fn flipped_wrapped_key_names_record(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put("p", &obs("o1", "x")).unwrap();
    let p = v.patient_token("p");
    let k = v.store_mut().data_keys(&p).unwrap().remove(0);
    let mut w = k.wrapped.clone();
    let last = w.len() - 3;
    w[last] ^= 1;
    v.store_mut()
        .rewrap_data_keys(&[(p, k.version, k.kek_version, w)])
        .unwrap();
    drop(v);
    let mut v = reopen(b); // fresh key cache
    let err = v.get("p", "Observation", "o1", None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, VaultError::KeyUnwrap { .. }), "{msg}");
    assert!(msg.contains("Observation/o1/_history/1"), "{msg}");
}

fn erased_patient_is_unreadable(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put("p", &patient_res("p", "MRN-77", "123-45-6789", "555-0100"))
        .unwrap();
    v.put("p", &obs("o1", "x")).unwrap();
    v.put("q", &obs("o1", "y")).unwrap();
    let e = v.erase("p").unwrap();
    assert_eq!((e.keys_destroyed, e.records), (1, 2));
    assert!(!e.patient.is_empty());
    let p = v.patient_token("p");
    assert!(v.store_mut().data_keys(&p).unwrap().is_empty());
    let err = v.get("p", "Observation", "o1", None).unwrap_err();
    assert!(matches!(err, VaultError::PatientErased { .. }), "{err}");
    assert!(matches!(
        v.put("p", &obs("o2", "z")),
        Err(VaultError::PatientErased { .. })
    ));
    assert!(v
        .find_by_identifier(&IdentifierKind::Mrn, "MRN-77")
        .unwrap()
        .is_empty());
    assert_eq!(v.erasures().unwrap().len(), 1);
    assert_eq!(
        v.get("q", "Observation", "o1", None).unwrap(),
        obs("o1", "y")
    );
    let rep = v.verify().unwrap();
    assert_eq!((rep.ok, rep.erased, rep.failures.len()), (1, 2, 0));
    // Even with the KEK and direct storage access, nothing opens: the key rows are gone.
    drop(v);
    let mut v = reopen(b);
    assert!(matches!(
        v.get("p", "Patient", "p", None),
        Err(VaultError::PatientErased { .. })
    ));
}

fn invocation_limit_rotates_data_key(b: &mut Backend) {
    let mut v = create(
        b,
        VaultConfig {
            max_invocations_per_key: 3,
            ..VaultConfig::default()
        },
    );
    for i in 0..7 {
        v.put("p", &obs(&format!("o{i}"), "x")).unwrap();
    }
    let p = v.patient_token("p");
    let keys = v.store_mut().data_keys(&p).unwrap();
    let inv: Vec<(u32, u64)> = keys.iter().map(|k| (k.version, k.invocations)).collect();
    assert_eq!(inv, vec![(1, 3), (2, 3), (3, 1)], "{}", b.name);
    for i in 0..7 {
        v.get("p", "Observation", &format!("o{i}"), None).unwrap();
    }
    let st = v.status().unwrap();
    assert_eq!(st.stats.max_invocations, 3);
    assert_eq!(st.stats.total_invocations, 7);
}

fn data_key_rotation_reencrypt_resume_retire(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    for i in 0..5 {
        v.put("a", &obs(&format!("o{i}"), "a")).unwrap();
        v.put("b", &obs(&format!("o{i}"), "b")).unwrap();
    }
    v.put("gone", &obs("o1", "g")).unwrap();
    assert_eq!(v.rotate_data_keys().unwrap(), 3);
    v.erase("gone").unwrap();
    assert_eq!(v.status().unwrap().stats.records_on_old_keys, 10);
    // One batch of 3, then "crash" (drop) and resume from the persisted cursor.
    let job = v.reencrypt(3, Some(1), &mut |_| {}).unwrap();
    assert_eq!((job.state.as_str(), job.processed), ("running", 3));
    drop(v);
    let mut v = reopen(b);
    let mut seen = Vec::new();
    let job = v
        .reencrypt(3, None, &mut |j| seen.push(j.processed))
        .unwrap();
    assert_eq!(job.state, "done");
    assert_eq!(job.changed, 10);
    assert_eq!(job.total, 10);
    assert_eq!(*seen.last().unwrap(), 11);
    assert_eq!(v.status().unwrap().stats.records_on_old_keys, 0);
    let (destroyed, held) = v.retire_data_keys().unwrap();
    assert_eq!((destroyed, held), (2, 0));
    for i in 0..5 {
        assert_eq!(
            v.get("a", "Observation", &format!("o{i}"), None).unwrap(),
            obs(&format!("o{i}"), "a")
        );
    }
    // Forcing the minimum above a version in use yields KeyRetired, naming the record.
    v.rotate_data_keys().unwrap();
    v.put("a", &obs("new", "n")).unwrap();
    let a = v.patient_token("a");
    v.store_mut().retire_data_keys(&a, 3).unwrap();
    let err = v.get("a", "Observation", "o1", None).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::KeyRetired {
                version: 2,
                min: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(v.get("a", "Observation", "new", None).is_ok());
}

fn kek_rotation_rewrap_retire(b: &mut Backend) {
    let dir = tempfile::tempdir().unwrap();
    let kf = dir.path().join("keys.json");
    let lp = LocalKeyProvider::create(&kf, b"pw", KdfParams::DANGEROUS_WEAK).unwrap();
    let mut v = Vault::create((b.make)(), Box::new(lp), VaultConfig::default()).unwrap();
    for i in 0..4 {
        v.put(&format!("p{i}"), &obs("o", "x")).unwrap();
    }
    let p0 = v.patient_token("p0");
    let env_before = v
        .store_mut()
        .record(&p0, "Observation", "o", None)
        .unwrap()
        .unwrap()
        .envelope;
    let (ver, n) = v.rotate_kek().unwrap();
    assert_eq!((ver, n), (2, 4));
    assert_eq!(v.status().unwrap().stats.keys_by_kek, vec![(2, 4)]);
    // Records untouched by a KEK rotation.
    let env_after = v
        .store_mut()
        .record(&p0, "Observation", "o", None)
        .unwrap()
        .unwrap()
        .envelope;
    assert_eq!(env_before, env_after);
    v.retire_old_keks().unwrap();
    drop(v);
    let lp = LocalKeyProvider::open(&kf, b"pw").unwrap();
    assert_eq!(lp.versions().len(), 1);
    let mut v = Vault::open((b.make)(), Box::new(lp)).unwrap();
    for i in 0..4 {
        assert_eq!(
            v.get(&format!("p{i}"), "Observation", "o", None).unwrap(),
            obs("o", "x")
        );
    }
}

fn identifier_search(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put(
        "p1",
        &patient_res("p1", "MRN-1", "123-45-6789", "+1 (555) 0100"),
    )
    .unwrap();
    v.put("p2", &patient_res("p2", "MRN-2", "987-65-4321", "555 0199"))
        .unwrap();
    let hits = v
        .find_by_identifier(&IdentifierKind::Ssn, "123456789")
        .unwrap();
    assert_eq!(hits, vec![v.patient_token("p1")]);
    let hits = v
        .find_by_identifier(&IdentifierKind::Phone, "15550100")
        .unwrap();
    assert_eq!(hits, vec![v.patient_token("p1")]);
    let hits = v.find_by_identifier(&IdentifierKind::Mrn, "MRN-2").unwrap();
    assert_eq!(hits.len(), 1);
    let res = v.get_by_token(&hits[0], "Patient", "p2", None).unwrap();
    assert!(String::from_utf8(res).unwrap().contains("MRN-2"));
    assert!(v
        .find_by_identifier(&IdentifierKind::Mrn, "MRN-3")
        .unwrap()
        .is_empty());
}

fn protection_levels_gate_sensitive_records(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    let sens = br#"{"resourceType":"Condition","id":"c1","meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]}}"#;
    v.put("p", sens).unwrap();
    v.put("p", &obs("o1", "x")).unwrap();
    assert!(v.get("p", "Condition", "c1", None).is_ok());
    v.set_level(ProtectionLevel::Elevated).unwrap();
    let err = v.get("p", "Condition", "c1", None).unwrap_err();
    assert!(matches!(err, VaultError::ApprovalRequired { .. }), "{err}");
    assert!(err.to_string().contains("step-up"));
    assert!(v.get("p", "Observation", "o1", None).is_ok());
    assert!(v.key_cache_len() > 0);
    v.set_level(ProtectionLevel::Lockdown).unwrap();
    assert_eq!(v.key_cache_len(), 0, "a stricter level drops cached keys");
    assert!(v.get("p", "Observation", "o1", None).is_err()); // step-up needed
    assert_eq!(v.key_cache_len(), 0, "lockdown never caches keys");
    drop(v);
    let mut v = reopen(b);
    assert_eq!(v.level(), ProtectionLevel::Lockdown);
    let err = v.get("p", "Condition", "c1", None).unwrap_err();
    assert!(err.to_string().contains("two-person"), "{err}");
    v.set_hook(Box::new(Approved {
        step_up: true,
        two_person: true,
    }));
    assert!(v.get("p", "Condition", "c1", None).is_ok());
}

fn wrong_kek_is_typed_error(b: &mut Backend) {
    drop(create(b, VaultConfig::default()));
    let other = Box::new(EnvKeyProvider::from_bytes(&[0x43; 32]).unwrap());
    let err = Vault::open((b.make)(), other).err().unwrap();
    assert!(matches!(err, VaultError::TokenRoot { .. }), "{err}");
}

fn backup_is_consistent_and_restorable(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    v.put("p", &obs("o1", "before")).unwrap();
    v.put("gone", &obs("o1", "g")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bk = dir.path().join("backup.db");
    v.backup(&bk).unwrap();
    v.put("p", &obs("o1", "after")).unwrap();
    let e = v.erase("gone").unwrap();
    let restored = SqliteStore::open(&bk).unwrap();
    let mut r = Vault::open(Box::new(restored), provider()).unwrap();
    assert_eq!(
        r.get("p", "Observation", "o1", None).unwrap(),
        obs("o1", "before")
    );
    // The backup predates the erasure; the erasure ledger re-applies it.
    assert!(r.get("gone", "Observation", "o1", None).is_ok());
    let ledger = vec![phiguard_vault::vault::LedgerEntry {
        patient: e.patient.clone(),
        erased_at: e.erased_at,
    }];
    assert_eq!(r.apply_ledger(&ledger).unwrap(), 1);
    assert!(matches!(
        r.get("gone", "Observation", "o1", None),
        Err(VaultError::PatientErased { .. })
    ));
}

#[test]
fn vault_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Vault>();
}

fn bad_input_is_rejected(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    for bad in [
        &b"not json"[..],
        br#"{"id":"x"}"#,
        br#"{"resourceType":"Observation"}"#,
        br#"{"resourceType":"Obs ervation","id":"x"}"#,
        br#"{"resourceType":"Observation","id":"a/b"}"#,
        br#"[1,2]"#,
    ] {
        assert!(matches!(
            v.put("p", bad),
            Err(VaultError::InvalidResource(_))
        ));
    }
    assert!(matches!(
        v.put("", &obs("o", "x")),
        Err(VaultError::InvalidResource(_))
    ));
}

fn reencrypt_skips_tampered_record(b: &mut Backend) {
    let mut v = create(b, VaultConfig::default());
    for i in 0..4 {
        v.put("p", &obs(&format!("o{i}"), "x")).unwrap();
    }
    let p = v.patient_token("p");
    let row = v
        .store_mut()
        .record(&p, "Observation", "o1", None)
        .unwrap()
        .unwrap();
    let mut env = row.envelope.clone();
    env[30] ^= 1;
    v.store_mut()
        .replace_envelope(&row.key, 1, 1, &env)
        .unwrap();
    v.rotate_data_keys().unwrap();
    let job = v.reencrypt(2, None, &mut |_| {}).unwrap();
    assert_eq!(
        (job.state.as_str(), job.changed, job.failed),
        ("done", 3, 1)
    );
    // The old key stays because the tampered record still references it.
    assert_eq!(v.retire_data_keys().unwrap(), (0, 1));
    assert!(matches!(
        v.get("p", "Observation", "o1", None),
        Err(VaultError::RecordAuth { .. })
    ));
    assert!(v.get("p", "Observation", "o2", None).is_ok());
}
