//! Response-phase content checks: detectors run over the completion as it streams.
//!
//! A block rule that fires yields one [`GuardHit`]: the caller ends the stream
//! (`genops.stream.terminated = "policy"`). A warn rule only records its findings. Text passes to
//! the client before it is scanned (scanning waits for a small window of new text, see
//! `detectors::stream`), so a hit cuts the stream shortly after the match, not before it.

use std::sync::Arc;

use super::request::{content_violation, rule_result};
use super::verdict::{RuleEvaluation, Violation};
use super::{Check, PolicyEngine};
use crate::config::schema::Enforcement;
use crate::config::schema::Scope;
use crate::governance::context::GovernanceContext;
use crate::governance::detectors::{eval_scores, StreamScanner};
use crate::record::{EvalOutcome, PolicyOutcome, PolicyResult};

/// A block rule fired on the completion.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardHit {
    pub rule: Arc<str>,
    /// "policy pii-guard: the completion contains pii.email".
    pub reason: String,
    /// `POLICY_DENY_CONTENT`.
    pub reason_code: &'static str,
    /// The rule's findings on the completion so far.
    pub findings: Vec<String>,
}

impl GuardHit {
    /// The span's `genops.policy.*` values for a call cut by this hit.
    pub fn outcome(&self) -> PolicyOutcome {
        PolicyOutcome {
            result: PolicyResult::Blocked,
            name: Some(self.rule.to_string()),
            reason: Some(self.reason.clone()),
            reason_code: Some(self.reason_code.to_string()),
            response_time: Default::default(),
        }
    }
}

struct Watch {
    rule: Arc<str>,
    scope: Scope,
    enforcement: Enforcement,
    scanner: StreamScanner,
    findings: Vec<String>,
    violation: Option<Violation>,
}

/// The response-phase content rules in scope for one call, with their scan state.
pub struct ResponseGuard {
    watches: Vec<Watch>,
    hit: Option<GuardHit>,
}

impl std::fmt::Debug for ResponseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rules: Vec<&str> = self.watches.iter().map(|w| &*w.rule).collect();
        f.debug_struct("ResponseGuard")
            .field("rules", &rules)
            .field("hit", &self.hit)
            .finish()
    }
}

impl PolicyEngine {
    /// A guard for the content rules with `on: [.., response]` whose scope selects this call;
    /// `None` when there are none (the common case: nothing to do per delta).
    pub fn response_scanner(&self, ctx: &GovernanceContext) -> Option<ResponseGuard> {
        let watches: Vec<Watch> = self
            .in_scope(ctx)
            .filter_map(|(_, rule)| match &rule.check {
                Check::Content(c) if c.response => Some(Watch {
                    rule: rule.id.clone(),
                    scope: rule.scope.clone(),
                    enforcement: rule.enforcement,
                    scanner: StreamScanner::new(Arc::clone(&c.detectors)),
                    findings: Vec::new(),
                    violation: None,
                }),
                _ => None,
            })
            .collect();
        (!watches.is_empty()).then_some(ResponseGuard { watches, hit: None })
    }
}

impl ResponseGuard {
    /// Feeds one piece of completion text. Returns the hit the first time a block rule fires;
    /// after that the guard stops scanning (the stream is being cut).
    pub fn push(&mut self, delta: &str) -> Option<GuardHit> {
        self.step(|scanner, findings| scanner.push(delta, findings))
    }

    /// Scans what is still buffered at the end of the completion. A hit here comes after the
    /// text reached the client; the caller can still withhold the stream's terminal event and
    /// records the block.
    pub fn finish(&mut self) -> Option<GuardHit> {
        self.step(|scanner, findings| scanner.finish(findings))
    }

    /// The hit that cut the stream, if any.
    pub fn hit(&self) -> Option<&GuardHit> {
        self.hit.as_ref()
    }

    /// Merges the completion's findings into the call's eval (`performed` becomes true) and
    /// recomputes the scores over request and response findings together.
    pub fn eval(&self, eval: &mut EvalOutcome) {
        eval.performed = true;
        for w in &self.watches {
            for f in &w.findings {
                if !eval.findings.contains(f) {
                    eval.findings.push(f.clone());
                }
            }
        }
        let (safety, compliance) = eval_scores(&eval.findings);
        eval.safety = Some(safety);
        eval.compliance = Some(compliance);
    }

    /// Each response rule's result so far (for `genops.policy.evaluated` events).
    pub fn evaluations(&self) -> Vec<RuleEvaluation> {
        self.watches
            .iter()
            .map(|w| RuleEvaluation {
                rule: w.rule.clone(),
                check: "content",
                result: rule_result(w.enforcement, w.violation.is_some()),
                violation: w.violation.clone(),
            })
            .collect()
    }

    fn step(
        &mut self,
        mut scan: impl FnMut(&mut StreamScanner, &mut Vec<String>),
    ) -> Option<GuardHit> {
        if self.hit.is_some() {
            return None;
        }
        let mut new_hit = None;
        for w in &mut self.watches {
            let before = w.findings.len();
            scan(&mut w.scanner, &mut w.findings);
            if w.findings.len() == before {
                continue;
            }
            w.violation = content_violation(&w.rule, &w.scope, &w.findings, "the completion");
            if w.enforcement == Enforcement::Block && new_hit.is_none() {
                new_hit = w.violation.as_ref().map(|v| GuardHit {
                    rule: w.rule.clone(),
                    reason: v.reason.clone(),
                    reason_code: v.reason_code,
                    findings: w.findings.clone(),
                });
            }
        }
        self.hit.clone_from(&new_hit);
        new_hit
    }
}
