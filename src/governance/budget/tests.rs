//! The budget engine over the memory ledger, with a manual clock: periods, messages, alerts.

use super::*;
use crate::config::schema::{DowngradeConfig, Enforcement, OnExhausted, Period};
use crate::governance::clock::ManualClock;
use crate::ledger::memory::MemoryLedger;

const USD: NanoUsd = 1_000_000_000;

fn config(id: &str, limit_usd: f64, period: Period) -> BudgetConfig {
    BudgetConfig {
        id: id.into(),
        scope: Scope::default(),
        limit_usd,
        period,
        enforcement: Enforcement::Block,
        alert_at: Vec::new(),
        on_exhausted: OnExhausted::Block,
        downgrade: None,
    }
}

fn team(name: &str) -> GovernanceContext {
    GovernanceContext {
        team: Some(name.into()),
        ..GovernanceContext::default()
    }
}

fn clock(at: &str) -> ManualClock {
    ManualClock::at(at).unwrap()
}

fn record() -> SpendRecord {
    SpendRecord {
        provider: "openai".into(),
        ..SpendRecord::default()
    }
}

async fn admit(
    budgets: &Budgets,
    store: &MemoryLedger,
    ctx: &GovernanceContext,
    estimate: NanoUsd,
    clock: &ManualClock,
) -> Admission {
    match budgets
        .reserve(store, ctx, "call", estimate, estimate, clock)
        .await
        .unwrap()
    {
        BudgetDecision::Admitted(a) => a,
        BudgetDecision::Refused(r) => panic!("refused: {}", r.message),
    }
}

async fn refuse(
    budgets: &Budgets,
    store: &MemoryLedger,
    ctx: &GovernanceContext,
    estimate: NanoUsd,
    clock: &ManualClock,
) -> BudgetRefusal {
    match budgets
        .reserve(store, ctx, "call", estimate, estimate, clock)
        .await
        .unwrap()
    {
        BudgetDecision::Refused(r) => r,
        BudgetDecision::Admitted(a) => panic!("admitted: {a:?}"),
    }
}

/// Reserves and settles one call costing `cost` at the clock's time.
async fn spend(
    budgets: &Budgets,
    store: &MemoryLedger,
    ctx: &GovernanceContext,
    cost: NanoUsd,
    clock: &ManualClock,
) -> SettleOutcome {
    let admission = admit(budgets, store, ctx, cost, clock).await;
    budgets
        .settle(store, &admission, cost, record())
        .await
        .unwrap()
}

#[test]
fn limits_become_exact_nano_usd() {
    let budgets = Budgets::new(&[
        config("a", 1000.0, Period::Monthly),
        config("b", 0.1, Period::Daily),
    ]);
    assert_eq!(budgets.get("a").unwrap().limit, 1_000 * USD);
    assert_eq!(budgets.get("b").unwrap().limit, 100_000_000);
    let negative = Budgets::new(&[config("n", -5.0, Period::Total)]);
    assert_eq!(negative.get("n").unwrap().limit, 0);
}

#[test]
fn scopes_match_every_named_attribute() {
    let mut search = config("search", 1.0, Period::Daily);
    search.scope.team = Some("search".into());
    let mut search_prod = config("search-prod", 1.0, Period::Daily);
    search_prod.scope.team = Some("search".into());
    search_prod.scope.environment = Some("production".into());
    let mut by_key = config("by-key", 1.0, Period::Daily);
    by_key.scope.key = Some("ci-bot".into());
    let budgets = Budgets::new(&[
        config("global", 1.0, Period::Daily),
        search,
        search_prod,
        by_key,
    ]);
    let ids = |ctx: &GovernanceContext| -> Vec<String> {
        budgets.in_scope(ctx).iter().map(|d| d.id.clone()).collect()
    };
    assert_eq!(ids(&GovernanceContext::default()), ["global"]);
    assert_eq!(ids(&team("search")), ["global", "search"]);
    let mut ctx = team("search");
    ctx.environment = Some("production".into());
    ctx.key_name = Some("ci-bot".into());
    assert_eq!(ids(&ctx), ["global", "search", "search-prod", "by-key"]);
    assert_eq!(ids(&team("ads")), ["global"]);
}

