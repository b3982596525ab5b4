//! The decision step of one call: model downgrade, policies, then rate limits and budgets —
//! and recording what was decided on the call.

use std::time::SystemTime;

use bytes::Bytes;

use crate::error::GatewayError;
use crate::gateway::{Gateway, Generation};
use crate::governance::admit::{self, AdmitInput};
use crate::governance::downgrade;
use crate::governance::policy::RequestInput;
use crate::metering::tokenizer;
use crate::provider::dispatch;
use crate::proxy::ctx::CallCtx;
use crate::record::PolicyResult;

/// Decides the call; returns the body to forward (the model may have been swapped).
pub async fn decide(
    gateway: &Gateway,
    generation: &Generation,
    ctx: &mut CallCtx,
    mut body: Bytes,
) -> Result<Bytes, GatewayError> {
    let Some(kind) = ctx.record.provider_kind else {
        return Err(GatewayError::BadRequest(
            "the call has no provider".to_string(),
        ));
    };
    let operation = ctx.record.operation;

    let mut swap_warning = None;
    if let Some(model) = ctx.record.request.model.clone() {
        if let Some(swap) =
            downgrade::find(gateway, generation, &ctx.record.governance, &model).await
        {
            if swap.apply {
                body = dispatch::rewrite_model(kind, &body, &swap.to)
                    .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
                ctx.record.request.model = Some(swap.to.clone());
            }
            let verb = if swap.apply {
                "downgraded"
            } else {
                "would be downgraded"
            };
            ctx.extra_headers.push((
                "x-genops-model-downgrade",
                format!("{} -> {}", swap.from, swap.to),
            ));
            swap_warning = Some(admit::Warning {
                name: swap.source.clone(),
                reason: format!(
                    "model {} {verb} to {} by {}",
                    swap.from, swap.to, swap.source
                ),
                reason_code: "BUDGET_DOWNGRADE",
            });
        }
    }

    let count_input = || {
        let model = ctx.record.request.model.as_deref().unwrap_or("");
        tokenizer::count_prompt(kind, operation, model, &body)
    };
    let verdict = generation.policies.evaluate_request(&RequestInput {
        ctx: &ctx.record.governance,
        provider: kind,
        operation,
        facts: &ctx.record.request,
        body: &body,
        count_input_tokens: &count_input,
    });
    ctx.record.eval = verdict.eval.clone();
    ctx.record.events.extend(verdict.events(SystemTime::now()));
    if let Some(error) = verdict.error() {
        let response_time = ctx.started.elapsed();
        ctx.record.policy = verdict.outcome();
        ctx.record.policy.response_time = response_time;
        return Err(error);
    }
    ctx.response_guard = generation.policies.response_scanner(&ctx.record.governance);

    let input = AdmitInput {
        call_id: &ctx.record.request_id,
        kind,
        operation,
        facts: &ctx.record.request,
        body_len: body.len(),
        body: &body,
        governance: &ctx.record.governance,
    };
    match admit::admit(gateway, generation, &input).await {
        Ok(admitted) => {
            let mut warnings: Vec<admit::Warning> = Vec::new();
            if verdict.result == PolicyResult::Warning {
                let outcome = verdict.outcome();
                warnings.push(admit::Warning {
                    name: outcome.name.unwrap_or_default(),
                    reason: outcome.reason.unwrap_or_default(),
                    reason_code: "POLICY_WARNING",
                });
            }
            warnings.extend(swap_warning);
            warnings.extend(admitted.warnings.iter().cloned());
            ctx.record.policy = admit::outcome_for(&warnings);
            if verdict.result == PolicyResult::Warning {
                ctx.record.policy.reason_code = verdict.outcome().reason_code;
            }
            ctx.record.events.extend(admitted.events.iter().cloned());
            ctx.extra_headers.extend(admitted.rate.headers.pairs());
            ctx.admitted = Some(admitted);
            Ok(body)
        }
        Err(refusal) => {
            ctx.record.budget = refusal.budget;
            ctx.record.policy.result = refusal.result;
            ctx.record.policy.name = Some(refusal.name);
            ctx.record.policy.reason = Some(refusal.error.message());
            if let Some(rate) = &refusal.rate {
                ctx.extra_headers.extend(rate.headers.pairs());
            }
            Err(refusal.error)
        }
    }
}
