//! A call's rate-limit verdict: admitted, warned or limited, with the headers the caller sees.

use std::time::Duration;

use super::backend::{Bucket, LimitKind, LimitOutcome, LimitRequest};
use crate::error::GatewayError;

/// Over a `warn` limit: the call goes ahead, the response says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateWarning {
    pub rule_id: String,
    /// For `x-genops-policy-reason`: "600 requests per minute exceeded".
    pub reason: String,
}

/// Over a `block` limit: the call gets a 429.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateRefusal {
    pub rule_id: String,
    pub message: String,
    /// Whole seconds, at least 1 (the `retry-after` header).
    pub retry_after_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RateOutcome {
    Admitted,
    Warned(Vec<RateWarning>),
    Limited(RateRefusal),
}

/// A limit and what is left of it after this call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remaining {
    pub limit: u64,
    pub remaining: u64,
}

/// OpenAI-named headers for the tightest applicable request and token limits (each kind on its
/// own: the two may come from different rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub requests: Option<Remaining>,
    pub tokens: Option<Remaining>,
}

impl RateHeaders {
    /// `(name, value)` pairs to add to the response; none where no limit applies.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(4);
        if let Some(r) = self.requests {
            out.push(("x-ratelimit-limit-requests", r.limit.to_string()));
            out.push(("x-ratelimit-remaining-requests", r.remaining.to_string()));
        }
        if let Some(t) = self.tokens {
            out.push(("x-ratelimit-limit-tokens", t.limit.to_string()));
            out.push(("x-ratelimit-remaining-tokens", t.remaining.to_string()));
        }
        out
    }

    fn consider(&mut self, kind: LimitKind, limit: u64, remaining: u64) {
        let slot = match kind {
            LimitKind::Requests => &mut self.requests,
            LimitKind::Tokens => &mut self.tokens,
        };
        let tighter = slot.is_none_or(|cur| (remaining, limit) < (cur.remaining, cur.limit));
        if tighter {
            *slot = Some(Remaining { limit, remaining });
        }
    }
}

/// Token cells a call holds, corrected with actual usage afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Granted {
    pub bucket: Bucket,
    pub taken: u64,
}

/// The verdict for one call; keep it until the call ends for [`super::RateLimits::record_actual`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateDecision {
    pub outcome: RateOutcome,
    pub headers: RateHeaders,
    pub(crate) granted: Vec<Granted>,
}

impl RateDecision {
    /// No limit applies to the call.
    pub fn unlimited() -> Self {
        RateDecision {
            outcome: RateOutcome::Admitted,
            headers: RateHeaders::default(),
            granted: Vec::new(),
        }
    }

    pub fn is_limited(&self) -> bool {
        matches!(self.outcome, RateOutcome::Limited(_))
    }

    /// The 429 for a limited call.
    pub fn error(&self) -> Option<GatewayError> {
        match &self.outcome {
            RateOutcome::Limited(r) => Some(GatewayError::RateLimited {
                message: r.message.clone(),
                retry_after_secs: r.retry_after_secs,
            }),
            _ => None,
        }
    }

    pub fn warnings(&self) -> &[RateWarning] {
        match &self.outcome {
            RateOutcome::Warned(w) => w,
            _ => &[],
        }
    }
}

/// Whole seconds to wait, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

fn exceeded(bucket: &Bucket) -> String {
    format!(
        "{} {} per minute exceeded",
        bucket.per_minute,
        bucket.kind.unit()
    )
}

/// Folds the backend's per-limit outcomes into the call's verdict.
pub(crate) fn decide(
    requests: &[LimitRequest<'_>],
    outcomes: &[LimitOutcome],
    estimated_tokens: u64,
) -> RateDecision {
    let mut headers = RateHeaders::default();
    let mut warnings = Vec::new();
    let mut granted = Vec::new();
    let mut refused: Option<(&Bucket, Duration)> = None;
    for (request, outcome) in requests.iter().zip(outcomes) {
        let bucket = request.bucket;
        let limit = u64::from(bucket.per_minute.get());
        match *outcome {
            LimitOutcome::Admitted { taken, remaining } => {
                headers.consider(bucket.kind, limit, remaining);
                if bucket.kind == LimitKind::Tokens {
                    granted.push(Granted {
                        bucket: bucket.clone(),
                        taken,
                    });
                }
            }
            LimitOutcome::Refused { retry_after } => {
                headers.consider(bucket.kind, limit, 0);
                if !request.enforced {
                    warnings.push(RateWarning {
                        rule_id: bucket.rule_id.to_string(),
                        reason: exceeded(bucket),
                    });
                } else if refused.is_none_or(|(_, longest)| retry_after > longest) {
                    // The call cannot pass before its longest wait is over.
                    refused = Some((bucket, retry_after));
                }
            }
        }
    }
    let outcome = match refused {
        Some((bucket, wait)) => {
            granted.clear();
            RateOutcome::Limited(refusal(bucket, wait, estimated_tokens))
        }
        None if warnings.is_empty() => RateOutcome::Admitted,
        None => RateOutcome::Warned(warnings),
    };
    RateDecision {
        outcome,
        headers,
        granted,
    }
}

fn refusal(bucket: &Bucket, wait: Duration, estimated_tokens: u64) -> RateRefusal {
    let secs = retry_after_secs(wait);
    let detail = match bucket.kind {
        LimitKind::Requests => String::new(),
        LimitKind::Tokens => format!(" (this call is estimated at {estimated_tokens} tokens)"),
    };
    RateRefusal {
        rule_id: bucket.rule_id.to_string(),
        message: format!(
            "rate limit {}: {}{detail}; retry in {secs} s",
            bucket.rule_id,
            exceeded(bucket)
        ),
        retry_after_secs: secs,
    }
}
