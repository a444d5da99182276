//! phiguard's tamper-evident audit ledger.
//!
//! An append-only RFC 6962 / RFC 9162 Merkle log of opaque entries, stored on disk as C2SP
//! [tlog-tiles](https://c2sp.org/tlog-tiles) so any tlog-tiles client can read and verify
//! it, with [tlog-checkpoint](https://c2sp.org/tlog-checkpoint) tree heads signed as
//! [signed notes](https://c2sp.org/signed-note) (Ed25519), cosigned by
//! [tlog-witness](https://c2sp.org/tlog-witness) witnesses, and offline-verifiable
//! [tlog-proof](https://c2sp.org/tlog-proof) inclusion proofs.
//!
//! # Design overview
//! * [`hash`], [`merkle`]: hashing with domain separation and the RFC 9162 proof algorithms,
//!   generic over a [`merkle::NodeSource`] so the same code runs over memory and tiles.
//! * [`tile`], [`note`], [`checkpoint`], [`proof`]: byte-exact C2SP formats; every parser
//!   is strict, bounded and fuzzed.
//! * [`log`]: the directory, batch commits (one parallel sync per batch, then signed-state, then the
//!   checkpoint), crash recovery and `verify`. [`committer`]: group commit for many producers,
//!   acknowledged after one `fdatasync` of the write-ahead [`journal`] and published
//!   (tiles, signed checkpoint) asynchronously; the journal is replayed on open.
//! * [`witness`]: the witness side of `add-checkpoint`; [`http`]: read-only tile serving.
//! * [`entry`]: the PHI-free entry schema phiguard writes (pseudonyms and commitments).

pub mod bench;
pub mod checkpoint;
pub mod committer;
pub mod entry;
pub mod error;
pub mod hash;
pub mod http;
pub mod journal;
pub mod log;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod tile;
pub mod witness;

pub use error::{Error, Result};
pub use log::{Ledger, LedgerReader, SyncMode};
