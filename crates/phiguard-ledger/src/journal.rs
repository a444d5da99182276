//! The write-ahead journal: batches are acknowledged once they are in an append-only journal
//! file and that file was made durable with one `fdatasync`; the Merkle tiles, `signed-state`
//! and the signed checkpoint are published from memory a little later (see
//! [`crate::committer`]). [`crate::Ledger::open`] replays the journal, so an acknowledged
//! entry is never lost even when the process dies before its tiles were published.
//!
//! Layout: `DIR/journal/<first index, 20 digits>` segments. Each holds records
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `PGJ1` |
//! | 8 | index of the first entry (u64 big-endian) |
//! | 4 | number of entries (u32 big-endian) |
//! | 4 | payload length (u32 big-endian) |
//! | payload | the entries, each a u16 big-endian length and its bytes (the entry-bundle encoding) |
//! | 32 | SHA-256 of everything above |
//!
//! Records follow each other without gaps and their indexes are consecutive. A crash can only
//! tear the last record (every earlier one was synced before the next was written): a record
//! that does not check out is accepted as a torn tail and cut off only when no valid record
//! follows it anywhere in the journal; otherwise the journal is reported corrupt.
//! A segment is deleted once every entry in it is covered by a durable `signed-state`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::hash::{sha256, HASH_SIZE};
use crate::tile::{parse_bundle, push_entry, MAX_ENTRY_LEN};

/// The journal directory inside a ledger directory.
pub const JOURNAL_DIR: &str = "journal";
const MAGIC: &[u8; 4] = b"PGJ1";
const HEADER: usize = 4 + 8 + 4 + 4;
/// A new segment is started once the current one is this large.
const SEGMENT_BYTES: u64 = 4 << 20;

/// One decoded journal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Index of the first entry.
    pub first: u64,
    /// The entries.
    pub entries: Vec<Vec<u8>>,
}

/// Encodes one record.
fn encode<E: AsRef<[u8]>>(out: &mut Vec<u8>, first: u64, entries: &[E]) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&first.to_be_bytes());
    let count = u32::try_from(entries.len())
        .map_err(|_| Error::Setup("journal record with more than 2^32 entries".into()))?;
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&[0u8; 4]);
    for (i, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        if e.len() > MAX_ENTRY_LEN {
            return Err(Error::EntryTooLarge {
                index: i as u64,
                len: e.len(),
            });
        }
        push_entry(out, e)?;
    }
    let payload = u32::try_from(out.len() - start - HEADER)
        .map_err(|_| Error::Setup("journal record larger than 4 GiB".into()))?;
    out[start + 16..start + 20].copy_from_slice(&payload.to_be_bytes());
    let sum = sha256(&out[start..]);
    out.extend_from_slice(&sum);
    Ok(())
}

/// Decodes the record at the start of `data`: the record and its length in bytes, or why
/// it is not a valid record.
fn decode(data: &[u8]) -> std::result::Result<(Record, usize), String> {
    if data.len() < HEADER + HASH_SIZE {
        return Err(format!("{} bytes is shorter than a record", data.len()));
    }
    if &data[..4] != MAGIC {
        return Err("bad magic".into());
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&data[4..12]);
    let first = u64::from_be_bytes(first);
    let count = u32::from_be_bytes([data[12], data[13], data[14], data[15]]) as usize;
    let payload = u32::from_be_bytes([data[16], data[17], data[18], data[19]]) as usize;
    let end = HEADER
        .checked_add(payload)
        .and_then(|n| n.checked_add(HASH_SIZE))
        .ok_or("payload length overflows")?;
    if data.len() < end {
        return Err(format!(
            "record declares {end} bytes but only {} remain",
            data.len()
        ));
    }
    let body = &data[..HEADER + payload];
    if sha256(body) != data[HEADER + payload..end] {
        return Err("checksum mismatch".into());
    }
    let entries = parse_bundle(&body[HEADER..]).map_err(|e| e.to_string())?;
    if entries.len() != count {
        return Err(format!(
            "record declares {count} entries but holds {}",
            entries.len()
        ));
    }
    if first.checked_add(count as u64).is_none() {
        return Err("index overflows".into());
    }
    Ok((
        Record {
            first,
            entries: entries.into_iter().map(<[u8]>::to_vec).collect(),
        },
        end,
    ))
}

fn segment_name(first: u64) -> String {
    format!("{first:020}")
}

