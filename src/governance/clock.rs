//! Wall-clock time behind a trait, so budget periods and windows are tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in milliseconds since the Unix epoch (UTC).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_millis()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a host problem; periods then start at the epoch.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    pub fn new(ms: i64) -> Self {
        ManualClock {
            ms: AtomicI64::new(ms),
        }
    }

    /// A clock set to an RFC 3339 instant; `None` when the text is not one.
    pub fn at(rfc3339: &str) -> Option<Self> {
        let time = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
        Some(ManualClock::new(time.timestamp_millis()))
    }

    pub fn set(&self, ms: i64) {
        self.ms.store(ms, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at("2026-11-30T23:59:59Z").unwrap();
        assert_eq!(clock.now_ms(), 1_796_083_199_000);
        clock.advance(1_000);
        assert_eq!(clock.now_ms(), 1_796_083_200_000);
        clock.set(5);
        assert_eq!(clock.now_ms(), 5);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_ms() > 1_577_836_800_000);
    }
}
