//! The default ledger: one SQLite file (WAL) on local disk, checked in memory, written by one thread.
//!
//! Why SQLite: a single file, crash-safe transactions, and `bundled` compiles it in, so there is
//! no system library to match. WAL mode lets the spend report read while the writer commits.
//! `synchronous=NORMAL` (the default here) writes every commit to the WAL before `settle()`
//! returns, so a killed process (`kill -9`) loses nothing; only an OS crash or power loss can drop
//! the last commits. [`EmbeddedOptions::power_loss_safe`] selects `FULL` (an fsync per commit),
//! which group commit keeps affordable. Budget checks run on counters in memory (loaded at open),
//! so reserving never waits on a disk read, only on its group commit.
//!
//! Crash rule: a reservation is committed before `reserve()` returns. One still in the file at
//! open belongs to a call that never settled; it is settled at its reserved amount (a call the
//! provider may have served is never lost) and kept as a spend record with `recovered = 1`.

mod read;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::Connection;

use super::counters::{grant, state, states, Counter};
use super::{
    BudgetKey, BudgetLimit, BudgetState, LedgerError, LedgerStore, Reservation, ReserveOutcome,
    ReserveRequest, SpendQuery, SpendRecord, SpendRow, StoredKey,
};
use crate::record::NanoUsd;
use writer::{Debit, WriteOp, Writer};

/// The file inside the ledger directory.
pub const FILE_NAME: &str = "ledger.sqlite3";

#[derive(Clone, Copy, Debug, Default)]
pub struct EmbeddedOptions {
    /// fsync every commit (`synchronous=FULL`): settled spend survives power loss too.
    pub power_loss_safe: bool,
}

/// The SQLite-backed ledger. Cheap to share behind an `Arc`; dropping the last handle lets the
/// writer finish what is queued and close the file.
#[derive(Debug)]
pub struct EmbeddedLedger {
    counters: Mutex<HashMap<BudgetKey, Counter>>,
    writer: Writer,
    reader: Arc<Mutex<Connection>>,
    path: PathBuf,
    recovered: usize,
}

pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn expires_at(budget: &BudgetLimit, now_s: i64) -> Option<i64> {
    (budget.retain_secs > 0).then(|| now_s.saturating_add(to_i64(budget.retain_secs)))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks and every update is complete, so a poisoned
    // lock still guards valid state.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn disk(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Unavailable(format!("embedded ledger: {e}"))
}

fn hold(counters: &mut HashMap<BudgetKey, Counter>, keys: &[BudgetKey], amount: NanoUsd) {
    for key in keys {
        let c = counters.entry(key.clone()).or_default();
        c.reserved = c.reserved.saturating_add(amount);
    }
}

fn release(counters: &mut HashMap<BudgetKey, Counter>, keys: &[BudgetKey], amount: NanoUsd) {
    for key in keys {
        let c = counters.entry(key.clone()).or_default();
        c.reserved = c.reserved.saturating_sub(amount);
    }
}

impl EmbeddedLedger {
    /// Opens (creating if needed) the ledger in directory `dir`, settling reservations a crash
    /// left behind.
    pub async fn open(dir: &Path) -> Result<Self, LedgerError> {
        EmbeddedLedger::open_with(dir, EmbeddedOptions::default()).await
    }

    pub async fn open_with(dir: &Path, options: EmbeddedOptions) -> Result<Self, LedgerError> {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || EmbeddedLedger::open_blocking(&dir, options))
            .await
            .map_err(|e| LedgerError::Other(format!("ledger open task failed: {e}")))?
    }

    fn open_blocking(dir: &Path, options: EmbeddedOptions) -> Result<Self, LedgerError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            LedgerError::Other(format!("cannot create ledger dir {}: {e}", dir.display()))
        })?;
        let path = dir.join(FILE_NAME);
        let mut conn = schema::connect(&path, options.power_loss_safe).map_err(disk)?;
        schema::create(&conn).map_err(disk)?;
        let recovered = schema::recover(&mut conn).map_err(disk)?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "settled reservations of calls cut short by a crash at their reserved amount"
            );
        }
        let consumed = schema::load_counters(&conn, now_ms() / 1000).map_err(disk)?;
        let counters = consumed
            .into_iter()
            .map(|(key, consumed)| {
                (
                    key,
                    Counter {
                        consumed,
                        reserved: 0,
                    },
                )
            })
            .collect();
        let reader = schema::connect(&path, options.power_loss_safe).map_err(disk)?;
        let writer = Writer::spawn(conn).map_err(disk)?;
        Ok(EmbeddedLedger {
            counters: Mutex::new(counters),
            writer,
            reader: Arc::new(Mutex::new(reader)),
            path,
            recovered,
        })
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reservations settled at open because their calls never settled (a crash).
    pub fn recovered(&self) -> usize {
        self.recovered
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let reader = Arc::clone(&self.reader);
        tokio::task::spawn_blocking(move || f(&lock(&reader)))
            .await
            .map_err(|e| LedgerError::Other(format!("ledger read task failed: {e}")))?
    }
}

