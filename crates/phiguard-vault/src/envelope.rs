//! On-disk byte format of everything the vault seals, and its parser.
//!
//! ```text
//! offset size field
//! 0      2    magic "PG"
//! 2      1    kind: b'R' record, b'K' wrapped data key, b'T' wrapped token root, b'E' KEK entry
//! 3      1    format version (1)
//! 4      1    algorithm (1 = AES-256-GCM)
//! 5      4    key version (big-endian u32): data-key version for records, KEK version for keys
//! 9      12   nonce (random, 96 bits)
//! 21     n+16 ciphertext followed by the 16-byte GCM tag
//! ```
//! The first 9 header bytes are part of the associated data, so any change to them fails to
//! open. The parser never panics on arbitrary input (see the proptest and the fuzz target).

/// Length of the fixed header (magic .. nonce).
pub const HEADER_LEN: usize = 21;
/// Length of the authenticated header prefix (magic .. key version).
pub const AUTH_HEADER_LEN: usize = 9;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;
/// Length of the GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Current format version.
pub const FORMAT_VERSION: u8 = 1;
/// Algorithm id of AES-256-GCM.
pub const ALG_AES_256_GCM: u8 = 1;
const MAGIC: [u8; 2] = *b"PG";

/// What an envelope holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A FHIR resource.
    Record,
    /// A patient data key wrapped by a KEK.
    DataKey,
    /// The tokenization root key wrapped by a KEK.
    TokenRoot,
    /// A KEK sealed by the passphrase-derived key (local key file).
    KekEntry,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Record => b'R',
            Kind::DataKey => b'K',
            Kind::TokenRoot => b'T',
            Kind::KekEntry => b'E',
        }
    }
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'R' => Some(Kind::Record),
            b'K' => Some(Kind::DataKey),
            b'T' => Some(Kind::TokenRoot),
            b'E' => Some(Kind::KekEntry),
            _ => None,
        }
    }
}

/// Why bytes are not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Shorter than header + tag.
    #[error("too short: {len} bytes, need at least {min}")]
    TooShort {
        /// Actual length.
        len: usize,
        /// Minimum length.
        min: usize,
    },
    /// Magic bytes are not "PG".
    #[error("bad magic at offset 0")]
    BadMagic,
    /// Unknown kind byte.
    #[error("unknown kind byte 0x{0:02x} at offset 2")]
    UnknownKind(u8),
    /// The kind is valid but not the one expected here.
    #[error("expected a {expected:?} envelope, found {found:?}")]
    WrongKind {
        /// Expected kind.
        expected: Kind,
        /// Found kind.
        found: Kind,
    },
    /// Format version not supported.
    #[error("unsupported format version {0} at offset 3")]
    UnsupportedVersion(u8),
    /// Algorithm not supported.
    #[error("unknown algorithm {0} at offset 4")]
    UnknownAlgorithm(u8),
}

/// A parsed envelope borrowing its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// What it holds.
    pub kind: Kind,
    /// Key version used to seal it.
    pub key_version: u32,
    /// The nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The authenticated header prefix (bytes 0..9).
    pub auth_header: &'a [u8],
    /// Ciphertext followed by the tag.
    pub sealed: &'a [u8],
}

/// Builds the header for a new envelope.
pub fn header(kind: Kind, key_version: u32, nonce: &[u8; NONCE_LEN]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..2].copy_from_slice(&MAGIC);
    h[2] = kind.byte();
    h[3] = FORMAT_VERSION;
    h[4] = ALG_AES_256_GCM;
    h[5..9].copy_from_slice(&key_version.to_be_bytes());
    h[9..21].copy_from_slice(nonce);
    h
}

/// Parses an envelope, checking its kind.
pub fn parse_kind(bytes: &[u8], expected: Kind) -> Result<Envelope<'_>, EnvelopeError> {
    let env = parse(bytes)?;
    if env.kind != expected {
        return Err(EnvelopeError::WrongKind {
            expected,
            found: env.kind,
        });
    }
    Ok(env)
}

/// Parses an envelope of any kind.
pub fn parse(bytes: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    let min = HEADER_LEN + TAG_LEN;
    if bytes.len() < min {
        return Err(EnvelopeError::TooShort {
            len: bytes.len(),
            min,
        });
    }
    let (head, sealed) = bytes.split_at(HEADER_LEN);
    if head[0..2] != MAGIC {
        return Err(EnvelopeError::BadMagic);
    }
    let kind = Kind::from_byte(head[2]).ok_or(EnvelopeError::UnknownKind(head[2]))?;
    if head[3] != FORMAT_VERSION {
        return Err(EnvelopeError::UnsupportedVersion(head[3]));
    }
    if head[4] != ALG_AES_256_GCM {
        return Err(EnvelopeError::UnknownAlgorithm(head[4]));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&head[5..9]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&head[9..21]);
    Ok(Envelope {
        kind,
        key_version: u32::from_be_bytes(v),
        nonce,
        auth_header: &head[..AUTH_HEADER_LEN],
        sealed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_roundtrip() {
        let h = header(Kind::Record, 7, &[9u8; 12]);
        let mut bytes = h.to_vec();
        bytes.extend_from_slice(&[0u8; 20]);
        let e = parse_kind(&bytes, Kind::Record).unwrap();
        assert_eq!(e.key_version, 7);
        assert_eq!(e.nonce, [9u8; 12]);
        assert_eq!(e.sealed.len(), 20);
        assert!(matches!(
            parse_kind(&bytes, Kind::DataKey),
            Err(EnvelopeError::WrongKind { .. })
        ));
    }

    #[test]
    fn rejects_bad_fields() {
        let mut b = header(Kind::Record, 1, &[0; 12]).to_vec();
        b.extend_from_slice(&[0; 16]);
        let mut x = b.clone();
        x[0] = b'X';
        assert_eq!(parse(&x), Err(EnvelopeError::BadMagic));
        let mut x = b.clone();
        x[2] = b'?';
        assert_eq!(parse(&x), Err(EnvelopeError::UnknownKind(b'?')));
        let mut x = b.clone();
        x[3] = 9;
        assert_eq!(parse(&x), Err(EnvelopeError::UnsupportedVersion(9)));
        let mut x = b.clone();
        x[4] = 2;
        assert_eq!(parse(&x), Err(EnvelopeError::UnknownAlgorithm(2)));
        assert!(matches!(
            parse(&b[..30]),
            Err(EnvelopeError::TooShort { len: 30, .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse(&bytes);
        }
        #[test]
        fn valid_prefix_arbitrary_tail(ver in any::<u32>(), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut b = header(Kind::DataKey, ver, &[1; 12]).to_vec();
            b.extend_from_slice(&tail);
            match parse(&b) {
                Ok(e) => { prop_assert_eq!(e.key_version, ver); prop_assert!(tail.len() >= 16); }
                Err(EnvelopeError::TooShort { .. }) => prop_assert!(tail.len() < 16),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
