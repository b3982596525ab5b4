//! Content detectors for policies: PII, secrets, prompt injection and user regexes over text.
//!
//! A [`DetectorSet`] is compiled once per config load. Scanning runs one `RegexSet` pass over the
//! text (clean text costs that pass and nothing else); only the patterns that matched are run
//! again to locate and validate candidates (Luhn, mod-97, JWT header, word boundaries).
//! Findings are names (`pii.card`, `secrets.jwt`, ...), never the matched text.

mod injection;
mod pii;
mod rule;
mod scores;
mod secrets;
mod stream;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use regex_automata::meta;
use serde::Deserialize;

pub use injection::PHRASES as INJECTION_PHRASES;
pub use scores::eval_scores;
pub use stream::StreamScanner;

use rule::{RuleSpec, Validate};

/// Bound on a user pattern's compiled size, so a policy file cannot make scanning blow up.
const USER_PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// A family of detectors a policy can enable (`detectors: [pii, secrets, ...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    Pii,
    Secrets,
    PromptInjection,
    Regex,
}

impl DetectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectorKind::Pii => "pii",
            DetectorKind::Secrets => "secrets",
            DetectorKind::PromptInjection => "prompt_injection",
            DetectorKind::Regex => "regex",
        }
    }
}

impl FromStr for DetectorKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pii" => Ok(DetectorKind::Pii),
            "secrets" => Ok(DetectorKind::Secrets),
            "prompt_injection" => Ok(DetectorKind::PromptInjection),
            "regex" => Ok(DetectorKind::Regex),
            other => Err(format!(
                "unknown detector `{other}` (expected pii, secrets, prompt_injection or regex)"
            )),
        }
    }
}

struct Rule {
    name: String,
    /// Locates candidates for `validate`. Built without automatic literal prefilters: on
    /// digit-heavy text the reverse-inner/suffix strategies they enable went quadratic-ish
    /// (a separator like `-` or ` ` as the "inner literal"); a plain lazy DFA stays linear.
    regex: meta::Regex,
    validate: Option<Validate>,
}

/// The compiled detectors of one policy.
pub struct DetectorSet {
    set: RegexSet,
    rules: Vec<Rule>,
}

impl fmt::Debug for DetectorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("DetectorSet")
            .field("rules", &names)
            .finish()
    }
}

impl DetectorSet {
    /// Compiles the enabled detectors. `user_patterns` are the `regex` detector's patterns
    /// (findings `regex.0`, `regex.1`, ... by position); they are required when `Regex` is listed
    /// and refused when it is not, so a policy never silently ignores one or the other.
    pub fn new(kinds: &[DetectorKind], user_patterns: &[String]) -> Result<DetectorSet, String> {
        let want = |k| kinds.contains(&k);
        let mut specs: Vec<RuleSpec> = Vec::new();
        if want(DetectorKind::Pii) {
            specs.extend(pii::rules());
        }
        if want(DetectorKind::Secrets) {
            specs.extend(secrets::rules());
        }
        if want(DetectorKind::PromptInjection) {
            specs.extend(injection::rules());
        }
        match (want(DetectorKind::Regex), user_patterns.is_empty()) {
            (true, true) => return Err("the regex detector needs at least one pattern".into()),
            (false, false) => {
                return Err("regex patterns are given but the regex detector is not enabled".into())
            }
            _ => {}
        }
        for (i, p) in user_patterns.iter().enumerate() {
            // Checked alone first so the error names the bad pattern.
            RegexBuilder::new(p)
                .size_limit(USER_PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("regex pattern {i} (`{p}`): {e}"))?;
            specs.push(RuleSpec {
                name: format!("regex.{i}").into(),
                pattern: p.clone().into(),
                validate: None,
            });
        }
        let set = RegexSetBuilder::new(specs.iter().map(|s| s.pattern.as_ref()))
            .build()
            .map_err(|e| format!("detector patterns: {e}"))?;
        let mut rules = Vec::with_capacity(specs.len());
        for s in specs {
            let regex = meta::Regex::builder()
                .configure(meta::Config::new().auto_prefilter(false))
                .build(&s.pattern)
                .map_err(|e| format!("{}: {e}", s.name))?;
            rules.push(Rule {
                name: s.name.into_owned(),
                regex,
                validate: s.validate,
            });
        }
        Ok(DetectorSet { set, rules })
    }

    /// No detector enabled.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Adds the name of every detector that fires on `text` to `findings`, once each.
    pub fn scan(&self, text: &str, findings: &mut Vec<String>) {
        if self.rules.is_empty() || text.is_empty() {
            return;
        }
        for i in self.set.matches(text).iter() {
            let rule = &self.rules[i];
            if findings.contains(&rule.name) {
                continue;
            }
            let fired = match rule.validate {
                None => true,
                Some(validate) => rule
                    .regex
                    .find_iter(text)
                    .any(|m| validate(text, m.start(), m.end())),
            };
            if fired {
                findings.push(rule.name.clone());
            }
        }
    }
}
