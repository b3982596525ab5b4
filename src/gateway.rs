//! The running gateway: one immutable generation per loaded config, swapped whole on reload,
//! beside the process-wide state that outlives reloads (ledger, keys, rate-limit counters).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use pingora::connectors::http::Connector;

use crate::config::Config;
use crate::governance::budget::Budgets;
use crate::governance::clock::{Clock, SystemClock};
use crate::governance::keys::KeyRing;
use crate::governance::policy::PolicyEngine;
use crate::governance::ratelimit::{RateLimitBackend, RateLimits};
use crate::ledger::LedgerStore;
use crate::pricing::Catalog;
use crate::proxy::route::{Routes, Upstream};
use crate::proxy::upstream::{Resolver, Timeouts};
use crate::telemetry::Telemetry;

/// Everything derived from one config file, immutable while requests use it.
pub struct Generation {
    pub config: Arc<Config>,
    pub routes: Routes,
    pub catalog: Arc<Catalog>,
    pub budgets: Budgets,
    pub policies: PolicyEngine,
    pub rate_limits: RateLimits,
    pub timeouts: Timeouts,
    pub max_body_bytes: u64,
}

impl Generation {
    /// Builds a generation, listing every problem found. `rate_backend` carries the counters
    /// over from the previous generation.
    pub fn build(
        config: Config,
        rate_backend: Arc<dyn RateLimitBackend>,
    ) -> Result<Generation, Vec<String>> {
        let mut errors = Vec::new();
        let mut upstreams = Vec::new();
        for (name, p) in &config.raw.providers {
            match Upstream::from_base_url(name, p.kind, &p.base_url, p.api_key.clone()) {
                Ok(u) => upstreams.push(u),
                Err(e) => errors.push(e),
            }
        }
        let catalog_paths: Vec<PathBuf> = config
            .raw
            .pricing
            .catalogs
            .iter()
            .map(|c| {
                let resolved = config.resolve_path(c);
                // The default `pricing/` next to a config that has none falls back to the
                // catalog compiled into the binary (Catalog::load recognises the bare name).
                let is_default = matches!(
                    c.as_str(),
                    "pricing" | "pricing/" | "./pricing" | "./pricing/"
                );
                if is_default && !resolved.exists() {
                    PathBuf::from(c)
                } else {
                    resolved
                }
            })
            .collect();
        let catalog = match Catalog::load(&catalog_paths) {
            Ok(c) => c,
            Err(mut e) => {
                errors.append(&mut e);
                Catalog::embedded()
            }
        };
        errors.extend(crate::governance::ratelimit::validate(
            &config.raw.rate_limits,
        ));
        let policies = PolicyEngine::compile(&config.policy_rules).unwrap_or_else(|mut e| {
            errors.append(&mut e);
            PolicyEngine::default()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let limits = &config.raw.limits;
        let timeouts = Timeouts {
            connect: Duration::from_millis(limits.upstream_connect_timeout_ms),
            first_byte: Duration::from_millis(limits.upstream_first_byte_timeout_ms),
            idle: Duration::from_millis(limits.upstream_idle_timeout_ms),
        };
        let fail_open = config.raw.ledger.on_unavailable == crate::config::OnUnavailable::FailOpen;
        Ok(Generation {
            routes: Routes::new(upstreams, config.default_provider.as_deref()),
            catalog: Arc::new(catalog),
            budgets: Budgets::new(&config.raw.budgets),
            policies,
            rate_limits: RateLimits::new(&config.raw.rate_limits, rate_backend)
                .with_fail_open(fail_open),
            timeouts,
            max_body_bytes: limits.max_body_bytes,
            config: Arc::new(config),
        })
    }
}

/// Process-wide state shared by every request.
pub struct Gateway {
    pub current: ArcSwap<Generation>,
    pub telemetry: Telemetry,
    pub connector: Connector,
    pub resolver: Resolver,
    pub ledger: Arc<dyn LedgerStore>,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
}

impl Gateway {
    pub fn new(
        generation: Generation,
        telemetry: Telemetry,
        ledger: Arc<dyn LedgerStore>,
        keys: Arc<KeyRing>,
    ) -> Gateway {
        Gateway {
            current: ArcSwap::from_pointee(generation),
            telemetry,
            connector: Connector::new(None),
            resolver: Resolver::default(),
            ledger,
            keys,
            clock: Arc::new(SystemClock),
        }
    }
}
