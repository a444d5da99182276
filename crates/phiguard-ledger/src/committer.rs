//! Group commit: many producers hand entries to one writer thread, which gathers them into
//! a batch (up to `max_entries`, waiting at most `max_wait` after the first one) and makes the
//! batch durable before it acknowledges each producer with its index.
//!
//! With [`CommitPolicy::journal`] (the default) a batch is durable once it is in the
//! write-ahead [`crate::journal`] (one record, one `fdatasync`); a second thread, the
//! publisher, then adds the acknowledged entries to the Merkle tiles (syncing them one file at
//! a time, so that the journal's syncs never queue behind a burst), persists `signed-state`
//! and signs the checkpoint, at most every `publish_interval` (so tiles and checkpoints lag
//! the acknowledgements a little; [`Appender::flush`] waits until they caught up). If the
//! process dies in between, [`Ledger::open`] replays the journal: no acknowledged entry is
//! lost, and every signature is still made only after `signed-state` (see [`crate::log`]).
//! Without the journal, each batch is written to the tiles, synced and signed before the
//! acknowledgement.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::journal::{self, JournalWriter};
use crate::log::{Ledger, SyncMode};

/// Longest pause between two requests for the writer to keep gathering a batch.
const LINGER_GAP: Duration = Duration::from_millis(1);

enum Reply {
    Blocking(mpsc::SyncSender<Result<u64>>),
    Async(tokio::sync::oneshot::Sender<Result<u64>>),
    /// Already answered.
    Dropped,
}

impl Reply {
    fn send(self, r: Result<u64>) {
        // A producer that gave up waiting is not an error of the writer.
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.send(r);
            }
            Reply::Async(tx) => {
                let _ = tx.send(r);
            }
            Reply::Dropped => {}
        }
    }
}

/// One producer's entries and where to send its first index.
type Append = (Vec<Vec<u8>>, Reply);

enum Request {
    /// Entries to append; answered with the index of the first.
    Append(Vec<Vec<u8>>, Reply),
    /// Answered with the published (signed) size once every earlier append is published.
    Flush(Reply),
}

/// Settings of the group committer.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    /// Largest batch, in entries.
    pub max_entries: usize,
    /// Longest time the first entry of a batch waits for more to arrive (the writer stops
    /// waiting earlier as soon as no request arrived for 1 ms).
    pub max_wait: Duration,
    /// When set, after a commit the writer asks the configured witnesses to cosign the new
    /// checkpoint if the last attempt is older than this (acknowledgements are sent first).
    pub cosign_interval: Option<Duration>,
    /// Acknowledge batches once they are in the write-ahead journal and publish tiles and
    /// checkpoints asynchronously (default); `false` publishes before acknowledging.
    pub journal: bool,
    /// With the journal: shortest time between two publications of tiles and checkpoint.
    pub publish_interval: Duration,
    /// With the journal: acknowledged entries that may wait for publication before new
    /// appends are refused (back-pressure when the publisher falls behind or keeps failing).
    pub max_unpublished: u64,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_wait: Duration::from_millis(5),
            cosign_interval: None,
            journal: true,
            publish_interval: Duration::from_millis(200),
            max_unpublished: 200_000,
        }
    }
}

/// A handle to the writer thread; clone it for each producer.
#[derive(Debug, Clone)]
pub struct Appender {
    tx: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Append(e, _) => write!(f, "Append({} entries)", e.len()),
            Request::Flush(_) => f.write_str("Flush"),
        }
    }
}

/// Owns the writer thread; dropping every [`Appender`] and calling [`GroupCommitter::join`]
/// stops it (after publishing everything acknowledged).
#[derive(Debug)]
pub struct GroupCommitter {
    handle: thread::JoinHandle<Option<Ledger>>,
}

/// Gathers one batch: the first request, then whatever is queued or arrives within the
/// linger gap, up to `max_entries` or `max_wait`. A flush ends the batch (it is answered
/// after the batch, in order).
/// Acknowledged entries handed to the publisher at once at most (bounds the journal thread's
/// buffer between publish intervals).
const OUTBOX_MAX: usize = 8192;

