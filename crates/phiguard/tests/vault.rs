//! CLI tests of `phiguard vault`, `phiguard backup` and `phiguard restore`, running the real
//! binary in temp dirs: round trip, faults (wrong passphrase, missing/corrupted key file,
//! tampered ciphertext and wrapped key, moved record, erased patient), kill -9 during writes
//! and rotations, and a grep of every file for known plaintext.

// Test helpers outside #[test] fns: a panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_phiguard");
const PASS: &str = "correct horse battery staple";

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("PHIGUARD_PASSPHRASE", PASS)
        .env_remove("PHIGUARD_KEK");
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

/// `phiguard vault get` of one record, with extra flags (e.g. `--version`).
fn vault_get(dir: &str, patient: &str, ty: &str, id: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "vault",
        "get",
        "--data-dir",
        dir,
        "--patient",
        patient,
        "--type",
        ty,
        "--id",
        id,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn run_in(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        o.status.code(),
        Some(2),
        "expected a typed error, got {:?}: {err}",
        o.status
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        o.stdout.is_empty(),
        "no output on error, got {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
    err
}

fn init() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("vault");
    ok(&run(&[
        "vault",
        "init",
        "--data-dir",
        d.to_str().unwrap(),
        "--dangerous-weak-kdf",
    ]));
    (t, d)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const PATIENT: &str = r#"{"resourceType":"Patient","id":"8f1c2d","name":[{"family":"Quillfeather","given":["Ottoline"]}],"birthDate":"1961-07-23","identifier":[{"type":{"coding":[{"code":"MR"}]},"system":"urn:oid:1.2.3","value":"MRN-4471923"},{"system":"http://hl7.org/fhir/sid/us-ssn","value":"078-05-1120"}],"telecom":[{"system":"phone","value":"+1 617 555 0187"}],"address":[{"line":["41 Wisteria Crescent"]}]}"#;
const NOTE: &str = r#"{"resourceType":"Observation","id":"obs-1","valueString":"tremulous cardiomegaly noted by Dr Pennywhistle","meta":{"security":[{"code":"PSY"}]}}"#;

#[test]
fn round_trip_versions_list_find_status() {
    let (_t, d) = init();
    let d = s(&d);
    assert_eq!(
        ok(&run_in(
            &["vault", "put", "--data-dir", d, "--patient", "pt-1"],
            PATIENT.as_bytes()
        )),
        "Patient/8f1c2d/1\n"
    );
    assert_eq!(
        ok(&run_in(
            &["vault", "put", "--data-dir", d, "--patient", "pt-1"],
            NOTE.as_bytes()
        )),
        "Observation/obs-1/1\n"
    );
    let v2 = NOTE.replace("tremulous", "resolved");
    assert_eq!(
        ok(&run_in(
            &["vault", "put", "--data-dir", d, "--patient", "pt-1"],
            v2.as_bytes()
        )),
        "Observation/obs-1/2\n"
    );
    let got = ok(&vault_get(d, "pt-1", "Observation", "obs-1", &[]));
    assert_eq!(got.trim_end(), v2);
    let got = ok(&vault_get(
        d,
        "pt-1",
        "Observation",
        "obs-1",
        &["--version", "1"],
    ));
    assert_eq!(got.trim_end(), NOTE);
    let list = ok(&run(&[
        "vault",
        "list",
        "--data-dir",
        d,
        "--patient",
        "pt-1",
    ]));
    assert_eq!(list.lines().count(), 3);
    let by_ssn = ok(&run(&[
        "vault",
        "find",
        "--data-dir",
        d,
        "--kind",
        "ssn",
        "--value",
        "078051120",
    ]));
    let by_phone = ok(&run(&[
        "vault",
        "find",
        "--data-dir",
        d,
        "--kind",
        "phone",
        "--value",
        "16175550187",
    ]));
    assert_eq!(by_ssn.lines().count(), 1);
    assert_eq!(by_ssn, by_phone);
    let st = ok(&run(&["vault", "status", "--data-dir", d]));
    assert!(st.contains("protection level   normal"), "{st}");
    assert!(st.contains("invocations        max 3 per key"), "{st}");
    // Protection levels through the CLI: lockdown gates the PSY-labelled note.
    ok(&run(&["vault", "level", "--data-dir", d, "lockdown"]));
    let err = fails(&vault_get(d, "pt-1", "Observation", "obs-1", &[]));
    assert!(err.contains("two-person approval"), "{err}");
    assert!(
        !err.contains("tremulous") && !err.contains("resolved"),
        "{err}"
    );
}

#[test]
fn wrong_passphrase_missing_and_corrupted_key_file() {
    let (_t, dir) = init();
    let d = s(&dir);
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "p"],
        NOTE.as_bytes(),
    ));
    let err = fails(
        &cmd(&["vault", "status", "--data-dir", d])
            .env("PHIGUARD_PASSPHRASE", "wrong")
            .output()
            .unwrap(),
    );
    assert!(err.contains("wrong passphrase"), "{err}");
    let err = fails(
        &cmd(&["vault", "status", "--data-dir", d])
            .env_remove("PHIGUARD_PASSPHRASE")
            .output()
            .unwrap(),
    );
    assert!(err.contains("PHIGUARD_PASSPHRASE"), "{err}");
    let kf = dir.join("keys.json");
    let good = std::fs::read_to_string(&kf).unwrap();
    // Flip one hex digit inside the sealed KEK.
    let v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let sealed = v["keks"][0]["sealed"].as_str().unwrap().to_string();
    let mut flipped = sealed.clone().into_bytes();
    let i = flipped.len() - 10;
    flipped[i] = if flipped[i] == b'0' { b'1' } else { b'0' };
    std::fs::write(
        &kf,
        good.replace(&sealed, std::str::from_utf8(&flipped).unwrap()),
    )
    .unwrap();
    let err = fails(&run(&["vault", "status", "--data-dir", d]));
    assert!(
        err.contains("corrupted") && err.contains("keks[0]"),
        "{err}"
    );
    std::fs::write(&kf, &good[..good.len() / 2]).unwrap();
    let err = fails(&run(&["vault", "status", "--data-dir", d]));
    assert!(err.contains("corrupted"), "{err}");
    std::fs::remove_file(&kf).unwrap();
    let err = fails(&run(&["vault", "status", "--data-dir", d]));
    assert!(err.contains("missing"), "{err}");
    std::fs::write(&kf, good).unwrap();
    ok(&run(&["vault", "status", "--data-dir", d]));
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("vault.db")).unwrap()
}

