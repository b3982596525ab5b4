//! What every ledger backend must do, written once: run it against a store with
//! `crate::ledger_conformance_tests!(make_store_expression);` inside a `#[cfg(test)] mod`.
//!
//! Each case uses its own random budget ids, key names and time range, so cases can share one
//! store (a Redis server) and run in parallel.

use std::slice::from_ref;
use std::sync::Arc;

use super::{
    BudgetKey, BudgetLimit, BudgetState, LedgerStore, Reservation, ReserveOutcome, ReserveRequest,
    SpendQuery, SpendRecord, StoredKey,
};
use crate::record::NanoUsd;

/// Generates one `#[tokio::test]` per conformance case for the store `$make` builds (an
/// expression, evaluated inside the async test, so `connect().await.unwrap()` works).
#[macro_export]
macro_rules! ledger_conformance_tests {
    ($make:expr) => {
        $crate::ledger_conformance_tests!(@cases $make;
            reserve_within_limit_holds_amount,
            reserve_is_atomic_across_budgets,
            refusal_names_the_tightest_budget,
            warn_mode_never_refuses,
            cut_stream_admits_partially_and_extends,
            cut_stream_refuses_below_minimum,
            extend_is_refused_without_room,
            settle_releases_reservations_exactly,
            debit_over_limit_is_recorded,
            settle_without_reservation_debits,
            periods_are_counted_separately,
            concurrent_calls_never_overspend,
            concurrent_cheaper_calls_stay_within_limit,
            spend_report_groups_and_ranges,
            spend_report_rejects_unknown_dimension,
            keys_put_list_revoke,
            ping_answers,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::ledger::LedgerStore> =
                    ::std::sync::Arc::new($make);
                $crate::ledger::conformance::$case(store).await;
            }
        )*
    };
}

/// One worst case in the concurrency cases: $0.001.
const W: NanoUsd = 1_000_000;

fn unique(prefix: &str) -> String {
    format!("conf-{prefix}-{:016x}", rand::random::<u64>())
}

fn budget(id: &str, limit: NanoUsd) -> BudgetLimit {
    BudgetLimit {
        key: BudgetKey {
            budget_id: id.to_string(),
            period_start: 1_796_083_200,
        },
        limit,
        enforced: true,
        cut_stream: false,
        retain_secs: 3_600,
    }
}

fn warn(mut b: BudgetLimit) -> BudgetLimit {
    b.enforced = false;
    b
}

fn cut_stream(mut b: BudgetLimit) -> BudgetLimit {
    b.cut_stream = true;
    b
}

fn ask(budgets: &[BudgetLimit], amount: NanoUsd, min_amount: NanoUsd) -> ReserveRequest {
    ReserveRequest {
        call_id: unique("call"),
        budgets: budgets.to_vec(),
        amount,
        min_amount,
    }
}

/// A record far from any report range (1970), so it never shows up in another case's report.
fn record(cost: NanoUsd) -> SpendRecord {
    SpendRecord {
        request_id: unique("req"),
        time_ms: 0,
        provider: "openai".into(),
        cost,
        policy_result: "allowed".into(),
        ..SpendRecord::default()
    }
}

async fn reserved(store: &dyn LedgerStore, request: &ReserveRequest) -> Reservation {
    match store.reserve(request).await.unwrap() {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected a reservation, got {other:?}"),
    }
}

