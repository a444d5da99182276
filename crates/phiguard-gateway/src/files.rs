//! Private files (keys): created 0600, refused when group or other can read them.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::error::SetupError;

/// Writes a new private file (mode 0600, fails if it exists).
///
/// # Errors
/// I/O errors.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SetupError> {
    let io = |source| SetupError::Io {
        what: "key file",
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(io)
}

/// Refuses a key file readable by group or other.
///
/// # Errors
/// [`SetupError::Invalid`] naming the file when its mode is too open.
pub fn check_private(path: &Path) -> Result<(), SetupError> {
    let m = std::fs::metadata(path).map_err(|source| SetupError::Io {
        what: "key file",
        path: path.to_owned(),
        source,
    })?;
    if m.permissions().mode() & 0o077 != 0 {
        return Err(SetupError::Invalid {
            what: "key file",
            path: path.to_owned(),
            reason: "readable by group or other; chmod 600 it".into(),
        });
    }
    Ok(())
}

/// Reads a private key file of `len` random bytes, creating it on first use.
///
/// # Errors
/// I/O, permission or length errors.
pub fn secret_bytes(path: &Path, len: usize) -> Result<Vec<u8>, SetupError> {
    if path.exists() {
        check_private(path)?;
        let b = std::fs::read(path).map_err(|source| SetupError::Io {
            what: "key file",
            path: path.to_owned(),
            source,
        })?;
        if b.len() != len {
            return Err(SetupError::Invalid {
                what: "key file",
                path: path.to_owned(),
                reason: format!("expected {len} bytes, found {}", b.len()),
            });
        }
        Ok(b)
    } else {
        let mut b = vec![0u8; len];
        aws_lc_rs::rand::fill(&mut b)
            .map_err(|_| SetupError::Key("random generator failed".into()))?;
        write_private(path, &b)?;
        Ok(b)
    }
}