#[test]
fn tampered_ciphertext_wrapped_key_and_moved_record() {
    let (_t, dir) = init();
    let d = s(&dir);
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "alice"],
        NOTE.as_bytes(),
    ));
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "bob"],
        NOTE.replace("tremulous", "bob").as_bytes(),
    ));
    let get = |p: &str| vault_get(d, p, "Observation", "obs-1", &[]);
    // Swap the two patients' ciphertexts (a record moved between patients).
    let c = db(&dir);
    let rows: Vec<(Vec<u8>, Vec<u8>)> = c
        .prepare("SELECT ptok, envelope FROM records ORDER BY ptok")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    let set = |ptok: &Vec<u8>, env: &Vec<u8>| {
        db(&dir)
            .execute(
                "UPDATE records SET envelope = ?2 WHERE ptok = ?1",
                rusqlite::params![ptok, env],
            )
            .unwrap();
    };
    set(&rows[0].0, &rows[1].1);
    set(&rows[1].0, &rows[0].1);
    let err = fails(&get("bob"));
    assert!(
        err.contains("failed authentication") && err.contains("Observation/obs-1/_history/1"),
        "{err}"
    );
    fails(&get("alice"));
    // Put them back: both open again.
    set(&rows[0].0, &rows[0].1);
    set(&rows[1].0, &rows[1].1);
    ok(&get("alice"));
    ok(&get("bob"));
    // Flip one byte inside each ciphertext.
    for (ptok, env) in &rows {
        let mut e = env.clone();
        e[40] ^= 0x80;
        set(ptok, &e);
    }
    let err = fails(&get("alice"));
    assert!(err.contains("failed authentication"), "{err}");
    let v = run(&["vault", "verify", "--data-dir", d]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("0 record(s) ok, 0 erased, 2 failed"));
    drop(c);
    // Flip a byte of a wrapped data key.
    let (_t2, dir2) = init();
    let d2 = s(&dir2);
    ok(&run_in(
        &["vault", "put", "--data-dir", d2, "--patient", "p"],
        NOTE.as_bytes(),
    ));
    let c = db(&dir2);
    let mut w: Vec<u8> = c
        .query_row("SELECT wrapped FROM data_keys", [], |r| r.get(0))
        .unwrap();
    w[30] ^= 4;
    c.execute("UPDATE data_keys SET wrapped = ?1", [w]).unwrap();
    drop(c);
    let err = fails(&vault_get(d2, "p", "Observation", "obs-1", &[]));
    assert!(
        err.contains("failed to unwrap") && err.contains("Observation/obs-1/_history/1"),
        "{err}"
    );
}