#[tokio::test]
async fn exhausted_in_november_admits_again_in_december() {
    let mut c = config("team-search-monthly", 1000.0, Period::Monthly);
    c.scope.team = Some("search".into());
    let budgets = Budgets::new(&[c]);
    let store = MemoryLedger::new();
    let ctx = team("search");
    let now = clock("2026-11-15T10:00:00Z");
    spend(&budgets, &store, &ctx, 1_000 * USD, &now).await;
    now.set(ManualClock::at("2026-11-30T23:59:59Z").unwrap().now_ms());
    let refusal = refuse(&budgets, &store, &ctx, 1, &now).await;
    assert_eq!(
        refusal.message,
        "budget team-search-monthly: $1000.00 of $1000.00 spent this month; resets 2026-12-01T00:00:00Z"
    );
    assert_eq!(refusal.budget_id, "team-search-monthly");
    assert_eq!(
        (refusal.consumed, refusal.limit),
        (1_000 * USD, 1_000 * USD)
    );
    assert_eq!(refusal.period, "monthly");
    assert_eq!(refusal.resets_at.as_deref(), Some("2026-12-01T00:00:00Z"));
    // Another team is not in scope and is never refused by it.
    admit(&budgets, &store, &team("ads"), 5 * USD, &now).await;

    now.advance(1_000);
    let admission = admit(&budgets, &store, &ctx, 10 * USD, &now).await;
    assert_eq!(
        admission.reservation.as_ref().unwrap().states[0].consumed,
        0
    );
    let outcome = budgets
        .settle(&store, &admission, 3 * USD, record())
        .await
        .unwrap();
    let snapshot = outcome.snapshot.unwrap();
    assert_eq!(
        (snapshot.consumed, snapshot.remaining),
        (3 * USD, 997 * USD)
    );
}