fn gather(
    rx: &mpsc::Receiver<Request>,
    first: Request,
    policy: &CommitPolicy,
) -> (Vec<Append>, Option<Reply>) {
    let mut reqs = Vec::new();
    let first = match first {
        Request::Flush(r) => return (reqs, Some(r)),
        Request::Append(e, r) => (e, r),
    };
    let deadline = Instant::now() + policy.max_wait;
    let mut count = first.0.len();
    reqs.push(first);
    // Take everything already queued, then linger while requests keep arriving (each within
    // LINGER_GAP), never beyond max_wait: an idle writer commits at once, a busy one gathers
    // large batches.
    while count < policy.max_entries {
        let r = match rx.try_recv() {
            Ok(r) => r,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left.min(LINGER_GAP)) {
                    Ok(r) => r,
                    Err(_) => break,
                }
            }
        };
        match r {
            Request::Flush(f) => return (reqs, Some(f)),
            Request::Append(e, r) => {
                count += e.len();
                reqs.push((e, r));
            }
        }
    }
    (reqs, None)
}

fn maybe_cosign(ledger: &mut Ledger, policy: &CommitPolicy, last: &mut Option<Instant>) {
    if let Some(every) = policy.cosign_interval {
        let due = last.is_none_or(|t| t.elapsed() >= every);
        if due && !ledger.config().witnesses.is_empty() {
            // Failures only mean fewer cosignatures on this checkpoint.
            let _ = ledger.collect_cosignatures();
            *last = Some(Instant::now());
        }
    }
}

/// Without the journal: each batch is published (tiles, sync, signed checkpoint) before it
/// is acknowledged.
fn run_direct(mut ledger: Ledger, policy: CommitPolicy, rx: mpsc::Receiver<Request>) -> Ledger {
    let mut last_cosign: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        let (reqs, flush) = gather(&rx, first, &policy);
        if !reqs.is_empty() {
            let batch: Vec<&[u8]> = reqs
                .iter()
                .flat_map(|(e, _)| e.iter().map(Vec::as_slice))
                .collect();
            match ledger.append_batch(&batch) {
                Ok(mut next) => {
                    for (e, r) in reqs {
                        let n = e.len() as u64;
                        r.send(Ok(next));
                        next += n;
                    }
                    maybe_cosign(&mut ledger, &policy, &mut last_cosign);
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (_, r) in reqs {
                        r.send(Err(Error::BatchFailed(msg.clone())));
                    }
                }
            }
        }
        if let Some(f) = flush {
            f.send(Ok(ledger.size()));
        }
    }
    ledger
}

enum Publish {
    /// Acknowledged entries, consecutive after everything sent before.
    Entries(Vec<Vec<u8>>),
    Flush(Reply),
}

/// The publisher thread: adds journaled entries to the tiles and signs checkpoints.
fn run_publisher(
    mut ledger: Ledger,
    policy: CommitPolicy,
    rx: mpsc::Receiver<Publish>,
    published: Arc<AtomicU64>,
) -> Ledger {
    let mut pending: Vec<Vec<u8>> = Vec::new();
    // Index of pending[0].
    let mut pending_first = ledger.size();
    let mut flushes: Vec<Reply> = Vec::new();
    let mut last_publish: Option<Instant> = None;
    let mut last_cosign: Option<Instant> = None;
    let mut open = true;
    let take = |m: Publish, pending: &mut Vec<Vec<u8>>, flushes: &mut Vec<Reply>| match m {
        Publish::Entries(e) => pending.extend(e),
        Publish::Flush(r) => flushes.push(r),
    };
    while open || !pending.is_empty() || !flushes.is_empty() {
        let wait = last_publish
            .map(|t| policy.publish_interval.saturating_sub(t.elapsed()))
            .unwrap_or(Duration::ZERO);
        let due = flushes.len() + pending.len() > 0 && (wait.is_zero() || !flushes.is_empty());
        if open && !due {
            let m = if pending.is_empty() {
                rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            } else {
                rx.recv_timeout(wait)
            };
            match m {
                Ok(m) => take(m, &mut pending, &mut flushes),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
            }
            continue;
        }
        // Publish everything queued so far in one commit.
        while let Ok(m) = rx.try_recv() {
            take(m, &mut pending, &mut flushes);
        }
        // A failed commit may have got past signed-state: those entries are published.
        let done = usize::try_from(ledger.size().saturating_sub(pending_first))
            .unwrap_or(usize::MAX)
            .min(pending.len());
        pending.drain(..done);
        pending_first += done as u64;
        let r = ledger.append_batch(&pending);
        last_publish = Some(Instant::now());
        match r {
            Ok(_) => {
                pending_first += pending.len() as u64;
                pending.clear();
                published.store(ledger.size(), Ordering::Release);
                // Segments fully below the signed size are no longer needed; a failure
                // only keeps them (replay skips published entries).
                let _ = journal::prune(ledger.dir(), ledger.size(), false);
                for f in flushes.drain(..) {
                    f.send(Ok(ledger.size()));
                }
                maybe_cosign(&mut ledger, &policy, &mut last_cosign);
            }
            Err(e) => {
                let msg = e.to_string();
                for f in flushes.drain(..) {
                    f.send(Err(Error::BatchFailed(msg.clone())));
                }
                if !open {
                    // Shutting down: the journal keeps the entries for the next open.
                    break;
                }
            }
        }
    }
    ledger
}

