//! The in-process backend: one governor GCRA limiter per rule limit, keyed by scope values.
//!
//! governor's own stores cannot give cells back, so the limiter runs on a shared handle to a
//! governor `DashMapStateStore`: checks go through governor, and the same store is then moved
//! directly (GCRA state is one "theoretical arrival time" per key) to roll back a refused call
//! and to correct token estimates with actual usage.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use super::backend::{
    Bucket, LimitKind, LimitOutcome, LimitRequest, RateLimitBackend, RateLimitError,
};

/// Every this many `acquire` calls, keys whose state equals a fresh bucket are dropped.
const HOUSEKEEPING_EVERY: u64 = 4096;

type ScopeKey = Arc<str>;

/// A cloneable handle to a governor store, so the limiter and we share one state.
#[derive(Debug, Default)]
struct SharedStore(Arc<DashMapStateStore<ScopeKey>>);

impl StateStore for SharedStore {
    type Key = ScopeKey;

    fn measure_and_replace<T, F, E>(&self, key: &ScopeKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        self.0.measure_and_replace(key, f)
    }
}

impl ShrinkableKeyedStateStore<ScopeKey> for SharedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below)
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&*self.0)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&*self.0)
    }
}

/// One rule limit (rule, kind, rate), every scope value set of it.
#[derive(Debug)]
struct Limiter<C: Clock> {
    governor: RateLimiter<ScopeKey, SharedStore, C, StateInformationMiddleware>,
    store: Arc<DashMapStateStore<ScopeKey>>,
    clock: C,
    /// GCRA emission interval: the time one cell takes to come back.
    interval: u64,
    burst: NonZeroU32,
}

enum Check {
    Fits { remaining: u64 },
    Wait(Duration),
}

impl<C: Clock + Clone> Limiter<C> {
    fn new(per_minute: NonZeroU32, clock: C) -> Self {
        let quota = Quota::per_minute(per_minute);
        let store = Arc::new(DashMapStateStore::<ScopeKey>::default());
        let governor = RateLimiter::<_, _, _, StateInformationMiddleware>::new(
            quota,
            SharedStore(store.clone()),
            clock.clone(),
        );
        let interval = u64::try_from(quota.replenish_interval().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        Limiter {
            governor,
            store,
            clock,
            interval,
            burst: per_minute,
        }
    }

    /// Takes `n` cells (1..=burst) if they fit now.
    fn check(&self, key: &ScopeKey, n: NonZeroU32) -> Check {
        match self.governor.check_key_n(key, n) {
            Ok(Ok(snapshot)) => Check::Fits {
                remaining: u64::from(snapshot.remaining_burst_capacity()),
            },
            Ok(Err(not_until)) => Check::Wait(not_until.wait_time_from(self.clock.now())),
            // Unreachable with n <= burst; the longest wait a full bucket can need.
            Err(_) => Check::Wait(Duration::from_secs(60)),
        }
    }

    /// The cells a request takes: at most a full bucket.
    fn clamp(&self, cells: u64) -> Option<NonZeroU32> {
        let n = u32::try_from(cells)
            .unwrap_or(u32::MAX)
            .min(self.burst.get());
        NonZeroU32::new(n)
    }

    /// Gives `cells` back by moving the arrival time earlier. Moving it before "now" is the
    /// same as a full bucket (GCRA measures from max(tat, now)), so over-refunding is harmless.
    fn give_back(&self, key: &ScopeKey, cells: u64) {
        let by = self.interval.saturating_mul(cells);
        let _ = self.store.measure_and_replace(key, |tat| match tat {
            // 0 reads back as "no state": a fresh, full bucket.
            Some(tat) => Ok(((), Nanos::new(tat.as_u64().saturating_sub(by)))),
            None => Err(()),
        });
    }

    /// Takes `cells` without refusing: through governor while they fit, the rest as debt that
    /// later calls wait out.
    fn take_anyway(&self, key: &ScopeKey, cells: u64) {
        let mut left = cells;
        while let Some(n) = self.clamp(left) {
            match self.check(key, n) {
                Check::Fits { .. } => left -= u64::from(n.get()),
                Check::Wait(_) => break,
            }
        }
        if left == 0 {
            return;
        }
        let by = self.interval.saturating_mul(left);
        let _ = self.store.measure_and_replace(key, |tat| match tat {
            Some(tat) => Ok::<_, ()>(((), Nanos::new(tat.as_u64().saturating_add(by)))),
            None => Err(()),
        });
    }

    /// Capacity left without taking any: take one cell and give it straight back.
    fn peek(&self, key: &ScopeKey) -> u64 {
        match self.check(key, NonZeroU32::MIN) {
            Check::Fits { remaining } => {
                self.give_back(key, 1);
                remaining + 1
            }
            Check::Wait(_) => 0,
        }
    }
}

/// Rate-limit state in this process's memory (one gateway replica).
#[derive(Debug)]
pub struct GovernorBackend<C: Clock = DefaultClock> {
    clock: C,
    limiters: DashMap<(Arc<str>, LimitKind, NonZeroU32), Arc<Limiter<C>>>,
    acquires: AtomicU64,
}

impl Default for GovernorBackend<DefaultClock> {
    fn default() -> Self {
        GovernorBackend::with_clock(DefaultClock::default())
    }
}

impl<C: Clock + Clone> GovernorBackend<C> {
    /// With an injected clock (`governor::clock::FakeRelativeClock` in tests).
    pub fn with_clock(clock: C) -> Self {
        GovernorBackend {
            clock,
            limiters: DashMap::new(),
            acquires: AtomicU64::new(0),
        }
    }

