//! The metric set of telemetry.md, measured once per call and fed to OTLP and Prometheus alike.

mod otel;
mod prom;

use std::hash::{Hash, Hasher};

use dashmap::DashSet;
use opentelemetry::metrics::Meter;

use crate::record::{CallRecord, PolicyResult};

use super::attributes::{error_type, provider_name};

pub(crate) use otel::OtelInstruments;
pub(crate) use prom::PromMetrics;

/// OTel semconv's advice for `gen_ai.client.operation.duration` and `time_to_first_chunk` (s).
pub(crate) const GEN_AI_SECONDS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// OTel semconv's advice for `gen_ai.client.token.usage`.
pub(crate) const GEN_AI_TOKENS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// `genops.operation.duration` (ms): 5 ms proxy answers to 10-minute streams.
pub(crate) const OPERATION_MS: [f64; 16] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 20000.0, 40000.0,
    80000.0, 160000.0, 600000.0,
];
/// `genops.policy.response_time` (ms): governance is expected well under a millisecond.
pub(crate) const POLICY_MS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0,
];
/// `genops.eval.safety` (0..1 score).
pub(crate) const SCORE: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// A metric tag: its OTel attribute name and the Prometheus label it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Tag {
    pub otel: &'static str,
    pub prom: &'static str,
}

macro_rules! tag {
    ($otel:literal, $prom:literal) => {
        Tag {
            otel: $otel,
            prom: $prom,
        }
    };
}

pub(crate) const TEAM: Tag = tag!("genops.team", "genops_team");
pub(crate) const PROJECT: Tag = tag!("genops.project", "genops_project");
pub(crate) const ENVIRONMENT: Tag = tag!("genops.environment", "genops_environment");
pub(crate) const PROVIDER: Tag = tag!("gen_ai.provider.name", "gen_ai_provider_name");
pub(crate) const MODEL: Tag = tag!("gen_ai.request.model", "gen_ai_request_model");
pub(crate) const POLICY_RESULT: Tag = tag!("genops.policy.result", "genops_policy_result");
pub(crate) const ERROR_TYPE: Tag = tag!("error.type", "error_type");
pub(crate) const POLICY_NAME: Tag = tag!("genops.policy.name", "genops_policy_name");
pub(crate) const OPERATION: Tag = tag!("gen_ai.operation.name", "gen_ai_operation_name");
pub(crate) const TOKEN_TYPE: Tag = tag!("gen_ai.token.type", "gen_ai_token_type");
pub(crate) const BUDGET_ID: Tag = tag!("genops.budget.id", "genops_budget_id");
pub(crate) const DROP_REASON: Tag = tag!("reason", "reason");

/// Longest tag value kept: a client-chosen model name must not blow up series storage.
const MAX_TAG_LEN: usize = 128;
/// Distinct base tag sets kept before new ones fold into one overflow series (OTel's SDK
/// default cardinality limit, applied to Prometheus too so both sinks agree).
const MAX_TAG_SETS: usize = 2000;
pub(crate) const OVERFLOW: Tag = tag!("otel.metric.overflow", "otel_metric_overflow");

pub(crate) type Tags = Vec<(Tag, String)>;

/// What one finished call contributes to the metrics.
#[derive(Debug)]
pub(crate) struct Measurements {
    /// The low-cardinality tags every per-call metric carries.
    pub base: Tags,
    pub operation: &'static str,
    pub success: bool,
    pub duration_s: f64,
    pub cost_usd: Option<f64>,
    /// input, output.
    pub tokens: Option<(u64, u64)>,
    /// `Some(name)` when the policy result was not `allowed`.
    pub violation: Option<Option<String>>,
    pub policy_ms: f64,
    pub eval_performed: bool,
    pub eval_safety: Option<f64>,
    pub ttfc_s: Option<f64>,
}

