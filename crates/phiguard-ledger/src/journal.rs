//! The write-ahead journal: batches are acknowledged once they are in the journal and the
//! segment file was made durable with one `fdatasync`; the Merkle tiles, `signed-state` and
//! the signed checkpoint are published from memory a little later (see [`crate::committer`]).
//! [`crate::Ledger::open`] replays the journal, so an acknowledged entry is never lost even
//! when the process dies before its tiles were published.
//!
//! Layout: `DIR/journal/<first index, 20 digits>` segments, and at most one spare segment
//! `DIR/journal/prepared` (not yet in use, holds no records). Each segment holds records
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
//! followed by zero bytes up to the segment's preallocated size (4 MiB).
//!
//! **Preallocation.** A segment is created at its full size, written with zeros and synced
//! once, before it is used; records then overwrite its blocks in place. The `fdatasync` that
//! acknowledges a batch thus never has to commit a new file size or new blocks (a file system
//! metadata commit): on ext4 it only writes the data blocks and flushes the device cache, which
//! is faster and has a much shorter tail than syncing an append to a growing file (the same
//! reason PostgreSQL preallocates its WAL segments). The next segment is prepared (written
//! and synced) by a helper thread as soon as the current one is half full, under the name
//! `prepared`, and renamed to its first index when it is taken into use (then the directory
//! is synced before anything in it is acknowledged). A record larger than a whole segment is
//! written past its end (the file grows; correct, only slower).
//!
//! **Recycling.** A segment whose entries are all published is not deleted but renamed
//! `recycled` (at most one is kept), and the next spare is made from it by renaming: its blocks
//! are already allocated and durable, so the 4 MiB of zeros and their sync are not repeated for
//! every segment (at 2,000 appends/s that write landed every few seconds on the disk the
//! acknowledging syncs wait for). A recycled segment still holds its old records beyond the new
//! ones; their indexes are below the segment's first index, which is how recovery tells them
//! from new records (as PostgreSQL tells a recycled WAL segment's old pages by their address).
//!
//! **Recovery.** Records follow each other without gaps and their indexes are consecutive,
//! starting at the segment's first index. Where a segment's records end, the rest of the
//! segment is zeros (never written) or a recycled segment's old records (valid, but with
//! indexes below the ones expected): that is its end, not damage. A crash can only tear the
//! last record (every earlier one was synced before the next was written): in the last
//! segment, a record that does not check out, with something other than zeros from there on,
//! is accepted as a torn tail and cut off only when no valid record that could follow it (an
//! index at or above the one expected) comes after it; in an earlier segment, bytes that do not
//! form a record end it only where the next segment starts at the index expected. Otherwise
//! the journal is reported corrupt. Segments
//! written without preallocation (files that end right after their last record) read the
//! same way. A segment is recycled or deleted once every entry in it is covered by a durable
//! `signed-state`.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::thread;

use crate::error::{Error, Result};
use crate::hash::{sha256, HASH_SIZE};
use crate::tile::{parse_bundle, push_entry, MAX_ENTRY_LEN};

/// The journal directory inside a ledger directory.
pub const JOURNAL_DIR: &str = "journal";
const MAGIC: &[u8; 4] = b"PGJ1";
const HEADER: usize = 4 + 8 + 4 + 4;
/// Preallocated size of a segment; a new segment is started when the next record does not
/// fit in the current one.
pub const SEGMENT_BYTES: u64 = 4 << 20;
/// Name of a fully published segment kept for reuse as the next spare (see the module docs).
pub const RECYCLED: &str = "recycled";
/// Name of the spare segment prepared ahead of use (zero-filled and synced, or a recycled
/// segment) in the journal directory; it holds no records of its own yet.
pub const SPARE: &str = "prepared";

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
        if name == SPARE || name == RECYCLED {
            continue;
        }
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