    fn limiter(&self, bucket: &Bucket) -> Arc<Limiter<C>> {
        let id = (bucket.rule_id.clone(), bucket.kind, bucket.per_minute);
        if let Some(limiter) = self.limiters.get(&id) {
            return limiter.clone();
        }
        self.limiters
            .entry(id)
            .or_insert_with(|| Arc::new(Limiter::new(bucket.per_minute, self.clock.clone())))
            .clone()
    }

    /// Drops keys indistinguishable from fresh ones, so per-scope state does not grow forever.
    pub fn retain_recent(&self) {
        for limiter in self.limiters.iter() {
            limiter.governor.retain_recent();
        }
    }

    /// Scope keys held across every limiter (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.limiters.iter().map(|l| l.governor.len()).sum()
    }
}

#[async_trait]
impl<C> RateLimitBackend for GovernorBackend<C>
where
    C: Clock + Clone + Send + Sync + std::fmt::Debug,
    C::Instant: Send + Sync,
{
    async fn acquire(
        &self,
        requests: &[LimitRequest<'_>],
    ) -> Result<Vec<LimitOutcome>, RateLimitError> {
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut taken = Vec::with_capacity(requests.len());
        let mut blocked = false;
        for request in requests {
            let limiter = self.limiter(request.bucket);
            let key = &request.bucket.scope;
            let Some(n) = limiter.clamp(request.cells) else {
                outcomes.push(LimitOutcome::Admitted {
                    taken: 0,
                    remaining: limiter.peek(key),
                });
                continue;
            };
            match limiter.check(key, n) {
                Check::Fits { remaining } => {
                    let n = u64::from(n.get());
                    taken.push((limiter, n, key));
                    outcomes.push(LimitOutcome::Admitted {
                        taken: n,
                        remaining,
                    });
                }
                Check::Wait(retry_after) => {
                    blocked |= request.enforced;
                    outcomes.push(LimitOutcome::Refused { retry_after });
                }
            }
        }
        if blocked {
            for (limiter, n, key) in taken {
                limiter.give_back(key, n);
            }
        }
        if self.acquires.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY
            == HOUSEKEEPING_EVERY - 1
        {
            self.retain_recent();
        }
        Ok(outcomes)
    }

    async fn adjust(&self, bucket: &Bucket, delta: i64) -> Result<(), RateLimitError> {
        let limiter = self.limiter(bucket);
        match delta {
            0 => {}
            d if d < 0 => limiter.give_back(&bucket.scope, d.unsigned_abs()),
            d => limiter.take_anyway(&bucket.scope, d.unsigned_abs()),
        }
        Ok(())
    }
}
