//! Reads the policy files and folders listed in `policies.files` into validated rules.
//!
//! Policy files are not env-expanded: their regex patterns use `$` freely.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use globset::Glob;
use regex::Regex;

use super::policy_schema::{PolicyCheck, PolicyRule, RawPolicyFile, RawPolicyRule};
use super::problems::Problems;
use super::yaml;
use crate::governance::context::Dimension;

/// Loads every rule; `resolve` turns a listed entry into a path, `budget_ids` are the
/// configured budgets a downgrade may name.
pub fn load(
    entries: &[String],
    resolve: impl Fn(&str) -> PathBuf,
    budget_ids: &HashSet<&str>,
    p: &mut Problems,
) -> Vec<PolicyRule> {
    let mut rules = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut files = Vec::new();
    for entry in entries {
        files.extend(expand(entry, &resolve(entry), p));
    }
    for file in files {
        let shown = file.display().to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                p.error_verbatim(format!("{shown}: cannot read: {e}"));
                continue;
            }
        };
        let parsed: RawPolicyFile = match yaml::parse(&text, &shown, None) {
            Ok(parsed) => parsed,
            Err(e) => {
                p.error_verbatim(e);
                continue;
            }
        };
        for raw in parsed.rules {
            let mut errors = Vec::new();
            if let Some(previous) = seen.get(&raw.id) {
                errors.push(format!("already defined in {}", previous.display()));
            }
            seen.insert(raw.id.clone(), file.clone());
            let id = raw.id.clone();
            let rule = into_rule(raw, &file, budget_ids, &mut errors);
            for e in errors {
                p.error_verbatim(format!("{shown}: rule `{id}`: {e}"));
            }
            rules.extend(rule);
        }
    }
    rules
}

/// A listed file, or every `*.yaml`/`*.yml` in a listed folder (sorted, so order is stable).
fn expand(entry: &str, path: &Path, p: &mut Problems) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let dir = match std::fs::read_dir(path) {
        Ok(dir) => dir,
        Err(e) => {
            p.error(format!(
                "policies.files: `{entry}` ({}): {e}",
                path.display()
            ));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = dir
        .filter_map(Result::ok)
        .map(|d| d.path())
        .filter(|f| f.is_file())
        .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

fn into_rule(
    raw: RawPolicyRule,
    file: &Path,
    budget_ids: &HashSet<&str>,
    errors: &mut Vec<String>,
) -> Option<PolicyRule> {
    if raw.id.trim().is_empty() {
        errors.push("the id is empty".to_string());
    }
    let require = raw.require.map(|names| dimensions(names, errors));
    let mut checks: Vec<PolicyCheck> = [
        raw.allowed_models.map(PolicyCheck::AllowedModels),
        raw.denied_models.map(PolicyCheck::DeniedModels),
        raw.max_output_tokens.map(PolicyCheck::MaxOutputTokens),
        raw.max_input_tokens.map(PolicyCheck::MaxInputTokens),
        raw.content.map(PolicyCheck::Content),
        require.map(PolicyCheck::Require),
        raw.downgrade.map(PolicyCheck::Downgrade),
    ]
    .into_iter()
    .flatten()
    .collect();
    if checks.len() != 1 {
        let names: Vec<&str> = checks.iter().map(PolicyCheck::name).collect();
        errors.push(format!(
            "a rule has exactly one check (allowed_models, denied_models, max_output_tokens, \
             max_input_tokens, content, require, downgrade); found {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
        return None;
    }
    let check = checks.pop()?;
    check_values(&check, budget_ids, errors);
    Some(PolicyRule {
        id: raw.id,
        scope: raw.scope,
        enforcement: raw.enforcement,
        check,
        file: file.to_path_buf(),
    })
}

fn dimensions(names: Vec<String>, errors: &mut Vec<String>) -> Vec<Dimension> {
    names
        .iter()
        .filter_map(|n| {
            let d = Dimension::from_name(n);
            if d.is_none() {
                errors.push(format!(
                    "require: `{n}` is not an attribute (key, team, project, customer_id, \
                     cost_center, feature, environment)"
                ));
            }
            d
        })
        .collect()
}

fn check_values(check: &PolicyCheck, budget_ids: &HashSet<&str>, errors: &mut Vec<String>) {
    match check {
        PolicyCheck::AllowedModels(globs) | PolicyCheck::DeniedModels(globs) => {
            if globs.is_empty() {
                errors.push(format!("{} is empty", check.name()));
            }
            for g in globs {
                if let Err(e) = Glob::new(g) {
                    errors.push(format!("{}: bad glob `{g}`: {e}", check.name()));
                }
            }
        }
        PolicyCheck::MaxOutputTokens(0) | PolicyCheck::MaxInputTokens(0) => {
            errors.push(format!("{} must be > 0", check.name()));
        }
        PolicyCheck::MaxOutputTokens(_) | PolicyCheck::MaxInputTokens(_) => {}
        PolicyCheck::Content(c) => {
            if c.detectors.is_empty() || c.on.is_empty() {
                errors.push("content: detectors and on must not be empty".to_string());
            }
            let wants_regex = c.detectors.contains(&super::policy_schema::Detector::Regex);
            if wants_regex == c.patterns.is_empty() {
                errors.push(
                    "content: the regex detector and patterns go together (list both or neither)"
                        .to_string(),
                );
            }
            for pattern in &c.patterns {
                if let Err(e) = Regex::new(pattern) {
                    // regex's message spans several lines; its last line says what is wrong.
                    let text = e.to_string();
                    let why = text.lines().last().unwrap_or_default();
                    let why = why.trim_start_matches("error: ");
                    errors.push(format!("content.patterns: bad regex `{pattern}`: {why}"));
                }
            }
        }
        PolicyCheck::Require(dims) => {
            if dims.is_empty() {
                errors.push("require is empty".to_string());
            }
        }
        PolicyCheck::Downgrade(d) => {
            let at = d.when_budget_at;
            if !(at > 0.0 && at <= 1.0) {
                errors.push(format!(
                    "downgrade.when_budget_at must be in (0, 1] (got {at})"
                ));
            }
            if d.models.is_empty() {
                errors.push("downgrade.models is empty".to_string());
            }
            if let Some(budget) = &d.budget {
                if !budget_ids.contains(budget.as_str()) {
                    errors.push(format!(
                        "downgrade.budget `{budget}` is not a configured budget"
                    ));
                }
            }
        }
    }
}
