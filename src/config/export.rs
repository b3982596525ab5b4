//! Telemetry export settings after environment overrides: exporter, endpoints, headers, site.
//!
//! The standard variables win over the file (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `OTEL_EXPORTER_OTLP_HEADERS` merged over `otlp.headers`, `DATADOG_API_KEY`, `DATADOG_SITE`),
//! so one file serves every deployment.

use url::Url;

use super::env::{non_empty, parse_pairs, EnvLookup};
use super::problems::Problems;
use super::schema::{ExporterKind, TelemetryConfig};

/// Regional Datadog sites with an OTLP intake (`https://otlp.{site}`).
pub const DATADOG_SITES: [&str; 6] = [
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
];

/// Where spans go when nothing else is configured; spans are dropped quietly if nobody listens.
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://127.0.0.1:4318";

/// The resolved export settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    pub exporter: ExporterKind,
    /// OTLP base URL without a trailing `/`; the telemetry module appends `/v1/traces`.
    pub otlp_endpoint: String,
    pub otlp_headers: Vec<(String, String)>,
    pub datadog_api_key: Option<String>,
    pub datadog_site: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, in order.
    pub resource_attributes: Vec<(String, String)>,
}

/// Applies the environment overrides to `t` (so the raw config shows what is in effect) and
/// resolves the exporter.
pub fn resolve(t: &mut TelemetryConfig, env: EnvLookup<'_>, p: &mut Problems) -> Export {
    apply_env(t, env, p);
    let resource_attributes = pairs_from_env(env, "OTEL_RESOURCE_ATTRIBUTES", p);
    let datadog_api_key = t.datadog.api_key.clone();
    let exporter = t.exporter.unwrap_or(match datadog_api_key {
        Some(_) => ExporterKind::Datadog,
        None => ExporterKind::Otlp,
    });
    t.exporter = Some(exporter);
    let otlp_endpoint = t
        .otlp
        .endpoint
        .as_deref()
        .unwrap_or(DEFAULT_OTLP_ENDPOINT)
        .trim_end_matches('/')
        .to_string();
    check_endpoint(&otlp_endpoint, p);
    if exporter == ExporterKind::Datadog {
        check_datadog(t, p);
    }
    check_numbers(t, p);
    Export {
        exporter,
        otlp_endpoint,
        otlp_headers: t.otlp.headers.clone().into_iter().collect(),
        datadog_api_key,
        datadog_site: t.datadog.site.clone(),
        resource_attributes,
    }
}

fn apply_env(t: &mut TelemetryConfig, env: EnvLookup<'_>, p: &mut Problems) {
    if let Some(name) = non_empty(env, "OTEL_SERVICE_NAME") {
        t.service_name = name;
    }
    if let Some(endpoint) = non_empty(env, "OTEL_EXPORTER_OTLP_ENDPOINT") {
        t.otlp.endpoint = Some(endpoint);
    }
    t.otlp
        .headers
        .extend(pairs_from_env(env, "OTEL_EXPORTER_OTLP_HEADERS", p));
    if let Some(key) = non_empty(env, "DATADOG_API_KEY") {
        t.datadog.api_key = Some(key);
    }
    if let Some(site) = non_empty(env, "DATADOG_SITE") {
        t.datadog.site = site;
    }
    // An expanded `${VAR}` that came out empty means "not set".
    t.datadog.api_key = t.datadog.api_key.take().filter(|k| !k.is_empty());
    t.otlp.endpoint = t.otlp.endpoint.take().filter(|e| !e.is_empty());
}

fn pairs_from_env(env: EnvLookup<'_>, name: &str, p: &mut Problems) -> Vec<(String, String)> {
    match non_empty(env, name).map(|v| parse_pairs(&v)) {
        None => Vec::new(),
        Some(Ok(pairs)) => pairs,
        Some(Err(bad)) => {
            p.error(format!(
                "{name}: entries are not key=value: {}",
                bad.join(", ")
            ));
            Vec::new()
        }
    }
}

fn check_endpoint(endpoint: &str, p: &mut Problems) {
    match Url::parse(endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
        _ => p.error(format!(
            "telemetry.otlp.endpoint `{endpoint}` is not an http(s) URL"
        )),
    }
}

