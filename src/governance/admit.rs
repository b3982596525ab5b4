//! The decision before forwarding: policies, model downgrade, rate limits, budget reservation.
//!
//! Every check here is inline and ordered cheapest first; the first refusal wins, and nothing
//! held for a refused call (tokens, reservations) stays held.

use std::sync::Arc;
use std::time::SystemTime;

use crate::config::schema::{OnUnavailable, UnknownModel};
use crate::error::GatewayError;
use crate::gateway::{Gateway, Generation};
use crate::governance::budget::{events, Admission, BudgetDecision};
use crate::governance::context::GovernanceContext;
use crate::governance::ratelimit::RateDecision;
use crate::ledger::LedgerError;
use crate::metering::{tokenizer, RequestFacts};
use crate::pricing::PriceRow;
use crate::provider::{Operation, ProviderKind};
use crate::record::{BudgetSnapshot, CallEvent, NanoUsd, PolicyOutcome, PolicyResult};

/// Output tokens assumed for a reservation when neither the request nor the catalog caps them.
pub const DEFAULT_OUTPUT_CAP: u64 = 4096;
/// The least output a `cut_stream` budget must have room for to admit a call at all.
const MIN_STREAM_OUTPUT_TOKENS: u64 = 256;

/// What the call needs from governance.
pub struct AdmitInput<'a> {
    pub call_id: &'a str,
    pub kind: ProviderKind,
    pub operation: Operation,
    pub facts: &'a RequestFacts,
    pub body_len: usize,
    pub body: &'a [u8],
    pub governance: &'a GovernanceContext,
}

/// A call that may go ahead, with what it holds until it settles.
pub struct Admitted {
    pub budget: Option<Admission>,
    pub rate: RateDecision,
    pub price: Option<Arc<PriceRow>>,
    /// Estimated input tokens (upper bound) used for the reservation.
    pub input_estimate: u64,
    pub warnings: Vec<Warning>,
    pub events: Vec<CallEvent>,
}

/// A non-blocking finding that turns the call's result into `warning`.
#[derive(Clone, Debug)]
pub struct Warning {
    pub name: String,
    pub reason: String,
    pub reason_code: &'static str,
}

/// A refusal with the policy fields to record.
pub struct Refusal {
    pub error: GatewayError,
    pub result: PolicyResult,
    pub name: String,
    pub rate: Option<Box<RateDecision>>,
    /// The budget that refused, for `genops.budget.*` on the span.
    pub budget: Option<BudgetSnapshot>,
}

fn output_cap(facts: &RequestFacts, price: Option<&PriceRow>) -> u64 {
    facts
        .max_tokens
        .or_else(|| price.and_then(|p| p.max_output_tokens))
        .unwrap_or(DEFAULT_OUTPUT_CAP)
}

fn store_failure(
    generation: &Generation,
    e: LedgerError,
    warnings: &mut Vec<Warning>,
) -> Result<(), Refusal> {
    match generation.config.raw.ledger.on_unavailable {
        OnUnavailable::FailClosed => Err(Refusal {
            error: GatewayError::StoreUnavailable(format!(
                "the gateway cannot reach its spend ledger, so it cannot check budgets (ledger.on_unavailable: fail_closed); retry shortly: {e}"
            )),
            result: PolicyResult::Blocked,
            name: "ledger".to_string(),
            rate: None,
            budget: None,
        }),
        OnUnavailable::FailOpen => {
            warnings.push(Warning {
                name: "ledger".to_string(),
                reason: "spend ledger unavailable; budgets not enforced (ledger.on_unavailable: fail_open)".to_string(),
                reason_code: "LEDGER_UNAVAILABLE",
            });
            Ok(())
        }
    }
}

