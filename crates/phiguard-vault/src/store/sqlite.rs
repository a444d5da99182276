//! SQLite backend (rusqlite, bundled SQLite).
//!
//! Pragmas, and why:
//! - `journal_mode=WAL`: readers never block the writer; a crash rolls back only the
//!   uncommitted transaction.
//! - `synchronous=FULL`: a commit returns only after the WAL is fsynced, so an acknowledged
//!   `put` survives power loss. `NORMAL` would be crash-safe (no corruption) but may lose the
//!   last commits on power failure, which breaks "acknowledged writes survive".
//! - `secure_delete=ON`: deleted rows (erased patients' wrapped keys) are overwritten with
//!   zeros in their pages; after an erase the WAL is checkpointed and truncated so no old page
//!   copy survives in the WAL either.
//! - `temp_store=MEMORY`: sorts and temp tables never spill to temp files.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    DataKeyRow, ErasureRow, JobRow, KeyStats, PatientRow, RecordKey, RecordRow, SealFn, Storage,
};
use crate::error::VaultError;
use crate::token::PatientToken;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS patients (
    ptok BLOB PRIMARY KEY, current_dk INTEGER NOT NULL, min_dk INTEGER NOT NULL,
    created_at INTEGER NOT NULL, erased_at INTEGER);
CREATE TABLE IF NOT EXISTS data_keys (
    ptok BLOB NOT NULL, version INTEGER NOT NULL, kek_version INTEGER NOT NULL,
    wrapped BLOB NOT NULL, created_at INTEGER NOT NULL, invocations INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ptok, version));
CREATE INDEX IF NOT EXISTS data_keys_by_kek ON data_keys (kek_version);
CREATE TABLE IF NOT EXISTS records (
    ptok BLOB NOT NULL, rtype TEXT NOT NULL, rid TEXT NOT NULL, version INTEGER NOT NULL,
    dk_version INTEGER NOT NULL, envelope BLOB NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (ptok, rtype, rid, version));
CREATE TABLE IF NOT EXISTS identifiers (
    token BLOB NOT NULL, ptok BLOB NOT NULL, PRIMARY KEY (token, ptok));
CREATE TABLE IF NOT EXISTS erasures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ptok TEXT NOT NULL, erased_at INTEGER NOT NULL,
    keys_destroyed INTEGER NOT NULL, records INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, c_ptok BLOB, c_rtype TEXT, c_rid TEXT, c_version INTEGER,
    processed INTEGER NOT NULL, changed INTEGER NOT NULL, failed INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL, state TEXT NOT NULL);
"#;

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
}

type R<T> = Result<T, VaultError>;

fn e(err: rusqlite::Error) -> VaultError {
    VaultError::sqlite(err)
}

fn ptok(bytes: Vec<u8>) -> rusqlite::Result<PatientToken> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "patient token is not 32 bytes".into(),
        )
    })?;
    Ok(PatientToken(arr))
}

fn patient_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PatientRow> {
    Ok(PatientRow {
        patient: ptok(r.get(0)?)?,
        current_dk: r.get(1)?,
        min_dk: r.get(2)?,
        created_at: r.get(3)?,
        erased_at: r.get(4)?,
    })
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DataKeyRow> {
    Ok(DataKeyRow {
        patient: ptok(r.get(0)?)?,
        version: r.get(1)?,
        kek_version: r.get(2)?,
        wrapped: r.get(3)?,
        created_at: r.get(4)?,
        invocations: r.get::<_, i64>(5)? as u64,
    })
}

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        key: RecordKey {
            patient: ptok(r.get(0)?)?,
            resource_type: r.get(1)?,
            id: r.get(2)?,
            version: r.get::<_, i64>(3)? as u64,
        },
        dk_version: r.get(4)?,
        envelope: r.get(5)?,
        created_at: r.get(6)?,
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> R<Self> {
        let conn = Connection::open(path).map_err(e)?;
        Self::setup(conn)
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> R<Self> {
        Self::setup(Connection::open_in_memory().map_err(e)?)
    }

    fn setup(conn: Connection) -> R<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(e)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
        conn.pragma_update(None, "secure_delete", "ON").map_err(e)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(e)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(e)?;
        conn.execute_batch(SCHEMA).map_err(e)?;
        Ok(SqliteStore { conn })
    }

    /// The underlying connection (backup import).
    #[cfg(feature = "postgres")]
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Checkpoints the WAL into the database and truncates the WAL file to zero bytes.
    /// Returns an error if readers prevented a full checkpoint.
    pub fn checkpoint_truncate(&mut self) -> R<()> {
        let (busy, _log, _ckpt): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(e)?;
        if busy != 0 {
            return Err(VaultError::Storage {
                backend: "sqlite",
                message: "wal checkpoint blocked by another connection; old pages may remain in the wal until it completes".into(),
            });
        }
        Ok(())
    }
}

