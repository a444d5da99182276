//! PostgreSQL backend (the synchronous `postgres` crate).
//!
//! Why the sync client: the vault API is synchronous (CLI, CPU-bound crypto, one SQLite
//! connection), so `postgres` avoids pulling a Tokio runtime into the library; async callers
//! run vault calls on a blocking pool, which they must do for Argon2 and SQLite anyway.
//!
//! All tables live in one schema (given at connect time) so tests can use a throwaway schema.
//! Text key columns use `COLLATE "C"` so ordering (and the re-encryption cursor) is bytewise,
//! exactly like SQLite. Appends lock the patient row (`FOR UPDATE`) so concurrent writers
//! get consecutive versions.
//!
//! Erasure: rows are deleted and the table vacuumed, but PostgreSQL keeps old tuple images in
//! WAL segments, replicas and PITR archives; those hold only *wrapped* keys, which become
//! useless once the KEK that wrapped them is retired (`vault rotate --kek --retire-kek`).

use std::path::Path;

use postgres::{Client, NoTls, Row};

use super::{
    DataKeyRow, ErasureRow, JobRow, KeyStats, PatientRow, RecordKey, RecordRow, SealFn, Storage,
};
use crate::error::VaultError;
use crate::token::PatientToken;

type R<T> = Result<T, VaultError>;

fn e(err: postgres::Error) -> VaultError {
    VaultError::Storage {
        backend: "postgres",
        message: err.to_string(),
    }
}

fn conv(what: &str) -> VaultError {
    VaultError::Storage {
        backend: "postgres",
        message: format!("unexpected value in column `{what}`"),
    }
}

fn ptok(row: &Row, i: usize) -> R<PatientToken> {
    let b: Vec<u8> = row.try_get(i).map_err(e)?;
    let arr: [u8; 32] = b.try_into().map_err(|_| conv("ptok"))?;
    Ok(PatientToken(arr))
}

fn u32c(row: &Row, i: usize) -> R<u32> {
    let v: i64 = row.try_get(i).map_err(e)?;
    u32::try_from(v).map_err(|_| conv("u32"))
}

fn u64c(row: &Row, i: usize) -> R<u64> {
    let v: i64 = row.try_get(i).map_err(e)?;
    u64::try_from(v).map_err(|_| conv("u64"))
}