#[async_trait]
impl LedgerStore for EmbeddedLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<ReserveOutcome, LedgerError> {
        let keys: Vec<BudgetKey> = request.budgets.iter().map(|b| b.key.clone()).collect();
        let reservation = {
            let mut counters = lock(&self.counters);
            let checked: Vec<_> = request
                .budgets
                .iter()
                .map(|b| (state(&counters, b), b))
                .collect();
            let amount = match grant(&checked, request.amount, request.min_amount) {
                Ok(amount) => amount,
                Err(state) => return Ok(ReserveOutcome::Exhausted(state)),
            };
            hold(&mut counters, &keys, amount);
            Reservation {
                call_id: request.call_id.clone(),
                amount,
                budgets: keys,
                states: states(&counters, &request.budgets),
            }
        };
        let now_s = now_ms() / 1000;
        let op = WriteOp::Reserve {
            call_id: reservation.call_id.clone(),
            amount: reservation.amount,
            budgets: request
                .budgets
                .iter()
                .map(|b| {
                    (
                        b.key.budget_id.clone(),
                        b.key.period_start,
                        expires_at(b, now_s),
                    )
                })
                .collect(),
            created_at_ms: now_ms(),
        };
        if let Err(e) = self.writer.write(op).await {
            // Not durable, so not granted: give the hold back.
            release(
                &mut lock(&self.counters),
                &reservation.budgets,
                reservation.amount,
            );
            return Err(e);
        }
        Ok(ReserveOutcome::Reserved(reservation))
    }

    async fn extend(
        &self,
        reservation: &mut Reservation,
        budgets: &[BudgetLimit],
        extra: NanoUsd,
    ) -> Result<bool, LedgerError> {
        {
            let mut counters = lock(&self.counters);
            let fits = budgets
                .iter()
                .filter(|b| b.enforced)
                .all(|b| state(&counters, b).remaining() >= extra);
            if !fits {
                return Ok(false);
            }
            hold(&mut counters, &reservation.budgets, extra);
        }
        let op = WriteOp::Extend {
            call_id: reservation.call_id.clone(),
            amount: reservation.amount.saturating_add(extra),
        };
        if let Err(e) = self.writer.write(op).await {
            release(&mut lock(&self.counters), &reservation.budgets, extra);
            return Err(e);
        }
        reservation.amount = reservation.amount.saturating_add(extra);
        reservation.states = states(&lock(&self.counters), budgets);
        Ok(true)
    }

    async fn settle(
        &self,
        reservation: Option<&Reservation>,
        budgets: &[BudgetLimit],
        actual: NanoUsd,
        record: SpendRecord,
    ) -> Result<Vec<BudgetState>, LedgerError> {
        let after = {
            let mut counters = lock(&self.counters);
            if let Some(r) = reservation {
                release(&mut counters, &r.budgets, r.amount);
            }
            for budget in budgets {
                let c = counters.entry(budget.key.clone()).or_default();
                c.consumed = c.consumed.saturating_add(actual);
            }
            states(&counters, budgets)
        };
        let now_s = now_ms() / 1000;
        let op = WriteOp::Settle {
            call_id: reservation.map(|r| r.call_id.clone()),
            debits: budgets
                .iter()
                .map(|b| Debit {
                    key: b.key.clone(),
                    expires_at: expires_at(b, now_s),
                })
                .collect(),
            actual,
            record,
        };
        // On failure the debit stays counted in memory (this process keeps enforcing it) but
        // is not on disk; the caller logs it.
        self.writer.write(op).await?;
        Ok(after)
    }

    async fn states(&self, budgets: &[BudgetLimit]) -> Result<Vec<BudgetState>, LedgerError> {
        Ok(states(&lock(&self.counters), budgets))
    }

    async fn spend(&self, query: &SpendQuery) -> Result<Vec<SpendRow>, LedgerError> {
        let query = query.clone();
        self.read(move |conn| read::spend(conn, &query)).await
    }

    async fn put_key(&self, key: StoredKey) -> Result<(), LedgerError> {
        self.writer.write(WriteOp::PutKey(key)).await.map(|_| ())
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, LedgerError> {
        self.read(read::keys).await
    }

    async fn revoke_key(&self, name: &str) -> Result<bool, LedgerError> {
        let changed = self
            .writer
            .write(WriteOp::RevokeKey(name.to_string()))
            .await?;
        Ok(changed > 0)
    }

    async fn ping(&self) -> Result<(), LedgerError> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|e| LedgerError::Unavailable(format!("ledger read failed: {e}")))
        })
        .await
    }
}
