//! Rate limits: requests and tokens per minute per scope, decided once per call before forwarding.
//!
//! Every `rate_limits:` rule whose scope matches the call contributes a request limit (1 cell)
//! and/or a token limit (the estimated tokens). The backend decides all of them at once: if any
//! `block` limit refuses, nothing is taken from any limit, so a call refused for tokens does not
//! use up request quota (or another rule's quota). `warn` limits that refuse let the call through
//! with a warning and take nothing. After the call, [`RateLimits::record_actual`] corrects the
//! token limits with actual usage (gives back the difference, or takes the extra without ever
//! refusing). Scopes match exact values only (see `governance::scope`).

mod backend;
mod decision;
mod in_process;
pub mod redis;
mod rules;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use backend::{
    Bucket, LimitKind, LimitOutcome, LimitRequest, RateLimitBackend, RateLimitError,
};
pub use decision::{
    retry_after_secs, RateDecision, RateHeaders, RateOutcome, RateRefusal, RateWarning, Remaining,
};
pub use in_process::GovernorBackend;
pub use rules::validate;

use crate::config::schema::RateLimitConfig;
use crate::error::GatewayError;
use crate::governance::context::GovernanceContext;
use rules::Rule;

/// The configured rate limits over a backend. Rebuild it on reload with the same backend
/// ([`RateLimits::backend`]) and unchanged rules keep their state.
#[derive(Debug, Clone)]
pub struct RateLimits {
    rules: Vec<Rule>,
    backend: Arc<dyn RateLimitBackend>,
    fail_open: bool,
}

impl RateLimits {
    pub fn new(rules: &[RateLimitConfig], backend: Arc<dyn RateLimitBackend>) -> Self {
        RateLimits {
            rules: rules.iter().map(Rule::compile).collect(),
            backend,
            fail_open: false,
        }
    }

    /// With state in this process (one replica).
    pub fn in_process(rules: &[RateLimitConfig]) -> Self {
        RateLimits::new(rules, Arc::new(GovernorBackend::default()))
    }

    /// When the backend is unreachable: admit (`true`) or answer 503 (`false`, the default).
    pub fn with_fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    pub fn backend(&self) -> Arc<dyn RateLimitBackend> {
        self.backend.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides the call; admitted calls have taken their cells. `Err` only when the backend is
    /// unreachable and the gateway fails closed.
    pub async fn check(
        &self,
        ctx: &GovernanceContext,
        estimated_tokens: u64,
    ) -> Result<RateDecision, GatewayError> {
        let mut requests = Vec::new();
        for rule in self.rules.iter().filter(|r| r.applies_to(ctx)) {
            if let Some(bucket) = &rule.requests {
                requests.push(LimitRequest {
                    bucket,
                    cells: 1,
                    enforced: rule.enforced,
                });
            }
            if let Some(bucket) = &rule.tokens {
                requests.push(LimitRequest {
                    bucket,
                    cells: estimated_tokens,
                    enforced: rule.enforced,
                });
            }
        }
        if requests.is_empty() {
            return Ok(RateDecision::unlimited());
        }
        match self.backend.acquire(&requests).await {
            Ok(outcomes) => Ok(decision::decide(&requests, &outcomes, estimated_tokens)),
            Err(e) if self.fail_open => {
                tracing::warn!(error = %e, "rate limits skipped (fail_open)");
                Ok(RateDecision::unlimited())
            }
            Err(e) => Err(GatewayError::StoreUnavailable(e.to_string())),
        }
    }

    /// Corrects the token limits the call was admitted under with its actual tokens.
    pub async fn record_actual(&self, decision: &RateDecision, actual_tokens: u64) {
        for granted in &decision.granted {
            let actual = i64::try_from(actual_tokens).unwrap_or(i64::MAX);
            let taken = i64::try_from(granted.taken).unwrap_or(i64::MAX);
            let delta = actual.saturating_sub(taken);
            if delta == 0 {
                continue;
            }
            if let Err(e) = self.backend.adjust(&granted.bucket, delta).await {
                tracing::warn!(error = %e, rule = %granted.bucket.rule_id, "token usage not recorded");
            }
        }
    }
}