fn tag_value(value: &str) -> String {
    match value.char_indices().nth(MAX_TAG_LEN) {
        Some((cut, _)) => value[..cut].to_string(),
        None => value.to_string(),
    }
}

impl Measurements {
    pub(crate) fn of(record: &CallRecord) -> Measurements {
        let governance = &record.governance;
        let error = error_type(record);
        let mut base: Tags = Vec::with_capacity(7);
        let mut add = |tag: Tag, value: Option<&str>| {
            if let Some(value) = value {
                base.push((tag, tag_value(value)));
            }
        };
        add(TEAM, governance.team.as_deref());
        add(PROJECT, governance.project.as_deref());
        add(ENVIRONMENT, governance.environment.as_deref());
        add(PROVIDER, provider_name(record));
        add(MODEL, record.request.model.as_deref());
        add(POLICY_RESULT, Some(record.policy.result.as_str()));
        add(ERROR_TYPE, error.as_deref());

        let duration_s = record
            .end
            .duration_since(record.start)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Measurements {
            base,
            operation: record.operation.otel_name(),
            success: error.is_none(),
            duration_s,
            cost_usd: record.cost.as_ref().map(|c| CallRecord::usd(c.total())),
            tokens: record.tokens.map(|t| (t.input, t.output)),
            violation: (record.policy.result != PolicyResult::Allowed)
                .then(|| record.policy.name.as_deref().map(tag_value)),
            policy_ms: record.policy.response_time.as_secs_f64() * 1000.0,
            eval_performed: record.eval.performed,
            eval_safety: record.eval.safety,
            // Only streaming calls report it (semconv: SHOULD NOT otherwise).
            ttfc_s: record
                .time_to_first_chunk
                .filter(|_| record.request.stream)
                .map(|d| d.as_secs_f64()),
        }
    }
}

/// Both sinks; OTLP only when an exporter is configured.
pub(crate) struct Metrics {
    otel: Option<OtelInstruments>,
    prom: PromMetrics,
    seen: DashSet<u64>,
}

impl Metrics {
    pub(crate) fn new(meter: Option<&Meter>) -> Metrics {
        Metrics {
            otel: meter.map(OtelInstruments::new),
            prom: PromMetrics::new(),
            seen: DashSet::new(),
        }
    }

    pub(crate) fn record_call(&self, record: &CallRecord) {
        let mut m = Measurements::of(record);
        self.bound_cardinality(&mut m.base);
        if let Some(otel) = &self.otel {
            otel.record(&m);
        }
        self.prom.record(&m);
        if let Some(budget) = &record.budget {
            self.budget(
                &budget.id,
                CallRecord::usd(budget.limit),
                CallRecord::usd(budget.consumed),
                CallRecord::usd(budget.remaining),
            );
        }
    }

    /// Clients choose model names and header values: past `MAX_TAG_SETS` distinct tag sets,
    /// new ones are recorded under a single overflow series instead of growing memory.
    fn bound_cardinality(&self, tags: &mut Tags) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        tags.hash(&mut hasher);
        let key = hasher.finish();
        if self.seen.contains(&key) {
            return;
        }
        if self.seen.len() < MAX_TAG_SETS {
            self.seen.insert(key);
        } else {
            *tags = vec![(OVERFLOW, "true".to_string())];
        }
    }

    pub(crate) fn budget(&self, id: &str, limit: f64, consumed: f64, remaining: f64) {
        let id = tag_value(id);
        if let Some(otel) = &self.otel {
            otel.budget(&id, limit, consumed, remaining);
        }
        self.prom.budget(&id, limit, consumed, remaining);
    }

    pub(crate) fn spans_dropped(&self, count: u64, reason: &'static str) {
        if let Some(otel) = &self.otel {
            otel.spans_dropped(count, reason);
        }
        self.prom.spans_dropped(count, reason);
    }

    pub(crate) fn render_prometheus(&self) -> String {
        self.prom.render()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("otlp", &self.otel.is_some())
            .finish()
    }
}
