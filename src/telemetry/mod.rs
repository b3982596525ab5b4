//! One OpenTelemetry span per call plus the metric set, exported over OTLP and on `/metrics`.
//!
//! `start_call` opens the span when a request arrives (so the upstream can be sent a
//! `traceparent`); `finish_call` fills it from the `CallRecord` and ends it. Neither does I/O:
//! spans go through a bounded queue to an export thread, metrics are in-memory aggregates read
//! by the SDK's periodic reader thread.

mod attributes;
mod export;
mod metrics;
mod processor;
mod settings;
mod span;

#[cfg(test)]
mod test_receiver;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanKind, Tracer, TracerProvider};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use crate::config::schema::ExporterKind;
use crate::record::CallRecord;

use metrics::Metrics;
use processor::{BatchLimits, BoundedBatchProcessor};

pub use settings::{
    parse_resource_attributes, ExportEndpoints, TelemetrySettings, DATADOG_METRIC_CONFIG,
    DATADOG_OTLP_SITES, DEFAULT_EXPORT_TIMEOUT,
};
pub use span::CallSpan;

/// Instrumentation scope of our spans and metrics.
const SCOPE: &str = "genops-gateway";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("datadog site `{0}` has no OTLP intake; send through a Datadog Agent (exporter: otlp) instead")]
    UnsupportedDatadogSite(String),
    #[error("exporter `datadog` needs an API key (telemetry.datadog.api_key or DATADOG_API_KEY)")]
    MissingDatadogApiKey,
    #[error("exporter `{0:?}` needs endpoints")]
    MissingEndpoints(ExporterKind),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("cannot start the span export thread: {0}")]
    Thread(#[from] std::io::Error),
}

struct Inner {
    tracer_provider: SdkTracerProvider,
    tracer: SdkTracer,
    meter_provider: Option<SdkMeterProvider>,
    metrics: Arc<Metrics>,
}

/// The process's telemetry: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("metrics", &self.inner.metrics)
            .finish()
    }
}

impl Telemetry {
    /// Builds exporters, the span export thread and the metrics reader. Call it outside async
    /// code: the blocking HTTP client is created here.
    pub fn init(settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
        let endpoints = match settings.exporter {
            ExporterKind::None => return Ok(Self::local_only()),
            kind => settings
                .endpoints
                .as_ref()
                .ok_or(TelemetryError::MissingEndpoints(kind))?,
        };
        // `capture_content` is accepted but prompts and completions are never put on spans yet.
        let resource = export::resource(settings);

        let metric_exporter = export::metric_exporter(
            &endpoints.metrics_url,
            &endpoints.metrics_headers,
            settings.export_timeout,
        )?;
        let reader = PeriodicReader::builder(metric_exporter)
            .with_interval(settings.metrics_interval)
            .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_resource(resource.clone())
            .with_reader(reader)
            .build();
        let meter = opentelemetry::metrics::MeterProvider::meter(&meter_provider, SCOPE);
        let metrics = Arc::new(Metrics::new(Some(&meter)));

        let mut span_exporter = export::span_exporter(
            &endpoints.traces_url,
            &endpoints.traces_headers,
            settings.export_timeout,
        )?;
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut span_exporter, &resource);
        let drop_metrics = metrics.clone();
        let processor = BoundedBatchProcessor::start(
            span_exporter,
            BatchLimits {
                max_queue: settings.batch.max_queue,
                max_batch: settings.batch.max_batch,
                interval: Duration::from_millis(settings.batch.interval_ms),
            },
            Arc::new(move |count, reason| drop_metrics.spans_dropped(count, reason)),
        )?;
        let ratio = if settings.sampling_rate.is_finite() {
            settings.sampling_rate.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let tracer_provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                ratio,
            ))))
            .with_span_processor(processor)
            .build();
        let tracer = tracer_provider.tracer(SCOPE);
        Ok(Telemetry {
            inner: Arc::new(Inner {
                tracer_provider,
                tracer,
                meter_provider: Some(meter_provider),
                metrics,
            }),
        })
    }

    /// No export at all; `/metrics` still works. For tests and benches.
    pub fn disabled() -> Telemetry {
        Self::local_only()
    }

    /// Spans get ids (for `traceparent` and logs) but are never recorded; metrics only on
    /// Prometheus.
    fn local_only() -> Telemetry {
        let tracer_provider = SdkTracerProvider::builder()
            .with_sampler(Sampler::AlwaysOff)
            .build();
        let tracer = tracer_provider.tracer(SCOPE);
        Telemetry {
            inner: Arc::new(Inner {
                tracer_provider,
                tracer,
                meter_provider: None,
                metrics: Arc::new(Metrics::new(None)),
            }),
        }
    }

    /// Opens the call's CLIENT span, child of the caller's `traceparent` when it is valid.
    pub fn start_call(&self, traceparent: Option<&str>, start: SystemTime) -> CallSpan {
        let parent = span::parent_context(traceparent);
        let span = self
            .inner
            .tracer
            .span_builder(span::PLACEHOLDER_NAME)
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .start_with_context(&self.inner.tracer, &parent);
        CallSpan::new(span)
    }

    /// Names, fills and ends the span from the record, and records every metric. Metrics see
    /// every call, sampled or not.
    pub fn finish_call(&self, span: CallSpan, record: &CallRecord) {
        self.inner.metrics.record_call(record);
        span.finish(record);
    }

    pub fn record_budget_gauges(
        &self,
        id: &str,
        limit_usd: f64,
        consumed_usd: f64,
        remaining_usd: f64,
    ) {
        self.inner
            .metrics
            .budget(id, limit_usd, consumed_usd, remaining_usd);
    }

    /// The metric set in OpenMetrics text (serve as
    /// `application/openmetrics-text; version=1.0.0; charset=utf-8`).
    pub fn render_prometheus(&self) -> String {
        self.inner.metrics.render_prometheus()
    }

    /// Flushes and stops span and metric export (bounded: a dead collector cannot hang exit).
    pub fn shutdown(&self) {
        if let Err(error) = self.inner.tracer_provider.shutdown() {
            tracing::debug!(%error, "span exporter shutdown");
        }
        if let Some(meter_provider) = &self.inner.meter_provider {
            if let Err(error) = meter_provider.shutdown() {
                tracing::debug!(%error, "metric exporter shutdown");
            }
        }
    }
}