fn schema_sql(schema: &str) -> String {
    format!(
        r#"
CREATE SCHEMA IF NOT EXISTS "{schema}";
SET search_path TO "{schema}";
CREATE TABLE IF NOT EXISTS meta (k TEXT COLLATE "C" PRIMARY KEY, v BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS patients (
    ptok BYTEA PRIMARY KEY, current_dk BIGINT NOT NULL, min_dk BIGINT NOT NULL,
    created_at BIGINT NOT NULL, erased_at BIGINT);
CREATE TABLE IF NOT EXISTS data_keys (
    ptok BYTEA NOT NULL, version BIGINT NOT NULL, kek_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL, created_at BIGINT NOT NULL, invocations BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (ptok, version));
CREATE INDEX IF NOT EXISTS data_keys_by_kek ON data_keys (kek_version);
CREATE TABLE IF NOT EXISTS records (
    ptok BYTEA NOT NULL, rtype TEXT COLLATE "C" NOT NULL, rid TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL, dk_version BIGINT NOT NULL, envelope BYTEA NOT NULL,
    created_at BIGINT NOT NULL, PRIMARY KEY (ptok, rtype, rid, version));
CREATE TABLE IF NOT EXISTS identifiers (
    token BYTEA NOT NULL, ptok BYTEA NOT NULL, PRIMARY KEY (token, ptok));
CREATE TABLE IF NOT EXISTS erasures (
    seq BIGSERIAL PRIMARY KEY, ptok TEXT NOT NULL, erased_at BIGINT NOT NULL,
    keys_destroyed BIGINT NOT NULL, records BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, c_ptok BYTEA, c_rtype TEXT COLLATE "C", c_rid TEXT COLLATE "C",
    c_version BIGINT, processed BIGINT NOT NULL, changed BIGINT NOT NULL,
    failed BIGINT NOT NULL DEFAULT 0, total BIGINT NOT NULL, state TEXT NOT NULL);
"#
    )
}

/// The PostgreSQL store.
pub struct PgStore {
    client: Client,
}

const REC_COLS: &str = "ptok, rtype, rid, version, dk_version, envelope, created_at";
const KEY_COLS: &str = "ptok, version, kek_version, wrapped, created_at, invocations";
const PAT_COLS: &str = "ptok, current_dk, min_dk, created_at, erased_at";

fn patient_row(r: &Row) -> R<PatientRow> {
    Ok(PatientRow {
        patient: ptok(r, 0)?,
        current_dk: u32c(r, 1)?,
        min_dk: u32c(r, 2)?,
        created_at: r.try_get(3).map_err(e)?,
        erased_at: r.try_get(4).map_err(e)?,
    })
}

fn key_row(r: &Row) -> R<DataKeyRow> {
    Ok(DataKeyRow {
        patient: ptok(r, 0)?,
        version: u32c(r, 1)?,
        kek_version: u32c(r, 2)?,
        wrapped: r.try_get(3).map_err(e)?,
        created_at: r.try_get(4).map_err(e)?,
        invocations: u64c(r, 5)?,
    })
}

fn record_row(r: &Row) -> R<RecordRow> {
    Ok(RecordRow {
        key: RecordKey {
            patient: ptok(r, 0)?,
            resource_type: r.try_get(1).map_err(e)?,
            id: r.try_get(2).map_err(e)?,
            version: u64c(r, 3)?,
        },
        dk_version: u32c(r, 4)?,
        envelope: r.try_get(5).map_err(e)?,
        created_at: r.try_get(6).map_err(e)?,
    })
}

impl PgStore {
    /// Connects and creates the tables in `schema` (an identifier of letters, digits, `_`).
    pub fn connect(url: &str, schema: &str) -> R<Self> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(VaultError::InvalidState(format!(
                "postgres schema name `{schema}` must be letters, digits and `_`"
            )));
        }
        let mut client = Client::connect(url, NoTls).map_err(e)?;
        client.batch_execute(&schema_sql(schema)).map_err(e)?;
        Ok(PgStore { client })
    }

    /// Drops a schema and everything in it (test cleanup).
    pub fn drop_schema(url: &str, schema: &str) -> R<()> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(VaultError::InvalidState("bad schema name".into()));
        }
        let mut client = Client::connect(url, NoTls).map_err(e)?;
        client
            .batch_execute(&format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#))
            .map_err(e)
    }
}

fn i(v: u32) -> i64 {
    i64::from(v)
}

