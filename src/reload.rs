//! Live reload: re-read the config source, build a new generation and swap it in, all or nothing.
//!
//! Triggers: `POST /admin/reload` and SIGHUP ([`spawn_sighup_listener`]).
//!
//! Nothing in flight is dropped: every request loads the current generation once, at its start,
//! and keeps that `Arc<Generation>` in its context until it has settled and logged. The swap only
//! changes what the *next* request loads; the old generation lives until its last request drops
//! it. Process-wide state (ledger, key ring, rate-limit counters, telemetry) is not rebuilt, so
//! budgets keep their spend and rate windows keep their counts across a reload.

use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::gateway::{Gateway, Generation};
use crate::governance::keys::KeyRing;

/// What a successful reload wants the operator to know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// The new config's own warnings, then settings that changed but only apply after a restart.
    pub warnings: Vec<String>,
}

/// Two reloads at once (SIGHUP during `POST /admin/reload`) would race between building and
/// swapping; one at a time keeps "the last file read is the one running".
static RELOADING: Mutex<()> = Mutex::new(());

/// Reloads the running gateway's config source. On any error the running generation stays and
/// every problem found is returned.
pub fn reload(gateway: &Gateway) -> Result<ReloadReport, Vec<String>> {
    let _one_at_a_time = RELOADING.lock().unwrap_or_else(|e| e.into_inner());
    let current = gateway.current.load_full();
    let config = current.config.reload().map_err(|e| e.0)?;
    let warnings = [
        config.warnings.clone(),
        restart_warnings(&current.config, &config),
    ]
    .concat();

    // Validate everything before touching anything, so a bad file changes nothing.
    let mut errors = Vec::new();
    if let Err(key_errors) = KeyRing::new(&config.raw.keys, &[]) {
        errors.extend(key_errors.iter().map(ToString::to_string));
    }
    let keys = config.raw.keys.clone();
    let generation = match Generation::build(config, current.rate_limits.backend()) {
        Ok(g) => Some(g),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    };
    let generation = match generation {
        Some(g) if errors.is_empty() => g,
        _ => return Err(errors),
    };
    gateway
        .keys
        .reload_config(&keys)
        .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    gateway.current.store(Arc::new(generation));
    for w in &warnings {
        tracing::warn!("{w}");
    }
    tracing::info!("configuration reloaded");
    Ok(ReloadReport { warnings })
}

/// Settings read once at start-up: a reload accepts the file but cannot apply these.
fn restart_warnings(old: &Config, new: &Config) -> Vec<String> {
    let (o, n) = (&old.raw, &new.raw);
    let mut out = Vec::new();
    let mut changed = |what: &str, differs: bool| {
        if differs {
            out.push(format!(
                "{what} changed: the running gateway keeps the old value until it is restarted"
            ));
        }
    };
    changed("listen", o.listen != n.listen);
    changed("admin.listen", o.admin.listen != n.admin.listen);
    changed("ledger.backend", o.ledger.backend != n.ledger.backend);
    changed("ledger.path", old.ledger_path() != new.ledger_path());
    changed("ledger.redis_url", o.ledger.redis_url != n.ledger.redis_url);
    changed("telemetry", o.telemetry != n.telemetry);
    out
}

/// Reloads on every SIGHUP, on `runtime`, until the process exits. The handler is installed
/// before this returns, so a SIGHUP sent right after start-up reloads instead of killing the
/// process (SIGHUP's default action). pingora 0.9.1 handles only SIGINT, SIGTERM and SIGQUIT.
pub fn spawn_sighup_listener(
    gateway: Arc<Gateway>,
    runtime: &tokio::runtime::Runtime,
) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = {
        let _entered = runtime.enter();
        signal(SignalKind::hangup())?
    };
    runtime.spawn(async move {
        while hangups.recv().await.is_some() {
            let gw = gateway.clone();
            // Building a generation reads files and compiles rules: keep it off the reactor.
            match tokio::task::spawn_blocking(move || reload(&gw)).await {
                Ok(Ok(_)) => {}
                Ok(Err(errors)) => tracing::error!(
                    errors = %errors.join("; "),
                    "SIGHUP: the configuration was refused; the running one stays"
                ),
                Err(e) => tracing::error!("SIGHUP: reload task failed: {e}"),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests;