impl Storage for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn meta_get(&mut self, key: &str) -> R<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT v FROM meta WHERE k = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(e)
    }

    fn meta_put(&mut self, key: &str, value: &[u8]) -> R<()> {
        self.conn
            .execute(
                "INSERT INTO meta (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                params![key, value],
            )
            .map(|_| ())
            .map_err(e)
    }

    fn patient(&mut self, patient: &PatientToken) -> R<Option<PatientRow>> {
        self.conn
            .prepare_cached(
                "SELECT ptok, current_dk, min_dk, created_at, erased_at FROM patients WHERE ptok = ?1",
            )
            .and_then(|mut s| s.query_row([&patient.0[..]], patient_row).optional())
            .map_err(e)
    }

    fn patients(&mut self) -> R<Vec<PatientRow>> {
        let mut st = self
            .conn
            .prepare("SELECT ptok, current_dk, min_dk, created_at, erased_at FROM patients ORDER BY ptok")
            .map_err(e)?;
        let rows = st.query_map([], patient_row).map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn add_data_key(&mut self, key: &DataKeyRow) -> R<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let erased: Option<Option<i64>> = tx
            .query_row(
                "SELECT erased_at FROM patients WHERE ptok = ?1",
                [&key.patient.0[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(e)?;
        if let Some(Some(_)) = erased {
            return Err(VaultError::InvalidState(format!(
                "patient#{} is erased; no new keys",
                key.patient.short()
            )));
        }
        tx.execute(
            "INSERT INTO data_keys (ptok, version, kek_version, wrapped, created_at, invocations) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![&key.patient.0[..], key.version, key.kek_version, key.wrapped, key.created_at, key.invocations as i64],
        )
        .map_err(e)?;
        tx.execute(
            "INSERT INTO patients (ptok, current_dk, min_dk, created_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(ptok) DO UPDATE SET current_dk = excluded.current_dk",
            params![&key.patient.0[..], key.version, key.created_at],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    fn data_keys(&mut self, patient: &PatientToken) -> R<Vec<DataKeyRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT ptok, version, kek_version, wrapped, created_at, invocations FROM data_keys WHERE ptok = ?1 ORDER BY version")
            .map_err(e)?;
        let rows = st.query_map([&patient.0[..]], key_row).map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn data_keys_below_kek(&mut self, kek_version: u32, limit: usize) -> R<Vec<DataKeyRow>> {
        let mut st = self
            .conn
            .prepare("SELECT ptok, version, kek_version, wrapped, created_at, invocations FROM data_keys WHERE kek_version < ?1 ORDER BY ptok, version LIMIT ?2")
            .map_err(e)?;
        let rows = st
            .query_map(params![kek_version, limit as i64], key_row)
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn rewrap_data_keys(&mut self, batch: &[(PatientToken, u32, u32, Vec<u8>)]) -> R<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let mut n = 0u64;
        for (p, version, kek, wrapped) in batch {
            n += tx
                .execute(
                    "UPDATE data_keys SET kek_version = ?3, wrapped = ?4 WHERE ptok = ?1 AND version = ?2",
                    params![&p.0[..], version, kek, wrapped],
                )
                .map_err(e)? as u64;
        }
        tx.commit().map_err(e)?;
        Ok(n)
    }

    fn retire_data_keys(&mut self, patient: &PatientToken, min_dk: u32) -> R<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let n = tx
            .execute(
                "DELETE FROM data_keys WHERE ptok = ?1 AND version < ?2",
                params![&patient.0[..], min_dk],
            )
            .map_err(e)?;
        tx.execute(
            "UPDATE patients SET min_dk = MAX(min_dk, ?2) WHERE ptok = ?1",
            params![&patient.0[..], min_dk],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(n as u64)
    }

    fn append_record(
        &mut self,
        patient: &PatientToken,
        resource_type: &str,
        id: &str,
        dk_version: u32,
        seal: &mut SealFn<'_>,
    ) -> R<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let next: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(version), 0) + 1 FROM records WHERE ptok = ?1 AND rtype = ?2 AND rid = ?3")
            .and_then(|mut s| s.query_row(params![&patient.0[..], resource_type, id], |r| r.get(0)))
            .map_err(e)?;
        let env = seal(next as u64)?;
        let now = crate::vault::now();
        tx.prepare_cached("INSERT INTO records (ptok, rtype, rid, version, dk_version, envelope, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .and_then(|mut s| s.execute(params![&patient.0[..], resource_type, id, next, dk_version, env, now]))
            .map_err(e)?;
        let n = tx
            .prepare_cached("UPDATE data_keys SET invocations = invocations + 1 WHERE ptok = ?1 AND version = ?2")
            .and_then(|mut s| s.execute(params![&patient.0[..], dk_version]))
            .map_err(e)?;
        if n != 1 {
            return Err(VaultError::InvalidState(format!(
                "data key v{dk_version} of patient#{} vanished during write (erased?)",
                patient.short()
            )));
        }
        tx.commit().map_err(e)?;
        Ok(next as u64)
    }

    fn record(
        &mut self,
        patient: &PatientToken,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> R<Option<RecordRow>> {
        let cols = "ptok, rtype, rid, version, dk_version, envelope, created_at";
        match version {
            Some(v) => self
                .conn
                .prepare_cached(&format!("SELECT {cols} FROM records WHERE ptok = ?1 AND rtype = ?2 AND rid = ?3 AND version = ?4"))
                .and_then(|mut s| {
                    s.query_row(params![&patient.0[..], resource_type, id, v as i64], record_row)
                        .optional()
                }),
            None => self
                .conn
                .prepare_cached(&format!("SELECT {cols} FROM records WHERE ptok = ?1 AND rtype = ?2 AND rid = ?3 ORDER BY version DESC LIMIT 1"))
                .and_then(|mut s| {
                    s.query_row(params![&patient.0[..], resource_type, id], record_row)
                        .optional()
                }),
        }
        .map_err(e)
    }

    fn list_records(&mut self, patient: &PatientToken) -> R<Vec<(RecordKey, u32)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT ptok, rtype, rid, version, dk_version FROM records WHERE ptok = ?1 ORDER BY rtype, rid, version")
            .map_err(e)?;
        let rows = st
            .query_map([&patient.0[..]], |r| {
                Ok((
                    RecordKey {
                        patient: ptok(r.get(0)?)?,
                        resource_type: r.get(1)?,
                        id: r.get(2)?,
                        version: r.get::<_, i64>(3)? as u64,
                    },
                    r.get(4)?,
                ))
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn records_after(&mut self, cursor: Option<&RecordKey>, limit: usize) -> R<Vec<RecordRow>> {
        let cols = "ptok, rtype, rid, version, dk_version, envelope, created_at";
        let mut out = Vec::new();
        match cursor {
            None => {
                let mut st = self
                    .conn
                    .prepare(&format!(
                        "SELECT {cols} FROM records ORDER BY ptok, rtype, rid, version LIMIT ?1"
                    ))
                    .map_err(e)?;
                for r in st.query_map([limit as i64], record_row).map_err(e)? {
                    out.push(r.map_err(e)?);
                }
            }
            Some(c) => {
                let mut st = self
                    .conn
                    .prepare(&format!("SELECT {cols} FROM records WHERE (ptok, rtype, rid, version) > (?1, ?2, ?3, ?4) ORDER BY ptok, rtype, rid, version LIMIT ?5"))
                    .map_err(e)?;
                let rows = st
                    .query_map(
                        params![
                            &c.patient.0[..],
                            c.resource_type,
                            c.id,
                            c.version as i64,
                            limit as i64
                        ],
                        record_row,
                    )
                    .map_err(e)?;
                for r in rows {
                    out.push(r.map_err(e)?);
                }
            }
        }
        Ok(out)
    }

    fn replace_envelope(
        &mut self,
        key: &RecordKey,
        old_dk: u32,
        new_dk: u32,
        envelope: &[u8],
    ) -> R<bool> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let n = tx
            .execute(
                "UPDATE records SET envelope = ?6, dk_version = ?7 WHERE ptok = ?1 AND rtype = ?2 AND rid = ?3 AND version = ?4 AND dk_version = ?5",
                params![&key.patient.0[..], key.resource_type, key.id, key.version as i64, old_dk, envelope, new_dk],
            )
            .map_err(e)?;
        if n == 1 {
            tx.execute(
                "UPDATE data_keys SET invocations = invocations + 1 WHERE ptok = ?1 AND version = ?2",
                params![&key.patient.0[..], new_dk],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(n == 1)
    }

    fn add_identifiers(&mut self, patient: &PatientToken, tokens: &[[u8; 32]]) -> R<()> {
        let tx = self.conn.transaction().map_err(e)?;
        for t in tokens {
            tx.execute(
                "INSERT OR IGNORE INTO identifiers (token, ptok) VALUES (?1, ?2)",
                params![&t[..], &patient.0[..]],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    fn find_identifier(&mut self, token: &[u8; 32]) -> R<Vec<PatientToken>> {
        let mut st = self
            .conn
            .prepare("SELECT ptok FROM identifiers WHERE token = ?1 ORDER BY ptok")
            .map_err(e)?;
        let rows = st.query_map([&token[..]], |r| ptok(r.get(0)?)).map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn erase_patient(&mut self, patient: &PatientToken, at: i64) -> R<ErasureRow> {
        let p = &patient.0[..];
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let keys = tx
            .execute("DELETE FROM data_keys WHERE ptok = ?1", [p])
            .map_err(e)? as u64;
        tx.execute("DELETE FROM identifiers WHERE ptok = ?1", [p])
            .map_err(e)?;
        let records: i64 = tx
            .query_row("SELECT COUNT(*) FROM records WHERE ptok = ?1", [p], |r| {
                r.get(0)
            })
            .map_err(e)?;
        tx.execute(
            "INSERT INTO patients (ptok, current_dk, min_dk, created_at, erased_at) VALUES (?1, 0, 0, ?2, ?2)
             ON CONFLICT(ptok) DO UPDATE SET erased_at = excluded.erased_at",
            params![p, at],
        )
        .map_err(e)?;
        tx.execute(
            "INSERT INTO erasures (ptok, erased_at, keys_destroyed, records) VALUES (?1, ?2, ?3, ?4)",
            params![patient.to_hex(), at, keys as i64, records],
        )
        .map_err(e)?;
        let seq = tx.last_insert_rowid();
        tx.commit().map_err(e)?;
        self.checkpoint_truncate()?;
        Ok(ErasureRow {
            seq,
            patient: patient.to_hex(),
            erased_at: at,
            keys_destroyed: keys,
            records: records as u64,
        })
    }

    fn erasures(&mut self) -> R<Vec<ErasureRow>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT seq, ptok, erased_at, keys_destroyed, records FROM erasures ORDER BY seq",
            )
            .map_err(e)?;
        let rows = st
            .query_map([], |r| {
                Ok(ErasureRow {
                    seq: r.get(0)?,
                    patient: r.get(1)?,
                    erased_at: r.get(2)?,
                    keys_destroyed: r.get::<_, i64>(3)? as u64,
                    records: r.get::<_, i64>(4)? as u64,
                })
            })
            .map_err(e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(e)
    }

    fn job(&mut self, name: &str) -> R<Option<JobRow>> {
        self.conn
            .query_row(
                "SELECT name, c_ptok, c_rtype, c_rid, c_version, processed, changed, total, state, failed FROM jobs WHERE name = ?1",
                [name],
                |r| {
                    let cp: Option<Vec<u8>> = r.get(1)?;
                    let cursor = match cp {
                        Some(b) => Some(RecordKey {
                            patient: ptok(b)?,
                            resource_type: r.get(2)?,
                            id: r.get(3)?,
                            version: r.get::<_, i64>(4)? as u64,
                        }),
                        None => None,
                    };
                    Ok(JobRow {
                        name: r.get(0)?,
                        cursor,
                        processed: r.get::<_, i64>(5)? as u64,
                        changed: r.get::<_, i64>(6)? as u64,
                        total: r.get::<_, i64>(7)? as u64,
                        state: r.get(8)?,
                        failed: r.get::<_, i64>(9)? as u64,
                    })
                },
            )
            .optional()
            .map_err(e)
    }

    fn put_job(&mut self, job: &JobRow) -> R<()> {
        let c = job.cursor.as_ref();
        self.conn
            .execute(
                "INSERT INTO jobs (name, c_ptok, c_rtype, c_rid, c_version, processed, changed, total, state, failed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(name) DO UPDATE SET c_ptok = excluded.c_ptok, c_rtype = excluded.c_rtype,
                   c_rid = excluded.c_rid, c_version = excluded.c_version, processed = excluded.processed,
                   changed = excluded.changed, total = excluded.total, state = excluded.state,
                   failed = excluded.failed",
                params![
                    job.name,
                    c.map(|c| c.patient.0.to_vec()),
                    c.map(|c| c.resource_type.clone()),
                    c.map(|c| c.id.clone()),
                    c.map(|c| c.version as i64),
                    job.processed as i64,
                    job.changed as i64,
                    job.total as i64,
                    job.state,
                    job.failed as i64
                ],
            )
            .map(|_| ())
            .map_err(e)
    }

    fn key_stats(&mut self) -> R<KeyStats> {
        let c = &self.conn;
        let one = |sql: &str| -> R<i64> { c.query_row(sql, [], |r| r.get(0)).map_err(e) };
        let mut s = KeyStats {
            patients: one("SELECT COUNT(*) FROM patients")? as u64,
            erased: one("SELECT COUNT(*) FROM patients WHERE erased_at IS NOT NULL")? as u64,
            records: one("SELECT COUNT(*) FROM records")? as u64,
            data_keys: one("SELECT COUNT(*) FROM data_keys")? as u64,
            max_invocations: one("SELECT COALESCE(MAX(invocations), 0) FROM data_keys")? as u64,
            total_invocations: one("SELECT COALESCE(SUM(invocations), 0) FROM data_keys")? as u64,
            oldest_key_created_at: c
                .query_row("SELECT MIN(created_at) FROM data_keys", [], |r| r.get(0))
                .map_err(e)?,
            keys_by_kek: Vec::new(),
            records_on_old_keys: one("SELECT COUNT(*) FROM records r JOIN patients p ON p.ptok = r.ptok WHERE p.erased_at IS NULL AND r.dk_version < p.current_dk")? as u64,
        };
        let mut st = c
            .prepare("SELECT kek_version, COUNT(*) FROM data_keys GROUP BY kek_version ORDER BY kek_version")
            .map_err(e)?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(e)?;
        s.keys_by_kek = rows.collect::<Result<Vec<_>, _>>().map_err(e)?;
        Ok(s)
    }

    fn backup_to(&mut self, path: &Path) -> R<()> {
        let p = path.to_str().ok_or_else(|| {
            VaultError::InvalidState(format!(
                "backup path `{}` is not valid utf-8",
                path.display()
            ))
        })?;
        self.conn.execute("VACUUM INTO ?1", [p]).map_err(e)?;
        Ok(())
    }
}