/// Rate limits, then budgets. Policies and downgrade ran before (they may change the model).
pub async fn admit(
    gateway: &Gateway,
    generation: &Generation,
    input: &AdmitInput<'_>,
) -> Result<Admitted, Refusal> {
    let mut warnings = Vec::new();
    let mut events = Vec::new();
    let model = input.facts.model.as_deref().unwrap_or("");
    let price = generation.catalog.lookup(input.kind, model);
    if price.is_none() && input.operation.is_metered() && !model.is_empty() {
        match generation.config.raw.pricing.unknown_model {
            UnknownModel::Block => {
                return Err(Refusal {
                    error: GatewayError::PolicyViolation(format!(
                        "model {model} has no price in the gateway's catalog and pricing.unknown_model is block; ask your platform team to add it to pricing/"
                    )),
                    result: PolicyResult::Blocked,
                    name: "pricing.unknown_model".to_string(),
                    rate: None,
            budget: None,
                })
            }
            UnknownModel::Warn => warnings.push(Warning {
                name: "pricing.unknown_model".to_string(),
                reason: format!("model {model} has no price; its cost is recorded as unknown"),
                reason_code: "PRICING_UNKNOWN_MODEL",
            }),
            UnknownModel::Allow => {}
        }
    }
    let cap = output_cap(input.facts, price.as_deref());
    let input_upper = tokenizer::prompt_upper_bound_tokens(input.body_len);

    // Rate limits count an estimate (about four bytes a token) and are corrected after the call.
    let rate_estimate = (input.body_len as u64 / 4).max(1) + cap;
    let rate = match generation
        .rate_limits
        .check(input.governance, rate_estimate)
        .await
    {
        Ok(d) => d,
        Err(e) => {
            return Err(Refusal {
                error: e,
                result: PolicyResult::Blocked,
                name: "rate_limits".to_string(),
                rate: None,
                budget: None,
            })
        }
    };
    if let Some(error) = rate.error() {
        let name = match &error {
            GatewayError::RateLimited { message, .. } => message
                .split(':')
                .next()
                .unwrap_or("rate limit")
                .trim_start_matches("rate limit ")
                .to_string(),
            _ => "rate limit".to_string(),
        };
        return Err(Refusal {
            error,
            result: PolicyResult::RateLimited,
            name,
            rate: Some(Box::new(rate)),
            budget: None,
        });
    }
    for w in rate.warnings() {
        warnings.push(Warning {
            name: w.rule_id.clone(),
            reason: w.reason.clone(),
            reason_code: "RATE_LIMITED",
        });
    }

    // Always through the budget engine, even with no budget in scope: the admission is what
    // settles the call's spend record afterwards.
    let budget = {
        match reserve(
            gateway,
            generation,
            input,
            price.as_deref(),
            input_upper,
            cap,
        )
        .await
        {
            Ok(BudgetDecision::Admitted(admission)) => {
                for w in &admission.warnings {
                    warnings.push(Warning {
                        name: w.budget_id.clone(),
                        reason: w.message.clone(),
                        reason_code: "BUDGET_EXCEEDED",
                    });
                }
                events.push(events::reservation(&admission, SystemTime::now()));
                Some(admission)
            }
            Ok(BudgetDecision::Refused(refusal)) => {
                generation.rate_limits.record_actual(&rate, 0).await;
                let snapshot = BudgetSnapshot {
                    id: refusal.budget_id.clone(),
                    period: refusal.period.to_string(),
                    limit: refusal.limit,
                    consumed: refusal.consumed,
                    remaining: refusal.limit.saturating_sub(refusal.consumed),
                };
                return Err(Refusal {
                    error: GatewayError::BudgetExceeded(refusal.message.clone()),
                    result: PolicyResult::Blocked,
                    name: refusal.budget_id,
                    rate: Some(Box::new(rate)),
                    budget: Some(snapshot),
                });
            }
            Err(e) => {
                if let Err(refusal) = store_failure(generation, e, &mut warnings) {
                    generation.rate_limits.record_actual(&rate, 0).await;
                    return Err(refusal);
                }
                None
            }
        }
    };
    Ok(Admitted {
        budget,
        rate,
        price,
        input_estimate: input_upper,
        warnings,
        events,
    })
}

/// Reserves with the cheap input bound; when that does not fit, counts the prompt exactly and
/// tries once more (a refused reservation holds nothing, so the retry is safe).
async fn reserve(
    gateway: &Gateway,
    generation: &Generation,
    input: &AdmitInput<'_>,
    price: Option<&PriceRow>,
    input_upper: u64,
    cap: u64,
) -> Result<BudgetDecision, LedgerError> {
    let amounts = |input_tokens: u64| -> (NanoUsd, NanoUsd) {
        price.map_or((0, 0), |p| {
            (
                p.reservation(input_tokens, cap),
                p.reservation(input_tokens, cap.min(MIN_STREAM_OUTPUT_TOKENS)),
            )
        })
    };
    let (estimate, min_amount) = amounts(input_upper);
    let store = gateway.ledger.as_ref();
    let first = generation
        .budgets
        .reserve(
            store,
            input.governance,
            input.call_id,
            estimate,
            min_amount,
            gateway.clock.as_ref(),
        )
        .await?;
    if matches!(first, BudgetDecision::Refused(_)) && price.is_some() {
        let model = input.facts.model.as_deref().unwrap_or("");
        let exact = tokenizer::count_prompt(input.kind, input.operation, model, input.body);
        if exact < input_upper {
            let (estimate, min_amount) = amounts(exact);
            return generation
                .budgets
                .reserve(
                    store,
                    input.governance,
                    input.call_id,
                    estimate,
                    min_amount,
                    gateway.clock.as_ref(),
                )
                .await;
        }
    }
    Ok(first)
}

/// The policy fields for an admitted call.
pub fn outcome_for(warnings: &[Warning]) -> PolicyOutcome {
    match warnings.first() {
        None => PolicyOutcome::default(),
        Some(w) => PolicyOutcome {
            result: PolicyResult::Warning,
            name: Some(w.name.clone()),
            reason: Some(w.reason.clone()),
            reason_code: Some(w.reason_code.to_string()),
            response_time: Default::default(),
        },
    }
}
