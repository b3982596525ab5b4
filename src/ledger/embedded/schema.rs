//! The embedded ledger's SQLite file: connection settings, tables, and crash recovery at open.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OpenFlags};

use super::{to_i64, to_u64};
use crate::ledger::BudgetKey;
use crate::record::NanoUsd;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS budget_counters (
    budget_id    TEXT    NOT NULL,
    period_start INTEGER NOT NULL,
    consumed     INTEGER NOT NULL,
    -- Seconds since the epoch after which the row may be dropped; NULL keeps it for good.
    expires_at   INTEGER,
    PRIMARY KEY (budget_id, period_start)
);
CREATE TABLE IF NOT EXISTS reservations (
    call_id       TEXT PRIMARY KEY,
    amount        INTEGER NOT NULL,
    -- JSON [[budget_id, period_start, expires_at|null], ...]
    budgets       TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS spend (
    request_id    TEXT    NOT NULL,
    time_ms       INTEGER NOT NULL,
    api_key       TEXT,
    team          TEXT,
    project       TEXT,
    customer_id   TEXT,
    cost_center   TEXT,
    feature       TEXT,
    environment   TEXT,
    provider      TEXT    NOT NULL,
    model         TEXT,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost          INTEGER NOT NULL,
    policy_result TEXT    NOT NULL,
    -- 1: debited at startup from a reservation whose call never settled (crash).
    recovered     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS spend_time ON spend (time_ms);
CREATE TABLE IF NOT EXISTS stored_keys (
    name          TEXT PRIMARY KEY,
    key_sha256    TEXT    NOT NULL,
    team          TEXT,
    project       TEXT,
    customer_id   TEXT,
    cost_center   TEXT,
    feature       TEXT,
    environment   TEXT,
    providers     TEXT,
    revoked       INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
";

/// Opens a connection with the ledger's settings. `full_sync`: fsync the WAL on every commit
/// (survives power loss) instead of leaving it to the OS (survives a killed process).
pub(super) fn connect(path: &Path, full_sync: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        if full_sync { "FULL" } else { "NORMAL" },
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

pub(super) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// A budget a reservation holds, as stored in `reservations.budgets`.
pub(super) type HeldBudget = (String, i64, Option<i64>);

/// Adds `amount` to a budget's consumed counter, creating the row if needed.
pub(super) fn debit(
    conn: &Connection,
    key: &BudgetKey,
    amount: NanoUsd,
    expires_at: Option<i64>,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT INTO budget_counters (budget_id, period_start, consumed, expires_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (budget_id, period_start) DO UPDATE SET
             consumed = consumed + excluded.consumed,
             expires_at = CASE WHEN expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                               ELSE max(expires_at, excluded.expires_at) END",
    )?
    .execute(params![
        key.budget_id,
        key.period_start,
        to_i64(amount),
        expires_at
    ])
}

/// Settles every reservation left by a process that died mid-call at its reserved amount,
/// with a spend record flagged `recovered`; returns how many there were.
pub(super) fn recover(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let left: Vec<(String, i64, String, i64)> = tx
        .prepare("SELECT call_id, amount, budgets, created_at_ms FROM reservations")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (call_id, amount, budgets, created_at_ms) in &left {
        let held: Vec<HeldBudget> = match serde_json::from_str(budgets) {
            Ok(held) => held,
            Err(e) => {
                tracing::error!(call_id, error = %e, "reservation with unreadable budgets");
                Vec::new()
            }
        };
        for (budget_id, period_start, expires_at) in held {
            let key = BudgetKey {
                budget_id,
                period_start,
            };
            debit(&tx, &key, to_u64(*amount), expires_at)?;
        }
        tx.execute(
            "INSERT INTO spend (request_id, time_ms, provider, input_tokens, output_tokens,
                                cost, policy_result, recovered)
             VALUES (?1, ?2, 'unknown', 0, 0, ?3, 'recovered', 1)",
            params![call_id, created_at_ms, amount],
        )?;
    }
    tx.execute("DELETE FROM reservations", [])?;
    tx.commit()?;
    Ok(left.len())
}

/// Drops counters of periods past their retention, then loads the rest.
pub(super) fn load_counters(
    conn: &Connection,
    now_s: i64,
) -> rusqlite::Result<HashMap<BudgetKey, NanoUsd>> {
    conn.execute(
        "DELETE FROM budget_counters WHERE expires_at IS NOT NULL AND expires_at < ?1",
        [now_s],
    )?;
    let mut stmt = conn.prepare("SELECT budget_id, period_start, consumed FROM budget_counters")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            BudgetKey {
                budget_id: r.get(0)?,
                period_start: r.get(1)?,
            },
            to_u64(r.get(2)?),
        ))
    })?;
    rows.collect()
}