#[test]
fn erase_backup_restore_and_ledger() {
    let (t, dir) = init();
    let d = s(&dir);
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "keep"],
        NOTE.as_bytes(),
    ));
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "gone"],
        PATIENT.as_bytes(),
    ));
    let bk = t.path().join("before-erase.bak");
    ok(&run(&["backup", "--data-dir", d, "--out", s(&bk)]));
    fails(&run(&["backup", "--data-dir", d, "--out", s(&bk)]));
    let c = db(&dir);
    let wrapped: Vec<Vec<u8>> = c
        .prepare("SELECT wrapped FROM data_keys")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(wrapped.len(), 2);
    drop(c);
    let out = ok(&run(&[
        "vault",
        "erase",
        "--data-dir",
        d,
        "--patient",
        "gone",
    ]));
    // secure_delete + WAL checkpoint/truncate: exactly one wrapped key (the kept patient's)
    // is left anywhere in the database files; the erased one is in no page and no WAL frame.
    let mut found = 0;
    for f in ["vault.db", "vault.db-wal", "vault.db-shm"] {
        let bytes = std::fs::read(dir.join(f)).unwrap_or_default();
        for w in &wrapped {
            if bytes.windows(w.len()).any(|x| x == &w[..]) {
                found += 1;
            }
        }
    }
    assert_eq!(found, 1, "erased patient's wrapped key still on disk");
    assert!(
        out.contains("1 key version(s) destroyed, 1 record(s)"),
        "{out}"
    );
    let err = fails(&vault_get(d, "gone", "Patient", "8f1c2d", &[]));
    assert!(err.contains("was erased"), "{err}");
    assert!(ok(&run(&[
        "vault",
        "find",
        "--data-dir",
        d,
        "--kind",
        "ssn",
        "--value",
        "078-05-1120"
    ]))
    .is_empty());
    let c = db(&dir);
    let (n, ptok): (i64, String) = c
        .query_row("SELECT COUNT(*), MAX(ptok) FROM erasures", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(ptok.len(), 64);
    drop(c);
    // Restoring the older backup brings the patient's wrapped keys back; the ledger erases them again.
    fails(&run(&["restore", "--data-dir", d, "--from", s(&bk)]));
    let out = ok(&run(&[
        "restore",
        "--data-dir",
        d,
        "--from",
        s(&bk),
        "--force",
    ]));
    assert!(out.contains("re-applied 1 later erasure"), "{out}");
    fails(&vault_get(d, "gone", "Patient", "8f1c2d", &[]));
    ok(&vault_get(d, "keep", "Observation", "obs-1", &[]));
    // Retiring the KEK makes the pre-erasure backup useless even to someone holding the key file.
    ok(&run(&[
        "vault",
        "rotate",
        "--data-dir",
        d,
        "--kek",
        "--retire-kek",
    ]));
    let fresh = t.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::copy(dir.join("vault.json"), fresh.join("vault.json")).unwrap();
    std::fs::copy(dir.join("keys.json"), fresh.join("keys.json")).unwrap();
    let err = fails(&run(&[
        "restore",
        "--data-dir",
        s(&fresh),
        "--from",
        s(&bk),
    ]));
    assert!(
        err.contains("tokenization root") && err.contains("kek v1"),
        "{err}"
    );
}

