use std::slice::from_ref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::test_server::TestRedis;
use super::*;

/// A Redis ledger that owns its server, so each conformance case gets (and kills) its own.
struct Served {
    store: RedisLedger,
    _server: TestRedis,
}

async fn served() -> Served {
    let server = TestRedis::start();
    Served {
        store: RedisLedger::connect(&server.url()).unwrap(),
        _server: server,
    }
}

#[async_trait]
impl LedgerStore for Served {
    async fn reserve(&self, request: &ReserveRequest) -> Result<ReserveOutcome, LedgerError> {
        self.store.reserve(request).await
    }
    async fn extend(
        &self,
        reservation: &mut Reservation,
        budgets: &[BudgetLimit],
        extra: NanoUsd,
    ) -> Result<bool, LedgerError> {
        self.store.extend(reservation, budgets, extra).await
    }
    async fn settle(
        &self,
        reservation: Option<&Reservation>,
        budgets: &[BudgetLimit],
        actual: NanoUsd,
        record: SpendRecord,
    ) -> Result<Vec<BudgetState>, LedgerError> {
        self.store
            .settle(reservation, budgets, actual, record)
            .await
    }
    async fn states(&self, budgets: &[BudgetLimit]) -> Result<Vec<BudgetState>, LedgerError> {
        self.store.states(budgets).await
    }
    async fn spend(&self, query: &SpendQuery) -> Result<Vec<SpendRow>, LedgerError> {
        self.store.spend(query).await
    }
    async fn put_key(&self, key: StoredKey) -> Result<(), LedgerError> {
        self.store.put_key(key).await
    }
    async fn list_keys(&self) -> Result<Vec<StoredKey>, LedgerError> {
        self.store.list_keys().await
    }
    async fn revoke_key(&self, name: &str) -> Result<bool, LedgerError> {
        self.store.revoke_key(name).await
    }
    async fn ping(&self) -> Result<(), LedgerError> {
        self.store.ping().await
    }
}

crate::ledger_conformance_tests!(served().await);

const W: NanoUsd = 1_000_000;

fn budget(id: &str, limit: NanoUsd) -> BudgetLimit {
    BudgetLimit {
        key: BudgetKey {
            budget_id: id.into(),
            period_start: 1_796_083_200,
        },
        limit,
        enforced: true,
        cut_stream: false,
        retain_secs: 3_600,
    }
}

fn ask(b: &BudgetLimit, call_id: String, amount: NanoUsd) -> ReserveRequest {
    ReserveRequest {
        call_id,
        budgets: vec![b.clone()],
        amount,
        min_amount: amount,
    }
}

fn record(cost: NanoUsd) -> SpendRecord {
    SpendRecord {
        request_id: format!("req-{:016x}", rand::random::<u64>()),
        provider: "openai".into(),
        cost,
        policy_result: "allowed".into(),
        ..SpendRecord::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_budget() {
    let server = TestRedis::start();
    let replicas = [
        Arc::new(RedisLedger::connect(&server.url()).unwrap()),
        Arc::new(RedisLedger::connect(&server.url()).unwrap()),
    ];
    let global = budget("fleet", 10 * W + W / 2);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = Arc::clone(&replicas[i % 2]);
        let global = global.clone();
        tasks.push(tokio::spawn(async move {
            match store
                .reserve(&ask(&global, format!("call-{i}"), W))
                .await
                .unwrap()
            {
                ReserveOutcome::Reserved(r) => {
                    tokio::task::yield_now().await;
                    store
                        .settle(Some(&r), from_ref(&global), W, record(W))
                        .await
                        .unwrap();
                    1
                }
                ReserveOutcome::Exhausted(_) => 0,
            }
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.unwrap();
    }
    assert_eq!(admitted, 10);
    let s = replicas[0].states(from_ref(&global)).await.unwrap();
    assert_eq!((s[0].consumed, s[0].reserved), (10 * W, 0));
    assert!(s[0].consumed <= global.limit + W);
}

#[tokio::test]
async fn outage_is_unavailable_and_recovers_without_rebuilding() {
    let mut server = TestRedis::start();
    let store = RedisLedger::connect(&server.url()).unwrap();
    let b = budget("outage", 100 * W);
    store.ping().await.unwrap();
    server.stop();
    assert!(matches!(
        store.ping().await,
        Err(LedgerError::Unavailable(_))
    ));
    assert!(matches!(
        store.reserve(&ask(&b, "during".into(), W)).await,
        Err(LedgerError::Unavailable(_))
    ));
    assert!(matches!(
        store.settle(None, from_ref(&b), W, record(W)).await,
        Err(LedgerError::Unavailable(_))
    ));
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "store never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The restarted server has lost its script cache: EVALSHA falls back to loading them.
    let r = match store.reserve(&ask(&b, "after".into(), W)).await.unwrap() {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected a reservation, got {other:?}"),
    };
    store
        .settle(Some(&r), from_ref(&b), W, record(W))
        .await
        .unwrap();
    let s = store.states(from_ref(&b)).await.unwrap();
    assert_eq!((s[0].consumed, s[0].reserved), (W, 0));
}

#[tokio::test]
async fn holds_of_a_dead_replica_expire() {
    let server = TestRedis::start();
    let store = RedisLedger::connect(&server.url())
        .unwrap()
        .with_hold_ttl(Duration::from_millis(200));
    let b = budget("expiry", 100);
    let orphan = match store.reserve(&ask(&b, "orphan".into(), 60)).await.unwrap() {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected a reservation, got {other:?}"),
    };
    assert!(matches!(
        store.reserve(&ask(&b, "blocked".into(), 60)).await.unwrap(),
        ReserveOutcome::Exhausted(_)
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = match store.reserve(&ask(&b, "later".into(), 60)).await.unwrap() {
        ReserveOutcome::Reserved(r) => r,
        other => panic!("expected the expired hold to be released, got {other:?}"),
    };
    assert_eq!(r.states[0].reserved, 60);
    // A late settle of the expired hold debits but does not release the newer hold.
    let s = store
        .settle(Some(&orphan), from_ref(&b), 10, record(10))
        .await
        .unwrap();
    assert_eq!((s[0].consumed, s[0].reserved), (10, 60));
}

#[tokio::test]
async fn budget_keys_expire_unless_kept_for_good() {
    let server = TestRedis::start();
    let store = RedisLedger::connect(&server.url()).unwrap();
    let forever = BudgetLimit {
        retain_secs: 0,
        ..budget("total", 100)
    };
    let monthly = budget("monthly", 100);
    store
        .settle(None, &[forever.clone(), monthly.clone()], 5, record(5))
        .await
        .unwrap();
    let mut conn = store.conn();
    let ttl = |key: String| {
        let mut conn = conn.clone();
        async move {
            redis::cmd("TTL")
                .arg(key)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
        }
    };
    assert_eq!(ttl(hash_key(&forever.key)).await, -1);
    let t = ttl(hash_key(&monthly.key)).await;
    assert!((3_590..=3_600).contains(&t), "ttl {t}");
    let _: () = redis::cmd("PING").query_async(&mut conn).await.unwrap();
}
