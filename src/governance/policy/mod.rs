//! Policy rules compiled once per config load: request checks, response guards, downgrades.
//!
//! [`PolicyEngine::compile`] turns validated [`PolicyRule`]s into globs and detector sets.
//! Per call, [`PolicyEngine::evaluate_request`] decides before forwarding,
//! [`PolicyEngine::response_scanner`] watches the completion as it streams, and
//! [`PolicyEngine::downgrade`] picks a cheaper model when a budget runs low.

mod downgrade;
mod model;
pub mod prompt_text;
mod request;
mod response;
mod verdict;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::config::policy_schema::{ContentPhase, Detector, PolicyCheck, PolicyRule};
use crate::config::schema::{Enforcement, Scope};
use crate::governance::context::{Dimension, GovernanceContext};
use crate::governance::detectors::{DetectorKind, DetectorSet};
use crate::governance::scope;

pub use downgrade::Downgrade;
pub use request::RequestInput;
pub use response::{GuardHit, ResponseGuard};
pub use verdict::{
    PolicyVerdict, RuleEvaluation, Violation, POLICY_DENY_CONTENT, POLICY_DENY_MODEL,
    POLICY_MAX_INPUT_TOKENS, POLICY_MAX_TOKENS, POLICY_REQUIRED_ATTRIBUTE,
};

use downgrade::DowngradeRule;
use model::ModelGlobs;

/// Every policy rule of a config, ready to evaluate. Immutable; a reload compiles a new one.
#[derive(Debug, Default)]
pub struct PolicyEngine {
    rules: Vec<CompiledRule>,
}

#[derive(Debug)]
struct CompiledRule {
    id: Arc<str>,
    scope: Scope,
    enforcement: Enforcement,
    check: Check,
}

#[derive(Debug)]
enum Check {
    AllowedModels(ModelGlobs),
    DeniedModels(ModelGlobs),
    MaxOutputTokens(u64),
    MaxInputTokens(u64),
    Content(ContentRule),
    Require(Vec<Dimension>),
    Downgrade(DowngradeRule),
}

#[derive(Debug)]
struct ContentRule {
    detectors: Arc<DetectorSet>,
    request: bool,
    response: bool,
}

impl PolicyEngine {
    /// Compiles every rule, collecting every problem (a rule id and what is wrong) before refusing.
    pub fn compile(rules: &[PolicyRule]) -> Result<PolicyEngine, Vec<String>> {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut errors = Vec::new();
        for rule in rules {
            match compile_check(&rule.check) {
                Ok(check) => compiled.push(CompiledRule {
                    id: Arc::from(rule.id.as_str()),
                    scope: rule.scope.clone(),
                    enforcement: rule.enforcement,
                    check,
                }),
                Err(e) => errors.push(format!("{}: rule `{}`: {e}", rule.file.display(), rule.id)),
            }
        }
        if errors.is_empty() {
            Ok(PolicyEngine { rules: compiled })
        } else {
            Err(errors)
        }
    }

    /// Number of compiled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules whose scope selects this call, in file order (with their position).
    fn in_scope<'a>(
        &'a self,
        ctx: &'a GovernanceContext,
    ) -> impl Iterator<Item = (usize, &'a CompiledRule)> + 'a {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(_, r)| scope::matches(&r.scope, ctx))
    }
}

fn compile_check(check: &PolicyCheck) -> Result<Check, String> {
    Ok(match check {
        PolicyCheck::AllowedModels(globs) => Check::AllowedModels(ModelGlobs::new(globs)?),
        PolicyCheck::DeniedModels(globs) => Check::DeniedModels(ModelGlobs::new(globs)?),
        PolicyCheck::MaxOutputTokens(cap) => Check::MaxOutputTokens(*cap),
        PolicyCheck::MaxInputTokens(cap) => Check::MaxInputTokens(*cap),
        PolicyCheck::Content(c) => {
            let kinds: Vec<DetectorKind> = c.detectors.iter().map(|d| kind(*d)).collect();
            let set = DetectorSet::new(&kinds, &c.patterns)?;
            Check::Content(ContentRule {
                detectors: Arc::new(set),
                request: c.on.contains(&ContentPhase::Request),
                response: c.on.contains(&ContentPhase::Response),
            })
        }
        PolicyCheck::Require(dims) => Check::Require(dims.clone()),
        PolicyCheck::Downgrade(d) => Check::Downgrade(DowngradeRule::new(d)),
    })
}

fn kind(d: Detector) -> DetectorKind {
    match d {
        Detector::Pii => DetectorKind::Pii,
        Detector::Secrets => DetectorKind::Secrets,
        Detector::PromptInjection => DetectorKind::PromptInjection,
        Detector::Regex => DetectorKind::Regex,
    }
}

/// " for team interns, environment production", or "" for a global scope: the tail of a reason.
fn scope_phrase(s: &Scope) -> String {
    let parts: Vec<String> = scope::entries(s)
        .map(|(d, v)| format!("{} {v}", d.name()))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" for {}", parts.join(", "))
    }
}