async fn exhausted(store: &dyn LedgerStore, request: &ReserveRequest) -> BudgetState {
    match store.reserve(request).await.unwrap() {
        ReserveOutcome::Exhausted(s) => s,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn state(store: &dyn LedgerStore, b: &BudgetLimit) -> BudgetState {
    let mut states = store.states(from_ref(b)).await.unwrap();
    assert_eq!(states.len(), 1);
    states.remove(0)
}

/// Consumed and reserved of one budget.
async fn counters(store: &dyn LedgerStore, b: &BudgetLimit) -> (NanoUsd, NanoUsd) {
    let s = state(store, b).await;
    (s.consumed, s.reserved)
}

pub async fn reserve_within_limit_holds_amount(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let b = budget(&unique("hold"), 100);
    assert_eq!(counters(store, &b).await, (0, 0));
    let r = reserved(store, &ask(from_ref(&b), 60, 60)).await;
    assert_eq!(r.amount, 60);
    assert_eq!(r.budgets, vec![b.key.clone()]);
    assert_eq!(r.states.len(), 1);
    assert_eq!((r.states[0].consumed, r.states[0].reserved), (0, 60));
    assert_eq!(counters(store, &b).await, (0, 60));
    // Exactly the limit fits; one more nano-USD does not.
    reserved(store, &ask(from_ref(&b), 40, 40)).await;
    let s = exhausted(store, &ask(from_ref(&b), 1, 1)).await;
    assert_eq!(
        (s.key, s.limit, s.consumed, s.reserved),
        (b.key.clone(), 100, 0, 100)
    );
}

pub async fn reserve_is_atomic_across_budgets(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let roomy = budget(&unique("roomy"), 1_000);
    let tight = budget(&unique("tight"), 50);
    let noted = warn(budget(&unique("noted"), 10));
    let s = exhausted(
        store,
        &ask(&[roomy.clone(), tight.clone(), noted.clone()], 80, 80),
    )
    .await;
    assert_eq!(s.key, tight.key);
    for b in [&roomy, &tight, &noted] {
        assert_eq!(
            counters(store, b).await,
            (0, 0),
            "{} must hold nothing",
            b.key.budget_id
        );
    }
    let r = reserved(
        store,
        &ask(&[roomy.clone(), tight.clone(), noted.clone()], 50, 50),
    )
    .await;
    assert_eq!(r.amount, 50);
    for b in [&roomy, &tight, &noted] {
        assert_eq!(counters(store, b).await, (0, 50));
    }
}

pub async fn refusal_names_the_tightest_budget(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let a = budget(&unique("a"), 100);
    let b = budget(&unique("b"), 100);
    store
        .settle(None, from_ref(&a), 70, record(70))
        .await
        .unwrap();
    store
        .settle(None, from_ref(&b), 95, record(95))
        .await
        .unwrap();
    let s = exhausted(store, &ask(&[a.clone(), b.clone()], 40, 40)).await;
    assert_eq!((s.key, s.consumed, s.reserved), (b.key, 95, 0));
}

pub async fn warn_mode_never_refuses(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let b = warn(budget(&unique("warn"), 10));
    let r = reserved(store, &ask(from_ref(&b), 1_000, 1_000)).await;
    assert_eq!(r.amount, 1_000);
    assert_eq!(r.states[0].reserved, 1_000);
    let mut r2 = reserved(store, &ask(from_ref(&b), 5, 5)).await;
    assert!(store.extend(&mut r2, from_ref(&b), 500).await.unwrap());
    assert_eq!(counters(store, &b).await, (0, 1_505));
    store
        .settle(Some(&r), from_ref(&b), 900, record(900))
        .await
        .unwrap();
    store
        .settle(Some(&r2), from_ref(&b), 505, record(505))
        .await
        .unwrap();
    assert_eq!(counters(store, &b).await, (1_405, 0));
}

pub async fn cut_stream_admits_partially_and_extends(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let cut = cut_stream(budget(&unique("cut"), 100));
    let roomy = budget(&unique("roomy"), 1_000);
    let both = [cut.clone(), roomy.clone()];
    store.settle(None, &both, 60, record(60)).await.unwrap();
    // Worst case 50 does not fit in 40 of room, the minimum 10 does: 40 for every budget.
    let mut r = reserved(store, &ask(&both, 50, 10)).await;
    assert_eq!(r.amount, 40);
    assert_eq!(counters(store, &cut).await, (60, 40));
    assert_eq!(counters(store, &roomy).await, (60, 40));
    assert!(!store.extend(&mut r, &both, 1).await.unwrap());
    assert_eq!(r.amount, 40);
    // The stream ran past its hold by a little before it was cut: still debited in full.
    let states = store.settle(Some(&r), &both, 41, record(41)).await.unwrap();
    let cut_after = states.iter().find(|s| s.key == cut.key).unwrap();
    assert_eq!((cut_after.consumed, cut_after.reserved), (101, 0));
    assert_eq!(counters(store, &roomy).await, (101, 0));

    // With room, a partial hold grows as the stream goes on.
    let cut2 = cut_stream(budget(&unique("cut2"), 100));
    let mut r = reserved(store, &ask(from_ref(&cut2), 30, 10)).await;
    assert_eq!(r.amount, 30);
    assert!(store.extend(&mut r, from_ref(&cut2), 70).await.unwrap());
    assert_eq!(r.amount, 100);
    assert_eq!(counters(store, &cut2).await, (0, 100));
    assert!(!store.extend(&mut r, from_ref(&cut2), 1).await.unwrap());
    store
        .settle(Some(&r), from_ref(&cut2), 90, record(90))
        .await
        .unwrap();
    assert_eq!(counters(store, &cut2).await, (90, 0));
}

pub async fn cut_stream_refuses_below_minimum(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let cut = cut_stream(budget(&unique("cut"), 100));
    store
        .settle(None, from_ref(&cut), 95, record(95))
        .await
        .unwrap();
    let s = exhausted(store, &ask(from_ref(&cut), 50, 10)).await;
    assert_eq!((s.consumed, s.reserved), (95, 0));
    // A block budget beside it: the call needs its full amount there.
    let block = budget(&unique("block"), 20);
    let cut2 = cut_stream(budget(&unique("cut2"), 100));
    let s = exhausted(store, &ask(&[cut2.clone(), block.clone()], 50, 10)).await;
    assert_eq!(s.key, block.key);
    assert_eq!(counters(store, &cut2).await, (0, 0));
}

pub async fn extend_is_refused_without_room(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let a = budget(&unique("a"), 100);
    let noted = warn(budget(&unique("noted"), 1));
    let both = [a.clone(), noted.clone()];
    let mut r = reserved(store, &ask(&both, 60, 60)).await;
    let other = reserved(store, &ask(from_ref(&a), 30, 30)).await;
    assert!(store.extend(&mut r, &both, 10).await.unwrap());
    assert_eq!(r.amount, 70);
    assert!(!store.extend(&mut r, &both, 1).await.unwrap());
    assert_eq!(r.amount, 70);
    assert_eq!(counters(store, &a).await, (0, 100));
    assert_eq!(counters(store, &noted).await, (0, 70));
    store
        .settle(Some(&other), from_ref(&a), 0, record(0))
        .await
        .unwrap();
    assert!(store.extend(&mut r, &both, 30).await.unwrap());
    assert_eq!(counters(store, &a).await, (0, 100));
}

pub async fn settle_releases_reservations_exactly(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let a = budget(&unique("a"), 1_000);
    let b = warn(budget(&unique("b"), 1_000));
    let both = [a.clone(), b.clone()];
    let r1 = reserved(store, &ask(&both, 300, 300)).await;
    let r2 = reserved(store, &ask(&both, 200, 200)).await;
    assert_eq!(counters(store, &a).await, (0, 500));
    let states = store
        .settle(Some(&r1), &both, 120, record(120))
        .await
        .unwrap();
    assert_eq!(states.len(), 2);
    for s in &states {
        assert_eq!((s.consumed, s.reserved), (120, 200));
    }
    store.settle(Some(&r2), &both, 0, record(0)).await.unwrap();
    assert_eq!(counters(store, &a).await, (120, 0));
    assert_eq!(counters(store, &b).await, (120, 0));
    assert_eq!(state(store, &a).await.remaining(), 880);
}

pub async fn debit_over_limit_is_recorded(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let b = budget(&unique("over"), 20);
    let r = reserved(store, &ask(from_ref(&b), 10, 10)).await;
    let states = store
        .settle(Some(&r), from_ref(&b), 50, record(50))
        .await
        .unwrap();
    assert_eq!((states[0].consumed, states[0].reserved), (50, 0));
    assert_eq!(states[0].remaining(), 0);
    let s = exhausted(store, &ask(from_ref(&b), 1, 1)).await;
    assert_eq!(s.consumed, 50);
}

pub async fn settle_without_reservation_debits(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let b = budget(&unique("plain"), 100);
    let states = store
        .settle(None, from_ref(&b), 7, record(7))
        .await
        .unwrap();
    assert_eq!((states[0].consumed, states[0].reserved), (7, 0));
    // No budget at all: only the spend record is kept.
    assert!(store
        .settle(None, &[], 7, record(7))
        .await
        .unwrap()
        .is_empty());
}

pub async fn periods_are_counted_separately(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let november = budget(&unique("monthly"), 100);
    let mut december = november.clone();
    december.key.period_start += 30 * 86_400;
    store
        .settle(None, from_ref(&november), 100, record(100))
        .await
        .unwrap();
    exhausted(store, &ask(from_ref(&november), 1, 1)).await;
    let r = reserved(store, &ask(from_ref(&december), 100, 100)).await;
    assert_eq!(r.states[0].consumed, 0);
    assert_eq!(counters(store, &november).await, (100, 0));
}

/// Runs `tasks` calls at once, each reserving `W` on `global` and one of two team budgets and
/// settling `actual`; returns how many were admitted.
async fn storm(
    store: &Arc<dyn LedgerStore>,
    global: &BudgetLimit,
    teams: &[BudgetLimit; 2],
    tasks: usize,
    actual: NanoUsd,
) -> usize {
    let mut handles = Vec::with_capacity(tasks);
    for i in 0..tasks {
        let store = Arc::clone(store);
        let budgets = vec![global.clone(), teams[i % 2].clone()];
        handles.push(tokio::spawn(async move {
            let request = ask(&budgets, W, W);
            match store.reserve(&request).await.unwrap() {
                ReserveOutcome::Reserved(r) => {
                    for s in &r.states {
                        assert!(s.consumed + s.reserved <= s.limit, "overbooked: {s:?}");
                    }
                    tokio::task::yield_now().await;
                    store
                        .settle(Some(&r), &budgets, actual, record(actual))
                        .await
                        .unwrap();
                    true
                }
                ReserveOutcome::Exhausted(_) => false,
            }
        }));
    }
    let mut admitted = 0;
    for handle in handles {
        if handle.await.unwrap() {
            admitted += 1;
        }
    }
    admitted
}

pub async fn concurrent_calls_never_overspend(store: Arc<dyn LedgerStore>) {
    let global = budget(&unique("global"), 10 * W + W / 2);
    let teams = [
        budget(&unique("t1"), 100 * W),
        budget(&unique("t2"), 100 * W),
    ];
    let admitted = storm(&store, &global, &teams, 64, W).await;
    // Every admitted call holds and then spends its full worst case: exactly 10 fit.
    assert_eq!(admitted, 10);
    assert_eq!(counters(&*store, &global).await, (10 * W, 0));
    let (t1, r1) = counters(&*store, &teams[0]).await;
    let (t2, r2) = counters(&*store, &teams[1]).await;
    assert_eq!((t1 + t2, r1 + r2), (10 * W, 0));
}

pub async fn concurrent_cheaper_calls_stay_within_limit(store: Arc<dyn LedgerStore>) {
    let global = budget(&unique("global"), 10 * W + W / 2);
    let teams = [
        budget(&unique("t1"), 100 * W),
        budget(&unique("t2"), 100 * W),
    ];
    let admitted = storm(&store, &global, &teams, 64, W / 2).await;
    // Settling below the worst case returns room to later calls, never more than the limit.
    assert!((10..=21).contains(&admitted), "admitted {admitted}");
    let (consumed, held) = counters(&*store, &global).await;
    assert_eq!(held, 0);
    assert_eq!(consumed, admitted as NanoUsd * (W / 2));
    assert!(consumed <= global.limit);
}

pub async fn spend_report_groups_and_ranges(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let from = 1_700_000_000_000 + i64::from(rand::random::<u32>()) * 100;
    let team = unique("team");
    let at = |offset_ms: i64, team: Option<&str>, model: &str, cost: NanoUsd| SpendRecord {
        request_id: unique("req"),
        time_ms: from + offset_ms,
        key: Some("k1".into()),
        team: team.map(str::to_string),
        provider: "openai".into(),
        model: Some(model.into()),
        input_tokens: 10,
        output_tokens: 5,
        cost,
        policy_result: "allowed".into(),
        ..SpendRecord::default()
    };
    let records = [
        at(-1, Some(&team), "gpt-4o", 1_000), // before the range
        at(0, Some(&team), "gpt-4o", 100),
        at(1, Some(&team), "gpt-4o", 200),
        at(2, Some(&team), "gpt-4o-mini", 30),
        at(3, None, "gpt-4o", 4),
        at(9_999, Some(&team), "gpt-4o-mini", 5),
        at(10_000, Some(&team), "gpt-4o", 1_000), // the end is exclusive
    ];
    for r in records {
        let cost = r.cost;
        store.settle(None, &[], cost, r).await.unwrap();
    }
    let query = |group_by: &[&str]| SpendQuery {
        group_by: group_by.iter().map(|g| g.to_string()).collect(),
        from_ms: from,
        to_ms: from + 10_000,
    };
    let mut rows = store.spend(&query(&["team", "model"])).await.unwrap();
    rows.sort_by(|a, b| a.group.cmp(&b.group));
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.group.clone(),
                r.calls,
                r.input_tokens,
                r.output_tokens,
                r.cost,
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        got,
        vec![
            (vec![None, s("gpt-4o")], 1, 10, 5, 4),
            (vec![s(&team), s("gpt-4o")], 2, 20, 10, 300),
            (vec![s(&team), s("gpt-4o-mini")], 2, 20, 10, 35),
        ]
    );
    let rows = store.spend(&query(&[])).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].group.len(), rows[0].calls, rows[0].cost),
        (0, 5, 339)
    );
    let rows = store.spend(&query(&["provider", "key"])).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].group, vec![s("openai"), s("k1")]);
}

