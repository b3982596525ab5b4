//! The Redis ledger (`ledger.backend: redis`): one budget state shared by every gateway replica.
//!
//! Reserve, extend and settle are each one Lua script, so checks and updates across all budgets
//! of a call happen atomically on the server (see `scripts.rs` for the key layout). Spend
//! records go into a sorted set by call time, because calls settle out of start order and a
//! stream's ids would have to be increasing. Connection errors become
//! [`LedgerError::Unavailable`]; `ledger.on_unavailable` is the caller's decision.

mod codec;
pub mod connection;
mod scripts;

#[cfg(test)]
pub(crate) mod test_server;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{RedisError, Value};

use super::report::aggregate;
use super::{
    BudgetKey, BudgetLimit, BudgetState, LedgerError, LedgerStore, Reservation, ReserveOutcome,
    ReserveRequest, SpendQuery, SpendRecord, SpendRow, StoredKey,
};
use crate::record::NanoUsd;
use codec::nth;
use scripts::{EXTEND_SCRIPT, RESERVE_SCRIPT, REVOKE_SCRIPT, SETTLE_SCRIPT};

const SPEND_KEY: &str = "genops:spend";
const KEYS_KEY: &str = "genops:keys";
const REVOKED_KEY: &str = "genops:keys:revoked";
/// Records fetched per round trip when reading a spend range.
const SPEND_PAGE: usize = 10_000;

/// The ledger in Redis. Clones share one connection.
#[derive(Clone, Debug)]
pub struct RedisLedger {
    conn: ConnectionManager,
    hold_ttl_ms: u64,
    max_spend_records: u64,
}

fn hash_key(key: &BudgetKey) -> String {
    format!("genops:budget:{}:{}", key.budget_id, key.period_start)
}

fn holds_key(key: &BudgetKey) -> String {
    format!("genops:holds:{}:{}", key.budget_id, key.period_start)
}

fn hold_member(amount: NanoUsd, call_id: &str) -> String {
    format!("{amount}:{call_id}")
}

/// Maps a Redis error: unreachable means `Unavailable`, anything else is a bug or bad data.
fn failed(e: RedisError) -> LedgerError {
    if connection::is_unreachable(&e) {
        LedgerError::Unavailable(format!("redis: {e}"))
    } else {
        LedgerError::Other(format!("redis: {e}"))
    }
}

/// Budget states from pairs of (consumed, reserved) starting at `from` in a script reply.
fn states_from(
    reply: &[Value],
    from: usize,
    budgets: &[BudgetLimit],
) -> Result<Vec<BudgetState>, LedgerError> {
    budgets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Ok(BudgetState {
                key: b.key.clone(),
                limit: b.limit,
                consumed: nth(reply, from + 2 * i)?,
                reserved: nth(reply, from + 2 * i + 1)?,
            })
        })
        .collect()
}

impl RedisLedger {
    /// Over an existing connection (share one with [`crate::governance::ratelimit::redis`]).
    pub fn new(conn: ConnectionManager) -> Self {
        RedisLedger {
            conn,
            hold_ttl_ms: 3_600_000,
            max_spend_records: 5_000_000,
        }
    }

    /// Connects lazily: a Redis that is down now is reported by [`LedgerStore::ping`] and by
    /// each call, not here. Must run inside the runtime that lives as long as the gateway.
    pub fn connect(url: &str) -> Result<Self, LedgerError> {
        connection::manager(url)
            .map(RedisLedger::new)
            .map_err(|e| LedgerError::Other(format!("redis_url {url:?}: {e}")))
    }

    /// How long a reservation holds budget if its replica never settles (default 1 h); longer
    /// streams lose their hold early and are still debited in full when they settle.
    pub fn with_hold_ttl(mut self, ttl: Duration) -> Self {
        self.hold_ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self
    }

