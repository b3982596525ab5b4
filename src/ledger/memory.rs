//! A ledger in process memory: exact and atomic, lost on restart (tests, benchmarks, one replica).
//!
//! All state sits behind one `std::sync::Mutex`. Every operation is a handful of map updates
//! with no I/O and no `.await` while locked, so the lock is held for well under a microsecond;
//! at the gateway's call rates that is far from contention, and one lock makes a reservation
//! across several budgets atomic without any lock ordering to get wrong.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::counters::{self, grant, Counter, Counters};
use super::report::aggregate;
use super::{
    BudgetKey, BudgetLimit, BudgetState, LedgerError, LedgerStore, Reservation, ReserveOutcome,
    ReserveRequest, SpendQuery, SpendRecord, SpendRow, StoredKey,
};
use crate::record::NanoUsd;

#[derive(Debug, Default)]
struct Inner {
    counters: Counters,
    records: Vec<SpendRecord>,
    keys: BTreeMap<String, StoredKey>,
}

impl Inner {
    fn state(&self, budget: &BudgetLimit) -> BudgetState {
        counters::state(&self.counters, budget)
    }

    fn states(&self, budgets: &[BudgetLimit]) -> Vec<BudgetState> {
        counters::states(&self.counters, budgets)
    }

    fn counter(&mut self, key: &BudgetKey) -> &mut Counter {
        self.counters.entry(key.clone()).or_default()
    }
}

#[derive(Debug, Default)]
pub struct MemoryLedger {
    inner: Mutex<Inner>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code panics while holding the lock, and every update leaves the maps consistent,
        // so a poisoned lock still guards valid state.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl LedgerStore for MemoryLedger {
    async fn reserve(&self, request: &ReserveRequest) -> Result<ReserveOutcome, LedgerError> {
        let mut inner = self.lock();
        let states: Vec<(BudgetState, &BudgetLimit)> = request
            .budgets
            .iter()
            .map(|b| (inner.state(b), b))
            .collect();
        let amount = match grant(&states, request.amount, request.min_amount) {
            Ok(amount) => amount,
            Err(state) => return Ok(ReserveOutcome::Exhausted(state)),
        };
        for budget in &request.budgets {
            let counter = inner.counter(&budget.key);
            counter.reserved = counter.reserved.saturating_add(amount);
        }
        Ok(ReserveOutcome::Reserved(Reservation {
            call_id: request.call_id.clone(),
            amount,
            budgets: request.budgets.iter().map(|b| b.key.clone()).collect(),
            states: inner.states(&request.budgets),
        }))
    }

    async fn extend(
        &self,
        reservation: &mut Reservation,
        budgets: &[BudgetLimit],
        extra: NanoUsd,
    ) -> Result<bool, LedgerError> {
        let mut inner = self.lock();
        let fits = budgets
            .iter()
            .filter(|b| b.enforced)
            .all(|b| inner.state(b).remaining() >= extra);
        if !fits {
            return Ok(false);
        }
        for key in &reservation.budgets {
            let counter = inner.counter(key);
            counter.reserved = counter.reserved.saturating_add(extra);
        }
        reservation.amount = reservation.amount.saturating_add(extra);
        reservation.states = inner.states(budgets);
        Ok(true)
    }

    async fn settle(
        &self,
        reservation: Option<&Reservation>,
        budgets: &[BudgetLimit],
        actual: NanoUsd,
        record: SpendRecord,
    ) -> Result<Vec<BudgetState>, LedgerError> {
        let mut inner = self.lock();
        if let Some(reservation) = reservation {
            for key in &reservation.budgets {
                let counter = inner.counter(key);
                counter.reserved = counter.reserved.saturating_sub(reservation.amount);
            }
        }
        for budget in budgets {
            let counter = inner.counter(&budget.key);
            counter.consumed = counter.consumed.saturating_add(actual);
        }
        // Unbounded by design: this backend keeps state for a process's life (tests, benches).
        inner.records.push(record);
        Ok(inner.states(budgets))
    }

    async fn states(&self, budgets: &[BudgetLimit]) -> Result<Vec<BudgetState>, LedgerError> {
        Ok(self.lock().states(budgets))
    }

    async fn spend(&self, query: &SpendQuery) -> Result<Vec<SpendRow>, LedgerError> {
        let inner = self.lock();
        aggregate(inner.records.iter(), query)
    }

    async fn put_key(&self, key: StoredKey) -> Result<(), LedgerError> {
        self.lock().keys.insert(key.name.clone(), key);
        Ok(())
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, LedgerError> {
        Ok(self.lock().keys.values().cloned().collect())
    }

    async fn revoke_key(&self, name: &str) -> Result<bool, LedgerError> {
        Ok(match self.lock().keys.get_mut(name) {
            Some(key) => {
                key.revoked = true;
                true
            }
            None => false,
        })
    }

    async fn ping(&self) -> Result<(), LedgerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::ledger_conformance_tests!(MemoryLedger::new());
}
