//! Downgrades: which model, which budget, which fraction, warn vs block.

use std::cell::RefCell;

use super::*;

const BUDGETS: &str = r#"budgets:
  - id: team-search-monthly
    scope: { team: search }
    limit_usd: 100
    period: monthly
"#;

const RULES: &str = r#"
  - id: cheaper-when-tight
    scope: {}
    downgrade:
      when_budget_at: 0.8
      models: { gpt-4o: gpt-4o-mini, claude-opus-4-1: claude-sonnet-4-5 }
"#;

#[test]
fn swaps_the_model_and_its_snapshots_past_the_fraction() {
    let e = engine(RULES);
    let c = ctx(&[]);
    let asked = RefCell::new(Vec::new());
    let asked = &asked;
    let at = |f: f64| {
        move |budget: Option<&str>| {
            asked.borrow_mut().push(budget.map(str::to_string));
            Some(f)
        }
    };
    let d = e.downgrade(&c, "gpt-4o-2024-08-06", &at(0.85)).unwrap();
    assert_eq!(&*d.rule, "cheaper-when-tight");
    assert_eq!(
        (d.from.as_str(), d.to.as_str()),
        ("gpt-4o-2024-08-06", "gpt-4o-mini")
    );
    assert!(d.apply);
    assert_eq!(d.budget_used, 0.85);
    assert_eq!(
        asked.borrow().as_slice(),
        [None],
        "the tightest budget in scope"
    );
    let d = e
        .downgrade(&c, "claude-opus-4-1-20250805", &at(0.8))
        .unwrap();
    assert_eq!(d.to, "claude-sonnet-4-5");
    assert_eq!(e.downgrade(&c, "gpt-4o", &at(0.79)), None);
    // Not listed: the budget is not even asked about.
    asked.borrow_mut().clear();
    assert_eq!(e.downgrade(&c, "gpt-4o-mini", &at(0.99)), None);
    assert_eq!(e.downgrade(&c, "gpt-4o-mini-2024-07-18", &at(0.99)), None);
    assert!(asked.borrow().is_empty());
    // No budget in scope: nothing to compare against.
    assert_eq!(e.downgrade(&c, "gpt-4o", &|_| None), None);
}

#[test]
fn a_named_budget_and_warn_rules() {
    let e = engine_with(
        BUDGETS,
        r#"
  - id: report-only
    scope: {}
    enforcement: warn
    downgrade:
      when_budget_at: 0.5
      models: { gpt-4o: gpt-4o-mini }
  - id: search-budget
    scope: { team: search }
    downgrade:
      when_budget_at: 0.9
      budget: team-search-monthly
      models: { gpt-4o: gpt-4.1-mini }
"#,
    );
    let by_id = |id: Option<&str>| match id {
        Some("team-search-monthly") => Some(0.95),
        None => Some(0.6),
        Some(_) => None,
    };
    let search = ctx(&[("team", "search")]);
    let d = e.downgrade(&search, "gpt-4o", &by_id).unwrap();
    assert_eq!(
        (&*d.rule, d.to.as_str(), d.apply),
        ("search-budget", "gpt-4.1-mini", true)
    );
    let other = ctx(&[("team", "ads")]);
    let d = e.downgrade(&other, "gpt-4o", &by_id).unwrap();
    assert_eq!((&*d.rule, d.apply), ("report-only", false));
}

#[test]
fn downgrade_rules_are_not_request_checks() {
    let e = engine(RULES);
    let body = r#"{"model":"gpt-4o"}"#;
    let v = chat(&e, &ctx(&[]), &facts("gpt-4o", None), body, &never_count);
    assert_eq!(v, PolicyVerdict::default());
}
