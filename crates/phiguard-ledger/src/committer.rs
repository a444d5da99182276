//! Group commit: many producers hand entries to one writer thread, which gathers them into
//! a batch (up to `max_entries`, waiting at most `max_wait` after the first one), commits the
//! batch durably with one sync and one signed checkpoint, and only then acknowledges each
//! producer with its index.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::log::Ledger;

/// Longest pause between two requests for the writer to keep gathering a batch.
const LINGER_GAP: Duration = Duration::from_millis(1);

enum Reply {
    Blocking(mpsc::SyncSender<Result<u64>>),
    Async(tokio::sync::oneshot::Sender<Result<u64>>),
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
        }
    }
}

struct Request {
    entries: Vec<Vec<u8>>,
    reply: Reply,
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
}

impl Default for CommitPolicy {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_wait: Duration::from_millis(5),
            cosign_interval: None,
        }
    }
}

/// A handle to the writer thread; clone it for each producer.
#[derive(Debug, Clone)]
pub struct Appender {
    tx: mpsc::Sender<Request>,
}

/// Owns the writer thread; dropping every [`Appender`] and calling [`GroupCommitter::join`]
/// stops it.
#[derive(Debug)]
pub struct GroupCommitter {
    handle: thread::JoinHandle<Ledger>,
}

impl GroupCommitter {
    /// Starts the writer thread over an open ledger.
    pub fn start(mut ledger: Ledger, policy: CommitPolicy) -> (Self, Appender) {
        let (tx, rx) = mpsc::channel::<Request>();
        let handle = thread::spawn(move || {
            let mut last_cosign: Option<Instant> = None;
            while let Ok(first) = rx.recv() {
                let deadline = Instant::now() + policy.max_wait;
                let mut reqs = vec![first];
                let mut count = reqs[0].entries.len();
                // Take everything already queued, then linger while requests keep arriving
                // (each within LINGER_GAP), never beyond max_wait: an idle writer commits at
                // once, a busy one gathers large batches.
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
                    count += r.entries.len();
                    reqs.push(r);
                }
                let batch: Vec<&[u8]> = reqs
                    .iter()
                    .flat_map(|r| r.entries.iter().map(Vec::as_slice))
                    .collect();
                match ledger.append_batch(&batch) {
                    Ok(mut next) => {
                        for r in reqs {
                            let n = r.entries.len() as u64;
                            r.reply.send(Ok(next));
                            next += n;
                        }
                        if let Some(every) = policy.cosign_interval {
                            let due = last_cosign.is_none_or(|t| t.elapsed() >= every);
                            if due && !ledger.config().witnesses.is_empty() {
                                // Failures only mean fewer cosignatures on this checkpoint.
                                let _ = ledger.collect_cosignatures();
                                last_cosign = Some(Instant::now());
                            }
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for r in reqs {
                            r.reply.send(Err(Error::BatchFailed(msg.clone())));
                        }
                    }
                }
            }
            ledger
        });
        (Self { handle }, Appender { tx })
    }

    /// Waits for the writer to finish (after all appenders are dropped) and returns the ledger.
    pub fn join(self) -> Result<Ledger> {
        self.handle.join().map_err(|_| Error::WriterStopped)
    }
}

impl Appender {
    /// Appends entries; returns the index of the first once they are durable and signed.
    pub fn append_many(&self, entries: Vec<Vec<u8>>) -> Result<u64> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Request {
                entries,
                reply: Reply::Blocking(reply),
            })
            .map_err(|_| Error::WriterStopped)?;
        rx.recv().map_err(|_| Error::WriterStopped)?
    }

    /// Like [`Appender::append_many`], for async callers (an HTTP handler): awaits the
    /// acknowledgement without blocking a runtime thread.
    pub async fn append_many_async(&self, entries: Vec<Vec<u8>>) -> Result<u64> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Request {
                entries,
                reply: Reply::Async(reply),
            })
            .map_err(|_| Error::WriterStopped)?;
        rx.await.map_err(|_| Error::WriterStopped)?
    }

    /// Appends one entry; returns its index once it is durable and signed.
    pub fn append(&self, entry: Vec<u8>) -> Result<u64> {
        self.append_many(vec![entry])
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
