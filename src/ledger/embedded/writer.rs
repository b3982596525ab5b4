//! The embedded ledger's only writer: one SQLite connection on its own thread, group commit.
//!
//! Callers queue write operations and await an acknowledgement sent after the transaction that
//! holds them has committed. The thread takes whatever is queued (up to [`MAX_BATCH`]) into one
//! transaction, so under load many settles share one commit instead of each paying for its own.

use std::sync::mpsc;
use std::thread;

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::schema::{debit, HeldBudget};
use super::to_i64;
use crate::ledger::{BudgetKey, LedgerError, SpendRecord, StoredKey};
use crate::record::NanoUsd;

/// Most operations one transaction takes; bounds how long the first caller in a batch waits.
const MAX_BATCH: usize = 1024;

/// A budget debited by a settle, with when its row may be dropped (None: never).
#[derive(Debug)]
pub(super) struct Debit {
    pub key: BudgetKey,
    pub expires_at: Option<i64>,
}

#[derive(Debug)]
pub(super) enum WriteOp {
    Reserve {
        call_id: String,
        amount: NanoUsd,
        budgets: Vec<HeldBudget>,
        created_at_ms: i64,
    },
    Extend {
        call_id: String,
        amount: NanoUsd,
    },
    Settle {
        call_id: Option<String>,
        debits: Vec<Debit>,
        actual: NanoUsd,
        record: SpendRecord,
    },
    PutKey(StoredKey),
    RevokeKey(String),
}

struct Job {
    op: WriteOp,
    /// Rows the operation changed, once committed.
    done: oneshot::Sender<Result<usize, String>>,
}

/// The handle to the writer thread; dropping it lets the thread finish the queue and exit.
#[derive(Debug)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(conn: Connection) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run(conn, queue))?;
        Ok(Writer { jobs })
    }

    /// Queues the operation and waits until it is committed.
    pub async fn write(&self, op: WriteOp) -> Result<usize, LedgerError> {
        let (done, committed) = oneshot::channel();
        self.jobs
            .send(Job { op, done })
            .map_err(|_| LedgerError::Unavailable("ledger writer has stopped".into()))?;
        match committed.await {
            Ok(Ok(changed)) => Ok(changed),
            Ok(Err(e)) => Err(LedgerError::Unavailable(format!(
                "ledger write failed: {e}"
            ))),
            Err(_) => Err(LedgerError::Unavailable(
                "ledger writer stopped before committing".into(),
            )),
        }
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = commit(&mut conn, &batch);
        for (job, result) in batch.drain(..).zip(results) {
            // The caller may have gone away (its request was dropped); the write stands.
            let _ = job.done.send(result);
        }
    }
}

/// Applies every job in one transaction; a failed commit fails every job in it.
fn commit(conn: &mut Connection, batch: &[Job]) -> Vec<Result<usize, String>> {
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => return batch.iter().map(|_| Err(e.to_string())).collect(),
    };
    let results: Vec<_> = batch
        .iter()
        .map(|job| apply(&tx, &job.op).map_err(|e| e.to_string()))
        .collect();
    match tx.commit() {
        Ok(()) => results,
        Err(e) => {
            tracing::error!(error = %e, "ledger commit failed");
            batch.iter().map(|_| Err(e.to_string())).collect()
        }
    }
}

fn apply(conn: &Connection, op: &WriteOp) -> rusqlite::Result<usize> {
    match op {
        WriteOp::Reserve {
            call_id,
            amount,
            budgets,
            created_at_ms,
        } => {
            let budgets = serde_json::to_string(budgets)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            conn.prepare_cached(
                "INSERT OR REPLACE INTO reservations (call_id, amount, budgets, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![call_id, to_i64(*amount), budgets, created_at_ms])
        }
        WriteOp::Extend { call_id, amount } => conn
            .prepare_cached("UPDATE reservations SET amount = ?2 WHERE call_id = ?1")?
            .execute(params![call_id, to_i64(*amount)]),
        WriteOp::Settle {
            call_id,
            debits,
            actual,
            record,
        } => {
            if let Some(call_id) = call_id {
                conn.prepare_cached("DELETE FROM reservations WHERE call_id = ?1")?
                    .execute([call_id])?;
            }
            for d in debits {
                debit(conn, &d.key, *actual, d.expires_at)?;
            }
            insert_spend(conn, record)
        }
        WriteOp::PutKey(key) => {
            let providers = match &key.providers {
                Some(p) => Some(
                    serde_json::to_string(p)
                        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                ),
                None => None,
            };
            conn.prepare_cached(
                "INSERT OR REPLACE INTO stored_keys (name, key_sha256, team, project,
                    customer_id, cost_center, feature, environment, providers, revoked,
                    created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                key.name,
                key.key_sha256,
                key.team,
                key.project,
                key.customer_id,
                key.cost_center,
                key.feature,
                key.environment,
                providers,
                key.revoked,
                key.created_at_ms
            ])
        }
        WriteOp::RevokeKey(name) => conn
            .prepare_cached("UPDATE stored_keys SET revoked = 1 WHERE name = ?1")?
            .execute([name]),
    }
}

fn insert_spend(conn: &Connection, r: &SpendRecord) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO spend (request_id, time_ms, api_key, team, project, customer_id,
            cost_center, feature, environment, provider, model, input_tokens, output_tokens,
            cost, policy_result)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        r.request_id,
        r.time_ms,
        r.key,
        r.team,
        r.project,
        r.customer_id,
        r.cost_center,
        r.feature,
        r.environment,
        r.provider,
        r.model,
        to_i64(r.input_tokens),
        to_i64(r.output_tokens),
        to_i64(r.cost),
        r.policy_result
    ])
}
