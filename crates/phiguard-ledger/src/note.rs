//! C2SP signed-note: note text + signature lines `— <name> base64(key id || signature)`,
//! Ed25519 keys (type `0x01`), key ids `SHA-256(name || 0x0A || type || pubkey)[:4]`,
//! verifier keys `<name>+<hex id>+<base64(type || pubkey)>` and signer keys
//! `PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>` (the Go `sumdb/note` encoding).

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::error::{Error, Result};
use crate::hash::sha256;

/// Signature type byte of Ed25519 note signatures.
pub const SIG_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 witness cosignatures (tlog-cosignature).
pub const SIG_COSIGNATURE_V1: u8 = 0x04;
/// Most signature lines accepted in one note.
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;
const DASH: &str = "\u{2014} ";

/// Whether `name` is a valid key name: non-empty, no Unicode spaces, no `+`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// `SHA-256(name || 0x0A || type || public key)[:4]` as a big-endian u32.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut buf = Vec::with_capacity(name.len() + 2 + public_key.len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(sig_type);
    buf.extend_from_slice(public_key);
    let h = sha256(&buf);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// A public key that can check note signatures of one (name, key id, type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// Key name (for a log, its origin).
    pub name: String,
    /// Key id.
    pub key_id: u32,
    /// Signature type byte (`0x01` or `0x04`).
    pub sig_type: u8,
    /// Ed25519 public key.
    pub public_key: [u8; 32],
}

impl VerifierKey {
    /// Builds a verifier key, computing its id.
    pub fn new(name: &str, sig_type: u8, public_key: [u8; 32]) -> Result<Self> {
        if !valid_key_name(name) {
            return Err(Error::Key(format!("invalid key name `{name}`")));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, sig_type, &public_key),
            sig_type,
            public_key,
        })
    }

    /// Parses `<name>+<hex id>+<base64(type || pubkey)>`; the id must match the key.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim_end_matches('\n');
        let mut it = s.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (it.next(), it.next(), it.next()) else {
            return Err(Error::Key(
                "verifier key must be `<name>+<hex id>+<base64 key>`".into(),
            ));
        };
        if !valid_key_name(name) {
            return Err(Error::Key(format!("invalid key name `{name}`")));
        }
        if id.len() != 8
            || !id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(Error::Key(format!(
                "key id `{id}` is not 8 lowercase hex digits"
            )));
        }
        let id = u32::from_str_radix(id, 16).map_err(|e| Error::Key(e.to_string()))?;
        let raw = B64
            .decode(key)
            .map_err(|e| Error::Key(format!("verifier key of `{name}`: bad base64: {e}")))?;
        let [sig_type, pk @ ..] = raw.as_slice() else {
            return Err(Error::Key(format!("verifier key of `{name}` is empty")));
        };
        if *sig_type != SIG_ED25519 && *sig_type != SIG_COSIGNATURE_V1 {
            return Err(Error::Key(format!(
                "verifier key of `{name}` has unsupported type 0x{sig_type:02x}"
            )));
        }
        let public_key: [u8; 32] = pk
            .try_into()
            .map_err(|_| Error::Key(format!("verifier key of `{name}` is not 32 bytes")))?;
        let v = Self::new(name, *sig_type, public_key)?;
        if v.key_id != id {
            return Err(Error::Key(format!(
                "verifier key of `{name}`: id {id:08x} does not match the key ({:08x})",
                v.key_id
            )));
        }
        Ok(v)
    }

    /// Formats `<name>+<hex id>+<base64(type || pubkey)>`.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.sig_type);
        raw.extend_from_slice(&self.public_key);
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }

    /// Verifies an Ed25519 signature over `msg`.
    pub fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
            .verify(msg, sig)
            .is_ok()
    }
}

