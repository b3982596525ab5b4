//! Model downgrade: past a budget threshold, swap the requested model for a cheaper one — from
//! a budget's own `downgrade:` or from a policy rule.

use crate::gateway::{Gateway, Generation};
use crate::governance::context::GovernanceContext;
use crate::ledger::BudgetState;

/// A swap decided for this call.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSwap {
    /// The budget or policy rule that asked for it.
    pub source: String,
    pub from: String,
    pub to: String,
    /// `false`: a warn-mode rule; report the swap, forward the requested model.
    pub apply: bool,
}

fn used_fraction(states: &[BudgetState], budget: Option<&str>) -> Option<f64> {
    let fraction = |s: &BudgetState| {
        if s.limit == 0 {
            1.0
        } else {
            s.consumed.saturating_add(s.reserved) as f64 / s.limit as f64
        }
    };
    match budget {
        Some(id) => states.iter().find(|s| s.key.budget_id == id).map(fraction),
        None => states.iter().map(fraction).reduce(f64::max),
    }
}

/// The swap for `model`, if any. Budget state is read only when a rule could fire; a store
/// that cannot be read means no swap (the budget check itself decides what that means).
pub async fn find(
    gateway: &Gateway,
    generation: &Generation,
    ctx: &GovernanceContext,
    model: &str,
) -> Option<ModelSwap> {
    let clock = gateway.clock.as_ref();
    let store = gateway.ledger.as_ref();
    if let Ok(Some(d)) = generation.budgets.downgrade(store, ctx, model, clock).await {
        return Some(ModelSwap {
            source: d.budget_id,
            from: d.from_model,
            to: d.to_model,
            apply: true,
        });
    }
    if !generation.policies.may_downgrade(ctx, model) {
        return None;
    }
    let states = generation.budgets.states(store, ctx, clock).await.ok()?;
    let d = generation
        .policies
        .downgrade(ctx, model, &|budget| used_fraction(&states, budget))?;
    Some(ModelSwap {
        source: d.rule.to_string(),
        from: d.from,
        to: d.to,
        apply: d.apply,
    })
}
