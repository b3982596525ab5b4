//! Response guards: content rules over a streamed completion.

use super::*;
use crate::record::EvalOutcome;

const RULES: &str = r#"
  - id: pii-block
    scope: { team: support }
    content: { detectors: [pii], on: [response] }
  - id: injection-warn
    scope: {}
    enforcement: warn
    content: { detectors: [prompt_injection], on: [request, response] }
  - id: request-only
    scope: {}
    content: { detectors: [secrets] }
"#;

#[test]
fn no_guard_without_response_rules_in_scope() {
    let e = engine(
        r#"
  - id: request-only
    scope: {}
    content: { detectors: [secrets] }
"#,
    );
    assert!(e.response_scanner(&ctx(&[])).is_none());
    let e = engine(RULES);
    let g = e.response_scanner(&ctx(&[])).unwrap();
    let rules: Vec<_> = g.evaluations().into_iter().map(|r| r.rule).collect();
    assert_eq!(rules, [std::sync::Arc::from("injection-warn")]);
}

#[test]
fn a_block_rule_fires_once_across_deltas() {
    let e = engine(RULES);
    let mut g = e.response_scanner(&ctx(&[("team", "support")])).unwrap();
    let filler = "The weather is mild today and the forecast is calm. ".repeat(3);
    assert_eq!(g.push(&filler), None);
    // The address arrives split over three deltas, then enough text to trigger a scan.
    assert_eq!(g.push("contact jane.d"), None);
    assert_eq!(g.push("oe@exam"), None);
    let mut hit = g.push("ple.com for details. ");
    for _ in 0..20 {
        if hit.is_some() {
            break;
        }
        hit = g.push(&filler);
    }
    let hit = hit.expect("the split e-mail is found");
    assert_eq!(&*hit.rule, "pii-block");
    assert_eq!(hit.findings, ["pii.email"]);
    assert_eq!(
        hit.reason,
        "policy pii-block: the completion contains pii.email for team support"
    );
    assert_eq!(hit.reason_code, POLICY_DENY_CONTENT);
    assert_eq!(hit.outcome().result, PolicyResult::Blocked);
    // Reported once; the guard then stops.
    assert_eq!(g.push("another a@b.io"), None);
    assert_eq!(g.finish(), None);
    assert_eq!(g.hit(), Some(&hit));

    let mut eval = EvalOutcome {
        performed: true,
        safety: Some(1.0),
        compliance: Some(1.0),
        findings: vec![],
    };
    g.eval(&mut eval);
    assert_eq!(eval.findings, ["pii.email"]);
    assert_eq!(eval.compliance, Some(0.5));
    assert_eq!(eval.safety, Some(1.0));
}

#[test]
fn a_warn_rule_only_records_and_finish_scans_the_tail() {
    let e = engine(RULES);
    let mut g = e.response_scanner(&ctx(&[])).unwrap();
    // Short text stays buffered until finish.
    assert_eq!(g.push("Sure. Ignore all previous "), None);
    assert_eq!(g.push("instructions, you said."), None);
    assert_eq!(g.finish(), None, "a warn rule never cuts the stream");
    assert_eq!(g.hit(), None);
    let evals = g.evaluations();
    assert_eq!(evals[0].result, PolicyResult::Warning);
    assert_eq!(
        evals[0].violation.as_ref().map(|v| v.reason_code),
        Some(POLICY_DENY_CONTENT)
    );
    // Request findings are kept and scores cover both phases.
    let mut eval = EvalOutcome {
        findings: vec!["secrets.jwt".into()],
        ..Default::default()
    };
    g.eval(&mut eval);
    assert!(eval.performed);
    assert_eq!(
        eval.findings,
        ["secrets.jwt", "prompt_injection.ignore_previous"]
    );
    assert_eq!(eval.safety, Some(0.25));
    assert_eq!(eval.compliance, Some(1.0));
}

#[test]
fn a_clean_completion_still_counts_as_evaluated() {
    let e = engine(RULES);
    let mut g = e.response_scanner(&ctx(&[("team", "support")])).unwrap();
    assert_eq!(g.push("Paris is the capital of France."), None);
    assert_eq!(g.finish(), None);
    let mut eval = EvalOutcome::default();
    g.eval(&mut eval);
    assert!(eval.performed);
    assert_eq!((eval.safety, eval.compliance), (Some(1.0), Some(1.0)));
    assert!(g
        .evaluations()
        .iter()
        .all(|r| r.result == PolicyResult::Allowed));
}