    /// The most spend records kept (oldest call times dropped first); default 5 million.
    pub fn with_max_spend_records(mut self, max: u64) -> Self {
        self.max_spend_records = max.max(1);
        self
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

#[async_trait]
impl LedgerStore for RedisLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<ReserveOutcome, LedgerError> {
        let mut call = RESERVE_SCRIPT.prepare_invoke();
        for b in &request.budgets {
            call.key(hash_key(&b.key)).key(holds_key(&b.key));
        }
        call.arg(request.amount)
            .arg(request.min_amount)
            .arg(&request.call_id)
            .arg(self.hold_ttl_ms);
        for b in &request.budgets {
            call.arg(b.limit)
                .arg(u8::from(b.enforced))
                .arg(u8::from(b.cut_stream))
                .arg(b.retain_secs);
        }
        let reply: Vec<Value> = call.invoke_async(&mut self.conn()).await.map_err(failed)?;
        if nth(&reply, 0)? == 0 {
            let index = usize::try_from(nth(&reply, 1)?).unwrap_or(0);
            let budget = index
                .checked_sub(1)
                .and_then(|i| request.budgets.get(i))
                .ok_or_else(|| LedgerError::Other("reserve script named no budget".into()))?;
            return Ok(ReserveOutcome::Exhausted(BudgetState {
                key: budget.key.clone(),
                limit: budget.limit,
                consumed: nth(&reply, 2)?,
                reserved: nth(&reply, 3)?,
            }));
        }
        Ok(ReserveOutcome::Reserved(Reservation {
            call_id: request.call_id.clone(),
            amount: nth(&reply, 1)?,
            budgets: request.budgets.iter().map(|b| b.key.clone()).collect(),
            states: states_from(&reply, 2, &request.budgets)?,
        }))
    }

    async fn extend(
        &self,
        reservation: &mut Reservation,
        budgets: &[BudgetLimit],
        extra: NanoUsd,
    ) -> Result<bool, LedgerError> {
        let total = reservation.amount.saturating_add(extra);
        let mut call = EXTEND_SCRIPT.prepare_invoke();
        for b in budgets {
            call.key(hash_key(&b.key)).key(holds_key(&b.key));
        }
        for key in &reservation.budgets {
            call.key(hash_key(key)).key(holds_key(key));
        }
        call.arg(extra)
            .arg(hold_member(reservation.amount, &reservation.call_id))
            .arg(hold_member(total, &reservation.call_id))
            .arg(total)
            .arg(self.hold_ttl_ms)
            .arg(budgets.len());
        for b in budgets {
            call.arg(b.limit).arg(u8::from(b.enforced));
        }
        let reply: Vec<Value> = call.invoke_async(&mut self.conn()).await.map_err(failed)?;
        if nth(&reply, 0)? == 0 {
            return Ok(false);
        }
        reservation.amount = total;
        reservation.states = states_from(&reply, 1, budgets)?;
        Ok(true)
    }

    async fn settle(
        &self,
        reservation: Option<&Reservation>,
        budgets: &[BudgetLimit],
        actual: NanoUsd,
        record: SpendRecord,
    ) -> Result<Vec<BudgetState>, LedgerError> {
        let mut call = SETTLE_SCRIPT.prepare_invoke();
        let held = reservation
            .map(|r| r.budgets.as_slice())
            .unwrap_or_default();
        for key in held {
            call.key(hash_key(key)).key(holds_key(key));
        }
        for b in budgets {
            call.key(hash_key(&b.key));
        }
        call.key(SPEND_KEY);
        match reservation {
            Some(r) => call.arg(hold_member(r.amount, &r.call_id)).arg(r.amount),
            None => call.arg("").arg(0),
        };
        call.arg(actual)
            .arg(held.len())
            .arg(codec::record_json(&record))
            .arg(record.time_ms)
            .arg(self.max_spend_records);
        for b in budgets {
            call.arg(b.retain_secs);
        }
        let reply: Vec<Value> = call.invoke_async(&mut self.conn()).await.map_err(failed)?;
        states_from(&reply, 0, budgets)
    }

    async fn states(&self, budgets: &[BudgetLimit]) -> Result<Vec<BudgetState>, LedgerError> {
        if budgets.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for b in budgets {
            pipe.cmd("HMGET")
                .arg(hash_key(&b.key))
                .arg("consumed")
                .arg("reserved");
        }
        let replies: Vec<Vec<Value>> = pipe.query_async(&mut self.conn()).await.map_err(failed)?;
        budgets
            .iter()
            .zip(replies)
            .map(|(b, reply)| {
                Ok(BudgetState {
                    key: b.key.clone(),
                    limit: b.limit,
                    consumed: nth(&reply, 0)?,
                    reserved: nth(&reply, 1)?,
                })
            })
            .collect()
    }

    async fn spend(&self, query: &SpendQuery) -> Result<Vec<SpendRow>, LedgerError> {
        let mut records = Vec::new();
        if query.from_ms < query.to_ms {
            let mut conn = self.conn();
            let mut offset = 0;
            loop {
                let page: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                    .arg(SPEND_KEY)
                    .arg(query.from_ms)
                    .arg(format!("({}", query.to_ms))
                    .arg("LIMIT")
                    .arg(offset)
                    .arg(SPEND_PAGE)
                    .query_async(&mut conn)
                    .await
                    .map_err(failed)?;
                let last = page.len() < SPEND_PAGE;
                offset += page.len();
                for raw in page {
                    records.push(codec::record_from_json(&raw)?);
                }
                if last {
                    break;
                }
            }
        }
        aggregate(records.iter(), query)
    }

    async fn put_key(&self, key: StoredKey) -> Result<(), LedgerError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(KEYS_KEY, &key.name, codec::key_json(&key))
            .ignore();
        if key.revoked {
            pipe.sadd(REVOKED_KEY, &key.name).ignore();
        } else {
            pipe.srem(REVOKED_KEY, &key.name).ignore();
        }
        pipe.exec_async(&mut self.conn()).await.map_err(failed)
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, LedgerError> {
        let (keys, revoked): (HashMap<String, String>, HashSet<String>) = redis::pipe()
            .atomic()
            .hgetall(KEYS_KEY)
            .smembers(REVOKED_KEY)
            .query_async(&mut self.conn())
            .await
            .map_err(failed)?;
        let mut list = keys
            .values()
            .map(|raw| {
                let mut key = codec::key_from_json(raw, false)?;
                key.revoked = revoked.contains(&key.name);
                Ok(key)
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    async fn revoke_key(&self, name: &str) -> Result<bool, LedgerError> {
        let found: i64 = REVOKE_SCRIPT
            .key(KEYS_KEY)
            .key(REVOKED_KEY)
            .arg(name)
            .invoke_async(&mut self.conn())
            .await
            .map_err(failed)?;
        Ok(found == 1)
    }

    async fn ping(&self) -> Result<(), LedgerError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .map(|_| ())
            .map_err(failed)
    }
}
