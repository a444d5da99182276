//! The on-disk log: C2SP tlog-tiles files in a directory, batched durable appends with a
//! signed checkpoint per batch, crash recovery, proofs, and full verification.
//!
//! Directory layout (`DIR`):
//!
//! | file | content |
//! |---|---|
//! | `checkpoint` | the current signed (and cosigned) checkpoint, served as is |
//! | `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` | tlog-tiles hash tiles and entry bundles |
//! | `log-key` | the Ed25519 signer key (`PRIVATE+KEY+...`), mode 0600 |
//! | `ledger.json` | origin and configured witnesses |
//! | `signed-state` | size and root of the last tree head the log signed (or is about to sign) |
//! | `journal/<N>` | write-ahead journal segments of the group committer ([`crate::journal`]) |
//!
//! A batch commit: hash the entries, write the full tiles and bundles it completes and the
//! new partial ones, make them durable (`fdatasync` of every file from parallel threads, then
//! `fsync` of the changed directories; or one `syncfs`, see [`SyncMode`]),
//! persist `signed-state` (write, fsync, rename, fsync dir), sign, and atomically replace
//! `checkpoint`. Only then are the indexes returned. `signed-state` is written before any
//! signature is made, so a restarted log can never sign a tree head inconsistent with one
//! it signed before: on open, files beyond the signed size are discarded (they were never
//! acknowledged) and the right edge of the tree is reloaded from the tiles of that size.
//! Then the write-ahead journal is replayed: entries it holds beyond the signed size were
//! acknowledged by the group committer and are committed now (those below it must equal the
//! published ones), and the journal is deleted.

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{decode_hash, parse_size, verify_cosignature, Checkpoint};
use crate::error::{Error, Result};
use crate::hash::{empty_root, leaf_hash, mth, node_hash, Hash, HASH_SIZE};
use crate::merkle::{self, NodeSource};
use crate::note::{Note, NoteSignature, Signer, VerifierKey, SIG_ED25519};
use crate::proof::TlogProof;
use crate::tile::{parse_bundle, push_entry, TileId, MAX_ENTRY_LEN, TILE_HEIGHT, TILE_WIDTH};

const CONFIG: &str = "ledger.json";
const KEY: &str = "log-key";
const SIGNED_STATE: &str = "signed-state";
const CHECKPOINT: &str = "checkpoint";

/// A witness the log asks for cosignatures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WitnessConfig {
    /// Submission prefix URL (`add-checkpoint` is appended).
    pub url: String,
    /// The witness' cosignature verifier key (type `0x04`).
    pub key: String,
}

/// The ledger's configuration file (`ledger.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Checkpoint origin (also the log key name).
    pub origin: String,
    /// Witnesses to collect cosignatures from.
    #[serde(default)]
    pub witnesses: Vec<WitnessConfig>,
}

/// How batches are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// `fdatasync` every written file from up to 16 threads at once (the file system joins
    /// them into few journal commits), then `fsync` the directories that changed.
    Auto,
    /// One `syncfs(2)` for the whole batch (Linux; elsewhere same as `PerFile`): one call,
    /// but it also waits for other programs' dirty data on the same file system.
    Syncfs,
    /// `fsync` each written file, one after the other, and the directories that changed.
    PerFile,
    /// No fsync at all: for tests and in-memory benchmarks only; a crash can lose data.
    DangerousNone,
}

/// Result of [`LedgerReader::verify`]: what was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Root hash recomputed from the entry bundles.
    pub root: Hash,
    /// Number of files compared byte for byte.
    pub files_checked: usize,
    /// Witnesses whose cosignatures verified.
    pub cosigned_by: Vec<String>,
}

/// An open ledger directory with its writer state.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    config: Config,
    signer: Signer,
    sync: SyncMode,
    size: u64,
    root: Hash,
    /// `edge[L]`: the hashes of the partial tile at level L (fewer than 256).
    edge: Vec<Vec<Hash>>,
    /// The partial entry bundle (its entries are the first `edge[0].len()` leaves).
    bundle: Vec<u8>,
    checkpoint: String,
    made_dirs: HashSet<PathBuf>,
    /// Directories created by the batch being committed.
    batch_new_dirs: Vec<PathBuf>,
    /// Holds the exclusive writer lock (`DIR/lock`) while open.
    _lock: fs::File,
    /// Last size each witness (by URL) reported or cosigned, to skip the 409 round trip.
    witness_sizes: std::collections::HashMap<String, u64>,
    /// The signed tree head this process last persisted, once it is known to be a prefix of the
    /// in-memory tree. While it equals the head before a batch, the batch (appends only)
    /// extends it by construction and the on-disk re-verification can be skipped.
    signed_head: Option<(u64, Hash)>,
}

/// Test hook: when the environment variable `PHIGUARD_LEDGER_DANGEROUS_CRASH_AT` names this
/// point of a batch commit, the process aborts there (used by the crash-recovery tests).
pub(crate) fn crash_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("PHIGUARD_LEDGER_DANGEROUS_CRASH_AT").ok());
    if at.as_deref() == Some(name) {
        std::process::abort();
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io("read", path, e))
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn fsync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", dir, e))
}

/// Writes `data` to `path` atomically and durably: temp file, fsync, rename, fsync dir.
pub(crate) fn write_atomic(path: &Path, data: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(m) = mode {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(m);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(data).map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))?;
    fsync_dir(dir)
}

fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut v = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        v.extend_from_slice(h);
    }
    v
}

