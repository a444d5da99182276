//! The witness side of C2SP tlog-witness: `add-checkpoint` verifies the log's signature and
//! a consistency proof from the size the witness last cosigned, persists the new size
//! atomically (under a lock, before answering), and returns `cosignature/v1` lines.
//!
//! Witness state lives in `DIR/witness-key` (mode 0600) and `DIR/witness-state.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{cosign, decode_hash, parse_size, Checkpoint};
use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::log::write_atomic;
use crate::merkle::verify_consistency;
use crate::note::{Note, Signer, VerifierKey, SIG_COSIGNATURE_V1, SIG_ED25519};

const KEY: &str = "witness-key";
const STATE: &str = "witness-state.json";
/// Largest `add-checkpoint` request body accepted.
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct LogState {
    size: u64,
    root: String,
}

/// An `add-checkpoint` refusal: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status code (400, 403, 404, 409, 422).
    pub status: u16,
    /// Response body (for 409 on size mismatch: the witness' size and a newline).
    pub body: String,
    /// Whether the body is a `text/x.tlog.size`.
    pub size_body: bool,
}

fn refuse(status: u16, body: impl Into<String>) -> Refusal {
    Refusal {
        status,
        body: body.into(),
        size_body: false,
    }
}

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone)]
pub struct AddCheckpoint {
    /// The `old` size.
    pub old: u64,
    /// Consistency proof hashes.
    pub proof: Vec<Hash>,
    /// The submitted checkpoint note (signatures not verified yet).
    pub note: Note,
    /// Its parsed body.
    pub checkpoint: Checkpoint,
}

/// Parses an `add-checkpoint` request body (syntax only); refusals carry status 400.
pub fn parse_add_checkpoint(body: &[u8]) -> std::result::Result<AddCheckpoint, Refusal> {
    if body.len() > MAX_REQUEST {
        return Err(refuse(400, "request too large\n"));
    }
    let text = std::str::from_utf8(body).map_err(|_| refuse(400, "body is not UTF-8\n"))?;
    let (head, note) = text
        .split_once("\n\n")
        .ok_or_else(|| refuse(400, "missing blank line before the checkpoint\n"))?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .and_then(parse_size)
        .ok_or_else(|| refuse(400, "first line must be `old <size>`\n"))?;
    let mut proof: Vec<Hash> = Vec::new();
    for (i, l) in lines.enumerate() {
        if i == 63 {
            return Err(refuse(400, "more than 63 consistency proof lines\n"));
        }
        proof
            .push(decode_hash(l).map_err(|r| refuse(400, format!("proof line {}: {r}\n", i + 1)))?);
    }
    let parsed = Note::parse(note.as_bytes()).map_err(|e| refuse(400, format!("{e}\n")))?;
    let cp = Checkpoint::parse_body(&parsed.text).map_err(|e| refuse(400, format!("{e}\n")))?;
    Ok(AddCheckpoint {
        old,
        proof,
        note: parsed,
        checkpoint: cp,
    })
}

/// A witness: its cosigning key, the logs it follows and what it has cosigned.
#[derive(Debug)]
pub struct Witness {
    dir: PathBuf,
    signer: Signer,
    logs: Vec<VerifierKey>,
    state: Mutex<BTreeMap<String, LogState>>,
}