#[test]
fn no_plaintext_in_any_file() {
    let (t, dir) = init();
    let d = s(&dir);
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "pt-secret-77"],
        PATIENT.as_bytes(),
    ));
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "pt-secret-77"],
        NOTE.as_bytes(),
    ));
    ok(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "pt-other"],
        PATIENT.replace("Quillfeather", "Brackenbury").as_bytes(),
    ));
    ok(&run(&[
        "vault",
        "rotate",
        "--data-dir",
        d,
        "--data-keys",
        "--reencrypt",
        "--retire-data-keys",
        "--kek",
    ]));
    ok(&run(&[
        "vault",
        "erase",
        "--data-dir",
        d,
        "--patient",
        "pt-other",
    ]));
    let bk = t.path().join("snap.bak");
    ok(&run(&["backup", "--data-dir", d, "--out", s(&bk)]));
    // Keep a connection open so the WAL and shm files exist while we grep.
    let c = db(&dir);
    c.query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let needles = [
        "Quillfeather",
        "Ottoline",
        "Brackenbury",
        "1961-07-23",
        "MRN-4471923",
        "078-05-1120",
        "078051120",
        "617 555 0187",
        "6175550187",
        "Wisteria",
        "tremulous",
        "Pennywhistle",
        "pt-secret-77",
        "pt-other",
        PASS,
    ];
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        files.push(e.unwrap().path());
    }
    files.push(bk);
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "plaintext `{n}` found in {}",
                f.display()
            );
        }
    }
    // Sanity: the grep does find what is stored in clear (resource type).
    let main = std::fs::read(dir.join("vault.db")).unwrap();
    let wal = std::fs::read(dir.join("vault.db-wal")).unwrap_or_default();
    assert!([main, wal]
        .iter()
        .any(|b| b.windows(11).any(|w| w == b"Observation")));
    drop(c);
}

fn ndjson(n: usize, tag: &str) -> String {
    (0..n)
        .map(|i| format!("{{\"resourceType\":\"Observation\",\"id\":\"o{i}\",\"valueString\":\"{tag}-{i}-{}\"}}\n", "x".repeat(300)))
        .collect()
}

