//! Property test: the vault (on SQLite) behaves like a naive in-memory map of versioned
//! resources per patient, under random put/get/list/erase/rotate/re-encrypt sequences.

// Test helpers outside #[test] fns: a panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};

use phiguard_vault::store::sqlite::SqliteStore;
use phiguard_vault::{EnvKeyProvider, Vault, VaultConfig, VaultError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put {
        p: u8,
        t: u8,
        id: u8,
        val: u16,
    },
    Get {
        p: u8,
        t: u8,
        id: u8,
        version: Option<u8>,
    },
    List {
        p: u8,
    },
    Erase {
        p: u8,
    },
    RotateDataKeys,
    Reencrypt {
        batch: u8,
    },
    Retire,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..3u8, 0..2u8, 0..3u8, any::<u16>()).prop_map(|(p, t, id, val)| Op::Put { p, t, id, val }),
        6 => (0..3u8, 0..2u8, 0..3u8, proptest::option::of(0..5u8)).prop_map(|(p, t, id, version)| Op::Get { p, t, id, version }),
        1 => (0..3u8).prop_map(|p| Op::List { p }),
        1 => (0..3u8).prop_map(|p| Op::Erase { p }),
        1 => Just(Op::RotateDataKeys),
        1 => (1..5u8).prop_map(|batch| Op::Reencrypt { batch }),
        1 => Just(Op::Retire),
        1 => Just(Op::Reopen),
    ]
}

const TYPES: [&str; 2] = ["Observation", "Condition"];

fn body(t: &str, id: u8, val: u16) -> Vec<u8> {
    format!(r#"{{"resourceType":"{t}","id":"r{id}","value":{val}}}"#).into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn vault_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let kek = [7u8; 32];
        let cfg = VaultConfig { max_invocations_per_key: 4, ..VaultConfig::default() };
        let mut v = Vault::create(Box::new(SqliteStore::open(&path).unwrap()), Box::new(EnvKeyProvider::from_bytes(&kek).unwrap()), cfg).unwrap();
        let mut model: HashMap<(u8, u8, u8), Vec<u16>> = HashMap::new();
        let mut erased: HashSet<u8> = HashSet::new();
        let mut known: HashSet<u8> = HashSet::new();
        for op in ops {
            match op {
                Op::Put { p, t, id, val } => {
                    let r = v.put(&format!("pat{p}"), &body(TYPES[t as usize], id, val));
                    if erased.contains(&p) {
                        prop_assert!(matches!(r, Err(VaultError::PatientErased { .. })), "{:?}", r);
                    } else {
                        let r = r.unwrap();
                        let e = model.entry((p, t, id)).or_default();
                        e.push(val);
                        known.insert(p);
                        prop_assert_eq!(r.version, e.len() as u64);
                    }
                }
                Op::Get { p, t, id, version } => {
                    let r = v.get(&format!("pat{p}"), TYPES[t as usize], &format!("r{id}"), version.map(u64::from));
                    let versions = model.get(&(p, t, id));
                    if erased.contains(&p) {
                        prop_assert!(matches!(r, Err(VaultError::PatientErased { .. })), "{:?}", r);
                        continue;
                    }
                    let expect = versions.and_then(|vs| match version {
                        None => vs.last().copied(),
                        Some(n) if n >= 1 => vs.get(n as usize - 1).copied(),
                        Some(_) => None,
                    });
                    match expect {
                        Some(val) => prop_assert_eq!(r.unwrap(), body(TYPES[t as usize], id, val)),
                        None => prop_assert!(matches!(r, Err(VaultError::NotFound { .. })), "{:?}", r),
                    }
                }
                Op::List { p } => {
                    let r = v.list(&format!("pat{p}"));
                    if known.contains(&p) {
                        let n: usize = model.iter().filter(|((q, _, _), _)| *q == p).map(|(_, vs)| vs.len()).sum();
                        prop_assert_eq!(r.unwrap().len(), n);
                    } else {
                        prop_assert!(matches!(r, Err(VaultError::UnknownPatient { .. })), "{:?}", r);
                    }
                }
                Op::Erase { p } => {
                    let r = v.erase(&format!("pat{p}"));
                    if known.contains(&p) {
                        r.unwrap();
                        erased.insert(p);
                    } else {
                        prop_assert!(matches!(r, Err(VaultError::UnknownPatient { .. })), "{:?}", r);
                    }
                }
                Op::RotateDataKeys => { v.rotate_data_keys().unwrap(); }
                Op::Reencrypt { batch } => { v.reencrypt(batch as usize, Some(1), &mut |_| {}).unwrap(); }
                Op::Retire => { v.retire_data_keys().unwrap(); }
                Op::Reopen => {
                    drop(v);
                    v = Vault::open(Box::new(SqliteStore::open(&path).unwrap()), Box::new(EnvKeyProvider::from_bytes(&kek).unwrap())).unwrap();
                }
            }
        }
        let rep = v.verify().unwrap();
        prop_assert!(rep.failures.is_empty(), "{:?}", rep.failures);
    }
}
