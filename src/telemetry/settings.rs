//! What telemetry needs to start: service identity, where to export, batching and sampling.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::schema::{BatchConfig, ExporterKind, TelemetryConfig};

use super::TelemetryError;

/// Datadog sites with an OTLP intake (`https://otlp.{site}`).
pub const DATADOG_OTLP_SITES: [&str; 6] = [
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ap2.datadoghq.com",
];

/// How Datadog's metrics intake should translate our OTLP metrics: resource attributes become
/// tags (so `service`/`env` filter dashboards) and histograms become distributions (so `p95:`
/// queries work).
pub const DATADOG_METRIC_CONFIG: &str = r#"{"resource_attributes_as_tags":true,"histograms":{"mode":"distributions","send_aggregation_metrics":true}}"#;

/// OTel's default OTLP export timeout.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Full URLs and headers for the two OTLP/HTTP signals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportEndpoints {
    pub traces_url: String,
    pub metrics_url: String,
    pub traces_headers: BTreeMap<String, String>,
    pub metrics_headers: BTreeMap<String, String>,
}

impl ExportEndpoints {
    /// Any OTLP/HTTP receiver: `{base}/v1/traces` and `{base}/v1/metrics`, the same headers on
    /// both (the exporter uses a URL verbatim, so the signal path is appended here).
    pub fn otlp(base: &str, headers: &BTreeMap<String, String>) -> ExportEndpoints {
        let base = base.trim_end_matches('/');
        ExportEndpoints {
            traces_url: format!("{base}/v1/traces"),
            metrics_url: format!("{base}/v1/metrics"),
            traces_headers: headers.clone(),
            metrics_headers: headers.clone(),
        }
    }

    /// Datadog's regional OTLP intake. Traces are tagged for LLM Observability and ask for APM
    /// trace metrics; metrics carry the translator config. Sites without an OTLP intake are
    /// refused so the mistake shows at startup, not as silent 403s.
    pub fn datadog(site: &str, api_key: &str) -> Result<ExportEndpoints, TelemetryError> {
        let site = site.trim().trim_end_matches('/');
        if !DATADOG_OTLP_SITES.contains(&site) {
            return Err(TelemetryError::UnsupportedDatadogSite(site.to_string()));
        }
        let base = format!("https://otlp.{site}");
        let mut traces_headers = BTreeMap::new();
        traces_headers.insert("dd-api-key".to_string(), api_key.to_string());
        traces_headers.insert("dd-otlp-source".to_string(), "llmobs".to_string());
        traces_headers.insert("compute_stats".to_string(), "true".to_string());
        let mut metrics_headers = BTreeMap::new();
        metrics_headers.insert("dd-api-key".to_string(), api_key.to_string());
        metrics_headers.insert(
            "dd-otel-metric-config".to_string(),
            DATADOG_METRIC_CONFIG.to_string(),
        );
        Ok(ExportEndpoints {
            traces_url: format!("{base}/v1/traces"),
            metrics_url: format!("{base}/v1/metrics"),
            traces_headers,
            metrics_headers,
        })
    }
}

/// Everything `Telemetry::init` needs, already resolved from config and environment.
#[derive(Clone, Debug)]
pub struct TelemetrySettings {
    /// `service.name` (`OTEL_SERVICE_NAME` already applied).
    pub service_name: String,
    /// `service.version`.
    pub service_version: String,
    /// `deployment.environment.name`.
    pub environment: Option<String>,
    pub exporter: ExporterKind,
    /// Where to send; ignored when `exporter` is `None`.
    pub endpoints: Option<ExportEndpoints>,
    /// Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`); ours win on conflicts.
    pub resource_attributes: Vec<(String, String)>,
    /// Parent-based ratio for spans only, clamped to 0..=1.
    pub sampling_rate: f64,
    pub batch: BatchConfig,
    /// OTLP metrics export period (delta temporality).
    pub metrics_interval: Duration,
    /// Longest one export request may take before it is abandoned (spans counted as lost).
    pub export_timeout: Duration,
    /// Accepted for the config contract; message content is not captured yet.
    pub capture_content: bool,
}

impl TelemetrySettings {
    /// Nothing exported, every default: for tests and benches.
    pub fn none() -> TelemetrySettings {
        TelemetrySettings {
            service_name: "genops-gateway".to_string(),
            service_version: env!("CARGO_PKG_VERSION").to_string(),
            environment: None,
            exporter: ExporterKind::None,
            endpoints: None,
            resource_attributes: Vec::new(),
            sampling_rate: 1.0,
            batch: BatchConfig::default(),
            metrics_interval: Duration::from_millis(10_000),
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            capture_content: false,
        }
    }

    /// Resolves the config section against the environment (`lookup` is `std::env::var` in
    /// production; tests pass a map): `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
    /// `DATADOG_API_KEY`, `DATADOG_SITE`, `OTEL_EXPORTER_OTLP_ENDPOINT` and the per-signal
    /// `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT` (used verbatim, as OTel specifies).
    pub fn from_config(
        cfg: &TelemetryConfig,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TelemetrySettings, TelemetryError> {
        let env = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_key = cfg
            .datadog
            .api_key
            .clone()
            .or_else(|| env("DATADOG_API_KEY"));
        let exporter = cfg.exporter.unwrap_or(if api_key.is_some() {
            ExporterKind::Datadog
        } else {
            ExporterKind::Otlp
        });
        let endpoints = match exporter {
            ExporterKind::None => None,
            ExporterKind::Datadog => {
                let key = api_key.ok_or(TelemetryError::MissingDatadogApiKey)?;
                let site = env("DATADOG_SITE").unwrap_or_else(|| cfg.datadog.site.clone());
                Some(ExportEndpoints::datadog(&site, &key)?)
            }
            ExporterKind::Otlp => {
                let base = cfg
                    .otlp
                    .endpoint
                    .clone()
                    .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))
                    .unwrap_or_else(|| "http://127.0.0.1:4318".to_string());
                let mut endpoints = ExportEndpoints::otlp(&base, &cfg.otlp.headers);
                if cfg.otlp.endpoint.is_none() {
                    if let Some(url) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
                        endpoints.traces_url = url;
                    }
                    if let Some(url) = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
                        endpoints.metrics_url = url;
                    }
                }
                Some(endpoints)
            }
        };
        Ok(TelemetrySettings {
            service_name: env("OTEL_SERVICE_NAME").unwrap_or_else(|| cfg.service_name.clone()),
            service_version: env!("CARGO_PKG_VERSION").to_string(),
            environment: cfg.environment.clone(),
            exporter,
            endpoints,
            resource_attributes: env("OTEL_RESOURCE_ATTRIBUTES")
                .map(|raw| parse_resource_attributes(&raw))
                .unwrap_or_default(),
            sampling_rate: cfg.sampling_rate,
            batch: cfg.batch.clone(),
            metrics_interval: Duration::from_millis(cfg.metrics_interval_ms.max(100)),
            export_timeout: env("OTEL_EXPORTER_OTLP_TIMEOUT")
                .and_then(|ms| ms.trim().parse().ok())
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_EXPORT_TIMEOUT),
            capture_content: cfg.capture_content,
        })
    }
}

/// `key1=value1,key2=value2` with percent-encoded values, as OTel's environment spec writes it.
/// Malformed pairs are skipped rather than failing startup over a cosmetic tag.
pub fn parse_resource_attributes(raw: &str) -> Vec<(String, String)> {
    raw.split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let key = key.trim();
            if key.is_empty() {
                return None;
            }
            Some((key.to_string(), percent_decode(value.trim())))
        })
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}
