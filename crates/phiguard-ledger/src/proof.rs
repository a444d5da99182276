//! C2SP tlog-proof: an offline-verifiable inclusion proof with its (cosigned) checkpoint.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <N>
//! <base64 hash>...
//!
//! <checkpoint note>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::checkpoint::{decode_hash, parse_size, verify_cosignatures, Checkpoint};
use crate::error::{Error, Result};
use crate::hash::{leaf_hash, Hash};
use crate::merkle::verify_inclusion;
use crate::note::{Note, VerifierKey};

const HEADER: &str = "c2sp.org/tlog-proof@v1";
const W: &str = "tlog-proof";

/// A parsed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// Leaf index.
    pub index: u64,
    /// Inclusion proof, leaf sibling first.
    pub proof: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// Formats the proof.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(200 + self.proof.len() * 45 + self.checkpoint.len());
        s.push_str(HEADER);
        s.push('\n');
        if let Some(e) = &self.extra {
            s.push_str("extra ");
            s.push_str(&B64.encode(e));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses a proof (syntax only; see [`TlogProof::verify`]).
    pub fn parse(data: &[u8]) -> Result<Self> {
        if data.len() > crate::note::MAX_NOTE_LEN + 8192 {
            return Err(Error::parse(W, "proof is too large"));
        }
        let s =
            std::str::from_utf8(data).map_err(|e| Error::parse(W, format!("not UTF-8: {e}")))?;
        let (head, checkpoint) = s
            .split_once("\n\n")
            .ok_or_else(|| Error::parse(W, "no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').enumerate();
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(Error::parse(W, format!("line 1 is not `{HEADER}`"))),
        }
        let mut extra = None;
        let (mut n, mut line) = lines
            .next()
            .ok_or_else(|| Error::parse(W, "line 2: missing `index` line"))?;
        if let Some(e) = line.strip_prefix("extra ") {
            extra =
                Some(B64.decode(e).map_err(|err| {
                    Error::parse(W, format!("line 2: extra is not base64: {err}"))
                })?);
            (n, line) = lines
                .next()
                .ok_or_else(|| Error::parse(W, "line 3: missing `index` line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_size)
            .ok_or_else(|| {
                Error::parse(W, format!("line {}: expected `index <decimal>`", n + 1))
            })?;
        let mut proof = Vec::new();
        for (n, l) in lines {
            if proof.len() == 64 {
                return Err(Error::parse(W, "more than 64 proof hashes"));
            }
            proof
                .push(decode_hash(l).map_err(|r| Error::parse(W, format!("line {}: {r}", n + 1)))?);
        }
        Note::parse(checkpoint.as_bytes())?;
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies the proof for `entry` (the raw entry bytes): the checkpoint must be signed by
    /// one of `log_keys` with the expected `origin`, at least `min_cosigs` distinct witnesses
    /// among `witness_keys` must have cosigned it, and the inclusion proof must verify.
    pub fn verify(
        &self,
        entry: &[u8],
        origin: &str,
        log_keys: &[VerifierKey],
        witness_keys: &[VerifierKey],
        min_cosigs: usize,
    ) -> Result<Checkpoint> {
        let (cp, note) = Checkpoint::open(self.checkpoint.as_bytes(), log_keys)?;
        if cp.origin != origin {
            return Err(Error::Signature(format!(
                "checkpoint origin `{}` is not the expected `{origin}`",
                cp.origin
            )));
        }
        let mut names = verify_cosignatures(&note, witness_keys)?;
        names.sort();
        names.dedup();
        if names.len() < min_cosigs {
            return Err(Error::Signature(format!(
                "{} witness cosignature(s), policy needs {min_cosigs}",
                names.len()
            )));
        }
        verify_inclusion(
            self.index,
            cp.size,
            &leaf_hash(entry),
            &self.proof,
            &cp.root,
        )?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{inclusion_proof, MemoryTree};
    use crate::note::{Signer, SIG_ED25519};
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_verify() {
        let log = Signer::generate("example.com/log", SIG_ED25519).unwrap();
        let mut t = MemoryTree::new();
        for i in 0u32..11 {
            t.append(&i.to_be_bytes());
        }
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 11,
            root: t.root(),
            extensions: vec![],
        };
        let p = TlogProof {
            extra: Some(b"hi".to_vec()),
            index: 6,
            proof: inclusion_proof(&mut t, 6, 11).unwrap(),
            checkpoint: cp.sign(&log).encode(),
        };
        let text = p.encode();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra aGk=\nindex 6\n"));
        let q = TlogProof::parse(text.as_bytes()).unwrap();
        assert_eq!(q, p);
        let keys = [log.verifier().clone()];
        q.verify(&6u32.to_be_bytes(), "example.com/log", &keys, &[], 0)
            .unwrap();
        assert!(q
            .verify(&7u32.to_be_bytes(), "example.com/log", &keys, &[], 0)
            .is_err());
        assert!(q
            .verify(&6u32.to_be_bytes(), "example.com/log", &keys, &[], 1)
            .is_err());
        assert!(q
            .verify(&6u32.to_be_bytes(), "other", &keys, &[], 0)
            .is_err());
    }

    proptest! {
        #[test]
        fn proof_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = TlogProof::parse(&data);
        }

        #[test]
        fn proof_parser_never_panics_near_valid(s in "c2sp.org/tlog-proof@v1\n(extra [A-Za-z0-9=]{0,8}\n)?index [0-9]{0,3}\n([A-Za-z0-9+/=]{0,44}\n){0,3}\n[a-z\n]{0,10}") {
            let _ = TlogProof::parse(s.as_bytes());
        }
    }
}