fn i64u(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Storage for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn meta_get(&mut self, key: &str) -> R<Option<Vec<u8>>> {
        let row = self
            .client
            .query_opt("SELECT v FROM meta WHERE k = $1", &[&key])
            .map_err(e)?;
        row.map(|r| r.try_get(0).map_err(e)).transpose()
    }

    fn meta_put(&mut self, key: &str, value: &[u8]) -> R<()> {
        self.client
            .execute(
                "INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                &[&key, &value],
            )
            .map(|_| ())
            .map_err(e)
    }

    fn patient(&mut self, patient: &PatientToken) -> R<Option<PatientRow>> {
        let p: &[u8] = &patient.0;
        self.client
            .query_opt(
                &format!("SELECT {PAT_COLS} FROM patients WHERE ptok = $1"),
                &[&p],
            )
            .map_err(e)?
            .map(|r| patient_row(&r))
            .transpose()
    }

    fn patients(&mut self) -> R<Vec<PatientRow>> {
        self.client
            .query(
                &format!("SELECT {PAT_COLS} FROM patients ORDER BY ptok"),
                &[],
            )
            .map_err(e)?
            .iter()
            .map(patient_row)
            .collect()
    }

    fn add_data_key(&mut self, key: &DataKeyRow) -> R<()> {
        let p: &[u8] = &key.patient.0;
        let mut tx = self.client.transaction().map_err(e)?;
        let erased = tx
            .query_opt(
                "SELECT erased_at FROM patients WHERE ptok = $1 FOR UPDATE",
                &[&p],
            )
            .map_err(e)?;
        if let Some(r) = erased {
            let at: Option<i64> = r.try_get(0).map_err(e)?;
            if at.is_some() {
                return Err(VaultError::InvalidState(format!(
                    "patient#{} is erased; no new keys",
                    key.patient.short()
                )));
            }
        }
        tx.execute(
            "INSERT INTO data_keys (ptok, version, kek_version, wrapped, created_at, invocations) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&p, &i(key.version), &i(key.kek_version), &key.wrapped, &key.created_at, &i64u(key.invocations)],
        )
        .map_err(e)?;
        tx.execute(
            "INSERT INTO patients (ptok, current_dk, min_dk, created_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (ptok) DO UPDATE SET current_dk = EXCLUDED.current_dk",
            &[&p, &i(key.version), &key.created_at],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    fn data_keys(&mut self, patient: &PatientToken) -> R<Vec<DataKeyRow>> {
        let p: &[u8] = &patient.0;
        self.client
            .query(
                &format!("SELECT {KEY_COLS} FROM data_keys WHERE ptok = $1 ORDER BY version"),
                &[&p],
            )
            .map_err(e)?
            .iter()
            .map(key_row)
            .collect()
    }

    fn data_keys_below_kek(&mut self, kek_version: u32, limit: usize) -> R<Vec<DataKeyRow>> {
        self.client
            .query(
                &format!("SELECT {KEY_COLS} FROM data_keys WHERE kek_version < $1 ORDER BY ptok, version LIMIT $2"),
                &[&i(kek_version), &(limit as i64)],
            )
            .map_err(e)?
            .iter()
            .map(key_row)
            .collect()
    }

    fn rewrap_data_keys(&mut self, batch: &[(PatientToken, u32, u32, Vec<u8>)]) -> R<u64> {
        let mut tx = self.client.transaction().map_err(e)?;
        let mut n = 0;
        for (p, version, kek, wrapped) in batch {
            let pb: &[u8] = &p.0;
            n += tx
                .execute(
                    "UPDATE data_keys SET kek_version = $3, wrapped = $4 WHERE ptok = $1 AND version = $2",
                    &[&pb, &i(*version), &i(*kek), wrapped],
                )
                .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(n)
    }

    fn retire_data_keys(&mut self, patient: &PatientToken, min_dk: u32) -> R<u64> {
        let p: &[u8] = &patient.0;
        let mut tx = self.client.transaction().map_err(e)?;
        let n = tx
            .execute(
                "DELETE FROM data_keys WHERE ptok = $1 AND version < $2",
                &[&p, &i(min_dk)],
            )
            .map_err(e)?;
        tx.execute(
            "UPDATE patients SET min_dk = GREATEST(min_dk, $2) WHERE ptok = $1",
            &[&p, &i(min_dk)],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(n)
    }

    fn append_record(
        &mut self,
        patient: &PatientToken,
        resource_type: &str,
        id: &str,
        dk_version: u32,
        seal: &mut SealFn<'_>,
    ) -> R<u64> {
        let p: &[u8] = &patient.0;
        let mut tx = self.client.transaction().map_err(e)?;
        tx.execute("SELECT 1 FROM patients WHERE ptok = $1 FOR UPDATE", &[&p])
            .map_err(e)?;
        let row = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM records WHERE ptok = $1 AND rtype = $2 AND rid = $3",
                &[&p, &resource_type, &id],
            )
            .map_err(e)?;
        let next = u64c(&row, 0)?;
        let env = seal(next)?;
        let now = crate::vault::now();
        tx.execute(
            "INSERT INTO records (ptok, rtype, rid, version, dk_version, envelope, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&p, &resource_type, &id, &i64u(next), &i(dk_version), &env, &now],
        )
        .map_err(e)?;
        let n = tx
            .execute(
                "UPDATE data_keys SET invocations = invocations + 1 WHERE ptok = $1 AND version = $2",
                &[&p, &i(dk_version)],
            )
            .map_err(e)?;
        if n != 1 {
            return Err(VaultError::InvalidState(format!(
                "data key v{dk_version} of patient#{} vanished during write (erased?)",
                patient.short()
            )));
        }
        tx.commit().map_err(e)?;
        Ok(next)
    }

    fn record(
        &mut self,
        patient: &PatientToken,
        resource_type: &str,
        id: &str,
        version: Option<u64>,
    ) -> R<Option<RecordRow>> {
        let p: &[u8] = &patient.0;
        let row = match version {
            Some(v) => self.client.query_opt(
                &format!("SELECT {REC_COLS} FROM records WHERE ptok = $1 AND rtype = $2 AND rid = $3 AND version = $4"),
                &[&p, &resource_type, &id, &i64u(v)],
            ),
            None => self.client.query_opt(
                &format!("SELECT {REC_COLS} FROM records WHERE ptok = $1 AND rtype = $2 AND rid = $3 ORDER BY version DESC LIMIT 1"),
                &[&p, &resource_type, &id],
            ),
        }
        .map_err(e)?;
        row.map(|r| record_row(&r)).transpose()
    }

    fn list_records(&mut self, patient: &PatientToken) -> R<Vec<(RecordKey, u32)>> {
        let p: &[u8] = &patient.0;
        self.client
            .query(
                "SELECT ptok, rtype, rid, version, dk_version FROM records WHERE ptok = $1 ORDER BY rtype, rid, version",
                &[&p],
            )
            .map_err(e)?
            .iter()
            .map(|r| {
                Ok((
                    RecordKey {
                        patient: ptok(r, 0)?,
                        resource_type: r.try_get(1).map_err(e)?,
                        id: r.try_get(2).map_err(e)?,
                        version: u64c(r, 3)?,
                    },
                    u32c(r, 4)?,
                ))
            })
            .collect()
    }

    fn records_after(&mut self, cursor: Option<&RecordKey>, limit: usize) -> R<Vec<RecordRow>> {
        let rows = match cursor {
            None => self.client.query(
                &format!("SELECT {REC_COLS} FROM records ORDER BY ptok, rtype, rid, version LIMIT $1"),
                &[&(limit as i64)],
            ),
            Some(c) => {
                let p: &[u8] = &c.patient.0;
                self.client.query(
                    &format!("SELECT {REC_COLS} FROM records WHERE (ptok, rtype, rid, version) > ($1, $2, $3, $4) ORDER BY ptok, rtype, rid, version LIMIT $5"),
                    &[&p, &c.resource_type, &c.id, &i64u(c.version), &(limit as i64)],
                )
            }
        }
        .map_err(e)?;
        rows.iter().map(record_row).collect()
    }

    fn replace_envelope(
        &mut self,
        key: &RecordKey,
        old_dk: u32,
        new_dk: u32,
        envelope: &[u8],
    ) -> R<bool> {
        let p: &[u8] = &key.patient.0;
        let mut tx = self.client.transaction().map_err(e)?;
        let n = tx
            .execute(
                "UPDATE records SET envelope = $6, dk_version = $7 WHERE ptok = $1 AND rtype = $2 AND rid = $3 AND version = $4 AND dk_version = $5",
                &[&p, &key.resource_type, &key.id, &i64u(key.version), &i(old_dk), &envelope, &i(new_dk)],
            )
            .map_err(e)?;
        if n == 1 {
            tx.execute(
                "UPDATE data_keys SET invocations = invocations + 1 WHERE ptok = $1 AND version = $2",
                &[&p, &i(new_dk)],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(n == 1)
    }

    fn add_identifiers(&mut self, patient: &PatientToken, tokens: &[[u8; 32]]) -> R<()> {
        let p: &[u8] = &patient.0;
        let mut tx = self.client.transaction().map_err(e)?;
        for t in tokens {
            let tb: &[u8] = t;
            tx.execute(
                "INSERT INTO identifiers (token, ptok) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&tb, &p],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    fn find_identifier(&mut self, token: &[u8; 32]) -> R<Vec<PatientToken>> {
        let t: &[u8] = token;
        self.client
            .query(
                "SELECT ptok FROM identifiers WHERE token = $1 ORDER BY ptok",
                &[&t],
            )
            .map_err(e)?
            .iter()
            .map(|r| ptok(r, 0))
            .collect()
    }

    fn erase_patient(&mut self, patient: &PatientToken, at: i64) -> R<ErasureRow> {
        let p: &[u8] = &patient.0;
        let hexp = patient.to_hex();
        let mut tx = self.client.transaction().map_err(e)?;
        let keys = tx
            .execute("DELETE FROM data_keys WHERE ptok = $1", &[&p])
            .map_err(e)?;
        tx.execute("DELETE FROM identifiers WHERE ptok = $1", &[&p])
            .map_err(e)?;
        let records = u64c(
            &tx.query_one("SELECT COUNT(*) FROM records WHERE ptok = $1", &[&p])
                .map_err(e)?,
            0,
        )?;
        tx.execute(
            "INSERT INTO patients (ptok, current_dk, min_dk, created_at, erased_at) VALUES ($1, 0, 0, $2, $2)
             ON CONFLICT (ptok) DO UPDATE SET erased_at = EXCLUDED.erased_at",
            &[&p, &at],
        )
        .map_err(e)?;
        let seq: i64 = tx
            .query_one(
                "INSERT INTO erasures (ptok, erased_at, keys_destroyed, records) VALUES ($1, $2, $3, $4) RETURNING seq",
                &[&hexp, &at, &i64u(keys), &i64u(records)],
            )
            .map_err(e)?
            .try_get(0)
            .map_err(e)?;
        tx.commit().map_err(e)?;
        // Best effort: let PostgreSQL reclaim the dead tuples now.
        let _ = self.client.batch_execute("VACUUM data_keys, identifiers");
        Ok(ErasureRow {
            seq,
            patient: hexp,
            erased_at: at,
            keys_destroyed: keys,
            records,
        })
    }

    fn erasures(&mut self) -> R<Vec<ErasureRow>> {
        self.client
            .query(
                "SELECT seq, ptok, erased_at, keys_destroyed, records FROM erasures ORDER BY seq",
                &[],
            )
            .map_err(e)?
            .iter()
            .map(|r| {
                Ok(ErasureRow {
                    seq: r.try_get(0).map_err(e)?,
                    patient: r.try_get(1).map_err(e)?,
                    erased_at: r.try_get(2).map_err(e)?,
                    keys_destroyed: u64c(r, 3)?,
                    records: u64c(r, 4)?,
                })
            })
            .collect()
    }

    fn job(&mut self, name: &str) -> R<Option<JobRow>> {
        let Some(r) = self
            .client
            .query_opt(
                "SELECT name, c_ptok, c_rtype, c_rid, c_version, processed, changed, total, state, failed FROM jobs WHERE name = $1",
                &[&name],
            )
            .map_err(e)?
        else {
            return Ok(None);
        };
        let cp: Option<Vec<u8>> = r.try_get(1).map_err(e)?;
        let cursor = match cp {
            Some(_) => Some(RecordKey {
                patient: ptok(&r, 1)?,
                resource_type: r.try_get(2).map_err(e)?,
                id: r.try_get(3).map_err(e)?,
                version: u64c(&r, 4)?,
            }),
            None => None,
        };
        Ok(Some(JobRow {
            name: r.try_get(0).map_err(e)?,
            cursor,
            processed: u64c(&r, 5)?,
            changed: u64c(&r, 6)?,
            total: u64c(&r, 7)?,
            state: r.try_get(8).map_err(e)?,
            failed: u64c(&r, 9)?,
        }))
    }

    fn put_job(&mut self, job: &JobRow) -> R<()> {
        let c = job.cursor.as_ref();
        let cp: Option<Vec<u8>> = c.map(|c| c.patient.0.to_vec());
        let ct: Option<String> = c.map(|c| c.resource_type.clone());
        let ci: Option<String> = c.map(|c| c.id.clone());
        let cv: Option<i64> = c.map(|c| i64u(c.version));
        self.client
            .execute(
                "INSERT INTO jobs (name, c_ptok, c_rtype, c_rid, c_version, processed, changed, total, state, failed)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (name) DO UPDATE SET c_ptok = EXCLUDED.c_ptok, c_rtype = EXCLUDED.c_rtype,
                   c_rid = EXCLUDED.c_rid, c_version = EXCLUDED.c_version, processed = EXCLUDED.processed,
                   changed = EXCLUDED.changed, total = EXCLUDED.total, state = EXCLUDED.state,
                   failed = EXCLUDED.failed",
                &[&job.name, &cp, &ct, &ci, &cv, &i64u(job.processed), &i64u(job.changed), &i64u(job.total), &job.state, &i64u(job.failed)],
            )
            .map(|_| ())
            .map_err(e)
    }

    fn key_stats(&mut self) -> R<KeyStats> {
        let one = |c: &mut Client, sql: &str| -> R<u64> {
            let r = c.query_one(sql, &[]).map_err(e)?;
            u64c(&r, 0)
        };
        let c = &mut self.client;
        let mut s = KeyStats {
            patients: one(c, "SELECT COUNT(*) FROM patients")?,
            erased: one(c, "SELECT COUNT(*) FROM patients WHERE erased_at IS NOT NULL")?,
            records: one(c, "SELECT COUNT(*) FROM records")?,
            data_keys: one(c, "SELECT COUNT(*) FROM data_keys")?,
            max_invocations: one(c, "SELECT COALESCE(MAX(invocations), 0)::BIGINT FROM data_keys")?,
            total_invocations: one(c, "SELECT COALESCE(SUM(invocations), 0)::BIGINT FROM data_keys")?,
            oldest_key_created_at: c
                .query_one("SELECT MIN(created_at) FROM data_keys", &[])
                .map_err(e)?
                .try_get(0)
                .map_err(e)?,
            keys_by_kek: Vec::new(),
            records_on_old_keys: one(c, "SELECT COUNT(*) FROM records r JOIN patients p ON p.ptok = r.ptok WHERE p.erased_at IS NULL AND r.dk_version < p.current_dk")?,
        };
        for r in c
            .query("SELECT kek_version, COUNT(*) FROM data_keys GROUP BY kek_version ORDER BY kek_version", &[])
            .map_err(e)?
        {
            s.keys_by_kek.push((u32c(&r, 0)?, u64c(&r, 1)?));
        }
        Ok(s)
    }

    /// Copies a REPEATABLE READ snapshot of every table into a new SQLite file, so backups of
    /// both backends share one format and one restore path.
    fn backup_to(&mut self, path: &Path) -> R<()> {
        if path.exists() {
            return Err(VaultError::InvalidState(format!(
                "backup target `{}` exists",
                path.display()
            )));
        }
        let mut dst = super::sqlite::SqliteStore::open(path)?;
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(e)?;
        let conn = dst.conn_mut();
        let sq = VaultError::sqlite;
        let t = conn.transaction().map_err(sq)?;
        for r in tx.query("SELECT k, v FROM meta", &[]).map_err(e)? {
            let k: String = r.try_get(0).map_err(e)?;
            let v: Vec<u8> = r.try_get(1).map_err(e)?;
            t.execute(
                "INSERT INTO meta (k, v) VALUES (?1, ?2)",
                rusqlite::params![k, v],
            )
            .map_err(sq)?;
        }
        for r in tx
            .query(&format!("SELECT {PAT_COLS} FROM patients"), &[])
            .map_err(e)?
        {
            let p = patient_row(&r)?;
            t.execute(
                "INSERT INTO patients (ptok, current_dk, min_dk, created_at, erased_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![&p.patient.0[..], p.current_dk, p.min_dk, p.created_at, p.erased_at],
            )
            .map_err(sq)?;
        }
        for r in tx
            .query(&format!("SELECT {KEY_COLS} FROM data_keys"), &[])
            .map_err(e)?
        {
            let k = key_row(&r)?;
            t.execute(
                "INSERT INTO data_keys (ptok, version, kek_version, wrapped, created_at, invocations) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![&k.patient.0[..], k.version, k.kek_version, k.wrapped, k.created_at, i64u(k.invocations)],
            )
            .map_err(sq)?;
        }
        for r in tx
            .query(&format!("SELECT {REC_COLS} FROM records"), &[])
            .map_err(e)?
        {
            let x = record_row(&r)?;
            t.execute(
                "INSERT INTO records (ptok, rtype, rid, version, dk_version, envelope, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![&x.key.patient.0[..], x.key.resource_type, x.key.id, i64u(x.key.version), x.dk_version, x.envelope, x.created_at],
            )
            .map_err(sq)?;
        }
        for r in tx
            .query("SELECT token, ptok FROM identifiers", &[])
            .map_err(e)?
        {
            let a: Vec<u8> = r.try_get(0).map_err(e)?;
            let b: Vec<u8> = r.try_get(1).map_err(e)?;
            t.execute(
                "INSERT INTO identifiers (token, ptok) VALUES (?1, ?2)",
                rusqlite::params![a, b],
            )
            .map_err(sq)?;
        }
        for r in tx
            .query(
                "SELECT seq, ptok, erased_at, keys_destroyed, records FROM erasures",
                &[],
            )
            .map_err(e)?
        {
            let seq: i64 = r.try_get(0).map_err(e)?;
            let p: String = r.try_get(1).map_err(e)?;
            let at: i64 = r.try_get(2).map_err(e)?;
            let k: i64 = r.try_get(3).map_err(e)?;
            let n: i64 = r.try_get(4).map_err(e)?;
            t.execute(
                "INSERT INTO erasures (seq, ptok, erased_at, keys_destroyed, records) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![seq, p, at, k, n],
            )
            .map_err(sq)?;
        }
        t.commit().map_err(sq)?;
        tx.commit().map_err(e)?;
        dst.checkpoint_truncate()
    }
}
