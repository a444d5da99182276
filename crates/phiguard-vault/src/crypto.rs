//! AES-256-GCM sealing in the [`crate::envelope`] format, plus HKDF-SHA-256 and
//! HMAC-SHA-256 helpers, all from aws-lc-rs.
//!
//! Associated data (AAD) is always `auth_header || context`, where `context` is one of the
//! `*_context` encodings below. Every variable-length field is length-prefixed, so no two
//! different rows can produce the same AAD: a ciphertext copied to another tenant, patient,
//! resource type, id or version fails to open.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::{hkdf, hmac, rand};
use zeroize::Zeroizing;

use crate::envelope::{self, EnvelopeError, Kind, HEADER_LEN, NONCE_LEN};
use crate::error::VaultError;

/// Key length of AES-256 and of every vault key.
pub const KEY_LEN: usize = 32;

/// A 256-bit secret that is wiped from memory when dropped.
pub type SecretKey = Zeroizing<[u8; KEY_LEN]>;

/// Generates a fresh random 256-bit key.
pub fn random_key() -> Result<SecretKey, VaultError> {
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    rand::fill(&mut k[..]).map_err(|_| VaultError::Crypto("random key generation failed"))?;
    Ok(k)
}

/// Fills `out` with random bytes.
pub fn random_bytes(out: &mut [u8]) -> Result<(), VaultError> {
    rand::fill(out).map_err(|_| VaultError::Crypto("random generation failed"))
}

/// Why an envelope did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The bytes are not an envelope of the expected kind.
    Format(EnvelopeError),
    /// The tag did not verify: tampered, moved, or wrong key.
    Auth,
}

