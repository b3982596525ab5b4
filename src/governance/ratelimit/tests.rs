use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::FakeRelativeClock;

use super::*;
use crate::config::schema::{Enforcement, Scope};

fn rule(id: &str, team: Option<&str>, rpm: Option<u32>, tpm: Option<u32>) -> RateLimitConfig {
    RateLimitConfig {
        id: id.into(),
        scope: Scope {
            team: team.map(String::from),
            ..Default::default()
        },
        requests_per_minute: rpm,
        tokens_per_minute: tpm,
        enforcement: Enforcement::Block,
    }
}

fn limits(
    rules: &[RateLimitConfig],
) -> (
    RateLimits,
    FakeRelativeClock,
    Arc<GovernorBackend<FakeRelativeClock>>,
) {
    let clock = FakeRelativeClock::default();
    let backend = Arc::new(GovernorBackend::with_clock(clock.clone()));
    (RateLimits::new(rules, backend.clone()), clock, backend)
}

fn team(name: &str) -> GovernanceContext {
    GovernanceContext {
        team: Some(name.into()),
        ..Default::default()
    }
}

fn remaining_requests(d: &RateDecision) -> u64 {
    d.headers.requests.map(|r| r.remaining).unwrap()
}

fn remaining_tokens(d: &RateDecision) -> u64 {
    d.headers.tokens.map(|r| r.remaining).unwrap()
}

fn refusal(d: &RateDecision) -> &RateRefusal {
    match &d.outcome {
        RateOutcome::Limited(r) => r,
        other => panic!("expected limited, got {other:?}"),
    }
}

#[tokio::test]
async fn fourth_request_in_a_minute_waits_twenty_seconds() {
    let (rl, clock, _) = limits(&[rule("team-search", Some("search"), Some(3), None)]);
    let ctx = team("search");
    for left in [2, 1, 0] {
        let d = rl.check(&ctx, 0).await.unwrap();
        assert_eq!(d.outcome, RateOutcome::Admitted);
        assert_eq!(remaining_requests(&d), left);
        assert_eq!(d.headers.requests.unwrap().limit, 3);
    }
    let d = rl.check(&ctx, 0).await.unwrap();
    let r = refusal(&d);
    assert_eq!(r.retry_after_secs, 20);
    assert_eq!(r.rule_id, "team-search");
    assert_eq!(
        r.message,
        "rate limit team-search: 3 requests per minute exceeded; retry in 20 s"
    );
    assert_eq!(remaining_requests(&d), 0);
    let err = d.error().unwrap();
    assert_eq!(err.status(), 429);
    assert!(matches!(
        err,
        GatewayError::RateLimited {
            retry_after_secs: 20,
            ..
        }
    ));

    clock.advance(Duration::from_secs(19));
    assert!(rl.check(&ctx, 0).await.unwrap().is_limited());
    clock.advance(Duration::from_secs(1));
    let d = rl.check(&ctx, 0).await.unwrap();
    assert_eq!(d.outcome, RateOutcome::Admitted);
    assert_eq!(remaining_requests(&d), 0);
}

#[tokio::test]
async fn token_limit_is_weighted_by_the_estimate() {
    let (rl, clock, _) = limits(&[rule("tpm", None, None, Some(1000))]);
    let ctx = GovernanceContext::default();
    let d = rl.check(&ctx, 600).await.unwrap();
    assert_eq!(d.outcome, RateOutcome::Admitted);
    assert_eq!(remaining_tokens(&d), 400);
    assert_eq!(d.headers.requests, None);

    let d = rl.check(&ctx, 500).await.unwrap();
    let r = refusal(&d);
    // 100 tokens short at 1000/min: 6 s.
    assert_eq!(r.retry_after_secs, 6);
    assert!(r.message.contains("1000 tokens per minute exceeded"));
    assert!(r.message.contains("estimated at 500 tokens"));

    let d = rl.check(&ctx, 400).await.unwrap();
    assert_eq!(d.outcome, RateOutcome::Admitted);
    assert_eq!(remaining_tokens(&d), 0);

    clock.advance(Duration::from_secs(30));
    let d = rl.check(&ctx, 0).await.unwrap();
    assert_eq!(remaining_tokens(&d), 500);
}

#[tokio::test]
async fn zero_estimate_reports_without_taking() {
    let (rl, clock, _) = limits(&[rule("tpm", None, None, Some(1000))]);
    let ctx = GovernanceContext::default();
    for _ in 0..3 {
        assert_eq!(remaining_tokens(&rl.check(&ctx, 0).await.unwrap()), 1000);
    }
    clock.advance(Duration::from_secs(5));
    rl.check(&ctx, 250).await.unwrap();
    for _ in 0..3 {
        assert_eq!(remaining_tokens(&rl.check(&ctx, 0).await.unwrap()), 750);
    }
}

