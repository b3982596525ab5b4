//! The metric set for `/metrics`: OTel names with dots as underscores, counters ending `_total`,
//! durations suffixed with their unit, as OTel's Prometheus compatibility rules do.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::{
    Measurements, Tag, Tags, BUDGET_ID, DROP_REASON, GEN_AI_SECONDS, GEN_AI_TOKENS, OPERATION,
    OPERATION_MS, POLICY_MS, POLICY_NAME, SCORE, TOKEN_TYPE,
};

type Labels = Vec<(&'static str, String)>;
type Count = Family<Labels, Counter>;
type Usd = Family<Labels, Counter<f64, AtomicU64>>;
type UsdGauge = Family<Labels, Gauge<f64, AtomicU64>>;
type Hist = Family<Labels, Histogram, fn() -> Histogram>;

fn operation_ms() -> Histogram {
    Histogram::new(OPERATION_MS)
}
fn policy_ms() -> Histogram {
    Histogram::new(POLICY_MS)
}
fn score() -> Histogram {
    Histogram::new(SCORE)
}
fn gen_ai_seconds() -> Histogram {
    Histogram::new(GEN_AI_SECONDS)
}
fn gen_ai_tokens() -> Histogram {
    Histogram::new(GEN_AI_TOKENS)
}

fn labels(tags: &Tags, extra: &[(Tag, &str)]) -> Labels {
    tags.iter()
        .map(|(tag, value)| (tag.prom, value.clone()))
        .chain(
            extra
                .iter()
                .map(|(tag, value)| (tag.prom, value.to_string())),
        )
        .collect()
}

pub(crate) struct PromMetrics {
    registry: Registry,
    cost_total: Usd,
    tokens_input: Count,
    tokens_output: Count,
    tokens_total: Count,
    operation_total: Count,
    operation_success: Count,
    operation_error: Count,
    operation_duration: Hist,
    policy_violation: Count,
    policy_response_time: Hist,
    budget_consumed: UsdGauge,
    budget_limit: UsdGauge,
    budget_remaining: UsdGauge,
    eval_safety: Hist,
    eval_performed: Count,
    client_duration: Hist,
    client_token_usage: Hist,
    client_ttfc: Hist,
    spans_dropped: Count,
}

impl PromMetrics {
    pub(crate) fn new() -> PromMetrics {
        let hist = |f: fn() -> Histogram| Hist::new_with_constructor(f);
        let m = PromMetrics {
            registry: Registry::default(),
            cost_total: Usd::default(),
            tokens_input: Count::default(),
            tokens_output: Count::default(),
            tokens_total: Count::default(),
            operation_total: Count::default(),
            operation_success: Count::default(),
            operation_error: Count::default(),
            operation_duration: hist(operation_ms),
            policy_violation: Count::default(),
            policy_response_time: hist(policy_ms),
            budget_consumed: UsdGauge::default(),
            budget_limit: UsdGauge::default(),
            budget_remaining: UsdGauge::default(),
            eval_safety: hist(score),
            eval_performed: Count::default(),
            client_duration: hist(gen_ai_seconds),
            client_token_usage: hist(gen_ai_tokens),
            client_ttfc: hist(gen_ai_seconds),
            spans_dropped: Count::default(),
        };
        m.registered()
    }

    /// Registers clones (families share their storage) under the exposition names.
    fn registered(mut self) -> PromMetrics {
        let ms = || Unit::Other("milliseconds".to_string());
        let r = &mut self.registry;
        // Counters get `_total` from the encoder, so `genops.cost.total` is `genops_cost_total`.
        r.register(
            "genops_cost",
            "Estimated cost of calls (USD)",
            self.cost_total.clone(),
        );
        r.register(
            "genops_tokens_input",
            "Input tokens",
            self.tokens_input.clone(),
        );
        r.register(
            "genops_tokens_output",
            "Output tokens",
            self.tokens_output.clone(),
        );
        r.register(
            "genops_tokens",
            "Input plus output tokens",
            self.tokens_total.clone(),
        );
        r.register("genops_operation", "Calls", self.operation_total.clone());
        r.register(
            "genops_operation_success",
            "Calls that succeeded",
            self.operation_success.clone(),
        );
        r.register(
            "genops_operation_error",
            "Calls that failed or were refused",
            self.operation_error.clone(),
        );
        r.register_with_unit(
            "genops_operation_duration",
            "Call duration, request to last byte",
            ms(),
            self.operation_duration.clone(),
        );
        r.register(
            "genops_policy_violation",
            "Calls a policy warned about, blocked or rate-limited",
            self.policy_violation.clone(),
        );
        r.register_with_unit(
            "genops_policy_response_time",
            "Time spent deciding whether to forward",
            ms(),
            self.policy_response_time.clone(),
        );
        r.register(
            "genops_budget_consumed",
            "Spend in the budget period (USD)",
            self.budget_consumed.clone(),
        );
        r.register(
            "genops_budget_limit",
            "Budget limit for the period (USD)",
            self.budget_limit.clone(),
        );
        r.register(
            "genops_budget_remaining",
            "Budget left in the period (USD)",
            self.budget_remaining.clone(),
        );
        r.register(
            "genops_eval_safety",
            "Safety score of checked content",
            self.eval_safety.clone(),
        );
        r.register(
            "genops_eval_performed",
            "Calls whose content was checked",
            self.eval_performed.clone(),
        );
        r.register_with_unit(
            "gen_ai_client_operation_duration",
            "GenAI operation duration",
            Unit::Seconds,
            self.client_duration.clone(),
        );
        r.register(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used",
            self.client_token_usage.clone(),
        );
        r.register_with_unit(
            "gen_ai_client_operation_time_to_first_chunk",
            "Time to the first chunk of a streamed response",
            Unit::Seconds,
            self.client_ttfc.clone(),
        );
        r.register(
            "genops_telemetry_spans_dropped",
            "Spans lost because the exporter could not keep up",
            self.spans_dropped.clone(),
        );
        self
    }

    pub(crate) fn record(&self, m: &Measurements) {
        let base = labels(&m.base, &[]);
        self.operation_total.get_or_create(&base).inc();
        if m.success {
            self.operation_success.get_or_create(&base).inc();
        } else {
            self.operation_error.get_or_create(&base).inc();
        }
        self.operation_duration
            .get_or_create(&base)
            .observe(m.duration_s * 1000.0);
        self.policy_response_time
            .get_or_create(&base)
            .observe(m.policy_ms);
        if let Some(cost) = m.cost_usd {
            self.cost_total.get_or_create(&base).inc_by(cost);
        }
        if let Some((input, output)) = m.tokens {
            self.tokens_input.get_or_create(&base).inc_by(input);
            self.tokens_output.get_or_create(&base).inc_by(output);
            self.tokens_total
                .get_or_create(&base)
                .inc_by(input + output);
        }
        if let Some(name) = &m.violation {
            let extra: Vec<(Tag, &str)> = name.iter().map(|n| (POLICY_NAME, n.as_str())).collect();
            self.policy_violation
                .get_or_create(&labels(&m.base, &extra))
                .inc();
        }
        if m.eval_performed {
            self.eval_performed.get_or_create(&base).inc();
        }
        if let Some(safety) = m.eval_safety {
            self.eval_safety.get_or_create(&base).observe(safety);
        }

        let gen_ai = labels(&m.base, &[(OPERATION, m.operation)]);
        self.client_duration
            .get_or_create(&gen_ai)
            .observe(m.duration_s);
        if let Some(ttfc) = m.ttfc_s {
            self.client_ttfc.get_or_create(&gen_ai).observe(ttfc);
        }
        if let Some((input, output)) = m.tokens {
            for (kind, count) in [("input", input), ("output", output)] {
                let l = labels(&m.base, &[(OPERATION, m.operation), (TOKEN_TYPE, kind)]);
                self.client_token_usage
                    .get_or_create(&l)
                    .observe(count as f64);
            }
        }
    }

    pub(crate) fn budget(&self, id: &str, limit: f64, consumed: f64, remaining: f64) {
        let l: Labels = vec![(BUDGET_ID.prom, id.to_string())];
        self.budget_limit.get_or_create(&l).set(limit);
        self.budget_consumed.get_or_create(&l).set(consumed);
        self.budget_remaining.get_or_create(&l).set(remaining);
    }

    pub(crate) fn spans_dropped(&self, count: u64, reason: &'static str) {
        let l: Labels = vec![(DROP_REASON.prom, reason.to_string())];
        self.spans_dropped.get_or_create(&l).inc_by(count);
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; an empty page is the safe fallback regardless.
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