fn parse_tile(data: &[u8], width: u16, path: &Path) -> Result<Vec<Hash>> {
    if data.len() != usize::from(width) * HASH_SIZE {
        return Err(Error::Corrupt(format!(
            "`{}` is {} bytes, expected {}",
            path.display(),
            data.len(),
            usize::from(width) * HASH_SIZE
        )));
    }
    Ok(data
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// The root of a tree given its right edge (`edge[L]` = hashes of the partial tile at L).
fn root_from_edge(edge: &[Vec<Hash>]) -> Hash {
    // Perfect subtrees from the largest to the smallest, then fold from the right.
    let mut parts: Vec<Hash> = Vec::new();
    for row in edge.iter().rev() {
        let mut off = 0usize;
        for b in (0..8).rev() {
            let n = 1usize << b;
            if row.len() & n != 0 {
                parts.push(mth(&row[off..off + n]));
                off += n;
            }
        }
    }
    let Some((last, init)) = parts.split_last() else {
        return empty_root();
    };
    init.iter().rev().fold(*last, |acc, h| node_hash(h, &acc))
}

fn parse_signed_state(data: &[u8]) -> Result<(u64, Hash)> {
    const W: &str = "signed-state";
    let s = std::str::from_utf8(data).map_err(|_| Error::parse(W, "not UTF-8"))?;
    let body = s
        .strip_suffix('\n')
        .ok_or_else(|| Error::parse(W, "does not end with a newline"))?;
    let (size, root) = body
        .split_once('\n')
        .ok_or_else(|| Error::parse(W, "expected two lines"))?;
    let size = parse_size(size).ok_or_else(|| Error::parse(W, "line 1: bad size"))?;
    let root = decode_hash(root).map_err(|r| Error::parse(W, format!("line 2: {r}")))?;
    Ok((size, root))
}

/// Reads tiles of one tree size and serves perfect subtree hashes from them; counts reads.
#[derive(Debug)]
pub struct TileReader<'a> {
    dir: &'a Path,
    size: u64,
    cache: Vec<(TileId, Vec<Hash>)>,
    /// Number of tile files read.
    pub tiles_read: usize,
}

impl<'a> TileReader<'a> {
    /// A reader of the tree of `size` leaves stored in `dir`.
    pub fn new(dir: &'a Path, size: u64) -> Self {
        Self {
            dir,
            size,
            cache: Vec::new(),
            tiles_read: 0,
        }
    }

    fn tile(&mut self, level: u8, index: u64) -> Result<&[Hash]> {
        let at_level = self.size >> (TILE_HEIGHT * u32::from(level));
        let width = if (index + 1) * TILE_WIDTH <= at_level {
            TILE_WIDTH as u16
        } else {
            (at_level % TILE_WIDTH) as u16
        };
        let id = TileId::hashes(level, index, width);
        if let Some(pos) = self.cache.iter().position(|(t, _)| *t == id) {
            return Ok(&self.cache[pos].1);
        }
        let path = self.dir.join(id.path());
        let (data, path, width) = match fs::read(&path) {
            Ok(d) => (d, path, width),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !id.is_full() => {
                // A partial tile may be deleted once the full tile exists (tlog-tiles);
                // a newer writer may have done so since our checkpoint was read.
                let full = TileId::hashes(level, index, TILE_WIDTH as u16);
                let p = self.dir.join(full.path());
                let mut d = read(&p)?;
                d.truncate(usize::from(width) * HASH_SIZE);
                (d, p, width)
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        self.tiles_read += 1;
        let hashes = parse_tile(&data, width, &path)?;
        self.cache.push((id, hashes));
        Ok(self.cache.last().map(|(_, h)| h.as_slice()).unwrap_or(&[]))
    }
}

impl NodeSource for TileReader<'_> {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        let tl = level / TILE_HEIGHT;
        let h = level % TILE_HEIGHT;
        if (index + 1) << level > self.size || tl > 63 {
            return Err(Error::IndexOutOfRange {
                index: index << level,
                size: self.size,
            });
        }
        let first = index << h;
        let tile_index = first / TILE_WIDTH;
        let off = (first % TILE_WIDTH) as usize;
        let count = 1usize << h;
        let hashes = self.tile(tl as u8, tile_index)?;
        let slice = hashes.get(off..off + count).ok_or_else(|| {
            Error::Corrupt(format!(
                "tile {tl}/{tile_index} is too short for node {level}/{index}"
            ))
        })?;
        Ok(mth(slice))
    }
}

impl Ledger {
    /// Creates a new ledger in `dir` (which must not already hold one): generates the log
    /// key (mode 0600), writes the config and signs the empty checkpoint.
    pub fn init(dir: &Path, origin: &str) -> Result<Self> {
        if !crate::note::valid_key_name(origin) {
            return Err(Error::Setup(format!(
                "origin `{origin}` must be non-empty without spaces or `+` (e.g. `hospital.example/audit`)"
            )));
        }
        fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        for f in [CONFIG, KEY, CHECKPOINT] {
            if dir.join(f).exists() {
                return Err(Error::Setup(format!(
                    "`{}` already holds a ledger ({f} exists)",
                    dir.display()
                )));
            }
        }
        let signer = Signer::generate(origin, SIG_ED25519)?;
        write_atomic(
            &dir.join(KEY),
            format!("{}\n", signer.encode()).as_bytes(),
            Some(0o600),
        )?;
        let config = Config {
            origin: origin.to_owned(),
            witnesses: Vec::new(),
        };
        save_config(dir, &config)?;
        let root = empty_root();
        write_atomic(
            &dir.join(SIGNED_STATE),
            signed_state_text(0, &root).as_bytes(),
            None,
        )?;
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size: 0,
            root,
            extensions: vec![],
        };
        let note = cp.sign(&signer).encode();
        write_atomic(&dir.join(CHECKPOINT), note.as_bytes(), None)?;
        Self::open(dir)
    }

    /// Opens a ledger for writing, recovering from any crash (see the module docs).
    /// Only one writer may have a ledger open: a second one gets an error.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = load_config(dir)?;
        let lock = lock_writer(dir)?;
        let signer = load_signer(dir)?;
        if signer.name() != config.origin {
            return Err(Error::Key(format!(
                "log key is named `{}` but the origin is `{}`",
                signer.name(),
                config.origin
            )));
        }
        let cp_data = read(&dir.join(CHECKPOINT))?;
        let (cp, _) = Checkpoint::open(&cp_data, &[signer.verifier().clone()])?;
        let (size, root) = match read_opt(&dir.join(SIGNED_STATE))? {
            Some(d) => parse_signed_state(&d)?,
            None => (cp.size, cp.root),
        };
        if size < cp.size || (size == cp.size && root != cp.root) {
            return Err(Error::Corrupt(format!(
                "signed-state (size {size}) contradicts the checkpoint (size {})",
                cp.size
            )));
        }
        let mut ledger = Self {
            dir: dir.to_owned(),
            config,
            signer,
            sync: SyncMode::Auto,
            size,
            root,
            edge: Vec::new(),
            bundle: Vec::new(),
            checkpoint: String::from_utf8_lossy(&cp_data).into_owned(),
            made_dirs: HashSet::new(),
            batch_new_dirs: Vec::new(),
            _lock: lock,
            witness_sizes: std::collections::HashMap::new(),
            signed_head: None,
        };
        ledger.discard_beyond(size)?;
        ledger.load_edge()?;
        let got = root_from_edge(&ledger.edge);
        if got != root {
            return Err(Error::Corrupt(format!(
                "the tiles of size {size} do not hash to the signed root"
            )));
        }
        if size > cp.size {
            // Crashed after persisting signed-state, before publishing: publish it now.
            ledger.publish()?;
        }
        ledger.replay_journal()?;
        Ok(ledger)
    }

    /// Publishes the acknowledged entries the write-ahead journal holds beyond the signed
    /// size (a crash between the journal sync and the publication), checks that the entries
    /// it holds below it are the published ones, then deletes the journal.
    fn replay_journal(&mut self) -> Result<()> {
        let records = crate::journal::read_all(&self.dir)?;
        let Some(first) = records.first().map(|r| r.first) else {
            return crate::journal::prune(&self.dir, self.size, true);
        };
        if first > self.size {
            return Err(Error::Corrupt(format!(
                "the journal starts at entry {first} but the signed tree holds only {} entries: acknowledged entries are missing",
                self.size
            )));
        }
        let mut pending: Vec<Vec<u8>> = Vec::new();
        {
            let mut tiles = TileReaderWithEdge::new(&self.dir, self.size, &self.edge);
            for rec in records {
                for (k, e) in rec.entries.into_iter().enumerate() {
                    let idx = rec.first + k as u64;
                    if idx < self.size {
                        if tiles.node(0, idx)? != leaf_hash(&e) {
                            return Err(Error::Corrupt(format!(
                                "journal entry {idx} differs from the published entry {idx}"
                            )));
                        }
                    } else {
                        pending.push(e);
                    }
                }
            }
        }
        if !pending.is_empty() {
            self.append_batch(&pending)?;
        }
        crate::journal::prune(&self.dir, self.size, true)
    }

    /// Chooses how batches are made durable.
    pub fn set_sync_mode(&mut self, mode: SyncMode) {
        self.sync = mode;
    }

    /// How batches are made durable.
    pub fn sync_mode(&self) -> SyncMode {
        self.sync
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Durable, signed tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root hash at [`Ledger::size`].
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        self.signer.verifier()
    }

    /// The current checkpoint note (with any cosignatures).
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    /// Removes files a crashed batch may have left beyond `size`.
    fn discard_beyond(&mut self, size: u64) -> Result<()> {
        let mut kinds: Vec<(Option<u8>, u64)> = vec![(None, size)];
        for l in 0..64u8 {
            let at = size >> (TILE_HEIGHT * u32::from(l));
            let dir = self.dir.join(format!("tile/{l}"));
            if at == 0 && !dir.exists() {
                break;
            }
            kinds.push((Some(l), at));
        }
        for (level, at) in kinds {
            let first = at / TILE_WIDTH;
            let keep = (at % TILE_WIDTH) as u16;
            let mut idx = first;
            loop {
                let full = match level {
                    Some(l) => TileId::hashes(l, idx, TILE_WIDTH as u16),
                    None => TileId::entries(idx, TILE_WIDTH as u16),
                };
                let full_path = self.dir.join(full.path());
                let pdir = PathBuf::from(format!("{}.p", full_path.display()));
                let mut found = false;
                if full_path.exists() {
                    found = true;
                    fs::remove_file(&full_path).map_err(|e| Error::io("remove", &full_path, e))?;
                }
                if pdir.is_dir() {
                    found = true;
                    let entries = fs::read_dir(&pdir).map_err(|e| Error::io("list", &pdir, e))?;
                    for e in entries {
                        let e = e.map_err(|e| Error::io("list", &pdir, e))?;
                        let name = e.file_name();
                        if idx == first && keep > 0 && name.to_str() == Some(&keep.to_string()) {
                            continue;
                        }
                        let p = e.path();
                        if idx == first && keep > 0 {
                            let Some(w) = name.to_str().and_then(parse_size) else {
                                fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
                                continue;
                            };
                            if w < u64::from(keep) {
                                continue; // partial of an older checkpoint: still served
                            }
                        }
                        fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
                    }
                }
                if !found && idx > first {
                    break;
                }
                if !found && idx == first {
                    // Nothing at the first index; a crash cannot have written further ones
                    // without writing this one.
                    break;
                }
                idx += 1;
            }
        }
        Ok(())
    }

    /// Loads the right edge of the tree at `self.size` from the partial tiles.
    fn load_edge(&mut self) -> Result<()> {
        self.edge.clear();
        self.bundle.clear();
        let size = self.size;
        for l in 0..64u8 {
            let at = size >> (TILE_HEIGHT * u32::from(l));
            if at == 0 {
                break;
            }
            let w = (at % TILE_WIDTH) as u16;
            if w == 0 {
                self.edge.push(Vec::new());
                continue;
            }
            let id = TileId::hashes(l, at / TILE_WIDTH, w);
            let path = self.dir.join(id.path());
            let data = read(&path)?;
            self.edge.push(parse_tile(&data, w, &path)?);
        }
        let w = (size % TILE_WIDTH) as u16;
        if w > 0 {
            let id = TileId::entries(size / TILE_WIDTH, w);
            let path = self.dir.join(id.path());
            let data = read(&path)?;
            let entries = parse_bundle(&data)
                .map_err(|e| Error::Corrupt(format!("`{}`: {e}", path.display())))?;
            let ok = entries.len() == usize::from(w)
                && entries
                    .iter()
                    .zip(self.edge.first().map(Vec::as_slice).unwrap_or(&[]))
                    .all(|(e, h)| leaf_hash(e) == *h);
            if !ok {
                return Err(Error::Corrupt(format!(
                    "`{}` does not match its level-0 tile",
                    path.display()
                )));
            }
            self.bundle = data;
        }
        Ok(())
    }

    fn ensure_parent(&mut self, path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            if !self.made_dirs.contains(parent) {
                // Remember every directory we create: its parent must be fsynced too.
                let mut missing = Vec::new();
                let mut p = parent;
                while !p.exists() {
                    missing.push(p.to_owned());
                    match p.parent() {
                        Some(q) => p = q,
                        None => break,
                    }
                }
                fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
                self.batch_new_dirs.extend(missing);
                self.made_dirs.insert(parent.to_owned());
            }
        }
        Ok(())
    }

    /// Appends a batch of entries durably and publishes a new signed checkpoint.
    /// Returns the index of the first entry. All or nothing: on error nothing is acknowledged
    /// and the in-memory state is rolled back.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<u64> {
        for (i, e) in entries.iter().enumerate() {
            let len = e.as_ref().len();
            if len > MAX_ENTRY_LEN {
                return Err(Error::EntryTooLarge {
                    index: i as u64,
                    len,
                });
            }
        }
        let first = self.size;
        if entries.is_empty() {
            return Ok(first);
        }
        let saved = (self.size, self.root, self.edge.clone(), self.bundle.clone());
        match self.commit(entries) {
            Ok(()) => Ok(first),
            Err(e) => {
                // Before signed-state moved, nothing happened: roll back. After it moved,
                // the batch is durable and will be published (now or on reopen), so the
                // in-memory state stays at the new size; the caller still gets the error
                // (the batch is not acknowledged).
                if self.size == saved.0 {
                    (self.size, self.root, self.edge, self.bundle) = saved;
                }
                Err(e)
            }
        }
    }

    fn commit<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<()> {
        self.batch_new_dirs.clear();
        let mut writes: Vec<(TileId, Vec<u8>)> = Vec::new();
        let mut size = self.size;
        // Partial hash tiles of the current (published) size. A batch that leaves one of them
        // unchanged must not rewrite it: a crash mid-rewrite would damage a published file.
        let published: Vec<TileId> = self
            .edge
            .iter()
            .enumerate()
            .filter(|(_, row)| !row.is_empty())
            .map(|(l, row)| {
                let at = size >> (TILE_HEIGHT as usize * l);
                TileId::hashes(l as u8, at / TILE_WIDTH, row.len() as u16)
            })
            .collect();
        if self.edge.is_empty() {
            self.edge.push(Vec::new());
        }
        for e in entries {
            push_entry(&mut self.bundle, e.as_ref())?;
            self.edge[0].push(leaf_hash(e.as_ref()));
            size += 1;
            if self.edge[0].len() as u64 == TILE_WIDTH {
                let idx = (size - 1) / TILE_WIDTH;
                writes.push((
                    TileId::entries(idx, TILE_WIDTH as u16),
                    std::mem::take(&mut self.bundle),
                ));
                self.bundle
                    .reserve(TILE_WIDTH as usize * (e.as_ref().len() + 2));
                // Carry full tiles up the levels.
                let mut l = 0usize;
                while self.edge[l].len() as u64 == TILE_WIDTH {
                    let row = std::mem::take(&mut self.edge[l]);
                    let tidx = (size - 1) >> (TILE_HEIGHT as usize * (l + 1));
                    let up = mth(&row);
                    writes.push((
                        TileId::hashes(l as u8, tidx, TILE_WIDTH as u16),
                        tile_bytes(&row),
                    ));
                    self.edge[l] = row;
                    self.edge[l].clear();
                    if self.edge.len() == l + 1 {
                        self.edge.push(Vec::new());
                    }
                    self.edge[l + 1].push(up);
                    l += 1;
                }
            }
        }
        // Partial tiles of the new size.
        for (l, row) in self.edge.iter().enumerate() {
            if !row.is_empty() {
                let at = size >> (TILE_HEIGHT as usize * l);
                let id = TileId::hashes(l as u8, at / TILE_WIDTH, row.len() as u16);
                if !published.contains(&id) {
                    writes.push((id, tile_bytes(row)));
                }
            }
        }
        if size % TILE_WIDTH != 0 {
            writes.push((
                TileId::entries(size / TILE_WIDTH, (size % TILE_WIDTH) as u16),
                self.bundle.clone(),
            ));
        }
        let mut files = Vec::with_capacity(writes.len());
        for (i, (id, data)) in writes.iter().enumerate() {
            if i == writes.len() / 2 {
                crash_point("mid-writes");
            }
            let path = self.dir.join(id.path());
            self.ensure_parent(&path)?;
            let mut f = fs::File::create(&path).map_err(|e| Error::io("create", &path, e))?;
            f.write_all(data)
                .map_err(|e| Error::io("write", &path, e))?;
            if self.sync == SyncMode::PerFile {
                f.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
            }
            files.push((path, f));
        }
        crash_point("before-sync");
        self.make_durable(&files)?;
        drop(files);
        crash_point("after-sync");
        let root = root_from_edge(&self.edge);
        // Persist the tree head we are about to sign before signing it.
        self.persist_signed_state(size, &root)?;
        crash_point("after-signed-state");
        self.size = size;
        self.root = root;
        self.publish()?;
        crash_point("after-checkpoint");
        // Partials of tiles that are now full are no longer needed.
        for (id, _) in &writes {
            if id.is_full() {
                let p = PathBuf::from(format!("{}.p", self.dir.join(id.path()).display()));
                if p.is_dir() {
                    fs::remove_dir_all(&p).map_err(|e| Error::io("remove", &p, e))?;
                }
            }
        }
        Ok(())
    }

    fn make_durable(&self, files: &[(PathBuf, fs::File)]) -> Result<()> {
        match self.sync {
            SyncMode::DangerousNone => Ok(()),
            SyncMode::PerFile => self.sync_dirs(files),
            SyncMode::Auto => {
                let threads = files.len().clamp(1, 16);
                let chunk = files.len().div_ceil(threads).max(1);
                std::thread::scope(|s| {
                    let handles: Vec<_> = files
                        .chunks(chunk)
                        .map(|c| {
                            s.spawn(move || -> Result<()> {
                                for (p, f) in c {
                                    f.sync_data().map_err(|e| Error::io("fdatasync", p, e))?;
                                }
                                Ok(())
                            })
                        })
                        .collect();
                    for h in handles {
                        h.join().map_err(|_| {
                            Error::io(
                                "fdatasync",
                                &self.dir,
                                std::io::Error::other("sync thread panicked"),
                            )
                        })??;
                    }
                    Ok::<(), Error>(())
                })?;
                self.sync_dirs(files)
            }
            SyncMode::Syncfs => {
                #[cfg(target_os = "linux")]
                {
                    let d =
                        fs::File::open(&self.dir).map_err(|e| Error::io("open", &self.dir, e))?;
                    rustix::fs::syncfs(&d)
                        .map_err(|e| Error::io("syncfs", &self.dir, std::io::Error::from(e)))?;
                    // Directories created in this batch are covered by syncfs as well.
                    Ok(())
                }
                #[cfg(not(target_os = "linux"))]
                {
                    for (p, f) in files {
                        f.sync_all().map_err(|e| Error::io("fsync", p, e))?;
                    }
                    self.sync_dirs(files)
                }
            }
        }
    }

    /// Fsyncs the directories holding new files and those where directories were created.
    fn sync_dirs(&self, files: &[(PathBuf, fs::File)]) -> Result<()> {
        let mut dirs: Vec<&Path> = files
            .iter()
            .filter_map(|(p, _)| p.parent())
            .chain(self.batch_new_dirs.iter().filter_map(|d| d.parent()))
            .collect();
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            fsync_dir(d)?;
        }
        Ok(())
    }

    fn persist_signed_state(&mut self, size: u64, root: &Hash) -> Result<()> {
        let path = self.dir.join(SIGNED_STATE);
        // Within one process: if the head persisted last is the tree head before this batch, the
        // new tree extends it (a batch only appends), so the check below is already known to
        // pass. After opening, or after any rollback, the full check from disk runs.
        let extends_known = self.signed_head == Some((self.size, self.root)) && size >= self.size;
        let on_disk = if extends_known {
            None
        } else {
            read_opt(&path)?
        };
        if let Some(d) = on_disk {
            let (old_size, old_root) = parse_signed_state(&d)?;
            if old_size > size {
                return Err(Error::Inconsistent(format!(
                    "a tree of size {old_size} was already signed; cannot sign size {size}"
                )));
            }
            // The old head must be a prefix of the new tree.
            let mut r = TileReaderWithEdge::new(&self.dir, size, &self.edge);
            let at_old = merkle::root(&mut r, old_size)?;
            if at_old != old_root {
                return Err(Error::Inconsistent(format!(
                    "the tree at size {old_size} no longer hashes to the root signed before"
                )));
            }
        }
        self.signed_head = None;
        if self.sync == SyncMode::DangerousNone {
            fs::write(&path, signed_state_text(size, root))
                .map_err(|e| Error::io("write", &path, e))?;
        } else {
            write_atomic(&path, signed_state_text(size, root).as_bytes(), None)?;
        }
        self.signed_head = Some((size, *root));
        Ok(())
    }

    /// Signs and atomically publishes the checkpoint of the current size (no cosignatures).
    fn publish(&mut self) -> Result<()> {
        let cp = Checkpoint {
            origin: self.config.origin.clone(),
            size: self.size,
            root: self.root,
            extensions: vec![],
        };
        let note = cp.sign(&self.signer).encode();
        self.write_checkpoint(&note)
    }

    fn write_checkpoint(&mut self, note: &str) -> Result<()> {
        let path = self.dir.join(CHECKPOINT);
        crash_point("before-checkpoint");
        if self.sync == SyncMode::DangerousNone {
            fs::write(&path, note).map_err(|e| Error::io("write", &path, e))?;
        } else {
            write_atomic(&path, note.as_bytes(), None)?;
        }
        self.checkpoint = note.to_owned();
        Ok(())
    }

    /// Adds a witness to the configuration.
    pub fn add_witness(&mut self, url: &str, key: &str) -> Result<()> {
        let vk = VerifierKey::parse(key)?;
        if vk.sig_type != crate::note::SIG_COSIGNATURE_V1 {
            return Err(Error::Key(
                "a witness key must be a cosignature/v1 key (type 0x04)".into(),
            ));
        }
        self.config.witnesses.retain(|w| w.key != key);
        self.config.witnesses.push(WitnessConfig {
            url: url.to_owned(),
            key: vk.encode(),
        });
        save_config(&self.dir, &self.config)
    }

    /// Asks every configured witness to cosign the current checkpoint, and publishes the
    /// checkpoint with the cosignatures that verified. Returns one result per witness.
    pub fn collect_cosignatures(&mut self) -> Vec<(String, Result<()>)> {
        let body = Checkpoint {
            origin: self.config.origin.clone(),
            size: self.size,
            root: self.root,
            extensions: vec![],
        }
        .body();
        let signed = Note {
            text: body.clone(),
            signatures: vec![self.signer.sign_note(&body)],
        };
        let mut note = signed.clone();
        let mut results = Vec::new();
        for w in self.config.witnesses.clone() {
            let r = self.ask_witness(&w, &signed.encode());
            match r {
                Ok(sigs) => {
                    note.signatures.extend(sigs);
                    results.push((w.url.clone(), Ok(())));
                }
                Err(e) => results.push((w.url.clone(), Err(e))),
            }
        }
        if note.signatures.len() > 1 {
            if let Err(e) = self.write_checkpoint(&note.encode()) {
                results.push(("checkpoint".into(), Err(e)));
            }
        }
        results
    }

    fn ask_witness(&mut self, w: &WitnessConfig, note: &str) -> Result<Vec<NoteSignature>> {
        let key = VerifierKey::parse(&w.key)?;
        let werr = |reason: String| Error::Witness {
            witness: w.url.clone(),
            reason,
        };
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| werr(e.to_string()))?;
        let url = format!("{}/add-checkpoint", w.url.trim_end_matches('/'));
        let mut old = self
            .witness_sizes
            .get(&w.url)
            .copied()
            .filter(|s| *s <= self.size)
            .unwrap_or(0);
        for _attempt in 0..3 {
            let proof = self.consistency_proof(old, self.size)?;
            let mut body = format!("old {old}\n");
            for h in &proof {
                body.push_str(&B64.encode(h));
                body.push('\n');
            }
            body.push('\n');
            body.push_str(note);
            let resp = client
                .post(&url)
                .body(body)
                .send()
                .map_err(|e| werr(e.to_string()))?;
            let status = resp.status().as_u16();
            let text = resp.text().map_err(|e| werr(e.to_string()))?;
            match status {
                200 => {
                    let mut sigs = Vec::new();
                    let text_body = Note::parse(note.as_bytes())?.text;
                    for line in text.lines() {
                        let sig = NoteSignature::parse_line(line)?;
                        if sig.name == key.name && sig.key_id == key.key_id {
                            verify_cosignature(&key, &text_body, &sig)?;
                            sigs.push(sig);
                        }
                    }
                    if sigs.is_empty() {
                        return Err(werr("no cosignature from the configured key".into()));
                    }
                    self.witness_sizes.insert(w.url.clone(), self.size);
                    return Ok(sigs);
                }
                409 => {
                    let Some(s) = parse_size(text.trim_end_matches('\n')) else {
                        return Err(werr(format!(
                            "409 with an unreadable size `{}`",
                            text.trim()
                        )));
                    };
                    if s == old || s > self.size {
                        return Err(werr(format!(
                            "witness has size {s}, inconsistent with our size {}",
                            self.size
                        )));
                    }
                    old = s;
                }
                _ => return Err(werr(format!("HTTP {status}: {}", text.trim()))),
            }
        }
        Err(werr("witness kept changing its size".into()))
    }

    /// Consistency proof between two sizes up to the current size.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        if new > self.size {
            return Err(Error::InvalidSizes {
                old: new,
                new: self.size,
            });
        }
        let mut r = TileReaderWithEdge::new(&self.dir, self.size, &self.edge);
        merkle::consistency_proof(&mut r, old, new)
    }
}

