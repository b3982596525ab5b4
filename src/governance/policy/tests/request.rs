//! Request-phase checks: models, token caps, required attributes, precedence, cheap paths.

use std::cell::Cell;
use std::time::SystemTime;

use super::*;
use crate::error::GatewayError;
use crate::record::EventValue;

const BODY: &str = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn denied_models_in_scope_block_with_a_readable_reason() {
    let e = engine(
        r#"
  - id: no-frontier-models-for-interns
    scope: { team: interns }
    enforcement: block
    denied_models: ["gpt-4o", "claude-opus-*"]
"#,
    );
    let interns = ctx(&[("team", "interns")]);
    let v = chat(&e, &interns, &facts("gpt-4o", None), BODY, &never_count);
    assert_eq!(v.result, PolicyResult::Blocked);
    let o = v.outcome();
    assert_eq!(o.name.as_deref(), Some("no-frontier-models-for-interns"));
    assert_eq!(
        o.reason.as_deref(),
        Some("policy no-frontier-models-for-interns: model gpt-4o is denied for team interns")
    );
    assert_eq!(o.reason_code.as_deref(), Some(POLICY_DENY_MODEL));
    assert!(matches!(v.error(), Some(GatewayError::PolicyViolation(m)) if m.contains("interns")));

    // Dated snapshots are the same model; the mini model is another one.
    let snap = chat(
        &e,
        &interns,
        &facts("gpt-4o-2024-08-06", None),
        BODY,
        &never_count,
    );
    assert!(snap.is_blocked());
    let opus = chat(
        &e,
        &interns,
        &facts("claude-opus-4-1-20250805", None),
        BODY,
        &never_count,
    );
    assert!(opus.is_blocked());
    let mini = chat(
        &e,
        &interns,
        &facts("gpt-4o-mini", None),
        BODY,
        &never_count,
    );
    assert_eq!(mini.result, PolicyResult::Allowed);
    assert_eq!(
        results(&mini),
        [("no-frontier-models-for-interns", PolicyResult::Allowed)]
    );

    // Out of scope: not evaluated at all.
    let search = ctx(&[("team", "search")]);
    let other = chat(&e, &search, &facts("gpt-4o", None), BODY, &never_count);
    assert_eq!(other, PolicyVerdict::default());
    assert_eq!(other.error(), None);
    assert_eq!(other.outcome().name, None);
}

#[test]
fn allowed_models_refuse_everything_else() {
    let e = engine(
        r#"
  - id: prod-models
    scope: { environment: production }
    allowed_models: ["gpt-4o-mini", "claude-sonnet-*"]
"#,
    );
    let prod = ctx(&[("environment", "production")]);
    let ok = chat(
        &e,
        &prod,
        &facts("claude-sonnet-4-5", None),
        BODY,
        &never_count,
    );
    assert_eq!(ok.result, PolicyResult::Allowed);
    let bad = chat(&e, &prod, &facts("gpt-4o", None), BODY, &never_count);
    assert!(bad.is_blocked(), "enforcement defaults to block");
    let reason = bad.outcome().reason.unwrap();
    assert!(
        reason.contains("model gpt-4o is not allowed for environment production"),
        "{reason}"
    );
    assert!(reason.contains("gpt-4o-mini, claude-sonnet-*"), "{reason}");
    // No model in the body: nothing to check.
    let none = chat(&e, &prod, &RequestFacts::default(), BODY, &never_count);
    assert_eq!(none.result, PolicyResult::Allowed);
}

#[test]
fn max_output_tokens_caps_what_is_asked_and_lets_absent_through() {
    let e = engine(
        r#"
  - id: cap-output
    scope: {}
    max_output_tokens: 1000
"#,
    );
    let c = ctx(&[]);
    let over = chat(&e, &c, &facts("gpt-4o", Some(1001)), BODY, &never_count);
    assert!(over.is_blocked());
    assert_eq!(
        over.outcome().reason_code.as_deref(),
        Some(POLICY_MAX_TOKENS)
    );
    assert!(over
        .outcome()
        .reason
        .unwrap()
        .contains("max tokens 1001 is over the cap of 1000"));
    let at = chat(&e, &c, &facts("gpt-4o", Some(1000)), BODY, &never_count);
    assert_eq!(at.result, PolicyResult::Allowed);
    let absent = chat(&e, &c, &facts("gpt-4o", None), BODY, &never_count);
    assert_eq!(absent.result, PolicyResult::Allowed);
}

