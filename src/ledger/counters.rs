//! Budget counters held in process memory and the admission rule every in-process backend
//! (memory, embedded) applies to them; the Redis scripts apply the same rule server-side.

use std::collections::HashMap;

use super::{BudgetKey, BudgetLimit, BudgetState};
use crate::record::NanoUsd;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counter {
    pub(crate) consumed: NanoUsd,
    pub(crate) reserved: NanoUsd,
}

pub(crate) type Counters = HashMap<BudgetKey, Counter>;

pub(crate) fn state(counters: &Counters, budget: &BudgetLimit) -> BudgetState {
    let c = counters.get(&budget.key).copied().unwrap_or_default();
    BudgetState {
        key: budget.key.clone(),
        limit: budget.limit,
        consumed: c.consumed,
        reserved: c.reserved,
    }
}

pub(crate) fn states(counters: &Counters, budgets: &[BudgetLimit]) -> Vec<BudgetState> {
    budgets.iter().map(|b| state(counters, b)).collect()
}

/// How much of `amount` every enforced budget can take: the full amount, a `cut_stream` share
/// of at least `min_amount`, or the tightest refusing budget.
pub(crate) fn grant(
    states: &[(BudgetState, &BudgetLimit)],
    amount: NanoUsd,
    min_amount: NanoUsd,
) -> Result<NanoUsd, BudgetState> {
    let mut granted = amount;
    let mut refusing: Option<&BudgetState> = None;
    for (state, budget) in states.iter().filter(|(_, b)| b.enforced) {
        let room = state.remaining();
        if room >= amount {
            continue;
        }
        if budget.cut_stream && room >= min_amount {
            granted = granted.min(room);
            continue;
        }
        if refusing.is_none_or(|r| room < r.remaining()) {
            refusing = Some(state);
        }
    }
    match refusing {
        Some(state) => Err(state.clone()),
        None => Ok(granted),
    }
}
