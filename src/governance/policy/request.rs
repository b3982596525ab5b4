//! Request-phase evaluation: model lists, token caps, required attributes, prompt content.
//!
//! Cheap checks run first; the costly ones (an exact input-token count, the prompt scan) run
//! only when no rule has blocked yet. The token count is asked for at most once, and not at all
//! when the body is no longer than the cap: every token is at least one byte of prompt text, and
//! the prompt text is part of the body, so such a body cannot be over the cap.

use std::cell::OnceCell;

use super::verdict::{
    PolicyVerdict, RuleEvaluation, Violation, POLICY_DENY_CONTENT, POLICY_DENY_MODEL,
    POLICY_MAX_INPUT_TOKENS, POLICY_MAX_TOKENS, POLICY_REQUIRED_ATTRIBUTE,
};
use super::{prompt_text, scope_phrase, Check, CompiledRule, PolicyEngine};
use crate::config::schema::{Enforcement, Scope};
use crate::governance::context::GovernanceContext;
use crate::governance::detectors::eval_scores;
use crate::metering::RequestFacts;
use crate::provider::{Operation, ProviderKind};
use crate::record::PolicyResult;

/// What the request checks read about a call.
pub struct RequestInput<'a> {
    pub ctx: &'a GovernanceContext,
    pub provider: ProviderKind,
    pub operation: Operation,
    pub facts: &'a RequestFacts,
    /// The request body as received.
    pub body: &'a [u8],
    /// The exact input-token count (tokenizer); called at most once, only when a
    /// `max_input_tokens` rule in scope cannot be decided from the body size.
    pub count_input_tokens: &'a dyn Fn() -> u64,
}

/// Values computed once per call, on first need.
struct Lazy<'i, 'a> {
    input: &'i RequestInput<'a>,
    tokens: OnceCell<u64>,
    prompt: OnceCell<String>,
}

impl Lazy<'_, '_> {
    fn tokens(&self) -> u64 {
        *self
            .tokens
            .get_or_init(|| (self.input.count_input_tokens)())
    }

    fn prompt(&self) -> &str {
        self.prompt
            .get_or_init(|| prompt_text::extract(self.input.provider, self.input.body))
    }
}

impl PolicyEngine {
    /// Evaluates every rule in scope for the request. Unmetered operations (`GET /models`, ...)
    /// are not governed by policies: the verdict is an empty `Allowed`. Warn rules never block.
    pub fn evaluate_request(&self, input: &RequestInput<'_>) -> PolicyVerdict {
        let mut verdict = PolicyVerdict::default();
        if !input.operation.is_metered() {
            return verdict;
        }
        let lazy = Lazy {
            input,
            tokens: OnceCell::new(),
            prompt: OnceCell::new(),
        };
        let mut order: Vec<usize> = Vec::new();
        let mut findings: Vec<String> = Vec::new();
        let mut scanned = false;
        for costly in [false, true] {
            if costly && verdict.result == PolicyResult::Blocked {
                break;
            }
            for (i, rule) in self.in_scope(input.ctx) {
                if is_costly(&rule.check) != costly {
                    continue;
                }
                let outcome = match &rule.check {
                    Check::Content(c) if c.request => {
                        scanned = true;
                        let mut own = Vec::new();
                        c.detectors.scan(lazy.prompt(), &mut own);
                        let v = content_violation(&rule.id, &rule.scope, &own, "the prompt");
                        for f in own {
                            if !findings.contains(&f) {
                                findings.push(f);
                            }
                        }
                        v
                    }
                    Check::Content(_) | Check::Downgrade(_) => continue,
                    _ => cheap_or_tokens(rule, input, &lazy),
                };
                order.push(i);
                record(&mut verdict, rule, outcome);
            }
        }
        sort_by_rule(&mut verdict.evaluated, &order);
        if scanned {
            let (safety, compliance) = eval_scores(&findings);
            verdict.eval.performed = true;
            verdict.eval.safety = Some(safety);
            verdict.eval.compliance = Some(compliance);
            verdict.eval.findings = findings;
        }
        verdict
    }
}

fn is_costly(check: &Check) -> bool {
    matches!(check, Check::Content(_) | Check::MaxInputTokens(_))
}