/// Exhausts a one-budget config at `spent_at`, checks the refusal just before the reset and the
/// admission at the reset.
async fn rolls_over(period: Period, spent_at: &str, last_second: &str, message: &str) {
    let budgets = Budgets::new(&[config("b", 1.0, period)]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock(spent_at);
    spend(&budgets, &store, &ctx, USD, &now).await;
    now.set(ManualClock::at(last_second).unwrap().now_ms());
    assert_eq!(
        refuse(&budgets, &store, &ctx, 1, &now).await.message,
        message
    );
    now.advance(1_000);
    admit(&budgets, &store, &ctx, USD, &now).await;
}

#[tokio::test]
async fn hourly_daily_and_weekly_roll_on_utc_boundaries() {
    rolls_over(
        Period::Hourly,
        "2026-11-29T22:10:00Z",
        "2026-11-29T22:59:59Z",
        "budget b: $1.00 of $1.00 spent this hour; resets 2026-11-29T23:00:00Z",
    )
    .await;
    rolls_over(
        Period::Daily,
        "2026-11-29T00:00:00Z",
        "2026-11-29T23:59:59Z",
        "budget b: $1.00 of $1.00 spent today; resets 2026-11-30T00:00:00Z",
    )
    .await;
    // Spent on Monday 2026-11-23; the ISO week ends after Sunday the 29th.
    rolls_over(
        Period::Weekly,
        "2026-11-23T00:00:00Z",
        "2026-11-29T23:59:59Z",
        "budget b: $1.00 of $1.00 spent this week; resets 2026-11-30T00:00:00Z",
    )
    .await;
    rolls_over(
        Period::Monthly,
        "2026-02-01T00:00:00Z",
        "2026-02-28T23:59:59Z",
        "budget b: $1.00 of $1.00 spent this month; resets 2026-03-01T00:00:00Z",
    )
    .await;
}

#[tokio::test]
async fn total_budgets_never_reset() {
    let budgets = Budgets::new(&[config("lifetime", 2.5, Period::Total)]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-01-01T00:00:00Z");
    spend(&budgets, &store, &ctx, 2 * USD, &now).await;
    now.set(ManualClock::at("2030-06-01T00:00:00Z").unwrap().now_ms());
    let r = refuse(&budgets, &store, &ctx, USD, &now).await;
    assert_eq!(r.message, "budget lifetime: $2.00 of $2.50 spent in total");
    assert_eq!(r.resets_at, None);
}

#[tokio::test]
async fn warn_budgets_admit_and_report() {
    let mut c = config("soft", 1.0, Period::Daily);
    c.enforcement = Enforcement::Warn;
    let budgets = Budgets::new(&[c, config("hard", 100.0, Period::Daily)]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-29T22:10:00Z");
    let fine = admit(&budgets, &store, &ctx, USD / 2, &now).await;
    assert!(fine.warnings.is_empty());
    let over = admit(&budgets, &store, &ctx, USD, &now).await;
    assert_eq!(over.warnings.len(), 1);
    assert_eq!(over.warnings[0].budget_id, "soft");
    assert!(over.warnings[0]
        .message
        .starts_with("budget soft: $0.00 of $1.00 spent today"));
    assert_eq!(over.reserved(), USD);
}

#[tokio::test]
async fn no_budget_in_scope_admits_and_still_records_spend() {
    let mut c = config("ads", 1.0, Period::Daily);
    c.scope.team = Some("ads".into());
    let budgets = Budgets::new(&[c]);
    let store = MemoryLedger::new();
    let now = clock("2026-11-29T22:10:00Z");
    let admission = admit(&budgets, &store, &team("search"), USD, &now).await;
    assert_eq!(admission.reservation, None);
    assert_eq!(admission.reserved(), 0);
    assert!(!admission.is_partial());
    let outcome = budgets
        .settle(
            &store,
            &admission,
            42,
            SpendRecord {
                time_ms: 5,
                cost: 42,
                ..record()
            },
        )
        .await
        .unwrap();
    assert_eq!(outcome.snapshot, None);
    let rows = store
        .spend(&crate::ledger::SpendQuery {
            group_by: vec![],
            from_ms: 0,
            to_ms: 10,
        })
        .await
        .unwrap();
    assert_eq!(rows[0].cost, 42);
}

#[tokio::test]
async fn alerts_fire_once_when_this_call_crosses_them() {
    let mut c = config("alerted", 10.0, Period::Monthly);
    c.alert_at = vec![1.0, 0.5, 0.8];
    let budgets = Budgets::new(&[c]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-29T22:10:00Z");
    let thresholds = |o: &SettleOutcome| o.alerts.iter().map(|a| a.threshold).collect::<Vec<_>>();
    assert!(thresholds(&spend(&budgets, &store, &ctx, 4 * USD, &now).await).is_empty());
    // Reaching a threshold exactly counts as crossing it.
    assert_eq!(
        thresholds(&spend(&budgets, &store, &ctx, USD, &now).await),
        [0.5]
    );
    assert!(thresholds(&spend(&budgets, &store, &ctx, USD, &now).await).is_empty());
    let outcome = spend(&budgets, &store, &ctx, 4 * USD, &now).await;
    assert_eq!(thresholds(&outcome), [0.8, 1.0]);
    assert_eq!(outcome.alerts[0].budget_id, "alerted");
    assert_eq!(outcome.alerts[0].consumed, 10 * USD);
    assert_eq!(outcome.alerts[0].period, "monthly");
}

#[tokio::test]
async fn the_tightest_budget_is_reported() {
    let budgets = Budgets::new(&[
        config("big", 20.0, Period::Monthly),
        config("small", 10.0, Period::Daily),
    ]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-29T22:10:00Z");
    let outcome = spend(&budgets, &store, &ctx, 5 * USD, &now).await;
    let snapshot = outcome.snapshot.unwrap();
    assert_eq!(snapshot.id, "small");
    assert_eq!(snapshot.period, "daily");
    assert_eq!(
        (snapshot.limit, snapshot.consumed, snapshot.remaining),
        (10 * USD, 5 * USD, 5 * USD)
    );
    // The next day the daily budget is fresh and the monthly one is tighter.
    now.advance(86_400_000);
    let snapshot = spend(&budgets, &store, &ctx, USD, &now)
        .await
        .snapshot
        .unwrap();
    assert_eq!((snapshot.id.as_str(), snapshot.consumed), ("big", 6 * USD));
}

#[tokio::test]
async fn cut_stream_budgets_admit_partially_and_extend() {
    let mut c = config("streamy", 1.0, Period::Daily);
    c.on_exhausted = OnExhausted::CutStream;
    let budgets = Budgets::new(&[c]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-29T22:10:00Z");
    spend(&budgets, &store, &ctx, USD * 7 / 10, &now).await;
    let decision = budgets
        .reserve(&store, &ctx, "s1", USD / 2, USD / 10, &now)
        .await
        .unwrap();
    let BudgetDecision::Admitted(mut admission) = decision else {
        panic!("a stream whose minimum fits is admitted");
    };
    assert!(admission.is_partial());
    assert_eq!(admission.reserved(), USD * 3 / 10);
    assert!(!budgets.extend(&store, &mut admission, 1).await.unwrap());
    let outcome = budgets
        .settle(&store, &admission, USD * 3 / 10, record())
        .await
        .unwrap();
    assert_eq!(outcome.states[0].consumed, USD);
    let r = budgets
        .reserve(&store, &ctx, "s2", USD / 2, USD / 10, &now)
        .await
        .unwrap();
    assert!(matches!(r, BudgetDecision::Refused(_)));
}

#[tokio::test]
async fn downgrade_starts_at_its_share() {
    let mut c = config("swap", 10.0, Period::Monthly);
    c.downgrade = Some(DowngradeConfig {
        at: 0.8,
        models: [("gpt-4o".to_string(), "gpt-4o-mini".to_string())].into(),
    });
    let budgets = Budgets::new(&[c, config("plain", 100.0, Period::Monthly)]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-29T22:10:00Z");
    spend(&budgets, &store, &ctx, USD * 79 / 10, &now).await;
    assert_eq!(
        budgets
            .downgrade(&store, &ctx, "gpt-4o", &now)
            .await
            .unwrap(),
        None
    );
    // A call in flight counts: 7.9 + 0.1 reserved reaches 80%.
    let _in_flight = admit(
        &budgets,
        &store,
        &GovernanceContext::default(),
        USD / 10,
        &now,
    )
    .await;
    let expected = Downgrade {
        budget_id: "swap".into(),
        from_model: "gpt-4o".into(),
        to_model: "gpt-4o-mini".into(),
    };
    let got = budgets
        .downgrade(&store, &ctx, "gpt-4o-2024-08-06", &now)
        .await
        .unwrap();
    assert_eq!(got, Some(expected.clone()));
    assert_eq!(
        budgets
            .downgrade(&store, &ctx, "gpt-4o-mini", &now)
            .await
            .unwrap(),
        None
    );
    let states = budgets.states(&store, &ctx, &now).await.unwrap();
    assert_eq!(budgets.downgrade_for(&states, "gpt-4o"), Some(expected));
}

#[tokio::test]
async fn admin_listing_shows_current_periods() {
    let mut c = config("team-search-monthly", 1000.0, Period::Monthly);
    c.scope.team = Some("search".into());
    let budgets = Budgets::new(&[c, config("forever", 5.0, Period::Total)]);
    let store = MemoryLedger::new();
    let now = clock("2026-11-29T22:10:00Z");
    spend(&budgets, &store, &team("search"), 2 * USD, &now).await;
    let _held = admit(&budgets, &store, &team("search"), 3 * USD, &now).await;
    let list = budgets.list(&store, &now).await.unwrap();
    assert_eq!(list.len(), 2);
    let monthly = &list[0];
    assert_eq!(monthly.id, "team-search-monthly");
    assert_eq!(monthly.scope.team.as_deref(), Some("search"));
    assert_eq!(
        (
            monthly.limit,
            monthly.consumed,
            monthly.reserved,
            monthly.remaining
        ),
        (1_000 * USD, 2 * USD, 3 * USD, 995 * USD)
    );
    assert_eq!(monthly.period, "monthly");
    assert_eq!(monthly.resets_at.as_deref(), Some("2026-12-01T00:00:00Z"));
    assert_eq!(
        (list[1].period, list[1].resets_at.as_deref()),
        ("total", None)
    );
    assert_eq!(list[1].remaining, 0);
}

#[tokio::test]
async fn an_exhausted_budget_refuses_even_a_free_call() {
    let budgets = Budgets::new(&[config("b", 1.0, Period::Daily)]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-29T10:00:00Z");
    let free = admit(&budgets, &store, &ctx, 0, &now).await;
    budgets.settle(&store, &free, 0, record()).await.unwrap();
    spend(&budgets, &store, &ctx, USD, &now).await;
    let r = refuse(&budgets, &store, &ctx, 0, &now).await;
    assert_eq!(r.budget_id, "b");
}

#[tokio::test]
async fn a_call_settles_into_the_period_it_started_in() {
    let budgets = Budgets::new(&[config("m", 10.0, Period::Monthly)]);
    let store = MemoryLedger::new();
    let ctx = GovernanceContext::default();
    let now = clock("2026-11-30T23:59:59Z");
    let admission = admit(&budgets, &store, &ctx, USD, &now).await;
    now.advance(2_000);
    budgets
        .settle(&store, &admission, USD, record())
        .await
        .unwrap();
    let list = budgets.list(&store, &now).await.unwrap();
    assert_eq!((list[0].consumed, list[0].reserved), (0, 0));
    assert_eq!(list[0].resets_at.as_deref(), Some("2027-01-01T00:00:00Z"));
    now.advance(-2_000);
    assert_eq!(budgets.list(&store, &now).await.unwrap()[0].consumed, USD);
}