#[tokio::test]
async fn refused_for_tokens_does_not_use_request_quota() {
    let (rl, _, _) = limits(&[rule("both", None, Some(2), Some(100))]);
    let ctx = GovernanceContext::default();
    let d = rl.check(&ctx, 80).await.unwrap();
    assert_eq!(remaining_requests(&d), 1);
    let d = rl.check(&ctx, 80).await.unwrap();
    assert!(d.is_limited());
    let d = rl.check(&ctx, 10).await.unwrap();
    assert_eq!(d.outcome, RateOutcome::Admitted);
    assert_eq!(remaining_requests(&d), 0);
    assert_eq!(remaining_tokens(&d), 10);
}

#[tokio::test]
async fn refusal_by_one_rule_takes_nothing_from_another() {
    let (rl, _, _) = limits(&[
        rule("global", None, Some(10), None),
        rule("team-search", Some("search"), Some(1), None),
    ]);
    assert!(!rl.check(&team("search"), 0).await.unwrap().is_limited());
    for _ in 0..5 {
        assert!(rl.check(&team("search"), 0).await.unwrap().is_limited());
    }
    // Only the one admitted call counted against the global limit.
    let d = rl.check(&team("ads"), 0).await.unwrap();
    assert_eq!(remaining_requests(&d), 8);
}

#[tokio::test]
async fn warn_mode_admits_with_a_warning_and_takes_nothing() {
    let mut r = rule("soft", None, Some(1), None);
    r.enforcement = Enforcement::Warn;
    let (rl, _, _) = limits(&[r, rule("hard", None, Some(5), None)]);
    let ctx = GovernanceContext::default();
    assert_eq!(
        rl.check(&ctx, 0).await.unwrap().outcome,
        RateOutcome::Admitted
    );
    let d = rl.check(&ctx, 0).await.unwrap();
    assert!(!d.is_limited());
    assert_eq!(d.error(), None);
    assert_eq!(
        d.warnings(),
        &[RateWarning {
            rule_id: "soft".into(),
            reason: "1 requests per minute exceeded".into()
        }]
    );
    // The tightest request limit is the warn one, now at 0.
    assert_eq!(
        d.headers.requests,
        Some(Remaining {
            limit: 1,
            remaining: 0
        })
    );
    // The block rule still counted both calls.
    let d = rl.check(&ctx, 0).await.unwrap();
    assert_eq!(d.warnings().len(), 1);
}

#[tokio::test]
async fn teams_have_separate_limits() {
    let (rl, _, _) = limits(&[
        rule("team-a", Some("a"), Some(1), None),
        rule("team-b", Some("b"), Some(1), None),
    ]);
    assert!(!rl.check(&team("a"), 0).await.unwrap().is_limited());
    assert!(rl.check(&team("a"), 0).await.unwrap().is_limited());
    assert!(!rl.check(&team("b"), 0).await.unwrap().is_limited());
    let other = rl.check(&team("c"), 0).await.unwrap();
    assert_eq!(other, RateDecision::unlimited());
    assert!(other.headers.pairs().is_empty());
}

#[tokio::test]
async fn global_rule_applies_to_every_caller() {
    let (rl, _, _) = limits(&[rule("global", None, Some(2), None)]);
    assert!(!rl.check(&team("a"), 0).await.unwrap().is_limited());
    assert!(!rl
        .check(&GovernanceContext::default(), 0)
        .await
        .unwrap()
        .is_limited());
    let d = rl.check(&team("b"), 0).await.unwrap();
    assert_eq!(refusal(&d).retry_after_secs, 30);
}

#[tokio::test]
async fn actual_usage_corrects_the_estimate() {
    let (rl, _, _) = limits(&[rule("tpm", None, None, Some(1000))]);
    let ctx = GovernanceContext::default();
    let d = rl.check(&ctx, 100).await.unwrap();
    rl.record_actual(&d, 600).await;
    assert_eq!(remaining_tokens(&rl.check(&ctx, 0).await.unwrap()), 400);

    let d = rl.check(&ctx, 300).await.unwrap();
    assert_eq!(remaining_tokens(&d), 100);
    rl.record_actual(&d, 50).await;
    assert_eq!(remaining_tokens(&rl.check(&ctx, 0).await.unwrap()), 350);

    // Far more than estimated: taken without refusing, later calls wait it out.
    let d = rl.check(&ctx, 10).await.unwrap();
    rl.record_actual(&d, 2000).await;
    assert!(rl.check(&ctx, 1).await.unwrap().is_limited());
}

#[tokio::test]
async fn limited_calls_record_nothing() {
    let (rl, _, _) = limits(&[rule("tpm", None, None, Some(100))]);
    let ctx = GovernanceContext::default();
    rl.check(&ctx, 100).await.unwrap();
    let d = rl.check(&ctx, 50).await.unwrap();
    assert!(d.is_limited());
    rl.record_actual(&d, 0).await;
    assert!(rl.check(&ctx, 50).await.unwrap().is_limited());
}