fn check_datadog(t: &TelemetryConfig, p: &mut Problems) {
    if t.datadog.api_key.is_none() {
        p.error(
            "telemetry.exporter is datadog but no API key is set \
             (DATADOG_API_KEY or telemetry.datadog.api_key)",
        );
    }
    let site = t.datadog.site.as_str();
    if site == "ddog-gov.com" {
        p.error(
            "telemetry.datadog.site ddog-gov.com has no OTLP intake: run the Datadog Agent \
             and use `exporter: otlp` with `otlp.endpoint: http://<agent-host>:4318`",
        );
    } else if !DATADOG_SITES.contains(&site) {
        p.error(format!(
            "telemetry.datadog.site `{site}` is not a Datadog site with an OTLP intake \
             (one of: {})",
            DATADOG_SITES.join(", ")
        ));
    }
}

fn check_numbers(t: &TelemetryConfig, p: &mut Problems) {
    if !(0.0..=1.0).contains(&t.sampling_rate) {
        p.error(format!(
            "telemetry.sampling_rate must be between 0 and 1 (got {})",
            t.sampling_rate
        ));
    }
    let b = &t.batch;
    if b.max_queue == 0 || b.max_batch == 0 || b.interval_ms == 0 {
        p.error("telemetry.batch: max_queue, max_batch and interval_ms must be > 0");
    } else if b.max_batch > b.max_queue {
        p.error(format!(
            "telemetry.batch.max_batch ({}) must not exceed max_queue ({})",
            b.max_batch, b.max_queue
        ));
    }
    if t.metrics_interval_ms == 0 {
        p.error("telemetry.metrics_interval_ms must be > 0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &mut TelemetryConfig, vars: &[(&str, &str)]) -> (Export, Problems) {
        let env = |n: &str| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        };
        let mut p = Problems::new("gw.yaml");
        let export = resolve(t, &env, &mut p);
        (export, p)
    }

    #[test]
    fn default_is_local_otlp() {
        let (e, p) = run(&mut TelemetryConfig::default(), &[]);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(e.exporter, ExporterKind::Otlp);
        assert_eq!(e.otlp_endpoint, "http://127.0.0.1:4318");
    }

    #[test]
    fn datadog_key_in_env_picks_datadog() {
        let mut t = TelemetryConfig::default();
        let (e, p) = run(
            &mut t,
            &[("DATADOG_API_KEY", "k"), ("DATADOG_SITE", "datadoghq.eu")],
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(e.exporter, ExporterKind::Datadog);
        assert_eq!(e.datadog_site, "datadoghq.eu");
        assert_eq!(t.datadog.api_key.as_deref(), Some("k"));
    }

    #[test]
    fn env_overrides_and_lists() {
        let mut t = TelemetryConfig::default();
        t.otlp.headers.insert("a".into(), "file".into());
        let (e, p) = run(
            &mut t,
            &[
                ("OTEL_SERVICE_NAME", "svc"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://agent:4318/"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "a=env,b=2"),
                ("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=p1,team=x"),
            ],
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(t.service_name, "svc");
        assert_eq!(e.otlp_endpoint, "http://agent:4318");
        assert_eq!(
            e.otlp_headers,
            vec![("a".into(), "env".into()), ("b".into(), "2".into())]
        );
        assert_eq!(e.resource_attributes.len(), 2);
    }

    #[test]
    fn gov_site_is_refused_with_agent_hint() {
        let mut t = TelemetryConfig::default();
        let (_, p) = run(
            &mut t,
            &[("DATADOG_API_KEY", "k"), ("DATADOG_SITE", "ddog-gov.com")],
        );
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].contains("Datadog Agent"), "{}", p.errors[0]);
        assert!(p.errors[0].contains("4318"));
    }

    #[test]
    fn gov_site_is_fine_when_exporting_to_an_agent() {
        let (_, p) = run(
            &mut TelemetryConfig::default(),
            &[("DATADOG_SITE", "ddog-gov.com")],
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
    }

    #[test]
    fn datadog_without_key_and_bad_numbers() {
        let mut t = TelemetryConfig {
            exporter: Some(ExporterKind::Datadog),
            sampling_rate: 1.5,
            ..TelemetryConfig::default()
        };
        t.otlp.endpoint = Some("ftp://x".into());
        let (_, p) = run(&mut t, &[]);
        assert_eq!(p.errors.len(), 3, "{:?}", p.errors);
    }
}
