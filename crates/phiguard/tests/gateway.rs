//! CLI tests of `phiguard serve` and `phiguard token`, running the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    let o = Command::new(BIN)
        .args(["vault", "init", "--dangerous-weak-kdf", "--data-dir"])
        .arg(&data)
        .env("PHIGUARD_PASSPHRASE", "test-pass")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ctx = data.join("context");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Practitioner.ndjson"), "{\"resourceType\":\"Practitioner\",\"id\":\"pa\",\"identifier\":[{\"value\":\"alice\"}]}\n{\"resourceType\":\"Practitioner\",\"id\":\"pb\",\"identifier\":[{\"value\":\"bob\"}]}\n").unwrap();
    std::fs::write(
        ctx.join("Patient.ndjson"),
        "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n",
    )
    .unwrap();
    std::fs::write(ctx.join("CareTeam.ndjson"), "{\"resourceType\":\"CareTeam\",\"subject\":{\"reference\":\"Patient/p1\"},\"participant\":[{\"member\":{\"reference\":\"Practitioner/pa\"}}],\"period\":{\"start\":\"2020-01-01T00:00:00Z\"}}\n").unwrap();
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
