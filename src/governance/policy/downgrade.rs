//! Policy downgrades: past a budget fraction, a listed model is swapped for a cheaper one.

use std::sync::Arc;

use super::model::same_model;
use super::{Check, PolicyEngine};
use crate::config::policy_schema::PolicyDowngrade;
use crate::config::schema::Enforcement;
use crate::governance::context::GovernanceContext;

/// A compiled `downgrade` check.
#[derive(Debug)]
pub(super) struct DowngradeRule {
    /// (from, to), in the file's (sorted) order.
    models: Vec<(String, String)>,
    when_budget_at: f64,
    budget: Option<String>,
}

impl DowngradeRule {
    pub fn new(d: &PolicyDowngrade) -> DowngradeRule {
        DowngradeRule {
            models: d
                .models
                .iter()
                .map(|(from, to)| (from.clone(), to.clone()))
                .collect(),
            when_budget_at: d.when_budget_at,
            budget: d.budget.clone(),
        }
    }

    /// The replacement for `model`: an exact entry first, else the entry of its family
    /// (`gpt-4o-2024-08-06` → the `gpt-4o` entry).
    fn target(&self, model: &str) -> Option<&str> {
        let exact = self.models.iter().find(|(from, _)| from == model);
        exact
            .or_else(|| self.models.iter().find(|(from, _)| same_model(model, from)))
            .map(|(_, to)| to.as_str())
    }
}

/// A model swap a downgrade rule calls for.
#[derive(Clone, Debug, PartialEq)]
pub struct Downgrade {
    pub rule: Arc<str>,
    pub from: String,
    pub to: String,
    /// The budget fraction used that triggered it.
    pub budget_used: f64,
    /// `false` for a warn rule: report the swap that would happen, forward the model asked for.
    pub apply: bool,
}

impl PolicyEngine {
    /// The downgrade for `model`, if a downgrade rule in scope lists it and its budget is used
    /// past the rule's fraction. `used_fraction(Some(id))` is that budget's used fraction,
    /// `used_fraction(None)` the tightest budget in scope's; `None` when there is no such budget
    /// (then the rule does not fire). The first block rule that fires wins, else the first warn
    /// rule. Call it before [`PolicyEngine::evaluate_request`] and evaluate the model forwarded.
    pub fn downgrade(
        &self,
        ctx: &GovernanceContext,
        model: &str,
        used_fraction: &dyn Fn(Option<&str>) -> Option<f64>,
    ) -> Option<Downgrade> {
        let mut warned = None;
        for (_, rule) in self.in_scope(ctx) {
            let Check::Downgrade(d) = &rule.check else {
                continue;
            };
            let Some(to) = d.target(model) else {
                continue;
            };
            let Some(used) = used_fraction(d.budget.as_deref()) else {
                continue;
            };
            if used < d.when_budget_at {
                continue;
            }
            let apply = rule.enforcement == Enforcement::Block;
            let found = Downgrade {
                rule: rule.id.clone(),
                from: model.to_string(),
                to: to.to_string(),
                budget_used: used,
                apply,
            };
            if apply {
                return Some(found);
            }
            warned.get_or_insert(found);
        }
        warned
    }
}

impl PolicyEngine {
    /// Whether a downgrade rule in scope lists `model` — cheap, so callers fetch budget state
    /// only when a downgrade could fire.
    pub fn may_downgrade(&self, ctx: &GovernanceContext, model: &str) -> bool {
        self.in_scope(ctx).any(
            |(_, rule)| matches!(&rule.check, Check::Downgrade(d) if d.target(model).is_some()),
        )
    }
}
