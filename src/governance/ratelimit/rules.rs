//! `rate_limits:` entries compiled into the buckets a call is checked against.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;

use super::backend::{Bucket, LimitKind};
use crate::config::schema::{Enforcement, RateLimitConfig, Scope};
use crate::governance::context::GovernanceContext;
use crate::governance::scope;

/// One `rate_limits:` entry, ready to check.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub scope: Scope,
    pub enforced: bool,
    pub requests: Option<Bucket>,
    pub tokens: Option<Bucket>,
}

impl Rule {
    pub fn compile(config: &RateLimitConfig) -> Rule {
        let id: Arc<str> = Arc::from(config.id.as_str());
        let scope_key: Arc<str> = Arc::from(scope::label(&config.scope));
        let bucket = |kind, per_minute: Option<u32>| {
            per_minute
                .and_then(NonZeroU32::new)
                .map(|per_minute| Bucket {
                    rule_id: id.clone(),
                    kind,
                    per_minute,
                    scope: scope_key.clone(),
                })
        };
        Rule {
            scope: config.scope.clone(),
            enforced: config.enforcement == Enforcement::Block,
            requests: bucket(LimitKind::Requests, config.requests_per_minute),
            tokens: bucket(LimitKind::Tokens, config.tokens_per_minute),
        }
    }

    pub fn applies_to(&self, ctx: &GovernanceContext) -> bool {
        scope::matches(&self.scope, ctx)
    }
}

/// Every problem in `rate_limits:`, for `genops-gateway check` and reload.
pub fn validate(rules: &[RateLimitConfig]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for rule in rules {
        if !ids.insert(rule.id.as_str()) {
            problems.push(format!("rate_limits: id {} is used twice", rule.id));
        }
        match (rule.requests_per_minute, rule.tokens_per_minute) {
            (None, None) => problems.push(format!(
                "rate_limits.{}: set requests_per_minute, tokens_per_minute or both",
                rule.id
            )),
            (rpm, tpm) => {
                for (name, value) in [("requests_per_minute", rpm), ("tokens_per_minute", tpm)] {
                    if value == Some(0) {
                        problems.push(format!(
                            "rate_limits.{}: {name} must be at least 1",
                            rule.id
                        ));
                    }
                }
            }
        }
    }
    problems
}
