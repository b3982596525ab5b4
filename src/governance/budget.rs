//! The budget engine: which budgets a call falls under, reserve before forwarding, settle after.
//!
//! The arithmetic that must be atomic lives in the [`LedgerStore`]; this module turns config
//! into per-period [`BudgetLimit`]s and the store's answers into decisions, alerts and messages.

mod def;
mod downgrade;
pub mod events;
mod message;
pub mod period;

pub use def::BudgetDef;
pub use downgrade::Downgrade;
pub use message::dollars;

use crate::config::schema::{BudgetConfig, Scope};
use crate::governance::clock::Clock;
use crate::governance::context::GovernanceContext;
use crate::ledger::{
    BudgetLimit, BudgetState, LedgerError, LedgerStore, Reservation, ReserveOutcome,
    ReserveRequest, SpendRecord,
};
use crate::record::{BudgetSnapshot, NanoUsd};

/// A budget that refused a call (or, in warn mode, would have).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetRefusal {
    pub budget_id: String,
    /// Settled spend this period.
    pub consumed: NanoUsd,
    pub limit: NanoUsd,
    /// `hourly` | `daily` | `weekly` | `monthly` | `total`.
    pub period: &'static str,
    /// RFC 3339 UTC; none for `total`.
    pub resets_at: Option<String>,
    /// http.md's sentence: "budget X: $a of $b spent this month; resets ...".
    pub message: String,
}

/// An admitted call's hold on its budgets, kept until it settles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admission {
    /// None when no budget is in scope (nothing to hold, the spend is still recorded).
    pub reservation: Option<Reservation>,
    /// The budgets in scope, in the period the call started in.
    pub budgets: Vec<BudgetLimit>,
    /// Warn-mode budgets this call pushes past their limit (`genops.policy.result = warning`).
    pub warnings: Vec<BudgetRefusal>,
    /// What the call asked to reserve.
    pub estimate: NanoUsd,
}

impl Admission {
    /// What is held now (may be less than the estimate under `cut_stream`, more after `extend`).
    pub fn reserved(&self) -> NanoUsd {
        self.reservation.as_ref().map_or(0, |r| r.amount)
    }

    /// Admitted with less than the worst case: the stream must be watched and cut if it runs dry.
    pub fn is_partial(&self) -> bool {
        self.reservation.is_some() && self.reserved() < self.estimate
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BudgetDecision {
    Admitted(Admission),
    /// 402 with the refusal's message; nothing was reserved.
    Refused(BudgetRefusal),
}

/// An `alert_at` threshold this call's debit crossed (`genops.budget.alert`).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetAlert {
    pub budget_id: String,
    pub threshold: f64,
    pub consumed: NanoUsd,
    pub limit: NanoUsd,
    pub period: &'static str,
}

/// What settling a call produced.
#[derive(Clone, Debug, PartialEq)]
pub struct SettleOutcome {
    pub states: Vec<BudgetState>,
    pub alerts: Vec<BudgetAlert>,
    /// The budget with the least remaining share after the call (`genops.budget.*`).
    pub snapshot: Option<BudgetSnapshot>,
}

/// One row of `GET /admin/budgets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetStatus {
    pub id: String,
    pub scope: Scope,
    pub limit: NanoUsd,
    pub consumed: NanoUsd,
    pub reserved: NanoUsd,
    /// What new calls can still reserve: limit minus consumed and reserved.
    pub remaining: NanoUsd,
    pub period: &'static str,
    pub resets_at: Option<String>,
}

/// Every configured budget; built once per config load.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Budgets {
    defs: Vec<BudgetDef>,
}