fn cheap_or_tokens(
    rule: &CompiledRule,
    input: &RequestInput<'_>,
    lazy: &Lazy,
) -> Option<Violation> {
    let id = &rule.id;
    let model = input.facts.model.as_deref();
    match &rule.check {
        Check::DeniedModels(globs) => {
            let m = model.filter(|m| globs.matches(m))?;
            Some(Violation {
                reason: format!(
                    "policy {id}: model {m} is denied{}",
                    scope_phrase(&rule.scope)
                ),
                reason_code: POLICY_DENY_MODEL,
            })
        }
        Check::AllowedModels(globs) => {
            // No model in the body: nothing to check (the provider refuses such a request).
            let m = model.filter(|m| !globs.matches(m))?;
            Some(Violation {
                reason: format!(
                    "policy {id}: model {m} is not allowed{}; allowed: {}",
                    scope_phrase(&rule.scope),
                    globs.patterns.join(", ")
                ),
                reason_code: POLICY_DENY_MODEL,
            })
        }
        Check::MaxOutputTokens(cap) => {
            // Absent means the provider's default, which the gateway cannot see: not over.
            let asked = input.facts.max_tokens.filter(|n| n > cap)?;
            Some(Violation {
                reason: format!(
                    "policy {id}: max tokens {asked} is over the cap of {cap}{}; ask for at most {cap}",
                    scope_phrase(&rule.scope)
                ),
                reason_code: POLICY_MAX_TOKENS,
            })
        }
        Check::MaxInputTokens(cap) => {
            if input.body.len() as u64 <= *cap {
                return None;
            }
            let tokens = lazy.tokens();
            (tokens > *cap).then(|| Violation {
                reason: format!(
                    "policy {id}: the prompt has {tokens} tokens, over the cap of {cap}{}",
                    scope_phrase(&rule.scope)
                ),
                reason_code: POLICY_MAX_INPUT_TOKENS,
            })
        }
        Check::Require(dims) => {
            let missing: Vec<&str> = dims
                .iter()
                .filter(|d| input.ctx.get(**d).is_none())
                .map(|d| d.header().unwrap_or(d.name()))
                .collect();
            if missing.is_empty() {
                return None;
            }
            Some(Violation {
                reason: format!(
                    "policy {id}: the call must carry {}{}",
                    missing.join(", "),
                    scope_phrase(&rule.scope)
                ),
                reason_code: POLICY_REQUIRED_ATTRIBUTE,
            })
        }
        Check::Content(_) | Check::Downgrade(_) => None,
    }
}

/// A content rule's violation for the detector names it raised on `what`.
pub(super) fn content_violation(
    id: &str,
    scope: &Scope,
    findings: &[String],
    what: &str,
) -> Option<Violation> {
    if findings.is_empty() {
        return None;
    }
    Some(Violation {
        reason: format!(
            "policy {id}: {what} contains {}{}",
            findings.join(", "),
            scope_phrase(scope)
        ),
        reason_code: POLICY_DENY_CONTENT,
    })
}

/// The per-rule result for a violation (or its absence) under the rule's enforcement.
pub(super) fn rule_result(enforcement: Enforcement, violated: bool) -> PolicyResult {
    match (violated, enforcement) {
        (false, _) => PolicyResult::Allowed,
        (true, Enforcement::Warn) => PolicyResult::Warning,
        (true, Enforcement::Block) => PolicyResult::Blocked,
    }
}

fn record(verdict: &mut PolicyVerdict, rule: &CompiledRule, violation: Option<Violation>) {
    let result = rule_result(rule.enforcement, violation.is_some());
    verdict.result = match (verdict.result, result) {
        (PolicyResult::Blocked, _) | (_, PolicyResult::Blocked) => PolicyResult::Blocked,
        (PolicyResult::Warning, _) | (_, PolicyResult::Warning) => PolicyResult::Warning,
        _ => PolicyResult::Allowed,
    };
    verdict.evaluated.push(RuleEvaluation {
        rule: rule.id.clone(),
        check: check_name(&rule.check),
        result,
        violation,
    });
}

/// Puts evaluations (pushed cheap-first) back in file order, so "first" means first in the file.
fn sort_by_rule(evaluated: &mut Vec<RuleEvaluation>, order: &[usize]) {
    if order.windows(2).all(|w| w[0] < w[1]) {
        return;
    }
    let mut paired: Vec<(usize, RuleEvaluation)> =
        order.iter().copied().zip(evaluated.drain(..)).collect();
    paired.sort_by_key(|(i, _)| *i);
    evaluated.extend(paired.into_iter().map(|(_, e)| e));
}

pub(super) fn check_name(check: &Check) -> &'static str {
    match check {
        Check::AllowedModels(_) => "allowed_models",
        Check::DeniedModels(_) => "denied_models",
        Check::MaxOutputTokens(_) => "max_output_tokens",
        Check::MaxInputTokens(_) => "max_input_tokens",
        Check::Content(_) => "content",
        Check::Require(_) => "require",
        Check::Downgrade(_) => "downgrade",
    }
}
