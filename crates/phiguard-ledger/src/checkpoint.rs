//! C2SP tlog-checkpoint bodies (`<origin>\n<size>\n<base64 root>\n[extensions]`) and
//! C2SP tlog-cosignature `cosignature/v1` timestamped Ed25519 cosignatures (type `0x04`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::note::{Note, NoteSignature, Signer, VerifierKey, SIG_COSIGNATURE_V1};

/// A checkpoint body: the tree head of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log origin (first line).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Extension lines (opaque, non-empty).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text of the checkpoint, ending in a newline.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a checkpoint body (the note text).
    pub fn parse_body(text: &str) -> Result<Self> {
        const W: &str = "checkpoint";
        let lines: Vec<&str> = text
            .strip_suffix('\n')
            .ok_or_else(|| Error::parse(W, "body does not end with a newline"))?
            .split('\n')
            .collect();
        let [origin, size, root, ext @ ..] = lines.as_slice() else {
            return Err(Error::parse(W, "fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(Error::parse(W, "line 1: empty origin"));
        }
        let size = parse_size(size).ok_or_else(|| {
            Error::parse(
                W,
                "line 2: tree size is not a decimal without leading zeros",
            )
        })?;
        let root = decode_hash(root).map_err(|r| Error::parse(W, format!("line 3: {r}")))?;
        if let Some(i) = ext.iter().position(|e| e.is_empty()) {
            return Err(Error::parse(
                W,
                format!("line {}: empty extension line", i + 4),
            ));
        }
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: ext.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Parses a signed checkpoint and verifies it against the log's key(s).
    pub fn open(data: &[u8], log_keys: &[VerifierKey]) -> Result<(Self, Note)> {
        let note = Note::parse(data)?;
        let cp = Self::parse_body(&note.text)?;
        let keys: Vec<VerifierKey> = log_keys
            .iter()
            .filter(|k| k.name == cp.origin)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(Error::Signature(format!(
                "no trusted log key is named after the checkpoint origin `{}`",
                cp.origin
            )));
        }
        note.verify(&keys)?;
        Ok((cp, note))
    }

    /// Signs the checkpoint with the log key and returns the note.
    pub fn sign(&self, signer: &Signer) -> Note {
        let text = self.body();
        let sig = signer.sign_note(&text);
        Note {
            text,
            signatures: vec![sig],
        }
    }
}

/// Parses an ASCII decimal with no leading zeros (except `0`).
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Decodes a base64 SHA-256 hash.
pub(crate) fn decode_hash(s: &str) -> std::result::Result<Hash, String> {
    let raw = B64
        .decode(s)
        .map_err(|e| format!("hash is not base64: {e}"))?;
    raw.try_into()
        .map_err(|v: Vec<u8>| format!("hash is {} bytes, not 32", v.len()))
}

/// The message a `cosignature/v1` signs: header, time line, checkpoint body.
pub fn cosignature_message(timestamp: u64, body: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// Produces a timestamped Ed25519 cosignature (signer of type `0x04`) over a checkpoint body.
pub fn cosign(signer: &Signer, timestamp: u64, body: &str) -> Result<NoteSignature> {
    if signer.verifier().sig_type != SIG_COSIGNATURE_V1 {
        return Err(Error::Key(
            "cosigning key must have signature type 0x04".into(),
        ));
    }
    if timestamp > i64::MAX as u64 {
        return Err(Error::Key("cosignature timestamp exceeds 2^63-1".into()));
    }
    let sig = signer.sign_raw(cosignature_message(timestamp, body).as_bytes());
    let mut raw = Vec::with_capacity(72);
    raw.extend_from_slice(&timestamp.to_be_bytes());
    raw.extend_from_slice(&sig);
    Ok(NoteSignature {
        name: signer.name().to_owned(),
        key_id: signer.verifier().key_id,
        sig: raw,
    })
}

/// Verifies a cosignature by `key` (type `0x04`) over a note text; returns its timestamp.
pub fn verify_cosignature(key: &VerifierKey, body: &str, sig: &NoteSignature) -> Result<u64> {
    if key.sig_type != SIG_COSIGNATURE_V1 || key.name != sig.name || key.key_id != sig.key_id {
        return Err(Error::Signature(format!(
            "cosignature by `{}` is not from key `{}`",
            sig.name, key.name
        )));
    }
    let (ts, ed) = sig
        .sig
        .split_first_chunk::<8>()
        .ok_or_else(|| Error::Signature(format!("cosignature by `{}` is too short", sig.name)))?;
    if ed.len() != 64 {
        return Err(Error::Signature(format!(
            "cosignature by `{}` has a {}-byte signature, not 64",
            sig.name,
            ed.len()
        )));
    }
    let ts = u64::from_be_bytes(*ts);
    if ts > i64::MAX as u64 {
        return Err(Error::Signature(format!(
            "cosignature by `{}` has a timestamp above 2^63-1",
            sig.name
        )));
    }
    if !key.verify_raw(cosignature_message(ts, body).as_bytes(), ed) {
        return Err(Error::Signature(format!(
            "cosignature by `{}` ({:08x}) does not verify",
            key.name, key.key_id
        )));
    }
    Ok(ts)
}

/// Checks a note against witness policy: every cosignature from a known witness key must
/// verify; returns the names of the witnesses whose cosignatures verified.
pub fn verify_cosignatures(note: &Note, witnesses: &[VerifierKey]) -> Result<Vec<String>> {
    let mut ok = Vec::new();
    for sig in &note.signatures {
        if let Some(k) = witnesses.iter().find(|k| {
            k.sig_type == SIG_COSIGNATURE_V1 && k.name == sig.name && k.key_id == sig.key_id
        }) {
            verify_cosignature(k, &note.text, sig)?;
            ok.push(k.name.clone());
        }
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::SIG_ED25519;
    use proptest::prelude::*;

    #[test]
    fn spec_example_body_parses_and_reformats() {
        let body =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_body(body).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.body(), body);
        // The spec's cosignature line: key id, 8-byte big-endian timestamp, 64-byte signature.
        let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
        let sig = NoteSignature::parse_line(line).unwrap();
        assert_eq!(sig.sig.len(), 72);
        assert_eq!(
            u64::from_be_bytes(sig.sig[..8].try_into().unwrap()),
            1679315147
        );
        assert!(cosignature_message(1679315147, body)
            .starts_with("cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n"));
    }

    #[test]
    fn bodies_with_bad_lines_are_rejected() {
        for bad in [
            "o\n1\n",
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        ] {
            assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sign_open_and_cosign_round_trip() {
        let log = Signer::generate("example.com/log", SIG_ED25519).unwrap();
        let w = Signer::generate("witness.example/w1", SIG_COSIGNATURE_V1).unwrap();
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 7,
            root: [9; 32],
            extensions: vec![],
        };
        let mut note = cp.sign(&log);
        let cs = cosign(&w, 1_700_000_000, &note.text).unwrap();
        note.signatures.push(cs);
        let data = note.encode();
        let (got, n) = Checkpoint::open(data.as_bytes(), &[log.verifier().clone()]).unwrap();
        assert_eq!(got, cp);
        assert_eq!(
            verify_cosignatures(&n, &[w.verifier().clone()])
                .unwrap()
                .len(),
            1
        );
        // Key ids of type 0x04 differ from type 0x01 ids of the same key.
        let vk = VerifierKey::parse(&w.verifier().encode()).unwrap();
        assert_eq!(vk.sig_type, SIG_COSIGNATURE_V1);
        // Tampered timestamp fails.
        let mut bad = n.clone();
        bad.signatures[1].sig[7] ^= 1;
        assert!(verify_cosignatures(&bad, &[w.verifier().clone()]).is_err());
        // An unknown key fails to open.
        let other = Signer::generate("example.com/log", SIG_ED25519).unwrap();
        assert!(Checkpoint::open(data.as_bytes(), &[other.verifier().clone()]).is_err());
    }

    proptest! {
        #[test]
        fn checkpoint_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(s) = std::str::from_utf8(&data) {
                if let Ok(cp) = Checkpoint::parse_body(s) {
                    prop_assert_eq!(cp.body(), s);
                }
            }
            let _ = Checkpoint::open(&data, &[]);
        }
    }
}