pub async fn spend_report_rejects_unknown_dimension(store: Arc<dyn LedgerStore>) {
    let query = SpendQuery {
        group_by: vec!["team".into(), "colour".into()],
        from_ms: 0,
        to_ms: 1,
    };
    assert!(store.spend(&query).await.is_err());
}

pub async fn keys_put_list_revoke(store: Arc<dyn LedgerStore>) {
    let store = &*store;
    let name = unique("key");
    let key = StoredKey {
        name: name.clone(),
        key_sha256: "ab".repeat(32),
        team: Some("search".into()),
        providers: Some(vec!["openai".into()]),
        created_at_ms: 1_796_083_200_000,
        ..StoredKey::default()
    };
    store.put_key(key.clone()).await.unwrap();
    let find = |keys: Vec<StoredKey>| keys.into_iter().find(|k| k.name == name);
    assert_eq!(find(store.list_keys().await.unwrap()), Some(key.clone()));
    assert!(store.revoke_key(&name).await.unwrap());
    let revoked = find(store.list_keys().await.unwrap()).unwrap();
    assert!(revoked.revoked);
    assert_eq!(revoked.key_sha256, key.key_sha256);
    assert!(!store.revoke_key(&unique("missing")).await.unwrap());
    // Putting a key again under the same name replaces it.
    let replaced = StoredKey {
        team: Some("ads".into()),
        ..key
    };
    store.put_key(replaced.clone()).await.unwrap();
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed.iter().filter(|k| k.name == name).count(), 1);
    assert_eq!(find(listed), Some(replaced));
}

pub async fn ping_answers(store: Arc<dyn LedgerStore>) {
    store.ping().await.unwrap();
}
