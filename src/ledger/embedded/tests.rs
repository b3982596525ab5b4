use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::slice::from_ref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::ledger::SpendQuery;

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("genops-embedded-{:016x}", rand::random::<u64>()))
}

crate::ledger_conformance_tests!(EmbeddedLedger::open(&temp_dir()).await.unwrap());

const CRASH_DIR_ENV: &str = "GENOPS_TEST_CRASH_LEDGER_DIR";
const SETTLED_CALLS: u64 = 25;
const COST: NanoUsd = 1_000;
const HELD: NanoUsd = 7_777;
const T0: i64 = 1_796_083_200_000;

fn budget(retain_secs: u64) -> BudgetLimit {
    BudgetLimit {
        key: BudgetKey {
            budget_id: "crash-monthly".into(),
            period_start: 1_796_083_200,
        },
        limit: 1_000_000,
        enforced: true,
        cut_stream: false,
        retain_secs,
    }
}

fn record(i: u64) -> SpendRecord {
    SpendRecord {
        request_id: format!("req-{i}"),
        time_ms: T0 + i64::try_from(i).unwrap(),
        team: Some("search".into()),
        provider: "openai".into(),
        cost: COST,
        policy_result: "allowed".into(),
        ..SpendRecord::default()
    }
}

async fn reserve(store: &EmbeddedLedger, call_id: &str, amount: NanoUsd) -> Reservation {
    reserve_on(store, budget(0), call_id, amount).await
}

async fn reserve_on(
    store: &EmbeddedLedger,
    b: BudgetLimit,
    call_id: &str,
    amount: NanoUsd,
) -> Reservation {
    let request = ReserveRequest {
        call_id: call_id.into(),
        budgets: vec![b],
        amount,
        min_amount: amount,
    };
    match store.reserve(&request).await.unwrap() {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected a reservation, got {other:?}"),
    }
}

/// The process the crash test kills: settles some calls, holds one more, says READY, waits.
/// Does nothing unless started by `kill_9_loses_no_settled_spend`.
#[tokio::test]
async fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return;
    };
    let store = EmbeddedLedger::open(std::path::Path::new(&dir))
        .await
        .unwrap();
    for i in 0..SETTLED_CALLS {
        let r = reserve(&store, &format!("call-{i}"), 5_000).await;
        store
            .settle(Some(&r), &[budget(0)], COST, record(i))
            .await
            .unwrap();
    }
    let _in_flight = reserve(&store, "call-in-flight", HELD).await;
    println!("READY");
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test]
async fn kill_9_loses_no_settled_spend() {
    let dir = temp_dir();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ledger::embedded::tests::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_ENV, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.trim_end().ends_with("READY"))
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .unwrap()
            .unwrap(),
        "child never got ready"
    );
    // SIGKILL: no destructor, no writer shutdown, no checkpoint.
    child.kill().unwrap();
    child.wait().unwrap();

    let store = EmbeddedLedger::open(&dir).await.unwrap();
    assert_eq!(store.recovered(), 1);
    let s = store.states(from_ref(&budget(0))).await.unwrap();
    // Every settled call, plus the held call at its reserved amount; nothing held any more.
    assert_eq!(s[0].consumed, SETTLED_CALLS * COST + HELD);
    assert_eq!(s[0].reserved, 0);
    let query = |group_by: &[&str], from_ms, to_ms| SpendQuery {
        group_by: group_by.iter().map(|g| g.to_string()).collect(),
        from_ms,
        to_ms,
    };
    let rows = store
        .spend(&query(&["team"], T0, T0 + 1_000))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].calls, rows[0].cost),
        (SETTLED_CALLS, SETTLED_CALLS * COST)
    );
    let rows = store
        .spend(&query(&["provider", "team"], 0, i64::MAX))
        .await
        .unwrap();
    let recovered: Vec<_> = rows
        .iter()
        .filter(|r| r.group[0].as_deref() == Some("unknown"))
        .collect();
    assert_eq!(recovered.len(), 1);
    assert_eq!((recovered[0].calls, recovered[0].cost), (1, HELD));
    drop(store);
    // A second open recovers nothing more.
    let store = EmbeddedLedger::open(&dir).await.unwrap();
    assert_eq!(store.recovered(), 0);
    let s = store.states(from_ref(&budget(0))).await.unwrap();
    assert_eq!(s[0].consumed, SETTLED_CALLS * COST + HELD);
}

#[tokio::test]
async fn counters_and_keys_survive_reopen() {
    let dir = temp_dir();
    let store = EmbeddedLedger::open(&dir).await.unwrap();
    let r = reserve(&store, "a", 500).await;
    let mut r2 = reserve(&store, "b", 100).await;
    assert!(store.extend(&mut r2, &[budget(0)], 50).await.unwrap());
    store
        .settle(Some(&r), &[budget(0)], 300, record(1))
        .await
        .unwrap();
    store
        .put_key(StoredKey {
            name: "k".into(),
            key_sha256: "00".repeat(32),
            ..StoredKey::default()
        })
        .await
        .unwrap();
    assert!(store.revoke_key("k").await.unwrap());
    // Leaked, not dropped: like a crash, the writer is never asked to stop.
    std::mem::forget(store);
    let store = EmbeddedLedger::open(&dir).await.unwrap();
    assert_eq!(store.recovered(), 1);
    let s = store.states(&[budget(0)]).await.unwrap();
    assert_eq!((s[0].consumed, s[0].reserved), (300 + 150, 0));
    let keys = store.list_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked);
}

#[tokio::test]
async fn expired_periods_are_dropped_at_open() {
    let dir = temp_dir();
    let store = EmbeddedLedger::open(&dir).await.unwrap();
    let mut old = budget(1);
    old.key.budget_id = "short".into();
    store
        .settle(None, from_ref(&old), 10, record(1))
        .await
        .unwrap();
    store
        .settle(None, &[budget(0)], 10, record(2))
        .await
        .unwrap();
    drop(store);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let store = EmbeddedLedger::open(&dir).await.unwrap();
    assert_eq!(store.states(from_ref(&old)).await.unwrap()[0].consumed, 0);
    assert_eq!(store.states(&[budget(0)]).await.unwrap()[0].consumed, 10);
}

/// `cargo test --lib ledger::embedded::tests::settle_throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand"]
async fn settle_throughput() {
    const CALLS: usize = 10_000;
    const TASKS: usize = 64;
    let store = Arc::new(EmbeddedLedger::open(&temp_dir()).await.unwrap());
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        handles.push(tokio::spawn(async move {
            for i in (t..CALLS).step_by(TASKS) {
                let mut b = budget(3_600);
                b.limit = NanoUsd::MAX;
                let r = reserve_on(&store, b.clone(), &format!("call-{i}"), 5_000).await;
                store
                    .settle(Some(&r), from_ref(&b), COST, record(i as u64))
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = start.elapsed();
    println!(
        "{CALLS} reserve+settle pairs from {TASKS} tasks: {elapsed:?} ({:.0} calls/s)",
        CALLS as f64 / elapsed.as_secs_f64()
    );
}