#[test]
fn max_input_tokens_counts_only_when_the_body_could_be_over() {
    let e = engine(
        r#"
  - id: cap-input
    scope: {}
    max_input_tokens: 100
  - id: cap-input-strict
    scope: {}
    enforcement: warn
    max_input_tokens: 50
"#,
    );
    let c = ctx(&[]);
    // Under 100 bytes (no count for cap-input) but over 50 (cap-input-strict counts).
    let small = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}"#;
    assert!(small.len() <= 100 && small.len() > 50);
    let tiny = r#"{"model":"m","prompt":"hi"}"#;
    let v = chat(&e, &c, &facts("m", None), tiny, &never_count);
    assert_eq!(v.result, PolicyResult::Allowed);

    let calls = Cell::new(0);
    let counter = || {
        calls.set(calls.get() + 1);
        20
    };
    let v = chat(&e, &c, &facts("gpt-4o", None), small, &counter);
    assert_eq!(v.result, PolicyResult::Allowed);
    assert_eq!(calls.get(), 1);

    let big = format!(
        r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "word ".repeat(100)
    );
    calls.set(0);
    let counter = || {
        calls.set(calls.get() + 1);
        101
    };
    let v = chat(&e, &c, &facts("gpt-4o", None), &big, &counter);
    assert_eq!(calls.get(), 1, "counted once for both rules");
    assert!(v.is_blocked());
    assert_eq!(
        results(&v),
        [
            ("cap-input", PolicyResult::Blocked),
            ("cap-input-strict", PolicyResult::Warning)
        ]
    );
    assert_eq!(
        v.outcome().reason_code.as_deref(),
        Some(POLICY_MAX_INPUT_TOKENS)
    );
    assert!(v
        .outcome()
        .reason
        .unwrap()
        .contains("101 tokens, over the cap of 100"));
}

#[test]
fn require_names_the_missing_headers() {
    let e = engine(
        r#"
  - id: attribution
    scope: { environment: production }
    enforcement: warn
    require: [team, customer_id]
"#,
    );
    let missing = ctx(&[("environment", "production"), ("team", "search")]);
    let v = chat(&e, &missing, &facts("gpt-4o", None), BODY, &never_count);
    assert_eq!(v.result, PolicyResult::Warning);
    assert!(!v.is_blocked());
    assert_eq!(v.error(), None, "warn never blocks");
    let o = v.outcome();
    assert_eq!(o.reason_code.as_deref(), Some(POLICY_REQUIRED_ATTRIBUTE));
    assert_eq!(
        o.reason.as_deref(),
        Some("policy attribution: the call must carry x-genops-customer-id for environment production")
    );
    let full = ctx(&[
        ("environment", "production"),
        ("team", "search"),
        ("customer_id", "c-1"),
    ]);
    let v = chat(&e, &full, &facts("gpt-4o", None), BODY, &never_count);
    assert_eq!(v.result, PolicyResult::Allowed);
}

#[test]
fn the_first_block_decides_over_earlier_warnings() {
    let e = engine(
        r#"
  - id: warn-attr
    scope: {}
    enforcement: warn
    require: [customer_id]
  - id: warn-cap
    scope: {}
    enforcement: warn
    max_output_tokens: 10
  - id: block-model
    scope: {}
    denied_models: ["gpt-4o"]
  - id: block-cap
    scope: {}
    max_output_tokens: 20
"#,
    );
    let c = ctx(&[]);
    let v = chat(&e, &c, &facts("gpt-4o", Some(50)), BODY, &never_count);
    assert_eq!(v.result, PolicyResult::Blocked);
    assert_eq!(v.deciding().map(|d| &*d.rule), Some("block-model"));
    assert_eq!(
        results(&v),
        [
            ("warn-attr", PolicyResult::Warning),
            ("warn-cap", PolicyResult::Warning),
            ("block-model", PolicyResult::Blocked),
            ("block-cap", PolicyResult::Blocked),
        ]
    );
    // Only warnings: the first one decides.
    let v = chat(&e, &c, &facts("gpt-4o-mini", Some(15)), BODY, &never_count);
    assert_eq!(v.result, PolicyResult::Warning);
    assert_eq!(v.outcome().name.as_deref(), Some("warn-attr"));
}

