//! Opens the ledger and rate-limit state the config asks for (embedded, Redis or memory).

use std::path::Path;
use std::sync::Arc;

use super::embedded::EmbeddedLedger;
use super::memory::MemoryLedger;
use super::redis::RedisLedger;
use super::{LedgerError, LedgerStore};
use crate::config::schema::{LedgerBackend, LedgerConfig};
use crate::governance::ratelimit::redis::RedisRateLimits;
use crate::governance::ratelimit::{GovernorBackend, RateLimitBackend};

/// Opens the configured ledger. `path` is `ledger.path` resolved by the caller: the directory
/// that holds the embedded ledger's file (created if missing). A Redis that is down at startup
/// does not stop the gateway: calls see [`LedgerError::Unavailable`] until it is back.
/// Call from the tokio runtime that lives as long as the gateway (Redis' connection task runs
/// there; the embedded ledger's writer is its own thread).
pub async fn open(cfg: &LedgerConfig, path: &Path) -> Result<Arc<dyn LedgerStore>, LedgerError> {
    Ok(match cfg.backend {
        LedgerBackend::Embedded => Arc::new(EmbeddedLedger::open(path).await?),
        LedgerBackend::Redis => {
            let store = RedisLedger::connect(&cfg.redis_url)?;
            if let Err(e) = store.ping().await {
                tracing::warn!(error = %e, "ledger Redis not reachable at startup");
            }
            Arc::new(store)
        }
        LedgerBackend::Memory => Arc::new(MemoryLedger::new()),
    })
}

/// Where rate-limit state lives for this config: Redis (shared by the fleet) with the Redis
/// ledger, else this process. Needs a tokio runtime context for Redis, as [`open`] does.
pub fn rate_limit_backend(cfg: &LedgerConfig) -> Result<Arc<dyn RateLimitBackend>, LedgerError> {
    match cfg.backend {
        LedgerBackend::Redis => {
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(LedgerError::Other(
                    "the Redis rate-limit backend must be created inside a tokio runtime".into(),
                ));
            }
            let backend = RedisRateLimits::connect(&cfg.redis_url)
                .map_err(|e| LedgerError::Other(format!("redis_url {:?}: {e}", cfg.redis_url)))?;
            Ok(Arc::new(backend))
        }
        LedgerBackend::Embedded | LedgerBackend::Memory => Ok(Arc::new(GovernorBackend::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::redis::test_server::TestRedis;

    fn config(backend: LedgerBackend, redis_url: String) -> LedgerConfig {
        LedgerConfig {
            backend,
            redis_url,
            ..LedgerConfig::default()
        }
    }

    #[tokio::test]
    async fn opens_each_backend() {
        let dir = std::env::temp_dir().join(format!("genops-open-{:016x}", rand::random::<u64>()));
        let embedded = config(LedgerBackend::Embedded, String::new());
        open(&embedded, &dir).await.unwrap().ping().await.unwrap();
        assert!(dir.join(crate::ledger::embedded::FILE_NAME).exists());
        rate_limit_backend(&embedded).unwrap();

        let memory = config(LedgerBackend::Memory, String::new());
        open(&memory, &dir).await.unwrap().ping().await.unwrap();

        let server = TestRedis::start();
        let redis = config(LedgerBackend::Redis, server.url());
        open(&redis, &dir).await.unwrap().ping().await.unwrap();
        rate_limit_backend(&redis).unwrap();
    }

    #[tokio::test]
    async fn redis_down_at_startup_still_opens() {
        let redis = config(LedgerBackend::Redis, "redis://127.0.0.1:1".into());
        let store = open(&redis, Path::new(".")).await.unwrap();
        assert!(matches!(
            store.ping().await,
            Err(LedgerError::Unavailable(_))
        ));
        let bad = config(LedgerBackend::Redis, "not a url".into());
        assert!(open(&bad, Path::new(".")).await.is_err());
    }

    #[test]
    fn redis_rate_limits_need_a_runtime() {
        let redis = config(LedgerBackend::Redis, "redis://127.0.0.1:1".into());
        assert!(rate_limit_backend(&redis).is_err());
    }
}