/// A tile reader that serves the partial tiles of the current size from memory.
struct TileReaderWithEdge<'a> {
    inner: TileReader<'a>,
}

impl<'a> TileReaderWithEdge<'a> {
    fn new(dir: &'a Path, size: u64, edge: &[Vec<Hash>]) -> Self {
        let mut inner = TileReader::new(dir, size);
        for (l, row) in edge.iter().enumerate() {
            if !row.is_empty() {
                let at = size >> (TILE_HEIGHT as usize * l);
                inner.cache.push((
                    TileId::hashes(l as u8, at / TILE_WIDTH, row.len() as u16),
                    row.clone(),
                ));
            }
        }
        Self { inner }
    }
}

impl NodeSource for TileReaderWithEdge<'_> {
    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        self.inner.node(level, index)
    }
}

/// Takes the exclusive, non-blocking writer lock on `DIR/lock` (released when the file closes,
/// including when the process dies).
fn lock_writer(dir: &Path) -> Result<fs::File> {
    let path = dir.join("lock");
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    #[cfg(unix)]
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|_| {
        Error::Setup(format!(
            "`{}` is open for writing by another process",
            dir.display()
        ))
    })?;
    Ok(f)
}

fn signed_state_text(size: u64, root: &Hash) -> String {
    format!("{size}\n{}\n", B64.encode(root))
}

