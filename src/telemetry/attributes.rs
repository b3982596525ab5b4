//! Turns a finished `CallRecord` into the span's name, attributes, events and error type.

use std::borrow::Cow;

use opentelemetry::{Array, KeyValue, StringValue, Value};

use crate::governance::context::Dimension;
use crate::record::{CallEvent, CallRecord, EventValue, PolicyResult};

pub(crate) const SPEC_VERSION: &str = "0.1.0";

/// `{operation} {model}`, or the operation alone when no model is known.
pub(crate) fn span_name(record: &CallRecord) -> String {
    let operation = record.operation.otel_name();
    match &record.request.model {
        Some(model) => format!("{operation} {model}"),
        None => operation.to_string(),
    }
}

/// `gen_ai.provider.name`: OTel's name for the wire format, else the configured route name.
pub(crate) fn provider_name(record: &CallRecord) -> Option<&str> {
    match record.provider_kind {
        Some(kind) => Some(kind.otel_name()),
        None => record.provider_name.as_deref(),
    }
}

/// The `error.type` of a failed call, `None` for a success. The proxy's own label wins; then a
/// stream's error event; then the governance refusal; then the HTTP status as OTel's HTTP
/// conventions do.
pub(crate) fn error_type(record: &CallRecord) -> Option<Cow<'_, str>> {
    if let Some(kind) = &record.error_type {
        return Some(Cow::Borrowed(kind));
    }
    if let Some(kind) = &record.response.stream_error_type {
        return Some(Cow::Borrowed(kind));
    }
    match record.policy.result {
        PolicyResult::Blocked => {
            return Some(match &record.policy.reason_code {
                Some(code) => Cow::Owned(code.to_ascii_lowercase()),
                None => Cow::Borrowed("policy_blocked"),
            })
        }
        PolicyResult::RateLimited => return Some(Cow::Borrowed("rate_limited")),
        PolicyResult::Allowed | PolicyResult::Warning => {}
    }
    if record.status >= 400 {
        return Some(Cow::Owned(record.status.to_string()));
    }
    None
}

