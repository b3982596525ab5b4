//! What the request-phase checks decided: the overall result, the deciding rule, every rule's result.

use std::sync::Arc;
use std::time::SystemTime;

use crate::error::GatewayError;
use crate::record::{CallEvent, EvalOutcome, EventValue, PolicyOutcome, PolicyResult};

/// GenOps reason codes (`genops.policy.reason_code`) for policy violations.
pub const POLICY_DENY_MODEL: &str = "POLICY_DENY_MODEL";
pub const POLICY_MAX_TOKENS: &str = "POLICY_MAX_TOKENS";
pub const POLICY_MAX_INPUT_TOKENS: &str = "POLICY_MAX_INPUT_TOKENS";
pub const POLICY_REQUIRED_ATTRIBUTE: &str = "POLICY_REQUIRED_ATTRIBUTE";
pub const POLICY_DENY_CONTENT: &str = "POLICY_DENY_CONTENT";

/// Why a rule's check failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// A sentence naming the rule: "policy no-frontier-models-for-interns: model gpt-4o is denied
    /// for team interns".
    pub reason: String,
    pub reason_code: &'static str,
}

/// One rule that was evaluated for a call (a `genops.policy.evaluated` span event).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleEvaluation {
    pub rule: Arc<str>,
    /// The check's key in the policy file (`denied_models`, `content`, ...).
    pub check: &'static str,
    /// `Allowed` (passed), `Warning` (failed, warn mode) or `Blocked` (failed, block mode).
    pub result: PolicyResult,
    pub violation: Option<Violation>,
}

/// The request-phase decision of every policy rule in scope.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyVerdict {
    /// `Allowed`, `Warning` (a warn rule failed) or `Blocked` (a block rule failed).
    pub result: PolicyResult,
    /// The rules evaluated, in file order. Once a rule blocks, the costly checks (content scan,
    /// exact token count) are skipped and do not appear here.
    pub evaluated: Vec<RuleEvaluation>,
    /// `performed` when a content check ran on the prompt; findings and scores from it.
    pub eval: EvalOutcome,
}

impl PolicyVerdict {
    /// The first blocking rule, else the first warning rule; `None` when everything passed.
    pub fn deciding(&self) -> Option<&RuleEvaluation> {
        let first = |r: PolicyResult| self.evaluated.iter().find(|e| e.result == r);
        first(PolicyResult::Blocked).or_else(|| first(PolicyResult::Warning))
    }

    pub fn is_blocked(&self) -> bool {
        self.result == PolicyResult::Blocked
    }

    /// The span's `genops.policy.*` values (the caller sets `response_time`).
    pub fn outcome(&self) -> PolicyOutcome {
        let deciding = self.deciding();
        let violation = deciding.and_then(|d| d.violation.as_ref());
        PolicyOutcome {
            result: self.result,
            name: deciding.map(|d| d.rule.to_string()),
            reason: violation.map(|v| v.reason.clone()),
            reason_code: violation.map(|v| v.reason_code.to_string()),
            response_time: Default::default(),
        }
    }

    /// The 403 to answer with when the verdict blocks.
    pub fn error(&self) -> Option<GatewayError> {
        if !self.is_blocked() {
            return None;
        }
        let reason = self
            .deciding()
            .and_then(|d| d.violation.as_ref())
            .map(|v| v.reason.clone())
            .unwrap_or_else(|| "blocked by policy".to_string());
        Some(GatewayError::PolicyViolation(reason))
    }

    /// One `genops.policy.evaluated` event per evaluated rule: `genops.policy.name`,
    /// `genops.policy.check`, `genops.policy.result`, and on failure `genops.policy.reason_code`.
    pub fn events(&self, time: SystemTime) -> Vec<CallEvent> {
        self.evaluated.iter().map(|e| e.event(time)).collect()
    }
}

impl RuleEvaluation {
    pub fn event(&self, time: SystemTime) -> CallEvent {
        let mut attributes = vec![
            ("genops.policy.name", EventValue::Str(self.rule.to_string())),
            (
                "genops.policy.check",
                EventValue::Str(self.check.to_string()),
            ),
            (
                "genops.policy.result",
                EventValue::Str(self.result.as_str().to_string()),
            ),
        ];
        if let Some(v) = &self.violation {
            attributes.push((
                "genops.policy.reason_code",
                EventValue::Str(v.reason_code.to_string()),
            ));
        }
        CallEvent {
            name: "genops.policy.evaluated",
            time,
            attributes,
        }
    }
}
