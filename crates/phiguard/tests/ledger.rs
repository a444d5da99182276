//! CLI tests of `phiguard ledger` and `phiguard witness`, running the real binary.

// Test helpers outside #[test] functions: a panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use phiguard_ledger::checkpoint::Checkpoint;
use phiguard_ledger::note::VerifierKey;
use phiguard_ledger::LedgerReader;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phiguard"))
}

fn run(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn ok(args: &[&str], stdin: &[u8]) -> String {
    let out = run(args, stdin, &[]);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn init(dir: &Path) -> String {
    let d = dir.to_str().unwrap();
    ok(
        &[
            "ledger",
            "init",
            "--dir",
            d,
            "--origin",
            "hospital.example/audit",
        ],
        b"",
    )
    .trim()
    .to_owned()
}

fn ndjson(range: std::ops::Range<u32>) -> Vec<u8> {
    range
        .flat_map(|i| format!("{{\"i\":{i},\"who\":\"ps1:abc\"}}\n").into_bytes())
        .collect()
}

#[test]
fn round_trip_init_append_checkpoint_proof_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    let key = init(&dir);
    assert!(key.starts_with("hospital.example/audit+"), "{key}");
    assert_eq!(ok(&["ledger", "key", "--dir", d], b"").trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("log-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = ok(&["ledger", "append", "--dir", d], &ndjson(0..5));
    assert_eq!(out, "0\n1\n2\n3\n4\n");
    let out = ok(
        &["ledger", "append", "--dir", d],
        b"{\"x\":1}\n\n{\"y\":2}\r\n",
    );
    assert_eq!(out, "5\n6\n");
    let cp = ok(&["ledger", "checkpoint", "--dir", d], b"");
    let vk = VerifierKey::parse(&key).unwrap();
    let (c, _) = Checkpoint::open(cp.as_bytes(), &[vk]).unwrap();
    assert_eq!((c.origin.as_str(), c.size), ("hospital.example/audit", 7));
    assert!(cp.starts_with("hospital.example/audit\n7\n"));

    let proof = ok(&["ledger", "proof", "--dir", d, "--index", "6"], b"");
    assert!(
        proof.starts_with("c2sp.org/tlog-proof@v1\nindex 6\n"),
        "{proof}"
    );
    let pf = tmp.path().join("p.tlog-proof");
    std::fs::write(&pf, &proof).unwrap();
    let ef = tmp.path().join("entry");
    std::fs::write(&ef, b"{\"y\":2}").unwrap();
    let args = [
        "ledger",
        "check-proof",
        "--proof",
        pf.to_str().unwrap(),
        "--entry",
        ef.to_str().unwrap(),
        "--log-key",
        &key,
    ];
    assert!(ok(&args, b"").starts_with("ok: entry 6"));
    std::fs::write(&ef, b"{\"y\":3}").unwrap();
    let out = run(&args, b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));

    let out = ok(&["ledger", "verify", "--dir", d], b"");
    assert!(out.starts_with("ok: size 7"), "{out}");
    let out = run(&["ledger", "proof", "--dir", d, "--index", "7"], b"", &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of range"));
}

#[test]
fn bad_input_is_refused_whole_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    init(&dir);
    let mut input = ndjson(0..3);
    input.extend(format!("{{\"big\":\"{}\"}}\n", "a".repeat(70_000)).into_bytes());
    let out = run(&["ledger", "append", "--dir", d], &input, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 4 is 70010 bytes") && err.contains("65535"),
        "{err}"
    );
    let out = run(
        &["ledger", "append", "--dir", d],
        b"{\"ok\":1}\nnot json\n",
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2 is not valid JSON"));
    // Nothing was appended by either command.
    assert!(
        ok(&["ledger", "checkpoint", "--dir", d], b"").starts_with("hospital.example/audit\n0\n")
    );
    // A second init is refused; an uninitialized dir is a clear error.
    let out = run(
        &["ledger", "init", "--dir", d, "--origin", "x.example/y"],
        b"",
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a ledger"));
    let out = run(
        &["ledger", "verify", "--dir", tmp.path().to_str().unwrap()],
        b"",
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no ledger"));
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        // Tolerate files and directories vanishing while a writer runs.
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd {
            let Ok(e) = e else { continue };
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn verify_finds_every_single_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    init(&dir);
    // Several checkpoints: partial tiles of older sizes stay and must be checked too.
    ok(&["ledger", "append", "--dir", d], &ndjson(0..3));
    ok(&["ledger", "append", "--dir", d], &ndjson(3..200));
    ok(&["ledger", "append", "--dir", d], &ndjson(200..258));
    ok(&["ledger", "append", "--dir", d], &ndjson(258..261));
    assert!(ok(&["ledger", "verify", "--dir", d], b"").starts_with("ok: size 261"));
    let files = all_files(&dir);
    assert!(files.iter().any(|p| p.ends_with("tile/1/000.p/1")));
    assert!(files.iter().any(|p| p.ends_with("tile/entries/001.p/2")));
    let mut flips = 0;
    for f in &files {
        let orig = std::fs::read(f).unwrap();
        if f.ends_with("lock") {
            assert!(orig.is_empty(), "the writer lock file holds no data");
            continue;
        }
        for i in 0..orig.len() {
            for mask in [0x01u8, 0x80] {
                let mut bad = orig.clone();
                bad[i] ^= mask;
                std::fs::write(f, &bad).unwrap();
                let res = LedgerReader::open(&dir).and_then(|r| r.verify());
                assert!(
                    res.is_err(),
                    "flip {mask:#x} of byte {i} of {} not detected",
                    f.display()
                );
                flips += 1;
            }
        }
        // Truncation and an extra byte are caught as well.
        std::fs::write(f, &orig[..orig.len() - 1]).unwrap();
        assert!(
            LedgerReader::open(&dir).and_then(|r| r.verify()).is_err(),
            "{}",
            f.display()
        );
        let mut longer = orig.clone();
        longer.push(b'\n');
        std::fs::write(f, &longer).unwrap();
        assert!(
            LedgerReader::open(&dir).and_then(|r| r.verify()).is_err(),
            "{}",
            f.display()
        );
        std::fs::write(f, &orig).unwrap();
    }
    assert!(flips > 10_000, "{flips}");
    // A few through the binary: exit status 1 and the file named.
    let tile = dir.join("tile/0/000");
    let orig = std::fs::read(&tile).unwrap();
    let mut bad = orig.clone();
    bad[100] ^= 1;
    std::fs::write(&tile, &bad).unwrap();
    let out = run(&["ledger", "verify", "--dir", d], b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tile/0/000"));
    std::fs::write(&tile, &orig).unwrap();
    // Deleting a file is caught too.
    std::fs::remove_file(dir.join("tile/entries/000")).unwrap();
    assert_eq!(
        run(&["ledger", "verify", "--dir", d], b"", &[])
            .status
            .code(),
        Some(1)
    );
}

/// A fresh ledger with entries 0..300, then `ledger append` (with `extra` flags) of 300..1000
/// made to crash at `point`; returns the temp dir (keep it alive), the ledger dir and the
/// crashed run's output.
fn crash_second_batch(point: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    init(&dir);
    ok(&["ledger", "append", "--dir", d], &ndjson(0..300));
    let mut args = vec!["ledger", "append", "--dir", d];
    args.extend_from_slice(extra);
    let out = run(
        &args,
        &ndjson(300..1000),
        &[("PHIGUARD_LEDGER_DANGEROUS_CRASH_AT", point)],
    );
    assert!(!out.status.success(), "{point}: the writer did not crash");
    (tmp, dir, out)
}

#[test]
fn crash_at_every_commit_stage_recovers_to_a_consistent_state() {
    for point in [
        "mid-writes",
        "before-sync",
        "after-sync",
        "after-signed-state",
        "before-checkpoint",
        "after-checkpoint",
    ] {
        let (_tmp, dir, out) = crash_second_batch(point, &[]);
        let d = dir.to_str().unwrap();
        assert!(
            out.stdout.is_empty(),
            "{point}: indexes acknowledged before durability"
        );
        // Reopening for writing recovers; the batch is either fully there or fully gone.
        let idx = ok(&["ledger", "append", "--dir", d], b"{\"after\":1}\n");
        let idx: u64 = idx.trim().parse().unwrap();
        let expect = if matches!(
            point,
            "after-signed-state" | "before-checkpoint" | "after-checkpoint"
        ) {
            1000
        } else {
            300
        };
        assert_eq!(idx, expect, "{point}");
        let v = ok(&["ledger", "verify", "--dir", d], b"");
        assert!(
            v.starts_with(&format!("ok: size {}", expect + 1)),
            "{point}: {v}"
        );
    }
}

#[test]
fn crash_between_journal_sync_and_publication_loses_no_acknowledged_entry() {
    for point in [
        "journal-before-sync",
        "journal-acked",
        "mid-writes",
        "before-sync",
        "after-sync",
        "after-signed-state",
        "before-checkpoint",
        "after-checkpoint",
    ] {
        let (_tmp, dir, out) = crash_second_batch(point, &["--journal", "100", "--no-cosign"]);
        let d = dir.to_str().unwrap();
        let acked: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(
            acked,
            (300..300 + acked.len() as u64).collect::<Vec<_>>(),
            "{point}"
        );
        // Reopening replays the journal: every acknowledged entry is there, requests are
        // whole, and a request whose journal sync completed is never lost.
        let idx: u64 = ok(&["ledger", "append", "--dir", d], b"{\"after\":1}\n")
            .trim()
            .parse()
            .unwrap();
        let grown = idx - 300;
        assert!(
            grown >= acked.len() as u64,
            "{point}: acknowledged entries lost"
        );
        assert_eq!(grown % 100, 0, "{point}: a request was split");
        if point != "journal-before-sync" {
            assert!(grown >= 100, "{point}: the synced request was lost");
        }
        let v = ok(&["ledger", "verify", "--dir", d], b"");
        assert!(
            v.starts_with(&format!("ok: size {}", idx + 1)),
            "{point}: {v}"
        );
        assert!(
            std::fs::read_dir(dir.join("journal"))
                .map(|r| r.count())
                .unwrap_or(0)
                == 0,
            "{point}: journal left after recovery"
        );
        let r = LedgerReader::open(&dir).unwrap();
        for i in [300, idx - 1] {
            assert_eq!(
                r.entry(i).unwrap(),
                format!("{{\"i\":{i},\"who\":\"ps1:abc\"}}").into_bytes(),
                "{point} entry {i}"
            );
        }
    }
}

#[test]
fn sigkill_mid_batch_never_loses_acknowledged_entries() {
    sigkill_rounds(&[]);
}

#[test]
fn sigkill_with_the_journal_never_loses_acknowledged_entries() {
    sigkill_rounds(&["--journal", "1000"]);
}

fn sigkill_rounds(extra: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    init(&dir);
    let mut expected: Vec<Vec<u8>> = Vec::new();
    // Rounds with increasing delays before SIGKILL hit different points of the batches.
    for round in 0..10u32 {
        let start = expected.len() as u32;
        let input = ndjson(start..start + 250_000);
        let mut child: Child = bin()
            .args(["ledger", "append", "--dir", d, "--no-cosign"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut sin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = sin.write_all(&input);
        });
        let mut sout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = std::io::Read::read_to_end(&mut sout, &mut v);
            v
        });
        // Kill while the batch is being written: once a round-dependent number of new
        // files has appeared (or after a timeout), so rounds stop at different points.
        let base = all_files(&dir).len();
        let target = base + 1 + (round as usize * 149) % 1400;
        let t0 = std::time::Instant::now();
        while all_files(&dir).len() < target && t0.elapsed() < Duration::from_secs(20) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let _ = writer.join();
        let stdout = reader.join().unwrap();
        let acked: Vec<u64> = String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect();
        // Recover and check.
        let idx: u64 = ok(&["ledger", "append", "--dir", d], b"{\"recovered\":1}\n")
            .trim()
            .parse()
            .unwrap();
        let size_before = expected.len() as u64;
        eprintln!(
            "round {round}: {} acknowledged, log grew by {}",
            acked.len(),
            idx - size_before
        );
        assert!(
            idx >= size_before + acked.len() as u64,
            "round {round}: acknowledged entries lost"
        );
        for i in size_before..idx {
            expected.push(format!("{{\"i\":{i},\"who\":\"ps1:abc\"}}").into_bytes());
        }
        expected.push(b"{\"recovered\":1}".to_vec());
        let r = LedgerReader::open(&dir).unwrap();
        let rep = r.verify().unwrap();
        assert_eq!(rep.size, expected.len() as u64, "round {round}");
        for i in [size_before, idx.saturating_sub(1), idx] {
            assert_eq!(
                r.entry(i).unwrap(),
                expected[i as usize],
                "round {round} entry {i}"
            );
        }
    }
}

/// Kills the witness when the test ends, even on failure.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_witness(wdir: &Path, log_key: &str) -> (Child, String, String) {
    let mut child = bin()
        .args([
            "witness",
            "--dir",
            wdir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--name",
            "witness.example/w1",
            "--log-key",
            log_key,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut key = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut key)
        .unwrap();
    let mut line = String::new();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    err.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, key.trim().to_owned(), url)
}

#[test]
fn witness_cosigns_and_the_log_publishes_cosignatures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    let log_key = init(&dir);
    let wdir = tmp.path().join("w");
    let (child, wkey, url) = start_witness(&wdir, &log_key);
    let _guard = KillOnDrop(child);
    {
        assert!(wkey.starts_with("witness.example/w1+"));
        ok(
            &[
                "ledger",
                "add-witness",
                "--dir",
                d,
                "--url",
                &url,
                "--key",
                &wkey,
            ],
            b"",
        );
        ok(&["ledger", "append", "--dir", d], &ndjson(0..5));
        let cp = ok(&["ledger", "checkpoint", "--dir", d], b"");
        assert_eq!(cp.matches('\u{2014}').count(), 2, "{cp}");
        assert!(cp.contains("\u{2014} witness.example/w1 "));
        // Growing the log: the witness checks a consistency proof from size 5.
        ok(&["ledger", "append", "--dir", d], &ndjson(5..300));
        let v = ok(&["ledger", "verify", "--dir", d], b"");
        assert!(v.contains("cosigned by [witness.example/w1]"), "{v}");
        let state = std::fs::read_to_string(wdir.join("witness-state.json")).unwrap();
        assert!(state.contains("\"size\": 300"), "{state}");
        // The proof carries the cosignature and checks against the witness policy.
        let proof = ok(&["ledger", "proof", "--dir", d, "--index", "299"], b"");
        let pf = tmp.path().join("p");
        std::fs::write(&pf, proof).unwrap();
        let ef = tmp.path().join("e");
        std::fs::write(&ef, b"{\"i\":299,\"who\":\"ps1:abc\"}").unwrap();
        let base = [
            "ledger",
            "check-proof",
            "--proof",
            pf.to_str().unwrap(),
            "--entry",
            ef.to_str().unwrap(),
            "--log-key",
            &log_key,
            "--min-cosigs",
            "1",
        ];
        let out = run(&base, b"", &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "no witness key given: policy unmet"
        );
        let mut with = base.to_vec();
        with.extend(["--witness-key", wkey.as_str()]);
        assert!(ok(&with, b"").starts_with("ok: entry 299"));
        // The independent verifier checks the cosignature too (when python is available).
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../phiguard-ledger/tools/independent_verify.py");
        if let Ok(out) = Command::new("python3")
            .arg(&script)
            .arg(d)
            .arg(&log_key)
            .env("WITNESS_KEY", &wkey)
            .output()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            if !String::from_utf8_lossy(&out.stderr).contains("No module named") {
                assert!(out.status.success(), "{text}");
                assert!(
                    text.contains("cosignature ok: witness.example/w1"),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn witness_refuses_plain_http_off_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let key = "hospital.example/audit+1fe694d6+AfyIQ8I0qAHTVr/R/Peuwg5fg121BseFH21ebNPVI3Ql";
    let out = run(
        &[
            "witness",
            "--dir",
            tmp.path().to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
            "--log-key",
            key,
        ],
        b"",
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dangerous-plain-http"));
}

#[test]
fn an_independent_python_verifier_accepts_the_ledger() {
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have {
        println!("skipped: python3 with the cryptography package not available");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    let key = init(&dir);
    ok(&["ledger", "append", "--dir", d], &ndjson(0..300));
    ok(&["ledger", "append", "--dir", d], &ndjson(300..333));
    let proof = ok(&["ledger", "proof", "--dir", d, "--index", "257"], b"");
    let pf = tmp.path().join("p");
    std::fs::write(&pf, proof).unwrap();
    let ef = tmp.path().join("e");
    std::fs::write(&ef, b"{\"i\":257,\"who\":\"ps1:abc\"}").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../phiguard-ledger/tools/independent_verify.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([d, &key, pf.to_str().unwrap(), ef.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("checkpoint ok: hospital.example/audit size 333"),
        "{stdout}"
    );
    assert!(
        stdout.contains("proof ok: entry 257 in size 333"),
        "{stdout}"
    );
    // And it rejects a wrong entry.
    std::fs::write(&ef, b"{\"i\":258,\"who\":\"ps1:abc\"}").unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .args([d, &key, pf.to_str().unwrap(), ef.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn witness_serves_tls_when_given_a_certificate() {
    let have = |c: &str| Command::new(c).arg("--version").output().is_ok();
    if !have("openssl") || !have("curl") {
        println!("skipped: openssl and curl needed to make and use a test certificate");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("c.pem"), tmp.path().join("k.pem"));
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args([
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ])
        .args([
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let log = "hospital.example/audit+1fe694d6+AfyIQ8I0qAHTVr/R/Peuwg5fg121BseFH21ebNPVI3Ql";
    let mut child = bin()
        .args(["witness", "--dir", tmp.path().join("w").to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--log-key", log])
        .args([
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _guard = KillOnDrop(child);
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");
    // A malformed request over TLS reaches the witness and gets its 400.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
            cert.to_str().unwrap(),
        ])
        .args([
            "-X",
            "POST",
            "--data-binary",
            "old x\n\n",
            &format!("{url}/add-checkpoint"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "400");
}

#[test]
fn serve_exposes_checkpoint_and_tiles_read_only() {
    if Command::new("curl").arg("--version").output().is_err() {
        println!("skipped: curl not available");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let d = dir.to_str().unwrap();
    init(&dir);
    ok(&["ledger", "append", "--dir", d], &ndjson(0..3));
    let mut child = bin()
        .args(["ledger", "serve", "--dir", d, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _guard = KillOnDrop(child);
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let get = |path: &str| {
        let out = Command::new("curl")
            .args(["-s", "-i", &format!("{url}{path}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cp = get("/checkpoint");
    assert!(cp.starts_with("HTTP/1.1 200"), "{cp}");
    assert!(cp.contains("cache-control: no-cache"), "{cp}");
    assert!(cp.contains("hospital.example/audit\n3\n"), "{cp}");
    let t = get("/tile/0/000.p/3");
    assert!(
        t.starts_with("HTTP/1.1 200") && t.contains("application/octet-stream"),
        "{t}"
    );
    assert!(get("/log-key").starts_with("HTTP/1.1 404"));
    assert!(get("/tile/../log-key").starts_with("HTTP/1.1 404"));
    let out = run(
        &["ledger", "serve", "--dir", d, "--listen", "0.0.0.0:0"],
        b"",
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dangerous-plain-http"));
}