/// An AES-256-GCM key that seals and opens envelopes.
pub struct SealKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// Builds a key from 32 bytes.
    pub fn new(bytes: &[u8; KEY_LEN]) -> Result<Self, VaultError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| VaultError::Crypto("aes-256-gcm key setup failed"))?;
        Ok(SealKey {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plaintext` under a fresh random 96-bit nonce.
    pub fn seal(
        &self,
        kind: Kind,
        key_version: u32,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        self.seal_with_nonce(kind, key_version, &nonce, context, plaintext)
    }

    /// Seals with a caller-chosen nonce. Only for known-answer tests and deterministic
    /// fixtures: reusing a nonce under one key breaks GCM.
    pub fn seal_with_nonce(
        &self,
        kind: Kind,
        key_version: u32,
        nonce: &[u8; NONCE_LEN],
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let mut out = Vec::new();
        self.seal_into_with_nonce(&mut out, kind, key_version, nonce, context, plaintext)?;
        Ok(out)
    }

    /// Seals in place without copying the plaintext: `buf[..HEADER_LEN]` is reserved space
    /// (overwritten with the header), `buf[HEADER_LEN..]` is the plaintext; on return `buf`
    /// is the envelope. Start from [`SealKey::plaintext_buffer`] and write the document after
    /// the reserved bytes (e.g. `serde_json::to_writer(&mut buf, &doc)`).
    pub fn seal_in_place(
        &self,
        buf: &mut Vec<u8>,
        kind: Kind,
        key_version: u32,
        context: &[u8],
    ) -> Result<(), VaultError> {
        if buf.len() < HEADER_LEN {
            return Err(VaultError::InvalidState(format!(
                "seal_in_place needs {HEADER_LEN} reserved header bytes, buffer has {}",
                buf.len()
            )));
        }
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let header = envelope::header(kind, key_version, &nonce);
        buf[..HEADER_LEN].copy_from_slice(&header);
        let aad = aad(&header[..envelope::AUTH_HEADER_LEN], context);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut buf[HEADER_LEN..],
            )
            .map_err(|_| VaultError::Crypto("aes-256-gcm seal failed"))?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// An empty buffer with the header space reserved, for [`SealKey::seal_in_place`].
    pub fn plaintext_buffer(capacity: usize) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + capacity + envelope::TAG_LEN);
        b.resize(HEADER_LEN, 0);
        b
    }

    /// Seals into `out` (cleared first), reusing its allocation: for callers that seal many
    /// large documents in a row.
    pub fn seal_into(
        &self,
        out: &mut Vec<u8>,
        kind: Kind,
        key_version: u32,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<(), VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        self.seal_into_with_nonce(out, kind, key_version, &nonce, context, plaintext)
    }

    fn seal_into_with_nonce(
        &self,
        out: &mut Vec<u8>,
        kind: Kind,
        key_version: u32,
        nonce: &[u8; NONCE_LEN],
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<(), VaultError> {
        let header = envelope::header(kind, key_version, nonce);
        let pt_len = plaintext.len();
        let total = HEADER_LEN + pt_len + envelope::TAG_LEN;
        // Reuse the buffer without clearing it: every byte is overwritten below.
        out.truncate(total);
        out.resize(total, 0);
        let (head, body) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&header);
        let (ct, tag) = body.split_at_mut(pt_len);
        let aad = aad(&header[..envelope::AUTH_HEADER_LEN], context);
        // One pass: plaintext in, ciphertext out (no copy-then-encrypt).
        self.key
            .seal_out_of_place_scatter(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(&aad[..]),
                plaintext,
                ct,
                &[],
                tag,
            )
            .map_err(|_| VaultError::Crypto("aes-256-gcm seal failed"))
    }

    /// Opens an envelope of `kind` bound to `context`, returning the plaintext.
    pub fn open(&self, bytes: &[u8], kind: Kind, context: &[u8]) -> Result<Vec<u8>, OpenError> {
        let env = envelope::parse_kind(bytes, kind).map_err(OpenError::Format)?;
        let aad = aad(env.auth_header, context);
        let split = env.sealed.len() - envelope::TAG_LEN;
        let (ct, tag) = env.sealed.split_at(split);
        // One pass: ciphertext in, plaintext out.
        let mut out = vec![0u8; split];
        self.key
            .open_separate_gather(
                Nonce::assume_unique_for_key(env.nonce),
                Aad::from(&aad[..]),
                ct,
                tag,
                &mut out,
            )
            .map_err(|_| OpenError::Auth)?;
        Ok(out)
    }

    /// Opens an envelope in place (no copy of the ciphertext); returns the plaintext.
    pub fn open_owned(
        &self,
        mut bytes: Vec<u8>,
        kind: Kind,
        context: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        let (nonce, aad) = {
            let env = envelope::parse_kind(&bytes, kind).map_err(OpenError::Format)?;
            (env.nonce, aad(env.auth_header, context))
        };
        let len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad[..]),
                &mut bytes[HEADER_LEN..],
            )
            .map_err(|_| OpenError::Auth)?
            .len();
        bytes.truncate(HEADER_LEN + len);
        bytes.drain(..HEADER_LEN);
        Ok(bytes)
    }
}

fn aad(auth_header: &[u8], context: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(auth_header.len() + context.len());
    a.extend_from_slice(auth_header);
    a.extend_from_slice(context);
    a
}

fn push_lp(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

/// AAD context of a record: tenant, patient token, resource type, id, version.
pub fn record_context(
    tenant: &str,
    patient: &[u8; 32],
    resource_type: &str,
    id: &str,
    version: u64,
) -> Vec<u8> {
    let mut c = Vec::with_capacity(64 + tenant.len() + resource_type.len() + id.len());
    push_lp(&mut c, b"phiguard/record/v1");
    push_lp(&mut c, tenant.as_bytes());
    push_lp(&mut c, patient);
    push_lp(&mut c, resource_type.as_bytes());
    push_lp(&mut c, id.as_bytes());
    c.extend_from_slice(&version.to_be_bytes());
    c
}

/// AAD context of a wrapped data key: tenant, patient token, data-key version.
pub fn data_key_context(tenant: &str, patient: &[u8; 32], dk_version: u32) -> Vec<u8> {
    let mut c = Vec::new();
    push_lp(&mut c, b"phiguard/data-key/v1");
    push_lp(&mut c, tenant.as_bytes());
    push_lp(&mut c, patient);
    c.extend_from_slice(&dk_version.to_be_bytes());
    c
}

/// AAD context of the wrapped tokenization root key.
pub fn token_root_context(tenant: &str) -> Vec<u8> {
    let mut c = Vec::new();
    push_lp(&mut c, b"phiguard/token-root/v1");
    push_lp(&mut c, tenant.as_bytes());
    c
}

/// HKDF-SHA-256 (RFC 5869) producing `out.len()` bytes.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), VaultError> {
    struct Len(usize);
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    prk.expand(&info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| VaultError::Crypto("hkdf expand failed"))
}

/// HMAC-SHA-256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&k, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Raw AES-256-GCM seal (ciphertext || tag) with explicit nonce and AAD: the primitive under
/// [`SealKey`], exposed for known-answer tests and the raw baseline in benchmarks.
pub fn raw_aes256gcm_seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    in_out: &mut Vec<u8>,
) -> Result<(), VaultError> {
    let k = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| VaultError::Crypto("key setup failed"))?,
    );
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), in_out)
        .map_err(|_| VaultError::Crypto("aes-256-gcm seal failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// GCM spec (McGrew & Viega) test case 16: AES-256, 96-bit IV, with AAD.
    #[test]
    fn kat_aes256gcm_test_case_16() {
        let key: [u8; 32] = h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
            .try_into()
            .unwrap();
        let iv: [u8; 12] = h("cafebabefacedbaddecaf888").try_into().unwrap();
        let pt = h("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
        let aad = h("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let mut buf = pt.clone();
        raw_aes256gcm_seal(&key, &iv, &aad, &mut buf).unwrap();
        let expect_ct = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
        let expect_tag = "76fc6ece0f4e1768cddf8853bb2d551b";
        assert_eq!(hex::encode(&buf[..pt.len()]), expect_ct);
        assert_eq!(hex::encode(&buf[pt.len()..]), expect_tag);
    }

    /// The envelope is exactly header || GCM(key, nonce, header[..9] || context, pt).
    #[test]
    fn envelope_is_gcm_over_header_and_context() {
        let key = [7u8; 32];
        let nonce = [3u8; 12];
        let ctx = record_context("t", &[1; 32], "Patient", "p1", 2);
        let sk = SealKey::new(&key).unwrap();
        let env = sk
            .seal_with_nonce(Kind::Record, 5, &nonce, &ctx, b"{\"a\":1}")
            .unwrap();
        let header = envelope::header(Kind::Record, 5, &nonce);
        let mut aad = header[..9].to_vec();
        aad.extend_from_slice(&ctx);
        let mut raw = b"{\"a\":1}".to_vec();
        raw_aes256gcm_seal(&key, &nonce, &aad, &mut raw).unwrap();
        assert_eq!(&env[..HEADER_LEN], &header);
        assert_eq!(&env[HEADER_LEN..], &raw[..]);
        assert_eq!(sk.open(&env, Kind::Record, &ctx).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn any_bit_flip_or_context_change_fails() {
        let sk = SealKey::new(&[9u8; 32]).unwrap();
        let ctx = record_context("t", &[1; 32], "Observation", "o1", 1);
        let env = sk.seal(Kind::Record, 1, &ctx, b"secret").unwrap();
        for i in 0..env.len() {
            let mut x = env.clone();
            x[i] ^= 0x01;
            assert!(
                sk.open(&x, Kind::Record, &ctx).is_err(),
                "flip at {i} opened"
            );
        }
        for other in [
            record_context("u", &[1; 32], "Observation", "o1", 1),
            record_context("t", &[2; 32], "Observation", "o1", 1),
            record_context("t", &[1; 32], "Condition", "o1", 1),
            record_context("t", &[1; 32], "Observation", "o2", 1),
            record_context("t", &[1; 32], "Observation", "o1", 2),
        ] {
            assert_eq!(sk.open(&env, Kind::Record, &other), Err(OpenError::Auth));
        }
        let other_key = SealKey::new(&[8u8; 32]).unwrap();
        assert_eq!(
            other_key.open(&env, Kind::Record, &ctx),
            Err(OpenError::Auth)
        );
    }

    #[test]
    fn seal_in_place_matches_seal() {
        let sk = SealKey::new(&[3u8; 32]).unwrap();
        let ctx = record_context("t", &[1; 32], "Observation", "o1", 1);
        let mut buf = SealKey::plaintext_buffer(8);
        buf.extend_from_slice(b"{\"a\":12}");
        sk.seal_in_place(&mut buf, Kind::Record, 4, &ctx).unwrap();
        assert_eq!(envelope::parse(&buf).unwrap().key_version, 4);
        assert_eq!(sk.open(&buf, Kind::Record, &ctx).unwrap(), b"{\"a\":12}");
        let mut short = vec![0u8; 3];
        assert!(sk.seal_in_place(&mut short, Kind::Record, 1, &ctx).is_err());
    }

    #[test]
    fn contexts_are_unambiguous() {
        // "ab" + "c" must differ from "a" + "bc".
        assert_ne!(
            record_context("t", &[0; 32], "ab", "c", 1),
            record_context("t", &[0; 32], "a", "bc", 1)
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes (a tampered row) never panic and never open.
        #[test]
        fn arbitrary_envelopes_never_open(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let sk = SealKey::new(&[7u8; 32]).unwrap();
            let ctx = record_context("t", &[1; 32], "Observation", "o1", 1);
            proptest::prop_assert!(sk.open(&bytes, Kind::Record, &ctx).is_err());
        }
    }

    /// RFC 5869 test case 1.
    #[test]
    fn kat_hkdf_rfc5869_case1() {
        let mut okm = [0u8; 42];
        hkdf_sha256(
            &h("000102030405060708090a0b0c"),
            &[0x0b; 22],
            &h("f0f1f2f3f4f5f6f7f8f9"),
            &mut okm,
        )
        .unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    /// RFC 4231 test cases 1 and 2.
    #[test]
    fn kat_hmac_sha256_rfc4231() {
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