#[test]
fn costly_checks_are_skipped_once_a_rule_blocks() {
    let e = engine(
        r#"
  - id: pii
    scope: {}
    content: { detectors: [pii] }
  - id: cap-input
    scope: {}
    max_input_tokens: 1
  - id: deny
    scope: {}
    denied_models: ["gpt-4o"]
"#,
    );
    let body = r#"{"messages":[{"role":"user","content":"mail me at a@b.io"}]}"#;
    let v = chat(&e, &ctx(&[]), &facts("gpt-4o", None), body, &never_count);
    assert!(v.is_blocked());
    assert_eq!(results(&v), [("deny", PolicyResult::Blocked)]);
    assert!(!v.eval.performed);
    // Not blocked by the cheap rule: the content rule (first in the file) decides.
    let v = chat(&e, &ctx(&[]), &facts("gpt-4o-mini", None), body, &|| 30);
    assert_eq!(
        results(&v),
        [
            ("pii", PolicyResult::Blocked),
            ("cap-input", PolicyResult::Blocked),
            ("deny", PolicyResult::Allowed),
        ]
    );
    assert_eq!(v.outcome().name.as_deref(), Some("pii"));
}

#[test]
fn unmetered_operations_are_not_governed() {
    let e = engine(
        r#"
  - id: attribution
    scope: {}
    require: [customer_id]
"#,
    );
    let v = e.evaluate_request(&RequestInput {
        ctx: &ctx(&[]),
        provider: ProviderKind::Openai,
        operation: Operation::Other,
        facts: &RequestFacts::default(),
        body: b"",
        count_input_tokens: &never_count,
    });
    assert_eq!(v, PolicyVerdict::default());
}

#[test]
fn every_evaluated_rule_becomes_an_event() {
    let e = engine(
        r#"
  - id: attribution
    scope: {}
    enforcement: warn
    require: [customer_id]
  - id: deny
    scope: {}
    denied_models: ["o1"]
"#,
    );
    let v = chat(&e, &ctx(&[]), &facts("gpt-4o", None), BODY, &never_count);
    let events = v.events(SystemTime::UNIX_EPOCH);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.name == "genops.policy.evaluated"));
    let attr = |i: usize, k: &str| {
        events[i]
            .attributes
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        attr(0, "genops.policy.result"),
        Some(EventValue::Str("warning".into()))
    );
    assert_eq!(
        attr(0, "genops.policy.reason_code"),
        Some(EventValue::Str(POLICY_REQUIRED_ATTRIBUTE.into()))
    );
    assert_eq!(
        attr(1, "genops.policy.name"),
        Some(EventValue::Str("deny".into()))
    );
    assert_eq!(
        attr(1, "genops.policy.result"),
        Some(EventValue::Str("allowed".into()))
    );
    assert_eq!(attr(1, "genops.policy.reason_code"), None);
}

#[test]
fn compile_reports_bad_rules() {
    let rule = crate::config::PolicyRule {
        id: "bad".into(),
        scope: Default::default(),
        enforcement: Enforcement::Block,
        check: PolicyCheck::DeniedModels(vec!["[".into()]),
        file: "p.yaml".into(),
    };
    let errors = PolicyEngine::compile(&[rule]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("p.yaml: rule `bad`: bad model glob `[`"),
        "{errors:?}"
    );
    assert!(PolicyEngine::compile(&[]).unwrap().is_empty());
}