/// The segments of the journal in `ledger_dir`, sorted by first index.
///
/// # Errors
/// I/O errors, or a file in the journal directory that is not a segment.
pub fn segments(ledger_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let dir = ledger_dir.join(JOURNAL_DIR);
    let mut out = Vec::new();
    let list = match fs::read_dir(&dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    for e in list {
        let e = e.map_err(|e| Error::io("list", &dir, e))?;
        let name = e.file_name();
        let first = name
            .to_str()
            .filter(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "unexpected file `{}` in the journal",
                    e.path().display()
                ))
            })?;
        out.push((first, e.path()));
    }
    out.sort();
    Ok(out)
}

/// Reads every record of the journal, in order. A torn tail (a record that does not check
/// out with no valid record anywhere after it) is cut off the file it is in.
///
/// # Errors
/// [`Error::Corrupt`] naming the segment and offset when a damaged record is followed by
/// valid ones, or when indexes are not consecutive; I/O errors.
pub fn read_all(ledger_dir: &Path) -> Result<Vec<Record>> {
    let segs = segments(ledger_dir)?;
    let datas: Vec<Vec<u8>> = segs
        .iter()
        .map(|(_, p)| fs::read(p).map_err(|e| Error::io("read", p, e)))
        .collect::<Result<_>>()?;
    let mut out: Vec<Record> = Vec::new();
    for (si, ((_, path), data)) in segs.iter().zip(&datas).enumerate() {
        let mut pos = 0usize;
        while pos < data.len() {
            match decode(&data[pos..]) {
                Ok((rec, len)) => {
                    if let Some(prev) = out.last() {
                        let want = prev.first + prev.entries.len() as u64;
                        if rec.first != want {
                            return Err(Error::Corrupt(format!(
                                "journal `{}` offset {pos}: record starts at index {}, expected {want}",
                                path.display(),
                                rec.first
                            )));
                        }
                    }
                    out.push(rec);
                    pos += len;
                }
                Err(reason) => {
                    let later = valid_record_after(&data[pos + 1..])
                        || datas[si + 1..].iter().any(|d| valid_record_after(d));
                    if later {
                        return Err(Error::Corrupt(format!(
                            "journal `{}` offset {pos}: damaged record ({reason}) followed by valid ones",
                            path.display()
                        )));
                    }
                    // A torn tail: never acknowledged (its sync did not complete).
                    let f = fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|e| Error::io("open", path, e))?;
                    f.set_len(pos as u64)
                        .map_err(|e| Error::io("truncate", path, e))?;
                    f.sync_all().map_err(|e| Error::io("fsync", path, e))?;
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Whether a valid record starts anywhere in `data`.
fn valid_record_after(data: &[u8]) -> bool {
    data.windows(MAGIC.len())
        .enumerate()
        .filter(|(_, w)| *w == MAGIC)
        .any(|(i, _)| decode(&data[i..]).is_ok())
}

/// Deletes the segments whose entries all lie below `published` (covered by a durable
/// `signed-state`). The segment that may still be written (the last one) is kept unless
/// `all` is set: the caller knows that every journaled entry is published (the writer has
/// stopped, or recovery has just published them).
///
/// # Errors
/// I/O errors.
pub fn prune(ledger_dir: &Path, published: u64, all: bool) -> Result<()> {
    let segs = segments(ledger_dir)?;
    for (i, (_, path)) in segs.iter().enumerate() {
        let end = match segs.get(i + 1) {
            Some((next, _)) => *next,
            None if all => 0,
            None => break,
        };
        if end <= published {
            fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
        }
    }
    Ok(())
}

/// Appends records to the journal of one ledger (used by the committer's writer thread).
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    file: fs::File,
    path: PathBuf,
    len: u64,
    next: u64,
    sync: bool,
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Starts a new segment at index `next` (the ledger's published size); `sync` false skips
    /// every fsync (tests and benchmarks only).
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(ledger_dir: &Path, next: u64, sync: bool) -> Result<Self> {
        let dir = ledger_dir.join(JOURNAL_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        if sync {
            fsync_dir(ledger_dir)?;
        }
        let (file, path) = Self::new_segment(&dir, next, sync)?;
        Ok(Self {
            dir,
            file,
            path,
            len: 0,
            next,
            sync,
            buf: Vec::new(),
        })
    }

    fn new_segment(dir: &Path, first: u64, sync: bool) -> Result<(fs::File, PathBuf)> {
        let path = dir.join(segment_name(first));
        let file = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        if sync {
            // The new name must be durable before anything in it is acknowledged.
            fsync_dir(dir)?;
        }
        Ok((file, path))
    }

    /// Index the next record will start at.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Writes one record and makes it durable (one `fdatasync`); returns the index of its
    /// first entry. On error nothing is acknowledged and the writer must not be used again
    /// (the file may hold a partial record, which recovery cuts off as a torn tail).
    ///
    /// # Errors
    /// Oversized entries, I/O errors.
    pub fn append<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<u64> {
        let first = self.next;
        if entries.is_empty() {
            return Ok(first);
        }
        if self.len >= SEGMENT_BYTES {
            let (file, path) = Self::new_segment(&self.dir, first, self.sync)?;
            self.file = file;
            self.path = path;
            self.len = 0;
        }
        self.buf.clear();
        encode(&mut self.buf, first, entries)?;
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io("write", &self.path, e))?;
        crate::log::crash_point("journal-before-sync");
        if self.sync {
            self.file
                .sync_data()
                .map_err(|e| Error::io("fdatasync", &self.path, e))?;
        }
        self.len += self.buf.len() as u64;
        self.next = first + entries.len() as u64;
        Ok(first)
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(first: u64, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"i\":{}}}", first + i as u64).into_bytes())
            .collect()
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), 5, true).unwrap();
        assert_eq!(w.append(&rec(5, 3)).unwrap(), 5);
        assert_eq!(w.append(&rec(8, 1)).unwrap(), 8);
        let seg = dir.path().join("journal/00000000000000000005");
        let good = fs::metadata(&seg).unwrap().len();
        // Every possible tear of a third record is cut off; the first two survive.
        let mut third = Vec::new();
        encode(&mut third, 9, &rec(9, 2)).unwrap();
        for cut in 0..third.len() {
            let mut data = fs::read(&seg).unwrap();
            data.truncate(good as usize);
            data.extend_from_slice(&third[..cut]);
            fs::write(&seg, &data).unwrap();
            let got = read_all(dir.path()).unwrap();
            assert_eq!(got.len(), 2, "cut {cut}");
            assert_eq!(got[0].entries, rec(5, 3));
            assert_eq!(got[1].first, 8);
            assert_eq!(fs::metadata(&seg).unwrap().len(), good, "cut {cut}");
        }
        // A zero-filled tail (file size grew, data never written) is a torn tail too.
        let mut data = fs::read(&seg).unwrap();
        data.extend_from_slice(&[0u8; 300]);
        fs::write(&seg, &data).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn every_flipped_byte_before_the_last_record_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), 0, false).unwrap();
        w.append(&rec(0, 2)).unwrap();
        w.append(&rec(2, 2)).unwrap();
        let seg = dir.path().join("journal/00000000000000000000");
        let orig = fs::read(&seg).unwrap();
        let mut first_len = Vec::new();
        encode(&mut first_len, 0, &rec(0, 2)).unwrap();
        for i in 0..first_len.len() {
            let mut d = orig.clone();
            d[i] ^= 0x01;
            fs::write(&seg, &d).unwrap();
            let r = read_all(dir.path());
            assert!(matches!(r, Err(Error::Corrupt(_))), "byte {i}: {r:?}");
        }
    }

    #[test]
    fn indexes_must_be_consecutive_and_prune_keeps_unpublished_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), 0, false).unwrap();
        w.append(&rec(0, 2)).unwrap();
        let mut w2 = JournalWriter::create(dir.path(), 2, false).unwrap();
        w2.append(&rec(2, 3)).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
        prune(dir.path(), 1, false).unwrap();
        assert_eq!(segments(dir.path()).unwrap().len(), 2);
        prune(dir.path(), 2, false).unwrap();
        assert_eq!(segments(dir.path()).unwrap().len(), 1);
        prune(dir.path(), 4, false).unwrap();
        assert_eq!(segments(dir.path()).unwrap().len(), 1);
        prune(dir.path(), 5, true).unwrap();
        assert!(segments(dir.path()).unwrap().is_empty());
        // A gap between records is corruption, not a tail.
        let mut w3 = JournalWriter::create(dir.path(), 10, false).unwrap();
        w3.append(&rec(10, 1)).unwrap();
        let mut w4 = JournalWriter::create(dir.path(), 12, false).unwrap();
        w4.append(&rec(12, 1)).unwrap();
        assert!(matches!(read_all(dir.path()), Err(Error::Corrupt(_))));
        fs::write(dir.path().join("journal/stray"), b"x").unwrap();
        assert!(matches!(segments(dir.path()), Err(Error::Corrupt(_))));
    }
}
