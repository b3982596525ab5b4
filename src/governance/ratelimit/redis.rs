//! Fleet-wide rate limits in Redis: one GCRA script decides every limit of a call atomically.
//!
//! Each bucket is one key `genops:rl:<rule>:<kind>:<scope>` holding its GCRA "theoretical
//! arrival time" in microseconds on the Redis clock, expiring when the bucket is full again. A
//! bucket allows `per_minute` cells of burst and refills one cell every `60 s / per_minute`,
//! like the in-process governor backend, and every replica takes from the same keys.

use std::time::Duration;

use async_trait::async_trait;
use once_cell::sync::Lazy;
use redis::aio::ConnectionManager;
use redis::{RedisError, Script};

use super::backend::{
    Bucket, LimitKind, LimitOutcome, LimitRequest, RateLimitBackend, RateLimitError,
};
use crate::ledger::redis::connection;

/// Shared Lua: the Redis clock in µs, reading a bucket, writing it with an expiry.
const PRELUDE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = 60000000
local function store(key, tat)
  if tat <= now then
    redis.call('DEL', key)
  else
    redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
  end
end
"#;

/// KEYS: one bucket per limit. ARGV per limit: cells, per_minute, enforced (1/0).
/// Returns per limit three numbers: 1, taken, remaining or 0, retry_after_us, 0. Takes nothing
/// anywhere when an enforced limit refuses.
const ACQUIRE: &str = r#"
local tats, order, out = {}, {}, {}
local blocked = false
for i = 1, #KEYS do
  local key = KEYS[i]
  local per_minute = tonumber(ARGV[3 * i - 1])
  local cells = math.min(tonumber(ARGV[3 * i - 2]), per_minute)
  local interval = window / per_minute
  local tat = tats[key]
  if tat == nil then tat = tonumber(redis.call('GET', key)) or now end
  if tat < now then tat = now end
  local after = tat + cells * interval
  local room = window - (after - now)
  if cells == 0 then
    table.insert(out, 1); table.insert(out, 0)
    table.insert(out, math.max(0, math.floor(room / interval + 1e-9)))
  elseif room >= 0 then
    table.insert(out, 1); table.insert(out, cells)
    table.insert(out, math.floor(room / interval + 1e-9))
    if tats[key] == nil then table.insert(order, key) end
    tats[key] = after
  else
    table.insert(out, 0); table.insert(out, math.ceil(-room)); table.insert(out, 0)
    if ARGV[3 * i] == '1' then blocked = true end
  end
end
if not blocked then
  for _, key in ipairs(order) do store(key, tats[key]) end
end
return out
"#;

/// KEYS: the bucket. ARGV: delta cells (negative gives back), per_minute.
const ADJUST: &str = r#"
local delta = tonumber(ARGV[1])
local interval = window / tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if delta < 0 then
  if tat == nil then return 0 end
  store(KEYS[1], tat + delta * interval)
else
  if tat == nil or tat < now then tat = now end
  store(KEYS[1], tat + delta * interval)
end
return 1
"#;

static ACQUIRE_SCRIPT: Lazy<Script> = Lazy::new(|| Script::new(&format!("{PRELUDE}{ACQUIRE}")));
static ADJUST_SCRIPT: Lazy<Script> = Lazy::new(|| Script::new(&format!("{PRELUDE}{ADJUST}")));

fn bucket_key(bucket: &Bucket) -> String {
    let kind = match bucket.kind {
        LimitKind::Requests => "requests",
        LimitKind::Tokens => "tokens",
    };
    format!("genops:rl:{}:{kind}:{}", bucket.rule_id, bucket.scope)
}

fn failed(e: RedisError) -> RateLimitError {
    RateLimitError::Unavailable(format!("redis: {e}"))
}

/// Rate-limit state in Redis, shared by every replica.
#[derive(Clone, Debug)]
pub struct RedisRateLimits {
    conn: ConnectionManager,
}

impl RedisRateLimits {
    pub fn new(conn: ConnectionManager) -> Self {
        RedisRateLimits { conn }
    }

    /// Connects lazily (see [`crate::ledger::redis::connection::manager`]).
    pub fn connect(url: &str) -> Result<Self, RedisError> {
        connection::manager(url).map(RedisRateLimits::new)
    }
}

#[async_trait]
impl RateLimitBackend for RedisRateLimits {
    async fn acquire(
        &self,
        requests: &[LimitRequest<'_>],
    ) -> Result<Vec<LimitOutcome>, RateLimitError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let mut call = ACQUIRE_SCRIPT.prepare_invoke();
        for r in requests {
            call.key(bucket_key(r.bucket))
                .arg(r.cells)
                .arg(r.bucket.per_minute.get())
                .arg(u8::from(r.enforced));
        }
        let reply: Vec<i64> = call
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        if reply.len() != 3 * requests.len() {
            return Err(RateLimitError::Unavailable(
                "short reply from the rate-limit script".into(),
            ));
        }
        Ok(reply
            .chunks_exact(3)
            .map(|r| {
                let n = |v: i64| u64::try_from(v).unwrap_or(0);
                if r[0] == 1 {
                    LimitOutcome::Admitted {
                        taken: n(r[1]),
                        remaining: n(r[2]),
                    }
                } else {
                    LimitOutcome::Refused {
                        retry_after: Duration::from_micros(n(r[1])),
                    }
                }
            })
            .collect())
    }

