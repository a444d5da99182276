//! The crate's error type: every failure names what failed and where (file, line, index).

use std::path::PathBuf;

/// Errors of the ledger crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{op} `{path}`: {source}")]
    Io {
        /// What was being done (`read`, `write`, `fsync`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Text that should follow one of the C2SP formats does not.
    #[error("malformed {what}: {reason}")]
    Parse {
        /// Which format (`signed note`, `checkpoint`, `tlog-proof`, `tile path`, ...).
        what: &'static str,
        /// What is wrong, and where (line numbers are 1-based).
        reason: String,
    },
    /// An index beyond the tree.
    #[error("index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A proof was requested between sizes that do not make sense.
    #[error("invalid tree sizes: old size {old} is larger than new size {new}")]
    InvalidSizes {
        /// The older (smaller) size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// An inclusion or consistency proof did not verify.
    #[error("{kind} proof does not verify: {reason}")]
    ProofInvalid {
        /// `inclusion` or `consistency`.
        kind: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// An entry is larger than a tlog-tiles bundle can hold (65,535 bytes).
    #[error("entry {index} is {len} bytes, more than the 65535 bytes an entry bundle allows")]
    EntryTooLarge {
        /// Position of the entry (in the batch or input).
        index: u64,
        /// Its length.
        len: usize,
    },
    /// A signature from a known key did not verify, or no trusted key signed the note.
    #[error("signature check failed: {0}")]
    Signature(String),
    /// A key (signer or verifier) could not be parsed or used.
    #[error("bad key: {0}")]
    Key(String),
    /// Stored data does not match what the entry bundles imply.
    #[error("corrupt ledger: {0}")]
    Corrupt(String),
    /// Signing was refused because it would contradict an earlier signed checkpoint.
    #[error("refusing to sign: {0}")]
    Inconsistent(String),
    /// The ledger directory is not initialized or already initialized.
    #[error("{0}")]
    Setup(String),
    /// A witness interaction failed.
    #[error("witness `{witness}`: {reason}")]
    Witness {
        /// The witness name or URL.
        witness: String,
        /// What went wrong.
        reason: String,
    },
    /// A batch handed to the group committer was not committed (nothing acknowledged).
    #[error("batch not committed: {0}")]
    BatchFailed(String),
    /// The group committer stopped (its thread ended).
    #[error("the ledger writer has stopped")]
    WriterStopped,
}

impl Error {
    /// Builds a [`Error::Parse`].
    pub(crate) fn parse(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Parse {
            what,
            reason: reason.into(),
        }
    }

    /// Builds an [`Error::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