impl Budgets {
    pub fn new(configs: &[BudgetConfig]) -> Budgets {
        Budgets {
            defs: configs.iter().map(BudgetDef::from_config).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&BudgetDef> {
        self.defs.iter().find(|d| d.id == id)
    }

    pub fn in_scope(&self, ctx: &GovernanceContext) -> Vec<&BudgetDef> {
        self.defs.iter().filter(|d| d.matches(ctx)).collect()
    }

    /// The budgets in scope of a call starting at `now_ms`, in their current periods.
    pub fn limits(&self, ctx: &GovernanceContext, now_ms: i64) -> Vec<BudgetLimit> {
        self.in_scope(ctx)
            .into_iter()
            .map(|d| d.limit_at(now_ms))
            .collect()
    }

    /// Reserves `estimate` (the call's worst case) on every budget in scope in one atomic step.
    /// `min_amount` is the least a `cut_stream` budget must still have room for.
    pub async fn reserve(
        &self,
        store: &dyn LedgerStore,
        ctx: &GovernanceContext,
        call_id: &str,
        estimate: NanoUsd,
        min_amount: NanoUsd,
        clock: &dyn Clock,
    ) -> Result<BudgetDecision, LedgerError> {
        let budgets = self.limits(ctx, clock.now_ms());
        if budgets.is_empty() {
            return Ok(BudgetDecision::Admitted(Admission {
                reservation: None,
                budgets,
                warnings: Vec::new(),
                estimate,
            }));
        }
        // Every call holds at least one nano-USD, so an exhausted budget refuses even a call
        // estimated free (an unpriced model) instead of letting it through.
        let amount = estimate.max(1);
        let request = ReserveRequest {
            call_id: call_id.to_string(),
            budgets,
            amount,
            min_amount: min_amount.clamp(1, amount),
        };
        match store.reserve(&request).await? {
            ReserveOutcome::Exhausted(state) => Ok(BudgetDecision::Refused(self.refusal(&state))),
            ReserveOutcome::Reserved(reservation) => {
                let warnings = reservation
                    .states
                    .iter()
                    .filter(|s| s.consumed.saturating_add(s.reserved) > s.limit)
                    .filter_map(|s| {
                        let def = self.get(&s.key.budget_id)?;
                        (!def.enforced).then(|| def.exceeded(s))
                    })
                    .collect();
                Ok(BudgetDecision::Admitted(Admission {
                    reservation: Some(reservation),
                    budgets: request.budgets,
                    warnings,
                    estimate,
                }))
            }
        }
    }

    fn refusal(&self, state: &BudgetState) -> BudgetRefusal {
        match self.get(&state.key.budget_id) {
            Some(def) => def.exceeded(state),
            // The store only answers with budgets we asked about; keep a sentence regardless.
            None => BudgetRefusal {
                budget_id: state.key.budget_id.clone(),
                consumed: state.consumed,
                limit: state.limit,
                period: "unknown",
                resets_at: None,
                message: format!(
                    "budget {}: {} of {} spent",
                    state.key.budget_id,
                    dollars(state.consumed),
                    dollars(state.limit)
                ),
            },
        }
    }

    /// Mid-stream: grows the hold by `extra` if every enforced budget has room; false means
    /// the stream must be cut now.
    pub async fn extend(
        &self,
        store: &dyn LedgerStore,
        admission: &mut Admission,
        extra: NanoUsd,
    ) -> Result<bool, LedgerError> {
        match admission.reservation.as_mut() {
            Some(reservation) => store.extend(reservation, &admission.budgets, extra).await,
            None => Ok(true),
        }
    }

    /// Releases the hold, debits `actual` (even past the limit: a served call is always paid
    /// for), stores the spend record, and reports crossed alerts and the tightest budget.
    pub async fn settle(
        &self,
        store: &dyn LedgerStore,
        admission: &Admission,
        actual: NanoUsd,
        record: SpendRecord,
    ) -> Result<SettleOutcome, LedgerError> {
        let states = store
            .settle(
                admission.reservation.as_ref(),
                &admission.budgets,
                actual,
                record,
            )
            .await?;
        let alerts = states
            .iter()
            .filter_map(|s| Some((self.get(&s.key.budget_id)?, s)))
            .flat_map(|(def, s)| def.crossed(s, actual))
            .collect();
        Ok(SettleOutcome {
            snapshot: self.tightest(&states),
            alerts,
            states,
        })
    }

    /// The budget with the least share of its limit left unspent.
    pub fn tightest(&self, states: &[BudgetState]) -> Option<BudgetSnapshot> {
        let left = |s: &BudgetState| {
            let remaining = s.limit.saturating_sub(s.consumed);
            // A zero limit has nothing left; as a fraction 0/1 it sorts first.
            if s.limit == 0 {
                (0u128, 1u128)
            } else {
                (u128::from(remaining), u128::from(s.limit))
            }
        };
        let tightest = states.iter().min_by(|a, b| {
            let (ra, la) = left(a);
            let (rb, lb) = left(b);
            (ra * lb).cmp(&(rb * la))
        })?;
        Some(BudgetSnapshot {
            id: tightest.key.budget_id.clone(),
            period: self
                .get(&tightest.key.budget_id)
                .map_or("unknown", BudgetDef::period_name)
                .to_string(),
            limit: tightest.limit,
            consumed: tightest.consumed,
            remaining: tightest.limit.saturating_sub(tightest.consumed),
        })
    }

    /// Current counters of the budgets in scope.
    pub async fn states(
        &self,
        store: &dyn LedgerStore,
        ctx: &GovernanceContext,
        clock: &dyn Clock,
    ) -> Result<Vec<BudgetState>, LedgerError> {
        let budgets = self.limits(ctx, clock.now_ms());
        if budgets.is_empty() {
            return Ok(Vec::new());
        }
        store.states(&budgets).await
    }

    /// The model swap a budget past its `downgrade.at` share asks for, given the counters of the
    /// budgets in scope (consumed plus reserved counts).
    pub fn downgrade_for(
        &self,
        states: &[BudgetState],
        requested_model: &str,
    ) -> Option<Downgrade> {
        states.iter().find_map(|s| {
            let def = self.get(&s.key.budget_id)?;
            let rule = def.downgrade.as_ref()?;
            if s.consumed.saturating_add(s.reserved) < rule.at {
                return None;
            }
            let (from, to) = downgrade::lookup(&rule.models, requested_model)?;
            Some(Downgrade {
                budget_id: def.id.clone(),
                from_model: from.to_string(),
                to_model: to.to_string(),
            })
        })
    }

    /// [`Budgets::downgrade_for`] for a call, asking the store only when a budget in scope has a
    /// `downgrade` for this model.
    pub async fn downgrade(
        &self,
        store: &dyn LedgerStore,
        ctx: &GovernanceContext,
        requested_model: &str,
        clock: &dyn Clock,
    ) -> Result<Option<Downgrade>, LedgerError> {
        let candidates: Vec<BudgetLimit> = self
            .in_scope(ctx)
            .into_iter()
            .filter(|d| {
                d.downgrade
                    .as_ref()
                    .is_some_and(|r| downgrade::lookup(&r.models, requested_model).is_some())
            })
            .map(|d| d.limit_at(clock.now_ms()))
            .collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        let states = store.states(&candidates).await?;
        Ok(self.downgrade_for(&states, requested_model))
    }

    /// Every budget in its current period, for `GET /admin/budgets`.
    pub async fn list(
        &self,
        store: &dyn LedgerStore,
        clock: &dyn Clock,
    ) -> Result<Vec<BudgetStatus>, LedgerError> {
        let now_ms = clock.now_ms();
        let limits: Vec<BudgetLimit> = self.defs.iter().map(|d| d.limit_at(now_ms)).collect();
        let states = if limits.is_empty() {
            Vec::new()
        } else {
            store.states(&limits).await?
        };
        Ok(self
            .defs
            .iter()
            .zip(limits)
            .map(|(def, limit)| {
                let state = states
                    .iter()
                    .find(|s| s.key == limit.key)
                    .cloned()
                    .unwrap_or(BudgetState {
                        key: limit.key.clone(),
                        limit: limit.limit,
                        consumed: 0,
                        reserved: 0,
                    });
                BudgetStatus {
                    id: def.id.clone(),
                    scope: def.scope.clone(),
                    limit: def.limit,
                    consumed: state.consumed,
                    reserved: state.reserved,
                    remaining: state.remaining(),
                    period: def.period_name(),
                    resets_at: period::resets_at(def.period, limit.key.period_start),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