/// How the publisher makes its files durable when the ledger was opened with `mode`.
///
/// Measured (`phiguard gateway bench --only latency`, 2,000 appends/s, 1 s publish interval,
/// six alternated pairs of 5 s runs, 2026-11-23 06:45 UTC): appends slower than 1 ms within
/// 100 ms of a publication, per run, 37-103 (median 63) with parallel syncs, 8-54 (median 27)
/// syncing one file at a time.
fn publisher_sync_mode(mode: SyncMode) -> SyncMode {
    match mode {
        SyncMode::Auto => SyncMode::PerFile,
        other => other,
    }
}

/// With the journal: acknowledge after one journal record and `fdatasync`, publish later.
fn run_journaled(
    ledger: Ledger,
    policy: CommitPolicy,
    rx: mpsc::Receiver<Request>,
) -> Option<Ledger> {
    let sync = ledger.sync_mode() != SyncMode::DangerousNone;
    let dir = ledger.dir().to_owned();
    let start = ledger.size();
    let published = Arc::new(AtomicU64::new(start));
    // Once the journal failed, nothing more is acknowledged (a partial record may sit at its
    // end; recovery on the next open cuts it off).
    let mut broken: Option<String> = None;
    let mut journal = match JournalWriter::create(&dir, start, sync) {
        Ok(j) => Some(j),
        Err(e) => {
            broken = Some(format!("cannot start the journal: {e}"));
            None
        }
    };
    let (ptx, prx) = mpsc::channel::<Publish>();
    let pub_state = published.clone();
    let interval = policy.publish_interval;
    // Nobody waits for a publication, while every producer waits for the journal's next
    // `fdatasync`: the publisher syncs its files one after the other instead of from up to 16
    // threads at once (`SyncMode::Auto`), so the journal's sync queues behind at most one of
    // them, not a burst. Same durability; the caller's mode is restored when it stops.
    let mode = ledger.sync_mode();
    let mut ledger = ledger;
    ledger.set_sync_mode(publisher_sync_mode(mode));
    let publisher = thread::spawn(move || run_publisher(ledger, policy, prx, pub_state));
    // Acknowledged entries are handed to the publisher once per publish interval (or at a
    // flush, or when many are waiting), not after every group commit: the publisher only
    // publishes once per interval anyway, and waking it for every batch costs a context
    // switch per batch on the request path's cores.
    let mut outbox: Vec<Vec<u8>> = Vec::new();
    let mut last_handoff = Instant::now();
    let hand_off = |outbox: &mut Vec<Vec<u8>>, broken: &mut Option<String>| {
        if !outbox.is_empty() && ptx.send(Publish::Entries(std::mem::take(outbox))).is_err() {
            *broken = Some("the ledger publisher stopped".into());
        }
    };
    loop {
        let first = if outbox.is_empty() {
            match rx.recv() {
                Ok(r) => r,
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(interval.saturating_sub(last_handoff.elapsed())) {
                Ok(r) => r,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    hand_off(&mut outbox, &mut broken);
                    last_handoff = Instant::now();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        };
        let (mut reqs, flush) = gather(&rx, first, &policy);
        // An oversized entry fails its own request only.
        reqs.retain_mut(|(e, r)| {
            let bad = e
                .iter()
                .enumerate()
                .find(|(_, x)| x.len() > crate::tile::MAX_ENTRY_LEN);
            match bad {
                Some((index, x)) => {
                    let err = Error::EntryTooLarge {
                        index: index as u64,
                        len: x.len(),
                    };
                    let reply = std::mem::replace(r, Reply::Dropped);
                    reply.send(Err(err));
                    false
                }
                None => true,
            }
        });
        if !reqs.is_empty() {
            let refuse = match &broken {
                Some(b) => Some(b.clone()),
                None => {
                    let next = journal.as_ref().map_or(start, JournalWriter::next);
                    let unpublished = next.saturating_sub(published.load(Ordering::Acquire));
                    (unpublished >= policy.max_unpublished).then(|| {
                        format!(
                            "{unpublished} acknowledged entries still wait for publication; refusing more"
                        )
                    })
                }
            };
            let outcome = match (refuse, journal.as_mut()) {
                (Some(msg), _) => Err(msg),
                (None, None) => Err("the journal is not open".to_string()),
                (None, Some(j)) => {
                    let batch: Vec<&[u8]> = reqs
                        .iter()
                        .flat_map(|(e, _)| e.iter().map(Vec::as_slice))
                        .collect();
                    j.append(&batch).map_err(|e| {
                        let m = format!("journal write failed: {e}");
                        broken = Some(m.clone());
                        m
                    })
                }
            };
            match outcome {
                Ok(mut next) => {
                    let mut entries = Vec::with_capacity(reqs.iter().map(|(e, _)| e.len()).sum());
                    for (e, r) in reqs {
                        r.send(Ok(next));
                        next += e.len() as u64;
                        entries.extend(e);
                    }
                    crate::log::crash_point("journal-acked");
                    outbox.extend(entries);
                }
                Err(msg) => {
                    for (_, r) in reqs {
                        r.send(Err(Error::BatchFailed(msg.clone())));
                    }
                }
            }
        }
        if flush.is_some() || outbox.len() >= OUTBOX_MAX || last_handoff.elapsed() >= interval {
            hand_off(&mut outbox, &mut broken);
            last_handoff = Instant::now();
        }
        if let Some(f) = flush {
            if let Err(mpsc::SendError(Publish::Flush(f))) = ptx.send(Publish::Flush(f)) {
                f.send(Err(Error::WriterStopped));
            }
        }
    }
    hand_off(&mut outbox, &mut broken);
    drop(ptx);
    let mut ledger = publisher.join().ok()?;
    ledger.set_sync_mode(mode);
    if journal.is_some_and(|j| j.next() == ledger.size()) {
        // Everything acknowledged is published: the journal is no longer needed.
        let _ = journal::prune(&dir, ledger.size(), true);
    }
    Some(ledger)
}

impl GroupCommitter {
    /// Starts the writer thread (and, with the journal, the publisher thread) over an open
    /// ledger.
    pub fn start(ledger: Ledger, policy: CommitPolicy) -> (Self, Appender) {
        let (tx, rx) = mpsc::channel::<Request>();
        let handle = thread::spawn(move || {
            if policy.journal {
                run_journaled(ledger, policy, rx)
            } else {
                Some(run_direct(ledger, policy, rx))
            }
        });
        (Self { handle }, Appender { tx })
    }

    /// Waits for the writer to finish (after all appenders are dropped; everything
    /// acknowledged is published first) and returns the ledger.
    pub fn join(self) -> Result<Ledger> {
        self.handle
            .join()
            .ok()
            .flatten()
            .ok_or(Error::WriterStopped)
    }
}

impl Appender {
    fn send(&self, r: Request) -> Result<()> {
        self.tx.send(r).map_err(|_| Error::WriterStopped)
    }

    /// Appends entries; returns the index of the first once they are durable (in the
    /// journal, or published when the journal is off).
    pub fn append_many(&self, entries: Vec<Vec<u8>>) -> Result<u64> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.send(Request::Append(entries, Reply::Blocking(reply)))?;
        rx.recv().map_err(|_| Error::WriterStopped)?
    }

    /// Like [`Appender::append_many`], for async callers (an HTTP handler): awaits the
    /// acknowledgement without blocking a runtime thread.
    pub async fn append_many_async(&self, entries: Vec<Vec<u8>>) -> Result<u64> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(Request::Append(entries, Reply::Async(reply)))?;
        rx.await.map_err(|_| Error::WriterStopped)?
    }

    /// Appends one entry; returns its index once it is durable.
    pub fn append(&self, entry: Vec<u8>) -> Result<u64> {
        self.append_many(vec![entry])
    }

    /// Waits until every entry acknowledged before this call is in the tiles under a signed
    /// checkpoint; returns the signed size.
    pub fn flush(&self) -> Result<u64> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.send(Request::Flush(Reply::Blocking(reply)))?;
        rx.recv().map_err(|_| Error::WriterStopped)?
    }

    /// Like [`Appender::flush`], for async callers.
    pub async fn flush_async(&self) -> Result<u64> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(Request::Flush(Reply::Async(reply)))?;
        rx.await.map_err(|_| Error::WriterStopped)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{LedgerReader, SyncMode};

    #[test]
    fn concurrent_producers_get_distinct_durable_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/gc").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let (gc, app) = GroupCommitter::start(l, CommitPolicy::default());
        let mut threads = Vec::new();
        for t in 0..4u8 {
            let app = app.clone();
            threads.push(thread::spawn(move || {
                (0..50u8)
                    .map(|i| (app.append(vec![t, i]).unwrap(), vec![t, i]))
                    .collect::<Vec<_>>()
            }));
        }
        drop(app);
        let mut got: Vec<(u64, Vec<u8>)> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let l = gc.join().unwrap();
        assert_eq!(l.size(), 200);
        got.sort();
        let r = LedgerReader::open(dir.path()).unwrap();
        for (i, (idx, e)) in got.iter().enumerate() {
            assert_eq!(*idx, i as u64);
            assert_eq!(&r.entry(*idx).unwrap(), e);
        }
        r.verify().unwrap();
    }

    #[test]
    fn the_publisher_syncs_one_file_at_a_time_and_hands_back_the_callers_mode() {
        assert_eq!(publisher_sync_mode(SyncMode::Auto), SyncMode::PerFile);
        for m in [SyncMode::PerFile, SyncMode::Syncfs, SyncMode::DangerousNone] {
            assert_eq!(publisher_sync_mode(m), m);
        }
        // A real, synced journaled commit: published, verifiable, and the ledger comes back
        // in the mode it was opened with.
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::init(dir.path(), "example.com/gc").unwrap();
        assert_eq!(l.sync_mode(), SyncMode::Auto);
        let (gc, app) = GroupCommitter::start(l, CommitPolicy::default());
        for i in 0..300u16 {
            app.append(i.to_be_bytes().to_vec()).unwrap();
        }
        assert_eq!(app.flush().unwrap(), 300);
        drop(app);
        let l = gc.join().unwrap();
        assert_eq!(l.sync_mode(), SyncMode::Auto);
        LedgerReader::open(dir.path()).unwrap().verify().unwrap();
    }

    #[test]
    fn the_writer_collects_cosignatures_after_commits() {
        use crate::witness::{witness_router, Witness};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/gc").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let wdir = tempfile::tempdir().unwrap();
        let w = Arc::new(
            Witness::open(wdir.path(), "w.example/1", vec![l.verifier().clone()]).unwrap(),
        );
        let wkey = w.verifier().encode();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, witness_router(w)).await });
        l.add_witness(&format!("http://{addr}"), &wkey).unwrap();
        let policy = CommitPolicy {
            cosign_interval: Some(Duration::ZERO),
            ..CommitPolicy::default()
        };
        let (gc, app) = GroupCommitter::start(l, policy);
        app.append(b"one".to_vec()).unwrap();
        app.append(b"two".to_vec()).unwrap();
        drop(app);
        let l = gc.join().unwrap();
        assert!(
            l.checkpoint().contains("\u{2014} w.example/1 "),
            "{}",
            l.checkpoint()
        );
        let rep = LedgerReader::open(dir.path()).unwrap().verify().unwrap();
        assert_eq!(rep.cosigned_by, vec!["w.example/1".to_string()]);
        assert_eq!(rep.size, 2);
    }

    #[test]
    fn journaled_appends_are_published_lazily_and_on_flush() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::init(dir.path(), "example.com/gc").unwrap();
        let policy = CommitPolicy {
            publish_interval: Duration::from_secs(3600),
            ..CommitPolicy::default()
        };
        let (gc, app) = GroupCommitter::start(l, policy);
        // The first batch is published at once (nothing published yet); later ones wait.
        assert_eq!(app.append(b"a".to_vec()).unwrap(), 0);
        assert_eq!(app.flush().unwrap(), 1);
        assert_eq!(
            app.append_many(vec![b"b".to_vec(), b"c".to_vec()]).unwrap(),
            1
        );
        let seg = crate::journal::segments(dir.path()).unwrap();
        assert_eq!(seg.len(), 1, "one journal segment");
        assert!(std::fs::metadata(&seg[0].1).unwrap().len() > 0);
        let r = LedgerReader::open(dir.path()).unwrap();
        assert_eq!(
            r.checkpoint().unwrap().0.size,
            1,
            "published before the interval"
        );
        assert_eq!(app.flush().unwrap(), 3);
        assert_eq!(r.checkpoint().unwrap().0.size, 3);
        assert_eq!(r.entry(2).unwrap(), b"c");
        // An oversized entry fails its own request, not the others.
        assert!(matches!(
            app.append(vec![0u8; 70_000]),
            Err(Error::EntryTooLarge { .. })
        ));
        assert_eq!(app.append(b"d".to_vec()).unwrap(), 3);
        drop(app);
        let l = gc.join().unwrap();
        assert_eq!(l.size(), 4);
        assert!(crate::journal::segments(dir.path()).unwrap().is_empty());
        r.verify().unwrap();
    }

    #[test]
    fn appends_are_refused_when_publication_falls_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/gc").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let policy = CommitPolicy {
            publish_interval: Duration::from_secs(3600),
            max_unpublished: 3,
            ..CommitPolicy::default()
        };
        let (gc, app) = GroupCommitter::start(l, policy);
        app.append(b"0".to_vec()).unwrap();
        app.flush().unwrap();
        app.append_many(vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()])
            .unwrap();
        assert!(matches!(
            app.append(b"4".to_vec()),
            Err(Error::BatchFailed(_))
        ));
        app.flush().unwrap();
        assert_eq!(app.append(b"4".to_vec()).unwrap(), 4);
        drop(app);
        assert_eq!(gc.join().unwrap().size(), 5);
    }

    #[test]
    fn the_direct_mode_publishes_before_acknowledging() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/gc").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let policy = CommitPolicy {
            journal: false,
            ..CommitPolicy::default()
        };
        let (gc, app) = GroupCommitter::start(l, policy);
        app.append(b"a".to_vec()).unwrap();
        let r = LedgerReader::open(dir.path()).unwrap();
        assert_eq!(r.checkpoint().unwrap().0.size, 1);
        assert!(!dir.path().join("journal").exists());
        assert_eq!(app.flush().unwrap(), 1);
        drop(app);
        gc.join().unwrap();
    }

    #[tokio::test]
    async fn async_producers_are_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::init(dir.path(), "example.com/async").unwrap();
        l.set_sync_mode(SyncMode::DangerousNone);
        let (gc, app) = GroupCommitter::start(l, CommitPolicy::default());
        let a = app
            .append_many_async(vec![b"a".to_vec(), b"b".to_vec()])
            .await
            .unwrap();
        let c = app.append_many_async(vec![b"c".to_vec()]).await.unwrap();
        assert_eq!((a, c), (0, 2));
        drop(app);
        assert_eq!(gc.join().unwrap().size(), 3);
    }
}
