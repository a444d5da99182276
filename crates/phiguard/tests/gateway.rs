//! CLI tests of `phiguard serve` and `phiguard token`, running the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_phiguard");

fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/fhir+json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, out)
}

fn token(dir: &std::path::Path, user: &str, scope: &str) -> String {
    let o = Command::new(BIN)
        .args(["token", "issue", "--data-dir"])
        .arg(dir)
        .args(["--user", user, "--scope", scope])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

#[test]
fn token_issue_and_serve_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A weak-KDF vault keeps the debug-build test fast; serve would create the default one.
    init_vault(&data);
    write_context(&data, &["alice", "bob"], "p1");
    let alice = token(&data, "alice", "user/*.cruds");
    assert_eq!(alice.split('.').count(), 3);
    let bob = token(&data, "bob", "user/*.cruds");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(data.join("issuer/dev-issuer.pk8"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "issuer key must be 0600");

    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PHIGUARD_PASSPHRASE", "test-pass")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut addr = String::new();
    for _ in 0..10 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(a) = line
            .trim()
            .strip_prefix("phiguard serve: listening on http://")
        {
            addr = a.to_string();
            break;
        }
    }
    assert!(!addr.is_empty(), "server did not start");
    assert_eq!(http(&addr, "GET", "/healthz", None, None).0, 200);
    let (code, text) = http(&addr, "GET", "/fhir/Observation/o1", None, None);
    assert_eq!(code, 401);
    assert!(text.contains("OperationOutcome"));
    let obs = "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"subject\":{\"reference\":\"Patient/p1\"}}";
    assert_eq!(
        http(&addr, "POST", "/fhir/Observation", Some(&alice), Some(obs)).0,
        201
    );
    assert_eq!(
        http(&addr, "GET", "/fhir/Observation/o1", Some(&alice), None).0,
        200
    );
    assert_eq!(
        http(&addr, "GET", "/fhir/Observation/o1", Some(&bob), None).0,
        403
    );
    // Revocation takes effect at once.
    let o = Command::new(BIN)
        .args([
            "token",
            "issue",
            "--show-jti",
            "--user",
            "alice",
            "--scope",
            "user/*.cruds",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let t2 = String::from_utf8(o.stdout).unwrap().trim().to_string();
    let jti = String::from_utf8(o.stderr)
        .unwrap()
        .trim()
        .trim_start_matches("jti ")
        .to_string();
    assert_eq!(
        http(&addr, "GET", "/fhir/Observation/o1", Some(&t2), None).0,
        200
    );
    let o = Command::new(BIN)
        .args(["token", "revoke", "--jti", &jti, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        http(&addr, "GET", "/fhir/Observation/o1", Some(&t2), None).0,
        401
    );
    // Graceful shutdown on SIGTERM.
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:18443", "--data-dir"])
        .arg(dir.path())
        .env("PHIGUARD_PASSPHRASE", "x")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("refusing plain HTTP") && e.contains("--dangerous-plain-http"),
        "{e}"
    );
}

fn init_vault(data: &std::path::Path) {
    let o = Command::new(BIN)
        .args(["vault", "init", "--dangerous-weak-kdf", "--data-dir"])
        .arg(data)
        .env("PHIGUARD_PASSPHRASE", "test-pass")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Writes a context with one practitioner per login and one patient, on whose care team the
/// first login is.
fn write_context(data: &std::path::Path, logins: &[&str], patient: &str) {
    let ctx = data.join("context");
    std::fs::create_dir_all(&ctx).unwrap();
    let practitioners: String = logins
        .iter()
        .map(|l| format!("{{\"resourceType\":\"Practitioner\",\"id\":\"pr-{l}\",\"identifier\":[{{\"value\":\"{l}\"}}]}}\n"))
        .collect();
    std::fs::write(ctx.join("Practitioner.ndjson"), practitioners).unwrap();
    std::fs::write(
        ctx.join("Patient.ndjson"),
        format!("{{\"resourceType\":\"Patient\",\"id\":\"{patient}\"}}\n"),
    )
    .unwrap();
    std::fs::write(ctx.join("CareTeam.ndjson"), format!("{{\"resourceType\":\"CareTeam\",\"subject\":{{\"reference\":\"Patient/{patient}\"}},\"participant\":[{{\"member\":{{\"reference\":\"Practitioner/pr-{}\"}}}}],\"period\":{{\"start\":\"2020-01-01T00:00:00Z\"}}}}\n", logins[0])).unwrap();
}

/// Starts `phiguard serve` on a free loopback port; returns the child and its address.
fn start_server(data: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("PHIGUARD_PASSPHRASE", "test-pass")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    for _ in 0..10 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(a) = line
            .trim()
            .strip_prefix("phiguard serve: listening on http://")
        {
            return (child, a.to_string());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

fn account(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.arg("account")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("PHIGUARD_ACCOUNT_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut ch = c.spawn().unwrap();
    let mut input = ch.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    ch.wait_with_output().unwrap()
}

#[test]
fn account_cli_login_and_disable_take_effect_on_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init_vault(&data);
    let pw = "a long enough password";
    // Password from stdin, never argv.
    let o = account(
        &data,
        &[
            "add",
            "--user",
            "carol",
            "--role",
            "auditor",
            "--scope",
            "user/*.rs",
            "--dangerous-weak-kdf",
        ],
        Some(&format!("{pw}\n")),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // No password at all: a clear error.
    let o = account(
        &data,
        &["add", "--user", "dave", "--scope", "user/*.rs"],
        None,
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("PHIGUARD_ACCOUNT_PASSWORD"));
    // Too short.
    let o = account(
        &data,
        &[
            "add",
            "--user",
            "dave",
            "--scope",
            "user/*.rs",
            "--dangerous-weak-kdf",
        ],
        Some("short\n"),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 12"));
    // Duplicate.
    let o = account(
        &data,
        &[
            "add",
            "--user",
            "carol",
            "--scope",
            "x",
            "--dangerous-weak-kdf",
        ],
        Some(&format!("{pw}\n")),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(data.join("accounts.db"))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o077, 0, "accounts.db must be 0600");
    let db = std::fs::read(data.join("accounts.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains(pw),
        "password stored in clear"
    );

    let (mut child, addr) = start_server(&data);
    let body = format!("{{\"username\":\"carol\",\"password\":\"{pw}\"}}");
    let (code, text) = http(&addr, "POST", "/auth/login", None, Some(&body));
    assert_eq!(code, 200, "{text}");
    let json: serde_json::Value =
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let tok = json["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        http(&addr, "GET", "/auth/sessions", Some(&tok), None).0,
        200
    );
    let o = account(&data, &["list", "--json"], None);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["login"], "carol");
    assert_eq!(list[0]["active_sessions"], 1);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("argon2"));
    let o = account(&data, &["disable", "--user", "carol"], None);
    assert!(o.status.success());
    let (code, text) = http(&addr, "GET", "/auth/sessions", Some(&tok), None);
    assert_eq!(code, 401, "{text}");
    assert!(text.contains("OperationOutcome"));
    assert_eq!(http(&addr, "POST", "/auth/login", None, Some(&body)).0, 401);
    let o = account(&data, &["list"], None);
    assert!(String::from_utf8_lossy(&o.stdout).contains("carol\tauditor\tdisabled\t0"));
    let o = account(&data, &["disable", "--user", "nobody"], None);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no account `nobody`"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Starts `phiguard serve` and returns the child, its address and the stderr lines before
/// the listening line.
fn start_server_log(data: &std::path::Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("PHIGUARD_PASSPHRASE", "test-pass")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut lines = vec![];
    for _ in 0..10 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(a) = line
            .trim()
            .strip_prefix("phiguard serve: listening on http://")
        {
            return (child, a.to_string(), lines);
        }
        lines.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start: {lines:?}");
}

#[test]
fn serve_migrates_a_clear_text_index_to_pseudonyms() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init_vault(&data);
    write_context(&data, &["alice"], "patient-zz9");
    let alice = token(&data, "alice", "user/*.cruds");
    let (mut child, addr, _) = start_server_log(&data);
    let obs = "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"subject\":{\"reference\":\"Patient/patient-zz9\"}}";
    assert_eq!(
        http(&addr, "POST", "/fhir/Observation", Some(&alice), Some(obs)).0,
        201
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    // Turn the index back into the earlier format (patient ids in clear).
    let idx = data.join("gateway-index.db");
    {
        let c = rusqlite::Connection::open(&idx).unwrap();
        c.execute_batch(
            "DROP TABLE resource_owner;
             CREATE TABLE resource_patient (rtype TEXT NOT NULL, id TEXT NOT NULL,
               patient TEXT NOT NULL, PRIMARY KEY (rtype, id));
             INSERT INTO resource_patient VALUES ('Observation', 'o1', 'patient-zz9');",
        )
        .unwrap();
    }
    let (mut child, addr, log) = start_server_log(&data);
    assert!(
        log.iter()
            .any(|l| l.contains("migrated gateway-index.db: 1 patient id(s)")),
        "{log:?}"
    );
    let has_clear = |p: &std::path::Path| {
        std::fs::read(p)
            .map(|b| b.windows(11).any(|w| w == b"patient-zz9"))
            .unwrap_or(false)
    };
    assert!(!has_clear(&idx) && !has_clear(&data.join("gateway-index.db-wal")));
    let (code, text) = http(&addr, "GET", "/fhir/Observation/o1", Some(&alice), None);
    assert_eq!(code, 200, "{text}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