fn save_config(dir: &Path, config: &Config) -> Result<()> {
    let mut data = serde_json::to_vec_pretty(config)
        .map_err(|e| Error::Setup(format!("cannot encode config: {e}")))?;
    data.push(b'\n');
    write_atomic(&dir.join(CONFIG), &data, None)
}

/// Reads `DIR/ledger.json`.
pub fn load_config(dir: &Path) -> Result<Config> {
    let path = dir.join(CONFIG);
    let data = match read_opt(&path)? {
        Some(d) => d,
        None => {
            return Err(Error::Setup(format!(
                "`{}` holds no ledger (run `phiguard ledger init --dir {} --origin NAME`)",
                dir.display(),
                dir.display()
            )))
        }
    };
    let config: Config = serde_json::from_slice(&data)
        .map_err(|e| Error::parse("ledger.json", format!("`{}`: {e}", path.display())))?;
    let mut canonical = serde_json::to_vec_pretty(&config)
        .map_err(|e| Error::Setup(format!("cannot encode config: {e}")))?;
    canonical.push(b'\n');
    if canonical != data {
        return Err(Error::parse(
            "ledger.json",
            format!(
                "`{}` is not in canonical form (edited by hand?)",
                path.display()
            ),
        ));
    }
    Ok(config)
}

