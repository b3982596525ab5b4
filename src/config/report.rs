//! The `genops-gateway check` report: a summary of a valid config, or every problem.

use std::fmt::Write;
use std::path::Path;

use super::{load_embedded_default, load_file, Config};

/// Validates `path` (or the embedded default) and says what it found; `true` when it loads.
pub fn check_report(path: Option<&Path>) -> (bool, String) {
    let shown = path.map_or("the embedded default".to_string(), |p| {
        p.display().to_string()
    });
    let loaded = match path {
        Some(p) => load_file(p),
        None => load_embedded_default(),
    };
    match loaded {
        Ok(config) => (true, summary(&shown, &config)),
        Err(errors) => {
            let mut out = format!("{shown}: {} problem(s)\n", errors.0.len());
            for e in &errors.0 {
                let _ = writeln!(out, "  error: {e}");
            }
            (false, out)
        }
    }
}

fn summary(shown: &str, c: &Config) -> String {
    let raw = &c.raw;
    let mut out = format!("{shown}: OK\n");
    let _ = writeln!(out, "  listen {} (admin {})", raw.listen, raw.admin.listen);
    for (name, p) in &raw.providers {
        let key = if p.api_key.is_some() {
            "api key set"
        } else {
            "no api key"
        };
        let _ = writeln!(
            out,
            "  provider {name}: {:?} {} ({key})",
            p.kind, p.base_url
        );
    }
    let default = c
        .default_provider
        .as_deref()
        .unwrap_or("none (/v1 not routed)");
    let _ = writeln!(out, "  default provider: {default}");
    let _ = writeln!(out, "  auth: {:?}, {} key(s)", c.auth_mode, raw.keys.len());
    for b in &raw.budgets {
        let _ = writeln!(
            out,
            "  budget {}: {} USD {:?}, {:?}",
            b.id, b.limit_usd, b.period, b.enforcement
        );
    }
    for r in &raw.rate_limits {
        let rpm = r
            .requests_per_minute
            .map_or("-".to_string(), |v| v.to_string());
        let tpm = r
            .tokens_per_minute
            .map_or("-".to_string(), |v| v.to_string());
        let _ = writeln!(out, "  rate limit {}: {rpm} rpm, {tpm} tpm", r.id);
    }
    for rule in &c.policy_rules {
        let _ = writeln!(
            out,
            "  policy {}: {} ({:?}) from {}",
            rule.id,
            rule.check.name(),
            rule.enforcement,
            rule.file.display()
        );
    }
    let _ = writeln!(
        out,
        "  ledger: {:?} {}",
        raw.ledger.backend,
        c.ledger_path().display()
    );
    let target = match c.exporter {
        super::ExporterKind::Datadog => format!("https://otlp.{}", c.datadog_site),
        super::ExporterKind::Otlp => c.otlp_endpoint.clone(),
        super::ExporterKind::None => "-".to_string(),
    };
    let _ = writeln!(out, "  telemetry: {:?} {target}", c.exporter);
    for w in &c.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    out
}
