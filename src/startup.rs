//! Turning a loaded config into a running gateway: ledger, keys, telemetry, first generation.

use std::sync::Arc;

use crate::config::Config;
use crate::gateway::{Gateway, Generation};
use crate::governance::keys::KeyRing;
use crate::governance::ratelimit::RateLimitBackend;
use crate::ledger::{open, LedgerStore};
use crate::telemetry::{Telemetry, TelemetrySettings};

/// A runtime for work that outlives any one request and must not run on pingora's service
/// runtimes (store connections opened at start-up, the reload listener).
pub fn background_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("genops-bg")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the background runtime: {e}"))
}

/// Everything `serve` needs, built from a validated config.
pub fn build(config: Config, runtime: &tokio::runtime::Runtime) -> Result<Arc<Gateway>, String> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let settings =
        TelemetrySettings::from_config(&config.raw.telemetry, &|k| std::env::var(k).ok())
            .map_err(|e| format!("telemetry: {e}"))?;
    let telemetry = Telemetry::init(&settings).map_err(|e| format!("telemetry: {e}"))?;
    let ledger: Arc<dyn LedgerStore> = runtime
        .block_on(open::open(&config.raw.ledger, &config.ledger_path()))
        .map_err(|e| format!("ledger: {e}"))?;
    let stored_keys = match runtime.block_on(ledger.list_keys()) {
        Ok(keys) => keys,
        Err(e) => {
            tracing::warn!("could not read admin-minted keys from the ledger: {e}");
            Vec::new()
        }
    };
    let keys = KeyRing::new(&config.raw.keys, &stored_keys).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    // Created inside the long-lived background runtime: a Redis connection's driver task lives
    // on the runtime that made it.
    let rate_backend: Arc<dyn RateLimitBackend> = runtime
        .block_on(async { open::rate_limit_backend(&config.raw.ledger) })
        .map_err(|e| format!("rate limits: {e}"))?;
    let generation = Generation::build(config, rate_backend).map_err(|e| e.join("\n"))?;
    Ok(Arc::new(Gateway::new(
        generation,
        telemetry,
        ledger,
        Arc::new(keys),
    )))
}
