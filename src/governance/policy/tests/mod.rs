//! Policy engine tests: rules are written as YAML and loaded through the real config loader.

mod content;
mod downgrade;
mod files;
mod request;
mod response;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::metering::RequestFacts;
use crate::provider::{Operation, ProviderKind};

const MINIMAL: &str =
    "providers:\n  openai:\n    kind: openai\n    base_url: https://api.openai.com\n";

/// A fresh folder under the system temp dir (no tempfile crate here).
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "genops-policy-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads a gateway config listing `policies` (files or folders) and compiles its rules.
fn load_engine(extra_config: &str, policies: &[&Path]) -> PolicyEngine {
    let list: Vec<String> = policies
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    let text = format!(
        "{MINIMAL}{extra_config}policies:\n  files: [{}]\n",
        list.join(", ")
    );
    let config = crate::config::load_str(&text, "gw.yaml", &temp_dir(), &|_| None)
        .unwrap_or_else(|e| panic!("{e}"));
    PolicyEngine::compile(&config.policy_rules).unwrap_or_else(|e| panic!("{e:?}"))
}

/// An engine from the text of one policy file's `rules:` list.
fn engine(rules: &str) -> PolicyEngine {
    engine_with("", rules)
}

fn engine_with(extra_config: &str, rules: &str) -> PolicyEngine {
    let file = temp_dir().join("rules.yaml");
    std::fs::write(&file, format!("rules:\n{rules}")).unwrap();
    load_engine(extra_config, &[&file])
}

fn ctx(pairs: &[(&str, &str)]) -> GovernanceContext {
    let mut c = GovernanceContext::default();
    for (name, value) in pairs {
        let d = Dimension::from_name(name).unwrap();
        *c.slot_mut(d) = Some(value.to_string());
    }
    c
}

fn facts(model: &str, max_tokens: Option<u64>) -> RequestFacts {
    RequestFacts {
        model: Some(model.to_string()),
        max_tokens,
        ..Default::default()
    }
}

fn never_count() -> u64 {
    panic!("the token counter must not be called")
}

/// Evaluates an OpenAI chat request.
fn chat(
    e: &PolicyEngine,
    ctx: &GovernanceContext,
    facts: &RequestFacts,
    body: &str,
    count: &dyn Fn() -> u64,
) -> PolicyVerdict {
    e.evaluate_request(&RequestInput {
        ctx,
        provider: ProviderKind::Openai,
        operation: Operation::ChatCompletions,
        facts,
        body: body.as_bytes(),
        count_input_tokens: count,
    })
}

fn results(v: &PolicyVerdict) -> Vec<(&str, PolicyResult)> {
    v.evaluated.iter().map(|e| (&*e.rule, e.result)).collect()
}

use crate::record::PolicyResult;
