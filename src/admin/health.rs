//! `/healthz` (process alive), `/readyz` (config, ledger, provider hosts) and `/metrics`.

use std::time::Duration;

use http::Response;
use serde_json::json;

use super::json::{body_response, json_response};
use crate::gateway::Gateway;

/// How long one readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn healthz() -> Response<Vec<u8>> {
    json_response(200, &json!({"status": "ok"}))
}

pub fn metrics(gateway: &Gateway) -> Response<Vec<u8>> {
    body_response(
        200,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        gateway.telemetry.render_prometheus(),
    )
}

/// 200 when the config is loaded, the ledger answers and every provider host resolves; 503
/// listing the failing checks otherwise.
pub async fn readyz(gateway: &Gateway) -> Response<Vec<u8>> {
    let generation = gateway.current.load_full();
    let mut checks = vec![json!({"check": "config", "ok": true})];
    let mut failing = Vec::new();

    let ledger = match tokio::time::timeout(CHECK_TIMEOUT, gateway.ledger.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
    };
    push(&mut checks, &mut failing, "ledger".to_string(), ledger);

    let mut upstreams: Vec<_> = generation.routes.upstreams().collect();
    upstreams.sort_by(|a, b| a.name.cmp(&b.name));
    for upstream in upstreams {
        let resolved = match tokio::time::timeout(
            CHECK_TIMEOUT,
            gateway.resolver.resolve(&upstream.host, upstream.port),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!(
                "resolving {} took over {}s",
                upstream.host,
                CHECK_TIMEOUT.as_secs()
            )),
        };
        push(
            &mut checks,
            &mut failing,
            format!("provider {}", upstream.name),
            resolved,
        );
    }

    let ready = failing.is_empty();
    json_response(
        if ready { 200 } else { 503 },
        &json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": checks,
            "failing": failing,
        }),
    )
}

fn push(
    checks: &mut Vec<serde_json::Value>,
    failing: &mut Vec<String>,
    name: String,
    result: Result<(), String>,
) {
    match result {
        Ok(()) => checks.push(json!({"check": name, "ok": true})),
        Err(error) => {
            failing.push(format!("{name}: {error}"));
            checks.push(json!({"check": name, "ok": false, "error": error}));
        }
    }
}
