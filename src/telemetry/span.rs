//! The span of one call: opened on arrival, named, filled and ended from its `CallRecord`.

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanContext, Status};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::Span;

use crate::record::{CallRecord, PolicyResult};

use super::attributes::{error_type, event_attributes, span_attributes, span_name};

/// The name until `finish_call` knows the operation and model.
pub(crate) const PLACEHOLDER_NAME: &str = "genops.call";

/// One header's worth of W3C trace context, as the propagator wants to read it.
struct TraceparentOnly<'a>(&'a str);

impl Extractor for TraceparentOnly<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// The caller's trace as parent, or an empty context when absent or malformed (a bad header
/// starts a new trace rather than failing the call).
pub(crate) fn parent_context(traceparent: Option<&str>) -> Context {
    match traceparent {
        Some(value) => TraceContextPropagator::new()
            .extract_with_context(&Context::new(), &TraceparentOnly(value.trim())),
        None => Context::new(),
    }
}

/// A call's span between `start_call` and `finish_call`.
#[derive(Debug)]
pub struct CallSpan {
    span: Span,
}

impl CallSpan {
    pub(crate) fn new(span: Span) -> CallSpan {
        CallSpan { span }
    }

    fn context(&self) -> &SpanContext {
        self.span.span_context()
    }

    /// W3C `traceparent` naming this span, to forward upstream; `None` after shutdown.
    pub fn traceparent(&self) -> Option<String> {
        let cx = self.context();
        cx.is_valid().then(|| {
            format!(
                "00-{}-{}-{:02x}",
                cx.trace_id(),
                cx.span_id(),
                cx.trace_flags().to_u8()
            )
        })
    }

    pub fn trace_id_hex(&self) -> String {
        self.context().trace_id().to_string()
    }

    pub fn span_id_hex(&self) -> String {
        self.context().span_id().to_string()
    }

    /// Datadog's decimal ids for log correlation: the low 64 bits of the trace id, the span id.
    pub fn dd_ids(&self) -> (u64, u64) {
        let cx = self.context();
        let trace = cx.trace_id().to_bytes();
        let mut low = [0u8; 8];
        low.copy_from_slice(&trace[8..]);
        (
            u64::from_be_bytes(low),
            u64::from_be_bytes(cx.span_id().to_bytes()),
        )
    }

    /// Whether this span will be exported (sampled and exporting).
    pub fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    pub(crate) fn finish(mut self, record: &CallRecord) {
        if !self.span.is_recording() {
            // Unsampled or export off: skip building attributes nobody will read.
            return;
        }
        let span = &mut self.span;
        span.update_name(span_name(record));
        span.set_attributes(span_attributes(record));
        for event in &record.events {
            span.add_event_with_timestamp(event.name, event.time, event_attributes(event));
        }
        if let Some(kind) = error_type(record) {
            // The policy's sentence explains a refusal; anything else is described by its type.
            let refused = matches!(
                record.policy.result,
                PolicyResult::Blocked | PolicyResult::RateLimited
            );
            let description = match (&record.policy.reason, refused) {
                (Some(reason), true) => reason.clone(),
                _ => kind.into_owned(),
            };
            span.set_status(Status::error(description));
        }
        span.end_with_timestamp(record.end);
    }
}