impl Witness {
    /// Opens (or creates, with a new key named `name`) the witness state in `dir`.
    pub fn open(dir: &Path, name: &str, logs: Vec<VerifierKey>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let key_path = dir.join(KEY);
        let signer = match std::fs::read(&key_path) {
            Ok(d) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    let m = std::fs::metadata(&key_path)
                        .map_err(|e| Error::io("stat", &key_path, e))?;
                    if m.permissions().mode() & 0o077 != 0 {
                        return Err(Error::Key(format!(
                            "`{}` is readable by group or others; run `chmod 600` on it",
                            key_path.display()
                        )));
                    }
                }
                Signer::parse(&String::from_utf8_lossy(&d))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let s = Signer::generate(name, SIG_COSIGNATURE_V1)?;
                write_atomic(
                    &key_path,
                    format!("{}\n", s.encode()).as_bytes(),
                    Some(0o600),
                )?;
                s
            }
            Err(e) => return Err(Error::io("read", &key_path, e)),
        };
        for l in &logs {
            if l.sig_type != SIG_ED25519 {
                return Err(Error::Key(format!(
                    "log key `{}` is not an Ed25519 note key",
                    l.name
                )));
            }
        }
        let state_path = dir.join(STATE);
        let state = match std::fs::read(&state_path) {
            Ok(d) => serde_json::from_slice(&d)
                .map_err(|e| Error::parse("witness-state.json", e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::io("read", &state_path, e)),
        };
        Ok(Self {
            dir: dir.to_owned(),
            signer,
            logs,
            state: Mutex::new(state),
        })
    }

    /// The witness' cosignature verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        self.signer.verifier()
    }

    /// Handles an `add-checkpoint` request body; returns the cosignature line(s).
    pub fn add_checkpoint(&self, body: &[u8]) -> std::result::Result<String, Refusal> {
        let AddCheckpoint {
            old,
            proof,
            note: parsed,
            checkpoint: cp,
        } = parse_add_checkpoint(body)?;
        let keys: Vec<VerifierKey> = self
            .logs
            .iter()
            .filter(|k| k.name == cp.origin)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(refuse(404, "unknown log origin\n"));
        }
        parsed
            .verify(&keys)
            .map_err(|e| refuse(403, format!("{e}\n")))?;
        if old > cp.size {
            return Err(refuse(400, "old size is larger than the checkpoint size\n"));
        }
        // Check and update atomically.
        let mut state = self
            .state
            .lock()
            .map_err(|_| refuse(500, "state lock poisoned\n"))?;
        let cur = state.get(&cp.origin).cloned().unwrap_or_default();
        if cur.size != old {
            return Err(Refusal {
                status: 409,
                body: format!("{}\n", cur.size),
                size_body: true,
            });
        }
        let cur_root: Option<Hash> = if cur.size > 0 {
            Some(decode_hash(&cur.root).map_err(|_| refuse(500, "stored root unreadable\n"))?)
        } else {
            None
        };
        if old == cp.size {
            if let Some(r) = cur_root {
                if r != cp.root {
                    return Err(refuse(409, "same size, different root\n"));
                }
            }
            if !proof.is_empty() {
                return Err(refuse(422, "proof between equal sizes must be empty\n"));
            }
        } else if old == 0 {
            if !proof.is_empty() {
                return Err(refuse(422, "proof from size 0 must be empty\n"));
            }
        } else {
            let r = cur_root.unwrap_or_default();
            verify_consistency(old, cp.size, &r, &cp.root, &proof)
                .map_err(|e| refuse(422, format!("{e}\n")))?;
        }
        let mut next = state.clone();
        next.insert(
            cp.origin.clone(),
            LogState {
                size: cp.size,
                root: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, cp.root),
            },
        );
        let data = serde_json::to_vec_pretty(&next).map_err(|_| refuse(500, "encode state\n"))?;
        write_atomic(&self.dir.join(STATE), &data, None)
            .map_err(|_| refuse(500, "cannot persist witness state\n"))?;
        *state = next;
        drop(state);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sig = cosign(&self.signer, now, &parsed.text).map_err(|_| refuse(500, "cosign\n"))?;
        Ok(sig.line())
    }
}