#[tokio::test]
async fn estimate_over_a_whole_minute_passes_on_a_full_bucket() {
    let (rl, _, _) = limits(&[rule("tpm", None, None, Some(100))]);
    let ctx = GovernanceContext::default();
    let d = rl.check(&ctx, 5000).await.unwrap();
    assert_eq!(d.outcome, RateOutcome::Admitted);
    assert_eq!(remaining_tokens(&d), 0);
    assert!(rl.check(&ctx, 1).await.unwrap().is_limited());
}

#[tokio::test]
async fn headers_report_the_tightest_limit_of_each_kind() {
    let (rl, _, _) = limits(&[
        rule("global", None, Some(100), Some(500)),
        rule("team", Some("search"), Some(5), Some(100_000)),
    ]);
    let d = rl.check(&team("search"), 10).await.unwrap();
    assert_eq!(
        d.headers.requests,
        Some(Remaining {
            limit: 5,
            remaining: 4
        })
    );
    assert_eq!(
        d.headers.tokens,
        Some(Remaining {
            limit: 500,
            remaining: 490
        })
    );
    let pairs = d.headers.pairs();
    assert_eq!(
        pairs,
        vec![
            ("x-ratelimit-limit-requests", "5".to_string()),
            ("x-ratelimit-remaining-requests", "4".to_string()),
            ("x-ratelimit-limit-tokens", "500".to_string()),
            ("x-ratelimit-remaining-tokens", "490".to_string()),
        ]
    );
}

#[tokio::test]
async fn stale_keys_are_dropped() {
    let (rl, clock, backend) = limits(&[rule("global", None, Some(60), None)]);
    rl.check(&GovernanceContext::default(), 0).await.unwrap();
    assert_eq!(backend.tracked_keys(), 1);
    clock.advance(Duration::from_secs(61));
    backend.retain_recent();
    assert_eq!(backend.tracked_keys(), 0);
}

#[tokio::test]
async fn state_survives_a_rebuild_on_the_same_backend() {
    let (rl, _, _) = limits(&[rule("global", None, Some(1), None)]);
    rl.check(&GovernanceContext::default(), 0).await.unwrap();
    let reloaded = RateLimits::new(&[rule("global", None, Some(1), None)], rl.backend());
    assert!(reloaded
        .check(&GovernanceContext::default(), 0)
        .await
        .unwrap()
        .is_limited());
}

#[derive(Debug)]
struct Down;

#[async_trait]
impl RateLimitBackend for Down {
    async fn acquire(&self, _: &[LimitRequest<'_>]) -> Result<Vec<LimitOutcome>, RateLimitError> {
        Err(RateLimitError::Unavailable("redis down".into()))
    }
    async fn adjust(&self, _: &Bucket, _: i64) -> Result<(), RateLimitError> {
        Err(RateLimitError::Unavailable("redis down".into()))
    }
}

#[tokio::test]
async fn unreachable_backend_fails_closed_unless_told_otherwise() {
    let rules = [rule("global", None, Some(1), None)];
    let ctx = GovernanceContext::default();
    let closed = RateLimits::new(&rules, Arc::new(Down));
    assert_eq!(closed.check(&ctx, 0).await.unwrap_err().status(), 503);
    let open = RateLimits::new(&rules, Arc::new(Down)).with_fail_open(true);
    let decision = open.check(&ctx, 0).await.unwrap();
    assert!(!decision.is_limited());
    // Fail-open is not silent: the call carries a warning naming the store.
    assert_eq!(decision.warnings().len(), 1);
    assert_eq!(decision.warnings()[0].rule_id, "ledger");
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    assert_eq!(retry_after_secs(Duration::ZERO), 1);
    assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    assert_eq!(retry_after_secs(Duration::from_millis(12_001)), 13);
    assert_eq!(retry_after_secs(Duration::from_secs(20)), 20);
}

#[test]
fn validation_lists_every_problem() {
    let problems = validate(&[
        rule("a", None, Some(1), None),
        rule("a", None, None, Some(0)),
        rule("b", None, None, None),
    ]);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(validate(&[rule("ok", None, Some(1), Some(1))]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_never_exceed_the_limit() {
    let (rl, _, _) = limits(&[rule("global", None, Some(100), Some(10_000))]);
    let rl = Arc::new(rl);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let rl = rl.clone();
            tokio::spawn(async move {
                let mut admitted = 0u32;
                for _ in 0..100 {
                    if !rl
                        .check(&GovernanceContext::default(), 7)
                        .await
                        .unwrap()
                        .is_limited()
                    {
                        admitted += 1;
                    }
                }
                admitted
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, 100);
}