/// An Ed25519 signing key with a name and a signature type.
pub struct Signer {
    name: String,
    sig_type: u8,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
    verifier: VerifierKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("verifier", &self.verifier.encode())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, sig_type: u8, seed: [u8; 32]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| Error::Key(format!("ed25519 seed rejected: {e}")))?;
        let pk: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| Error::Key("ed25519 public key is not 32 bytes".into()))?;
        let verifier = VerifierKey::new(name, sig_type, pk)?;
        Ok(Self {
            name: name.to_owned(),
            sig_type,
            seed,
            pair,
            verifier,
        })
    }

    /// A new random signer.
    pub fn generate(name: &str, sig_type: u8) -> Result<Self> {
        let mut seed = [0u8; 32];
        aws_lc_rs::rand::fill(&mut seed).map_err(|_| Error::Key("no randomness".into()))?;
        Self::from_seed(name, sig_type, seed)
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(type || seed)>`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim_end_matches('\n');
        let rest = s
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| Error::Key("signer key must start with `PRIVATE+KEY+`".into()))?;
        let mut it = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (it.next(), it.next(), it.next()) else {
            return Err(Error::Key("signer key is missing fields".into()));
        };
        let raw = B64
            .decode(key)
            .map_err(|e| Error::Key(format!("signer key: bad base64: {e}")))?;
        let [sig_type, seed @ ..] = raw.as_slice() else {
            return Err(Error::Key("signer key is empty".into()));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| Error::Key("signer seed is not 32 bytes".into()))?;
        let signer = Self::from_seed(name, *sig_type, seed)?;
        if format!("{:08x}", signer.verifier.key_id) != id {
            return Err(Error::Key("signer key id does not match the key".into()));
        }
        Ok(signer)
    }

    /// Formats the signer key string (secret!).
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.sig_type);
        raw.extend_from_slice(&self.seed);
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier.key_id,
            B64.encode(raw)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Raw Ed25519 signature over `msg`.
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(msg).as_ref());
        out
    }

    /// A note signature (type `0x01`) over `text`.
    pub fn sign_note(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier.key_id,
            sig: self.sign_raw(text.as_bytes()).to_vec(),
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id.
    pub key_id: u32,
    /// Signature bytes after the key id.
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// Formats the line `— <name> base64(id || sig)\n`.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.sig);
        format!("{DASH}{} {}\n", self.name, B64.encode(raw))
    }

    /// Parses one signature line (without its newline).
    pub fn parse_line(line: &str) -> Result<Self> {
        const W: &str = "signed note";
        let rest = line
            .strip_prefix(DASH)
            .ok_or_else(|| Error::parse(W, "signature line does not start with `— `"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| Error::parse(W, "signature line has no space after the key name"))?;
        if !valid_key_name(name) {
            return Err(Error::parse(W, format!("invalid key name `{name}`")));
        }
        let raw = B64
            .decode(b64)
            .map_err(|e| Error::parse(W, format!("signature of `{name}` is not base64: {e}")))?;
        if raw.len() < 5 {
            return Err(Error::parse(
                W,
                format!("signature of `{name}` is too short"),
            ));
        }
        let (id, sig) = raw.split_at(4);
        Ok(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            sig: sig.to_vec(),
        })
    }
}

/// A parsed (not yet verified) signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// The signature lines in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note, enforcing the C2SP syntax.
    pub fn parse(data: &[u8]) -> Result<Self> {
        const W: &str = "signed note";
        if data.len() > MAX_NOTE_LEN {
            return Err(Error::parse(W, "note is larger than 1 MiB"));
        }
        let s =
            std::str::from_utf8(data).map_err(|e| Error::parse(W, format!("not UTF-8: {e}")))?;
        if let Some(pos) = s.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(Error::parse(W, format!("control character at byte {pos}")));
        }
        if !s.ends_with('\n') {
            return Err(Error::parse(W, "does not end with a newline"));
        }
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| Error::parse(W, "no blank line before the signatures"))?;
        let text = &s[..=split];
        let sigs = &s[split + 2..];
        let mut signatures = Vec::new();
        for line in sigs.strip_suffix('\n').unwrap_or(sigs).split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Error::parse(W, "too many signatures"));
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        if signatures.is_empty() {
            return Err(Error::parse(W, "no signatures"));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Formats the note: text, blank line, signature lines.
    pub fn encode(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// Checks the signatures of known Ed25519 (type `0x01`) keys: each must verify, and at
    /// least one must be present. Unknown signatures are ignored. Returns the names verified.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<String>> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            let Some(k) = keys.iter().find(|k| {
                k.sig_type == SIG_ED25519 && k.name == sig.name && k.key_id == sig.key_id
            }) else {
                continue;
            };
            if !k.verify_raw(self.text.as_bytes(), &sig.sig) {
                return Err(Error::Signature(format!(
                    "signature by `{}` ({:08x}) does not verify",
                    k.name, k.key_id
                )));
            }
            ok.push(k.name.clone());
        }
        if ok.is_empty() {
            return Err(Error::Signature(
                "no signature from a trusted key (is the note signed by an unknown key?)".into(),
            ));
        }
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Known answers from golang.org/x/mod/sumdb/note's documentation.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    // From the C2SP signed-note specification ("Verifier keys" example).
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn go_reference_note_is_reproduced_byte_for_byte() {
        let s = Signer::parse(GO_SKEY).unwrap();
        assert_eq!(s.encode(), GO_SKEY);
        assert_eq!(s.verifier().encode(), GO_VKEY);
        assert_eq!(s.verifier().key_id, 0xc74f20a3);
        let note = Note {
            text: GO_TEXT.into(),
            signatures: vec![s.sign_note(GO_TEXT)],
        };
        assert_eq!(note.encode(), GO_NOTE);
        let parsed = Note::parse(GO_NOTE.as_bytes()).unwrap();
        assert_eq!(parsed, note);
        let v = VerifierKey::parse(GO_VKEY).unwrap();
        assert_eq!(
            parsed.verify(&[v]).unwrap(),
            vec!["PeterNeumann".to_string()]
        );
    }

    #[test]
    fn spec_example_note_verifies() {
        let v = VerifierKey::parse(SPEC_VKEY).unwrap();
        assert_eq!(v.key_id, 0x530d903a);
        let n = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
        n.verify(std::slice::from_ref(&v)).unwrap();
        let mut bad = n.clone();
        bad.text = "This is an example massage.\n".into();
        assert!(bad.verify(&[v]).is_err());
    }

    #[test]
    fn unknown_keys_and_bad_syntax_are_rejected() {
        let n = Note::parse(GO_NOTE.as_bytes()).unwrap();
        let other = Signer::generate("PeterNeumann", SIG_ED25519).unwrap();
        assert!(n.verify(&[other.verifier().clone()]).is_err());
        assert!(VerifierKey::parse(
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
        .is_err());
        for bad in [
            "no blank line\n\u{2014} a AAAAAAA=\n",
            "text\n\n",
            "text\n\n\u{2014} a AAAAAAA=",
            "text\n\n- a AAAAAAA=\n",
            "te\u{7}xt\n\n\u{2014} a AAAAAAAA\n",
            "text\n\n\u{2014} a+b AAAAAAAA\n",
            "text\n\n\u{2014} a AAAA\n",
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn note_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(n) = Note::parse(&data) {
                let _ = n.encode();
            }
        }

        #[test]
        fn note_parser_never_panics_on_near_notes(s in "[a-z\n ]{0,30}\n\n(\u{2014} [a-z]{1,5} [A-Za-z0-9+/=]{0,20}\n){0,3}") {
            let _ = Note::parse(s.as_bytes());
        }

        #[test]
        fn key_parsers_never_panic(s in "\\PC{0,90}") {
            let _ = VerifierKey::parse(&s);
            let _ = Signer::parse(&s);
        }
    }
}