/// The witness HTTP API: `POST /add-checkpoint`.
pub fn witness_router(w: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(w)
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    // Persisting the state fsyncs: keep it off the async workers.
    let res = tokio::task::spawn_blocking(move || w.add_checkpoint(&body)).await;
    match res {
        Ok(Ok(lines)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            lines,
        )
            .into_response(),
        Ok(Err(r)) => {
            let status =
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let ct = if r.size_body {
                "text/x.tlog.size"
            } else {
                "text/plain; charset=utf-8"
            };
            (status, [(header::CONTENT_TYPE, ct)], r.body).into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::{consistency_proof, MemoryTree};
    use base64::Engine as _;
    use proptest::prelude::*;

    fn req(old: u64, proof: &[Hash], note: &str) -> Vec<u8> {
        let mut s = format!("old {old}\n");
        for h in proof {
            s.push_str(&base64::engine::general_purpose::STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(note);
        s.into_bytes()
    }

    #[test]
    fn add_checkpoint_follows_the_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let log = Signer::generate("example.com/log", SIG_ED25519).unwrap();
        let w = Witness::open(
            dir.path(),
            "witness.example/w1",
            vec![log.verifier().clone()],
        )
        .unwrap();
        let mut t = MemoryTree::new();
        let cp_at = |t: &mut MemoryTree, n: u64| {
            while t.size() < n {
                t.append_leaf_hash(leaf_hash(&t.size().to_be_bytes()));
            }
            Checkpoint {
                origin: "example.com/log".into(),
                size: n,
                root: t.root(),
                extensions: vec![],
            }
            .sign(&log)
            .encode()
        };
        let n5 = cp_at(&mut t, 5);
        let line = w.add_checkpoint(&req(0, &[], &n5)).unwrap();
        // The cosignature verifies when appended to the checkpoint.
        let mut note = Note::parse(n5.as_bytes()).unwrap();
        note.signatures
            .push(crate::note::NoteSignature::parse_line(line.trim_end()).unwrap());
        assert_eq!(
            crate::checkpoint::verify_cosignatures(&note, &[w.verifier().clone()])
                .unwrap()
                .len(),
            1
        );
        // Stale old size: 409 with the current size.
        let n9 = cp_at(&mut t, 9);
        let r = w.add_checkpoint(&req(0, &[], &n9)).unwrap_err();
        assert_eq!((r.status, r.body.as_str(), r.size_body), (409, "5\n", true));
        // Bad proof: 422. Good proof: 200.
        let p = consistency_proof(&mut t, 5, 9).unwrap();
        let mut bad = p.clone();
        bad[0][0] ^= 1;
        assert_eq!(
            w.add_checkpoint(&req(5, &bad, &n9)).unwrap_err().status,
            422
        );
        w.add_checkpoint(&req(5, &p, &n9)).unwrap();
        // Unknown origin 404, bad signature 403, old > size 400.
        let other = Signer::generate("example.com/other", SIG_ED25519).unwrap();
        let n_other = Checkpoint {
            origin: "example.com/other".into(),
            size: 1,
            root: [0; 32],
            extensions: vec![],
        }
        .sign(&other)
        .encode();
        assert_eq!(
            w.add_checkpoint(&req(0, &[], &n_other)).unwrap_err().status,
            404
        );
        let forged = Signer::generate("example.com/log", SIG_ED25519).unwrap();
        let n_forged = Checkpoint {
            origin: "example.com/log".into(),
            size: 9,
            root: [0; 32],
            extensions: vec![],
        }
        .sign(&forged)
        .encode();
        assert_eq!(
            w.add_checkpoint(&req(9, &[], &n_forged))
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(
            w.add_checkpoint(&req(10, &[], &n9)).unwrap_err().status,
            400
        );
        // A fork at the same size: 409. State survives a restart.
        let fork = Checkpoint {
            origin: "example.com/log".into(),
            size: 9,
            root: [1; 32],
            extensions: vec![],
        }
        .sign(&log)
        .encode();
        assert_eq!(
            w.add_checkpoint(&req(9, &[], &fork)).unwrap_err().status,
            409
        );
        drop(w);
        let w2 = Witness::open(dir.path(), "ignored", vec![log.verifier().clone()]).unwrap();
        assert_eq!(
            w2.add_checkpoint(&req(0, &[], &n9)).unwrap_err().body,
            "9\n"
        );
    }

    proptest! {
        #[test]
        fn request_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_add_checkpoint(&data);
        }

        #[test]
        fn request_parser_never_panics_near_valid(s in "old [0-9]{1,3}\n([A-Za-z0-9+/=]{0,44}\n){0,3}\n[a-z.]{1,8}\n[0-9]{1,3}\n[A-Za-z0-9+/=]{0,44}\n\n(\u{2014} [a-z]{1,4} [A-Za-z0-9+/=]{0,20}\n){0,2}") {
            let _ = parse_add_checkpoint(s.as_bytes());
        }
    }
}