#[test]
fn kill_9_during_writes_keeps_acknowledged_records() {
    let (_t, dir) = init();
    let d = s(&dir).to_string();
    let mut child = cmd(&[
        "vault",
        "put",
        "--data-dir",
        &d,
        "--patient",
        "p",
        "--ndjson",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let body = ndjson(100_000, "w");
        // The pipe breaks once the child is killed: that is expected.
        let _ = stdin.write_all(body.as_bytes());
    });
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 300 {
        acked.push(lines.next().unwrap().unwrap());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    writer.join().unwrap();
    let v = ok(&run(&["vault", "verify", "--data-dir", &d]));
    assert!(v.ends_with("0 failed\n"), "{v}");
    let list = ok(&run(&["vault", "list", "--data-dir", &d, "--patient", "p"]));
    let stored: std::collections::HashSet<&str> = list
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    for a in &acked {
        assert!(stored.contains(a.as_str()), "acknowledged {a} lost");
    }
    let last = acked.last().unwrap().split('/').nth(1).unwrap().to_string();
    let got = ok(&vault_get(&d, "p", "Observation", &last, &[]));
    assert!(got.contains(&format!("w-{}-", &last[1..])), "{got}");
    // The vault still accepts writes.
    ok(&run_in(
        &["vault", "put", "--data-dir", &d, "--patient", "p"],
        NOTE.as_bytes(),
    ));
}

#[test]
fn kill_9_during_rotation_then_resume() {
    let (_t, dir) = init();
    let d = s(&dir).to_string();
    for p in 0..4 {
        ok(&run_in(
            &[
                "vault",
                "put",
                "--data-dir",
                &d,
                "--patient",
                &format!("p{p}"),
                "--ndjson",
            ],
            ndjson(400, "r").as_bytes(),
        ));
    }
    ok(&run(&["vault", "rotate", "--data-dir", &d, "--data-keys"]));
    let mut child = cmd(&[
        "vault",
        "rotate",
        "--data-dir",
        &d,
        "--reencrypt",
        "--batch",
        "20",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = err.next().unwrap().unwrap();
    assert!(first.contains("(running)"), "{first}");
    child.kill().unwrap();
    child.wait().unwrap();
    let v = ok(&run(&["vault", "verify", "--data-dir", &d]));
    assert!(
        v.starts_with("1600 record(s) ok") && v.ends_with("0 failed\n"),
        "{v}"
    );
    let st = ok(&run(&["vault", "status", "--data-dir", &d]));
    assert!(st.contains("reencrypt job      running"), "{st}");
    let out = ok(&run(&["vault", "rotate", "--data-dir", &d, "--reencrypt"]));
    assert!(out.contains("re-encryption done"), "{out}");
    let st = ok(&run(&["vault", "status", "--data-dir", &d]));
    assert!(st.contains("(0 on old data keys)"), "{st}");
    // KEK rotation killed at an arbitrary moment: every record still opens and --rewrap finishes.
    let mut child = cmd(&["vault", "rotate", "--data-dir", &d, "--kek"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(15));
    let _ = child.kill();
    child.wait().unwrap();
    let v = ok(&run(&["vault", "verify", "--data-dir", &d]));
    assert!(v.ends_with("0 failed\n"), "{v}");
    ok(&run(&[
        "vault",
        "rotate",
        "--data-dir",
        &d,
        "--rewrap",
        "--retire-kek",
        "--retire-data-keys",
    ]));
    let v = ok(&run(&["vault", "verify", "--data-dir", &d]));
    assert!(
        v.starts_with("1600 record(s) ok") && v.ends_with("0 failed\n"),
        "{v}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let (_t, dir) = init();
    let d = s(&dir);
    let err = fails(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "p"],
        b"{\"resourceType\":\"Patient\"}",
    ));
    assert!(err.contains("field `id`"), "{err}");
    let err = fails(&run_in(
        &["vault", "put", "--data-dir", d, "--patient", "p"],
        b"{oops",
    ));
    assert!(err.contains("line 1"), "{err}");
    let err = fails(&run(&[
        "vault",
        "status",
        "--data-dir",
        "/nonexistent/vault",
    ]));
    assert!(err.contains("vault init"), "{err}");
    let err = fails(&run(&[
        "vault",
        "init",
        "--data-dir",
        d,
        "--dangerous-weak-kdf",
    ]));
    assert!(err.contains("already"), "{err}");
}

#[test]
fn postgres_backend_round_trip_and_erase() {
    let url = match std::env::var("PHIGUARD_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            eprintln!("skipped: PHIGUARD_TEST_POSTGRES_URL not set");
            return;
        }
    };
    struct Drop2(String, String);
    impl Drop for Drop2 {
        fn drop(&mut self) {
            let _ = phiguard_vault::store::postgres::PgStore::drop_schema(&self.0, &self.1);
        }
    }
    let schema = format!("phiguard_cli_test_{}", std::process::id());
    let _guard = Drop2(url.clone(), schema.clone());
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("pgvault");
    let d = s(&d);
    let pg = |args: &[&str]| {
        let mut c = cmd(args);
        c.env("PHIGUARD_VAULT_POSTGRES_URL", &url);
        c
    };
    ok(&pg(&[
        "vault",
        "init",
        "--data-dir",
        d,
        "--dangerous-weak-kdf",
        "--backend",
        "postgres",
        "--postgres-schema",
        &schema,
    ])
    .output()
    .unwrap());
    let mut child = pg(&["vault", "put", "--data-dir", d, "--patient", "p"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(NOTE.as_bytes())
        .unwrap();
    assert_eq!(
        ok(&child.wait_with_output().unwrap()),
        "Observation/obs-1/1\n"
    );
    let got = ok(&pg(&[
        "vault",
        "get",
        "--data-dir",
        d,
        "--patient",
        "p",
        "--type",
        "Observation",
        "--id",
        "obs-1",
    ])
    .output()
    .unwrap());
    assert_eq!(got.trim_end(), NOTE);
    let st = ok(&pg(&["vault", "status", "--data-dir", d]).output().unwrap());
    assert!(st.contains("backend            postgres"), "{st}");
    ok(&pg(&["vault", "erase", "--data-dir", d, "--patient", "p"])
        .output()
        .unwrap());
    let err = fails(
        &pg(&[
            "vault",
            "get",
            "--data-dir",
            d,
            "--patient",
            "p",
            "--type",
            "Observation",
            "--id",
            "obs-1",
        ])
        .output()
        .unwrap(),
    );
    assert!(err.contains("was erased"), "{err}");
    let bk = t.path().join("pg.bak");
    ok(&pg(&["backup", "--data-dir", d, "--out", s(&bk)])
        .output()
        .unwrap());
    assert!(bk.exists());
}