fn load_signer(dir: &Path) -> Result<Signer> {
    let path = dir.join(KEY);
    let data = read(&path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = fs::metadata(&path).map_err(|e| Error::io("stat", &path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::Key(format!(
                "`{}` is readable by group or others; run `chmod 600` on it",
                path.display()
            )));
        }
    }
    let s = std::str::from_utf8(&data).map_err(|_| Error::Key("log-key is not UTF-8".into()))?;
    let signer = Signer::parse(s)?;
    if format!("{}\n", signer.encode()) != s {
        return Err(Error::Key(format!(
            "`{}` is not in canonical form (one key line)",
            path.display()
        )));
    }
    Ok(signer)
}

/// Read-only access to a ledger directory: keys, checkpoint, proofs, verification.
#[derive(Debug)]
pub struct LedgerReader {
    dir: PathBuf,
    config: Config,
    verifier: VerifierKey,
}

impl LedgerReader {
    /// Opens `dir` without taking the writer role.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = load_config(dir)?;
        let signer = load_signer(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            config,
            verifier: signer.verifier().clone(),
        })
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Reads and verifies the current checkpoint.
    pub fn checkpoint(&self) -> Result<(Checkpoint, String)> {
        let data = read(&self.dir.join(CHECKPOINT))?;
        let (cp, _) = Checkpoint::open(&data, std::slice::from_ref(&self.verifier))?;
        Ok((cp, String::from_utf8_lossy(&data).into_owned()))
    }

    /// A C2SP tlog-proof for entry `index` against the current checkpoint. Also returns the
    /// number of tiles read to build it.
    pub fn proof(&self, index: u64) -> Result<(TlogProof, usize)> {
        let (cp, note) = self.checkpoint()?;
        if index >= cp.size {
            return Err(Error::IndexOutOfRange {
                index,
                size: cp.size,
            });
        }
        let mut r = TileReader::new(&self.dir, cp.size);
        let proof = merkle::inclusion_proof(&mut r, index, cp.size)?;
        Ok((
            TlogProof {
                extra: None,
                index,
                proof,
                checkpoint: note,
            },
            r.tiles_read,
        ))
    }

    /// Reads entry `index` (of the current checkpoint) from its bundle.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        let (cp, _) = self.checkpoint()?;
        if index >= cp.size {
            return Err(Error::IndexOutOfRange {
                index,
                size: cp.size,
            });
        }
        let n = index / TILE_WIDTH;
        let w = if (n + 1) * TILE_WIDTH <= cp.size {
            TILE_WIDTH as u16
        } else {
            (cp.size % TILE_WIDTH) as u16
        };
        let path = self.dir.join(TileId::entries(n, w).path());
        let data = read(&path)?;
        let entries = parse_bundle(&data)
            .map_err(|e| Error::Corrupt(format!("`{}`: {e}", path.display())))?;
        entries
            .get((index % TILE_WIDTH) as usize)
            .map(|e| e.to_vec())
            .ok_or_else(|| Error::Corrupt(format!("`{}` is missing entries", path.display())))
    }

    /// Recomputes every tile and the root from the entry bundles and compares them byte for
    /// byte with the files, checks the checkpoint signature (and known cosignatures) and the
    /// signed state. Any mismatch is an error naming the file.
    pub fn verify(&self) -> Result<VerifyReport> {
        // A live writer persists signed-state just before the checkpoint: if their sizes
        // differ, look again a few times before calling it a mismatch.
        let mut attempt = 0;
        let (cp, note_text, ssize, sroot) = loop {
            let (cp, note_text) = self.checkpoint()?;
            let state = read(&self.dir.join(SIGNED_STATE))?;
            let (ssize, sroot) = parse_signed_state(&state)?;
            if ssize == cp.size || attempt == 4 {
                break (cp, note_text, ssize, sroot);
            }
            attempt += 1;
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        if cp.origin != self.config.origin {
            return Err(Error::Corrupt(format!(
                "checkpoint origin `{}` differs from the configured origin `{}`",
                cp.origin, self.config.origin
            )));
        }
        let note = Note::parse(note_text.as_bytes())?;
        let witnesses: Vec<VerifierKey> = self
            .config
            .witnesses
            .iter()
            .map(|w| VerifierKey::parse(&w.key))
            .collect::<Result<_>>()?;
        let cosigned_by = crate::checkpoint::verify_cosignatures(&note, &witnesses)?;
        // Any signature line that is neither the log's nor a known witness' is suspicious.
        for s in &note.signatures {
            let known = (s.name == self.verifier.name && s.key_id == self.verifier.key_id)
                || witnesses
                    .iter()
                    .any(|w| w.name == s.name && w.key_id == s.key_id);
            if !known {
                return Err(Error::Corrupt(format!(
                    "checkpoint carries a signature by unknown key `{}` ({:08x})",
                    s.name, s.key_id
                )));
            }
        }
        if ssize != cp.size || sroot != cp.root {
            return Err(Error::Corrupt(format!(
                "signed-state (size {ssize}) differs from the checkpoint (size {}); open the ledger for writing to recover",
                cp.size
            )));
        }
        let size = cp.size;
        let mut expected: HashSet<PathBuf> = HashSet::new();
        let mut files_checked = 0usize;
        // Level 0 from the bundles.
        let mut level: Vec<Hash> =
            Vec::with_capacity(usize::try_from(size.min(1 << 24)).unwrap_or(0));
        let bundles = size.div_ceil(TILE_WIDTH);
        for n in 0..bundles {
            let w = if (n + 1) * TILE_WIDTH <= size {
                TILE_WIDTH
            } else {
                size % TILE_WIDTH
            };
            let id = TileId::entries(n, w as u16);
            let path = self.dir.join(id.path());
            let data = read(&path)?;
            let entries = parse_bundle(&data)
                .map_err(|e| Error::Corrupt(format!("`{}`: {e}", path.display())))?;
            if entries.len() as u64 != w {
                return Err(Error::Corrupt(format!(
                    "`{}` holds {} entries, expected {w}",
                    path.display(),
                    entries.len()
                )));
            }
            level.extend(entries.iter().map(|e| leaf_hash(e)));
            expected.insert(path);
            files_checked += 1;
        }
        // levels[l]: every hash at tile level l, recomputed from the bundles.
        let mut levels: Vec<Vec<Hash>> = vec![level];
        let mut edge: Vec<Vec<Hash>> = Vec::new();
        let mut l = 0u8;
        loop {
            let row = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let width_at_level = row.len() as u64;
            if width_at_level == 0 {
                break;
            }
            for n in 0..width_at_level.div_ceil(TILE_WIDTH) {
                let lo = (n * TILE_WIDTH) as usize;
                let hi = usize::try_from(((n + 1) * TILE_WIDTH).min(width_at_level)).unwrap_or(lo);
                let id = TileId::hashes(l, n, (hi - lo) as u16);
                let path = self.dir.join(id.path());
                let data = read(&path)?;
                if data != tile_bytes(&row[lo..hi]) {
                    return Err(Error::Corrupt(format!(
                        "`{}` does not match the hashes recomputed from the entry bundles",
                        path.display()
                    )));
                }
                expected.insert(path);
                files_checked += 1;
            }
            let full = row.len() / TILE_WIDTH as usize * TILE_WIDTH as usize;
            edge.push(row[full..].to_vec());
            let next: Vec<Hash> = row.chunks_exact(TILE_WIDTH as usize).map(mth).collect();
            levels.push(next);
            l += 1;
        }
        let root = root_from_edge(&edge);
        if root != cp.root {
            return Err(Error::Corrupt(format!(
                "root recomputed from the entry bundles differs from the checkpoint root (size {size})"
            )));
        }
        // Leftover partial files (of older checkpoints) must be prefixes of the current data.
        files_checked += self.check_other_files(&expected, &levels, size)?;
        Ok(VerifyReport {
            size,
            root,
            files_checked,
            cosigned_by,
        })
    }

    fn check_other_files(
        &self,
        expected: &HashSet<PathBuf>,
        levels: &[Vec<Hash>],
        size: u64,
    ) -> Result<usize> {
        let leaves = levels.first().map(Vec::as_slice).unwrap_or(&[]);
        let mut checked = 0;
        let tile_dir = self.dir.join("tile");
        if !tile_dir.exists() {
            return Ok(0);
        }
        let mut stack = vec![tile_dir];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).map_err(|e| Error::io("list", &d, e))? {
                let e = e.map_err(|e| Error::io("list", &d, e))?;
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if expected.contains(&p) {
                    continue;
                }
                let rel = p
                    .strip_prefix(&self.dir)
                    .ok()
                    .and_then(|r| r.to_str())
                    .unwrap_or("")
                    .replace(std::path::MAIN_SEPARATOR, "/");
                let id = TileId::parse(&rel)
                    .map_err(|_| Error::Corrupt(format!("unexpected file `{}`", p.display())))?;
                let data = read(&p)?;
                let start = id.index * TILE_WIDTH;
                let end = start + u64::from(id.width);
                match id.kind {
                    crate::tile::TileKind::Entries => {
                        if end > size || id.is_full() {
                            return Err(Error::Corrupt(format!(
                                "unexpected file `{}`",
                                p.display()
                            )));
                        }
                        let entries = parse_bundle(&data)
                            .map_err(|e| Error::Corrupt(format!("`{}`: {e}", p.display())))?;
                        let ok = entries.len() == usize::from(id.width)
                            && entries
                                .iter()
                                .zip(&leaves[start as usize..end as usize])
                                .all(|(e, h)| leaf_hash(e) == *h);
                        if !ok {
                            return Err(Error::Corrupt(format!(
                                "`{}` does not match the entry bundles",
                                p.display()
                            )));
                        }
                    }
                    crate::tile::TileKind::Hashes(l) => {
                        let row = levels.get(usize::from(l)).map(Vec::as_slice).unwrap_or(&[]);
                        if end > row.len() as u64 || id.is_full() {
                            return Err(Error::Corrupt(format!(
                                "unexpected file `{}`",
                                p.display()
                            )));
                        }
                        if data != tile_bytes(&row[start as usize..end as usize]) {
                            return Err(Error::Corrupt(format!(
                                "`{}` does not match the hashes recomputed from the entry bundles",
                                p.display()
                            )));
                        }
                    }
                }
                checked += 1;
            }
        }
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;

    fn entries(n: usize, seed: u8) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"e\":{i},\"s\":{seed}}}").into_bytes())
            .collect()
    }

    #[test]
    fn batches_match_an_in_memory_tree_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let mut model = MemoryTree::new();
        let mut all = Vec::new();
        for (i, n) in [1usize, 255, 1, 300, 0, 65536 - 557 + 3, 700]
            .iter()
            .enumerate()
        {
            let b = entries(*n, i as u8);
            let first = l.append_batch(&b).unwrap();
            assert_eq!(first, model.size());
            for e in &b {
                model.append(e);
            }
            all.extend(b);
            assert_eq!(l.root(), model.root(), "after batch {i}");
            let r = LedgerReader::open(dir.path()).unwrap();
            let rep = r.verify().unwrap();
            assert_eq!(rep.size, model.size());
            // Proofs from tiles equal proofs from the model, and verify.
            for idx in [0, model.size() / 2, model.size().saturating_sub(1)] {
                if model.size() == 0 {
                    break;
                }
                let (p, _) = r.proof(idx).unwrap();
                assert_eq!(
                    p.proof,
                    {
                        let sz = model.size();
                        merkle::inclusion_proof(&mut model, idx, sz)
                    }
                    .unwrap()
                );
                p.verify(
                    &all[idx as usize],
                    "example.com/test",
                    &[l.verifier().clone()],
                    &[],
                    0,
                )
                .unwrap();
                assert_eq!(r.entry(idx).unwrap(), all[idx as usize]);
            }
            let old = model.size() / 3;
            let c = l.consistency_proof(old, model.size()).unwrap();
            assert_eq!(
                c,
                {
                    let sz = model.size();
                    merkle::consistency_proof(&mut model, old, sz)
                }
                .unwrap()
            );
        }
        drop(l);
        let mut l2 = Ledger::open(dir.path()).unwrap();
        assert_eq!(l2.size(), model.size());
        assert_eq!(l2.root(), model.root());
        l2.set_sync_mode(SyncMode::DangerousNone);
        l2.append_batch(&entries(10, 99)).unwrap();
        for e in entries(10, 99) {
            model.append(&e);
        }
        assert_eq!(l2.root(), model.root());
        LedgerReader::open(dir.path()).unwrap().verify().unwrap();
    }

    #[test]
    fn proofs_in_a_three_level_tree_read_at_most_five_tiles() {
        // 70,000 entries: level-0, level-1 and level-2 tiles, partial ones at each level.
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/big").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let es: Vec<[u8; 4]> = (0u32..70_000).map(|i| i.to_be_bytes()).collect();
        l.append_batch(&es).unwrap();
        let root = l.root();
        let mut max = 0;
        for idx in (0..70_000u64).step_by(997).chain([0, 65535, 65536, 69_999]) {
            let mut r = TileReader::new(dir.path(), 70_000);
            let p = merkle::inclusion_proof(&mut r, idx, 70_000).unwrap();
            max = max.max(r.tiles_read);
            let leaf = leaf_hash(&(idx as u32).to_be_bytes());
            merkle::verify_inclusion(idx, 70_000, &leaf, &p, &root).unwrap();
        }
        assert!(max <= 5, "read {max} tiles");
        assert_eq!(
            fs::read(dir.path().join("tile/2/000.p/1")).unwrap().len(),
            32,
            "the spec's 70,000-entry example has a level-2 partial tile of width 1"
        );
        assert!(dir.path().join("tile/1/001.p/17").exists());
        assert!(dir.path().join("tile/1/000").exists());
        assert!(dir.path().join("tile/0/273.p/112").exists());
    }

    #[test]
    fn unchanged_published_partials_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        l.append_batch(&entries(300, 1)).unwrap();
        let p = dir.path().join("tile/1/000.p/1");
        let before = fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        l.append_batch(&entries(10, 2)).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), before);
        LedgerReader::open(dir.path()).unwrap().verify().unwrap();
    }

    #[test]
    fn only_one_writer_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::init(dir.path(), "example.com/test").unwrap();
        assert!(matches!(Ledger::open(dir.path()), Err(Error::Setup(_))));
        drop(l);
        Ledger::open(dir.path()).unwrap();
    }

    #[test]
    fn oversized_entries_are_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        let big = vec![0u8; 65536];
        let err = l.append_batch(&[b"ok".to_vec(), big]).unwrap_err();
        assert!(matches!(
            err,
            Error::EntryTooLarge {
                index: 1,
                len: 65536
            }
        ));
        assert_eq!(l.size(), 0);
    }

    #[test]
    fn stale_files_beyond_the_signed_size_are_discarded_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        l.append_batch(&entries(300, 1)).unwrap();
        // Simulate a crashed batch: files of a bigger tree without a signed-state update.
        let mut other = MemoryTree::new();
        let _ = other.append(b"x");
        fs::create_dir_all(dir.path().join("tile/0/001.p")).unwrap();
        fs::write(dir.path().join("tile/0/001.p/200"), vec![1u8; 200 * 32]).unwrap();
        fs::write(dir.path().join("tile/0/001"), vec![1u8; 256 * 32]).unwrap();
        fs::create_dir_all(dir.path().join("tile/entries/002.p")).unwrap();
        fs::write(dir.path().join("tile/entries/002.p/3"), b"junk").unwrap();
        drop(l);
        assert!(LedgerReader::open(dir.path()).unwrap().verify().is_err());
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(l.size(), 300);
        assert!(!dir.path().join("tile/0/001").exists());
        assert!(dir.path().join("tile/0/001.p/44").exists());
        LedgerReader::open(dir.path()).unwrap().verify().unwrap();
    }

    #[test]
    fn journaled_entries_are_published_on_open_after_a_crash() {
        use crate::journal::{segments, JournalWriter};
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        l.append_batch(&entries(300, 1)).unwrap();
        // Acknowledged from the journal; the first batch also got published before the
        // "crash", the others did not.
        let mut j = JournalWriter::create(dir.path(), 300, true).unwrap();
        let b1 = entries(5, 2);
        let b2 = entries(260, 3);
        assert_eq!(j.append(&b1).unwrap(), 300);
        assert_eq!(j.append(&b2).unwrap(), 305);
        l.append_batch(&b1).unwrap();
        drop(j);
        drop(l);
        assert_eq!(
            LedgerReader::open(dir.path())
                .unwrap()
                .verify()
                .unwrap()
                .size,
            305
        );
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(l.size(), 565);
        assert!(
            segments(dir.path()).unwrap().is_empty(),
            "journal not pruned"
        );
        let r = LedgerReader::open(dir.path()).unwrap();
        assert_eq!(r.verify().unwrap().size, 565);
        let mut model = MemoryTree::new();
        for e in entries(300, 1).iter().chain(&b1).chain(&b2) {
            model.append(e);
        }
        assert_eq!(l.root(), model.root());
        assert_eq!(r.entry(564).unwrap(), b2[259]);
    }

    #[test]
    fn a_journal_that_contradicts_the_published_entries_is_refused() {
        use crate::journal::JournalWriter;
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        l.append_batch(&entries(10, 1)).unwrap();
        let mut j = JournalWriter::create(dir.path(), 8, false).unwrap();
        j.append(&entries(4, 9)).unwrap();
        drop(l);
        assert!(matches!(Ledger::open(dir.path()), Err(Error::Corrupt(_))));
        // A journal that starts beyond the signed size lost acknowledged entries.
        let dir = tempfile::tempdir().unwrap();
        drop(Ledger::init(dir.path(), "example.com/test").unwrap());
        let mut j = JournalWriter::create(dir.path(), 3, false).unwrap();
        j.append(&entries(1, 1)).unwrap();
        assert!(matches!(Ledger::open(dir.path()), Err(Error::Corrupt(_))));
    }

    /// The committer's life, single-threaded: journal appends (acknowledged), publications
    /// of everything journaled, crashes (with or without a torn record written in place
    /// over the preallocated zeros or a recycled segment's old records, or a half-prepared
    /// spare segment) and reopens, with small segments so that batches roll over into the
    /// spare, published segments are recycled (or batches are larger than a segment). The
    /// log always ends up holding exactly the acknowledged entries, in order, with the root
    /// of a naive in-memory tree.
    fn check_journal_recovery(
        ops: Vec<(usize, bool, u8)>,
        seg: u64,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use crate::journal::{segments, JournalWriter, JOURNAL_DIR, RECYCLED, SPARE};
        use std::os::unix::fs::FileExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/prop").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let mut j = JournalWriter::with_segment_bytes(dir.path(), 0, false, seg).unwrap();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut published = 0usize;
        for (i, (n, publish, crash)) in ops.into_iter().enumerate() {
            let batch = entries(n, i as u8);
            proptest::prop_assert_eq!(j.append(&batch).unwrap(), model.len() as u64);
            model.extend(batch);
            if publish {
                l.append_batch(&model[published..]).unwrap();
                published = model.len();
                crate::journal::prune(dir.path(), published as u64, false).unwrap();
            }
            if crash > 0 {
                let (last, at) = (j.position().0.to_owned(), j.position().1);
                drop(j);
                drop(l);
                if crash == 2 {
                    // A torn record where the next one would go: never acknowledged.
                    let f = fs::OpenOptions::new().write(true).open(last).unwrap();
                    f.write_all_at(b"PGJ1\0\0\0\0\0\0\0\x07partial", at)
                        .unwrap();
                }
                if crash == 3 {
                    // Died while preparing the spare segment.
                    fs::write(dir.path().join(JOURNAL_DIR).join(SPARE), b"\0\0PGJ1").unwrap();
                }
                l = Ledger::open(dir.path()).unwrap();
                l.set_sync_mode(SyncMode::DangerousNone);
                proptest::prop_assert_eq!(l.size(), model.len() as u64);
                // Recovery published everything and removed the journal, spare included.
                proptest::prop_assert!(segments(dir.path()).unwrap().is_empty());
                proptest::prop_assert!(!dir.path().join(JOURNAL_DIR).join(SPARE).exists());
                proptest::prop_assert!(!dir.path().join(JOURNAL_DIR).join(RECYCLED).exists());
                published = model.len();
                j = JournalWriter::with_segment_bytes(dir.path(), l.size(), false, seg).unwrap();
            }
        }
        drop(j);
        drop(l);
        let l = Ledger::open(dir.path()).unwrap();
        let mut tree = MemoryTree::new();
        for e in &model {
            tree.append(e);
        }
        proptest::prop_assert_eq!(l.size(), model.len() as u64);
        proptest::prop_assert_eq!(l.root(), tree.root());
        let r = LedgerReader::open(dir.path()).unwrap();
        proptest::prop_assert_eq!(r.verify().unwrap().size, model.len() as u64);
        for i in [0, model.len() / 2, model.len() - 1] {
            proptest::prop_assert_eq!(&r.entry(i as u64).unwrap(), &model[i]);
        }
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Batches from one entry to more than a segment holds.
        #[test]
        fn journal_recovery_matches_a_naive_model(
            ops in proptest::collection::vec((1usize..300, proptest::bool::ANY, 0u8..4), 1..10),
            seg in 256u64..8192,
        ) {
            check_journal_recovery(ops, seg)?;
        }

        /// Many small batches: segments fill, are published, recycled and reused as spares,
        /// and records are torn over a recycled segment's old records.
        #[test]
        fn journal_recovery_with_recycled_segments_matches_a_naive_model(
            ops in proptest::collection::vec((1usize..6, proptest::bool::weighted(0.7), proptest::prop_oneof![8 => proptest::strategy::Just(0u8), 1 => 1u8..4]), 20..120),
            seg in 512u64..2048,
        ) {
            check_journal_recovery(ops, seg)?;
        }
    }

    #[test]
    fn a_rewritten_history_is_never_signed() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/test").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        l.append_batch(&entries(5, 1)).unwrap();
        drop(l);
        // Someone rewrites the signed state to claim a different root for size 5.
        fs::write(
            dir.path().join(SIGNED_STATE),
            signed_state_text(5, &[7u8; 32]),
        )
        .unwrap();
        assert!(Ledger::open(dir.path()).is_err());
    }
}
