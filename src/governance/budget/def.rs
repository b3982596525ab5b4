//! One configured budget in nano-USD: its scope, its period's limit, its alerts and downgrade.

use std::collections::BTreeMap;

use super::{message, period, BudgetAlert, BudgetRefusal};
use crate::config::schema::{BudgetConfig, Enforcement, OnExhausted, Period, Scope};
use crate::governance::context::GovernanceContext;
use crate::ledger::{BudgetKey, BudgetLimit, BudgetState};
use crate::record::NanoUsd;

/// One configured budget, with money and fractions already in nano-USD.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetDef {
    pub id: String,
    pub scope: Scope,
    pub limit: NanoUsd,
    pub period: Period,
    /// `enforcement: block`.
    pub enforced: bool,
    /// `on_exhausted: cut_stream`.
    pub cut_stream: bool,
    /// `alert_at` fractions, ascending, each with the consumption that reaches it.
    alerts: Vec<(f64, NanoUsd)>,
    pub(super) downgrade: Option<DowngradeRule>,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct DowngradeRule {
    /// Consumed plus reserved at which the swap starts.
    pub(super) at: NanoUsd,
    pub(super) models: BTreeMap<String, String>,
}

/// Money from config: the only place a float becomes nano-USD. Negative and NaN become 0.
fn nano(usd: f64) -> NanoUsd {
    (usd * 1e9).round() as NanoUsd
}

/// The share `fraction` of `limit`, rounded to the nearest nano-USD.
fn share(limit: NanoUsd, fraction: f64) -> NanoUsd {
    (limit as f64 * fraction).round() as NanoUsd
}

impl BudgetDef {
    pub(super) fn from_config(config: &BudgetConfig) -> Self {
        let limit = nano(config.limit_usd);
        let mut alerts: Vec<(f64, NanoUsd)> = config
            .alert_at
            .iter()
            .map(|&t| (t, share(limit, t)))
            .collect();
        alerts.sort_by(|a, b| a.0.total_cmp(&b.0));
        BudgetDef {
            id: config.id.clone(),
            scope: config.scope.clone(),
            limit,
            period: config.period,
            enforced: config.enforcement == Enforcement::Block,
            cut_stream: config.on_exhausted == OnExhausted::CutStream,
            alerts,
            downgrade: config.downgrade.as_ref().map(|d| DowngradeRule {
                at: share(limit, d.at),
                models: d.models.clone(),
            }),
        }
    }

    /// Every attribute the scope names must equal the call's; `{}` matches every call.
    pub fn matches(&self, ctx: &GovernanceContext) -> bool {
        let s = &self.scope;
        [
            (&s.key, &ctx.key_name),
            (&s.team, &ctx.team),
            (&s.project, &ctx.project),
            (&s.customer_id, &ctx.customer_id),
            (&s.cost_center, &ctx.cost_center),
            (&s.feature, &ctx.feature),
            (&s.environment, &ctx.environment),
        ]
        .into_iter()
        .all(|(wanted, actual)| wanted.is_none() || wanted == actual)
    }

    /// This budget in the period containing `now_ms`, as the store counts it.
    pub fn limit_at(&self, now_ms: i64) -> BudgetLimit {
        BudgetLimit {
            key: BudgetKey {
                budget_id: self.id.clone(),
                period_start: period::start(self.period, now_ms),
            },
            limit: self.limit,
            enforced: self.enforced,
            cut_stream: self.cut_stream,
            retain_secs: period::retain_secs(self.period),
        }
    }

    pub fn period_name(&self) -> &'static str {
        period::name(self.period)
    }

    /// The exceedance report for this budget at these counters.
    pub(super) fn exceeded(&self, state: &BudgetState) -> BudgetRefusal {
        let resets_at = period::resets_at(self.period, state.key.period_start);
        BudgetRefusal {
            budget_id: self.id.clone(),
            consumed: state.consumed,
            limit: state.limit,
            period: self.period_name(),
            message: message::exhausted(
                &self.id,
                state.consumed,
                state.limit,
                period::phrase(self.period),
                resets_at.as_deref(),
            ),
            resets_at,
        }
    }

    /// The thresholds this call's debit crossed: share before < threshold <= share after.
    pub(super) fn crossed(&self, state: &BudgetState, actual: NanoUsd) -> Vec<BudgetAlert> {
        let before = state.consumed.saturating_sub(actual);
        self.alerts
            .iter()
            .filter(|(_, at)| before < *at && *at <= state.consumed)
            .map(|(threshold, _)| BudgetAlert {
                budget_id: self.id.clone(),
                threshold: *threshold,
                consumed: state.consumed,
                limit: state.limit,
                period: self.period_name(),
            })
            .collect()
    }
}
