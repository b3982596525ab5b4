//! Answers the gateway writes itself (refusals and failures), in the caller's provider format.

use pingora::proxy::Session;

use crate::error::GatewayError;
use crate::proxy::ctx::CallCtx;
use crate::proxy::headers;
use crate::record::PolicyResult;

/// Writes `error` to the caller and records it on the call.
pub async fn refuse(session: &mut Session, ctx: &mut CallCtx, error: &GatewayError) {
    let body = error.body(ctx.format);
    ctx.record.status = error.status();
    ctx.record.error_type = Some(error.label().to_string());
    if let Some(code) = error.reason_code() {
        ctx.record
            .policy
            .reason_code
            .get_or_insert_with(|| code.to_string());
    }
    // A governance refusal is a decision, whatever step made it.
    if ctx.record.policy.result == PolicyResult::Allowed {
        match error {
            GatewayError::InvalidKey(_)
            | GatewayError::PolicyViolation(_)
            | GatewayError::BudgetExceeded(_)
            | GatewayError::StoreUnavailable(_) => {
                ctx.record.policy.result = PolicyResult::Blocked;
                ctx.record
                    .policy
                    .reason
                    .get_or_insert_with(|| error.message());
            }
            GatewayError::RateLimited { .. } => {
                ctx.record.policy.result = PolicyResult::RateLimited
            }
            _ => {}
        }
    }
    if ctx.record.policy.response_time.is_zero() {
        ctx.record.policy.response_time = ctx.started.elapsed();
    }
    let Ok(mut resp) = headers::json_response(error.status(), body.len()) else {
        return;
    };
    headers::set_gateway_header(&mut resp, "x-genops-request-id", &ctx.record.request_id);
    let result = ctx.record.policy.result;
    headers::set_gateway_header(&mut resp, "x-genops-policy-result", header_result(result));
    if result != PolicyResult::Allowed {
        if let Some(name) = &ctx.record.policy.name {
            headers::set_gateway_header(&mut resp, "x-genops-policy-name", name);
        }
        if let Some(reason) = &ctx.record.policy.reason {
            headers::set_gateway_header(&mut resp, "x-genops-policy-reason", reason);
        }
    }
    for (name, value) in &ctx.extra_headers {
        headers::set_gateway_header(&mut resp, name, value);
    }
    if let GatewayError::RateLimited {
        retry_after_secs, ..
    } = error
    {
        headers::set_gateway_header(&mut resp, "retry-after", &retry_after_secs.to_string());
    }
    // The caller's body may be partly unread (e.g. 413, or refused before reading it): do not
    // reuse the connection then.
    if !session.downstream_session.is_body_done() {
        session.set_keepalive(None);
    }
    if session
        .write_response_header(Box::new(resp), false)
        .await
        .is_ok()
    {
        let _ = session.write_response_body(Some(body), true).await;
    }
}

/// `x-genops-policy-result` has three values (http.md); a rate-limited call is `blocked` there
/// and `rate_limited` on its span.
pub fn header_result(result: PolicyResult) -> &'static str {
    match result {
        PolicyResult::RateLimited => "blocked",
        other => other.as_str(),
    }
}