/// Reads every record of the journal, in order (see the module docs, "Recovery"). Zeros or a
/// recycled segment's old records after a segment's last record are its end. In the last
/// segment, a torn tail (a record that does not check out, not followed by zeros only, with no
/// valid record that could follow it after it) is cut off the file; an earlier segment ends
/// where bytes stop forming records only if the next segment starts at the index expected.
///
/// # Errors
/// [`Error::Corrupt`] naming the segment and offset when a damaged record is followed by
/// valid ones, or when indexes are not consecutive; I/O errors.
pub fn read_all(ledger_dir: &Path) -> Result<Vec<Record>> {
    let segs = segments(ledger_dir)?;
    let mut out: Vec<Record> = Vec::new();
    for (si, (seg_first, path)) in segs.iter().enumerate() {
        let data = fs::read(path).map_err(|e| Error::io("read", path, e))?;
        let mut pos = 0usize;
        while pos < data.len() {
            // The index the next record must start at.
            let want = match out.last() {
                Some(prev) => prev.first + prev.entries.len() as u64,
                None => *seg_first,
            };
            match decode(&data[pos..]) {
                Ok((rec, _)) if rec.first < *seg_first => {
                    // An old record of a recycled segment: the new records end here.
                    break;
                }
                Ok((rec, len)) => {
                    if !out.is_empty() && rec.first != want {
                        return Err(Error::Corrupt(format!(
                            "journal `{}` offset {pos}: record starts at index {}, expected {want}",
                            path.display(),
                            rec.first
                        )));
                    }
                    out.push(rec);
                    pos += len;
                }
                Err(reason) => {
                    if data[pos..].iter().all(|&b| b == 0) {
                        // The unused, preallocated rest of the segment: its end.
                        break;
                    }
                    let corrupt = || {
                        Error::Corrupt(format!(
                            "journal `{}` offset {pos}: damaged record ({reason}) followed by valid ones",
                            path.display()
                        ))
                    };
                    let later_here = valid_record_after(&data[pos + 1..], want);
                    match segs.get(si + 1) {
                        // Not the last segment: its records are complete when the next segment
                        // starts where they end (the rest is a recycled segment's old bytes).
                        Some((next, _)) if *next == want && !later_here => break,
                        Some(_) => return Err(corrupt()),
                        None if later_here => return Err(corrupt()),
                        None => {}
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

/// Whether a valid record that could follow index `want` (one starting at or above it, not a
/// recycled segment's old record) starts anywhere in `data`.
fn valid_record_after(data: &[u8], want: u64) -> bool {
    data.windows(MAGIC.len())
        .enumerate()
        .filter(|(_, w)| *w == MAGIC)
        .any(|(i, _)| decode(&data[i..]).is_ok_and(|(r, _)| r.first >= want))
}

/// Deletes the segments whose entries all lie below `published` (covered by a durable
/// `signed-state`), keeping one of them as `recycled` for the writer's next spare. The
/// segment that may still be written (the last one) is kept unless `all` is set: the caller
/// knows that every journaled entry is published (the writer has stopped, or recovery has
/// just published them); then the spare and the recycled segment are deleted too.
///
/// # Errors
/// I/O errors.
pub fn prune(ledger_dir: &Path, published: u64, all: bool) -> Result<()> {
    let segs = segments(ledger_dir)?;
    let recycled = ledger_dir.join(JOURNAL_DIR).join(RECYCLED);
    if all {
        for path in [ledger_dir.join(JOURNAL_DIR).join(SPARE), recycled.clone()] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
    }
    for (i, (_, path)) in segs.iter().enumerate() {
        let end = match segs.get(i + 1) {
            Some((next, _)) => *next,
            None if all => 0,
            None => break,
        };
        if end <= published {
            // Keep one published segment for reuse as the next spare (a rename: no zeros to
            // write and sync again); the writer takes it when it prepares the spare.
            if !all && !recycled.exists() {
                fs::rename(path, &recycled).map_err(|e| Error::io("rename", path, e))?;
            } else {
                fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
            }
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
    /// Bytes of records in the current segment (where the next one is written).
    len: u64,
    next: u64,
    sync: bool,
    segment_bytes: u64,
    buf: Vec<u8>,
    /// The spare segment being prepared by a helper thread.
    spare: Option<thread::JoinHandle<Result<fs::File>>>,
}

/// Makes the spare segment from the recycled one when there is one of the right size (a
/// rename: its blocks are allocated and durable), otherwise creates it with zeros.
fn prepare_spare(dir: &Path, bytes: u64, sync: bool) -> Result<fs::File> {
    let recycled = dir.join(RECYCLED);
    let path = dir.join(SPARE);
    match fs::metadata(&recycled) {
        Ok(m) if m.len() == bytes => {
            // The publisher may recycle another segment under the same name meanwhile: either
            // file is a valid spare. Its name needs no sync of its own: `install` syncs the
            // directory before anything in the segment is acknowledged.
            if fs::rename(&recycled, &path).is_ok() {
                if let Ok(f) = fs::OpenOptions::new().write(true).open(&path) {
                    return Ok(f);
                }
            }
        }
        // A segment that grew past its size (an oversized record): not reusable as is, and
        // it would block recycling for good.
        Ok(_) => {
            let _ = fs::remove_file(&recycled);
        }
        Err(_) => {}
    }
    zero_spare(dir, bytes, sync)
}

/// Creates (or recreates) the spare segment: `bytes` zeros, synced when `sync` is set.
fn zero_spare(dir: &Path, bytes: u64, sync: bool) -> Result<fs::File> {
    const CHUNK: usize = 256 << 10;
    let path = dir.join(SPARE);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    let zeros = vec![0u8; CHUNK];
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        file.write_all(&zeros[..n])
            .map_err(|e| Error::io("write", &path, e))?;
        left -= n as u64;
    }
    if sync {
        // Blocks and size durable: later overwrites need no metadata commit.
        file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
    }
    Ok(file)
}

impl JournalWriter {
    /// Starts a new segment at index `next` (the ledger's published size); `sync` false skips
    /// every fsync (tests and benchmarks only).
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(ledger_dir: &Path, next: u64, sync: bool) -> Result<Self> {
        Self::with_segment_bytes(ledger_dir, next, sync, SEGMENT_BYTES)
    }

    /// [`JournalWriter::create`] with segments of `segment_bytes` (tests: small segments).
    pub(crate) fn with_segment_bytes(
        ledger_dir: &Path,
        next: u64,
        sync: bool,
        segment_bytes: u64,
    ) -> Result<Self> {
        let dir = ledger_dir.join(JOURNAL_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        if sync {
            fsync_dir(ledger_dir)?;
        }
        let spare = prepare_spare(&dir, segment_bytes, sync)?;
        let path = Self::install(&dir, next, sync)?;
        Ok(Self {
            dir,
            file: spare,
            path,
            len: 0,
            next,
            sync,
            segment_bytes,
            buf: Vec::new(),
            spare: None,
        })
    }

    /// Renames the spare segment to the segment starting at `first`.
    fn install(dir: &Path, first: u64, sync: bool) -> Result<PathBuf> {
        let from = dir.join(SPARE);
        let path = dir.join(segment_name(first));
        fs::rename(&from, &path).map_err(|e| Error::io("rename", &from, e))?;
        if sync {
            // The new name must be durable before anything in it is acknowledged.
            fsync_dir(dir)?;
        }
        Ok(path)
    }

    /// Continues in the spare segment (waiting for its preparation if it is still running,
    /// preparing it here if it was never started or failed).
    fn next_segment(&mut self, first: u64) -> Result<()> {
        let prepared = self
            .spare
            .take()
            .and_then(|h| h.join().ok())
            .and_then(Result::ok);
        let file = match prepared {
            Some(f) => f,
            None => prepare_spare(&self.dir, self.segment_bytes, self.sync)?,
        };
        self.path = Self::install(&self.dir, first, self.sync)?;
        self.file = file;
        self.len = 0;
        Ok(())
    }

    /// Starts preparing the spare segment on a helper thread (off the acknowledgement path).
    fn prepare_ahead(&mut self) {
        let (dir, bytes, sync) = (self.dir.clone(), self.segment_bytes, self.sync);
        // A failed spawn is retried at the next append, or prepared in place when needed.
        self.spare = thread::Builder::new()
            .name("phiguard-journal-prep".into())
            .spawn(move || prepare_spare(&dir, bytes, sync))
            .ok();
    }

    /// Index the next record will start at.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// The current segment and the offset the next record will be written at (tests: tearing
    /// a record where it would really be written).
    #[cfg(test)]
    pub(crate) fn position(&self) -> (&Path, u64) {
        (&self.path, self.len)
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
        self.buf.clear();
        encode(&mut self.buf, first, entries)?;
        let rec = self.buf.len() as u64;
        if self.len > 0 && self.len.saturating_add(rec) > self.segment_bytes {
            self.next_segment(first)?;
        }
        self.file
            .write_all_at(&self.buf, self.len)
            .map_err(|e| Error::io("write", &self.path, e))?;
        crate::log::crash_point("journal-before-sync");
        if self.sync {
            self.file
                .sync_data()
                .map_err(|e| Error::io("fdatasync", &self.path, e))?;
        }
        self.len += rec;
        self.next = first + entries.len() as u64;
        if self.spare.is_none() && self.len >= self.segment_bytes / 2 {
            self.prepare_ahead();
        }
        Ok(first)
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        // Never leave the helper writing the spare behind a later writer of the same journal.
        if let Some(h) = self.spare.take() {
            let _ = h.join();
        }
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

    fn encoded(first: u64, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&mut out, first, &rec(first, n)).unwrap();
        out
    }

    #[test]
    fn segments_are_preallocated_and_records_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), 5, true).unwrap();
        let seg = dir.path().join("journal/00000000000000000005");
        assert_eq!(fs::metadata(&seg).unwrap().len(), SEGMENT_BYTES);
        assert!(read_all(dir.path()).unwrap().is_empty(), "all zeros: empty");
        w.append(&rec(5, 3)).unwrap();
        w.append(&rec(8, 1)).unwrap();
        assert_eq!(fs::metadata(&seg).unwrap().len(), SEGMENT_BYTES);
        let data = fs::read(&seg).unwrap();
        let mut want = encoded(5, 3);
        want.extend(encoded(8, 1));
        assert_eq!(&data[..want.len()], &want[..]);
        assert!(data[want.len()..].iter().all(|&b| b == 0));
        assert_eq!(w.position().1, want.len() as u64);
        let got = read_all(dir.path()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].entries, rec(5, 3));
        assert_eq!(got[1].first, 8);
        // Reading did not touch the preallocated rest.
        assert_eq!(fs::read(&seg).unwrap(), data);
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), 5, true).unwrap();
        assert_eq!(w.append(&rec(5, 3)).unwrap(), 5);
        assert_eq!(w.append(&rec(8, 1)).unwrap(), 8);
        let seg = dir.path().join("journal/00000000000000000005");
        let good = w.position().1 as usize;
        drop(w);
        let image = fs::read(&seg).unwrap();
        // Every possible tear of a third record, written in place over the zeros, is cut
        // off; the first two survive.
        let third = encoded(9, 2);
        for cut in 1..third.len() {
            let mut data = image.clone();
            data[good..good + cut].copy_from_slice(&third[..cut]);
            fs::write(&seg, &data).unwrap();
            let got = read_all(dir.path()).unwrap();
            assert_eq!(got.len(), 2, "cut {cut}");
            assert_eq!(got[0].entries, rec(5, 3));
            assert_eq!(got[1].first, 8);
            assert_eq!(fs::metadata(&seg).unwrap().len(), good as u64, "cut {cut}");
        }
        // A segment written without preallocation (ends after its last record), torn or not.
        fs::write(&seg, &image[..good]).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
        let mut data = image[..good].to_vec();
        data.extend_from_slice(&third[..third.len() - 1]);
        fs::write(&seg, &data).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
        assert_eq!(fs::metadata(&seg).unwrap().len(), good as u64);
        // A torn record whose first sector never reached the disk (zeros, then bytes).
        let mut data = image.clone();
        data[good + 20..good + third.len()].copy_from_slice(&third[20..]);
        fs::write(&seg, &data).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn a_damaged_or_zeroed_record_followed_by_a_valid_one_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::create(dir.path(), 0, false).unwrap();
        w.append(&rec(0, 2)).unwrap();
        w.append(&rec(2, 2)).unwrap();
        drop(w);
        let seg = dir.path().join("journal/00000000000000000000");
        let orig = fs::read(&seg).unwrap();
        assert_eq!(orig.len() as u64, SEGMENT_BYTES);
        let first_len = encoded(0, 2).len();
        for i in 0..first_len {
            let mut d = orig.clone();
            d[i] ^= 0x01;
            fs::write(&seg, &d).unwrap();
            let r = read_all(dir.path());
            assert!(matches!(r, Err(Error::Corrupt(_))), "byte {i}: {r:?}");
        }
        // Zeros where the first record was: a hole, not the end of the segment.
        let mut d = orig.clone();
        d[..first_len].fill(0);
        fs::write(&seg, &d).unwrap();
        assert!(matches!(read_all(dir.path()), Err(Error::Corrupt(_))));
        // Garbage in the preallocated rest after the last record, and nothing valid after
        // it: an unacknowledged torn write, cut off.
        let mut d = orig.clone();
        let end = first_len + encoded(2, 2).len();
        d[end + 1000] = 0x5a;
        fs::write(&seg, &d).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
        assert_eq!(fs::metadata(&seg).unwrap().len(), end as u64);
    }

    #[test]
    fn segments_roll_over_into_the_prepared_spare() {
        let dir = tempfile::tempdir().unwrap();
        let small = 512u64;
        let mut w = JournalWriter::with_segment_bytes(dir.path(), 0, true, small).unwrap();
        let mut next = 0u64;
        let mut sizes = Vec::new();
        for i in 0..40u64 {
            // Mostly small records, some larger than a whole segment.
            let n = if i % 13 == 7 {
                60
            } else {
                1 + (i % 4) as usize
            };
            assert_eq!(w.append(&rec(next, n)).unwrap(), next);
            sizes.push(n);
            next += n as u64;
        }
        let segs = segments(dir.path()).unwrap();
        assert!(segs.len() > 5, "{} segments", segs.len());
        for (first, path) in &segs[..segs.len() - 1] {
            let len = fs::metadata(path).unwrap().len();
            let data = fs::read(path).unwrap();
            let (r, _) = decode(&data).unwrap();
            assert_eq!(r.first, *first);
            // Preallocated size, or one oversized record that grew the file.
            assert!(len == small || (len > small && decode(&data).unwrap().1 as u64 == len));
        }
        let got = read_all(dir.path()).unwrap();
        assert_eq!(
            got.iter().map(|r| r.entries.len()).collect::<Vec<_>>(),
            sizes
        );
        let all: Vec<Vec<u8>> = got.into_iter().flat_map(|r| r.entries).collect();
        assert_eq!(all, rec(0, next as usize));
        // The spare is prepared ahead (the last segment is at least half full or a spare
        // was taken into use) and is never mistaken for a segment.
        drop(w);
        assert!(dir.path().join("journal").join(SPARE).exists());
        // Zeroing the last record of a full segment loses it: the next segment then does
        // not continue the indexes.
        let (_, victim) = &segs[segs.len() - 3];
        let mut data = fs::read(victim).unwrap();
        let mut pos = 0;
        let mut last = 0..0;
        while let Ok((_, len)) = decode(&data[pos..]) {
            last = pos..pos + len;
            pos += len;
        }
        data[last].fill(0);
        fs::write(victim, &data).unwrap();
        assert!(matches!(read_all(dir.path()), Err(Error::Corrupt(_))));
        prune(dir.path(), u64::MAX, true).unwrap();
        assert_eq!(fs::read_dir(dir.path().join("journal")).unwrap().count(), 0);
    }

    #[test]
    fn published_segments_are_recycled_and_their_old_records_end_the_new_ones() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join(JOURNAL_DIR);
        let small = 1024u64;
        let mut w = JournalWriter::with_segment_bytes(dir.path(), 0, true, small).unwrap();
        let mut next = 0u64;
        while segments(dir.path()).unwrap().len() < 3 {
            w.append(&rec(next, 2)).unwrap();
            next += 2;
        }
        // Everything before the current segment is published: the oldest segment is kept
        // for reuse, the other one deleted.
        let segs = segments(dir.path()).unwrap();
        let oldest = fs::metadata(&segs[0].1).unwrap().ino();
        let kept = segs[2].0;
        prune(dir.path(), kept, false).unwrap();
        assert_eq!(segments(dir.path()).unwrap().len(), 1);
        assert_eq!(fs::metadata(jdir.join(RECYCLED)).unwrap().ino(), oldest);
        // Writing on, the writer takes it as its next segment instead of writing zeros.
        let mut reused = false;
        for _ in 0..200 {
            w.append(&rec(next, 2)).unwrap();
            next += 2;
            if fs::metadata(w.position().0).unwrap().ino() == oldest {
                reused = true;
                break;
            }
        }
        assert!(reused, "the recycled segment was never taken into use");
        assert!(!jdir.join(RECYCLED).exists());
        let (seg, at) = (w.position().0.to_owned(), w.position().1 as usize);
        drop(w);
        let image = fs::read(&seg).unwrap();
        assert_eq!(image.len() as u64, small);
        // Its old records follow the new one (valid, with lower indexes): they end it.
        assert!(valid_record_after(&image[at..], 0));
        assert!(!valid_record_after(&image[at..], kept));
        let want: Vec<Vec<u8>> = rec(kept, (next - kept) as usize);
        let got = |d: &Path| -> Vec<Vec<u8>> {
            read_all(d)
                .unwrap()
                .into_iter()
                .flat_map(|r| r.entries)
                .collect()
        };
        assert_eq!(got(dir.path()), want);
        // The same where the new records end exactly where an old one begins.
        let mut d = image.clone();
        let old = encoded(kept - 2, 2);
        d[at..at + old.len()].copy_from_slice(&old);
        fs::write(&seg, &d).unwrap();
        assert_eq!(got(dir.path()), want);
        // A torn record written over the old ones is a torn tail, not corruption.
        let torn = encoded(next, 3);
        let mut d = image.clone();
        d[at..at + torn.len() / 2].copy_from_slice(&torn[..torn.len() / 2]);
        fs::write(&seg, &d).unwrap();
        assert_eq!(got(dir.path()), want);
        // A damaged new record followed by a new valid one still is.
        let mut d = image.clone();
        let start = (0..at)
            .find(|&i| decode(&image[i..]).is_ok_and(|(r, _)| r.first >= kept))
            .unwrap();
        let second = encoded(next, 1);
        d[at..at + second.len()].copy_from_slice(&second);
        d[start + 30] ^= 0x01;
        fs::write(&seg, &d).unwrap();
        assert!(matches!(read_all(dir.path()), Err(Error::Corrupt(_))));
        prune(dir.path(), u64::MAX, true).unwrap();
        assert_eq!(fs::read_dir(&jdir).unwrap().count(), 0);
    }

    #[test]
    fn a_recycled_segment_that_is_not_the_last_ends_where_the_next_begins() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::with_segment_bytes(dir.path(), 0, false, 700).unwrap();
        let mut next = 0u64;
        let mut files = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        // Publish as soon as a segment is full, so that segments are recycled over and over.
        for _ in 0..300 {
            w.append(&rec(next, 1 + (next % 3) as usize)).unwrap();
            next += 1 + next % 3;
            if let Some((last, _)) = segments(dir.path()).unwrap().last() {
                prune(dir.path(), *last, false).unwrap();
            }
            files.insert(fs::metadata(w.position().0).unwrap().ino());
            names.insert(w.position().0.to_owned());
        }
        // Many segments, a handful of files.
        assert!(names.len() > 20, "{} segments", names.len());
        assert!(files.len() <= 4, "{} files", files.len());
        // Keep several segments (nothing published from here on): the earlier ones hold new
        // records followed by old bytes of their previous use.
        let from = segments(dir.path()).unwrap()[0].0;
        for _ in 0..60 {
            w.append(&rec(next, 2)).unwrap();
            next += 2;
        }
        assert!(segments(dir.path()).unwrap().len() > 2);
        let got: Vec<Vec<u8>> = read_all(dir.path())
            .unwrap()
            .into_iter()
            .flat_map(|r| r.entries)
            .collect();
        assert_eq!(got, rec(from, (next - from) as usize));
    }

    #[test]
    fn a_leftover_spare_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = JournalWriter::with_segment_bytes(dir.path(), 0, false, 4096).unwrap();
        w.append(&rec(0, 2)).unwrap();
        drop(w);
        // A crash while the spare was being prepared: a short file of junk.
        let spare = dir.path().join("journal").join(SPARE);
        fs::write(&spare, b"PGJ1 half-written spare").unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 1);
        assert_eq!(segments(dir.path()).unwrap().len(), 1);
        let mut w = JournalWriter::with_segment_bytes(dir.path(), 2, false, 4096).unwrap();
        w.append(&rec(2, 1)).unwrap();
        let seg = dir.path().join("journal/00000000000000000002");
        assert_eq!(fs::metadata(&seg).unwrap().len(), 4096);
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
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
