//! Policy rules: the YAML shape of a policy file, and the typed rule each entry becomes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::schema::{Enforcement, Scope};
use crate::governance::context::Dimension;

/// One policy file, as parsed.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyFile {
    #[serde(default)]
    pub rules: Vec<RawPolicyRule>,
}

/// One rule, as parsed: every check is optional here; validation demands exactly one.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyRule {
    pub id: String,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub enforcement: Enforcement,
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    #[serde(default)]
    pub denied_models: Option<Vec<String>>,
    #[serde(default)]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub max_input_tokens: Option<u64>,
    #[serde(default)]
    pub content: Option<ContentCheck>,
    #[serde(default)]
    pub require: Option<Vec<String>>,
    #[serde(default)]
    pub downgrade: Option<PolicyDowngrade>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    Pii,
    Secrets,
    PromptInjection,
    Regex,
}

/// Which side of the call a content check reads.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ContentPhase {
    Request,
    Response,
}

fn default_phases() -> Vec<ContentPhase> {
    vec![ContentPhase::Request]
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContentCheck {
    pub detectors: Vec<Detector>,
    #[serde(default = "default_phases")]
    pub on: Vec<ContentPhase>,
    /// Regular expressions for the `regex` detector (checked to compile at load).
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// Swap models for cheaper ones once a budget in scope is consumed past a fraction.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyDowngrade {
    pub models: BTreeMap<String, String>,
    pub when_budget_at: f64,
    /// A budget id; `None`: the tightest budget in scope.
    #[serde(default)]
    pub budget: Option<String>,
}

/// A validated rule: exactly one check.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRule {
    pub id: String,
    pub scope: Scope,
    pub enforcement: Enforcement,
    pub check: PolicyCheck,
    /// The file the rule came from (for messages).
    pub file: PathBuf,
}

/// The one check a rule performs. Globs and regexes are checked to compile at load.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyCheck {
    AllowedModels(Vec<String>),
    DeniedModels(Vec<String>),
    MaxOutputTokens(u64),
    MaxInputTokens(u64),
    Content(ContentCheck),
    Require(Vec<Dimension>),
    Downgrade(PolicyDowngrade),
}

impl PolicyCheck {
    /// The check's key in the policy file.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyCheck::AllowedModels(_) => "allowed_models",
            PolicyCheck::DeniedModels(_) => "denied_models",
            PolicyCheck::MaxOutputTokens(_) => "max_output_tokens",
            PolicyCheck::MaxInputTokens(_) => "max_input_tokens",
            PolicyCheck::Content(_) => "content",
            PolicyCheck::Require(_) => "require",
            PolicyCheck::Downgrade(_) => "downgrade",
        }
    }
}
