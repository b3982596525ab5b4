//! After the call: settle the reservation at the actual cost, correct rate limits, and record
//! budget state and events on the call.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::gateway::{Gateway, Generation};
use crate::governance::admit::Admitted;
use crate::governance::budget::events;
use crate::ledger::SpendRecord;
use crate::record::CallRecord;

/// The ledger's copy of a finished call.
pub fn spend_record(record: &CallRecord) -> SpendRecord {
    let g = &record.governance;
    let tokens = record.tokens.unwrap_or_default();
    SpendRecord {
        request_id: record.request_id.clone(),
        time_ms: record
            .start
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        key: g.key_name.clone(),
        team: g.team.clone(),
        project: g.project.clone(),
        customer_id: g.customer_id.clone(),
        cost_center: g.cost_center.clone(),
        feature: g.feature.clone(),
        environment: g.environment.clone(),
        provider: record.provider_name.clone().unwrap_or_default(),
        model: record.request.model.clone(),
        input_tokens: tokens.input,
        output_tokens: tokens.output,
        cost: record.cost.as_ref().map_or(0, |c| c.total()),
        policy_result: record.policy.result.as_str().to_string(),
    }
}

/// Settles everything the call held. Never loses a debit: a stream that failed settles at what
/// was streamed.
pub async fn settle(
    gateway: &Gateway,
    generation: &Generation,
    admitted: Admitted,
    record: &mut CallRecord,
) {
    let actual = record.cost.as_ref().map_or(0, |c| c.total());
    let tokens = record.tokens.map_or(0, |t| t.total());
    generation
        .rate_limits
        .record_actual(&admitted.rate, tokens)
        .await;
    let Some(admission) = admitted.budget else {
        return;
    };
    record.reserved = Some(admission.reserved());
    record.settled = Some(actual);
    let spend = spend_record(record);
    match generation
        .budgets
        .settle(gateway.ledger.as_ref(), &admission, actual, spend)
        .await
    {
        Ok(outcome) => {
            let now = SystemTime::now();
            record
                .events
                .push(events::reconciliation(admission.reserved(), actual, now));
            for alert in &outcome.alerts {
                record.events.push(alert.event(now));
            }
            for state in &outcome.states {
                gateway.telemetry.record_budget_gauges(
                    &state.key.budget_id,
                    CallRecord::usd(state.limit),
                    CallRecord::usd(state.consumed),
                    CallRecord::usd(state.limit.saturating_sub(state.consumed)),
                );
            }
            record.budget = outcome.snapshot;
        }
        Err(e) => {
            tracing::error!(request_id = %record.request_id, "could not settle the call in the ledger: {e}");
        }
    }
}
