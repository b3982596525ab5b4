//! The example policy files in the repository's `policies/` folder load and behave as described.

use super::*;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

#[test]
fn example_policies_load_and_compile() {
    let e = load_engine("", &[&examples()]);
    let ids: Vec<&str> = e.rules.iter().map(|r| &*r.id).collect();
    assert_eq!(
        ids,
        [
            "production-attribution",
            "block-pii-and-secrets-in-prompts",
            "flag-prompt-injection",
            "flag-pii-in-completions",
            "cap-output-tokens",
            "cap-input-tokens",
            "cheaper-models-when-budget-is-tight",
            "no-frontier-models-for-interns",
            "production-approved-models",
        ]
    );
}

#[test]
fn example_policies_behave_as_documented() {
    let e = load_engine("", &[&examples()]);
    let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]}"#;
    let interns = ctx(&[("team", "interns")]);
    let v = chat(
        &e,
        &interns,
        &facts("gpt-4o-2024-08-06", Some(500)),
        body,
        &never_count,
    );
    assert_eq!(
        v.outcome().name.as_deref(),
        Some("no-frontier-models-for-interns")
    );
    assert!(v.is_blocked());

    let prod = ctx(&[("environment", "production"), ("team", "search")]);
    let v = chat(&e, &prod, &facts("gpt-4o", Some(500)), body, &never_count);
    assert_eq!(v.result, PolicyResult::Warning);
    assert_eq!(v.outcome().name.as_deref(), Some("production-attribution"));
    assert!(v.eval.performed);
    assert_eq!(v.eval.safety, Some(1.0));

    let v = chat(&e, &prod, &facts("o3", Some(500)), body, &never_count);
    assert_eq!(
        v.outcome().name.as_deref(),
        Some("production-approved-models")
    );

    let d = e
        .downgrade(&prod, "claude-opus-4-1", &|_| Some(0.8))
        .unwrap();
    assert_eq!(d.to, "claude-sonnet-4-5");
    assert!(e.response_scanner(&prod).is_some());
}