/// A call metered or priced: the cost/token/accounting families apply.
fn metered(record: &CallRecord) -> bool {
    record.tokens.is_some() || record.cost.is_some()
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn strings(values: &[String]) -> Value {
    Value::Array(Array::String(
        values.iter().cloned().map(StringValue::from).collect(),
    ))
}

/// Every attribute of telemetry.md's table the record can fill, with the table's types.
pub(crate) fn span_attributes(record: &CallRecord) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(64);
    let mut put = |key: &'static str, value: Value| out.push(KeyValue::new(key, value));

    put(
        "gen_ai.operation.name",
        Value::from(record.operation.otel_name()),
    );
    if let Some(provider) = provider_name(record) {
        put("gen_ai.provider.name", Value::from(provider.to_string()));
    }
    let request = &record.request;
    if let Some(model) = &request.model {
        put("gen_ai.request.model", Value::from(model.clone()));
    }
    if request.stream {
        put("gen_ai.request.stream", Value::Bool(true));
    }
    if let Some(max_tokens) = request.max_tokens {
        put("gen_ai.request.max_tokens", Value::I64(int(max_tokens)));
    }
    if let Some(temperature) = request.temperature {
        put("gen_ai.request.temperature", Value::F64(temperature));
    }
    if let Some(top_p) = request.top_p {
        put("gen_ai.request.top_p", Value::F64(top_p));
    }

    let response = &record.response;
    if let Some(model) = &response.response_model {
        put("gen_ai.response.model", Value::from(model.clone()));
    }
    if let Some(id) = &response.response_id {
        put("gen_ai.response.id", Value::from(id.clone()));
    }
    if !response.finish_reasons.is_empty() {
        put(
            "gen_ai.response.finish_reasons",
            strings(&response.finish_reasons),
        );
    }
    if let Some(ttfc) = record.time_to_first_chunk {
        put(
            "gen_ai.response.time_to_first_chunk",
            Value::F64(ttfc.as_secs_f64()),
        );
    }

    if let Some(tokens) = &record.tokens {
        let usage = &response.usage;
        put("gen_ai.usage.input_tokens", Value::I64(int(tokens.input)));
        put("gen_ai.usage.output_tokens", Value::I64(int(tokens.output)));
        let optional = [
            (
                "gen_ai.usage.cache_read.input_tokens",
                usage.cache_read_input_tokens.is_some(),
                tokens.cache_read_input,
            ),
            (
                "gen_ai.usage.cache_creation.input_tokens",
                usage.cache_creation_input_tokens.is_some(),
                tokens.cache_creation_input,
            ),
            (
                "gen_ai.usage.reasoning.output_tokens",
                usage.reasoning_output_tokens.is_some(),
                tokens.reasoning_output,
            ),
        ];
        for (key, reported, value) in optional {
            if reported || value > 0 {
                put(key, Value::I64(int(value)));
            }
        }
        put("genops.tokens.input", Value::I64(int(tokens.input)));
        put("genops.tokens.output", Value::I64(int(tokens.output)));
        put("genops.tokens.total", Value::I64(int(tokens.total())));
        put("genops.tokens.source", Value::from(tokens.source.as_str()));
    }

    if let Some(cost) = &record.cost {
        let total = CallRecord::usd(cost.total());
        put("gen_ai.cost.estimated_total", Value::F64(total));
        put("genops.cost.total", Value::F64(total));
        put("genops.cost.input", Value::F64(CallRecord::usd(cost.input)));
        put(
            "genops.cost.output",
            Value::F64(CallRecord::usd(cost.output)),
        );
        put(
            "genops.cost.provider",
            Value::from(cost.price_provider.clone()),
        );
        put("genops.cost.model", Value::from(cost.price_model.clone()));
    }
    if metered(record) {
        put("genops.cost.currency", Value::from("USD"));
        put("genops.accounting.unit", Value::from("USD"));
    }
    if let Some(reserved) = record.reserved {
        put(
            "genops.accounting.reserved",
            Value::F64(CallRecord::usd(reserved)),
        );
    }
    if let Some(settled) = record.settled {
        put(
            "genops.accounting.actual",
            Value::F64(CallRecord::usd(settled)),
        );
    }

    if let Some(address) = &record.server_address {
        put("server.address", Value::from(address.clone()));
    }
    if let Some(port) = record.server_port {
        put("server.port", Value::I64(i64::from(port)));
    }
    put("http.request.method", Value::from(record.method.clone()));
    put("url.path", Value::from(record.path.clone()));
    put(
        "http.response.status_code",
        Value::I64(i64::from(record.status)),
    );
    if let Some(kind) = error_type(record) {
        put("error.type", Value::from(kind.into_owned()));
    }

    put("genops.request_id", Value::from(record.request_id.clone()));
    for dimension in [Dimension::Key].into_iter().chain(Dimension::ATTRIBUTES) {
        if let Some(value) = record.governance.get(dimension) {
            put(dimension.span_attribute(), Value::from(value.to_string()));
        }
    }

    let policy = &record.policy;
    put("genops.policy.result", Value::from(policy.result.as_str()));
    if let Some(name) = &policy.name {
        put("genops.policy.name", Value::from(name.clone()));
    }
    if let Some(reason) = &policy.reason {
        put("genops.policy.reason", Value::from(reason.clone()));
    }
    if let Some(code) = &policy.reason_code {
        put("genops.policy.reason_code", Value::from(code.clone()));
    }
    put(
        "genops.policy.response_time",
        Value::F64(policy.response_time.as_secs_f64() * 1000.0),
    );

    if let Some(budget) = &record.budget {
        put("genops.budget.id", Value::from(budget.id.clone()));
        put("genops.budget.period", Value::from(budget.period.clone()));
        put(
            "genops.budget.limit",
            Value::F64(CallRecord::usd(budget.limit)),
        );
        put(
            "genops.budget.consumed",
            Value::F64(CallRecord::usd(budget.consumed)),
        );
        put(
            "genops.budget.remaining",
            Value::F64(CallRecord::usd(budget.remaining)),
        );
    }

    let eval = &record.eval;
    put("genops.eval.performed", Value::Bool(eval.performed));
    if let Some(safety) = eval.safety {
        put("genops.eval.safety", Value::F64(safety));
    }
    if let Some(compliance) = eval.compliance {
        put("genops.eval.compliance", Value::F64(compliance));
    }
    if !eval.findings.is_empty() {
        put("genops.eval.findings", strings(&eval.findings));
    }
    if let Some(reason) = &record.stream_terminated {
        put("genops.stream.terminated", Value::from(reason.clone()));
    }
    put("genops.spec.version", Value::from(SPEC_VERSION));
    out
}

pub(crate) fn event_attributes(event: &CallEvent) -> Vec<KeyValue> {
    event
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                EventValue::Str(s) => Value::from(s.clone()),
                EventValue::Int(i) => Value::I64(*i),
                EventValue::Float(f) => Value::F64(*f),
                EventValue::Bool(b) => Value::Bool(*b),
            };
            KeyValue::new(*key, value)
        })
        .collect()
}
