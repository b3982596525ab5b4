//! Builds the OTLP/HTTP exporters and the process resource shared by spans and metrics.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{
    MetricExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig,
};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;

use super::settings::TelemetrySettings;
use super::TelemetryError;

/// `service.*`, `deployment.environment.name`, `service.instance.id`, and the user's
/// `OTEL_RESOURCE_ATTRIBUTES` underneath (ours win, as OTel gives explicit config precedence).
pub(crate) fn resource(settings: &TelemetrySettings) -> Resource {
    let mut attributes: BTreeMap<String, String> =
        settings.resource_attributes.iter().cloned().collect();
    attributes.insert("service.name".into(), settings.service_name.clone());
    attributes.insert("service.version".into(), settings.service_version.clone());
    if let Some(environment) = &settings.environment {
        attributes.insert("deployment.environment.name".into(), environment.clone());
    }
    attributes.insert("service.instance.id".into(), instance_id());
    Resource::builder_empty()
        .with_attributes(
            attributes
                .into_iter()
                .map(|(key, value)| KeyValue::new(key, value)),
        )
        .build()
}

/// A random version-4 UUID, fresh per process, so restarts are separate instances.
fn instance_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn header_map(headers: &BTreeMap<String, String>) -> HashMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn span_exporter(
    url: &str,
    headers: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<SpanExporter, TelemetryError> {
    SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .with_headers(header_map(headers))
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))
}

/// Delta temporality: Datadog's intake accepts nothing else, and deltas survive restarts.
pub(crate) fn metric_exporter(
    url: &str,
    headers: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<MetricExporter, TelemetryError> {
    MetricExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .with_headers(header_map(headers))
        .with_temporality(Temporality::Delta)
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))
}
