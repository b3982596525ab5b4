//! The metric set as OpenTelemetry instruments (exported over OTLP with delta temporality).

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter};
use opentelemetry::KeyValue;

use super::{
    Measurements, Tag, Tags, BUDGET_ID, DROP_REASON, GEN_AI_SECONDS, GEN_AI_TOKENS, OPERATION,
    OPERATION_MS, POLICY_MS, POLICY_NAME, SCORE, TOKEN_TYPE,
};

pub(crate) struct OtelInstruments {
    cost_total: Counter<f64>,
    tokens_input: Counter<u64>,
    tokens_output: Counter<u64>,
    tokens_total: Counter<u64>,
    operation_total: Counter<u64>,
    operation_success: Counter<u64>,
    operation_error: Counter<u64>,
    operation_duration: Histogram<f64>,
    policy_violation: Counter<u64>,
    policy_response_time: Histogram<f64>,
    budget_consumed: Gauge<f64>,
    budget_limit: Gauge<f64>,
    budget_remaining: Gauge<f64>,
    eval_safety: Histogram<f64>,
    eval_performed: Counter<u64>,
    client_duration: Histogram<f64>,
    client_token_usage: Histogram<u64>,
    client_ttfc: Histogram<f64>,
    spans_dropped: Counter<u64>,
}

fn attributes(tags: &Tags, extra: &[(Tag, &str)]) -> Vec<KeyValue> {
    tags.iter()
        .map(|(tag, value)| KeyValue::new(tag.otel, value.clone()))
        .chain(
            extra
                .iter()
                .map(|(tag, value)| KeyValue::new(tag.otel, value.to_string())),
        )
        .collect()
}

impl OtelInstruments {
    pub(crate) fn new(meter: &Meter) -> OtelInstruments {
        let counter = |name: &'static str, unit: &'static str, help: &'static str| {
            meter
                .u64_counter(name)
                .with_unit(unit)
                .with_description(help)
                .build()
        };
        let histogram =
            |name: &'static str, unit: &'static str, help: &'static str, bounds: &[f64]| {
                meter
                    .f64_histogram(name)
                    .with_unit(unit)
                    .with_description(help)
                    .with_boundaries(bounds.to_vec())
                    .build()
            };
        let gauge = |name: &'static str, help: &'static str| {
            meter
                .f64_gauge(name)
                .with_unit("USD")
                .with_description(help)
                .build()
        };
        OtelInstruments {
            cost_total: meter
                .f64_counter("genops.cost.total")
                .with_unit("USD")
                .with_description("Estimated cost of calls")
                .build(),
            tokens_input: counter("genops.tokens.input", "{token}", "Input tokens"),
            tokens_output: counter("genops.tokens.output", "{token}", "Output tokens"),
            tokens_total: counter("genops.tokens.total", "{token}", "Input plus output tokens"),
            operation_total: counter("genops.operation.total", "{operation}", "Calls"),
            operation_success: counter(
                "genops.operation.success",
                "{operation}",
                "Calls that succeeded",
            ),
            operation_error: counter(
                "genops.operation.error",
                "{operation}",
                "Calls that failed or were refused",
            ),
            operation_duration: histogram(
                "genops.operation.duration",
                "ms",
                "Call duration, request to last byte",
                &OPERATION_MS,
            ),
            policy_violation: counter(
                "genops.policy.violation",
                "{violation}",
                "Calls a policy warned about, blocked or rate-limited",
            ),
            policy_response_time: histogram(
                "genops.policy.response_time",
                "ms",
                "Time spent deciding whether to forward",
                &POLICY_MS,
            ),
            budget_consumed: gauge("genops.budget.consumed", "Spend in the budget period"),
            budget_limit: gauge("genops.budget.limit", "Budget limit for the period"),
            budget_remaining: gauge("genops.budget.remaining", "Budget left in the period"),
            eval_safety: histogram(
                "genops.eval.safety",
                "1",
                "Safety score of checked content",
                &SCORE,
            ),
            eval_performed: counter(
                "genops.eval.performed",
                "{operation}",
                "Calls whose content was checked",
            ),
            client_duration: histogram(
                "gen_ai.client.operation.duration",
                "s",
                "GenAI operation duration",
                &GEN_AI_SECONDS,
            ),
            client_token_usage: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Number of input and output tokens used")
                .with_boundaries(GEN_AI_TOKENS.to_vec())
                .build(),
            client_ttfc: histogram(
                "gen_ai.client.operation.time_to_first_chunk",
                "s",
                "Time to the first chunk of a streamed response",
                &GEN_AI_SECONDS,
            ),
            spans_dropped: counter(
                "genops.telemetry.spans_dropped",
                "{span}",
                "Spans lost because the exporter could not keep up",
            ),
        }
    }

    pub(crate) fn record(&self, m: &Measurements) {
        let base = attributes(&m.base, &[]);
        self.operation_total.add(1, &base);
        if m.success {
            self.operation_success.add(1, &base);
        } else {
            self.operation_error.add(1, &base);
        }
        self.operation_duration.record(m.duration_s * 1000.0, &base);
        self.policy_response_time.record(m.policy_ms, &base);
        if let Some(cost) = m.cost_usd {
            self.cost_total.add(cost, &base);
        }
        if let Some((input, output)) = m.tokens {
            self.tokens_input.add(input, &base);
            self.tokens_output.add(output, &base);
            self.tokens_total.add(input + output, &base);
        }
        if let Some(name) = &m.violation {
            let extra: Vec<(Tag, &str)> = name.iter().map(|n| (POLICY_NAME, n.as_str())).collect();
            self.policy_violation.add(1, &attributes(&m.base, &extra));
        }
        if m.eval_performed {
            self.eval_performed.add(1, &base);
        }
        if let Some(safety) = m.eval_safety {
            self.eval_safety.record(safety, &base);
        }

        let gen_ai = attributes(&m.base, &[(OPERATION, m.operation)]);
        self.client_duration.record(m.duration_s, &gen_ai);
        if let Some(ttfc) = m.ttfc_s {
            self.client_ttfc.record(ttfc, &gen_ai);
        }
        if let Some((input, output)) = m.tokens {
            for (kind, count) in [("input", input), ("output", output)] {
                let attrs = attributes(&m.base, &[(OPERATION, m.operation), (TOKEN_TYPE, kind)]);
                self.client_token_usage.record(count, &attrs);
            }
        }
    }

    pub(crate) fn budget(&self, id: &str, limit: f64, consumed: f64, remaining: f64) {
        let attrs = [KeyValue::new(BUDGET_ID.otel, id.to_string())];
        self.budget_limit.record(limit, &attrs);
        self.budget_consumed.record(consumed, &attrs);
        self.budget_remaining.record(remaining, &attrs);
    }

    pub(crate) fn spans_dropped(&self, count: u64, reason: &'static str) {
        self.spans_dropped
            .add(count, &[KeyValue::new(DROP_REASON.otel, reason)]);
    }
}
