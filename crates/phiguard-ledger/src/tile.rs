//! C2SP tlog-tiles resources: tile and entry-bundle paths (`tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`, with `N` in zero-padded 3-digit groups, all but the last
//! prefixed by `x`), and the uint16 big-endian length-prefixed entry bundle encoding.

use crate::error::{Error, Result};

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels covered by one tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Largest entry an entry bundle can hold.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// What a tile resource holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at tile level `L` (0..=63).
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// A tile or entry bundle resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Hash tile level or entry bundle.
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries: 256 for a full tile, 1..=255 for a partial one.
    pub width: u16,
}

impl TileId {
    /// A hash tile.
    pub fn hashes(level: u8, index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Hashes(level),
            index,
            width,
        }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path relative to the log prefix, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        let mut s = String::with_capacity(32);
        s.push_str("tile/");
        match self.kind {
            TileKind::Hashes(l) => s.push_str(&l.to_string()),
            TileKind::Entries => s.push_str("entries"),
        }
        s.push('/');
        s.push_str(&encode_index(self.index));
        if !self.is_full() {
            s.push_str(".p/");
            s.push_str(&self.width.to_string());
        }
        s
    }

    /// Parses a path relative to the log prefix, strictly (the inverse of [`TileId::path`]).
    pub fn parse(path: &str) -> Result<Self> {
        const W: &str = "tile path";
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| Error::parse(W, "does not start with `tile/`"))?;
        let (kind_s, rest) = rest
            .split_once('/')
            .ok_or_else(|| Error::parse(W, "missing index"))?;
        let kind = if kind_s == "entries" {
            TileKind::Entries
        } else {
            let l = parse_decimal(kind_s).ok_or_else(|| Error::parse(W, "bad level"))?;
            if l > 63 {
                return Err(Error::parse(W, "level above 63"));
            }
            TileKind::Hashes(l as u8)
        };
        let (index_s, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = parse_decimal(w).ok_or_else(|| Error::parse(W, "bad width"))?;
                if !(1..=255).contains(&w) {
                    return Err(Error::parse(W, "partial width must be 1..=255"));
                }
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = decode_index(index_s).ok_or_else(|| Error::parse(W, "bad tile index"))?;
        Ok(Self { kind, index, width })
    }
}

/// Decimal with no leading zeros (except `0` itself), at most 20 digits, fits in u64.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Encodes a tile index in 3-digit groups, all but the last prefixed with `x`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = Vec::with_capacity(7);
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(groups.len() * 5);
    for (i, g) in groups.iter().rev().enumerate() {
        if i > 0 {
            s.push('/');
        }
        if i + 1 < groups.len() {
            s.push('x');
        }
        s.push_str(&format!("{g:03}"));
    }
    s
}

/// Decodes [`encode_index`] strictly (no redundant leading `x000` groups).
pub fn decode_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let (last, init) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, p) in init.iter().enumerate() {
        let d = p.strip_prefix('x')?;
        let g = three_digits(d)?;
        if i == 0 && g == 0 {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(g)?;
    }
    let g = three_digits(last)?;
    n.checked_mul(1000)?.checked_add(g)
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Appends one entry to an entry bundle buffer.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<()> {
    let len = u16::try_from(entry.len()).map_err(|_| Error::EntryTooLarge {
        index: 0,
        len: entry.len(),
    })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries; any trailing or truncated bytes are an error.
pub fn parse_bundle(data: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(Error::parse(
                "entry bundle",
                format!("truncated length prefix of entry {}", out.len()),
            ));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(Error::parse(
                "entry bundle",
                format!(
                    "entry {} declares {len} bytes but only {} remain",
                    out.len(),
                    tail.len()
                ),
            ));
        }
        let (e, r) = tail.split_at(len);
        out.push(e);
        rest = r;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn index_encoding_follows_the_spec_example() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(decode_index("x001/x234/067"), Some(1234067));
        assert_eq!(decode_index("x000/067"), None);
        assert_eq!(decode_index("67"), None);
        assert_eq!(decode_index("x001/x234/x067"), None);
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        assert_eq!(decode_index("x018/x446/x744/x073/x709/x551/616"), None);
    }

    #[test]
    fn paths_round_trip_and_reject_traversal() {
        let t = TileId::hashes(0, 1234067, 8);
        assert_eq!(t.path(), "tile/0/x001/x234/067.p/8");
        assert_eq!(TileId::parse(&t.path()).unwrap(), t);
        let e = TileId::entries(5, 256);
        assert_eq!(e.path(), "tile/entries/005");
        assert_eq!(TileId::parse("tile/entries/005").unwrap(), e);
        for bad in [
            "tile/../checkpoint",
            "tile/0/../../key",
            "tile/00/000",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/08",
            "tile/0/000/",
            "tile/0//000",
            "tile/entries/000.p/",
            "/tile/0/000",
            "tile/0/000.p/1/x",
        ] {
            assert!(TileId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bundles_are_u16_length_prefixed() {
        let mut b = Vec::new();
        push_entry(&mut b, b"").unwrap();
        push_entry(&mut b, b"a").unwrap();
        assert_eq!(b, [0, 0, 0, 1, b'a']);
        assert_eq!(parse_bundle(&b).unwrap(), vec![&b""[..], &b"a"[..]]);
        assert!(parse_bundle(&b[..4]).is_err());
        assert!(parse_bundle(&b[..1]).is_err());
        assert!(push_entry(&mut b, &vec![0; 65536]).is_err());
        push_entry(&mut b, &vec![7; 65535]).unwrap();
    }

    proptest! {
        #[test]
        fn any_index_round_trips(n in any::<u64>(), w in 1u16..=256, l in 0u8..64) {
            let t = TileId::hashes(l, n, w);
            prop_assert_eq!(TileId::parse(&t.path()).unwrap(), t);
            let e = TileId::entries(n, w);
            prop_assert_eq!(TileId::parse(&e.path()).unwrap(), e);
        }

        #[test]
        fn tile_path_parser_never_panics(s in "\\PC{0,40}") {
            if let Ok(t) = TileId::parse(&s) {
                prop_assert_eq!(t.path(), s);
            }
        }

        #[test]
        fn bundle_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_bundle(&data);
        }
    }
}
