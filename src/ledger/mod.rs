//! The spend ledger: budget consumption per period, reservations, and a spend record per call.
//!
//! Every backend (memory, embedded, Redis) implements [`LedgerStore`]; a reservation is one
//! atomic step per call across every budget in scope, so concurrent calls cannot overspend.

use async_trait::async_trait;

#[cfg(test)]
pub mod conformance;
mod counters;
pub mod embedded;
pub mod memory;
pub mod open;
pub mod redis;
pub mod report;

use crate::record::NanoUsd;

/// One budget in one period: the unit the store counts against.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BudgetKey {
    pub budget_id: String,
    /// Start of the period, seconds since the Unix epoch (UTC); 0 for `total`.
    pub period_start: i64,
}

/// A budget in scope of a call, with what the store needs to decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetLimit {
    pub key: BudgetKey,
    pub limit: NanoUsd,
    /// `enforcement: block`: a reservation that does not fit is refused. `warn`: always admitted.
    pub enforced: bool,
    /// `on_exhausted: cut_stream`: admit with whatever room is left (at least the minimum) and
    /// let the stream be cut when it runs past it.
    pub cut_stream: bool,
    /// Seconds the store should keep this period's counters (expiry for Redis keys); 0 means
    /// keep them for good (period `total`).
    pub retain_secs: u64,
}

/// What a call asks to reserve before it is forwarded.
#[derive(Clone, Debug)]
pub struct ReserveRequest {
    pub call_id: String,
    pub budgets: Vec<BudgetLimit>,
    /// The conservative estimate (worst case) of the call's cost.
    pub amount: NanoUsd,
    /// For `cut_stream` budgets: the least that must fit to admit the call at all.
    pub min_amount: NanoUsd,
}

/// A budget's counters as the store sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetState {
    pub key: BudgetKey,
    pub limit: NanoUsd,
    /// Settled spend this period.
    pub consumed: NanoUsd,
    /// Held by calls in flight.
    pub reserved: NanoUsd,
}

impl BudgetState {
    pub fn remaining(&self) -> NanoUsd {
        self.limit
            .saturating_sub(self.consumed.saturating_add(self.reserved))
    }
}

/// A granted reservation, held by the call until it settles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub call_id: String,
    pub amount: NanoUsd,
    pub budgets: Vec<BudgetKey>,
    /// The budgets' counters right after reserving.
    pub states: Vec<BudgetState>,
}

/// The answer to a reservation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReserveOutcome {
    Reserved(Reservation),
    /// An enforced budget has no room; nothing was reserved anywhere.
    Exhausted(BudgetState),
}

/// A finished call, as kept for spend reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpendRecord {
    pub request_id: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub key: Option<String>,
    pub team: Option<String>,
    pub project: Option<String>,
    pub customer_id: Option<String>,
    pub cost_center: Option<String>,
    pub feature: Option<String>,
    pub environment: Option<String>,
    pub provider: String,
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: NanoUsd,
    pub policy_result: String,
}

/// A spend report query (`/admin/spend`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpendQuery {
    /// Any of: key, team, project, customer_id, cost_center, feature, environment, provider, model.
    pub group_by: Vec<String>,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// One row of a spend report: the group's values in `group_by` order, and its totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpendRow {
    pub group: Vec<Option<String>>,
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: NanoUsd,
}

/// A virtual key minted through the admin API, stored as a digest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredKey {
    pub name: String,
    pub key_sha256: String,
    pub team: Option<String>,
    pub project: Option<String>,
    pub customer_id: Option<String>,
    pub cost_center: Option<String>,
    pub feature: Option<String>,
    pub environment: Option<String>,
    pub providers: Option<Vec<String>>,
    pub revoked: bool,
    pub created_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store cannot be reached now (Redis down, disk error): `on_unavailable` decides.
    #[error("ledger store unavailable: {0}")]
    Unavailable(String),
    #[error("ledger error: {0}")]
    Other(String),
}

#[async_trait]
pub trait LedgerStore: Send + Sync {
    /// Atomically checks every enforced budget and, only if all fit, adds the amount to each
    /// budget's reservations.
    async fn reserve(&self, request: &ReserveRequest) -> Result<ReserveOutcome, LedgerError>;

    /// Grows a reservation mid-stream by `extra` if every enforced budget still has room.
    async fn extend(
        &self,
        reservation: &mut Reservation,
        budgets: &[BudgetLimit],
        extra: NanoUsd,
    ) -> Result<bool, LedgerError>;

    /// Releases the reservation (if any), adds the actual cost to every budget in `budgets`,
    /// and stores the spend record; returns the budgets' counters after settling.
    async fn settle(
        &self,
        reservation: Option<&Reservation>,
        budgets: &[BudgetLimit],
        actual: NanoUsd,
        record: SpendRecord,
    ) -> Result<Vec<BudgetState>, LedgerError>;

    /// Current counters of these budgets.
    async fn states(&self, budgets: &[BudgetLimit]) -> Result<Vec<BudgetState>, LedgerError>;

    /// Spend grouped and summed over a time range.
    async fn spend(&self, query: &SpendQuery) -> Result<Vec<SpendRow>, LedgerError>;

    async fn put_key(&self, key: StoredKey) -> Result<(), LedgerError>;
    async fn list_keys(&self) -> Result<Vec<StoredKey>, LedgerError>;
    /// Marks the key revoked; false when no key has that name.
    async fn revoke_key(&self, name: &str) -> Result<bool, LedgerError>;

    /// Whether the store answers (readiness, recovery after an outage).
    async fn ping(&self) -> Result<(), LedgerError>;
}