    async fn adjust(&self, bucket: &Bucket, delta: i64) -> Result<(), RateLimitError> {
        if delta == 0 {
            return Ok(());
        }
        ADJUST_SCRIPT
            .key(bucket_key(bucket))
            .arg(delta)
            .arg(bucket.per_minute.get())
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
            .map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::sync::Arc;

    use super::*;
    use crate::ledger::redis::test_server::TestRedis;

    fn bucket(rule: &str, kind: LimitKind, per_minute: u32) -> Bucket {
        Bucket {
            rule_id: rule.into(),
            kind,
            per_minute: NonZeroU32::new(per_minute).unwrap(),
            scope: "team=search".into(),
        }
    }

    fn ask(bucket: &Bucket, cells: u64, enforced: bool) -> LimitRequest<'_> {
        LimitRequest {
            bucket,
            cells,
            enforced,
        }
    }

    fn admitted(o: &LimitOutcome) -> bool {
        matches!(o, LimitOutcome::Admitted { .. })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_replicas_admit_at_most_the_limit() {
        let server = TestRedis::start();
        let replicas = [
            Arc::new(RedisRateLimits::connect(&server.url()).unwrap()),
            Arc::new(RedisRateLimits::connect(&server.url()).unwrap()),
        ];
        let b = Arc::new(bucket("fleet", LimitKind::Requests, 50));
        let mut tasks = Vec::new();
        for i in 0..120 {
            let backend = Arc::clone(&replicas[i % 2]);
            let b = Arc::clone(&b);
            tasks.push(tokio::spawn(async move {
                let out = backend.acquire(&[ask(&b, 1, true)]).await.unwrap();
                admitted(&out[0])
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += usize::from(t.await.unwrap());
        }
        // 120 calls well within a second: the burst of 50, plus at most one refill.
        assert!((50..=51).contains(&total), "admitted {total}");
    }

    #[tokio::test]
    async fn refusal_takes_nothing_anywhere() {
        let server = TestRedis::start();
        let backend = RedisRateLimits::connect(&server.url()).unwrap();
        let requests = bucket("r", LimitKind::Requests, 100);
        let tokens = bucket("r", LimitKind::Tokens, 1_000);
        let noted = bucket("warn", LimitKind::Tokens, 10);
        let out = backend
            .acquire(&[ask(&requests, 1, true), ask(&tokens, 900, true)])
            .await
            .unwrap();
        assert_eq!(
            out[0],
            LimitOutcome::Admitted {
                taken: 1,
                remaining: 99
            }
        );
        assert_eq!(
            out[1],
            LimitOutcome::Admitted {
                taken: 900,
                remaining: 100
            }
        );
        // Tokens refuse: the request cell is not taken either.
        let out = backend
            .acquire(&[ask(&requests, 1, true), ask(&tokens, 200, true)])
            .await
            .unwrap();
        assert!(admitted(&out[0]));
        let LimitOutcome::Refused { retry_after } = out[1] else {
            panic!("expected a refusal, got {:?}", out[1]);
        };
        // 100 tokens short at 1,000 per minute: about 6 s.
        assert!(
            (5_900..=6_000).contains(&retry_after.as_millis()),
            "{retry_after:?}"
        );
        let out = backend.acquire(&[ask(&requests, 0, true)]).await.unwrap();
        assert_eq!(
            out[0],
            LimitOutcome::Admitted {
                taken: 0,
                remaining: 99
            }
        );
        // A refusing warn limit does not block the others.
        let out = backend
            .acquire(&[ask(&requests, 1, true), ask(&noted, 11, false)])
            .await
            .unwrap();
        assert!(admitted(&out[0]));
        assert!(admitted(&out[1]), "more than a minute's worth is clamped");
        let out = backend
            .acquire(&[ask(&requests, 1, true), ask(&noted, 5, false)])
            .await
            .unwrap();
        assert!(admitted(&out[0]));
        assert!(!admitted(&out[1]));
        let out = backend.acquire(&[ask(&requests, 0, true)]).await.unwrap();
        assert_eq!(
            out[0],
            LimitOutcome::Admitted {
                taken: 0,
                remaining: 97
            }
        );
    }

    #[tokio::test]
    async fn adjust_gives_back_and_takes_more() {
        let server = TestRedis::start();
        let backend = RedisRateLimits::connect(&server.url()).unwrap();
        let tokens = bucket("t", LimitKind::Tokens, 1_000);
        let remaining = |out: Vec<LimitOutcome>| match out[0] {
            LimitOutcome::Admitted { remaining, .. } => remaining,
            other => panic!("expected admitted, got {other:?}"),
        };
        backend.acquire(&[ask(&tokens, 800, true)]).await.unwrap();
        backend.adjust(&tokens, -500).await.unwrap();
        let left = remaining(backend.acquire(&[ask(&tokens, 0, true)]).await.unwrap());
        assert!((700..=701).contains(&left), "{left}");
        // Debt: more than the bucket holds, never refused, waited out by later calls.
        backend.adjust(&tokens, 2_000).await.unwrap();
        let out = backend.acquire(&[ask(&tokens, 1, true)]).await.unwrap();
        assert!(!admitted(&out[0]));
        // Giving back more than was taken is a full bucket, no more.
        backend.adjust(&tokens, -1_000_000).await.unwrap();
        let left = remaining(backend.acquire(&[ask(&tokens, 0, true)]).await.unwrap());
        assert_eq!(left, 1_000);
    }

    #[tokio::test]
    async fn outage_is_unavailable() {
        let mut server = TestRedis::start();
        let backend = RedisRateLimits::connect(&server.url()).unwrap();
        let b = bucket("o", LimitKind::Requests, 10);
        backend.acquire(&[ask(&b, 1, true)]).await.unwrap();
        server.stop();
        assert!(matches!(
            backend.acquire(&[ask(&b, 1, true)]).await,
            Err(RateLimitError::Unavailable(_))
        ));
        server.restart();
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while backend.acquire(&[ask(&b, 1, true)]).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "never recovered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
